// MemoryStore beyond the shared contract: the cap's eviction rule, bounded expiry work,
// sharding and copy semantics.
#include <set>
#include <thread>
#include <vector>

#include "contract/store_harness.h"

namespace sessionkit::testing {
namespace {

class MemoryStoreTest : public ::testing::Test {
 protected:
  void open(MemoryStoreOptions options) {
    options.clock = &clock_;
    store_ = std::make_unique<MemoryStore>(options);
    db_ = std::make_unique<BlockingStore>(*store_);
  }
  SessionKey add(Duration idle, Duration absolute = 8h) {
    const SessionKey key = new_key();
    EXPECT_OK(db_->create(key, make_record(clock_.now(), {}, idle, absolute)));
    return key;
  }
  bool exists(const SessionKey& key) {
    auto r = db_->load(key);
    EXPECT_OK(r);
    return r.ok() && r->has_value();
  }
  std::size_t stored() {
    auto r = db_->count();
    EXPECT_OK(r);
    return r.ok() ? *r : 0;
  }

  ManualClock clock_;
  std::unique_ptr<MemoryStore> store_;
  std::unique_ptr<BlockingStore> db_;
};

TEST_F(MemoryStoreTest, CapEvictsTheSessionClosestToExpiry) {
  open({.max_sessions = 3});
  const SessionKey a = add(10min), b = add(5min), c = add(20min);
  const SessionKey d = add(15min);  // full: b (5 min left) goes
  EXPECT_EQ(stored(), 3u);
  EXPECT_FALSE(exists(b));
  EXPECT_TRUE(exists(a));
  EXPECT_TRUE(exists(c));
  EXPECT_TRUE(exists(d));
  // The new record is never the victim, even when it is the soonest to expire.
  const SessionKey e = add(1min);
  EXPECT_TRUE(exists(e));
  EXPECT_FALSE(exists(a));
  EXPECT_EQ(stored(), 3u);
  // An absolute deadline counts as well as an idle one: {c: 20 min, d: 15 min, e: 1 min}.
  const SessionKey f = add(1h, 2min);  // evicts e
  EXPECT_FALSE(exists(e));
  const SessionKey g = add(1h);  // evicts f (absolute in 2 min), not d (15 min)
  EXPECT_FALSE(exists(f));
  EXPECT_TRUE(exists(d));
  EXPECT_TRUE(exists(c));
  EXPECT_TRUE(exists(g));
}

TEST_F(MemoryStoreTest, CapEvictsExpiredRecordsFirst) {
  open({.max_sessions = 2});
  const SessionKey old = add(1min);
  const SessionKey live = add(1h);
  clock_.advance(2min);
  const SessionKey fresh = add(30min);
  EXPECT_TRUE(exists(live));
  EXPECT_TRUE(exists(fresh));
  EXPECT_FALSE(exists(old));
  EXPECT_EQ(stored(), 2u);
}

TEST_F(MemoryStoreTest, ConflictingCreateEvictsNothing) {
  open({.max_sessions = 2});
  const SessionKey a = add(10min);
  const SessionKey b = add(20min);
  EXPECT_EQ(db_->create(a, make_record(clock_.now())).code(), errc::conflict);
  EXPECT_TRUE(exists(a));
  EXPECT_TRUE(exists(b));
}

TEST_F(MemoryStoreTest, CapHoldsUnderConcurrentCreates) {
  open({.shards = 8, .max_sessions = 100});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const auto idle = Duration(1000 * (1 + (t * 200 + i) % 997));
        if (!db_->create(new_key(), make_record(clock_.now(), {}, idle)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(stored(), 100u);
}

TEST_F(MemoryStoreTest, PurgeNeverDoesMoreThanItsLimit) {
  open({.shards = 4});
  std::vector<SessionKey> live;
  for (int i = 0; i < 1000; ++i)
    live.push_back(add(1h));
  for (int i = 0; i < 50; ++i)
    add(1min);
  clock_.advance(2min);
  std::size_t total = 0;
  for (;;) {
    auto n = db_->purge_expired(7);
    ASSERT_OK(n);
    ASSERT_LE(*n, 7u);
    if (*n == 0) break;
    total += *n;
  }
  EXPECT_EQ(total, 50u);
  EXPECT_EQ(stored(), 1000u);
  EXPECT_EQ(*db_->purge_expired(1'000'000), 0u);
  for (const auto& k : live)
    ASSERT_TRUE(exists(k));
}

TEST_F(MemoryStoreTest, WritesRemoveAFewExpiredRecordsOnTheSide) {
  open({.shards = 1});
  for (int i = 0; i < 10; ++i)
    add(1min);
  clock_.advance(2min);
  EXPECT_EQ(stored(), 10u);
  add(1h);  // removes at most 2 expired records
  EXPECT_EQ(stored(), 9u);
  for (int i = 0; i < 4; ++i)
    add(1h);
  EXPECT_EQ(stored(), 5u);
}

TEST_F(MemoryStoreTest, LoadedRecordsAreCopies) {
  open({});
  const SessionKey key = add(1h);
  auto first = db_->load(key);
  ASSERT_OK(first);
  (*first)->data["cart"].push_back(4);
  (*first)->user_id = "mallory";
  auto again = db_->load(key);
  ASSERT_OK(again);
  EXPECT_EQ(**again, make_record(clock_.now(), {}, 1h));
}

TEST_F(MemoryStoreTest, AnyShardCountWorksAndScanStaysInKeyOrder) {
  for (std::size_t shards : {0, 1, 3, 16, 1000}) {
    open({.shards = shards});
    std::set<SessionKey> keys;
    for (int i = 0; i < 50; ++i)
      keys.insert(add(1h));
    std::vector<SessionKey> seen;
    std::string cursor;
    do {
      auto page = db_->scan(cursor, 6);
      ASSERT_OK(page);
      for (const auto& s : page->sessions)
        seen.push_back(s.key);
      cursor = page->next_cursor;
    } while (!cursor.empty());
    EXPECT_EQ(seen, std::vector(keys.begin(), keys.end())) << shards << " shards";
  }
}

TEST_F(MemoryStoreTest, InvalidUtf8IsStoredReplacedNotThrown) {
  open({});
  const SessionKey key = new_key();
  SessionRecord rec = make_record(clock_.now());
  rec.data["bad"] = std::string("\xff\xfe", 2);
  ASSERT_OK(db_->create(key, rec));
  EXPECT_TRUE(exists(key));
}

}  // namespace
}  // namespace sessionkit::testing
