// Test support for the store conformance suite: one factory per store, a temporary directory,
// and record builders. Every store is driven through BlockingStore with a ManualClock.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "sessionkit/blocking_store.h"
#include "sessionkit/clock.h"
#include "sessionkit/store.h"
#include "sessionkit/stores/memory.h"
#ifdef SESSIONKIT_TEST_SQLITE
#include "sessionkit/stores/sqlite.h"
#endif
#ifdef SESSIONKIT_TEST_REDIS
#include "sessionkit/stores/redis.h"
#include "support/redis_server.h"
#endif
#ifdef SESSIONKIT_TEST_POSTGRES
#include "sessionkit/stores/postgres.h"
#include "support/postgres_server.h"
#endif

namespace sessionkit::testing {

using namespace std::chrono_literals;

// A fresh directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "sessionkit-store-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// A store under test plus whatever it lives in (members destroyed in reverse: store first).
struct StoreUnderTest {
  std::unique_ptr<TempDir> dir;
  std::shared_ptr<SessionStore> store;
};

// Every factory names its store and says how it differs where the contract lets stores differ:
//   kOrderedScan: scan walks keys in ascending order (SQL and memory stores), so a page of the
//     whole store is the last one; Redis SCAN has no order.
//   kExpiresByTtl: the server deletes expired records by its own (real) clock, so
//     `purge_expired` has nothing to do and `count` includes records that a ManualClock moved
//     past their deadline.
struct MemoryFactory {
  static constexpr const char* kName = "Memory";
  static constexpr bool kOrderedScan = true;
  static constexpr bool kExpiresByTtl = false;
  static StoreUnderTest make(const Clock& clock) {
    StoreUnderTest s;
    s.store = std::make_shared<MemoryStore>(MemoryStoreOptions{.shards = 4, .clock = &clock});
    return s;
  }
};

#ifdef SESSIONKIT_TEST_SQLITE
struct SqliteFactory {
  static constexpr const char* kName = "Sqlite";
  static constexpr bool kOrderedScan = true;
  static constexpr bool kExpiresByTtl = false;
  static StoreUnderTest make(const Clock& clock) {
    StoreUnderTest s;
    s.dir = std::make_unique<TempDir>();
    // synchronous=NORMAL: the contract does not depend on fsync, and the suite runs on shared,
    // slow disks. The default (FULL) is exercised by sqlite_store_test.cpp.
    auto opened = SqliteStore::open({.path = (s.dir->path() / "sessions.db").string(),
                                     .pool_size = 4,
                                     .synchronous_full = false,
                                     .clock = &clock});
    if (!opened) throw std::runtime_error("SqliteStore::open: " + opened.status().to_string());
    s.store = std::move(*opened);
    return s;
  }
};
#endif

#ifdef SESSIONKIT_TEST_REDIS
// A RedisStore on `url` judging expiry by `clock`.
inline StoreUnderTest open_redis(const std::string& url, const Clock& clock) {
  auto options = RedisStoreOptions::from_url(url);
  if (!options) throw std::runtime_error(options.message());
  options->clock = &clock;
  auto opened = RedisStore::open(std::move(*options));
  if (!opened) throw std::runtime_error("RedisStore::open: " + opened.status().to_string());
  StoreUnderTest s;
  s.store = std::move(*opened);
  return s;
}

// One redis-server per test process (started on first use), flushed before each test.
struct RedisFactory {
  static constexpr const char* kName = "Redis";
  static constexpr bool kOrderedScan = false;
  static constexpr bool kExpiresByTtl = true;
  static StoreUnderTest make(const Clock& clock) {
    RedisServer& server = RedisServer::shared();
    server.cli({"FLUSHALL"});
    return open_redis(server.url(), clock);
  }
};

// A 3-master Redis Cluster per test process (started on first use), flushed before each test.
struct RedisClusterFactory {
  static constexpr const char* kName = "RedisCluster";
  static constexpr bool kOrderedScan = false;
  static constexpr bool kExpiresByTtl = true;
  static StoreUnderTest make(const Clock& clock) {
    RedisCluster& cluster = RedisCluster::shared();
    cluster.flush();
    return open_redis(cluster.url(), clock);
  }
};
#endif

#ifdef SESSIONKIT_TEST_POSTGRES
// A fresh table per test in the process-wide PostgreSQL server (started on first use). Skips
// the test when the PostgreSQL binaries are not installed.
struct PostgresFactory {
  static constexpr const char* kName = "Postgres";
  static constexpr bool kOrderedScan = true;
  static constexpr bool kExpiresByTtl = false;
  static void skip() { GTEST_SKIP() << PostgresServer::missing_message(); }
  static StoreUnderTest make(const Clock& clock) {
    StoreUnderTest s;
    if (PostgresServer::bin_dir().empty()) {
      skip();  // recorded now; the test body does not run
      s.store = std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock});
      return s;
    }
    auto opened = PostgresStore::open({.conninfo = PostgresServer::shared().conninfo(),
                                       .table = PostgresServer::fresh_table(),
                                       .pool_size = 4,
                                       .clock = &clock});
    if (!opened) throw std::runtime_error("PostgresStore::open: " + opened.status().to_string());
    s.store = std::move(*opened);
    return s;
  }
};
#endif

struct FactoryName {
  template <class F>
  static std::string GetName(int) {
    return F::kName;
  }
};

template <class R>
::testing::AssertionResult is_ok(const R& r) {
  if (r.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << to_string(r.code()) << ": " << r.message();
}

inline SessionKey new_key() {
  return SessionKey::of(SessionId::generate());
}

// A typical record: 30 min idle, 8 h absolute, created now.
inline SessionRecord make_record(Time now, std::string user = {}, Duration idle = 30min,
                                 Duration absolute = 8h) {
  SessionRecord r;
  r.created_at = now;
  r.last_access = now;
  r.absolute_expires_at = now + absolute;
  r.expires_at = std::min(now + idle, r.absolute_expires_at);
  r.user_id = std::move(user);
  r.ip = "203.0.113.7";
  r.user_agent = "Mozilla/5.0 (sessionkit test)";
  r.data = {{"cart", {1, 2, 3}}, {"name", "Zoë"}, {"nested", {{"a", nullptr}, {"b", 1.5}}}};
  return r;
}

}  // namespace sessionkit::testing

namespace sessionkit {
// Readable failure messages for records and keys.
inline void PrintTo(const SessionRecord& r, std::ostream* os) {
  *os << encode_record(r);
}
inline void PrintTo(const SessionKey& k, std::ostream* os) {
  *os << k.hex();
}
}  // namespace sessionkit

#define ASSERT_OK(expr) ASSERT_TRUE(::sessionkit::testing::is_ok(expr))
#define EXPECT_OK(expr) EXPECT_TRUE(::sessionkit::testing::is_ok(expr))
