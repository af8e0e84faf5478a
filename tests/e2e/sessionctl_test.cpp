// sessionctl against real stores (issue 16, deliverable 1, first slice): sessions are written
// through the library (as the apps write them), then the sessionctl binary reads and ends them,
// on SQLite, Redis, Redis Cluster and PostgreSQL. Checks stats, list (user index and scan),
// show (redacted by default; --reveal prints the values and announces it), revoke by handle and
// by key, revoke-user, prune, sealed values (--encrypt-at-rest), and the exit codes: 1 no such
// session, 2 bad usage, 3 the store is down.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/demo_process.h"
#include "e2e/sessionctl_run.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/events.h"
#include "sessionkit/manager.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/url.h"
#include "support/postgres_server.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace e2e {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace sk = sessionkit;

constexpr const char* kSecret = "sessionctl-test-secret-0123456789abcdefghij";

// Runs sessionctl with `args` (the store and the secret file first).
Ran ctl(const TempDir& dir, const std::string& url, std::vector<std::string> args) {
  std::vector<std::string> argv = {"--store", url, "--secret-file",
                                   (dir.path() / "secret").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_sessionctl(dir, argv);
}

struct Seeded {
  sk::SessionKey alice1, alice2, bob, anonymous;
};

// Writes alice's two sessions, bob's one and an anonymous one through `store`.
Seeded seed(sk::SessionStore& store) {
  auto one = [&](const std::string& user, nlohmann::json data) {
    const sk::SessionKey key = sk::SessionKey::of(sk::SessionId::generate());
    sk::SessionRecord r;
    r.start(sk::SystemClock{}.now(), 30min, 12h);
    r.user_id = user;
    r.ip = user.empty() ? "" : "198.51.100.7";
    r.user_agent = "CtlTest/1.0";
    r.data = std::move(data);
    EXPECT_TRUE(sk::BlockingStore(store).create(key, r).ok());
    return key;
  };
  Seeded s;
  s.alice1 = one("alice", {{"cart", {{"items", {1, 2, 3}}}}, {"note", "secret-note-value"}});
  s.alice2 = one("alice", {{"theme", "dark"}});
  s.bob = one("bob", {{"visits", 7}});
  s.anonymous = one("", {{"visits", 1}});
  return s;
}

std::string handle_of(sk::SessionStore& store, const sk::SessionKey& key) {
  sk::SessionManager::Dependencies deps;
  deps.events = sk::make_null_sink();
  sk::SessionManager m(std::shared_ptr<sk::SessionStore>(std::shared_ptr<void>(), &store),
                       sk::Keyring::parse(kSecret).value(), sk::SessionOptions::development(),
                       deps);
  return m.session_handle(key);
}

// Everything but prune and outages, on one store given by its URL.
void check_store(const std::string& url) {
  TempDir dir;
  {
    std::ofstream f(dir.path() / "secret");
    f << kSecret << "\n";
  }
  auto backend = sk::open_store_url(url);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  sk::SessionStore& store = *backend->store;
  const Seeded s = seed(store);

  Ran stats = ctl(dir, url, {"stats", "--json"});
  ASSERT_EQ(stats.code, 0) << stats.output;
  EXPECT_EQ(stats.doc["sessions"], 4) << stats.output;
  EXPECT_EQ(stats.doc["bound_sessions"], 3);
  EXPECT_EQ(stats.doc["users"], 2);
  EXPECT_EQ(stats.doc["expiring_within_1h"], 4);
  EXPECT_EQ(stats.doc["payload_bytes"]["max"],
            json({{"cart", {{"items", {1, 2, 3}}}}, {"note", "secret-note-value"}}).dump().size());

  Ran listed = ctl(dir, url, {"list", "--user", "alice", "--json"});
  ASSERT_EQ(listed.code, 0) << listed.output;
  ASSERT_EQ(listed.doc.size(), 2u) << listed.output;
  for (const json& row : listed.doc) {
    EXPECT_EQ(row["user"], "alice");
    EXPECT_EQ(row["ip"], "198.51.100.7");
    EXPECT_EQ(row["handle"],
              handle_of(store, *sk::SessionKey::from_hex(row["key"].get<std::string>())))
        << "the handle the apps show";
  }
  Ran scanned = ctl(dir, url, {"list", "--limit", "3", "--json"});
  ASSERT_EQ(scanned.code, 0) << scanned.output;
  EXPECT_EQ(scanned.doc.size(), 3u);

  // A handle may begin with '-' (base64url): "--" ends the options before it.
  const std::string h1 = handle_of(store, s.alice1);
  Ran shown = ctl(dir, url, {"show", "--json", "--", h1});
  ASSERT_EQ(shown.code, 0) << shown.output;
  EXPECT_EQ(shown.doc["key"], s.alice1.hex());
  EXPECT_EQ(shown.doc["payload"]["note"]["type"], "string");
  EXPECT_EQ(shown.output.find("secret-note-value"), std::string::npos) << "redacted by default";
  Ran revealed = ctl(dir, url, {"show", "--user", "alice", "--reveal", "--json", "--", h1});
  ASSERT_EQ(revealed.code, 0) << revealed.output;
  EXPECT_EQ(revealed.doc["payload"]["note"], "secret-note-value");
  EXPECT_NE(revealed.err.find("revealed the payload of session " + s.alice1.hint()),
            std::string::npos)
      << "announced on stderr";

  Ran revoked = ctl(dir, url, {"revoke", "--json", "--", h1});
  ASSERT_EQ(revoked.code, 0) << revoked.output;
  EXPECT_FALSE(sk::BlockingStore(store).load(s.alice1).value().has_value()) << "gone for the apps";
  EXPECT_EQ(ctl(dir, url, {"revoke", "--", h1}).code, 1) << "no such session now";
  EXPECT_EQ(ctl(dir, url, {"revoke", "--key", s.bob.hex()}).code, 0);
  EXPECT_FALSE(sk::BlockingStore(store).load(s.bob).value().has_value());
  EXPECT_TRUE(sk::BlockingStore(store).load(s.alice2).value().has_value()) << "others stay";

  Ran everywhere = ctl(dir, url, {"revoke-user", "alice", "--json"});
  ASSERT_EQ(everywhere.code, 0) << everywhere.output;
  EXPECT_EQ(everywhere.doc["revoked"], 1);
  EXPECT_FALSE(sk::BlockingStore(store).load(s.alice2).value().has_value());
  EXPECT_TRUE(sk::BlockingStore(store).load(s.anonymous).value().has_value());

  EXPECT_EQ(ctl(dir, url, {"show", "--key", "nothex"}).code, 2);
  EXPECT_EQ(ctl(dir, url, {"show", "--key", s.alice1.hex()}).code, 1);
  EXPECT_EQ(ctl(dir, url, {"frobnicate"}).code, 2);
}

TEST(Sessionctl, Sqlite) {
  TempDir dir;
  check_store("sqlite://" + (dir.path() / "s.db").string());
}

TEST(Sessionctl, Redis) {
  sk::testing::RedisServer redis;
  check_store(redis.url());
}

// On Redis, stats estimates the server's memory for the sessions and the user index from
// MEMORY USAGE of a sample; with fewer sessions than the sample, it is exact: the sums that
// redis-cli finds for the same keys.
TEST(Sessionctl, StatsOnRedisReportsTheMemoryRedisCliSees) {
  TempDir dir;
  {
    std::ofstream f(dir.path() / "secret");
    f << kSecret << "\n";
  }
  sk::testing::RedisServer redis;
  auto backend = sk::open_store_url(redis.url());
  ASSERT_TRUE(backend.ok());
  seed(*backend->store);
  auto sum = [&](const std::string& pattern) {
    std::size_t total = 0, keys = 0;
    std::istringstream names(redis.cli({"--scan", "--pattern", pattern}));
    for (std::string name; std::getline(names, name);) {
      total += std::stoul(redis.cli({"MEMORY", "USAGE", name, "SAMPLES", "0"}));
      ++keys;
    }
    EXPECT_GT(keys, 0u) << pattern;
    return total;
  };
  const std::size_t sessions = sum("*s:*"), index = sum("*u:*");
  Ran stats = ctl(dir, redis.url(), {"stats", "--json"});
  ASSERT_EQ(stats.code, 0) << stats.output;
  const json& m = stats.doc["redis_memory"];
  EXPECT_EQ(m["sampled_sessions"], 4) << stats.output;
  EXPECT_EQ(m["sampled_users"], 2);
  EXPECT_EQ(m["sessions_bytes_estimated"], sessions);
  EXPECT_EQ(m["user_index_bytes_estimated"], index);
  EXPECT_EQ(m["total_bytes_estimated"], sessions + index);
  Ran text = ctl(dir, redis.url(), {"stats"});
  EXPECT_NE(text.output.find("redis memory (estimated)"), std::string::npos) << text.output;
  // Not on other stores.
  Ran sqlite = ctl(dir, "sqlite://" + (dir.path() / "s.db").string(), {"stats", "--json"});
  EXPECT_FALSE(sqlite.doc.contains("redis_memory")) << sqlite.output;
}

TEST(Sessionctl, RedisCluster) {
  sk::testing::RedisCluster cluster;
  check_store(cluster.url());
}

TEST(Sessionctl, Postgres) {
  using sk::testing::PostgresServer;
  if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
  PostgresServer pg;
  check_store(pg.url());
}

// prune deletes expired records on a store that does not expire by TTL.
TEST(Sessionctl, PruneDeletesExpiredRecords) {
  TempDir dir;
  {
    std::ofstream f(dir.path() / "secret");
    f << kSecret << "\n";
  }
  const std::string url = "sqlite://" + (dir.path() / "s.db").string();
  auto backend = sk::open_store_url(url);
  ASSERT_TRUE(backend.ok());
  for (int i = 0; i < 3; ++i) {
    sk::SessionRecord r;
    r.start(sk::SystemClock{}.now() - 2h, 30min, 1h);  // ended an hour ago
    ASSERT_TRUE(sk::BlockingStore(*backend->store)
                    .create(sk::SessionKey::of(sk::SessionId::generate()), r)
                    .ok());
  }
  seed(*backend->store);
  EXPECT_EQ(sk::BlockingStore(*backend->store).count().value(), 7u);
  Ran pruned = ctl(dir, url, {"prune", "--json"});
  ASSERT_EQ(pruned.code, 0) << pruned.output;
  EXPECT_EQ(pruned.doc["pruned"], 3);
  EXPECT_EQ(sk::BlockingStore(*backend->store).count().value(), 4u);
}

// Values sealed by the apps: shown sealed without --encrypt-at-rest (with a hint on stderr),
// opened with it.
TEST(Sessionctl, SealedValuesNeedTheSecret) {
  TempDir dir;
  {
    std::ofstream f(dir.path() / "secret");
    f << kSecret << "\n";
  }
  const std::string url = "sqlite://" + (dir.path() / "s.db").string();
  auto backend = sk::open_store_url(url);
  ASSERT_TRUE(backend.ok());
  auto sealed = sk::EncryptedStore::wrap(backend->store, sk::Keyring::parse(kSecret).value());
  const Seeded s = seed(*sealed);
  // Without it: the sealed text, and a hint.
  Ran blind = ctl(dir, url, {"show", "--key", s.alice1.hex(), "--reveal"});
  EXPECT_EQ(blind.code, 0) << blind.output;
  EXPECT_EQ(blind.output.find("secret-note-value"), std::string::npos) << blind.output;
  EXPECT_NE(blind.err.find("--encrypt-at-rest"), std::string::npos) << blind.output;
  Ran opened =
      ctl(dir, url, {"--encrypt-at-rest", "show", "--key", s.alice1.hex(), "--reveal", "--json"});
  ASSERT_EQ(opened.code, 0) << opened.output;
  EXPECT_EQ(opened.doc["payload"]["note"], "secret-note-value");
  EXPECT_EQ(opened.doc["ip"], "198.51.100.7") << "the sealed address too";
}

// The store down: exit 3, never "no such session".
TEST(Sessionctl, AStoreOutageIsExitThree) {
  TempDir dir;
  {
    std::ofstream f(dir.path() / "secret");
    f << kSecret << "\n";
  }
  sk::testing::RedisServer redis;
  const std::string url = redis.url();
  redis.stop();
  for (const std::vector<std::string>& args : {std::vector<std::string>{"stats"},
                                               {"revoke-user", "alice"},
                                               {"show", "--key", std::string(64, 'a')}}) {
    Ran r = ctl(dir, url, args);
    EXPECT_EQ(r.code, 3) << args[0] << ": " << r.output;
  }
}

}  // namespace
}  // namespace e2e
