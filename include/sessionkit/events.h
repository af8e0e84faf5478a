// sessionkit/events.h — session lifecycle events.
//
// The manager reports every lifecycle step (create, rotate, destroy, expire, anomaly, store
// error) to an `EventSink`. The default sink writes one structured spdlog line per event. Events
// never contain a session ID: only the key hint (a digest prefix) and the user id.
//
// Thread safety: `on_event` is called concurrently from request threads; sinks must be
// thread-safe and fast (no blocking I/O beyond what spdlog does).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sessionkit/clock.h"

namespace spdlog {
class logger;
}

namespace sessionkit {

enum class EventType { created, rotated, destroyed, expired, anomaly, store_error };

std::string_view to_string(EventType type) noexcept;

struct Event {
  EventType type;
  Time at{};
  std::string key_hint;      // digest prefix of the (new) session key, or ""
  std::string old_key_hint;  // for `rotated`: the previous key's hint
  std::string user_id;       // "" when anonymous
  std::string reason;        // free text: why (idle timeout, logout, store message, ...)
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& event) = 0;
};

// Logs each event as one line: "session <type> key=<hint> user=<id> reason=<...>", at info
// level (warn for anomaly and store_error). With no logger, spdlog's default logger is used.
std::shared_ptr<EventSink> make_log_sink(std::shared_ptr<spdlog::logger> logger = nullptr);

// Discards everything.
std::shared_ptr<EventSink> make_null_sink();

}  // namespace sessionkit
