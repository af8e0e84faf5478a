// The Redis store's scan cursor (see scan_cursor.h): parsing and formatting it, the escaped
// SCAN MATCH pattern, and reading one SCAN reply.
#include "stores/redis/scan_cursor.h"

#include <algorithm>

#include "stores/redis/record_codec.h"
#include "stores/redis/resp.h"

namespace sessionkit::redis {
namespace {

constexpr std::size_t kKeyHex = SessionKey::kBytes * 2;

}  // namespace

std::optional<ScanCursor> parse_cursor(std::string_view c) {
  ScanCursor out;
  if (c.empty()) return out;
  auto a = c.find(':');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = c.find(':', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto node = parse_i64(c.substr(0, a));
  std::string_view rc = c.substr(a + 1, b - a - 1);
  if (!node || *node < 0 || rc.empty() || rc.size() > 20 ||
      !std::all_of(rc.begin(), rc.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  std::string_view keys = c.substr(b + 1);
  if (keys.size() % kKeyHex != 0) return std::nullopt;
  for (std::size_t i = 0; i < keys.size(); i += kKeyHex) {
    auto k = SessionKey::from_hex(keys.substr(i, kKeyHex));
    if (!k) return std::nullopt;
    out.pending.push_back(*k);
  }
  out.node = static_cast<std::size_t>(*node);
  out.redis_cursor = std::string(rc);
  return out;
}

std::string format_cursor(const ScanCursor& c) {
  std::string out = std::to_string(c.node) + ":" + c.redis_cursor + ":";
  for (const auto& k : c.pending)
    out += k.hex();
  return out;
}

std::string match_pattern(std::string_view key_prefix) {
  std::string out;
  for (char c : key_prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "*";
}

Result<ScanBatch> read_scan_reply(const redisReply& r, std::string_view session_prefix) {
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 2 || r.element[1]->type != REDIS_REPLY_ARRAY) {
    return reply_status(r);
  }
  ScanBatch batch;
  batch.next_cursor = std::string(text(*r.element[0]));
  for (std::size_t i = 0; i < r.element[1]->elements; ++i) {
    std::string_view name = text(*r.element[1]->element[i]);
    if (name.substr(0, session_prefix.size()) != session_prefix) continue;
    if (auto k = SessionKey::from_hex(name.substr(session_prefix.size()))) batch.keys.push_back(*k);
  }
  return batch;
}

}  // namespace sessionkit::redis
