// routes.h — the demo's request handler: one request in, one response out.
//
// `Router::handle` is a coroutine: besides the session manager's asynchronous calls it does no
// I/O of its own (password hashing runs on a separate executor). It never throws for client
// input; every error becomes a JSON `{"error": ...}` response with a 4xx status (the JSON API),
// or the HTML page with a notice and the same status (the page's forms), or 503 when the session
// store cannot answer (no Set-Cookie is sent then). See docs/demo.md for the routes.
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
#include <variant>
#include <vector>

#include "http_util.h"
#include "pages.h"
#include "sessionkit/http/origin.h"
#include "sessionkit/http/proxy.h"
#include "sessionkit/manager.h"
#include "users.h"

namespace demo {

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
  // When not empty, GET /metrics answers 401 unless the request carries
  // `Authorization: Bearer <metrics_token>` (compared in constant time).
  std::string metrics_token;
};

class Router {
 public:
  // `manager` and `users` are borrowed and must outlive the router. `hash_executor` runs the
  // password verifications (a small thread pool), so they never block an I/O thread.
  Router(sessionkit::SessionManager& manager, UserDirectory& users,
         boost::asio::any_io_executor hash_executor, RouterOptions options);

  // `peer` is the client address. The request's body has already been read (size-limited).
  boost::asio::awaitable<Response> handle(Request& req, const std::string& peer) const;

  sessionkit::SessionManager& manager() const noexcept { return manager_; }

  struct Ctx;  // per-request state (router_ctx.h; shared by the route files)

 private:
  boost::asio::awaitable<Response> route(Ctx& ctx) const;
  boost::asio::awaitable<Response> get_home(Ctx& ctx) const;
  boost::asio::awaitable<Response> get_api_session(Ctx& ctx) const;
  boost::asio::awaitable<Response> post_increment(Ctx& ctx, bool api) const;
  boost::asio::awaitable<Response> post_login(Ctx& ctx, bool api) const;
  boost::asio::awaitable<Response> post_logout(Ctx& ctx, bool api) const;
  boost::asio::awaitable<Response> get_readyz(Ctx& ctx) const;
  boost::asio::awaitable<Response> get_metrics(Ctx& ctx) const;
  // /api/sessions[/…] (session_routes.cpp); `rest` is the path after "/api/sessions".
  boost::asio::awaitable<Response> sessions_api(Ctx& ctx, std::string_view rest) const;
  // A password check on the hashing pool: the account's security stamp when it matched.
  struct PasswordCheck {
    enum Outcome { ok, wrong, busy } outcome = wrong;
    std::string stamp;
  };
  boost::asio::awaitable<PasswordCheck> verify_password(const std::string& user,
                                                        const std::string& password) const;
  // 503 with Retry-After: the hashing pool's queue is full (JSON, or the page for a form).
  boost::asio::awaitable<Response> password_busy(Ctx& ctx, sessionkit::Session& session) const;
  // A wrong password where re-authentication was demanded: true when that ended the session.
  boost::asio::awaitable<sessionkit::Result<bool>> count_reauth_failure(
      sessionkit::Session& session) const;
  // POST /api/password, POST /password; POST /api/reauth (session_routes.cpp).
  boost::asio::awaitable<Response> post_password(Ctx& ctx) const;
  boost::asio::awaitable<Response> post_reauth(Ctx& ctx) const;
  // The HTML page's forms: POST /reauth, /sessions/revoke, /sessions/revoke-others.
  boost::asio::awaitable<Response> post_session_form(Ctx& ctx, std::string_view path) const;
  // "Sign out everywhere else": a new security stamp for the user (every session signed in
  // before it ends on its next request), carried by `session`, then the others destroyed.
  // Commits `session` into `res` (its new cookie). errc::unsupported with client-side sessions:
  // the stamp still ends them on their next request.
  boost::asio::awaitable<sessionkit::Result<std::size_t>> revoke_others(
      sessionkit::Session& session, Response& res) const;
  // The signed-in user's sessions for the HTML page (empty when the store cannot answer).
  boost::asio::awaitable<std::vector<SessionRow>> session_rows(sessionkit::Session& session) const;
  // Loads the request's session; or the response to send instead: 503 when the store cannot
  // answer, 403 (cookie cleared) when binding refused the session.
  boost::asio::awaitable<std::variant<sessionkit::Session, Response>> open_session(Ctx& ctx) const;

  // The HTML page for `session` with `status` and a notice: commits the session (cookies) and
  // renders it with a fresh CSRF token. GET / and every HTML error answer go through it.
  boost::asio::awaitable<Response> page(Ctx& ctx, sessionkit::Session& session, HttpStatus status,
                                        std::string notice, bool ask_password = false) const;
  // An error answer: JSON `{"error": json_message}` for the API, the page with `notice` for a
  // form (a minimal page without forms when there is no session to render).
  boost::asio::awaitable<Response> fail(Ctx& ctx, sessionkit::Session* session, HttpStatus status,
                                        std::string_view json_message, std::string notice) const;
  // The CSRF token the request carries (X-CSRF-Token header, else form field `_csrf`).
  std::optional<std::string> request_csrf_token(const Ctx& ctx) const;
  // nullopt when the unsafe request may proceed; otherwise the 403 (or 400) response.
  boost::asio::awaitable<std::optional<Response>> check_unsafe(Ctx& ctx,
                                                               sessionkit::Session& session) const;
  // Maps a manager error to a response (503, 413, 409, 429, 501): JSON, or the page for a form.
  // `partial` is the response commit wrote headers into (its cookie-clearing header must reach
  // the client on 409).
  boost::asio::awaitable<Response> session_failure(Ctx& ctx, sessionkit::Session* session,
                                                   const sessionkit::Status& status,
                                                   Response* partial = nullptr) const;
  Response session_error(Ctx& ctx, const sessionkit::Status& status,
                         Response* partial = nullptr) const;
  // Retry-After for a rate-limited anonymous session, in seconds.
  std::string anonymous_retry_after() const;

  static constexpr std::chrono::seconds kExpensiveCountMaxAge{15};
  struct CountCache {
    std::mutex mutex;
    std::optional<std::uint64_t> value;
    std::chrono::steady_clock::time_point at{};
  };

  sessionkit::SessionManager& manager_;
  mutable CountCache count_cache_;
  mutable std::atomic<std::size_t> pending_password_checks_{
      0};  // /metrics when store().count_is_expensive()
  UserDirectory& users_;
  boost::asio::any_io_executor hash_executor_;
  RouterOptions options_;
};

}  // namespace demo
