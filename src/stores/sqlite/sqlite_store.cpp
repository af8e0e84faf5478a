#include "sessionkit/stores/sqlite.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <utility>

#include "sessionkit/store_rules.h"
#include "stores/completion.h"
#include "stores/sqlite/sqlite_connection.h"

namespace sessionkit {

using namespace sqlite_detail;

namespace {

enum class Access { read, write };

// Checks out a connection, runs `body(connection)` and answers after the connection is back in
// the pool (stores::complete: exceptions, std::bad_alloc in practice, answer `unavailable`). A
// write first takes the pool's writer lock: SQLite admits one writer at a time anyway, and
// queueing in-process writers on a mutex (woken at once) instead of in SQLite's busy handler
// (which polls with sleeps of up to 100 ms) keeps them from starving each other; the busy
// handler is then only needed against other processes. The connection is taken before the lock,
// so a lock holder never waits for a connection.
template <class T, class F>
void run(ConnectionPool& pool, Access access, Callback<T>& done, F&& body) noexcept {
  stores::complete<T>("sqlite", done, [&]() -> Result<T> {
    auto lease = pool.acquire();
    std::unique_lock<std::timed_mutex> writing(pool.writer_lock(), std::defer_lock);
    if (!lease) return lease.status();
    if (access == Access::write && !writing.try_lock_for(pool.options().busy_timeout)) {
      return {errc::unavailable, "sqlite: no write turn within busy_timeout"};
    }
    return body(**lease);
  });
}

}  // namespace

class SqliteStore::Pool : public ConnectionPool {
  using ConnectionPool::ConnectionPool;
};

SqliteStore::SqliteStore(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
SqliteStore::~SqliteStore() = default;

const std::string& SqliteStore::path() const noexcept {
  return pool_->options().path;
}

Result<std::shared_ptr<SqliteStore>> SqliteStore::open(SqliteStoreOptions options) {
  using R = std::shared_ptr<SqliteStore>;
  if (options.path.empty() || options.path == ":memory:") {
    return Result<R>(errc::invalid_argument, "sqlite: a file path is required");
  }
  if (options.pool_size == 0) return Result<R>(errc::invalid_argument, "sqlite: pool_size is 0");
  if ((options.file_mode & ~0777U) != 0 || (options.file_mode & 0600U) != 0600U) {
    return Result<R>(errc::invalid_argument,
                     "sqlite: file_mode must be permission bits (at most 0777) including 0600");
  }
  if (options.busy_timeout.count() < 0) {
    return Result<R>(errc::invalid_argument, "sqlite: negative busy_timeout");
  }
  try {
    auto pool = std::make_unique<Pool>(std::move(options));
    {
      auto lease = pool->acquire();
      if (!lease) return lease.status();
      if (auto s = create_schema(**lease); !s) return s;
    }
    return R(new SqliteStore(std::move(pool)));
  } catch (const std::exception& e) {
    return Result<R>(errc::unavailable, std::string("sqlite: ") + e.what());
  }
}

namespace {

// The touching load (load_touch): the refreshed record, or none when the record is missing,
// expired, or (a lazy touch) last accessed outside the window.
Result<std::optional<SessionRecord>> touch_row(Connection& c, std::int64_t now,
                                               const SessionKey& key, const TouchSpec& touch) {
  using R = std::optional<SessionRecord>;
  auto stmt = c.statement(Q::load_touch);
  if (!stmt) return stmt.status();
  Stmt st(*stmt);
  st.bind_key(1, key);
  st.bind_int(2, now);
  st.bind_int(3, to_millis(touch.last_access));
  st.bind_int(4, to_millis(touch.expires_at));
  const auto& window = touch.only_if_accessed_in;
  st.bind_int(5, window ? to_millis(window->from) : std::numeric_limits<std::int64_t>::min());
  st.bind_int(6, window ? to_millis(window->before) : std::numeric_limits<std::int64_t>::max());
  int rc = st.step();
  if (rc == SQLITE_DONE) return R{};
  if (rc != SQLITE_ROW) return failure(c, rc, "load");
  auto record = read_record(*stmt, 0);
  if ((rc = st.finish()) != SQLITE_DONE) return failure(c, rc, "load");
  if (!record) return record.status();
  return R(std::move(*record));
}

}  // namespace

void SqliteStore::load(const SessionKey& key, std::optional<TouchSpec> touch,
                       Callback<std::optional<SessionRecord>> done) {
  using R = std::optional<SessionRecord>;
  if (touch && touch->only_if_accessed_in) {
    // A lazy touch: read on a reader connection, and take the write turn only when the touch is
    // due (in-process, so the two steps cost no extra round trip; most reads never write).
    std::optional<Result<R>> read;
    load(key, std::nullopt, [&](Result<R> r) { read.emplace(std::move(r)); });
    const Result<R>& r = *read;
    if (!r.ok() || !r->has_value() || !stores::touch_applies(*touch, (*r)->last_access)) {
      return stores::answer(done, std::move(*read));
    }
    run<R>(*pool_, Access::write, done, [&](Connection& c) -> Result<R> {
      auto touched = touch_row(c, pool_->now(), key, *touch);
      // No row: a concurrent request refreshed (or ended) it meanwhile; the read stands.
      if (touched.ok() && !touched->has_value()) return std::move(*read);
      return touched;
    });
    return;
  }
  run<R>(*pool_, touch ? Access::write : Access::read, done, [&](Connection& c) -> Result<R> {
    if (touch) return touch_row(c, pool_->now(), key, *touch);
    auto stmt = c.statement(Q::load);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    st.bind_key(1, key);
    st.bind_int(2, pool_->now());
    int rc = st.step();
    if (rc == SQLITE_DONE) return R{};
    if (rc != SQLITE_ROW) return failure(c, rc, "load");
    auto record = read_record(*stmt, 0);
    if (!record) return record.status();
    return R(std::move(*record));
  });
}

void SqliteStore::create(const SessionKey& key, const SessionRecord& record, Callback<void> done) {
  run<void>(*pool_, Access::write, done, [&](Connection& c) -> Status {
    if (auto s = stores::check_record(record); !s) return s;
    const std::string data = stores::dump_payload(record.data);
    auto stmt = c.statement(Q::create);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    st.bind_key(1, key);
    bind_record(st, 2, record, data);
    st.bind_int(11, pool_->now());
    if (int rc = st.finish(); rc != SQLITE_DONE) return failure(c, rc, "create");
    if (sqlite3_changes64(c.db()) == 0) return {errc::conflict, "session key already exists"};
    return {};
  });
}

namespace {

// Reads the payload of the unexpired record `key` (inside the caller's transaction).
Result<std::optional<nlohmann::json>> read_payload(Connection& c, const SessionKey& key,
                                                   std::int64_t now) {
  using R = std::optional<nlohmann::json>;
  auto stmt = c.statement(Q::select_payload);
  if (!stmt) return stmt.status();
  Stmt st(*stmt);
  st.bind_key(1, key);
  st.bind_int(2, now);
  const int rc = st.step();
  if (rc == SQLITE_DONE) return R{};
  if (rc != SQLITE_ROW) return failure(c, rc, "read payload");
  auto data = stores::parse_payload(column_text(*stmt, 0));
  if (!data) return data.status();
  return R(std::move(*data));
}

// The one UPDATE behind patch and increment; not_found if no unexpired record matched.
Status write_patch(Connection& c, const SessionKey& key, std::int64_t now,
                   const std::optional<std::string>& data, const SessionPatch& patch) {
  auto stmt = c.statement(Q::patch);
  if (!stmt) return stmt.status();
  Stmt st(*stmt);
  st.bind_key(1, key);
  st.bind_int(2, now);
  if (data) st.bind_text(3, *data);
  st.bind_int(4, patch.user_id ? 1 : 0);
  if (patch.user_id && !patch.user_id->empty()) st.bind_text(5, *patch.user_id);
  st.bind_int(6, patch.auth_at ? 1 : 0);
  if (patch.auth_at) st.bind_int(7, to_millis(*patch.auth_at));
  st.bind_int(8, patch.touch ? 1 : 0);
  if (patch.touch) {
    st.bind_int(9, to_millis(patch.touch->last_access));
    st.bind_int(10, to_millis(patch.touch->expires_at));
  }
  if (int rc = st.finish(); rc != SQLITE_DONE) return failure(c, rc, "update");
  if (sqlite3_changes64(c.db()) == 0) return {errc::not_found, "no such session"};
  return {};
}

}  // namespace

void SqliteStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  patch_where(key, nullptr, patch, std::move(done));
}

void SqliteStore::patch_if(const SessionKey& key, const PayloadCondition& condition,
                           const SessionPatch& patch, Callback<void> done) {
  patch_where(key, &condition, patch, std::move(done));
}

// patch and patch_if. A metadata-only patch is one atomic UPDATE; anything that reads the
// payload (set, erase, or a condition to check) reads, checks and writes inside one
// BEGIN IMMEDIATE transaction, which holds the database's write lock from the read on: no other
// connection or process can change the record between the check and the write.
void SqliteStore::patch_where(const SessionKey& key, const PayloadCondition* condition,
                              const SessionPatch& patch, Callback<void> done) {
  run<void>(*pool_, Access::write, done, [&](Connection& c) -> Status {
    const std::int64_t now = pool_->now();
    const bool payload = !patch.set.empty() || !patch.erase.empty();
    if (!condition && !payload) {  // metadata only: one atomic UPDATE
      return write_patch(c, key, now, std::nullopt, patch);
    }
    Transaction txn(c);
    if (auto s = txn.begin(); !s) return s;
    auto data = read_payload(c, key, now);
    if (!data) return data.status();
    if (!*data) return {errc::not_found, "no such session"};
    // Nothing written yet: returning here rolls the transaction back (Transaction's destructor).
    if (condition && !stores::condition_holds(**data, *condition)) {
      return stores::condition_failed();
    }
    std::optional<std::string> text;
    if (payload) {
      stores::apply_payload_patch(**data, patch);
      text = stores::dump_payload(**data);
    }
    if (auto s = write_patch(c, key, now, text, patch); !s) return s;
    return txn.commit();
  });
}

void SqliteStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                            std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  run<std::int64_t>(*pool_, Access::write, done, [&](Connection& c) -> Result<std::int64_t> {
    const std::int64_t now = pool_->now();
    Transaction txn(c);
    if (auto s = txn.begin(); !s) return s;
    auto data = read_payload(c, key, now);
    if (!data) return data.status();
    if (!*data) return {errc::not_found, "no such session"};
    auto value = stores::apply_increment(**data, field, delta);
    if (!value) return value;
    SessionPatch meta;
    meta.touch = touch;
    if (auto s = write_patch(c, key, now, stores::dump_payload(**data), meta); !s) return s;
    if (auto s = txn.commit(); !s) return s;
    return value;
  });
}

void SqliteStore::replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) {
  run<void>(*pool_, Access::write, done, [&](Connection& c) -> Status {
    if (auto s = stores::check_record(record); !s) return s;
    const std::string data = stores::dump_payload(record.data);
    auto stmt = c.statement(Q::replace);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    st.bind_key(1, key);
    st.bind_int(2, pool_->now());
    bind_record(st, 3, record, data);
    if (int rc = st.finish(); rc != SQLITE_DONE) return failure(c, rc, "replace");
    if (sqlite3_changes64(c.db()) == 0) return {errc::not_found, "no such session"};
    return {};
  });
}

void SqliteStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  run<void>(*pool_, Access::write, done, [&](Connection& c) -> Status {
    auto stmt = c.statement(Q::touch);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    st.bind_key(1, key);
    st.bind_int(2, pool_->now());
    st.bind_int(3, to_millis(touch.last_access));
    st.bind_int(4, to_millis(touch.expires_at));
    if (int rc = st.finish(); rc != SQLITE_DONE) return failure(c, rc, "touch");
    if (sqlite3_changes64(c.db()) == 0) return {errc::not_found, "no such session"};
    return {};
  });
}

void SqliteStore::destroy(const SessionKey& key, Callback<bool> done) {
  run<bool>(*pool_, Access::write, done, [&](Connection& c) -> Result<bool> {
    auto stmt = c.statement(Q::destroy);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    st.bind_key(1, key);
    st.bind_int(2, pool_->now());
    bool live = false;
    int rc = st.step();
    for (; rc == SQLITE_ROW; rc = sqlite3_step(*stmt))
      live = sqlite3_column_int(*stmt, 0) != 0;
    if (rc != SQLITE_DONE) return failure(c, rc, "destroy");
    return live;
  });
}

void SqliteStore::list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) {
  using R = std::vector<StoredSession>;
  run<R>(*pool_, Access::read, done, [&](Connection& c) -> Result<R> {
    R out;
    if (user_id.empty()) return out;  // "" means unbound, not a user
    auto stmt = c.statement(Q::list_user);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    st.bind_text(1, user_id);
    st.bind_int(2, pool_->now());
    int rc = st.step();
    for (; rc == SQLITE_ROW; rc = sqlite3_step(*stmt)) {
      auto key = read_key(*stmt, 0);
      if (!key) return key.status();
      auto record = read_record(*stmt, 1);
      if (!record) return record.status();
      out.push_back({*key, std::move(*record)});
    }
    if (rc != SQLITE_DONE) return failure(c, rc, "list user");
    return out;
  });
}

void SqliteStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                               Callback<std::size_t> done) {
  run<std::size_t>(*pool_, Access::write, done, [&](Connection& c) -> Result<std::size_t> {
    std::size_t destroyed = 0;
    if (user_id.empty()) return destroyed;
    auto stmt = c.statement(Q::destroy_user);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    st.bind_text(1, user_id);
    if (keep) st.bind_key(2, *keep);
    st.bind_int(3, pool_->now());
    int rc = st.step();
    for (; rc == SQLITE_ROW; rc = sqlite3_step(*stmt)) {
      if (sqlite3_column_int(*stmt, 0) != 0) ++destroyed;
    }
    if (rc != SQLITE_DONE) return failure(c, rc, "destroy user");
    return destroyed;
  });
}

void SqliteStore::count(Callback<std::size_t> done) {
  run<std::size_t>(*pool_, Access::read, done, [&](Connection& c) -> Result<std::size_t> {
    auto stmt = c.statement(Q::count);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    if (int rc = st.step(); rc != SQLITE_ROW) return failure(c, rc, "count");
    return static_cast<std::size_t>(sqlite3_column_int64(*stmt, 0));
  });
}

void SqliteStore::scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
  run<ScanPage>(*pool_, Access::read, done, [&](Connection& c) -> Result<ScanPage> {
    if (limit == 0) return {errc::invalid_argument, "scan limit must be positive"};
    std::optional<SessionKey> after;
    if (!cursor.empty()) {
      after = SessionKey::from_hex(cursor);
      if (!after) return {errc::invalid_argument, "malformed scan cursor"};
    }
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max() - 1);
    const std::size_t page = std::min(limit, kMax);
    auto stmt = c.statement(Q::scan);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    if (after) {
      st.bind_key(1, *after);
    } else {
      st.bind_empty_blob(1);  // the empty blob sorts before every key
    }
    st.bind_int(2, pool_->now());
    st.bind_int(3, static_cast<std::int64_t>(page + 1));  // one more: is the scan complete?
    ScanPage out;
    bool more = false;
    int rc = st.step();
    for (; rc == SQLITE_ROW; rc = sqlite3_step(*stmt)) {
      if (out.sessions.size() == page) {
        more = true;
        continue;
      }
      auto key = read_key(*stmt, 0);
      if (!key) return key.status();
      auto record = read_record(*stmt, 1);
      if (!record) return record.status();
      out.sessions.push_back({*key, std::move(*record)});
    }
    if (rc != SQLITE_DONE) return failure(c, rc, "scan");
    if (more) out.next_cursor = out.sessions.back().key.hex();
    return out;
  });
}

void SqliteStore::purge_expired(std::size_t limit, Callback<std::size_t> done) {
  run<std::size_t>(*pool_, Access::write, done, [&](Connection& c) -> Result<std::size_t> {
    if (limit == 0) return std::size_t{0};
    auto stmt = c.statement(Q::purge);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    st.bind_int(1, pool_->now());
    constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    st.bind_int(2, static_cast<std::int64_t>(std::min(limit, kMax)));
    if (int rc = st.finish(); rc != SQLITE_DONE) return failure(c, rc, "purge expired");
    return static_cast<std::size_t>(sqlite3_changes64(c.db()));
  });
}

void SqliteStore::health(Callback<void> done) {
  run<void>(*pool_, Access::read, done, [&](Connection& c) -> Status {
    auto stmt = c.statement(Q::health);
    if (!stmt) return stmt.status();
    Stmt st(*stmt);
    if (int rc = st.finish(); rc != SQLITE_DONE) return failure(c, rc, "health check");
    return {};
  });
}

}  // namespace sessionkit
