// The Redis record codec (see record_codec.h): SessionRecord to hash fields and back, a patch as
// script arguments (with patch_if's field check), and the Status of a reply the store did not
// expect.
#include "stores/redis/record_codec.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "sessionkit/store_rules.h"
#include "stores/kept_as_is.h"
#include "stores/payload_text.h"
#include "stores/redis/resp.h"
#include "stores/utf8.h"

namespace sessionkit::redis {
namespace {

constexpr std::string_view kPayloadPrefix = "d:";

}  // namespace

std::string ms(Time t) {
  return std::to_string(to_millis(t));
}

std::optional<std::int64_t> parse_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string payload_field(std::string_view name) {
  std::string field(kPayloadPrefix);
  // A name is kept as a hash field, not as JSON text: repaired here as dump_payload repairs
  // the names inside a value, so every store answers the same payload (U+FFFD per bad byte).
  if (stores::valid_utf8(name)) {
    field += name;
  } else {
    field += stores::replaced_utf8(name);
  }
  return field;
}

Status reply_status(const redisReply& r) {
  if (is_error(r) && text(r).substr(0, 9) == "WRONGTYPE") {
    return {errc::corrupt, "redis: a session key holds another type: " + std::string(text(r))};
  }
  return {errc::unavailable, describe(r)};
}

std::vector<std::string> record_args(Time now, const SessionRecord& r) {
  const auto deadline = std::min(to_millis(r.expires_at), to_millis(r.absolute_expires_at));
  std::vector<std::string> args{
      ms(now), std::to_string(std::max<std::int64_t>(1, deadline - to_millis(now))),
      "v",     std::to_string(kRecordFormatVersion),
      "c",     ms(r.created_at),
      "a",     ms(r.last_access),
      "e",     ms(r.expires_at),
      "x",     ms(r.absolute_expires_at),
      "ip",    r.ip,
      "ua",    r.user_agent};
  if (r.auth_at) args.insert(args.end(), {"t", ms(*r.auth_at)});
  if (!r.user_id.empty()) args.insert(args.end(), {"u", r.user_id});
  for (const auto& [name, value] : r.data.items()) {
    args.push_back(payload_field(name));
    args.push_back(stores::dump_payload(value));
  }
  return args;
}

FieldCheck field_check(const PayloadCondition& condition) {
  using Mode = FieldCheck::Mode;
  // dump_payload replaces invalid UTF-8: such a value is not kept as it is.
  if (!stores::kept_as_is(condition.value, stores::valid_utf8)) return {Mode::never, {}, {}};
  if (!stores::valid_utf8(condition.key)) {
    return {condition.value.is_null() ? Mode::none : Mode::never, {}, {}};
  }
  return {Mode::equals, payload_field(condition.key), stores::dump_payload(condition.value)};
}

std::vector<std::string> patch_args(Time now, const SessionPatch& patch, const FieldCheck& check) {
  using Mode = FieldCheck::Mode;
  std::vector<std::string> args{ms(now),
                                patch.user_id ? "1" : "0",
                                patch.user_id.value_or(""),
                                patch.auth_at ? ms(*patch.auth_at) : "",
                                patch.touch ? ms(patch.touch->last_access) : "",
                                patch.touch ? ms(patch.touch->expires_at) : "",
                                check.mode == Mode::none    ? ""
                                : check.mode == Mode::never ? "0"
                                                            : "1",
                                check.field,
                                check.text,
                                std::to_string(patch.set.size())};
  for (const auto& [name, value] : patch.set) {
    args.push_back(payload_field(name));
    args.push_back(stores::dump_payload(value));
  }
  for (const auto& name : patch.erase)
    args.push_back(payload_field(name));
  return args;
}

Result<PatchAnswer> read_patch_answer(const redisReply& r) {
  if (r.type == REDIS_REPLY_INTEGER) {
    if (r.integer == 0) return Result<PatchAnswer>(errc::not_found, "session not found");
    return PatchAnswer{true, from_millis(r.integer), std::nullopt};
  }
  if (r.type != REDIS_REPLY_ARRAY || r.elements != 2 || r.element[0]->type != REDIS_REPLY_INTEGER) {
    return reply_status(r);
  }
  PatchAnswer out{false, from_millis(r.element[0]->integer), std::nullopt};
  if (r.element[1]->type == REDIS_REPLY_STRING) out.held = std::string(text(*r.element[1]));
  return out;
}

Result<std::optional<SessionRecord>> decode_hash(const redisReply& r) {
  using R = std::optional<SessionRecord>;
  if (r.type == REDIS_REPLY_NIL) return R{};
  if (r.type != REDIS_REPLY_ARRAY) return reply_status(r);
  if (r.elements == 0) return R{};
  if (r.elements % 2 != 0) return Result<R>(errc::corrupt, "redis: odd-sized session hash");
  SessionRecord rec;
  bool has[5] = {};
  auto time_field = [&](std::string_view v, Time& out, int slot) {
    auto n = parse_i64(v);
    if (!n) return false;
    out = from_millis(*n);
    has[slot] = true;
    return true;
  };
  for (std::size_t i = 0; i < r.elements; i += 2) {
    std::string_view f = text(*r.element[i]), v = text(*r.element[i + 1]);
    bool ok = true;
    if (f.substr(0, kPayloadPrefix.size()) == kPayloadPrefix) {
      auto value = stores::parse_payload_text(v);
      if (value.is_discarded())
        return Result<R>(errc::corrupt, "redis: a payload value does not parse");
      rec.data[std::string(f.substr(kPayloadPrefix.size()))] = std::move(value);
    } else if (f == "v") {
      if (v != std::to_string(kRecordFormatVersion)) {
        return Result<R>(errc::corrupt,
                         "redis: unknown record format version '" + std::string(v) + "'");
      }
      has[4] = true;
    } else if (f == "c") {
      ok = time_field(v, rec.created_at, 0);
    } else if (f == "a") {
      ok = time_field(v, rec.last_access, 1);
    } else if (f == "e") {
      ok = time_field(v, rec.expires_at, 2);
    } else if (f == "x") {
      ok = time_field(v, rec.absolute_expires_at, 3);
    } else if (f == "t") {
      auto n = parse_i64(v);  // optional: does not count as one of the required fields
      ok = n.has_value();
      if (ok) rec.auth_at = from_millis(*n);
    } else if (f == "u") {
      rec.user_id = std::string(v);
    } else if (f == "ip") {
      rec.ip = std::string(v);
    } else if (f == "ua") {
      rec.user_agent = std::string(v);
    }  // unknown fields are ignored, as in the portable encoding
    if (!ok) return Result<R>(errc::corrupt, "redis: bad time in field '" + std::string(f) + "'");
  }
  if (!(has[0] && has[1] && has[2] && has[3] && has[4])) {
    return Result<R>(errc::corrupt, "redis: session hash lacks required fields");
  }
  return R(std::move(rec));
}

}  // namespace sessionkit::redis
