// End-to-end tests of the demo on Redis: a real redis-server per test, one or two demo
// processes on free loopback ports, real HTTP.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "e2e/password_race.h"
#include "support/redis_server.h"

namespace e2e {
namespace {

using nlohmann::json;
using sessionkit::testing::RedisServer;
using sessionkit::testing::RedisServerOptions;
using namespace std::chrono_literals;

// Polls `path` until it answers `status` (bounded).
bool wait_for_status(HttpClient& c, const std::string& path, unsigned status) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (c.get(path).result_int() == status) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

// A runs the store on its server threads (the default: RedisStore::attach), B on the store's own
// I/O thread (--redis-io-thread): the two ways share one Redis and every session.
TEST(RedisDemo, TwoInstancesShareSessions) {
  RedisServer redis;
  TempDir dir;
  DemoProcess a(demo_args(redis.url()), dir.path(), "a");
  std::vector<std::string> io_thread = demo_args(redis.url());
  io_thread.push_back("--redis-io-thread");
  DemoProcess b(io_thread, dir.path(), "b");
  HttpClient on_a(a.port());
  Response res = login(on_a, "alice", "wonderland");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string token = body_json(res)["csrf_token"];

  HttpClient on_b(b.port());
  on_b.jar = on_a.jar;  // the same browser, routed to the other instance
  json seen = body_json(on_b.get("/api/session"));
  EXPECT_EQ(seen["authenticated"], true);
  EXPECT_EQ(seen["user"]["name"], "alice");
  Response inc = on_b.post_json("/api/increment", "", csrf(on_b));
  ASSERT_EQ(inc.result_int(), 200) << inc.body();
  EXPECT_EQ(body_json(on_a.get("/api/session"))["visits"], body_json(inc)["visits"]);

  // Logging out on A ends the session on B too.
  ASSERT_EQ(on_a.post_json("/api/logout", "", csrf(on_a)).result_int(), 200);
  EXPECT_EQ(body_json(on_b.get("/api/session"))["authenticated"], false);
  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(b.stop(), 0);
}

// Issue 21, finding 1, on Redis: attackers with the old password race its change; every session
// they obtained is signed out afterwards (the store is shared; the credential stamp decides).
TEST(RedisDemo, NoLoginWithTheOldPasswordSurvivesItsChange) {
  RedisServer redis;
  for (int run = 0; run < 2; ++run) {
    TempDir dir;
    std::vector<std::string> args = demo_args(redis.url());
    args.emplace_back(kRaceThrottleOff);
    DemoProcess demo(std::move(args), dir.path(), "race");
    RaceOutcome out = password_change_race(demo.port(), "wonderland", "looking-glass");
    EXPECT_EQ(out.survivors, 0) << "run " << run << ": " << out.survivors << " of "
                                << out.attacker_logins << " attacker sessions still signed in";
    EXPECT_GT(out.attacker_logins, 0);
    EXPECT_TRUE(out.victim_signed_in);
    EXPECT_EQ(demo.stop(), 0);
  }
}

TEST(RedisDemo, AReadRequestCostsOneCommandAndAWriteTwo) {
  RedisServer redis;
  TempDir dir;
  DemoProcess demo(demo_args(redis.url()), dir.path(), "demo");
  HttpClient c(demo.port());
  Response res = login(c, "bob", "builder");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string token = body_json(res)["csrf_token"];
  ASSERT_EQ(c.post_json("/api/increment", "", token).result_int(), 200);  // scripts cached

  auto reads = redis.client_commands([&] {
    for (int i = 0; i < 10; ++i)
      ASSERT_EQ(c.get("/api/session").result_int(), 200);
  });
  EXPECT_EQ(reads, std::vector<std::string>(10, "HGETALL"));
  auto writes = redis.client_commands([&] {
    for (int i = 0; i < 10; ++i)
      ASSERT_EQ(c.post_json("/api/increment", "", token).result_int(), 200);
  });
  std::vector<std::string> want;
  for (int i = 0; i < 10; ++i)
    want.insert(want.end(), {"HGETALL", "EVALSHA"});
  EXPECT_EQ(writes, want);
  EXPECT_EQ(demo.stop(), 0);
}

TEST(RedisDemo, AnOutageIs503AndLosesNothingAcknowledged) {
  RedisServerOptions durable;
  durable.appendfsync_always = true;
  RedisServer redis(durable);
  TempDir dir;
  DemoProcess demo(demo_args(redis.url() + "?timeout_ms=500&connect_timeout_ms=500"), dir.path(),
                   "demo");
  HttpClient c(demo.port());
  Response res = login(c, "alice", "wonderland");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string token = body_json(res)["csrf_token"];
  std::int64_t visits = 0;
  for (int i = 0; i < 5; ++i) {
    Response inc = c.post_json("/api/increment", "", token);
    ASSERT_EQ(inc.result_int(), 200);
    visits = body_json(inc)["visits"];
  }
  const auto cookie = c.jar.get("sid");
  ASSERT_TRUE(cookie.has_value());

  redis.stop();
  for (const char* path : {"/api/session", "/"}) {
    Response down = c.get(path);
    EXPECT_EQ(down.result_int(), 503) << path << ": " << down.body();
    EXPECT_TRUE(c.last_set_cookies().empty()) << path;  // never logged out, never a new cookie
  }
  Response write = c.post_json("/api/increment", "", token);
  EXPECT_EQ(write.result_int(), 503);
  EXPECT_EQ(body_json(write), json({{"error", "session store unavailable"}}));
  EXPECT_TRUE(c.last_set_cookies().empty());
  EXPECT_EQ(c.jar.get("sid"), cookie);
  EXPECT_EQ(c.get("/readyz").result_int(), 503);
  EXPECT_EQ(c.get("/healthz").result_int(), 200);  // the process itself is fine

  redis.start();  // same port and directory: the append-only file brings the data back
  ASSERT_TRUE(wait_for_status(c, "/readyz", 200));
  json back = body_json(c.get("/api/session"));
  EXPECT_EQ(back["authenticated"], true);
  EXPECT_EQ(back["visits"], visits);
  Response again = c.post_json("/api/increment", "", token);
  ASSERT_EQ(again.result_int(), 200);
  EXPECT_EQ(body_json(again)["visits"], visits + 1);
  EXPECT_EQ(c.jar.get("sid"), cookie);
  EXPECT_EQ(demo.stop(), 0);
}

// Logs in and increments through the demo on `store`; answers the visits seen.
void login_and_count(const std::string& store, const std::filesystem::path& dir) {
  DemoProcess demo(demo_args(store), dir, "demo");
  HttpClient c(demo.port());
  Response res = login(c, "alice", "wonderland");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string token = body_json(res)["csrf_token"];
  for (int i = 1; i <= 3; ++i) {
    Response inc = c.post_json("/api/increment", "", token);
    ASSERT_EQ(inc.result_int(), 200) << inc.body();
    EXPECT_EQ(body_json(inc)["visits"], i);
  }
  EXPECT_EQ(body_json(c.get("/api/session"))["authenticated"], true);
  EXPECT_EQ(c.get("/readyz").result_int(), 200u);
  EXPECT_EQ(demo.stop(), 0);
}

TEST(RedisDemo, RunsOnARedisCluster) {
  sessionkit::testing::RedisCluster cluster;
  TempDir dir;
  login_and_count(cluster.url(), dir.path());
}

TEST(RedisDemo, RunsOverTls) {
  RedisServerOptions tls;
  tls.tls = true;
  RedisServer redis(tls);
  TempDir dir;
  login_and_count(redis.url(), dir.path());  // rediss://…?ca=<the test CA>
}

TEST(RedisDemo, MetricsDoNotScanTheKeyspaceOnEveryScrape) {
  RedisServer redis;
  TempDir dir;
  DemoProcess demo(demo_args(redis.url()), dir.path(), "demo");
  HttpClient c(demo.port());
  ASSERT_EQ(login(c, "alice", "wonderland").result_int(), 200);
  std::string first;
  auto commands = redis.client_commands([&] {
    first = c.get("/metrics").body();
    for (int i = 0; i < 5; ++i)
      ASSERT_EQ(c.get("/metrics").result_int(), 200);
  });
  // Two records: alice's session and her sign-in count (the anomaly detector's, 10 minutes).
  EXPECT_NE(first.find("\nsessionkit_sessions_active 2\n"), std::string::npos) << first;
  EXPECT_EQ(std::count(commands.begin(), commands.end(), "SCAN"), 1);  // one page: one SCAN
  EXPECT_EQ(demo.stop(), 0);
}

TEST(RedisDemo, RefusesToStartWhenRedisIsUnreachable) {
  TempDir dir;
  const auto port = sessionkit::testing::free_port();
  ExitResult r = run_demo_to_exit(
      demo_args("redis://:hunter2@127.0.0.1:" + std::to_string(port) + "?connect_timeout_ms=300"),
      dir.path());
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cannot open store"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos) << "the password leaked: " << r.err;
}

}  // namespace
}  // namespace e2e
