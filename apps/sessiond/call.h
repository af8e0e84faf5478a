// call.h — one API request being answered, and the helpers every route uses (private to
// sessiond): the JSON answers and errors, the body parser, the mapping of a store failure to a
// status (never a false 404), session IDs to store keys, and `call_store`, which runs one store
// operation as an awaitable, timed into the store latency histogram.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/http/message.h"
#include "sessionkit/http/beast.h"
#include "sessionkit/metrics.h"
#include "sessionkit/record.h"
#include "sessionkit/result.h"
#include "sessionkit/session_id.h"

namespace sessiond {

using sessionkit_apps::http::HttpStatus;
using sessionkit_apps::http::Request;
using sessionkit_apps::http::Response;

// The payload key of a session's CSRF secret (csrf_routes.cpp): reserved ("_sk_"), so no client
// reads or writes it through the API, and distinct from the C++ manager's "_sk_csrf".
inline constexpr std::string_view kCsrfSeedKey = "_sk_api_csrf";

struct Call {
  Request& req;
  const std::string& peer;
  std::string_view query;
  std::string_view route;  // match_route(path).pattern: the metrics' label and the dispatch
  std::string_view param;  // match_route(path).param: the {id} or {user} text
  std::string request_id;  // the caller's X-Request-Id when well-formed, else a new one
  nlohmann::json body;     // the parsed JSON body (methods that take one)

  Response answer(HttpStatus status, const nlohmann::json& j) const;
  Response error(HttpStatus status, std::string_view message) const;
  Response not_allowed() const;
  // The answer to a failed store call: not_found 404, conflict 409, invalid_argument 400,
  // too_large 413, unsupported 501, anything else (unavailable, timeout, corrupt) 503.
  Response store_error(const sessionkit::Status& s) const;
  // Parses the body into `body`, which must be a JSON object (an empty body is `{}`); the
  // error answer (415 or 400) otherwise.
  std::optional<Response> parse_body();
  bool method_is(std::initializer_list<boost::beast::http::verb> allowed) const;
};

// The JSON a client sees of a session: no ID (the caller has it), no key, and none of the
// payload keys sessionkit reserves for itself ("_sk_…").
nlohmann::json view(const sessionkit::SessionRecord& r);

// The store key of a session ID a caller presents: 22 to 128 base64url characters (at least 132
// bits when random: sessiond's own 43-character IDs, express-session's default 32-character
// uid-safe IDs, any CSPRNG token), SHA-256 of the text, exactly as SessionKey::of hashes
// sessiond's own. Nothing else is a session ID.
std::optional<sessionkit::SessionKey> key_of_id(std::string_view text);

// %XX decoding of one path segment ('+' stays '+'); nullopt for a bad escape, a decoded '/' or
// NUL.
std::optional<std::string> decode_segment(std::string_view s);

// The caller's X-Request-Id when it is 1 to 128 characters of [A-Za-z0-9._:-] (a proxy's or the
// app's, so one id follows a request through every log), else 16 random hex digits.
std::string request_id_of(const Request& req);

// The value of `name` in a query string ("a=1&b=2"), undecoded; nullopt when absent.
std::optional<std::string_view> query_param(std::string_view query, std::string_view name);

// The error of a failed call (sessionkit::Status is Result<void> itself).
template <class T>
const sessionkit::Status& status_of(const sessionkit::Result<T>& r) {
  return r.status();
}
inline const sessionkit::Status& status_of(const sessionkit::Status& s) {
  return s;
}

// Counts a failed store call that is the store's fault (unavailable, timeout, corrupt), not the
// caller's (not_found, conflict, invalid_argument, too_large).
void note_store_failure(sessionkit::Metrics& metrics, const sessionkit::Status& s);

// Runs one store operation as an awaitable: `start(Callback<T>)` begins it.
template <class T, class Start>
boost::asio::awaitable<sessionkit::Result<T>> call_store(sessionkit::Metrics& metrics,
                                                         Start start) {
  const auto began = std::chrono::steady_clock::now();
  sessionkit::Result<T> r =
      co_await sessionkit::beast::async_call<T>(std::move(start), boost::asio::use_awaitable);
  metrics.store_latency.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  if (!r) note_store_failure(metrics, status_of(r));
  co_return r;
}

}  // namespace sessiond
