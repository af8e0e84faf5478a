// The PostgreSQL store's settings (see settings.h): the schema and every statement's SQL, the
// option checks, and the conninfo checks that keep a password out of error messages.
#include "stores/postgres/settings.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <utility>

namespace sessionkit::postgres_detail {
namespace {

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
// A patch's changes: $3 = the `set` keys (a JSON object, merged in the server), $4 = the
// `erase` names (text[], removed after), $5 = user (NULL: unchanged; '': unbind), $6 = auth
// time (NULL: unchanged), $7 / $8 = a touch.
#define SK_PATCH                                                                        \
  "data = (data || $3::jsonb) - $4::text[], "                                           \
  "user_id = CASE WHEN $5::text IS NULL THEN user_id ELSE nullif($5::text, '') END, " \
  "auth_at = coalesce($6::bigint, auth_at), " SK_TOUCH("$7", "$8")
// patch_if's condition: the payload's top-level key $9 holds exactly the JSON value $10 (jsonb
// equality). An absent key (data -> $9 is SQL NULL) reads as JSON null, so it equals only a
// $10 of 'null', as a present JSON null does; $9 NULL reads as an absent key, $10 NULL never
// holds (IS TRUE: a NULL comparison is false).
#define SK_CONDITION "(coalesce(data -> $9::text, 'null'::jsonb) = $10::jsonb) IS TRUE"
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
    "UPDATE \"{t}\" SET " SK_PATCH " WHERE " SK_LIVE,
    // patch_if: the patch, applied only while the payload's top-level key $9 holds the JSON
    // value $10, in one statement. `live` locks the live row (FOR UPDATE: a concurrent writer is
    // waited for and the row judged as that writer left it) and judges the condition; the
    // UPDATE writes only when it held, the lock keeping it true until then. Answers (live,
    // applied): (f, f) missing or expired, (t, f) the condition did not hold, (t, t) applied.
    "WITH live AS (SELECT " SK_CONDITION " AS holds FROM \"{t}\" WHERE " SK_LIVE " FOR UPDATE), "
    "applied AS (UPDATE \"{t}\" SET " SK_PATCH " "
    "WHERE key = $1 AND (SELECT holds FROM live) RETURNING 1) "
    "SELECT EXISTS (SELECT 1 FROM live), EXISTS (SELECT 1 FROM applied)",
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
// clang-format on
#undef SK_COLS
#undef SK_LIVE
#undef SK_TOUCH
#undef SK_PATCH
#undef SK_CONDITION
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
  Status refused{
      // not const: returned by (automatic) move
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

// clang-format off
constexpr std::array<const char*, static_cast<std::size_t>(Q::kCount)> kWhat = {
    "load", "load", "create", "patch", "patch if", "increment", "increment", "replace", "touch",
    "destroy", "list user", "destroy user", "count", "scan", "purge expired", "health check",
};
// clang-format on

}  // namespace

const char* statement_name(Q q) {
  return kWhat[static_cast<std::size_t>(q)];
}

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

std::string Settings::hide_secrets(std::string message) const {
  for (const std::string& secret : secrets) {
    for (std::size_t at = message.find(secret); at != std::string::npos;
         at = message.find(secret, at + 3)) {
      message.replace(at, secret.size(), "***");
    }
  }
  return message;
}

}  // namespace sessionkit::postgres_detail
