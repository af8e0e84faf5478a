// sessionkit/stores/url.h — opens any store of this build, or chooses client-side sessions, from a
// URL: the one string an app's `--store` flag or SESSION_STORE variable needs (CMake target
// `sessionkit::store_url`, which links every store target the build has).
//
//   memory://                 MemoryStore::open({}) (sessions die with the process)
//   sqlite://PATH             SqliteStore in file PATH (relative to the working directory, or
//                             absolute as in sqlite:///var/lib/app/s.db); the parent directory
//                             is created when missing. ?synchronous=normal: SqliteStoreOptions::
//                             synchronous_full = false (faster writes; the last commits may be
//                             lost on power loss); ?synchronous=full is the default
//   redis://[user:password@]host:port[/db]   one Redis server (rediss:// for TLS)
//   redis+cluster://host:port[,host:port…]  a Redis Cluster (rediss+cluster:// for TLS)
//                             query options: sessionkit::RedisStoreOptions::from_url
//   postgresql://user:password@host:port/db[?sslmode=…]   PostgreSQL (libpq's URI, unchanged;
//                             postgres:// too); the table sessionkit_sessions is created on
//                             first use
//   cookie://[?max_bytes=N]   no store: client-side sessions (sessionkit/client_side.h), sealed
//                             cookies of at most N bytes (100 to 4000; default 3800)
//
// Errors (never throws): `invalid_argument` for a URL without a scheme, an unknown scheme or a
// malformed URL; `unsupported` for a scheme whose store this build left out (the message names
// the CMake option, e.g. SESSIONKIT_WITH_REDIS=OFF); `unavailable` when the store cannot be
// opened (directory or file not accessible, server down). Messages never hold the URL's
// secrets: they pass through `scrub_store_url`.
//
// Secrets: `redact_store_url` hides the password of the userinfo (everything between the first
// ':' after "://" and the LAST '@', so a password with an unencoded '/', '?', '#', '@' or ':' is
// hidden whole) and the value of every query parameter whose percent-decoded name contains
// "pass", "pwd", "secret" or "token" (password=, sslpassword=). Text without "://" is read as a
// libpq keyword/value string (`host=x password='y z'`) with the same rule. It errs on the side
// of hiding too much. Log the redacted URL, never the URL.
//
// Files: directories created for sqlite://PATH are owner-only (0700); the database file is
// created 0600 by the store. Existing directories and files keep their modes; an existing
// database file that group or others may access is opened with a warning on `library_logger()`
// (sessionkit/events.h).
//
// Thread safety: every function may be called from any thread; they share no state.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/client_side.h"
#include "sessionkit/result.h"
#include "sessionkit/store.h"

namespace sessionkit {

// Where the sessions live: a store, or (cookie://) the client, never both. The two fields go to
// SessionManager as its store and `Dependencies::client_side`.
struct StoreBackend {
  std::shared_ptr<SessionStore> store;           // null for cookie://
  std::optional<ClientSideOptions> client_side;  // set for cookie:// only
};

// Opens the store `url` names (see the list above); the caller owns what it answers.
Result<StoreBackend> open_store_url(std::string_view url);

// `url` with every secret replaced by "***" (see "Secrets"), for logs and error messages.
std::string redact_store_url(std::string_view url);

// `message` with every secret of `url` replaced by "***": each secret as written, unquoted and
// unescaped, percent-decoded, and its pieces of 4 characters or more between '/', '?', '#',
// '@', ':', '&', '=', '%', quotes and spaces. For messages of libraries that may echo parts of
// the URL.
std::string scrub_store_url(std::string_view message, std::string_view url);

}  // namespace sessionkit
