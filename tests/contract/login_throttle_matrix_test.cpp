// LoginThrottle on every store of this build (issue 17, deliverable 1: throttling that holds
// across app instances): memory, the reference store, SQLite, Redis, Redis Cluster and
// PostgreSQL (real servers, started once per process by the store tests that register them).
// Two LoginThrottle objects on one store stand for two app instances. Each case runs on every
// store in turn:
//   - failures alternating between the two instances are counted together, and the delay the
//     6th puts in force is seen by both;
//   - 8 threads failing 4 times each, spread over both instances, count exactly 32;
//   - a success forgets the pair on both instances; the window forgets everything.
// The unit tests (tests/unit/login_throttle_test.cpp) pin the rules on the memory store.
#include <future>
#include <iostream>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "contract/store_harness.h"
#include "sessionkit/login_throttle.h"

namespace sessionkit::testing {
namespace {

using namespace std::chrono_literals;
using Verdict = LoginThrottle::Verdict;

struct Rig {
  explicit Rig(const RegisteredStore& s)
      : store(s.make(clock)),
        keyring(Keyring::parse("login-throttle-matrix-secret-0123456789").value()),
        one(LoginThrottle::create(store, keyring, clock).value()),
        two(LoginThrottle::create(store, keyring, clock).value()) {}

  static Result<Verdict> check(const LoginThrottle& t, const LoginThrottle::Attempt& a) {
    std::promise<Result<Verdict>> p;
    t.check(a, [&](Result<Verdict> v) { p.set_value(std::move(v)); });
    return p.get_future().get();
  }
  static Result<Verdict> fail(const LoginThrottle& t, const LoginThrottle::Attempt& a) {
    std::promise<Result<Verdict>> p;
    t.failed(a, [&](Result<Verdict> v) { p.set_value(std::move(v)); });
    return p.get_future().get();
  }
  static Status succeed(const LoginThrottle& t, const LoginThrottle::Attempt& a) {
    std::promise<Status> p;
    t.succeeded(a, [&](Status s) { p.set_value(std::move(s)); });
    return p.get_future().get();
  }

  ManualClock clock{from_millis(to_millis(system_clock().now()))};  // stores with server TTLs
  std::shared_ptr<SessionStore> store;
  Keyring keyring;
  std::unique_ptr<LoginThrottle> one;
  std::unique_ptr<LoginThrottle> two;
};

// A fresh account per store run: stores that outlive one Rig (a shared server) keep counts.
std::string account(const char* base) {
  static std::atomic<int> n{0};
  return std::string(base) + "-" + std::to_string(n++) + "-" +
         std::to_string(to_millis(system_clock().now()));
}

TEST(LoginThrottleMatrix, TwoInstancesCountTogetherAndBothSeeTheDelay) {
  for_every_store<Rig>([](Rig& rig) {
    const LoginThrottle::Attempt a{account("alice"), "192.0.2.44", ""};
    for (int i = 0; i < 5; ++i) {
      const LoginThrottle& t = i % 2 == 0 ? *rig.one : *rig.two;
      auto v = Rig::fail(t, a);
      ASSERT_TRUE(v.ok()) << v.status().to_string();
      EXPECT_TRUE(v->allowed) << "failure " << i + 1;
    }
    auto sixth = Rig::fail(*rig.two, a);
    ASSERT_TRUE(sixth.ok()) << sixth.status().to_string();
    EXPECT_FALSE(sixth->allowed);
    EXPECT_EQ(sixth->retry_after, 1s);
    for (const LoginThrottle* t : {rig.one.get(), rig.two.get()}) {
      auto c = Rig::check(*t, a);
      ASSERT_TRUE(c.ok()) << c.status().to_string();
      EXPECT_FALSE(c->allowed);
      EXPECT_EQ(c->by, LoginThrottle::Scope::pair);
    }
    rig.clock.advance(1s);
    EXPECT_TRUE(Rig::check(*rig.one, a)->allowed);
    // A success on one instance forgets the pair for both.
    ASSERT_TRUE(Rig::fail(*rig.one, a).ok());  // the 7th: 2 s
    EXPECT_FALSE(Rig::check(*rig.two, a)->allowed);
    ASSERT_TRUE(Rig::succeed(*rig.two, a).ok());
    EXPECT_TRUE(Rig::check(*rig.one, a)->allowed);
  });
}

TEST(LoginThrottleMatrix, ConcurrentFailuresOnBothInstancesAreEachCounted) {
  for_every_store<Rig>([](Rig& rig) {
    LoginThrottleOptions o;
    o.pair.free = 31;  // the 32nd failure is the first over: exactly one delay of 1 s
    o.address.free = 1000;
    rig.one = LoginThrottle::create(rig.store, rig.keyring, rig.clock, o).value();
    rig.two = LoginThrottle::create(rig.store, rig.keyring, rig.clock, o).value();
    const LoginThrottle::Attempt a{account("bob"), "192.0.2.45", ""};
    std::latch start(8);
    std::atomic<int> delayed{0}, errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < 4; ++i) {
          auto v = Rig::fail(t % 2 == 0 ? *rig.one : *rig.two, a);
          if (!v.ok()) ++errors;
          if (v.ok() && !v->allowed) ++delayed;
        }
      });
    }
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(delayed.load(), 1) << "32 failures counted: only the 32nd is over 31";
    auto next = Rig::fail(*rig.one, a);
    ASSERT_TRUE(next.ok());
    EXPECT_EQ(next->retry_after, 2s) << "the 33rd";
  });
}

TEST(LoginThrottleMatrix, TheWindowForgetsTheCounts) {
  for_every_store<Rig>([](Rig& rig) {
    LoginThrottleOptions o;
    o.address.window = 2s;
    o.address.free = 1;
    rig.one = LoginThrottle::create(rig.store, rig.keyring, rig.clock, o).value();
    const std::string address = "198.51.100." + std::to_string(to_millis(rig.clock.now()) % 250);
    ASSERT_TRUE(Rig::fail(*rig.one, {account("c"), address, ""}).ok());
    auto v = Rig::fail(*rig.one, {account("d"), address, ""});
    ASSERT_TRUE(v.ok());
    EXPECT_FALSE(v->allowed);
    EXPECT_EQ(v->by, LoginThrottle::Scope::address);
    rig.clock.advance(2s);
    auto c = Rig::check(*rig.one, {account("e"), address, ""});
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    EXPECT_TRUE(c->allowed);
  });
}

}  // namespace
}  // namespace sessionkit::testing
