// config.h — the demo's command line: every flag with the environment variable it falls back
// to, and the checks of flag values that need nothing else (private to the demo).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace CLI {
class App;
}

namespace demo {

// A bad flag or configuration: sessionkit-demo prints the message and exits with 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string store = "sqlite://./data/sessions.db";
  std::string revocation_store;
  std::string fallback_store;  // the store the apps are leaving (FallbackStore)
  bool encrypt_at_rest = false;
  std::size_t compress_above = 0;  // 0: off
  std::string secret;
  std::string secret_file;
  std::string metrics_token_file;
  std::string cookie_name = "sid";
  std::string mode = "development";
  long idle_timeout = 1800;
  long absolute_timeout = 43200;
  unsigned threads = std::max(1U, std::thread::hardware_concurrency());
  bool redis_io_thread = false;  // Redis on its own I/O thread, not on the server's loops
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
  // The sign-in throttle (docs/security.md, "Login throttling").
  bool login_throttle = true;
  std::string login_throttle_store;
  std::size_t login_pair_free = 5;
  std::size_t login_address_free = 30;
  std::size_t login_account_free = 100;
  long login_max_delay = 900;
  // Sign-in anomaly signals (docs/security.md, "Anomaly signals").
  bool anomaly_signals = true;
  std::size_t anomaly_max_networks = 4;
  std::size_t anomaly_max_user_agents = 4;
  std::size_t anomaly_max_sign_ins = 10;
  // Token sessions (docs/demo.md, "Token sessions"): /api/token and friends.
  std::string token_keys_file;
  std::string token_issuer = "sessionkit-demo";
  std::string token_audience = "sessionkit-demo-api";
  long token_lifetime = 300;
  std::string token_check = "stateful";
  long token_check_cache = 5;
};

// Declares every flag of `cfg` on `app` (with its environment variable and range check).
void add_flags(CLI::App& app, Config& cfg);

// "HOST:PORT" or "[V6]:PORT" -> host, port. Throws UsageError.
std::pair<std::string, std::uint16_t> split_listen(const std::string& text);

// Whether the command line itself names `flag` ("--flag VALUE" or "--flag=VALUE"), as opposed to
// its environment variable.
bool on_command_line(int argc, char** argv, std::string_view flag);

// Overwrites the value of `flag` in argv with 'x's, so that /proc/PID/cmdline no longer shows it
// once the flags are parsed (it was visible until then).
void hide_from_command_line(int argc, char** argv, std::string_view flag);

}  // namespace demo
