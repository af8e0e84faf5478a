// FallbackStore (sessionkit/stores/fallback.h) over two memory stores: a session only in the
// fallback is copied into the primary by the first operation that names it (and only then),
// the fallback's record is left as it was, nothing is created for a session neither store has,
// a primary record is never overwritten by the copy, ending a session (one, or all of a user's)
// reaches both stores so that it never comes back, an outage of the fallback is `unavailable`
// (never "no session"), and concurrent first uses copy once. The plain contract through it is
// the conformance suite (FallbackMemory, FallbackRedis).
#include "sessionkit/stores/fallback.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "sessionkit/blocking_store.h"
#include "sessionkit/stores/memory.h"
#include "support/faulty_store.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;
SessionKey new_key() {
  return SessionKey::of(SessionId::generate());
}

// A record begun at `now`: 30 min idle, 8 h absolute.
SessionRecord make_record(Time now, std::string user = {}) {
  SessionRecord r;
  r.start(now, 30min, 8h);
  r.user_id = std::move(user);
  return r;
}

class FallbackStoreTest : public ::testing::Test {
 protected:
  FallbackStoreTest()
      : primary_(MemoryStore::open({.shards = 2, .clock = &clock_}).value()),
        old_(std::make_shared<testing::FaultyStore>(
            MemoryStore::open({.shards = 2, .clock = &clock_}).value())),
        store_(FallbackStore::wrap(primary_, old_)),
        db_(*store_),
        p_(*primary_),
        f_(*old_) {}

  // A session the apps wrote to the old store before the cut-over.
  SessionKey old_session(std::string user = {}, nlohmann::json data = {{"cart", {1, 2}}}) {
    const SessionKey key = new_key();
    SessionRecord r = make_record(clock_.now(), std::move(user));
    r.data = std::move(data);
    EXPECT_TRUE(f_.create(key, r).ok());
    return key;
  }
  std::optional<SessionRecord> in(BlockingStore& s, const SessionKey& key) {
    auto r = s.load(key);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : std::nullopt;
  }
  TouchSpec used_now() { return {clock_.now(), clock_.now() + 30min}; }

  ManualClock clock_;
  std::shared_ptr<SessionStore> primary_;
  std::shared_ptr<testing::FaultyStore> old_;
  std::shared_ptr<FallbackStore> store_;
  BlockingStore db_, p_, f_;
};

TEST_F(FallbackStoreTest, TheFirstLoadCopiesTheSessionIntoThePrimary) {
  const SessionKey key = old_session("alice");
  const SessionRecord before = *in(f_, key);
  clock_.advance(5min);
  auto loaded = db_.load(key, used_now());
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->data, before.data);
  EXPECT_EQ((*loaded)->user_id, "alice");
  EXPECT_EQ((*loaded)->last_access, clock_.now()) << "the touch applied, on the primary";
  const auto copy = in(p_, key);
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(*copy, **loaded);
  EXPECT_EQ(in(f_, key), before) << "the fallback's record is left as it was";
  EXPECT_EQ(store_->copied(), 1u);
  ASSERT_TRUE(db_.load(key).ok());
  EXPECT_EQ(store_->copied(), 1u) << "found in the primary from then on";
  // Each session's writes go to the primary only.
  SessionPatch patch;
  patch.set = {{"theme", "dark"}};
  ASSERT_TRUE(db_.patch(key, patch).ok());
  EXPECT_EQ(in(p_, key)->data.value("theme", ""), "dark");
  EXPECT_EQ(in(f_, key), before);
}

TEST_F(FallbackStoreTest, EveryWriteCopiesTheSessionInFirst) {
  struct Write {
    const char* name;
    std::function<Status(BlockingStore&, const SessionKey&)> run;
    std::function<void(const SessionRecord&)> check;
  };
  const std::vector<Write> writes = {
      {"patch",
       [](BlockingStore& s, const SessionKey& k) {
         SessionPatch p;
         p.set = {{"a", 1}};
         return s.patch(k, p);
       },
       [](const SessionRecord& r) { EXPECT_EQ(r.data["a"], 1); }},
      {"patch_if",
       [](BlockingStore& s, const SessionKey& k) {
         SessionPatch p;
         p.set = {{"a", 2}};
         return s.patch_if(k, {"cart", {1, 2}}, p);
       },
       [](const SessionRecord& r) { EXPECT_EQ(r.data["a"], 2); }},
      {"increment",
       [](BlockingStore& s, const SessionKey& k) {
         auto n = s.increment(k, "visits", 3);
         EXPECT_TRUE(n.ok() && *n == 3);
         return n.ok() ? Status{} : n.status();
       },
       [](const SessionRecord& r) { EXPECT_EQ(r.data["visits"], 3); }},
      {"replace",
       [this](BlockingStore& s, const SessionKey& k) {
         SessionRecord r = make_record(clock_.now(), "bob");
         r.data = {{"replaced", true}};
         return s.replace(k, r);
       },
       [](const SessionRecord& r) { EXPECT_EQ(r.user_id, "bob"); }},
      {"touch", [this](BlockingStore& s, const SessionKey& k) { return s.touch(k, used_now()); },
       [this](const SessionRecord& r) { EXPECT_EQ(r.last_access, clock_.now()); }},
  };
  for (const Write& w : writes) {
    SCOPED_TRACE(w.name);
    const SessionKey key = old_session();
    const SessionRecord before = *in(f_, key);
    clock_.advance(1min);
    const Status st = w.run(db_, key);
    ASSERT_TRUE(st.ok()) << st.message();
    const auto now = in(p_, key);
    ASSERT_TRUE(now.has_value());
    w.check(*now);
    EXPECT_EQ(in(f_, key), before);
  }
}

TEST_F(FallbackStoreTest, ASessionInNeitherStoreIsMissingAndNothingIsCreated) {
  const SessionKey key = new_key();
  EXPECT_FALSE(in(db_, key).has_value());
  SessionPatch p;
  p.set = {{"a", 1}};
  EXPECT_EQ(db_.patch(key, p).code(), errc::not_found);
  EXPECT_EQ(db_.increment(key, "n", 1).code(), errc::not_found);
  EXPECT_EQ(db_.touch(key, used_now()).code(), errc::not_found);
  EXPECT_EQ(db_.replace(key, make_record(clock_.now())).code(), errc::not_found);
  EXPECT_FALSE(db_.destroy(key).value());
  EXPECT_EQ(p_.count().value(), 0u);
  EXPECT_EQ(f_.count().value(), 0u);
  // An expired record in the fallback is no session either, and is not copied.
  const SessionKey old = old_session();
  clock_.advance(31min);
  EXPECT_FALSE(in(db_, old).has_value());
  EXPECT_EQ(p_.count().value(), 0u);
}

TEST_F(FallbackStoreTest, TheCopyNeverOverwritesThePrimarysRecord) {
  const SessionKey key = old_session("alice", {{"from", "old"}});
  SessionRecord mine = make_record(clock_.now(), "alice");
  mine.data = {{"from", "new"}};
  ASSERT_TRUE(p_.create(key, mine).ok());
  EXPECT_EQ(in(db_, key)->data["from"], "new");
  EXPECT_EQ(store_->copied(), 0u);
}

// A logout reaches both stores: the session never comes back from the fallback.
TEST_F(FallbackStoreTest, DestroyEndsTheSessionInBothStores) {
  const SessionKey only_old = old_session();
  EXPECT_TRUE(db_.destroy(only_old).value());
  EXPECT_FALSE(in(f_, only_old).has_value());
  EXPECT_FALSE(in(db_, only_old).has_value());

  const SessionKey copied = old_session();
  ASSERT_TRUE(in(db_, copied).has_value());  // copied into the primary
  EXPECT_TRUE(db_.destroy(copied).value());
  EXPECT_FALSE(in(p_, copied).has_value());
  EXPECT_FALSE(in(f_, copied).has_value());
  EXPECT_FALSE(in(db_, copied).has_value()) << "not copied back";
}

// "Log out everywhere" over both stores, whatever each store's copy says about the user.
TEST_F(FallbackStoreTest, DestroyUserEndsEverySessionOfTheUserInBothStores) {
  const SessionKey only_old = old_session("alice");
  const SessionKey copied = old_session("alice");
  ASSERT_TRUE(in(db_, copied).has_value());
  const SessionKey bound_after_copy = old_session();  // anonymous in the fallback
  SessionPatch bind;
  bind.user_id = "alice";
  ASSERT_TRUE(db_.patch(bound_after_copy, bind).ok());
  const SessionKey current = new_key();
  ASSERT_TRUE(db_.create(current, make_record(clock_.now(), "alice")).ok());
  const SessionKey bobs = old_session("bob");

  auto all = db_.list_user("alice");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u) << "both stores' sessions, each once";
  auto ended = db_.destroy_user("alice", current);
  ASSERT_TRUE(ended.ok()) << ended.message();
  EXPECT_EQ(*ended, 3u);
  for (const SessionKey& k : {only_old, copied, bound_after_copy}) {
    EXPECT_FALSE(in(db_, k).has_value());
    EXPECT_FALSE(in(f_, k).has_value()) << "the fallback's copy too";
  }
  EXPECT_TRUE(in(db_, current).has_value()) << "the one kept";
  EXPECT_TRUE(in(db_, bobs).has_value());
  EXPECT_EQ(db_.list_user("alice").value().size(), 1u);
}

TEST_F(FallbackStoreTest, ListUserAnswersThePrimarysRecordWhereBothHaveOne) {
  const SessionKey key = old_session("alice");
  SessionPatch p;
  p.set = {{"theme", "dark"}};
  ASSERT_TRUE(db_.patch(key, p).ok());
  const SessionKey other = old_session("alice");
  auto all = db_.list_user("alice");
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  for (const StoredSession& s : *all) {
    if (s.key == key) {
      EXPECT_EQ(s.record.data.value("theme", ""), "dark");
    } else {
      EXPECT_EQ(s.key, other);
    }
  }
}

// The fallback down: a session the primary has is served; one it does not have is an error,
// never "no session"; ending sessions fails loudly rather than half-way in silence.
TEST_F(FallbackStoreTest, AFallbackOutageIsUnavailableNeverNoSession) {
  const SessionKey copied = old_session();
  ASSERT_TRUE(in(db_, copied).has_value());
  const SessionKey only_old = old_session();
  old_->set_failing(true);
  EXPECT_TRUE(in(db_, copied).has_value());
  EXPECT_TRUE(db_.increment(copied, "n", 1).ok());
  auto missing = db_.load(only_old);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.code(), errc::unavailable);
  EXPECT_EQ(db_.increment(only_old, "n", 1).code(), errc::unavailable);
  EXPECT_EQ(db_.destroy(copied).code(), errc::unavailable);
  EXPECT_EQ(db_.destroy_user("alice", std::nullopt).code(), errc::unavailable);
  EXPECT_EQ(db_.health().code(), errc::unavailable);
  old_->set_failing(false);
  EXPECT_TRUE(in(db_, only_old).has_value()) << "nothing was lost";
  EXPECT_TRUE(db_.health().ok());
}

TEST_F(FallbackStoreTest, ConcurrentFirstUsesCopyOnce) {
  const SessionKey key = old_session();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      BlockingStore db(*store_);
      for (int i = 0; i < 50; ++i) {
        auto n = db.increment(key, "n", 1);
        if (n.ok()) ++ok;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_EQ(in(p_, key)->data["n"], 400) << "no increment lost to a second copy";
  EXPECT_EQ(store_->copied(), 1u);
}

TEST_F(FallbackStoreTest, PurgeReachesBothStores) {
  old_session();
  ASSERT_TRUE(p_.create(new_key(), make_record(clock_.now())).ok());
  clock_.advance(31min);
  EXPECT_EQ(db_.purge_expired(100).value(), 2u);
  EXPECT_EQ(f_.count().value(), 0u);
  EXPECT_EQ(p_.count().value(), 0u);
}

TEST(FallbackStoreWrap, RefusesAMissingStoreOrOneStoreTwice) {
  auto a = MemoryStore::open().value();
  EXPECT_THROW(FallbackStore::wrap(a, nullptr), std::invalid_argument);
  EXPECT_THROW(FallbackStore::wrap(nullptr, a), std::invalid_argument);
  EXPECT_THROW(FallbackStore::wrap(a, a), std::invalid_argument);
}

}  // namespace
}  // namespace sessionkit
