// CSRF tokens: bound to the session (or to a signed pre-session cookie), masked per call.
#include <gtest/gtest.h>

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
                 SessionManager::Dependencies{&clock_, make_null_sink(), nullptr}) {}

  Session load(const std::string& cookie) {
    FakeRequest req(cookie);
    Session out;
    manager_.load(req, [&](Result<Session> r) {
      ASSERT_TRUE(r.ok());
      out = std::move(r).value();
    });
    return out;
  }

  // Commits; answers the Cookie header a browser would send next (all cookies set).
  std::string commit(Session& s, std::string jar = "") {
    FakeResponse res;
    manager_.commit(s, res, [](Status st) { ASSERT_TRUE(st.ok()); });
    for (const auto& line : res.all("Set-Cookie")) {
      if (line.find("Max-Age=0") != std::string::npos) continue;
      if (!jar.empty()) jar += "; ";
      jar += line.substr(0, line.find(';'));
    }
    return jar;
  }

  ManualClock clock_;
  SessionManager manager_;
};

TEST_F(CsrfTest, AnonymousTokenNeedsItsPreSessionCookie) {
  Session s = load("");
  std::string token = manager_.csrf_token(s);
  EXPECT_EQ(token.size(), 86u);
  std::string jar = commit(s);
  EXPECT_NE(jar.find("sid-csrf="), std::string::npos);
  EXPECT_EQ(jar.find("sid="), std::string::npos);  // no session for a reader
  Session next = load(jar);
  EXPECT_TRUE(manager_.verify_csrf(next, token));
  Session stranger = load("");
  EXPECT_FALSE(manager_.verify_csrf(stranger, token));
  EXPECT_EQ(manager_.metrics().csrf_failures, 1u);
}

TEST_F(CsrfTest, TokensAreMaskedPerCallAndAllVerify) {
  Session s = load("");
  s.set("x", 1);
  std::string jar = commit(s);
  Session live = load(jar);
  std::string a = manager_.csrf_token(live);
  std::string b = manager_.csrf_token(live);
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
  std::string token_a = manager_.csrf_token(a);
  EXPECT_TRUE(manager_.verify_csrf(a, token_a));
  EXPECT_FALSE(manager_.verify_csrf(b, token_a));
}

TEST_F(CsrfTest, RotationInvalidatesOldTokens) {
  Session s = load("");
  s.set("x", 1);
  std::string jar = commit(s);
  Session live = load(jar);
  std::string before = manager_.csrf_token(live);
  live.regenerate();
  std::string jar2 = commit(live);
  EXPECT_FALSE(manager_.verify_csrf(live, before));
  std::string after = manager_.csrf_token(live);  // after commit: bound to the new ID
  EXPECT_TRUE(manager_.verify_csrf(load(jar2), after));
}

TEST_F(CsrfTest, RejectsGarbage) {
  Session s = load("");
  manager_.csrf_token(s);
  for (std::string t : {std::string(), std::string(86, 'A'), std::string(85, 'A'),
                        std::string(86, '!'), std::string(200, 'x')}) {
    EXPECT_FALSE(manager_.verify_csrf(s, t)) << t;
  }
  Session none = load("");
  EXPECT_FALSE(manager_.verify_csrf(none, std::string(86, 'A')));
}

TEST_F(CsrfTest, ForgedPreSessionCookieIsIgnored) {
  Session s = load("sid-csrf=attacker-chosen-seed");
  std::string token = manager_.csrf_token(s);
  std::string jar = commit(s);
  EXPECT_NE(jar.find("sid-csrf="), std::string::npos);  // replaced by a signed one
  EXPECT_TRUE(manager_.verify_csrf(load(jar), token));
}

}  // namespace
}  // namespace sessionkit
