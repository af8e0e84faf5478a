// sessionkit/testing/store_conformance.h — the SessionStore conformance suite, for any store.
//
// What it is: GoogleTest tests of the whole contract of store.h (docs/stores.md, "The contract
// in plain words"), one typed test suite, `StoreConformance`, that a store instantiates with
// one line and a small traits struct, in this repository or in your own project:
//
//   struct MyStoreTraits {
//     // A fresh, empty store that judges expiry by `clock` (a ManualClock the tests advance).
//     static std::shared_ptr<sessionkit::SessionStore> make(const sessionkit::Clock& clock);
//   };
//   SESSIONKIT_STORE_CONFORMANCE(MyStore, MyStoreTraits);  // at namespace scope, outside any
//                                                          // namespace
//
// The traits may also say where a store legitimately differs (each optional, default shown):
//   static constexpr bool kOrderedScan = true;        // scan walks keys in ascending order
//   static constexpr bool kExpiresByTtl = false;      // a server deletes expired records itself
//                                                     // (purge_expired answers 0)
//   static constexpr bool kCountIsExpensive = false;  // what count_is_expensive() answers
//   static std::string skip_reason();                 // non-empty: skip every test, saying why
//
// Every test gets a fresh store from `make` and drives it through BlockingStore, so `make` must
// give a store with no records (a fresh table, a flushed server, a new file). No test sleeps:
// time moves only by the ManualClock, which is why the store must read time from the clock it
// is given. Tests run one after another; some call the store from 6 to 8 threads at once.
//
// Dependencies: installed sessionkit headers and GoogleTest only. CMake: link
// `sessionkit::store_conformance` and GTest yourself (`GTest::gtest_main`, or `GTest::gtest` and
// your own main); the package does not look for GoogleTest.
//
// Also here, for a store's own tests: `new_key()`, `make_record(...)`, `is_ok(result)` and
// SESSIONKIT_ASSERT_OK / SESSIONKIT_EXPECT_OK (names the error when a Result is not ok).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "sessionkit/blocking_store.h"
#include "sessionkit/clock.h"
#include "sessionkit/record.h"
#include "sessionkit/result.h"
#include "sessionkit/session_id.h"
#include "sessionkit/store.h"

namespace sessionkit {
// Readable failure messages for records and keys.
inline void PrintTo(const SessionRecord& r, std::ostream* os) {
  *os << encode_record(r);
}
inline void PrintTo(const SessionKey& k, std::ostream* os) {
  *os << k.hex();
}
}  // namespace sessionkit

namespace sessionkit::testing {

// Durations read as in the contract (30min, 8h). The literal suffixes are std's own (reserved
// names), so bringing them into this namespace cannot clash with anything.
using namespace std::chrono_literals;

// Success, or a failure naming the error code and message.
template <class R>
::testing::AssertionResult is_ok(const R& r) {
  if (r.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << to_string(r.code()) << ": " << r.message();
}

#define SESSIONKIT_ASSERT_OK(expr) ASSERT_TRUE(::sessionkit::testing::is_ok(expr))
#define SESSIONKIT_EXPECT_OK(expr) EXPECT_TRUE(::sessionkit::testing::is_ok(expr))

inline SessionKey new_key() {
  return SessionKey::of(SessionId::generate());
}

// A typical record: 30 min idle, 8 h absolute, created now.
inline SessionRecord make_record(Time now, std::string user = {}, Duration idle = 30min,
                                 Duration absolute = 8h) {
  SessionRecord r;
  r.created_at = now;
  r.last_access = now;
  r.absolute_expires_at = now + absolute;
  r.expires_at = std::min(now + idle, r.absolute_expires_at);
  r.user_id = std::move(user);
  r.ip = "203.0.113.7";
  r.user_agent = "Mozilla/5.0 (sessionkit test)";
  r.data = {{"cart", {1, 2, 3}}, {"name", "Zoë"}, {"nested", {{"a", nullptr}, {"b", 1.5}}}};
  return r;
}

// A traits struct as the suite reads it: the optional members with their defaults.
template <class Traits>
struct ConformanceTraits {
  static_assert(
      requires(const Clock& clock) {
        { Traits::make(clock) } -> std::convertible_to<std::shared_ptr<SessionStore>>;
      },
      "store conformance traits need: static std::shared_ptr<SessionStore> make(const Clock&)");

  static constexpr bool kOrderedScan = [] {
    if constexpr (requires { bool{Traits::kOrderedScan}; }) return Traits::kOrderedScan;
    return true;
  }();
  static constexpr bool kExpiresByTtl = [] {
    if constexpr (requires { bool{Traits::kExpiresByTtl}; }) return Traits::kExpiresByTtl;
    return false;
  }();
  static constexpr bool kCountIsExpensive = [] {
    if constexpr (requires { bool{Traits::kCountIsExpensive}; }) return Traits::kCountIsExpensive;
    return false;
  }();
  static std::string skip_reason() {
    if constexpr (requires { std::string(Traits::skip_reason()); }) return Traits::skip_reason();
    return {};
  }
};

template <class Traits>
class StoreConformance : public ::testing::Test {
 protected:
  static constexpr bool kOrderedScan = ConformanceTraits<Traits>::kOrderedScan;
  static constexpr bool kExpiresByTtl = ConformanceTraits<Traits>::kExpiresByTtl;
  static constexpr bool kCountIsExpensive = ConformanceTraits<Traits>::kCountIsExpensive;

  void SetUp() override {
    if (std::string why = ConformanceTraits<Traits>::skip_reason(); !why.empty()) {
      GTEST_SKIP() << why;
    }
    store_ = Traits::make(clock_);
    ASSERT_NE(store_, nullptr) << "the traits' make() gave no store";
    db_.emplace(*store_);
  }

  Time now() const { return clock_.now(); }
  BlockingStore& db() { return *db_; }
  SessionStore& store() { return *store_; }

  // Creates a record under a fresh key; the key, or a default key after a test failure.
  SessionKey add(std::string user = {}, Duration idle = 30min, Duration absolute = 8h) {
    SessionKey key = new_key();
    SESSIONKIT_EXPECT_OK(db_->create(key, make_record(now(), std::move(user), idle, absolute)));
    return key;
  }

  std::optional<SessionRecord> get(const SessionKey& key) {
    auto r = db_->load(key);
    SESSIONKIT_EXPECT_OK(r);
    return r.ok() ? *r : std::nullopt;
  }

  std::set<SessionKey> user_keys(const std::string& user) {
    std::set<SessionKey> keys;
    auto r = db_->list_user(user);
    SESSIONKIT_EXPECT_OK(r);
    if (!r.ok()) return keys;
    for (const auto& s : *r) {
      EXPECT_EQ(s.record.user_id, user);
      keys.insert(s.key);
    }
    return keys;
  }

  std::size_t stored() {
    auto r = db_->count();
    SESSIONKIT_EXPECT_OK(r);
    return r.ok() ? *r : 0;
  }

  // Destroyed in reverse: the BlockingStore, then the store, then the clock it reads.
  ManualClock clock_;
  std::shared_ptr<SessionStore> store_;
  std::optional<BlockingStore> db_;
};

TYPED_TEST_SUITE_P(StoreConformance);

// The test bodies below use short names for the assertions; restored at the end of the file.
#pragma push_macro("ASSERT_OK")
#pragma push_macro("EXPECT_OK")
#undef ASSERT_OK
#undef EXPECT_OK
#define ASSERT_OK(expr) SESSIONKIT_ASSERT_OK(expr)
#define EXPECT_OK(expr) SESSIONKIT_EXPECT_OK(expr)
TYPED_TEST_P(StoreConformance, CreateThenLoadRoundTrips) {
  const SessionKey key = new_key();
  SessionRecord rec = make_record(this->now(), "alice");
  rec.auth_at = this->now() - 5min;
  rec.data["big"] = std::string(100'000, 'x');
  ASSERT_OK(this->db().create(key, rec));
  EXPECT_EQ(this->get(key), rec);

  SessionRecord bare = make_record(this->now());
  bare.ip.clear();
  bare.user_agent.clear();
  bare.data = nlohmann::json::object();
  const SessionKey other = new_key();
  ASSERT_OK(this->db().create(other, bare));
  EXPECT_EQ(this->get(other), bare);
}

TYPED_TEST_P(StoreConformance, CreateOfATakenKeyIsAConflictAndKeepsTheOriginal) {
  const SessionKey key = new_key();
  const SessionRecord first = make_record(this->now(), "alice");
  ASSERT_OK(this->db().create(key, first));
  SessionRecord second = make_record(this->now(), "mallory");
  second.data = {{"evil", true}};
  EXPECT_EQ(this->db().create(key, second).code(), errc::conflict);
  EXPECT_EQ(this->get(key), first);
  EXPECT_EQ(this->user_keys("mallory").size(), 0u);
}

TYPED_TEST_P(StoreConformance, LoadOfAMissingKeyIsSuccessWithNothing) {
  auto r = this->db().load(new_key());
  ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
}

TYPED_TEST_P(StoreConformance, CreateRejectsAPayloadThatIsNotAnObject) {
  const SessionKey key = new_key();
  SessionRecord rec = make_record(this->now());
  rec.data = nlohmann::json::array({1, 2});
  EXPECT_EQ(this->db().create(key, rec).code(), errc::invalid_argument);
  EXPECT_EQ(this->get(key), std::nullopt);
}

TYPED_TEST_P(StoreConformance, PatchChangesOnlyTheNamedKeys) {
  const SessionKey key = this->add();
  SessionPatch p;
  p.set = {{"name", "Bob"}, {"theme", "dark"}};
  p.erase = {"cart", "absent"};
  ASSERT_OK(this->db().patch(key, p));
  SessionRecord want = make_record(this->now());
  want.data["name"] = "Bob";
  want.data["theme"] = "dark";
  want.data.erase("cart");
  EXPECT_EQ(this->get(key), want);
}

TYPED_TEST_P(StoreConformance, PatchRebindsUserSetsAuthAndTouches) {
  const SessionKey key = this->add("alice");
  const Time start = this->now();
  this->clock_.advance(1min);
  SessionPatch p;
  p.user_id = "bob";
  p.auth_at = this->now();
  p.touch = TouchSpec{this->now(), this->now() + 30min};
  ASSERT_OK(this->db().patch(key, p));
  SessionRecord want = make_record(start, "bob");
  want.auth_at = this->now();
  want.last_access = this->now();
  want.expires_at = this->now() + 30min;
  EXPECT_EQ(this->get(key), want);
  EXPECT_TRUE(this->user_keys("alice").empty());
  EXPECT_EQ(this->user_keys("bob"), std::set{key});

  SessionPatch far;  // a touch past the absolute deadline is capped there
  far.touch = TouchSpec{this->now(), this->now() + 100h};
  ASSERT_OK(this->db().patch(key, far));
  EXPECT_EQ(this->get(key)->expires_at, want.absolute_expires_at);

  SessionPatch unbind;
  unbind.user_id = "";
  ASSERT_OK(this->db().patch(key, unbind));
  EXPECT_EQ(this->get(key)->user_id, "");
  EXPECT_TRUE(this->user_keys("bob").empty());
}

TYPED_TEST_P(StoreConformance, WritesToAMissingKeyAreNotFoundAndCreateNothing) {
  const SessionKey missing = new_key();
  SessionPatch p;
  p.set = {{"a", 1}};
  p.user_id = "alice";
  const TouchSpec t{this->now(), this->now() + 30min};
  EXPECT_EQ(this->db().patch(missing, p).code(), errc::not_found);
  EXPECT_EQ(this->db().increment(missing, "n").code(), errc::not_found);
  EXPECT_EQ(this->db().replace(missing, make_record(this->now())).code(), errc::not_found);
  EXPECT_EQ(this->db().touch(missing, t).code(), errc::not_found);
  EXPECT_EQ(this->get(missing), std::nullopt);
  EXPECT_EQ(this->stored(), 0u);
  EXPECT_TRUE(this->user_keys("alice").empty());

  // No resurrection: a late write after destroy brings nothing back.
  const SessionKey key = this->add();
  ASSERT_EQ(*this->db().destroy(key), true);
  EXPECT_EQ(this->db().patch(key, p).code(), errc::not_found);
  EXPECT_EQ(this->db().increment(key, "n").code(), errc::not_found);
  EXPECT_EQ(this->db().replace(key, make_record(this->now())).code(), errc::not_found);
  EXPECT_EQ(this->db().touch(key, t).code(), errc::not_found);
  EXPECT_EQ(this->get(key), std::nullopt);
  EXPECT_EQ(this->stored(), 0u);
}

TYPED_TEST_P(StoreConformance, IncrementStartsAtZeroAndAdds) {
  const SessionKey key = this->add();
  EXPECT_EQ(*this->db().increment(key, "visits"), 1);
  EXPECT_EQ(*this->db().increment(key, "visits", 5), 6);
  EXPECT_EQ(*this->db().increment(key, "visits", -2), 4);
  SessionRecord want = make_record(this->now());
  want.data["visits"] = 4;
  EXPECT_EQ(this->get(key), want);
}

TYPED_TEST_P(StoreConformance, IncrementOfANonIntegerIsInvalidAndChangesNothing) {
  const SessionKey key = new_key();
  SessionRecord rec = make_record(this->now());
  rec.data = {{"s", "7"}, {"f", 1.5}, {"o", {{"x", 1}}}, {"b", true}, {"n", nullptr}};
  rec.data["max"] = std::numeric_limits<std::int64_t>::max();
  ASSERT_OK(this->db().create(key, rec));
  for (const char* field : {"s", "f", "o", "b", "n"}) {
    EXPECT_EQ(this->db().increment(key, field).code(), errc::invalid_argument) << field;
  }
  EXPECT_EQ(this->db().increment(key, "max").code(), errc::invalid_argument);  // overflow
  EXPECT_EQ(this->get(key), rec);
}

// Exact at every magnitude: across 2^53 (where a double, e.g. a Lua number, stops being exact)
// and up to the int64 edges.
TYPED_TEST_P(StoreConformance, IncrementIsExactAcrossTwoToThe53AndAtTheEdges) {
  const SessionKey key = new_key();
  constexpr std::int64_t k2p53 = std::int64_t{1} << 53;
  SessionRecord rec = make_record(this->now());
  rec.data = {{"up", k2p53 - 2}, {"down", -(k2p53 - 2)}};
  rec.data["max"] = std::numeric_limits<std::int64_t>::max() - 2;
  rec.data["min"] = std::numeric_limits<std::int64_t>::min() + 2;
  ASSERT_OK(this->db().create(key, rec));
  auto inc = [&](const char* field, std::int64_t delta) -> std::optional<std::int64_t> {
    auto r = this->db().increment(key, field, delta);
    EXPECT_TRUE(r.ok()) << field << " += " << delta << ": " << r.status().to_string();
    return r.ok() ? std::optional<std::int64_t>(*r) : std::nullopt;
  };
  for (std::int64_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(inc("up", 1), k2p53 - 2 + i);
    EXPECT_EQ(inc("down", -1), -(k2p53 - 2 + i));
  }
  EXPECT_EQ(inc("max", 1), std::numeric_limits<std::int64_t>::max() - 1);
  EXPECT_EQ(inc("max", 1), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(inc("min", -2), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(inc("up", -(k2p53 + 1)), 0);
  auto got = this->get(key);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->data["up"], 0);
  EXPECT_EQ(got->data["down"], -(k2p53 + 1));
  EXPECT_EQ(got->data["max"], std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(got->data["min"], std::numeric_limits<std::int64_t>::min());
}

TYPED_TEST_P(StoreConformance, IncrementWithTouchRefreshesTheDeadline) {
  const SessionKey key = this->add();
  this->clock_.advance(20min);
  ASSERT_EQ(*this->db().increment(key, "n", 1, TouchSpec{this->now(), this->now() + 30min}), 1);
  this->clock_.advance(20min);  // past the first deadline, not the refreshed one
  auto rec = this->get(key);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->data["n"], 1);
  EXPECT_EQ(rec->last_access, this->now() - 20min);
}

TYPED_TEST_P(StoreConformance, ReplaceOverwritesTheWholeRecord) {
  const SessionKey key = this->add("alice");
  SessionRecord next = make_record(this->now() + 1min, "carol", 10min, 2h);
  next.auth_at = this->now();
  next.ip = "198.51.100.1";
  next.user_agent = "curl/8";
  next.data = {{"only", "this"}};
  ASSERT_OK(this->db().replace(key, next));
  EXPECT_EQ(this->get(key), next);
  EXPECT_TRUE(this->user_keys("alice").empty());
  EXPECT_EQ(this->user_keys("carol"), std::set{key});
}

TYPED_TEST_P(StoreConformance, TouchNeverMovesTheDeadlinePastTheAbsoluteOne) {
  const SessionKey key = this->add({}, 30min, 1h);
  this->clock_.advance(10min);
  ASSERT_OK(this->db().touch(key, {this->now(), this->now() + 30min}));
  auto rec = this->get(key);
  EXPECT_EQ(rec->last_access, this->now());
  EXPECT_EQ(rec->expires_at, this->now() + 30min);
  this->clock_.advance(25min);
  ASSERT_OK(this->db().touch(key, {this->now(), this->now() + 30min}));
  EXPECT_EQ(this->get(key)->expires_at, rec->absolute_expires_at);
}

TYPED_TEST_P(StoreConformance, LoadWithTouchAnswersTheRefreshedRecord) {
  const SessionKey key = this->add({}, 30min, 1h);
  this->clock_.advance(5min);
  auto r = this->db().load(key, TouchSpec{this->now(), this->now() + 30min});
  ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->last_access, this->now());
  EXPECT_EQ((*r)->expires_at, this->now() + 30min);
  EXPECT_EQ(this->get(key), **r);

  this->clock_.advance(28min);
  auto capped = this->db().load(key, TouchSpec{this->now(), this->now() + 30min});
  ASSERT_OK(capped);
  ASSERT_TRUE(capped->has_value());
  EXPECT_EQ((*capped)->expires_at, (*capped)->absolute_expires_at);

  auto miss = this->db().load(new_key(), TouchSpec{this->now(), this->now() + 30min});
  ASSERT_OK(miss);
  EXPECT_FALSE(miss->has_value());
  EXPECT_EQ(this->stored(), 1u);
}

// A lazy touch (TouchSpec::only_if_accessed_in), as the manager sends with every load: refresh
// only when the last access lies in [from, before). Due (the first window begins exactly at the
// last access: `from` is in it), the load answers the refreshed record and the store keeps it,
// the deadline being min(touch.expires_at, absolute_expires_at).
TYPED_TEST_P(StoreConformance, LazyTouchAtLoadRefreshesWhenItsWindowHoldsTheLastAccess) {
  const Time start = this->now();
  const SessionKey key = this->add("alice", 30min, 45min);
  this->clock_.advance(2min);
  const TouchSpec due{this->now(), this->now() + 30min, AccessWindow{start, this->now() - 1min}};
  auto r = this->db().load(key, due);
  ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  SessionRecord want = make_record(start, "alice", 30min, 45min);
  want.last_access = this->now();
  want.expires_at = this->now() + 30min;
  EXPECT_EQ(**r, want);
  EXPECT_EQ(this->get(key), want);

  // Due again later, with a deadline past the absolute one: capped there.
  this->clock_.advance(25min);
  const TouchSpec capped{this->now(), this->now() + 30min,
                         AccessWindow{this->now() - 30min, this->now() - 1min}};
  auto c = this->db().load(key, capped);
  ASSERT_OK(c);
  ASSERT_TRUE(c->has_value());
  want.last_access = this->now();
  want.expires_at = start + 45min;  // min(touch.expires_at, absolute_expires_at)
  EXPECT_EQ(**c, want);
  EXPECT_EQ(this->get(key), want);
  this->clock_.advance(18min - 1ms);  // alive until the absolute deadline, 18 min on
  EXPECT_EQ(this->get(key), want);
}

// Outside its window a lazy touch changes nothing: the load answers the record as it is and
// the deadline stays where it was (the record still expires on time).
TYPED_TEST_P(StoreConformance, LazyTouchAtLoadOutsideItsWindowChangesNothing) {
  // Too recent: last access >= before (refreshed within the caller's touch interval of 1 min;
  // then the bound itself: `before` is not in the window).
  const Time start = this->now();
  const SessionKey recent = this->add("alice", 30min);
  const SessionRecord recent_as_created = make_record(start, "alice", 30min);
  this->clock_.advance(30s);
  for (Time before : {this->now() - 1min, start}) {
    const TouchSpec not_yet{this->now(), this->now() + 30min,
                            AccessWindow{this->now() - 30min, before}};
    auto r = this->db().load(recent, not_yet);
    ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, recent_as_created);
    EXPECT_EQ(this->get(recent), recent_as_created);
  }

  // Too old: last access < from (idle past the caller's own timeout, which the caller enforces
  // itself and so must see): 40 min idle against a 30 min timeout, then against a window that
  // begins 1 ms after the last access. The stored deadline is 2 h away.
  const SessionKey idle = this->add("bob", 2h);
  const SessionRecord idle_as_created = make_record(this->now(), "bob", 2h);
  this->clock_.advance(40min);
  for (Time from : {this->now() - 30min, idle_as_created.last_access + 1ms}) {
    const TouchSpec too_late{this->now(), this->now() + 30min,
                             AccessWindow{from, this->now() - 1min}};
    auto r = this->db().load(idle, too_late);
    ASSERT_OK(r);
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ(**r, idle_as_created);
    EXPECT_EQ(this->get(idle), idle_as_created);
  }

  // Nothing moved: the first record expired at its own deadline (30 min after creation), the
  // second lives until its own and no longer.
  EXPECT_EQ(this->get(recent), std::nullopt);
  this->clock_.advance(80min - 1ms);
  EXPECT_EQ(this->get(idle), idle_as_created);
  this->clock_.advance(1ms);
  EXPECT_EQ(this->get(idle), std::nullopt);
}

// Without a window the touch at load is unconditional, however recent or old the last access.
TYPED_TEST_P(StoreConformance, UnconditionalTouchAtLoadRefreshesAtAnyAge) {
  const Time start = this->now();
  const SessionKey key = this->add("alice", 30min, 8h);
  SessionRecord want = make_record(start, "alice", 30min, 8h);
  this->clock_.advance(1ms);  // accessed a moment ago: a lazy touch would wait
  const TouchSpec now_touch{this->now(), this->now() + 30min, std::nullopt};
  auto r = this->db().load(key, now_touch);
  ASSERT_OK(r);
  ASSERT_TRUE(r->has_value());
  want.last_access = this->now();
  want.expires_at = this->now() + 30min;
  EXPECT_EQ(**r, want);
  EXPECT_EQ(this->get(key), want);

  this->clock_.advance(30min - 1ms);  // idle for 30 min less 1 ms: still live
  const TouchSpec late{this->now(), this->now() + 10min, std::nullopt};
  auto l = this->db().load(key, late);
  ASSERT_OK(l);
  ASSERT_TRUE(l->has_value());
  want.last_access = this->now();
  want.expires_at = this->now() + 10min;
  EXPECT_EQ(**l, want);
  EXPECT_EQ(this->get(key), want);
}

// A lazy touch answers nothing and writes nothing for a destroyed or unknown key; never brings
// back or answers an expired record (idle or absolute), even with a window that holds its last
// access; and one that is not due does not keep a record alive.
TYPED_TEST_P(StoreConformance, LazyTouchAtLoadNeverResurrectsOrReturnsAnExpiredRecord) {
  auto lazy = [this](Time from, Time before) {
    return TouchSpec{this->now(), this->now() + 30min, AccessWindow{from, before}};
  };
  auto load = [this](const SessionKey& key, const TouchSpec& touch) {
    auto r = this->db().load(key, touch);
    SESSIONKIT_EXPECT_OK(r);
    return r.ok() ? *r : std::nullopt;
  };
  // A use as the manager makes it: due when last accessed 1 to 30 min ago.
  auto use = [&](const SessionKey& key) {
    return load(key, lazy(this->now() - 30min, this->now() - 1min));
  };
  // Destroyed, or never created: nothing answered, nothing written (counted before any
  // deadline is near, as a server deleting by TTL would delete a record about to expire).
  const SessionKey gone = this->add("alice");
  ASSERT_EQ(*this->db().destroy(gone), true);
  EXPECT_EQ(this->stored(), 0u);
  EXPECT_EQ(load(gone, lazy(this->now() - 30min, this->now() + 1min)), std::nullopt);
  EXPECT_EQ(load(new_key(), lazy(this->now() - 30min, this->now() + 1min)), std::nullopt);
  EXPECT_EQ(this->stored(), 0u);
  EXPECT_EQ(this->get(gone), std::nullopt);
  EXPECT_TRUE(this->user_keys("alice").empty());

  const Time start = this->now();
  const SessionKey idle = this->add({}, 30min);
  const SessionKey absolute = this->add({}, 30min, 1h);

  this->clock_.advance(20min - 1ms);  // 19:59.999
  auto first = use(absolute);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->last_access, this->now());
  EXPECT_EQ(this->get(absolute), first);

  // Not due at 29 min (the window ends at the last access): the idle deadline stays, so at
  // 30 min the record is gone, though a window holding its last access is offered.
  this->clock_.advance(9min + 1ms);  // 29:00.000
  auto early = load(idle, lazy(start - 1h, start));
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->last_access, start);
  this->clock_.advance(1min);  // 30:00.000
  EXPECT_EQ(load(idle, lazy(start - 1h, this->now())), std::nullopt);
  EXPECT_EQ(this->get(idle), std::nullopt);
  EXPECT_EQ(this->db().touch(idle, {this->now(), this->now() + 30min}).code(), errc::not_found);

  // Kept alive by due lazy touches, a record still ends at its absolute deadline (60 min).
  this->clock_.advance(10min - 1ms);  // 39:59.999
  ASSERT_TRUE(use(absolute).has_value());
  this->clock_.advance(20min - 1ms);  // 59:59.998
  auto last = use(absolute);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->last_access, this->now());
  EXPECT_EQ(last->expires_at, start + 1h);
  this->clock_.advance(2ms);  // 60:00.000
  EXPECT_EQ(load(absolute, lazy(start, this->now() + 1min)), std::nullopt);
  EXPECT_EQ(this->get(absolute), std::nullopt);
  EXPECT_EQ(this->db().increment(absolute, "n").code(), errc::not_found);

  const SessionRecord fresh = make_record(this->now(), "carol");  // the key may be taken anew
  ASSERT_OK(this->db().create(idle, fresh));
  EXPECT_EQ(this->get(idle), fresh);
}

TYPED_TEST_P(StoreConformance, DestroyAnswersWhetherTheRecordWasThere) {
  const SessionKey key = this->add("alice");
  EXPECT_EQ(*this->db().destroy(key), true);
  EXPECT_EQ(*this->db().destroy(key), false);
  EXPECT_EQ(this->get(key), std::nullopt);
  EXPECT_TRUE(this->user_keys("alice").empty());
}

TYPED_TEST_P(StoreConformance, IdleExpiryHidesTheRecordFromEveryOperation) {
  const SessionKey key = this->add("alice", 30min);
  const SessionKey keep = this->add("alice", 2h);
  this->clock_.advance(30min - 1ms);
  EXPECT_TRUE(this->get(key).has_value());
  this->clock_.advance(1ms);  // exactly at the deadline: expired
  EXPECT_EQ(this->get(key), std::nullopt);
  SessionPatch p;
  p.set = {{"a", 1}};
  EXPECT_EQ(this->db().patch(key, p).code(), errc::not_found);
  EXPECT_EQ(this->db().increment(key, "n").code(), errc::not_found);
  EXPECT_EQ(this->db().touch(key, {this->now(), this->now() + 30min}).code(), errc::not_found);
  EXPECT_EQ(this->db().replace(key, make_record(this->now())).code(), errc::not_found);
  EXPECT_EQ(this->user_keys("alice"), std::set{keep});
  auto page = this->db().scan("", 100);
  ASSERT_OK(page);
  ASSERT_EQ(page->sessions.size(), 1u);
  EXPECT_EQ(page->sessions[0].key, keep);

  const SessionRecord fresh = make_record(this->now(), "bob");  // the key may be taken anew
  ASSERT_OK(this->db().create(key, fresh));
  EXPECT_EQ(this->get(key), fresh);
}

TYPED_TEST_P(StoreConformance, AbsoluteExpiryWinsOverRecentActivity) {
  const SessionKey key = this->add({}, 30min, 1h);
  for (int i = 0; i < 3; ++i) {
    this->clock_.advance(20min - 1ms);
    EXPECT_OK(this->db().touch(key, {this->now(), this->now() + 30min})) << i;
  }
  this->clock_.advance(3ms);  // just after the last touch, but 60 min after creation
  EXPECT_EQ(this->get(key), std::nullopt);

  // Even a record whose idle deadline lies past its absolute one expires at the absolute one.
  const SessionKey odd = new_key();
  SessionRecord rec = make_record(this->now(), {}, 30min, 1h);
  rec.expires_at = this->now() + 2h;
  ASSERT_OK(this->db().create(odd, rec));
  this->clock_.advance(1h);
  EXPECT_EQ(this->get(odd), std::nullopt);
  EXPECT_EQ(this->db().increment(odd, "n").code(), errc::not_found);
}

TYPED_TEST_P(StoreConformance, PurgeRemovesExactlyTheExpiredInBatches) {
  std::vector<SessionKey> short_lived, long_lived;
  for (int i = 0; i < 10; ++i)
    short_lived.push_back(this->add("u", 10min));
  for (int i = 0; i < 5; ++i)
    long_lived.push_back(this->add("u", 1h));
  EXPECT_EQ(*this->db().purge_expired(100), 0u);
  this->clock_.advance(15min);
  if constexpr (TestFixture::kExpiresByTtl) {
    // The server deletes by its own clock; the expired records are invisible meanwhile.
    EXPECT_EQ(*this->db().purge_expired(100), 0u);
    for (const auto& key : short_lived)
      EXPECT_EQ(this->get(key), std::nullopt);
  } else {
    const std::size_t before = this->stored();
    EXPECT_GE(before, 5u);
    EXPECT_LE(before, 15u);
    EXPECT_EQ(*this->db().purge_expired(0), 0u);
    std::size_t purged = 0;
    for (;;) {
      auto n = this->db().purge_expired(4);
      ASSERT_OK(n);
      ASSERT_LE(*n, 4u);
      if (*n == 0) break;
      purged += *n;
    }
    EXPECT_EQ(purged, before - 5);
    EXPECT_EQ(this->stored(), 5u);
  }
  for (const auto& key : long_lived)
    EXPECT_TRUE(this->get(key).has_value());
  EXPECT_EQ(this->user_keys("u"), std::set(long_lived.begin(), long_lived.end()));
}

TYPED_TEST_P(StoreConformance, ListUserAndDestroyUserWithKeep) {
  const SessionKey a1 = this->add("alice"), a2 = this->add("alice"), a3 = this->add("alice");
  const SessionKey b1 = this->add("bob");
  const SessionKey anon = this->add();
  EXPECT_EQ(this->user_keys("alice"), (std::set{a1, a2, a3}));
  EXPECT_TRUE(this->user_keys("nobody").empty());
  EXPECT_TRUE(this->user_keys("").empty());  // "" is "unbound", not a user

  EXPECT_EQ(*this->db().destroy_user("alice", a2), 2u);
  EXPECT_EQ(this->user_keys("alice"), std::set{a2});
  EXPECT_EQ(this->get(a1), std::nullopt);
  EXPECT_TRUE(this->get(b1).has_value());
  EXPECT_EQ(*this->db().destroy_user("alice"), 1u);
  EXPECT_TRUE(this->user_keys("alice").empty());
  EXPECT_EQ(*this->db().destroy_user("nobody"), 0u);
  EXPECT_EQ(*this->db().destroy_user(""), 0u);
  EXPECT_TRUE(this->get(anon).has_value());
  EXPECT_EQ(this->stored(), 2u);
}

TYPED_TEST_P(StoreConformance, UserIndexFollowsRebindingDestroyAndExpiry) {
  const SessionKey key = this->add("alice");
  SessionPatch to_bob;
  to_bob.user_id = "bob";
  ASSERT_OK(this->db().patch(key, to_bob));
  EXPECT_EQ(*this->db().destroy_user("alice"), 0u);  // alice has nothing left to destroy
  EXPECT_TRUE(this->get(key).has_value());
  ASSERT_OK(this->db().replace(key, make_record(this->now(), "carol")));
  EXPECT_TRUE(this->user_keys("bob").empty());
  EXPECT_EQ(this->user_keys("carol"), std::set{key});
  ASSERT_OK(this->db().destroy(key));
  EXPECT_TRUE(this->user_keys("carol").empty());

  const SessionKey brief = this->add("dave", 5min);
  const SessionKey lasting = this->add("dave", 1h);
  this->clock_.advance(10min);
  EXPECT_EQ(this->user_keys("dave"), std::set{lasting});
  EXPECT_EQ(*this->db().destroy_user("dave"), 1u);  // the expired one is not counted
  EXPECT_EQ(this->get(brief), std::nullopt);
  EXPECT_TRUE(this->user_keys("dave").empty());
}

TYPED_TEST_P(StoreConformance, CountCountsRecords) {
  EXPECT_EQ(this->stored(), 0u);
  std::vector<SessionKey> keys;
  for (int i = 0; i < 7; ++i)
    keys.push_back(this->add());
  EXPECT_EQ(this->stored(), 7u);
  ASSERT_OK(this->db().destroy(keys[0]));
  EXPECT_EQ(this->stored(), 6u);
}

TYPED_TEST_P(StoreConformance, ScanReturnsEveryKeyExactlyOnce) {
  std::map<SessionKey, SessionRecord> created;
  for (int i = 0; i < 53; ++i) {
    const SessionKey key = new_key();
    SessionRecord rec = make_record(this->now(), i % 3 ? "" : "u");
    rec.data["i"] = i;
    ASSERT_OK(this->db().create(key, rec));
    created.emplace(key, rec);
  }
  std::vector<SessionKey> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto page = this->db().scan(cursor, 7);
    ASSERT_OK(page);
    ASSERT_LE(page->sessions.size(), 7u);
    for (const auto& s : page->sessions) {
      seen.push_back(s.key);
      ASSERT_TRUE(created.count(s.key));
      EXPECT_EQ(s.record, created.at(s.key));
    }
    cursor = page->next_cursor;
    ASSERT_LT(++pages, 100);
  } while (!cursor.empty());
  EXPECT_EQ(std::set(seen.begin(), seen.end()).size(), seen.size());
  EXPECT_EQ(seen.size(), created.size());
  if constexpr (TestFixture::kOrderedScan) {
    EXPECT_EQ(pages, 8);
    EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
    auto all = this->db().scan("", 53);  // exactly one full page: the scan is complete
    ASSERT_OK(all);
    EXPECT_EQ(all->sessions.size(), 53u);
    EXPECT_TRUE(all->next_cursor.empty());
  } else {
    EXPECT_GE(pages, 8);
  }
}

TYPED_TEST_P(StoreConformance, ScanToleratesChangesBetweenPages) {
  std::vector<SessionKey> keys;
  for (int i = 0; i < 40; ++i)
    keys.push_back(this->add());
  std::sort(keys.begin(), keys.end());
  auto first = this->db().scan("", 10);
  ASSERT_OK(first);
  ASSERT_EQ(first->sessions.size(), 10u);
  std::multiset<SessionKey> seen;
  for (const auto& s : first->sessions)
    seen.insert(s.key);
  // Remove some returned and some unreturned keys, add new ones: the rest still come once.
  std::set<SessionKey> removed{keys[0], keys[5], keys[20], keys[39]};
  for (const auto& k : removed)
    ASSERT_OK(this->db().destroy(k));
  for (int i = 0; i < 10; ++i)
    this->add();
  std::string cursor = first->next_cursor;
  while (!cursor.empty()) {
    auto page = this->db().scan(cursor, 10);
    ASSERT_OK(page);
    for (const auto& s : page->sessions)
      seen.insert(s.key);
    cursor = page->next_cursor;
  }
  for (const auto& k : keys) {
    if (!removed.count(k)) {
      EXPECT_EQ(seen.count(k), 1u) << k.hex();
    }
  }
  for (const auto& k : seen)
    EXPECT_EQ(seen.count(k), 1u);
}

TYPED_TEST_P(StoreConformance, ScanRejectsABadCursorOrAZeroLimit) {
  this->add();
  EXPECT_EQ(this->db().scan("not-a-cursor", 10).code(), errc::invalid_argument);
  EXPECT_EQ(this->db().scan("", 0).code(), errc::invalid_argument);
}

TYPED_TEST_P(StoreConformance, ConcurrentIncrementsAreExact) {
  const SessionKey key = this->add();
  constexpr int kThreads = 8, kEach = 250;
  std::vector<std::vector<std::int64_t>> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = this->db().increment(key, "visits");
        if (r.ok()) results[t].push_back(*r);
      }
    });
  }
  for (auto& th : threads)
    th.join();
  std::set<std::int64_t> values;
  for (const auto& r : results)
    values.insert(r.begin(), r.end());
  EXPECT_EQ(values.size(), std::size_t{kThreads * kEach});  // every answer distinct
  EXPECT_EQ(this->get(key)->data["visits"], kThreads * kEach);
}

TYPED_TEST_P(StoreConformance, ConcurrentPatchesOfDifferentKeysAreAllKept) {
  const SessionKey key = this->add();
  constexpr int kThreads = 6, kEach = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        SessionPatch p;
        p.set = {{"k" + std::to_string(t), i}};
        p.touch = TouchSpec{this->now(), this->now() + 30min};
        if (!this->db().patch(key, p).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  auto rec = this->get(key);
  ASSERT_TRUE(rec.has_value());
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(rec->data["k" + std::to_string(t)], kEach - 1);
  EXPECT_EQ(rec->data["cart"], nlohmann::json({1, 2, 3}));
}

// patch_if: a compare-and-swap on one top-level payload key (refresh-token rotation uses it).
TYPED_TEST_P(StoreConformance, PatchIfAppliesTheWholePatchWhenTheValueMatches) {
  const SessionKey key = this->add("alice");
  SessionPatch seed;
  seed.set = {{"_sk_rt", {{"cur", "AAAA"}, {"gen", 0}, {"prev", nullptr}}}};
  ASSERT_OK(this->db().patch(key, seed));
  this->clock_.advance(1min);
  SessionPatch p;
  p.set = {{"_sk_rt", {{"cur", "BBBB"}, {"gen", 1}, {"prev", "AAAA"}}}, {"extra", true}};
  p.erase = {"cart"};
  p.auth_at = this->now();
  p.touch = TouchSpec{this->now(), this->now() + 30min};
  // Object equality ignores the order keys were written in.
  const nlohmann::json expected = nlohmann::json::parse(R"({"prev":null,"gen":0,"cur":"AAAA"})");
  ASSERT_OK(this->db().patch_if(key, {"_sk_rt", expected}, p));
  auto rec = this->get(key);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->data["_sk_rt"]["cur"], "BBBB");
  EXPECT_EQ(rec->data["extra"], true);
  EXPECT_FALSE(rec->data.contains("cart"));
  EXPECT_EQ(rec->auth_at, this->now());
  EXPECT_EQ(rec->last_access, this->now());
  EXPECT_EQ(rec->expires_at, this->now() + 30min);
}

TYPED_TEST_P(StoreConformance, PatchIfIsAConflictAndWritesNothingWhenTheValueDiffers) {
  const SessionKey key = this->add("alice");
  SessionPatch seed;
  seed.set = {{"tok", "AAAA"}, {"n", 7}, {"obj", {{"a", 1}}}};
  ASSERT_OK(this->db().patch(key, seed));
  const auto before = this->get(key);
  this->clock_.advance(1min);
  SessionPatch p;
  p.set = {{"tok", "BBBB"}};
  p.erase = {"cart"};
  p.user_id = "mallory";
  p.touch = TouchSpec{this->now(), this->now() + 30min};
  for (const PayloadCondition& c :
       std::vector<PayloadCondition>{{"tok", "AAAB"},                // another string
                                     {"tok", nullptr},               // present is not null
                                     {"n", "7"},                     // same text, another type
                                     {"n", 8},                       // another number
                                     {"obj", {{"a", 1}, {"b", 2}}},  // a superset
                                     {"obj", {{"a", 2}}},            // same keys, another value
                                     {"absent", "x"},  // an absent key only equals null
                                     {"cart", nlohmann::json::array({1, 2})}}) {
    EXPECT_EQ(this->db().patch_if(key, c, p).code(), errc::conflict) << c.key << " " << c.value;
  }
  EXPECT_EQ(this->get(key), before) << "nothing written, not even the touch";
  EXPECT_EQ(this->user_keys("mallory").size(), 0u);
}

TYPED_TEST_P(StoreConformance, PatchIfTreatsAnAbsentKeyAsNullAndChecksLiveness) {
  const SessionKey key = this->add();
  SessionPatch p;
  p.set = {{"tok", "first"}};
  ASSERT_OK(this->db().patch_if(key, {"tok", nullptr}, p)) << "absent equals null";
  EXPECT_EQ(this->db().patch_if(key, {"tok", nullptr}, p).code(), errc::conflict);
  ASSERT_OK(this->db().patch_if(key, {"tok", "first"}, p)) << "same value again: applies";

  EXPECT_EQ(this->db().patch_if(new_key(), {"tok", nullptr}, p).code(), errc::not_found);
  const SessionKey short_lived = this->add({}, 1min);
  this->clock_.advance(2min);
  EXPECT_EQ(this->db().patch_if(short_lived, {"tok", nullptr}, p).code(), errc::not_found);
  EXPECT_EQ(this->get(short_lived), std::nullopt) << "no resurrection";
}

TYPED_TEST_P(StoreConformance, PatchIfIsACompareAndSwapUnderContention) {
  const SessionKey key = this->add();
  SessionPatch seed;
  seed.set = {{"gen", 0}};
  ASSERT_OK(this->db().patch(key, seed));
  // Each thread moves "gen" from the value it last read to that value + 1, and retries on a
  // conflict: every successful swap is one step, so none is lost and none is doubled.
  constexpr int kThreads = 6, kEach = 30;
  std::atomic<int> swaps{0}, conflicts{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach;) {
        auto rec = this->db().load(key);
        if (!rec.ok() || !rec->has_value()) {
          ++failures;
          return;
        }
        const std::int64_t seen = (**rec).data["gen"].template get<std::int64_t>();
        SessionPatch p;
        p.set = {{"gen", seen + 1}, {"by" + std::to_string(t), seen + 1}};
        const Status s = this->db().patch_if(key, {"gen", seen}, p);
        if (s.ok()) {
          ++swaps;
          ++i;
        } else if (s.code() == errc::conflict) {
          ++conflicts;
        } else {
          ++failures;
          return;
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(swaps.load(), kThreads * kEach);
  EXPECT_EQ(this->get(key)->data["gen"], kThreads * kEach);
}

TYPED_TEST_P(StoreConformance, KeysAtRestAreDigestsOfTheIds) {
  std::set<SessionKey> want;
  for (int i = 0; i < 20; ++i) {
    const SessionId id = SessionId::generate();
    want.insert(SessionKey::of(id));
    ASSERT_OK(this->db().create(SessionKey::of(id), make_record(this->now())));
  }
  auto page = this->db().scan("", 100);
  ASSERT_OK(page);
  std::set<SessionKey> got;
  for (const auto& s : page->sessions)
    got.insert(s.key);
  EXPECT_EQ(got, want);
}

TYPED_TEST_P(StoreConformance, HealthIsOk) {
  EXPECT_OK(this->db().health());
}

// Every operation calls its callback exactly once (directly through the async interface).
TYPED_TEST_P(StoreConformance, EveryCallbackRunsExactlyOnce) {
  struct Counter {
    std::mutex m;
    std::condition_variable cv;
    int calls = 0;
    void hit() {
      std::lock_guard lock(m);
      ++calls;
      cv.notify_all();
    }
  };
  std::vector<std::unique_ptr<Counter>> counters;
  auto cb = [&counters]<class T>(std::type_identity<T>) {
    counters.push_back(std::make_unique<Counter>());
    Counter* c = counters.back().get();
    return Callback<T>([c](Result<T>) { c->hit(); });
  };
  using std::type_identity;
  SessionStore& s = this->store();
  const SessionKey key = new_key();
  const TouchSpec t{this->now(), this->now() + 30min};
  s.create(key, make_record(this->now(), "u"), cb(type_identity<void>{}));
  s.create(key, make_record(this->now(), "u"), cb(type_identity<void>{}));  // conflict
  s.load(key, t, cb(type_identity<std::optional<SessionRecord>>{}));
  s.load(new_key(), std::nullopt, cb(type_identity<std::optional<SessionRecord>>{}));
  s.patch(key, SessionPatch{}, cb(type_identity<void>{}));
  s.patch(new_key(), SessionPatch{}, cb(type_identity<void>{}));
  s.increment(key, "n", 1, std::nullopt, cb(type_identity<std::int64_t>{}));
  s.increment(key, "cart", 1, std::nullopt, cb(type_identity<std::int64_t>{}));
  s.replace(key, make_record(this->now(), "u"), cb(type_identity<void>{}));
  s.touch(key, t, cb(type_identity<void>{}));
  s.list_user("u", cb(type_identity<std::vector<StoredSession>>{}));
  s.count(cb(type_identity<std::size_t>{}));
  s.scan("", 10, cb(type_identity<ScanPage>{}));
  s.scan("bad", 10, cb(type_identity<ScanPage>{}));
  s.purge_expired(10, cb(type_identity<std::size_t>{}));
  s.health(cb(type_identity<void>{}));
  s.destroy(key, cb(type_identity<bool>{}));
  s.destroy_user("u", std::nullopt, cb(type_identity<std::size_t>{}));
  for (auto& c : counters) {
    std::unique_lock lock(c->m);
    c->cv.wait_for(lock, std::chrono::seconds(10), [&] { return c->calls > 0; });
  }
  for (std::size_t i = 0; i < counters.size(); ++i)
    EXPECT_EQ(counters[i]->calls, 1) << i;
}

// count_is_expensive() says what the traits declare: callers that count often (a metrics scrape)
// cache the count of a store that walks every record to answer it.
TYPED_TEST_P(StoreConformance, CountIsExpensiveAsDeclared) {
  EXPECT_EQ(this->store().count_is_expensive(), TestFixture::kCountIsExpensive);
}

// list_user answers in order of creation time, then key, whatever order the records came in.
TYPED_TEST_P(StoreConformance, ListUserIsOrderedByCreationThenKey) {
  std::vector<std::pair<Time, SessionKey>> want;
  for (Duration age : {2min, 0min, 5min, 2min, 1min}) {
    SessionRecord rec = make_record(this->now(), "alice");
    rec.created_at = this->now() - age;
    const SessionKey key = new_key();
    ASSERT_OK(this->db().create(key, rec));
    want.emplace_back(rec.created_at, key);
  }
  this->add("bob");
  std::sort(want.begin(), want.end());
  auto listed = this->db().list_user("alice");
  ASSERT_OK(listed);
  std::vector<std::pair<Time, SessionKey>> got;
  for (const auto& s : *listed)
    got.emplace_back(s.record.created_at, s.key);
  EXPECT_EQ(got, want);
}

// A payload string with invalid UTF-8 is stored with U+FFFD for each bad byte, not refused.
TYPED_TEST_P(StoreConformance, InvalidUtf8InThePayloadIsReplacedNotRefused) {
  const SessionKey key = new_key();
  SessionRecord rec = make_record(this->now());
  rec.data["bad"] = std::string{'a', '\xff', 'b'};
  ASSERT_OK(this->db().create(key, rec));
  SessionPatch p;
  p.set = {{"cut", std::string{'\xc3'}}};  // a sequence cut short
  ASSERT_OK(this->db().patch(key, p));
  auto got = this->get(key);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->data["bad"], "a\uFFFDb");
  EXPECT_EQ(got->data["cut"], "\uFFFD");
  EXPECT_EQ(got->data["name"], "Zoë");
}

REGISTER_TYPED_TEST_SUITE_P(
    StoreConformance, CreateThenLoadRoundTrips, CreateOfATakenKeyIsAConflictAndKeepsTheOriginal,
    LoadOfAMissingKeyIsSuccessWithNothing, CreateRejectsAPayloadThatIsNotAnObject,
    PatchChangesOnlyTheNamedKeys, PatchRebindsUserSetsAuthAndTouches,
    WritesToAMissingKeyAreNotFoundAndCreateNothing, IncrementStartsAtZeroAndAdds,
    IncrementOfANonIntegerIsInvalidAndChangesNothing, IncrementIsExactAcrossTwoToThe53AndAtTheEdges,
    IncrementWithTouchRefreshesTheDeadline, ReplaceOverwritesTheWholeRecord,
    TouchNeverMovesTheDeadlinePastTheAbsoluteOne, LoadWithTouchAnswersTheRefreshedRecord,
    LazyTouchAtLoadRefreshesWhenItsWindowHoldsTheLastAccess,
    LazyTouchAtLoadOutsideItsWindowChangesNothing, UnconditionalTouchAtLoadRefreshesAtAnyAge,
    LazyTouchAtLoadNeverResurrectsOrReturnsAnExpiredRecord, DestroyAnswersWhetherTheRecordWasThere,
    IdleExpiryHidesTheRecordFromEveryOperation, AbsoluteExpiryWinsOverRecentActivity,
    PurgeRemovesExactlyTheExpiredInBatches, ListUserAndDestroyUserWithKeep,
    UserIndexFollowsRebindingDestroyAndExpiry, CountCountsRecords, ScanReturnsEveryKeyExactlyOnce,
    ScanToleratesChangesBetweenPages, ScanRejectsABadCursorOrAZeroLimit,
    ConcurrentIncrementsAreExact, ConcurrentPatchesOfDifferentKeysAreAllKept,
    PatchIfAppliesTheWholePatchWhenTheValueMatches,
    PatchIfIsAConflictAndWritesNothingWhenTheValueDiffers,
    PatchIfTreatsAnAbsentKeyAsNullAndChecksLiveness, PatchIfIsACompareAndSwapUnderContention,
    KeysAtRestAreDigestsOfTheIds, HealthIsOk, EveryCallbackRunsExactlyOnce,
    CountIsExpensiveAsDeclared, ListUserIsOrderedByCreationThenKey,
    InvalidUtf8InThePayloadIsReplacedNotRefused);

#pragma pop_macro("EXPECT_OK")
#pragma pop_macro("ASSERT_OK")

}  // namespace sessionkit::testing

// Runs the whole suite against the store that `Traits` makes. Use it once per store, at
// namespace scope outside any namespace (a `Traits` in a namespace of yours: name it fully).
// Tests are named `Name/StoreConformance/0.<test>`, so `--gtest_filter='Name/*'` picks them.
// It is the GoogleTest line
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, StoreConformance, ::testing::Types<Traits>);
// written inside namespace sessionkit::testing.
#define SESSIONKIT_STORE_CONFORMANCE(Name, Traits)                                  \
  namespace sessionkit::testing {                                                   \
  INSTANTIATE_TYPED_TEST_SUITE_P(Name, StoreConformance, ::testing::Types<Traits>); \
  }                                                                                 \
  static_assert(true, "SESSIONKIT_STORE_CONFORMANCE ends with a semicolon")
