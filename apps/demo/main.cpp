// sessionkit-demo — a small web app on sessionkit: start-up. The flags are in config.h, the
// secrets in secrets.h; see docs/demo.md for the routes and the decisions behind them.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "common/http/server.h"
#include "common/http/store_loops.h"
#include "config.h"
#include "http_util.h"
#include "routes.h"
#include "secrets.h"
#include "sessionkit/anomaly_detector.h"
#include "sessionkit/http/origin.h"
#include "sessionkit/http/proxy.h"
#include "sessionkit/keyring.h"
#include "sessionkit/login_throttle.h"
#include "sessionkit/manager.h"
#include "sessionkit/recent_events.h"
#include "sessionkit/stores/compressed.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/fallback.h"
#include "sessionkit/stores/memory.h"
#include "sessionkit/stores/url.h"
#include "token_service.h"
#include "users.h"

namespace {

using demo::UsageError;

constexpr int kExitUsage = 2;  // bad flags or configuration
constexpr int kExitFailure = 1;
constexpr std::size_t kRecentEvents = 1000;  // what GET /events can show

// Start-up could not complete (the store cannot be opened, the address cannot be bound): exit 1.
struct StartupFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The router as the server's request handler; requests the server refuses get the API's JSON
// error (`{"error": reason}`, Connection: close).
class RouterHandler final : public sessionkit_apps::http::Handler {
 public:
  explicit RouterHandler(const demo::Router& router) : router_(router) {}
  boost::asio::awaitable<demo::Response> handle(demo::Request& request,
                                                const std::string& peer) override {
    return router_.handle(request, peer);
  }
  demo::Response refusal(demo::HttpStatus status, std::string_view reason) override {
    return demo::json_error(status, reason, 11, false);
  }

 private:
  const demo::Router& router_;
};

// What the flags decide, checked.
struct Settings {
  bool production = false;
  sessionkit::http::TrustedProxies proxies;
  std::pair<std::string, std::uint16_t> listen;
  std::string metrics_token;
  std::optional<sessionkit::Keyring> keyring;
  sessionkit::SessionOptions options;
  sessionkit::http::OriginPolicy origins;
};

void set_up_logging() {
  spdlog::set_default_logger(spdlog::stderr_color_mt("sessionkit-demo"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  if (const char* level = std::getenv("SESSION_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
}

// The mode's session policy with the flags applied (not validated yet).
sessionkit::SessionOptions session_options(const demo::Config& cfg, bool production) {
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
  return options;
}

// Checks the flags in order and reads the secrets; throws UsageError at the first problem.
Settings settings_of(const demo::Config& cfg, bool secret_on_command_line) {
  Settings s;
  s.production = cfg.mode == "production";
  auto proxies = sessionkit::http::TrustedProxies::parse(cfg.trusted_proxies);
  if (!proxies) throw UsageError("--trusted-proxies: " + proxies.message());
  s.proxies = std::move(*proxies);
  s.listen = demo::split_listen(cfg.listen);
  if (cfg.absolute_timeout < cfg.idle_timeout) {
    throw UsageError("--absolute-timeout must not be shorter than --idle-timeout");
  }
  const std::string secret = demo::secret_text(cfg, secret_on_command_line);
  s.metrics_token = demo::metrics_token(cfg, s.production);
  s.keyring = demo::make_keyring(secret, cfg, s.production);
  s.options = session_options(cfg, s.production);
  auto origins = sessionkit::http::OriginPolicy::parse(cfg.allowed_origins);
  if (!origins) throw UsageError("--allowed-origins: " + origins.message());
  s.origins = std::move(*origins);
  s.origins.allow_same_site = cfg.allow_same_site;
  if (auto valid = s.options.validate(); !valid) {
    throw UsageError("invalid session options: " + valid.message());
  }
  if (!s.production) {
    spdlog::warn(
        "development mode: cookies are sent without the Secure attribute (plain HTTP); "
        "use --mode production behind HTTPS");
  }
  return s;
}

// A server-side store named by `flag` (--revocation-store, --login-throttle-store): a malformed
// URL or a store this build lacks is a usage error, one that cannot be opened a start-up failure.
std::shared_ptr<sessionkit::SessionStore> open_extra_store(const std::string& flag,
                                                           const std::string& url,
                                                           const std::string& what) {
  const std::string shown = sessionkit::redact_store_url(url);
  auto opened = sessionkit::open_store_url(url);
  if (!opened) {
    if (opened.code() == sessionkit::errc::invalid_argument ||
        opened.code() == sessionkit::errc::unsupported) {
      throw UsageError(flag + " '" + shown + "': " + opened.message());
    }
    throw StartupFailure("cannot open " + what + " '" + shown + "': " + opened.message());
  }
  if (!opened->store) throw UsageError(flag + " must be a server-side store");
  return std::move(opened->store);
}

// The session store, and the server's hook that gives it connections on each event loop.
struct OpenedStore {
  sessionkit::StoreBackend backend;
  sessionkit_apps::http::LoopAttacher attach_loop;
};

OpenedStore open_store(const demo::Config& cfg, const sessionkit::SessionOptions& options) {
  auto backend = sessionkit::open_store_url(cfg.store);
  if (!backend) {
    // open_store_url's messages never hold the URL's secrets; redact_store_url shows the URL
    // without them. A malformed URL or a store this build lacks is a usage error.
    const std::string shown = sessionkit::redact_store_url(cfg.store);
    if (backend.code() == sessionkit::errc::invalid_argument ||
        backend.code() == sessionkit::errc::unsupported) {
      throw UsageError("--store '" + shown + "': " + backend.message());
    }
    throw StartupFailure("cannot open store '" + shown + "': " + backend.message());
  }
  if (!backend->client_side && !cfg.revocation_store.empty()) {
    throw UsageError("--revocation-store is for client-side sessions (--store cookie://) only");
  }
  if (backend->client_side && !cfg.revocation_store.empty()) {
    backend->client_side->revocations =
        open_extra_store("--revocation-store", cfg.revocation_store, "revocation store");
    spdlog::info("revocation list for client-side sessions: {} ({})",
                 backend->client_side->revocations->name(),
                 sessionkit::redact_store_url(cfg.revocation_store));
  }
  if (backend->client_side) {
    spdlog::info("session store: none, client-side sessions ({})",
                 sessionkit::redact_store_url(cfg.store));
    if (options.max_sessions_per_user > 0) {
      throw UsageError(
          "--max-sessions-per-user needs a server-side store: client-side (cookie://) sessions "
          "cannot be counted or evicted");
    }
  } else {
    spdlog::info("session store: {} ({})", backend->store->name(),
                 sessionkit::redact_store_url(cfg.store));
  }
  // A Redis store gets connections on each server loop (before any decorator wraps it).
  auto attach_loop = sessionkit_apps::http::store_loop_hook(backend->store, !cfg.redis_io_thread);
  if (attach_loop) spdlog::info("Redis connections on each of the server's threads");
  if (!cfg.fallback_store.empty()) {
    // The cut-over to --store from the store the apps leave (docs/operations.md): sessions
    // found only there are copied in on first use. Beneath the sealing decorator, so that
    // records move exactly as stored.
    if (backend->client_side) throw UsageError("--fallback-store needs a server-side --store");
    auto fallback = open_extra_store("--fallback-store", cfg.fallback_store, "fallback store");
    if (sessionkit::redact_store_url(cfg.fallback_store) ==
        sessionkit::redact_store_url(cfg.store)) {
      throw UsageError("--fallback-store names the --store itself");
    }
    spdlog::info("fallback store: {} ({}): sessions only there move to {} on first use",
                 fallback->name(), sessionkit::redact_store_url(cfg.fallback_store),
                 backend->store->name());
    backend->store =
        sessionkit::FallbackStore::wrap(std::move(backend->store), std::move(fallback));
  }
  return {std::move(backend).value(), std::move(attach_loop)};
}

demo::RouterOptions router_options(const demo::Config& cfg, Settings& s) {
  demo::RouterOptions options;
  options.secure_cookies = s.options.cookie.secure;
  options.proxies = s.proxies;
  options.hsts = std::chrono::seconds(cfg.hsts);
  options.origins = std::move(s.origins);
  options.reauth_after = std::chrono::seconds(cfg.reauth_after);
  options.metrics_token = std::move(s.metrics_token);
  options.production = s.production;
  return options;
}

// The server's options; `manager` gives the metrics (request latency) and the store its janitor
// purges.
sessionkit_apps::http::ServerOptions server_options(
    const demo::Config& cfg, const Settings& s, sessionkit::SessionManager& manager,
    sessionkit_apps::http::LoopAttacher attach_loop) {
  sessionkit_apps::http::ServerOptions options;
  options.name = "sessionkit-demo";  // "sessionkit-demo listening on http://HOST:PORT"
  options.host = s.listen.first;
  options.port = s.listen.second;
  options.threads = cfg.threads;
  options.janitor_interval = std::chrono::seconds(cfg.janitor_interval);
  options.header_timeout = std::chrono::seconds(cfg.header_timeout);
  options.max_connections = cfg.max_connections;
  options.metrics = &manager.metrics();
  // The session store; with client-side sessions, their revocation list (if any): tombstones
  // expire with the sessions they revoke. Client-side sessions without a list: no janitor.
  options.janitor_store = manager.store();
  if (const auto& client_side = manager.client_side(); client_side) {
    options.janitor_store = client_side->revocations.get();
  }
  options.attach_loop = std::move(attach_loop);
  return options;
}

// Where the sign-in guards count when no flag names a store: the session store, else
// (cookie://) the revocation list's store, else this process's memory; `where` says which.
std::shared_ptr<sessionkit::SessionStore> counting_store(const sessionkit::StoreBackend& backend,
                                                         std::string& where) {
  if (backend.store) {
    where = "the session store";
    return backend.store;
  }
  if (backend.client_side && backend.client_side->revocations) {
    where = "the revocation store";
    return backend.client_side->revocations;
  }
  where = "this process's memory (each instance counts on its own)";
  return sessionkit::MemoryStore::open({}).value();
}

// The sign-in throttle (docs/security.md, "Login throttling"), or nullptr with
// --login-throttle=false. Its counts go to --login-throttle-store, else counting_store's; its
// anomaly events to `events`.
std::unique_ptr<sessionkit::LoginThrottle> make_throttle(
    const demo::Config& cfg, const sessionkit::StoreBackend& backend,
    const sessionkit::Keyring& keyring, std::shared_ptr<sessionkit::Metrics> metrics,
    std::shared_ptr<sessionkit::EventSink> events) {
  if (!cfg.login_throttle) {
    if (!cfg.login_throttle_store.empty()) {
      throw UsageError("--login-throttle-store needs --login-throttle");
    }
    spdlog::warn("login throttle off: password guessing is not slowed down");
    return nullptr;
  }
  std::string where;
  std::shared_ptr<sessionkit::SessionStore> store;
  if (!cfg.login_throttle_store.empty()) {
    store = open_extra_store("--login-throttle-store", cfg.login_throttle_store,
                             "login throttle store");
    where = sessionkit::redact_store_url(cfg.login_throttle_store);
  } else {
    store = counting_store(backend, where);
  }
  sessionkit::LoginThrottleOptions o;
  o.pair.free = cfg.login_pair_free;
  o.address.free = cfg.login_address_free;
  o.account.free = cfg.login_account_free;
  for (auto* scope : {&o.pair, &o.address, &o.account}) {
    scope->max_delay = std::chrono::seconds(cfg.login_max_delay);
  }
  auto throttle =
      sessionkit::LoginThrottle::create(std::move(store), keyring, sessionkit::system_clock(), o,
                                        std::move(events), std::move(metrics));
  if (!throttle) throw UsageError("login throttle: " + throttle.message());
  spdlog::info("login throttle: failure counts in {}", where);
  return std::move(throttle).value();
}

// The sign-in anomaly signals (docs/security.md, "Anomaly signals"), or nullptr with
// --anomaly-signals=false. Sign-in counts go where the throttle's do by default
// (counting_store); client-side sessions have no user index, so only the cycles are watched.
// Its anomaly events go to `events`.
std::unique_ptr<sessionkit::AnomalyDetector> make_detector(
    const demo::Config& cfg, const sessionkit::StoreBackend& backend,
    std::shared_ptr<sessionkit::Metrics> metrics, std::shared_ptr<sessionkit::EventSink> events) {
  if (!cfg.anomaly_signals) return nullptr;
  sessionkit::AnomalyDetectorOptions o;
  o.max_networks = cfg.anomaly_max_networks;
  o.max_user_agents = cfg.anomaly_max_user_agents;
  o.max_sign_ins = cfg.anomaly_max_sign_ins;
  std::string where;
  std::shared_ptr<sessionkit::SessionStore> counts = counting_store(backend, where);
  std::shared_ptr<sessionkit::SessionStore> sessions = backend.store;
  if (!sessions) {
    if (o.max_networks > 0 || o.max_user_agents > 0) {
      spdlog::info(
          "anomaly signals: client-side sessions have no user index: networks and "
          "user agents per user are not watched");
    }
    o.max_networks = 0;
    o.max_user_agents = 0;
    sessions = counts;
  }
  auto detector =
      sessionkit::AnomalyDetector::create(std::move(sessions), sessionkit::system_clock(), o,
                                          std::move(events), std::move(metrics), std::move(counts));
  if (!detector) throw UsageError("anomaly signals: " + detector.message());
  return std::move(detector).value();
}

// Serves until a signal ends it.
void run(const demo::Config& cfg, Settings& s, OpenedStore opened) {
  sessionkit::StoreBackend backend = std::move(opened.backend);
  demo::UserDirectory users = demo::UserDirectory::with_demo_accounts();
  // The directory is the manager's CredentialSource (non-owning: it outlives the manager):
  // a session whose user's security stamp changed ends on its next request.
  sessionkit::SessionManager::Dependencies deps;
  deps.credentials =
      std::shared_ptr<const sessionkit::CredentialSource>(std::shared_ptr<void>(), &users);
  deps.client_side = backend.client_side;  // cookie://: no store, client-side sessions
  const sessionkit::Keyring session_keyring = *s.keyring;
  if (cfg.encrypt_at_rest) {
    // Before anything uses the store: the manager, the throttle's and the detector's counts and
    // the refresh tokens all go through the sealing decorator.
    if (!backend.store) {
      throw UsageError("--encrypt-at-rest needs a server-side store (cookie:// is sealed already)");
    }
    sessionkit::EncryptedStoreOptions sealing;
    sealing.compression.threshold = cfg.compress_above;
    backend.store =
        sessionkit::EncryptedStore::wrap(std::move(backend.store), session_keyring, sealing);
    spdlog::info("encryption at rest: payload values, client addresses and User-Agents sealed");
  } else if (cfg.compress_above > 0) {
    if (!backend.store) throw UsageError("--compress-above needs a server-side store");
    backend.store = sessionkit::CompressedStore::wrap(std::move(backend.store),
                                                      {.threshold = cfg.compress_above});
  }
  if (cfg.compress_above > 0) {
    spdlog::info("compression at rest: values of {}+ bytes stored zstd-compressed",
                 cfg.compress_above);
  }
  // One Metrics for the manager and the sign-in guards: /metrics shows all their counts.
  auto metrics = std::make_shared<sessionkit::Metrics>();
  deps.metrics = metrics;
  // One sink for the manager and the sign-in guards too: every lifecycle and anomaly event is
  // logged and kept among the recent ones GET /events shows.
  const auto recent = std::make_shared<sessionkit::RecentEvents>(kRecentEvents);
  const std::shared_ptr<sessionkit::EventSink> events =
      sessionkit::make_tee_sink({sessionkit::make_log_sink(), recent});
  deps.events = events;
  const std::unique_ptr<sessionkit::LoginThrottle> throttle =
      make_throttle(cfg, backend, session_keyring, metrics, events);
  const std::unique_ptr<sessionkit::AnomalyDetector> detector =
      make_detector(cfg, backend, metrics, events);
  sessionkit::SessionManager manager(std::move(backend.store), std::move(*s.keyring), s.options,
                                     std::move(deps));
  // Token sessions need a store (refresh-token families live in session records).
  std::optional<demo::TokenService> tokens;
  if (manager.store() != nullptr) tokens.emplace(manager, session_keyring, cfg, s.production);
  boost::asio::thread_pool hash_pool(2);  // argon2id verifications, off the I/O threads
  demo::Router router(manager, users, hash_pool.get_executor(), router_options(cfg, s),
                      tokens ? &*tokens : nullptr, throttle.get(), detector.get(), recent.get());
  RouterHandler handler(router);
  sessionkit_apps::http::Server server(
      handler, server_options(cfg, s, manager, std::move(opened.attach_loop)));
  try {
    server.start();
  } catch (const std::system_error& e) {
    throw StartupFailure(e.what());
  }
  server.run();
  hash_pool.join();  // before `server` (and its io_context) goes away
}

}  // namespace

int main(int argc, char** argv) {
  demo::Config cfg;
  CLI::App app{
      "sessionkit-demo: a small web app showing sessionkit's session management.\n"
      "Every flag falls back to the environment variable shown; a flag wins."};
  demo::add_flags(app, cfg);
  const bool secret_on_command_line = demo::on_command_line(argc, argv, "--secret");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  demo::hide_from_command_line(argc, argv, "--secret");
  set_up_logging();

  try {
    Settings settings = settings_of(cfg, secret_on_command_line);
    run(cfg, settings, open_store(cfg, settings.options));
  } catch (const UsageError& e) {
    std::cerr << "sessionkit-demo: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {  // StartupFailure, or an error while serving
    std::cerr << "sessionkit-demo: " << e.what() << "\n";
    return kExitFailure;
  }
  return 0;
}
