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

}  // namespace demo
