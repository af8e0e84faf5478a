#include "e2e/demo_process.h"

#include "support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace e2e {
namespace {

pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out,
            const std::filesystem::path& err) {
  std::string binary = demo_binary();
  std::vector<char*> argv;
  argv.push_back(binary.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "SESSION_", 8) != 0) env_store.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_store)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn(" + binary + ") failed: " + std::strerror(rc));
  }
  return pid;
}

// The port of the "listening on http://HOST:PORT" (or https://) line, once it is complete.
std::optional<std::uint16_t> listening_port(const std::string& out) {
  constexpr std::string_view kMarker = "listening on http";
  std::size_t at = out.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  std::size_t eol = out.find('\n', at);
  if (eol == std::string::npos) return std::nullopt;
  std::string line = out.substr(at + kMarker.size(), eol - at - kMarker.size());
  if (line.starts_with("s")) line.erase(0, 1);
  if (!line.starts_with("://")) return std::nullopt;
  line.erase(0, 3);
  line = line.substr(0, line.find(' '));  // a log line goes on after the address
  std::size_t colon = line.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(line.substr(colon + 1)));
}

}  // namespace

std::uint16_t wait_until_listening(sessionkit::testing::ServerProcess& process) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (process.running() && std::chrono::steady_clock::now() < deadline) {
    if (auto port = listening_port(process.output())) return *port;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return 0;
}

std::string demo_binary() {
  return SESSIONKIT_DEMO_BINARY;
}

DemoProcess::DemoProcess(std::vector<std::string> args, std::filesystem::path dir, std::string tag)
    : out_path_(dir / (tag + ".stdout")), err_path_(dir / (tag + ".stderr")) {
  pid_ = spawn(args, out_path_, err_path_);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto port = listening_port(sessionkit::testing::read_text(out_path_))) {
      port_ = *port;
      return;
    }
    if (auto code = sessionkit::testing::wait_for_exit(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      throw std::runtime_error("sessionkit-demo exited with " + std::to_string(*code) +
                               " before listening:\n" + sessionkit::testing::read_text(err_path_));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop(std::chrono::milliseconds(100));
  throw std::runtime_error("sessionkit-demo did not report listening within 30 s:\n" +
                           sessionkit::testing::read_text(err_path_));
}

DemoProcess::~DemoProcess() {
  stop();
}

int DemoProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, SIGTERM);
  std::optional<int> code = sessionkit::testing::wait_for_exit(pid_, grace);
  if (!code) {
    kill(pid_, SIGKILL);
    code = sessionkit::testing::wait_for_exit(pid_, std::chrono::seconds(10));
  }
  exit_code_ = code.value_or(-1);
  pid_ = -1;
  return exit_code_;
}

std::string DemoProcess::stderr_text() const {
  return sessionkit::testing::read_text(err_path_);
}

ExitResult run_demo_to_exit(std::vector<std::string> args, const std::filesystem::path& dir,
                            std::chrono::milliseconds timeout) {
  static int counter = 0;
  auto base = dir / ("exit-" + std::to_string(++counter));
  auto out = base;
  out += ".stdout";
  auto err = base;
  err += ".stderr";
  pid_t pid = spawn(args, out, err);
  std::optional<int> code = sessionkit::testing::wait_for_exit(pid, timeout);
  if (!code) {
    kill(pid, SIGKILL);
    code = sessionkit::testing::wait_for_exit(pid, std::chrono::seconds(10));
  }
  return {code.value_or(-1), sessionkit::testing::read_text(err)};
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sessionkit-e2e-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error(std::string("mkdtemp failed: ") + std::strerror(errno));
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace e2e
