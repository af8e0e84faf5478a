// sessiond — sessionkit as a service: sessions over a small JSON API for apps in any language
// (docs/sessiond.md).
//
//   SESSIOND_API_KEY=<key> sessiond --store memory:// --listen 127.0.0.1:7400
//   sessiond --store redis://… --api-key-file /etc/sessiond/keys     (SIGHUP reloads the file)
//   sessiond hash-key NAME < key          prints "NAME SHA256-HEX", a line for the key file
//
// Every flag has an environment variable (SESSIOND_…, see --help). In production mode (the
// default) it refuses to start without an API key; `--mode development` allows none, loudly.
// Exit codes: 0 after a clean shutdown (SIGINT/SIGTERM: requests in flight finish), 2 for bad
// usage or configuration, 1 when it cannot start (the address is taken, the store is down).
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "api.h"
#include "api_keys.h"
#include "common/http/server.h"
#include "common/http/store_loops.h"
#include "config_file.h"
#include "logging.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/session_id.h"
#include "sessionkit/stores/url.h"
#include "tls.h"
#include "token_support.h"

namespace {

struct Config {
  std::string listen = "127.0.0.1:7400";
  std::string store;
  std::string mode = "production";
  std::string api_key_file;
  unsigned threads = 2;
  bool redis_io_thread = false;
  long idle_timeout = 1800;
  long absolute_timeout = 43200;
  long touch_interval = 60;
  std::uint64_t max_body = std::uint64_t{64} * 1024;
  std::size_t max_connections = 0;
  std::string log_level = "info";
  bool allow_clear = false;
  std::string log_format = "text";
  bool access_log = false;
  std::string config_file;
  long janitor_interval = 30;
  std::string token_keys;
  std::string secret_file;
  std::string token_issuer = "sessiond";
  std::string token_audience = "sessiond";
  long token_lifetime = 300;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CLI::ValidationError("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The keys of the file and SESSIOND_API_KEY; throws CLI::ValidationError naming the problem.
std::vector<sessiond::ApiKeys::Entry> load_keys(const Config& cfg) {
  std::vector<sessiond::ApiKeys::Entry> entries;
  if (!cfg.api_key_file.empty()) {
    try {
      entries = sessiond::ApiKeys::parse_file(read_file(cfg.api_key_file));
    } catch (const std::runtime_error& e) {
      throw CLI::ValidationError("--api-key-file", cfg.api_key_file + ": " + e.what());
    }
  }
  if (const char* key = std::getenv("SESSIOND_API_KEY"); key != nullptr && *key != '\0') {
    if (std::string_view(key).size() < 20) {
      throw CLI::ValidationError("SESSIOND_API_KEY", "a key has at least 20 characters");
    }
    entries.push_back({.name = "env", .digest = sessiond::ApiKeys::digest_of(key)});
  }
  return entries;
}

// `sessiond token-keys [--rotate FILE]`: prints a private JWK Set; exit 0, or 2 for a bad file.
int print_token_keys(const std::string& rotate_file) {
  namespace tok = sessionkit::tokens;
  std::unique_ptr<tok::KeyRing> ring;
  if (rotate_file.empty()) {
    ring = std::make_unique<tok::KeyRing>();
  } else {
    auto imported = tok::KeyRing::import(read_file(rotate_file));
    if (!imported) {
      std::cerr << "sessiond token-keys: " << rotate_file << ": " << imported.message() << '\n';
      return 2;
    }
    ring = std::move(imported).value();
  }
  const std::string kid = "sessiond-" + sessionkit::SessionId::generate().str().substr(0, 12);
  if (auto key = ring->rotate(tok::Algorithm::eddsa, kid); !key) {
    std::cerr << "sessiond token-keys: " << key.message() << '\n';
    return 2;
  }
  std::cout << ring->export_private() << '\n';
  return 0;
}

// The keyring that seals refresh tokens: --secret-file, else SESSIOND_SECRET. Throws
// std::runtime_error when neither is given or it does not parse (the SessionManager refuses
// secrets that are too short).
sessionkit::Keyring token_keyring(const Config& cfg) {
  std::string text;
  if (!cfg.secret_file.empty()) {
    text = read_file(cfg.secret_file);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
      text.pop_back();
  } else if (const char* env = std::getenv("SESSIOND_SECRET"); env != nullptr) {
    text = env;
  }
  if (text.empty()) {
    throw std::runtime_error("--token-keys needs a secret: SESSIOND_SECRET or --secret-file");
  }
  auto keyring = sessionkit::Keyring::parse(text);
  if (!keyring) throw std::runtime_error("the secret: " + keyring.message());
  return std::move(keyring).value();
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"sessiond: sessionkit sessions over a JSON API (docs/sessiond.md)"};
  app.add_option("--listen", cfg.listen, "HOST:PORT to listen on (default 127.0.0.1:7400)")
      ->envname("SESSIOND_LISTEN");
  app.add_option("--store", cfg.store, "Session store URL (as sessionkit-demo's --store)")
      ->envname("SESSIOND_STORE");
  app.add_option("--mode", cfg.mode,
                 "production (default: an API key is required) or development (none allowed)")
      ->envname("SESSIOND_MODE")
      ->check(CLI::IsMember({"production", "development"}));
  app.add_option("--api-key-file", cfg.api_key_file,
                 "Named API keys, one \"NAME SHA256-HEX\" per line (sessiond hash-key); "
                 "SIGHUP reloads it. SESSIOND_API_KEY adds one key in clear")
      ->envname("SESSIOND_API_KEY_FILE");
  app.add_option("--threads", cfg.threads, "Server threads (default 2)")
      ->envname("SESSIOND_THREADS")
      ->check(CLI::Range(1u, 256u));
  app.add_flag("--redis-io-thread", cfg.redis_io_thread,
               "Run a redis:// store on its own I/O thread instead of on the server's threads "
               "(slower; for comparison)")
      ->envname("SESSIOND_REDIS_IO_THREAD");
  app.add_option("--idle-timeout", cfg.idle_timeout, "Seconds a session lives unused (1800)")
      ->envname("SESSIOND_IDLE_TIMEOUT")
      ->check(CLI::Range(1L, 366L * 86400));
  app.add_option("--absolute-timeout", cfg.absolute_timeout,
                 "Seconds a session lives at most (43200)")
      ->envname("SESSIOND_ABSOLUTE_TIMEOUT")
      ->check(CLI::Range(1L, 366L * 86400));
  app.add_option("--touch-interval", cfg.touch_interval,
                 "A read refreshes the idle deadline at most this often, seconds (60)")
      ->envname("SESSIOND_TOUCH_INTERVAL")
      ->check(CLI::Range(0L, 86400L));
  app.add_option("--janitor-interval", cfg.janitor_interval,
                 "Seconds between purges of expired sessions on stores that keep them (30)")
      ->envname("SESSIOND_JANITOR_INTERVAL")
      ->check(CLI::Range(1L, 86400L));
  app.add_option("--max-body", cfg.max_body, "Largest request body in bytes (65536): else 413")
      ->envname("SESSIOND_MAX_BODY")
      ->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{64} << 20));
  app.add_option("--max-connections", cfg.max_connections,
                 "Connections served at once (0: from the descriptor limit)")
      ->envname("SESSIOND_MAX_CONNECTIONS");
  app.add_flag("--allow-clear", cfg.allow_clear,
               "Let DELETE /v1/sessions end every session (test fixtures; off by default)")
      ->envname("SESSIOND_ALLOW_CLEAR");
  app.add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error (info)")
      ->envname("SESSIOND_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--log-format", cfg.log_format, "text, or json: one JSON object per line (text)")
      ->envname("SESSIOND_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--access-log", cfg.access_log,
               "One info line per request: request id, method, route, status, duration")
      ->envname("SESSIOND_ACCESS_LOG");
  app.add_option("--tls-cert", cfg.tls_cert, "PEM certificate chain: serve HTTPS (with --tls-key)")
      ->envname("SESSIOND_TLS_CERT")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-key", cfg.tls_key, "PEM private key of --tls-cert")
      ->envname("SESSIOND_TLS_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--tls-client-ca", cfg.tls_client_ca,
                 "PEM CA bundle: callers must present a certificate it issued (mutual TLS)")
      ->envname("SESSIOND_TLS_CLIENT_CA")
      ->check(CLI::ExistingFile);
  app.add_option("--config", cfg.config_file,
                 "A TOML file of these options (long names as keys; flags and SESSIOND_* win)")
      ->envname("SESSIOND_CONFIG")
      ->check(CLI::ExistingFile);
  app.add_option("--token-keys", cfg.token_keys,
                 "Access-token signing keys, a private JWK Set (`sessiond token-keys`): turns the "
                 "token routes on")
      ->envname("SESSIOND_TOKEN_KEYS")
      ->check(CLI::ExistingFile);
  app.add_option("--secret-file", cfg.secret_file,
                 "The secrets sealing refresh tokens, comma-separated, newest first (or "
                 "SESSIOND_SECRET); needed with --token-keys")
      ->envname("SESSIOND_SECRET_FILE")
      ->check(CLI::ExistingFile);
  app.add_option("--token-issuer", cfg.token_issuer, "Access tokens' iss claim (sessiond)")
      ->envname("SESSIOND_TOKEN_ISSUER");
  app.add_option("--token-audience", cfg.token_audience, "Access tokens' aud claim (sessiond)")
      ->envname("SESSIOND_TOKEN_AUDIENCE");
  app.add_option("--token-lifetime", cfg.token_lifetime, "Access tokens' lifetime, seconds (300)")
      ->envname("SESSIOND_TOKEN_LIFETIME")
      ->check(CLI::Range(10L, 86400L));
  std::string key_name;
  CLI::App* hash_cmd =
      app.add_subcommand("hash-key", "Read an API key on stdin, print its line for --api-key-file");
  hash_cmd->add_option("name", key_name, "The key's name (who uses it)")->required();
  std::string rotate_file;
  CLI::App* keys_cmd = app.add_subcommand(
      "token-keys",
      "Print a private JWK Set for --token-keys: a new Ed25519 key (--rotate FILE: "
      "FILE's keys plus a new one that signs from now on; the others retire)");
  keys_cmd->add_option("--rotate", rotate_file, "The current key file")->check(CLI::ExistingFile);

  try {
    app.parse(argc, argv);
    if (!cfg.config_file.empty() && !*hash_cmd && !*keys_cmd) {
      sessiond::apply_config_file(app, cfg.config_file);
    }
    if (*keys_cmd) return print_token_keys(rotate_file);
    if (*hash_cmd) {
      std::string key;
      std::getline(std::cin, key);
      if (key.size() < 20)
        throw CLI::ValidationError("hash-key", "a key has at least 20 characters");
      if (key_name.find_first_of(" \t") != std::string::npos) {
        throw CLI::ValidationError("hash-key", "a name has no spaces");
      }
      std::cout << sessiond::ApiKeys::line_for(key_name, key) << '\n';
      return 0;
    }
    if (cfg.store.empty()) throw CLI::RequiredError("--store");
    if (cfg.tls_cert.empty() != cfg.tls_key.empty()) {
      throw CLI::ValidationError("--tls-cert", "--tls-cert and --tls-key go together");
    }
    if (!cfg.tls_client_ca.empty() && cfg.tls_cert.empty()) {
      throw CLI::ValidationError("--tls-client-ca", "needs --tls-cert and --tls-key");
    }
    if (cfg.absolute_timeout < cfg.idle_timeout) {
      throw CLI::ValidationError("--absolute-timeout", "must not be shorter than --idle-timeout");
    }
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  sessiond::use_log_format(cfg.log_format == "json" ? sessiond::LogFormat::json
                                                    : sessiond::LogFormat::text);

  sessiond::ApiKeys keys;
  try {
    keys.reload(load_keys(cfg));
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  const bool production = cfg.mode == "production";
  const bool mutual_tls = !cfg.tls_client_ca.empty();
  std::shared_ptr<boost::asio::ssl::context> tls;
  if (!cfg.tls_cert.empty()) {
    try {
      tls = sessiond::make_tls_context(
          {.cert = cfg.tls_cert, .key = cfg.tls_key, .client_ca = cfg.tls_client_ca});
    } catch (const std::runtime_error& e) {
      std::cerr << "sessiond: " << e.what() << '\n';
      return 2;
    }
  }
  if (keys.size() == 0 && mutual_tls) {
    spdlog::info("no API key: callers are authenticated by their TLS client certificate alone");
  } else if (keys.size() == 0) {
    if (production) {
      std::cerr << "sessiond: no API key: set SESSIOND_API_KEY or --api-key-file (or "
                   "--mode development to run without one)\n";
      return 2;
    }
    spdlog::warn(
        "development mode without an API key: anyone who reaches {} may use every "
        "session",
        cfg.listen);
  }

  auto backend = sessionkit::open_store_url(cfg.store);
  if (!backend || !backend->store) {
    std::cerr << "sessiond: --store: "
              << (backend ? std::string("cookie:// keeps sessions in the client: sessiond needs a "
                                        "server-side store")
                          : backend.status().to_string())
              << '\n';
    return 2;
  }
  spdlog::info("session store: {} ({})", backend->store->name(),
               sessionkit::redact_store_url(cfg.store));

  sessiond::ApiOptions api_options;
  api_options.idle_timeout = std::chrono::seconds(cfg.idle_timeout);
  api_options.absolute_timeout = std::chrono::seconds(cfg.absolute_timeout);
  api_options.touch_interval = std::chrono::seconds(cfg.touch_interval);
  // Mutual TLS authenticates callers by itself; configured keys are required on top of it.
  api_options.require_key = keys.size() > 0 || (production && !mutual_tls);
  api_options.allow_clear = cfg.allow_clear;
  api_options.access_log = cfg.access_log;
  std::unique_ptr<sessiond::TokenSupport> tokens;
  if (!cfg.token_keys.empty()) {
    try {
      tokens = std::make_unique<sessiond::TokenSupport>(
          backend->store, token_keyring(cfg),
          sessiond::TokenSettings{.keys_text = read_file(cfg.token_keys),
                                  .issuer = cfg.token_issuer,
                                  .audience = cfg.token_audience,
                                  .lifetime = std::chrono::seconds(cfg.token_lifetime),
                                  .idle_timeout = api_options.idle_timeout,
                                  .absolute_timeout = api_options.absolute_timeout,
                                  .touch_interval = api_options.touch_interval});
    } catch (const std::exception& e) {
      std::cerr << "sessiond: " << e.what() << '\n';
      return 2;
    }
    spdlog::info("token sessions on: issuer {}, audience {}, access tokens live {} s",
                 cfg.token_issuer, cfg.token_audience, cfg.token_lifetime);
  }
  sessiond::Api api(backend->store, keys, api_options, nullptr, tokens.get());

  sessionkit_apps::http::ServerOptions server_options;
  server_options.name = "sessiond";
  server_options.announce_on_stdout = cfg.log_format != "json";
  server_options.tls = tls;
  const auto colon = cfg.listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "sessiond: --listen: HOST:PORT expected\n";
    return 2;
  }
  server_options.host = cfg.listen.substr(0, colon);
  try {
    server_options.port = static_cast<std::uint16_t>(std::stoul(cfg.listen.substr(colon + 1)));
  } catch (const std::exception&) {
    std::cerr << "sessiond: --listen: HOST:PORT expected\n";
    return 2;
  }
  server_options.threads = cfg.threads;
  server_options.body_limit = cfg.max_body;
  server_options.max_connections = cfg.max_connections;
  server_options.metrics = &api.metrics();
  server_options.janitor_store = &api.store();
  server_options.janitor_interval = std::chrono::seconds(cfg.janitor_interval);
  // A Redis store's connections on each server thread: a request never changes thread.
  server_options.attach_loop =
      sessionkit_apps::http::store_loop_hook(backend->store, !cfg.redis_io_thread);

  // SIGHUP reloads the key file; blocked here, before any thread starts, and awaited by one.
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  std::atomic<bool> done{false};
  std::thread reloader([&] {
    for (;;) {
      int sig = 0;
      sigwait(&hup, &sig);
      if (done) return;
      try {
        const auto entries = load_keys(cfg);
        if (entries.empty() && production) {
          spdlog::error("SIGHUP: the new key set is empty; keeping the old one");
          continue;
        }
        keys.reload(entries);
        spdlog::info("SIGHUP: {} API key(s) loaded", entries.size());
      } catch (const CLI::ParseError& e) {
        spdlog::error("SIGHUP: keeping the old keys: {}", e.what());
      }
    }
  });

  int code = 0;
  try {
    sessionkit_apps::http::Server server(api, server_options);
    server.start();
    server.run();
  } catch (const std::system_error& e) {
    std::cerr << "sessiond: " << e.what() << '\n';
    code = 1;
  }
  done = true;
  pthread_kill(reloader.native_handle(), SIGHUP);
  reloader.join();
  return code;
}
