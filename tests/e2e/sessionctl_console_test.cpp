// sessionctl console (issue 16, deliverable 2, first slice) against a real SQLite store, driven
// over HTTP: not signed in, every page sends to the sign-in page; a wrong password is 401; the
// right one (checked against its argon2id hash from `sessionctl hash-password`) signs in with a
// new, HttpOnly, SameSite=Strict cookie; every answer carries the strict CSP; the overview counts
// the store; search by user uses the index; a session's page shows the payload redacted;
// revoking needs the CSRF token and a confirmation, and the session is gone for the apps;
// "revoke all" ends a user's sessions and no one else's; signing out ends the console session.
// With --scrape it reads a demo's /metrics and /events behind the metrics token. (Chromium
// drives the same pages, the live charts included, in tests/browser/console.test.mjs.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "e2e/sessionctl_run.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/http/form.h"
#include "sessionkit/stores/url.h"
#include "support/server_process.h"

namespace e2e {
namespace {

using namespace std::chrono_literals;
namespace sk = sessionkit;

constexpr const char* kPassword = "correct horse battery staple";

std::string csrf_of(const std::string& html) {
  std::smatch m;
  if (!std::regex_search(html, m, std::regex(R"re(name="_csrf" value="([^"]+)")re"))) return "";
  return m[1];
}

// `name=value&...`, each part encoded by the library's form_encode (sessionkit/http/form.h).
std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += sk::http::form_encode(k) + '=' + sk::http::form_encode(v);
  }
  return out;
}

// `sessionctl ARGS --listen 127.0.0.1:0 --admin-password-hash-file HASH` (the hash of
// kPassword, made by `sessionctl hash-password`), started and its port read; port 0 when it did
// not start. `tag` names its output file in `dir`: one per console.
struct Console {
  Console(const TempDir& dir, std::vector<std::string> args, const std::string& tag = "console")
      : process(make(dir, std::move(args)), dir.path(), tag,
                sk::testing::ServerProcess::RunAs::caller),
        port(wait_until_listening(process)) {}
  static std::vector<std::string> make(const TempDir& dir, std::vector<std::string> args) {
    const std::string hash = (dir.path() / "hash").string();
    if (!std::filesystem::exists(hash)) {
      auto hashed =
          sk::testing::run_program({"/bin/sh", "-c",
                                    std::string("printf '%s\\n' '") + kPassword + "' | " +
                                        SESSIONCTL_BINARY + " hash-password > '" + hash + "'"},
                                   dir.path());
      EXPECT_EQ(hashed.code, 0) << hashed.output;
    }
    args.insert(args.begin(), SESSIONCTL_BINARY);
    args.insert(args.end(), {"--listen", "127.0.0.1:0", "--admin-password-hash-file", hash});
    return args;
  }
  sk::testing::ServerProcess process;
  std::uint16_t port;
};

// Signs `c` in to the console; false (with a failure) when that did not work.
bool sign_in(HttpClient& c) {
  const std::string token = csrf_of(c.get("/login").body());
  const Response res =
      c.post_form("/login", form_encode({{"_csrf", token}, {"password", kPassword}}));
  EXPECT_EQ(res.result_int(), 303u) << res.body();
  return res.result_int() == 303u;
}

TEST(SessionctlConsole, SignInSearchShowAndRevoke) {
  TempDir dir;
  const std::string url = "sqlite://" + (dir.path() / "s.db").string();
  auto backend = sk::open_store_url(url);
  ASSERT_TRUE(backend.ok());
  sk::BlockingStore store(*backend->store);
  auto add = [&](const std::string& user, nlohmann::json data) {
    const sk::SessionKey key = sk::SessionKey::of(sk::SessionId::generate());
    sk::SessionRecord r;
    r.start(sk::SystemClock{}.now(), 30min, 12h);
    r.user_id = user;
    r.data = std::move(data);
    EXPECT_TRUE(store.create(key, r).ok());
    return key;
  };
  const sk::SessionKey alice1 = add("alice", {{"note", "secret-note-value"}});
  const sk::SessionKey alice2 = add("alice", {{"theme", "dark"}});
  const sk::SessionKey bob = add("bob", {{"visits", 3}});

  Console console(dir, {"--store", url, "console"});
  const std::uint16_t port = console.port;
  ASSERT_NE(port, 0) << console.process.output();

  HttpClient c(port);
  Response res = c.get("/");
  EXPECT_EQ(res.result_int(), 303u);
  EXPECT_EQ(res["Location"], "/login");
  res = c.get("/login");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res["Content-Security-Policy"],
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  EXPECT_EQ(res["X-Frame-Options"], "DENY");
  EXPECT_EQ(res["Cache-Control"], "no-store");
  std::string token = csrf_of(res.body());
  ASSERT_FALSE(token.empty()) << res.body();
  const std::string anonymous = c.jar.get("sessionctl_console").value_or("");

  res = c.post_form("/login", form_encode({{"_csrf", token}, {"password", "not it"}}));
  EXPECT_EQ(res.result_int(), 401u) << res.body();
  res = c.post_form("/login", form_encode({{"password", kPassword}}));
  EXPECT_EQ(res.result_int(), 403u) << "no CSRF token";
  res = c.post_form("/login", form_encode({{"_csrf", token}, {"password", kPassword}}));
  ASSERT_EQ(res.result_int(), 303u) << res.body();
  EXPECT_EQ(res["Location"], "/");
  bool strict = false;
  for (const SetCookieLine& l : c.last_set_cookies()) {
    if (l.name == "sessionctl_console" && !l.deletes) {
      strict = l.raw.find("HttpOnly") != std::string::npos &&
               l.raw.find("SameSite=Strict") != std::string::npos;
    }
  }
  EXPECT_TRUE(strict) << "a new HttpOnly, SameSite=Strict cookie";
  EXPECT_NE(c.jar.get("sessionctl_console").value_or(""), anonymous) << "a new session ID";

  res = c.get("/");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_NE(res.body().find("sessions<b>3</b>"), std::string::npos) << res.body();
  EXPECT_NE(res.body().find("users<b>2</b>"), std::string::npos);

  res = c.get("/search?user=alice");
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_NE(res.body().find("2 sessions of user alice (the user index)"), std::string::npos);
  EXPECT_NE(res.body().find("/session/" + alice1.hex()), std::string::npos);
  EXPECT_EQ(res.body().find("/session/" + bob.hex()), std::string::npos);
  res = c.get("/search?key=" + bob.hex().substr(0, 10));
  EXPECT_NE(res.body().find("/session/" + bob.hex()), std::string::npos) << res.body();
  EXPECT_EQ(c.get("/search?key=XYZ").result_int(), 400u);

  res = c.get("/session/" + alice1.hex());
  ASSERT_EQ(res.result_int(), 200u);
  EXPECT_EQ(res.body().find("secret-note-value"), std::string::npos) << "redacted";
  EXPECT_NE(res.body().find("<td>note</td><td>string</td>"), std::string::npos) << res.body();
  EXPECT_EQ(c.get("/session/" + std::string(64, 'a')).result_int(), 404u);

  token = csrf_of(c.get("/session/" + alice1.hex() + "/revoke").body());
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(c.post_form("/session/" + alice1.hex() + "/revoke", "").result_int(), 403u);
  EXPECT_TRUE(store.load(alice1).value().has_value()) << "nothing without the token";
  res = c.post_form("/session/" + alice1.hex() + "/revoke", form_encode({{"_csrf", token}}));
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_NE(res.body().find("The session has ended."), std::string::npos);
  EXPECT_FALSE(store.load(alice1).value().has_value());

  res = c.get("/revoke-user?user=alice");
  EXPECT_NE(res.body().find("End all 1 sessions of user alice"), std::string::npos) << res.body();
  res =
      c.post_form("/revoke-user", form_encode({{"_csrf", csrf_of(res.body())}, {"user", "alice"}}));
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_NE(res.body().find("1 sessions of user alice ended."), std::string::npos);
  EXPECT_FALSE(store.load(alice2).value().has_value());
  EXPECT_TRUE(store.load(bob).value().has_value()) << "no one else's";

  res = c.post_form("/logout", form_encode({{"_csrf", csrf_of(c.get("/").body())}}));
  EXPECT_EQ(res.result_int(), 303u);
  EXPECT_EQ(c.get("/").result_int(), 303u) << "signed out";
  c.close();  // else the server waits for the idle keep-alive connection to time out
  EXPECT_EQ(console.process.stop(), 0) << console.process.output();
}

// Without an admin password hash the console does not start (exit 2, saying how to make one).
TEST(SessionctlConsole, RefusesToStartWithoutAPasswordHash) {
  TempDir dir;
  Ran r = run_sessionctl(dir, {"--store", "sqlite://" + (dir.path() / "s.db").string(), "console",
                               "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.err.find("sessionctl hash-password"), std::string::npos) << r.output;
}

// --scrape: a demo whose /metrics and /events need its metrics token. The console given the
// token (--scrape-token-file) charts it and lists its events; one given another token shows the
// instance as refusing (HTTP 401), never as empty figures.
TEST(SessionctlConsole, ScrapesADemoBehindItsMetricsToken) {
  TempDir dir;
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.path() / name) << text << "\n";
    std::filesystem::permissions(dir.path() / name, std::filesystem::perms::owner_read |
                                                        std::filesystem::perms::owner_write);
    return (dir.path() / name).string();
  };
  const std::string token = write("token", "scrape-token-0123456789abcdef0123");
  const std::string wrong = write("wrong", "another-token-0123456789abcdef0123");
  DemoProcess demo({"--listen", "127.0.0.1:0", "--store", "memory://", "--metrics-token-file",
                    token, "--anonymous-session-burst", "0"},
                   dir.path(), "demo");
  {  // one session created: a lifecycle event for /events
    HttpClient d(demo.port());
    const std::string csrf = nlohmann::json::parse(d.get("/api/session").body())["csrf_token"];
    ASSERT_EQ(d.post_json("/api/increment", "", csrf).result_int(), 200u);
  }
  const std::string target = "http://127.0.0.1:" + std::to_string(demo.port());
  Console good(dir, {"--store", "memory://", "console", "--scrape", target, "--scrape-token-file",
                     token, "--scrape-interval", "0.2"});
  Console bad(dir,
              {"--store", "memory://", "console", "--scrape", target, "--scrape-token-file", wrong,
               "--scrape-interval", "0.2"},
              "console-wrong-token");
  ASSERT_NE(good.port, 0) << good.process.output();
  ASSERT_NE(bad.port, 0) << bad.process.output();

  // The series once at least two scrapes were made (rates need two).
  auto series_after_scrapes = [](HttpClient& c) {
    nlohmann::json j;
    for (int i = 0; i < 100; ++i) {
      const Response res = c.get("/api/series");
      EXPECT_EQ(res.result_int(), 200u) << res.body();
      EXPECT_EQ(res["Content-Type"], "application/json");
      j = nlohmann::json::parse(res.body(), nullptr, false);
      if (j.is_object() && j["points"].size() >= 3) break;
      std::this_thread::sleep_for(100ms);
    }
    return j;
  };
  HttpClient g(good.port);
  EXPECT_EQ(g.get("/api/series").result_int(), 401u) << "signed out: 401, not a redirect";
  ASSERT_TRUE(sign_in(g));
  const nlohmann::json ok = series_after_scrapes(g);
  ASSERT_GE(ok["points"].size(), 3u) << ok.dump();
  EXPECT_EQ(ok["interval_ms"], 200);
  EXPECT_EQ(ok["targets"][0]["url"], target);
  EXPECT_EQ(ok["targets"][0]["up"], true) << ok.dump();
  EXPECT_EQ(ok["targets"][0]["events_error"], "") << ok.dump();
  const nlohmann::json& last = ok["points"].back();
  EXPECT_GE(last["active"].get<double>(), 1) << last.dump();
  EXPECT_TRUE(last["created_per_min"].is_number()) << last.dump();
  const Response events = g.get("/events?type=created");
  EXPECT_EQ(events.result_int(), 200u);
  EXPECT_NE(events.body().find("<td>created</td>"), std::string::npos) << events.body();
  EXPECT_NE(events.body().find(target), std::string::npos);
  EXPECT_EQ(g.get("/events?type=expired").body().find("<td>created</td>"), std::string::npos)
      << "the type filter";

  HttpClient b(bad.port);
  ASSERT_TRUE(sign_in(b));
  const nlohmann::json refused = series_after_scrapes(b);
  EXPECT_EQ(refused["targets"][0]["up"], false) << refused.dump();
  EXPECT_NE(refused["targets"][0]["error"].get<std::string>().find("HTTP 401"), std::string::npos)
      << refused.dump();
  EXPECT_NE(refused["targets"][0]["events_error"].get<std::string>().find("HTTP 401"),
            std::string::npos);
  EXPECT_TRUE(refused["points"].back()["active"].is_null()) << "unknown, not 0";
  EXPECT_TRUE(refused["points"].back()["created_per_min"].is_null());

  g.close();
  b.close();
  EXPECT_EQ(good.process.stop(), 0) << good.process.output();
  EXPECT_EQ(bad.process.stop(), 0) << bad.process.output();
}

}  // namespace
}  // namespace e2e
