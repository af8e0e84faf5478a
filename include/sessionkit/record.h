// sessionkit/record.h — what a store keeps for one session, and its portable encoding.
//
// A `SessionRecord` holds the metadata the manager needs to enforce policy (creation time, last
// access, the effective and absolute deadlines, the owning user, client info) and the payload:
// one JSON object whose top-level keys are the session's values.
//
// `expires_at` is the effective deadline: min(last_access + idle timeout, absolute_expires_at).
// Stores use it as the record's TTL; the manager re-checks both deadlines on every load.
//
// The encoding (`encode_record` / `decode_record`) is the one documented format shared by all
// stores and by store-to-store migration (docs/record-format.md). Version 1 is a JSON object:
//   {"v":1,"created":ms,"access":ms,"expires":ms,"absolute":ms,"auth":ms|absent,
//    "user":"id"|absent,"ip":"..."|absent,"ua":"..."|absent,"data":{...}}
// Times are integer milliseconds since the Unix epoch (UTC). Unknown fields are ignored;
// a different "v" is rejected with errc::corrupt.
//
// Thread safety: plain values.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/clock.h"
#include "sessionkit/result.h"

namespace sessionkit {

struct SessionRecord {
  Time created_at{};
  Time last_access{};
  Time expires_at{};            // effective deadline (idle or absolute, whichever comes first)
  Time absolute_expires_at{};   // hard deadline fixed at creation
  std::optional<Time> auth_at;  // when the user last authenticated (re-authentication checks)
  std::string user_id;          // empty: not bound to a user
  std::string ip;               // client address at creation (informational)
  std::string user_agent;       // client User-Agent at creation (informational)
  nlohmann::json data = nlohmann::json::object();

  bool expired(Time now) const noexcept { return now >= expires_at || now >= absolute_expires_at; }
  // The deadlines, computed in one place. `start`: a session beginning at `now` (created,
  // access and both deadlines). `accessed`: an access at `now` moves the effective deadline
  // to `now + idle`, never past the absolute one.
  void start(Time now, Duration idle, Duration absolute) noexcept {
    created_at = now;
    absolute_expires_at = now + absolute;
    accessed(now, idle);
  }
  void accessed(Time now, Duration idle) noexcept {
    last_access = now;
    expires_at = std::min(now + idle, absolute_expires_at);
  }
  bool operator==(const SessionRecord&) const = default;
};

inline constexpr int kRecordFormatVersion = 1;

std::string encode_record(const SessionRecord& record);
Result<SessionRecord> decode_record(std::string_view encoded);
// The same encoding as a JSON value, for formats that embed records (sessionctl's export).
nlohmann::json record_to_json(const SessionRecord& record);
Result<SessionRecord> record_from_json(nlohmann::json encoded);

}  // namespace sessionkit
