#include "credentials.h"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>

namespace demo {

namespace {
constexpr std::string_view kShapeMessage =
    "expected a JSON object {\"username\": string, \"password\": string}";

// The credentials of a parsed login body (POST /api/login and POST /api/token share it).
std::variant<Credentials, std::string> credentials_of(const nlohmann::json& parsed) {
  if (parsed.is_discarded()) return std::string("malformed JSON body");
  if (!parsed.is_object()) return std::string(kShapeMessage);
  auto u = parsed.find("username");
  auto pw = parsed.find("password");
  if (u == parsed.end() || pw == parsed.end() || !u->is_string() || !pw->is_string()) {
    return std::string(kShapeMessage);
  }
  return Credentials{u->get<std::string>(), pw->get<std::string>()};
}
}  // namespace

std::variant<Credentials, std::string> parse_login_json(std::string_view body) {
  return credentials_of(nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false));
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

std::optional<std::string> canonical_scope(std::string_view scope) {
  bool wanted[std::size(kTokenScopes)] = {};
  bool any = false;
  std::size_t pos = 0;
  while (pos < scope.size()) {
    const std::size_t end = std::min(scope.find(' ', pos), scope.size());
    const std::string_view name = scope.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty()) continue;
    const auto* it = std::find(std::begin(kTokenScopes), std::end(kTokenScopes), name);
    if (it == std::end(kTokenScopes)) return std::nullopt;
    wanted[it - std::begin(kTokenScopes)] = true;
    any = true;
  }
  if (!any) wanted[0] = true;  // "profile"
  std::string out;
  for (std::size_t i = 0; i < std::size(kTokenScopes); ++i) {
    if (!wanted[i]) continue;
    if (!out.empty()) out += ' ';
    out += kTokenScopes[i];
  }
  return out;
}

std::variant<TokenRequest, TokenRequestError> parse_token_request_json(std::string_view body) {
  using nlohmann::json;
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto login = credentials_of(parsed);
  if (auto* why = std::get_if<std::string>(&login)) {
    return TokenRequestError{"invalid_request", std::move(*why)};
  }
  TokenRequest out;
  out.credentials = std::get<Credentials>(std::move(login));
  std::string_view scope;
  if (auto it = parsed.find("scope"); it != parsed.end()) {
    if (!it->is_string()) return TokenRequestError{"invalid_request", "scope must be a string"};
    scope = it->get_ref<const std::string&>();
  }
  auto canonical = canonical_scope(scope);
  if (!canonical) {
    return TokenRequestError{"invalid_scope", "known scopes: profile, sessions"};
  }
  out.scope = std::move(*canonical);
  if (auto it = parsed.find("refresh_cookie"); it != parsed.end()) {
    if (!it->is_boolean()) {
      return TokenRequestError{"invalid_request", "refresh_cookie must be true or false"};
    }
    out.refresh_cookie = it->get<bool>();
  }
  return out;
}

std::variant<std::optional<std::string>, std::string> parse_token_member_json(
    std::string_view body, std::string_view member) {
  using nlohmann::json;
  if (body.empty()) return std::optional<std::string>();
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::string("malformed JSON body");
  if (!parsed.is_object())
    return "expected a JSON object {\"" + std::string(member) + "\": string}";
  auto it = parsed.find(member);
  if (it == parsed.end()) return std::optional<std::string>();
  if (!it->is_string()) return std::string(member) + " must be a string";
  return std::optional<std::string>(it->get<std::string>());
}

}  // namespace demo
