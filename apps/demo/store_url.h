// store_url.h — opens a SessionStore, or chooses client-side sessions, from a URL given on the
// command line.
//
//   cookie://[?max_bytes=N]   no store: client-side sessions (sessionkit/client_side.h), sealed
//                        cookies of at most N bytes (100 to 4000; default 3800)
//   memory://            the in-process memory store (sessions die with the process)
//   sqlite://PATH        the SQLite store in file PATH (relative to the working directory, or
//                        absolute as in sqlite:///var/lib/demo/s.db); the parent directory is
//                        created when missing
//   redis://[user:password@]host:port[/db]   one Redis server (rediss:// for TLS)
//   redis+cluster://host:port[,host:port…]  a Redis Cluster (rediss+cluster:// for TLS)
//                        see sessionkit::RedisStoreOptions::from_url for the query options
//   postgresql://user:password@host:port/db[?sslmode=…]   PostgreSQL (libpq's URI, unchanged;
//                        postgres:// too); the table sessionkit_sessions is created on first use
//
// Errors (never throws): errc::invalid_argument for an unknown scheme or a malformed URL,
// errc::unavailable when the store cannot be opened (directory or file not accessible, ...).
// Error messages never contain the URL's secrets (they pass through `scrub`).
//
// Files: directories created for sqlite://PATH are owner-only (0700); the database file is
// created 0600 by the store. Existing directories and files keep their modes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/client_side.h"
#include "sessionkit/result.h"
#include "sessionkit/store.h"

namespace demo {

// Where the sessions live: a store, or (cookie://) the client, never both. The two fields go to
// SessionManager as its store and `Dependencies::client_side`.
struct SessionBackend {
  std::shared_ptr<sessionkit::SessionStore> store;           // null for cookie://
  std::optional<sessionkit::ClientSideOptions> client_side;  // set for cookie:// only
};

sessionkit::Result<SessionBackend> open_store(std::string_view url);

// The URL with every secret replaced by "***", for logs and error messages: the password of
// the userinfo (up to the last '@', so a password with an unencoded '/', '?', '#', '@' or ':'
// is hidden whole), and the value of every query parameter whose (percent-decoded) name
// contains "pass", "secret" or "token" (password=, sslpassword=). Text without "://" is read
// as a libpq keyword/value string (`host=x password='y z'`) and its secret values are hidden
// the same way. Errs on the side of hiding too much.
std::string redact(std::string_view url);

// `message` with every secret of `url` (as `redact` finds them: raw, percent-decoded, and
// their pieces between '/', '?', '#', '@', ':', '&', '=' and spaces, of 4 characters or more)
// replaced by "***". For messages of libraries that may echo parts of the URL.
std::string scrub(std::string_view message, std::string_view url);

}  // namespace demo
