// A session round trip through the installed SQLite store, with the synchronous facade: what an
// app that asked only for the components core and sqlite can do.
#include <sessionkit/manager.h>
#include <sessionkit/stores/sqlite.h>
#include <sessionkit/sync.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <unistd.h>

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

int fail(const char* what, const std::string& why) {
  std::fprintf(stderr, "minimal_consumer: %s: %s\n", what, why.c_str());
  return 1;
}

}  // namespace

int main() {
  namespace sk = sessionkit;
  const auto dir =
      std::filesystem::temp_directory_path() / ("sessionkit-minimal-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::filesystem::path dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};

  auto store = sk::SqliteStore::open({.path = (dir / "sessions.db").string()});
  if (!store) return fail("open", store.message());
  sk::SessionManager manager(*store, sk::Keyring::ephemeral(), sk::SessionOptions::development());

  Request first;
  Response out;
  auto session = sk::sync::load(manager, first);
  if (!session) return fail("load", session.message());
  auto visits = sk::sync::increment(manager, *session, "visits", 1);
  if (!visits || *visits != 1) return fail("increment", visits ? "not 1" : visits.message());
  if (auto done = sk::sync::commit(manager, *session, out); !done)
    return fail("commit", done.message());
  if (out.set_cookie.empty()) return fail("commit", "no Set-Cookie");

  Request second;
  second.cookie = out.set_cookie.substr(0, out.set_cookie.find(';'));
  auto again = sk::sync::load(manager, second);
  if (!again) return fail("second load", again.message());
  if (again->get<std::int64_t>("visits").value_or(0) != 1)
    return fail("second load", "the visit count did not survive");
  std::puts("minimal_consumer: ok");
  return 0;
}
