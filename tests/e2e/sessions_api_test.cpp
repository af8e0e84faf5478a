// End-to-end: users list and revoke their own sessions (GET /api/sessions,
// DELETE /api/sessions/{handle}, POST /api/sessions/revoke-others).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"

namespace e2e {
namespace {

using nlohmann::json;

class SessionsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    demo_ = std::make_unique<DemoProcess>(demo_args("memory://"), dir_.path(), "demo");
  }
  void TearDown() override { EXPECT_EQ(demo_->stop(), 0); }

  // A signed-in browser with its own User-Agent; answers its CSRF token.
  std::string sign_in(HttpClient& c, const std::string& user, const std::string& password,
                      const std::string& agent) {
    const Headers ua = {{"User-Agent", agent}};
    const std::string token = body_json(c.get("/api/session", ua)).value("csrf_token", "");
    Response res = c.request(
        bhttp::verb::post, "/api/login", json{{"username", user}, {"password", password}}.dump(),
        {{"Content-Type", "application/json"}, {"X-CSRF-Token", token}, ua[0]});
    EXPECT_EQ(res.result_int(), 200) << res.body();
    return body_json(res).value("csrf_token", "");
  }
  json list(HttpClient& c) {
    Response res = c.get("/api/sessions");
    EXPECT_EQ(res.result_int(), 200) << res.body();
    return body_json(res)["sessions"];
  }
  bool signed_in(HttpClient& c) { return body_json(c.get("/api/session"))["authenticated"]; }

  TempDir dir_;
  std::unique_ptr<DemoProcess> demo_;
};

TEST_F(SessionsApi, ListRevokeOneAndRevokeOthers) {
  HttpClient laptop(demo_->port()), phone(demo_->port()), tablet(demo_->port()), bob(demo_->port());
  const std::string token = sign_in(laptop, "alice", "wonderland", "laptop-browser");
  sign_in(phone, "alice", "wonderland", "phone-browser");
  sign_in(tablet, "alice", "wonderland", "tablet-browser");
  sign_in(bob, "bob", "builder", "bob-browser");

  json mine = list(laptop);
  ASSERT_EQ(mine.size(), 3u);
  std::string phone_handle, own_handle;
  int current = 0;
  for (const auto& s : mine) {
    EXPECT_EQ(s["ip"], "127.0.0.1");
    EXPECT_EQ(s["handle"].get<std::string>().size(), 22u);
    EXPECT_TRUE(s.contains("created_at") && s.contains("last_seen_at"));
    if (s["current"] == true) {
      ++current;
      own_handle = s["handle"];
      EXPECT_EQ(s["user_agent"], "laptop-browser");
    }
    if (s["user_agent"] == "phone-browser") phone_handle = s["handle"];
  }
  EXPECT_EQ(current, 1);
  ASSERT_FALSE(phone_handle.empty());
  // The handle never reveals the session ID.
  const std::string cookie = *laptop.jar.get("sid");
  EXPECT_EQ(mine.dump().find(cookie.substr(0, cookie.find('.'))), std::string::npos);

  // Unsafe methods need the CSRF token.
  EXPECT_EQ(laptop.request(bhttp::verb::delete_, "/api/sessions/" + phone_handle).result_int(),
            403);
  // Bob cannot revoke alice's session: 404, as for a made-up handle.
  const std::string bob_token = body_json(bob.get("/api/session")).value("csrf_token", "");
  EXPECT_EQ(bob.request(bhttp::verb::delete_, "/api/sessions/" + phone_handle, {},
                        {{"X-CSRF-Token", bob_token}})
                .result_int(),
            404);
  EXPECT_TRUE(signed_in(phone));
  EXPECT_EQ(laptop
                .request(bhttp::verb::delete_, "/api/sessions/AAAAAAAAAAAAAAAAAAAAAA", {},
                         {{"X-CSRF-Token", token}})
                .result_int(),
            404);

  Response revoked = laptop.request(bhttp::verb::delete_, "/api/sessions/" + phone_handle, {},
                                    {{"X-CSRF-Token", token}});
  ASSERT_EQ(revoked.result_int(), 200) << revoked.body();
  EXPECT_FALSE(signed_in(phone));
  EXPECT_TRUE(signed_in(tablet));
  EXPECT_EQ(list(laptop).size(), 2u);

  Response others = laptop.post_json("/api/sessions/revoke-others", "", token);
  ASSERT_EQ(others.result_int(), 200) << others.body();
  EXPECT_EQ(body_json(others)["revoked"], 1);
  EXPECT_FALSE(signed_in(tablet));
  EXPECT_TRUE(signed_in(laptop));
  EXPECT_TRUE(signed_in(bob)) << "other users are untouched";
  ASSERT_EQ(list(laptop).size(), 1u);

  // Revoking the current session is a logout: the cookie is cleared.
  Response self = laptop.request(bhttp::verb::delete_, "/api/sessions/" + own_handle, {},
                                 {{"X-CSRF-Token", token}});
  ASSERT_EQ(self.result_int(), 200) << self.body();
  EXPECT_EQ(body_json(self)["current"], true);
  EXPECT_FALSE(laptop.jar.get("sid").has_value());
  EXPECT_FALSE(signed_in(laptop));
}

TEST_F(SessionsApi, PasswordChangeRotatesTheSessionAndEndsAllOthers) {
  HttpClient laptop(demo_->port()), phone(demo_->port()), bob(demo_->port());
  const std::string token = sign_in(laptop, "alice", "wonderland", "laptop");
  sign_in(phone, "alice", "wonderland", "phone");
  sign_in(bob, "bob", "builder", "bob");
  const std::string before = *laptop.jar.get("sid");

  auto change = [&](const std::string& body, const std::string& csrf) {
    return laptop.post_json("/api/password", body, csrf);
  };
  EXPECT_EQ(change(R"({"current":"wonderland","new":"looking-glass"})", "").result_int(), 403)
      << "CSRF token required";
  Response wrong = change(R"({"current":"nope","new":"looking-glass"})", token);
  EXPECT_EQ(wrong.result_int(), 403);
  EXPECT_TRUE(signed_in(phone)) << "a wrong current password changes nothing";
  EXPECT_EQ(change(R"({"current":"wonderland","new":"short"})", token).result_int(), 400);
  EXPECT_EQ(change(R"({"current":"wonderland"})", token).result_int(), 400);
  EXPECT_EQ(change("not json", token).result_int(), 400);

  Response ok = change(R"({"current":"wonderland","new":"looking-glass"})", token);
  ASSERT_EQ(ok.result_int(), 200) << ok.body();
  EXPECT_EQ(body_json(ok)["revoked"], 1);
  const auto after = laptop.jar.get("sid");
  ASSERT_TRUE(after.has_value());
  EXPECT_NE(after->substr(0, after->find('.')), before.substr(0, before.find('.')))
      << "a new session ID after a privilege change";
  EXPECT_TRUE(signed_in(laptop));
  EXPECT_FALSE(signed_in(phone)) << "every other session ended";
  EXPECT_TRUE(signed_in(bob));
  HttpClient replay(demo_->port());
  replay.jar.set("sid", before);
  EXPECT_FALSE(signed_in(replay)) << "the old ID is dead";

  // The new password works, the old one does not.
  HttpClient fresh(demo_->port());
  const std::string t = body_json(fresh.get("/api/session")).value("csrf_token", "");
  EXPECT_EQ(fresh.post_json("/api/login", R"({"username":"alice","password":"wonderland"})", t)
                .result_int(),
            401);
  EXPECT_EQ(fresh.post_json("/api/login", R"({"username":"alice","password":"looking-glass"})", t)
                .result_int(),
            200);
}

// A stolen cookie is no unlimited password oracle: wrong current passwords count as failed
// re-authentications, and the fifth (max_reauth_failures) ends the session, a 401, while the
// password stays as it was.
TEST_F(SessionsApi, TheFifthWrongCurrentPasswordEndsTheSession) {
  HttpClient laptop(demo_->port()), phone(demo_->port());
  const std::string token = sign_in(laptop, "alice", "wonderland", "laptop");
  sign_in(phone, "alice", "wonderland", "phone");
  const std::string before = *laptop.jar.get("sid");
  const std::string wrong = R"({"current":"nope","new":"looking-glass"})";
  for (int i = 1; i <= 4; ++i) {
    Response res = laptop.post_json("/api/password", wrong, token);
    EXPECT_EQ(res.result_int(), 403) << "attempt " << i << ": " << res.body();
    EXPECT_TRUE(signed_in(laptop)) << "attempt " << i;
  }
  Response fifth = laptop.post_json("/api/password", wrong, token);
  EXPECT_EQ(fifth.result_int(), 401) << fifth.body();
  EXPECT_EQ(body_json(fifth)["error"], "too many wrong passwords: signed out");
  EXPECT_FALSE(signed_in(laptop));
  HttpClient replay(demo_->port());
  replay.jar.set("sid", before);
  EXPECT_FALSE(signed_in(replay)) << "the ended session's cookie is dead";
  EXPECT_TRUE(signed_in(phone)) << "only the session that guessed is ended";
  HttpClient fresh(demo_->port());
  EXPECT_FALSE(sign_in(fresh, "alice", "wonderland", "fresh").empty())
      << "the password is unchanged";
}

TEST_F(SessionsApi, NeedsASignedInUser) {
  HttpClient anon(demo_->port());
  Response res = anon.get("/api/sessions");
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_TRUE(body_json(res).contains("error"));
  EXPECT_EQ(anon.request(bhttp::verb::put, "/api/sessions").result_int(), 405);
  EXPECT_EQ(anon.get("/api/sessions/revoke-others").result_int(), 405);
  EXPECT_EQ(anon.get("/api/password").result_int(), 405);
  const std::string t = body_json(anon.get("/api/session")).value("csrf_token", "");
  EXPECT_EQ(anon.post_json("/api/password", R"({"current":"a","new":"bbbbbbbb"})", t).result_int(),
            401);
}

}  // namespace
}  // namespace e2e
