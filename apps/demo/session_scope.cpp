#include "session_scope.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>

#include "pages.h"
#include "sessionkit/http/beast.h"
#include "sessionkit/http/failure.h"
#include "sessionkit/http/origin.h"

namespace demo {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;
using nlohmann::json;
using sessionkit::errc;

// ---- the scaffold ----

asio::awaitable<Response> Router::with_session(Ctx& ctx, const SessionRules& rules,
                                               Handler handler) const {
  auto loaded = co_await skb::co_load(manager_, ctx.view);
  if (!loaded) co_return failure_answer(ctx, loaded.status(), nullptr);
  SessionScope scope(*this, ctx, std::move(*loaded));
  // A plain read declares no checks and costs none (no extra coroutine frame).
  if (rules.any() || !scope.session().refusal().empty()) {
    if (auto refused = co_await scope.check(rules)) co_return std::move(*refused);
  }
  co_return co_await (this->*handler)(scope);
}

asio::awaitable<std::optional<Response>> Router::SessionScope::check(const SessionRules& rules) {
  if (!session_.refusal().empty()) {
    // Binding refused the session (the record is destroyed): 403, and commit clears the cookie.
    co_return co_await fail(HttpStatus::forbidden,
                            "this session is bound to another client and has been ended; "
                            "sign in again",
                            "This session was bound to another browser or address and has been "
                            "ended; please sign in again.");
  }
  if (rules.unsafe) {
    if (auto refused = co_await check_unsafe()) co_return std::move(refused);
  }
  if (rules.form && html() && !ctx_.form) {
    co_return co_await fail(HttpStatus::bad_request, "expected a form body",
                            "The form could not be read; please try again.");
  }
  if (!rules.signed_out_error.empty() && !signed_in()) {
    co_return co_await fail(HttpStatus::unauthorized, rules.signed_out_error,
                            std::string(rules.signed_out_notice));
  }
  if (rules.recent_auth) co_return co_await require_recent_auth();
  co_return std::nullopt;
}

asio::awaitable<std::optional<Response>> Router::SessionScope::check_unsafe() {
  // Second line of defence: where the browser says the request comes from.
  if (auto verdict = sessionkit::http::check_origin(ctx_.view, router_.options_.origins);
      !verdict) {
    co_return co_await fail(HttpStatus::forbidden, verdict.reason,
                            "This form was sent from another site, so it was refused.");
  }
  if (ctx_.form_malformed) {
    co_return co_await fail(HttpStatus::bad_request, "malformed form body",
                            "The form could not be read; please try again.");
  }
  auto token = request_csrf_token();
  if (!token || !router_.manager_.verify_csrf(session_, *token)) {
    // From a form of our own page this is an out-of-date page (signed in or out in another tab
    // since it loaded): the page again, with a fresh token, is the helpful answer.
    co_return co_await fail(
        HttpStatus::forbidden, "invalid or missing CSRF token",
        "This page was out of date (you signed in or out in another tab), so nothing was done. "
        "Please try again.");
  }
  co_return std::nullopt;
}

std::optional<std::string> Router::SessionScope::request_csrf_token() const {
  if (auto header = sessionkit::SessionManager::csrf_header(ctx_.view)) {
    return std::string(*header);
  }
  if (const std::string* field = ctx_.field("_csrf")) return *field;
  return std::nullopt;
}

asio::awaitable<std::optional<Response>> Router::SessionScope::require_recent_auth() {
  if (router_.manager_.authenticated_within(session_, router_.options_.reauth_after)) {
    co_return std::nullopt;
  }
  if (html()) {
    co_return co_await router_.page(*this, HttpStatus::unauthorized,
                                    "Please confirm your password to end other sessions.", true);
  }
  Response res = ctx_.make(HttpStatus::unauthorized);
  res.set(bhttp::field::cache_control, "no-store");
  set_json_body(res, json{{"error", "re-authentication required: POST /api/reauth"},
                          {"reauthenticate", "/api/reauth"}}
                         .dump());
  co_return res;
}

// ---- answers ----

Response Router::SessionScope::success(std::string_view location) const {
  if (html()) return ctx_.see_other(location);
  Response res = ctx_.make(HttpStatus::ok);
  res.set(bhttp::field::cache_control, "no-store");
  return res;
}

asio::awaitable<std::optional<Response>> Router::SessionScope::commit(Response& res) {
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(router_.manager_, session_, out);
  // Ending a session that had already ended (signed out elsewhere) still ends it.
  if (committed || (session_.is_destroyed() && committed.code() == errc::not_found)) {
    co_return std::nullopt;
  }
  co_return co_await failure(committed, &res);
}

std::string Router::SessionScope::csrf_token(Response& res) {
  skb::BeastResponseHeaders out(res);
  return router_.manager_.csrf_token(session_, out);
}

asio::awaitable<Response> Router::SessionScope::fail(HttpStatus status, std::string_view error,
                                                     std::string notice, bool ask_password) {
  if (html()) co_return co_await router_.page(*this, status, std::move(notice), ask_password);
  Response res = ctx_.error(status, error);
  if (!session_.is_destroyed() && session_.refusal().empty()) co_return res;
  // This answer ends the session: commit deletes the record and clears the cookie.
  res.set(bhttp::field::cache_control, "no-store");
  if (auto failed = co_await commit(res)) co_return std::move(*failed);
  co_return res;
}

asio::awaitable<Response> Router::SessionScope::failure(const sessionkit::Status& status,
                                                        Response* partial) {
  const Failure f = router_.describe(status);
  if (!html() || f.store_down) co_return router_.failure_answer(ctx_, status, partial);
  // A form: the page again with the notice (and fresh CSRF tokens, so "try again" works).
  Response res = co_await router_.page(*this, f.status, std::string(f.notice), false);
  if (!f.retry_after.empty()) res.set(bhttp::field::retry_after, f.retry_after);
  co_return res;
}

// ---- the one table ----

// Status, Retry-After and "store down" come from the library's table (sessionkit/http/failure.h);
// only the wording is the demo's: the JSON error and the page's notice.
Router::Failure Router::describe(const sessionkit::Status& status) const {
  const sessionkit::http::Failure f = sessionkit::http::failure_for(status, manager_);
  Failure out{static_cast<HttpStatus>(f.status),
              {},
              {},
              f.retry_after > 0 ? std::to_string(f.retry_after) : std::string(),
              f.store_down};
  switch (out.status) {
    case HttpStatus::payload_too_large:  // too_large
      out.error = "session data too large";
      out.notice = "Your session holds too much data; nothing was saved.";
      break;
    case HttpStatus::too_many_requests:  // rate_limited: new anonymous sessions from one address
      out.error = status.message();
      out.notice = "Too many new sessions from your address; please wait a minute and try again.";
      break;
    case HttpStatus::bad_request:  // invalid_argument
      out.error = status.message();
      out.notice = "Something went wrong; please try again.";
      break;
    case HttpStatus::not_implemented:  // unsupported
      out.error =
          "not possible with client-side (cookie) sessions: the server keeps no record of them";
      out.notice =
          "That is not possible with client-side (cookie) sessions: the server keeps no record "
          "of them.";
      break;
    case HttpStatus::conflict:  // not_found, conflict: the session ended concurrently
      out.error = "session ended concurrently";
      out.notice =
          "Your session ended while this request ran (signed out elsewhere, or your password "
          "changed). Please sign in again.";
      break;
    default:  // the store could not answer: never "logged out", never a new cookie
      out.error = std::string(kStoreUnavailable);
      out.notice =
          "The session store is unavailable right now, so nothing was done. Please try again "
          "shortly.";
      break;
  }
  return out;
}

Response Router::failure_answer(const Ctx& ctx, const sessionkit::Status& status,
                                Response* partial) const {
  const Failure f = describe(status);
  if (f.store_down) {
    spdlog::warn("session store error on {} {}: {}", std::string_view(ctx.req.method_string()),
                 ctx.path, status.to_string());
  }
  // The session ended concurrently: keep the cookie-clearing header commit wrote, so the client
  // drops its stale cookie. Otherwise a fresh response: no Set-Cookie at all.
  const bool ended = status.code() == errc::not_found || status.code() == errc::conflict;
  Response res = ended && partial != nullptr ? std::move(*partial) : ctx.make(f.status);
  res.result(f.status);
  res.erase(bhttp::field::location);
  res.set(bhttp::field::cache_control, "no-store");
  if (!f.retry_after.empty()) res.set(bhttp::field::retry_after, f.retry_after);
  if (ctx.html) {
    set_html_body(res, render_notice_page(
                           f.notice, f.store_down ? "Service unavailable" : "sessionkit demo"));
  } else {
    set_json_body(res, json{{"error", f.error}}.dump());
  }
  return res;
}

}  // namespace demo
