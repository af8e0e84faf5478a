#include "sessionkit/record.h"

namespace sessionkit {

nlohmann::json record_to_json(const SessionRecord& r) {
  nlohmann::json j = {
      {"v", kRecordFormatVersion},
      {"created", to_millis(r.created_at)},
      {"access", to_millis(r.last_access)},
      {"expires", to_millis(r.expires_at)},
      {"absolute", to_millis(r.absolute_expires_at)},
  };
  if (r.auth_at) j["auth"] = to_millis(*r.auth_at);
  if (!r.user_id.empty()) j["user"] = r.user_id;
  if (!r.ip.empty()) j["ip"] = r.ip;
  if (!r.user_agent.empty()) j["ua"] = r.user_agent;
  j["data"] = r.data;
  return j;
}

std::string encode_record(const SessionRecord& r) {
  // Invalid UTF-8 in strings is replaced rather than thrown on: a record always encodes.
  return record_to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<SessionRecord> decode_record(std::string_view encoded) {
  auto j = nlohmann::json::parse(encoded, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return {errc::corrupt, "record is not a JSON object"};
  return record_from_json(std::move(j));
}

Result<SessionRecord> record_from_json(nlohmann::json encoded) {
  nlohmann::json& j = encoded;
  if (!j.is_object()) return {errc::corrupt, "record is not a JSON object"};
  auto v = j.find("v");
  if (v == j.end() || !v->is_number_integer() || v->get<int>() != kRecordFormatVersion) {
    return {errc::corrupt, "unsupported record version"};
  }
  auto time_field = [&](const char* name, bool required, std::optional<Time>& out) -> bool {
    auto it = j.find(name);
    if (it == j.end()) return !required;
    if (!it->is_number_integer()) return false;
    out = from_millis(it->get<std::int64_t>());
    return true;
  };
  auto string_field = [&](const char* name, std::string& out) -> bool {
    auto it = j.find(name);
    if (it == j.end()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  SessionRecord r;
  std::optional<Time> created, access, expires, absolute;
  if (!time_field("created", true, created) || !time_field("access", true, access) ||
      !time_field("expires", true, expires) || !time_field("absolute", true, absolute) ||
      !time_field("auth", false, r.auth_at) || !string_field("user", r.user_id) ||
      !string_field("ip", r.ip) || !string_field("ua", r.user_agent)) {
    return {errc::corrupt, "record metadata is malformed"};
  }
  r.created_at = *created;
  r.last_access = *access;
  r.expires_at = *expires;
  r.absolute_expires_at = *absolute;
  auto data = j.find("data");
  if (data == j.end() || !data->is_object()) return {errc::corrupt, "record data is not an object"};
  r.data = std::move(*data);
  return r;
}

}  // namespace sessionkit
