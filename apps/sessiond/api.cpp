// api.cpp — see api.h. The operations' routes, the API key check and the dispatch to the
// session, CSRF and user routes (session_routes.cpp, csrf_routes.cpp, user_routes.cpp).
#include "api.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <functional>

#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "call.h"
#include "logging.h"
#include "openapi.h"

namespace sessiond {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace sk = sessionkit;
using nlohmann::json;

// ---- RouteCounters ----

void RouteCounters::count(std::string_view method, std::string_view route, unsigned status) {
  static thread_local const std::size_t mine =
      std::hash<std::thread::id>{}(std::this_thread::get_id()) % kStripes;
  Stripe& stripe = stripes_[mine];
  std::lock_guard lock(stripe.mu);
  for (Count& c : stripe.counts) {
    if (c.status == status && c.route == route && c.method == method) {
      ++c.n;
      return;
    }
  }
  stripe.counts.push_back(
      Count{.method = std::string(method), .route = std::string(route), .status = status, .n = 1});
}

void RouteCounters::render(std::string& out) const {
  out +=
      "# HELP sessiond_requests_total Requests answered, by method, route and status.\n"
      "# TYPE sessiond_requests_total counter\n";
  std::vector<Count> total;  // the stripes added up, in the order the series first appear
  for (const Stripe& stripe : stripes_) {
    std::lock_guard lock(stripe.mu);
    for (const Count& c : stripe.counts) {
      auto same = [&c](const Count& t) {
        return t.status == c.status && t.route == c.route && t.method == c.method;
      };
      if (auto it = std::find_if(total.begin(), total.end(), same); it != total.end()) {
        it->n += c.n;
      } else {
        total.push_back(c);
      }
    }
  }
  for (const Count& c : total) {
    out += fmt::format("sessiond_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}\n",
                       c.method, c.route, c.status, c.n);
  }
}

Api::Api(std::shared_ptr<sk::SessionStore> store, const ApiKeys& keys, ApiOptions options,
         std::shared_ptr<sk::Metrics> metrics, TokenSupport* tokens)
    : store_(std::move(store)),
      keys_(keys),
      options_(options),
      metrics_(metrics ? std::move(metrics) : std::make_shared<sk::Metrics>()),
      tokens_(tokens) {}

Response Api::refusal(HttpStatus status, std::string_view reason) {
  Response res{status, 11};
  res.set(bhttp::field::server, "sessiond");
  res.set(bhttp::field::content_type, "application/json");
  res.body() = json{{"error", reason}}.dump() + "\n";
  res.keep_alive(false);
  res.prepare_payload();
  routes_.count("-", "refused", static_cast<unsigned>(status));
  return res;
}

asio::awaitable<Response> Api::handle(Request& request, const std::string& peer) {
  const auto began = std::chrono::steady_clock::now();
  const std::string_view target = request.target();
  const std::size_t q = target.find('?');
  const RouteMatch matched = match_route(target.substr(0, q));
  Call call{.req = request,
            .peer = peer,
            .query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1),
            .route = matched.pattern,
            .param = matched.param,
            .request_id = request_id_of(request),
            .body = json()};
  Response res = co_await route(call);
  res.set("X-Request-Id", call.request_id);
  // A method outside HTTP's usual ones is one label, not one per spelling.
  const std::string_view method = request.method() == bhttp::verb::unknown
                                      ? std::string_view("other")
                                      : std::string_view(request.method_string());
  routes_.count(method, call.route, res.result_int());
  if (options_.access_log) {
    // The route's pattern, never the path: a path holds a session ID.
    log_fields(spdlog::level::info, "request",
               {{"request_id", call.request_id},
                {"method", method},
                {"route", call.route},
                {"status", res.result_int()},
                {"duration_ms",
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began)
                     .count()},
                {"peer", peer}});
  }
  co_return res;
}

RouteMatch match_route(std::string_view path) {
  static constexpr std::array<std::string_view, 10> kExact = {
      "/healthz",  "/readyz",  "/openapi.json",      "/metrics",          "/v1/sessions",
      "/v1/stats", "/v1/jwks", "/v1/tokens/refresh", "/v1/tokens/revoke", "/v1/tokens/introspect"};
  for (std::string_view p : kExact)
    if (path == p) return RouteMatch{.pattern = p, .param = {}};
  constexpr RouteMatch kOther{.pattern = "other", .param = {}};
  constexpr std::string_view kSession = "/v1/sessions/";
  if (path.starts_with(kSession)) {
    const std::string_view rest = path.substr(kSession.size());
    const std::size_t slash = rest.find('/');
    const std::string_view id = rest.substr(0, slash);
    if (id.empty()) return kOther;
    if (slash == std::string_view::npos)
      return RouteMatch{.pattern = "/v1/sessions/{id}", .param = id};
    const std::string_view action = rest.substr(slash + 1);
    static constexpr std::array<std::string_view, 6> kPatterns = {
        "/v1/sessions/{id}/touch", "/v1/sessions/{id}/increment",   "/v1/sessions/{id}/regenerate",
        "/v1/sessions/{id}/csrf",  "/v1/sessions/{id}/csrf/verify", "/v1/sessions/{id}/tokens"};
    for (std::string_view p : kPatterns) {
      if (p.substr(std::string_view("/v1/sessions/{id}/").size()) == action) {
        return RouteMatch{.pattern = p, .param = id};
      }
    }
    return kOther;
  }
  constexpr std::string_view kUser = "/v1/users/";
  if (path.starts_with(kUser)) {
    const std::string_view rest = path.substr(kUser.size());
    const std::size_t slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0 && rest.substr(slash) == "/sessions") {
      return RouteMatch{.pattern = "/v1/users/{user}/sessions", .param = rest.substr(0, slash)};
    }
  }
  return kOther;
}

asio::awaitable<Response> Api::route(Call& c) {
  using verb = bhttp::verb;

  // ---- operations: no key needed for liveness, readiness and the API's description ----
  if (c.route == "/healthz") {
    if (!c.method_is({verb::get, verb::head})) co_return c.not_allowed();
    co_return c.answer(HttpStatus::ok, json{{"ok", true}});
  }
  if (c.route == "/readyz") {
    if (!c.method_is({verb::get, verb::head})) co_return c.not_allowed();
    sk::Result<void> h = co_await call_store<void>(
        *metrics_, [this](sk::Callback<void> done) { store_->health(std::move(done)); });
    if (!h) co_return c.error(HttpStatus::service_unavailable, "the session store cannot answer");
    co_return c.answer(HttpStatus::ok, json{{"ready", true}});
  }
  if (c.route == "/openapi.json") {
    if (!c.method_is({verb::get, verb::head})) co_return c.not_allowed();
    Response res{HttpStatus::ok, c.req.version()};
    res.set(bhttp::field::server, "sessiond");
    res.set(bhttp::field::content_type, "application/json");
    res.set(bhttp::field::cache_control, "no-cache");
    res.keep_alive(c.req.keep_alive());
    res.body() = openapi_document();
    res.prepare_payload();
    co_return res;
  }
  if (c.route == "/v1/jwks") co_return co_await jwks_route(c);  // public keys

  // ---- everything else needs an API key ----
  if (options_.require_key) {
    const auto auth = c.req.find(bhttp::field::authorization);
    const std::string_view header =
        auth == c.req.end() ? std::string_view() : std::string_view(auth->value());
    if (!keys_.authenticate(header)) {
      Response res =
          c.error(HttpStatus::unauthorized, "an API key is required: Authorization: Bearer <key>");
      res.set(bhttp::field::www_authenticate, "Bearer realm=\"sessiond\"");
      co_return res;
    }
  }

  // ---- dispatch on the route match_route found (one parser of paths: api.h) ----
  constexpr std::string_view kSession = "/v1/sessions/{id}";
  constexpr std::string_view kTokens = "/v1/tokens/";
  const sk::Time now = sk::system_clock().now();
  if (c.route == "/metrics") co_return co_await metrics_route(c);
  if (c.route == "/v1/sessions") co_return co_await collection_route(c, now);
  if (c.route == "/v1/stats") co_return co_await stats_route(c);
  if (c.route.starts_with(kTokens))
    co_return co_await token_route(c, c.route.substr(kTokens.size()));
  if (c.route == "/v1/users/{user}/sessions") co_return co_await user_route(c, c.param);
  if (c.route.starts_with(kSession)) {
    // "" or "/touch", …: the action without its slash. (Not a conditional expression inside the
    // co_await below: g++ 12 evaluates both arms there.)
    std::string_view action = c.route.substr(kSession.size());
    if (!action.empty()) action.remove_prefix(1);
    co_return co_await session_route(c, c.param, action, now);
  }
  co_return c.error(HttpStatus::not_found, "no such route");
}

asio::awaitable<Response> Api::metrics_route(Call& c) {
  if (!c.method_is({bhttp::verb::get})) co_return c.not_allowed();
  std::optional<std::uint64_t> active;
  if (!store_->count_is_expensive()) {
    auto n = co_await call_store<std::size_t>(
        *metrics_, [this](sk::Callback<std::size_t> done) { store_->count(std::move(done)); });
    if (n) active = *n;
  }
  Response res{HttpStatus::ok, c.req.version()};
  res.set(bhttp::field::server, "sessiond");
  res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(bhttp::field::cache_control, "no-store");
  res.keep_alive(c.req.keep_alive());
  std::string text = metrics_->render_prometheus(active);
  routes_.render(text);
  res.body() = std::move(text);
  res.prepare_payload();
  co_return res;
}

sk::TouchSpec Api::touch_spec(sk::Time now) const {
  // Refresh at most once per touch interval: a read inside it writes nothing.
  return sk::TouchSpec{
      .last_access = now,
      .expires_at = now + options_.idle_timeout,
      .only_if_accessed_in = sk::AccessWindow{.from = now - options_.idle_timeout,
                                              .before = now - options_.touch_interval}};
}

sk::TouchSpec Api::write_touch(sk::Time now) const {
  return sk::TouchSpec{.last_access = now,
                       .expires_at = now + options_.idle_timeout,
                       .only_if_accessed_in = std::nullopt};
}

}  // namespace sessiond
