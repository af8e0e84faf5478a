// AnomalyDetector on every store of this build (issue 17, deliverable 2: signals that hold
// across app instances): memory, the reference store, SQLite, Redis, Redis Cluster and
// PostgreSQL (real servers, started once per process by the store tests that register them).
// Two detectors on one store stand for two app instances:
//   - sign-ins alternating between them are counted together: the eleventh is a cycle, once;
//     16 concurrent sign-ins over both count exactly 16 (one crossing);
//   - sessions committed through the store's own user index are what the spread signals read:
//     four networks stay quiet, a fifth is many_addresses on whichever instance sees it.
// The unit tests (tests/unit/anomaly_detector_test.cpp) pin the rules on the memory store.
#include <future>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "contract/store_harness.h"
#include "sessionkit/anomaly_detector.h"

namespace sessionkit::testing {
namespace {

using namespace std::chrono_literals;
using Anomalies = std::vector<Anomaly>;

struct Rig {
  explicit Rig(const RegisteredStore& s)
      : store(s.make(clock)),
        one(AnomalyDetector::create(store, clock, {}, nullptr, metrics).value()),
        two(AnomalyDetector::create(store, clock, {}, nullptr, metrics).value()) {}

  static Result<Anomalies> signed_in(const AnomalyDetector& d,
                                     const AnomalyDetector::SignIn& sign_in) {
    std::promise<Result<Anomalies>> p;
    d.signed_in(sign_in, [&](Result<Anomalies> a) { p.set_value(std::move(a)); });
    return p.get_future().get();
  }
  // A session of `user` as the manager commits it at a sign-in.
  Status commit_session(const std::string& user, const std::string& ip) {
    SessionRecord r;
    r.start(clock.now(), 30min, 12h);
    r.user_id = user;
    r.ip = ip;
    r.user_agent = "matrix";
    std::promise<Status> p;
    store->create(SessionKey::of(SessionId::generate()), r,
                  [&](Status s) { p.set_value(std::move(s)); });
    return p.get_future().get();
  }

  ManualClock clock{from_millis(to_millis(system_clock().now()))};  // stores with server TTLs
  std::shared_ptr<Metrics> metrics = std::make_shared<Metrics>();
  std::shared_ptr<SessionStore> store;
  std::unique_ptr<AnomalyDetector> one;
  std::unique_ptr<AnomalyDetector> two;
};

// A fresh user per store run: stores that outlive one Rig (a shared server) keep records.
std::string user(const char* base) {
  static std::atomic<int> n{0};
  return std::string(base) + "-" + std::to_string(n++) + "-" +
         std::to_string(to_millis(system_clock().now()));
}

TEST(AnomalyDetectorMatrix, TwoInstancesCountSignInsTogether) {
  for_every_store<Rig>([](Rig& rig) {
    const AnomalyDetector::SignIn s{user("alice"), "192.0.2.44", "matrix"};
    for (int i = 0; i < 10; ++i) {
      auto a = Rig::signed_in(i % 2 == 0 ? *rig.one : *rig.two, s);
      ASSERT_TRUE(a.ok()) << a.status().to_string();
      EXPECT_EQ(*a, Anomalies{}) << "sign-in " << i + 1;
    }
    EXPECT_EQ(Rig::signed_in(*rig.two, s).value(), Anomalies{Anomaly::sign_in_cycles});
    EXPECT_EQ(Rig::signed_in(*rig.one, s).value(), Anomalies{});
    EXPECT_EQ(rig.metrics->anomalies[Anomaly::sign_in_cycles], 1u);
  });
}

TEST(AnomalyDetectorMatrix, ConcurrentSignInsOnBothInstancesAreEachCounted) {
  for_every_store<Rig>([](Rig& rig) {
    AnomalyDetectorOptions o;
    o.max_sign_ins = 15;  // the 16th is the one crossing
    rig.one = AnomalyDetector::create(rig.store, rig.clock, o, nullptr, rig.metrics).value();
    rig.two = AnomalyDetector::create(rig.store, rig.clock, o, nullptr, rig.metrics).value();
    const AnomalyDetector::SignIn s{user("bob"), "192.0.2.45", "matrix"};
    std::latch start(8);
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < 2; ++i) {
          if (!Rig::signed_in(t % 2 == 0 ? *rig.one : *rig.two, s).ok()) ++errors;
        }
      });
    }
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(rig.metrics->anomalies[Anomaly::sign_in_cycles], 1u) << "16 counted, one crossing";
    EXPECT_EQ(Rig::signed_in(*rig.one, s).value(), Anomalies{}) << "the 17th";
  });
}

TEST(AnomalyDetectorMatrix, TheSpreadIsReadFromTheStoresUserIndex) {
  for_every_store<Rig>([](Rig& rig) {
    AnomalyDetectorOptions o;
    o.max_sign_ins = 0;
    rig.one = AnomalyDetector::create(rig.store, rig.clock, o, nullptr, rig.metrics).value();
    rig.two = AnomalyDetector::create(rig.store, rig.clock, o, nullptr, rig.metrics).value();
    const std::string u = user("carol");
    for (int i = 1; i <= 4; ++i) {
      const std::string ip = "198.51.100." + std::to_string(i);
      ASSERT_OK(rig.commit_session(u, ip));
      auto a = Rig::signed_in(i % 2 == 0 ? *rig.one : *rig.two, {u, ip, "matrix"});
      ASSERT_TRUE(a.ok()) << a.status().to_string();
      EXPECT_EQ(*a, Anomalies{}) << "network " << i;
    }
    ASSERT_OK(rig.commit_session(u, "198.51.100.5"));
    EXPECT_EQ(Rig::signed_in(*rig.two, {u, "198.51.100.5", "matrix"}).value(),
              Anomalies{Anomaly::many_addresses});
    EXPECT_EQ(rig.metrics->anomalies[Anomaly::many_addresses], 1u);
  });
}

}  // namespace
}  // namespace sessionkit::testing
