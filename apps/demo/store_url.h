// store_url.h — opens a SessionStore from a URL given on the command line.
//
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
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sessionkit/result.h"
#include "sessionkit/store.h"

namespace demo {

sessionkit::Result<std::shared_ptr<sessionkit::SessionStore>> open_store(std::string_view url);

// The URL with any password replaced by "***", for logs and error messages.
std::string redact(std::string_view url);

}  // namespace demo
