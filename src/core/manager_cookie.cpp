// SessionManager: the Set-Cookie and Cache-Control headers a response carries.
#include "sessionkit/manager.h"

namespace sessionkit {

namespace {

std::chrono::seconds seconds_until(Time deadline, Time now) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - now);
  return left.count() > 0 ? left : std::chrono::seconds(0);
}

}  // namespace

http::SetCookie SessionManager::cookie_template(std::string name) const {
  const CookieOptions& c = options_.cookie;
  http::SetCookie cookie;
  cookie.name = std::move(name);
  cookie.domain = c.domain;
  cookie.path = c.path;
  cookie.secure = c.secure;
  cookie.http_only = c.http_only;
  cookie.same_site = c.same_site;
  cookie.partitioned = c.partitioned;
  return cookie;
}

void SessionManager::write_session_cookie(const Session& s, http::ResponseHeaders& out) const {
  write_session_cookie(s, keyring_.sign(s.st_->id_->str(), sign_context_), out);
}

void SessionManager::write_session_cookie(const Session& s, std::string value,
                                          http::ResponseHeaders& out) const {
  http::SetCookie cookie = cookie_template(cookie_name_);
  cookie.value = std::move(value);
  if (options_.cookie.persistent) {
    cookie.max_age = seconds_until(s.st_->record_.absolute_expires_at, clock_->now());
  }
  out.add("Set-Cookie", cookie.serialize());
  out.set("Cache-Control", "no-store");
}

void SessionManager::write_clear_cookie(std::string_view name, http::ResponseHeaders& out) const {
  http::SetCookie cookie = cookie_template(std::string(name));
  cookie.max_age = std::chrono::seconds(0);
  cookie.expires = from_millis(0);
  out.add("Set-Cookie", cookie.serialize());
  out.set("Cache-Control", "no-store");
}

void SessionManager::write_commit_cookies(Session& s, http::ResponseHeaders& out) const {
  if (s.st_->via_bearer_) {
    // No cookies for a bearer client: a new credential goes out as bearer_token, by the app.
    s.st_->token_renewed_ = s.st_->stored_ && s.st_->set_cookie_;
    if (s.st_->token_renewed_) {
      if (!options_.bearer.response_header.empty()) {
        out.set(options_.bearer.response_header, bearer_token(s));
      }
      out.set("Cache-Control", "no-store");
    }
    s.st_->set_cookie_ = false;
    return;
  }
  if (s.st_->stored_ && (s.st_->set_cookie_ || options_.rolling)) write_session_cookie(s, out);
  write_presession_cookie(s, out);
  s.st_->set_cookie_ = false;
}

std::string SessionManager::bearer_token(const Session& s) const {
  if (sealer_ || !s.st_->stored_ || !s.st_->id_) return {};
  return keyring_.sign(s.st_->id_->str(), sign_context_);
}

}  // namespace sessionkit
