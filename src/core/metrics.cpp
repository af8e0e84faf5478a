#include "sessionkit/metrics.h"

#include <fmt/format.h>

#include <string_view>
#include <utility>

namespace sessionkit {

void Histogram::observe(double seconds) noexcept {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i])
    ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  if (seconds > 0) {
    sum_nanos_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  }
}

void Histogram::render(std::string& out, std::string_view name, std::string_view help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBounds[i], cumulative);
  }
  cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n", name,
                     static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) / 1e9);
  out += fmt::format("{}_count {}\n", name, cumulative);
}

std::string Metrics::render_prometheus(std::optional<std::uint64_t> active_sessions) const {
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help,
                     const std::atomic<std::uint64_t>& v) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name,
                       v.load(std::memory_order_relaxed));
  };
  counter("sessionkit_sessions_created_total", "Sessions created.", sessions_created);
  counter("sessionkit_sessions_rotated_total", "Session IDs regenerated.", sessions_rotated);
  counter("sessionkit_sessions_destroyed_total", "Sessions destroyed (logout, revocation).",
          sessions_destroyed);
  counter("sessionkit_sessions_expired_total", "Sessions found expired on load.", sessions_expired);
  counter("sessionkit_store_errors_total", "Store calls that failed.", store_errors);
  counter("sessionkit_csrf_failures_total", "Requests with a missing or invalid CSRF token.",
          csrf_failures);
  out +=
      "# HELP sessionkit_anomalies_total Anomalies detected, by reason.\n"
      "# TYPE sessionkit_anomalies_total counter\n";
  for (std::size_t i = 1; i < kAnomalyCount; ++i) {
    const auto which = static_cast<Anomaly>(i);
    out += fmt::format("sessionkit_anomalies_total{{reason=\"{}\"}} {}\n", to_string(which),
                       anomalies[which]);
  }
  counter("sessionkit_rate_limited_total",
          "Anonymous session creations refused by the per-client limit.", rate_limited);
  counter("sessionkit_credential_revocations_total",
          "Sessions ended because the user's credentials changed after they were created.",
          credential_revocations);
  out +=
      "# HELP sessionkit_refresh_tokens_total Refresh token redemptions by outcome.\n"
      "# TYPE sessionkit_refresh_tokens_total counter\n";
  for (const auto& [outcome, v] :
       {std::pair<std::string_view, const std::atomic<std::uint64_t>*>{"rotated", &refresh_rotated},
        {"replayed", &refresh_replayed},
        {"invalid", &refresh_invalid},
        {"reused", &refresh_reuse}}) {
    out += fmt::format("sessionkit_refresh_tokens_total{{outcome=\"{}\"}} {}\n", outcome,
                       v->load(std::memory_order_relaxed));
  }
  if (active_sessions) {
    out += fmt::format(
        "# HELP sessionkit_sessions_active Sessions held by the store.\n"
        "# TYPE sessionkit_sessions_active gauge\nsessionkit_sessions_active {}\n",
        *active_sessions);
  }
  store_latency.render(out, "sessionkit_store_latency_seconds", "Latency of store calls.");
  request_latency.render(out, "sessionkit_request_latency_seconds", "Latency of HTTP requests.");
  return out;
}

}  // namespace sessionkit
