// pages.h — the demo's HTML. Every dynamic value is HTML-escaped here.
#pragma once

#include <cstdint>
#include <string>

namespace demo {

struct HomePage {
  bool authenticated = false;
  std::string user;  // "" when anonymous
  std::int64_t visits = 0;
  std::string csrf_token;       // goes into every form's hidden _csrf input
  std::string id_hint;          // "" when there is no stored session
  std::string created_at;       // ISO 8601, "" when there is no stored session
  std::string expires_at;       // ISO 8601, "" when there is no stored session
  std::string message;          // a notice to show (e.g. failed login), "" for none
  bool secure_cookies = false;  // whether cookies are sent with Secure (production mode)
};

std::string render_home(const HomePage& page);

}  // namespace demo
