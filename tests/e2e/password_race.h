// password_race.h — issue 21, finding 1, driven as the attacker did it: while the victim changes
// the password, attackers who know the OLD one loop POST /api/login; afterwards no session any of
// them obtained may still be signed in ("zero survivors"). Shared by the e2e suites of each store.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "e2e/api.h"
#include "e2e/http_client.h"

namespace e2e {

// The demos of this race run without the sign-in throttle: the attackers' logins with the old
// password fail by the dozen once it has changed, and from one address the throttle would then
// answer 429 to the victim and the attackers alike (counts that, on a store shared between runs
// such as the Redis test's server, even outlive the run). The race is about credential stamps;
// the throttle has its own tests (login_throttle_demo, LoginThrottle*).
inline constexpr std::string_view kRaceThrottleOff = "--login-throttle=false";

struct RaceOutcome {
  int attacker_logins = 0;        // 200 answers the attackers got, before and after the change
  int survivors = 0;              // of those sessions, signed in after the change
  bool victim_signed_in = false;  // the session that changed the password stays signed in
};

// One round against a running demo whose user `alice` has password `old_password`.
inline RaceOutcome password_change_race(std::uint16_t port, const std::string& old_password,
                                        const std::string& new_password) {
  using namespace std::chrono_literals;
  HttpClient victim(port);
  EXPECT_EQ(login(victim, "alice", old_password).result_int(), 200);

  std::atomic<bool> stop{false};
  std::mutex mutex;
  std::vector<std::string> stolen;
  auto attacker = [&] {
    while (!stop.load()) {
      HttpClient a(port);
      Response r = login(a, "alice", old_password);
      if (r.result_int() == 200) {
        std::lock_guard lock(mutex);
        stolen.push_back(a.jar.get("sid").value_or(""));
      }
    }
  };
  std::vector<std::thread> attackers;
  for (int i = 0; i < 2; ++i)
    attackers.emplace_back(attacker);
  // Logins in flight, at least one completed (bounded: a slow machine, e.g. under sanitizers,
  // takes longer per password check).
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    {
      std::lock_guard lock(mutex);
      if (!stolen.empty()) break;
    }
    if (std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(300ms);  // several more logins in flight and done

  const std::string token = csrf(victim);
  Response changed = victim.post_json(
      "/api/password", nlohmann::json{{"current", old_password}, {"new", new_password}}.dump(),
      token);
  EXPECT_EQ(changed.result_int(), 200) << changed.body();
  // The attackers keep going for a while: logins whose check read the old password land now.
  std::this_thread::sleep_for(400ms);
  stop = true;
  for (auto& t : attackers)
    t.join();

  RaceOutcome out;
  out.attacker_logins = static_cast<int>(stolen.size());
  for (const std::string& cookie : stolen) {
    HttpClient replay(port);
    replay.jar.set("sid", cookie);
    Response r = replay.get("/api/session");
    if (r.result_int() == 200 && body_json(r)["authenticated"] == true) ++out.survivors;
  }
  out.victim_signed_in = body_json(victim.get("/api/session"))["authenticated"] == true;
  return out;
}

}  // namespace e2e
