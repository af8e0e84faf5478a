// routes.h — the demo's request handler: one request in, one response out.
//
// `Router::handle` is a coroutine: besides the session manager's asynchronous calls it does no
// I/O of its own (password hashing runs on a separate executor). It never throws for client
// input. Every error is answered in the route's format: JSON `{"error": ...}` with a 4xx status
// for the API (/api/…), the HTML page with a notice and the same status for the page and its
// forms, 503 when the session store cannot answer (no Set-Cookie is sent then). See docs/demo.md
// for the routes.
//
// Where things are: routes.cpp dispatches (the route table: path, method, the checks each route
// declares, handler); session_scope.{h,cpp} runs a request that uses the session, from load to
// commit, and words the answers to failures (statuses: sessionkit/http/failure.h); the handlers
// are in page_routes.cpp (GET /), api_routes.cpp (/api/session, increment, /api/sessions),
// auth_routes.cpp (login, logout, password, re-authentication, ending sessions),
// token_routes.cpp (/api/token…, /api/me, /.well-known/jwks.json) and ops_routes.cpp (/healthz,
// /readyz, /metrics, /events).
//
// Thread safety: a Router is shared by all connections; `handle` may run concurrently.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "credentials.h"
#include "http_util.h"
#include "pages.h"
#include "sessionkit/anomaly_detector.h"
#include "sessionkit/http/origin.h"
#include "sessionkit/http/proxy.h"
#include "sessionkit/login_throttle.h"
#include "sessionkit/manager.h"
#include "sessionkit/recent_events.h"
#include "users.h"

namespace demo {

class TokenService;  // token_service.h

struct RouterOptions {
  bool secure_cookies = false;  // informational (shown on the page)
  // Proxies whose forwarding headers say who the client is and whether it used HTTPS.
  sessionkit::http::TrustedProxies proxies;
  // Where unsafe requests may come from (sessionkit/http/origin.h); default: the request's own
  // Host and scheme.
  sessionkit::http::OriginPolicy origins;
  // Password checks waiting for or running on the hashing pool at most; beyond, 503 with
  // Retry-After (argon2id is the most expensive thing a client can make the server do).
  std::size_t max_pending_password_checks = 8;
  // Strict-Transport-Security max-age on HTTPS requests; 0 = not sent.
  std::chrono::seconds hsts{0};
  // Sensitive actions (ending other sessions) need an authentication at most this old; older
  // ones answer 401 until POST /api/reauth succeeds.
  std::chrono::seconds reauth_after{600};
  // When not empty, GET /metrics and GET /events answer 401 unless the request carries
  // `Authorization: Bearer <metrics_token>` (compared in constant time).
  std::string metrics_token;
  // Production mode: without a metrics_token, GET /events is not served (404): its events carry
  // user ids. Development serves it openly, like /metrics.
  bool production = false;
};

class Router {
 public:
  // `manager` and `users` are borrowed and must outlive the router. `hash_executor` runs the
  // password verifications (a small thread pool), so they never block an I/O thread.
  // `tokens` (borrowed too) serves /api/token…; nullptr: token sessions are off (cookie://),
  // those routes answer 501. `throttle` (borrowed) slows password guessing at sign-in
  // (login_guard.cpp); nullptr: no throttle. `detector` (borrowed) hears of every successful
  // sign-in (anomaly signals); nullptr: none. `events` (borrowed) holds the process's recent
  // lifecycle events, served by GET /events; nullptr: that route answers 404.
  Router(sessionkit::SessionManager& manager, UserDirectory& users,
         boost::asio::any_io_executor hash_executor, RouterOptions options,
         TokenService* tokens = nullptr, sessionkit::LoginThrottle* throttle = nullptr,
         const sessionkit::AnomalyDetector* detector = nullptr,
         const sessionkit::RecentEvents* events = nullptr);

  // `peer` is the client address. The request's body has already been read (size-limited).
  boost::asio::awaitable<Response> handle(Request& req, const std::string& peer) const;

  sessionkit::SessionManager& manager() const noexcept { return manager_; }

  // Per-request types of the route files (private to the demo).
  struct Ctx;           // the request as the routes see it (router_ctx.h)
  struct SessionRules;  // the checks a route declares (session_scope.h)
  class SessionScope;   // a request's session from load to commit (session_scope.h)
  struct Failure;       // what a failure answers, in JSON and HTML alike (session_scope.h)

 private:
  using Handler = boost::asio::awaitable<Response> (Router::*)(SessionScope&) const;
  struct Route;

  // ---- routes.cpp: dispatch ----
  boost::asio::awaitable<Response> route(Ctx& ctx) const;
  static const Route* find_route(std::string_view path);

  // ---- session_scope.cpp: the scaffold of every route that uses the session ----
  // Loads the session, runs the checks `rules` declares, then `handler`.
  boost::asio::awaitable<Response> with_session(Ctx& ctx, const SessionRules& rules,
                                                Handler handler) const;
  // A manager error's answer: status, Retry-After and store-down from the library's table
  // (sessionkit/http/failure.h), the demo's own JSON error and page notice.
  Failure describe(const sessionkit::Status& status) const;
  // That answer without a session page: JSON, or the small notice page. `partial`: the response
  // commit wrote headers into (on 409 its cookie-clearing header must reach the client).
  Response failure_answer(const Ctx& ctx, const sessionkit::Status& status,
                          Response* partial) const;

  // ---- token_routes.cpp: token sessions (no session cookie; /api/me takes either) ----
  static bool is_token_path(std::string_view path) noexcept;
  boost::asio::awaitable<Response> token_route(Ctx& ctx) const;
  boost::asio::awaitable<Response> post_token(Ctx& ctx) const;
  boost::asio::awaitable<Response> post_token_refresh(Ctx& ctx) const;
  boost::asio::awaitable<Response> post_token_revoke(Ctx& ctx) const;
  boost::asio::awaitable<Response> get_me(Ctx& ctx) const;
  boost::asio::awaitable<Response> get_me_by_cookie(SessionScope& s) const;
  Response get_jwks(Ctx& ctx) const;
  // The RFC 6749 §5.1 answer for `session` (stored, signed in): a new access token, and
  // `refresh_token` in the body or (`as_cookie`) in the refresh cookie.
  Response token_answer(const Ctx& ctx, const sessionkit::Session& session,
                        const std::string& refresh_token, bool as_cookie) const;

  // ---- ops_routes.cpp: no session work ----
  Response get_healthz(Ctx& ctx) const;
  boost::asio::awaitable<Response> get_readyz(Ctx& ctx) const;
  boost::asio::awaitable<Response> get_metrics(Ctx& ctx) const;
  Response get_events(Ctx& ctx) const;
  // /metrics and /events: the 401 answer (with WWW-Authenticate) when a metrics token is
  // configured and the request does not carry it; nullopt when it may pass. `what` names the
  // route in the error ("metrics", "events").
  std::optional<Response> refuse_without_metrics_token(const Ctx& ctx, std::string_view what) const;

  // ---- page_routes.cpp ----
  boost::asio::awaitable<Response> get_home(SessionScope& s) const;
  // The HTML page for the session with `status` and a notice (an error unless `kind` says it
  // reports a success): commits the session (cookies) and renders it with fresh CSRF tokens.
  // GET / and every HTML answer of a form go through it.
  boost::asio::awaitable<Response> page(SessionScope& s, HttpStatus status, std::string notice,
                                        bool ask_password,
                                        NoticeKind kind = NoticeKind::error) const;
  // The signed-in user's sessions for the page (empty when the store cannot answer).
  boost::asio::awaitable<std::vector<SessionRow>> session_rows(sessionkit::Session& session) const;

  // ---- api_routes.cpp ----
  boost::asio::awaitable<Response> get_api_session(SessionScope& s) const;
  boost::asio::awaitable<Response> post_increment(SessionScope& s) const;
  boost::asio::awaitable<Response> get_sessions(SessionScope& s) const;
  boost::asio::awaitable<
      sessionkit::Result<std::vector<sessionkit::SessionManager::SessionSummary>>>
  list_sessions(const sessionkit::Session& session) const;

  // ---- auth_routes.cpp ----
  boost::asio::awaitable<Response> post_login(SessionScope& s) const;
  boost::asio::awaitable<Response> post_logout(SessionScope& s) const;
  boost::asio::awaitable<Response> post_password(SessionScope& s) const;
  boost::asio::awaitable<Response> post_reauth(SessionScope& s) const;
  boost::asio::awaitable<Response> revoke_session(SessionScope& s) const;
  boost::asio::awaitable<Response> revoke_other_sessions(SessionScope& s) const;
  // A password check on the hashing pool: the account's security stamp when it matched.
  struct PasswordCheck {
    enum Outcome { ok, wrong, busy } outcome = wrong;
    std::string stamp;
  };
  boost::asio::awaitable<PasswordCheck> verify_password(const std::string& user,
                                                        const std::string& password) const;
  // The new security stamp; not_found when `change.current` is wrong.
  boost::asio::awaitable<sessionkit::Result<std::string>> change_password(
      const std::string& user, const PasswordChange& change) const;
  // 503 with Retry-After: the hashing pool's queue is full.
  boost::asio::awaitable<Response> password_busy(SessionScope& s) const;
  // A wrong password where re-authentication was demanded: counted; the last one allowed ends
  // the session (401), the others answer 403 with `error` / `notice`.
  boost::asio::awaitable<Response> wrong_password(SessionScope& s, std::string_view error,
                                                  std::string notice, bool ask_password) const;
  // ---- login_guard.cpp: the sign-in throttle (no throttle: every check allows) ----
  // The attempt as the throttle sees it: the user name, the client address, the device cookie.
  sessionkit::LoginThrottle::Attempt login_attempt(const Ctx& ctx, const std::string& user) const;
  boost::asio::awaitable<sessionkit::Result<sessionkit::LoginThrottle::Verdict>> throttle_check(
      const sessionkit::LoginThrottle::Attempt& attempt) const;
  boost::asio::awaitable<sessionkit::Result<sessionkit::LoginThrottle::Verdict>> throttle_failed(
      const sessionkit::LoginThrottle::Attempt& attempt) const;
  boost::asio::awaitable<sessionkit::Status> throttle_succeeded(
      const sessionkit::LoginThrottle::Attempt& attempt) const;
  // "__Host-device" over HTTPS, else "device": HttpOnly, SameSite=Strict, for the throttle's
  // device lifetime; it tells the throttle this browser signed in to `user` before.
  std::string device_cookie_name() const;
  void set_device_cookie(Response& res, const std::string& user) const;
  // After a sign-in is committed: tells the anomaly detector (its events and metrics report
  // what it finds). A detector error is logged; the sign-in stands.
  boost::asio::awaitable<void> watch_sign_in(const Ctx& ctx, const std::string& user) const;
  // Retry-After for `wait`: whole seconds, rounded up, at least 1.
  static std::string retry_after_seconds(sessionkit::Duration wait);
  static std::string too_many_failures_message(sessionkit::Duration wait);

  // Ends every session of `keep`'s user but `keep`.
  boost::asio::awaitable<sessionkit::Result<std::size_t>> revoke_user_sessions(
      const sessionkit::Session& keep) const;

  static constexpr std::chrono::seconds kExpensiveCountMaxAge{15};
  struct CountCache {  // /metrics when store()->count_is_expensive()
    std::mutex mutex;
    std::optional<std::uint64_t> value;
    std::chrono::steady_clock::time_point at{};
  };

  sessionkit::SessionManager& manager_;
  mutable CountCache count_cache_;
  mutable std::atomic<std::size_t> pending_password_checks_{0};
  UserDirectory& users_;
  boost::asio::any_io_executor hash_executor_;
  RouterOptions options_;
  TokenService* tokens_;
  sessionkit::LoginThrottle* throttle_;
  const sessionkit::AnomalyDetector* detector_;
  const sessionkit::RecentEvents* events_;
  // GET /events's "instance": 16 random hex characters chosen when the router is built, so a
  // reader sees when the numbering restarted (another process).
  std::string events_instance_;
};

}  // namespace demo
