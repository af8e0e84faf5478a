// MemoryStore beyond the shared contract: the cap's eviction order, bounded expiry work,
// sharding, copy semantics, and invalid UTF-8 repaired as the other stores repair it.
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "contract/store_harness.h"
#include "sessionkit/store_rules.h"
#include "sessionkit/stores/memory.h"
#include "sessionkit/stores/reference.h"
#include "stores/memory/payload_codec.h"

// The conformance suite against MemoryStore (4 shards), made the documented way.
namespace sessionkit::testing {
namespace {
struct MemoryTraits {
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    return MemoryStore::open({.shards = 4, .clock = &clock}).value();
  }
};
[[maybe_unused]] const bool kRegistered = register_store<MemoryTraits>("Memory");
using EncryptedCompressedMemoryTraits = Encrypted<MemoryTraits, /*compress=*/true>;
}  // namespace
}  // namespace sessionkit::testing
SESSIONKIT_STORE_CONFORMANCE(Memory, MemoryTraits);
SESSIONKIT_STORE_CONFORMANCE(EncryptedMemory, Encrypted<MemoryTraits>);
SESSIONKIT_STORE_CONFORMANCE(CompressedMemory, Compressed<MemoryTraits>);
SESSIONKIT_STORE_CONFORMANCE(EncryptedCompressedMemory, EncryptedCompressedMemoryTraits);
SESSIONKIT_STORE_CONFORMANCE(FallbackMemory, WithFallback<MemoryTraits>);

namespace sessionkit::testing {
namespace {

class MemoryStoreTest : public ::testing::Test {
 protected:
  void open(MemoryStoreOptions options) {
    options.clock = &clock_;
    store_ = std::make_unique<MemoryStore>(options);
    db_ = std::make_unique<BlockingStore>(*store_);
  }
  SessionKey add(Duration idle, Duration absolute = 8h, std::string user = {}) {
    const SessionKey key = new_key();
    EXPECT_OK(db_->create(key, make_record(clock_.now(), std::move(user), idle, absolute)));
    return key;
  }
  SessionKey add_user(std::string user, Duration idle) { return add(idle, 8h, std::move(user)); }
  // A use of the session as the manager writes it: last access = now, deadline = now + idle.
  void use(const SessionKey& key, Duration idle) {
    EXPECT_OK(db_->touch(key, {clock_.now(), clock_.now() + idle}));
  }
  // A patch that (un)binds a user, with the touch every manager patch carries.
  void bind(const SessionKey& key, std::string user, Duration idle = 30min) {
    SessionPatch p;
    p.user_id = std::move(user);
    p.touch = TouchSpec{clock_.now(), clock_.now() + idle};
    EXPECT_OK(db_->patch(key, p));
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

// Issue 21: an anonymous flood must not push out the sessions of users who logged in, even
// when theirs are closer to expiry than the flood's.
TEST_F(MemoryStoreTest, AnAnonymousFloodNeverEvictsAnAuthenticatedSession) {
  open({.max_sessions = 20});
  std::vector<SessionKey> users;
  for (int i = 0; i < 5; ++i) {
    users.push_back(add_user("user" + std::to_string(i), 30min));
    clock_.advance(1s);
  }
  clock_.advance(10min);
  std::vector<SessionKey> flood;
  for (int i = 0; i < 200; ++i) {
    flood.push_back(add(30min));  // each one expires later than every user's session
    clock_.advance(1s);
  }
  EXPECT_EQ(stored(), 20u);
  for (const auto& k : users)
    EXPECT_TRUE(exists(k));
  // The 15 anonymous records written last stay; all the earlier ones went, oldest first.
  for (std::size_t i = 0; i < flood.size(); ++i)
    EXPECT_EQ(exists(flood[i]), i >= flood.size() - 15) << i;
}

TEST_F(MemoryStoreTest, CapEvictsTheLeastRecentlyUsedAnonymousSessionFirst) {
  open({.max_sessions = 3});
  const SessionKey a1 = add(10min);
  clock_.advance(1s);
  const SessionKey a2 = add(1h);
  clock_.advance(1s);
  const SessionKey a3 = add(20min);
  clock_.advance(1s);
  use(a1, 10min);  // a1 is now the closest to expiry but the most recently used
  clock_.advance(1s);
  const SessionKey a4 = add(1h);  // full: a2, the least recently used, goes
  EXPECT_EQ(stored(), 3u);
  EXPECT_FALSE(exists(a2));
  EXPECT_TRUE(exists(a1));
  EXPECT_TRUE(exists(a3));
  EXPECT_TRUE(exists(a4));
  clock_.advance(1s);
  ASSERT_OK(db_->load(a3, TouchSpec{clock_.now(), clock_.now() + 20min}));  // a touching load
  clock_.advance(1s);
  const SessionKey a5 = add(1h);  // a1 (used before a4 and a3) goes
  EXPECT_FALSE(exists(a1));
  EXPECT_TRUE(exists(a3));
  EXPECT_TRUE(exists(a4));
  EXPECT_TRUE(exists(a5));
  EXPECT_EQ(stored(), 3u);
}

TEST_F(MemoryStoreTest, CapEvictsTheLeastRecentlyUsedAuthenticatedSessionWhenNoAnonymousOneIsLeft) {
  open({.max_sessions = 3});
  const SessionKey ann = add_user("ann", 10min);
  clock_.advance(1s);
  const SessionKey bob = add_user("bob", 1h);
  clock_.advance(1s);
  const SessionKey cid = add_user("cid", 20min);
  clock_.advance(1s);
  use(ann, 10min);
  clock_.advance(1s);
  // Only authenticated records: the least recently used one (bob) goes, and the record being
  // created is never the victim.
  const SessionKey anon = add(1h);
  EXPECT_EQ(stored(), 3u);
  EXPECT_FALSE(exists(bob));
  EXPECT_TRUE(exists(ann));
  EXPECT_TRUE(exists(cid));
  EXPECT_TRUE(exists(anon));
  clock_.advance(1s);
  // An anonymous record is there again: it goes before any authenticated one, however recent.
  const SessionKey next = add(1h);
  EXPECT_FALSE(exists(anon));
  EXPECT_TRUE(exists(ann));
  EXPECT_TRUE(exists(cid));
  EXPECT_TRUE(exists(next));
  clock_.advance(1s);
  const SessionKey dee = add_user("dee", 1h);  // an authenticated create: the anonymous one goes
  EXPECT_FALSE(exists(next));
  EXPECT_TRUE(exists(dee));
  EXPECT_EQ(stored(), 3u);
}

TEST_F(MemoryStoreTest, CapEvictsExpiredRecordsBeforeAnythingElse) {
  open({.max_sessions = 3});
  const SessionKey lru = add(1h);  // the least recently used anonymous record
  clock_.advance(1s);
  const SessionKey user = add_user("dan", 1min);
  clock_.advance(1s);
  const SessionKey other = add(1h);
  clock_.advance(2min);  // dan's session expired (not yet purged)
  const SessionKey fresh = add(1h);
  EXPECT_EQ(stored(), 3u);  // dan's record was removed, not merely hidden
  EXPECT_TRUE(exists(lru));
  EXPECT_TRUE(exists(other));
  EXPECT_TRUE(exists(fresh));
  EXPECT_FALSE(exists(user));
}

TEST_F(MemoryStoreTest, BindingAndUnbindingAUserMovesARecordBetweenClasses) {
  open({.max_sessions = 3});
  const SessionKey amy = add(30min);
  clock_.advance(1s);
  const SessionKey anon = add(1h);
  clock_.advance(1s);
  const SessionKey eve = add_user("eve", 30min);
  clock_.advance(1s);
  bind(amy, "amy");  // login without rotation: amy's record is authenticated now
  clock_.advance(1s);
  const SessionKey c = add(1h);  // the one anonymous record goes, not eve (closest to expiry)
  EXPECT_FALSE(exists(anon));
  EXPECT_TRUE(exists(amy));
  EXPECT_TRUE(exists(eve));
  EXPECT_TRUE(exists(c));
  clock_.advance(1s);
  bind(eve, "");  // logout without destroy: eve's record is anonymous again
  clock_.advance(1s);
  const SessionKey d = add(1h);  // anonymous, least recently used first: c
  EXPECT_FALSE(exists(c));
  EXPECT_TRUE(exists(eve));
  clock_.advance(1s);
  const SessionKey e = add(1h);  // then eve, though amy was used before her
  EXPECT_FALSE(exists(eve));
  EXPECT_TRUE(exists(amy));
  EXPECT_TRUE(exists(d));
  EXPECT_TRUE(exists(e));
  EXPECT_EQ(stored(), 3u);
}

// Random creates, uses, (un)binds and destroys over 4 shards, each at a distinct time, against a
// model of the rule: the victim is the anonymous record used longest ago, else the
// authenticated one used longest ago.
TEST_F(MemoryStoreTest, EvictionFollowsTheModelUnderRandomTraffic) {
  constexpr std::size_t kCap = 20;
  open({.shards = 4, .max_sessions = kCap});
  struct Model {
    bool user;
    Time access;
  };
  std::map<SessionKey, Model> model;
  std::mt19937 rng(21);
  auto pick = [&] {
    auto it = model.begin();
    std::advance(it, std::uniform_int_distribution<std::size_t>(0, model.size() - 1)(rng));
    return it;
  };
  for (int step = 0; step < 3000; ++step) {
    clock_.advance(1ms);
    const int op = std::uniform_int_distribution<int>(0, 9)(rng);
    if (op < 4 || model.empty()) {
      const bool user = op % 2 == 1;
      std::optional<SessionKey> victim;
      if (model.size() == kCap) {
        auto oldest = [&](bool authenticated) {
          std::optional<SessionKey> best;
          for (const auto& [k, m] : model) {
            if (m.user == authenticated && (!best || m.access < model.at(*best).access)) best = k;
          }
          return best;
        };
        victim = oldest(false);
        if (!victim) victim = oldest(true);
      }
      const SessionKey key = user ? add_user("u" + std::to_string(step), 1h) : add(1h);
      if (victim) {
        ASSERT_FALSE(exists(*victim)) << step;
        model.erase(*victim);
      }
      model[key] = {user, clock_.now()};
      ASSERT_EQ(stored(), model.size()) << step;
    } else if (op < 6) {
      auto it = pick();
      use(it->first, 1h);
      it->second.access = clock_.now();
    } else if (op < 7) {
      auto it = pick();
      ASSERT_OK(db_->load(it->first, TouchSpec{clock_.now(), clock_.now() + 1h}));
      it->second.access = clock_.now();
    } else if (op < 9) {
      auto it = pick();
      it->second.user = !it->second.user;
      bind(it->first, it->second.user ? "v" + std::to_string(step) : "", 1h);
      it->second.access = clock_.now();
    } else {
      auto it = pick();
      ASSERT_OK(db_->destroy(it->first));
      model.erase(it);
    }
  }
  for (const auto& [k, m] : model)
    EXPECT_TRUE(exists(k));
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

// open: the options as given, or invalid_argument naming the field; the constructor clamps.
TEST(MemoryStoreOpen, ValidOptionsOpenAWorkingStore) {
  ManualClock clock;
  for (const MemoryStoreOptions& options :
       {MemoryStoreOptions{.shards = 1, .clock = &clock},
        MemoryStoreOptions{.shards = 3, .max_sessions = 2, .clock = &clock},
        MemoryStoreOptions{.shards = MemoryStore::kMaxShards, .clock = &clock}}) {
    auto opened = MemoryStore::open(options);
    ASSERT_OK(opened);
    ASSERT_NE(*opened, nullptr);
    BlockingStore db(**opened);
    const SessionKey key = new_key();
    ASSERT_OK(db.create(key, make_record(clock.now())));
    auto loaded = db.load(key);
    ASSERT_OK(loaded);
    ASSERT_TRUE(loaded->has_value()) << options.shards << " shards";
    EXPECT_EQ(**loaded, make_record(clock.now()));
  }
  // The default options: the system clock, no cap.
  auto opened = MemoryStore::open();
  ASSERT_OK(opened);
  BlockingStore db(**opened);
  for (int i = 0; i < 40; ++i)
    ASSERT_OK(db.create(new_key(), make_record(system_clock().now())));
  auto count = db.count();
  ASSERT_OK(count);
  EXPECT_EQ(*count, 40U);
}

TEST(MemoryStoreOpen, TheCapIsKept) {
  ManualClock clock;
  auto opened = MemoryStore::open({.shards = 2, .max_sessions = 3, .clock = &clock});
  ASSERT_OK(opened);
  BlockingStore db(**opened);
  for (int i = 0; i < 5; ++i)
    ASSERT_OK(db.create(new_key(), make_record(clock.now())));
  auto count = db.count();
  ASSERT_OK(count);
  EXPECT_EQ(*count, 3U);
}

TEST(MemoryStoreOpen, RefusesAShardCountOutOfRange) {
  for (std::size_t shards :
       {std::size_t{0}, MemoryStore::kMaxShards + 1, std::numeric_limits<std::size_t>::max()}) {
    auto opened = MemoryStore::open({.shards = shards});
    ASSERT_FALSE(opened.ok()) << shards;
    EXPECT_EQ(opened.code(), errc::invalid_argument);
    EXPECT_NE(opened.message().find("shards must be 1 to 65536"), std::string::npos)
        << opened.message();
    EXPECT_NE(opened.message().find(std::to_string(shards)), std::string::npos) << opened.message();
  }
}

TEST_F(MemoryStoreTest, InvalidUtf8IsStoredReplacedNotThrown) {
  open({});
  const SessionKey key = new_key();
  SessionRecord rec = make_record(clock_.now());
  rec.data["bad"] = std::string("\xff\xfe", 2);
  ASSERT_OK(db_->create(key, rec));
  auto got = db_->load(key);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->data["bad"], "\uFFFD\uFFFD");
}

// The UTF-8 check that lets a valid payload skip the repair agrees with nlohmann's (what
// stores::dump_payload replaces) on every string of up to 2 bytes and on random strings of the
// bytes where the rules change, at every offset of the 64-byte ASCII scan; the
// repair is dump_payload's, byte for byte.
TEST(MemoryPayloadUtf8, TheCheckAgreesWithNlohmannAndTheRepairIsDumpPayloads) {
  using memory_detail::replaced_utf8;
  using memory_detail::valid_utf8;
  auto check = [&](const std::string& s) {
    // nlohmann's serializer dropping (ignore) and replacing invalid bytes agree only when there
    // are none
    const bool valid =
        nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore) ==
        stores::dump_payload(nlohmann::json(s));
    ASSERT_EQ(valid_utf8(s), valid)
        << nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    if (valid) return;
    const std::string fixed = replaced_utf8(s);
    ASSERT_EQ(nlohmann::json(fixed).dump(), stores::dump_payload(nlohmann::json(s)));
    ASSERT_TRUE(valid_utf8(fixed));
  };
  for (int a = 0; a < 256; ++a) {
    check(std::string(1, static_cast<char>(a)));
    for (int b = 0; b < 256; ++b)
      check(std::string{static_cast<char>(a), static_cast<char>(b)});
  }
  const unsigned char edges[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
                                 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee,
                                 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xfe, 0xff};
  std::mt19937 rng(20261202);
  for (int i = 0; i < 30'000; ++i) {
    std::string s(rng() % 8, '\0');
    for (auto& c : s)
      c = static_cast<char>(edges[rng() % std::size(edges)]);
    check(s);
    // Around it: ASCII and two- and three-byte characters, so that it falls at every offset of
    // the 64-byte ASCII blocks and inside runs of other characters.
    std::string before, after;
    for (std::string* side : {&before, &after}) {
      for (auto n = rng() % 80; n > 0; --n)
        *side += rng() % 4 ? "x" : rng() % 2 ? "\xc3\xa9" : "\xe2\x82\xac";
    }
    check(before + s + after);
  }
  for (const char* ok : {"", "Zo\xc3\xab", "\xe2\x82\xac", "\xf0\x9f\x8e\x89", "\xed\x9f\xbf",
                         "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\xef\xbf\xbd"}) {
    EXPECT_TRUE(valid_utf8(std::string(ok))) << ok;
  }
  for (const char* bad : {"\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xf5\x80\x80\x80", "\xe2\x82", "\x80", "\xf0\x9f\x8e"}) {
    EXPECT_FALSE(valid_utf8(std::string(bad))) << bad;
    EXPECT_FALSE(valid_utf8(std::string(20, 'a') + bad)) << bad;
  }
}

// The memory store answers exactly what the reference store (JSON text through dump_payload)
// answers for invalid UTF-8 anywhere in a payload: values, nested and top-level keys, keys
// that become equal once repaired, through create, replace, patch and increment.
TEST(MemoryPayloadUtf8, EveryWriteAnswersWhatTheReferenceStoreAnswers) {
  ManualClock clock;
  MemoryStore memory_store(MemoryStoreOptions{.shards = 2, .clock = &clock});
  ReferenceStore reference_store(clock);
  BlockingStore memory(memory_store), reference(reference_store);
  const std::string ff{'\xff'}, cut{'\xe2', '\x82'}, surrogate{'\xed', '\xa0', '\x80'};
  auto same = [&](const SessionKey& key, const char* step) {
    auto m = memory.load(key);
    auto r = reference.load(key);
    ASSERT_OK(m);
    ASSERT_OK(r);
    ASSERT_TRUE(m->has_value()) << step;
    ASSERT_TRUE(r->has_value()) << step;
    EXPECT_EQ(stores::dump_payload((*m)->data), stores::dump_payload((*r)->data)) << step;
    EXPECT_EQ(**m, **r) << step;
    EXPECT_TRUE(memory_detail::all_valid_utf8((*m)->data)) << step;
  };
  SessionRecord rec = make_record(clock.now());
  rec.data["a" + ff + "b"] = "x" + cut + "y";
  rec.data["nested"] = {{"k" + surrogate, {"ok", ff, cut + cut, "\xc3"}}, {"fine", 1}};
  // Two keys that are one once repaired: "twin\xff" sorts after "twin\uFFFD", so its value wins.
  rec.data["twin" + ff] = "repaired";
  rec.data["twin\xef\xbf\xbd"] = "valid from the start";
  rec.data["name"] = "Zo\xc3\xab";
  const SessionKey key = new_key();
  ASSERT_OK(memory.create(key, rec));
  ASSERT_OK(reference.create(key, rec));
  same(key, "create");
  auto created = memory.load(key);
  ASSERT_OK(created);
  ASSERT_TRUE(created->has_value());
  EXPECT_EQ((*created)->data.value("twin\xef\xbf\xbd", ""), "repaired");
  EXPECT_EQ((*created)->data.value("a\xef\xbf\xbd"
                                   "b",
                                   ""),
            "x\xef\xbf\xbdy");

  SessionRecord next = make_record(clock.now());
  next.data = {{"r" + cut, {{"deep" + ff, ff}}}, {"list", {ff, 1, surrogate}}};
  ASSERT_OK(memory.replace(key, next));
  ASSERT_OK(reference.replace(key, next));
  same(key, "replace");

  SessionPatch p;
  p.set = {{"set" + ff, "v" + cut}, {"obj", {{"k" + surrogate, ff}}}, {"list", "plain"}};
  p.erase = {"r" + cut, "r\xef\xbf\xbd"};  // the raw name matches nothing; the repaired one does
  ASSERT_OK(memory.patch(key, p));
  ASSERT_OK(reference.patch(key, p));
  same(key, "patch");

  SessionPatch valid;
  valid.set = {{"plain", "text"}};
  ASSERT_OK(memory.patch(key, valid));
  ASSERT_OK(reference.patch(key, valid));
  same(key, "valid patch");

  auto m = memory.increment(key, "n" + ff, 3);
  auto r = reference.increment(key, "n" + ff, 3);
  ASSERT_OK(m);
  ASSERT_OK(r);
  EXPECT_EQ(*m, *r);
  same(key, "increment");
}

}  // namespace
}  // namespace sessionkit::testing
