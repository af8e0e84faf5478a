// postgres_server.h — test support: a real PostgreSQL server on a free 127.0.0.1 port, in a
// private temporary directory, run as the unprivileged account when the tests run as root.
//
// `PostgresServer::shared()` is the process-wide server: created (initdb -A trust -U postgres)
// and started on first use, stopped (fast shutdown, by pid) and removed at process exit. Tests
// that stop and restart a server construct their own `PostgresServer` instead.
//
// The binaries (initdb, postgres) are looked up in $SESSIONKIT_PG_BINDIR if set, else in
// /usr/lib/postgresql/<newest>/bin; `bin_dir()` is "" when they are absent, and tests skip then.
// The server trades durability for speed (fsync=off): it exists for tests only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "support/server_process.h"

namespace sessionkit::testing {

class PostgresServer {
 public:
  // The directory holding initdb and postgres, or "" when PostgreSQL is not installed.
  static std::string bin_dir();
  // Why the tests skip when bin_dir() is "".
  static std::string missing_message();

  // The process-wide server, started on first call. Throws std::runtime_error (with the
  // server's output) when it cannot be started.
  static PostgresServer& shared();

  // A table name no other caller in this process has had ("sk_t<n>").
  static std::string fresh_table();

  // A private server: initdb into a fresh directory, then start(). Throws std::runtime_error.
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  // libpq key=value connection string for user postgres, database `dbname`.
  std::string conninfo(const std::string& dbname = "postgres") const;
  // The same as a store URL: postgresql://postgres@127.0.0.1:PORT/dbname.
  std::string url(const std::string& dbname = "postgres") const;

  // Fast shutdown (SIGINT to the postmaster's pid: clients are disconnected); data kept.
  void stop();
  // Starts the server again on the same data directory and port; waits until it accepts
  // connections. Throws std::runtime_error when it does not come up.
  void start();
  bool running();
  // SIGSTOP / SIGCONT to the postmaster only: new connections get no answer, while the
  // backends of existing connections keep working.
  void pause() { server_.pause(); }
  void resume() { server_.resume(); }
  std::string output() const { return server_.output(); }

 private:
  std::string bin_;
  ServerDir dir_;
  std::uint16_t port_ = 0;
  ServerProcess server_;
};

}  // namespace sessionkit::testing
