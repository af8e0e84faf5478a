// What an outside attacker found (issue 21), at the manager: sessions tied to credentials, data
// that must not carry over to another user, duplicate session cookies, the anonymous-record
// limit, failed re-authentications, reserved keys, the session cookie's lifetime.
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "sessionkit/blocking_store.h"
#include "sessionkit/credentials.h"
#include "sessionkit/manager.h"
#include "sessionkit/stores/memory.h"
#include "support/http_fakes.h"
#include "support/manager_harness.h"

namespace sessionkit {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;

// A user directory's stamps, changed by the test; `fail` makes it answer "unavailable".
class Stamps final : public CredentialSource {
 public:
  void set(const std::string& user, std::string stamp) {
    std::lock_guard lock(mutex_);
    stamps_[user] = std::move(stamp);
  }
  void fail(bool on) { fail_ = on; }
  // Runs `hook` once, inside the next lookup, before it answers (to interleave a change).
  void before_next_answer(std::function<void()> hook) { hook_ = std::move(hook); }

  void current_stamp(const std::string& user, Callback<std::string> done) const override {
    if (hook_) std::exchange(hook_, nullptr)();
    if (fail_) return done(Result<std::string>(errc::unavailable, "directory down"));
    std::lock_guard lock(mutex_);
    auto it = stamps_.find(user);
    done(it == stamps_.end() ? std::string() : it->second);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> stamps_;
  bool fail_ = false;
  mutable std::function<void()> hook_;
};

class SessionSecurityTest : public testing::ManagerHarness {
 protected:
  void SetUp() override {
    stamps_ = std::make_shared<Stamps>();
    credentials_ = stamps_;
    rebuild(SessionOptions::development());
  }

  Result<Session> load(const std::string& cookie, std::string ip = "192.0.2.1") {
    return ManagerHarness::load(cookie, std::move(ip));
  }
  Session load_ok(const std::string& cookie, std::string ip = "192.0.2.1") {
    return ManagerHarness::load_ok(cookie, std::move(ip));
  }
  // A signed-in session of `user` carrying `stamp`; its cookie pair.
  std::string sign_in(const std::string& user, const std::string& stamp) {
    Session s = load_ok("");
    s.regenerate();
    s.set_user(user, stamp);
    s.set("user", user);
    return commit_cookie(s);
  }

  std::shared_ptr<Stamps> stamps_;
};

// ---- finding 1: a login in flight survives a password change

TEST_F(SessionSecurityTest, ASessionEndsWhenItsUsersCredentialsChange) {
  stamps_->set("alice", "s0");
  const std::string cookie = sign_in("alice", "s0");
  ASSERT_TRUE(load_ok(cookie).is_stored());
  stamps_->set("alice", "s1");  // the password changed (elsewhere, any instance)
  Session after = load_ok(cookie);
  EXPECT_FALSE(after.is_stored());
  EXPECT_TRUE(after.user_id().empty());
  EXPECT_EQ(stored(), 0u) << "the record is destroyed, not only ignored";
  EXPECT_EQ(metrics_->credential_revocations, 1u);
  FakeResponse res;
  ASSERT_TRUE(commit(after, res).ok());
  EXPECT_NE(res.set_cookie_line("sid").value_or("").find("Max-Age=0"), std::string::npos);
}

// The attack as reproduced: the attacker's password check read the OLD credentials, the victim
// changed the password and revoked every session, and only then the attacker's create landed.
TEST_F(SessionSecurityTest, ALoginThatReadTheOldPasswordDoesNotSurviveTheChange) {
  stamps_->set("alice", "s0");
  Session attacker = load_ok("");
  const std::string verified_stamp = "s0";  // what the attacker's password check returned
  // ... now the victim changes the password and revokes all of alice's sessions ...
  stamps_->set("alice", "s1");
  std::optional<Result<std::size_t>> revoked;
  manager_->revoke_user_sessions("alice", nullptr, [&](auto r) { revoked.emplace(r); });
  ASSERT_TRUE(revoked && revoked->ok());
  // ... and the attacker's commit lands afterwards.
  attacker.regenerate();
  attacker.set_user("alice", verified_stamp);
  FakeResponse res;
  Status st = commit(attacker, res);
  EXPECT_EQ(st.code(), errc::conflict) << st.to_string();
  EXPECT_FALSE(res.set_cookie_pair("sid").has_value()) << "no cookie for the stale login";
  EXPECT_EQ(stored(), 0u);
}

// The change lands between the attacker's write and the re-check after it.
TEST_F(SessionSecurityTest, ACredentialChangeDuringTheWriteEndsTheNewSession) {
  stamps_->set("alice", "s0");
  Session attacker = load_ok("");
  attacker.regenerate();
  attacker.set_user("alice", "s0");
  stamps_->before_next_answer([&] { stamps_->set("alice", "s1"); });
  FakeResponse res;
  EXPECT_EQ(commit(attacker, res).code(), errc::conflict);
  EXPECT_EQ(stored(), 0u);
}

TEST_F(SessionSecurityTest, TheSessionThatChangedThePasswordStaysSignedIn) {
  stamps_->set("alice", "s0");
  const std::string mine = sign_in("alice", "s0");
  const std::string other = sign_in("alice", "s0");
  Session s = load_ok(mine);
  stamps_->set("alice", "s1");
  s.regenerate();
  s.set_credential("s1");
  const std::string rotated = commit_cookie(s);
  ASSERT_FALSE(rotated.empty());
  EXPECT_TRUE(load_ok(rotated).is_stored());
  EXPECT_FALSE(load_ok(other).is_stored());
}

TEST_F(SessionSecurityTest, ASessionWithoutAStampEndsWhenStampsAreChecked) {
  stamps_->set("alice", "s0");
  Session s = load_ok("");
  s.set_user("alice");  // no stamp given
  const std::string cookie = commit_cookie(s);
  EXPECT_FALSE(load_ok(cookie).is_stored());
}

TEST_F(SessionSecurityTest, AnUnknownUserEndsTheSession) {
  stamps_->set("alice", "s0");
  const std::string cookie = sign_in("alice", "s0");
  stamps_->set("alice", "");  // the account was deleted
  EXPECT_FALSE(load_ok(cookie).is_stored());
}

TEST_F(SessionSecurityTest, ADirectoryFailureIsAnErrorNeverSignedOut) {
  stamps_->set("alice", "s0");
  const std::string cookie = sign_in("alice", "s0");
  stamps_->fail(true);
  auto r = load(cookie);
  EXPECT_EQ(r.code(), errc::unavailable);
  stamps_->fail(false);
  EXPECT_TRUE(load_ok(cookie).is_stored()) << "nothing was destroyed on a guess";
}

TEST_F(SessionSecurityTest, TheStoredStampIsAMacNotTheStamp) {
  stamps_->set("alice", "$argon2id$v=19$secret-hash");
  const std::string cookie = sign_in("alice", "$argon2id$v=19$secret-hash");
  Session s = load_ok(cookie);
  ASSERT_TRUE(s.is_stored());
  EXPECT_EQ(s.data().dump().find("argon2id"), std::string::npos);
}

TEST_F(SessionSecurityTest, AnonymousSessionsNeedNoLookup) {
  stamps_->fail(true);
  Session s = load_ok("");
  s.set("cart", 1);
  const std::string cookie = commit_cookie(s);
  EXPECT_TRUE(load_ok(cookie).is_stored());
}

// ---- finding 8: session data carries over to another user

TEST_F(SessionSecurityTest, AnotherUserInheritsNothing) {
  stamps_->set("alice", "a");
  stamps_->set("bob", "b");
  Session alice = load_ok(sign_in("alice", "a"));
  ASSERT_EQ(*increment(alice, "visits"), 1);
  ASSERT_EQ(*increment(alice, "visits"), 2);
  const std::string cookie = commit_cookie(alice);
  // Bob signs in on the same browser without alice signing out.
  Session bob = load_ok(cookie.empty() ? sign_in("alice", "a") : cookie);
  ASSERT_EQ(bob.user_id(), "alice");
  bob.regenerate();
  bob.set_user("bob", "b");
  bob.set("user", "bob");
  const std::string bobs = commit_cookie(bob);
  Session next = load_ok(bobs);
  EXPECT_EQ(next.user_id(), "bob");
  EXPECT_FALSE(next.contains("visits"));
  EXPECT_EQ(next.get<std::string>("user"), "bob");
}

TEST_F(SessionSecurityTest, AVisitorsValuesCarryIntoTheirOwnSignIn) {
  stamps_->set("alice", "a");
  Session visitor = load_ok("");
  visitor.set("cart", 3);
  const std::string cookie = commit_cookie(visitor);
  Session s = load_ok(cookie);
  s.regenerate();
  s.set_user("alice", "a");
  Session next = load_ok(commit_cookie(s));
  EXPECT_EQ(next.get<int>("cart"), 3);
}

// ---- finding 6: duplicate session cookies

TEST_F(SessionSecurityTest, TheFirstLiveOfSeveralSessionCookiesWins) {
  const std::string dead = [&] {
    Session s = load_ok("");
    s.set("k", 1);
    std::string c = commit_cookie(s);
    Session gone = load_ok(c);
    gone.destroy();
    FakeResponse res;
    EXPECT_TRUE(commit(gone, res).ok());
    return c;
  }();
  Session live_s = load_ok("");
  live_s.set("mine", true);
  const std::string live = commit_cookie(live_s);
  // A planted (validly signed but dead) cookie sent first, as a longer Path makes browsers do.
  Session s = load_ok(dead + "; " + live);
  ASSERT_TRUE(s.is_stored());
  EXPECT_EQ(s.get<bool>("mine"), true);
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_FALSE(res.set_cookie_line("sid").has_value()) << "the rightful cookie is not deleted";
  EXPECT_EQ(metrics_->anomalies[Anomaly::duplicate_cookies], 1u);
  EXPECT_EQ(metrics_->anomalies.total(), 1u);
}

TEST_F(SessionSecurityTest, SeveralDeadSessionCookiesAreNotClearedBlindly) {
  Session s = load_ok("sid=forged.one; sid=forged.two");
  EXPECT_FALSE(s.is_stored());
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_FALSE(res.set_cookie_line("sid").has_value());
  // One stale cookie alone is still cleared.
  Session one = load_ok("sid=forged.one");
  FakeResponse res1;
  ASSERT_TRUE(commit(one, res1).ok());
  EXPECT_TRUE(res1.set_cookie_line("sid").has_value());
}

// ---- finding 3: anyone can fill the store without logging in

TEST_F(SessionSecurityTest, AnonymousRecordsAreLimitedPerClientAddress) {
  SessionOptions o = SessionOptions::development();
  o.anonymous_sessions = {.burst = 5, .per_minute = 6};
  rebuild(o);
  std::size_t created = 0, refused = 0;
  for (int i = 0; i < 1500; ++i) {
    Session s = load_ok("", "198.51.100.7");
    auto r = increment(s, "visits");
    if (r.ok()) {
      ++created;
    } else {
      EXPECT_EQ(r.code(), errc::rate_limited);
      ++refused;
    }
  }
  EXPECT_EQ(created, 5u);
  EXPECT_EQ(refused, 1495u);
  EXPECT_EQ(stored(), 5u);
  EXPECT_EQ(metrics_->rate_limited, 1495u);
  // Commit's create path is limited too; another address is not affected.
  Session same = load_ok("", "198.51.100.7");
  same.set("x", 1);
  FakeResponse res;
  EXPECT_EQ(commit(same, res).code(), errc::rate_limited);
  Session other = load_ok("", "198.51.100.8");
  other.set("x", 1);
  EXPECT_FALSE(commit_cookie(other).empty());
  // An IPv6 client is limited by its /64.
  for (int i = 0; i < 5; ++i) {
    Session v6 = load_ok("", "2001:db8:1:2::" + std::to_string(i + 1));
    EXPECT_TRUE(increment(v6, "visits").ok());
  }
  Session v6 = load_ok("", "2001:db8:1:2:ffff::1");
  EXPECT_EQ(increment(v6, "visits").code(), errc::rate_limited);
  // Tokens refill with time: 6 a minute is one every 10 s.
  clock_.advance(std::chrono::seconds(10));
  Session later = load_ok("", "198.51.100.7");
  EXPECT_TRUE(increment(later, "visits").ok());
}

TEST_F(SessionSecurityTest, SignInsAreNotLimitedAsAnonymous) {
  SessionOptions o = SessionOptions::development();
  o.anonymous_sessions = {.burst = 1, .per_minute = 1};
  rebuild(o);
  stamps_->set("alice", "a");
  for (int i = 0; i < 5; ++i)
    EXPECT_FALSE(sign_in("alice", "a").empty());
}

// ---- finding 4: re-authentication failures are an unlimited oracle

TEST_F(SessionSecurityTest, RepeatedReauthenticationFailuresEndTheSession) {
  SessionOptions o = SessionOptions::development();
  o.max_reauth_failures = 3;
  rebuild(o);
  stamps_->set("alice", "a");
  const std::string cookie = sign_in("alice", "a");
  auto fail_once = [&] {
    Session s = load_ok(cookie);
    std::optional<Result<bool>> ended;
    manager_->reauthentication_failed(s, [&](Result<bool> r) { ended.emplace(r); });
    EXPECT_TRUE(ended && ended->ok());
    FakeResponse res;
    EXPECT_TRUE(commit(s, res).ok());
    return ended && ended->ok() && **ended;
  };
  EXPECT_FALSE(fail_once());
  EXPECT_FALSE(fail_once());
  // A successful re-authentication resets the count.
  {
    Session s = load_ok(cookie);
    s.reauthenticated();
    FakeResponse res;
    ASSERT_TRUE(commit(s, res).ok());
  }
  EXPECT_FALSE(fail_once());
  EXPECT_FALSE(fail_once());
  EXPECT_TRUE(fail_once());
  EXPECT_FALSE(load_ok(cookie).is_stored());
  EXPECT_EQ(metrics_->anomalies[Anomaly::reauth_failures], 1u);
  EXPECT_EQ(metrics_->anomalies.total(), 1u);
}

// ---- reserved keys and the cookie's lifetime

TEST_F(SessionSecurityTest, ReservedKeysAreRefused) {
  Session s = load_ok("");
  s.set("_sk_csrf", "mine");
  FakeResponse res;
  EXPECT_EQ(commit(s, res).code(), errc::invalid_argument);
  Session t = load_ok("");
  EXPECT_EQ(increment(t, "_sk_reauth_failures").code(), errc::invalid_argument);
}

TEST_F(SessionSecurityTest, PersistentCookiesAreAnExplicitChoice) {
  Session s = load_ok("");
  s.set("k", 1);
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_EQ(res.set_cookie_line("sid").value_or("Max-Age").find("Max-Age"), std::string::npos);
  SessionOptions o = SessionOptions::development();
  o.cookie.persistent = true;
  rebuild(o);
  Session r = load_ok("");
  r.set("k", 1);
  FakeResponse res2;
  ASSERT_TRUE(commit(r, res2).ok());
  EXPECT_NE(res2.set_cookie_line("sid").value_or("").find("Max-Age=43200"), std::string::npos);
}

}  // namespace
}  // namespace sessionkit
