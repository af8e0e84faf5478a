// The stateful access-token check (tokens/session_check.h, issue 15 deliverable 3) on the memory
// store behind a FaultyStore: live and ended sessions, the cache window and its bounds, forget,
// a sid of another keyring, a store failure (an error, never "not live", never cached).
#include "sessionkit/tokens/session_check.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "sessionkit/blocking_store.h"
#include "support/manager_harness.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;
using testing::FakeRequest;
using testing::FakeResponse;
using tokens::AccessToken;
using tokens::SessionCheck;
using tokens::SessionCheckOptions;

constexpr std::string_view kSidSecret = "session-check-test-secret-0123456789abcdef";

class SessionCheckTest : public testing::ManagerHarness {
 protected:
  void SetUp() override {
    ManagerHarness::SetUp();
    make_check({});
  }
  void make_check(SessionCheckOptions options, std::string_view secret = kSidSecret) {
    check_.emplace(*manager_, Keyring::parse(secret).value(), options);
  }

  // A signed-in, stored session and an access token's claims for it.
  AccessToken sign_in(const std::string& user = "alice") {
    Session s = load_ok("");
    s.set_user(user);
    FakeResponse res;
    EXPECT_TRUE(commit(s, res).ok());
    sessions_.push_back(s);
    auto sid = check_->sid(s);
    EXPECT_TRUE(sid.ok()) << sid.status().to_string();
    AccessToken token;
    token.subject = user;
    token.session_id = sid.ok() ? *sid : std::string();
    return token;
  }

  Result<bool> check(const AccessToken& token) {
    std::optional<Result<bool>> out;
    check_->check(token, FakeRequest(""), [&](Result<bool> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(out.has_value()) << "memory store completes inline";
    return out ? std::move(*out) : Result<bool>(errc::unavailable, "no answer");
  }
  bool live(const AccessToken& token) {
    auto r = check(token);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() && *r;
  }
  // Ends the session behind the manager's back, as another app instance would.
  void end_elsewhere(const Session& s) {
    ASSERT_TRUE(BlockingStore(*memory_).destroy(key_of(s)).ok());
  }
  SessionKey key_of(const Session& s) {
    auto sid = check_->sid(s);
    EXPECT_TRUE(sid.ok());
    return check_->key_of(*sid).value_or(SessionKey());
  }

  std::optional<SessionCheck> check_;
  std::vector<Session> sessions_;
};

TEST_F(SessionCheckTest, ALiveSessionOfTheTokensSubjectIsLive) {
  const AccessToken token = sign_in("alice");
  EXPECT_TRUE(live(token));
  // The sid is opaque: neither the session ID nor its store key appears in it.
  const Session& s = sessions_[0];
  EXPECT_EQ(token.session_id.find(key_of(s).hex()), std::string::npos);
  EXPECT_GT(token.session_id.size(), 60u);
  // Each sid is sealed afresh; both open to the same session.
  auto again = check_->sid(s);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, token.session_id);
  EXPECT_EQ(check_->key_of(*again), check_->key_of(token.session_id));
}

TEST_F(SessionCheckTest, AnotherSubjectOrASidThatDoesNotOpenIsNotLive) {
  AccessToken token = sign_in("alice");
  AccessToken other = token;
  other.subject = "mallory";
  EXPECT_FALSE(live(other));
  EXPECT_TRUE(live(token));  // the cached answer still knows whose session it is

  const std::size_t calls = store_->calls();
  AccessToken forged = token;
  forged.session_id = "not-a-sealed-sid";
  EXPECT_FALSE(live(forged));
  // Sealed under another keyring: does not open either; no store read for either.
  SessionCheck foreign(*manager_,
                       Keyring::parse("another-keyring-secret-0123456789abcdef").value());
  AccessToken foreign_token = token;
  foreign_token.session_id = foreign.sid(sessions_[0]).value();
  EXPECT_FALSE(live(foreign_token));
  EXPECT_EQ(store_->calls(), calls);
  // A session that was never stored has no sid.
  Session fresh = load_ok("");
  EXPECT_EQ(check_->sid(fresh).code(), errc::invalid_argument);
}

TEST_F(SessionCheckTest, AnEndElsewhereIsSeenWhenTheCacheWindowCloses) {
  const AccessToken token = sign_in();
  EXPECT_TRUE(live(token));
  const std::size_t calls = store_->calls();
  end_elsewhere(sessions_[0]);
  clock_.advance(4999ms);
  EXPECT_TRUE(live(token)) << "the answer is cached for 5 s";
  EXPECT_EQ(store_->calls(), calls) << "a cached answer reads nothing";
  clock_.advance(1ms);
  EXPECT_FALSE(live(token));
  EXPECT_EQ(store_->calls(), calls + 1);
}

TEST_F(SessionCheckTest, WithoutACacheEveryCheckReadsTheStore) {
  make_check({.cache_for = 0s});
  const AccessToken token = sign_in();
  const std::size_t calls = store_->calls();
  EXPECT_TRUE(live(token));
  EXPECT_TRUE(live(token));
  EXPECT_EQ(store_->calls(), calls + 2);
  end_elsewhere(sessions_[0]);
  EXPECT_FALSE(live(token));
}

TEST_F(SessionCheckTest, ForgetAndForgetUserDropTheCachedAnswerAtOnce) {
  const AccessToken a1 = sign_in("alice");
  const AccessToken a2 = sign_in("alice");
  const AccessToken b = sign_in("bob");
  EXPECT_TRUE(live(a1));
  EXPECT_TRUE(live(a2));
  EXPECT_TRUE(live(b));
  end_elsewhere(sessions_[0]);
  check_->forget(key_of(sessions_[0]));
  EXPECT_FALSE(live(a1));
  end_elsewhere(sessions_[1]);
  end_elsewhere(sessions_[2]);
  check_->forget_user("alice");
  EXPECT_FALSE(live(a2));
  EXPECT_TRUE(live(b)) << "bob's answer is still cached (another user)";
}

TEST_F(SessionCheckTest, TheSessionsOwnPolicyApplies) {
  const AccessToken token = sign_in();
  // Idle timeout (development(): 30 minutes) passes with no request: the session has ended.
  clock_.advance(options_.idle_timeout + 1s);
  EXPECT_FALSE(live(token));
  // Checks count as use: a session checked every 10 minutes does not idle out.
  const AccessToken busy = sign_in("bob");
  for (int i = 0; i < 6; ++i) {
    clock_.advance(10min);
    EXPECT_TRUE(live(busy)) << "check " << i;
  }
}

TEST_F(SessionCheckTest, AStoreFailureIsAnErrorAndIsNotCached) {
  const AccessToken token = sign_in();
  store_->set_failing(true);
  auto r = check(token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), errc::unavailable);
  store_->set_failing(false);
  EXPECT_TRUE(live(token));
}

TEST_F(SessionCheckTest, TheCacheStaysWithinItsBound) {
  make_check({.cache_for = 60s, .max_entries = 2});
  const AccessToken a = sign_in("a");
  const AccessToken b = sign_in("b");
  const AccessToken c = sign_in("c");
  EXPECT_TRUE(live(a));
  EXPECT_TRUE(live(b));
  EXPECT_TRUE(live(c));  // full: nothing had expired, so the cache starts over
  end_elsewhere(sessions_[0]);
  end_elsewhere(sessions_[2]);
  EXPECT_FALSE(live(a)) << "a's entry was dropped to make room";
  EXPECT_TRUE(live(c)) << "c's answer is cached";
}

TEST(SessionCheckOptionsTest, RefusesNonsense) {
  ManualClock clock;
  SessionManager manager(std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock}),
                         Keyring::parse(testing::kHarnessSecret).value(),
                         SessionOptions::development());
  const Keyring keyring = Keyring::parse(kSidSecret).value();
  EXPECT_THROW(SessionCheck(manager, keyring, {.cache_for = -1s}), std::invalid_argument);
  EXPECT_THROW(SessionCheck(manager, keyring, {.max_entries = 0}), std::invalid_argument);
}

}  // namespace
}  // namespace sessionkit
