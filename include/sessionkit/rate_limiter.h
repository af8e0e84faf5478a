// sessionkit/rate_limiter.h — RateLimiter: a per-key token bucket with bounded memory.
//
// Each key (e.g. a client address) has a bucket of `burst` tokens that refills at
// `per_minute` tokens a minute; `try_acquire` takes one if there is one. Keys live in a table of
// at most `max_keys` entries: when it is full, buckets that have refilled completely (they hold
// no information) are dropped first, then the least recently used one. A key pushed out that
// way starts again with a full bucket, so under churn of more than `max_keys` keys the limit is
// approximate, never stricter than configured.
//
// In-process: several app instances each apply the limit on their own (a client spread over N
// instances gets N times the rate). The time comes from the injected Clock.
//
// Thread safety: every member is thread-safe (a mutex per shard of keys).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sessionkit/clock.h"

namespace sessionkit {

class RateLimiter {
 public:
  struct Options {
    std::size_t burst = 30;       // tokens a new key starts with; 0 disables the limiter
    std::size_t per_minute = 30;  // refill rate
    std::size_t max_keys = 65536;
  };
  RateLimiter(Options options, const Clock& clock);

  struct Decision {
    bool allowed = true;
    Duration retry_after{0};  // when refused: until the next token
  };
  // Takes a token from `key`'s bucket.
  Decision try_acquire(std::string_view key);

  // The key to limit a client address by: an IPv4 address as is, an IPv6 address by its /64
  // (one subscriber's prefix), anything else as is.
  static std::string client_key(std::string_view address);

  const Options& options() const noexcept { return options_; }

 private:
  struct Bucket {
    double tokens;
    Time refilled;
    std::list<std::string>::iterator lru;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
    std::list<std::string> lru;  // most recently used first
  };
  static constexpr std::size_t kShards = 16;

  Options options_;
  const Clock* clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sessionkit
