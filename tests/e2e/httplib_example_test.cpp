// examples/httplib (sessionkit on cpp-httplib, synchronous handlers) driven over HTTP, with the
// SQLite store and with a real Redis server (label e2e): sign-in with CSRF-protected POSTs, the
// visit counter, concurrent visits counted exactly, sign-out, "your sessions" and revoking the
// others, a restart that keeps sessions (SQLite), an outage answered 503 (Redis), and a clean
// exit on SIGTERM (under ASan / TSan a report fails that).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "e2e/http_client.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace sessionkit::testing {
namespace {

using e2e::HttpClient;
using e2e::Response;
using nlohmann::json;
namespace bhttp = boost::beast::http;

constexpr const char* kSecret = "httplib-e2e-0123456789abcdef0123456789abcdef";

json body_json(const Response& res) {
  json j = json::parse(res.body(), nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << res.body();
  return j;
}

// The example binary on a free loopback port, under the test's own account (the build tree may
// be unreadable to the unprivileged account the store servers run as).
class Example {
 public:
  Example(const std::string& store, const ServerDir& dir, const std::string& tag)
      : out_(dir.path() / (tag + ".out")) {
    ::setenv("SESSION_SECRET", kSecret, 1);
    process_ = ServerProcess({SESSIONKIT_HTTPLIB_EXAMPLE, "--listen", "127.0.0.1:0", "--store",
                              store, "--threads", "16"},
                             dir.path(), tag, ServerProcess::RunAs::caller);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = read_text(out_);
      const auto at = out.find("listening on http://127.0.0.1:");
      if (at != std::string::npos && out.find('\n', at) != std::string::npos) {
        port_ = static_cast<std::uint16_t>(std::stoi(out.substr(at + 30)));
        return;
      }
      if (!process_.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("the example did not listen:\n" + process_.output());
  }

  std::uint16_t port() const noexcept { return port_; }
  // SIGTERM; the exit code (0: handlers finished, the store closed, no sanitizer report).
  int stop() { return process_.stop(); }
  std::string output() const { return process_.output(); }

 private:
  std::filesystem::path out_;
  ServerProcess process_;
  std::uint16_t port_ = 0;
};

// A browser-like client of the example's JSON API.
struct Client {
  explicit Client(std::uint16_t port) : http(port) {}

  json state() {
    Response res = http.get("/api/state");
    EXPECT_EQ(res.result_int(), 200u) << res.body();
    json j = body_json(res);
    token = j.value("csrf_token", "");
    return j;
  }
  // A POST with the current token in X-CSRF-Token (none when `with_token` is false).
  Response post(const std::string& target, std::string form = {}, bool with_token = true) {
    e2e::Headers headers{{"Content-Type", "application/x-www-form-urlencoded"}};
    if (with_token) headers.emplace_back("X-CSRF-Token", token);
    return http.request(bhttp::verb::post, target, std::move(form), headers);
  }
  Response login(const std::string& password = "wonderland") {
    if (token.empty()) state();
    Response res = post("/login", "user=alice&password=" + password);
    if (res.result_int() == 200) token = body_json(res).value("csrf_token", "");
    return res;
  }

  HttpClient http;
  std::string token;
};

struct StoreCase {
  std::string name;
};

class HttplibExample : public ::testing::TestWithParam<StoreCase> {
 protected:
  void SetUp() override {
    if (GetParam().name == "Redis") {
#ifdef SESSIONKIT_HTTPLIB_E2E_REDIS
      if (redis_server_binary().empty()) GTEST_SKIP() << "redis-server is not installed";
      RedisServer::shared().cli({"FLUSHALL"});
      store_ = RedisServer::shared().url();
#else
      GTEST_SKIP() << "built without the Redis store";
#endif
    } else {
      store_ = "sqlite://" + (dir_.path() / "sessions.db").string();
    }
    example_ = std::make_unique<Example>(store_, dir_, "example");
  }
  void TearDown() override {
    if (example_) {
      const std::string output = example_->output();
      EXPECT_EQ(example_->stop(), 0) << output;
    }
  }

  ServerDir dir_{"httplib-e2e"};
  std::string store_;
  std::unique_ptr<Example> example_;
};

TEST_P(HttplibExample, SignInCountVisitsAndSignOutWithCsrfOnEveryPost) {
  Client c(example_->port());
  json s = c.state();
  EXPECT_EQ(s["user"], "");
  EXPECT_EQ(s["visits"], 0);
  ASSERT_FALSE(c.token.empty());

  EXPECT_EQ(c.post("/login", "user=alice&password=wonderland", false).result_int(), 403u);
  EXPECT_EQ(c.login("wrong").result_int(), 401u);
  const std::string before_login = c.token;
  Response in = c.login();
  ASSERT_EQ(in.result_int(), 200u) << in.body();
  EXPECT_EQ(body_json(in)["user"], "alice");
  ASSERT_TRUE(c.http.jar.get("sid").has_value());
  EXPECT_NE(c.token, before_login);

  const std::string fresh = c.token;
  c.token = before_login;  // a page loaded before the sign-in
  EXPECT_EQ(c.post("/visit").result_int(), 403u);
  c.token = fresh;
  for (int i = 1; i <= 3; ++i) {
    Response v = c.post("/visit");
    ASSERT_EQ(v.result_int(), 200u) << v.body();
    EXPECT_EQ(body_json(v)["visits"], i);
  }
  // The page's form: the token in the `_csrf` field, answered with a redirect to the page.
  Response form = c.http.post_form("/visit", "_csrf=" + e2e::form_encode(c.token));
  EXPECT_EQ(form.result_int(), 303u);
  EXPECT_EQ(form[bhttp::field::location], "/");
  s = c.state();
  EXPECT_EQ(s["user"], "alice");
  EXPECT_EQ(s["visits"], 4);
  Response page = c.http.get("/");
  EXPECT_EQ(page.result_int(), 200u);
  EXPECT_NE(page.body().find("Signed in as alice, 4 visits"), std::string::npos) << page.body();

  HttpClient stale = c.http;  // the signed-in cookie, kept by someone
  Response out = c.post("/logout");
  ASSERT_EQ(out.result_int(), 200u) << out.body();
  EXPECT_FALSE(c.http.jar.get("sid").has_value()) << "the cookie is cleared";
  EXPECT_EQ(c.state()["user"], "");
  Response replay = stale.get("/api/state");
  EXPECT_EQ(body_json(replay)["user"], "") << "the session ended on the server";
}

TEST_P(HttplibExample, ConcurrentVisitsAreCountedExactly) {
  Client c(example_->port());
  ASSERT_EQ(c.login().result_int(), 200u);
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, jar = c.http.jar] {
      HttpClient http(example_->port());
      http.jar = jar;
      for (int i = 0; i < kEach; ++i) {
        Response r = http.request(bhttp::verb::post, "/visit", {}, {{"X-CSRF-Token", c.token}});
        if (r.result_int() != 200) ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(c.state()["visits"], kThreads * kEach);
}

TEST_P(HttplibExample, YourSessionsListsEveryBrowserAndRevokesTheOthers) {
  Client laptop(example_->port());
  Client phone(example_->port());
  ASSERT_EQ(laptop.login().result_int(), 200u);
  ASSERT_EQ(phone.login().result_int(), 200u);
  Response listed = laptop.http.get("/api/sessions");
  ASSERT_EQ(listed.result_int(), 200u) << listed.body();
  const json sessions = body_json(listed);
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_EQ(sessions[0]["current"].get<bool>() + sessions[1]["current"].get<bool>(), 1);

  Response revoked = laptop.post("/sessions/revoke-others");
  ASSERT_EQ(revoked.result_int(), 200u) << revoked.body();
  EXPECT_EQ(body_json(revoked)["revoked"], 1);
  EXPECT_EQ(phone.state()["user"], "");
  EXPECT_EQ(laptop.state()["user"], "alice");
  EXPECT_EQ(phone.http.get("/api/sessions").result_int(), 401u);
}

TEST_P(HttplibExample, SessionsOutliveARestartOfTheApp) {
  Client c(example_->port());
  ASSERT_EQ(c.login().result_int(), 200u);
  ASSERT_EQ(c.post("/visit").result_int(), 200u);
  c.http.close();  // an idle keep-alive connection holds a worker for up to 5 s at shutdown
  const std::string output = example_->output();
  ASSERT_EQ(example_->stop(), 0) << output;
  example_ = std::make_unique<Example>(store_, dir_, "restarted");

  Client again(example_->port());
  again.http.jar = c.http.jar;
  const json s = again.state();
  EXPECT_EQ(s["user"], "alice");
  EXPECT_EQ(s["visits"], 1);
}

std::string case_name(const ::testing::TestParamInfo<StoreCase>& info) {
  return info.param.name;
}
INSTANTIATE_TEST_SUITE_P(Stores, HttplibExample,
                         ::testing::Values(StoreCase{"Sqlite"}, StoreCase{"Redis"}), case_name);

#ifdef SESSIONKIT_HTTPLIB_E2E_REDIS
// The store goes away: 503 with Retry-After, never a 500 and never "signed out"; it comes back
// and the session is still there (the server keeps its data in an append-only file).
TEST(HttplibExampleOutage, ARedisOutageIs503AndTheSessionSurvivesIt) {
  if (redis_server_binary().empty()) GTEST_SKIP() << "redis-server is not installed";
  RedisServerOptions durable;
  durable.appendfsync_always = true;
  RedisServer redis(durable);
  ServerDir dir("httplib-outage");
  Example example(redis.url(), dir, "example");
  Client c(example.port());
  ASSERT_EQ(c.login().result_int(), 200u);
  ASSERT_EQ(c.post("/visit").result_int(), 200u);

  redis.stop();
  Response visit = c.post("/visit");
  EXPECT_EQ(visit.result_int(), 503u) << visit.body();
  EXPECT_EQ(visit[bhttp::field::retry_after], "5");
  EXPECT_TRUE(c.http.last_set_cookies().empty());
  EXPECT_EQ(body_json(visit)["error"], "session store unavailable; try again shortly");
  Response read = c.http.get("/api/state");
  EXPECT_EQ(read.result_int(), 503u);
  EXPECT_TRUE(c.http.jar.get("sid").has_value()) << "never signed out by an outage";
  redis.start();

  json s;
  for (int i = 0; i < 100; ++i) {  // the store reconnects (backoff up to 2 s)
    Response r = c.http.get("/api/state");
    if (r.result_int() == 200) {
      s = body_json(r);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(s.value("user", ""), "alice");
  EXPECT_EQ(s.value("visits", 0), 1);
  c.http.close();
  const std::string output = example.output();
  EXPECT_EQ(example.stop(), 0) << output;
}
#endif

}  // namespace
}  // namespace sessionkit::testing
