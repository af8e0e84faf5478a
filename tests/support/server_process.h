// server_process.h — test support: start a real server binary (redis-server, postgres, ...) on a
// free loopback port in a private temporary directory, and stop exactly that process.
//
// `ServerProcess` spawns a binary with stdout/stderr redirected into its directory. When the
// tests run as root it drops to an unprivileged account (`nobody`) in the child, because some
// servers (PostgreSQL) refuse to run as root. `stop` sends SIGTERM to the child's pid only,
// waits (bounded) and falls back to SIGKILL. `run_program` runs a helper tool to completion with
// a bound on its time. Nothing here signals a process it did not start.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace sessionkit::testing {

// The whole contents of a file ("" when it cannot be read).
std::string read_text(const std::filesystem::path& path);
// Decodes a waitpid status: the exit code, or 128+signal.
int decode_status(int status);
// Waits up to `timeout` for child `pid` to end; its decoded status, or nullopt if it still runs.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

// A port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
std::uint16_t free_port();

// True when a TCP connection to 127.0.0.1:port succeeds.
bool port_accepts(std::uint16_t port);

// The first of `candidates` that exists as an executable file, or "" when none does.
std::string find_program(const std::vector<std::string>& candidates);

// A private temporary directory (mkdtemp), removed with its contents by the destructor. When
// running as root it is handed to the unprivileged account the servers run as.
class ServerDir {
 public:
  explicit ServerDir(const std::string& tag);
  ~ServerDir();
  ServerDir(const ServerDir&) = delete;
  ServerDir& operator=(const ServerDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Hands `path` to the unprivileged account when running as root (no-op otherwise).
void give_to_server_user(const std::filesystem::path& path);

class ServerProcess {
 public:
  // Whether the child drops to the unprivileged account when the tests run as root. Servers
  // from the system (redis-server, postgres) do; a binary of this build keeps the caller's
  // account, since the build tree may not be readable by that account (a checkout under
  // /root, as on a fresh CI machine).
  enum class RunAs { unprivileged_when_root, caller };

  ServerProcess() = default;
  // Spawns `argv[0]` (a path) with `argv`; output goes to `dir/tag.out` and `dir/tag.err`.
  // Throws std::runtime_error when the spawn fails.
  ServerProcess(std::vector<std::string> argv, const std::filesystem::path& dir,
                const std::string& tag, RunAs run_as = RunAs::unprivileged_when_root);
  ~ServerProcess();
  ServerProcess(ServerProcess&& other) noexcept;
  ServerProcess& operator=(ServerProcess&& other) noexcept;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const noexcept { return pid_; }
  bool running();
  // SIGTERM (or `sig`), wait up to `grace`, then SIGKILL. Answers the exit code, or 128+signal.
  // Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10), int sig = 15);
  // SIGSTOP / SIGCONT: freeze and thaw the server (an unresponsive store).
  void pause();
  void resume();
  std::string output() const;  // stdout then stderr, for failure messages

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::filesystem::path out_, err_;
};

// Waits until `port` accepts connections or the process exits or `timeout` passes; throws
// std::runtime_error with the server's output when it does not come up.
void wait_until_listening(ServerProcess& server, std::uint16_t port,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

struct ProgramResult {
  int code = -1;       // exit code, or 128+signal, or -1 when it had to be killed
  std::string output;  // stdout, then stderr
  std::string out;     // stdout alone
  std::string err;     // stderr alone
};
// Runs a program to completion (bounded by `timeout`, then SIGKILL), as the unprivileged account
// when `unprivileged` and running as root. Output is captured in `dir`.
ProgramResult run_program(const std::vector<std::string>& argv, const std::filesystem::path& dir,
                          bool unprivileged = false,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace sessionkit::testing
