#include "credentials.h"

#include <nlohmann/json.hpp>

namespace demo {

namespace {
constexpr std::string_view kShapeMessage =
    "expected a JSON object {\"username\": string, \"password\": string}";
}  // namespace

std::variant<Credentials, std::string> parse_login_json(std::string_view body) {
  using nlohmann::json;
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::string("malformed JSON body");
  if (!parsed.is_object()) return std::string(kShapeMessage);
  auto u = parsed.find("username");
  auto pw = parsed.find("password");
  if (u == parsed.end() || pw == parsed.end() || !u->is_string() || !pw->is_string()) {
    return std::string(kShapeMessage);
  }
  return Credentials{u->get<std::string>(), pw->get<std::string>()};
}

std::variant<PasswordChange, std::string> parse_password_change_json(std::string_view body) {
  using nlohmann::json;
  constexpr std::string_view kShape =
      "expected a JSON object {\"current\": string, \"new\": string}";
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::string("malformed JSON body");
  if (!parsed.is_object()) return std::string(kShape);
  auto cur = parsed.find("current");
  auto next = parsed.find("new");
  if (cur == parsed.end() || next == parsed.end() || !cur->is_string() || !next->is_string()) {
    return std::string(kShape);
  }
  PasswordChange out{cur->get<std::string>(), next->get<std::string>()};
  if (out.replacement.size() < 8 || out.replacement.size() > 1024) {
    return std::string("the new password must be 8 to 1024 bytes");
  }
  return out;
}

std::variant<Reauthentication, std::string> parse_reauth_json(std::string_view body) {
  using nlohmann::json;
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::string("malformed JSON body");
  auto pw = parsed.is_object() ? parsed.find("password") : parsed.end();
  if (!parsed.is_object() || pw == parsed.end() || !pw->is_string()) {
    return std::string("expected a JSON object {\"password\": string}");
  }
  return Reauthentication{pw->get<std::string>()};
}

}  // namespace demo
