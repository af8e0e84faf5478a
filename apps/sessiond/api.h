// api.h — sessiond's HTTP API (private to sessiond): JSON over HTTP/1.1, version 1 under /v1,
// answered by one `Api` shared by every connection (apps/common/http/server.h runs them).
// docs/sessiond.md has every route, status and field; openapi.json describes the same.
//
// Sessions are named by their ID (sessiond creates 43 base64url characters, 256 random bits; a
// client may `PUT` its own random token of 22 to 128 base64url characters, e.g. express-session's
// default IDs), which travels only in requests and answers; the store sees SHA-256(ID), as
// everywhere in sessionkit.
//
// Errors are `{"error": message}` with 400 (malformed JSON, ID or field), 401 (no or a wrong
// API key, with WWW-Authenticate), 403 (clear without --allow-clear), 404 (no such live
// session), 405, 409 (create: the ID is taken), 413 (body over the limit), 415, 501 (the store
// cannot do that), 503 (the store could not answer: never a false 404). Nothing is written when
// a request is refused. The routes live in api.cpp (operations), session_routes.cpp,
// csrf_routes.cpp and user_routes.cpp; call.h has what they share.
//
// Thread safety: `handle` runs concurrently on the server's threads.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "api_keys.h"
#include "common/http/server.h"
#include "sessionkit/metrics.h"
#include "sessionkit/session.h"
#include "sessionkit/session_id.h"
#include "sessionkit/store.h"

namespace sessiond {

using sessionkit_apps::http::HttpStatus;
using sessionkit_apps::http::Request;
using sessionkit_apps::http::Response;

struct ApiOptions {
  sessionkit::Duration idle_timeout = std::chrono::minutes(30);
  sessionkit::Duration absolute_timeout = std::chrono::hours(12);
  // A read refreshes the access time and deadline at most this often (one write per interval).
  sessionkit::Duration touch_interval = std::chrono::seconds(60);
  bool require_key = true;   // false only in development mode with no key configured
  bool allow_clear = false;  // DELETE /v1/sessions ends every session (tests, fixtures)
  bool access_log = false;   // one info line per request (logging.h)
};

// The route a path names, whatever the method: its pattern ("/v1/sessions/{id}/touch"; "other"
// for a path no route has), which is the metrics' label, what openapi.json lists and what
// `Api::route` dispatches on; and the raw text of its one parameter ({id} or {user}). The only
// parser of request paths in sessiond.
struct RouteMatch {
  std::string_view pattern;
  std::string_view param;
};
RouteMatch match_route(std::string_view path);

// Requests by method, route pattern and status, for /metrics (and the OpenAPI coverage check:
// tests/e2e/sessiond_test.cpp). Server-level refusals (400/413/431 before a request is read
// whole) count as method "-", route "refused". Counted in stripes chosen by the calling thread
// (each server loop has its own, barring a hash collision), so the loops do not contend for one
// lock on every request; `render` adds the stripes up.
class RouteCounters {
 public:
  void count(std::string_view method, std::string_view route, unsigned status);
  void render(std::string& out) const;

 private:
  struct Count {
    std::string method;
    std::string route;
    unsigned status = 0;
    std::uint64_t n = 0;
  };
  struct alignas(64) Stripe {  // one cache line each: no false sharing between loops
    mutable std::mutex mu;
    std::vector<Count> counts;
  };
  static constexpr std::size_t kStripes = 16;
  std::array<Stripe, kStripes> stripes_;
};

struct Call;
class TokenSupport;

class Api final : public sessionkit_apps::http::Handler {
 public:
  // `tokens` (borrowed; may be null: the token routes answer 404) serves the token routes.
  Api(std::shared_ptr<sessionkit::SessionStore> store, const ApiKeys& keys, ApiOptions options,
      std::shared_ptr<sessionkit::Metrics> metrics, TokenSupport* tokens = nullptr);

  boost::asio::awaitable<Response> handle(Request& request, const std::string& peer) override;
  Response refusal(HttpStatus status, std::string_view reason) override;

  sessionkit::Metrics& metrics() { return *metrics_; }
  sessionkit::SessionStore& store() { return *store_; }

 private:
  // api.cpp: operations (/healthz, /readyz, /metrics, /openapi.json), the key check, dispatch.
  boost::asio::awaitable<Response> route(Call& call);
  boost::asio::awaitable<Response> metrics_route(Call& call);

  // session_routes.cpp: /v1/sessions, /v1/sessions/{id}[/touch|/increment|/regenerate],
  // /v1/stats.
  boost::asio::awaitable<Response> collection_route(Call& call, sessionkit::Time now);
  boost::asio::awaitable<Response> stats_route(Call& call);
  boost::asio::awaitable<Response> session_route(Call& call, std::string_view id_text,
                                                 std::string_view action, sessionkit::Time now);
  // Creates the session `id` (its text, answered to the caller) under `key`.
  boost::asio::awaitable<Response> create(Call& call, std::string id, sessionkit::SessionKey key,
                                          sessionkit::Time now);
  boost::asio::awaitable<Response> patch(Call& call, const sessionkit::SessionKey& key,
                                         sessionkit::Time now);
  boost::asio::awaitable<Response> increment(Call& call, const sessionkit::SessionKey& key,
                                             sessionkit::Time now);
  boost::asio::awaitable<Response> regenerate(Call& call, const sessionkit::SessionKey& old_key,
                                              sessionkit::Time now);
  // DELETE /v1/sessions: every session, only with --allow-clear.
  boost::asio::awaitable<Response> clear(Call& call);

  // csrf_routes.cpp: /v1/sessions/{id}/csrf and /v1/sessions/{id}/csrf/verify.
  boost::asio::awaitable<Response> csrf_route(Call& call, const sessionkit::SessionKey& key,
                                              std::string_view action);

  // token_routes.cpp: /v1/sessions/{id}/tokens, /v1/tokens/{refresh,revoke,introspect},
  // /v1/jwks.
  static constexpr std::string_view kTokensOff =
      "token sessions are off: start sessiond with --token-keys";
  boost::asio::awaitable<Response> issue_tokens(Call& call, std::string_view id_text);
  boost::asio::awaitable<Response> token_route(Call& call, std::string_view action);
  boost::asio::awaitable<Response> jwks_route(Call& call);
  Response token_answer(Call& call, const sessionkit::Session& session,
                        const std::string& refresh_token);

  // user_routes.cpp: /v1/users/{user}/sessions (`user`: the raw path segment).
  boost::asio::awaitable<Response> user_route(Call& call, std::string_view user_segment);

  sessionkit::TouchSpec touch_spec(sessionkit::Time now) const;   // a read's lazy touch
  sessionkit::TouchSpec write_touch(sessionkit::Time now) const;  // a write's touch

  std::shared_ptr<sessionkit::SessionStore> store_;
  const ApiKeys& keys_;
  ApiOptions options_;
  std::shared_ptr<sessionkit::Metrics> metrics_;
  RouteCounters routes_;
  TokenSupport* tokens_;
};

}  // namespace sessiond
