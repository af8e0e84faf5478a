// End-to-end: the demo on client-side sessions (--store cookie://): the session lives in its
// encrypted cookie, survives a server restart, and what cannot work without server state says
// so (501) instead of pretending; with --revocation-store a logout is real.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/api.h"
#include "e2e/demo_process.h"
#include "e2e/http_client.h"

namespace e2e {
namespace {

using nlohmann::json;

json session_of(HttpClient& c) {
  Response res = c.get("/api/session");
  EXPECT_EQ(res.result_int(), 200) << res.body();
  return body_json(res);
}

TEST(ClientSideDemo, TheSessionLivesInItsEncryptedCookieAndSurvivesARestart) {
  TempDir dir;
  auto demo = std::make_unique<DemoProcess>(demo_args("cookie://"), dir.path(), "demo");
  HttpClient c(demo->port());
  ASSERT_EQ(login(c, "alice", "wonderland").result_int(), 200);
  std::string token = session_of(c).value("csrf_token", "");
  for (int i = 0; i < 3; ++i) {
    Response inc = c.post_json("/api/increment", "", token);
    ASSERT_EQ(inc.result_int(), 200) << inc.body();
    token = body_json(inc).value("csrf_token", "");
  }
  const std::string cookie = *c.jar.get("sid");
  EXPECT_EQ(cookie.find('.'), std::string::npos) << "sealed, not an ID with a signature";
  EXPECT_EQ(cookie.find("alice"), std::string::npos);
  json s = session_of(c);
  EXPECT_EQ(s["authenticated"], true);
  EXPECT_EQ(s["visits"], 3);

  // A new process with the same secret knows nothing, yet the cookie carries everything.
  EXPECT_EQ(demo->stop(), 0);
  demo = std::make_unique<DemoProcess>(demo_args("cookie://"), dir.path(), "demo2");
  HttpClient after(demo->port());
  after.jar = c.jar;
  s = session_of(after);
  EXPECT_EQ(s["authenticated"], true);
  EXPECT_EQ(s["visits"], 3);
  // Another secret cannot open it: no session, not an error.
  TempDir other_dir;
  DemoProcess other(demo_args("cookie://", "another-secret-0123456789abcdef0123456789"),
                    other_dir.path(), "other");
  HttpClient stranger(other.port());
  stranger.jar = c.jar;
  EXPECT_EQ(session_of(stranger)["authenticated"], false);
  EXPECT_EQ(other.stop(), 0);

  // What needs server state answers 501, never a fake success; "sign out everywhere else"
  // works through the credential stamp: a copy of the old cookie is signed out.
  HttpClient elsewhere(demo->port());
  elsewhere.jar = after.jar;
  token = session_of(after).value("csrf_token", "");
  Response others = after.post_json("/api/sessions/revoke-others", "", token);
  EXPECT_EQ(others.result_int(), 200) << others.body();
  EXPECT_TRUE(body_json(others)["revoked"].is_null());
  EXPECT_EQ(session_of(after)["authenticated"], true);
  EXPECT_EQ(session_of(elsewhere)["authenticated"], false);
  EXPECT_EQ(after.get("/api/sessions").result_int(), 501);
  EXPECT_EQ(after.get("/readyz").result_int(), 200);
  Response metrics = after.get("/metrics");
  EXPECT_EQ(metrics.result_int(), 200);
  EXPECT_EQ(metrics.body().find("sessionkit_sessions_active"), std::string::npos);
  Response changed =
      after.post_json("/api/password", R"({"current":"wonderland","new":"looking-glass"})", token);
  ASSERT_EQ(changed.result_int(), 200) << changed.body();
  EXPECT_TRUE(body_json(changed)["revoked"].is_null());
  EXPECT_NE(*after.jar.get("sid"), cookie) << "rotated";

  // Logout clears the cookie; a copy kept elsewhere still works until its deadline (the
  // documented limit of client-side sessions).
  token = session_of(after).value("csrf_token", "");
  HttpClient copy(demo->port());
  copy.jar = after.jar;
  ASSERT_EQ(after.post_json("/api/logout", "", token).result_int(), 200);
  EXPECT_FALSE(after.jar.get("sid").has_value());
  EXPECT_EQ(session_of(after)["authenticated"], false);
  EXPECT_EQ(session_of(copy)["authenticated"], true);
  EXPECT_EQ(demo->stop(), 0);
}

// --revocation-store: a real logout for client-side sessions. The copy of a logged-out cookie
// is signed out at once, and so is the pre-login cookie after the sign-in rotated it.
TEST(ClientSideDemo, WithARevocationListALoggedOutCopyIsSignedOut) {
  TempDir dir;
  std::vector<std::string> args = demo_args("cookie://");
  args.push_back("--revocation-store");
  args.push_back("sqlite://" + (dir.path() / "revoked.db").string());
  DemoProcess demo(args, dir.path(), "demo");
  HttpClient c(demo.port());
  std::string token = session_of(c).value("csrf_token", "");
  ASSERT_EQ(c.post_json("/api/increment", "", token).result_int(), 200);
  HttpClient visitor_copy(demo.port());
  visitor_copy.jar = c.jar;
  ASSERT_EQ(session_of(visitor_copy)["visits"], 1);
  ASSERT_EQ(login(c, "alice", "wonderland").result_int(), 200);
  EXPECT_EQ(session_of(visitor_copy)["visits"], 0) << "the pre-login cookie stopped working";

  HttpClient copy(demo.port());
  copy.jar = c.jar;
  EXPECT_EQ(session_of(copy)["authenticated"], true);
  token = session_of(c).value("csrf_token", "");
  ASSERT_EQ(c.post_json("/api/logout", "", token).result_int(), 200);
  EXPECT_EQ(session_of(copy)["authenticated"], false) << "the copy is revoked";
  EXPECT_FALSE(copy.jar.get("sid").has_value()) << "and its cookie cleared";
  EXPECT_EQ(demo.stop(), 0);

  ExitResult misused =
      run_demo_to_exit({"--store", "memory://", "--revocation-store", "memory://"}, dir.path());
  EXPECT_EQ(misused.code, 2);
  EXPECT_NE(misused.err.find("--revocation-store"), std::string::npos) << misused.err;
}

TEST(ClientSideDemo, ASessionTooLargeForTheCookieIs413AndNoCookie) {
  TempDir dir;
  DemoProcess demo(demo_args("cookie://?max_bytes=300"), dir.path(), "demo");
  HttpClient c(demo.port());
  Response res = login(c, "alice", "wonderland");
  EXPECT_EQ(res.result_int(), 413) << res.body();
  EXPECT_TRUE(body_json(res).contains("error"));
  EXPECT_FALSE(c.jar.get("sid").has_value());
  EXPECT_EQ(demo.stop(), 0);
}

TEST(ClientSideDemo, RefusesBadOptionsAndTheSessionCap) {
  TempDir dir;
  ExitResult bad = run_demo_to_exit({"--store", "cookie://?max_bytes=99999"}, dir.path());
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("max_bytes"), std::string::npos) << bad.err;
  ExitResult cap =
      run_demo_to_exit({"--store", "cookie://", "--max-sessions-per-user", "2"}, dir.path());
  EXPECT_EQ(cap.code, 2);
  EXPECT_NE(cap.err.find("--max-sessions-per-user"), std::string::npos) << cap.err;
}

}  // namespace
}  // namespace e2e
