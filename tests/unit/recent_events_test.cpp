// RecentEvents (sessionkit/recent_events.h): numbering, the ring's wrap-around and `dropped`,
// `limit`, concurrent writers; make_tee_sink and event_to_json (sessionkit/events.h).
#include "sessionkit/recent_events.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/recording_sink.h"

namespace sessionkit {
namespace {

Event numbered(int n, EventType type = EventType::created) {
  Event e;
  e.type = type;
  e.at = from_millis(1'764'720'000'000 + n);
  e.key_hint = "k" + std::to_string(n);
  e.user_id = "alice";
  e.reason = "event " + std::to_string(n);
  return e;
}

// The reasons of a page's entries, for compact assertions.
std::vector<std::string> reasons(const RecentEvents::Page& page) {
  std::vector<std::string> out;
  for (const auto& entry : page.entries)
    out.push_back(entry.event.reason);
  return out;
}

std::vector<std::uint64_t> seqs(const RecentEvents::Page& page) {
  std::vector<std::uint64_t> out;
  for (const auto& entry : page.entries)
    out.push_back(entry.seq);
  return out;
}

TEST(RecentEvents, NumbersEventsInArrivalOrderFromOne) {
  RecentEvents recent(10);
  auto empty = recent.since(0, 100);
  EXPECT_TRUE(empty.entries.empty());
  EXPECT_EQ(empty.last_seq, 0u);
  EXPECT_EQ(empty.dropped, 0u);

  for (int n = 1; n <= 3; ++n)
    recent.on_event(numbered(n));
  auto page = recent.since(0, 100);
  EXPECT_EQ(seqs(page), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(reasons(page), (std::vector<std::string>{"event 1", "event 2", "event 3"}));
  EXPECT_EQ(page.last_seq, 3u);
  EXPECT_EQ(page.dropped, 0u);
  EXPECT_EQ(page.entries[1].event.key_hint, "k2") << "the whole event is kept";
  EXPECT_EQ(page.entries[1].event.at, from_millis(1'764'720'000'002));

  auto newer = recent.since(1, 100);
  EXPECT_EQ(seqs(newer), (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(newer.dropped, 0u);
}

TEST(RecentEvents, SinceTheLastNumberIsEmpty) {
  RecentEvents recent(4);
  for (int n = 1; n <= 6; ++n)
    recent.on_event(numbered(n));
  for (std::uint64_t after : {6u, 7u, 1000u}) {
    auto page = recent.since(after, 100);
    EXPECT_TRUE(page.entries.empty()) << after;
    EXPECT_EQ(page.last_seq, 6u) << after;
    EXPECT_EQ(page.dropped, 0u) << after;
  }
}

TEST(RecentEvents, WrapsAroundAndCountsWhatWasOverwritten) {
  RecentEvents recent(3);
  EXPECT_EQ(recent.capacity(), 3u);
  for (int n = 1; n <= 8; ++n)
    recent.on_event(numbered(n));
  // Held: 6, 7, 8.
  auto all = recent.since(0, 100);
  EXPECT_EQ(seqs(all), (std::vector<std::uint64_t>{6, 7, 8}));
  EXPECT_EQ(reasons(all), (std::vector<std::string>{"event 6", "event 7", "event 8"}));
  EXPECT_EQ(all.last_seq, 8u);
  EXPECT_EQ(all.dropped, 5u) << "1 to 5 were overwritten";

  auto from_three = recent.since(3, 100);
  EXPECT_EQ(seqs(from_three), (std::vector<std::uint64_t>{6, 7, 8}));
  EXPECT_EQ(from_three.dropped, 2u) << "4 and 5";

  auto from_five = recent.since(5, 100);
  EXPECT_EQ(seqs(from_five), (std::vector<std::uint64_t>{6, 7, 8}));
  EXPECT_EQ(from_five.dropped, 0u);

  auto from_six = recent.since(6, 100);
  EXPECT_EQ(seqs(from_six), (std::vector<std::uint64_t>{7, 8}));
  EXPECT_EQ(from_six.dropped, 0u);

  // Many more laps: still the newest three, in order.
  for (int n = 9; n <= 100; ++n)
    recent.on_event(numbered(n));
  auto late = recent.since(95, 100);
  EXPECT_EQ(seqs(late), (std::vector<std::uint64_t>{98, 99, 100}));
  EXPECT_EQ(reasons(late), (std::vector<std::string>{"event 98", "event 99", "event 100"}));
  EXPECT_EQ(late.dropped, 2u);
}

TEST(RecentEvents, CapacityOneKeepsTheNewest) {
  RecentEvents recent(1);
  recent.on_event(numbered(1));
  recent.on_event(numbered(2));
  auto page = recent.since(0, 10);
  EXPECT_EQ(seqs(page), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(page.dropped, 1u);
}

TEST(RecentEvents, RefusesCapacityZero) {
  EXPECT_THROW(RecentEvents(0), std::invalid_argument);
}

TEST(RecentEvents, LimitGivesTheOldestFirstAndTheRestOnTheNextCall) {
  RecentEvents recent(10);
  for (int n = 1; n <= 7; ++n)
    recent.on_event(numbered(n));
  auto first = recent.since(0, 3);
  EXPECT_EQ(seqs(first), (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(first.last_seq, 7u) << "last_seq is the newest number, not the page's last";
  auto second = recent.since(first.entries.back().seq, 3);
  EXPECT_EQ(seqs(second), (std::vector<std::uint64_t>{4, 5, 6}));
  auto third = recent.since(second.entries.back().seq, 3);
  EXPECT_EQ(seqs(third), (std::vector<std::uint64_t>{7}));
  EXPECT_TRUE(recent.since(0, 0).entries.empty());

  // With wrap-around: the limit counts from the oldest event still held.
  RecentEvents small(4);
  for (int n = 1; n <= 10; ++n)
    small.on_event(numbered(n));
  auto page = small.since(2, 2);
  EXPECT_EQ(seqs(page), (std::vector<std::uint64_t>{7, 8}));
  EXPECT_EQ(page.dropped, 4u) << "3 to 6";
}

TEST(RecentEvents, ConcurrentWritersLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kEach = 5000;
  RecentEvents recent(kThreads * kEach);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&recent, t] {
      for (int i = 0; i < kEach; ++i) {
        Event e = numbered(i);
        e.user_id = "thread-" + std::to_string(t);
        recent.on_event(e);
        if (i % 500 == 0) (void)recent.since(0, 10);  // readers alongside the writers
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  auto page = recent.since(0, kThreads * kEach);
  ASSERT_EQ(page.entries.size(), std::size_t{kThreads * kEach});
  EXPECT_EQ(page.last_seq, std::uint64_t{kThreads * kEach});
  EXPECT_EQ(page.dropped, 0u);
  std::set<std::uint64_t> unique;
  std::set<std::string> events;
  for (std::size_t i = 0; i < page.entries.size(); ++i) {
    const auto& entry = page.entries[i];
    EXPECT_EQ(entry.seq, i + 1) << "oldest first, no gap";
    unique.insert(entry.seq);
    events.insert(entry.event.user_id + "/" + entry.event.reason);
  }
  EXPECT_EQ(unique.size(), std::size_t{kThreads * kEach});
  EXPECT_EQ(events.size(), std::size_t{kThreads * kEach}) << "every thread's every event";
}

TEST(EventsTee, SendsEveryEventToEverySinkInOrder) {
  auto first = std::make_shared<testing::RecordingSink>();
  auto second = std::make_shared<testing::RecordingSink>();
  auto recent = std::make_shared<RecentEvents>(5);
  auto tee = make_tee_sink({first, nullptr, second, recent});
  tee->on_event(numbered(1));
  tee->on_event(numbered(2, EventType::destroyed));
  for (auto* sink : {first.get(), second.get()}) {
    ASSERT_EQ(sink->events.size(), 2u);
    EXPECT_EQ(sink->events[0].reason, "event 1");
    EXPECT_EQ(sink->events[1].type, EventType::destroyed);
  }
  EXPECT_EQ(recent->since(0, 10).entries.size(), 2u);
  make_tee_sink({})->on_event(numbered(3));  // no sinks: nothing to do, no crash
  make_tee_sink({nullptr})->on_event(numbered(4));
}

// A logger that writes the message alone into `out`.
std::shared_ptr<spdlog::logger> capture(std::ostringstream& out, const std::string& name) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>(name, sink);
  logger->set_pattern("%v");
  return logger;
}

TEST(EventsJson, IsWhatTheJsonLogSinkWrites) {
  std::vector<Event> events;
  for (EventType type : {EventType::created, EventType::rotated, EventType::destroyed,
                         EventType::expired, EventType::anomaly, EventType::store_error}) {
    Event e = numbered(static_cast<int>(events.size()), type);
    e.old_key_hint = "77ab01ce";
    if (type == EventType::anomaly) e.anomaly = Anomaly::binding_mismatch;
    events.push_back(e);
  }
  std::ostringstream out;
  auto sink = make_json_log_sink(capture(out, "recent-events-json"));
  for (const Event& e : events)
    sink->on_event(e);
  std::istringstream lines(out.str());
  for (const Event& e : events) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(line, event_to_json(e).dump()) << "same members, same order";
  }
  const auto rotated = event_to_json(events[1]);
  EXPECT_EQ(rotated.dump(),
            R"({"event":"rotated","at_ms":1764720000001,"key":"k1","old_key":"77ab01ce",)"
            R"("user":"alice","reason":"event 1"})");
  const auto anomaly = event_to_json(events[4]);
  EXPECT_EQ(anomaly["anomaly"], std::string(to_string(Anomaly::binding_mismatch)));
  EXPECT_FALSE(anomaly.contains("old_key"));
  EXPECT_FALSE(event_to_json(events[0]).contains("anomaly"));
}

}  // namespace
}  // namespace sessionkit
