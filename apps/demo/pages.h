// pages.h — the demo's HTML. Every dynamic value is HTML-escaped here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace demo {

// One row of "your active sessions" (from SessionManager::list_sessions).
struct SessionRow {
  std::string handle;  // opaque; posted back to revoke the session
  bool current = false;
  std::string created_at;    // ISO 8601
  std::string last_seen_at;  // ISO 8601
  std::string ip;
  std::string user_agent;
};

struct HomePage {
  bool authenticated = false;
  std::string user;  // "" when anonymous
  std::int64_t visits = 0;
  std::string csrf_token;            // goes into every form's hidden _csrf input
  std::string id_hint;               // "" when there is no stored session
  std::string created_at;            // ISO 8601, "" when there is no stored session
  std::string expires_at;            // ISO 8601, "" when there is no stored session
  std::string message;               // a notice to show (e.g. failed login), "" for none
  bool secure_cookies = false;       // whether cookies are sent with Secure (production mode)
  std::vector<SessionRow> sessions;  // the signed-in user's sessions, newest first
  bool ask_password = false;         // show the re-authentication form (a sensitive action)
};

std::string render_home(const HomePage& page);

}  // namespace demo
