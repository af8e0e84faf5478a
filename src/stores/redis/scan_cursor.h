// Internal to the Redis store: the scan cursor and one SCAN step's reply. A store scan walks the
// masters in order with SCAN MATCH <prefix>s:* (never KEYS); its opaque cursor is
// "<server index>:<redis cursor>:<hex of keys found but not yet returned>", so a page can stop
// in the middle of a SCAN batch without losing the rest of it. Redis cursor "0" on `node`
// means "not begun there" (a finished server moves `node` on). Pure functions, thread-safe.
// Not installed.
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/result.h"
#include "sessionkit/session_id.h"

namespace sessionkit::redis {

struct ScanCursor {
  std::size_t node = 0;
  std::string redis_cursor = "0";
  std::vector<SessionKey> pending;
};

// "" is the start; nullopt for a malformed cursor.
std::optional<ScanCursor> parse_cursor(std::string_view c);
std::string format_cursor(const ScanCursor& c);

// The SCAN MATCH pattern for every key that starts with `key_prefix` (glob characters escaped).
std::string match_pattern(std::string_view key_prefix);

// One SCAN step over the session keys of one server: the keys found and the next cursor ("0":
// that server is done).
struct ScanBatch {
  std::vector<SessionKey> keys;
  std::string next_cursor;
};
// A SCAN reply as a batch; names that are not `session_prefix` + a key in hex are skipped.
Result<ScanBatch> read_scan_reply(const redisReply& r, std::string_view session_prefix);

}  // namespace sessionkit::redis
