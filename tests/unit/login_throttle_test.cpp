// LoginThrottle (sessionkit/login_throttle.h) on the memory store with a manual clock: the free
// failures, the doubling delay and its cap per scope, what a success forgets, the window, the
// known-device exemption from the account scope, events, and a failing store.
#include "sessionkit/login_throttle.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <string>
#include <vector>

#include "sessionkit/stores/memory.h"
#include "support/faulty_store.h"
#include "support/recording_sink.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;
using Scope = LoginThrottle::Scope;
using Verdict = LoginThrottle::Verdict;

using Recorder = testing::RecordingSink;

class LoginThrottleTest : public ::testing::Test {
 protected:
  void SetUp() override { make({}); }

  void make(LoginThrottleOptions options) {
    throttle_ = LoginThrottle::create(store_, keyring_, clock_, options, events_, metrics_).value();
  }

  Result<Verdict> check(const LoginThrottle::Attempt& a) {
    std::promise<Result<Verdict>> p;
    throttle_->check(a, [&](Result<Verdict> v) { p.set_value(std::move(v)); });
    return p.get_future().get();
  }
  Result<Verdict> fail(const LoginThrottle::Attempt& a) {
    std::promise<Result<Verdict>> p;
    throttle_->failed(a, [&](Result<Verdict> v) { p.set_value(std::move(v)); });
    return p.get_future().get();
  }
  Status succeed(const LoginThrottle::Attempt& a) {
    std::promise<Status> p;
    throttle_->succeeded(a, [&](Status s) { p.set_value(std::move(s)); });
    return p.get_future().get();
  }
  // `n` failures, each allowed by `check` first; the verdict after the last.
  Verdict fail_times(const LoginThrottle::Attempt& a, int n) {
    Verdict last;
    for (int i = 0; i < n; ++i) {
      auto c = check(a);
      EXPECT_TRUE(c.ok() && c->allowed) << "attempt " << i;
      auto f = fail(a);
      EXPECT_TRUE(f.ok()) << f.status().to_string();
      if (f.ok()) last = *f;
    }
    return last;
  }

  ManualClock clock_;
  std::shared_ptr<MemoryStore> memory_ =
      std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_});
  std::shared_ptr<testing::FaultyStore> store_ = std::make_shared<testing::FaultyStore>(memory_);
  Keyring keyring_ = Keyring::parse("login-throttle-test-secret-0123456789").value();
  std::shared_ptr<Recorder> events_ = std::make_shared<Recorder>();
  std::shared_ptr<Metrics> metrics_ = std::make_shared<Metrics>();
  std::unique_ptr<LoginThrottle> throttle_;
};

const LoginThrottle::Attempt kAlice{"alice", "192.0.2.1", ""};

TEST_F(LoginThrottleTest, FiveFreeFailuresThenADelayThatDoublesUpToTheCap) {
  EXPECT_TRUE(fail_times(kAlice, 5).allowed) << "five typos cost nothing";
  auto v = fail(kAlice);  // the 6th
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->allowed);
  EXPECT_EQ(v->retry_after, 1s);
  EXPECT_EQ(v->by, Scope::pair);
  auto c = check(kAlice);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->allowed);
  EXPECT_EQ(c->retry_after, 1s);
  clock_.advance(999ms);
  EXPECT_EQ(check(kAlice)->retry_after, 1ms);
  clock_.advance(1ms);
  EXPECT_TRUE(check(kAlice)->allowed);
  // 2 s, 4 s, ... doubling per failure, each waited out, up to 15 minutes.
  Duration expected = 1s;
  for (int i = 0; i < 12; ++i) {
    expected = std::min<Duration>(expected * 2, 15min);
    auto f = fail(kAlice);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->retry_after, expected) << "failure " << 7 + i;
    clock_.advance(f->retry_after);
  }
  EXPECT_EQ(expected, 15min) << "the cap was reached";
}

TEST_F(LoginThrottleTest, OnlyTheGuessersPairIsSlowedOtherAddressesAndAccountsAreNot) {
  fail_times(kAlice, 6);
  EXPECT_FALSE(check(kAlice)->allowed);
  EXPECT_TRUE(check({"alice", "198.51.100.7", ""})->allowed) << "alice from elsewhere";
  EXPECT_TRUE(check({"bob", "192.0.2.1", ""})->allowed) << "another account from that address";
}

TEST_F(LoginThrottleTest, ASuccessForgetsThePairButNotTheAddress) {
  LoginThrottleOptions o;
  o.address.free = 7;
  make(o);
  fail_times(kAlice, 5);
  ASSERT_TRUE(succeed(kAlice).ok());
  EXPECT_TRUE(fail_times(kAlice, 2).allowed) << "the pair counts from zero again";
  // The address has seen 7 failures: the 8th (any account) is over its free count.
  auto v = fail({"carol", "192.0.2.1", ""});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->allowed);
  EXPECT_EQ(v->by, Scope::address);
}

TEST_F(LoginThrottleTest, OneAddressTryingManyAccountsMeetsTheAddressScope) {
  for (int i = 0; i < 30; ++i) {
    auto v = fail({"user" + std::to_string(i), "203.0.113.9", ""});
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->allowed) << i;
  }
  auto v = fail({"user30", "203.0.113.9", ""});
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->allowed);
  EXPECT_EQ(v->by, Scope::address);
  EXPECT_FALSE(check({"anyone", "203.0.113.9", ""})->allowed);
  EXPECT_TRUE(check({"anyone", "203.0.113.10", ""})->allowed);
}

TEST_F(LoginThrottleTest, AnIpv6ClientIsCountedByItsSlash64) {
  for (int i = 0; i < 6; ++i) {
    auto v = fail({"alice", "2001:db8:1:2::" + std::to_string(i + 1), ""});
    ASSERT_TRUE(v.ok());
  }
  EXPECT_FALSE(check({"alice", "2001:db8:1:2:ffff::1", ""})->allowed) << "same /64";
  EXPECT_TRUE(check({"alice", "2001:db8:1:3::1", ""})->allowed) << "another /64";
}

TEST_F(LoginThrottleTest, GuessingFromManyAddressesMeetsTheAccountScopeButNotAKnownDevice) {
  const std::string device = throttle_->device_token("alice");  // alice signed in here before
  clock_.advance(1h);
  for (int i = 0; i < 100; ++i) {
    auto v = fail({"alice", "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250), ""});
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->allowed) << i;
  }
  auto v = fail({"alice", "10.1.0.1", ""});  // the 101st
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->allowed);
  EXPECT_EQ(v->by, Scope::account);
  EXPECT_FALSE(check({"alice", "198.51.100.1", ""})->allowed) << "a new device waits";
  EXPECT_TRUE(check({"alice", "198.51.100.1", device})->allowed) << "the owner's device does not";
  EXPECT_FALSE(check({"alice", "198.51.100.1", throttle_->device_token("bob")})->allowed)
      << "bob's device token says nothing about alice";
  std::string tampered = device;
  tampered[0] = tampered[0] == '1' ? '2' : '1';
  EXPECT_FALSE(check({"alice", "198.51.100.1", tampered})->allowed);
  EXPECT_FALSE(check({"alice", "198.51.100.1", "garbage"})->allowed);
  EXPECT_TRUE(check({"bob", "198.51.100.1", ""})->allowed);
}

TEST_F(LoginThrottleTest, ADeviceTokenIsHonouredForItsLifetimeOnly) {
  LoginThrottleOptions o;
  o.device_lifetime = 30 * 24h;
  make(o);
  const std::string device = throttle_->device_token("alice");
  EXPECT_TRUE(throttle_->known_device(device, "alice"));
  EXPECT_FALSE(throttle_->known_device(device, "Alice"));
  clock_.advance(30 * 24h - 1ms);
  EXPECT_TRUE(throttle_->known_device(device, "alice"));
  clock_.advance(1ms);
  EXPECT_FALSE(throttle_->known_device(device, "alice"));
  // Signed with another keyring: not ours.
  auto other = LoginThrottle::create(
                   store_, Keyring::parse("another-secret-0123456789abcdef").value(), clock_)
                   .value();
  EXPECT_FALSE(throttle_->known_device(other->device_token("alice"), "alice"));
}

TEST_F(LoginThrottleTest, CountsAreForgottenAWindowAfterTheFirstFailure) {
  fail_times(kAlice, 6);
  EXPECT_FALSE(check(kAlice)->allowed);
  clock_.advance(24h);
  EXPECT_TRUE(check(kAlice)->allowed);
  EXPECT_TRUE(fail_times(kAlice, 5).allowed) << "counting from zero again";
  EXPECT_FALSE(fail(kAlice)->allowed);
}

TEST_F(LoginThrottleTest, ADisabledScopeIsNeitherCountedNorChecked) {
  LoginThrottleOptions o;
  o.pair.enabled = false;
  o.address.enabled = false;
  o.account.free = 2;
  make(o);
  fail_times(kAlice, 2);
  auto v = fail(kAlice);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->by, Scope::account);
  EXPECT_TRUE(succeed(kAlice).ok()) << "no pair to forget";
  EXPECT_FALSE(check(kAlice)->allowed) << "a success forgets no account count";
}

TEST_F(LoginThrottleTest, CrossingAScopesFreeCountRaisesOneAnomaly) {
  fail_times(kAlice, 5);
  EXPECT_TRUE(events_->events.empty());
  EXPECT_FALSE(fail(kAlice)->allowed);
  EXPECT_FALSE(fail(kAlice)->allowed);
  ASSERT_EQ(events_->events.size(), 1u);
  const Event& e = events_->events[0];
  EXPECT_EQ(e.type, EventType::anomaly);
  EXPECT_EQ(e.reason, "login failures: over 5 for one pair");
  EXPECT_EQ(e.anomaly, Anomaly::login_failures_pair);
  EXPECT_EQ(metrics_->anomalies[Anomaly::login_failures_pair], 1u);
  EXPECT_EQ(metrics_->anomalies.total(), 1u);
  EXPECT_EQ(e.user_id, "") << "a name typed by anyone is not logged";
  EXPECT_EQ(e.key_hint.size(), 8u);
}

TEST_F(LoginThrottleTest, AFailingStoreIsAnErrorNeverAllowed) {
  store_->set_failing(true);
  auto c = check(kAlice);
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(c.code(), errc::unavailable);
  auto f = fail(kAlice);
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.code(), errc::unavailable);
  EXPECT_FALSE(succeed(kAlice).ok());
  store_->set_failing(false);
  EXPECT_TRUE(check(kAlice)->allowed);
}

TEST_F(LoginThrottleTest, BadOptionsAreRefused) {
  const auto refused = [&](LoginThrottleOptions o) {
    return LoginThrottle::create(store_, keyring_, clock_, o).code() == errc::invalid_argument;
  };
  LoginThrottleOptions o;
  o.pair.window = 0s;
  EXPECT_TRUE(refused(o));
  o = {};
  o.address.base_delay = 0s;
  EXPECT_TRUE(refused(o));
  o = {};
  o.account.max_delay = 500ms;
  EXPECT_TRUE(refused(o));
  o = {};
  o.pair.free = 1'000'000'001;
  EXPECT_TRUE(refused(o));
  o = {};
  o.device_lifetime = 0s;
  EXPECT_TRUE(refused(o));
  EXPECT_EQ(LoginThrottle::create(nullptr, keyring_, clock_).code(), errc::invalid_argument);
  EXPECT_TRUE(LoginThrottle::create(store_, keyring_, clock_).ok());
}

}  // namespace
}  // namespace sessionkit
