#include "stores/postgres/postgres_connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>
#include <stdexcept>
#include <utility>

#include "sessionkit/store_rules.h"

namespace sessionkit::postgres_detail {
namespace {

using Steady = std::chrono::steady_clock;

// Version 1 of the schema. Times are bigint ms since the Unix epoch; "{t}" is the table name.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS "{t}" (
  key bytea PRIMARY KEY CHECK (octet_length(key) = 32),  -- SHA-256 of the session ID
  user_id text,                                          -- NULL: not bound to a user
  created_at bigint NOT NULL,
  last_access bigint NOT NULL,
  expires_at bigint NOT NULL,                            -- effective (idle) deadline
  absolute_expires_at bigint NOT NULL,
  auth_at bigint,
  ip text NOT NULL,
  user_agent text NOT NULL,
  data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object')
);
CREATE INDEX IF NOT EXISTS "{t}_deadline" ON "{t}" ((least(expires_at, absolute_expires_at)));
CREATE INDEX IF NOT EXISTS "{t}_user" ON "{t}" (user_id) WHERE user_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS "{t}_meta" (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  schema_version integer NOT NULL
);
INSERT INTO "{t}_meta" (schema_version) VALUES (1);
)sql";

// clang-format off
// Record columns, in the order read_record() expects them.
#define SK_COLS \
  "user_id, created_at, last_access, expires_at, absolute_expires_at, auth_at, ip, user_agent, data"
// $1 = key, $2 = now (the store's clock, never the server's).
#define SK_LIVE "key = $1 AND expires_at > $2 AND absolute_expires_at > $2"
// A touch: parameter `a` = new last_access, `b` = requested deadline (both NULL: no touch); the
// deadline is capped at the absolute one.
#define SK_TOUCH(a, b)                                          \
  "last_access = coalesce(" a "::bigint, last_access), "        \
  "expires_at = CASE WHEN " b "::bigint IS NULL THEN expires_at " \
  "ELSE least(" b "::bigint, absolute_expires_at) END"
// The increment's field ($3) is missing, or a JSON integer (no fraction, no exponent) to which
// $4 can be added within int64. CASE fixes the evaluation order: no cast of a non-number.
#define SK_INCREMENTABLE                                                                     \
  "CASE WHEN data -> $3::text IS NULL THEN true "                                            \
  "WHEN jsonb_typeof(data -> $3::text) = 'number' AND (data ->> $3::text) ~ '^-?[0-9]+$' "   \
  "THEN (data ->> $3::text)::numeric + $4::bigint "                                          \
  "BETWEEN -9223372036854775808 AND 9223372036854775807 "                                    \
  "ELSE false END"

constexpr std::array<const char*, static_cast<std::size_t>(Q::kCount)> kSql = {
    // load
    "SELECT " SK_COLS " FROM \"{t}\" WHERE " SK_LIVE,
    // load_touch: refreshes a record last accessed in [$5, $6) and answers it as it now is, in
    // one statement (a record outside the window is answered unchanged; the second SELECT sees
    // the statement's snapshot, and is empty when the UPDATE matched)
    "WITH touched AS (UPDATE \"{t}\" SET last_access = $3, "
    "expires_at = least($4::bigint, absolute_expires_at) "
    "WHERE " SK_LIVE " AND last_access >= $5::bigint AND last_access < $6::bigint "
    "RETURNING " SK_COLS ") "
    "SELECT " SK_COLS " FROM touched UNION ALL "
    "SELECT " SK_COLS " FROM \"{t}\" WHERE " SK_LIVE " AND NOT EXISTS (SELECT 1 FROM touched)",
    // create: takes the key over only when the row there has expired
    "INSERT INTO \"{t}\" AS s (key, " SK_COLS ") "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) "
    "ON CONFLICT (key) DO UPDATE SET "
    "user_id = excluded.user_id, created_at = excluded.created_at, "
    "last_access = excluded.last_access, expires_at = excluded.expires_at, "
    "absolute_expires_at = excluded.absolute_expires_at, auth_at = excluded.auth_at, "
    "ip = excluded.ip, user_agent = excluded.user_agent, data = excluded.data "
    "WHERE s.expires_at <= $11 OR s.absolute_expires_at <= $11",
    // patch: one UPDATE; the payload is merged in the server (set, then erase)
    "UPDATE \"{t}\" SET data = (data || $3::jsonb) - $4::text[], "
    "user_id = CASE WHEN $5::text IS NULL THEN user_id ELSE nullif($5::text, '') END, "
    "auth_at = coalesce($6::bigint, auth_at), " SK_TOUCH("$7", "$8") " "
    "WHERE " SK_LIVE,
    // increment: one UPDATE; a row whose field cannot be incremented does not match
    "UPDATE \"{t}\" SET data = jsonb_set(data, ARRAY[$3::text], "
    "to_jsonb(coalesce((data ->> $3::text)::numeric, 0) + $4::bigint)), " SK_TOUCH("$5", "$6") " "
    "WHERE " SK_LIVE " AND " SK_INCREMENTABLE " "
    "RETURNING (data ->> $3::text)::bigint",
    // increment_probe: why an increment matched nothing
    "SELECT data -> $3::text FROM \"{t}\" WHERE " SK_LIVE,
    // replace
    "UPDATE \"{t}\" SET user_id = $3, created_at = $4, last_access = $5, expires_at = $6, "
    "absolute_expires_at = $7, auth_at = $8, ip = $9, user_agent = $10, data = $11::jsonb "
    "WHERE " SK_LIVE,
    // touch
    "UPDATE \"{t}\" SET last_access = $3, expires_at = least($4::bigint, absolute_expires_at) "
    "WHERE " SK_LIVE,
    // destroy: answers whether the row was unexpired
    "DELETE FROM \"{t}\" WHERE key = $1 "
    "RETURNING expires_at > $2::bigint AND absolute_expires_at > $2::bigint",
    // list_user
    "SELECT key, " SK_COLS " FROM \"{t}\" "
    "WHERE user_id = $1 AND expires_at > $2 AND absolute_expires_at > $2 "
    "ORDER BY created_at, key",
    // destroy_user: answers how many of the deleted rows were unexpired
    "WITH gone AS (DELETE FROM \"{t}\" WHERE user_id = $1 AND ($2::bytea IS NULL OR key <> $2) "
    "RETURNING expires_at > $3::bigint AND absolute_expires_at > $3::bigint AS live) "
    "SELECT count(*) FILTER (WHERE live) FROM gone",
    // count
    "SELECT count(*) FROM \"{t}\"",
    // scan
    "SELECT key, " SK_COLS " FROM \"{t}\" "
    "WHERE key > $1 AND expires_at > $2 AND absolute_expires_at > $2 ORDER BY key LIMIT $3",
    // purge: through the deadline index; rows locked by someone else are left for later
    "DELETE FROM \"{t}\" WHERE key IN (SELECT key FROM \"{t}\" "
    "WHERE least(expires_at, absolute_expires_at) <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
    // health
    "SELECT 1 FROM \"{t}\" LIMIT 1",
};
constexpr std::array<const char*, static_cast<std::size_t>(Q::kCount)> kWhat = {
    "load", "load", "create", "patch", "increment", "increment", "replace", "touch", "destroy",
    "list user", "destroy user", "count", "scan", "purge expired", "health check",
};
// clang-format on
#undef SK_COLS
#undef SK_LIVE
#undef SK_TOUCH
#undef SK_INCREMENTABLE

std::string with_table(std::string sql, const std::string& table) {
  for (std::size_t at = sql.find("{t}"); at != std::string::npos; at = sql.find("{t}", at)) {
    sql.replace(at, 3, table);
    at += table.size();
  }
  return sql;
}

bool valid_table_name(const std::string& t) {
  if (t.empty() || t.size() > 48) return false;
  if (!(t[0] == '_' || (t[0] >= 'a' && t[0] <= 'z'))) return false;
  for (char ch : t) {
    if (!(ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) return false;
  }
  return true;
}

// libpq messages end with a newline (sometimes several lines); keep them on one line.
std::string one_line(const char* text) {
  std::string s = text ? text : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  std::string out;
  for (char ch : s) {
    if (ch == '\n' || ch == '\t') ch = ' ';
    if (ch != ' ' || (!out.empty() && out.back() != ' ')) out += ch;
  }
  s = std::move(out);
  return s.empty() ? "unknown error" : s;
}

// libpq's conninfo parse errors quote pieces of the input (the whole URI, a percent-encoded
// token, a query word), which can be pieces of a password: every quoted text that is not a
// connection keyword is shown as "***".
std::string hide_quoted_input(const std::string& message) {
  std::set<std::string, std::less<>> keywords;
  if (PQconninfoOption* defaults = PQconndefaults()) {
    for (PQconninfoOption* o = defaults; o->keyword != nullptr; ++o)
      keywords.insert(o->keyword);
    PQconninfoFree(defaults);
  }
  std::string out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t open = message.find('"', from);
    const std::size_t close =
        open == std::string::npos ? std::string::npos : message.find('"', open + 1);
    if (close == std::string::npos) break;
    const std::string_view quoted(message.data() + open + 1, close - open - 1);
    out.append(message, from, open + 1 - from);
    out.append(keywords.contains(quoted) ? std::string(quoted) : std::string("***"));
    out.push_back('"');
    from = close + 1;
  }
  out.append(message, from);
  return out;
}

// libpq's URI parser ends the credentials at the first '@' or '/' and the host list at '/' or
// '?', so a password with an unencoded '/' or '@' becomes part of the host, port, database or
// query, and later messages ("could not translate host name", "invalid integer value ... for
// connection option \"port\"") would echo a piece of it. Such URIs are refused, without echoing
// anything. The one '@' expected ends the credentials; a query value may hold an '@' when the
// ports are numbers (a password piece in the port is the telltale).
Status check_uri_credentials(std::string_view conninfo) {
  std::size_t body = 0;
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (conninfo.starts_with(scheme)) body = scheme.size();
  }
  if (body == 0) return {};
  const Status refused{
      errc::invalid_argument,
      "postgres: the URI has an '@' after the host (a user name or password with an unencoded "
      "'/' or '@'?): percent-encode them (%2F, %40)"};
  const std::string_view rest = conninfo.substr(body);
  const std::string_view authority = rest.substr(0, rest.find('/'));
  const std::size_t first_at = authority.find('@');
  const std::size_t after_credentials = first_at == std::string_view::npos ? 0 : first_at + 1;
  const std::size_t query = rest.find('?', after_credentials);
  const std::string_view host_and_path = rest.substr(
      after_credentials, query == std::string_view::npos ? query : query - after_credentials);
  if (host_and_path.find('@') != std::string_view::npos) return refused;
  if (first_at != std::string_view::npos || rest.find('@') == std::string_view::npos) return {};
  // No credentials but an '@' in the query: every port must be a number.
  std::string_view hosts = authority.substr(0, authority.find('?'));
  while (!hosts.empty()) {
    std::string_view host = hosts.substr(0, hosts.find(','));
    hosts = host.size() < hosts.size() ? hosts.substr(host.size() + 1) : std::string_view();
    if (host.starts_with('[')) host = host.substr(std::min(host.size(), host.find(']')));
    const std::size_t colon = host.rfind(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view port = host.substr(colon + 1);
    if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return refused;
    }
  }
  return {};
}

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

Result<Settings> make_settings(PostgresStoreOptions o) {
  auto bad = [](const std::string& m) { return Result<Settings>(errc::invalid_argument, m); };
  if (!valid_table_name(o.table)) {
    return bad("postgres: table must match [a-z_][a-z0-9_]* and have at most 48 characters");
  }
  if (o.pool_size == 0 || o.pool_size > 1024) return bad("postgres: pool_size must be 1..1024");
  if (o.queue_limit == 0) return bad("postgres: queue_limit is 0");
  if (o.connect_timeout.count() <= 0 || o.statement_timeout.count() <= 0 ||
      o.queue_timeout.count() <= 0 || o.reconnect_interval.count() < 0) {
    return bad("postgres: timeouts must be positive");
  }
  if (o.statement_timeout.count() > std::int64_t{INT32_MAX}) {
    return bad("postgres: statement_timeout too large");
  }
  Settings s;
  if (!o.conninfo.empty()) {
    if (auto checked = check_uri_credentials(o.conninfo); !checked) return checked;
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(o.conninfo.c_str(), &error);
    if (!parsed) {
      std::string m = "postgres: malformed conninfo: " + hide_quoted_input(one_line(error));
      PQfreemem(error);
      return bad(m);
    }
    for (PQconninfoOption* p = parsed; p->keyword != nullptr; ++p) {
      const std::string_view k = p->keyword;
      if ((k == "password" || k == "sslpassword") && p->val != nullptr && *p->val != '\0') {
        s.secrets.emplace_back(p->val);
      }
    }
    PQconninfoFree(parsed);
  }
  for (std::size_t i = 0; i < kSql.size(); ++i)
    s.sql[i] = with_table(kSql[i], o.table);
  s.schema_v1 = with_table(kSchemaV1, o.table);
  s.meta_select = with_table("SELECT schema_version FROM \"{t}_meta\"", o.table);
  s.options = std::move(o);
  return s;
}

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

std::string Settings::hide_secrets(std::string message) const {
  for (const std::string& secret : secrets) {
    for (std::size_t at = message.find(secret); at != std::string::npos;
         at = message.find(secret, at + 3)) {
      message.replace(at, secret.size(), "***");
    }
  }
  return message;
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
      return lost(std::string("prepare ") + kWhat[i]);
    }
    auto r = finish(std::string("prepare ") + kWhat[i]);
    if (!r) return r.status();
    prepared_[i] = true;
  }
  const Params::View v(params, now);
  if (!PQsendQueryPrepared(conn_.get(), name.c_str(), static_cast<int>(params.size()),
                           v.values.data(), v.lengths.data(), v.formats.data(), 0)) {
    return lost(kWhat[i]);
  }
  return finish(kWhat[i]);
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
