// metrics_text.h — reading the Prometheus text an app's /metrics answers (private to sessionctl):
// the samples, and the sessionkit figures the console charts (docs/operations.md, "Live charts").
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sessionctl {

// One sample line: `name{labels} value` (labels as written, without the braces; "" when none).
struct MetricSample {
  std::string name;
  std::string labels;
  double value = 0;
};

// Every sample of a text exposition (format 0.0.4). Comments, blank lines and lines that do not
// parse are skipped: one odd line never hides the others.
std::vector<MetricSample> parse_prometheus(std::string_view text);

// The value of label `label` in `labels` (`a="x",le="0.5"`), or "" when absent.
std::string label_value(std::string_view labels, std::string_view label);

// The sessionkit counters and the store latency histogram of one instance, as cumulative totals.
struct SessionFigures {
  bool has_active = false;  // sessionkit_sessions_active is present
  double active = 0;
  double created = 0, destroyed = 0, expired = 0, rotated = 0, anomalies = 0, store_errors = 0,
         csrf_failures = 0, requests = 0;
  double store_latency_sum = 0, store_latency_count = 0;
  std::vector<std::pair<double, double>> store_latency_buckets;  // (le, cumulative count)
};

// Picks the sessionkit figures out of `samples` (anomalies summed over their reasons).
SessionFigures session_figures(const std::vector<MetricSample>& samples);

// The change from `before` to `now` of every counter, as Prometheus' rate() counts it: a counter
// that went down (the instance restarted) counts from zero. `active` is `now`'s.
SessionFigures counter_increase(const SessionFigures& before, const SessionFigures& now);

// The upper bound (seconds) of the bucket holding quantile `q` of the latency histogram in
// `delta` (an increase, above), or -1 when it saw no call. +Inf reads as the largest finite bound.
double latency_quantile(const SessionFigures& delta, double q);

}  // namespace sessionctl
