// SessionManager::update on every store of this build (issue 17, deliverable 5: optimistic
// concurrency): memory, the reference store, SQLite, Redis, Redis Cluster and PostgreSQL (real
// servers, started once per process by the store tests that register them).
//   - 64 concurrent writers, each through its own request (its own load of the session by its
//     cookie), add an item to one cart and recompute its derived values (count, total, the
//     largest item): the final cart is the serial result, each version 1..64 is written once,
//     and the function ran more than 64 times in all (the writers did collide: the retries
//     were exercised; how often is printed per store).
// The unit tests (tests/unit/manager_update_test.cpp) pin the rules on the memory store.
#include <algorithm>
#include <future>
#include <iostream>
#include <latch>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "contract/store_harness.h"
#include "sessionkit/manager.h"
#include "sessionkit/sync.h"
#include "support/http_fakes.h"

namespace sessionkit::testing {
namespace {

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr int kWriters = 64;

struct Rig {
  explicit Rig(const RegisteredStore& s)
      : store(s.make(clock)),
        manager(store, Keyring::parse(kSecret).value(), SessionOptions::development(),
                SessionManager::Dependencies{&clock, make_null_sink(), nullptr, nullptr}) {}

  // A stored session with an empty cart; answers its cookie ("name=value").
  std::string new_cart() {
    auto s = sync::load(manager, FakeRequest(""));
    EXPECT_TRUE(s.ok());
    if (!s.ok()) return {};
    s->set("cart", nlohmann::json{{"items", nlohmann::json::array()}, {"count", 0}, {"total", 0}});
    FakeResponse res;
    EXPECT_OK(sync::commit(manager, *s, res));
    return res.set_cookie_pair(manager.options().cookie.full_name()).value_or("");
  }
  Result<Session> request(const std::string& cookie) {
    return sync::load(manager, FakeRequest(cookie));
  }

  ManualClock clock{from_millis(to_millis(system_clock().now()))};  // stores with server TTLs
  std::shared_ptr<SessionStore> store;
  SessionManager manager;
};

// The pure function every writer applies: item `i` (price i) in, derived values recomputed.
SessionManager::Updater add_item(int i, std::atomic<int>& runs) {
  return [i, &runs](const nlohmann::json& data) -> Result<SessionPatch> {
    ++runs;
    // A slow computation widens the window between the read and the write: the writers collide
    // on every store, even the inline ones under a sanitizer's serialisation.
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    nlohmann::json cart = data.at("cart");
    cart["items"].push_back({{"id", i}, {"price", i}});
    std::int64_t total = 0, largest = 0;
    for (const auto& item : cart["items"]) {
      total += item["price"].get<std::int64_t>();
      largest = std::max(largest, item["price"].get<std::int64_t>());
    }
    cart["count"] = cart["items"].size();
    cart["total"] = total;
    cart["largest"] = largest;
    SessionPatch p;
    p.set.emplace_back("cart", std::move(cart));
    return p;
  };
}

TEST(UpdateMatrix, SixtyFourConcurrentWritersGiveTheSerialResult) {
  for_every_store<Rig>([](Rig& rig) {
    const std::string cookie = rig.new_cart();
    ASSERT_FALSE(cookie.empty());
    std::latch start(kWriters);
    std::atomic<int> errors{0}, runs{0};
    std::vector<std::uint64_t> versions(kWriters);
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; ++t) {
      threads.emplace_back([&, t] {
        auto s = rig.request(cookie);
        start.arrive_and_wait();
        if (!s.ok() || s->is_new()) {
          ++errors;
          return;
        }
        // Every conflict is another writer's success: 64 writers need at most 64 attempts.
        auto v = sync::update(rig.manager, *s, add_item(t + 1, runs), kWriters);
        if (!v.ok()) {
          ADD_FAILURE() << "writer " << t << ": " << v.status().to_string();
          ++errors;
          return;
        }
        versions[t] = *v;
        // The request's view holds what it wrote.
        if (s->get<nlohmann::json>("cart").value_or(nullptr)["items"].back()["id"] != t + 1)
          ++errors;
      });
    }
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(errors.load(), 0);
    std::sort(versions.begin(), versions.end());
    for (int i = 0; i < kWriters; ++i)
      EXPECT_EQ(versions[i], static_cast<std::uint64_t>(i + 1)) << "each version written once";
    auto s = rig.request(cookie);
    ASSERT_TRUE(s.ok());
    const nlohmann::json cart = s->get<nlohmann::json>("cart").value_or(nullptr);
    std::set<int> ids;
    for (const auto& item : cart["items"])
      ids.insert(item["id"].get<int>());
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kWriters)) << cart.dump();
    EXPECT_EQ(cart["count"], kWriters);
    EXPECT_EQ(cart["total"], kWriters * (kWriters + 1) / 2);
    EXPECT_EQ(cart["largest"], kWriters);
    EXPECT_GT(runs.load(), kWriters) << "no writer ever conflicted: the test did not race";
    std::cout << "[  update  ] " << rig.store->name() << ": " << runs.load()
              << " runs of the function for " << kWriters << " writes\n";
  });
}

}  // namespace
}  // namespace sessionkit::testing
