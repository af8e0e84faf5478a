// sessionkit::sync (sessionkit/sync.h): the blocking facade over SessionManager, against real
// stores. Built twice from this file: `sync_test` (label unit) with the memory and SQLite stores,
// which complete inline, and, with SESSIONKIT_SYNC_NETWORK_TESTS, `sync_network_test` (label
// e2e) with real Redis and PostgreSQL servers (tests/support), whose stores complete on their
// own threads: there a call must wait for that thread, and a call made ON it must be refused.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "sessionkit/events.h"
#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "sessionkit/stores/memory.h"
#include "sessionkit/sync.h"
#include "support/faulty_store.h"
#include "support/http_fakes.h"
#ifdef SESSIONKIT_SYNC_REDIS
#include "sessionkit/stores/redis.h"
#include "support/redis_server.h"
#endif
#ifdef SESSIONKIT_SYNC_POSTGRES
#include "sessionkit/stores/postgres.h"
#include "support/postgres_server.h"
#endif
#ifdef SESSIONKIT_SYNC_SQLITE
#include <stdlib.h>

#include "sessionkit/stores/sqlite.h"
#endif

namespace sessionkit::testing {
namespace {

using namespace std::chrono_literals;
constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";

// How a kind of store is opened, and whether it completes on threads of its own. Every store of
// this tree marks its completions (src/stores/completion.h), inline ones included.
struct StoreKind {
  std::string name;
  std::function<std::shared_ptr<SessionStore>()> open;
  bool own_threads = false;  // completes on threads of its own (Redis, PostgreSQL)
};

#ifdef SESSIONKIT_SYNC_SQLITE
// A fresh database file in a private directory removed at exit.
std::string sqlite_path() {
  static const struct Dir {
    std::filesystem::path path;
    Dir() {
      std::string name =
          (std::filesystem::temp_directory_path() / "sessionkit-sync-XXXXXX").string();
      if (::mkdtemp(name.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
      path = name;
    }
    ~Dir() {
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } dir;
  static std::atomic<int> n{0};
  return (dir.path / ("s" + std::to_string(++n) + ".db")).string();
}
#endif

std::vector<StoreKind> store_kinds() {
  std::vector<StoreKind> kinds;
#ifdef SESSIONKIT_SYNC_NETWORK_TESTS
#ifdef SESSIONKIT_SYNC_REDIS
  kinds.push_back({"Redis",
                   [] {
                     RedisServer& server = RedisServer::shared();
                     server.cli({"FLUSHALL"});
                     auto options = RedisStoreOptions::from_url(server.url());
                     if (!options) throw std::runtime_error(options.message());
                     return std::shared_ptr<SessionStore>(
                         RedisStore::open(std::move(*options)).value());
                   },
                   true});
#endif
#ifdef SESSIONKIT_SYNC_POSTGRES
  kinds.push_back({"Postgres",
                   [] {
                     auto opened =
                         PostgresStore::open({.conninfo = PostgresServer::shared().conninfo(),
                                              .table = PostgresServer::fresh_table()});
                     if (!opened) throw std::runtime_error(opened.status().to_string());
                     return std::shared_ptr<SessionStore>(std::move(*opened));
                   },
                   true});
#endif
#else
  kinds.push_back(
      {"Memory", [] { return std::shared_ptr<SessionStore>(MemoryStore::open().value()); }, false});
#ifdef SESSIONKIT_SYNC_SQLITE
  kinds.push_back({"Sqlite",
                   [] {
                     return std::shared_ptr<SessionStore>(
                         SqliteStore::open({.path = sqlite_path()}).value());
                   },
                   false});
#endif
#endif
  return kinds;
}

class SyncTest : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
#ifdef SESSIONKIT_SYNC_REDIS
    if (GetParam().name == "Redis" && redis_server_binary().empty()) {
      GTEST_SKIP() << "redis-server is not installed";
    }
#endif
#ifdef SESSIONKIT_SYNC_POSTGRES
    if (GetParam().name == "Postgres" && PostgresServer::bin_dir().empty()) {
      GTEST_SKIP() << PostgresServer::missing_message();
    }
#endif
    store_ = std::make_shared<FaultyStore>(GetParam().open());
    SessionOptions options = SessionOptions::development();
    options.anonymous_sessions.burst = 0;  // many browsers from one address
    SessionManager::Dependencies deps;
    deps.events = make_null_sink();
    manager_ = std::make_unique<SessionManager>(store_, Keyring::parse(kSecret).value(), options,
                                                std::move(deps));
  }

  std::string cookie_name() const {
    return manager_->options().cookie.full_name();
  }

  // A stored session with `data` (and `user`), and the Cookie header that names it.
  std::string stored_session(const std::string& user = {}) {
    FakeRequest req;
    auto s = sync::load(*manager_, req);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    if (!user.empty()) s->set_user(user);
    s->set("theme", "dark");
    FakeResponse res;
    const Status st = sync::commit(*manager_, *s, res);
    EXPECT_TRUE(st.ok()) << st.to_string();
    return res.set_cookie_pair(cookie_name()).value_or("");
  }

  std::shared_ptr<FaultyStore> store_;
  std::unique_ptr<SessionManager> manager_;
};

TEST_P(SyncTest, LoadCommitAndLoadAgainSeeTheSameSession) {
  FakeRequest first;
  auto s = sync::load(*manager_, first);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_TRUE(s->is_new());
  s->set("theme", "dark");
  FakeResponse res;
  ASSERT_TRUE(sync::commit(*manager_, *s, res).ok());
  const auto cookie = res.set_cookie_pair(cookie_name());
  ASSERT_TRUE(cookie.has_value());

  FakeRequest again(*cookie);
  auto loaded = sync::load(*manager_, again);
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_TRUE(loaded->is_stored());
  EXPECT_EQ(loaded->get<std::string>("theme"), "dark");
}

TEST_P(SyncTest, IncrementThenCommitCreatesTheSessionAndItsCookie) {
  FakeRequest req;
  auto s = sync::load(*manager_, req);
  ASSERT_TRUE(s.ok());
  auto n = sync::increment(*manager_, *s, "visits");
  ASSERT_TRUE(n.ok()) << n.status().to_string();
  EXPECT_EQ(*n, 1);
  FakeResponse res;
  ASSERT_TRUE(sync::commit(*manager_, *s, res).ok());
  const auto cookie = res.set_cookie_pair(cookie_name());
  ASSERT_TRUE(cookie.has_value()) << "commit writes the cookie of the session increment created";

  FakeRequest again(*cookie);
  auto loaded = sync::load(*manager_, again);
  ASSERT_TRUE(loaded.ok());
  auto m = sync::increment(*manager_, *loaded, "visits", 41);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, 42);
}

TEST_P(SyncTest, ConcurrentRequestsCountEveryIncrementExactly) {
  const std::string cookie = stored_session();
  ASSERT_FALSE(cookie.empty());
  constexpr int kThreads = 8;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        FakeRequest req(cookie);
        auto s = sync::load(*manager_, req);
        if (!s.ok() || !s->is_stored()) {
          ++failures;
          continue;
        }
        auto n = sync::increment(*manager_, *s, "visits");
        FakeResponse res;
        if (!n.ok() || !sync::commit(*manager_, *s, res).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
  FakeRequest req(cookie);
  auto s = sync::load(*manager_, req);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->get<std::int64_t>("visits"), kThreads * kEach);
}

TEST_P(SyncTest, StoreFailuresAreErrorsNeverNoSession) {
  const std::string cookie = stored_session();
  FakeRequest req(cookie);
  auto s = sync::load(*manager_, req);
  ASSERT_TRUE(s.ok());
  store_->set_failing(true);
  FakeRequest again(cookie);
  auto failed = sync::load(*manager_, again);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(failed.is_unavailable()) << failed.status().to_string();
  auto n = sync::increment(*manager_, *s, "visits");
  EXPECT_TRUE(n.is_unavailable()) << n.status().to_string();
  s->set("theme", "light");
  FakeResponse res;
  const Status st = sync::commit(*manager_, *s, res);
  EXPECT_TRUE(st.is_unavailable()) << st.to_string();
  EXPECT_FALSE(res.set_cookie_pair(cookie_name()).has_value()) << "no cookie on a failed commit";
}

// The asynchronous API's callback calls the facade. On a store's own thread (Redis, PostgreSQL)
// that would wait for itself: refused at once. Every store refuses it, the inline ones (memory,
// SQLite) too, so that code which works on one store does not deadlock on another.
TEST_P(SyncTest, ABlockingCallFromAStoreCompletionIsRefusedNeverADeadlock) {
  const std::string cookie = stored_session();
  FakeRequest req(cookie);
  struct Seen {
    Status load, increment, commit;
    bool stored = false;
  };
  std::promise<Seen> seen;
  auto answer = seen.get_future();
  manager_->load(req, [&](Result<Session> r) {
    Seen out;
    out.stored = r.ok() && r->is_stored();
    FakeRequest inner(cookie);
    auto nested = sync::load(*manager_, inner);
    out.load = nested.status();
    if (r.ok()) {
      out.increment = sync::increment(*manager_, *r, "visits").status();
      FakeResponse res;
      out.commit = sync::commit(*manager_, *r, res);
    }
    seen.set_value(std::move(out));
  });
  ASSERT_EQ(answer.wait_for(60s), std::future_status::ready) << "deadlocked";
  const Seen out = answer.get();
  EXPECT_TRUE(out.stored);
  for (const Status* st : {&out.load, &out.increment, &out.commit}) {
    EXPECT_EQ(st->code(), errc::invalid_argument) << st->to_string();
    EXPECT_NE(st->message().find("completion"), std::string::npos) << st->message();
  }
  // Outside the completion the same calls work again.
  FakeRequest after(cookie);
  EXPECT_TRUE(sync::load(*manager_, after).ok());
}

// The store itself, without the manager: every operation's callback runs marked, answers and
// failures alike (health too), and the mark ends with the callback.
TEST_P(SyncTest, EveryStoreCallbackRunsInsideACompletionScope) {
  std::shared_ptr<SessionStore> store = GetParam().open();
  std::vector<std::future<bool>> marked;
  auto probe = [&marked]<class T>(std::type_identity<T>) {
    auto seen = std::make_shared<std::promise<bool>>();
    marked.push_back(seen->get_future());
    return [seen](Result<T>) { seen->set_value(sync::CompletionScope::active()); };
  };
  store->health(probe(std::type_identity<void>{}));
  store->count(probe(std::type_identity<std::size_t>{}));
  store->load(SessionKey::from_hex(std::string(64, 'a')).value(), std::nullopt,
              probe(std::type_identity<std::optional<SessionRecord>>{}));
  store->touch(SessionKey::from_hex(std::string(64, 'b')).value(),  // not_found
               TouchSpec{system_clock().now(), system_clock().now() + 1h},
               probe(std::type_identity<void>{}));
  store->scan("", 0, probe(std::type_identity<ScanPage>{}));  // invalid_argument
  for (auto& m : marked) {
    ASSERT_EQ(m.wait_for(60s), std::future_status::ready);
    EXPECT_TRUE(m.get());
  }
  EXPECT_FALSE(sync::CompletionScope::active());
}

TEST_P(SyncTest, TheCallWaitsForAStoreThreadAndAnswersOnTheCallersThread) {
  const std::string cookie = stored_session();
  FakeRequest req(cookie);
  std::thread::id completed_on;
  auto s = sync::call<Session>([&](Callback<Session> done) {
    manager_->load(req, [&completed_on, done](Result<Session> r) {
      completed_on = std::this_thread::get_id();
      done(std::move(r));
    });
  });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->get<std::string>("theme"), "dark");
  if (GetParam().own_threads) {
    EXPECT_NE(completed_on, std::this_thread::get_id());
  } else {
    EXPECT_EQ(completed_on, std::this_thread::get_id());
  }
}

TEST_P(SyncTest, CsrfTokensVerifyFromTheHeaderOrTheFormField) {
  FakeRequest first;
  auto s = sync::load(*manager_, first);
  ASSERT_TRUE(s.ok());
  FakeResponse res;
  const std::string token = sync::csrf_token(*manager_, *s, res);
  ASSERT_TRUE(sync::commit(*manager_, *s, res).ok());
  const auto csrf_cookie = res.set_cookie_pair(manager_->csrf_cookie_name());
  ASSERT_TRUE(csrf_cookie.has_value()) << "an anonymous visitor's token comes with its cookie";

  FakeRequest post(*csrf_cookie);
  post.method_ = "POST";
  auto again = sync::load(*manager_, post);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(sync::verify_csrf(*manager_, *again, post, token)) << "form field";
  EXPECT_FALSE(sync::verify_csrf(*manager_, *again, post, "nonsense"));
  EXPECT_FALSE(sync::verify_csrf(*manager_, *again, post)) << "no token at all";
  post.headers_.emplace_back("X-CSRF-Token", token);
  EXPECT_TRUE(sync::verify_csrf(*manager_, *again, post, "ignored: the header counts"));

  EXPECT_TRUE(sync::is_safe_method("GET"));
  EXPECT_TRUE(sync::is_safe_method("HEAD"));
  EXPECT_TRUE(sync::is_safe_method("OPTIONS"));
  EXPECT_FALSE(sync::is_safe_method("POST"));
  EXPECT_FALSE(sync::is_safe_method("DELETE"));
  EXPECT_FALSE(sync::is_safe_method("get"));
}

TEST_P(SyncTest, AUsersSessionsAreListedAndRevoked) {
  const std::string a = stored_session("alice");
  const std::string b = stored_session("alice");
  const std::string c = stored_session("alice");
  FakeRequest req(a);
  auto s = sync::load(*manager_, req);
  ASSERT_TRUE(s.ok());
  auto listed = sync::list_sessions(*manager_, *s);
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  ASSERT_EQ(listed->size(), 3u);

  std::string other;
  for (const auto& summary : *listed) {
    if (!summary.current) other = summary.handle;
  }
  auto revoked = sync::revoke_session(*manager_, *s, other);
  ASSERT_TRUE(revoked.ok());
  EXPECT_TRUE(*revoked);
  auto rest = sync::revoke_user_sessions(*manager_, "alice", &*s);
  ASSERT_TRUE(rest.ok()) << rest.status().to_string();
  EXPECT_EQ(*rest, 1u);
  for (const std::string& cookie : {b, c}) {
    FakeRequest gone(cookie);
    auto loaded = sync::load(*manager_, gone);
    ASSERT_TRUE(loaded.ok());
    EXPECT_FALSE(loaded->is_stored());
  }
  FakeRequest mine(a);
  auto kept = sync::load(*manager_, mine);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->user_id(), "alice");
  auto failed = sync::reauthentication_failed(*manager_, *kept);
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(*failed);
}

std::string kind_name(const ::testing::TestParamInfo<StoreKind>& info) {
  return info.param.name;
}
INSTANTIATE_TEST_SUITE_P(Stores, SyncTest, ::testing::ValuesIn(store_kinds()), kind_name);

// ---- a network store that goes away ----

#ifdef SESSIONKIT_SYNC_NETWORK_TESTS
// A signed-in session on `store`, then the server stops: every call answers unavailable (or
// timeout) within the store's own bounds, never "no session" and never a hang.
void expect_outage_answers_unavailable(std::shared_ptr<SessionStore> store,
                                       const std::function<void()>& stop_server) {
  SessionManager::Dependencies deps;
  deps.events = make_null_sink();
  SessionManager manager(std::move(store), Keyring::parse(kSecret).value(),
                         SessionOptions::development(), std::move(deps));
  FakeRequest first;
  auto s = sync::load(manager, first);
  ASSERT_TRUE(s.ok());
  s->set_user("alice");
  FakeResponse res;
  ASSERT_TRUE(sync::commit(manager, *s, res).ok());
  const std::string cookie = res.set_cookie_pair(manager.options().cookie.full_name()).value();

  stop_server();
  const auto started = std::chrono::steady_clock::now();
  FakeRequest again(cookie);
  auto loaded = sync::load(manager, again);
  EXPECT_TRUE(loaded.is_unavailable()) << loaded.status().to_string();
  auto n = sync::increment(manager, *s, "visits");
  EXPECT_TRUE(n.is_unavailable()) << n.status().to_string();
  auto listed = sync::list_sessions(manager, *s);
  EXPECT_TRUE(listed.is_unavailable()) << listed.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
}

#ifdef SESSIONKIT_SYNC_REDIS
TEST(SyncOutage, RedisDownAnswersUnavailable) {
  if (redis_server_binary().empty()) GTEST_SKIP() << "redis-server is not installed";
  RedisServer server;
  auto options = RedisStoreOptions::from_url(server.url());
  ASSERT_TRUE(options.ok());
  auto store = RedisStore::open(std::move(*options));
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  expect_outage_answers_unavailable(std::move(*store), [&] { server.stop(); });
}
#endif

#ifdef SESSIONKIT_SYNC_POSTGRES
TEST(SyncOutage, PostgresDownAnswersUnavailable) {
  if (PostgresServer::bin_dir().empty()) GTEST_SKIP() << PostgresServer::missing_message();
  PostgresServer server;
  auto store = PostgresStore::open({.conninfo = server.conninfo(), .pool_size = 2});
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  expect_outage_answers_unavailable(std::move(*store), [&] { server.stop(); });
}
#endif
#endif

// ---- the facade itself ----

TEST(SyncCall, InsideACompletionScopeEveryCallIsRefused) {
  EXPECT_FALSE(sync::CompletionScope::active());
  bool started = false;
  {
    const sync::CompletionScope outer;
    {
      const sync::CompletionScope nested;
      EXPECT_TRUE(sync::CompletionScope::active());
    }
    EXPECT_TRUE(sync::CompletionScope::active());
    auto r = sync::call<int>([&](Callback<int> done) {
      started = true;
      done(1);
    });
    EXPECT_EQ(r.code(), errc::invalid_argument);
  }
  EXPECT_FALSE(started) << "nothing is started when the call is refused";
  EXPECT_FALSE(sync::CompletionScope::active());
  EXPECT_EQ(*sync::call<int>([](Callback<int> done) { done(7); }), 7);
}

TEST(SyncCall, WaitsForACompletionFromAnotherThreadAndIgnoresASecondOne) {
  std::thread worker;
  auto r = sync::call<std::string>([&](Callback<std::string> done) {
    worker = std::thread([done] {
      std::this_thread::sleep_for(20ms);
      done(std::string("first"));
      done(std::string("second"));  // breaks the contract; must not crash or change the answer
    });
  });
  worker.join();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "first");
  auto e = sync::call<void>([](Callback<void> done) { done(Status(errc::timeout, "slow")); });
  EXPECT_EQ(e.code(), errc::timeout);
}

}  // namespace
}  // namespace sessionkit::testing
