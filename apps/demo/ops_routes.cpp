// The operations routes: GET /healthz (liveness), /readyz (the store answers), /metrics
// (Prometheus). No session work. With client-side sessions (cookie://) there is no store: always
// ready, and no count of active sessions.
#include <spdlog/spdlog.h>

#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>

#include "router_ctx.h"
#include "routes.h"
#include "sessionkit/http/beast.h"

namespace demo {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;

// GET /healthz: liveness, no session or store work at all.
Response Router::get_healthz(Ctx& ctx) const {
  Response res = ctx.make(HttpStatus::ok);
  set_text_body(res, "ok\n");
  return res;
}

// GET /readyz: whether the store answers (no store, client-side sessions: ready).
asio::awaitable<Response> Router::get_readyz(Ctx& ctx) const {
  sessionkit::Status health;
  if (sessionkit::SessionStore* store = manager_.store()) {
    health = co_await skb::async_call<void>(
        [store](sessionkit::Callback<void> done) { store->health(std::move(done)); },
        asio::use_awaitable);
  }
  if (!health) {
    spdlog::warn("readiness check failed: {}", health.to_string());
    co_return ctx.error(HttpStatus::service_unavailable, kStoreUnavailable);
  }
  Response res = ctx.make(HttpStatus::ok);
  res.set(bhttp::field::cache_control, "no-store");
  set_json_body(res, R"({"ready":true})");
  co_return res;
}

// GET /metrics: Prometheus text, behind a bearer token when one is configured.
asio::awaitable<Response> Router::get_metrics(Ctx& ctx) const {
  if (!options_.metrics_token.empty()) {
    auto auth = ctx.view.header("Authorization");
    const std::string expected = "Bearer " + options_.metrics_token;
    if (!auth || !constant_time_equal(*auth, expected)) {
      Response res = ctx.error(HttpStatus::unauthorized, "metrics need a bearer token");
      res.set(bhttp::field::www_authenticate, "Bearer realm=\"metrics\"");
      co_return res;
    }
  }
  // Where count() walks every record (Redis: SCAN), reuse a recent figure instead of paying
  // that on every scrape. Other stores count cheaply and answer fresh figures.
  // Client-side sessions: no store, nothing to count (the metric is left out).
  sessionkit::SessionStore* store = manager_.store();
  const bool expensive = store != nullptr && store->count_is_expensive();
  const auto now = std::chrono::steady_clock::now();
  std::optional<std::uint64_t> active;
  if (store != nullptr) {
    std::lock_guard lock(count_cache_.mutex);
    if (expensive && count_cache_.value && now - count_cache_.at < kExpensiveCountMaxAge) {
      active = count_cache_.value;
    }
  }
  if (store != nullptr && !active) {
    auto count = co_await skb::async_call<std::size_t>(
        [store](sessionkit::Callback<std::size_t> done) { store->count(std::move(done)); },
        asio::use_awaitable);
    if (count) {
      active = *count;
      std::lock_guard lock(count_cache_.mutex);
      count_cache_.value = *count;
      count_cache_.at = now;
    }
  }
  Response res = ctx.make(HttpStatus::ok);
  res.set(bhttp::field::cache_control, "no-store");
  set_text_body(res, manager_.metrics().render_prometheus(active),
                "text/plain; version=0.0.4; charset=utf-8");
  co_return res;
}

}  // namespace demo
