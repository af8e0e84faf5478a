// Internal to the PostgreSQL store: one libpq connection driven in non-blocking mode with a
// deadline on every wait, its prepared statements (SQL from settings.h), parameter and result
// helpers, error mapping and the schema. Not installed.
//
// Thread safety: a Connection is used by one thread at a time (the worker owning it). Settings
// is immutable once built and shared freely.
#pragma once

#include <libpq-fe.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/stores/postgres.h"
#include "stores/postgres/settings.h"

namespace sessionkit::postgres_detail {

struct ResultClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultClear>;

// Statement parameters: text (format 0) or the binary key (format 1); nullopt is SQL NULL.
// `now()` names the parameter that carries the store's clock reading for the operation: it is
// filled in only when the statement runs (Connection::exec's `now`), since a queued operation
// must judge expiry by the time it runs, not the time it was queued.
class Params {
 public:
  Params& key(const SessionKey& k);
  Params& bytes(std::string v);  // bytea, binary format
  Params& text(std::string v);
  Params& integer(std::int64_t v);
  Params& null();
  Params& opt_integer(const std::optional<std::int64_t>& v) { return v ? integer(*v) : null(); }
  Params& now();  // the store's clock, ms since the epoch, when the statement runs
  std::size_t size() const noexcept { return values_.size(); }

  // Pointer arrays for libpq, with every now() parameter set to `now` (none given: a statement
  // with a now() parameter throws std::logic_error). Valid while this View and the Params are
  // alive and the Params unchanged; neither copied nor moved (the pointers would dangle).
  class View {
   public:
    View(const Params& params, std::optional<std::int64_t> now);
    View(const View&) = delete;
    View& operator=(const View&) = delete;

    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;

   private:
    std::string now_;
  };

 private:
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
  std::vector<bool> is_now_;
};

struct ConnFinish {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnFinish>;

// One connection in non-blocking mode. Every wait (connect, send, receive) has a deadline;
// a connection that failed in a way that may have left state behind is `broken` and must be
// dropped by its owner.
class Connection {
 public:
  // Connects within connect_timeout and configures the session (statement_timeout, ...).
  static Result<std::unique_ptr<Connection>> connect(const Settings& settings);

  // False when the server has closed (or is closing) this connection while it was idle.
  bool usable();
  bool broken() const noexcept { return broken_; }

  // Runs prepared statement `q` (preparing it on this connection first if needed); `now` (the
  // store's clock, ms) fills the parameters named by Params::now().
  Result<ResultPtr> exec(Q q, const Params& params, std::int64_t now);
  // Runs SQL text; without parameters it may hold several statements (simple query protocol).
  // `what` names the step in error messages. No Params::now() here.
  Result<ResultPtr> exec_sql(const std::string& sql, const Params* params = nullptr,
                             const std::string& what = "setup");

 private:
  Connection(ConnPtr conn, const Settings& settings) : conn_(std::move(conn)), s_(&settings) {}
  // Waits (bounded by statement_timeout + 1 s) for everything sent to be answered.
  Result<ResultPtr> finish(const std::string& what);
  Status lost(const std::string& what);

  ConnPtr conn_;
  const Settings* s_;
  std::array<bool, static_cast<std::size_t>(Q::kCount)> prepared_{};
  bool broken_ = false;
};

// Reading text-format results.
std::string_view cell(const PGresult* r, int row, int col);
bool is_null(const PGresult* r, int row, int col);
Result<std::int64_t> cell_int(const PGresult* r, int row, int col);
Result<SessionKey> cell_key(const PGresult* r, int row, int col);
// The record columns starting at `col` (user_id, created_at, ..., data).
Result<SessionRecord> read_record(const PGresult* r, int row, int col);
// Rows affected by an INSERT / UPDATE / DELETE.
std::int64_t affected(const PGresult* r);

// Creates the schema (under an advisory lock) or checks its version; future versions migrate
// here. `corrupt` for a version newer than PostgresStore::kSchemaVersion.
Status create_schema(Connection& c, const Settings& s);

}  // namespace sessionkit::postgres_detail
