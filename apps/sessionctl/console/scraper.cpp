// scraper.cpp — see scraper.h.
#include "console/scraper.h"

#include <httplib.h>

#include <algorithm>
#include <cstdio>

namespace sessionctl {

using nlohmann::json;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "GET /metrics: connection refused" and the like.
std::string describe(const httplib::Result& r, std::string_view what) {
  if (!r) return std::string(what) + ": " + httplib::to_string(r.error());
  return std::string(what) + ": HTTP " + std::to_string(r->status);
}

}  // namespace

Scraper::Scraper(ScrapeOptions options) : options_(std::move(options)) {
  for (const std::string& url : options_.targets) {
    Target t;
    t.url = url;
    const std::size_t scheme = url.find("://");
    const std::size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    t.scheme_host_port = url.substr(0, path);
    t.prefix = path == std::string::npos ? "" : url.substr(path);
    while (t.prefix.ends_with('/'))
      t.prefix.pop_back();
    targets_.push_back(std::move(t));
  }
  if (!targets_.empty()) thread_ = std::thread([this] { loop(); });
}

Scraper::~Scraper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scraper::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    scrape_once();
    lock.lock();
    wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

void Scraper::scrape_once() {
  const auto started = std::chrono::steady_clock::now();
  httplib::Headers headers;
  if (!options_.token.empty()) headers.emplace("Authorization", "Bearer " + options_.token);

  bool any = false;
  double created = 0, destroyed = 0, expired = 0, anomalies = 0, store_errors = 0, requests = 0,
         latency_sum = 0, latency_count = 0;
  std::optional<double> active;
  SessionFigures merged;  // the latency buckets of every instance, summed
  std::vector<json> new_events;

  for (std::size_t i = 0; i < targets_.size(); ++i) {
    // Only this thread writes a target's scrape state; pages read `up` and the errors under mu_.
    Target& t = targets_[i];
    httplib::Client client(t.scheme_host_port);
    client.set_connection_timeout(std::chrono::seconds(2));
    client.set_read_timeout(std::chrono::seconds(3));
    client.set_write_timeout(std::chrono::seconds(3));

    bool up = false;
    std::string error, events_error;
    if (const httplib::Result r = client.Get(t.prefix + "/metrics", headers);
        r && r->status == 200) {
      up = true;
      const SessionFigures now = session_figures(parse_prometheus(r->body));
      const auto at = std::chrono::steady_clock::now();
      if (now.has_active) active = std::max(active.value_or(0), now.active);
      if (t.has_previous) {
        const SessionFigures d = counter_increase(t.previous, now);
        const double seconds = std::chrono::duration<double>(at - t.previous_at).count();
        if (seconds > 0.05) {
          any = true;
          created += d.created * 60 / seconds;
          destroyed += d.destroyed * 60 / seconds;
          expired += d.expired * 60 / seconds;
          anomalies += d.anomalies * 60 / seconds;
          store_errors += d.store_errors * 60 / seconds;
          requests += d.requests / seconds;
          latency_sum += d.store_latency_sum;
          latency_count += d.store_latency_count;
          if (merged.store_latency_buckets.empty()) {
            merged.store_latency_buckets = d.store_latency_buckets;
          } else if (merged.store_latency_buckets.size() == d.store_latency_buckets.size()) {
            for (std::size_t b = 0; b < d.store_latency_buckets.size(); ++b) {
              merged.store_latency_buckets[b].second += d.store_latency_buckets[b].second;
            }
          }
        }
      }
      t.previous = now;
      t.previous_at = at;
      t.has_previous = true;
    } else {
      error = describe(r, "GET /metrics");
    }

    // The events since the last ask; a new instance id (a restart) starts again from 0.
    for (int attempt = 0; attempt < 2; ++attempt)
      try {
        const httplib::Result r =
            client.Get(t.prefix + "/events?limit=1000&after=" + std::to_string(t.after), headers);
        if (!r || r->status != 200) {
          events_error = describe(r, "GET /events");
          break;
        }
        const json page = json::parse(r->body, nullptr, false);
        if (!page.is_object() || !page.contains("events") || !page["events"].is_array()) {
          events_error = "GET /events: not the expected JSON";
          break;
        }
        const std::string instance = page.value("instance", "");
        if (instance != t.instance) {
          const bool restarted = !t.instance.empty() || t.after != 0;
          t.instance = instance;
          t.after = 0;
          if (restarted) continue;  // ask the new instance from its start
        }
        for (const json& e : page["events"]) {
          // Only the known fields, of the right types: the pages read them without checking.
          if (!e.is_object() || !e.contains("seq") || !e["seq"].is_number_unsigned()) continue;
          const auto seq = e["seq"].get<std::uint64_t>();
          json x = {{"instance", t.url}, {"seq", seq}};
          for (const char* field : {"event", "key", "old_key", "user", "reason", "anomaly"}) {
            if (e.contains(field) && e[field].is_string()) x[field] = e[field];
          }
          if (e.contains("at_ms") && e["at_ms"].is_number_integer()) x["at_ms"] = e["at_ms"];
          t.after = std::max(t.after, seq);
          new_events.push_back(std::move(x));
        }
        if (page.value("dropped", 0) > 0) {
          events_error = std::to_string(page.value("dropped", 0)) +
                         " events were overwritten on the instance before the console read them";
        }
        break;
      } catch (const json::exception& e) {  // a field of the wrong type
        events_error = std::string("GET /events: ") + e.what();
        break;
      }
    std::lock_guard lock(mu_);
    t.up = up;
    t.error = std::move(error);
    t.events_error = std::move(events_error);
  }

  json point = {{"t_ms", now_ms()}};
  point["active"] = active ? json(*active) : json(nullptr);
  auto rate = [&](double v) { return any ? json(v) : json(nullptr); };
  point["created_per_min"] = rate(created);
  point["destroyed_per_min"] = rate(destroyed);
  point["expired_per_min"] = rate(expired);
  point["anomalies_per_min"] = rate(anomalies);
  point["store_errors_per_min"] = rate(store_errors);
  point["requests_per_s"] = rate(requests);
  point["store_ms_mean"] =
      any && latency_count > 0 ? json(latency_sum / latency_count * 1000) : json(nullptr);
  const double p99 = latency_quantile(merged, 0.99);
  point["store_ms_p99"] = any && p99 >= 0 ? json(p99 * 1000) : json(nullptr);
  point["scrape_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - started)
                           .count();

  std::lock_guard lock(mu_);
  points_.push_back(std::move(point));
  while (points_.size() > options_.points)
    points_.pop_front();
  for (json& e : new_events)
    events_.push_back(std::move(e));
  while (events_.size() > options_.events)
    events_.pop_front();
}

json Scraper::series() const {
  std::lock_guard lock(mu_);
  json out = {{"interval_ms", options_.interval.count()},
              {"points", json::array()},
              {"targets", json::array()}};
  for (const json& p : points_)
    out["points"].push_back(p);
  for (const Target& t : targets_) {
    out["targets"].push_back(
        {{"url", t.url}, {"up", t.up}, {"error", t.error}, {"events_error", t.events_error}});
  }
  return out;
}

std::vector<json> Scraper::events(const EventFilter& f) const {
  std::vector<json> out;
  std::lock_guard lock(mu_);
  for (auto it = events_.rbegin(); it != events_.rend() && out.size() < f.limit; ++it) {
    const json& e = *it;
    if (!f.type.empty() && e.value("event", "") != f.type) continue;
    if (!f.user.empty() && e.value("user", "") != f.user) continue;
    if (!f.instance.empty() && e.value("instance", "") != f.instance) continue;
    if (!f.text.empty() && e.value("reason", "").find(f.text) == std::string::npos &&
        e.value("anomaly", "").find(f.text) == std::string::npos) {
      continue;
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace sessionctl
