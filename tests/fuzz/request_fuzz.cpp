// libFuzzer target: the demo's parsing of request input (JSON login and token bodies, scopes,
// urlencoded forms, percent-decoding, targets, media types), HTML escaping and ISO 8601
// timestamps.
//
// Checks, for any input: nothing crashes, throws or overflows the stack (deeply nested JSON
// included); a parsed login has string fields; html_escape leaves no markup characters.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "credentials.h"
#include "http_util.h"
#include "sessionkit/http/form.h"

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

// The reference for demo::iso8601: gmtime + strftime.
std::string iso8601_reference(std::int64_t ms) {
  const auto secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  return std::string(buf, std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm));
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (size >= 8) {  // timestamps from 1000 to 9999: the fast formatter agrees with strftime
    std::int64_t ms = 0;
    std::memcpy(&ms, data, 8);
    constexpr std::int64_t kEnd = 253402300800000;    // 10000-01-01 in ms since 1970
    constexpr std::int64_t kFirst = -30610224000000;  // 1000-01-01 (strftime pads no less)
    ms = kFirst + static_cast<std::int64_t>(static_cast<std::uint64_t>(ms) %
                                            static_cast<std::uint64_t>(kEnd - kFirst));
    check(demo::iso8601(sessionkit::from_millis(ms)) == iso8601_reference(ms));
  }
  auto login = demo::parse_login_json(in);
  if (auto* c = std::get_if<demo::Credentials>(&login)) {
    check(in.find('{') != std::string_view::npos);
    (void)c;
  } else {
    check(!std::get<std::string>(login).empty());
  }
  auto change = demo::parse_password_change_json(in);
  if (auto* c = std::get_if<demo::PasswordChange>(&change)) {
    check(c->replacement.size() >= 8 && c->replacement.size() <= 1024);
  }
  auto reauth = demo::parse_reauth_json(in);
  if (auto* r = std::get_if<demo::Reauthentication>(&reauth)) {
    check(r->password.size() <= in.size());
  } else {
    check(!std::get<std::string>(reauth).empty());
  }
  // Token sessions (POST /api/token, /api/token/refresh, /api/token/revoke).
  auto token = demo::parse_token_request_json(in);
  if (auto* t = std::get_if<demo::TokenRequest>(&token)) {
    check(!t->scope.empty() && demo::canonical_scope(t->scope) == t->scope);
    check(std::holds_alternative<demo::Credentials>(login));
  } else {
    const auto& e = std::get<demo::TokenRequestError>(token);
    check((e.error == "invalid_request" || e.error == "invalid_scope") && !e.message.empty());
  }
  if (auto scope = demo::canonical_scope(in)) {
    check(!scope->empty() && demo::canonical_scope(*scope) == scope);  // idempotent
  }
  auto member = demo::parse_token_member_json(in, "refresh_token");
  if (auto* value = std::get_if<std::optional<std::string>>(&member)) {
    check(!*value || (*value)->size() <= in.size());
  } else {
    check(!in.empty() && !std::get<std::string>(member).empty());
  }
  namespace http = sessionkit::http;
  const auto form = http::parse_form(in);
  if (form) {
    for (const auto& [k, v] : *form) {
      check(k.size() <= in.size() && v.size() <= in.size());
      check(http::form_field(in, k) == v);  // the first value, as parse_form keeps it
    }
  }
  if (!form) check(!http::form_field(in, "_csrf"));  // a malformed body has no fields at all
  if (auto decoded = http::form_decode(in)) check(decoded->size() <= in.size());
  const std::string encoded = http::form_encode(in);
  auto round = http::form_decode(encoded);
  check(round.has_value() && *round == in);
  (void)http::is_form_content_type(in);
  check(demo::target_path(in).size() <= in.size());
  check(demo::target_query(in).size() <= in.size());
  (void)demo::media_type_is(in, "application/json");
  const std::string escaped = demo::html_escape(in);
  check(escaped.find_first_of("<>\"'") == std::string::npos);
  return 0;
}
