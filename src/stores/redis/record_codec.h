// Internal to the Redis store: the record codec. A session is one Redis hash whose fields are
// v (format version), c / a / e / x (created, last access, deadline, absolute deadline; integer
// ms since the epoch), t (auth time, optional), u (user, absent when unbound), ip, ua, and one
// field "d:<name>" per payload key holding that value's JSON text (see scripts.h). Here: a
// record and a patch as script arguments, a hash reply back to a record, and an unexpected
// reply as a Status. Pure functions, thread-safe. Not installed.
#pragma once

#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/record.h"
#include "sessionkit/result.h"
#include "sessionkit/store.h"

namespace sessionkit::redis {

// Integer milliseconds, as every script argument and time field is written.
std::string ms(Time t);
// A whole string as an int64 (no sign-only, no trailing text).
std::optional<std::int64_t> parse_i64(std::string_view s);

// The hash field of payload key `name` ("d:<name>").
std::string payload_field(std::string_view name);

// An error reply (or an unexpected shape) as a Status: `corrupt` for WRONGTYPE (a session key
// holding another type), `unavailable` with the server's text otherwise.
Status reply_status(const redisReply& r);

// The arguments of the create and replace scripts: now, the key's TTL in ms (to the record's
// deadline, at least 1), then the record's fields (field, value, ...).
std::vector<std::string> record_args(Time now, const SessionRecord& r);
// patch_if's condition as the patch script checks it: the text of one hash field. Payload values
// are stored as stores::dump_payload text, which is canonical (object keys sorted, a stored
// text parses and dumps back to itself), so a field holds the dump of the condition's value
// exactly when their JSON is equal, number spelling aside (1 and 1.0 are equal JSON but not
// equal text: the store rechecks such a text mismatch as JSON and retries on the field's text).
struct FieldCheck {
  enum class Mode { none, never, equals };
  Mode mode = Mode::none;  // none: no condition (patch); never: cannot hold (a conflict)
  std::string field;       // equals: the hash field ("d:<name>")
  std::string text;        // equals: the text it must hold ("null" also matches no field)
};

// The check of `condition`. A name or value the store would not keep as it is (invalid UTF-8,
// a non-finite number, a binary value) cannot be stored: such a name reads as absent (equal to
// null only), such a value is equal to nothing stored.
FieldCheck field_check(const PayloadCondition& condition);

// The arguments of the patch script: now, has_user, user, auth, access, deadline, check mode
// ("" none, "0" never, "1" equals), check field, check text, nset, then field, value for each
// `set` and the field of each `erase`. The check text is argument kCheckTextArg (0-based).
inline constexpr std::size_t kCheckTextArg = 8;
std::vector<std::string> patch_args(Time now, const SessionPatch& patch,
                                    const FieldCheck& check = {});

// The patch script's answer when it carried a check: applied, or the check failed (a conflict:
// nothing written), with the record's absolute deadline either way; `not_found` when the
// session is missing or expired.
struct PatchAnswer {
  bool applied = false;
  Time absolute{};
  std::optional<std::string> held;  // the check failed: the field's text (nullopt: no field)
};
Result<PatchAnswer> read_patch_answer(const redisReply& r);

// A record from an HGETALL-shaped reply (field, value, ...); nullopt for nil or an empty hash.
// `corrupt` for a hash that does not decode (odd size, bad time, unknown format version,
// missing required field, a payload value that does not parse).
Result<std::optional<SessionRecord>> decode_hash(const redisReply& r);

}  // namespace sessionkit::redis
