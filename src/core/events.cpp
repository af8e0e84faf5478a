#include "sessionkit/events.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

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

std::shared_ptr<spdlog::logger> library_logger() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    constexpr const char* kName = "sessionkit";
    if (auto existing = spdlog::get(kName)) return existing;
    try {
      return spdlog::stderr_color_mt(kName);
    } catch (const spdlog::spdlog_ex&) {  // registered by another thread meanwhile
      return spdlog::get(kName);
    }
  }();
  return logger;
}

nlohmann::ordered_json event_to_json(const Event& e) {
  nlohmann::ordered_json object = {
      {"event", std::string(to_string(e.type))}, {"at_ms", to_millis(e.at)}, {"key", e.key_hint}};
  if (e.type == EventType::rotated) object["old_key"] = e.old_key_hint;
  if (e.type == EventType::anomaly) object["anomaly"] = std::string(to_string(e.anomaly));
  object["user"] = e.user_id;
  object["reason"] = e.reason;
  return object;
}

namespace {

spdlog::level::level_enum level_of(const Event& e) {
  return (e.type == EventType::anomaly || e.type == EventType::store_error) ? spdlog::level::warn
                                                                            : spdlog::level::info;
}

class LogSink final : public EventSink {
 public:
  explicit LogSink(std::shared_ptr<spdlog::logger> logger)
      : logger_(logger ? std::move(logger) : library_logger()) {}

  void on_event(const Event& e) override {
    spdlog::logger& log = *logger_;
    const auto level = level_of(e);
    if (e.type == EventType::rotated) {
      log.log(level, "session {} key={} old_key={} user={} reason=\"{}\"", to_string(e.type),
              e.key_hint, e.old_key_hint, e.user_id, e.reason);
    } else if (e.type == EventType::anomaly && e.anomaly != Anomaly::none) {
      log.log(level, "session anomaly:{} key={} user={} reason=\"{}\"", to_string(e.anomaly),
              e.key_hint, e.user_id, e.reason);
    } else {
      log.log(level, "session {} key={} user={} reason=\"{}\"", to_string(e.type), e.key_hint,
              e.user_id, e.reason);
    }
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

class JsonLogSink final : public EventSink {
 public:
  explicit JsonLogSink(std::shared_ptr<spdlog::logger> logger)
      : logger_(logger ? std::move(logger) : library_logger()) {}

  void on_event(const Event& e) override {
    logger_->log(
        level_of(e), "{}",
        event_to_json(e).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

class NullSink final : public EventSink {
 public:
  void on_event(const Event&) override {}
};

class TeeSink final : public EventSink {
 public:
  explicit TeeSink(std::vector<std::shared_ptr<EventSink>> sinks) : sinks_(std::move(sinks)) {
    std::erase(sinks_, nullptr);
  }

  void on_event(const Event& e) override {
    for (const auto& sink : sinks_)
      sink->on_event(e);
  }

 private:
  std::vector<std::shared_ptr<EventSink>> sinks_;
};

}  // namespace

std::shared_ptr<EventSink> make_log_sink(std::shared_ptr<spdlog::logger> logger) {
  return std::make_shared<LogSink>(std::move(logger));
}

std::shared_ptr<EventSink> make_json_log_sink(std::shared_ptr<spdlog::logger> logger) {
  return std::make_shared<JsonLogSink>(std::move(logger));
}

std::shared_ptr<EventSink> make_null_sink() {
  return std::make_shared<NullSink>();
}

std::shared_ptr<EventSink> make_tee_sink(std::vector<std::shared_ptr<EventSink>> sinks) {
  return std::make_shared<TeeSink>(std::move(sinks));
}

}  // namespace sessionkit
