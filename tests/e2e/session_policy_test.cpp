// End-to-end: the demo's opt-in session policies — client binding (--bind), re-authentication
// before sensitive actions (--reauth-after, POST /api/reauth) and the per-user cap
// (--max-sessions-per-user).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"

namespace e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::unique_ptr<DemoProcess> start_demo(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = demo_args("memory://");
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<DemoProcess>(std::move(args), dir.path(), "demo");
}

// Signs `c` in, sending `headers` on every request; answers the CSRF token.
std::string sign_in(HttpClient& c, const Headers& headers, const std::string& user = "alice",
                    const std::string& password = "wonderland") {
  const std::string token = body_json(c.get("/api/session", headers)).value("csrf_token", "");
  Headers h = headers;
  h.emplace_back("Content-Type", "application/json");
  h.emplace_back("X-CSRF-Token", token);
  Response res = c.request(bhttp::verb::post, "/api/login",
                           json{{"username", user}, {"password", password}}.dump(), h);
  EXPECT_EQ(res.result_int(), 200) << res.body();
  return body_json(res).value("csrf_token", "");
}

bool signed_in(HttpClient& c, const Headers& headers = {}) {
  Response res = c.get("/api/session", headers);
  return res.result_int() == 200 && body_json(res)["authenticated"] == true;
}

// The text between `open` and the next `close` at or after `from`; npos-safe. (No std::regex:
// g++ 12 warns inside <regex> under the sanitizer preset.)
std::string between(const std::string& text, std::string_view open, std::string_view close,
                    std::size_t& from) {
  const std::size_t at = text.find(open, from);
  if (at == std::string::npos) {
    from = std::string::npos;
    return {};
  }
  const std::size_t begin = at + open.size();
  const std::size_t end = text.find(close, begin);
  from = end == std::string::npos ? std::string::npos : end + close.size();
  return end == std::string::npos ? std::string() : text.substr(begin, end - begin);
}

// The HTML page's "your active sessions" table: (handle, is this browser) per row.
std::vector<std::pair<std::string, bool>> session_rows(const std::string& html) {
  std::vector<std::pair<std::string, bool>> out;
  std::size_t from = 0;
  for (;;) {
    std::string handle = between(html, R"(name="handle" value=")", "\"", from);
    if (from == std::string::npos) break;
    const std::string label = between(html, R"(<button type="submit">)", "</button>", from);
    if (from == std::string::npos) break;
    out.emplace_back(handle, label.find("this browser") != std::string::npos);
  }
  return out;
}

std::string page_csrf(const std::string& html) {
  std::size_t from = 0;
  return between(html, R"(name="_csrf" value=")", "\"", from);
}

TEST(Binding, AStolenCookieFromAnotherBrowserEndsTheSessionWith403) {
  TempDir dir;
  auto demo = start_demo(dir, {"--bind", "fingerprint"});
  const Headers firefox = {{"User-Agent", "Firefox/140"}};
  HttpClient owner(demo->port());
  sign_in(owner, firefox);
  ASSERT_TRUE(signed_in(owner, firefox));

  HttpClient thief(demo->port());
  thief.jar.set("sid", *owner.jar.get("sid"));
  Response refused = thief.get("/api/session", {{"User-Agent", "curl/8.5"}});
  EXPECT_EQ(refused.result_int(), 403) << refused.body();
  EXPECT_NE(body_json(refused).value("error", "").find("bound to another client"),
            std::string::npos);
  EXPECT_FALSE(thief.jar.get("sid").has_value()) << "the refused cookie is cleared";
  EXPECT_FALSE(signed_in(owner, firefox)) << "the session is destroyed, not just refused";
  EXPECT_NE(demo->stderr_text().find("anomaly"), std::string::npos) << demo->stderr_text();

  // Without binding the same theft works: binding is what stopped it.
  TempDir dir2;
  auto open = start_demo(dir2, {});
  HttpClient owner2(open->port());
  sign_in(owner2, firefox);
  HttpClient thief2(open->port());
  thief2.jar.set("sid", *owner2.jar.get("sid"));
  EXPECT_TRUE(signed_in(thief2, {{"User-Agent", "curl/8.5"}}));
  EXPECT_EQ(open->stop(), 0);
  EXPECT_EQ(demo->stop(), 0);
}

TEST(Binding, IpBindingFollowsTheClientAddressSeenThroughATrustedProxy) {
  TempDir dir;
  auto demo = start_demo(dir, {"--bind", "ip", "--trusted-proxies", "127.0.0.1"});
  const Headers home = {{"X-Forwarded-For", "198.51.100.7"}};
  HttpClient c(demo->port());
  const std::string token = sign_in(c, home);
  EXPECT_TRUE(signed_in(c, home));
  EXPECT_TRUE(signed_in(c, {{"X-Forwarded-For", "198.51.100.7"}, {"User-Agent", "changed"}}))
      << "only the address is bound";
  Response moved = c.get("/api/session", {{"X-Forwarded-For", "203.0.113.9"}});
  EXPECT_EQ(moved.result_int(), 403) << moved.body();
  EXPECT_FALSE(signed_in(c, home));
  EXPECT_EQ(demo->stop(), 0);
}

TEST(Binding, RejectsAnUnknownMode) {
  TempDir dir;
  ExitResult bad = run_demo_to_exit({"--bind", "cookie"}, dir.path());
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--bind"), std::string::npos) << bad.err;
}

TEST(Reauthentication, SensitiveActionsNeedARecentPassword) {
  TempDir dir;
  auto demo = start_demo(dir, {"--reauth-after", "1"});
  HttpClient laptop(demo->port()), phone(demo->port());
  const std::string token = sign_in(laptop, {});
  sign_in(phone, {});
  std::this_thread::sleep_for(1500ms);

  Response stale = laptop.post_json("/api/sessions/revoke-others", "", token);
  EXPECT_EQ(stale.result_int(), 401) << stale.body();
  EXPECT_EQ(body_json(stale)["reauthenticate"], "/api/reauth");
  EXPECT_TRUE(signed_in(phone)) << "nothing was revoked";
  EXPECT_TRUE(signed_in(laptop)) << "a stale authentication is not a logout";

  EXPECT_EQ(laptop.post_json("/api/reauth", R"({"password":"wonderland"})", "").result_int(), 403)
      << "CSRF token required";
  EXPECT_EQ(laptop.post_json("/api/reauth", R"({"password":"wrong"})", token).result_int(), 403);
  EXPECT_EQ(laptop.post_json("/api/reauth", R"({"pass":"wonderland"})", token).result_int(), 400);
  const std::string before = *laptop.jar.get("sid");
  Response fresh = laptop.post_json("/api/reauth", R"({"password":"wonderland"})", token);
  ASSERT_EQ(fresh.result_int(), 200) << fresh.body();
  EXPECT_TRUE(body_json(fresh).contains("reauthenticated_at"));
  EXPECT_EQ(*laptop.jar.get("sid"), before) << "re-authentication keeps the session";

  Response ok = laptop.post_json("/api/sessions/revoke-others", "", token);
  ASSERT_EQ(ok.result_int(), 200) << ok.body();
  EXPECT_EQ(body_json(ok)["revoked"], 1);
  EXPECT_FALSE(signed_in(phone));

  HttpClient anon(demo->port());
  const std::string t = body_json(anon.get("/api/session")).value("csrf_token", "");
  EXPECT_EQ(anon.post_json("/api/reauth", R"({"password":"wonderland"})", t).result_int(), 401);
  EXPECT_EQ(demo->stop(), 0);
}

TEST(SessionCap, ALoginBeyondTheCapEndsTheOldestSession) {
  TempDir dir;
  auto demo = start_demo(dir, {"--max-sessions-per-user", "2"});
  HttpClient first(demo->port()), second(demo->port()), third(demo->port()), bob(demo->port());
  sign_in(first, {{"User-Agent", "first"}});
  std::this_thread::sleep_for(20ms);  // distinct creation times (millisecond resolution)
  sign_in(second, {{"User-Agent", "second"}});
  sign_in(bob, {}, "bob", "builder");
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(signed_in(first));
  sign_in(third, {{"User-Agent", "third"}});

  EXPECT_FALSE(signed_in(first)) << "the oldest was evicted";
  EXPECT_TRUE(signed_in(second));
  EXPECT_TRUE(signed_in(third));
  EXPECT_TRUE(signed_in(bob)) << "other users are untouched";
  Response listed = third.get("/api/sessions");
  ASSERT_EQ(listed.result_int(), 200);
  EXPECT_EQ(body_json(listed)["sessions"].size(), 2u);
  EXPECT_EQ(demo->stop(), 0);
}

TEST(SessionsPage, ListsYourSessionsAndEndsThemWithForms) {
  TempDir dir;
  auto demo = start_demo(dir, {"--reauth-after", "6"});
  HttpClient laptop(demo->port()), phone(demo->port()), tablet(demo->port());
  sign_in(laptop, {{"User-Agent", "laptop"}});
  sign_in(phone, {{"User-Agent", "<script>alert(1)</script>"}});
  sign_in(tablet, {{"User-Agent", "tablet"}});

  Response page = laptop.get("/");
  ASSERT_EQ(page.result_int(), 200);
  EXPECT_NE(page.body().find("Your active sessions"), std::string::npos);
  EXPECT_EQ(page.body().find("<script>alert"), std::string::npos) << "user agents are escaped";
  EXPECT_NE(page.body().find("&lt;script&gt;"), std::string::npos);
  auto rows = session_rows(page.body());
  ASSERT_EQ(rows.size(), 3u) << page.body();
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(), [](auto& r) { return r.second; }), 1);
  EXPECT_TRUE(rows[2].second) << "newest first: the laptop signed in first";
  const std::string phone_handle = rows[1].first;  // the phone signed in second
  const std::string token = page_csrf(page.body());

  EXPECT_EQ(laptop.post_form("/sessions/revoke", "handle=" + phone_handle).result_int(), 403)
      << "the form needs its CSRF token";
  Response revoked = laptop.post_form("/sessions/revoke",
                                      "_csrf=" + form_encode(token) + "&handle=" + phone_handle);
  EXPECT_EQ(revoked.result_int(), 303) << revoked.body();
  EXPECT_FALSE(signed_in(phone));
  EXPECT_TRUE(signed_in(tablet));

  // Later, "sign out everywhere else" asks for the password first.
  std::this_thread::sleep_for(6500ms);
  Response stale = laptop.post_form("/sessions/revoke-others", "_csrf=" + form_encode(token));
  ASSERT_EQ(stale.result_int(), 401);  // the page, asking for the password
  EXPECT_NE(stale.body().find("action=\"/reauth\""), std::string::npos);
  EXPECT_TRUE(signed_in(tablet));
  Response wrong = laptop.post_form("/reauth", "_csrf=" + form_encode(token) + "&password=nope");
  EXPECT_EQ(wrong.result_int(), 403);
  EXPECT_NE(wrong.body().find("Wrong password."), std::string::npos);
  EXPECT_NE(wrong.body().find("action=\"/reauth\""), std::string::npos);
  Response confirmed =
      laptop.post_form("/reauth", "_csrf=" + form_encode(token) + "&password=wonderland");
  EXPECT_EQ(confirmed[bhttp::field::location], "/");
  Response others = laptop.post_form("/sessions/revoke-others", "_csrf=" + form_encode(token));
  EXPECT_EQ(others[bhttp::field::location], "/?done=revoke-others");
  EXPECT_FALSE(signed_in(tablet));
  EXPECT_TRUE(signed_in(laptop));

  // The own row's button is a logout.
  rows = session_rows(laptop.get("/").body());
  ASSERT_EQ(rows.size(), 1u);
  laptop.post_form("/sessions/revoke", "_csrf=" + form_encode(token) + "&handle=" + rows[0].first);
  EXPECT_FALSE(laptop.jar.get("sid").has_value());
  EXPECT_FALSE(signed_in(laptop));
  EXPECT_EQ(demo->stop(), 0);
}

TEST(Janitor, OneSweepDrainsEverySessionThatExpired) {
  // 1,100 sessions (more than one purge batch of 1,000) expire before the first sweep; that
  // sweep deletes all of them, not one batch per interval. Timeline: created within the first
  // 5 s, all expired 5 s later, the sweep at 12 s. Under ThreadSanitizer the same timeline at
  // three times the scale (creating them took 7.7 s there on a loaded 2-core machine).
#if defined(__SANITIZE_THREAD__)
  constexpr int kScale = 3;
#else
  constexpr int kScale = 1;
#endif
  TempDir dir;
  const std::string timeout = std::to_string(5 * kScale);
  auto demo = start_demo(
      dir, {"--idle-timeout", timeout, "--absolute-timeout", timeout, "--janitor-interval",
            std::to_string(12 * kScale), "--anonymous-session-burst", "0"});
  const auto started = std::chrono::steady_clock::now();
  HttpClient c(demo->port());
  const std::string token = body_json(c.get("/api/session")).value("csrf_token", "");
  constexpr int kSessions = 1100;
  for (int i = 0; i < kSessions; ++i) {
    c.jar.erase("sid");  // every increment without a session creates one
    ASSERT_EQ(c.post_json("/api/increment", "", token).result_int(), 200);
  }
  ASSERT_LT(std::chrono::steady_clock::now() - started, 5s * kScale)
      << "creating the sessions took too long for this timeline";
  auto active = [&] {
    const std::string m = c.get("/metrics").body();
    const std::string key = "\nsessionkit_sessions_active ";
    const std::size_t at = m.find(key);
    return at == std::string::npos ? -1L : std::stol(m.substr(at + key.size()));
  };
  EXPECT_EQ(active(), kSessions);
  constexpr std::string_view kPurged = "janitor: purged ";
  std::string log;
  for (int i = 0; i < 250 * kScale && log.find(kPurged) == std::string::npos; ++i) {
    std::this_thread::sleep_for(100ms);
    log = demo->stderr_text();
  }
  const std::size_t at = log.find(kPurged);
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_EQ(std::stoi(log.substr(at + kPurged.size())), kSessions) << log;
  EXPECT_EQ(active(), 0);
  EXPECT_EQ(demo->stop(), 0);
}

}  // namespace
}  // namespace e2e
