// sessionkit/http/beast_session.h — the request lifecycle on Boost.Beast (target
// sessionkit::beast).
//
// The request lifecycle. `with_session(manager, request, peer, handler, options)` is a coroutine
// that answers one request (`Request`/`Response`: string bodies) without ever blocking the Asio
// thread (every store call is co_awaited), the asynchronous twin of httplib.h's helper:
//   1. resolves the client (with `options.proxies`): a malformed X-Forwarded-For is 400;
//   2. loads the session: a store failure is answered 503 before the handler runs, a request
//      with both a session cookie and a bearer credential 400;
//   3. a session that client binding refused (SessionOptions::bind) is answered 403, its cookie
//      cleared;
//   4. for an unsafe method (anything but GET, HEAD, OPTIONS, TRACE): with `options.origins`,
//      the Origin / Fetch Metadata check (403); unless `options.csrf` is off, a valid CSRF token
//      from X-CSRF-Token or the urlencoded form field `options.csrf_field` (403; nothing stored).
//      A bearer request (`Session::via_bearer()`, SessionOptions::bearer) skips both checks: it
//      carries no cookie, and a browser never attaches a bearer credential by itself;
//   5. co_awaits the handler with a `Scope` (session, request, response, csrf_token(),
//      co_awaitable increment). It returns a Status: an error is answered from the failure
//      table and nothing is committed;
//   6. commits (cookies into the response). A failed commit replaces the handler's response
//      with the table's answer (no Set-Cookie, except the cookie-clearing one of a session that
//      ended concurrently); ending a session that had already ended is no failure.
// The awaitable yields the finished response (Content-Length set): write it. Failures are
// `http::failure_for` (sessionkit/http/failure.h: store down 503 + Retry-After: 5, never a
// 500; too large 413; rate-limited 429 + Retry-After; ended concurrently 409; ...), answered as
// text/plain with Cache-Control: no-store (`answer_failure`); `options.on_failure` may log or
// rewrite them. A handler therefore holds only its own logic:
//
//   auto count = [](skb::Scope& s) -> asio::awaitable<Status> {
//     auto n = co_await s.increment("visits");
//     if (!n) co_return n.status();
//     s.response().body() = std::to_string(*n);
//     co_return Status();
//   };
//   skb::Response res = co_await skb::with_session(manager, req, peer, count);
//
// Callback code uses `async_with_session(executor, ..., token)`: the same, spawned on
// `executor`, completing with void(std::exception_ptr, Response). `request` and `manager` are
// borrowed until the response is handed back.
//
//
// Thread safety: a Scope is used by its coroutine only; the functions are thread-safe as far as
// SessionManager is (fully).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sessionkit/http/beast.h"
#include "sessionkit/http/failure.h"
#include "sessionkit/http/form.h"
#include "sessionkit/http/origin.h"
#include "sessionkit/http/proxy.h"
#include "sessionkit/manager.h"
#include "sessionkit/result.h"
#include "sessionkit/session.h"

namespace sessionkit::beast {

// ---- the request lifecycle ----

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

class Scope;
// A route's own logic, as a coroutine (it may co_await Scope::increment, its own I/O, ...). It
// fills `Scope::response()` (status, body, its own headers) and returns ok, or a manager error
// to answer from the failure table (then nothing is committed).
using SessionHandler = std::function<boost::asio::awaitable<Status>(Scope&)>;

struct Options {
  // Unsafe methods must carry a valid CSRF token (X-CSRF-Token, else this field of an
  // application/x-www-form-urlencoded body). false: the handler checks (Scope::csrf_valid).
  bool csrf = true;
  std::string csrf_field = "_csrf";
  // Origin / Fetch Metadata check on unsafe methods (origin.h); nullptr: none.
  const http::OriginPolicy* origins = nullptr;
  // Forwarding headers are believed from these proxies; nullptr: none.
  const http::TrustedProxies* proxies = nullptr;
  // The connection is TLS (Beast messages do not say).
  bool tls = false;
  // Called for every failure the helper answers, after the response is filled in: log it
  // (store_down), or rewrite the body. `error` is the manager's error (an ok Status for the
  // helper's own refusals: CSRF, Origin, binding, a malformed X-Forwarded-For).
  std::function<void(const Request&, Response&, const http::Failure&, const Status& error)>
      on_failure;
};

// What a handler works with. Borrowed by the handler for the duration of its call only.
class Scope {
 public:
  Scope(SessionManager& manager, const BeastRequestView& view, const Request& request,
        Response& response, Session session)
      : manager_(&manager),
        view_(&view),
        request_(&request),
        response_(&response),
        out_(response),
        session_(std::move(session)) {}
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  Session& session() noexcept { return session_; }
  const Request& request() const noexcept { return *request_; }
  Response& response() noexcept { return *response_; }
  SessionManager& manager() noexcept { return *manager_; }
  const BeastRequestView& view() const noexcept { return *view_; }
  http::ResponseHeaders& headers() noexcept { return out_; }
  bool signed_in() const noexcept { return session_.is_stored() && !session_.user_id().empty(); }

  // A CSRF token for the response's page or JSON (writes the browser's CSRF cookie if due).
  std::string csrf_token() { return manager_->csrf_token(session_, out_); }
  // Whether the request carries a valid CSRF token (header, else urlencoded form field `field`).
  bool csrf_valid(std::string_view field = "_csrf") const;
  // SessionManager::increment, without blocking (co_increment). Commit follows (with_session).
  boost::asio::awaitable<Result<std::int64_t>> increment(std::string_view field,
                                                         std::int64_t delta = 1) {
    return co_increment(*manager_, session_, field, delta);
  }

 private:
  SessionManager* manager_;
  const BeastRequestView* view_;
  const Request* request_;
  Response* response_;
  BeastResponseHeaders out_;
  Session session_;
};

namespace detail {

inline bool is_safe(boost::beast::http::verb method) noexcept {
  using boost::beast::http::verb;
  return method == verb::get || method == verb::head || method == verb::options ||
         method == verb::trace;
}

}  // namespace detail

// Replaces `response` with the answer to `failure`: its status, Retry-After, Cache-Control:
// no-store, the message as text/plain (the request's version and keep-alive are kept).
inline void answer_failure(Response& response, const http::Failure& failure) {
  const bool keep_alive = response.keep_alive();
  response = Response(static_cast<boost::beast::http::status>(failure.status), response.version());
  response.keep_alive(keep_alive);
  response.set(boost::beast::http::field::cache_control, "no-store");
  if (failure.retry_after > 0) {
    response.set(boost::beast::http::field::retry_after, std::to_string(failure.retry_after));
  }
  response.set(boost::beast::http::field::content_type, "text/plain; charset=utf-8");
  response.body() = failure.message + "\n";
  response.prepare_payload();
}

inline bool Scope::csrf_valid(std::string_view field) const {
  if (auto header = SessionManager::csrf_header(*view_)) {
    return manager_->verify_csrf(session_, *header);
  }
  const auto type = request_->find(boost::beast::http::field::content_type);
  if (type == request_->end() || !http::is_form_content_type(type->value())) return false;
  const auto token = http::form_field(request_->body(), field);
  return token && manager_->verify_csrf(session_, *token);
}

namespace detail {

// The answer to `failure`, then options.on_failure.
inline void fail(const Options& options, const Request& request, Response& response,
                 const http::Failure& failure, const Status& error = {}) {
  answer_failure(response, failure);
  if (options.on_failure) options.on_failure(request, response, failure, error);
}

// The manager's `error` as the answer. A session that ended concurrently keeps the
// cookie-clearing Set-Cookie lines commit wrote, so that the client drops its stale cookie.
inline void fail_with(const Options& options, SessionManager& manager, const Request& request,
                      Response& response, const Status& error) {
  std::vector<std::string> cookies;
  if (error.code() == errc::not_found || error.code() == errc::conflict) {
    auto [first, last] = response.equal_range(boost::beast::http::field::set_cookie);
    for (auto it = first; it != last; ++it)
      cookies.emplace_back(it->value());
  }
  fail(options, request, response, http::failure_for(error, manager), error);
  for (const auto& line : cookies)
    response.insert(boost::beast::http::field::set_cookie, line);
}

// The lifecycle's refusals before the handler: binding, Origin, CSRF.
inline std::optional<http::Failure> check(const Options& options, Scope& scope) {
  if (!scope.session().refusal().empty()) {
    return http::Failure{
        403, "this session was bound to another client and has been ended; sign in again", 0,
        false};
  }
  if (is_safe(scope.request().method())) return std::nullopt;
  // A bearer request carries no cookie and no browser sends one on its own: nothing to forge.
  if (scope.session().via_bearer()) return std::nullopt;
  if (options.origins != nullptr) {
    if (auto verdict = http::check_origin(scope.view(), *options.origins); !verdict) {
      return http::Failure{403, std::string(verdict.reason), 0, false};
    }
  }
  if (options.csrf && !scope.csrf_valid(options.csrf_field)) {
    return http::Failure{403, "invalid or missing CSRF token", 0, false};
  }
  return std::nullopt;
}

// Commits into the response; on a failure replaces it (false).
inline boost::asio::awaitable<bool> commit(const Options& options, Scope& scope) {
  const Status committed = co_await co_commit(scope.manager(), scope.session(), scope.headers());
  // Ending a session that had already ended (signed out elsewhere) still ends it.
  if (committed || (scope.session().is_destroyed() && committed.code() == errc::not_found)) {
    co_return true;
  }
  fail_with(options, scope.manager(), scope.request(), scope.response(), committed);
  co_return false;
}

}  // namespace detail

// Runs `handler` for `request` inside the lifecycle at the top of this file and answers the
// finished response (Content-Length set). Never blocks: every store call is co_awaited.
// Everything is borrowed until the awaitable completes (a `co_await with_session(...)` keeps
// the caller's locals alive); `peer_address` is the TCP peer. Exceptions from the handler
// propagate (nothing is committed then).
inline boost::asio::awaitable<Response> with_session(SessionManager& manager,
                                                     const Request& request,
                                                     std::string_view peer_address,
                                                     const SessionHandler& handler,
                                                     const Options& options = {}) {
  Response response(boost::beast::http::status::ok, request.version());
  response.keep_alive(request.keep_alive());
  const http::TrustedProxies::Client client =
      options.proxies != nullptr
          ? resolve_client(*options.proxies, request, peer_address, options.tls)
          : http::TrustedProxies::Client{std::string(peer_address), options.tls};
  if (client.malformed) {
    detail::fail(options, request, response,
                 http::Failure{400, "malformed X-Forwarded-For", 0, false});
    co_return response;
  }
  const BeastRequestView view(request, client.address, client.tls);
  Result<Session> loaded = co_await co_load(manager, view);
  if (!loaded) {
    detail::fail_with(options, manager, request, response, loaded.status());
    co_return response;
  }
  Scope scope(manager, view, request, response, std::move(*loaded));
  if (auto refused = detail::check(options, scope)) {
    const bool ends_session = !scope.session().refusal().empty();
    detail::fail(options, request, response, *refused);
    // Binding refused the session (its record is destroyed): commit clears the cookie.
    if (ends_session) (void)co_await detail::commit(options, scope);
    co_return response;
  }
  const Status handled = co_await handler(scope);
  if (!handled) {
    detail::fail_with(options, manager, request, response, handled);
    co_return response;
  }
  if (co_await detail::commit(options, scope)) response.prepare_payload();
  co_return response;
}

namespace detail {
// with_session owning its arguments, for async_with_session (its frame outlives the caller's).
inline boost::asio::awaitable<Response> owning_with_session(SessionManager& manager,
                                                            const Request& request,
                                                            std::string peer_address,
                                                            SessionHandler handler,
                                                            Options options) {
  co_return co_await with_session(manager, request, peer_address, handler, options);
}
}  // namespace detail

// The same for callback code: spawns `with_session` on `executor` and completes `token` with
// void(std::exception_ptr, Response) (the exception a handler threw, else null). `manager` and
// `request` are borrowed until then; the rest is owned.
template <class Executor, class CompletionToken>
auto async_with_session(const Executor& executor, SessionManager& manager, const Request& request,
                        std::string peer_address, SessionHandler handler, Options options,
                        CompletionToken&& token) {
  return boost::asio::co_spawn(
      executor,
      detail::owning_with_session(manager, request, std::move(peer_address), std::move(handler),
                                  std::move(options)),
      std::forward<CompletionToken>(token));
}

}  // namespace sessionkit::beast
