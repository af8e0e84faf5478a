// sessiond as a real process over HTTP: the session lifecycle through the API on SQLite and on
// Redis; API keys (missing, wrong, reloaded on SIGHUP while a connection stays open); bad input
// (400/405/409/413/415, nothing written); a Redis outage is 503 and recovers, never a false 404;
// 64 concurrent increments of one session all count; two instances on one Redis share every
// session; CSRF tokens; stats and clear; no key in production mode: it does not start.
//
// OpenAPI coverage: every test stops its sessiond through `Sessiond::stop`, which first reads
// the server's own count of answers by method, route and status (/metrics) and fails the test
// for any answer apps/sessiond/openapi.json does not describe.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "support/redis_server.h"
#ifdef SESSIOND_TEST_POSTGRES
#include "support/postgres_server.h"
#endif
#include "support/server_process.h"

namespace e2e {
namespace {

using namespace std::chrono_literals;
namespace sk = sessionkit;
using nlohmann::json;

constexpr const char* kKey = "sessiond-test-key-0123456789abcdef";

// `sessiond ARGS --listen 127.0.0.1:0` with SESSIOND_API_KEY=kKey (unless `with_key` is false),
// started and its port read (0 when it did not start).
struct Sessiond {
  Sessiond(const TempDir& dir, std::vector<std::string> args, const std::string& tag = "sessiond",
           bool with_key = true, std::vector<std::string> env = {})
      : process(make(std::move(args), with_key, std::move(env)), dir.path(), tag,
                sk::testing::ServerProcess::RunAs::caller),
        port(wait_until_listening(process)) {}
  static std::vector<std::string> make(std::vector<std::string> args, bool with_key,
                                       std::vector<std::string> env) {
    std::vector<std::string> cmd = {"/usr/bin/env"};
    if (with_key) cmd.push_back(std::string("SESSIOND_API_KEY=") + kKey);
    cmd.insert(cmd.end(), env.begin(), env.end());
    cmd.push_back(SESSIOND_BINARY);
    cmd.insert(cmd.end(), args.begin(), args.end());
    cmd.insert(cmd.end(), {"--listen", "127.0.0.1:0"});
    return cmd;
  }
  // Checks that openapi.json describes every answer this sessiond gave (read with `key`), then
  // stops it; its exit code.
  int stop(const std::string& key = kKey);
  sk::testing::ServerProcess process;
  std::uint16_t port;
};

Headers auth(const std::string& key = kKey) {
  return {{"Authorization", "Bearer " + key}};
}

Response call(HttpClient& c, bhttp::verb method, const std::string& target, const json& body = {},
              const std::string& key = kKey) {
  Headers h = auth(key);
  std::string text;
  if (!body.is_null()) {
    h.push_back({"Content-Type", "application/json"});
    text = body.dump();
  }
  return c.request(method, target, text, h);
}

json body_of(const Response& r) {
  return json::parse(r.body(), nullptr, false);
}

const json& openapi() {
  static const json doc = [] {
    std::ifstream in(SESSIOND_OPENAPI_JSON);
    return json::parse(in, nullptr, false);
  }();
  return doc;
}

// Whether openapi.json describes the answer `status` to `method` on the route `route` (the
// pattern sessiond's metrics name).
bool documented(std::string method, const std::string& route, const std::string& status) {
  if (route == "refused") return status == "400" || status == "413" || status == "431";
  if (route == "other") {
    return status == "400" || status == "401" || status == "404" || status == "405";
  }
  const json& paths = openapi()["paths"];
  if (!paths.contains(route)) return false;
  if (method == "HEAD") method = "GET";
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  const json& item = paths[route];
  // A method the route does not have: the key check comes first (401), then 405.
  if (!item.contains(method)) return status == "401" || status == "405";
  return item[method]["responses"].contains(status);
}

int Sessiond::stop(const std::string& key) {
  if (port != 0 && process.running()) {
    HttpClient c(port);
    const Response r = call(c, bhttp::verb::get, "/metrics", {}, key);
    EXPECT_EQ(r.result_int(), 200u) << r.body();
    static const std::regex line(
        R"re(sessiond_requests_total\{method="([^"]+)",route="([^"]+)",status="(\d+)"\} \d+)re");
    const std::string text = r.body();
    int answers = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), line);
         it != std::sregex_iterator(); ++it) {
      ++answers;
      const std::smatch& m = *it;
      EXPECT_TRUE(documented(m[1], m[2], m[3]))
          << "openapi.json does not describe " << m[1] << " " << m[2] << " -> " << m[3];
    }
    EXPECT_GT(answers, 0) << text;
    c.close();
  }
  return process.stop();
}

// The whole lifecycle through the API against `store`.
void lifecycle(const std::string& store) {
  TempDir dir;
  Sessiond d(dir, {"--store", store});
  ASSERT_NE(d.port, 0) << d.process.output();
  HttpClient c(d.port);

  Response r = call(c, bhttp::verb::post, "/v1/sessions",
                    {{"data", {{"cart", json::array({"apple"})}}}, {"user", "alice"}});
  ASSERT_EQ(r.result_int(), 201u) << r.body();
  const std::string id = body_of(r)["id"];
  EXPECT_EQ(id.size(), 43u);
  EXPECT_EQ(body_of(r)["user"], "alice");
  const std::string path = "/v1/sessions/" + id;

  r = call(c, bhttp::verb::get, path);
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_EQ(body_of(r)["data"]["cart"][0], "apple");
  EXPECT_EQ(r["Cache-Control"], "no-store");

  r = call(c, bhttp::verb::patch, path, {{"set", {{"theme", "dark"}}}, {"erase", {"cart"}}});
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  r = call(c, bhttp::verb::post, path + "/increment", {{"field", "views"}, {"by", 2}});
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_EQ(body_of(r)["value"], 2);
  r = call(c, bhttp::verb::post, path + "/touch");
  EXPECT_EQ(r.result_int(), 204u) << r.body();
  r = call(c, bhttp::verb::get, path + "?touch=false");
  EXPECT_EQ(body_of(r)["data"], (json{{"theme", "dark"}, {"views", 2}})) << r.body();

  // A second session of alice, then regenerate the first: the payload moves to a new ID.
  r = call(c, bhttp::verb::put, "/v1/sessions/" + std::string(43, 'A'), {{"user", "alice"}});
  ASSERT_EQ(r.result_int(), 201u) << r.body();
  r = call(c, bhttp::verb::put, "/v1/sessions/" + std::string(43, 'A'), {{"user", "mallory"}});
  EXPECT_EQ(r.result_int(), 409u) << "a taken ID is never overwritten";
  r = call(c, bhttp::verb::post, path + "/regenerate");
  ASSERT_EQ(r.result_int(), 201u) << r.body();
  const std::string id2 = body_of(r)["id"];
  EXPECT_NE(id2, id);
  EXPECT_EQ(body_of(r)["data"]["views"], 2);
  EXPECT_EQ(call(c, bhttp::verb::get, path).result_int(), 404u) << "the old ID is gone";
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/sessions/" + id2).result_int(), 200u);

  r = call(c, bhttp::verb::get, "/v1/users/alice/sessions");
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_EQ(body_of(r)["sessions"].size(), 2u) << r.body();
  EXPECT_FALSE(body_of(r)["sessions"][0].contains("data")) << "no payloads in a listing";
  EXPECT_EQ(r.body().find(id2), std::string::npos) << "no IDs in a listing";
  r = call(c, bhttp::verb::delete_, "/v1/users/alice/sessions?keep=" + id2);
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_EQ(body_of(r)["revoked"], 1);
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/sessions/" + std::string(43, 'A')).result_int(), 404u);

  r = call(c, bhttp::verb::delete_, "/v1/sessions/" + id2);
  EXPECT_EQ(body_of(r)["destroyed"], true);
  r = call(c, bhttp::verb::delete_, "/v1/sessions/" + id2);
  EXPECT_EQ(body_of(r)["destroyed"], false);
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/sessions/" + id2).result_int(), 404u);
  EXPECT_EQ(call(c, bhttp::verb::patch, "/v1/sessions/" + id2, {{"set", {{"a", 1}}}}).result_int(),
            404u)
      << "no resurrection";

  r = call(c, bhttp::verb::get, "/metrics");
  ASSERT_EQ(r.result_int(), 200u);
  EXPECT_NE(r.body().find("sessiond_requests_total{method=\"GET\",route=\"/v1/sessions/{id}\","
                          "status=\"200\"}"),
            std::string::npos)
      << r.body();
  EXPECT_NE(r.body().find("sessionkit_store_latency_seconds_count"), std::string::npos);
  c.close();
  EXPECT_EQ(d.stop(), 0) << d.process.output();
}

TEST(Sessiond, LifecycleOnSqlite) {
  TempDir dir;
  lifecycle("sqlite://" + (dir.path() / "s.db").string());
}

TEST(Sessiond, LifecycleOnRedis) {
  sk::testing::RedisServer redis;
  lifecycle(redis.url());
}

TEST(Sessiond, LifecycleOnARedisCluster) {
  sk::testing::RedisCluster cluster;
  lifecycle(cluster.url());
}

#ifdef SESSIOND_TEST_POSTGRES
TEST(Sessiond, LifecycleOnPostgres) {
  using sk::testing::PostgresServer;
  if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
  PostgresServer pg;
  lifecycle(pg.url());
}
#endif

TEST(Sessiond, RefusesCallersWithoutTheKeyAndBadInputWritingNothing) {
  TempDir dir;
  Sessiond d(dir, {"--store", "memory://", "--max-body", "2048"});
  ASSERT_NE(d.port, 0) << d.process.output();
  HttpClient c(d.port);
  EXPECT_EQ(c.get("/healthz").result_int(), 200u) << "liveness needs no key";
  EXPECT_EQ(c.get("/readyz").result_int(), 200u);
  for (const Headers& h :
       std::vector<Headers>{{},
                            {{"Authorization", "Bearer wrong"}},
                            {{"Authorization", std::string("Bearer ") + kKey + "x"}},
                            {{"Authorization", kKey}},
                            {{"Authorization", std::string("Basic ") + kKey}}}) {
    const Response r = c.request(bhttp::verb::post, "/v1/sessions", "", h);
    EXPECT_EQ(r.result_int(), 401u);
    EXPECT_EQ(r["WWW-Authenticate"], "Bearer realm=\"sessiond\"");
  }
  EXPECT_EQ(c.get("/metrics").result_int(), 401u);

  Response r = call(c, bhttp::verb::post, "/v1/sessions", {{"data", {{"n", 1}}}});
  ASSERT_EQ(r.result_int(), 201u);
  const std::string path = "/v1/sessions/" + body_of(r)["id"].get<std::string>();
  auto raw = [&](bhttp::verb m, const std::string& target, const std::string& body,
                 const std::string& type = "application/json") {
    Headers h = auth();
    h.push_back({"Content-Type", type});
    return c.request(m, target, body, h);
  };
  EXPECT_EQ(raw(bhttp::verb::patch, path, "{\"set\":").result_int(), 400u) << "malformed JSON";
  EXPECT_EQ(raw(bhttp::verb::patch, path, "[1]").result_int(), 400u) << "not an object";
  EXPECT_EQ(raw(bhttp::verb::patch, path, R"({"set":[1]})").result_int(), 400u);
  EXPECT_EQ(raw(bhttp::verb::patch, path, R"({"erase":[1]})").result_int(), 400u);
  EXPECT_EQ(raw(bhttp::verb::patch, path, R"({"set":{"n":2}})", "text/plain").result_int(), 415u);
  EXPECT_EQ(raw(bhttp::verb::post, path + "/increment", R"({"field":"n","by":1.5})").result_int(),
            400u);
  EXPECT_EQ(raw(bhttp::verb::post, "/v1/sessions", R"({"data":[1]})").result_int(), 400u);
  EXPECT_EQ(raw(bhttp::verb::post, "/v1/sessions", R"({"user":7})").result_int(), 400u);
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/sessions/short").result_int(), 400u);
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/sessions/" + std::string(21, 'a')).result_int(), 400u)
      << "under 22 characters";
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/sessions/" + std::string(129, 'a')).result_int(), 400u);
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/sessions/" + std::string(31, 'a') + "=").result_int(),
            400u)
      << "base64url only";
  // express-session's default IDs: 32 base64url characters.
  EXPECT_EQ(call(c, bhttp::verb::put, "/v1/sessions/abcdefghijklmnopqrstuvwxyz012345-_",
                 {{"data", {{"n", 1}}}})
                .result_int(),
            201u);
  EXPECT_EQ(
      call(c, bhttp::verb::get, "/v1/sessions/abcdefghijklmnopqrstuvwxyz012345-_").result_int(),
      200u);
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/users/%zz/sessions").result_int(), 400u);
  EXPECT_EQ(call(c, bhttp::verb::put, "/v1/sessions").result_int(), 405u);
  EXPECT_EQ(call(c, bhttp::verb::get, "/v1/nothing").result_int(), 404u);
  // An increment of a field that holds a string: refused, nothing changed.
  raw(bhttp::verb::patch, path, R"({"set":{"s":"text"}})");
  EXPECT_EQ(raw(bhttp::verb::post, path + "/increment", R"({"field":"s"})").result_int(), 400u);
  const std::string big = R"({"set":{"big":")" + std::string(4096, 'x') + "\"}}";
  EXPECT_EQ(raw(bhttp::verb::patch, path, big).result_int(), 413u);
  HttpClient c2(d.port);  // the server closed the first connection after the 413
  r = call(c2, bhttp::verb::get, path);
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_EQ(body_of(r)["data"], (json{{"n", 1}, {"s", "text"}})) << "nothing refused was written";
  c2.close();
  EXPECT_EQ(d.stop(), 0) << d.process.output();
}

TEST(Sessiond, ARedisOutageIs503AndItRecovers) {
  // AOF: what Redis acknowledged survives its restart, as in production.
  sk::testing::RedisServer redis(
      {.password = "", .appendfsync_always = true, .tls = false, .extra = {}});
  TempDir dir;
  Sessiond d(dir, {"--store", redis.url(), "--log-format", "json", "--access-log"});
  ASSERT_NE(d.port, 0) << d.process.output();
  HttpClient c(d.port);
  Response r = call(c, bhttp::verb::post, "/v1/sessions", {{"data", {{"n", 1}}}});
  ASSERT_EQ(r.result_int(), 201u) << r.body();
  const std::string id = body_of(r)["id"].get<std::string>();
  const std::string path = "/v1/sessions/" + id;
  redis.pause();  // answers nothing: the store's timeout
  Headers traced = auth();
  traced.push_back({"X-Request-Id", "outage-read-1"});
  r = c.request(bhttp::verb::get, path, "", traced);
  EXPECT_EQ(r.result_int(), 503u) << r.body();
  EXPECT_EQ(r["X-Request-Id"], "outage-read-1");
  EXPECT_EQ(call(c, bhttp::verb::post, path + "/increment", {{"field", "n"}}).result_int(), 503u);
  EXPECT_EQ(c.get("/readyz").result_int(), 503u);
  redis.resume();
  redis.stop();  // refused connections
  EXPECT_EQ(call(c, bhttp::verb::get, path).result_int(), 503u);
  redis.start();
  Response back;
  for (int i = 0; i < 100; ++i) {
    back = call(c, bhttp::verb::get, path);
    if (back.result_int() != 503u) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(back.result_int(), 200u) << back.body();
  EXPECT_EQ(body_of(back)["data"]["n"], 1) << "the session survived the outage";
  r = call(c, bhttp::verb::get, "/metrics");
  EXPECT_NE(r.body().find("sessionkit_store_errors_total "), std::string::npos);
  EXPECT_EQ(r.body().find("sessionkit_store_errors_total 0\n"), std::string::npos)
      << "the outage was counted";
  c.close();
  EXPECT_EQ(d.stop(), 0) << d.process.output();

  // --log-format json: every line is one JSON object; the failure and the request carry the
  // caller's request id; no line holds the session ID.
  bool failure_logged = false, request_logged = false;
  std::istringstream lines(d.process.output());
  int n = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    ++n;
    const json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON line: " << line;
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    EXPECT_EQ(line.find(id), std::string::npos) << "a session ID in the log: " << line;
    if (j.value("request_id", "") != "outage-read-1") continue;
    if (j["msg"] == "store failure" && j["level"] == "warning") failure_logged = true;
    if (j["msg"] == "request" && j["status"] == 503 && j["route"] == "/v1/sessions/{id}" &&
        j["method"] == "GET" && j["duration_ms"].is_number()) {
      request_logged = true;
    }
  }
  EXPECT_GT(n, 5);
  EXPECT_TRUE(failure_logged) << d.process.output();
  EXPECT_TRUE(request_logged) << d.process.output();
}

// Two sessiond instances on one `store`: 64 concurrent increments and 64 concurrent patches of
// other keys of one session, half through each: none lost.
void two_instances(const std::string& store) {
  TempDir dir;
  Sessiond a(dir, {"--store", store, "--threads", "2"}, "sessiond-a");
  Sessiond b(dir, {"--store", store, "--threads", "2"}, "sessiond-b");
  ASSERT_NE(a.port, 0) << a.process.output();
  ASSERT_NE(b.port, 0) << b.process.output();
  HttpClient ca(a.port);
  Response r = call(ca, bhttp::verb::post, "/v1/sessions", {{"data", {{"n", 0}}}});
  ASSERT_EQ(r.result_int(), 201u);
  const std::string path = "/v1/sessions/" + body_of(r)["id"].get<std::string>();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      HttpClient c(i % 2 == 0 ? a.port : b.port);
      if (call(c, bhttp::verb::post, path + "/increment", {{"field", "n"}}).result_int() == 200u) {
        ++ok;
      }
      // A concurrent patch of another key must survive the increments, and they it.
      call(c, bhttp::verb::patch, path, {{"set", {{"k" + std::to_string(i), i}}}});
      c.close();
    });
  }
  for (std::thread& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 64);
  HttpClient cb(b.port);
  r = call(cb, bhttp::verb::get, path);
  ASSERT_EQ(r.result_int(), 200u);
  const json data = body_of(r)["data"];
  EXPECT_EQ(data["n"], 64) << "no lost increment";
  EXPECT_EQ(data.size(), 65u) << "no lost patch: " << data.dump();
  ca.close();
  cb.close();
  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(b.stop(), 0);
}

TEST(Sessiond, ConcurrentIncrementsAllCountAndTwoInstancesShareSessions) {
  sk::testing::RedisServer redis;
  two_instances(redis.url());
}

TEST(Sessiond, TwoInstancesOnARedisClusterShareSessionsAndLoseNoUpdate) {
  sk::testing::RedisCluster cluster;
  two_instances(cluster.url());
}

#ifdef SESSIOND_TEST_POSTGRES
TEST(Sessiond, TwoInstancesOnPostgresShareSessionsAndLoseNoUpdate) {
  using sk::testing::PostgresServer;
  if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
  PostgresServer pg;
  two_instances(pg.url());
}
#endif

TEST(Sessiond, KeysFromAFileReloadOnSighupWithoutDroppingConnections) {
  TempDir dir;
  const auto file = dir.path() / "keys";
  auto hash_line = [&](const std::string& name, const std::string& key) {
    auto r = sk::testing::run_program(
        {"/bin/sh", "-c",
         "printf '%s\\n' '" + key + "' | " + SESSIOND_BINARY + " hash-key " + name},
        dir.path());
    EXPECT_EQ(r.code, 0) << r.output;
    return r.out;
  };
  const std::string first = "first-key-0123456789abcdefghij";
  const std::string second = "second-key-0123456789abcdefghij";
  std::ofstream(file) << "# app keys\n" << hash_line("app", first);
  Sessiond d(dir, {"--store", "memory://", "--api-key-file", file.string()}, "sessiond", false);
  ASSERT_NE(d.port, 0) << d.process.output();
  HttpClient c(d.port);
  EXPECT_EQ(call(c, bhttp::verb::post, "/v1/sessions", {}, first).result_int(), 201u);
  EXPECT_EQ(call(c, bhttp::verb::post, "/v1/sessions", {}, second).result_int(), 401u);
  std::ofstream(file) << hash_line("app2", second);
  ASSERT_EQ(::kill(d.process.pid(), SIGHUP), 0);
  bool swapped = false;
  for (int i = 0; i < 100 && !swapped; ++i) {
    swapped = call(c, bhttp::verb::post, "/v1/sessions", {}, second).result_int() == 201u;
    if (!swapped) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(swapped) << d.process.output();
  EXPECT_EQ(call(c, bhttp::verb::post, "/v1/sessions", {}, first).result_int(), 401u)
      << "the old key is gone";
  EXPECT_NE(d.process.output().find("SIGHUP: 1 API key(s) loaded"), std::string::npos);
  // A broken file keeps the keys in force.
  std::ofstream(file) << "app3 not-a-digest\n";
  ASSERT_EQ(::kill(d.process.pid(), SIGHUP), 0);
  for (int i = 0; i < 100 && d.process.output().find("keeping the old keys") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(call(c, bhttp::verb::post, "/v1/sessions", {}, second).result_int(), 201u)
      << "same connection, still served";
  EXPECT_NE(d.process.output().find("keeping the old keys"), std::string::npos);
  c.close();
  EXPECT_EQ(d.stop(second), 0) << d.process.output();
}

TEST(Sessiond, CsrfTokensBelongToOneSessionAndEndWithIt) {
  TempDir dir;
  Sessiond d(dir, {"--store", "sqlite://" + (dir.path() / "s.db").string()});
  ASSERT_NE(d.port, 0) << d.process.output();
  HttpClient c(d.port);
  auto create = [&] {
    const Response r = call(c, bhttp::verb::post, "/v1/sessions", {{"data", {{"n", 1}}}});
    EXPECT_EQ(r.result_int(), 201u) << r.body();
    return "/v1/sessions/" + body_of(r)["id"].get<std::string>();
  };
  auto issue = [&](const std::string& path) {
    const Response r = call(c, bhttp::verb::post, path + "/csrf");
    EXPECT_EQ(r.result_int(), 200u) << r.body();
    return body_of(r)["token"].get<std::string>();
  };
  auto valid = [&](const std::string& path, const json& token) {
    const Response r = call(c, bhttp::verb::post, path + "/csrf/verify", {{"token", token}});
    EXPECT_EQ(r.result_int(), 200u) << r.body();
    return body_of(r)["valid"] == true;
  };
  const std::string a = create(), b = create();
  const std::string t1 = issue(a), t2 = issue(a);
  EXPECT_EQ(t1.size(), 86u);
  EXPECT_NE(t1, t2) << "masked afresh on every call";
  EXPECT_TRUE(valid(a, t1));
  EXPECT_TRUE(valid(a, t2)) << "an earlier token stays valid (another tab's page)";
  EXPECT_FALSE(valid(b, t1)) << "a token of another session";
  std::string flipped = t1;
  flipped[50] = flipped[50] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(valid(a, flipped));
  EXPECT_FALSE(valid(a, ""));
  EXPECT_FALSE(valid(a, t1 + "A"));
  EXPECT_FALSE(valid(a, std::string(86, '=')));
  EXPECT_EQ(call(c, bhttp::verb::post, a + "/csrf/verify", {{"token", 5}}).result_int(), 400u);
  EXPECT_EQ(call(c, bhttp::verb::get, a + "/csrf").result_int(), 405u);

  // The secret is the server's: not shown, not writable, not an increment target.
  Response r = call(c, bhttp::verb::get, a);
  EXPECT_EQ(body_of(r)["data"], (json{{"n", 1}})) << r.body();
  EXPECT_EQ(call(c, bhttp::verb::patch, a, {{"set", {{"_sk_api_csrf", "x"}}}}).result_int(), 400u);
  EXPECT_EQ(call(c, bhttp::verb::patch, a, {{"erase", {"_sk_api_csrf"}}}).result_int(), 400u);
  EXPECT_EQ(call(c, bhttp::verb::post, a + "/increment", {{"field", "_sk_x"}}).result_int(), 400u);
  EXPECT_EQ(
      call(c, bhttp::verb::post, "/v1/sessions", {{"data", {{"_sk_api_csrf", "x"}}}}).result_int(),
      400u);
  EXPECT_TRUE(valid(a, t1)) << "the refused writes changed nothing";

  // Ten first requests for a token of a new session, at once: all get tokens of one secret.
  const std::string fresh = create();
  std::vector<std::string> tokens(10);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    threads.emplace_back([&, i] {
      HttpClient ci(d.port);
      const Response ri = call(ci, bhttp::verb::post, fresh + "/csrf");
      if (ri.result_int() == 200u) tokens[i] = body_of(ri)["token"].get<std::string>();
      ci.close();
    });
  }
  for (std::thread& t : threads)
    t.join();
  for (const std::string& t : tokens) {
    ASSERT_FALSE(t.empty());
    EXPECT_TRUE(valid(fresh, t)) << "every racer's token is of the one secret kept";
  }

  // Regenerate: the new ID has a new secret; the old ID's tokens do not carry over.
  r = call(c, bhttp::verb::post, a + "/regenerate");
  ASSERT_EQ(r.result_int(), 201u) << r.body();
  const std::string a2 = "/v1/sessions/" + body_of(r)["id"].get<std::string>();
  EXPECT_FALSE(valid(a2, t1));
  EXPECT_TRUE(valid(a2, issue(a2)));
  // An ended session has no tokens.
  call(c, bhttp::verb::delete_, a2);
  EXPECT_EQ(call(c, bhttp::verb::post, a2 + "/csrf").result_int(), 404u);
  EXPECT_EQ(call(c, bhttp::verb::post, a2 + "/csrf/verify", {{"token", t1}}).result_int(), 404u);
  r = call(c, bhttp::verb::get, "/metrics");
  EXPECT_NE(r.body().find("sessionkit_csrf_failures_total 6"), std::string::npos) << r.body();
  c.close();
  EXPECT_EQ(d.stop(), 0) << d.process.output();
}

TEST(Sessiond, StatsCountSessionsAndClearIsRefusedUnlessAllowed) {
  TempDir dir;
  Sessiond off(dir, {"--store", "memory://"}, "sessiond-off");
  Sessiond on(dir, {"--store", "memory://", "--allow-clear"}, "sessiond-on");
  ASSERT_NE(off.port, 0) << off.process.output();
  ASSERT_NE(on.port, 0) << on.process.output();
  for (Sessiond* d : {&off, &on}) {
    HttpClient c(d->port);
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(call(c, bhttp::verb::post, "/v1/sessions").result_int(), 201u);
    Response r = call(c, bhttp::verb::get, "/v1/stats");
    ASSERT_EQ(r.result_int(), 200u) << r.body();
    EXPECT_EQ(body_of(r)["sessions"], 3);
    EXPECT_EQ(body_of(r)["store"], "memory");
    EXPECT_EQ(call(c, bhttp::verb::post, "/v1/stats").result_int(), 405u);
    c.close();
  }
  HttpClient c_off(off.port), c_on(on.port);
  Response r = call(c_off, bhttp::verb::delete_, "/v1/sessions");
  EXPECT_EQ(r.result_int(), 403u) << r.body();
  EXPECT_NE(body_of(r)["error"].get<std::string>().find("--allow-clear"), std::string::npos);
  EXPECT_EQ(body_of(call(c_off, bhttp::verb::get, "/v1/stats"))["sessions"], 3) << "kept";
  r = call(c_on, bhttp::verb::delete_, "/v1/sessions");
  ASSERT_EQ(r.result_int(), 200u) << r.body();
  EXPECT_EQ(body_of(r)["cleared"], 3);
  EXPECT_EQ(body_of(call(c_on, bhttp::verb::get, "/v1/stats"))["sessions"], 0);
  c_off.close();
  c_on.close();
  EXPECT_EQ(off.stop(), 0) << off.process.output();
  EXPECT_EQ(on.stop(), 0) << on.process.output();
}

TEST(Sessiond, ServesItsOpenApiDocumentWithoutAKey) {
  TempDir dir;
  Sessiond d(dir, {"--store", "memory://"});
  ASSERT_NE(d.port, 0) << d.process.output();
  HttpClient c(d.port);
  const Response r = c.get("/openapi.json");
  ASSERT_EQ(r.result_int(), 200u);
  EXPECT_EQ(r["Content-Type"], "application/json");
  const json served = body_of(r);
  ASSERT_FALSE(served.is_discarded());
  EXPECT_EQ(served, openapi()) << "the compiled-in document is the file in the tree";
  EXPECT_EQ(served["openapi"], "3.0.3");
  // Every route sessiond knows is described, and nothing else.
  std::vector<std::string> described;
  for (const auto& [path, item] : served["paths"].items())
    described.push_back(path);
  std::sort(described.begin(), described.end());
  EXPECT_EQ(
      described,
      (std::vector<std::string>{
          "/healthz", "/metrics", "/openapi.json", "/readyz", "/v1/jwks", "/v1/sessions",
          "/v1/sessions/{id}", "/v1/sessions/{id}/csrf", "/v1/sessions/{id}/csrf/verify",
          "/v1/sessions/{id}/increment", "/v1/sessions/{id}/regenerate", "/v1/sessions/{id}/tokens",
          "/v1/sessions/{id}/touch", "/v1/stats", "/v1/tokens/introspect", "/v1/tokens/refresh",
          "/v1/tokens/revoke", "/v1/users/{user}/sessions"}));
  EXPECT_EQ(c.request(bhttp::verb::post, "/openapi.json", "", {}).result_int(), 405u);
  // Token sessions are off without --token-keys (tests/interop/sessiond_tokens_test.py has them
  // on, with PyJWT): 404, which the document lists.
  EXPECT_EQ(c.get("/v1/jwks").result_int(), 404u);
  const Response created = call(c, bhttp::verb::post, "/v1/sessions", {{"user", "alice"}});
  EXPECT_EQ(call(c, bhttp::verb::post,
                 "/v1/sessions/" + body_of(created)["id"].get<std::string>() + "/tokens")
                .result_int(),
            404u);
  EXPECT_EQ(call(c, bhttp::verb::post, "/v1/tokens/refresh", {{"refresh_token", "x"}}).result_int(),
            404u);
  // Each answer counted under its own route, never "other" (one path parser names and routes).
  const std::string metrics = call(c, bhttp::verb::get, "/metrics").body();
  for (const char* route : {"/v1/jwks", "/v1/sessions/{id}/tokens", "/v1/tokens/refresh"}) {
    EXPECT_NE(metrics.find(std::string("route=\"") + route + "\",status=\"404\""),
              std::string::npos)
        << route << "\n"
        << metrics;
  }
  c.close();
  EXPECT_EQ(d.stop(), 0) << d.process.output();
}

TEST(Sessiond, ReadsATomlFileBelowFlagsAndEnvironment) {
  TempDir dir;
  const auto etc = dir.path() / "etc";
  std::filesystem::create_directories(etc);
  const std::string file_key = "file-key-0123456789abcdefghij";
  auto r = sk::testing::run_program(
      {"/bin/sh", "-c", "printf '%s\\n' '" + file_key + "' | " + SESSIOND_BINARY + " hash-key ops"},
      dir.path());
  ASSERT_EQ(r.code, 0) << r.output;
  std::ofstream(etc / "keys") << r.out;
  std::ofstream(etc / "sessiond.toml")
      << "# sessiond's settings\n"
      << "store = \"sqlite://" << (dir.path() / "s.db").string() << "\"\n"
      << "api_key_file = \"keys\"          # relative to this file\n"
      << "idle-timeout = 600\n"
      << "absolute-timeout = 7200\n"
      << "access-log = true\n";
  // The environment overrides the file (idle-timeout), the file the defaults (absolute).
  Sessiond d(dir, {"--config", (etc / "sessiond.toml").string()}, "sessiond", false,
             {"SESSIOND_IDLE_TIMEOUT=300"});
  ASSERT_NE(d.port, 0) << d.process.output();
  HttpClient c(d.port);
  Response created = call(c, bhttp::verb::post, "/v1/sessions", {}, file_key);
  ASSERT_EQ(created.result_int(), 201u) << "the key file named relative to the config file";
  const json s = body_of(created);
  EXPECT_EQ(s["expires_at_ms"].get<std::int64_t>() - s["created_at_ms"].get<std::int64_t>(),
            300'000)
      << "SESSIOND_IDLE_TIMEOUT wins over the file";
  EXPECT_EQ(
      s["absolute_expires_at_ms"].get<std::int64_t>() - s["created_at_ms"].get<std::int64_t>(),
      7'200'000)
      << "the file wins over the default";
  EXPECT_EQ(call(c, bhttp::verb::post, "/v1/sessions").result_int(), 401u)
      << "no SESSIOND_API_KEY here: only the file's key";
  c.close();
  EXPECT_EQ(d.stop(file_key), 0) << d.process.output();
  EXPECT_NE(d.process.output().find("[info] request duration_ms="), std::string::npos)
      << "access-log = true from the file: " << d.process.output();

  // Bad files: exit 2, naming the file, the line and the key.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"stor = \"memory://\"\n", "bad.toml:1: stor: not a sessiond option"},
      {"store = \"memory://\"\nthreads = 0\n", "bad.toml:2: threads"},
      {"store = \"memory://\n", "bad.toml:1:"},
      {"store = \"memory://\"\n[server]\nthreads = 2\n", "bad.toml:2: server: sections"},
      {"store = \"memory://\"\nidle-timeout = 1.5\n", "bad.toml:2: idle-timeout"},
  };
  for (const auto& [text, message] : bad) {
    std::ofstream(etc / "bad.toml") << text;
    r = sk::testing::run_program(
        {"/usr/bin/env", std::string("SESSIOND_API_KEY=") + kKey, SESSIOND_BINARY, "--config",
         (etc / "bad.toml").string(), "--listen", "127.0.0.1:0"},
        dir.path());
    EXPECT_EQ(r.code, 2) << text << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << text << r.output;
  }
}

// A CA, a server certificate for 127.0.0.1 and a client certificate it issued, and a client
// certificate from another CA, made with the openssl command in `dir`.
void make_certificates(const std::filesystem::path& dir) {
  const std::string script = R"sh(set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=test-ca -keyout ca.key -out ca.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=other-ca -keyout other-ca.key -out other-ca.pem
for who in server client rogue; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=$who \
    -keyout $who.key -out $who.csr
done
printf 'subjectAltName=IP:127.0.0.1\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile server.ext -out server.pem
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile client.ext -out client.pem
openssl x509 -req -in rogue.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 2 \
  -extfile client.ext -out rogue.pem
)sh";
  const auto r =
      sk::testing::run_program({"/bin/sh", "-c", "cd '" + dir.string() + "' && " + script}, dir);
  ASSERT_EQ(r.code, 0) << r.output;
}

TEST(Sessiond, MutualTlsAdmitsOnlyClientsWithACertificateOfItsCa) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(make_certificates(dir.path()));
  const auto at = [&](const std::string& f) { return (dir.path() / f).string(); };
  // Production mode with no API key: the client certificate is the caller's credential.
  Sessiond d(dir,
             {"--store", "memory://", "--tls-cert", at("server.pem"), "--tls-key", at("server.key"),
              "--tls-client-ca", at("ca.pem")},
             "sessiond", false);
  ASSERT_NE(d.port, 0) << d.process.output();
  EXPECT_NE(d.process.output().find("listening on https://"), std::string::npos);
  const std::string base = "https://127.0.0.1:" + std::to_string(d.port);
  // curl, a client nobody here wrote, verifying sessiond's certificate against the CA.
  auto curl = [&](std::vector<std::string> args) {
    std::vector<std::string> cmd = {"/usr/bin/curl", "-sS", "--max-time", "10", "--cacert",
                                    at("ca.pem"),    "-o",  "-",          "-w", "\n%{http_code}"};
    cmd.insert(cmd.end(), args.begin(), args.end());
    return sk::testing::run_program(cmd, dir.path());
  };
  auto r = curl(
      {"--cert", at("client.pem"), "--key", at("client.key"), "-X", "POST", base + "/v1/sessions"});
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.out.find("\n201"), std::string::npos) << r.out;
  const json created = json::parse(r.out.substr(0, r.out.rfind('\n')), nullptr, false);
  ASSERT_TRUE(created.contains("id")) << r.out;
  r = curl({"--cert", at("client.pem"), "--key", at("client.key"),
            base + "/v1/sessions/" + created["id"].get<std::string>()});
  EXPECT_NE(r.out.find("\n200"), std::string::npos) << r.output;

  // No certificate, or one of another CA: the handshake fails; nothing is answered.
  r = curl({"-X", "POST", base + "/v1/sessions"});
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_EQ(r.out.find("\n201"), std::string::npos) << r.output;
  r = curl(
      {"--cert", at("rogue.pem"), "--key", at("rogue.key"), "-X", "POST", base + "/v1/sessions"});
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_EQ(r.out.find("\n201"), std::string::npos) << r.output;
  // Plain HTTP on the TLS port: no answer either, and the server goes on.
  r = sk::testing::run_program({"/usr/bin/curl", "-sS", "--max-time", "5",
                                "http://127.0.0.1:" + std::to_string(d.port) + "/healthz"},
                               dir.path());
  EXPECT_NE(r.code, 0) << r.output;
  r = curl({"--cert", at("client.pem"), "--key", at("client.key"), base + "/v1/stats"});
  EXPECT_NE(r.out.find("\"sessions\":1"), std::string::npos) << r.output;
  EXPECT_EQ(d.process.stop(), 0) << d.process.output();

  // With keys configured as well, a certificate alone is not enough.
  Sessiond both(dir,
                {"--store", "memory://", "--tls-cert", at("server.pem"), "--tls-key",
                 at("server.key"), "--tls-client-ca", at("ca.pem")},
                "sessiond-both");
  ASSERT_NE(both.port, 0) << both.process.output();
  const std::string base2 = "https://127.0.0.1:" + std::to_string(both.port);
  r = curl({"--cert", at("client.pem"), "--key", at("client.key"), "-X", "POST",
            base2 + "/v1/sessions"});
  EXPECT_NE(r.out.find("\n401"), std::string::npos) << r.output;
  r = curl({"--cert", at("client.pem"), "--key", at("client.key"), "-H",
            std::string("Authorization: Bearer ") + kKey, "-X", "POST", base2 + "/v1/sessions"});
  EXPECT_NE(r.out.find("\n201"), std::string::npos) << r.output;
  EXPECT_EQ(both.process.stop(), 0) << both.process.output();

  // Bad TLS settings: exit 2 before listening.
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--tls-cert", at("server.pem")},
        std::vector<std::string>{"--tls-cert", at("server.pem"), "--tls-key", at("client.key")},
        std::vector<std::string>{"--tls-cert", at("ca.key"), "--tls-key", at("server.key")}}) {
    std::vector<std::string> cmd = {"/usr/bin/env",  std::string("SESSIOND_API_KEY=") + kKey,
                                    SESSIOND_BINARY, "--store",
                                    "memory://",     "--listen",
                                    "127.0.0.1:0"};
    cmd.insert(cmd.end(), bad.begin(), bad.end());
    r = sk::testing::run_program(cmd, dir.path());
    EXPECT_EQ(r.code, 2) << r.output;
  }
}

TEST(Sessiond, DoesNotStartWithoutAKeyInProduction) {
  TempDir dir;
  auto r = sk::testing::run_program(
      {SESSIOND_BINARY, "--store", "memory://", "--listen", "127.0.0.1:0"}, dir.path());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("no API key"), std::string::npos) << r.output;
  r = sk::testing::run_program({SESSIOND_BINARY, "--listen", "127.0.0.1:0"}, dir.path());
  EXPECT_EQ(r.code, 2) << "no --store: " << r.output;
  std::ofstream(dir.path() / "bad") << "app abc\n";
  r = sk::testing::run_program(
      {SESSIOND_BINARY, "--store", "memory://", "--api-key-file", (dir.path() / "bad").string()},
      dir.path());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("line 1"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace e2e
