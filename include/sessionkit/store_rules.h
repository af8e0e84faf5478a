// sessionkit/store_rules.h — the payload rules every store applies, so that patch and increment
// mean exactly the same thing in every back end (the ones in this repository and yours: see
// "Writing a store" in docs/stores.md). Plain inline functions, thread-safe.
//
// - `dump_payload` / `parse_payload`: the one JSON text form of a payload (compact; invalid
//   UTF-8 replaced, never thrown on); anything but an object reads back as errc::corrupt.
// - `apply_payload_patch`: a patch's `set`, then its `erase`; `condition_holds`: patch_if's test.
// - `apply_increment`: integer read-modify-write with overflow and type checks.
// - `touch_applies`: a lazy touch's window; `touched_deadline`: a touch never moves a deadline
//   past the absolute one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "sessionkit/result.h"
#include "sessionkit/store.h"

namespace sessionkit::stores {

// The one way stores write a payload: compact, and invalid UTF-8 replaced instead of thrown on.
inline std::string dump_payload(const nlohmann::json& data) {
  return data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Parses a stored payload; anything but a JSON object is `corrupt`.
inline Result<nlohmann::json> parse_payload(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Result<nlohmann::json>(errc::corrupt, "stored payload is not a JSON object");
  }
  return j;
}

// A record as given by a caller: its payload must be a JSON object.
inline Status check_record(const SessionRecord& record) {
  if (!record.data.is_object()) return {errc::invalid_argument, "session data must be an object"};
  return {};
}

// Applies the payload part of a patch: upserts `set`, then removes `erase` (a key named in both
// ends up removed).
inline void apply_payload_patch(nlohmann::json& data, const SessionPatch& patch) {
  for (const auto& [name, value] : patch.set)
    data[name] = value;
  for (const auto& name : patch.erase)
    data.erase(name);
}

// Whether `data` meets a `patch_if` condition: its top-level `condition.key` holds exactly
// `condition.value` (nlohmann::json equality); an absent key equals only null.
inline bool condition_holds(const nlohmann::json& data, const PayloadCondition& condition) {
  const auto it = data.find(condition.key);
  return it == data.end() ? condition.value.is_null() : *it == condition.value;
}

inline Status condition_failed() {
  return {errc::conflict, "the record changed (patch_if condition does not hold)"};
}

// Adds `delta` to the integer at top-level `field` (missing counts as 0) and answers the new
// value. `invalid_argument` (and `data` unchanged) for a non-integer or an overflow.
inline Result<std::int64_t> apply_increment(nlohmann::json& data, const std::string& field,
                                            std::int64_t delta) {
  std::int64_t current = 0;
  if (auto it = data.find(field); it != data.end()) {
    if (it->is_number_unsigned()) {
      auto u = it->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Result<std::int64_t>(errc::invalid_argument, "field '" + field + "' is too large");
      }
      current = static_cast<std::int64_t>(u);
    } else if (it->is_number_integer()) {
      current = it->get<std::int64_t>();
    } else {
      return Result<std::int64_t>(errc::invalid_argument,
                                  "field '" + field + "' does not hold an integer");
    }
  }
  std::int64_t next = 0;
  if (__builtin_add_overflow(current, delta, &next)) {
    return Result<std::int64_t>(errc::invalid_argument, "increment of '" + field + "' overflows");
  }
  data[field] = next;
  return next;
}

// Whether `touch` applies to a record last accessed at `last_access` (a lazy touch's window).
inline bool touch_applies(const TouchSpec& touch, Time last_access) {
  return !touch.only_if_accessed_in || touch.only_if_accessed_in->contains(last_access);
}

// The deadline a touch writes: never past the record's absolute deadline.
inline Time touched_deadline(const TouchSpec& touch, Time absolute_expires_at) {
  return std::min(touch.expires_at, absolute_expires_at);
}

// Effective deadline: the record is expired once the clock reaches it.
inline std::int64_t deadline_ms(std::int64_t expires_at, std::int64_t absolute_expires_at) {
  return std::min(expires_at, absolute_expires_at);
}

}  // namespace sessionkit::stores
