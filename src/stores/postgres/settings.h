// Internal to the PostgreSQL store: its settings. The validated options, and every statement's
// SQL with the table name filled in (the SQL text itself is in settings.cpp: one prepared
// statement per operation, the store's clock passed as a parameter, never the server's now()),
// the names statements go by in error messages, and the conninfo's secrets, hidden from those
// messages. Immutable once built and shared freely. Not installed.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "sessionkit/stores/postgres.h"

namespace sessionkit::postgres_detail {

// The statements every connection prepares (once, on first use); SQL text in settings.cpp.
enum class Q : std::size_t {
  load,
  load_touch,
  create,
  patch,
  patch_if,
  increment,
  increment_probe,
  replace,
  touch,
  destroy,
  list_user,
  destroy_user,
  count,
  scan,
  purge,
  health,
  kCount,
};

// Validated options plus every statement's SQL for this table.
struct Settings {
  PostgresStoreOptions options;
  std::array<std::string, static_cast<std::size_t>(Q::kCount)> sql;
  std::string schema_v1;    // DDL of schema version 1 (tables, indexes, version row)
  std::string meta_select;  // reads the schema version
  // The conninfo's password and sslpassword values, hidden from connection error messages.
  std::vector<std::string> secrets;
  // `message` with every secret replaced by "***".
  std::string hide_secrets(std::string message) const;
};

// Checks the options and builds the SQL; `invalid_argument` for bad options.
Result<Settings> make_settings(PostgresStoreOptions options);

// The name of statement `q` in error messages ("load", "list user", ...).
const char* statement_name(Q q);

// libpq messages end with a newline (sometimes several lines): `text` on one line.
std::string one_line(const char* text);

}  // namespace sessionkit::postgres_detail
