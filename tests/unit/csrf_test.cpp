// CSRF tokens: bound to the session (or to a signed pre-session cookie), masked per call.
#include <gtest/gtest.h>

#include <array>

#include "crypto/crypto.h"
#include "sessionkit/manager.h"
#include "sessionkit/stores/memory.h"
#include "support/http_fakes.h"

namespace sessionkit {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;

class CsrfTest : public ::testing::Test {
 protected:
  CsrfTest()
      : manager_(std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_}),
                 Keyring::parse("0123456789abcdef0123456789abcdef").value(),
                 SessionOptions::development(),
                 SessionManager::Dependencies{&clock_, make_null_sink(), nullptr, nullptr}) {}

  Session load(const std::string& cookie) {
    FakeRequest req(cookie);
    Session out;
    manager_.load(req, [&](Result<Session> r) {
      ASSERT_TRUE(r.ok());
      out = std::move(r).value();
    });
    return out;
  }

  // Commits; answers the Cookie header a browser would send next.
  std::string commit(Session& s, std::string jar = "") {
    FakeResponse res;
    manager_.commit(s, res, [](Status st) { ASSERT_TRUE(st.ok()); });
    return cookies_of(res, std::move(jar));
  }

  // `jar` updated by the response's Set-Cookie lines, as a browser would (same name replaces,
  // Max-Age=0 deletes).
  static std::string cookies_of(const FakeResponse& res, std::string jar = "") {
    std::vector<std::pair<std::string, std::string>> cookies;
    std::string_view rest = jar;
    while (!rest.empty()) {
      std::string_view item = rest.substr(0, rest.find("; "));
      rest = item.size() == rest.size() ? std::string_view() : rest.substr(item.size() + 2);
      const auto eq = item.find('=');
      cookies.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
    }
    for (const auto& line : res.all("Set-Cookie")) {
      const std::string pair = line.substr(0, line.find(';'));
      const std::string name = pair.substr(0, pair.find('='));
      std::erase_if(cookies, [&](const auto& c) { return c.first == name; });
      if (line.find("Max-Age=0") == std::string::npos) {
        cookies.emplace_back(name, pair.substr(pair.find('=') + 1));
      }
    }
    jar.clear();
    for (const auto& [name, value] : cookies) {
      if (!jar.empty()) jar += "; ";
      jar += name + "=" + value;
    }
    return jar;
  }

  ManualClock clock_;
  SessionManager manager_;
};

TEST_F(CsrfTest, AnonymousTokenWritesItsOwnCookieInAnyOrder) {
  // Before commit: the token call writes the browser's CSRF cookie itself.
  Session s = load("");
  FakeResponse res;
  std::string token = manager_.csrf_token(s, res);
  EXPECT_EQ(token.size(), 86u);
  std::string jar = cookies_of(res);
  EXPECT_NE(jar.find("sid-csrf="), std::string::npos);
  jar = commit(s, jar);
  EXPECT_EQ(jar.find("sid="), std::string::npos);  // no session for a reader
  Session next = load(jar);
  EXPECT_TRUE(manager_.verify_csrf(next, token));
  Session stranger = load("");
  EXPECT_FALSE(manager_.verify_csrf(stranger, token));
  EXPECT_EQ(manager_.metrics().csrf_failures, 1u);

  // After commit (the order that used to break): the cookie still reaches the browser.
  Session late = load("");
  std::string late_jar = commit(late);
  FakeResponse late_res;
  std::string late_token = manager_.csrf_token(late, late_res);
  late_jar = cookies_of(late_res, late_jar);
  EXPECT_TRUE(manager_.verify_csrf(load(late_jar), late_token));
}

TEST_F(CsrfTest, TokensAreMaskedPerCallAndAllVerify) {
  Session s = load("");
  s.set("x", 1);
  std::string jar = commit(s);
  Session live = load(jar);
  FakeResponse res;
  std::string a = manager_.csrf_token(live, res);
  std::string b = manager_.csrf_token(live, res);
  EXPECT_NE(a, b);  // BREACH: never the same bytes twice
  EXPECT_TRUE(manager_.verify_csrf(live, a));
  EXPECT_TRUE(manager_.verify_csrf(live, b));
}

TEST_F(CsrfTest, SessionTokenIsBoundToTheSession) {
  Session s1 = load("");
  s1.set("x", 1);
  std::string jar1 = commit(s1);
  Session s2 = load("");
  s2.set("x", 2);
  std::string jar2 = commit(s2);
  Session a = load(jar1);
  Session b = load(jar2);
  FakeResponse res;
  std::string token_a = manager_.csrf_token(a, res);
  EXPECT_TRUE(manager_.verify_csrf(a, token_a));
  EXPECT_FALSE(manager_.verify_csrf(b, token_a));
}

// Issue 13: two tabs load the page as visitors; the first write in tab A creates the session;
// tab B's token, issued before that, still works (it used to die with a 403).
TEST_F(CsrfTest, ATokenSurvivesTheFirstWriteOfAnotherTab) {
  Session page_a = load("");
  FakeResponse res_a;
  std::string token_a = manager_.csrf_token(page_a, res_a);
  std::string jar = commit(page_a, cookies_of(res_a));
  Session page_b = load(jar);  // tab B loads the page with the same cookies
  FakeResponse res_b;
  std::string token_b = manager_.csrf_token(page_b, res_b);
  jar = commit(page_b, cookies_of(res_b, jar));

  Session write_a = load(jar);
  ASSERT_TRUE(manager_.verify_csrf(write_a, token_a));
  write_a.set("visits", 1);
  jar = commit(write_a, jar);
  ASSERT_NE(jar.find("sid="), std::string::npos);

  Session write_b = load(jar);
  ASSERT_TRUE(write_b.is_stored());
  EXPECT_TRUE(manager_.verify_csrf(write_b, token_b));
  EXPECT_TRUE(manager_.verify_csrf(write_b, token_a));
  // ... and across a rotation that is not a sign-in.
  write_b.regenerate();
  jar = commit(write_b, jar);
  EXPECT_TRUE(manager_.verify_csrf(load(jar), token_b));
}

TEST_F(CsrfTest, SigningInStartsANewSecret) {
  Session s = load("");
  s.set("x", 1);
  std::string jar = commit(s);
  Session live = load(jar);
  FakeResponse res;
  std::string before = manager_.csrf_token(live, res);
  live.regenerate();
  live.set_user("alice");
  FakeResponse res2;
  std::string after = manager_.csrf_token(live, res2);  // after set_user, before commit
  jar = commit(live, cookies_of(res2, jar));
  Session next = load(jar);
  EXPECT_FALSE(manager_.verify_csrf(next, before));
  EXPECT_TRUE(manager_.verify_csrf(next, after));
  FakeResponse res3;
  EXPECT_TRUE(manager_.verify_csrf(next, manager_.csrf_token(next, res3)));
  // The browser's CSRF cookie follows the new secret, so after the session ends the page
  // loaded while signed in still works as a visitor's.
  next.destroy();
  jar = commit(next, jar);
  Session visitor = load(jar);
  EXPECT_FALSE(visitor.is_stored());
  EXPECT_TRUE(manager_.verify_csrf(visitor, after));
  EXPECT_FALSE(manager_.verify_csrf(visitor, before));
}

// Issue 21, finding 5: the pre-session cookie is `seed.MAC(seed)`; the secret used to be that
// very MAC, so a token could be forged offline from the cookie's value.
TEST_F(CsrfTest, TheCsrfCookieDoesNotRevealTheSecret) {
  Session s = load("");
  FakeResponse res;
  (void)manager_.csrf_token(s, res);
  const std::string jar = cookies_of(res);
  const std::string value = jar.substr(jar.find("sid-csrf=") + 9);
  const std::string mac_text = value.substr(value.find('.') + 1);
  std::array<std::uint8_t, 32> mac{};
  ASSERT_EQ(crypto::base64url_decode(mac_text, mac).value_or(0), 32u);
  std::array<std::uint8_t, 64> forged{};
  for (std::size_t i = 0; i < 32; ++i) {
    forged[i] = static_cast<std::uint8_t>(i * 7 + 1);
    forged[32 + i] = forged[i] ^ mac[i];
  }
  EXPECT_FALSE(manager_.verify_csrf(load(jar), crypto::base64url_encode(forged)));
}

TEST_F(CsrfTest, APlantedCsrfCookieCannotChangeALiveSessionsSecret) {
  Session s = load("");
  s.set("x", 1);
  std::string jar = commit(s);
  Session live = load(jar);
  FakeResponse res;
  std::string token = manager_.csrf_token(live, res);
  // An attacker's own (valid) CSRF cookie, planted next to the victim's session cookie.
  Session attacker = load("");
  FakeResponse ares;
  std::string attacker_token = manager_.csrf_token(attacker, ares);
  std::string planted = cookies_of(ares) + "; " + jar.substr(jar.find("sid="));
  Session victim = load(planted);
  ASSERT_TRUE(victim.is_stored());
  EXPECT_TRUE(manager_.verify_csrf(victim, token));
  EXPECT_FALSE(manager_.verify_csrf(victim, attacker_token));
}

TEST_F(CsrfTest, RejectsGarbage) {
  Session s = load("");
  FakeResponse res;
  manager_.csrf_token(s, res);
  for (std::string t : {std::string(), std::string(86, 'A'), std::string(85, 'A'),
                        std::string(86, '!'), std::string(200, 'x')}) {
    EXPECT_FALSE(manager_.verify_csrf(s, t)) << t;
  }
  Session none = load("");
  EXPECT_FALSE(manager_.verify_csrf(none, std::string(86, 'A')));
}

TEST_F(CsrfTest, ForgedPreSessionCookieIsIgnored) {
  Session s = load("sid-csrf=attacker-chosen-seed");
  FakeResponse res;
  std::string token = manager_.csrf_token(s, res);
  std::string jar = cookies_of(res);
  EXPECT_NE(jar.find("sid-csrf="), std::string::npos);  // replaced by a signed one
  EXPECT_TRUE(manager_.verify_csrf(load(jar), token));
}

}  // namespace
}  // namespace sessionkit
