// sessionkit/events.h — session lifecycle events.
//
// The manager reports every lifecycle step (create, rotate, destroy, expire, anomaly, store
// error) to an `EventSink` (SessionManager::Dependencies::events). The default sink writes one
// line per event to `library_logger()`: a spdlog logger named "sessionkit" on stderr, never
// mixed into the app's stdout. Pass your own logger to `make_log_sink` (or register one named
// "sessionkit" before the first manager is built) to send them elsewhere;
// `make_json_log_sink` writes one JSON object per line instead, for log collectors. Events
// never contain a session ID: only the key hint (a digest prefix) and the user id.
// `make_tee_sink` sends events to several sinks (the log and a `RecentEvents`, recent_events.h,
// which keeps the last N in memory for an admin page).
//
// Thread safety: `on_event` is called concurrently from request threads; sinks must be
// thread-safe and fast (no blocking I/O beyond what spdlog does).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/anomaly.h"
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
  std::string key_hint;             // digest prefix of the (new) session key, or ""
  std::string old_key_hint;         // for `rotated`: the previous key's hint
  std::string user_id;              // "" when anonymous
  std::string reason;               // free text: why (idle timeout, logout, store message, ...)
  Anomaly anomaly = Anomaly::none;  // for `anomaly`: which one (anomaly.h); else none
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& event) = 0;
};

// The library's logger: the spdlog logger registered as "sessionkit" when the first call finds
// one (the app's), else a new one with that name writing to stderr (colours on a terminal).
// Always the same logger afterwards. Thread-safe.
std::shared_ptr<spdlog::logger> library_logger();

// Logs each event as one line: "session <type> key=<hint> user=<id> reason=<...>", at info
// level (warn for anomaly and store_error); an anomaly's type reads "anomaly:<which>". With no
// logger, `library_logger()`.
std::shared_ptr<EventSink> make_log_sink(std::shared_ptr<spdlog::logger> logger = nullptr);

// One event as a JSON object, its members in this order:
// {"event":"rotated","at_ms":1764720000000,"key":"3f2a9c1d","old_key":"77ab01ce","user":"alice","reason":"login"}
// ("old_key" only for rotated, "anomaly" (its label, anomaly.h) only for anomaly). The user id and
// reason are copied as they are: dump it with error_handler_t::replace (as make_json_log_sink
// does), since an invalid UTF-8 sequence in them would make a strict dump throw.
nlohmann::ordered_json event_to_json(const Event& event);

// The same events as JSON lines, one `event_to_json` object each, invalid UTF-8 in a user id or
// reason replaced with U+FFFD. Same levels and default logger as `make_log_sink`; the logger's
// pattern should print the message alone (e.g. "%v") for the line to be pure JSON.
std::shared_ptr<EventSink> make_json_log_sink(std::shared_ptr<spdlog::logger> logger = nullptr);

// Sends each event to every sink of `sinks`, in their order (nullptrs are skipped). Each sink
// must be thread-safe itself; the tee adds no lock.
std::shared_ptr<EventSink> make_tee_sink(std::vector<std::shared_ptr<EventSink>> sinks);

// Discards everything.
std::shared_ptr<EventSink> make_null_sink();

}  // namespace sessionkit
