#include "secrets.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace demo {

std::string read_secret_file(const std::string& what, const std::string& path) {
  auto error = [&](const std::string& why) { return UsageError(what + " '" + path + "': " + why); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  char errbuf[256];  // strerror_r (GNU): strerror's buffer may be shared between threads
  if (fd < 0)
    throw error(std::string("cannot read it: ") + ::strerror_r(errno, errbuf, sizeof errbuf));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw error("not a regular file");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      throw error(std::string("cannot read it: ") + ::strerror_r(e, errbuf, sizeof errbuf));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > std::size_t{64} * 1024) {
      ::close(fd);
      throw error("larger than 64 KiB");
    }
  }
  ::close(fd);
  if (text.ends_with('\n')) text.pop_back();
  if (text.ends_with('\r')) text.pop_back();
  if (text.empty()) throw error("the file is empty");
  if ((st.st_mode & 077) != 0) {
    spdlog::warn("{} '{}' can be read or written by group or others (mode {:o}); chmod 600 it",
                 what, path, st.st_mode & 0777);
  }
  return text;
}

std::string secret_text(const Config& cfg, bool on_command_line) {
  if (!cfg.secret.empty() && !cfg.secret_file.empty()) {
    throw UsageError(
        "give the secret either with --secret / SESSION_SECRET or with --secret-file / "
        "SESSION_SECRET_FILE, not both");
  }
  if (on_command_line) {
    spdlog::warn(
        "--secret on the command line can be seen by other local users (ps, /proc/PID/cmdline) "
        "until start-up ends; use --secret-file or SESSION_SECRET");
  }
  if (cfg.secret_file.empty()) return cfg.secret;
  return read_secret_file("--secret-file", cfg.secret_file);
}

std::string metrics_token(const Config& cfg, bool production) {
  if (cfg.metrics_token_file.empty()) {
    if (production) {
      spdlog::warn(
          "/metrics is public and /events is not served; --metrics-token-file protects both");
    }
    return {};
  }
  std::string token = read_secret_file("--metrics-token-file", cfg.metrics_token_file);
  for (char ch : token) {
    if (ch <= ' ' || ch > '~') {
      throw UsageError("--metrics-token-file '" + cfg.metrics_token_file +
                       "': the token must be printable ASCII without spaces");
    }
  }
  return token;
}

sessionkit::Keyring make_keyring(const std::string& secret, const Config& cfg, bool production) {
  constexpr std::size_t kMin = sessionkit::Keyring::kMinSecretBytes;
  if (secret.empty()) {
    if (production) {
      throw UsageError(
          "production mode needs a secret: set --secret-file, SESSION_SECRET_FILE or "
          "SESSION_SECRET (at least " +
          std::to_string(kMin) + " bytes, e.g. from `head -c 32 /dev/urandom | base64`)");
    }
    spdlog::warn(
        "no --secret-file / SESSION_SECRET_FILE / SESSION_SECRET: using a random secret for "
        "this process only; sessions will not survive a restart");
    return sessionkit::Keyring::ephemeral();
  }
  auto parsed = sessionkit::Keyring::parse(secret);
  if (!parsed) {
    throw UsageError(
        std::string(cfg.secret_file.empty() ? "--secret / SESSION_SECRET" : "--secret-file") +
        ": " + parsed.message());
  }
  if (production && parsed->shortest_secret() < kMin) {
    throw UsageError("production mode: every secret must be at least " + std::to_string(kMin) +
                     " bytes");
  }
  if (!production && parsed->shortest_secret() < kMin) {
    spdlog::warn("a secret is shorter than {} bytes; production mode would refuse it", kMin);
  }
  return std::move(parsed).value();
}

}  // namespace demo
