#include "sessionkit/metrics.h"

#include <gtest/gtest.h>

#include "sessionkit/events.h"

namespace sessionkit {
namespace {

TEST(Metrics, RendersCountersAndGauge) {
  Metrics m;
  m.sessions_created += 3;
  m.store_errors += 1;
  std::string text = m.render_prometheus(42);
  EXPECT_NE(text.find("# TYPE sessionkit_sessions_created_total counter\n"
                      "sessionkit_sessions_created_total 3\n"),
            std::string::npos);
  EXPECT_NE(text.find("sessionkit_store_errors_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("sessionkit_sessions_active 42\n"), std::string::npos);
  EXPECT_EQ(m.render_prometheus().find("sessionkit_sessions_active"), std::string::npos);
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Histogram h;
  h.observe(0.00001);  // first bucket
  h.observe(0.003);    // le=0.005
  h.observe(20.0);     // +Inf only
  std::string out;
  h.render(out, "x_seconds", "help");
  EXPECT_NE(out.find("x_seconds_bucket{le=\"5e-05\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{le=\"0.0025\"} 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{le=\"0.005\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{le=\"10\"} 2\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << out;
  EXPECT_NE(out.find("x_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(out.find("x_seconds_sum 20.003"), std::string::npos) << out;
}

TEST(Events, NamesAreStable) {
  EXPECT_EQ(to_string(EventType::created), "created");
  EXPECT_EQ(to_string(EventType::rotated), "rotated");
  EXPECT_EQ(to_string(EventType::destroyed), "destroyed");
  EXPECT_EQ(to_string(EventType::expired), "expired");
  EXPECT_EQ(to_string(EventType::anomaly), "anomaly");
  EXPECT_EQ(to_string(EventType::store_error), "store_error");
}

}  // namespace
}  // namespace sessionkit
