#include "support/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace sessionkit::testing {
namespace {

struct Account {
  uid_t uid;
  gid_t gid;
};

// The account servers run as when the tests run as root; nullopt when not root.
std::optional<Account> server_account() {
  if (geteuid() != 0) return std::nullopt;
  const passwd* pw = getpwnam("nobody");
  if (pw == nullptr) throw std::runtime_error("running as root, but there is no user 'nobody'");
  return Account{pw->pw_uid, pw->pw_gid};
}

// fork + exec with output redirected; in the child only async-signal-safe calls.
pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out,
            const std::filesystem::path& err, bool unprivileged) {
  if (args.empty()) throw std::runtime_error("spawn: empty argv");
  std::optional<Account> account = unprivileged ? server_account() : std::nullopt;
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string out_s = out.string(), err_s = err.string();
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    int in_fd = open("/dev/null", O_RDONLY);
    int out_fd = open(out_s.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err_s.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    setpgid(0, 0);  // its own process group: a test runner's Ctrl-C does not reach it twice
    if (account) {
      if (setgroups(0, nullptr) != 0 || setgid(account->gid) != 0 || setuid(account->uid) != 0)
        _exit(126);
    }
    // Safety net: should the test process die without stopping it, the server dies too
    // (the signal follows the death of the thread that forked: servers are started from the
    // test's main thread).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  return pid;
}

}  // namespace

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return decode_status(status);
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::uint16_t free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    throw std::runtime_error("bind(127.0.0.1:0) failed");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string find_program(const std::vector<std::string>& candidates) {
  for (const auto& c : candidates) {
    if (access(c.c_str(), X_OK) == 0) return c;
  }
  return {};
}

void give_to_server_user(const std::filesystem::path& path) {
  if (auto account = server_account()) {
    if (chown(path.c_str(), account->uid, account->gid) != 0) {
      throw std::runtime_error("chown " + path.string() + ": " + std::strerror(errno));
    }
  }
}

ServerDir::ServerDir(const std::string& tag) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / ("sessionkit-" + tag + "-XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  path_ = tmpl;
  give_to_server_user(path_);
}

ServerDir::~ServerDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ServerProcess::ServerProcess(std::vector<std::string> argv, const std::filesystem::path& dir,
                             const std::string& tag, RunAs run_as)
    : out_(dir / (tag + ".out")), err_(dir / (tag + ".err")) {
  pid_ = spawn(argv, out_, err_, run_as == RunAs::unprivileged_when_root);
}

ServerProcess::~ServerProcess() {
  stop();
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      exit_code_(other.exit_code_),
      out_(std::move(other.out_)),
      err_(std::move(other.err_)) {}

ServerProcess& ServerProcess::operator=(ServerProcess&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    exit_code_ = other.exit_code_;
    out_ = std::move(other.out_);
    err_ = std::move(other.err_);
  }
  return *this;
}

bool ServerProcess::running() {
  if (pid_ <= 0) return false;
  if (auto code = wait_for_exit(pid_, std::chrono::milliseconds(0))) {
    exit_code_ = *code;
    pid_ = -1;
    return false;
  }
  return true;
}

int ServerProcess::stop(std::chrono::milliseconds grace, int sig) {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, SIGCONT);  // a paused server cannot handle SIGTERM
  kill(pid_, sig);
  std::optional<int> code = wait_for_exit(pid_, grace);
  if (!code) {
    kill(pid_, SIGKILL);
    code = wait_for_exit(pid_, std::chrono::seconds(10));
  }
  exit_code_ = code.value_or(-1);
  pid_ = -1;
  return exit_code_;
}

void ServerProcess::pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void ServerProcess::resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

std::string ServerProcess::output() const {
  return read_text(out_) + read_text(err_);
}

void wait_until_listening(ServerProcess& server, std::uint16_t port,
                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (port_accepts(port)) return;
    if (!server.running()) {
      throw std::runtime_error("server exited before listening on port " + std::to_string(port) +
                               ":\n" + server.output());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::string out = server.output();
  server.stop(std::chrono::milliseconds(500));
  throw std::runtime_error("server did not listen on port " + std::to_string(port) + " in time:\n" +
                           out);
}

ProgramResult run_program(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                          bool unprivileged, std::chrono::milliseconds timeout) {
  static std::atomic<int> counter{0};
  const std::string base = "run-" + std::to_string(++counter);
  const auto out = dir / (base + ".out"), err = dir / (base + ".err");
  pid_t pid = spawn(argv, out, err, unprivileged);
  std::optional<int> code = wait_for_exit(pid, timeout);
  if (!code) {
    kill(pid, SIGKILL);
    wait_for_exit(pid, std::chrono::seconds(10));
    code = -1;
  }
  std::string stdout_text = read_text(out), stderr_text = read_text(err);
  return {*code, stdout_text + stderr_text, stdout_text, stderr_text};
}

}  // namespace sessionkit::testing
