#include "store_url.h"

#include <filesystem>
#include <string>
#include <system_error>

#include "sessionkit/stores/memory.h"
#include "sessionkit/stores/sqlite.h"

namespace demo {

using sessionkit::errc;

sessionkit::Result<std::shared_ptr<sessionkit::SessionStore>> open_store(std::string_view url) {
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return {errc::invalid_argument,
            "store URL '" + std::string(url) + "' has no scheme (use memory:// or sqlite://PATH)"};
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

  return {errc::invalid_argument, "unknown store scheme '" + std::string(scheme) +
                                      "://' (supported: memory://, sqlite://PATH)"};
}

}  // namespace demo
