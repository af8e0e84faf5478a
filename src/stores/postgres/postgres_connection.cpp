// The PostgreSQL store's connection (see postgres_connection.h): connecting and talking to the
// server in non-blocking mode under deadlines, error mapping, statement parameters, reading
// results, and creating or checking the schema.
#include "stores/postgres/postgres_connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "sessionkit/store_rules.h"

namespace sessionkit::postgres_detail {
namespace {

using Steady = std::chrono::steady_clock;

void ignore_notice(void*, const char*) {}

// Waits until `fd` is ready for `events` or `deadline` passes: the ready events (POLLIN is added
// when the socket has an error or hung up, so that libpq reads and reports it), 0 on timeout,
// -1 on failure.
int wait_socket(int fd, short events, Steady::time_point deadline) {
  if (fd < 0) return -1;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now()).count();
    if (left <= 0) return 0;
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left + 1, 60'000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) continue;  // re-check the deadline
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return p.revents | POLLIN;
    return p.revents;
  }
}

// Maps an error result to a Status; marks the connection broken when it cannot be trusted.
Status failure(PGconn* c, const PGresult* r, const std::string& what, bool& broken) {
  const char* state_raw = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view state = state_raw ? state_raw : "";
  const char* text = r ? PQresultErrorMessage(r) : nullptr;
  const std::string message =
      "postgres: " + what + ": " + one_line(text && *text ? text : PQerrorMessage(c));
  const bool lost =
      PQstatus(c) != CONNECTION_OK || state.starts_with("08") || state.starts_with("57P");
  // Lost, being shut down, lost its prepared statements or left inside a transaction: the
  // connection cannot be trusted any more, a new one is made for the next operation.
  if (lost || state == "26000" || PQtransactionStatus(c) != PQTRANS_IDLE) broken = true;
  if (lost) return {errc::unavailable, message};
  if (state == "57014" || state == "55P03") return {errc::timeout, message};  // statement/lock
  if (state.starts_with("54")) return {errc::too_large, message};         // value too large / deep
  if (state.starts_with("22")) return {errc::invalid_argument, message};  // data exception
  return {errc::unavailable, message};
}

}  // namespace

Params& Params::key(const SessionKey& k) {
  return bytes(std::string(k.bytes().begin(), k.bytes().end()));
}

Params& Params::bytes(std::string v) {
  values_.emplace_back(std::move(v));
  formats_.push_back(1);
  is_now_.push_back(false);
  return *this;
}

Params& Params::text(std::string v) {
  values_.emplace_back(std::move(v));
  formats_.push_back(0);
  is_now_.push_back(false);
  return *this;
}

Params& Params::integer(std::int64_t v) {
  return text(std::to_string(v));
}

Params& Params::null() {
  values_.emplace_back(std::nullopt);
  formats_.push_back(0);
  is_now_.push_back(false);
  return *this;
}

Params& Params::now() {
  null();
  is_now_.back() = true;
  return *this;
}

Params::View::View(const Params& p, std::optional<std::int64_t> now) : formats(p.formats_) {
  if (now) now_ = std::to_string(*now);
  for (std::size_t i = 0; i < p.values_.size(); ++i) {
    if (p.is_now_[i]) {
      if (!now) throw std::logic_error("postgres: a now() parameter without the time");
      values.push_back(now_.c_str());
      lengths.push_back(static_cast<int>(now_.size()));
    } else {
      values.push_back(p.values_[i] ? p.values_[i]->c_str() : nullptr);
      lengths.push_back(p.values_[i] ? static_cast<int>(p.values_[i]->size()) : 0);
    }
  }
}

Result<std::unique_ptr<Connection>> Connection::connect(const Settings& s) {
  using R = std::unique_ptr<Connection>;
  const auto& o = s.options;
  // The conninfo is expanded in place of "dbname"; entries after it take precedence.
  const char* keys[] = {"application_name", "dbname", "client_encoding", nullptr};
  const char* values[] = {"sessionkit", o.conninfo.c_str(), "UTF8", nullptr};
  ConnPtr conn(PQconnectStartParams(keys, values, /*expand_dbname=*/1));
  if (!conn) return Result<R>(errc::unavailable, "postgres: connect: out of memory");
  PGconn* c = conn.get();
  const auto deadline = Steady::now() + o.connect_timeout;
  PostgresPollingStatusType st =
      PQstatus(c) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      return Result<R>(errc::unavailable,
                       "postgres: connect: " + s.hide_secrets(one_line(PQerrorMessage(c))));
    }
    const int ready =
        wait_socket(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (ready == 0) {
      return Result<R>(errc::unavailable, "postgres: connect: no connection within " +
                                              std::to_string(o.connect_timeout.count()) + " ms");
    }
    if (ready < 0) {
      return Result<R>(errc::unavailable,
                       "postgres: connect: " + s.hide_secrets(one_line(PQerrorMessage(c))));
    }
    st = PQconnectPoll(c);
  }
  PQsetNoticeProcessor(c, ignore_notice, nullptr);
  if (PQsetnonblocking(c, 1) != 0) {
    return Result<R>(errc::unavailable,
                     "postgres: connect: " + s.hide_secrets(one_line(PQerrorMessage(c))));
  }
  if (PQserverVersion(c) < 110000) {
    return Result<R>(errc::unavailable, "postgres: connect: PostgreSQL 11 or later is required");
  }
  std::unique_ptr<Connection> out(new Connection(std::move(conn), s));
  const std::string setup =
      "SET statement_timeout = " + std::to_string(o.statement_timeout.count()) +
      "; SET bytea_output = 'hex'; SET client_min_messages = warning";
  if (auto r = out->exec_sql(setup, nullptr, "session setup"); !r) return r.status();
  return out;
}

bool Connection::usable() {
  PGconn* c = conn_.get();
  if (broken_ || PQstatus(c) != CONNECTION_OK) return false;
  // Idle connections receive nothing, except the server's last words before it closes them
  // (shutdown, terminate): read whatever is there and see whether the connection survived.
  for (int i = 0; i < 4; ++i) {
    pollfd p{PQsocket(c), POLLIN, 0};
    const int n = poll(&p, 1, 0);
    if (n == 0) return true;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (p.revents & POLLNVAL)) return false;
    if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) return false;
    if (PQisBusy(c)) return false;  // parses what arrived (notices go to the notice processor)
  }
  return false;  // still readable after all that: end of stream
}

Status Connection::lost(const std::string& what) {
  broken_ = true;
  return {errc::unavailable, "postgres: " + what + ": " + one_line(PQerrorMessage(conn_.get()))};
}

Result<ResultPtr> Connection::finish(const std::string& what) {
  PGconn* c = conn_.get();
  const auto deadline = Steady::now() + s_->options.statement_timeout + std::chrono::seconds(1);
  auto timed_out = [&] {
    broken_ = true;  // the answer may still come: this connection is out of step, drop it
    return Status(errc::timeout, "postgres: " + what +
                                     ": no answer from the server within statement_timeout + 1 s");
  };
  for (;;) {  // send what libpq has buffered
    const int f = PQflush(c);
    if (f == 0) break;
    if (f < 0) return lost(what);
    const int ready = wait_socket(PQsocket(c), POLLIN | POLLOUT, deadline);
    if (ready == 0) return timed_out();
    if (ready < 0) return lost(what);
    if ((ready & POLLIN) && !PQconsumeInput(c)) return lost(what);
  }
  ResultPtr error, last;
  for (;;) {
    while (PQisBusy(c)) {
      const int ready = wait_socket(PQsocket(c), POLLIN, deadline);
      if (ready == 0) return timed_out();
      if (ready < 0 || !PQconsumeInput(c)) return lost(what);
    }
    ResultPtr r(PQgetResult(c));
    if (!r) break;
    const ExecStatusType st = PQresultStatus(r.get());
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
      last = std::move(r);
    } else if (!error) {
      error = std::move(r);
    }
  }
  if (error) return failure(c, error.get(), what, broken_);
  if (PQstatus(c) != CONNECTION_OK || !last) return lost(what);
  return last;
}

Result<ResultPtr> Connection::exec(Q q, const Params& params, std::int64_t now) {
  const auto i = static_cast<std::size_t>(q);
  const std::string name = "sessionkit_" + std::to_string(i);
  if (!prepared_[i]) {
    if (!PQsendPrepare(conn_.get(), name.c_str(), s_->sql[i].c_str(), 0, nullptr)) {
      return lost(std::string("prepare ") + statement_name(q));
    }
    auto r = finish(std::string("prepare ") + statement_name(q));
    if (!r) return r.status();
    prepared_[i] = true;
  }
  const Params::View v(params, now);
  if (!PQsendQueryPrepared(conn_.get(), name.c_str(), static_cast<int>(params.size()),
                           v.values.data(), v.lengths.data(), v.formats.data(), 0)) {
    return lost(statement_name(q));
  }
  return finish(statement_name(q));
}

Result<ResultPtr> Connection::exec_sql(const std::string& sql, const Params* params,
                                       const std::string& what) {
  int sent = 0;
  if (params) {
    const Params::View v(*params, std::nullopt);
    sent = PQsendQueryParams(conn_.get(), sql.c_str(), static_cast<int>(params->size()), nullptr,
                             v.values.data(), v.lengths.data(), v.formats.data(), 0);
  } else {
    sent = PQsendQuery(conn_.get(), sql.c_str());
  }
  if (!sent) return lost(what);
  return finish(what);
}

std::string_view cell(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col))};
}

bool is_null(const PGresult* r, int row, int col) {
  return PQgetisnull(r, row, col) != 0;
}

Result<std::int64_t> cell_int(const PGresult* r, int row, int col) {
  const std::string_view text = cell(r, row, col);
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Result<std::int64_t>(errc::corrupt, "postgres: stored value is not an integer");
  }
  return v;
}

Result<SessionKey> cell_key(const PGresult* r, int row, int col) {
  const std::string_view text = cell(r, row, col);  // bytea_output = hex: "\x" + 64 digits
  std::optional<SessionKey> key;
  if (text.size() == 2 + 2 * SessionKey::kBytes && text.starts_with("\\x")) {
    key = SessionKey::from_hex(text.substr(2));
  }
  if (!key) return Result<SessionKey>(errc::corrupt, "postgres: stored key is not 32 bytes");
  return *key;
}

Result<SessionRecord> read_record(const PGresult* r, int row, int col) {
  SessionRecord rec;
  rec.user_id = cell(r, row, col);
  std::int64_t times[4];
  for (int i = 0; i < 4; ++i) {
    auto v = cell_int(r, row, col + 1 + i);
    if (!v) return v.status();
    times[i] = *v;
  }
  rec.created_at = from_millis(times[0]);
  rec.last_access = from_millis(times[1]);
  rec.expires_at = from_millis(times[2]);
  rec.absolute_expires_at = from_millis(times[3]);
  if (!is_null(r, row, col + 5)) {
    auto v = cell_int(r, row, col + 5);
    if (!v) return v.status();
    rec.auth_at = from_millis(*v);
  }
  rec.ip = cell(r, row, col + 6);
  rec.user_agent = cell(r, row, col + 7);
  auto data = stores::parse_payload(cell(r, row, col + 8));
  if (!data) return data.status();
  rec.data = std::move(*data);
  return rec;
}

std::int64_t affected(const PGresult* r) {
  const char* text = PQcmdTuples(const_cast<PGresult*>(r));
  std::int64_t n = 0;
  if (text) std::from_chars(text, text + std::char_traits<char>::length(text), n);
  return n;
}

Status create_schema(Connection& c, const Settings& s) {
  static const std::string kSchema = "create or check schema";
  if (auto r = c.exec_sql("BEGIN", nullptr, kSchema); !r) return r.status();
  Status st = [&]() -> Status {
    // One opener at a time per table name (other processes included): CREATE … IF NOT EXISTS
    // is not safe against a concurrent CREATE of the same name.
    Params lock;
    lock.text(s.options.table);
    if (auto r =
            c.exec_sql("SELECT pg_advisory_xact_lock(1936028526, hashtext($1))", &lock, kSchema);
        !r) {
      return r.status();
    }
    Params meta;
    meta.text("\"" + s.options.table + "_meta\"");
    auto exists = c.exec_sql("SELECT to_regclass($1) IS NOT NULL", &meta, kSchema);
    if (!exists) return exists.status();
    if (cell(exists->get(), 0, 0) != "t") {  // a new table: create version 1
      if (auto r = c.exec_sql(s.schema_v1, nullptr, kSchema); !r) return r.status();
      return c.exec_sql("COMMIT", nullptr, kSchema).status();
    }
    auto version = c.exec_sql(s.meta_select, nullptr, kSchema);
    if (!version) return version.status();
    if (PQntuples(version->get()) != 1) {
      return {errc::corrupt, "postgres: " + s.options.table + "_meta must hold exactly one row"};
    }
    auto v = cell_int(version->get(), 0, 0);
    if (!v) return v.status();
    if (*v > PostgresStore::kSchemaVersion) {
      return {errc::corrupt, "postgres: schema version " + std::to_string(*v) +
                                 " is newer than this build supports (" +
                                 std::to_string(PostgresStore::kSchemaVersion) + ")"};
    }
    if (*v < 1) return {errc::corrupt, "postgres: invalid schema version " + std::to_string(*v)};
    // Future versions migrate here, one step at a time, inside this transaction:
    //   if (*v == 1) { ALTER TABLE …; UPDATE "<table>_meta" SET schema_version = 2; *v = 2; }
    return c.exec_sql("COMMIT", nullptr, kSchema).status();
  }();
  if (!st && !c.broken()) {
    if (auto r = c.exec_sql("ROLLBACK", nullptr, kSchema); !r) return st;
  }
  return st;
}

}  // namespace sessionkit::postgres_detail
