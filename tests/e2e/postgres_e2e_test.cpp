// End-to-end tests of the demo on PostgreSQL: a real server per test, demo processes on free
// loopback ports, real HTTP.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "support/postgres_server.h"

namespace e2e {
namespace {

using nlohmann::json;
using sessionkit::testing::PostgresServer;
using namespace std::chrono_literals;

std::string url(const PostgresServer& pg) {
  return pg.url() + "?connect_timeout=2";
}

class PostgresDemo : public ::testing::Test {
 protected:
  void SetUp() override {
    if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
    pg_ = std::make_unique<PostgresServer>();
  }
  std::unique_ptr<PostgresServer> pg_;
  TempDir dir_;
};

TEST_F(PostgresDemo, TwoInstancesShareSessions) {
  DemoProcess a(demo_args(url(*pg_)), dir_.path(), "a");
  DemoProcess b(demo_args(url(*pg_)), dir_.path(), "b");
  HttpClient on_a(a.port());
  const std::string token = csrf(on_a);
  Response res = on_a.post_json(
      "/api/login", json{{"username", "alice"}, {"password", "wonderland"}}.dump(), token);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  HttpClient on_b(b.port());
  on_b.jar = on_a.jar;
  EXPECT_EQ(body_json(on_b.get("/api/session"))["authenticated"], true);
  Response inc = on_b.post_json("/api/increment", "", csrf(on_b));
  ASSERT_EQ(inc.result_int(), 200) << inc.body();
  EXPECT_EQ(body_json(on_a.get("/api/session"))["visits"], body_json(inc)["visits"]);
  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(b.stop(), 0);
}

TEST_F(PostgresDemo, AnOutageIs503AndLosesNothingAcknowledged) {
  DemoProcess demo(demo_args(url(*pg_)), dir_.path(), "demo");
  HttpClient c(demo.port());
  Response res =
      c.post_json("/api/login", json{{"username", "bob"}, {"password", "builder"}}.dump(), csrf(c));
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const std::string token = body_json(res)["csrf_token"];
  std::int64_t visits = 0;
  for (int i = 0; i < 5; ++i) {
    Response inc = c.post_json("/api/increment", "", token);
    ASSERT_EQ(inc.result_int(), 200);
    visits = body_json(inc)["visits"];
  }
  const auto cookie = c.jar.get("sid");

  pg_->stop();
  Response down = c.get("/api/session");
  EXPECT_EQ(down.result_int(), 503) << down.body();
  EXPECT_TRUE(c.last_set_cookies().empty());
  Response write = c.post_json("/api/increment", "", token);
  EXPECT_EQ(write.result_int(), 503);
  EXPECT_EQ(body_json(write), json({{"error", "session store unavailable"}}));
  EXPECT_TRUE(c.last_set_cookies().empty());
  EXPECT_EQ(c.jar.get("sid"), cookie);
  EXPECT_EQ(c.get("/readyz").result_int(), 503u);

  pg_->start();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (c.get("/readyz").result_int() != 200 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  json back = body_json(c.get("/api/session"));
  EXPECT_EQ(back["authenticated"], true);
  EXPECT_EQ(back["visits"], visits);
  Response again = c.post_json("/api/increment", "", token);
  ASSERT_EQ(again.result_int(), 200) << again.body();
  EXPECT_EQ(body_json(again)["visits"], visits + 1);
  EXPECT_EQ(c.jar.get("sid"), cookie);
  EXPECT_EQ(demo.stop(), 0);
}

}  // namespace
}  // namespace e2e
