// AnomalyDetector (sessionkit/anomaly_detector.h) on the memory store with a manual clock: each
// signal raised when its threshold is crossed (event, metric, answer), and quiet under normal use
// (two devices, a phone moving between Wi-Fi and a mobile network, IPv6 privacy addresses, a
// few sign-ins an hour); sessions outside the window or logged out do not count; thresholds of
// 0 turn a signal off; option checks; a failing store is an error.
#include "sessionkit/anomaly_detector.h"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sessionkit/stores/memory.h"
#include "support/faulty_store.h"
#include "support/recording_sink.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;
using Anomalies = std::vector<Anomaly>;

using Recorder = testing::RecordingSink;

constexpr const char* kLaptop = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0";
constexpr const char* kPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) Safari/604.1";
constexpr const char* kHome = "203.0.113.5";
constexpr const char* kMobile = "198.51.100.7";

class AnomalyDetectorTest : public ::testing::Test {
 protected:
  void SetUp() override { make({}); }

  void make(AnomalyDetectorOptions options) {
    detector_ = AnomalyDetector::create(store_, clock_, options, events_, metrics_).value();
  }

  // What an app does at a sign-in: commits the new session (a record bound to the user, with
  // the client's address and User-Agent), then tells the detector. Answers the new key.
  SessionKey sign_in_session(const std::string& user, const std::string& ip,
                             const std::string& ua) {
    SessionRecord r;
    r.start(clock_.now(), 2h, 12h);  // idle longer than the window: the window decides
    r.user_id = user;
    r.ip = ip;
    r.user_agent = ua;
    const SessionKey key = SessionKey::of(SessionId::generate());
    std::promise<Status> p;
    memory_->create(key, r, [&](Status s) { p.set_value(std::move(s)); });
    EXPECT_TRUE(p.get_future().get().ok());
    return key;
  }
  Result<Anomalies> signed_in(const std::string& user, const std::string& ip,
                              const std::string& ua) {
    sign_in_session(user, ip, ua);
    std::promise<Result<Anomalies>> p;
    detector_->signed_in({user, ip, ua}, [&](Result<Anomalies> a) { p.set_value(std::move(a)); });
    return p.get_future().get();
  }
  void log_out(const SessionKey& key) {
    std::promise<Result<bool>> p;
    memory_->destroy(key, [&](Result<bool> r) { p.set_value(std::move(r)); });
    EXPECT_TRUE(p.get_future().get().value());
  }

  ManualClock clock_;
  std::shared_ptr<MemoryStore> memory_ =
      std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_});
  std::shared_ptr<testing::FaultyStore> store_ = std::make_shared<testing::FaultyStore>(memory_);
  std::shared_ptr<Recorder> events_ = std::make_shared<Recorder>();
  std::shared_ptr<Metrics> metrics_ = std::make_shared<Metrics>();
  std::unique_ptr<AnomalyDetector> detector_;
};

TEST_F(AnomalyDetectorTest, TwoDevicesAndAMobileNetworkChangeStayQuiet) {
  // Morning: the laptop at home, the phone at home on Wi-Fi, then the phone on the train.
  EXPECT_EQ(signed_in("alice", kHome, kLaptop).value(), Anomalies{});
  clock_.advance(2min);
  EXPECT_EQ(signed_in("alice", kHome, kPhone).value(), Anomalies{});
  clock_.advance(10min);
  EXPECT_EQ(signed_in("alice", kMobile, kPhone).value(), Anomalies{});
  // The carrier moves the phone to another address; IPv6 privacy addresses rotate within a /64.
  clock_.advance(5min);
  EXPECT_EQ(signed_in("alice", "198.51.100.250", kPhone).value(), Anomalies{});
  EXPECT_EQ(signed_in("alice", "2001:db8:1:2::1a", kLaptop).value(), Anomalies{});
  EXPECT_EQ(signed_in("alice", "2001:db8:1:2:8c1e:55ff:fe01:2", kLaptop).value(), Anomalies{});
  // Bob signing in from elsewhere meanwhile is Bob's business.
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}) {
    EXPECT_EQ(signed_in("bob", ip, "curl/8.0").value(), Anomalies{});
  }
  EXPECT_TRUE(events_->events.empty());
  EXPECT_EQ(metrics_->anomalies.total(), 0u);
}

TEST_F(AnomalyDetectorTest, AFifthNetworkWithinTheWindowIsManyAddresses) {
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}) {
    EXPECT_EQ(signed_in("alice", ip, kLaptop).value(), Anomalies{});
  }
  EXPECT_EQ(signed_in("alice", "192.0.2.5", kLaptop).value(), Anomalies{Anomaly::many_addresses});
  ASSERT_EQ(events_->events.size(), 1u);
  const Event& e = events_->events[0];
  EXPECT_EQ(e.type, EventType::anomaly);
  EXPECT_EQ(e.anomaly, Anomaly::many_addresses);
  EXPECT_EQ(e.user_id, "alice");
  EXPECT_EQ(e.reason,
            "sign-in from 192.0.2.5: sessions used from 5 networks within 60 min (limit 4)");
  EXPECT_EQ(metrics_->anomalies[Anomaly::many_addresses], 1u);
  EXPECT_NE(metrics_->render_prometheus().find(
                "sessionkit_anomalies_total{reason=\"many_addresses\"} 1\n"),
            std::string::npos);
  // Every further sign-in while the spread lasts says so again.
  EXPECT_EQ(signed_in("alice", "192.0.2.1", kLaptop).value(), Anomalies{Anomaly::many_addresses});
}

TEST_F(AnomalyDetectorTest, SessionsIdleBeyondTheWindowOrLoggedOutDoNotCount) {
  for (const char* ip : {"192.0.2.1", "192.0.2.2", "192.0.2.3"}) {
    EXPECT_EQ(signed_in("alice", ip, kLaptop).value(), Anomalies{});
  }
  clock_.advance(20min);
  const SessionKey logged_out = sign_in_session("alice", "192.0.2.4", kLaptop);
  log_out(logged_out);
  EXPECT_EQ(signed_in("alice", "192.0.2.5", kLaptop).value(), Anomalies{})
      << "4 networks with live sessions: the logged-out one is gone";
  clock_.advance(41min);  // the first three, still live, were last used 61 min ago
  for (const char* ip : {"192.0.2.6", "192.0.2.7", "192.0.2.8"}) {
    EXPECT_EQ(signed_in("alice", ip, kLaptop).value(), Anomalies{});
  }
  EXPECT_EQ(metrics_->anomalies.total(), 0u);
}

TEST_F(AnomalyDetectorTest, AFifthBrowserIsManyUserAgents) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(signed_in("alice", kHome, "agent/" + std::to_string(i)).value(), Anomalies{});
  }
  EXPECT_EQ(signed_in("alice", kHome, "").value(), Anomalies{Anomaly::many_user_agents})
      << "no User-Agent is one more agent";
  ASSERT_EQ(events_->events.size(), 1u);
  EXPECT_EQ(events_->events[0].reason, "sessions used from 5 User-Agents within 60 min (limit 4)");
  EXPECT_EQ(metrics_->anomalies[Anomaly::many_user_agents], 1u);
}

TEST_F(AnomalyDetectorTest, TheEleventhSignInWithinTenMinutesIsACycleOncePerWindow) {
  AnomalyDetectorOptions o;
  o.max_networks = 0;  // the cycles alone
  o.max_user_agents = 0;
  make(o);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(signed_in("alice", kHome, kLaptop).value(), Anomalies{}) << i;
    clock_.advance(50s);
  }
  EXPECT_EQ(signed_in("alice", kHome, kLaptop).value(), Anomalies{Anomaly::sign_in_cycles});
  EXPECT_EQ(signed_in("alice", kHome, kLaptop).value(), Anomalies{}) << "once per window";
  ASSERT_EQ(events_->events.size(), 1u);
  EXPECT_EQ(events_->events[0].reason, "11 sign-ins within 10 min (limit 10)");
  EXPECT_EQ(events_->events[0].user_id, "alice");
  clock_.advance(2min);  // the window (from the first sign-in) has ended: the count starts over
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(signed_in("alice", kHome, kLaptop).value(), Anomalies{});
  EXPECT_EQ(signed_in("alice", kHome, kLaptop).value(), Anomalies{Anomaly::sign_in_cycles});
  EXPECT_EQ(metrics_->anomalies[Anomaly::sign_in_cycles], 2u);
  EXPECT_EQ(signed_in("bob", kHome, kLaptop).value(), Anomalies{}) << "counted per user";
}

TEST_F(AnomalyDetectorTest, BothSpreadSignalsAtOnceComeInTheEnumsOrder) {
  for (int i = 1; i <= 4; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_EQ(signed_in("alice", "192.0.2." + n, "agent/" + n).value(), Anomalies{});
  }
  EXPECT_EQ(signed_in("alice", "192.0.2.5", "agent/5").value(),
            (Anomalies{Anomaly::many_addresses, Anomaly::many_user_agents}));
  EXPECT_EQ(metrics_->anomalies.total(), 2u);
}

TEST_F(AnomalyDetectorTest, ZeroTurnsASignalOffAndOptionsAreChecked) {
  make({.max_networks = 0, .max_user_agents = 0, .max_sign_ins = 0});
  for (int i = 0; i < 20; ++i) {
    const std::string n = std::to_string(i);
    EXPECT_EQ(signed_in("alice", "192.0.2." + n, n).value(), Anomalies{});
  }
  EXPECT_EQ(metrics_->anomalies.total(), 0u);
  EXPECT_EQ(AnomalyDetector::create(nullptr, clock_).code(), errc::invalid_argument);
  EXPECT_EQ(AnomalyDetector::create(store_, clock_, {.spread_window = 0s}).code(),
            errc::invalid_argument);
  EXPECT_EQ(AnomalyDetector::create(store_, clock_, {.sign_in_window = 0s}).code(),
            errc::invalid_argument);
  EXPECT_TRUE(AnomalyDetector::create(
                  store_, clock_, {.max_networks = 0, .max_user_agents = 0, .spread_window = 0s})
                  .ok())
      << "a window of a signal that is off is not checked";
}

TEST_F(AnomalyDetectorTest, AFailingStoreIsAnError) {
  sign_in_session("alice", kHome, kLaptop);
  store_->set_failing(true);
  std::promise<Result<Anomalies>> p;
  detector_->signed_in({"alice", kHome, kLaptop},
                       [&](Result<Anomalies> a) { p.set_value(std::move(a)); });
  const Result<Anomalies> r = p.get_future().get();
  EXPECT_EQ(r.code(), errc::unavailable);
  EXPECT_EQ(metrics_->anomalies.total(), 0u);
}

TEST_F(AnomalyDetectorTest, AnAnonymousSignInIsNothingToWatch) {
  std::promise<Result<Anomalies>> p;
  detector_->signed_in({"", kHome, kLaptop},
                       [&](Result<Anomalies> a) { p.set_value(std::move(a)); });
  EXPECT_EQ(p.get_future().get().value(), Anomalies{});
}

}  // namespace
}  // namespace sessionkit
