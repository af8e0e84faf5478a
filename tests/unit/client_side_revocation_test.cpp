// Client-side sessions with a revocation list (client_side.h, ClientSideOptions::revocations;
// issue 15 deliverable 3): a logout and a regenerate() leave tombstones, so a copy of the old
// cookie is no session any more; a store failure is an error on load and on the logout, never a
// silent pass; the tombstone holds nothing but the reason, until the session's own deadline.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "sessionkit/blocking_store.h"
#include "sessionkit/client_side.h"
#include "sessionkit/metrics.h"
#include "sessionkit/stores/memory.h"
#include "support/faulty_store.h"
#include "support/manager_harness.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;
using testing::FakeResponse;
using testing::FaultyStore;

class ClientSideRevocationTest : public testing::ManagerHarness {
 protected:
  void SetUp() override {
    options_ = SessionOptions::development();
    revocations_memory_ = std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_});
    revocations_ = std::make_shared<FaultyStore>(revocations_memory_);
    metrics_ = std::make_shared<Metrics>();
    ClientSideOptions client_side;
    client_side.revocations = revocations_;
    manager_ = std::make_unique<SessionManager>(
        nullptr, Keyring::parse(testing::kHarnessSecret).value(), options_,
        SessionManager::Dependencies{&clock_, make_null_sink(), metrics_, nullptr, client_side});
  }

  // A signed-in session's cookie pair.
  std::string sign_in(const std::string& user = "alice") {
    Session s = load_ok("");
    s.set_user(user);
    s.set("theme", "dark");
    return commit_cookie(s);
  }
  std::vector<StoredSession> tombstones() {
    return BlockingStore(*revocations_memory_).scan("", 100)->sessions;
  }

  std::shared_ptr<MemoryStore> revocations_memory_;
  std::shared_ptr<FaultyStore> revocations_;
};

TEST_F(ClientSideRevocationTest, ALogoutRevokesEveryCopyOfTheCookie) {
  const std::string cookie = sign_in();
  Session s = load_ok(cookie);
  ASSERT_EQ(s.user_id(), "alice");
  s.destroy();
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_NE(res.set_cookie_line("sid")->find("Max-Age=0"), std::string::npos);

  // The copy an attacker kept: no session, its cookie is cleared, and the attempt is reported.
  Session copy = load_ok(cookie);
  EXPECT_TRUE(copy.is_new());
  EXPECT_TRUE(copy.user_id().empty());
  EXPECT_EQ(metrics_->anomalies[Anomaly::revoked_cookie], 1u);
  EXPECT_EQ(metrics_->anomalies.total(), 1u);
  FakeResponse cleared;
  ASSERT_TRUE(commit(copy, cleared).ok());
  EXPECT_NE(cleared.set_cookie_line("sid")->find("Max-Age=0"), std::string::npos);

  // The tombstone: under the session's key, no user, no payload, until the absolute deadline.
  auto stored = tombstones();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_TRUE(stored[0].record.user_id.empty());
  EXPECT_EQ(stored[0].record.data, (nlohmann::json{{"_sk_revoked", "destroyed"}}));
  EXPECT_EQ(stored[0].record.expires_at, s.created_at() + options_.absolute_timeout);
}

TEST_F(ClientSideRevocationTest, RegenerateRevokesTheReplacedCookieQuietly) {
  Session v = load_ok("");
  v.set("theme", "dark");
  const std::string visitor = commit_cookie(v);
  Session s = load_ok(visitor);
  s.regenerate();
  s.set_user("alice");
  const std::string signed_in = commit_cookie(s);
  ASSERT_FALSE(signed_in.empty());
  EXPECT_TRUE(load_ok(visitor).is_new()) << "the pre-login cookie no longer works (fixation)";
  EXPECT_EQ(metrics_->anomalies.total(), 0u) << "a late request of the same browser is no attack";
  EXPECT_EQ(load_ok(signed_in).user_id(), "alice");
  ASSERT_EQ(tombstones().size(), 1u);
  EXPECT_EQ(tombstones()[0].record.data["_sk_revoked"], "rotated");
}

TEST_F(ClientSideRevocationTest, OneReadPerRequestWithACookieAndNoneWithout) {
  const std::string cookie = sign_in();
  const std::size_t before = revocations_->calls();
  load_ok(cookie);
  EXPECT_EQ(revocations_->calls(), before + 1);
  load_ok("");
  EXPECT_EQ(revocations_->calls(), before + 1);
}

TEST_F(ClientSideRevocationTest, AFailingListIsAnErrorNeverASilentPass) {
  const std::string cookie = sign_in();
  revocations_->set_failing(true);
  auto loaded = load(cookie);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.code(), errc::unavailable);
  revocations_->set_failing(false);

  Session s = load_ok(cookie);
  s.destroy();
  revocations_->set_failing(true);
  FakeResponse res;
  Status st = commit(s, res);
  revocations_->set_failing(false);
  EXPECT_EQ(st.code(), errc::unavailable) << "a logout is not confirmed without its tombstone";
  EXPECT_FALSE(res.set_cookie_line("sid").has_value()) << "the client keeps its cookie to retry";
  EXPECT_FALSE(load_ok(cookie).is_new()) << "nothing was revoked";
}

TEST_F(ClientSideRevocationTest, ASecondLogoutOfOneCookieSucceeds) {
  const std::string cookie = sign_in();
  // Two requests carried the cookie before either logout was stored.
  Session first = load_ok(cookie);
  Session second = load_ok(cookie);
  first.destroy();
  second.destroy();
  FakeResponse a;
  FakeResponse b;
  EXPECT_TRUE(commit(first, a).ok());
  EXPECT_TRUE(commit(second, b).ok()) << "already revoked: the same outcome";
  EXPECT_EQ(tombstones().size(), 1u);
}

}  // namespace
}  // namespace sessionkit
