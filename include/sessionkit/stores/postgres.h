// sessionkit/stores/postgres.h — a SessionStore in one PostgreSQL table (several app instances).
//
// What it is: sessions live in a PostgreSQL server that any number of processes and hosts share.
// One table (name configurable) plus a one-row `<table>_meta` table holding the schema version;
// every operation is ONE SQL statement (a patch is a single UPDATE that merges the payload in
// the server, an increment a single UPDATE … RETURNING, a patch_if a single statement that
// locks the row, judges the condition with jsonb equality and updates only when it held),
// prepared once per connection. Schema, statements and migration rules: docs/stores.md.
//
// Threads: the store owns `pool_size` worker threads, each with its own connection (opened on
// first need, replaced when it breaks). A call only puts the operation on a bounded queue and
// returns; a worker runs it and calls the callback ON THAT WORKER THREAD. Callbacks must not
// block for long, and must never wait on another call of this store (so never use
// BlockingStore from inside a callback). Answered inline instead, on the caller's thread:
// arguments refused before any round trip (`invalid_argument`), the trivial answers ("" user,
// purge limit 0), a full queue (`unavailable`).
//
// Bounded time: every call is answered within about queue_timeout + connect_timeout +
// statement_timeout + 1 s, whatever the server or network does. An operation that waited longer
// than `queue_timeout` for a worker answers `timeout` without running. The server cancels a
// statement running longer than `statement_timeout` (`SET statement_timeout`); if the server
// does not answer at all (hung, network gone) the worker gives up one second later, drops the
// connection and answers `timeout` — the statement may or may not have been applied then.
//
// Durability: the server's. An operation that answered success was committed (autocommit)
// and is as durable as the server's `synchronous_commit` / replication settings make it.
//
// Expiry: judged by the store's `clock`, passed to every statement as a parameter (never the
// server's `now()`); `purge_expired(limit)` deletes up to `limit` expired rows through the
// deadline index.
//
// Scan: ascending key order (bytea order = byte order); the cursor is the lowercase hex of the
// last key returned.
//
// Text: PostgreSQL text must be valid UTF-8 without U+0000, and jsonb refuses "\u0000". U+0000
// in a payload string or key, a patch's set/erase name, an increment field name or a user id is
// `invalid_argument` (answered before any round trip), and so is a user id that is not valid
// UTF-8. Invalid UTF-8 elsewhere (payload, names, ip, user_agent) is stored with U+FFFD
// replacements, as every store does for payloads; U+0000 in ip / user_agent becomes U+FFFD.
// Numbers come back with their exact value (int64 extremes, 1.5); jsonb normalizes their
// spelling (1e3 comes back as 1000).
//
// Errors: `not_found` / `conflict` as the store contract says; `invalid_argument` for bad
// options, a payload that is not a JSON object, the text rules above, an increment of a
// non-integer or one that would overflow int64, a malformed scan cursor or a scan limit of 0;
// `corrupt` for a stored payload that does not parse or a table whose schema is newer than this
// build; `timeout` for a statement cancelled by `statement_timeout` (e.g. waiting for a row
// locked elsewhere), a server that did not answer, or a long wait in the queue; `unavailable`
// (with libpq's message) for everything else: no connection, connection lost, server shutting
// down; `too_large` for values beyond PostgreSQL's limits (SQLSTATE class 54). A connection that
// failed is closed and a new one is made on the next operation (at most one attempt per
// `reconnect_interval` while the server stays unreachable; in between, operations answer
// `unavailable` at once). Nothing throws.
//
// Ownership: `open` returns a shared owner. The destructor answers queued operations
// `unavailable` ("store closed"), lets running ones finish, joins the workers and closes the
// connections (if the last owner is dropped inside a callback, that worker finishes by itself).
// `options.clock` is borrowed and must outlive the store.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "sessionkit/store.h"

namespace sessionkit {

struct PostgresStoreOptions {
  // libpq connection string, passed unchanged: a URI
  // ("postgresql://user:pass@host:5432/db?sslmode=verify-full") or key=value pairs
  // ("host=db.internal dbname=app sslmode=require"). TLS is libpq's (sslmode, sslrootcert...).
  std::string conninfo{};
  // The sessions table; `<table>_meta` holds its schema version. [a-z_][a-z0-9_]*, at most 48
  // characters, created in the first schema of the connection's search_path.
  std::string table = "sessionkit_sessions";
  std::size_t pool_size = 4;         // connections = worker threads (at least 1)
  std::size_t queue_limit = 10'000;  // queued operations beyond which calls answer unavailable
  std::chrono::milliseconds connect_timeout{5000};    // one connection attempt (TCP + TLS + auth)
  std::chrono::milliseconds statement_timeout{5000};  // one statement, lock waits included
  std::chrono::milliseconds queue_timeout{5000};      // longest wait in the queue for a worker
  std::chrono::milliseconds reconnect_interval{500};  // while unreachable: one attempt per this
  const Clock* clock = nullptr;                       // nullptr = system_clock()
};

class PostgresStore final : public SessionStore {
 public:
  // The schema version this build writes and reads (kept in `<table>_meta`).
  static constexpr int kSchemaVersion = 1;

  // Validates the options, connects once (blocking the caller, bounded by connect_timeout and
  // statement_timeout), creates or checks the schema under an advisory lock (so that several
  // processes may open at once), and starts the workers. Errors: `invalid_argument` for bad
  // options, `corrupt` for a schema newer than kSchemaVersion, `unavailable` / `timeout` when
  // the server cannot be reached or set up.
  static Result<std::shared_ptr<PostgresStore>> open(PostgresStoreOptions options);

  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  std::string_view name() const noexcept override { return "postgres"; }
  const std::string& table() const noexcept;

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
  explicit PostgresStore(std::shared_ptr<Pool> pool);

  std::shared_ptr<Pool> pool_;
};

}  // namespace sessionkit
