// Redis-specific tests: URL parsing, one command per read, TTLs, TLS, AUTH, faults.
#include <gtest/gtest.h>

#include <future>
#include <set>
#include <thread>

#include "contract/redis_on_loop.h"
#include "contract/store_harness.h"
#include "sessionkit/stores/redis.h"
#include "support/redis_server.h"

// The conformance suite against RedisStore, on one redis-server and on a 3-master Redis Cluster
// per test process (each started on first use, flushed before each test). Redis SCAN has no
// order, the server deletes expired records by its own (real) clock (so `count` includes
// records a ManualClock moved past their deadline), and `count` walks the keyspace.
namespace sessionkit::testing {
namespace {

// A RedisStore on `url` judging expiry by `clock`.
std::shared_ptr<SessionStore> open_redis(const std::string& url, const Clock& clock) {
  auto options = RedisStoreOptions::from_url(url);
  if (!options) throw std::runtime_error(options.message());
  options->clock = &clock;
  auto opened = RedisStore::open(std::move(*options));
  if (!opened) throw std::runtime_error("RedisStore::open: " + opened.status().to_string());
  return std::move(*opened);
}

struct RedisTraits {
  static constexpr bool kOrderedScan = false;
  static constexpr bool kExpiresByTtl = true;
  static constexpr bool kCountIsExpensive = true;
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    RedisServer& server = RedisServer::shared();
    server.cli({"FLUSHALL"});
    return open_redis(server.url(), clock);
  }
};

struct RedisClusterTraits {
  static constexpr bool kOrderedScan = false;
  static constexpr bool kExpiresByTtl = true;
  static constexpr bool kCountIsExpensive = true;
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    RedisCluster& cluster = RedisCluster::shared();
    cluster.flush();
    return open_redis(cluster.url(), clock);
  }
};

// The same stores used from an event loop they are attached to (RedisStore::attach): every
// call is made on the loop's thread, and its callback must run there.
template <class Traits>
struct OnLoop {
  static constexpr bool kOrderedScan = Traits::kOrderedScan;
  static constexpr bool kExpiresByTtl = Traits::kExpiresByTtl;
  static constexpr bool kCountIsExpensive = Traits::kCountIsExpensive;
  static std::shared_ptr<SessionStore> make(const Clock& clock) {
    auto redis = std::dynamic_pointer_cast<RedisStore>(Traits::make(clock));
    return std::make_shared<OnLoopStore>(std::move(redis));
  }
};

[[maybe_unused]] const bool kRegistered =
    register_store<RedisTraits>("Redis") && register_store<RedisClusterTraits>("RedisCluster");
}  // namespace
}  // namespace sessionkit::testing
SESSIONKIT_STORE_CONFORMANCE(Redis, RedisTraits);
SESSIONKIT_STORE_CONFORMANCE(RedisCluster, RedisClusterTraits);
SESSIONKIT_STORE_CONFORMANCE(EncryptedRedis, Encrypted<RedisTraits>);
SESSIONKIT_STORE_CONFORMANCE(CompressedRedis, Compressed<RedisTraits>);
SESSIONKIT_STORE_CONFORMANCE(FallbackRedis, WithFallback<RedisTraits>);
SESSIONKIT_STORE_CONFORMANCE(RedisOnLoop, OnLoop<RedisTraits>);
SESSIONKIT_STORE_CONFORMANCE(RedisClusterOnLoop, OnLoop<RedisClusterTraits>);

namespace sessionkit::testing {
namespace {

TEST(RedisUrl, ParsesEveryForm) {
  auto a = RedisStoreOptions::from_url(
      "redis://127.0.0.1:6380/2?prefix=app:&connections=3&timeout_ms=150");
  ASSERT_OK(a);
  ASSERT_EQ(a->nodes.size(), 1u);
  EXPECT_EQ(a->nodes[0].host, "127.0.0.1");
  EXPECT_EQ(a->nodes[0].port, 6380);
  EXPECT_EQ(a->database, 2);
  EXPECT_EQ(a->key_prefix, "app:");
  EXPECT_EQ(a->connections, 3u);
  EXPECT_EQ(a->command_timeout, std::chrono::milliseconds(150));
  EXPECT_FALSE(a->tls.has_value());
  EXPECT_FALSE(a->cluster);

  auto b = RedisStoreOptions::from_url(
      "rediss://app%40x:p%3Ass@cache.internal?ca=/etc/ca.pem&sni=redis");
  ASSERT_OK(b);
  EXPECT_EQ(b->username, "app@x");
  EXPECT_EQ(b->password, "p:ss");
  EXPECT_EQ(b->nodes[0].port, 6379);
  ASSERT_TRUE(b->tls.has_value());
  EXPECT_EQ(b->tls->ca_file, "/etc/ca.pem");
  EXPECT_EQ(b->tls->server_name, "redis");

  auto c =
      RedisStoreOptions::from_url("redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002");
  ASSERT_OK(c);
  EXPECT_TRUE(c->cluster);
  EXPECT_EQ(c->password, "secret");
  ASSERT_EQ(c->nodes.size(), 3u);
  EXPECT_EQ(c->nodes[2].host, "::1");
  EXPECT_EQ(c->nodes[2].port, 7002);
}

TEST(RedisUrl, RejectsWhatItCannotMean) {
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x",
                          "redis://a,b", "redis+cluster://h/1", "redis://user@h",
                          "redis://h?nope=1", "redis://h?ca=/x", "redis://h?connections=0",
                          "redis://%zz:p@h", "rediss://h?verify=maybe", "redis://h/0?prefix=a@b"}) {
    auto r = RedisStoreOptions::from_url(bad);
    EXPECT_EQ(r.code(), errc::invalid_argument) << bad;
    if (!r) {
      EXPECT_NE(r.message().find("redis URL"), std::string::npos) << r.message();
    }
  }
}

// Issue 21, finding 9: a password with an unencoded '/' or '?' was partly printed in errors.
TEST(RedisUrl, NeverEchoesAPasswordWithAnUnencodedSlashOrQuestionMark) {
  for (const char* url :
       {"redis://:Pq1x/Zr2y@h:6379", "redis://u:Pq1x?Zr2y@h", "redis://u:Pq1x/Zr2y?Vb3n@h"}) {
    auto r = RedisStoreOptions::from_url(url);
    EXPECT_EQ(r.code(), errc::invalid_argument) << url;
    for (const char* piece : {"Pq1x", "Zr2y", "Vb3n"}) {
      EXPECT_EQ(r.message().find(piece), std::string::npos) << r.message();
    }
  }
  auto ok = RedisStoreOptions::from_url("redis://:Pq1x%2FZr%3F@h");
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->password, "Pq1x/Zr?");
}

TEST(RedisStoreOpen, RejectsBadOptionsAndUnreachableServers) {
  RedisStoreOptions o;
  o.key_prefix = "{tag}";
  EXPECT_EQ(RedisStore::open(o).code(), errc::invalid_argument);
  o = {};
  o.connections = 0;
  EXPECT_EQ(RedisStore::open(o).code(), errc::invalid_argument);
  o = {};
  o.nodes = {{"127.0.0.1", free_port()}};  // nobody listens
  o.connect_timeout = std::chrono::milliseconds(500);
  auto r = RedisStore::open(o);
  EXPECT_TRUE(r.is_unavailable()) << r.message();
}

}  // namespace
}  // namespace sessionkit::testing

namespace sessionkit::testing {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<RedisStore> open_url(const std::string& url, const Clock* clock = nullptr) {
  auto options = RedisStoreOptions::from_url(url);
  EXPECT_OK(options);
  if (!options) return nullptr;
  options->clock = clock;
  auto store = RedisStore::open(std::move(*options));
  EXPECT_OK(store);
  return store ? *store : nullptr;
}

// Loads `key` until the store answers (bounded: 10 s), for tests of a server coming back.
// The fault tests run twice: calls from a thread of the test's own (the store's I/O thread
// answers them) and calls made on an event loop the store is attached to (OnLoopStore).
class RedisFaults : public ::testing::TestWithParam<bool> {
 protected:
  // `store` as this run uses it.
  std::shared_ptr<SessionStore> used(const std::shared_ptr<RedisStore>& store) {
    if (!GetParam()) return store;
    return std::make_shared<OnLoopStore>(store);
  }
};

std::string mode_name(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "OnAttachedLoop" : "OnItsOwnThread";
}

Result<std::optional<SessionRecord>> load_when_back(BlockingStore& db, const SessionKey& key) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    std::this_thread::sleep_for(50ms);
    auto r = db.load(key);
    if (r.ok() || std::chrono::steady_clock::now() >= deadline) return r;
  }
}

TEST(RedisStore, ReadsCostOneCommandAndChangesOne) {
  RedisServer& server = RedisServer::shared();
  server.cli({"FLUSHALL"});
  auto store = open_url(server.url());
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const Time now = system_clock().now();
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(now, "alice")));
  ASSERT_OK(db.load(key));  // warm: the scripts are cached after their first use
  ASSERT_OK(db.load(key, TouchSpec{now, now + 30min}));
  ASSERT_OK(db.increment(key, "n", 1));
  SessionPatch p;
  p.set = {{"a", 1}};
  ASSERT_OK(db.patch(key, p));
  const SessionKey other = new_key();
  ASSERT_OK(db.create(other, make_record(now, "alice")));
  ASSERT_OK(db.destroy(other));

  using Commands = std::vector<std::string>;
  EXPECT_EQ(server.client_commands([&] { ASSERT_OK(db.load(key)); }), Commands{"HGETALL"});
  EXPECT_EQ(server.client_commands([&] {
    ASSERT_OK(db.load(key, TouchSpec{now, now + 30min}));
  }),
            Commands{"EVALSHA"});
  EXPECT_EQ(server.client_commands([&] {
    ASSERT_OK(db.increment(key, "n", 1, TouchSpec{now, now + 30min}));
    ASSERT_OK(db.patch(key, p));
  }),
            (Commands{"EVALSHA", "EVALSHA"}));
  // A logout: the session's script, then its user-index entry.
  EXPECT_EQ(server.client_commands([&] { ASSERT_OK(db.destroy(key)); }),
            (Commands{"EVALSHA", "ZREM"}));
}

// The lazy touch the manager sends with every load: HGETALL alone while the touch is not due,
// HGETALL then the touch script once it is (once per touch interval per session: an EVALSHA
// costs ~10x the server time of an HGETALL); an unconditional touch is the one script.
TEST(RedisStore, ALazyTouchAtLoadAddsTheScriptOnlyWhenDue) {
  RedisServer& server = RedisServer::shared();
  server.cli({"FLUSHALL"});
  ManualClock clock;
  auto store = open_url(server.url(), &clock);
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const Time start = clock.now();
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(start, "alice")));
  // warm: the scripts are cached after their first use
  ASSERT_OK(db.load(key, TouchSpec{start, start + 30min, std::nullopt}));
  ASSERT_OK(db.touch(key, TouchSpec{start, start + 30min, std::nullopt}));
  clock.advance(30s);
  const Time now = clock.now();

  using Commands = std::vector<std::string>;
  std::optional<SessionRecord> answered;
  auto load = [&](const TouchSpec& touch) {
    return server.client_commands([&] {
      auto r = db.load(key, touch);
      ASSERT_OK(r);
      answered = *r;
    });
  };
  // Not due: last accessed 30 s ago, within a 1 min touch interval.
  EXPECT_EQ(load(TouchSpec{now, now + 30min, AccessWindow{now - 30min, now - 1min}}),
            Commands{"HGETALL"});
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->last_access, start);
  // Not due either: idle past the caller's timeout (the caller ends it; nothing is written).
  EXPECT_EQ(load(TouchSpec{now, now + 30min, AccessWindow{now - 10s, now}}), Commands{"HGETALL"});
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->last_access, start);
  // Due (a 10 s interval): read, then touched.
  EXPECT_EQ(load(TouchSpec{now, now + 30min, AccessWindow{now - 30min, now - 10s}}),
            (Commands{"HGETALL", "EVALSHA"}));
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->last_access, now);
  EXPECT_EQ(answered->expires_at, now + 30min);
  // Unconditional: the one touch_load script.
  clock.advance(1s);
  EXPECT_EQ(load(TouchSpec{clock.now(), clock.now() + 30min, std::nullopt}), Commands{"EVALSHA"});
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->last_access, clock.now());
  auto stored = db.load(key);
  ASSERT_OK(stored);
  EXPECT_EQ(*stored, answered);
}

TEST(RedisStore, TheServerDeletesExpiredSessionsByTtl) {
  RedisServer& server = RedisServer::shared();
  server.cli({"FLUSHALL"});
  auto store = open_url(server.url());  // the real clock
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const Time now = system_clock().now();
  const SessionKey brief = new_key(), lasting = new_key();
  ASSERT_OK(db.create(brief, make_record(now, "", 400ms, 1h)));
  ASSERT_OK(db.create(lasting, make_record(now, "", 1h, 2h)));
  const std::string pttl = server.cli({"PTTL", store->redis_key(lasting)});
  EXPECT_GT(std::stoll(pttl), 3'500'000);  // the deadline is the TTL
  EXPECT_LE(std::stoll(pttl), 3'600'000);
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(server.cli({"EXISTS", store->redis_key(brief)}), "0");
  EXPECT_EQ(server.cli({"EXISTS", store->redis_key(lasting)}), "1");
  // A touch moves the TTL with the deadline, never past the absolute one.
  ASSERT_OK(db.touch(lasting, TouchSpec{now, now + 5h}));
  EXPECT_LE(std::stoll(server.cli({"PTTL", store->redis_key(lasting)})), 7'200'000);
  EXPECT_GT(std::stoll(server.cli({"PTTL", store->redis_key(lasting)})), 7'000'000);
}

TEST(RedisStore, AHashMissingARequiredFieldIsCorruptNotASession) {
  RedisServer& server = RedisServer::shared();
  server.cli({"FLUSHALL"});
  auto store = open_url(server.url());
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const std::string far = std::to_string(to_millis(system_clock().now() + 1h));
  // No creation time ("c"), but the optional auth time ("t") is there: still corrupt.
  const SessionKey key = new_key();
  server.cli({"HSET", store->redis_key(key), "v", "1", "a", "1", "e", far, "x", far, "t", "5"});
  EXPECT_EQ(db.load(key).code(), errc::corrupt);
  // A payload value that is not JSON, or a foreign format version: corrupt too.
  const SessionKey bad_json = new_key(), bad_version = new_key();
  server.cli({"HSET", store->redis_key(bad_json), "v", "1", "c", "1", "a", "1", "e", far, "x", far,
              "d:cart", "{not json"});
  server.cli(
      {"HSET", store->redis_key(bad_version), "v", "2", "c", "1", "a", "1", "e", far, "x", far});
  EXPECT_EQ(db.load(bad_json).code(), errc::corrupt);
  EXPECT_EQ(db.load(bad_version).code(), errc::corrupt);
}

TEST(RedisStore, NoRawIdIsStored) {
  RedisServer& server = RedisServer::shared();
  server.cli({"FLUSHALL"});
  auto store = open_url(server.url());
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const SessionId id = SessionId::generate();
  ASSERT_OK(db.create(SessionKey::of(id), make_record(system_clock().now(), "alice")));
  const std::string keys = server.cli({"--scan"});
  EXPECT_EQ(keys.find(id.str()), std::string::npos);
  EXPECT_NE(keys.find(SessionKey::of(id).hex()), std::string::npos);
  EXPECT_EQ(server.cli({"HGETALL", store->redis_key(SessionKey::of(id))}).find(id.str()),
            std::string::npos);
}

TEST(RedisStore, PasswordAndAclUsers) {
  RedisServerOptions with_password;
  with_password.password = "s3cret";
  RedisServer server(with_password);
  EXPECT_TRUE(open_url("redis://:s3cret@127.0.0.1:" + std::to_string(server.port())));
  auto wrong = RedisStore::open(
      *RedisStoreOptions::from_url("redis://:nope@127.0.0.1:" + std::to_string(server.port())));
  EXPECT_TRUE(wrong.is_unavailable());
  EXPECT_NE(wrong.message().find("WRONGPASS"), std::string::npos) << wrong.message();

  // An ACL user limited to the store's key prefix works; outside it, Redis refuses (NOPERM).
  server.cli({"ACL", "SETUSER", "app", "on", ">app-pw", "~sk:*", "+@all"});
  auto app = open_url("redis://app:app-pw@127.0.0.1:" + std::to_string(server.port()));
  ASSERT_TRUE(app);
  BlockingStore db(*app);
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(system_clock().now(), "alice")));
  EXPECT_EQ(db.list_user("alice")->size(), 1u);
  auto other =
      open_url("redis://app:app-pw@127.0.0.1:" + std::to_string(server.port()) + "?prefix=other:");
  ASSERT_TRUE(other);
  auto denied = BlockingStore(*other).load(key);
  EXPECT_TRUE(denied.is_unavailable());
  EXPECT_NE(denied.message().find("NOPERM"), std::string::npos) << denied.message();
}

TEST(RedisStore, TlsWithVerification) {
  RedisServerOptions with_tls;
  with_tls.tls = true;
  RedisServer server(with_tls);
  auto store = open_url(server.url());
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  const SessionKey key = new_key();
  const SessionRecord rec = make_record(system_clock().now(), "alice");
  ASSERT_OK(db.create(key, rec));
  EXPECT_EQ(*db.load(key), rec);

  // Without the CA (system roots only) the server's certificate is refused.
  auto untrusted = RedisStore::open(
      *RedisStoreOptions::from_url("rediss://127.0.0.1:" + std::to_string(server.port())));
  EXPECT_TRUE(untrusted.is_unavailable()) << untrusted.message();
  // Plain TCP to a TLS port does not pass for a session store either.
  RedisStoreOptions plain;
  plain.nodes = {{"127.0.0.1", server.port()}};
  plain.connect_timeout = 500ms;
  plain.command_timeout = 500ms;
  EXPECT_FALSE(RedisStore::open(plain).ok());
}

TEST_P(RedisFaults, OutageIsUnavailableAndRecoversByItself) {
  RedisServerOptions durable;
  durable.appendfsync_always = true;
  RedisServer server(durable);
  auto store = open_url(server.url() + "?timeout_ms=500&connect_timeout_ms=500");
  ASSERT_TRUE(store);
  const auto in_use = used(store);
  BlockingStore db(*in_use);
  const Time now = system_clock().now();
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(now, "alice")));
  auto before = db.increment(key, "n", 5);
  ASSERT_OK(before);
  ASSERT_EQ(*before, 5);

  server.stop();
  auto down = db.load(key);
  EXPECT_TRUE(down.is_unavailable()) << down.message();  // never "no session"
  EXPECT_TRUE(db.increment(key, "n", 1).is_unavailable());
  EXPECT_TRUE(db.health().is_unavailable());

  server.start();  // same port, same directory: the AOF brings everything acknowledged back
  auto back = load_when_back(db, key);
  ASSERT_OK(back);
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ((*back)->data["n"], 5);
  auto after = db.increment(key, "n", 1);  // on either connection: none fails once one is back
  ASSERT_OK(after);
  EXPECT_EQ(*after, 6);
}

TEST_P(RedisFaults, AFrozenServerTimesOut) {
  RedisServer server;
  auto store = open_url(server.url() + "?timeout_ms=300");
  ASSERT_TRUE(store);
  const auto in_use = used(store);
  BlockingStore db(*in_use);
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(system_clock().now())));
  server.pause();
  const auto start = std::chrono::steady_clock::now();
  auto r = db.load(key);
  const auto took = std::chrono::steady_clock::now() - start;
  server.resume();
  EXPECT_TRUE(r.is_unavailable()) << r.message();
  EXPECT_EQ(r.code(), errc::timeout) << r.message();
  EXPECT_LT(took, 5s);
  auto back = load_when_back(db, key);
  ASSERT_OK(back);
  EXPECT_TRUE(back->has_value());
}

// The connection's deadline clock stops while nothing is in flight; the next command must start
// it again, or a server that froze during the idle time would hold that command forever.
TEST_P(RedisFaults, AServerThatFreezesWhileTheConnectionIsIdleTimesOut) {
  RedisServer server;
  auto opened = open_url(server.url() + "?timeout_ms=300&connections=1");
  ASSERT_TRUE(opened);
  const auto store = used(opened);
  const SessionKey key = new_key();
  ASSERT_OK(BlockingStore(*store).create(key, make_record(system_clock().now())));
  std::this_thread::sleep_for(200ms);  // several 25 ms ticks with nothing in flight: idle
  server.pause();
  auto answer = std::make_shared<std::promise<Result<std::optional<SessionRecord>>>>();
  auto got = answer->get_future();
  store->load(key, std::nullopt, [answer](Result<std::optional<SessionRecord>> r) {
    answer->set_value(std::move(r));
  });
  const bool answered = got.wait_for(5s) == std::future_status::ready;
  server.resume();  // lets a command that never timed out complete, so nothing dangles
  ASSERT_TRUE(answered) << "a command sent after an idle period never timed out";
  auto r = got.get();
  EXPECT_EQ(r.code(), errc::timeout) << r.message();
}

TEST(RedisClusterStore, KeysSpreadOverEveryMasterAndScanWalksThemAll) {
  RedisCluster& cluster = RedisCluster::shared();
  cluster.flush();
  auto store = open_url(cluster.url());
  ASSERT_TRUE(store);
  BlockingStore db(*store);
  std::set<SessionKey> created;
  for (int i = 0; i < 60; ++i) {
    const SessionKey key = new_key();
    ASSERT_OK(db.create(key, make_record(system_clock().now(), i % 2 ? "alice" : "")));
    created.insert(key);
  }
  for (auto port : cluster.ports())
    EXPECT_GT(std::stoi(cluster.cli(port, {"DBSIZE"})), 5) << "master on port " << port;
  std::set<SessionKey> seen;
  std::string cursor;
  do {
    auto page = db.scan(cursor, 9);
    ASSERT_OK(page);
    for (const auto& s : page->sessions)
      seen.insert(s.key);
    cursor = page->next_cursor;
  } while (!cursor.empty());
  EXPECT_EQ(seen, created);
  EXPECT_EQ(*db.count(), 60u);
  EXPECT_EQ(db.list_user("alice")->size(), 30u);
  EXPECT_EQ(*db.destroy_user("alice"), 30u);
  EXPECT_EQ(*db.count(), 30u);
}

}  // namespace
}  // namespace sessionkit::testing

namespace sessionkit::testing {
namespace {

using namespace std::chrono_literals;

// The value of "field:value" in an INFO section.
long long info_number(const std::string& info, const std::string& field) {
  auto at = info.find(field + ":");
  if (at == std::string::npos) return -1;
  return std::stoll(info.substr(at + field.size() + 1));
}

TEST_P(RedisFaults, ClusterFollowsAFailoverWithoutLosingReplicatedSessions) {
  RedisCluster cluster(3, 1);
  auto options =
      RedisStoreOptions::from_url(cluster.url() + "?timeout_ms=500&connect_timeout_ms=300");
  ASSERT_OK(options);
  auto opened = RedisStore::open(*options);
  ASSERT_OK(opened);
  std::shared_ptr<RedisStore> store = *opened;
  const auto in_use = used(store);
  BlockingStore db(*in_use);
  std::vector<SessionKey> keys;
  for (int i = 0; i < 30; ++i) {
    keys.push_back(new_key());
    ASSERT_OK(db.create(keys.back(), make_record(system_clock().now(), "alice")));
    ASSERT_OK(db.increment(keys.back(), "n", i));
  }
  // The master that owns keys[0], and its replica caught up with it.
  std::uint16_t victim = 0;
  for (auto port : cluster.ports()) {
    if (cluster.cli(port, {"ROLE"}).rfind("master", 0) != 0) continue;
    if (cluster.cli(port, {"EXISTS", store->redis_key(keys[0])}) == "1") victim = port;
  }
  ASSERT_NE(victim, 0);
  const auto synced_by = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    const std::string info = cluster.cli(victim, {"INFO", "replication"});
    const long long master = info_number(info, "master_repl_offset");
    const auto slave = info.find("slave0:");
    if (slave != std::string::npos &&
        info.find("offset=" + std::to_string(master), slave) != std::string::npos)
      break;
    ASSERT_LT(std::chrono::steady_clock::now(), synced_by) << info;
    std::this_thread::sleep_for(20ms);
  }

  cluster.stop_node(victim);
  // Until the replica takes over: unavailable, never "no session".
  auto during = db.load(keys[0]);
  if (!during.ok()) {
    EXPECT_TRUE(during.is_unavailable()) << during.message();
  }
  Result<std::optional<SessionRecord>> after = during;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  do {
    std::this_thread::sleep_for(100ms);
    after = db.load(keys[0]);
  } while (!after.ok() && std::chrono::steady_clock::now() < deadline);
  ASSERT_OK(after);
  ASSERT_TRUE(after->has_value()) << "the session was lost in the failover";
  for (int i = 0; i < 30; ++i) {
    auto rec = db.load(keys[static_cast<std::size_t>(i)]);
    ASSERT_OK(rec);
    ASSERT_TRUE(rec->has_value()) << i;
    EXPECT_EQ((*rec)->data["n"], i);
  }
  EXPECT_EQ(*db.increment(keys[0], "n", 1), 1);
  EXPECT_EQ(db.list_user("alice")->size(), 30u);
}

}  // namespace
}  // namespace sessionkit::testing

namespace sessionkit::testing {
namespace {

using namespace std::chrono_literals;

// Moves the slot of a live session to another master while the store's slot map is stale:
// during the migration the old owner answers ASK, afterwards MOVED; the store follows both.
TEST_P(RedisFaults, ClusterFollowsAskAndMovedWhileASlotMigrates) {
  RedisCluster cluster(3, 0);
  auto opened = RedisStore::open(*RedisStoreOptions::from_url(cluster.url()));
  ASSERT_OK(opened);
  std::shared_ptr<RedisStore> store = *opened;
  const auto in_use = used(store);
  BlockingStore db(*in_use);
  const SessionKey key = new_key();
  ASSERT_OK(db.create(key, make_record(system_clock().now(), "alice")));
  ASSERT_EQ(*db.increment(key, "n", 1), 1);
  const std::string name = store->redis_key(key);

  std::uint16_t source = 0, target = 0;
  for (auto port : cluster.ports()) {
    if (cluster.cli(port, {"EXISTS", name}) == "1") {
      source = port;
    } else if (target == 0) {
      target = port;
    }
  }
  ASSERT_NE(source, 0);
  ASSERT_NE(target, 0);
  const std::string slot = cluster.cli(source, {"CLUSTER", "KEYSLOT", name});
  const std::string source_id = cluster.cli(source, {"CLUSTER", "MYID"});
  const std::string target_id = cluster.cli(target, {"CLUSTER", "MYID"});

  cluster.cli(target, {"CLUSTER", "SETSLOT", slot, "IMPORTING", source_id});
  cluster.cli(source, {"CLUSTER", "SETSLOT", slot, "MIGRATING", target_id});
  cluster.cli(source,
              {"MIGRATE", "127.0.0.1", std::to_string(target), "", "0", "5000", "KEYS", name});
  ASSERT_EQ(cluster.cli(source, {"EXISTS", name}).rfind("ASK " + slot, 0), 0u);  // moved away
  // Mid-migration: the source answers ASK; reads and atomic changes still work.
  auto mid = db.load(key);
  ASSERT_OK(mid);
  ASSERT_TRUE(mid->has_value());
  EXPECT_EQ((*mid)->data["n"], 1);
  EXPECT_EQ(*db.increment(key, "n", 1), 2);

  for (auto port : cluster.ports())
    cluster.cli(port, {"CLUSTER", "SETSLOT", slot, "NODE", target_id});
  // Done: the source answers MOVED; the store learns the new owner and goes there.
  EXPECT_EQ(*db.increment(key, "n", 1), 3);
  auto after = db.load(key);
  ASSERT_OK(after);
  ASSERT_TRUE(after->has_value());
  EXPECT_EQ((*after)->data["n"], 3);
  EXPECT_EQ(cluster.cli(target, {"EXISTS", name}), "1");
  EXPECT_EQ(db.list_user("alice")->size(), 1u);
  EXPECT_EQ(*db.destroy(key), true);
}

INSTANTIATE_TEST_SUITE_P(BothModes, RedisFaults, ::testing::Bool(), mode_name);

// On a thread that runs an attached loop, a blocking call would wait for that very thread: it
// is refused at once instead, and the asynchronous call there works.
TEST(RedisOnLoop, BlockingCallsOnTheLoopAreRefusedNotDeadlocked) {
  RedisServer& server = RedisServer::shared();
  auto store = open_url(server.url());
  ASSERT_TRUE(store);
  OnLoopStore on_loop(store);
  const SessionKey key = new_key();
  std::promise<std::pair<Status, Status>> answers;
  boost::asio::post(on_loop.loop(), [&] {
    const Status blocked = BlockingStore(*store).create(key, make_record(system_clock().now()));
    store->create(key, make_record(system_clock().now()), [&, blocked](Status async) {
      answers.set_value({blocked, async});
    });
  });
  auto got = answers.get_future();
  ASSERT_EQ(got.wait_for(10s), std::future_status::ready);
  auto [blocked, async] = got.get();
  EXPECT_EQ(blocked.code(), errc::invalid_argument) << blocked.message();
  EXPECT_NE(blocked.message().find("event loop"), std::string::npos) << blocked.message();
  EXPECT_OK(async);
  // Off the loop, blocking calls work as before.
  auto loaded = BlockingStore(*store).load(key);
  ASSERT_OK(loaded);
  EXPECT_TRUE(loaded->has_value());
}

// Dropping the attachment closes the loop's connections; the loop's later calls go through the
// store's own I/O thread and still work.
TEST(RedisOnLoop, AfterDetachingTheLoopUsesTheStoresOwnThread) {
  RedisServer& server = RedisServer::shared();
  auto store = open_url(server.url());
  ASSERT_TRUE(store);
  boost::asio::io_context loop(1);
  auto work = boost::asio::make_work_guard(loop);
  auto attachment = store->attach(loop);
  std::thread runner([&] { loop.run(); });
  const SessionKey key = new_key();
  auto call_on_loop = [&] {
    std::promise<std::pair<Status, bool>> answer;
    boost::asio::post(loop, [&] {
      store->create(key, make_record(system_clock().now()), [&](Status s) {
        answer.set_value({s, loop.get_executor().running_in_this_thread()});
      });
    });
    return answer.get_future().get();
  };
  auto [attached, on_loop_thread] = call_on_loop();
  EXPECT_OK(attached);
  EXPECT_TRUE(on_loop_thread);
  boost::asio::post(loop, [&] { attachment.reset(); });
  auto [detached, still_on_loop] = call_on_loop();
  EXPECT_EQ(detached.code(), errc::conflict) << detached.message();  // it exists: answered
  EXPECT_FALSE(still_on_loop);  // by the store's own I/O thread
  work.reset();
  runner.join();
}

}  // namespace
}  // namespace sessionkit::testing
