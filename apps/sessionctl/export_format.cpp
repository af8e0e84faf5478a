// export_format.cpp — see export_format.h.
#include "export_format.h"

#include <nlohmann/json.hpp>

#include "context.h"
#include "render.h"

namespace sessionctl {

namespace sk = sessionkit;
using nlohmann::json;

namespace {

constexpr auto kReplace = json::error_handler_t::replace;        // a record always encodes
constexpr std::size_t kMaxLine = std::size_t{64} * 1024 * 1024;  // bounds one line in memory

}  // namespace

std::string export_header(std::string_view store_name, sk::Time now) {
  return json{{"sessionkit_export", kExportVersion},
              {"store", std::string(store_name)},
              {"exported_at", iso_time(now)},
              {"values", "as-stored"}}
      .dump();
}

std::string export_line(const sk::StoredSession& s) {
  return json{{"key", s.key.hex()}, {"record", sk::record_to_json(s.record)}}.dump(-1, ' ', false,
                                                                                   kReplace);
}

std::string export_trailer(std::size_t sessions) {
  return json{{"end", true}, {"sessions", sessions}}.dump();
}

ExportReader::ExportReader(std::istream& in) : in_(&in) {
  std::string line;
  if (!read_line(line)) throw Failure(kCorrupt, "the input is empty: not a sessionkit export");
  const json h = json::parse(line, nullptr, false);
  if (h.is_discarded() || !h.is_object() || !h.contains("sessionkit_export")) {
    throw Failure(kCorrupt, "line 1: not a sessionkit export (no sessionkit_export header)");
  }
  if (h["sessionkit_export"] != kExportVersion) {
    throw Failure(kCorrupt, "line 1: export format version " + h["sessionkit_export"].dump() +
                                " (this sessionctl reads version 1)");
  }
  if (h.contains("store") && h["store"].is_string()) store_ = h["store"].get<std::string>();
}

bool ExportReader::read_line(std::string& line) {
  line.clear();
  if (!std::getline(*in_, line)) {
    if (in_->bad()) throw Failure(kCorrupt, "reading the export failed");
    return false;
  }
  ++line_no_;
  bytes_ += line.size() + 1;
  if (line.size() > kMaxLine) {
    throw Failure(kCorrupt, "line " + std::to_string(line_no_) + ": longer than 64 MiB");
  }
  if (line.ends_with('\r')) line.pop_back();
  return true;
}

std::vector<sk::StoredSession> ExportReader::next(std::size_t n) {
  std::vector<sk::StoredSession> out;
  std::string line;
  while (!ended_ && out.size() < n) {
    if (!read_line(line)) {
      throw Failure(kCorrupt, "the export ends after " + std::to_string(sessions_) +
                                  " sessions without its end line: truncated");
    }
    const std::string where = "line " + std::to_string(line_no_) + ": ";
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Failure(kCorrupt, where + "not a JSON object");
    if (j.contains("end")) {
      if (!j["sessions"].is_number_unsigned() || j["sessions"].get<std::size_t>() != sessions_) {
        throw Failure(kCorrupt, where + "the end line counts " + j["sessions"].dump() +
                                    " sessions, the file holds " + std::to_string(sessions_));
      }
      ended_ = true;
      if (read_line(line)) throw Failure(kCorrupt, where + "more lines after the end line");
      break;
    }
    const json& key_text = j["key"];
    const std::optional<sk::SessionKey> key =
        key_text.is_string() ? sk::SessionKey::from_hex(key_text.get<std::string>()) : std::nullopt;
    if (!key) throw Failure(kCorrupt, where + "\"key\" is not 64 lowercase hex characters");
    sk::Result<sk::SessionRecord> record = sk::record_from_json(std::move(j["record"]));
    if (!record.ok()) throw Failure(kCorrupt, where + record.status().message());
    out.push_back({*key, std::move(record).value()});
    ++sessions_;
  }
  return out;
}

}  // namespace sessionctl
