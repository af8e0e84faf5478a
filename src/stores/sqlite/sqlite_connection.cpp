#include "stores/sqlite/sqlite_connection.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <system_error>
#include <utility>

#include "sessionkit/store_rules.h"

namespace sessionkit::sqlite_detail {
namespace {

// Version 1 of the schema (PRAGMA user_version = 1). Times are integer ms since the Unix epoch.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS sessions (
  key BLOB PRIMARY KEY NOT NULL,        -- SHA-256 of the session ID, 32 bytes
  user_id TEXT,                         -- NULL: not bound to a user
  created_at INTEGER NOT NULL,
  last_access INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,          -- effective (idle) deadline
  absolute_expires_at INTEGER NOT NULL,
  auth_at INTEGER,
  ip TEXT NOT NULL,
  user_agent TEXT NOT NULL,
  data TEXT NOT NULL                    -- the payload: a JSON object
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_deadline ON sessions (min(expires_at, absolute_expires_at));
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id) WHERE user_id IS NOT NULL;
PRAGMA user_version = 1;
)sql";

// Record columns, in the order read_record() expects them.
#define SK_RECORD_COLS                                                                           \
  "user_id, created_at, last_access, expires_at, absolute_expires_at, auth_at, ip, user_agent, " \
  "data"
#define SK_LIVE "key = ?1 AND expires_at > ?2 AND absolute_expires_at > ?2"

constexpr std::array<const char*, static_cast<std::size_t>(Q::kCount)> kSql = {
    "SELECT " SK_RECORD_COLS " FROM sessions WHERE " SK_LIVE,
    "UPDATE sessions SET last_access = ?3, expires_at = min(?4, absolute_expires_at) WHERE " SK_LIVE
    " AND last_access >= ?5 AND last_access < ?6 RETURNING " SK_RECORD_COLS,
    "INSERT INTO sessions (key, " SK_RECORD_COLS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (key) DO UPDATE SET "
    "user_id = excluded.user_id, created_at = excluded.created_at, "
    "last_access = excluded.last_access, expires_at = excluded.expires_at, "
    "absolute_expires_at = excluded.absolute_expires_at, auth_at = excluded.auth_at, "
    "ip = excluded.ip, user_agent = excluded.user_agent, data = excluded.data "
    "WHERE sessions.expires_at <= ?11 OR sessions.absolute_expires_at <= ?11",
    "SELECT data FROM sessions WHERE " SK_LIVE,
    "UPDATE sessions SET data = coalesce(?3, data), user_id = iif(?4, ?5, user_id), "
    "auth_at = iif(?6, ?7, auth_at), last_access = iif(?8, ?9, last_access), "
    "expires_at = iif(?8, min(?10, absolute_expires_at), expires_at) WHERE " SK_LIVE,
    "UPDATE sessions SET user_id = ?3, created_at = ?4, last_access = ?5, expires_at = ?6, "
    "absolute_expires_at = ?7, auth_at = ?8, ip = ?9, user_agent = ?10, data = ?11 WHERE " SK_LIVE,
    "UPDATE sessions SET last_access = ?3, expires_at = min(?4, absolute_expires_at) "
    "WHERE " SK_LIVE,
    "DELETE FROM sessions WHERE key = ?1 RETURNING expires_at > ?2 AND absolute_expires_at > ?2",
    "SELECT key, " SK_RECORD_COLS
    " FROM sessions WHERE user_id = ?1 AND expires_at > ?2 "
    "AND absolute_expires_at > ?2 ORDER BY created_at, key",
    "DELETE FROM sessions WHERE user_id = ?1 AND (?2 IS NULL OR key <> ?2) "
    "RETURNING expires_at > ?3 AND absolute_expires_at > ?3",
    "SELECT count(*) FROM sessions",
    "SELECT key, " SK_RECORD_COLS
    " FROM sessions WHERE key > ?1 AND expires_at > ?2 "
    "AND absolute_expires_at > ?2 ORDER BY key LIMIT ?3",
    "DELETE FROM sessions WHERE key IN (SELECT key FROM sessions "
    "WHERE min(expires_at, absolute_expires_at) <= ?1 LIMIT ?2)",
    "SELECT 1 FROM sessions LIMIT 1",
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
};
#undef SK_RECORD_COLS
#undef SK_LIVE

Result<std::int64_t> pragma_int(sqlite3* db, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc == SQLITE_OK) rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) return Result<std::int64_t>(errc::unavailable, sqlite3_errmsg(db));
  return sqlite3_column_int64(raw, 0);
}

// Creates the database file with `mode` when it does not exist yet (SQLite would use 0644
// minus the umask); an empty file is an empty database. An existing file is left alone.
Status create_file(const SqliteStoreOptions& o) {
  const int fd = ::open(o.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                        static_cast<mode_t>(o.file_mode));
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  const int error = errno;
  if (error == EEXIST) return {};
  // std::system_category's message is thread-safe (std::strerror is not).
  return {errc::unavailable, "sqlite: '" + o.path + "': cannot create the file: " +
                                 std::system_category().message(error)};
}

Result<std::unique_ptr<Connection>> open_connection(const SqliteStoreOptions& o) {
  using R = std::unique_ptr<Connection>;
  if (auto created = create_file(o); !created) return created;
  sqlite3* raw = nullptr;
  const int rc =
      sqlite3_open_v2(o.path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);  // a handle comes back even on failure and must be closed
  const std::string where = "sqlite: '" + o.path + "': ";
  if (rc != SQLITE_OK) {
    return Result<R>(errc::unavailable, where + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw,
                       static_cast<int>(std::min<std::int64_t>(o.busy_timeout.count(), INT_MAX)));
  // journal_mode answers the mode in force: anything but "wal" means it could not be set.
  sqlite3_stmt* mode_raw = nullptr;
  int mrc = sqlite3_prepare_v2(raw, "PRAGMA journal_mode = WAL", -1, &mode_raw, nullptr);
  StmtPtr mode(mode_raw);
  if (mrc == SQLITE_OK) mrc = sqlite3_step(mode_raw);
  if (mrc != SQLITE_ROW) {
    const errc code = (mrc & 0xff) == SQLITE_NOTADB ? errc::corrupt : errc::unavailable;
    return Result<R>(code, where + sqlite3_errmsg(raw));
  }
  if (column_text(mode_raw, 0) != "wal") {
    return Result<R>(errc::unavailable, where + "cannot switch to WAL journal mode");
  }
  mode.reset();
  const std::string pragmas = std::string("PRAGMA synchronous = ") +
                              (o.synchronous_full ? "FULL" : "NORMAL") +
                              "; PRAGMA trusted_schema = OFF; PRAGMA temp_store = MEMORY;";
  if (sqlite3_exec(raw, pragmas.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Result<R>(errc::unavailable, where + sqlite3_errmsg(raw));
  }
  return std::make_unique<Connection>(std::move(db));
}

}  // namespace

Status failure(Connection& c, int rc, const std::string& what) {
  const int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return {errc::unavailable, "sqlite: " + what + ": database is locked (busy timeout elapsed)"};
  }
  if (primary == SQLITE_TOOBIG) return {errc::too_large, "sqlite: " + what + ": value too large"};
  if (primary != SQLITE_CONSTRAINT && primary != SQLITE_RANGE) c.broken = true;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
    return {errc::corrupt, "sqlite: " + what + ": " + sqlite3_errmsg(c.db())};
  }
  return {errc::unavailable, "sqlite: " + what + ": " + sqlite3_errmsg(c.db())};
}

Result<sqlite3_stmt*> Connection::statement(Q q) {
  auto& slot = stmts_[static_cast<std::size_t>(q)];
  if (!slot) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db(), kSql[static_cast<std::size_t>(q)], -1,
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    slot.reset(raw);
    if (rc != SQLITE_OK) return failure(*this, rc, "prepare");
  }
  return slot.get();
}

std::string_view column_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  if (!p) return {};
  return {reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, i))};
}

Result<SessionKey> read_key(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  if (!p || sqlite3_column_bytes(s, i) != static_cast<int>(SessionKey::kBytes)) {
    return Result<SessionKey>(errc::corrupt, "sqlite: stored key is not 32 bytes");
  }
  SessionKey::Bytes b;
  std::memcpy(b.data(), p, b.size());
  return SessionKey(b);
}

Result<SessionRecord> read_record(sqlite3_stmt* s, int col) {
  SessionRecord r;
  r.user_id = column_text(s, col);
  r.created_at = from_millis(sqlite3_column_int64(s, col + 1));
  r.last_access = from_millis(sqlite3_column_int64(s, col + 2));
  r.expires_at = from_millis(sqlite3_column_int64(s, col + 3));
  r.absolute_expires_at = from_millis(sqlite3_column_int64(s, col + 4));
  if (sqlite3_column_type(s, col + 5) != SQLITE_NULL) {
    r.auth_at = from_millis(sqlite3_column_int64(s, col + 5));
  }
  r.ip = column_text(s, col + 6);
  r.user_agent = column_text(s, col + 7);
  auto data = stores::parse_payload(column_text(s, col + 8));
  if (!data) return data.status();
  r.data = std::move(*data);
  return r;
}

// Binds a record's columns to ?first .. ?first+8 (the order of SK_RECORD_COLS).
void bind_record(Stmt& st, int first, const SessionRecord& r, const std::string& data) {
  if (r.user_id.empty()) {
    st.bind_null(first);
  } else {
    st.bind_text(first, r.user_id);
  }
  st.bind_int(first + 1, to_millis(r.created_at));
  st.bind_int(first + 2, to_millis(r.last_access));
  st.bind_int(first + 3, to_millis(r.expires_at));
  st.bind_int(first + 4, to_millis(r.absolute_expires_at));
  if (r.auth_at) {
    st.bind_int(first + 5, to_millis(*r.auth_at));
  } else {
    st.bind_null(first + 5);
  }
  st.bind_text(first + 6, r.ip);
  st.bind_text(first + 7, r.user_agent);
  st.bind_text(first + 8, data);
}

// Runs a cached statement that returns no rows of interest.
Status exec(Connection& c, Q q, const std::string& what) {
  auto stmt = c.statement(q);
  if (!stmt) return stmt.status();
  Stmt st(*stmt);
  if (int rc = st.finish(); rc != SQLITE_DONE) return failure(c, rc, what);
  return {};
}

Transaction::~Transaction() {
  if (!active_) return;
  (void)exec(c_, Q::rollback, "rollback");
  if (!sqlite3_get_autocommit(c_.db())) c_.broken = true;  // still inside: do not reuse
}

Status Transaction::begin() {
  Status s = exec(c_, Q::begin, "begin transaction");
  active_ = s.ok();
  return s;
}

Status Transaction::commit() {
  Status s = exec(c_, Q::commit, "commit");
  if (s) active_ = false;
  return s;
}

ConnectionPool::ConnectionPool(SqliteStoreOptions options)
    : options_(std::move(options)), clock_(options_.clock ? options_.clock : &system_clock()) {
  idle_.reserve(options_.pool_size);  // release() then never allocates
}

Result<Lease> ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + options_.busy_timeout;
  for (;;) {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(c));
    }
    if (open_ < options_.pool_size) {
      ++open_;
      lock.unlock();
      auto c = open_connection(options_);
      if (!c) {
        lock.lock();
        --open_;
        ready_.notify_one();
        return c.status();
      }
      return Lease(this, std::move(*c));
    }
    if (ready_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      return Result<Lease>(errc::unavailable, "sqlite: no free connection within busy_timeout");
    }
  }
}

void ConnectionPool::release(std::unique_ptr<Connection> c) noexcept {
  std::unique_ptr<Connection> closing;  // closed outside the lock
  {
    std::lock_guard lock(mutex_);
    if (c->broken) {
      closing = std::move(c);
      --open_;
    } else {
      idle_.push_back(std::move(c));  // capacity reserved: cannot throw
    }
  }
  ready_.notify_one();
}

Lease::~Lease() {
  if (conn_) pool_->release(std::move(conn_));
}

Status create_schema(Connection& c) {
  Transaction txn(c);
  if (auto s = txn.begin(); !s) return s;
  auto version = pragma_int(c.db(), "PRAGMA user_version");
  if (!version) return failure(c, sqlite3_errcode(c.db()), "read schema version");
  if (*version > SqliteStore::kSchemaVersion) {
    return {errc::corrupt, "sqlite: schema version " + std::to_string(*version) +
                               " is newer than this build supports (" +
                               std::to_string(SqliteStore::kSchemaVersion) + ")"};
  }
  if (*version == 0 && sqlite3_exec(c.db(), kSchemaV1, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return failure(c, sqlite3_errcode(c.db()), "create schema");
  }
  // Future versions migrate here, one step at a time, inside this transaction.
  return txn.commit();
}

}  // namespace sessionkit::sqlite_detail
