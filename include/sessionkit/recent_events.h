// sessionkit/recent_events.h — RecentEvents: the last N lifecycle events, in memory, numbered.
//
// An `EventSink` (events.h) that keeps the newest `capacity` events, for an admin page or an
// /events endpoint. Each event gets the next number in arrival order (1, 2, 3, ...); a reader
// asks for the events after the last number it saw (`since`) and learns how many it missed
// because they were overwritten before it asked (`dropped`). Numbers restart at 1 with a new
// RecentEvents (a new process): a reader that keeps asking across restarts needs something else
// to tell instances apart (the demo's /events answers a random per-process "instance").
//
// To keep the log lines too, give the manager both sinks:
//   auto recent = std::make_shared<RecentEvents>(1000);
//   deps.events = make_tee_sink({make_log_sink(), recent});
// The events carry user ids and reasons (never session IDs, see events.h): whatever serves them
// must be as private as the logs.
//
// Thread safety: `on_event` and `since` may be called concurrently from any threads. `on_event`
// is O(1): the event is copied before a mutex is taken; under it, one swap into the ring.
// `since` copies at most `limit` entries under the mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "sessionkit/events.h"

namespace sessionkit {

class RecentEvents final : public EventSink {
 public:
  // Keeps the newest `capacity` events (room for all of them is reserved at once: a few hundred
  // bytes each, plus their strings). Throws std::invalid_argument when capacity is 0.
  explicit RecentEvents(std::size_t capacity = 1000);

  void on_event(const Event& event) override;

  struct Entry {
    std::uint64_t seq = 0;  // 1 for the first event this object received, then +1 each
    Event event;
  };
  struct Page {
    std::vector<Entry> entries;  // oldest first
    std::uint64_t last_seq = 0;  // the newest number given so far (0: no event yet)
    std::uint64_t dropped = 0;   // events after `after_seq` no longer held
  };
  // The events numbered after `after_seq`, oldest first, at most `limit` of them. `dropped`
  // counts the events after `after_seq` that were overwritten before this call (they are
  // skipped: `entries` starts at the oldest one still held). An `after_seq` of `last_seq` or
  // more answers no entries (a reader that is up to date, or one that saw another instance).
  // A reader that got `limit` entries asks again after the last one's `seq` for the rest.
  Page since(std::uint64_t after_seq, std::size_t limit) const;

  std::size_t capacity() const noexcept { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<Entry> ring_;  // entry `seq` at index (seq - 1) % capacity_; grows to capacity_
  std::uint64_t last_seq_ = 0;
};

}  // namespace sessionkit
