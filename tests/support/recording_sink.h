// recording_sink.h — an EventSink that keeps every event it is given (tests only), for asserting
// which events and anomaly reasons a component emitted. Thread-safe: lock `mutex` to read
// `events` while the component may still emit.
#pragma once

#include <mutex>
#include <vector>

#include "sessionkit/events.h"

namespace sessionkit::testing {

struct RecordingSink final : EventSink {
  std::mutex mutex;
  std::vector<Event> events;
  void on_event(const Event& e) override {
    std::lock_guard lock(mutex);
    events.push_back(e);
  }
};

}  // namespace sessionkit::testing
