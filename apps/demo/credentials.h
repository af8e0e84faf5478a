// credentials.h — reading a login request's user name and password from its body.
//
// Pure functions (no I/O, no Beast): fuzzed by tests/fuzz/request_fuzz.cpp. Never throw.
#pragma once

#include <string>
#include <string_view>
#include <variant>

namespace demo {

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

}  // namespace demo
