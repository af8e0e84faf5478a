// Internal: the Lua scripts of the Redis store. Each runs atomically on the server and touches
// only KEYS[1], so it works unchanged on a Redis Cluster. Times are integer milliseconds since
// the Unix epoch passed by the client (the store's Clock), never the server's clock, so every
// store judges expiry the same way. Hash fields: v (format version), c (created), a (last
// access), e (deadline), x (absolute deadline), t (auth time), u (user), ip, ua, and one field
// "d:<name>" per payload key holding that value's JSON text. Not installed.
#pragma once

#include <string>
#include <string_view>

namespace sessionkit::redis {

struct Script {
  std::string_view body;
  std::string sha1;  // hex, what EVALSHA names
};

// The scripts, with their SHA-1 digests computed once.
struct Scripts {
  Script touch_load;       // KEYS[1]; now, access, deadline → the whole hash, or nil
  Script create;           // KEYS[1]; now, ttl, field, value, ... → 1 created, 0 conflict
  Script replace;          // KEYS[1]; now, ttl, field, value, ... → 1 replaced, 0 missing
  Script patch;            // KEYS[1]; now, has_user, user, auth, access, deadline,
                           //   check mode ('' none, '0' never, '1' equals), check field,
                           //   check text, nset, field, value × nset, erased field...
                           //   → the absolute deadline (ms, > 0) / 0 missing /
                           //   {absolute deadline, the check field's text or nil} when the
                           //   check failed (patch_if's conflict: nothing written)
  Script increment;        // KEYS[1]; now, field, delta, access, deadline
                           //   → {1, new value text} / {0} missing / {2, error}
  Script touch;            // KEYS[1]; now, access, deadline → 1 / 0 missing
  Script destroy;          // KEYS[1]; now → {1 live | 0 missing or expired, user}
  Script destroy_if_user;  // KEYS[1]; now, user → 1 live destroyed, 2 expired destroyed,
                           //   0 missing, -1 bound to someone else (kept)
  Script index_add;        // KEYS[1] (user index); member, absolute deadline, now, ttl
  Script index_list;       // KEYS[1] (user index); now → members
};

const Scripts& scripts();

}  // namespace sessionkit::redis
