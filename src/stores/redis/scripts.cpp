#include "stores/redis/scripts.h"

#include <openssl/evp.h>

#include <string>

namespace sessionkit::redis {
namespace {

// Shared helpers, prepended to every script that needs them.
constexpr std::string_view kPrelude = R"lua(
local function live(k, now)
  local m = redis.call('HMGET', k, 'e', 'x')
  if not m[1] then return nil end
  local e, x = tonumber(m[1]), tonumber(m[2])
  if not e or not x or now >= e or now >= x then return nil end
  return e, x
end
-- Runs `cmd` on key k with ARGV[from..to] appended, 200 arguments at a time (Lua's unpack has
-- a stack limit); 200 is even, so HSET field/value pairs never straddle two calls.
local function call_range(cmd, k, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 199, to)
    redis.call(cmd, k, unpack(ARGV, i, j))
    i = j + 1
  end
end
local function touch(k, now, x, access, deadline)
  local ne = math.min(tonumber(deadline), x)
  redis.call('HSET', k, 'a', access, 'e', string.format('%d', ne))
  redis.call('PEXPIRE', k, string.format('%d', math.max(ne - now, 1)))
end
)lua";

constexpr std::string_view kTouchLoad = R"lua(
local now = tonumber(ARGV[1])
local e, x = live(KEYS[1], now)
if not e then return false end
touch(KEYS[1], now, x, ARGV[2], ARGV[3])
return redis.call('HGETALL', KEYS[1])
)lua";

constexpr std::string_view kCreate = R"lua(
local now = tonumber(ARGV[1])
if live(KEYS[1], now) then return 0 end
redis.call('DEL', KEYS[1])
call_range('HSET', KEYS[1], 3, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

constexpr std::string_view kReplace = R"lua(
local now = tonumber(ARGV[1])
if not live(KEYS[1], now) then return 0 end
redis.call('DEL', KEYS[1])
call_range('HSET', KEYS[1], 3, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
)lua";

// patch and patch_if. The condition (ARGV[7]: '' none, '0' never holds, '1' the field ARGV[8]
// holds exactly the text ARGV[9], an absent field reading as 'null') is checked after liveness
// and before any write; when it does not hold, nothing is written and the answer is
// {absolute deadline, the field's text or nil}.
constexpr std::string_view kPatch = R"lua(
local now = tonumber(ARGV[1])
local e, x = live(KEYS[1], now)
if not e then return 0 end
if ARGV[7] ~= '' then
  local held = false
  if ARGV[7] == '1' then held = redis.call('HGET', KEYS[1], ARGV[8]) end
  if ARGV[7] ~= '1' or (held or 'null') ~= ARGV[9] then return {x, held} end
end
local last = 10 + 2 * tonumber(ARGV[10])
call_range('HSET', KEYS[1], 11, last)
call_range('HDEL', KEYS[1], last + 1, #ARGV)
if ARGV[2] == '1' then
  if ARGV[3] == '' then
    redis.call('HDEL', KEYS[1], 'u')
  else
    redis.call('HSET', KEYS[1], 'u', ARGV[3])
  end
end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 't', ARGV[4]) end
if ARGV[5] ~= '' then touch(KEYS[1], now, x, ARGV[5], ARGV[6]) end
return x
)lua";

constexpr std::string_view kIncrement = R"lua(
local now = tonumber(ARGV[1])
local e, x = live(KEYS[1], now)
if not e then return {0} end
local r = redis.pcall('HINCRBY', KEYS[1], ARGV[2], ARGV[3])
if type(r) == 'table' and r.err then return {2, r.err} end
if ARGV[4] ~= '' then touch(KEYS[1], now, x, ARGV[4], ARGV[5]) end
-- Lua holds the sum as a double: exact below 2^53, else the field's text is.
if r > -9007199254740992 and r < 9007199254740992 then return {1, r} end
return {1, redis.call('HGET', KEYS[1], ARGV[2])}
)lua";

constexpr std::string_view kTouch = R"lua(
local now = tonumber(ARGV[1])
local e, x = live(KEYS[1], now)
if not e then return 0 end
touch(KEYS[1], now, x, ARGV[2], ARGV[3])
return 1
)lua";

constexpr std::string_view kDestroy = R"lua(
local m = redis.call('HMGET', KEYS[1], 'e', 'x', 'u')
if not m[1] then return {0, ''} end
redis.call('DEL', KEYS[1])
local now = tonumber(ARGV[1])
local alive = 0
if now < tonumber(m[1]) and now < tonumber(m[2]) then alive = 1 end
return {alive, m[3] or ''}
)lua";

constexpr std::string_view kDestroyIfUser = R"lua(
local m = redis.call('HMGET', KEYS[1], 'e', 'x', 'u')
if not m[1] then return 0 end
if m[3] ~= ARGV[2] then return -1 end
redis.call('DEL', KEYS[1])
local now = tonumber(ARGV[1])
if now < tonumber(m[1]) and now < tonumber(m[2]) then return 1 end
return 2
)lua";

constexpr std::string_view kIndexAdd = R"lua(
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local t = redis.call('PTTL', KEYS[1])
if t < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
)lua";

constexpr std::string_view kIndexList = R"lua(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
)lua";

std::string sha1_hex(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(body.data(), body.size(), digest, &len, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

struct Owned {
  std::string touch_load, create, replace, patch, increment, touch, destroy, destroy_if_user,
      index_add, index_list;
};

Script make(const std::string& body) {
  return Script{body, sha1_hex(body)};
}

}  // namespace

const Scripts& scripts() {
  static const Owned owned{std::string(kPrelude) + std::string(kTouchLoad),
                           std::string(kPrelude) + std::string(kCreate),
                           std::string(kPrelude) + std::string(kReplace),
                           std::string(kPrelude) + std::string(kPatch),
                           std::string(kPrelude) + std::string(kIncrement),
                           std::string(kPrelude) + std::string(kTouch),
                           std::string(kDestroy),
                           std::string(kDestroyIfUser),
                           std::string(kIndexAdd),
                           std::string(kIndexList)};
  static const Scripts s{make(owned.touch_load), make(owned.create),          make(owned.replace),
                         make(owned.patch),      make(owned.increment),       make(owned.touch),
                         make(owned.destroy),    make(owned.destroy_if_user), make(owned.index_add),
                         make(owned.index_list)};
  return s;
}

}  // namespace sessionkit::redis
