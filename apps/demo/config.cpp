#include "config.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstring>

namespace demo {

namespace {

// The flags in --help order, in three parts: where it runs and its secrets; lifetimes, threads,
// proxies and session policy; limits against abuse and the connection limits.
void add_deployment_flags(CLI::App& app, Config& cfg) {
  app.add_option("--listen", cfg.listen, "Address to listen on, HOST:PORT (port 0: any)")
      ->envname("SESSION_LISTEN");
  app.add_option("--store", cfg.store,
                 "Session store URL: memory://, sqlite://PATH (missing directories are created "
                 "0700, a new file 0600), "
                 "redis://[user:pass@]host:port[/db], rediss://… (TLS), "
                 "redis+cluster://host:port[,host:port…], "
                 "postgresql://user:pass@host:port/db[?sslmode=…], or cookie://[?max_bytes=N] "
                 "(no store: client-side sessions in encrypted cookies, no server-side "
                 "revocation). Passwords are shown as *** in logs and errors")
      ->envname("SESSION_STORE");
  app.add_option("--revocation-store", cfg.revocation_store,
                 "With --store cookie://: a store URL (as for --store) that keeps a revocation "
                 "list, so that a logged-out or replaced cookie stops working at once (one "
                 "store read per request). Without it a copy of a cookie works until its "
                 "deadline")
      ->envname("SESSION_REVOCATION_STORE");
  app.add_option("--fallback-store", cfg.fallback_store,
                 "While moving to --store from another store: that store's URL. Sessions only "
                 "there are copied into --store on first use; logouts reach both "
                 "(sessionkit::FallbackStore). With `sessionctl migrate` for the rest; see "
                 "docs/operations.md, \"Cutting over to another store\"")
      ->envname("SESSION_FALLBACK_STORE");
  app.add_option("--encrypt-at-rest", cfg.encrypt_at_rest,
                 "Seal every payload value, client address and User-Agent in the store "
                 "(sessionkit::EncryptedStore, XChaCha20-Poly1305 with keys derived from the "
                 "secret): a dump of the store shows none of them (true/false)")
      ->envname("SESSION_ENCRYPT_AT_REST");
  app.add_option("--compress-above", cfg.compress_above,
                 "Store payload values of at least this many bytes (compact JSON) zstd-"
                 "compressed when that makes them shorter (sessionkit::CompressedStore; with "
                 "--encrypt-at-rest, compressed before sealing: see docs/security.md on what "
                 "the size then reveals). 0: off")
      ->envname("SESSION_COMPRESS_ABOVE");
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
                 "Protect GET /metrics and GET /events: read a bearer token from this file (one "
                 "trailing newline ignored); clients then send 'Authorization: Bearer <token>'. "
                 "Without it /metrics is public, and /events is public in development and not "
                 "served in production")
      ->envname("SESSION_METRICS_TOKEN_FILE");
  app.add_option("--cookie-name", cfg.cookie_name, "Session cookie name (without prefix)")
      ->envname("SESSION_COOKIE_NAME");
  app.add_option("--mode", cfg.mode,
                 "development (plain HTTP, cookies without Secure) or production (Secure, "
                 "__Host- prefix, secret required)")
      ->envname("SESSION_MODE")
      ->check(CLI::IsMember({"development", "production"}));
}

void add_policy_flags(CLI::App& app, Config& cfg) {
  app.add_option("--idle-timeout", cfg.idle_timeout, "Idle timeout in seconds")
      ->envname("SESSION_IDLE_TIMEOUT")
      ->check(CLI::Range(1L, 365L * 24 * 3600));
  app.add_option("--absolute-timeout", cfg.absolute_timeout, "Absolute timeout in seconds")
      ->envname("SESSION_ABSOLUTE_TIMEOUT")
      ->check(CLI::Range(1L, 366L * 24 * 3600));
  app.add_option("--threads", cfg.threads, "I/O threads (default: hardware concurrency)")
      ->envname("SESSION_THREADS")
      ->check(CLI::Range(1U, 1024U));
  app.add_flag("--redis-io-thread", cfg.redis_io_thread,
               "Run a redis:// store on its own I/O thread instead of on the server's threads "
               "(slower: every store call changes thread twice; for comparison)")
      ->envname("SESSION_REDIS_IO_THREAD");
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
}

void add_limit_flags(CLI::App& app, Config& cfg) {
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
}

void add_throttle_flags(CLI::App& app, Config& cfg) {
  app.add_option("--login-throttle", cfg.login_throttle,
                 "Slow password guessing at sign-in (POST /login, /api/login, /api/token): "
                 "failures counted per (user, address), per address and per user, then 429 "
                 "with Retry-After (true/false)")
      ->envname("SESSION_LOGIN_THROTTLE");
  app.add_option("--login-throttle-store", cfg.login_throttle_store,
                 "Where the failure counts live, a store URL as for --store (default: the "
                 "session store; with cookie://, the --revocation-store, else this process's "
                 "memory). Instances sharing it share the counts")
      ->envname("SESSION_LOGIN_THROTTLE_STORE");
  app.add_option("--login-pair-free", cfg.login_pair_free,
                 "Failed sign-ins for one user from one address before delays begin")
      ->envname("SESSION_LOGIN_PAIR_FREE")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
  app.add_option("--login-address-free", cfg.login_address_free,
                 "Failed sign-ins from one address (any users) before delays begin")
      ->envname("SESSION_LOGIN_ADDRESS_FREE")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
  app.add_option("--login-account-free", cfg.login_account_free,
                 "Failed sign-ins for one user (any addresses) before delays begin, except "
                 "for browsers that signed in to that user before (the device cookie)")
      ->envname("SESSION_LOGIN_ACCOUNT_FREE")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
  app.add_option("--login-max-delay", cfg.login_max_delay,
                 "Longest delay, in seconds, after a failed sign-in (delays start at 1 s and "
                 "double per failure)")
      ->envname("SESSION_LOGIN_MAX_DELAY")
      ->check(CLI::Range(1L, 24L * 3600));
  app.add_option("--anomaly-signals", cfg.anomaly_signals,
                 "Report sign-in anomalies (one user from many networks or browsers within an "
                 "hour, rapid sign-in cycles) as anomaly events and in "
                 "sessionkit_anomalies_total{reason} (true/false)")
      ->envname("SESSION_ANOMALY_SIGNALS");
  app.add_option("--anomaly-max-networks", cfg.anomaly_max_networks,
                 "Networks (an IPv4 address, an IPv6 /64) one user's sessions may be used from "
                 "within an hour before a sign-in is an anomaly (0: off)")
      ->envname("SESSION_ANOMALY_MAX_NETWORKS")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10000}));
  app.add_option("--anomaly-max-user-agents", cfg.anomaly_max_user_agents,
                 "User-Agents one user's sessions may be used from within an hour before a "
                 "sign-in is an anomaly (0: off)")
      ->envname("SESSION_ANOMALY_MAX_USER_AGENTS")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10000}));
  app.add_option("--anomaly-max-sign-ins", cfg.anomaly_max_sign_ins,
                 "Sign-ins of one user within ten minutes before the next is an anomaly (0: off)")
      ->envname("SESSION_ANOMALY_MAX_SIGN_INS")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1000000}));
}

void add_token_flags(CLI::App& app, Config& cfg) {
  app.add_option("--token-keys-file", cfg.token_keys_file,
                 "Access-token signing keys: a private JWK Set (KeyRing::export_private), shared "
                 "by every instance. Without it each process signs with a key of its own, so its "
                 "tokens die with it. Keep it owner-only (chmod 600)")
      ->envname("SESSION_TOKEN_KEYS_FILE");
  app.add_option("--token-issuer", cfg.token_issuer, "The access tokens' iss claim")
      ->envname("SESSION_TOKEN_ISSUER");
  app.add_option("--token-audience", cfg.token_audience, "The access tokens' aud claim")
      ->envname("SESSION_TOKEN_AUDIENCE");
  app.add_option("--token-lifetime", cfg.token_lifetime, "Access-token lifetime in seconds")
      ->envname("SESSION_TOKEN_LIFETIME")
      ->check(CLI::Range(1L, 3600L));
  app.add_option("--token-check", cfg.token_check,
                 "stateful: an access token is refused once its session has ended (one store "
                 "read per session, cached --token-check-cache seconds); stateless: valid until "
                 "it expires whatever happens to its session")
      ->envname("SESSION_TOKEN_CHECK")
      ->check(CLI::IsMember({"stateful", "stateless"}));
  app.add_option("--token-check-cache", cfg.token_check_cache,
                 "Seconds a stateful check's answer is reused (0: read the store every time); "
                 "a session ended on another instance is seen at most this late")
      ->envname("SESSION_TOKEN_CHECK_CACHE")
      ->check(CLI::Range(0L, 300L));
}

}  // namespace

void add_flags(CLI::App& app, Config& cfg) {
  app.option_defaults()->always_capture_default();
  add_deployment_flags(app, cfg);
  add_policy_flags(app, cfg);
  add_limit_flags(app, cfg);
  add_throttle_flags(app, cfg);
  add_token_flags(app, cfg);
}

std::pair<std::string, std::uint16_t> split_listen(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw UsageError("--listen: expected [IPV6]:PORT, got '" + text + "'");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      throw UsageError("--listen: expected HOST:PORT, got '" + text + "'");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    throw UsageError("--listen: expected HOST:PORT with a port 0-65535, got '" + text + "'");
  }
  return {host, static_cast<std::uint16_t>(value)};
}

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

}  // namespace demo
