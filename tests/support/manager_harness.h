// ManagerHarness: the fixture the SessionManager unit tests share — a manager over the real
// memory store (behind a FaultyStore, so that a test can break the store), a ManualClock, and
// blocking helpers (the memory store completes inline, so every callback has run on return).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/blocking_store.h"
#include "sessionkit/credentials.h"
#include "sessionkit/manager.h"
#include "sessionkit/stores/memory.h"
#include "support/faulty_store.h"
#include "support/http_fakes.h"

namespace sessionkit::testing {

inline constexpr std::string_view kHarnessSecret = "0123456789abcdef0123456789abcdef";

class ManagerHarness : public ::testing::Test {
 protected:
  void SetUp() override { rebuild(SessionOptions::development()); }

  // A new manager with `options` and `secrets`; the store (and what it holds) stays.
  void rebuild(SessionOptions options, std::string_view secrets = kHarnessSecret) {
    options_ = options;
    if (!memory_) memory_ = std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_});
    if (!store_) store_ = std::make_shared<FaultyStore>(memory_);
    metrics_ = std::make_shared<Metrics>();
    manager_ = std::make_unique<SessionManager>(
        store_, Keyring::parse(secrets).value(), options,
        SessionManager::Dependencies{&clock_, make_null_sink(), metrics_, credentials_});
  }

  // A request carrying `cookie` from a given client (no User-Agent header when it is empty).
  Result<Session> load_from(const std::string& cookie, std::string user_agent, std::string ip) {
    FakeRequest req(cookie);
    if (!user_agent.empty()) req.headers_.emplace_back("User-Agent", std::move(user_agent));
    req.peer_ = std::move(ip);
    std::optional<Result<Session>> out;
    manager_->load(req, [&](Result<Session> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(out.has_value()) << "memory store completes inline";
    return std::move(*out);
  }
  Result<Session> load(const std::string& cookie, std::string ip = kPeer) {
    return load_from(cookie, {}, std::move(ip));
  }
  Session load_ok(const std::string& cookie, std::string ip = kPeer) {
    auto r = load(cookie, std::move(ip));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? std::move(r).value() : Session();
  }

  Status commit(Session& s, FakeResponse& res) {
    std::optional<Status> out;
    manager_->commit(s, res, [&](Status st) { out.emplace(std::move(st)); });
    EXPECT_TRUE(out.has_value());
    return std::move(*out);
  }
  // Commits and returns the "name=value" session cookie pair sent, or "" if none.
  std::string commit_cookie(Session& s) {
    FakeResponse res;
    Status st = commit(s, res);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return res.set_cookie_pair(manager_->options().cookie.full_name()).value_or("");
  }
  Result<std::int64_t> increment(Session& s, const std::string& field, std::int64_t delta = 1) {
    std::optional<Result<std::int64_t>> out;
    manager_->increment(s, field, delta,
                        [&](Result<std::int64_t> r) { out.emplace(std::move(r)); });
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : Result<std::int64_t>(errc::unavailable, "no answer");
  }
  // Records in the store.
  std::size_t stored() { return BlockingStore(*memory_).count().value(); }

  static constexpr const char* kPeer = "127.0.0.1";  // FakeRequest's default address

  ManualClock clock_;
  SessionOptions options_;
  std::shared_ptr<MemoryStore> memory_;
  std::shared_ptr<FaultyStore> store_;
  std::shared_ptr<Metrics> metrics_;
  // Given to the next rebuild (set it in SetUp before calling rebuild).
  std::shared_ptr<const CredentialSource> credentials_;
  std::unique_ptr<SessionManager> manager_;
};

}  // namespace sessionkit::testing
