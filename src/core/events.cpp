#include "sessionkit/events.h"

#include <spdlog/spdlog.h>

namespace sessionkit {

std::string_view to_string(EventType type) noexcept {
  switch (type) {
    case EventType::created:
      return "created";
    case EventType::rotated:
      return "rotated";
    case EventType::destroyed:
      return "destroyed";
    case EventType::expired:
      return "expired";
    case EventType::anomaly:
      return "anomaly";
    case EventType::store_error:
      return "store_error";
  }
  return "unknown";
}

namespace {

class LogSink final : public EventSink {
 public:
  explicit LogSink(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

  void on_event(const Event& e) override {
    spdlog::logger& log = logger_ ? *logger_ : *spdlog::default_logger_raw();
    auto level = (e.type == EventType::anomaly || e.type == EventType::store_error)
                     ? spdlog::level::warn
                     : spdlog::level::info;
    if (e.type == EventType::rotated) {
      log.log(level, "session {} key={} old_key={} user={} reason=\"{}\"", to_string(e.type),
              e.key_hint, e.old_key_hint, e.user_id, e.reason);
    } else {
      log.log(level, "session {} key={} user={} reason=\"{}\"", to_string(e.type), e.key_hint,
              e.user_id, e.reason);
    }
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

class NullSink final : public EventSink {
 public:
  void on_event(const Event&) override {}
};

}  // namespace

std::shared_ptr<EventSink> make_log_sink(std::shared_ptr<spdlog::logger> logger) {
  return std::make_shared<LogSink>(std::move(logger));
}

std::shared_ptr<EventSink> make_null_sink() {
  return std::make_shared<NullSink>();
}

}  // namespace sessionkit
