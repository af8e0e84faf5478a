#include "support/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace sessionkit::testing {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string cli_binary() {
  std::string b = find_program({"/usr/bin/redis-cli", "/usr/local/bin/redis-cli"});
  if (b.empty()) throw std::runtime_error("redis-cli is not installed");
  return b;
}

// A throwaway CA and a server certificate for 127.0.0.1/localhost, made with the openssl tool.
void make_certificates(const std::filesystem::path& dir) {
  const std::string openssl = find_program({"/usr/bin/openssl"});
  if (openssl.empty()) throw std::runtime_error("the openssl tool is not installed");
  const std::string d = dir.string();
  auto run = [&](const std::vector<std::string>& args) {
    auto r = run_program(args, dir, /*unprivileged=*/false);
    if (r.code != 0) throw std::runtime_error("openssl failed: " + r.output);
  };
  {
    std::ofstream ext(dir / "san.ext");
    ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  }
  run({openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
       "-nodes", "-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj",
       "/CN=sessionkit test CA"});
  run({openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
       "-keyout", d + "/server.key", "-out", d + "/server.csr", "-subj", "/CN=localhost"});
  run({openssl, "x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.crt", "-CAkey",
       d + "/ca.key", "-CAcreateserial", "-out", d + "/server.crt", "-days", "2", "-extfile",
       d + "/san.ext"});
  for (const char* f : {"ca.crt", "server.crt", "server.key"})
    give_to_server_user(dir / f);
}

}  // namespace

std::string redis_server_binary() {
  return find_program({"/usr/bin/redis-server", "/usr/local/bin/redis-server"});
}

RedisServer::RedisServer(RedisServerOptions options)
    : options_(std::move(options)), dir_(std::make_unique<ServerDir>("redis")), port_(free_port()) {
  if (redis_server_binary().empty()) throw std::runtime_error("redis-server is not installed");
  if (options_.tls) {
    make_certificates(dir_->path());
    ca_file_ = (dir_->path() / "ca.crt").string();
  }
  start();
}

RedisServer::~RedisServer() {
  stop();
}

RedisServer& RedisServer::shared() {
  static RedisServer server;
  return server;
}

std::string RedisServer::url() const {
  if (options_.tls) return "rediss://127.0.0.1:" + std::to_string(port_) + "?ca=" + ca_file_;
  return "redis://127.0.0.1:" + std::to_string(port_);
}

void RedisServer::start() {
  const std::string d = dir_->path().string();
  std::vector<std::string> argv{redis_server_binary(),
                                "--bind",
                                "127.0.0.1",
                                "--dir",
                                d,
                                "--save",
                                "",
                                "--daemonize",
                                "no",
                                "--protected-mode",
                                "yes",
                                "--logfile",
                                "",
                                "--databases",
                                "4"};
  if (options_.tls) {
    argv.insert(argv.end(), {"--port", "0", "--tls-port", std::to_string(port_), "--tls-cert-file",
                             d + "/server.crt", "--tls-key-file", d + "/server.key",
                             "--tls-ca-cert-file", d + "/ca.crt", "--tls-auth-clients", "no"});
  } else {
    argv.insert(argv.end(), {"--port", std::to_string(port_)});
  }
  if (!options_.password.empty()) argv.insert(argv.end(), {"--requirepass", options_.password});
  if (options_.appendfsync_always) {
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    argv.insert(argv.end(), {"--appendonly", "no"});
  }
  argv.insert(argv.end(), options_.extra.begin(), options_.extra.end());
  process_ = ServerProcess(argv, dir_->path(), "redis");
  wait_until_listening(process_, port_);
}

void RedisServer::stop() {
  process_.stop();
}

void RedisServer::pause() {
  process_.pause();
}

void RedisServer::resume() {
  process_.resume();
}

std::string RedisServer::cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{cli_binary(), "-h", "127.0.0.1", "-p", std::to_string(port_)};
  if (options_.tls) argv.insert(argv.end(), {"--tls", "--cacert", ca_file_});
  if (!options_.password.empty())
    argv.insert(argv.end(), {"--no-auth-warning", "-a", options_.password});
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_program(argv, dir_->path(), false, std::chrono::seconds(30));
  if (r.code != 0) throw std::runtime_error("redis-cli failed: " + r.output);
  return trim(r.output);
}

std::vector<std::string> RedisServer::client_commands(const std::function<void()>& during) {
  if (options_.tls) throw std::runtime_error("client_commands: plain TCP servers only");
  // A raw MONITOR connection: replies are lines "+<time> [<db> <client>] \"CMD\" ...".
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("client_commands: cannot connect");
  }
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string hello;
  if (!options_.password.empty()) hello += "AUTH " + options_.password + "\r\n";
  hello += "MONITOR\r\n";
  if (write(fd, hello.data(), hello.size()) != static_cast<ssize_t>(hello.size())) {
    close(fd);
    throw std::runtime_error("client_commands: write failed");
  }
  std::string buffer;
  auto read_until = [&](const std::string& needle) {
    char chunk[4096];
    while (buffer.find(needle) == std::string::npos) {
      ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) {
        close(fd);
        throw std::runtime_error("client_commands: MONITOR stream ended before '" + needle + "'");
      }
      buffer.append(chunk, static_cast<std::size_t>(n));
    }
  };
  read_until("+OK\r\n");
  buffer.erase(0, buffer.find("+OK\r\n") + 5);
  during();
  const std::string marker = "sessionkit-monitor-marker";
  cli({"ECHO", marker});  // everything sent before it has been logged once it shows up
  read_until(marker);
  close(fd);
  std::vector<std::string> out;
  std::istringstream lines(buffer);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find(marker) != std::string::npos) break;
    auto open = line.find('[');
    auto close_at = line.find(']', open);
    if (open == std::string::npos || close_at == std::string::npos) continue;
    if (line.find("lua", open) < close_at) continue;  // run by a script, not sent by a client
    auto q1 = line.find('"', close_at);
    auto q2 = line.find('"', q1 + 1);
    if (q1 == std::string::npos || q2 == std::string::npos) continue;
    std::string cmd = line.substr(q1 + 1, q2 - q1 - 1);
    for (auto& c : cmd)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out.push_back(cmd);
  }
  return out;
}

RedisCluster::RedisCluster(int masters, int replicas)
    : dir_(std::make_unique<ServerDir>("cluster")) {
  if (redis_server_binary().empty()) throw std::runtime_error("redis-server is not installed");
  // Other tests start servers on ephemeral ports at the same time (ctest -j): a port found free
  // can be taken before a node binds it, and then the node exits after another process answered
  // on its port. Such a start is retried with new ports (a fresh cluster each time).
  std::set<std::uint16_t> used;
  for (int attempt = 1;; ++attempt) {
    try {
      start_nodes(masters, replicas, used);
      return;
    } catch (const std::exception&) {
      for (auto& node : nodes_)
        node.stop();
      nodes_.clear();
      ports_.clear();
      if (attempt == 3) throw;
    }
  }
}

void RedisCluster::start_nodes(int masters, int replicas, std::set<std::uint16_t>& used) {
  const int n = masters * (1 + replicas);
  // free_port() answers a port nobody listens on *now*: two calls before any server binds can
  // answer the same one. Every port this cluster ever tried is distinct.
  auto distinct_port = [&used] {
    for (;;) {
      const std::uint16_t p = free_port();
      if (used.insert(p).second) return p;
    }
  };
  for (int i = 0; i < n; ++i) {
    const std::uint16_t port = distinct_port();
    const auto node_dir = dir_->path() / std::to_string(port);
    std::filesystem::create_directory(node_dir);
    give_to_server_user(node_dir);
    ports_.push_back(port);
    nodes_.emplace_back(std::vector<std::string>{redis_server_binary(),
                                                 "--port",
                                                 std::to_string(port),
                                                 "--bind",
                                                 "127.0.0.1",
                                                 "--dir",
                                                 node_dir.string(),
                                                 "--cluster-enabled",
                                                 "yes",
                                                 "--cluster-port",
                                                 std::to_string(distinct_port()),
                                                 "--cluster-config-file",
                                                 "nodes.conf",
                                                 "--cluster-node-timeout",
                                                 "1000",
                                                 "--save",
                                                 "",
                                                 "--appendonly",
                                                 "no",
                                                 "--logfile",
                                                 "",
                                                 "--daemonize",
                                                 "no"},
                        node_dir, "redis");
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    wait_until_listening(nodes_[i], ports_[i]);
    // The port answered; make sure it is this node answering, not another process.
    if (cli(ports_[i], {"PING"}) != "PONG") {
      throw std::runtime_error("port " + std::to_string(ports_[i]) + " is not our node");
    }
  }
  std::vector<std::string> create{cli_binary(), "--cluster", "create"};
  for (auto p : ports_)
    create.push_back("127.0.0.1:" + std::to_string(p));
  create.insert(create.end(), {"--cluster-replicas", std::to_string(replicas), "--cluster-yes"});
  auto r = run_program(create, dir_->path(), false, std::chrono::seconds(60));
  if (r.code != 0) throw std::runtime_error("redis-cli --cluster create failed: " + r.output);
  // Wait until every node reports the cluster as ok.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (auto p : ports_) {
    while (cli(p, {"CLUSTER", "INFO"}).find("cluster_state:ok") == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("cluster did not become ok");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

RedisCluster::~RedisCluster() {
  for (auto& n : nodes_)
    n.stop();
}

RedisCluster& RedisCluster::shared() {
  static RedisCluster cluster;
  return cluster;
}

std::string RedisCluster::url() const {
  std::string u = "redis+cluster://";
  for (std::size_t i = 0; i < ports_.size(); ++i)
    u += (i ? ",127.0.0.1:" : "127.0.0.1:") + std::to_string(ports_[i]);
  return u;
}

std::string RedisCluster::cli(std::uint16_t port, const std::vector<std::string>& args) {
  std::vector<std::string> argv{cli_binary(), "-h", "127.0.0.1", "-p", std::to_string(port)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_program(argv, dir_->path(), false, std::chrono::seconds(30));
  if (r.code != 0) throw std::runtime_error("redis-cli failed: " + r.output);
  return trim(r.output);
}

void RedisCluster::flush() {
  for (auto p : ports_) {
    std::string role = cli(p, {"ROLE"});
    if (role.rfind("master", 0) == 0) cli(p, {"FLUSHALL"});
  }
}

void RedisCluster::stop_node(std::uint16_t port) {
  for (std::size_t i = 0; i < ports_.size(); ++i)
    if (ports_[i] == port) nodes_[i].stop();
}

}  // namespace sessionkit::testing
