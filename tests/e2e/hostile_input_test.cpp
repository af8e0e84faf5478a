// End-to-end: secret rotation, and hostile input (cookies, bodies) against the real demo.
// Whatever arrives, the answer is a clear 4xx or "no session", never a crash or a 5xx, and
// nothing already stored is lost.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"

namespace e2e {
namespace {

using nlohmann::json;

constexpr const char* kOld = "old-secret-0123456789abcdef0123456789abcdef";
constexpr const char* kNew = "new-secret-0123456789abcdef0123456789abcdef";

Response login(HttpClient& c) {
  return login(c, "alice", "wonderland");
}

class Demo {
 public:
  Demo(const std::filesystem::path& dir, const std::string& secret, const std::string& tag,
       std::vector<std::string> extra = {})
      : process_(args(dir, secret, std::move(extra)), dir, tag) {}
  HttpClient client() const { return HttpClient(process_.port()); }
  int stop() { return process_.stop(); }

 private:
  static std::vector<std::string> args(const std::filesystem::path& dir, const std::string& secret,
                                       std::vector<std::string> extra) {
    std::vector<std::string> a = {"--listen",  "127.0.0.1:0",
                                  "--secret",  secret,
                                  "--store",   "sqlite://" + (dir / "s.db").string(),
                                  "--threads", "2",
                                  "--mode",    "development"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  DemoProcess process_;
};

// The client address recorded with the only session in the demo's SQLite file.
std::string recorded_ip(const std::filesystem::path& dir) {
  sqlite3* db = nullptr;
  std::string ip;
  if (sqlite3_open_v2((dir / "s.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT ip FROM sessions WHERE user_id IS NOT NULL", -1, &st,
                           nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      ip = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return ip;
}

const SetCookieLine* session_cookie(const HttpClient& c) {
  for (const auto& l : c.last_set_cookies())
    if (l.name == "sid") return &l;
  return nullptr;
}

TEST(SecretRotation, OldCookiesAreReissuedWithTheNewSecretThenRetired) {
  TempDir dir;
  std::string old_cookie;
  {
    Demo demo(dir.path(), kOld, "old");
    HttpClient c = demo.client();
    ASSERT_EQ(login(c).result_int(), 200);
    old_cookie = *c.jar.get("sid");
    EXPECT_EQ(demo.stop(), 0);
  }
  std::string reissued;
  {
    Demo demo(dir.path(), std::string(kNew) + "," + kOld, "rotating");
    HttpClient c = demo.client();
    c.jar.set("sid", old_cookie);
    Response res = c.get("/api/session");
    ASSERT_EQ(res.result_int(), 200);
    EXPECT_EQ(body_json(res)["authenticated"], true);  // the old secret still verifies
    const SetCookieLine* line = session_cookie(c);
    ASSERT_NE(line, nullptr) << "the cookie is re-signed with the newest secret";
    EXPECT_FALSE(line->deletes);
    EXPECT_EQ(line->value.substr(0, line->value.rfind('.')),
              old_cookie.substr(0, old_cookie.rfind('.')))
        << "same session, new signature";
    EXPECT_NE(line->value, old_cookie);
    reissued = line->value;
    c.get("/api/session");
    EXPECT_EQ(session_cookie(c), nullptr) << "signed with the newest secret: no more re-issue";
    EXPECT_EQ(demo.stop(), 0);
  }
  {
    Demo demo(dir.path(), kNew, "new");
    HttpClient stale = demo.client();
    stale.jar.set("sid", old_cookie);
    Response res = stale.get("/api/session");
    EXPECT_EQ(res.result_int(), 200);  // no session, not an error
    EXPECT_EQ(body_json(res)["authenticated"], false);
    HttpClient fresh = demo.client();
    fresh.jar.set("sid", reissued);
    EXPECT_EQ(body_json(fresh.get("/api/session"))["authenticated"], true);
    EXPECT_EQ(demo.stop(), 0);
  }
}

TEST(TrustedProxy, ForwardingHeadersCountOnlyFromTrustedProxies) {
  const Headers forwarded = {{"X-Forwarded-For", "6.6.6.6, 198.51.100.7"},
                             {"X-Forwarded-Proto", "https"}};
  auto login_via = [&](HttpClient& c) {
    const std::string token = body_json(c.get("/api/session", forwarded)).value("csrf_token", "");
    return c.request(bhttp::verb::post, "/api/login",
                     R"({"username":"alice","password":"wonderland"})",
                     {{"Content-Type", "application/json"},
                      {"X-CSRF-Token", token},
                      forwarded[0],
                      forwarded[1]});
  };
  {
    TempDir dir;
    Demo demo(dir.path(), kNew, "direct", {"--hsts", "31536000"});  // no trusted proxies
    HttpClient c = demo.client();
    Response res = login_via(c);
    ASSERT_EQ(res.result_int(), 200) << res.body();
    EXPECT_EQ(res["Strict-Transport-Security"], "") << "plain HTTP: no HSTS";
    EXPECT_EQ(recorded_ip(dir.path()), "127.0.0.1") << "forged headers ignored";
    EXPECT_EQ(demo.stop(), 0);
  }
  {
    TempDir dir;
    Demo demo(dir.path(), kNew, "proxied",
              {"--hsts", "31536000", "--trusted-proxies", "127.0.0.1, 10.0.0.0/8"});
    HttpClient c = demo.client();
    Response res = login_via(c);
    ASSERT_EQ(res.result_int(), 200) << res.body();
    EXPECT_EQ(res["Strict-Transport-Security"], "max-age=31536000; includeSubDomains");
    EXPECT_EQ(recorded_ip(dir.path()), "198.51.100.7") << "the first untrusted hop";
    EXPECT_EQ(c.get("/healthz")["Strict-Transport-Security"], "") << "this request was plain HTTP";
    EXPECT_EQ(demo.stop(), 0);
  }
  TempDir dir;
  ExitResult bad = run_demo_to_exit({"--trusted-proxies", "proxy.internal"}, dir.path());
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--trusted-proxies"), std::string::npos) << bad.err;
}

class HostileInput : public ::testing::Test {
 protected:
  void SetUp() override {
    demo_ = std::make_unique<Demo>(dir_.path(), kNew, "demo");
    HttpClient c = demo_->client();
    Response res = login(c);
    ASSERT_EQ(res.result_int(), 200);
    token_ = body_json(res)["csrf_token"];
    cookie_ = *c.jar.get("sid");
    Response inc = c.post_json("/api/increment", "", token_);
    ASSERT_EQ(inc.result_int(), 200);
    visits_ = body_json(inc)["visits"];
  }
  void TearDown() override {
    // Nothing stored was lost: alice's session is intact.
    HttpClient c = demo_->client();
    c.jar.set("sid", cookie_);
    json j = body_json(c.get("/api/session"));
    EXPECT_EQ(j["authenticated"], true);
    EXPECT_EQ(j["visits"], visits_);
    EXPECT_EQ(demo_->stop(), 0);
  }
  // One request with exactly this Cookie header (no jar).
  Response with_cookie_header(const std::string& header) {
    HttpClient c = demo_->client();
    return c.get("/api/session", {{"Cookie", header}});
  }

  TempDir dir_;
  std::unique_ptr<Demo> demo_;
  std::string cookie_, token_;
  std::int64_t visits_ = 0;
};

TEST_F(HostileInput, BadCookiesMeanNoSessionNeverAnError) {
  std::string truncated = cookie_.substr(0, cookie_.size() - 5);
  const std::vector<std::string> bad = {
      "sid=%%%%%%",                                   // not base64url
      "sid=abc",                                      // no signature
      "sid=" + truncated,                             // truncated signature
      "sid=" + cookie_ + "x",                         // trailing garbage
      "sid=" + cookie_.substr(0, cookie_.find('.')),  // ID without signature
      std::string("sid=\xff\xfe\x80\xc0\xaf.\xff"),   // not UTF-8
      "sid=\"" + cookie_ + "\"",                      // quoted (RFC 6265 allows DQUOTEs)
      "sid",                                          // no '='
      ";;;=;==;sid==;",                               // syntax soup
      "sid=" + std::string(4000, 'A'),                // long but within the header limit
  };
  for (const auto& header : bad) {
    Response res = with_cookie_header(header);
    EXPECT_EQ(res.result_int(), 200) << header;
    json j = body_json(res);
    if (header.find('"') == std::string::npos) {
      EXPECT_EQ(j["authenticated"], false) << header;
    }
  }
}

TEST_F(HostileInput, ManyAndDuplicateCookies) {
  std::string many;
  for (int i = 0; i < 300; ++i)
    many += "c" + std::to_string(i) + "=v" + std::to_string(i) + "; ";
  Response crowded = with_cookie_header(many + "sid=" + cookie_);
  ASSERT_EQ(crowded.result_int(), 200);
  EXPECT_EQ(body_json(crowded)["authenticated"], true) << "found among 300 other cookies";

  // Two session cookies: the first valid one is used, whichever order.
  EXPECT_EQ(body_json(with_cookie_header("sid=forged.value; sid=" + cookie_))["authenticated"],
            true);
  EXPECT_EQ(body_json(with_cookie_header("sid=" + cookie_ + "; sid=forged.value"))["authenticated"],
            true);

  // Past the header limit: 431, with a JSON error.
  Response huge = with_cookie_header(many + many + many + "sid=" + cookie_);
  EXPECT_EQ(huge.result_int(), 431);
  EXPECT_TRUE(body_json(huge).contains("error"));
}

TEST_F(HostileInput, BadBodiesGetA4xx) {
  HttpClient c = demo_->client();
  c.jar.set("sid", cookie_);
  const std::vector<std::string> bodies = {
      "",
      "null",
      "[]",
      "{",
      R"({"username": 1, "password": []})",
      R"({"username": "alice"})",
      std::string("{\"username\":\"\xff\xfe\",\"password\":\"x\"}"),  // invalid UTF-8
      std::string(60'000, '['),                                       // deeply nested
      "{\"a\":" + std::string(30'000, '[') + std::string(30'000, ']') + "}",
  };
  for (const auto& body : bodies) {
    Response res = c.post_json("/api/login", body, token_);
    EXPECT_EQ(res.result_int(), 400) << body.substr(0, 40);
    EXPECT_TRUE(body_json(res).contains("error")) << body.substr(0, 40);
  }
  // A syntactically fine login with the wrong password: 401, the session untouched.
  Response wrong = c.post_json("/api/login", R"({"username":"alice","password":"nope"})", token_);
  EXPECT_EQ(wrong.result_int(), 401);
  // Oversize: 413.
  Response big = c.post_json("/api/login", std::string(70 * 1024, '{'), token_);
  EXPECT_EQ(big.result_int(), 413);
}

}  // namespace
}  // namespace e2e
