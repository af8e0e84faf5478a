// sessionkit/metrics.h — counters and latency histograms in Prometheus text format.
//
// A `Metrics` object is shared by the manager (session lifecycle, store latency and errors) and
// by the application (request latency). Updates are lock-free atomics; `render_prometheus`
// may run concurrently with updates and sees each number at some recent value.
//
// Thread safety: every member is safe to use from many threads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/anomaly.h"

namespace sessionkit {

// A fixed-bucket latency histogram (seconds): 50µs … 10s, plus +Inf.
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                     0.0025,  0.005,  0.01,    0.025,  0.05,
                                                     0.1,     0.25,   1.0,     10.0};
  void observe(double seconds) noexcept;
  // Appends the _bucket/_sum/_count lines of metric `name` (with HELP/TYPE) to `out`.
  void render(std::string& out, std::string_view name, std::string_view help) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_nanos_{0};
};

struct Metrics {
  std::atomic<std::uint64_t> sessions_created{0};
  std::atomic<std::uint64_t> sessions_rotated{0};
  std::atomic<std::uint64_t> sessions_destroyed{0};
  std::atomic<std::uint64_t> sessions_expired{0};
  std::atomic<std::uint64_t> store_errors{0};
  std::atomic<std::uint64_t> csrf_failures{0};
  AnomalyCounters anomalies;  // by reason: sessionkit_anomalies_total{reason="..."}
  std::atomic<std::uint64_t> rate_limited{0};            // anonymous session creations refused
  std::atomic<std::uint64_t> credential_revocations{0};  // sessions ended: credentials changed
  // Refresh tokens redeemed (tokens/refresh_tokens.h), by outcome; a reuse is an anomaly too.
  std::atomic<std::uint64_t> refresh_rotated{0};
  std::atomic<std::uint64_t> refresh_replayed{0};  // the previous token within grace
  std::atomic<std::uint64_t> refresh_invalid{0};
  std::atomic<std::uint64_t> refresh_reuse{0};
  Histogram store_latency;    // one observation per store call made by the manager
  Histogram request_latency;  // observed by the application per HTTP request

  // The whole exposition text. `active_sessions`, when known, is exported as a gauge.
  std::string render_prometheus(std::optional<std::uint64_t> active_sessions = {}) const;
};

}  // namespace sessionkit
