// Creates a session through an installed sessionkit and reads it back by its cookie.
#include <sessionkit/manager.h>
#include <sessionkit/stores/memory.h>
#include <sessionkit/stores/redis.h>
#include <sessionkit/stores/sqlite.h>
#ifdef CONSUMER_HAS_POSTGRES
#include <sessionkit/stores/postgres.h>
#endif
#ifdef CONSUMER_HAS_STORE_URL
#include <sessionkit/stores/url.h>
#endif

#include <cstdio>
#include <string>

namespace {

struct Request final : sessionkit::http::RequestView {
  std::string cookie;
  std::string_view method() const override { return "GET"; }
  std::string_view target() const override { return "/"; }
  std::optional<std::string_view> header(std::string_view name) const override {
    if (name == "Cookie" && !cookie.empty()) return cookie;
    return std::nullopt;
  }
  std::string_view peer_address() const override { return "127.0.0.1"; }
  bool is_tls() const override { return false; }
};

struct Response final : sessionkit::http::ResponseHeaders {
  std::string set_cookie;
  void add(std::string_view name, std::string_view value) override {
    if (name == "Set-Cookie") set_cookie = value;
  }
  void set(std::string_view, std::string_view) override {}
};

}  // namespace

int main() {
  auto store = std::make_shared<sessionkit::MemoryStore>();
  sessionkit::SessionManager manager(store, sessionkit::Keyring::ephemeral(),
                                     sessionkit::SessionOptions::development());
  Request first;
  Response out;
  manager.load(first, [&](sessionkit::Result<sessionkit::Session> r) {
    if (!r) return;
    r->set("greeting", "hello");
    manager.commit(*r, out, [](sessionkit::Status) {});
  });
  Request second;
  second.cookie = out.set_cookie.substr(0, out.set_cookie.find(';'));
  std::string greeting;
  manager.load(second, [&](sessionkit::Result<sessionkit::Session> r) {
    if (r) greeting = r->get<std::string>("greeting").value_or("");
  });
  if (greeting != "hello") {
    std::puts("consumer: session did not round-trip");
    return 1;
  }
  // The Redis store links too (no server here: only its URL parser runs).
  auto redis =
      sessionkit::RedisStoreOptions::from_url("redis+cluster://127.0.0.1:7000,127.0.0.1:7001");
  if (!redis || redis->nodes.size() != 2) {
    std::puts("consumer: redis URL did not parse");
    return 1;
  }
#ifdef CONSUMER_HAS_POSTGRES
  // Links against libpq through the package; bad options are refused before any connection.
  auto pg = sessionkit::PostgresStore::open({.table = "Not-An-Identifier"});
  if (pg.code() != sessionkit::errc::invalid_argument) {
    std::puts("consumer: postgres store did not check its options");
    return 1;
  }
#endif
#ifdef CONSUMER_HAS_STORE_URL
  // Any store from a URL, through the installed store_url component.
  auto opened = sessionkit::open_store_url("memory://");
  if (!opened || !opened->store) {
    std::puts("consumer: open_store_url(memory://) failed");
    return 1;
  }
  if (sessionkit::redact_store_url("redis://u:hunter22@h:6379") != "redis://u:***@h:6379") {
    std::puts("consumer: redact_store_url did not hide the password");
    return 1;
  }
#endif
  std::puts("consumer: ok");
  return 0;
}
