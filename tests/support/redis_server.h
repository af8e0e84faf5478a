// redis_server.h — test support: a real redis-server (or a 3-master Redis Cluster) on free
// loopback ports in a private temporary directory, stopped by pid when the object goes away.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/server_process.h"

namespace sessionkit::testing {

// The redis-server binary, or "" when it is not installed.
std::string redis_server_binary();

struct RedisServerOptions {
  std::string password;             // requirepass ("" = none)
  bool appendfsync_always = false;  // AOF on, fsync every write (durability tests)
  bool tls = false;                 // TLS only (port() is the TLS port); makes its own CA
  std::vector<std::string> extra;   // more "--name value" arguments
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // One server shared by a whole test process, started on first use.
  static RedisServer& shared();

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const;  // redis://127.0.0.1:PORT (rediss://… with TLS, and the CA)
  const std::string& ca_file() const noexcept { return ca_file_; }
  pid_t pid() const noexcept { return process_.pid(); }

  // Runs redis-cli against this server and answers its output (trimmed). Throws on failure.
  std::string cli(const std::vector<std::string>& args);

  // The commands clients sent while `during` ran (from MONITOR; commands run inside scripts are
  // not listed), each as its first word in upper case, e.g. "EVALSHA".
  std::vector<std::string> client_commands(const std::function<void()>& during);

  void stop();    // SIGTERM, wait; data kept in the directory (AOF when enabled)
  void start();   // starts again on the same port with the same directory
  void pause();   // SIGSTOP: the server accepts nothing and answers nothing
  void resume();  // SIGCONT

 private:
  RedisServerOptions options_;
  std::unique_ptr<ServerDir> dir_;
  std::uint16_t port_ = 0;
  std::string ca_file_;
  ServerProcess process_;
};

// A Redis Cluster of `masters` masters, each with `replicas` replicas, on free ports.
class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3, int replicas = 0);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  static RedisCluster& shared();

  std::string url() const;  // redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...
  const std::vector<std::uint16_t>& ports() const noexcept { return ports_; }
  std::string cli(std::uint16_t port, const std::vector<std::string>& args);
  // Runs FLUSHALL on every master.
  void flush();
  // Stops the node on `port` (SIGKILL-free: SIGTERM) and answers its index.
  void stop_node(std::uint16_t port);

 private:
  // Starts the nodes and joins them; throws (nodes left to the caller to stop) on failure.
  void start_nodes(int masters, int replicas, std::set<std::uint16_t>& used);
  std::unique_ptr<ServerDir> dir_;
  std::vector<std::uint16_t> ports_;
  std::vector<ServerProcess> nodes_;
};

}  // namespace sessionkit::testing
