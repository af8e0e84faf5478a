// metrics_text.cpp — see metrics_text.h.
#include "console/metrics_text.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace sessionctl {

namespace {

bool is_name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

// One line, or false when it is not a sample.
bool parse_line(std::string_view line, MetricSample& out) {
  std::size_t i = 0;
  while (i < line.size() && is_name_char(line[i], i == 0))
    ++i;
  if (i == 0) return false;
  out.name.assign(line.substr(0, i));
  out.labels.clear();
  if (i < line.size() && line[i] == '{') {
    const std::size_t open = ++i;
    bool quoted = false;
    for (; i < line.size(); ++i) {
      if (quoted && line[i] == '\\') {
        ++i;  // an escaped character inside a label value
      } else if (line[i] == '"') {
        quoted = !quoted;
      } else if (!quoted && line[i] == '}') {
        break;
      }
    }
    if (i >= line.size()) return false;
    out.labels.assign(line.substr(open, i - open));
    ++i;
  }
  if (i >= line.size() || (line[i] != ' ' && line[i] != '\t')) return false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
    ++i;
  const std::string value(line.substr(i, line.find_first_of(" \t", i) - i));
  if (value.empty()) return false;
  char* end = nullptr;
  out.value = std::strtod(value.c_str(), &end);  // also "+Inf", "-Inf", "NaN"
  return end == value.c_str() + value.size();
}

}  // namespace

std::vector<MetricSample> parse_prometheus(std::string_view text) {
  std::vector<MetricSample> samples;
  MetricSample s;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    if (parse_line(line, s)) samples.push_back(s);
  }
  return samples;
}

std::string label_value(std::string_view labels, std::string_view label) {
  std::size_t i = 0;
  while (i < labels.size()) {
    const std::size_t eq = labels.find('=', i);
    if (eq == std::string_view::npos || eq + 1 >= labels.size() || labels[eq + 1] != '"') break;
    std::string_view name = labels.substr(i, eq - i);
    while (!name.empty() && (name.front() == ' ' || name.front() == ','))
      name.remove_prefix(1);
    std::string value;
    std::size_t j = eq + 2;
    for (; j < labels.size() && labels[j] != '"'; ++j) {
      if (labels[j] == '\\' && j + 1 < labels.size()) {
        ++j;
        value += labels[j] == 'n' ? '\n' : labels[j];
      } else {
        value += labels[j];
      }
    }
    if (name == label) return value;
    i = j + 1;
  }
  return "";
}

SessionFigures session_figures(const std::vector<MetricSample>& samples) {
  SessionFigures f;
  for (const MetricSample& s : samples) {
    const std::string_view n = s.name;
    if (n == "sessionkit_sessions_active") {
      f.has_active = true;
      f.active = s.value;
    } else if (n == "sessionkit_sessions_created_total") {
      f.created = s.value;
    } else if (n == "sessionkit_sessions_destroyed_total") {
      f.destroyed = s.value;
    } else if (n == "sessionkit_sessions_expired_total") {
      f.expired = s.value;
    } else if (n == "sessionkit_sessions_rotated_total") {
      f.rotated = s.value;
    } else if (n == "sessionkit_anomalies_total") {
      f.anomalies += s.value;
    } else if (n == "sessionkit_store_errors_total") {
      f.store_errors = s.value;
    } else if (n == "sessionkit_csrf_failures_total") {
      f.csrf_failures = s.value;
    } else if (n == "sessionkit_request_latency_seconds_count") {
      f.requests = s.value;
    } else if (n == "sessionkit_store_latency_seconds_sum") {
      f.store_latency_sum = s.value;
    } else if (n == "sessionkit_store_latency_seconds_count") {
      f.store_latency_count = s.value;
    } else if (n == "sessionkit_store_latency_seconds_bucket") {
      const std::string le = label_value(s.labels, "le");
      const double bound =
          le == "+Inf" ? std::numeric_limits<double>::infinity() : std::strtod(le.c_str(), nullptr);
      f.store_latency_buckets.emplace_back(bound, s.value);
    }
  }
  std::sort(f.store_latency_buckets.begin(), f.store_latency_buckets.end());
  return f;
}

SessionFigures counter_increase(const SessionFigures& before, const SessionFigures& now) {
  auto inc = [](double b, double n) { return n >= b ? n - b : n; };
  // A restart resets every counter at once: judge it by the request count, the busiest one.
  const bool restarted = now.requests < before.requests || now.created < before.created;
  SessionFigures d = now;
  if (restarted) return d;
  d.created = inc(before.created, now.created);
  d.destroyed = inc(before.destroyed, now.destroyed);
  d.expired = inc(before.expired, now.expired);
  d.rotated = inc(before.rotated, now.rotated);
  d.anomalies = inc(before.anomalies, now.anomalies);
  d.store_errors = inc(before.store_errors, now.store_errors);
  d.csrf_failures = inc(before.csrf_failures, now.csrf_failures);
  d.requests = inc(before.requests, now.requests);
  d.store_latency_sum = inc(before.store_latency_sum, now.store_latency_sum);
  d.store_latency_count = inc(before.store_latency_count, now.store_latency_count);
  if (before.store_latency_buckets.size() == now.store_latency_buckets.size()) {
    for (std::size_t i = 0; i < d.store_latency_buckets.size(); ++i) {
      d.store_latency_buckets[i].second =
          inc(before.store_latency_buckets[i].second, now.store_latency_buckets[i].second);
    }
  }
  return d;
}

double latency_quantile(const SessionFigures& delta, double q) {
  const auto& b = delta.store_latency_buckets;
  if (b.empty() || b.back().second <= 0) return -1;
  const double want = q * b.back().second;
  double largest_finite = 0;
  for (const auto& [le, cumulative] : b) {
    if (std::isfinite(le)) largest_finite = le;
    if (cumulative >= want) return std::isfinite(le) ? le : largest_finite;
  }
  return largest_finite;
}

}  // namespace sessionctl
