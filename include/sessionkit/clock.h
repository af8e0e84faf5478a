// sessionkit/clock.h — injectable wall clock.
//
// All expiry decisions (idle and absolute timeouts, store TTLs) read time through a `Clock`,
// so tests can move time explicitly instead of sleeping. Time is wall-clock milliseconds since
// the Unix epoch, because deadlines are persisted and shared between processes.
//
// Thread safety: every Clock implementation must be safe to call from many threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace sessionkit {

using Time = std::chrono::sys_time<std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

inline std::int64_t to_millis(Time t) noexcept {
  return t.time_since_epoch().count();
}
inline Time from_millis(std::int64_t ms) noexcept {
  return Time(Duration(ms));
}

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const noexcept = 0;
};

// The real clock (std::chrono::system_clock). `system_clock()` returns a process-wide instance.
class SystemClock final : public Clock {
 public:
  Time now() const noexcept override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

const Clock& system_clock() noexcept;

// A clock that only moves when told to. Starts at `start` (default: 2024-01-01T00:00:00Z).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Time start = from_millis(1'704'067'200'000)) : now_(to_millis(start)) {}
  Time now() const noexcept override { return from_millis(now_.load()); }
  void set(Time t) noexcept { now_.store(to_millis(t)); }
  void advance(Duration d) noexcept { now_.fetch_add(d.count()); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace sessionkit
