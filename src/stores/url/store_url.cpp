// sessionkit::store_url: a store, or client-side sessions, from a URL (sessionkit/stores/url.h).
#include "sessionkit/stores/url.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "sessionkit/events.h"
#include "sessionkit/stores/memory.h"
#ifdef SESSIONKIT_STORE_URL_SQLITE
#include "sessionkit/stores/sqlite.h"
#endif
#ifdef SESSIONKIT_STORE_URL_REDIS
#include "sessionkit/stores/redis.h"
#endif
#ifdef SESSIONKIT_STORE_URL_POSTGRES
#include "sessionkit/stores/postgres.h"
#endif

namespace sessionkit {

namespace {
// The schemes of the stores this build has.
constexpr std::string_view kSchemes =
    "memory://"
#ifdef SESSIONKIT_STORE_URL_SQLITE
    ", sqlite://PATH[?synchronous=normal]"
#endif
#ifdef SESSIONKIT_STORE_URL_REDIS
    ", redis://, rediss://, redis+cluster://, rediss+cluster://"
#endif
#ifdef SESSIONKIT_STORE_URL_POSTGRES
    ", postgresql://"
#endif
    ", cookie://[?max_bytes=N]";

// ---- secrets in URLs and conninfo strings ----

// Percent-decodes what decodes and keeps any malformed escape as it is.
std::string percent_decode_lenient(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    int v = 0;
    if (s[i] == '%' && i + 2 < s.size()) {
      auto [end, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc() && end == s.data() + i + 3) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// A parameter whose value is a secret: password, sslpassword, pass, pwd, secret, token, ...
bool is_secret_name(std::string_view raw) {
  std::string name = percent_decode_lenient(raw);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view word : {"pass", "pwd", "secret", "token"}) {
    if (name.find(word) != std::string::npos) return true;
  }
  return false;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct Span {
  std::size_t begin;
  std::size_t end;
};

// Secret values in a libpq keyword/value string: `host=x password='a b' sslpassword=c`. After a
// secret, a word without '=' is hidden too (the rest of an unquoted password with a space).
std::vector<Span> keyword_value_secrets(std::string_view t) {
  std::vector<Span> spans;
  bool after_secret = false;
  std::size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && is_space(t[i]))
      ++i;
    if (i >= t.size()) break;
    const std::size_t key_begin = i;
    while (i < t.size() && !is_space(t[i]) && t[i] != '=')
      ++i;
    const std::string_view key = t.substr(key_begin, i - key_begin);
    std::size_t j = i;
    while (j < t.size() && is_space(t[j]))
      ++j;
    if (j >= t.size() || t[j] != '=') {
      if (after_secret) spans.push_back({key_begin, i});
      continue;
    }
    i = j + 1;
    while (i < t.size() && is_space(t[i]))
      ++i;
    const std::size_t value_begin = i;
    const bool quoted = i < t.size() && t[i] == '\'';
    if (quoted) ++i;
    while (i < t.size() && (quoted ? t[i] != '\'' : !is_space(t[i]))) {
      i += t[i] == '\\' ? 2 : 1;
    }
    i = std::min(i + (quoted ? 1 : 0), t.size());
    after_secret = is_secret_name(key);
    if (after_secret) spans.push_back({value_begin, i});
  }
  return spans;
}

// The end of a query value starting at `i`: the next '&' (a secret's value runs on to the next
// '&' that starts a `name=` parameter, so that a password with an '&' stays hidden whole).
std::size_t query_value_end(std::string_view t, std::size_t i, bool secret) {
  for (std::size_t amp = t.find('&', i); amp != std::string_view::npos;
       amp = t.find('&', amp + 1)) {
    if (!secret) return amp;
    std::size_t k = amp + 1;
    while (k < t.size() && (std::isalnum(static_cast<unsigned char>(t[k])) || t[k] == '_' ||
                            t[k] == '-' || t[k] == '.' || t[k] == '%')) {
      ++k;
    }
    if (k > amp + 1 && k < t.size() && t[k] == '=') return amp;
  }
  return t.size();
}

// Where the secrets of a store URL (or conninfo string) are.
std::vector<Span> secret_spans(std::string_view t) {
  const std::size_t sep = t.find("://");
  if (sep == std::string_view::npos) return keyword_value_secrets(t);
  std::vector<Span> spans;
  const std::size_t body = sep + 3;
  std::size_t query_from = body;
  // The userinfo ends at the LAST '@': a password with an unencoded '/', '?', '#' or '@' is
  // still hidden whole (at the price of hiding too much when a query value holds an '@').
  if (const std::size_t at = t.rfind('@'); at != std::string_view::npos && at >= body) {
    const std::size_t colon = t.find(':', body);
    if (colon < at) spans.push_back({colon + 1, at});
    query_from = at + 1;
  }
  const std::size_t q = t.find('?', query_from);
  for (std::size_t i = q == std::string_view::npos ? t.size() : q + 1; i < t.size();) {
    const std::size_t name_end = t.find_first_of("=&", i);
    if (name_end == std::string_view::npos) break;
    if (t[name_end] == '&') {
      i = name_end + 1;
      continue;
    }
    const bool secret = is_secret_name(t.substr(i, name_end - i));
    const std::size_t value_end = query_value_end(t, name_end + 1, secret);
    if (secret) spans.push_back({name_end + 1, value_end});
    i = value_end + 1;
  }
  return spans;
}

// The spellings of one secret that a message could contain: as written, unquoted and
// unescaped, percent-decoded, and its pieces between URL and conninfo delimiters.
void add_secret_forms(std::string_view raw, std::vector<std::string>& out) {
  std::string plain(raw);
  if (plain.size() >= 2 && plain.front() == '\'' && plain.back() == '\'') {
    plain = plain.substr(1, plain.size() - 2);
  }
  std::string unescaped;
  for (std::size_t i = 0; i < plain.size(); ++i) {
    if (plain[i] == '\\' && i + 1 < plain.size()) ++i;
    unescaped.push_back(plain[i]);
  }
  for (const std::string& whole :
       {std::string(raw), plain, unescaped, percent_decode_lenient(plain)}) {
    if (whole.size() >= 3) out.push_back(whole);
    std::size_t start = 0;
    for (std::size_t i = 0; i <= whole.size(); ++i) {
      if (i == whole.size() || std::strchr("/?#@:&= \t'\\%", whole[i]) != nullptr) {
        if (i - start >= 4) out.push_back(whole.substr(start, i - start));
        start = i + 1;
      }
    }
  }
}
using StoreResult = Result<std::shared_ptr<SessionStore>>;

constexpr std::string_view kCookieScheme = "cookie://";

// A scheme whose store this build left out: which CMake option brings it back.
[[maybe_unused]] StoreResult not_built(std::string_view store, std::string_view option) {
  return {errc::unsupported, "this build has no " + std::string(store) + " store (" +
                                 std::string(option) + "=OFF; supported: " + std::string(kSchemes) +
                                 ")"};
}

// cookie://[?max_bytes=N]: no store, client-side sessions.
Result<ClientSideOptions> client_side_options(std::string_view rest) {
  ClientSideOptions options;
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
  return options;
}

#ifdef SESSIONKIT_STORE_URL_SQLITE
// Creates the missing directories of `dir`, each owner-only (0700); existing ones are left
// as they are.
Status create_private_directories(const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (part.empty() || part == "/" || part == "." || part == "..") continue;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      char errbuf[256];  // strerror_r (GNU): strerror's buffer may be shared between threads
      return {errc::unavailable, "cannot create directory '" + partial.string() +
                                     "': " + ::strerror_r(errno, errbuf, sizeof errbuf)};
    }
  }
  return {};
}

// Warns when an existing database file can be read or written by group or others: it holds
// user ids, client addresses and user agents.
void warn_if_shared(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return;
  library_logger()->warn(
      "the SQLite file '{}' is accessible to group or others (mode {:o}); it holds user ids, "
      "client addresses and user agents: chmod 600 it (and its -wal and -shm files)",
      path, st.st_mode & 0777);
}

// sqlite://PATH[?synchronous=full|normal]: the parent directory is created (0700) when
// missing. A path that holds a '?' keeps it unless what follows the last one is the option.
StoreResult open_sqlite_store(std::string_view rest) {
  SqliteStoreOptions options;
  if (const std::size_t q = rest.rfind('?');
      q != std::string_view::npos && rest.substr(q + 1).starts_with("synchronous=")) {
    const std::string_view mode = rest.substr(q + 1 + std::string_view("synchronous=").size());
    if (mode != "full" && mode != "normal") {
      return {errc::invalid_argument,
              "sqlite:// takes ?synchronous=full (the default) or ?synchronous=normal"};
    }
    options.synchronous_full = mode == "full";
    rest = rest.substr(0, q);
  }
  if (rest.empty()) {
    return {errc::invalid_argument, "sqlite:// needs a file path, e.g. sqlite://./data/s.db"};
  }
  std::filesystem::path path{std::string(rest)};
  if (path.has_parent_path()) {
    if (auto made = create_private_directories(path.parent_path()); !made) return made;
  }
  options.path = path.string();
  auto store = SqliteStore::open(std::move(options));
  if (!store) return store.status();
  warn_if_shared(path.string());
  return std::shared_ptr<SessionStore>(std::move(store).value());
}
#endif

StoreResult open_store_unscrubbed(std::string_view url) {
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return {errc::invalid_argument, "store URL '" + redact_store_url(url) +
                                        "' has no scheme (use " + std::string(kSchemes) + ")"};
  }
  const std::string_view scheme = url.substr(0, sep);
  const std::string_view rest = url.substr(sep + 3);

  if (scheme == "memory") {
    if (!rest.empty()) return {errc::invalid_argument, "memory:// takes no path or options"};
    auto store = MemoryStore::open();
    if (!store) return store.status();
    return std::shared_ptr<SessionStore>(std::move(store).value());
  }

  if (scheme == "sqlite") {
#ifdef SESSIONKIT_STORE_URL_SQLITE
    return open_sqlite_store(rest);
#else
    return not_built("SQLite", "SESSIONKIT_WITH_SQLITE");
#endif
  }

  if (scheme == "redis" || scheme == "rediss" || scheme == "redis+cluster" ||
      scheme == "rediss+cluster") {
#ifdef SESSIONKIT_STORE_URL_REDIS
    auto options = RedisStoreOptions::from_url(url);
    if (!options) return options.status();
    auto store = RedisStore::open(std::move(*options));
    if (!store) return store.status();
    return std::shared_ptr<SessionStore>(std::move(store).value());
#else
    return not_built("Redis", "SESSIONKIT_WITH_REDIS");
#endif
  }

  if (scheme == "postgresql" || scheme == "postgres") {
#ifdef SESSIONKIT_STORE_URL_POSTGRES
    PostgresStoreOptions options;
    options.conninfo = std::string(url);  // libpq parses the URI itself (sslmode=..., etc.)
    auto store = PostgresStore::open(std::move(options));
    if (!store) return store.status();
    return std::shared_ptr<SessionStore>(std::move(store).value());
#else
    return not_built("PostgreSQL", "SESSIONKIT_WITH_POSTGRES");
#endif
  }

  return {errc::invalid_argument, "unknown store scheme '" + std::string(scheme) +
                                      "://' (supported: " + std::string(kSchemes) + ")"};
}

}  // namespace

Result<StoreBackend> open_store_url(std::string_view url) {
  try {
    if (url.starts_with(kCookieScheme)) {
      auto options = client_side_options(url.substr(kCookieScheme.size()));
      if (!options) return options.status();
      return StoreBackend{nullptr, *options};
    }
    auto store = open_store_unscrubbed(url);
    if (!store) return {store.code(), scrub_store_url(store.message(), url)};
    return StoreBackend{std::move(store).value(), std::nullopt};
  } catch (const std::exception& e) {  // std::bad_alloc, std::filesystem::filesystem_error
    return {errc::unavailable, scrub_store_url(std::string("store URL: ") + e.what(), url)};
  }
}

std::string redact_store_url(std::string_view url) {
  std::string out;
  std::size_t from = 0;
  for (const Span& s : secret_spans(url)) {
    out.append(url.substr(from, s.begin - from));
    out.append("***");
    from = s.end;
  }
  out.append(url.substr(from));
  return out;
}

std::string scrub_store_url(std::string_view message, std::string_view url) {
  std::vector<std::string> secrets;
  for (const Span& s : secret_spans(url))
    add_secret_forms(url.substr(s.begin, s.end - s.begin), secrets);
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::string out(message);
  for (const std::string& secret : secrets) {
    for (std::size_t at = out.find(secret); at != std::string::npos;
         at = out.find(secret, at + 3)) {
      out.replace(at, secret.size(), "***");
    }
  }
  return out;
}

}  // namespace sessionkit
