#include "support/postgres_server.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace sessionkit::testing {
namespace {

namespace fs = std::filesystem;

bool has_binaries(const fs::path& dir) {
  return access((dir / "initdb").c_str(), X_OK) == 0 &&
         access((dir / "postgres").c_str(), X_OK) == 0;
}

// Waits until the server answers connections (the port opens before recovery ends).
bool wait_ready(ServerProcess& server, const std::string& conninfo,
                std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return true;
    if (!server.running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

std::string PostgresServer::bin_dir() {
  if (const char* env = std::getenv("SESSIONKIT_PG_BINDIR")) {
    return has_binaries(env) ? std::string(env) : std::string();
  }
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    if (has_binaries(entry.path() / "bin")) found.push_back(entry.path() / "bin");
  }
  if (found.empty()) return {};
  // Newest major version first ("15" > "9.6": compare numerically).
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) {
    return std::atof(a.parent_path().filename().c_str()) >
           std::atof(b.parent_path().filename().c_str());
  });
  return found.front().string();
}

std::string PostgresServer::missing_message() {
  return "PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin "
         "or $SESSIONKIT_PG_BINDIR: install the Debian package 'postgresql' "
         "(scripts/install-deps.sh --test)";
}

PostgresServer& PostgresServer::shared() {
  static std::mutex mutex;
  static std::unique_ptr<PostgresServer> server;  // destroyed (server stopped) at exit
  std::lock_guard lock(mutex);
  if (!server) server = std::make_unique<PostgresServer>();
  return *server;
}

std::string PostgresServer::fresh_table() {
  static std::atomic<int> counter{0};
  return "sk_t" + std::to_string(++counter);
}

PostgresServer::PostgresServer() : bin_(bin_dir()), dir_("pg") {
  if (bin_.empty()) throw std::runtime_error(missing_message());
  const fs::path data = dir_.path() / "data";
  auto init = run_program({bin_ + "/initdb", "-D", data.string(), "-A", "trust", "-U", "postgres",
                           "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                          dir_.path(), /*unprivileged=*/true, std::chrono::seconds(120));
  if (init.code != 0) throw std::runtime_error("initdb failed:\n" + init.output);
  // A port that was free a moment ago may be taken by the time the server binds it.
  for (int attempt = 0;; ++attempt) {
    port_ = free_port();
    try {
      start();
      return;
    } catch (const std::runtime_error&) {
      if (attempt == 2) throw;
    }
  }
}

PostgresServer::~PostgresServer() {
  stop();
}

std::string PostgresServer::conninfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
}

std::string PostgresServer::url(const std::string& dbname) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
}

void PostgresServer::start() {
  if (server_.running()) return;
  const fs::path data = dir_.path() / "data";
  server_ = ServerProcess(
      {bin_ + "/postgres", "-D", data.string(), "-k", dir_.path().string(), "-h", "127.0.0.1", "-p",
       std::to_string(port_), "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
       "full_page_writes=off", "-c", "shared_buffers=16MB", "-c", "max_connections=60"},
      dir_.path(), "postgres");
  wait_until_listening(server_, port_, std::chrono::seconds(30));
  if (!wait_ready(server_, conninfo() + " connect_timeout=2", std::chrono::seconds(30))) {
    std::string out = server_.output();
    stop();
    throw std::runtime_error("postgres did not accept connections:\n" + out);
  }
}

void PostgresServer::stop() {
  server_.stop(std::chrono::seconds(20), SIGINT);
}

bool PostgresServer::running() {
  return server_.running();
}

}  // namespace sessionkit::testing
