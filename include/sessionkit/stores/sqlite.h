// sessionkit/stores/sqlite.h — a SessionStore in one SQLite file (the embedded default).
//
// What it is: sessions survive restarts and need no server. One table in WAL mode (readers never
// block the writer), prepared statements cached per connection, a pool of `pool_size`
// connections; several stores and several processes may share one file. Schema, pragmas and
// migration rules: docs/stores.md.
//
// Durability: with `synchronous_full` (the default) an operation that has answered success is
// on disk and survives power loss; with it off (PRAGMA synchronous=NORMAL) it survives a crash
// of the process but the last commits may be lost on power loss.
//
// Thread safety: every member function may be called from any number of threads at once. Each
// operation checks one connection out of the pool (waiting up to `busy_timeout` for one to be
// free), runs, and returns it. Writing operations of one store take turns on an in-process
// writer lock (SQLite admits one writer at a time anyway; this keeps in-process writers from
// starving each other in SQLite's sleeping busy handler), while reads run in parallel.
// Read-modify-write operations (patch of payload keys, patch_if, increment) run in
// `BEGIN IMMEDIATE` transactions, so they are atomic against other connections and other
// processes too (patch_if checks its condition inside the transaction that writes).
// Callbacks are always invoked inline, before the call returns, with no connection held.
//
// Expiry: every read filters out records whose deadline has passed by the store's clock;
// `purge_expired(limit)` deletes up to `limit` expired rows through the deadline index.
//
// Scan: ascending key order; the cursor is the hex of the last key returned.
//
// Errors: `not_found` / `conflict` as the store contract says; `invalid_argument` for bad
// options, a payload that is not a JSON object, an increment of a non-integer or one that would
// overflow, a malformed scan cursor or a scan limit of 0; `corrupt` for a stored payload that
// does not parse or a file whose schema is newer than this build; `unavailable` (with SQLite's
// message) for everything else SQLite reports, including a lock still held by another writer
// after `busy_timeout`. A connection that failed is closed and replaced, never reused. Nothing
// throws.
//
// Ownership: `open` returns a shared owner; the store closes its connections when the last owner
// lets go (no operation may be running then). `options.clock` is borrowed and must outlive the
// store. Creating the file's parent directory is the caller's job.
//
// File mode: the rows hold user ids, client addresses and user agents, so a new database file
// is created with `file_mode` (default 0600, owner-only; the umask can only narrow it), and
// SQLite gives its -wal and -shm files the database file's mode. An existing file keeps the
// mode it has.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "sessionkit/store.h"

namespace sessionkit {

struct SqliteStoreOptions {
  std::string path{};         // file path; ":memory:" not supported (the pool needs a shared file)
  std::size_t pool_size = 4;  // connections (at least 1)
  bool synchronous_full = true;  // PRAGMA synchronous=FULL (acknowledged = durable) vs NORMAL
  std::chrono::milliseconds busy_timeout{5000};  // lock wait, and pool checkout wait
  const Clock* clock = nullptr;                  // nullptr = system_clock()
  unsigned file_mode = 0600;  // permission bits of a new database file (not applied to old ones)
};

class SqliteStore final : public SessionStore {
 public:
  // The schema version this build writes and reads (PRAGMA user_version).
  static constexpr int kSchemaVersion = 1;

  // Opens/creates the file, sets WAL mode, creates or checks the schema (versioned via PRAGMA
  // user_version) and opens the first connection. Errors: `invalid_argument` for bad options,
  // `corrupt` for a schema newer than kSchemaVersion or a file that is not a database,
  // `unavailable` when SQLite cannot open or set up the file.
  static Result<std::shared_ptr<SqliteStore>> open(SqliteStoreOptions options);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  std::string_view name() const noexcept override { return "sqlite"; }
  const std::string& path() const noexcept;

  void load(const SessionKey& key, std::optional<TouchSpec> touch,
            Callback<std::optional<SessionRecord>> done) override;
  void create(const SessionKey& key, const SessionRecord& record, Callback<void> done) override;
  void patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) override;
  void patch_if(const SessionKey& key, const PayloadCondition& condition, const SessionPatch& patch,
                Callback<void> done) override;
  void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                 std::optional<TouchSpec> touch, Callback<std::int64_t> done) override;
  void replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) override;
  void touch(const SessionKey& key, TouchSpec touch, Callback<void> done) override;
  void destroy(const SessionKey& key, Callback<bool> done) override;
  void list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) override;
  void destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                    Callback<std::size_t> done) override;
  void count(Callback<std::size_t> done) override;
  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) override;
  void purge_expired(std::size_t limit, Callback<std::size_t> done) override;
  void health(Callback<void> done) override;

 private:
  class Pool;
  explicit SqliteStore(std::unique_ptr<Pool> pool);
  // patch (no condition) and patch_if.
  void patch_where(const SessionKey& key, const PayloadCondition* condition,
                   const SessionPatch& patch, Callback<void> done);

  std::unique_ptr<Pool> pool_;
};

}  // namespace sessionkit
