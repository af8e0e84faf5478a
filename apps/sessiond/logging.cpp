// logging.cpp — see logging.h.
#include "logging.h"

#include <spdlog/pattern_formatter.h>

#include <atomic>
#include <ctime>

namespace sessiond {

namespace {

std::atomic<LogFormat> g_format{LogFormat::text};

// A message that is already a JSON object of fields ("msg" included) starts with this byte.
constexpr char kFieldsMark = '\x1f';

template <class Json>
std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// {"ts","level","msg"} lines, or {"ts","level", fields…} for a log_fields message.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since = msg.time.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs);
    const std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    const std::size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
    fmt::format_to(std::back_inserter(dest), R"({{"ts":"{}.{:03}Z","level":"{}",)",
                   std::string_view(stamp, n), millis.count(),
                   std::string_view(level.data(), level.size()));
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (!payload.empty() && payload.front() == kFieldsMark && payload.size() > 2) {
      // "\x1f{…}": the object's members after its '{'.
      dest.append(payload.data() + 2, payload.data() + payload.size());
    } else {
      const std::string text = "\"msg\":" + dump(nlohmann::json(std::string(payload))) + "}";
      dest.append(text.data(), text.data() + text.size());
    }
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

void use_log_format(LogFormat format) {
  g_format.store(format);
  if (format == LogFormat::json) spdlog::set_formatter(std::make_unique<JsonFormatter>());
}

void log_fields(spdlog::level::level_enum level, std::string_view msg,
                const nlohmann::json& fields) {
  if (!spdlog::should_log(level)) return;
  if (g_format.load(std::memory_order_relaxed) == LogFormat::json) {
    nlohmann::ordered_json line = {{"msg", msg}};
    for (const auto& [k, v] : fields.items())
      line[k] = v;
    spdlog::log(level, "{}{}", kFieldsMark, dump(line));
    return;
  }
  std::string text(msg);
  for (const auto& [k, v] : fields.items()) {
    text += ' ';
    text += k;
    text += '=';
    text += v.is_string() ? v.get_ref<const std::string&>() : dump(v);
  }
  spdlog::log(level, "{}", text);
}

}  // namespace sessiond
