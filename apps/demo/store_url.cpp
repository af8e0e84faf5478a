#include "store_url.h"

#include <filesystem>
#include <string>
#include <system_error>

#include <charconv>

#include "sessionkit/stores/cookie.h"
#include "sessionkit/stores/memory.h"
#include "sessionkit/stores/sqlite.h"
#ifdef SESSIONKIT_DEMO_REDIS
#include "sessionkit/stores/redis.h"
#endif
#ifdef SESSIONKIT_DEMO_POSTGRES
#include "sessionkit/stores/postgres.h"
#endif

namespace demo {

using sessionkit::errc;

namespace {
constexpr std::string_view kSchemes =
    "memory://, sqlite://PATH, cookie://[?max_bytes=N]"
#ifdef SESSIONKIT_DEMO_REDIS
    ", redis://, rediss://, redis+cluster://, rediss+cluster://"
#endif
#ifdef SESSIONKIT_DEMO_POSTGRES
    ", postgresql://"
#endif
    ;
}  // namespace

sessionkit::Result<std::shared_ptr<sessionkit::SessionStore>> open_store(std::string_view url) {
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return {errc::invalid_argument,
            "store URL '" + redact(url) + "' has no scheme (use " + std::string(kSchemes) + ")"};
  }
  std::string_view scheme = url.substr(0, sep);
  std::string_view rest = url.substr(sep + 3);

  if (scheme == "memory") {
    if (!rest.empty()) {
      return {errc::invalid_argument, "memory:// takes no path or options"};
    }
    return std::shared_ptr<sessionkit::SessionStore>(
        std::make_shared<sessionkit::MemoryStore>(sessionkit::MemoryStoreOptions{}));
  }

  if (scheme == "cookie") {
    sessionkit::CookieStoreOptions options;
    if (!rest.empty()) {
      constexpr std::string_view kOption = "?max_bytes=";
      std::size_t n = 0;
      const std::string_view value = rest.substr(std::min(rest.size(), kOption.size()));
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (!rest.starts_with(kOption) || value.empty() || ec != std::errc() ||
          end != value.data() + value.size() || n < 100 || n > 4000) {
        return {errc::invalid_argument,
                "cookie:// takes only ?max_bytes=N (100 to 4000; default 3800)"};
      }
      options.max_cookie_bytes = n;
    }
    return std::shared_ptr<sessionkit::SessionStore>(
        std::make_shared<sessionkit::CookieStore>(options));
  }

  if (scheme == "sqlite") {
    if (rest.empty()) {
      return {errc::invalid_argument, "sqlite:// needs a file path, e.g. sqlite://./data/s.db"};
    }
    std::filesystem::path path{std::string(rest)};
    if (path.has_parent_path()) {
      std::error_code ec;
      std::filesystem::create_directories(path.parent_path(), ec);
      if (ec) {
        return {errc::unavailable,
                "cannot create directory '" + path.parent_path().string() + "': " + ec.message()};
      }
    }
    sessionkit::SqliteStoreOptions options;
    options.path = path.string();
    auto store = sessionkit::SqliteStore::open(std::move(options));
    if (!store) return store.status();
    return std::shared_ptr<sessionkit::SessionStore>(std::move(store).value());
  }

#ifdef SESSIONKIT_DEMO_REDIS
  if (scheme == "redis" || scheme == "rediss" || scheme == "redis+cluster" ||
      scheme == "rediss+cluster") {
    auto options = sessionkit::RedisStoreOptions::from_url(url);
    if (!options) return options.status();
    auto store = sessionkit::RedisStore::open(std::move(*options));
    if (!store) return store.status();
    return std::shared_ptr<sessionkit::SessionStore>(std::move(store).value());
  }
#endif

#ifdef SESSIONKIT_DEMO_POSTGRES
  if (scheme == "postgresql" || scheme == "postgres") {
    sessionkit::PostgresStoreOptions options;
    options.conninfo = std::string(url);  // libpq parses the URI itself (sslmode=..., etc.)
    auto store = sessionkit::PostgresStore::open(std::move(options));
    if (!store) return store.status();
    return std::shared_ptr<sessionkit::SessionStore>(std::move(store).value());
  }
#endif

  return {errc::invalid_argument, "unknown store scheme '" + std::string(scheme) +
                                      "://' (supported: " + std::string(kSchemes) + ")"};
}

std::string redact(std::string_view url) {
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::string(url);
  std::size_t end = url.find_first_of("/?", sep + 3);
  std::size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < sep) return std::string(url);
  std::size_t colon = url.find(':', sep + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

}  // namespace demo
