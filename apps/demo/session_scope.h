// session_scope.h — a request that uses the session, from load to commit (private to the demo).
//
// `Router::with_session(ctx, rules, handler)` owns the scaffold of every such route: it loads
// the session (a store failure is answered before any handler runs), answers a session that
// client binding refused, runs the checks the route declares (`SessionRules`: Origin, form body
// and CSRF token for an unsafe method, a signed-in user, a recent authentication), then the
// handler with a `SessionScope`. The handler holds only its own logic: it works on `session()`,
// builds its answer with `success()`, and commits with `commit()`.
//
// Failures have one answer each, in the route's format (JSON for /api/, the HTML page with a
// notice for GET / and the page's forms):
// - `fail(status, error, notice)`: the route's own refusals (bad input, wrong password, …);
// - `failure(status)`: a manager error, mapped by `Router::describe` for JSON and HTML alike.
//   Status, Retry-After and "store down" are the library's table (sessionkit/http/failure.h):
//   store down 503 + Retry-After (no Set-Cookie, no session page), too large 413, rate-limited
//   429 + Retry-After, ended concurrently 409, bad argument 400, not possible with client-side
//   sessions 501. Only the wording (JSON error, page notice) is the demo's.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "router_ctx.h"
#include "routes.h"
#include "sessionkit/session.h"

namespace demo {

// The checks a route declares; they run in this order before its handler.
struct Router::SessionRules {
  // An unsafe method (POST, DELETE): Origin / Fetch Metadata (403), a readable form body (400),
  // the CSRF token from X-CSRF-Token or the form's `_csrf` field (403).
  bool unsafe = false;
  // From the page, the body must be an urlencoded form (400): /reauth and /sessions/….
  bool form = false;
  // Not empty: the route needs a signed-in user; 401 with this JSON error / page notice.
  std::string_view signed_out_error = {};
  std::string_view signed_out_notice = {};
  // Ending other sessions: the last authentication must be within --reauth-after (401).
  bool recent_auth = false;

  bool any() const noexcept { return unsafe || form || !signed_out_error.empty() || recent_auth; }
};

// What a failure answers: the same status and headers in both formats, the body in the route's.
struct Router::Failure {
  HttpStatus status;
  std::string error;        // JSON {"error": error}
  std::string_view notice;  // the page's notice
  std::string retry_after;  // Retry-After seconds, "" for none
  bool store_down;          // the store could not answer: logged, and no session to show
};

class Router::SessionScope {
 public:
  SessionScope(const Router& router, Ctx& ctx, sessionkit::Session session)
      : router_(router), ctx_(ctx), session_(std::move(session)) {}
  SessionScope(const SessionScope&) = delete;
  SessionScope& operator=(const SessionScope&) = delete;

  sessionkit::Session& session() noexcept { return session_; }
  Ctx& ctx() noexcept { return ctx_; }
  // Answers go to the HTML page (GET / and the page's forms); otherwise they are JSON.
  bool html() const noexcept { return ctx_.html; }
  bool signed_in() const noexcept { return session_.is_stored() && !session_.user_id().empty(); }

  // nullopt when the request passes `rules` (and binding did not refuse its session); else the
  // answer to send instead.
  boost::asio::awaitable<std::optional<Response>> check(const SessionRules& rules);

  // A success before its body: 200 for the API, `303 See Other` to `location` for a form
  // (POST → 303 → GET); Cache-Control: no-store.
  Response success(std::string_view location = "/") const;
  // Commits the session into `res` (its cookies): nullopt when `res` may be sent, else the answer
  // to send instead. A destroyed session that had already ended is no error (a logout).
  boost::asio::awaitable<std::optional<Response>> commit(Response& res);
  // A CSRF token for the body of `res` (writes the browser's CSRF cookie when it needs one).
  std::string csrf_token(Response& res);

  // A refusal of this request: JSON {"error": error}, or the page with `notice` (and the
  // password form when `ask_password`). An answer that ends the session (binding refused it, or
  // it is destroyed) also commits it: its cookie is cleared.
  boost::asio::awaitable<Response> fail(HttpStatus status, std::string_view error,
                                        std::string notice, bool ask_password = false);
  // A manager error: the answer `Router::describe` gives it. `partial`: the response commit
  // wrote headers into (409 keeps its cookie-clearing header).
  boost::asio::awaitable<Response> failure(const sessionkit::Status& status,
                                           Response* partial = nullptr);
  // nullopt when the user authenticated within --reauth-after; else 401: JSON pointing at
  // /api/reauth, or the page asking for the password.
  boost::asio::awaitable<std::optional<Response>> require_recent_auth();

 private:
  // The CSRF token the request carries (X-CSRF-Token header, else form field `_csrf`).
  std::optional<std::string> request_csrf_token() const;
  boost::asio::awaitable<std::optional<Response>> check_unsafe();

  const Router& router_;
  Ctx& ctx_;
  sessionkit::Session session_;
};

}  // namespace demo
