// Internal to the Redis store: RedisStore::Impl, the state its operations share (options, clock,
// the client) and the plumbing under them: key names, EVALSHA with its EVAL fallback, plain
// keyed commands, the user index, loading many keys at once. The operations live by job:
// session_ops.cpp (one session: load, create, replace, patch, patch_if, increment, touch,
// destroy), fanout_ops.cpp (several keys or servers: list_user, destroy_user, count, scan,
// health), redis_store.cpp (open, the public entry points, the plumbing). Not installed.
//
// Callbacks (stores/completion.h): every operation takes `Callback<T>&& done` and either answers
// it through stores::answer or moves it into the one handler that will; the public methods run
// the operations under stores::guarded. Handlers run on the client's I/O thread: they answer
// through `answering` (a reply mapped to a Result), stores::complete, or continue under
// stores::guarded, so that nothing they or a callback throw unwinds into that thread.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sessionkit/stores/redis.h"
#include "stores/completion.h"
#include "stores/redis/client.h"
#include "stores/redis/record_codec.h"
#include "stores/redis/scan_cursor.h"
#include "stores/redis/scripts.h"

namespace sessionkit {

inline constexpr std::string_view kRedisStoreName = "redis";

// A reply handler that answers `done` with `map(reply)` (run under stores::complete); a call
// that got no reply answers its error. `map`: Result<T>(const redisReply&).
template <class T, class Map>
auto answering(Callback<T>&& done, Map map) {
  return [done = std::move(done), map = std::move(map)](Result<redis::Reply> r) mutable {
    stores::complete<T>(kRedisStoreName, done, [&]() -> Result<T> {
      if (!r) return r.status();
      return map(**r);
    });
  };
}

class RedisStore::Impl : public std::enable_shared_from_this<RedisStore::Impl> {
 public:
  using Endpoints = std::shared_ptr<std::vector<redis::Endpoint>>;

  Impl(RedisStoreOptions options, std::shared_ptr<redis::Client> client);

  std::string session_prefix() const { return options_.key_prefix + "s:"; }
  std::string session_key(const SessionKey& key) const { return session_prefix() + key.hex(); }
  std::string index_key(const std::string& user) const { return options_.key_prefix + "u:" + user; }
  Time now() const { return clock_->now(); }

  // --- Plumbing (redis_store.cpp) ---
  // EVALSHA, falling back to EVAL once when the server does not have the script cached.
  void eval(const redis::Script& script, const std::string& key, std::vector<std::string> args,
            redis::ReplyHandler done);
  // A plain command whose key is its first argument (`{"HGETALL", key}`), routed by that key.
  void run(std::initializer_list<std::string_view> args, redis::ReplyHandler done);
  // Adds `key` to `user`'s index (before the binding becomes visible), then runs `next`.
  void index_then(const std::string& user, const SessionKey& key, Time absolute,
                  std::function<void(Status)> next);
  // The index members of `user` (entries past their absolute deadline dropped first).
  void index_members(const std::string& user, Callback<std::vector<SessionKey>>&& done);
  // Loads `keys` (HGETALL each, pipelined); answers the unexpired ones that decode, in order.
  void load_many(std::vector<SessionKey> keys, Callback<std::vector<StoredSession>>&& done);

  // --- One session (session_ops.cpp) ---
  void load(const SessionKey& key, std::optional<TouchSpec> touch,
            Callback<std::optional<SessionRecord>>&& done);
  // create (`when_zero` conflict) and replace (`when_zero` not_found).
  void write_record(const redis::Script& script, const SessionKey& key, const SessionRecord& record,
                    errc when_zero, Callback<void>&& done);
  void patch(const SessionKey& key, const SessionPatch& patch, Callback<void>&& done);
  void patch_if(const SessionKey& key, const PayloadCondition& condition, const SessionPatch& patch,
                Callback<void>&& done);
  void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                 std::optional<TouchSpec> touch, Callback<std::int64_t>&& done);
  void touch(const SessionKey& key, const TouchSpec& touch, Callback<void>&& done);
  void destroy(const SessionKey& key, Callback<bool>&& done);

  // --- Several keys or servers (fanout_ops.cpp) ---
  void list_user(const std::string& user, Callback<std::vector<StoredSession>>&& done);
  void destroy_user(const std::string& user, std::optional<SessionKey> keep,
                    Callback<std::size_t>&& done);
  void count(Callback<std::size_t>&& done);
  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage>&& done);
  void health(Callback<void>&& done);
  // MEMORY USAGE of the key `name` (0 when it does not exist).
  void memory_usage(const std::string& name, Callback<std::size_t>&& done);

  const RedisStoreOptions options_;
  const Clock* clock_;
  std::shared_ptr<redis::Client> client_;

 private:
  void load_lazy(const SessionKey& key, const TouchSpec& touch,
                 Callback<std::optional<SessionRecord>>&& done);
  // The patch script with patch_if's check in `args`; a failed check whose field holds JSON
  // equal to `expected` in another spelling (1.0 for 1) is run again on that text, at most
  // `retries` times.
  void patch_checked(std::string name, std::vector<std::string> args,
                     std::shared_ptr<const nlohmann::json> expected, int retries,
                     Callback<redis::PatchAnswer>&& done);
  void destroy_each(const std::string& user, std::vector<SessionKey> victims,
                    Callback<std::size_t>&& done);
  void scan_batch(const redis::Endpoint& node, const std::string& cursor, std::size_t count,
                  Callback<redis::ScanBatch>&& done);
  void count_from(Endpoints nodes, std::size_t node, const std::string& cursor, std::size_t total,
                  Callback<std::size_t>&& done);
  void scan_step(Endpoints nodes, redis::ScanCursor c, std::size_t limit,
                 Callback<ScanPage>&& done);
};

}  // namespace sessionkit
