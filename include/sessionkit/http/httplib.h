// sessionkit/http/httplib.h — the cpp-httplib adapter (target sessionkit::httplib).
//
// For cpp-httplib's `httplib::Server` (Debian's libcpp-httplib-dev, found through its pkg-config
// file `cpp-httplib`). That build's compile flags (CPPHTTPLIB_OPENSSL_SUPPORT, ...) change the
// layout of `httplib::Request`: the target passes them on to everything that links it, so link
// sessionkit::httplib rather than cpp-httplib alone, and build all of the app with them.
// `with_session` checks this: code compiled with other flags is refused at set-up
// (std::logic_error), before a request could be read through the wrong layout.
//
// Views. `RequestView` implements http::RequestView over an `httplib::Request` (method, target,
// headers, the peer address, TLS when the request came through an `httplib::SSLServer`); several
// Cookie lines are joined with "; " so that the cookie parser sees every cookie. With trusted
// proxies (`http::TrustedProxies`, proxy.h) the client address and scheme come from every line
// of X-Forwarded-For / X-Forwarded-Proto; `malformed()` then says the client is unknown (400).
// `ResponseHeaders` implements http::ResponseHeaders over an `httplib::Response`: `add` appends
// a header line (every Set-Cookie is its own line), `set` replaces every line of that name.
// Both BORROW the message, which must outlive them.
//
// The request lifecycle. `with_session(manager, handler, options)` is a cpp-httplib route
// handler that, on the request's thread, blocking (sessionkit/sync.h, so correct with every
// store):
//   1. loads the session: a store failure is answered 503 before the handler runs, a request
//      with both a session cookie and a bearer credential 400;
//   2. a session that client binding refused (SessionOptions::bind) is answered 403, its cookie
//      cleared;
//   3. for an unsafe method (anything but GET, HEAD, OPTIONS, TRACE): with `options.origins`,
//      the Origin / Fetch Metadata check (403); unless `options.csrf` is off, a valid CSRF token
//      from the X-CSRF-Token header or the form field `options.csrf_field` of an urlencoded
//      body (never the query string; sessionkit/http/form.h) (403).
//      A bearer request (`Session::via_bearer()`, SessionOptions::bearer) skips both checks: it
//      carries no cookie, and a browser never attaches a bearer credential by itself;
//   4. runs the handler with a `Scope` (the session, the request, the response, blocking
//      helpers). The handler returns a Status: an error is answered from the table below and
//      nothing is committed;
//   5. commits the session (cookies into the response). A failed commit replaces the
//      handler's response with the table's answer (no Set-Cookie, except the cookie-clearing
//      one of a session that ended concurrently). Destroying a session that had already ended
//      (a logout racing another) is no failure.
// The handler therefore holds only its own logic: it sets `response().status` and its body.
//
// Failures (`failure_for` of sessionkit/http/failure.h, the table the Beast adapter and the demo
// use too): store down (unavailable, timeout, corrupt) 503 + Retry-After: 5, never a 500 and
// never "signed out"; bad input (invalid_argument) 400; CSRF or Origin 403; too large 413;
// rate_limited 429 + Retry-After; ended concurrently (not_found, conflict) 409; not possible
// with client-side sessions (unsupported) 501. The body is the message as text/plain, with
// Cache-Control: no-store; `options.on_failure` may log it and rewrite the response (e.g. as
// JSON). Exceptions from the handler are not caught (cpp-httplib answers 500): nothing is
// committed then.
//
// Naming: this namespace is `sessionkit::httplib`; cpp-httplib's own is `::httplib`. Code inside
// `namespace sessionkit` (or after `using namespace sessionkit`) must write `::httplib::Server`.
//
// Thread safety: the views and a Scope are used by the request's thread only; `with_session`'s
// handler may run on any number of threads at once (the manager is thread-safe). Never call
// these from a store's completion callback (sync.h refuses).
#pragma once

#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sessionkit/http/failure.h"
#include "sessionkit/http/origin.h"
#include "sessionkit/http/proxy.h"
#include "sessionkit/http/request.h"
#include "sessionkit/manager.h"
#include "sessionkit/result.h"
#include "sessionkit/session.h"

namespace sessionkit::httplib {

// ---- views ----

class RequestView final : public http::RequestView {
 public:
  // `request` is borrowed. Without `proxies` (or with none configured) the client is the TCP
  // peer; `is_tls` overrides what the connection says (e.g. TLS terminated in front of a proxy
  // that is not configured as trusted).
  explicit RequestView(const ::httplib::Request& request,
                       const http::TrustedProxies* proxies = nullptr,
                       std::optional<bool> is_tls = std::nullopt);

  std::string_view method() const override { return request_->method; }
  std::string_view target() const override { return request_->target; }
  std::optional<std::string_view> header(std::string_view name) const override;
  std::string_view peer_address() const override { return client_.address; }
  bool is_tls() const override { return client_.tls; }

  // X-Forwarded-For from a trusted proxy named no valid client: answer 400.
  bool malformed() const noexcept { return client_.malformed; }
  const ::httplib::Request& request() const noexcept { return *request_; }

 private:
  const ::httplib::Request* request_;
  http::TrustedProxies::Client client_;
  mutable std::optional<std::string> joined_cookie_;  // several Cookie lines, built on first use
};

class ResponseHeaders final : public http::ResponseHeaders {
 public:
  explicit ResponseHeaders(::httplib::Response& response) : response_(&response) {}

  void add(std::string_view name, std::string_view value) override;
  void set(std::string_view name, std::string_view value) override;

 private:
  ::httplib::Response* response_;
};

// ---- failures ----

// The library's one table (sessionkit/http/failure.h), under the adapter's names.
using http::Failure;
using http::failure_for;

// ---- the request lifecycle ----

class Scope;
using SessionHandler = std::function<Status(Scope&)>;

struct Options {
  // Unsafe methods must carry a valid CSRF token (X-CSRF-Token, else this urlencoded form
  // field). false: the handler checks (Scope::csrf_valid).
  bool csrf = true;
  std::string csrf_field = "_csrf";
  // Origin / Fetch Metadata check on unsafe methods (origin.h); nullptr: none.
  const http::OriginPolicy* origins = nullptr;
  // Forwarding headers are believed from these proxies; nullptr: none.
  const http::TrustedProxies* proxies = nullptr;
  // Called for every failure the helper answers, after the response is filled in: log it
  // (store_down), or rewrite the body. `error` is the manager's error ("" message for the
  // helper's own refusals: CSRF, Origin, binding, a malformed X-Forwarded-For).
  std::function<void(const ::httplib::Request&, ::httplib::Response&, const Failure&,
                     const Status& error)>
      on_failure;
};

// What a handler works with. Every helper blocks (sessionkit/sync.h).
class Scope {
 public:
  Scope(SessionManager& manager, const RequestView& view, ::httplib::Response& response,
        Session session)
      : manager_(&manager),
        view_(&view),
        response_(&response),
        out_(response),
        session_(std::move(session)) {}
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  Session& session() noexcept { return session_; }
  const ::httplib::Request& request() const noexcept { return view_->request(); }
  ::httplib::Response& response() noexcept { return *response_; }
  SessionManager& manager() noexcept { return *manager_; }
  const RequestView& view() const noexcept { return *view_; }
  http::ResponseHeaders& headers() noexcept { return out_; }
  bool signed_in() const noexcept { return session_.is_stored() && !session_.user_id().empty(); }

  // A CSRF token for the response's page or JSON (writes the browser's CSRF cookie if due).
  std::string csrf_token();
  // Whether the request carries a valid CSRF token (header, else form field `field`).
  bool csrf_valid(std::string_view field = "_csrf") const;
  // SessionManager::increment, blocking. Commit follows (with_session does it).
  Result<std::int64_t> increment(std::string field, std::int64_t delta = 1);
  // The signed-in user's sessions, newest first (none when signed out).
  Result<std::vector<SessionManager::SessionSummary>> list_sessions();
  // Ends one of this user's sessions by its handle: false when there is none such.
  Result<bool> revoke_session(std::string_view handle);
  // Ends every other session of this user: how many.
  Result<std::size_t> revoke_other_sessions();

 private:
  SessionManager* manager_;
  const RequestView* view_;
  ::httplib::Response* response_;
  ResponseHeaders out_;
  Session session_;
};

namespace detail {
// Throws std::logic_error when the caller's httplib::Request / Response differ in size from the
// adapter's: the caller was built with other cpp-httplib flags (see the top of this file).
void check_layout(std::size_t request_size, std::size_t response_size);
::httplib::Server::Handler with_session(SessionManager& manager, SessionHandler handler,
                                        Options options);
void handle_with_session(SessionManager& manager, const ::httplib::Request& request,
                         ::httplib::Response& response, const SessionHandler& handler,
                         const Options& options);
}  // namespace detail

// A cpp-httplib route handler running `handler` inside the lifecycle above. `manager` is borrowed
// and must outlive the server; `options` is copied (what its pointers name is borrowed). Throws
// std::logic_error when the caller was compiled with other cpp-httplib flags than the adapter.
inline ::httplib::Server::Handler with_session(SessionManager& manager, SessionHandler handler,
                                               Options options = {}) {
  detail::check_layout(sizeof(::httplib::Request), sizeof(::httplib::Response));  // the caller's
  return detail::with_session(manager, std::move(handler), std::move(options));
}

// The same lifecycle for one request, for code that does more around it.
inline void handle_with_session(SessionManager& manager, const ::httplib::Request& request,
                                ::httplib::Response& response, const SessionHandler& handler,
                                const Options& options = {}) {
  detail::check_layout(sizeof(::httplib::Request), sizeof(::httplib::Response));
  detail::handle_with_session(manager, request, response, handler, options);
}

// Fills `response` with the answer to `failure` (status, Retry-After, Cache-Control: no-store,
// the message as text/plain), dropping what the handler had put there.
void answer_failure(::httplib::Response& response, const Failure& failure);

}  // namespace sessionkit::httplib
