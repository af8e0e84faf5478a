// bench_stores.h — which stores a per-store benchmark runs on (bench/tokens.sh,
// bench/compression.sh): the comma-separated URLs in SESSIONKIT_BENCH_STORES, or by default
// memory:// and a fresh SQLite file `<tmp>/<default_db>`.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace bench {

inline std::vector<std::string> store_urls(const std::string& default_db) {
  std::vector<std::string> urls;
  if (const char* env = std::getenv("SESSIONKIT_BENCH_STORES"); env != nullptr && *env != 0) {
    const std::string list = env;
    std::size_t pos = 0;
    while (pos <= list.size()) {
      const std::size_t end = std::min(list.find(',', pos), list.size());
      if (end > pos) urls.push_back(list.substr(pos, end - pos));
      pos = end + 1;
    }
    return urls;
  }
  const auto db = std::filesystem::temp_directory_path() / default_db;
  std::filesystem::remove(db);
  return {"memory://", "sqlite://" + db.string()};
}

}  // namespace bench
