// Bearer session IDs (SessionOptions::bearer, issue 15 deliverable 4): the session credential
// from `Authorization: Bearer <token>` or a custom header, verified exactly like the cookie;
// no cookies written for a bearer client; never mixed with a cookie; no CSRF token needed.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include "sessionkit/manager.h"
#include "sessionkit/stores/memory.h"
#include "support/http_fakes.h"
#include "support/manager_harness.h"

namespace sessionkit {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;

constexpr std::string_view kOldSecret = "fedcba9876543210fedcba9876543210";

SessionOptions bearer_options(std::string header = {}, bool authorization = true) {
  SessionOptions o = SessionOptions::development();
  o.bearer.enabled = true;
  o.bearer.authorization = authorization;
  o.bearer.header = std::move(header);
  return o;
}

class BearerTest : public testing::ManagerHarness {
 protected:
  void SetUp() override { rebuild(bearer_options()); }

  Result<Session> load_request(const FakeRequest& req) {
    std::optional<Result<Session>> out;
    manager_->load(req, [&](Result<Session> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(out.has_value()) << "memory store completes inline";
    return out ? std::move(*out) : Result<Session>(errc::unavailable, "no answer");
  }
  // A request with `Authorization: <authorization>` (and `cookie`, if any).
  static FakeRequest with_authorization(std::string authorization, std::string cookie = {}) {
    FakeRequest req(std::move(cookie));
    req.headers_.emplace_back("Authorization", std::move(authorization));
    return req;
  }
  Session load_bearer(const std::string& token) {
    auto r = load_request(with_authorization("Bearer " + token));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(r).value() : Session();
  }
  // A session created on a bearer request without a token (a native app's first call), with a
  // value; answers its token.
  std::string new_bearer_session(const std::string& value = "v") {
    auto r = load_request(with_authorization("Bearer"));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    Session s = r.ok() ? std::move(r).value() : Session();
    s.set("k", value);
    FakeResponse res;
    EXPECT_TRUE(commit(s, res).ok());
    EXPECT_TRUE(res.all("Set-Cookie").empty());
    EXPECT_TRUE(s.token_renewed());
    return manager_->bearer_token(s);
  }
};

TEST_F(BearerTest, ASessionCreatedOnABearerRequestSetsNoCookieAndItsTokenWorksNext) {
  auto r = load_request(with_authorization("Bearer"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  Session s = std::move(r).value();
  EXPECT_TRUE(s.via_bearer());
  EXPECT_TRUE(s.is_new());
  EXPECT_EQ(manager_->bearer_token(s), "");  // no ID before commit
  s.set("k", "v");
  s.set_user("alice");  // a sign-in draws a CSRF seed: no CSRF cookie either
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  EXPECT_EQ(res.first("Cache-Control"), "no-store");  // the answer will carry the credential
  EXPECT_TRUE(s.token_renewed());
  EXPECT_EQ(metrics_->sessions_created, 1u);  // the lifecycle events still fire
  EXPECT_EQ(stored(), 1u);
  const std::string token = manager_->bearer_token(s);
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(res.first("X-Session-Token"), token);  // commit hands it out in place of a cookie

  Session next = load_bearer(token);
  EXPECT_TRUE(next.via_bearer());
  EXPECT_FALSE(next.is_new());
  EXPECT_EQ(next.user_id(), "alice");
  EXPECT_EQ(next.get<std::string>("k"), "v");
  next.set("k", "w");
  FakeResponse again;
  ASSERT_TRUE(commit(next, again).ok());
  EXPECT_TRUE(again.all("Set-Cookie").empty());
  EXPECT_FALSE(next.token_renewed());  // same ID: the client keeps its token
  EXPECT_FALSE(again.first("X-Session-Token"));
  EXPECT_EQ(manager_->bearer_token(next), token);
  EXPECT_EQ(load_bearer(token).get<std::string>("k"), "w");
}

TEST_F(BearerTest, TheTokenIsTheCookiesSignedValue) {
  const std::string token = new_bearer_session("shared");
  // The same value as a cookie names the same session (and a cookie session's value is a token).
  Session by_cookie = load_ok("sid=" + token);
  EXPECT_FALSE(by_cookie.is_new());
  EXPECT_FALSE(by_cookie.via_bearer());
  EXPECT_EQ(by_cookie.get<std::string>("k"), "shared");

  Session c = load_ok("");
  c.set("k", "from a cookie");
  const std::string pair = commit_cookie(c);
  ASSERT_EQ(pair.rfind("sid=", 0), 0u);
  EXPECT_EQ(manager_->bearer_token(c), pair.substr(4));
  EXPECT_EQ(load_bearer(pair.substr(4)).get<std::string>("k"), "from a cookie");
}

TEST_F(BearerTest, ABadSignatureOrAnUnknownIdIsNoSessionAndNeverAdopted) {
  const std::string token = new_bearer_session("mine");
  std::string tampered = token;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';

  // Validly signed under the same secret, but the ID is unknown to this store.
  auto other_store = std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_});
  SessionManager other(other_store, Keyring::parse(testing::kHarnessSecret).value(),
                       bearer_options(),
                       SessionManager::Dependencies{&clock_, make_null_sink(), nullptr, nullptr});
  Session foreign;
  std::optional<Result<Session>> loaded;
  other.load(with_authorization("Bearer"),
             [&](Result<Session> r) { loaded.emplace(std::move(r)); });
  ASSERT_TRUE(loaded && loaded->ok());
  foreign = std::move(*loaded).value();
  foreign.set("k", "elsewhere");
  FakeResponse ignored;
  std::optional<Status> committed;
  other.commit(foreign, ignored, [&](Status st) { committed.emplace(std::move(st)); });
  ASSERT_TRUE(committed && committed->ok());
  const std::string unknown = other.bearer_token(foreign);
  ASSERT_FALSE(unknown.empty());

  for (const std::string& bad :
       {tampered, unknown, std::string("garbage"), std::string("a b c"), std::string(5000, 'x')}) {
    SCOPED_TRACE(bad.substr(0, 20));
    Session s = load_bearer(bad);
    EXPECT_TRUE(s.is_new());
    EXPECT_TRUE(s.via_bearer());
    EXPECT_FALSE(s.contains("k"));
    // Strict mode: a write makes a session under a fresh ID, never under the presented one.
    s.set("k", "new");
    FakeResponse res;
    ASSERT_TRUE(commit(s, res).ok());
    EXPECT_TRUE(res.all("Set-Cookie").empty());
    const std::string fresh = manager_->bearer_token(s);
    EXPECT_NE(fresh, bad);
    EXPECT_EQ(load_bearer(fresh).get<std::string>("k"), "new");
  }
  EXPECT_TRUE(load_bearer(unknown).is_new());                   // still not adopted
  EXPECT_EQ(load_bearer(token).get<std::string>("k"), "mine");  // the real one is untouched
}

TEST_F(BearerTest, ACookieAndABearerCredentialTogetherAreRefused) {
  const std::string token = new_bearer_session();
  Session c = load_ok("");
  c.set("k", "cookie");
  const std::string cookie = commit_cookie(c);

  for (const std::string& authorization :
       {"Bearer " + token, std::string("Bearer"), std::string("Bearer garbage")}) {
    for (const std::string& with : {cookie, std::string("sid=forged")}) {
      auto r = load_request(with_authorization(authorization, with));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), errc::invalid_argument);
      EXPECT_NE(r.status().message().find("both a session cookie and a bearer token"),
                std::string::npos);
    }
  }
  // The pre-session CSRF cookie is no session credential: it may ride along.
  auto csrf_only = load_request(with_authorization("Bearer " + token, "sid-csrf=whatever"));
  ASSERT_TRUE(csrf_only.ok());
  EXPECT_FALSE(csrf_only->is_new());
}

TEST_F(BearerTest, RegenerateGivesANewTokenAndTheOldOneStopsWorking) {
  const std::string old_token = new_bearer_session("kept");
  Session s = load_bearer(old_token);
  ASSERT_FALSE(s.is_new());
  s.set_user("alice");
  s.regenerate();
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  EXPECT_TRUE(s.token_renewed());
  EXPECT_EQ(metrics_->sessions_rotated, 1u);
  const std::string new_token = manager_->bearer_token(s);
  ASSERT_FALSE(new_token.empty());
  EXPECT_NE(new_token, old_token);
  EXPECT_EQ(res.first("X-Session-Token"), new_token);

  EXPECT_TRUE(load_bearer(old_token).is_new());
  Session again = load_bearer(new_token);
  EXPECT_FALSE(again.is_new());
  EXPECT_EQ(again.user_id(), "alice");
  EXPECT_EQ(again.get<std::string>("k"), "kept");
  EXPECT_EQ(stored(), 1u);
}

TEST_F(BearerTest, DestroyKillsTheToken) {
  const std::string token = new_bearer_session();
  Session s = load_bearer(token);
  ASSERT_FALSE(s.is_new());
  s.destroy();
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_TRUE(res.all("Set-Cookie").empty());  // no cookie to clear
  EXPECT_EQ(manager_->bearer_token(s), "");
  EXPECT_EQ(metrics_->sessions_destroyed, 1u);
  EXPECT_TRUE(load_bearer(token).is_new());
  EXPECT_EQ(stored(), 0u);
}

TEST_F(BearerTest, ABearerRequestNeedsNoCsrfTokenTheSameSessionByCookieDoes) {
  const std::string token = new_bearer_session();
  auto post = with_authorization("Bearer " + token);
  post.method_ = "POST";
  auto by_bearer = load_request(post);
  ASSERT_TRUE(by_bearer.ok());
  EXPECT_TRUE(manager_->verify_csrf(*by_bearer, ""));
  EXPECT_TRUE(manager_->verify_csrf(*by_bearer, "not a token"));
  EXPECT_EQ(metrics_->csrf_failures, 0u);

  FakeRequest cookie_post("sid=" + token);
  cookie_post.method_ = "POST";
  auto by_cookie = load_request(cookie_post);
  ASSERT_TRUE(by_cookie.ok());
  ASSERT_FALSE(by_cookie->is_new());
  EXPECT_FALSE(manager_->verify_csrf(*by_cookie, ""));
  EXPECT_EQ(metrics_->csrf_failures, 1u);
  FakeResponse res;
  const std::string csrf = manager_->csrf_token(*by_cookie, res);
  EXPECT_TRUE(manager_->verify_csrf(*by_cookie, csrf));
}

TEST_F(BearerTest, ACustomHeaderCarriesTheBareToken) {
  rebuild(bearer_options("X-Session-Token", /*authorization=*/false));
  FakeRequest first;
  first.headers_.emplace_back("X-Session-Token", "");
  auto r = load_request(first);
  ASSERT_TRUE(r.ok());
  Session s = std::move(r).value();
  EXPECT_TRUE(s.via_bearer());
  s.set("k", "custom");
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  const std::string token = manager_->bearer_token(s);

  FakeRequest next;
  next.headers_.emplace_back("x-session-token", token);
  auto loaded = load_request(next);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->via_bearer());
  EXPECT_EQ(loaded->get<std::string>("k"), "custom");

  // Authorization is not read with `authorization = false` (it may carry a JWT access token).
  Session ignored = load_bearer(token);
  EXPECT_FALSE(ignored.via_bearer());
  EXPECT_TRUE(ignored.is_new());

  // With both sources on, a request carrying both is refused.
  rebuild(bearer_options("X-Session-Token", /*authorization=*/true));
  FakeRequest both = with_authorization("Bearer " + token);
  both.headers_.emplace_back("X-Session-Token", token);
  auto refused = load_request(both);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), errc::invalid_argument);
  EXPECT_EQ(load_request(next)->get<std::string>("k"), "custom");
  EXPECT_EQ(load_bearer(token).get<std::string>("k"), "custom");
}

TEST_F(BearerTest, WithoutAResponseHeaderTheAppHandsTheTokenOut) {
  SessionOptions options = bearer_options();
  options.bearer.response_header.clear();
  rebuild(options);
  auto r = load_request(with_authorization("Bearer"));
  ASSERT_TRUE(r.ok());
  r->set("k", "quiet");
  FakeResponse res;
  ASSERT_TRUE(commit(*r, res).ok());
  EXPECT_TRUE(r->token_renewed());
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  EXPECT_FALSE(res.first("X-Session-Token"));
  EXPECT_EQ(load_bearer(manager_->bearer_token(*r)).get<std::string>("k"), "quiet");
}

TEST_F(BearerTest, TheOptionOffIgnoresAuthorization) {
  const std::string token = new_bearer_session("x");
  rebuild(SessionOptions::development());
  Session s = load_bearer(token);
  EXPECT_FALSE(s.via_bearer());
  EXPECT_TRUE(s.is_new());
  // And a cookie with an Authorization header is no mix: the cookie loads.
  auto r = load_request(with_authorization("Bearer " + token, "sid=" + token));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->is_new());
  EXPECT_FALSE(r->via_bearer());
}

TEST_F(BearerTest, AnotherSchemeIsIgnoredAndTheSchemeIsCaseInsensitive) {
  const std::string token = new_bearer_session("x");
  auto basic = load_request(with_authorization("Basic dXNlcjpwdw==", "sid=" + token));
  ASSERT_TRUE(basic.ok()) << basic.status().to_string();
  EXPECT_FALSE(basic->via_bearer());
  EXPECT_FALSE(basic->is_new());  // the cookie's session
  auto bearer_prefix = load_request(with_authorization("Bearerx " + token));
  ASSERT_TRUE(bearer_prefix.ok());
  EXPECT_FALSE(bearer_prefix->via_bearer());

  auto lower = load_request(with_authorization("bearer  " + token + " "));
  ASSERT_TRUE(lower.ok());
  EXPECT_TRUE(lower->via_bearer());
  EXPECT_EQ(lower->get<std::string>("k"), "x");
}

TEST_F(BearerTest, KeyringRotationWorksAsForCookies) {
  rebuild(bearer_options(), kOldSecret);
  const std::string old_signed = new_bearer_session("rotated");
  // A new secret in front: the old token still verifies, and commit re-signs it.
  rebuild(bearer_options(), std::string(testing::kHarnessSecret) + "," + std::string(kOldSecret));
  Session s = load_bearer(old_signed);
  ASSERT_FALSE(s.is_new());
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_TRUE(res.all("Set-Cookie").empty());
  EXPECT_TRUE(s.token_renewed());
  const std::string resigned = manager_->bearer_token(s);
  EXPECT_NE(resigned, old_signed);
  // The old secret retired: only the re-signed token works.
  rebuild(bearer_options());
  EXPECT_TRUE(load_bearer(old_signed).is_new());
  EXPECT_EQ(load_bearer(resigned).get<std::string>("k"), "rotated");
}

TEST_F(BearerTest, OptionsAreCheckedAndClientSideSessionsRefuseBearer) {
  SessionOptions none = bearer_options({}, /*authorization=*/false);
  EXPECT_EQ(none.validate().code(), errc::invalid_argument);
  EXPECT_EQ(bearer_options("Cookie").validate().code(), errc::invalid_argument);
  EXPECT_EQ(bearer_options("authorization").validate().code(), errc::invalid_argument);
  EXPECT_EQ(bearer_options("X Session").validate().code(), errc::invalid_argument);
  EXPECT_TRUE(bearer_options("X-Session-Token").validate().ok());
  SessionOptions set_cookie = bearer_options();
  set_cookie.bearer.response_header = "set-cookie";
  EXPECT_EQ(set_cookie.validate().code(), errc::invalid_argument);
  EXPECT_TRUE(SessionOptions::production().validate().ok());  // off by default
  EXPECT_FALSE(SessionOptions::production().bearer.enabled);

  EXPECT_THROW(
      SessionManager(nullptr, Keyring::parse(testing::kHarnessSecret).value(), bearer_options(),
                     SessionManager::Dependencies{&clock_, make_null_sink(), nullptr, nullptr,
                                                  ClientSideOptions{}}),
      std::invalid_argument);
}

}  // namespace
}  // namespace sessionkit
