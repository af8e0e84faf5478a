#include "sessionkit/recent_events.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace sessionkit {

RecentEvents::RecentEvents(std::size_t capacity) : capacity_(capacity) {
  if (capacity_ == 0) throw std::invalid_argument("RecentEvents needs a capacity of at least 1");
  ring_.reserve(capacity_);  // no reallocation under the lock later
}

void RecentEvents::on_event(const Event& event) {
  Entry entry{.seq = 0, .event = event};  // the copy, before the lock
  {
    std::lock_guard lock(mutex_);
    entry.seq = ++last_seq_;
    if (ring_.size() < capacity_) {
      ring_.push_back(std::move(entry));
      return;
    }
    std::swap(ring_[(entry.seq - 1) % capacity_], entry);
  }
  // `entry` now holds the overwritten event: freed here, outside the lock.
}

RecentEvents::Page RecentEvents::since(std::uint64_t after_seq, std::size_t limit) const {
  Page page;
  std::lock_guard lock(mutex_);
  page.last_seq = last_seq_;
  if (after_seq >= last_seq_) return page;
  const std::uint64_t oldest_held = last_seq_ - ring_.size() + 1;
  const std::uint64_t first = std::max(after_seq + 1, oldest_held);
  page.dropped = first - (after_seq + 1);
  const std::uint64_t count = std::min<std::uint64_t>(last_seq_ - first + 1, limit);
  page.entries.reserve(count);
  for (std::uint64_t seq = first; seq < first + count; ++seq) {
    page.entries.push_back(ring_[(seq - 1) % capacity_]);
  }
  return page;
}

}  // namespace sessionkit
