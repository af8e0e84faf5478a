// sessionctl console: reading /metrics text (apps/sessionctl/console/metrics_text.h) — the
// samples of the library's own exposition, odd lines skipped, counter increases across a
// restart, and the latency quantile from histogram buckets.
#include "console/metrics_text.h"

#include <gtest/gtest.h>

#include <cmath>

#include "sessionkit/metrics.h"

namespace sessionctl {
namespace {

TEST(ConsoleMetricsText, ReadsTheLibrarysOwnExposition) {
  sessionkit::Metrics m;
  m.sessions_created += 7;
  m.sessions_destroyed += 2;
  m.store_errors += 1;
  m.anomalies.add(sessionkit::Anomaly::binding_mismatch, 2);
  m.anomalies.add(sessionkit::Anomaly::many_addresses);
  m.store_latency.observe(0.0002);
  m.store_latency.observe(0.0002);
  m.store_latency.observe(0.02);
  m.request_latency.observe(0.001);
  const SessionFigures f = session_figures(parse_prometheus(m.render_prometheus(42)));
  EXPECT_TRUE(f.has_active);
  EXPECT_EQ(f.active, 42);
  EXPECT_EQ(f.created, 7);
  EXPECT_EQ(f.destroyed, 2);
  EXPECT_EQ(f.store_errors, 1);
  EXPECT_EQ(f.anomalies, 3);  // summed over the reasons
  EXPECT_EQ(f.requests, 1);
  EXPECT_EQ(f.store_latency_count, 3);
  EXPECT_NEAR(f.store_latency_sum, 0.0204, 1e-9);
  ASSERT_EQ(f.store_latency_buckets.size(), sessionkit::Histogram::kBounds.size() + 1);
  EXPECT_TRUE(std::isinf(f.store_latency_buckets.back().first));
  EXPECT_EQ(f.store_latency_buckets.back().second, 3);

  const SessionFigures without = session_figures(parse_prometheus(m.render_prometheus({})));
  EXPECT_FALSE(without.has_active);
}

TEST(ConsoleMetricsText, SkipsLinesThatAreNotSamples) {
  const auto s = parse_prometheus(
      "# HELP x y\n\nsessionkit_sessions_created_total 5\r\ngarbage line here\n"
      "bad{unclosed=\"x 1\nlabelled{a=\"with } brace\",le=\"+Inf\"} 3 1700000000\n"
      "nan_value NaN\nno_value \n{x=\"1\"} 2\nsessionkit_sessions_destroyed_total 1e3\n");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].name, "sessionkit_sessions_created_total");
  EXPECT_EQ(s[0].value, 5);
  EXPECT_EQ(s[1].name, "labelled");
  EXPECT_EQ(label_value(s[1].labels, "a"), "with } brace");
  EXPECT_EQ(label_value(s[1].labels, "le"), "+Inf");
  EXPECT_EQ(label_value(s[1].labels, "missing"), "");
  EXPECT_EQ(s[1].value, 3);
  EXPECT_TRUE(std::isnan(s[2].value));
  EXPECT_EQ(s[3].value, 1000);
}

TEST(ConsoleMetricsText, IncreaseCountsFromZeroAfterARestart) {
  SessionFigures before, now;
  before.requests = 100;
  before.created = 10;
  now.requests = 150;
  now.created = 14;
  EXPECT_EQ(counter_increase(before, now).created, 4);
  EXPECT_EQ(counter_increase(before, now).requests, 50);
  now.requests = 3;  // restarted: everything counts from zero
  now.created = 2;
  EXPECT_EQ(counter_increase(before, now).created, 2);
  EXPECT_EQ(counter_increase(before, now).requests, 3);
}

TEST(ConsoleMetricsText, QuantileIsTheBoundOfTheBucketHoldingIt) {
  SessionFigures d;
  EXPECT_EQ(latency_quantile(d, 0.99), -1);  // no calls
  d.store_latency_buckets = {{0.001, 90}, {0.01, 99}, {0.1, 100}, {INFINITY, 100}};
  EXPECT_EQ(latency_quantile(d, 0.5), 0.001);
  EXPECT_EQ(latency_quantile(d, 0.99), 0.01);
  EXPECT_EQ(latency_quantile(d, 1.0), 0.1);
  d.store_latency_buckets = {{0.001, 0}, {10, 0}, {INFINITY, 4}};  // all beyond the last bound
  EXPECT_EQ(latency_quantile(d, 0.99), 10);
}

}  // namespace
}  // namespace sessionctl
