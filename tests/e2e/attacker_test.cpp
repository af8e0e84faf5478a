// End-to-end regressions of issue 21 ("what an outside attacker found"), against the real demo:
// each test replays a finding the way the penetration test did. (Framing: framing_test.cpp;
// URL redaction, file modes, secrets and /metrics: ops_hardening_test.cpp.)
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/crypto.h"
#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"
#include "e2e/password_race.h"

namespace e2e {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::unique_ptr<DemoProcess> start(const TempDir& dir, const std::string& store,
                                   std::vector<std::string> extra = {}) {
  std::vector<std::string> args = demo_args(store);
  args.insert(args.end(), extra.begin(), extra.end());
  return std::make_unique<DemoProcess>(std::move(args), dir.path(), "demo");
}

bool signed_in(HttpClient& c) {
  Response r = c.get("/api/session");
  return r.result_int() == 200 && body_json(r)["authenticated"] == true;
}

// ---- finding 1 (High): a login in flight survives a password change

void race_on(const std::string& store_name) {
  for (int run = 0; run < 3; ++run) {
    TempDir dir;
    const std::string store = store_name == "sqlite"
                                  ? "sqlite://" + (dir.path() / "sessions.db").string()
                                  : std::string("memory://");
    auto demo = start(dir, store, {std::string(kRaceThrottleOff)});
    RaceOutcome out = password_change_race(demo->port(), "wonderland", "looking-glass");
    EXPECT_EQ(out.survivors, 0) << "run " << run << ": " << out.survivors << " of "
                                << out.attacker_logins << " attacker sessions still signed in";
    EXPECT_GT(out.attacker_logins, 0) << "the attackers never got in: the race was not run";
    EXPECT_TRUE(out.victim_signed_in);
    EXPECT_EQ(demo->stop(), 0);
  }
}

TEST(Attacker, NoLoginWithTheOldPasswordSurvivesItsChangeOnMemory) {
  race_on("memory");
}
TEST(Attacker, NoLoginWithTheOldPasswordSurvivesItsChangeOnSqlite) {
  race_on("sqlite");
}

TEST(Attacker, SignOutEverywhereElseAlsoEndsLoginsInFlight) {
  TempDir dir;
  auto demo = start(dir, "memory://");
  HttpClient victim(demo->port()), thief(demo->port());
  ASSERT_EQ(login(victim, "alice", "wonderland").result_int(), 200);
  ASSERT_EQ(login(thief, "alice", "wonderland").result_int(), 200);
  const std::string thief_cookie = *thief.jar.get("sid");
  Response out = victim.post_json("/api/sessions/revoke-others", "", csrf(victim));
  ASSERT_EQ(out.result_int(), 200) << out.body();
  EXPECT_FALSE(signed_in(thief));
  EXPECT_TRUE(signed_in(victim));
  EXPECT_EQ(demo->stop(), 0);
}

// ---- finding 2: only the first X-Forwarded-For line was read; ip:port was not parsed

// GET /api/session with `cookie` and the given X-Forwarded-For lines, on the wire.
Response get_with_forwarded(HttpClient& c, const std::string& cookie,
                            const std::vector<std::string>& xff) {
  std::string req = "GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: e2e\r\n";
  req += "Cookie: sid=" + cookie + "\r\n";
  for (const auto& line : xff)
    req += "X-Forwarded-For: " + line + "\r\n";
  req += "Connection: close\r\n\r\n";
  return c.raw(req);
}

// Alice signs in through the (trusted) proxy, which reports her as `forwarded_for`; her cookie.
std::string sign_in_behind_proxy(std::uint16_t port, const std::string& forwarded_for) {
  HttpClient victim(port);
  const Headers at_home = {{"X-Forwarded-For", forwarded_for}};
  const std::string token = body_json(victim.get("/api/session", at_home)).value("csrf_token", "");
  Response in = victim.request(
      bhttp::verb::post, "/api/login", R"({"username":"alice","password":"wonderland"})",
      {{"Content-Type", "application/json"}, {"X-CSRF-Token", token}, at_home[0]});
  EXPECT_EQ(in.result_int(), 200) << in.body();
  return victim.jar.get("sid").value_or("");
}

TEST(Attacker, AThiefsOwnForwardedForLineDoesNotMakeHimTheVictim) {
  TempDir dir;
  auto demo = start(dir, "memory://", {"--bind", "ip", "--trusted-proxies", "127.0.0.1"});
  // The victim at 203.0.113.5, as the proxy reports it (with a port, as some proxies do).
  const std::string cookie = sign_in_behind_proxy(demo->port(), "203.0.113.5:51000");
  ASSERT_FALSE(cookie.empty());
  HttpClient probe(demo->port());
  // Same address, another source port: still the victim.
  Response again = get_with_forwarded(probe, cookie, {"203.0.113.5:60000"});
  ASSERT_EQ(again.result_int(), 200);
  EXPECT_EQ(body_json(again)["authenticated"], true);
  // The thief writes the victim's address as his own first line; the proxy appends his real one.
  Response thief = get_with_forwarded(probe, cookie, {"203.0.113.5", "198.51.100.9"});
  EXPECT_EQ(thief.result_int(), 403) << thief.body();
  EXPECT_EQ(demo->stop(), 0);
}

TEST(Attacker, AThiefAtAnotherIpAndPortIsRefused) {
  TempDir dir;
  auto demo = start(dir, "memory://", {"--bind", "ip", "--trusted-proxies", "127.0.0.1"});
  const std::string cookie = sign_in_behind_proxy(demo->port(), "[2001:db8::5]:443");
  ASSERT_FALSE(cookie.empty());
  HttpClient probe(demo->port());
  Response thief = get_with_forwarded(probe, cookie, {"198.51.100.9:5555"});
  EXPECT_EQ(thief.result_int(), 403) << thief.body();
  // A malformed address at the client position is a 400, never the proxy's address.
  Response garbage = get_with_forwarded(probe, "x", {"not-an-address"});
  EXPECT_EQ(garbage.result_int(), 400) << garbage.body();
  EXPECT_EQ(demo->stop(), 0);
}

// ---- finding 3: anyone can fill the store without logging in

std::uint64_t active_sessions(HttpClient& c) {
  const std::string m = c.get("/metrics").body();
  const std::string key = "\nsessionkit_sessions_active ";
  const auto at = m.find(key);
  return at == std::string::npos ? 0 : std::stoull(m.substr(at + key.size()));
}

TEST(Attacker, OnePreSessionTokenCannotFillTheStore) {
  TempDir dir;
  auto demo = start(dir, "memory://");  // default limit: 30 new anonymous sessions, 30/min
  HttpClient user(demo->port());
  ASSERT_EQ(login(user, "alice", "wonderland").result_int(), 200);
  HttpClient c(demo->port());
  const std::string token = csrf(c);
  const auto started = std::chrono::steady_clock::now();
  int created = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 1500; ++i) {
    c.jar.erase("sid");  // never send the session cookie back: every write would be a new record
    Response r = c.post_json("/api/increment", "", token);
    if (r.result_int() == 200) {
      ++created;
    } else {
      ASSERT_EQ(r.result_int(), 429) << r.body();
      retry_after = std::string(r[bhttp::field::retry_after]);
      ++limited;
    }
  }
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  EXPECT_LE(created, 30 + static_cast<int>(seconds) / 2 + 1) << "in " << seconds << " s";
  EXPECT_GE(limited, 1400);
  EXPECT_FALSE(retry_after.empty());
  // The anonymous ones, alice's session and her sign-in count (the anomaly detector's).
  EXPECT_LE(active_sessions(c), static_cast<std::uint64_t>(created) + 2);
  EXPECT_TRUE(signed_in(user)) << "the real user's session is untouched";
  EXPECT_EQ(demo->stop(), 0);
}

// ---- finding 4: password checks are an oracle and a choke point

TEST(Attacker, WrongReauthenticationsEndTheSession) {
  TempDir dir;
  auto demo = start(dir, "memory://");
  HttpClient thief(demo->port());
  ASSERT_EQ(login(thief, "alice", "wonderland").result_int(), 200);
  const std::string token = csrf(thief);
  int refused = 0;
  Response last;
  for (int i = 0; i < 40 && signed_in(thief); ++i) {
    last = thief.post_json("/api/reauth", R"({"password":"guess"})", token);
    if (last.result_int() == 403) ++refused;
  }
  EXPECT_EQ(refused, 4) << "the fifth wrong password ends the session";
  EXPECT_EQ(last.result_int(), 401) << last.body();
  EXPECT_FALSE(signed_in(thief));
  EXPECT_EQ(demo->stop(), 0);
}

TEST(Attacker, AFloodOfPasswordChecksIsRefusedNotQueued) {
  TempDir dir;
  // The hashing pool's bound on its own: the sign-in throttle (which would answer most of these
  // guesses 429 before any hashing) is off, as it is for guesses spread over many accounts.
  auto demo = start(dir, "memory://", {"--login-throttle=false"});
  std::atomic<int> busy{0}, other{0};
  std::atomic<bool> retry_after{true};
  std::vector<std::thread> guessers;
  for (int i = 0; i < 24; ++i) {
    guessers.emplace_back([&] {
      HttpClient g(demo->port());
      Response r = login(g, "alice", "guess");
      if (r.result_int() == 503) {
        ++busy;
        if (r[bhttp::field::retry_after].empty()) retry_after = false;
      } else if (r.result_int() != 401) {
        ++other;
      }
    });
  }
  for (auto& t : guessers)
    t.join();
  EXPECT_GT(busy.load(), 0) << "24 parallel checks on a 2-thread pool bounded at 8";
  EXPECT_TRUE(retry_after.load());
  EXPECT_EQ(other.load(), 0);
  HttpClient user(demo->port());
  EXPECT_EQ(login(user, "alice", "wonderland").result_int(), 200);
  EXPECT_EQ(demo->stop(), 0);
}

// ---- finding 5: the pre-session CSRF secret equalled the pre-session cookie's MAC

TEST(Attacker, ATokenForgedFromTheCsrfCookieIsRefused) {
  TempDir dir;
  auto demo = start(dir, "memory://");
  HttpClient c(demo->port());
  (void)csrf(c);
  const std::string cookie = c.jar.get("sid-csrf").value_or("");
  ASSERT_NE(cookie.find('.'), std::string::npos);
  std::array<std::uint8_t, 32> mac{};
  ASSERT_EQ(
      sessionkit::crypto::base64url_decode(cookie.substr(cookie.find('.') + 1), mac).value_or(0),
      32u);
  std::array<std::uint8_t, 64> forged{};
  for (std::size_t i = 0; i < 32; ++i) {
    forged[i] = static_cast<std::uint8_t>(0x5a ^ i);
    forged[32 + i] = forged[i] ^ mac[i];
  }
  Response r = c.post_json("/api/login", R"({"username":"alice","password":"wonderland"})",
                           sessionkit::crypto::base64url_encode(forged));
  EXPECT_EQ(r.result_int(), 403) << r.body();
  EXPECT_EQ(demo->stop(), 0);
}

// ---- finding 6: a planted dead session cookie shadowed the real one

TEST(Attacker, APlantedDeadSessionCookieDoesNotShadowTheRealOne) {
  TempDir dir;
  auto demo = start(dir, "memory://");
  HttpClient attacker(demo->port());
  ASSERT_EQ(login(attacker, "bob", "builder").result_int(), 200);
  const std::string dead = *attacker.jar.get("sid");
  ASSERT_EQ(attacker.post_json("/api/logout", "", csrf(attacker)).result_int(), 200);
  HttpClient victim(demo->port());
  ASSERT_EQ(login(victim, "alice", "wonderland").result_int(), 200);
  const std::string live = *victim.jar.get("sid");
  // The planted cookie comes first (a longer Path), each on its own Cookie line.
  HttpClient probe(demo->port());
  Response r = probe.raw("GET /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: sid=" + dead +
                         "\r\nCookie: sid=" + live + "\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(body_json(r)["authenticated"], true);
  EXPECT_EQ(body_json(r)["user"]["name"], "alice");
  EXPECT_EQ(r[bhttp::field::set_cookie].find("Max-Age=0"), std::string::npos)
      << "the victim's cookie is not deleted";
  EXPECT_TRUE(signed_in(victim));
  EXPECT_NE(demo->stderr_text().find("2 session cookies"), std::string::npos)
      << "the anomaly is logged with the count";
  EXPECT_EQ(demo->stop(), 0);
}

// ---- finding 8: session data carried over to another user

TEST(Attacker, TheNextUserOfABrowserInheritsNothing) {
  TempDir dir;
  auto demo = start(dir, "memory://");
  HttpClient shared(demo->port());
  ASSERT_EQ(login(shared, "alice", "wonderland").result_int(), 200);
  std::string token = csrf(shared);
  for (int i = 0; i < 5; ++i) {
    Response inc = shared.post_json("/api/increment", "", token);
    ASSERT_EQ(inc.result_int(), 200);
    token = body_json(inc).value("csrf_token", "");
  }
  EXPECT_EQ(body_json(shared.get("/api/session"))["visits"], 5);
  // Alice walks away; Bob signs in on the same browser.
  ASSERT_EQ(login(shared, "bob", "builder").result_int(), 200);
  json s = body_json(shared.get("/api/session"));
  EXPECT_EQ(s["user"]["name"], "bob");
  EXPECT_EQ(s["visits"], 0);
  EXPECT_EQ(demo->stop(), 0);
}

}  // namespace
}  // namespace e2e
