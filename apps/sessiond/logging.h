// logging.h — sessiond's log lines (private to sessiond): spdlog's text lines by default, or
// one JSON object per line (`--log-format json`) for a log pipeline:
//   {"ts":"2026-12-05T06:52:01.123Z","level":"info","msg":"request","request_id":"…",…}
// Every line the process writes through spdlog (the HTTP server's included) takes the chosen
// form; `log_fields` adds named fields (in text: "msg key=value …"). No line ever holds a
// session ID, an API key or a payload: requests are logged by route pattern, not by path.
#pragma once

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string_view>

namespace sessiond {

enum class LogFormat { text, json };

// Sets the default logger's format. Call once at start, before other threads log.
void use_log_format(LogFormat format);

// One line at `level` with `msg` and the members of `fields` (a JSON object).
void log_fields(spdlog::level::level_enum level, std::string_view msg,
                const nlohmann::json& fields);

}  // namespace sessiond
