// The operations routes: GET /healthz (liveness), /readyz (the store answers), /metrics
// (Prometheus), /events (the recent lifecycle events, JSON). No session work. With client-side
// sessions (cookie://) there is no store: always ready, and no count of active sessions.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <charconv>
#include <nlohmann/json.hpp>

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

std::optional<Response> Router::refuse_without_metrics_token(const Ctx& ctx,
                                                             std::string_view what) const {
  if (options_.metrics_token.empty()) return std::nullopt;
  auto auth = ctx.view.header("Authorization");
  const std::string expected = "Bearer " + options_.metrics_token;
  if (auth && constant_time_equal(*auth, expected)) return std::nullopt;
  Response res = ctx.error(HttpStatus::unauthorized, std::string(what) + " need a bearer token");
  res.set(bhttp::field::www_authenticate, "Bearer realm=\"metrics\"");
  return res;
}

// GET /metrics: Prometheus text, behind a bearer token when one is configured.
asio::awaitable<Response> Router::get_metrics(Ctx& ctx) const {
  if (auto refused = refuse_without_metrics_token(ctx, "metrics")) co_return std::move(*refused);
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

namespace {

constexpr std::size_t kEventsDefaultLimit = 200;
constexpr std::size_t kEventsMaxLimit = 1000;

// A query parameter that must be a decimal number: `fallback` when absent, nullopt when it is
// anything but digits (a sign, spaces, empty, too large for 64 bits).
std::optional<std::uint64_t> number_parameter(const sessionkit::http::FormFields& query,
                                              std::string_view name, std::uint64_t fallback) {
  auto it = query.find(name);
  if (it == query.end()) return fallback;
  const std::string& text = it->second;
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

// GET /events?after=N&limit=M: the events numbered after N (default 0), oldest first, at most M
// (default 200, at most 1000). Behind the metrics token when one is configured; in production
// without one not served at all (the events carry user ids).
Response Router::get_events(Ctx& ctx) const {
  if (events_ == nullptr) return ctx.error(HttpStatus::not_found, "not found");
  if (auto refused = refuse_without_metrics_token(ctx, "events")) return std::move(*refused);
  if (options_.production && options_.metrics_token.empty()) {
    return ctx.error(HttpStatus::not_found,
                     "/events is off: its events carry user ids; configure --metrics-token-file "
                     "to serve it behind that bearer token");
  }
  auto query = sessionkit::http::parse_form(target_query(ctx.req.target()));
  if (!query) return ctx.error(HttpStatus::bad_request, "malformed query string");
  const auto after = number_parameter(*query, "after", 0);
  if (!after) {
    return ctx.error(HttpStatus::bad_request,
                     "after must be a non-negative integer: the last seq already seen");
  }
  const auto limit = number_parameter(*query, "limit", kEventsDefaultLimit);
  if (!limit) {
    return ctx.error(HttpStatus::bad_request, "limit must be a non-negative integer (at most " +
                                                  std::to_string(kEventsMaxLimit) + " are sent)");
  }
  const sessionkit::RecentEvents::Page page = events_->since(
      *after, static_cast<std::size_t>(std::min<std::uint64_t>(*limit, kEventsMaxLimit)));
  nlohmann::ordered_json events = nlohmann::ordered_json::array();
  for (const auto& entry : page.entries) {
    nlohmann::ordered_json item = {{"seq", entry.seq}};
    item.update(sessionkit::event_to_json(entry.event));
    events.push_back(std::move(item));
  }
  const nlohmann::ordered_json body = {{"instance", events_instance_},
                                       {"last_seq", page.last_seq},
                                       {"dropped", page.dropped},
                                       {"events", std::move(events)}};
  Response res = ctx.make(HttpStatus::ok);
  res.set(bhttp::field::cache_control, "no-store");
  set_json_body(res, body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  return res;
}

}  // namespace demo
