// api_keys.cpp — see api_keys.h.
#include "api_keys.h"

#include <sodium.h>

#include <set>
#include <stdexcept>

namespace sessiond {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

ApiKeys::Digest ApiKeys::digest_of(std::string_view key) {
  Digest d{};
  crypto_hash_sha256(d.data(), reinterpret_cast<const unsigned char*>(key.data()), key.size());
  return d;
}

std::string ApiKeys::line_for(std::string_view name, std::string_view key) {
  const Digest d = digest_of(key);
  std::string hex(d.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), d.data(), d.size());
  hex.pop_back();
  return std::string(name) + ' ' + hex;
}

std::vector<ApiKeys::Entry> ApiKeys::parse_file(std::string_view text) {
  std::vector<Entry> entries;
  std::set<std::string, std::less<>> names;
  int number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::size_t space = line.find_first_of(" \t");
    auto bad = [&](const std::string& why) {
      return std::runtime_error("line " + std::to_string(number) + ": " + why);
    };
    if (space == std::string_view::npos) throw bad("expected NAME SHA256-HEX");
    Entry e;
    e.name = std::string(line.substr(0, space));
    const std::string_view hex = trim(line.substr(space));
    std::size_t length = 0;
    const char* end = nullptr;
    if (hex.size() != 64 ||
        sodium_hex2bin(e.digest.data(), e.digest.size(), hex.data(), hex.size(), nullptr, &length,
                       &end) != 0 ||
        length != e.digest.size() || end != hex.data() + hex.size()) {
      throw bad("the digest is not 64 hex digits (sessiond hash-key)");
    }
    if (!names.insert(e.name).second) throw bad("the name " + e.name + " is used twice");
    entries.push_back(std::move(e));
  }
  return entries;
}

void ApiKeys::reload(std::vector<Entry> entries) {
  auto next = std::make_shared<const std::vector<Entry>>(std::move(entries));
  std::lock_guard lock(mu_);
  entries_ = std::move(next);
}

std::shared_ptr<const std::vector<ApiKeys::Entry>> ApiKeys::current() const {
  std::lock_guard lock(mu_);
  return entries_;
}

std::size_t ApiKeys::size() const {
  return current()->size();
}

std::optional<std::string> ApiKeys::authenticate(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || !authorization.starts_with(kBearer)) {
    return std::nullopt;
  }
  const Digest presented = digest_of(authorization.substr(kBearer.size()));
  const auto entries = current();
  const Entry* match = nullptr;
  for (const Entry& e : *entries) {  // every entry, whatever matched: no early exit
    const bool equal = sodium_memcmp(e.digest.data(), presented.data(), presented.size()) == 0;
    if (equal && match == nullptr) match = &e;
  }
  if (match == nullptr) return std::nullopt;
  return match->name;
}

}  // namespace sessiond
