// The cpp-httplib adapter (include/sessionkit/http/httplib.h).
#include "sessionkit/http/httplib.h"

#include <algorithm>
#include <iterator>
#include <span>
#include <stdexcept>
#include <utility>

#include "sessionkit/http/form.h"
#include "sessionkit/sync.h"

namespace sessionkit::httplib {
namespace {

bool is_cookie(std::string_view name) {
  return name.size() == 6 && std::equal(name.begin(), name.end(), "cookie", [](char a, char b) {
           return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
         });
}

bool connection_is_tls([[maybe_unused]] const ::httplib::Request& request) {
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  return request.ssl != nullptr;  // served by an httplib::SSLServer
#else
  return false;
#endif
}

// Every line of header `name`, in order (views into `request`).
std::vector<std::string_view> lines(const ::httplib::Request& request, const char* name) {
  std::vector<std::string_view> out;
  auto [first, last] = request.headers.equal_range(name);
  for (auto it = first; it != last; ++it)
    out.emplace_back(it->second);
  return out;
}

http::TrustedProxies::Client resolve_client(const ::httplib::Request& request,
                                            const http::TrustedProxies* proxies, bool tls) {
  if (proxies == nullptr || proxies->empty()) return {request.remote_addr, tls, false};
  const auto forwarded_for = lines(request, "X-Forwarded-For");
  const auto forwarded_proto = lines(request, "X-Forwarded-Proto");
  return proxies->resolve(request.remote_addr, tls, std::span(forwarded_for),
                          std::span(forwarded_proto));
}

// The lifecycle's own refusals (no manager error behind them).
Failure refusal(int status, std::string message) {
  return {status, std::move(message), 0, false};
}

void fail(const Options& options, const ::httplib::Request& request, ::httplib::Response& response,
          const Failure& failure, const Status& error = {}) {
  answer_failure(response, failure);
  if (options.on_failure) options.on_failure(request, response, failure, error);
}

// The manager's error `error` as the answer. A session that ended concurrently keeps the
// cookie-clearing Set-Cookie lines commit wrote, so that the client drops its stale cookie.
void fail_with(const Options& options, SessionManager& manager, const ::httplib::Request& request,
               ::httplib::Response& response, const Status& error) {
  std::vector<std::string> cookies;
  if (error.code() == errc::not_found || error.code() == errc::conflict) {
    auto [first, last] = response.headers.equal_range("Set-Cookie");
    for (auto it = first; it != last; ++it)
      cookies.push_back(it->second);
  }
  fail(options, request, response, failure_for(error, manager), error);
  for (auto& line : cookies)
    response.headers.emplace("Set-Cookie", std::move(line));
}

// Commits; false when the response was replaced by a failure.
bool commit(const Options& options, Scope& scope) {
  const Status committed = sync::commit(scope.manager(), scope.session(), scope.headers());
  // Ending a session that had already ended (signed out elsewhere) still ends it.
  if (committed || (scope.session().is_destroyed() && committed.code() == errc::not_found)) {
    return true;
  }
  fail_with(options, scope.manager(), scope.request(), scope.response(), committed);
  return false;
}

// Steps 2 and 3 of the lifecycle: the answer when the request may not reach its handler.
std::optional<Failure> check(const Options& options, Scope& scope) {
  if (!scope.session().refusal().empty()) {
    return refusal(403,
                   "this session was bound to another client and has been ended; sign in again");
  }
  if (sync::is_safe_method(scope.request().method)) return std::nullopt;
  // A bearer request carries no cookie and no browser sends one on its own: nothing to forge.
  if (scope.session().via_bearer()) return std::nullopt;
  if (options.origins != nullptr) {
    if (auto verdict = http::check_origin(scope.view(), *options.origins); !verdict) {
      return refusal(403, std::string(verdict.reason));
    }
  }
  if (options.csrf && !scope.csrf_valid(options.csrf_field)) {
    return refusal(403, "invalid or missing CSRF token");
  }
  return std::nullopt;
}

}  // namespace

// ---- views ----

RequestView::RequestView(const ::httplib::Request& request, const http::TrustedProxies* proxies,
                         std::optional<bool> is_tls)
    : request_(&request),
      client_(resolve_client(request, proxies, is_tls.value_or(connection_is_tls(request)))) {}

std::optional<std::string_view> RequestView::header(std::string_view name) const {
  auto [first, last] = request_->headers.equal_range(std::string(name));
  if (first == last) return std::nullopt;
  if (std::next(first) == last || !is_cookie(name)) return std::string_view(first->second);
  if (!joined_cookie_) {
    std::string joined;
    for (auto it = first; it != last; ++it) {
      if (!joined.empty()) joined += "; ";
      joined += it->second;
    }
    joined_cookie_ = std::move(joined);
  }
  return std::string_view(*joined_cookie_);
}

void ResponseHeaders::add(std::string_view name, std::string_view value) {
  response_->headers.emplace(std::string(name), std::string(value));
}

void ResponseHeaders::set(std::string_view name, std::string_view value) {
  const std::string key(name);
  response_->headers.erase(key);  // every line of that name (the map compares case-insensitively)
  response_->headers.emplace(key, std::string(value));
}

// ---- failures ----

void answer_failure(::httplib::Response& response, const Failure& failure) {
  response = ::httplib::Response();
  response.status = failure.status;
  response.set_header("Cache-Control", "no-store");
  if (failure.retry_after > 0) {
    response.set_header("Retry-After", std::to_string(failure.retry_after));
  }
  response.set_content(failure.message + "\n", "text/plain; charset=utf-8");
}

// ---- Scope ----

std::string Scope::csrf_token() {
  return sync::csrf_token(*manager_, session_, out_);
}

bool Scope::csrf_valid(std::string_view field) const {
  // The urlencoded body only: cpp-httplib's `params` also holds the query string, and a token
  // in a URL leaks through logs, history and Referer.
  const auto& request = view_->request();
  std::optional<std::string> form;
  if (http::is_form_content_type(request.get_header_value("Content-Type"))) {
    form = http::form_field(request.body, field);
  }
  return sync::verify_csrf(*manager_, session_, *view_, form.value_or(std::string()));
}

Result<std::int64_t> Scope::increment(std::string field, std::int64_t delta) {
  return sync::increment(*manager_, session_, std::move(field), delta);
}

Result<std::vector<SessionManager::SessionSummary>> Scope::list_sessions() {
  return sync::list_sessions(*manager_, session_);
}

Result<bool> Scope::revoke_session(std::string_view handle) {
  return sync::revoke_session(*manager_, session_, handle);
}

Result<std::size_t> Scope::revoke_other_sessions() {
  if (!signed_in()) return std::size_t{0};
  return sync::revoke_user_sessions(*manager_, session_.user_id(), &session_);
}

// ---- the lifecycle ----

namespace detail {

void handle_with_session(SessionManager& manager, const ::httplib::Request& request,
                         ::httplib::Response& response, const SessionHandler& handler,
                         const Options& options) {
  const RequestView view(request, options.proxies);
  if (view.malformed()) {
    return fail(options, request, response, refusal(400, "malformed X-Forwarded-For"));
  }
  auto loaded = sync::load(manager, view);
  if (!loaded) return fail_with(options, manager, request, response, loaded.status());
  Scope scope(manager, view, response, std::move(*loaded));
  if (auto refused = check(options, scope)) {
    const bool ends_session = !scope.session().refusal().empty();
    fail(options, request, response, *refused);
    // Binding refused the session (its record is destroyed): commit clears the cookie.
    if (ends_session) commit(options, scope);
    return;
  }
  if (Status st = handler(scope); !st) {
    return fail_with(options, manager, request, response, st);
  }
  commit(options, scope);
}

void check_layout(std::size_t request_size, std::size_t response_size) {
  if (request_size != sizeof(::httplib::Request) || response_size != sizeof(::httplib::Response)) {
    throw std::logic_error(
        "sessionkit::httplib: this code was compiled with other cpp-httplib flags than the "
        "adapter (httplib::Request/Response differ in size); link sessionkit::httplib, which "
        "passes cpp-httplib's pkg-config flags on");
  }
}

::httplib::Server::Handler with_session(SessionManager& manager, SessionHandler handler,
                                        Options options) {
  return [&manager, handler = std::move(handler), options = std::move(options)](
             const ::httplib::Request& request, ::httplib::Response& response) {
    detail::handle_with_session(manager, request, response, handler, options);
  };
}

}  // namespace detail

}  // namespace sessionkit::httplib
