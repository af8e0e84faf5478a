// SessionManager::update (optimistic concurrency) on the memory store: the version it keeps,
// the re-application after a conflict, the bound on attempts, what `fn` may change, an abort,
// a session not stored yet, a session ended meanwhile, a failing store.
#include <gtest/gtest.h>

#include "sessionkit/manager.h"
#include "sessionkit/sync.h"
#include "support/manager_harness.h"

namespace sessionkit {
namespace {

using testing::FakeResponse;

class ManagerUpdateTest : public testing::ManagerHarness {
 protected:
  // A stored session with total = 10; answers its cookie.
  std::string stored() {
    Session s = load_ok("");
    s.set("total", 10);
    return commit_cookie(s);
  }
  Result<std::uint64_t> update(Session& s, SessionManager::Updater fn, std::size_t attempts = 16) {
    return sync::update(*manager_, s, std::move(fn), attempts);
  }
  // The asynchronous call, from inside another update's function (a store completion, where a
  // blocking sync:: call is refused): the memory store completes it inline.
  Result<std::uint64_t> update_inline(Session& s, SessionManager::Updater fn) {
    std::optional<Result<std::uint64_t>> out;
    manager_->update(s, std::move(fn), [&](Result<std::uint64_t> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : Result<std::uint64_t>(errc::unavailable, "no answer");
  }
  static SessionManager::Updater add(std::int64_t n, int* runs = nullptr) {
    return [n, runs](const nlohmann::json& data) -> Result<SessionPatch> {
      if (runs != nullptr) ++*runs;
      SessionPatch p;
      p.set.emplace_back("total", data.value("total", 0) + n);
      p.set.emplace_back("last", n);
      return p;
    };
  }
  std::int64_t total(const std::string& cookie) {
    return load_ok(cookie).get<std::int64_t>("total").value_or(-1);
  }
};

TEST_F(ManagerUpdateTest, WritesTheChangesAndAdvancesTheVersion) {
  const std::string cookie = stored();
  Session s = load_ok(cookie);
  EXPECT_EQ(update(s, add(5)).value(), 1u);
  EXPECT_EQ(s.get<std::int64_t>("total"), 15) << "the request's view holds what was written";
  EXPECT_EQ(update(s, add(1)).value(), 2u);
  FakeResponse res;
  ASSERT_TRUE(commit(s, res).ok());
  EXPECT_EQ(total(cookie), 16);
  Session other = load_ok(cookie);
  EXPECT_EQ(other.get<std::int64_t>("last"), 1);
  EXPECT_EQ(other.get<std::uint64_t>("_sk_ver"), 2u) << "the version, stored with the record";
}

TEST_F(ManagerUpdateTest, AConcurrentUpdateMakesItReadAgainAndReapply) {
  const std::string cookie = stored();
  Session mine = load_ok(cookie);
  Session theirs = load_ok(cookie);
  int runs = 0;
  auto racing = [&](const nlohmann::json& data) -> Result<SessionPatch> {
    // Between this read and the write, another request's update lands.
    if (runs == 0) {
      EXPECT_EQ(update_inline(theirs, add(100)).value(), 1u);
    }
    return add(1, &runs)(data);
  };
  EXPECT_EQ(update(mine, racing).value(), 2u);
  EXPECT_EQ(runs, 2) << "re-applied once, over the other's write";
  EXPECT_EQ(total(cookie), 111) << "10 + 100 + 1: nothing lost";
  EXPECT_EQ(mine.get<std::int64_t>("total"), 111);
}

TEST_F(ManagerUpdateTest, GivesUpAfterMaxAttemptsWithoutWriting) {
  const std::string cookie = stored();
  Session mine = load_ok(cookie);
  Session theirs = load_ok(cookie);
  int runs = 0;
  auto always_raced = [&](const nlohmann::json& data) -> Result<SessionPatch> {
    EXPECT_TRUE(update_inline(theirs, add(100)).ok());
    return add(1, &runs)(data);
  };
  auto r = update(mine, always_raced, 3);
  EXPECT_EQ(r.code(), errc::conflict);
  EXPECT_NE(r.message().find("3 attempts"), std::string::npos) << r.message();
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(total(cookie), 310) << "the other's three writes, none of ours";
  EXPECT_EQ(mine.get<std::int64_t>("total"), 10) << "the view is not changed";
}

TEST_F(ManagerUpdateTest, OnlyOrdinaryPayloadKeysAndAnAbortIsAnswered) {
  const std::string cookie = stored();
  Session s = load_ok(cookie);
  auto reserved = [](const nlohmann::json&) -> Result<SessionPatch> {
    SessionPatch p;
    p.set.emplace_back("_sk_ver", 99);
    return p;
  };
  EXPECT_EQ(update(s, reserved).code(), errc::invalid_argument);
  auto erases_reserved = [](const nlohmann::json&) -> Result<SessionPatch> {
    SessionPatch p;
    p.erase.emplace_back("_sk_csrf");
    return p;
  };
  EXPECT_EQ(update(s, erases_reserved).code(), errc::invalid_argument);
  auto rebinds = [](const nlohmann::json&) -> Result<SessionPatch> {
    SessionPatch p;
    p.user_id = "mallory";
    return p;
  };
  EXPECT_EQ(update(s, rebinds).code(), errc::invalid_argument);
  auto aborts = [](const nlohmann::json&) -> Result<SessionPatch> {
    return Status(errc::invalid_argument, "the cart is full");
  };
  auto r = update(s, aborts);
  EXPECT_EQ(r.code(), errc::invalid_argument);
  EXPECT_EQ(r.message(), "the cart is full");
  EXPECT_EQ(update(s, nullptr).code(), errc::invalid_argument);
  EXPECT_EQ(update(s, add(1), 0).code(), errc::invalid_argument);
  EXPECT_EQ(total(cookie), 10) << "nothing written";
}

TEST_F(ManagerUpdateTest, ASessionNotStoredYetIsCreatedWithTheValues) {
  Session s = load_ok("");
  EXPECT_EQ(update(s, add(7)).value(), 0u) << "no version: nobody else can hold it yet";
  EXPECT_EQ(s.get<std::int64_t>("total"), 7);
  const std::string cookie = commit_cookie(s);
  ASSERT_FALSE(cookie.empty());
  EXPECT_EQ(total(cookie), 7);
}

TEST_F(ManagerUpdateTest, ASessionEndedMeanwhileIsNotFoundAndNotResurrected) {
  const std::string cookie = stored();
  Session mine = load_ok(cookie);
  Session theirs = load_ok(cookie);
  theirs.destroy();
  FakeResponse res;
  ASSERT_TRUE(commit(theirs, res).ok());
  EXPECT_EQ(update(mine, add(1)).code(), errc::not_found);
  EXPECT_TRUE(load_ok(cookie).is_new());
}

TEST_F(ManagerUpdateTest, AFailingStoreIsAnErrorAndCounted) {
  const std::string cookie = stored();
  Session s = load_ok(cookie);
  store_->set_failing(true);
  EXPECT_EQ(update(s, add(1)).code(), errc::unavailable);
  EXPECT_GE(metrics_->store_errors.load(), 1u);
  store_->set_failing(false);
  EXPECT_EQ(total(cookie), 10);
}

}  // namespace
}  // namespace sessionkit
