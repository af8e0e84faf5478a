// Rotating refresh tokens (tokens/refresh_tokens.h, issue 15 deliverable 2) on the memory store
// behind a FaultyStore: rotation, the grace window anchored at the first rotation, reuse
// detection that ends the session, invalid tokens, the session's end reaching the family,
// parallel redemptions of one token, a store failure mid-rotation, revocation.
#include "sessionkit/tokens/refresh_tokens.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "sessionkit/blocking_store.h"
#include "sessionkit/cookie_sealer.h"
#include "sessionkit/metrics.h"
#include "sessionkit/stores/memory.h"
#include "support/http_fakes.h"
#include "support/manager_harness.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;
using testing::FakeRequest;
using testing::FakeResponse;
using tokens::Refresh;
using tokens::RefreshTokens;
using Outcome = Refresh::Outcome;

constexpr std::string_view kTokenSecret = "refresh-token-test-secret-0123456789abcdef";
constexpr std::string_view kNewerSecret = "a-newer-refresh-token-secret-0123456789ab";

class RefreshTokensTest : public testing::ManagerHarness {
 protected:
  void SetUp() override {
    ManagerHarness::SetUp();
    make_tokens(kTokenSecret);
  }
  void make_tokens(std::string_view secrets) {
    keyring_ = Keyring::parse(secrets).value();
    tokens_.emplace(*manager_, *keyring_);
  }

  // A signed-in session and its first refresh token.
  std::string sign_in(std::string user = "alice") {
    Session s = load_ok("");
    s.set_user(std::move(user));
    s.set("theme", "dark");
    FakeResponse res;
    EXPECT_TRUE(commit(s, res).ok());
    return start(s);
  }
  std::string start(const Session& s) {
    std::optional<Result<std::string>> out;
    tokens_->start(s, [&](Result<std::string> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(out.has_value() && out->ok()) << (out ? out->status().to_string() : "no answer");
    return out && out->ok() ? **out : std::string();
  }

  Result<Refresh> refresh(const std::string& token) {
    std::optional<Result<Refresh>> out;
    tokens_->refresh(FakeRequest(""), token, [&](Result<Refresh> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(out.has_value()) << "memory store completes inline";
    return out ? std::move(*out) : Result<Refresh>(errc::unavailable, "no answer");
  }
  Outcome outcome_of(const std::string& token) {
    auto r = refresh(token);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? r->outcome : Outcome::invalid;
  }
  // The next token, expecting a rotation.
  std::string rotate(const std::string& token) {
    auto r = refresh(token);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return {};
    EXPECT_EQ(r->outcome, Outcome::rotated) << r->reason;
    return r->refresh_token;
  }

  // The secret a token carries (the sealed text differs per sealing; the secret does not).
  std::string secret_of(const std::string& token) const {
    auto opened = CookieSealer(*keyring_, "refresh-token").open(token);
    EXPECT_TRUE(opened.has_value());
    return opened ? opened->plaintext.substr(opened->plaintext.find('.') + 1) : std::string();
  }

  // The stored sessions (these tests keep at most one).
  std::vector<StoredSession> sessions() { return BlockingStore(*memory_).scan("", 100)->sessions; }
  nlohmann::json family() {
    auto all = sessions();
    EXPECT_EQ(all.size(), 1u);
    return all.empty() ? nlohmann::json() : all[0].record.data.value("_sk_rt", nlohmann::json());
  }

  std::optional<Keyring> keyring_;
  std::optional<RefreshTokens> tokens_;
};

TEST_F(RefreshTokensTest, EachRefreshRotatesAndTheStoreKeepsOnlyDigests) {
  const std::string t0 = sign_in();
  EXPECT_EQ(family()["gen"], 0);
  auto r1 = refresh(t0);
  ASSERT_TRUE(r1.ok()) << r1.status().to_string();
  ASSERT_EQ(r1->outcome, Outcome::rotated);
  EXPECT_TRUE(r1->session.is_stored());
  EXPECT_EQ(r1->session.user_id(), "alice");
  EXPECT_EQ(r1->session.get<std::string>("theme"), "dark");
  EXPECT_NE(r1->refresh_token, t0);
  const std::string t2 = rotate(r1->refresh_token);
  const std::string t3 = rotate(t2);
  const nlohmann::json f = family();
  EXPECT_EQ(f["gen"], 3);
  EXPECT_EQ(f["at"],
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_.now().time_since_epoch())
                .count());
  // Neither a token nor a secret (in any encoding the tests can name) is stored.
  const std::string dump = sessions()[0].record.data.dump();
  for (const auto& t : {t0, r1->refresh_token, t2, t3}) {
    EXPECT_EQ(dump.find(t), std::string::npos);
    EXPECT_EQ(dump.find(secret_of(t)), std::string::npos);
  }
  EXPECT_EQ(metrics_->refresh_rotated.load(), 3u);
}

TEST_F(RefreshTokensTest, ThePreviousTokenWithinGraceGetsTheSameSuccessorAndWritesNothing) {
  const std::string t0 = sign_in();
  const std::string t1 = rotate(t0);
  const std::size_t writes = store_->writes();
  clock_.advance(10s);
  auto replay = refresh(t0);
  ASSERT_TRUE(replay.ok());
  ASSERT_EQ(replay->outcome, Outcome::replayed) << replay->reason;
  EXPECT_EQ(secret_of(replay->refresh_token), secret_of(t1)) << "the same successor, no sibling";
  EXPECT_EQ(replay->session.user_id(), "alice");
  EXPECT_EQ(store_->writes(), writes);
  EXPECT_EQ(family()["gen"], 1);
  // Either string of the successor moves the chain once: the other then is the previous one.
  const std::string t2 = rotate(replay->refresh_token);
  EXPECT_EQ(outcome_of(t1), Outcome::replayed);
  EXPECT_EQ(family()["gen"], 2);
  EXPECT_EQ(metrics_->refresh_replayed.load(), 2u);
  EXPECT_FALSE(t2.empty());
}

TEST_F(RefreshTokensTest, TheGraceWindowIsAnchoredAtTheRotationAndNeverSlides) {
  const std::string t0 = sign_in();
  rotate(t0);
  clock_.advance(10s);
  EXPECT_EQ(outcome_of(t0), Outcome::replayed);
  clock_.advance(19s);
  EXPECT_EQ(outcome_of(t0), Outcome::replayed);  // 29 s: still in
  clock_.advance(999ms);
  EXPECT_EQ(outcome_of(t0), Outcome::replayed);  // 29.999 s
  clock_.advance(1ms);
  EXPECT_EQ(outcome_of(t0), Outcome::reused) << "30 s after the rotation, whatever came between";
  EXPECT_TRUE(sessions().empty()) << "reuse ends the session";
}

TEST_F(RefreshTokensTest, ThePreviousTokenAfterGraceIsReuseAndEndsTheFamilyAndSession) {
  const std::string t0 = sign_in();
  const std::string t1 = rotate(t0);
  clock_.advance(31s);
  auto r = refresh(t0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome, Outcome::reused);
  EXPECT_NE(r->reason.find("reuse"), std::string::npos);
  EXPECT_TRUE(r->refresh_token.empty());
  EXPECT_TRUE(sessions().empty());
  EXPECT_EQ(outcome_of(t1), Outcome::invalid) << "the thief's (or the user's) successor is dead";
  EXPECT_EQ(metrics_->refresh_reuse.load(), 1u);
  EXPECT_EQ(metrics_->anomalies[sessionkit::Anomaly::refresh_reuse], 1u);
  EXPECT_EQ(metrics_->anomalies.total(), 1u);
}

TEST_F(RefreshTokensTest, ATokenOlderThanThePreviousIsReuseEvenWithinGrace) {
  const std::string t0 = sign_in();
  const std::string t1 = rotate(t0);
  const std::string t2 = rotate(t1);
  EXPECT_EQ(outcome_of(t0), Outcome::reused);
  EXPECT_TRUE(sessions().empty());
  EXPECT_EQ(outcome_of(t2), Outcome::invalid);
}

TEST_F(RefreshTokensTest, AnAttackerWhoRefreshesFirstIsCaughtWhenTheUserComesBack) {
  const std::string t0 = sign_in();
  const std::string stolen = t0;
  const std::string attacker = rotate(stolen);  // the attacker redeems the stolen copy first
  clock_.advance(5min);                         // the user's app refreshes later
  EXPECT_EQ(outcome_of(t0), Outcome::reused);
  EXPECT_EQ(outcome_of(attacker), Outcome::invalid) << "the attacker's chain died with it";
}

TEST_F(RefreshTokensTest, ForgedAlteredAndForeignTokensAreInvalidAndChangeNothing) {
  const std::string t0 = sign_in();
  std::string flipped = t0;
  flipped[flipped.size() / 2] = flipped[flipped.size() / 2] == 'A' ? 'B' : 'A';
  const std::string foreign =
      CookieSealer(Keyring::parse(kNewerSecret).value(), "refresh-token").seal("x.y").value();
  const std::string other_context = CookieSealer(*keyring_, "cookie:sid").seal("x").value();
  for (const std::string& bad : {std::string(), std::string("garbage"), t0.substr(0, 40), flipped,
                                 foreign, other_context, t0 + "A", std::string(5000, 'A')}) {
    auto r = refresh(bad);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->outcome, Outcome::invalid) << bad;
  }
  EXPECT_EQ(family()["gen"], 0) << "nothing changed";
  EXPECT_EQ(metrics_->refresh_reuse.load(), 0u);
  rotate(t0);
}

TEST_F(RefreshTokensTest, EndingTheSessionEndsItsTokens) {
  // Logout.
  std::string t = sign_in();
  {
    auto r = refresh(t);
    ASSERT_TRUE(r.ok());
    t = r->refresh_token;
    Session s = r->session;
    s.destroy();
    FakeResponse res;
    ASSERT_TRUE(commit(s, res).ok());
  }
  EXPECT_EQ(outcome_of(t), Outcome::invalid);
  // "Sign out everywhere" / a password change.
  t = sign_in("bob");
  std::optional<Result<std::size_t>> revoked;
  manager_->revoke_user_sessions("bob", nullptr,
                                 [&](Result<std::size_t> r) { revoked.emplace(std::move(r)); });
  ASSERT_TRUE(revoked && revoked->ok());
  EXPECT_EQ(outcome_of(t), Outcome::invalid);
  // The idle timeout (development(): 30 min).
  t = sign_in("carol");
  clock_.advance(31min);
  EXPECT_EQ(outcome_of(t), Outcome::invalid);
  EXPECT_EQ(metrics_->refresh_reuse.load(), 0u);
}

TEST_F(RefreshTokensTest, ARefreshKeepsTheSessionAliveLikeARequest) {
  std::string t = sign_in();
  for (int i = 0; i < 5; ++i) {
    clock_.advance(20min);  // under the 30 min idle timeout each time
    t = rotate(t);
  }
  EXPECT_EQ(sessions().size(), 1u);
}

TEST_F(RefreshTokensTest, ParallelRefreshesWithOneTokenAllGetTheSameSuccessor) {
  const std::string t0 = sign_in();
  store_->hold_patch_if(true);
  constexpr int kParallel = 5;
  std::vector<std::optional<Result<Refresh>>> out(kParallel);
  for (int i = 0; i < kParallel; ++i) {
    tokens_->refresh(FakeRequest(""), t0,
                     [&out, i](Result<Refresh> r) { out[i].emplace(std::move(r)); });
  }
  EXPECT_EQ(store_->held(), std::size_t{kParallel}) << "all five loaded the same family";
  store_->hold_patch_if(false);
  store_->release_held();  // the first swap wins; the others re-read and replay
  int rotated = 0, replayed = 0;
  std::string successor;
  for (auto& r : out) {
    ASSERT_TRUE(r.has_value() && r->ok());
    rotated += (*r)->outcome == Outcome::rotated;
    replayed += (*r)->outcome == Outcome::replayed;
    if (successor.empty()) successor = secret_of((*r)->refresh_token);
    EXPECT_EQ(secret_of((*r)->refresh_token), successor);
  }
  EXPECT_EQ(rotated, 1);
  EXPECT_EQ(replayed, kParallel - 1);
  EXPECT_EQ(family()["gen"], 1);
}

TEST_F(RefreshTokensTest, AStoreFailureIsAnErrorAndNothingIsHalfWritten) {
  const std::string t0 = sign_in();
  store_->set_failing(true);
  auto r = refresh(t0);
  EXPECT_EQ(r.status().code(), errc::unavailable);
  store_->set_failing(false);
  EXPECT_EQ(family()["gen"], 0);
  rotate(t0);  // the token is still the current one
}

TEST_F(RefreshTokensTest, RevokeEndsTheSessionAndAnswersWhetherOneWasLive) {
  const std::string t1 = rotate(sign_in());
  std::optional<Result<bool>> out;
  tokens_->revoke(FakeRequest(""), t1, [&](Result<bool> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(out && out->ok());
  EXPECT_TRUE(**out);
  EXPECT_TRUE(sessions().empty());
  out.reset();
  tokens_->revoke(FakeRequest(""), t1, [&](Result<bool> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(out && out->ok());
  EXPECT_FALSE(**out);
  out.reset();
  tokens_->revoke(FakeRequest(""), "garbage", [&](Result<bool> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(out && out->ok());
  EXPECT_FALSE(**out);
}

TEST_F(RefreshTokensTest, ARestartRetiresEarlierTokens) {
  Session s = load_ok("");
  s.set_user("alice");
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  const std::string first = start(s);
  const std::string second = start(s);
  EXPECT_EQ(outcome_of(first), Outcome::reused);
  EXPECT_EQ(outcome_of(second), Outcome::invalid);
}

TEST_F(RefreshTokensTest, StartNeedsAStoredSession) {
  Session fresh = load_ok("");
  std::optional<Result<std::string>> out;
  tokens_->start(fresh, [&](Result<std::string> r) { out.emplace(std::move(r)); });
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->status().code(), errc::invalid_argument);
}

TEST_F(RefreshTokensTest, AReplayStillWorksAfterTheKeyringRotates) {
  const std::string t0 = sign_in();
  const std::string t1 = rotate(t0);
  // A new secret signs from now on; the old one still opens and derives.
  make_tokens(std::string(kNewerSecret) + "," + std::string(kTokenSecret));
  auto replay = refresh(t0);
  ASSERT_TRUE(replay.ok());
  ASSERT_EQ(replay->outcome, Outcome::replayed) << replay->reason;
  EXPECT_EQ(secret_of(replay->refresh_token), secret_of(t1));
  rotate(t1);
}

}  // namespace
}  // namespace sessionkit
