#include "sessionkit/rate_limiter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

namespace sessionkit {

RateLimiter::RateLimiter(Options options, const Clock& clock) : options_(options), clock_(&clock) {
  options_.max_keys = std::max<std::size_t>(options_.max_keys, kShards);
}

RateLimiter::Decision RateLimiter::try_acquire(std::string_view key) {
  if (options_.burst == 0) return {};
  const Time now = clock_->now();
  const double burst = static_cast<double>(options_.burst);
  const double per_ms = static_cast<double>(options_.per_minute) / 60000.0;
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  const std::size_t shard_cap = options_.max_keys / kShards;

  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    while (shard.buckets.size() >= shard_cap && !shard.lru.empty()) {
      // Least recently used first: the oldest entry is the most likely to have refilled.
      shard.buckets.erase(shard.lru.back());
      shard.lru.pop_back();
    }
    shard.lru.emplace_front(key);
    it = shard.buckets.emplace(std::string(key), Bucket{burst, now, shard.lru.begin()}).first;
  } else {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second.lru);
    const auto elapsed = static_cast<double>((now - it->second.refilled).count());
    if (elapsed > 0) {
      it->second.tokens = std::min(burst, it->second.tokens + elapsed * per_ms);
      it->second.refilled = now;
    }
  }
  Bucket& b = it->second;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  Decision refused;
  refused.allowed = false;
  if (per_ms > 0) {
    refused.retry_after = Duration(static_cast<std::int64_t>(std::ceil((1.0 - b.tokens) / per_ms)));
  } else {
    refused.retry_after = std::chrono::hours(24);
  }
  return refused;
}

std::string RateLimiter::client_key(std::string_view address) {
  if (address.find(':') == std::string_view::npos || address.size() > 45) {
    return std::string(address);
  }
  char buf[46];
  std::memcpy(buf, address.data(), address.size());
  buf[address.size()] = '\0';
  in6_addr v6{};
  if (inet_pton(AF_INET6, buf, &v6) != 1) return std::string(address);
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {  // "::ffff:192.0.2.1": an IPv4 client
    char v4[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, reinterpret_cast<unsigned char*>(&v6) + 12, v4, sizeof v4) != nullptr) {
      return v4;
    }
  }
  std::memset(reinterpret_cast<unsigned char*>(&v6) + 8, 0, 8);  // the /64
  char out[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, &v6, out, sizeof out) == nullptr) return std::string(address);
  return std::string(out) + "/64";
}

}  // namespace sessionkit
