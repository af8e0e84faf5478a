// api_keys.h — who may call sessiond: named API keys, kept only as SHA-256 digests (private to
// sessiond; docs/sessiond.md, "Caller authentication").
//
// A caller sends `Authorization: Bearer <key>`. The key file has one key per line,
// `NAME SHA256-HEX` (what `sessiond hash-key` prints; '#' starts a comment); SESSIOND_API_KEY
// adds one key given in clear, named "env". `authenticate` hashes the presented key and compares
// it with EVERY entry in constant time, so neither which entry matched nor how much of a digest
// matched shows in the time taken. `reload` (SIGHUP) swaps in a new set atomically: requests in
// flight finish with the set they began with.
//
// Thread safety: `authenticate` and `reload` may run concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sessiond {

class ApiKeys {
 public:
  using Digest = std::array<std::uint8_t, 32>;
  struct Entry {
    std::string name;
    Digest digest{};
  };

  // The entries of a key file's text; throws std::runtime_error naming the line on a bad one
  // (not "NAME HEX", a digest that is not 64 hex digits, a name used twice).
  static std::vector<Entry> parse_file(std::string_view text);
  static Digest digest_of(std::string_view key);
  // "NAME HEX" for a key file.
  static std::string line_for(std::string_view name, std::string_view key);

  ApiKeys() = default;
  explicit ApiKeys(std::vector<Entry> entries) { reload(std::move(entries)); }

  void reload(std::vector<Entry> entries);
  std::size_t size() const;

  // The name of the key `authorization` (a whole Authorization header value) carries, or
  // nullopt: no header, not "Bearer ", or no entry matches.
  std::optional<std::string> authenticate(std::string_view authorization) const;

 private:
  std::shared_ptr<const std::vector<Entry>> current() const;

  mutable std::mutex mu_;  // guards the pointer only; the set it points to never changes
  std::shared_ptr<const std::vector<Entry>> entries_ = std::make_shared<std::vector<Entry>>();
};

}  // namespace sessiond
