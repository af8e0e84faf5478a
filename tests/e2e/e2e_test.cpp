// End-to-end tests: the real sessionkit-demo binary, real HTTP over loopback.
//
// Each test (ctest runs each in its own process) starts a demo on a free port with its own
// temporary SQLite file, talks to it with a small Beast client, and stops the process it
// started by pid.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "sessionkit/keyring.h"
#include "sessionkit/session_id.h"

namespace e2e {
namespace {

using bhttp::verb;
using nlohmann::json;

constexpr const char* kSecret = "e2e-secret-0123456789abcdef0123456789abcdef";
constexpr const char* kCookie = "sid";
constexpr const char* kCsrfCookie = "sid-csrf";

bool has_set_cookie(const HttpClient& c, const std::string& name) {
  return std::any_of(c.last_set_cookies().begin(), c.last_set_cookies().end(),
                     [&](const SetCookieLine& l) { return l.name == name; });
}

const SetCookieLine* find_set_cookie(const HttpClient& c, const std::string& name) {
  for (const auto& l : c.last_set_cookies()) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

// The ID part of a signed cookie value "<id>.<signature>".
std::string id_part(const std::string& cookie) {
  return cookie.substr(0, cookie.rfind('.'));
}

// The value of an unlabelled Prometheus sample "name value".
std::optional<std::uint64_t> metric(const std::string& text, const std::string& name) {
  const std::string needle = "\n" + name + " ";
  std::string padded = "\n" + text;
  std::size_t at = padded.find(needle);
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(padded.substr(at + needle.size()));
}

// The value of the first hidden `_csrf` input of an HTML page.
std::optional<std::string> form_token(const std::string& html) {
  constexpr std::string_view kMarker = R"(name="_csrf" value=")";
  std::size_t at = html.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  at += kMarker.size();
  std::size_t end = html.find('"', at);
  if (end == std::string::npos) return std::nullopt;
  return html.substr(at, end - at);
}

class DemoE2E : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void TearDown() override {
    if (demo_ && HasFailure()) std::cerr << "---- demo stderr ----\n" << demo_->stderr_text();
    if (demo_) {
      int code = demo_->stop();
      EXPECT_EQ(code, 0) << "the demo did not shut down cleanly";
    }
  }

  std::filesystem::path db_path() const { return dir_.path() / "db" / "s.db"; }
  std::vector<std::string> args() const {
    std::vector<std::string> a = {"--listen", "127.0.0.1:0", "--secret", kSecret};
    a.insert(a.end(), {"--store", "sqlite://" + db_path().string()});
    a.insert(a.end(), {"--threads", "2", "--mode", "development"});
    return a;
  }
  void start() { demo_ = std::make_unique<DemoProcess>(args(), dir_.path(), "demo" + tag()); }
  std::string tag() { return std::to_string(++starts_); }

  HttpClient client() const { return HttpClient(demo_->port()); }

  std::uint64_t active_sessions() {
    HttpClient c = client();
    Response res = c.get("/metrics");
    EXPECT_EQ(res.result_int(), 200);
    return metric(res.body(), "sessionkit_sessions_active").value_or(~0ULL);
  }

  TempDir dir_;
  std::unique_ptr<DemoProcess> demo_;
  int starts_ = 0;
};

TEST_F(DemoE2E, HealthzDoesNoSessionWork) {
  HttpClient c = client();
  Response res = c.get("/healthz");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "ok\n");
  EXPECT_TRUE(c.last_set_cookies().empty());
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
}

// The bytes on the wire: responses to pipelined requests follow each other exactly, each with a
// Content-Length that matches its body, and a HEAD response carries the length but no body.
TEST_F(DemoE2E, PipelinedResponsesAndHeadOnTheWire) {
  const std::string host = "Host: 127.0.0.1\r\n";
  const std::string wire =
      HttpClient(demo_->port())
          .raw_until_close("HEAD /healthz HTTP/1.1\r\n" + host + "\r\n" +
                           "GET /api/session HTTP/1.1\r\n" + host + "\r\n" +
                           "GET /healthz HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
  // Split the stream into responses by their Content-Length.
  std::vector<std::pair<std::string, std::string>> responses;  // header, body
  std::size_t at = 0;
  while (at < wire.size()) {
    const std::size_t end = wire.find("\r\n\r\n", at);
    ASSERT_NE(end, std::string::npos) << "an incomplete header at byte " << at << ":\n" << wire;
    std::string header = wire.substr(at, end + 4 - at);
    ASSERT_TRUE(header.starts_with("HTTP/1.1 200 OK\r\n")) << header;
    const std::size_t cl = header.find("Content-Length: ");
    ASSERT_NE(cl, std::string::npos) << header;
    const std::size_t length = std::stoul(header.substr(cl + 16));
    const bool head = responses.empty();  // the first answers the HEAD request
    const std::size_t body_size = head ? 0 : length;
    ASSERT_LE(end + 4 + body_size, wire.size()) << "a short body:\n" << wire;
    responses.emplace_back(std::move(header), wire.substr(end + 4, body_size));
    if (head) {
      EXPECT_EQ(length, 3U) << "HEAD announces the length GET would send";
    }
    at = end + 4 + body_size;
  }
  ASSERT_EQ(responses.size(), 3U) << wire;
  EXPECT_TRUE(responses[0].second.empty());
  EXPECT_EQ(json::parse(responses[1].second)["authenticated"], false);
  EXPECT_NE(responses[1].first.find("Cache-Control: no-store\r\n"), std::string::npos);
  EXPECT_EQ(responses[2].second, "ok\n");
  EXPECT_NE(responses[2].first.find("Connection: close\r\n"), std::string::npos);
}

TEST_F(DemoE2E, ReadyzAndMetrics) {
  HttpClient c = client();
  Response ready = c.get("/readyz");
  EXPECT_EQ(ready.result_int(), 200);
  EXPECT_EQ(body_json(ready), json({{"ready", true}}));
  c.get("/api/session");
  Response m = c.get("/metrics");
  ASSERT_EQ(m.result_int(), 200);
  EXPECT_NE(m.body().find("# TYPE sessionkit_sessions_created_total counter"), std::string::npos);
  EXPECT_TRUE(metric(m.body(), "sessionkit_sessions_active").has_value()) << m.body();
  auto requests = metric(m.body(), "sessionkit_request_latency_seconds_count");
  ASSERT_TRUE(requests.has_value());
  EXPECT_GE(*requests, 2U);  // /readyz and /api/session at least
  EXPECT_EQ(m["X-Content-Type-Options"], "nosniff");
}

TEST_F(DemoE2E, AnonymousReaderGetsTokenButNoSession) {
  const std::uint64_t before = active_sessions();
  HttpClient c = client();
  Response res = c.get("/api/session");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  json j = body_json(res);
  EXPECT_EQ(j["authenticated"], false);
  EXPECT_TRUE(j["user"].is_null());
  EXPECT_EQ(j["visits"], 0);
  EXPECT_TRUE(j["session"]["id_hint"].is_null());
  EXPECT_TRUE(j["session"]["created_at"].is_null());
  ASSERT_TRUE(j["csrf_token"].is_string());
  EXPECT_FALSE(j["csrf_token"].get<std::string>().empty());
  for (const auto& line : c.last_set_cookies()) {
    EXPECT_EQ(line.name, kCsrfCookie) << "unexpected cookie: " << line.raw;
  }
  EXPECT_FALSE(c.jar.get(kCookie).has_value());
  for (int i = 0; i < 20; ++i) {
    HttpClient fresh = client();
    ASSERT_EQ(fresh.get("/api/session").result_int(), 200);
    ASSERT_EQ(fresh.get("/").result_int(), 200);
  }
  EXPECT_EQ(active_sessions(), before) << "anonymous reads must not create records";
}

TEST_F(DemoE2E, UnsafeMethodsNeedCsrf) {
  HttpClient c = client();
  c.get("/api/session");  // pre-session CSRF cookie, but no token sent below
  for (const char* path : {"/api/increment", "/api/login", "/api/logout"}) {
    Response res = c.post_json(path, R"({"username":"alice","password":"wonderland"})", "");
    EXPECT_EQ(res.result_int(), 403) << path;
    EXPECT_TRUE(body_json(res).contains("error")) << path;
  }
  // A form route answers with the page (HTML) and a notice, not JSON.
  Response form = c.post_form("/increment", "");
  EXPECT_EQ(form.result_int(), 403);
  EXPECT_NE(form[bhttp::field::content_type].find("text/html"), std::string::npos);
  EXPECT_NE(form.body().find("out of date"), std::string::npos);
  Response bogus = c.post_json("/api/increment", "{}", std::string(64, 'A'));
  EXPECT_EQ(bogus.result_int(), 403);
  // A token from another visitor does not verify for this one.
  HttpClient other = client();
  std::string foreign = csrf(other);
  EXPECT_EQ(c.post_json("/api/increment", "{}", foreign).result_int(), 403);
  EXPECT_FALSE(c.jar.get(kCookie).has_value());
}

TEST_F(DemoE2E, LoginValidatesInput) {
  HttpClient c = client();
  EXPECT_EQ(login(c, "alice", "wrong").result_int(), 401);
  EXPECT_EQ(login(c, "mallory", "wonderland").result_int(), 401);
  std::string token = csrf(c);
  for (const char* body :
       {R"({"username":)", "not json", R"([1,2])", R"({"username":"alice"})",
        R"({"username":1,"password":"x"})", R"({"username":"a","password":null})"}) {
    Response res = c.post_json("/api/login", body, token);
    EXPECT_EQ(res.result_int(), 400) << body;
    EXPECT_TRUE(body_json(res).contains("error")) << body;
  }
  EXPECT_FALSE(c.jar.get(kCookie).has_value());
}

TEST_F(DemoE2E, LoginRotatesTheSessionId) {
  HttpClient c = client();
  // An anonymous write creates a session first.
  Response inc = c.post_json("/api/increment", "", csrf(c));
  ASSERT_EQ(inc.result_int(), 200) << inc.body();
  EXPECT_EQ(body_json(inc)["visits"], 1);
  auto before = c.jar.get(kCookie);
  ASSERT_TRUE(before.has_value());
  const std::string stale_token = body_json(inc)["csrf_token"];

  Response res = login(c, "alice", "wonderland");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  json j = body_json(res);
  EXPECT_EQ(j["user"]["name"], "alice");
  ASSERT_TRUE(j["csrf_token"].is_string());
  ASSERT_TRUE(has_set_cookie(c, kCookie));
  auto after = c.jar.get(kCookie);
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(id_part(*after), id_part(*before)) << "login must issue a new session ID";
  EXPECT_EQ(res["Cache-Control"], "no-store");

  Response s = c.get("/api/session");
  json sj = body_json(s);
  EXPECT_EQ(sj["authenticated"], true);
  EXPECT_EQ(sj["user"]["name"], "alice");
  EXPECT_EQ(sj["visits"], 1) << "values survive the rotation";
  EXPECT_TRUE(sj["session"]["id_hint"].is_string());
  EXPECT_TRUE(sj["session"]["created_at"].is_string());

  // The token issued before the rotation no longer verifies; the new one does.
  EXPECT_EQ(c.post_json("/api/increment", "", stale_token).result_int(), 403);
  EXPECT_EQ(c.post_json("/api/increment", "", j["csrf_token"]).result_int(), 200);

  // The pre-login session is gone.
  HttpClient old = client();
  old.jar.set(kCookie, *before);
  EXPECT_EQ(body_json(old.get("/api/session"))["authenticated"], false);
}

TEST_F(DemoE2E, ConcurrentIncrementsAreExact) {
  HttpClient c = client();
  Response res = login(c, "bob", "builder");
  ASSERT_EQ(res.result_int(), 200);
  const std::string token = body_json(res)["csrf_token"];
  const std::int64_t start = body_json(c.get("/api/session"))["visits"];

  constexpr int kThreads = 16;
  constexpr int kTotal = 200;
  std::vector<std::vector<std::int64_t>> seen(kThreads);
  std::atomic<int> failures{0};
  std::vector<int> connects(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient mine = c;  // same cookies, own keep-alive connection
      const int n = kTotal / kThreads + (t < kTotal % kThreads ? 1 : 0);
      for (int i = 0; i < n; ++i) {
        try {
          Response r = mine.post_json("/api/increment", "", token);
          if (r.result_int() != 200) {
            ++failures;
            continue;
          }
          seen[t].push_back(json::parse(r.body())["visits"].get<std::int64_t>());
        } catch (const std::exception&) {
          ++failures;
        }
      }
      connects[t] = mine.connects();
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);

  std::vector<std::int64_t> all;
  for (auto& v : seen)
    all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kTotal));
  for (int i = 0; i < kTotal; ++i)
    EXPECT_EQ(all[i], start + i + 1);
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(connects[t], 1) << "keep-alive on thread " << t;

  EXPECT_EQ(body_json(c.get("/api/session"))["visits"], start + kTotal);
}

TEST_F(DemoE2E, ForgedCookiesAreNeverAdopted) {
  HttpClient alice = client();
  ASSERT_EQ(login(alice, "alice", "wonderland").result_int(), 200);
  const std::string real = *alice.jar.get(kCookie);

  // 1. Tampered signature (a character in the middle of it flipped).
  std::string tampered = real;
  std::size_t pos = tampered.size() - 10;
  tampered[pos] = tampered[pos] == 'A' ? 'B' : 'A';
  // 2. A well-formed random ID with a copied signature.
  std::string random_id = sessionkit::SessionId::generate().str() + real.substr(real.rfind('.'));
  // 3. A well-formed ID signed with the real secret, but unknown to the store (white box: the
  //    signing context is "cookie:<name>"; checked against the server's own cookie first).
  auto keyring = sessionkit::Keyring::parse(kSecret);
  ASSERT_TRUE(keyring.ok());
  ASSERT_EQ(keyring->sign(id_part(real), "cookie:sid"), real) << "signing context changed?";
  std::string unknown = keyring->sign(sessionkit::SessionId::generate().str(), "cookie:sid");

  const std::uint64_t before = active_sessions();
  for (const std::string& forged : {tampered, random_id, unknown}) {
    HttpClient c = client();
    c.jar.set(kCookie, forged);
    Response res = c.get("/api/session");
    ASSERT_EQ(res.result_int(), 200);
    json j = body_json(res);
    EXPECT_EQ(j["authenticated"], false) << forged;
    EXPECT_TRUE(j["session"]["id_hint"].is_null()) << forged;
    EXPECT_EQ(j["visits"], 0);
    const SetCookieLine* line = find_set_cookie(c, kCookie);
    if (line != nullptr) {
      EXPECT_TRUE(line->deletes) << "only a clearing cookie: " << line->raw;
    }
  }
  EXPECT_EQ(active_sessions(), before) << "reads with forged cookies store nothing";

  // A write with the unknown-but-signed ID creates a session under a FRESH ID (strict mode).
  HttpClient c = client();
  c.jar.set(kCookie, unknown);
  std::string token = csrf(c);
  Response inc = c.post_json("/api/increment", "", token);
  ASSERT_EQ(inc.result_int(), 200) << inc.body();
  EXPECT_EQ(body_json(inc)["visits"], 1);
  auto issued = c.jar.get(kCookie);
  ASSERT_TRUE(issued.has_value());
  EXPECT_NE(id_part(*issued), id_part(unknown));
}

TEST_F(DemoE2E, LogoutClearsTheCookie) {
  HttpClient c = client();
  Response res = login(c, "alice", "wonderland");
  ASSERT_EQ(res.result_int(), 200);
  const std::string cookie = *c.jar.get(kCookie);
  Response out = c.post_json("/api/logout", "", body_json(res)["csrf_token"]);
  ASSERT_EQ(out.result_int(), 200) << out.body();
  EXPECT_EQ(body_json(out), json({{"ok", true}}));
  const SetCookieLine* line = find_set_cookie(c, kCookie);
  ASSERT_NE(line, nullptr);
  EXPECT_TRUE(line->deletes);
  EXPECT_NE(line->raw.find("Max-Age=0"), std::string::npos) << line->raw;
  EXPECT_FALSE(c.jar.get(kCookie).has_value());

  HttpClient replay = client();
  replay.jar.set(kCookie, cookie);
  json j = body_json(replay.get("/api/session"));
  EXPECT_EQ(j["authenticated"], false);
  EXPECT_TRUE(j["session"]["id_hint"].is_null());
}

TEST_F(DemoE2E, ProtocolErrorsAndLimits) {
  HttpClient c = client();
  // Oversize header -> 431.
  Response big_header = c.get("/api/session", {{"X-Padding", std::string(9000, 'a')}});
  EXPECT_EQ(big_header.result_int(), 431);
  EXPECT_TRUE(body_json(big_header).contains("error"));
  EXPECT_EQ(big_header["X-Content-Type-Options"], "nosniff");
  // Oversize body -> 413.
  std::string token = csrf(c);
  Response big_body = c.post_json("/api/login", std::string(70 * 1024, ' '), token);
  EXPECT_EQ(big_body.result_int(), 413);
  EXPECT_TRUE(body_json(big_body).contains("error"));
  // Malformed request -> 400.
  Response malformed = c.raw("NOT A REQUEST\r\n\r\n");
  EXPECT_EQ(malformed.result_int(), 400);
  EXPECT_TRUE(body_json(malformed).contains("error"));
  // Unknown path, wrong method.
  Response missing = c.get("/nope");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_TRUE(body_json(missing).contains("error"));
  Response wrong = c.request(verb::delete_, "/api/session");
  EXPECT_EQ(wrong.result_int(), 405);
  EXPECT_EQ(wrong[bhttp::field::allow], "GET, HEAD");
  // The server is still fine.
  EXPECT_EQ(client().get("/healthz").result_int(), 200);
}

TEST_F(DemoE2E, HtmlFormsWork) {
  HttpClient c = client();
  Response page = c.get("/");
  ASSERT_EQ(page.result_int(), 200);
  EXPECT_NE(page[bhttp::field::content_type].find("text/html"), std::string::npos);
  EXPECT_NE(page.body().find(R"(action="/increment")"), std::string::npos);
  auto token = form_token(page.body());
  ASSERT_TRUE(token.has_value()) << page.body();

  Response inc = c.post_form("/increment", "_csrf=" + form_encode(*token));
  EXPECT_EQ(inc.result_int(), 303);
  EXPECT_EQ(inc[bhttp::field::location], "/");
  Response forged = c.post_form("/increment", "");
  EXPECT_EQ(forged.result_int(), 403);
  EXPECT_NE(forged[bhttp::field::content_type].find("text/html"), std::string::npos);

  page = c.get("/");
  EXPECT_NE(page.body().find(R"(id="visits">1<)"), std::string::npos);
  token = form_token(page.body());
  ASSERT_TRUE(token.has_value());
  Response bad =
      c.post_form("/login", "_csrf=" + form_encode(*token) + "&username=alice&password=nope");
  // HTML in, HTML out: the page with a notice and the status, and a fresh token in its forms.
  EXPECT_EQ(bad.result_int(), 401);
  EXPECT_NE(bad.body().find("Invalid user name or password"), std::string::npos);
  EXPECT_TRUE(form_token(bad.body()).has_value());

  Response good =
      c.post_form("/login", "_csrf=" + form_encode(*token) + "&username=alice&password=wonderland");
  EXPECT_EQ(good.result_int(), 303);
  page = c.get("/");
  EXPECT_NE(page.body().find("Signed in as <strong>alice</strong>"), std::string::npos);
  token = form_token(page.body());
  ASSERT_TRUE(token.has_value());
  Response out = c.post_form("/logout", "_csrf=" + form_encode(*token));
  EXPECT_EQ(out.result_int(), 303);
  EXPECT_FALSE(c.jar.get(kCookie).has_value());
}

TEST_F(DemoE2E, SessionSurvivesRestartOnSqlite) {
  HttpClient c = client();
  ASSERT_EQ(login(c, "alice", "wonderland").result_int(), 200);
  // An idle keep-alive connection must not hold up the shutdown.
  HttpClient idle = client();
  ASSERT_EQ(idle.get("/healthz").result_int(), 200);

  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(demo_->stop(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_NE(demo_->stderr_text().find("shutting down gracefully"), std::string::npos);

  start();  // same file, same secret
  HttpClient again(demo_->port());
  again.jar = c.jar;
  json j = body_json(again.get("/api/session"));
  EXPECT_EQ(j["authenticated"], true);
  EXPECT_EQ(j["user"]["name"], "alice");
}

// Holds SQLite's write lock on the demo's database from outside, so store writes fail (after
// the store's busy timeout) with errc::unavailable.
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const std::filesystem::path& db) {
    if (sqlite3_open(db.c_str(), &db_) != SQLITE_OK) throw std::runtime_error("sqlite3_open");
    sqlite3_busy_timeout(db_, 5000);
    if (sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("BEGIN EXCLUSIVE: ") + sqlite3_errmsg(db_));
    }
  }
  ~WriteLockHolder() {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
  }
  WriteLockHolder(const WriteLockHolder&) = delete;
  WriteLockHolder& operator=(const WriteLockHolder&) = delete;

 private:
  sqlite3* db_ = nullptr;
};

TEST_F(DemoE2E, StoreFailureIs503WithoutCookies) {
  HttpClient alice = client();
  Response login_res = login(alice, "alice", "wonderland");
  ASSERT_EQ(login_res.result_int(), 200);
  const std::string alice_token = body_json(login_res)["csrf_token"];
  const std::string alice_cookie = *alice.jar.get(kCookie);
  HttpClient anon = client();
  const std::string anon_token = csrf(anon);
  {
    WriteLockHolder lock(db_path());
    // A new session cannot be created: 503 and no cookie at all.
    Response created = anon.post_json("/api/increment", "", anon_token);
    EXPECT_EQ(created.result_int(), 503) << created.body();
    EXPECT_EQ(body_json(created), json({{"error", "session store unavailable"}}));
    EXPECT_TRUE(anon.last_set_cookies().empty());
    EXPECT_FALSE(anon.jar.get(kCookie).has_value());
    // An existing session cannot be written: 503, and its cookie is neither replaced nor
    // cleared.
    Response updated = alice.post_json("/api/increment", "", alice_token);
    EXPECT_EQ(updated.result_int(), 503) << updated.body();
    EXPECT_TRUE(alice.last_set_cookies().empty());
    EXPECT_EQ(alice.jar.get(kCookie), alice_cookie);
  }
  // The store is back: everything works again with the same cookie.
  Response again = alice.post_json("/api/increment", "", alice_token);
  EXPECT_EQ(again.result_int(), 200) << again.body();
  EXPECT_EQ(body_json(alice.get("/api/session"))["authenticated"], true);
}

TEST(DemoProduction, CookiesAreSecureAndHostPrefixed) {
  TempDir dir;
  DemoProcess demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--secret", kSecret,
                    "--threads", "1", "--mode", "production"},
                   dir.path(), "prod");
  HttpClient c(demo.port());
  Response anon = c.get("/api/session");
  ASSERT_EQ(anon.result_int(), 200);
  const SetCookieLine* pre = find_set_cookie(c, "__Host-sid-csrf");
  ASSERT_NE(pre, nullptr) << "pre-session CSRF cookie";
  EXPECT_NE(pre->raw.find("Secure"), std::string::npos) << pre->raw;
  Response res = c.post_json("/api/login", R"({"username":"bob","password":"builder"})",
                             body_json(anon)["csrf_token"]);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  const SetCookieLine* line = find_set_cookie(c, "__Host-sid");
  ASSERT_NE(line, nullptr);
  for (const char* attr : {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"}) {
    EXPECT_NE(line->raw.find(attr), std::string::npos) << attr << " in " << line->raw;
  }
  EXPECT_EQ(line->raw.find("Domain"), std::string::npos) << line->raw;
  EXPECT_EQ(demo.stop(), 0);
}

TEST(DemoStartup, RefusesBadConfiguration) {
  TempDir dir;
  const std::string store = "sqlite://" + (dir.path() / "s.db").string();
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"--mode", "production", "--store", store}, "secret"},
      {{"--mode", "production", "--secret", "short", "--store", store}, "at least 32"},
      {{"--store", "mongodb://localhost"}, "unknown store scheme"},
      {{"--listen", "nonsense"}, "HOST:PORT"},
      {{"--threads", "0"}, "threads"},
      {{"--mode", "staging"}, "mode"},
  };
  for (const auto& c : cases) {
    ExitResult r = run_demo_to_exit(c.args, dir.path());
    EXPECT_EQ(r.code, 2) << c.args.front() << ": " << r.err;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace e2e
