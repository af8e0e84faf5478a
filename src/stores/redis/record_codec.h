// Internal to the Redis store: the record codec. A session is one Redis hash whose fields are
// v (format version), c / a / e / x (created, last access, deadline, absolute deadline; integer
// ms since the epoch), t (auth time, optional), u (user, absent when unbound), ip, ua, and one
// field "d:<name>" per payload key holding that value's JSON text (see scripts.h). Here: a
// record and a patch as script arguments, a hash reply back to a record, and an unexpected
// reply as a Status. Pure functions, thread-safe. Not installed.
#pragma once

#include <hiredis/hiredis.h>

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
// The arguments of the patch script: now, has_user, user, auth, access, deadline, nset, then
// field, value for each `set` and the field of each `erase`.
std::vector<std::string> patch_args(Time now, const SessionPatch& patch);

// A record from an HGETALL-shaped reply (field, value, ...); nullopt for nil or an empty hash.
// `corrupt` for a hash that does not decode (odd size, bad time, unknown format version,
// missing required field, a payload value that does not parse).
Result<std::optional<SessionRecord>> decode_hash(const redisReply& r);

}  // namespace sessionkit::redis
