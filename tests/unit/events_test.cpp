// Lifecycle event sinks (sessionkit/events.h): the default logger writes to stderr, never to the
// app's stdout; a logger the app passes gets the lines; the JSON sink writes one valid JSON
// object per event.
#include "sessionkit/events.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace sessionkit {
namespace {

Event sample(EventType type) {
  Event e;
  e.type = type;
  e.at = from_millis(1'764'720'000'000);
  e.key_hint = "3f2a9c1d";
  e.old_key_hint = "77ab01ce";
  e.user_id = "alice";
  e.reason = "login \"quoted\"";
  return e;
}

// A logger that writes the message alone into `out`.
std::shared_ptr<spdlog::logger> capture(std::ostringstream& out, const std::string& name) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_pattern("%l %v");
  return logger;
}

TEST(Events, TheDefaultSinkWritesToStderrNotStdout) {
  EXPECT_EQ(library_logger()->name(), "sessionkit");
  EXPECT_EQ(library_logger(), library_logger()) << "always the same logger";
  auto sink = make_log_sink();
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  sink->on_event(sample(EventType::created));
  library_logger()->flush();
  const std::string out = testing::internal::GetCapturedStdout();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out, "") << "library events never mix into the app's stdout";
  EXPECT_NE(err.find("session created key=3f2a9c1d user=alice"), std::string::npos) << err;
}

TEST(Events, AnAppsLoggerGetsTheLinesAtTheirLevels) {
  std::ostringstream out;
  auto sink = make_log_sink(capture(out, "app-events"));
  sink->on_event(sample(EventType::rotated));
  sink->on_event(sample(EventType::anomaly));
  EXPECT_EQ(out.str(),
            "info session rotated key=3f2a9c1d old_key=77ab01ce user=alice "
            "reason=\"login \"quoted\"\"\n"
            "warning session anomaly key=3f2a9c1d user=alice reason=\"login \"quoted\"\"\n");
}

TEST(Events, TheJsonSinkWritesOneObjectPerLine) {
  std::ostringstream out;
  auto sink = make_json_log_sink(capture(out, "app-json"));
  sink->on_event(sample(EventType::rotated));
  Event odd = sample(EventType::store_error);
  odd.user_id = "bad\xff";
  odd.reason = "line\nbreak";
  sink->on_event(odd);
  std::istringstream lines(out.str());
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  ASSERT_EQ(line.rfind("info ", 0), 0u) << line;
  const auto first = nlohmann::json::parse(line.substr(5));
  EXPECT_EQ(first, nlohmann::json({{"event", "rotated"},
                                   {"at_ms", 1'764'720'000'000},
                                   {"key", "3f2a9c1d"},
                                   {"old_key", "77ab01ce"},
                                   {"user", "alice"},
                                   {"reason", "login \"quoted\""}}));
  EXPECT_EQ(line.substr(5, 18), R"({"event":"rotated")") << "the event type comes first";
  ASSERT_TRUE(std::getline(lines, line)) << "a newline in a reason stays inside its JSON line";
  ASSERT_EQ(line.rfind("warning ", 0), 0u) << line;
  const auto second = nlohmann::json::parse(line.substr(8));
  EXPECT_FALSE(second.contains("old_key"));
  EXPECT_EQ(second["user"], "bad\xEF\xBF\xBD") << "invalid UTF-8 replaced, not thrown";
  EXPECT_EQ(second["reason"], "line\nbreak");
  EXPECT_FALSE(std::getline(lines, line));
}

}  // namespace
}  // namespace sessionkit
