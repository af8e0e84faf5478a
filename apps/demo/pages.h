// pages.h — the demo's HTML. Every dynamic value is HTML-escaped here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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
  std::string created_ago;    // "2 minutes ago"
  std::string last_seen_ago;  // "just now"
};

// "Chrome on Linux", "Firefox on Windows", ... from a User-Agent string; the raw string (cut)
// when it is not recognised.
std::string describe_user_agent(std::string_view ua);
// "just now", "5 minutes ago", "3 hours ago", "2 days ago": how long `seconds` is.
std::string describe_age(long long seconds);

// What a notice reports: an error (red, role="alert") or a success (green, role="status").
enum class NoticeKind { error, success };

struct HomePage {
  bool authenticated = false;
  std::string user;  // "" when anonymous
  std::int64_t visits = 0;
  std::string csrf_token;                       // goes into every form's hidden _csrf input
  std::string id_hint;                          // "" when there is no stored session
  std::string created_at;                       // ISO 8601, "" when there is no stored session
  std::string expires_at;                       // ISO 8601, "" when there is no stored session
  std::string message;                          // a notice to show (e.g. failed login), "" for none
  NoticeKind message_kind = NoticeKind::error;  // how `message` is shown
  bool secure_cookies = false;       // whether cookies are sent with Secure (production mode)
  std::vector<SessionRow> sessions;  // the signed-in user's sessions, newest first
  bool ask_password = false;         // show the re-authentication form (a sensitive action)
};

std::string render_home(const HomePage& page);
// A page with only a notice and a link back to "/" (for answers that have no session to show:
// the store is down, the request could not be read).
std::string render_notice_page(std::string_view notice, std::string_view title);

}  // namespace demo
