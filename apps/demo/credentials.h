// credentials.h — reading a login request's user name and password from its body.
//
// Pure functions (no I/O, no Beast): fuzzed by tests/fuzz/request_fuzz.cpp. Never throw.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace demo {

// Longer user names and passwords are refused (400) before any hashing.
inline constexpr std::size_t kMaxUserBytes = 128;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

struct Credentials {
  std::string user;
  std::string password;
};

// `{"username": string, "password": string}` (other members ignored). On failure, the message
// for a 400 answer: "malformed JSON body" or what the object must look like.
std::variant<Credentials, std::string> parse_login_json(std::string_view body);

struct PasswordChange {
  std::string current;
  std::string replacement;
};
// `{"current": string, "new": string}`; the new password must be 8 to 1024 bytes. On failure,
// the message for a 400 answer.
std::variant<PasswordChange, std::string> parse_password_change_json(std::string_view body);

struct Reauthentication {
  std::string password;
};
// `{"password": string}`: the signed-in user proves it is still them. On failure, the message
// for a 400 answer.
std::variant<Reauthentication, std::string> parse_reauth_json(std::string_view body);

// POST /api/token: `{"username": string, "password": string, "scope"?: string,
// "refresh_cookie"?: bool}`. `scope` is space-separated names from kTokenScopes (default
// "profile"), answered in a canonical order; `refresh_cookie`: hand the refresh token out as an
// HttpOnly cookie instead of in the body. On failure, `error` is the OAuth error code
// ("invalid_request" or "invalid_scope") and `message` the description.
struct TokenRequest {
  Credentials credentials;
  std::string scope;
  bool refresh_cookie = false;
};
struct TokenRequestError {
  std::string error;
  std::string message;
};
inline constexpr std::string_view kTokenScopes[] = {"profile", "sessions"};
std::variant<TokenRequest, TokenRequestError> parse_token_request_json(std::string_view body);

// The canonical form of a scope text (known names, each once, in kTokenScopes order); nullopt
// when it names an unknown scope. "" -> "profile".
std::optional<std::string> canonical_scope(std::string_view scope);

// A body that may be empty or `{"<member>": string, ...}` (other members ignored): the member's
// value, nullopt when the body is empty or lacks the member; a message for a 400 otherwise.
std::variant<std::optional<std::string>, std::string> parse_token_member_json(
    std::string_view body, std::string_view member);

}  // namespace demo
