// Internal to the SQLite store: RAII over sqlite3 handles, one pooled connection with its cached
// prepared statements, transactions, the connection pool and the schema. Not installed.
//
// Thread safety: a Connection (and every Stmt / Transaction on it) is used by one thread at a
// time — the one holding its Lease. ConnectionPool is thread-safe.
#pragma once

#include <sqlite3.h>

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/stores/sqlite.h"

namespace sessionkit::sqlite_detail {

// The statements every connection prepares (once, on first use); SQL text in the .cpp.
enum class Q : std::size_t {
  load,
  load_touch,
  create,
  select_payload,
  patch,
  replace,
  touch,
  destroy,
  list_user,
  destroy_user,
  count,
  scan,
  purge,
  health,
  begin,
  commit,
  rollback,
  kCount,
};

struct DbClose {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

// One connection and its prepared statements (prepared on first use, kept until closed).
class Connection {
 public:
  explicit Connection(DbPtr db) : db_(std::move(db)) {}
  sqlite3* db() const noexcept { return db_.get(); }
  bool broken = false;  // failed in a way that may have left state behind: close, never reuse

  Result<sqlite3_stmt*> statement(Q q);

 private:
  DbPtr db_;
  std::array<StmtPtr, static_cast<std::size_t>(Q::kCount)> stmts_;  // finalized before db_
};

// Maps an SQLite failure to a Status. Lock contention and size limits leave the connection
// usable; anything else marks it broken so that the pool replaces it.
Status failure(Connection& c, int rc, const std::string& what);

// A borrowed prepared statement: binds, steps, and is reset (bindings cleared) on scope exit.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) noexcept : s_(s) {}
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  void bind_int(int i, std::int64_t v) { note(sqlite3_bind_int64(s_, i, v)); }
  void bind_null(int i) { note(sqlite3_bind_null(s_, i)); }
  void bind_text(int i, std::string_view t) {
    note(sqlite3_bind_text64(s_, i, t.data(), t.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bind_key(int i, const SessionKey& k) {
    note(sqlite3_bind_blob(s_, i, k.bytes().data(), SessionKey::kBytes, SQLITE_TRANSIENT));
  }
  void bind_empty_blob(int i) { note(sqlite3_bind_zeroblob(s_, i, 0)); }
  int step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(s_); }
  // Steps to the end (RETURNING statements finish their work there); SQLITE_DONE on success.
  int finish() {
    int rc = step();
    while (rc == SQLITE_ROW) {
      rc = sqlite3_step(s_);
    }
    return rc;
  }

 private:
  void note(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  }
  sqlite3_stmt* s_;
  int bind_rc_ = SQLITE_OK;
};

std::string_view column_text(sqlite3_stmt* s, int i);
Result<SessionKey> read_key(sqlite3_stmt* s, int i);
// Reads the record columns starting at `col` (user_id, created_at, ..., data).
Result<SessionRecord> read_record(sqlite3_stmt* s, int col);
// Binds a record's columns to ?first .. ?first+8, in the order read_record() reads them.
void bind_record(Stmt& st, int first, const SessionRecord& r, const std::string& data);
// Runs a cached statement whose rows (if any) do not matter.
Status exec(Connection& c, Q q, const std::string& what);

// BEGIN IMMEDIATE on begin(); ROLLBACK on scope exit unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& c) noexcept : c_(c) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status begin();
  Status commit();

 private:
  Connection& c_;
  bool active_ = false;
};

class ConnectionPool;

// A checked-out connection; goes back to the pool (or is closed, if broken) on destruction.
class Lease {
 public:
  Lease(ConnectionPool* pool, std::unique_ptr<Connection> c) noexcept
      : pool_(pool), conn_(std::move(c)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  Connection& operator*() const noexcept { return *conn_; }

 private:
  ConnectionPool* pool_;
  std::unique_ptr<Connection> conn_;
};

// Up to `pool_size` connections, opened on demand and configured (WAL, synchronous,
// busy_timeout). Also holds the store's writer lock (see run() in sqlite_store.cpp).
class ConnectionPool {
 public:
  explicit ConnectionPool(SqliteStoreOptions options);

  const SqliteStoreOptions& options() const noexcept { return options_; }
  std::int64_t now() const noexcept { return to_millis(clock_->now()); }
  std::timed_mutex& writer_lock() noexcept { return writer_; }

  // A free connection, opening one if fewer than pool_size exist; waits up to busy_timeout.
  Result<Lease> acquire();
  void release(std::unique_ptr<Connection> c) noexcept;

 private:
  SqliteStoreOptions options_;
  const Clock* clock_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;     // idle + leased
  std::timed_mutex writer_;  // one writing operation of this store at a time
};

// Creates the schema in an empty file, checks (and in future versions migrates) it otherwise.
Status create_schema(Connection& c);

}  // namespace sessionkit::sqlite_detail
