// Internal to the PostgreSQL store: its text rules. PostgreSQL text must be valid UTF-8 without
// U+0000 and jsonb refuses "\u0000", so before any round trip a user id or payload that breaks
// them is refused (`invalid_argument`), and other text (ip, user agent, patch and increment
// field names, the erase list) is stored with U+FFFD in place of each invalid byte. Also the
// text[] literal a patch's erase list is sent as. Pure functions, thread-safe. Not installed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/record.h"
#include "sessionkit/result.h"

namespace sessionkit::postgres_detail {

// Valid UTF-8 without U+0000.
bool storable_text(std::string_view s);
// Invalid UTF-8 (byte by byte) and, with `nul`, U+0000 replaced by U+FFFD.
std::string clean_text(std::string_view s, bool nul);
// Whether a string or an object key anywhere in `j` contains U+0000.
bool has_nul(const nlohmann::json& j);

// The answer to U+0000 in a payload string, payload key or field name.
extern const Status kNulInPayload;

// A user id PostgreSQL can store.
Status check_user(const std::string& user_id);
// A record as given by a caller: payload a JSON object without U+0000, user id storable.
Status check_record(const SessionRecord& r);

// A text[] literal: {"a","b\"c"} (items cleaned, U+0000 kept: callers refuse it first).
std::string text_array(const std::vector<std::string>& items);

}  // namespace sessionkit::postgres_detail
