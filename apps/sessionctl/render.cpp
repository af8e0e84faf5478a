// render.cpp — see render.h.
#include "render.h"

#include <algorithm>
#include <chrono>
#include <ostream>

#include "sessionkit/store_rules.h"

namespace sessionctl {

namespace sk = sessionkit;

std::string iso_time(sk::Time t) {
  const auto ms = std::chrono::time_point_cast<std::chrono::milliseconds>(t);
  const auto secs = std::chrono::floor<std::chrono::seconds>(ms);
  const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(secs)};
  const std::chrono::hh_mm_ss hms{secs - std::chrono::floor<std::chrono::days>(secs)};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ld.%03ldZ",
                static_cast<int>(day.year()), static_cast<unsigned>(day.month()),
                static_cast<unsigned>(day.day()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()),
                static_cast<long>((ms - secs).count()));
  return buf;
}

nlohmann::json describe(const Context& ctx, const sk::StoredSession& s) {
  const sk::SessionRecord& r = s.record;
  nlohmann::json out = {
      {"key", s.key.hex()},
      {"user", r.user_id},
      {"created", iso_time(r.created_at)},
      {"last_access", iso_time(r.last_access)},
      {"expires_at", iso_time(std::min(r.expires_at, r.absolute_expires_at))},
      {"absolute_expires_at", iso_time(r.absolute_expires_at)},
      {"auth_at", r.auth_at ? nlohmann::json(iso_time(*r.auth_at)) : nlohmann::json()},
      {"ip", r.ip},
      {"user_agent", r.user_agent},
      {"payload_bytes", sk::stores::dump_payload(r.data).size()},
      {"payload_keys", r.data.size()},
  };
  if (ctx.has_secret()) out["handle"] = ctx.handle(s.key);
  return out;
}

nlohmann::json payload_view(const nlohmann::json& data, bool reveal) {
  if (reveal) return data;
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : data.items()) {
    out[name] = {{"type", value.type_name()}, {"bytes", sk::stores::dump_payload(value).size()}};
  }
  return out;
}

void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

}  // namespace sessionctl
