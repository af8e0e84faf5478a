// The store conformance suite: the whole SessionStore contract (include/sessionkit/store.h),
// run against every store through BlockingStore, with a ManualClock for expiry (no sleeps).
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "contract/store_harness.h"

namespace sessionkit::testing {
namespace {

template <class Factory>
class StoreContract : public ::testing::Test {
 protected:
  StoreContract() : sut_(Factory::make(clock_)), db_(*sut_.store) {}

  Time now() const { return clock_.now(); }
  BlockingStore& db() { return db_; }
  SessionStore& store() { return *sut_.store; }

  // Creates a record under a fresh key; the key, or a default key after a test failure.
  SessionKey add(std::string user = {}, Duration idle = 30min, Duration absolute = 8h) {
    SessionKey key = new_key();
    EXPECT_OK(db_.create(key, make_record(now(), std::move(user), idle, absolute)));
    return key;
  }

  std::optional<SessionRecord> get(const SessionKey& key) {
    auto r = db_.load(key);
    EXPECT_OK(r);
    return r.ok() ? *r : std::nullopt;
  }

  std::set<SessionKey> user_keys(const std::string& user) {
    std::set<SessionKey> keys;
    auto r = db_.list_user(user);
    EXPECT_OK(r);
    if (!r.ok()) return keys;
    for (const auto& s : *r) {
      EXPECT_EQ(s.record.user_id, user);
      keys.insert(s.key);
    }
    return keys;
  }

  std::size_t stored() {
    auto r = db_.count();
    EXPECT_OK(r);
    return r.ok() ? *r : 0;
  }

  ManualClock clock_;
  StoreUnderTest sut_;
  BlockingStore db_;
};

#ifdef SESSIONKIT_TEST_SQLITE
#define SK_SQLITE_FACTORY , SqliteFactory
#else
#define SK_SQLITE_FACTORY
#endif
#ifdef SESSIONKIT_TEST_POSTGRES
#define SK_POSTGRES_FACTORY , PostgresFactory
#else
#define SK_POSTGRES_FACTORY
#endif
#ifdef SESSIONKIT_TEST_REDIS
#define SK_REDIS_FACTORIES , RedisFactory, RedisClusterFactory
#else
#define SK_REDIS_FACTORIES
#endif
using Stores =
    ::testing::Types<MemoryFactory SK_SQLITE_FACTORY SK_POSTGRES_FACTORY SK_REDIS_FACTORIES>;
TYPED_TEST_SUITE(StoreContract, Stores, FactoryName);

TYPED_TEST(StoreContract, CreateThenLoadRoundTrips) {
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

TYPED_TEST(StoreContract, CreateOfATakenKeyIsAConflictAndKeepsTheOriginal) {
  const SessionKey key = new_key();
  const SessionRecord first = make_record(this->now(), "alice");
  ASSERT_OK(this->db().create(key, first));
  SessionRecord second = make_record(this->now(), "mallory");
  second.data = {{"evil", true}};
  EXPECT_EQ(this->db().create(key, second).code(), errc::conflict);
  EXPECT_EQ(this->get(key), first);
  EXPECT_EQ(this->user_keys("mallory").size(), 0u);
}

TYPED_TEST(StoreContract, LoadOfAMissingKeyIsSuccessWithNothing) {
  auto r = this->db().load(new_key());
  ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
}

TYPED_TEST(StoreContract, CreateRejectsAPayloadThatIsNotAnObject) {
  const SessionKey key = new_key();
  SessionRecord rec = make_record(this->now());
  rec.data = nlohmann::json::array({1, 2});
  EXPECT_EQ(this->db().create(key, rec).code(), errc::invalid_argument);
  EXPECT_EQ(this->get(key), std::nullopt);
}

TYPED_TEST(StoreContract, PatchChangesOnlyTheNamedKeys) {
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

TYPED_TEST(StoreContract, PatchRebindsUserSetsAuthAndTouches) {
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

TYPED_TEST(StoreContract, WritesToAMissingKeyAreNotFoundAndCreateNothing) {
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

TYPED_TEST(StoreContract, IncrementStartsAtZeroAndAdds) {
  const SessionKey key = this->add();
  EXPECT_EQ(*this->db().increment(key, "visits"), 1);
  EXPECT_EQ(*this->db().increment(key, "visits", 5), 6);
  EXPECT_EQ(*this->db().increment(key, "visits", -2), 4);
  SessionRecord want = make_record(this->now());
  want.data["visits"] = 4;
  EXPECT_EQ(this->get(key), want);
}

TYPED_TEST(StoreContract, IncrementOfANonIntegerIsInvalidAndChangesNothing) {
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

TYPED_TEST(StoreContract, IncrementWithTouchRefreshesTheDeadline) {
  const SessionKey key = this->add();
  this->clock_.advance(20min);
  ASSERT_EQ(*this->db().increment(key, "n", 1, TouchSpec{this->now(), this->now() + 30min}), 1);
  this->clock_.advance(20min);  // past the first deadline, not the refreshed one
  auto rec = this->get(key);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->data["n"], 1);
  EXPECT_EQ(rec->last_access, this->now() - 20min);
}

TYPED_TEST(StoreContract, ReplaceOverwritesTheWholeRecord) {
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

TYPED_TEST(StoreContract, TouchNeverMovesTheDeadlinePastTheAbsoluteOne) {
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

TYPED_TEST(StoreContract, LoadWithTouchAnswersTheRefreshedRecord) {
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

TYPED_TEST(StoreContract, DestroyAnswersWhetherTheRecordWasThere) {
  const SessionKey key = this->add("alice");
  EXPECT_EQ(*this->db().destroy(key), true);
  EXPECT_EQ(*this->db().destroy(key), false);
  EXPECT_EQ(this->get(key), std::nullopt);
  EXPECT_TRUE(this->user_keys("alice").empty());
}

TYPED_TEST(StoreContract, IdleExpiryHidesTheRecordFromEveryOperation) {
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

TYPED_TEST(StoreContract, AbsoluteExpiryWinsOverRecentActivity) {
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

TYPED_TEST(StoreContract, PurgeRemovesExactlyTheExpiredInBatches) {
  std::vector<SessionKey> short_lived, long_lived;
  for (int i = 0; i < 10; ++i)
    short_lived.push_back(this->add("u", 10min));
  for (int i = 0; i < 5; ++i)
    long_lived.push_back(this->add("u", 1h));
  EXPECT_EQ(*this->db().purge_expired(100), 0u);
  this->clock_.advance(15min);
  if constexpr (TypeParam::kExpiresByTtl) {
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

TYPED_TEST(StoreContract, ListUserAndDestroyUserWithKeep) {
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

TYPED_TEST(StoreContract, UserIndexFollowsRebindingDestroyAndExpiry) {
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

TYPED_TEST(StoreContract, CountCountsRecords) {
  EXPECT_EQ(this->stored(), 0u);
  std::vector<SessionKey> keys;
  for (int i = 0; i < 7; ++i)
    keys.push_back(this->add());
  EXPECT_EQ(this->stored(), 7u);
  ASSERT_OK(this->db().destroy(keys[0]));
  EXPECT_EQ(this->stored(), 6u);
}

TYPED_TEST(StoreContract, ScanReturnsEveryKeyExactlyOnce) {
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
  if constexpr (TypeParam::kOrderedScan) {
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

TYPED_TEST(StoreContract, ScanToleratesChangesBetweenPages) {
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

TYPED_TEST(StoreContract, ScanRejectsABadCursorOrAZeroLimit) {
  this->add();
  EXPECT_EQ(this->db().scan("not-a-cursor", 10).code(), errc::invalid_argument);
  EXPECT_EQ(this->db().scan("", 0).code(), errc::invalid_argument);
}

TYPED_TEST(StoreContract, ConcurrentIncrementsAreExact) {
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

TYPED_TEST(StoreContract, ConcurrentPatchesOfDifferentKeysAreAllKept) {
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

TYPED_TEST(StoreContract, KeysAtRestAreDigestsOfTheIds) {
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

TYPED_TEST(StoreContract, HealthIsOk) {
  EXPECT_OK(this->db().health());
}

// Every operation calls its callback exactly once (directly through the async interface).
TYPED_TEST(StoreContract, EveryCallbackRunsExactlyOnce) {
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

}  // namespace
}  // namespace sessionkit::testing

namespace sessionkit::testing {
namespace {

// Every store that this build tests, made with one clock.
std::vector<std::pair<std::string, StoreUnderTest>> every_store(const Clock& clock) {
  std::vector<std::pair<std::string, StoreUnderTest>> all;
  all.emplace_back(MemoryFactory::kName, MemoryFactory::make(clock));
#ifdef SESSIONKIT_TEST_SQLITE
  all.emplace_back(SqliteFactory::kName, SqliteFactory::make(clock));
#endif
#ifdef SESSIONKIT_TEST_POSTGRES
  if (!PostgresServer::bin_dir().empty())
    all.emplace_back(PostgresFactory::kName, PostgresFactory::make(clock));
#endif
#ifdef SESSIONKIT_TEST_REDIS
  all.emplace_back(RedisFactory::kName, RedisFactory::make(clock));
  all.emplace_back(RedisClusterFactory::kName, RedisClusterFactory::make(clock));
#endif
  return all;
}

// A record that a store could get wrong: every optional field, Unicode, big and negative
// integers, doubles, empty containers, nulls, nesting, a key that looks like a field name.
SessionRecord tricky_record(Time now) {
  SessionRecord r = make_record(now, "zoë@example.com");
  r.auth_at = now - 90s;
  r.ip = "2001:db8::1";
  r.user_agent = "Mozilla/5.0 (X11; Linux) \"quoted\" ✓";
  r.data = {{"max", std::numeric_limits<std::int64_t>::max()},
            {"min", std::numeric_limits<std::int64_t>::min()},
            {"pi", 3.14159},
            {"half", 1.5},
            {"empty_object", nlohmann::json::object()},
            {"empty_array", nlohmann::json::array()},
            {"nothing", nullptr},
            {"yes", true},
            {"text", "日本語 and emoji 🎉, quotes \" and backslash \\"},
            {"nested", {{"a", {{"b", {1, 2, {{"c", "d"}}}}}}}},
            {"v", "not the version"},
            {"d:x", "a key with the Redis field prefix"},
            {"", "the empty key"}};
  return r;
}

TEST(EveryStore, ARecordWrittenByOneReadsBackIdenticallyFromEveryOther) {
  ManualClock clock;
  auto stores = every_store(clock);
  ASSERT_GE(stores.size(), 2u);
  const SessionRecord original = tricky_record(clock.now());
  for (auto& [from_name, from] : stores) {
    BlockingStore src(*from.store);
    const SessionKey key = new_key();
    ASSERT_OK(src.create(key, original)) << from_name;
    auto loaded = src.load(key);
    ASSERT_OK(loaded);
    ASSERT_TRUE(loaded->has_value()) << from_name;
    EXPECT_EQ(**loaded, original) << from_name;
    // Migrate it: what one store answers, every other store stores and answers unchanged.
    for (auto& [to_name, to] : stores) {
      if (&to == &from) continue;
      BlockingStore dst(*to.store);
      const SessionKey copy = new_key();
      ASSERT_OK(dst.create(copy, **loaded)) << from_name << " -> " << to_name;
      auto back = dst.load(copy);
      ASSERT_OK(back);
      ASSERT_TRUE(back->has_value()) << from_name << " -> " << to_name;
      EXPECT_EQ(**back, original) << from_name << " -> " << to_name;
      EXPECT_EQ(encode_record(**back), encode_record(original)) << from_name << " -> " << to_name;
    }
  }
}

}  // namespace
}  // namespace sessionkit::testing
