#include "pages.h"

#include <fmt/format.h>

#include "http_util.h"

namespace demo {
namespace {

constexpr std::string_view kStyle = R"(
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; color: #222; }
h1 { font-size: 1.4rem; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 0.8rem 1rem; margin: 1rem 0; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dt { color: #666; } dd { margin: 0; font-family: ui-monospace, monospace; }
.notice.error { background: #fee; border-color: #e99; }
.notice.success { background: #efe; border-color: #8c8; }
input { margin: 0.2rem 0; } code { background: #f4f4f4; padding: 0 0.2rem; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
td, th { text-align: left; padding: 0.2rem 0.4rem; border-bottom: 1px solid #eee; }
form.inline { display: inline; }
tr.current { background: #f3f8ff; }
)";

std::string csrf_input(const HomePage& page) {
  return fmt::format(R"(<input type="hidden" name="_csrf" value="{}">)",
                     html_escape(page.csrf_token));
}

// "Your active sessions": one row per session with a revoke button, "sign out everywhere else",
// and the password form that sensitive actions ask for.
std::string render_sessions(const HomePage& page) {
  std::string html = "<h2>Your active sessions</h2>\n";
  if (page.ask_password) {
    html += fmt::format(
        "<form method=\"post\" action=\"/reauth\" id=\"reauth\">{}\n"
        "<p>Ending another session needs your password again.</p>\n"
        "<label>Password <input name=\"password\" type=\"password\" "
        "autocomplete=\"current-password\" required></label>\n"
        "<button type=\"submit\">Confirm</button></form>\n",
        csrf_input(page));
  }
  html +=
      "<table id=\"sessions\">\n<tr><th>browser</th><th>started</th><th>last seen</th>"
      "<th>address</th><th></th></tr>\n";
  for (const SessionRow& row : page.sessions) {
    html += fmt::format(
        "<tr{}><td title=\"{}\">{}{}</td>"
        "<td><time datetime=\"{}\">{}</time><br><small>{}</small></td>"
        "<td><time datetime=\"{}\">{}</time><br><small>{}</small></td><td>{}</td><td>"
        "<form class=\"inline\" method=\"post\" action=\"/sessions/revoke\">{}"
        "<input type=\"hidden\" name=\"handle\" value=\"{}\">"
        "<button type=\"submit\">{}</button></form></td></tr>\n",
        row.current ? " class=\"current\"" : "", html_escape(row.user_agent),
        html_escape(describe_user_agent(row.user_agent)),
        row.current ? " <strong>(this browser)</strong>" : "", html_escape(row.created_at),
        html_escape(row.created_ago), html_escape(row.created_at), html_escape(row.last_seen_at),
        html_escape(row.last_seen_ago), html_escape(row.last_seen_at), html_escape(row.ip),
        csrf_input(page), html_escape(row.handle),
        row.current ? "Sign out (this browser)" : "Sign out");
  }
  html += "</table>\n";
  if (page.sessions.size() > 1) {
    html += fmt::format(
        "<form method=\"post\" action=\"/sessions/revoke-others\">{}"
        "<button type=\"submit\">Sign out everywhere else</button></form>\n",
        csrf_input(page));
  }
  return html;
}

}  // namespace

std::string describe_user_agent(std::string_view ua) {
  if (ua.empty()) return "unknown browser";
  auto has = [ua](std::string_view needle) { return ua.find(needle) != std::string_view::npos; };
  std::string browser;
  // Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
  if (has("Edg/"))
    browser = "Edge";
  else if (has("OPR/"))
    browser = "Opera";
  else if (has("Firefox/"))
    browser = "Firefox";
  else if (has("HeadlessChrome/"))
    browser = "Headless Chrome";
  else if (has("Chrome/") || has("Chromium/"))
    browser = "Chrome";
  else if (has("Safari/"))
    browser = "Safari";
  else if (has("curl/"))
    browser = "curl";
  std::string os;
  if (has("Android"))
    os = "Android";
  else if (has("iPhone") || has("iPad"))
    os = "iOS";
  else if (has("Windows"))
    os = "Windows";
  else if (has("Mac OS X") || has("Macintosh"))
    os = "macOS";
  else if (has("CrOS"))
    os = "ChromeOS";
  else if (has("Linux"))
    os = "Linux";
  if (browser.empty()) return std::string(ua.substr(0, 60));
  return os.empty() ? browser : browser + " on " + os;
}

std::string describe_age(long long seconds) {
  if (seconds < 60) return "just now";
  auto plural = [](long long n, std::string_view unit) {
    return std::to_string(n) + " " + std::string(unit) + (n == 1 ? "" : "s") + " ago";
  };
  if (seconds < 3600) return plural(seconds / 60, "minute");
  if (seconds < 86400) return plural(seconds / 3600, "hour");
  return plural(seconds / 86400, "day");
}

std::string render_notice_page(std::string_view notice, std::string_view title) {
  std::string html;
  html += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += fmt::format("<title>{}</title>\n<style>", html_escape(title));
  html += kStyle;
  html += fmt::format(
      "</style>\n</head>\n<body>\n<h1>{}</h1>\n"
      "<section class=\"notice error\" role=\"alert\">{}</section>\n"
      "<p><a href=\"/\">Back to the demo</a></p>\n</body>\n</html>\n",
      html_escape(title), html_escape(notice));
  return html;
}

namespace {

// "Session": what the server stores about this browser, the visit count and Increment.
std::string render_session_section(const HomePage& page) {
  std::string html = "<section>\n<h2>Session</h2>\n";
  if (page.id_hint.empty()) {
    html +=
        "<p>No session is stored for you yet: reading pages costs the server nothing. "
        "Increment the counter or log in to create one.</p>\n";
  } else {
    html += fmt::format(
        "<dl><dt>id hint</dt><dd>{}</dd><dt>created</dt><dd>{}</dd>"
        "<dt>expires</dt><dd>{}</dd></dl>\n",
        html_escape(page.id_hint), html_escape(page.created_at), html_escape(page.expires_at));
  }
  html += fmt::format("<p>Visits: <strong id=\"visits\">{}</strong></p>\n", page.visits);
  html += fmt::format(
      "<form method=\"post\" action=\"/increment\">{}<button type=\"submit\">Increment"
      "</button></form>\n</section>\n",
      csrf_input(page));
  return html;
}

// Signed in: Log out, "Your active sessions", the password form. Otherwise: the login form.
std::string render_account_section(const HomePage& page) {
  std::string html = "<section>\n";
  if (page.authenticated) {
    html += fmt::format("<p>Signed in as <strong>{}</strong>.</p>\n", html_escape(page.user));
    html += fmt::format(
        "<form method=\"post\" action=\"/logout\">{}<button type=\"submit\">Log out</button>"
        "</form>\n",
        csrf_input(page));
    html += render_sessions(page);
    html += fmt::format(
        "<h2>Change your password</h2>\n"
        "<form method=\"post\" action=\"/password\" id=\"password\">{}\n"
        "<label>Current password <input name=\"current\" type=\"password\" "
        "autocomplete=\"current-password\" required></label><br>\n"
        "<label>New password <input name=\"replacement\" type=\"password\" "
        "autocomplete=\"new-password\" minlength=\"8\" required></label><br>\n"
        "<button type=\"submit\">Change password</button></form>\n"
        "<p>Changing it signs out every other session.</p>\n",
        csrf_input(page));
  } else {
    html +=
        "<h2>Log in</h2>\n<p>Demo accounts: <code>alice</code> / <code>wonderland</code>, "
        "<code>bob</code> / <code>builder</code>.</p>\n";
    html += fmt::format(
        "<form method=\"post\" action=\"/login\">{}\n"
        "<label>User <input name=\"username\" autocomplete=\"username\" required></label><br>\n"
        "<label>Password <input name=\"password\" type=\"password\" "
        "autocomplete=\"current-password\" required></label><br>\n"
        "<button type=\"submit\">Log in</button></form>\n",
        csrf_input(page));
  }
  html += "</section>\n";
  return html;
}

}  // namespace

std::string render_home(const HomePage& page) {
  std::string html;
  html += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>sessionkit demo</title>\n<style>";
  html += kStyle;
  html += "</style>\n</head>\n<body>\n<h1>sessionkit demo</h1>\n";
  if (!page.message.empty()) {
    const bool success = page.message_kind == NoticeKind::success;
    html += fmt::format("<section class=\"notice {}\" role=\"{}\">{}</section>\n",
                        success ? "success" : "error", success ? "status" : "alert",
                        html_escape(page.message));
  }
  html += render_session_section(page);
  html += render_account_section(page);
  html +=
      "<section>\n<p>JSON API: <code>GET /api/session</code>, <code>POST /api/login</code>, "
      "<code>POST /api/increment</code>, <code>POST /api/logout</code> (send the CSRF token "
      "in <code>X-CSRF-Token</code>). Operations: <code>/healthz</code>, <code>/readyz</code>, "
      "<code>/metrics</code>.</p>\n";
  if (!page.secure_cookies) {
    html += "<p>Development mode: cookies are sent without <code>Secure</code>.</p>\n";
  }
  html += "</section>\n</body>\n</html>\n";
  return html;
}

}  // namespace demo
