// sessionkit-demo — a small web app on sessionkit: flags, configuration and start-up.
// See docs/demo.md for the routes and the decisions behind them.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "routes.h"
#include "server.h"
#include "sessionkit/http/proxy.h"
#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "store_url.h"
#include "users.h"

namespace {

constexpr int kExitUsage = 2;  // bad flags or configuration
constexpr int kExitFailure = 1;

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string store = "sqlite://./data/sessions.db";
  std::string secret;
  std::string secret_file;
  std::string metrics_token_file;
  std::string cookie_name = "sid";
  std::string mode = "development";
  long idle_timeout = 1800;
  long absolute_timeout = 43200;
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  std::string trusted_proxies;
  long hsts = 0;
  std::string bind = "none";
  std::size_t max_sessions_per_user = 0;
  long reauth_after = 600;
  long janitor_interval = 30;
  std::size_t anonymous_burst = 30;
  std::size_t anonymous_per_minute = 30;
  std::size_t max_reauth_failures = 5;
  bool persistent_cookies = false;
  std::string allowed_origins;
  bool allow_same_site = false;
  long header_timeout = 10;
  std::size_t max_connections = 0;
};

// "HOST:PORT" or "[V6]:PORT" -> host, port. Throws std::invalid_argument with a message.
std::pair<std::string, std::uint16_t> split_listen(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw std::invalid_argument("--listen: expected [IPV6]:PORT, got '" + text + "'");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      throw std::invalid_argument("--listen: expected HOST:PORT, got '" + text + "'");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    throw std::invalid_argument("--listen: expected HOST:PORT with a port 0-65535, got '" + text +
                                "'");
  }
  return {host, static_cast<std::uint16_t>(value)};
}

int usage_error(const std::string& message) {
  std::cerr << "sessionkit-demo: " << message << "\n";
  return kExitUsage;
}

// The contents of a secret file (--secret-file, --metrics-token-file), without its trailing
// newline ("\n" or "\r\n"). Empty, unreadable, not a regular file: an error message naming
// `what` and the path (never the contents). A file that group or others may read works, with a
// warning.
std::variant<std::string, std::string> read_secret_file(const std::string& what,
                                                        const std::string& path) {
  using V = std::variant<std::string, std::string>;
  auto error = [&](const std::string& why) {
    return V(std::in_place_index<1>, what + " '" + path + "': " + why);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return error(std::string("cannot read it: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return error("not a regular file");
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return error(std::string("cannot read it: ") + std::strerror(e));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 64 * 1024) {
      ::close(fd);
      return error("larger than 64 KiB");
    }
  }
  ::close(fd);
  if (text.ends_with('\n')) text.pop_back();
  if (text.ends_with('\r')) text.pop_back();
  if (text.empty()) return error("the file is empty");
  if ((st.st_mode & 077) != 0) {
    spdlog::warn("{} '{}' can be read or written by group or others (mode {:o}); chmod 600 it",
                 what, path, st.st_mode & 0777);
  }
  return V(std::in_place_index<0>, std::move(text));
}

// Whether the command line itself names `flag` ("--flag VALUE" or "--flag=VALUE"), as opposed to
// its environment variable.
bool on_command_line(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == flag ||
        (arg.starts_with(flag) && arg.size() > flag.size() && arg[flag.size()] == '=')) {
      return true;
    }
  }
  return false;
}

// Overwrites the value of `flag` in argv with 'x's, so that /proc/PID/cmdline no longer shows it
// once the flags are parsed (it was visible until then).
void hide_from_command_line(int argc, char** argv, std::string_view flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    char* value = nullptr;
    if (arg == flag && i + 1 < argc) {
      value = argv[++i];
    } else if (arg.starts_with(flag) && arg.size() > flag.size() && arg[flag.size()] == '=') {
      value = argv[i] + flag.size() + 1;
    }
    if (value != nullptr) std::memset(value, 'x', std::strlen(value));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{
      "sessionkit-demo: a small web app showing sessionkit's session management.\n"
      "Every flag falls back to the environment variable shown; a flag wins."};
  app.option_defaults()->always_capture_default();
  app.add_option("--listen", cfg.listen, "Address to listen on, HOST:PORT (port 0: any)")
      ->envname("SESSION_LISTEN");
  app.add_option("--store", cfg.store,
                 "Session store URL: memory://, sqlite://PATH (missing directories are created "
                 "0700, a new file 0600), "
                 "redis://[user:pass@]host:port[/db], rediss://… (TLS), "
                 "redis+cluster://host:port[,host:port…], "
                 "postgresql://user:pass@host:port/db[?sslmode=…]. Passwords are shown as *** in "
                 "logs and errors")
      ->envname("SESSION_STORE");
  app.add_option("--secret", cfg.secret,
                 "Cookie signing secrets, comma-separated, newest first (production: each at "
                 "least 32 bytes; development without one: a random per-process secret). On the "
                 "command line other local users can see it: prefer --secret-file or the "
                 "environment variable")
      ->envname("SESSION_SECRET");
  app.add_option("--secret-file", cfg.secret_file,
                 "Read the secrets (as for --secret) from this file; one trailing newline is "
                 "ignored. Keep it owner-only (chmod 600): a warning otherwise")
      ->envname("SESSION_SECRET_FILE");
  app.add_option("--metrics-token-file", cfg.metrics_token_file,
                 "Protect GET /metrics: read a bearer token from this file (one trailing newline "
                 "ignored); scrapers then send 'Authorization: Bearer <token>'. Without it "
                 "/metrics is public")
      ->envname("SESSION_METRICS_TOKEN_FILE");
  app.add_option("--cookie-name", cfg.cookie_name, "Session cookie name (without prefix)")
      ->envname("SESSION_COOKIE_NAME");
  app.add_option("--mode", cfg.mode,
                 "development (plain HTTP, cookies without Secure) or production (Secure, "
                 "__Host- prefix, secret required)")
      ->envname("SESSION_MODE")
      ->check(CLI::IsMember({"development", "production"}));
  app.add_option("--idle-timeout", cfg.idle_timeout, "Idle timeout in seconds")
      ->envname("SESSION_IDLE_TIMEOUT")
      ->check(CLI::Range(1L, 365L * 24 * 3600));
  app.add_option("--absolute-timeout", cfg.absolute_timeout, "Absolute timeout in seconds")
      ->envname("SESSION_ABSOLUTE_TIMEOUT")
      ->check(CLI::Range(1L, 366L * 24 * 3600));
  app.add_option("--threads", cfg.threads, "I/O threads (default: hardware concurrency)")
      ->envname("SESSION_THREADS")
      ->check(CLI::Range(1U, 1024U));
  app.add_option("--trusted-proxies", cfg.trusted_proxies,
                 "Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: "
                 "comma-separated addresses or CIDR blocks (default: none, headers ignored)")
      ->envname("SESSION_TRUSTED_PROXIES");
  app.add_option("--hsts", cfg.hsts,
                 "Send Strict-Transport-Security with this max-age (seconds) on HTTPS requests; "
                 "0 = off")
      ->envname("SESSION_HSTS")
      ->check(CLI::Range(0L, 63072000L));
  app.add_option("--bind", cfg.bind,
                 "Bind each session to its client: none, fingerprint (User-Agent), ip, or both. "
                 "A request from another client ends the session with 403")
      ->envname("SESSION_BIND")
      ->check(CLI::IsMember({"none", "fingerprint", "ip", "both"}));
  app.add_option("--max-sessions-per-user", cfg.max_sessions_per_user,
                 "Sessions a user may have at once; a login beyond it ends the oldest (0: no cap)")
      ->envname("SESSION_MAX_PER_USER")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000}));
  app.add_option("--reauth-after", cfg.reauth_after,
                 "Seconds after which sensitive actions (ending other sessions) need the password "
                 "again (POST /api/reauth)")
      ->envname("SESSION_REAUTH_AFTER")
      ->check(CLI::Range(1L, 366L * 24 * 3600));
  app.add_option("--janitor-interval", cfg.janitor_interval,
                 "Seconds between sweeps that delete expired sessions (each sweep drains all)")
      ->envname("SESSION_JANITOR_INTERVAL")
      ->check(CLI::Range(1L, 24L * 3600));
  app.add_option("--anonymous-session-burst", cfg.anonymous_burst,
                 "New sessions a client address may create without signing in before it gets "
                 "429 (0: no limit)")
      ->envname("SESSION_ANONYMOUS_BURST");
  app.add_option("--anonymous-sessions-per-minute", cfg.anonymous_per_minute,
                 "Rate at which that allowance refills")
      ->envname("SESSION_ANONYMOUS_PER_MINUTE");
  app.add_option("--max-reauth-failures", cfg.max_reauth_failures,
                 "Wrong passwords for re-authentication before the session is ended (0: never)")
      ->envname("SESSION_MAX_REAUTH_FAILURES");
  app.add_flag("--persistent-cookies", cfg.persistent_cookies,
               "Session cookies with Max-Age (survive a browser restart) instead of "
               "browser-session cookies")
      ->envname("SESSION_PERSISTENT_COOKIES");
  app.add_option("--allowed-origins", cfg.allowed_origins,
                 "Origins unsafe requests may come from, comma-separated (default: the "
                 "request's own Host and scheme)")
      ->envname("SESSION_ALLOWED_ORIGINS");
  app.add_flag("--allow-same-site", cfg.allow_same_site,
               "Accept unsafe requests with Sec-Fetch-Site: same-site (sibling subdomains)")
      ->envname("SESSION_ALLOW_SAME_SITE");
  app.add_option("--header-timeout", cfg.header_timeout,
                 "Seconds from a request's first byte to the end of its header")
      ->envname("SESSION_HEADER_TIMEOUT")
      ->check(CLI::Range(1L, 3600L));
  app.add_option("--max-connections", cfg.max_connections,
                 "Connections served at once (0: the file descriptor limit minus 64)")
      ->envname("SESSION_MAX_CONNECTIONS");
  const bool secret_on_command_line = on_command_line(argc, argv, "--secret");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  hide_from_command_line(argc, argv, "--secret");

  spdlog::set_default_logger(spdlog::stderr_color_mt("sessionkit-demo"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  if (const char* level = std::getenv("SESSION_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }

  const bool production = cfg.mode == "production";
  auto proxies = sessionkit::http::TrustedProxies::parse(cfg.trusted_proxies);
  if (!proxies) return usage_error("--trusted-proxies: " + proxies.message());
  std::pair<std::string, std::uint16_t> listen;
  try {
    listen = split_listen(cfg.listen);
  } catch (const std::invalid_argument& e) {
    return usage_error(e.what());
  }
  if (cfg.absolute_timeout < cfg.idle_timeout) {
    return usage_error("--absolute-timeout must not be shorter than --idle-timeout");
  }

  // ---- secrets ----
  if (!cfg.secret.empty() && !cfg.secret_file.empty()) {
    return usage_error(
        "give the secret either with --secret / SESSION_SECRET or with --secret-file / "
        "SESSION_SECRET_FILE, not both");
  }
  if (secret_on_command_line) {
    spdlog::warn(
        "--secret on the command line can be seen by other local users (ps, /proc/PID/cmdline) "
        "until start-up ends; use --secret-file or SESSION_SECRET");
  }
  if (!cfg.secret_file.empty()) {
    auto read = read_secret_file("--secret-file", cfg.secret_file);
    if (read.index() == 1) return usage_error(std::get<1>(read));
    cfg.secret = std::move(std::get<0>(read));
  }
  std::string metrics_token;
  if (!cfg.metrics_token_file.empty()) {
    auto read = read_secret_file("--metrics-token-file", cfg.metrics_token_file);
    if (read.index() == 1) return usage_error(std::get<1>(read));
    metrics_token = std::move(std::get<0>(read));
    for (char ch : metrics_token) {
      if (ch <= ' ' || ch > '~') {
        return usage_error("--metrics-token-file '" + cfg.metrics_token_file +
                           "': the token must be printable ASCII without spaces");
      }
    }
  } else if (production) {
    spdlog::warn("/metrics is public; protect it with --metrics-token-file");
  }
  std::optional<sessionkit::Keyring> keyring;
  if (cfg.secret.empty()) {
    if (production) {
      return usage_error(
          "production mode needs a secret: set --secret-file, SESSION_SECRET_FILE or "
          "SESSION_SECRET (at least " +
          std::to_string(sessionkit::Keyring::kMinSecretBytes) +
          " bytes, e.g. from "
          "`head -c 32 /dev/urandom | base64`)");
    }
    keyring = sessionkit::Keyring::ephemeral();
    spdlog::warn(
        "no --secret-file / SESSION_SECRET_FILE / SESSION_SECRET: using a random secret for "
        "this process only; "
        "sessions will not survive a restart");
  } else {
    auto parsed = sessionkit::Keyring::parse(cfg.secret);
    if (!parsed) {
      return usage_error(
          std::string(cfg.secret_file.empty() ? "--secret / SESSION_SECRET" : "--secret-file") +
          ": " + parsed.message());
    }
    if (production && parsed->shortest_secret() < sessionkit::Keyring::kMinSecretBytes) {
      return usage_error("production mode: every secret must be at least " +
                         std::to_string(sessionkit::Keyring::kMinSecretBytes) + " bytes");
    }
    if (!production && parsed->shortest_secret() < sessionkit::Keyring::kMinSecretBytes) {
      spdlog::warn("a secret is shorter than {} bytes; production mode would refuse it",
                   sessionkit::Keyring::kMinSecretBytes);
    }
    keyring = std::move(parsed).value();
  }

  // ---- session policy ----
  sessionkit::SessionOptions options = production ? sessionkit::SessionOptions::production()
                                                  : sessionkit::SessionOptions::development();
  options.cookie.name = cfg.cookie_name;
  options.idle_timeout = std::chrono::seconds(cfg.idle_timeout);
  options.absolute_timeout = std::chrono::seconds(cfg.absolute_timeout);
  options.bind.user_agent = cfg.bind == "fingerprint" || cfg.bind == "both";
  options.bind.ip = cfg.bind == "ip" || cfg.bind == "both";
  options.max_sessions_per_user = cfg.max_sessions_per_user;
  options.anonymous_sessions.burst = cfg.anonymous_burst;
  options.anonymous_sessions.per_minute = cfg.anonymous_per_minute;
  options.max_reauth_failures = cfg.max_reauth_failures;
  options.cookie.persistent = cfg.persistent_cookies;
  auto origins = sessionkit::http::OriginPolicy::parse(cfg.allowed_origins);
  if (!origins) return usage_error("--allowed-origins: " + origins.message());
  origins->allow_same_site = cfg.allow_same_site;
  if (auto valid = options.validate(); !valid) {
    return usage_error("invalid session options: " + valid.message());
  }
  if (!production) {
    spdlog::warn(
        "development mode: cookies are sent without the Secure attribute (plain HTTP); "
        "use --mode production behind HTTPS");
  }

  // ---- store ----
  auto store = demo::open_store(cfg.store);
  if (!store) {
    // open_store's messages never hold the URL's secrets; redact() shows it without them.
    if (store.code() == sessionkit::errc::invalid_argument) {
      return usage_error("--store '" + demo::redact(cfg.store) + "': " + store.message());
    }
    std::cerr << "sessionkit-demo: cannot open store '" << demo::redact(cfg.store)
              << "': " << store.message() << "\n";
    return kExitFailure;
  }
  spdlog::info("session store: {} ({})", (*store)->name(), demo::redact(cfg.store));
  if ((*store)->client_side() != nullptr && options.max_sessions_per_user > 0) {
    return usage_error(
        "--max-sessions-per-user needs a server-side store: client-side (cookie://) sessions "
        "cannot be counted or evicted");
  }

  try {
    demo::UserDirectory users = demo::UserDirectory::with_demo_accounts();
    // The directory is the manager's CredentialSource (non-owning: it outlives the manager):
    // a session whose user's security stamp changed ends on its next request.
    sessionkit::SessionManager::Dependencies deps;
    deps.credentials =
        std::shared_ptr<const sessionkit::CredentialSource>(std::shared_ptr<void>(), &users);
    sessionkit::SessionManager manager(*store, std::move(*keyring), options, std::move(deps));
    boost::asio::thread_pool hash_pool(2);  // argon2id verifications, off the I/O threads
    demo::RouterOptions router_options;
    router_options.secure_cookies = options.cookie.secure;
    router_options.proxies = *proxies;
    router_options.hsts = std::chrono::seconds(cfg.hsts);
    router_options.origins = std::move(*origins);
    router_options.reauth_after = std::chrono::seconds(cfg.reauth_after);
    router_options.metrics_token = std::move(metrics_token);
    demo::Router router(manager, users, hash_pool.get_executor(), std::move(router_options));

    demo::ServerOptions server_options;
    server_options.host = listen.first;
    server_options.port = listen.second;
    server_options.threads = cfg.threads;
    server_options.janitor_interval = std::chrono::seconds(cfg.janitor_interval);
    server_options.header_timeout = std::chrono::seconds(cfg.header_timeout);
    server_options.max_connections = cfg.max_connections;
    demo::Server server(router, server_options);
    try {
      server.start();
    } catch (const std::system_error& e) {
      std::cerr << "sessionkit-demo: " << e.what() << "\n";
      return kExitFailure;
    }
    server.run();
    hash_pool.join();  // before `server` (and its io_context) goes away
  } catch (const std::exception& e) {
    std::cerr << "sessionkit-demo: " << e.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
