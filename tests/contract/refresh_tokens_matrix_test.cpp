// Refresh tokens on every store of this build (issue 15, deliverable 6: the concurrency
// matrix): memory, the reference store, SQLite, Redis, Redis Cluster and PostgreSQL (real
// servers, started once per process by the store tests that register them). Each case runs on
// every store in turn:
//   - a lost answer (the store applied the rotation, the caller never heard) then a retry;
//   - 2 and 5 parallel refreshes with one token, on real threads;
//   - the previous token at grace + 1 s; the token before the previous within grace;
//   - an attacker who refreshes first;
//   - the store failing mid-rotation (after the load, at the compare-and-swap): an error,
//     nothing half-written, the same token works afterwards.
// The unit tests (tests/unit/refresh_tokens_test.cpp) pin the rules to the millisecond on the
// memory store; this file shows every store keeps them.
#include <future>
#include <iostream>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "contract/store_harness.h"
#include "sessionkit/cookie_sealer.h"
#include "sessionkit/events.h"
#include "sessionkit/manager.h"
#include "sessionkit/metrics.h"
#include "sessionkit/sync.h"
#include "sessionkit/tokens/refresh_tokens.h"
#include "support/faulty_store.h"
#include "support/http_fakes.h"

namespace sessionkit::testing {
namespace {

using namespace std::chrono_literals;
using tokens::Refresh;
using tokens::RefreshTokens;
using Outcome = Refresh::Outcome;

constexpr std::string_view kSessionSecret = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kTokenSecret = "refresh-matrix-secret-0123456789abcdef";

// One store behind a FaultyStore, a manager on a manual clock, and refresh tokens.
struct Rig {
  explicit Rig(const RegisteredStore& s)
      : inner(s.make(clock)),
        store(std::make_shared<FaultyStore>(inner)),
        metrics(std::make_shared<Metrics>()),
        manager(store, Keyring::parse(kSessionSecret).value(), SessionOptions::development(),
                SessionManager::Dependencies{&clock, make_null_sink(), metrics, nullptr}),
        keyring(Keyring::parse(kTokenSecret).value()),
        tokens(manager, keyring) {}

  // A signed-in, stored session and its first refresh token.
  std::string sign_in() {
    auto s = sync::load(manager, FakeRequest(""));
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    if (!s.ok()) return {};
    s->set_user("alice");
    FakeResponse res;
    Status committed = sync::commit(manager, *s, res);
    EXPECT_TRUE(committed.ok()) << committed.to_string();
    std::promise<Result<std::string>> started;
    tokens.start(*s, [&](Result<std::string> r) { started.set_value(std::move(r)); });
    auto token = started.get_future().get();
    EXPECT_TRUE(token.ok()) << token.status().to_string();
    return token.ok() ? *token : std::string();
  }

  Result<Refresh> refresh(const std::string& token) {
    std::promise<Result<Refresh>> answer;
    tokens.refresh(FakeRequest(""), token,
                   [&](Result<Refresh> r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }
  Outcome outcome_of(const std::string& token) {
    auto r = refresh(token);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->outcome : Outcome::invalid;
  }
  std::string rotate(const std::string& token) {
    auto r = refresh(token);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return {};
    EXPECT_EQ(r->outcome, Outcome::rotated) << r->reason;
    return r->refresh_token;
  }

  // The secret a token carries (each sealing differs, the secret does not).
  std::string secret_of(const std::string& token) const {
    auto opened = CookieSealer(keyring, "refresh-token").open(token);
    EXPECT_TRUE(opened.has_value());
    return opened ? opened->plaintext : std::string();
  }
  // The stored family of `token`'s session; null when the session is gone.
  nlohmann::json family(const std::string& token) {
    auto key = tokens.session_key(token);
    EXPECT_TRUE(key.has_value());
    auto record = BlockingStore(*inner).load(*key);
    EXPECT_TRUE(record.ok()) << record.status().to_string();
    if (!record.ok() || !record->has_value()) return nullptr;
    return (*record)->data.value(std::string(RefreshTokens::kFamilyKey), nlohmann::json());
  }

  ManualClock clock;  // first: the store reads it
  std::shared_ptr<SessionStore> inner;
  std::shared_ptr<FaultyStore> store;
  std::shared_ptr<Metrics> metrics;
  SessionManager manager;
  Keyring keyring;
  RefreshTokens tokens;
};

TEST(RefreshTokenMatrix, ALostAnswerThenARetryGetsTheSuccessorTheStoreAlreadyHas) {
  for_every_store<Rig>([](Rig& rig) {
    const std::string t0 = rig.sign_in();
    rig.store->set_losing_patch_if_answers(true);
    auto lost = rig.refresh(t0);
    rig.store->set_losing_patch_if_answers(false);
    EXPECT_FALSE(lost.ok()) << "the caller never heard of the rotation";
    EXPECT_EQ(rig.family(t0)["gen"], 1) << "but the store made it";
    rig.clock.advance(2s);  // the client's retry
    auto retry = rig.refresh(t0);
    ASSERT_TRUE(retry.ok()) << retry.status().to_string();
    EXPECT_EQ(retry->outcome, Outcome::replayed) << retry->reason;
    EXPECT_EQ(rig.family(t0)["gen"], 1) << "a replay writes nothing";
    // The retry's token is the successor the store holds: it rotates on.
    EXPECT_EQ(rig.outcome_of(retry->refresh_token), Outcome::rotated);
    EXPECT_EQ(rig.family(t0)["gen"], 2);
  });
}

void parallel_refreshes(Rig& rig, int n) {
  const std::string t0 = rig.sign_in();
  const std::string t1 = rig.rotate(t0);
  std::vector<Result<Refresh>> answers(n, Result<Refresh>(errc::unavailable, "not run"));
  std::latch ready(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      ready.arrive_and_wait();  // all at once
      answers[i] = rig.refresh(t1);
    });
  }
  for (auto& t : threads)
    t.join();
  int rotated = 0;
  int replayed = 0;
  std::string successor;
  for (auto& a : answers) {
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    rotated += a->outcome == Outcome::rotated ? 1 : 0;
    replayed += a->outcome == Outcome::replayed ? 1 : 0;
    if (successor.empty()) successor = rig.secret_of(a->refresh_token);
    EXPECT_EQ(rig.secret_of(a->refresh_token), successor) << "one chain, never a fork";
  }
  EXPECT_EQ(rotated, 1);
  EXPECT_EQ(replayed, n - 1);
  EXPECT_EQ(rig.family(t0)["gen"], 2);
  EXPECT_EQ(rig.outcome_of(answers[0]->refresh_token), Outcome::rotated)
      << "every caller's token continues the one chain";
}

TEST(RefreshTokenMatrix, TwoParallelRefreshesWithOneTokenGetOneSuccessor) {
  for_every_store<Rig>([](Rig& rig) { parallel_refreshes(rig, 2); });
}

TEST(RefreshTokenMatrix, FiveParallelRefreshesWithOneTokenGetOneSuccessor) {
  for_every_store<Rig>([](Rig& rig) { parallel_refreshes(rig, 5); });
}

TEST(RefreshTokenMatrix, ThePreviousTokenAtGracePlusOneSecondEndsTheFamily) {
  for_every_store<Rig>([](Rig& rig) {
    const std::string t0 = rig.sign_in();
    const std::string t1 = rig.rotate(t0);
    rig.clock.advance(31s);  // grace (30 s) + 1 s
    EXPECT_EQ(rig.outcome_of(t0), Outcome::reused);
    EXPECT_TRUE(rig.family(t0).is_null()) << "the session is destroyed";
    EXPECT_EQ(rig.outcome_of(t1), Outcome::invalid) << "and the current token with it";
    EXPECT_EQ(rig.metrics->refresh_reuse.load(), 1u);
  });
}

TEST(RefreshTokenMatrix, TheTokenBeforeThePreviousEndsTheFamilyEvenWithinGrace) {
  for_every_store<Rig>([](Rig& rig) {
    const std::string t0 = rig.sign_in();
    const std::string t1 = rig.rotate(t0);
    const std::string t2 = rig.rotate(t1);
    EXPECT_EQ(rig.outcome_of(t0), Outcome::reused);
    EXPECT_TRUE(rig.family(t0).is_null());
    EXPECT_EQ(rig.outcome_of(t2), Outcome::invalid);
  });
}

TEST(RefreshTokenMatrix, AnAttackerWhoRefreshesFirstIsCaughtWhenTheUserComesBack) {
  for_every_store<Rig>([](Rig& rig) {
    const std::string stolen = rig.sign_in();
    const std::string attackers = rig.rotate(stolen);  // the thief is faster
    rig.clock.advance(5min);                           // the user's app wakes up
    EXPECT_EQ(rig.outcome_of(stolen), Outcome::reused);
    EXPECT_EQ(rig.outcome_of(attackers), Outcome::invalid) << "the thief's chain is dead too";
  });
}

TEST(RefreshTokenMatrix, AStoreFailingMidRotationWritesNothingAndTheTokenStillWorks) {
  for_every_store<Rig>([](Rig& rig) {
    const std::string t0 = rig.sign_in();
    const nlohmann::json before = rig.family(t0);
    rig.store->set_failing_patch_if(true);  // the load works, the compare-and-swap fails
    auto failed = rig.refresh(t0);
    rig.store->set_failing_patch_if(false);
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.code(), errc::unavailable);
    EXPECT_EQ(rig.family(t0), before) << "nothing half-written";
    rig.store->set_failing(true);  // the whole store down
    EXPECT_FALSE(rig.refresh(t0).ok());
    rig.store->set_failing(false);
    EXPECT_EQ(rig.family(t0), before);
    EXPECT_EQ(rig.outcome_of(t0), Outcome::rotated) << "the client's token is still good";
  });
}

}  // namespace
}  // namespace sessionkit::testing
