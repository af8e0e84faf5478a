// demo_process.h — starts the real sessionkit-demo binary for end-to-end tests and stops it.
//
// The child gets stdout and stderr redirected to files in `dir`, an environment without any
// SESSION_* variable (so the test is not influenced by the caller's shell), and the given flags.
// `start` waits for the "listening on http://HOST:PORT" line and parses the port. `stop` sends
// SIGTERM to the child's pid, waits (bounded) and falls back to SIGKILL. Only the process this
// object started is ever signalled.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sessionkit::testing {
class ServerProcess;
}  // namespace sessionkit::testing

namespace e2e {

// The path of the demo binary under test (compile definition from CMake).
std::string demo_binary();

class DemoProcess {
 public:
  // Starts the demo with `args` and waits until it listens. Throws std::runtime_error (with the
  // child's stderr) when it exits or does not listen in time.
  DemoProcess(std::vector<std::string> args, std::filesystem::path dir, std::string tag);
  ~DemoProcess();
  DemoProcess(const DemoProcess&) = delete;
  DemoProcess& operator=(const DemoProcess&) = delete;

  std::uint16_t port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }
  // SIGTERM, wait up to `grace`, then SIGKILL. Answers the exit code, or 128+signal when the
  // process was killed by a signal. Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::uint16_t port_ = 0;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
};

// Runs the demo with `args` to completion (bounded), for start-up failure tests.
struct ExitResult {
  int code = -1;  // exit code, or 128+signal
  std::string err;
};
ExitResult run_demo_to_exit(std::vector<std::string> args, const std::filesystem::path& dir,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Waits (at most 10 s) for `process` to print "listening on http://HOST:PORT"; its port, or 0
// when it exits or does not listen in time (for the apps started as a ServerProcess).
std::uint16_t wait_until_listening(sessionkit::testing::ServerProcess& process);

// A fresh private temporary directory (mkdtemp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace e2e
