#include "routes.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "credentials.h"
#include "pages.h"
#include "router_ctx.h"
#include "sessionkit/http/beast.h"

namespace demo {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;
using asio::use_awaitable;
using bhttp::verb;
using nlohmann::json;
using sessionkit::Session;

namespace {

constexpr std::size_t kMaxUserBytes = 128;
constexpr std::size_t kMaxPasswordBytes = 1024;
constexpr std::string_view kStoreUnavailable = "session store unavailable";

// What the demo shows of a session, for the JSON API and the HTML page alike.
struct SessionView {
  bool live = false;  // stored and not being destroyed
  bool authenticated = false;
  const json* user = nullptr;  // the session's "user" object, when authenticated and present
  std::int64_t visits = 0;
};

SessionView view_of(const Session& s) {
  SessionView v;
  v.live = s.is_stored() && !s.is_destroyed();
  v.authenticated = v.live && !s.user_id().empty();
  if (v.authenticated) {
    const json* u = s.find("user");
    if (u != nullptr && u->is_object()) v.user = u;
  }
  v.visits = v.live ? s.get<std::int64_t>("visits").value_or(0) : 0;
  return v;
}

// The body of GET /api/session, the hottest response, written directly: no json tree.
std::string api_session_body(const Session& s, std::string_view csrf_token) {
  const SessionView v = view_of(s);
  std::string out;
  out.reserve(320);
  out += v.authenticated ? R"({"authenticated":true,"user":)" : R"({"authenticated":false,"user":)";
  if (!v.authenticated) {
    out += "null";
  } else if (v.user != nullptr) {
    out += v.user->dump(-1, ' ', false, json::error_handler_t::replace);
  } else {
    out += json{{"name", s.user_id()}}.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  out += R"(,"visits":)";
  out += std::to_string(v.visits);
  if (v.live) {
    out += R"(,"session":{"created_at":")";
    append_iso8601(out, s.created_at());
    out += R"(","expires_at":")";
    append_iso8601(out, s.expires_at());
    out += R"(","id_hint":")";
    out += s.id_hint();  // hex digits
    out += R"("})";
  } else {
    out += R"(,"session":{"created_at":null,"expires_at":null,"id_hint":null})";
  }
  out += R"(,"csrf_token":")";
  out += csrf_token;  // base64url: nothing to escape
  out += R"("})";
  return out;
}

}  // namespace

Router::Router(sessionkit::SessionManager& manager, UserDirectory& users,
               asio::any_io_executor hash_executor, RouterOptions options)
    : manager_(manager),
      users_(users),
      hash_executor_(std::move(hash_executor)),
      options_(std::move(options)) {}

asio::awaitable<Response> Router::handle(Request& req, const std::string& peer) const {
  const bool head = req.method() == verb::head;
  // The demo serves plain HTTP itself; HTTPS can only come through a trusted proxy. Without
  // configured proxies the forwarding headers are not even looked up. Every field line counts.
  sessionkit::http::TrustedProxies::Client client =
      skb::resolve_client(options_.proxies, req, peer, /*peer_tls=*/false);
  Ctx ctx{req,
          skb::BeastRequestView(req, std::move(client.address), client.tls),
          head ? verb::get : req.method(),
          target_path(req.target()),
          std::nullopt,
          false};
  if (media_type_is(req[bhttp::field::content_type], "application/x-www-form-urlencoded")) {
    ctx.form = parse_form(req.body());
    ctx.form_malformed = !ctx.form.has_value();
  }
  ctx.html = !ctx.path.starts_with("/api/") && ctx.method != verb::get;

  Response res;
  try {
    if (client.malformed) {
      res = ctx.error(HttpStatus::bad_request, "malformed X-Forwarded-For");
    } else {
      res = co_await route(ctx);
    }
  } catch (const std::exception& e) {
    // A bug, not client input: log it and answer 500 without crashing the server.
    spdlog::error("request {} {} failed: {}", std::string_view(req.method_string()),
                  std::string_view(req.target()), e.what());
    res = ctx.error(HttpStatus::internal_server_error, "internal error");
  }
  if (client.tls && options_.hsts.count() > 0) {
    res.set("Strict-Transport-Security",
            "max-age=" + std::to_string(options_.hsts.count()) + "; includeSubDomains");
  }
  if (head) {
    const std::size_t length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  co_return res;
}

asio::awaitable<Response> Router::route(Ctx& ctx) const {
  const std::string_view target = ctx.req.target();
  if (target.empty() || target.front() != '/') {
    co_return ctx.error(HttpStatus::bad_request, "the request target must be a path");
  }
  const std::string_view p = ctx.path;
  const verb m = ctx.method;

  if (p == "/healthz") {  // liveness: no session work at all
    if (m != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    Response res = ctx.make(HttpStatus::ok);
    set_text_body(res, "ok\n");
    co_return res;
  }
  if (p == "/readyz") {
    if (m != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    co_return co_await get_readyz(ctx);
  }
  if (p == "/metrics") {
    if (m != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    co_return co_await get_metrics(ctx);
  }

  // Media types: a JSON endpoint reads only application/json, a form endpoint only
  // application/x-www-form-urlencoded (a charset parameter is fine). A POST without a body (an
  // increment, a logout) needs no Content-Type.
  const std::string_view content_type = ctx.req[bhttp::field::content_type];
  const bool json_body_route = p == "/api/login" || p == "/api/password" || p == "/api/reauth";
  if (m == verb::post && json_body_route && !media_type_is(content_type, "application/json")) {
    co_return ctx.error(HttpStatus::unsupported_media_type, "the body must be application/json");
  }
  if (ctx.html && !ctx.req.body().empty() &&
      !media_type_is(content_type, "application/x-www-form-urlencoded")) {
    Response res = ctx.make(HttpStatus::unsupported_media_type);
    set_html_body(res, render_notice_page("This form must be sent as "
                                          "application/x-www-form-urlencoded.",
                                          "Unsupported media type"));
    co_return res;
  }

  if (p == "/") {
    if (m != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    co_return co_await get_home(ctx);
  }
  if (p == "/api/session") {
    if (m != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    co_return co_await get_api_session(ctx);
  }
  if (p == "/api/password" || p == "/password") {
    if (m != verb::post) co_return ctx.method_not_allowed("POST");
    co_return co_await post_password(ctx);
  }
  if (p == "/api/reauth") {
    if (m != verb::post) co_return ctx.method_not_allowed("POST");
    co_return co_await post_reauth(ctx);
  }
  if (p == "/api/sessions" || p.starts_with("/api/sessions/")) {
    co_return co_await sessions_api(ctx, p.substr(std::string_view("/api/sessions").size()));
  }
  if (p == "/reauth" || p == "/sessions/revoke" || p == "/sessions/revoke-others") {
    if (m != verb::post) co_return ctx.method_not_allowed("POST");
    co_return co_await post_session_form(ctx, p);
  }
  const bool api = p.starts_with("/api/");
  const std::string_view action = api ? p.substr(4) : p;
  if (action == "/increment" || action == "/login" || action == "/logout") {
    if (m != verb::post) co_return ctx.method_not_allowed("POST");
    if (action == "/increment") co_return co_await post_increment(ctx, api);
    if (action == "/login") co_return co_await post_login(ctx, api);
    co_return co_await post_logout(ctx, api);
  }
  co_return ctx.error(HttpStatus::not_found, "not found");
}

asio::awaitable<Response> Router::get_home(Ctx& ctx) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);

  std::string notice;
  bool ask_password = false;
  if (auto query = parse_form(target_query(ctx.req.target())); query) {
    auto it = query->find("error");
    // Fixed messages only: nothing from the query string is reflected into the page.
    if (it != query->end() && it->second == "login") {
      notice = "Invalid user name or password.";
    } else if (it != query->end() && it->second == "reauth") {
      notice = "Please confirm your password to end other sessions.";
      ask_password = true;
    } else if (it != query->end() && it->second == "reauth-password") {
      notice = "Wrong password.";
      ask_password = true;
    } else if (it != query->end()) {
      notice = "Something went wrong; please try again.";
    }
    auto done = query->find("done");
    if (done != query->end() && done->second == "password") {
      notice = "Your password has been changed; every other session has been signed out.";
    } else if (done != query->end() && done->second == "revoke-others") {
      notice = "Every other session has been signed out.";
    }
  }
  co_return co_await page(ctx, session, HttpStatus::ok, std::move(notice), ask_password);
}

asio::awaitable<Response> Router::page(Ctx& ctx, Session& session, HttpStatus status,
                                       std::string notice, bool ask_password) const {
  Response res = ctx.make(status);
  res.set(bhttp::field::cache_control, "no-store");  // the page carries a CSRF token
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed && committed.code() != sessionkit::errc::not_found) {
    co_return session_error(ctx, committed, &res);
  }

  const SessionView view = view_of(session);
  HomePage pg;
  pg.authenticated = view.authenticated;
  if (pg.authenticated) {
    pg.user =
        view.user != nullptr ? view.user->value("name", session.user_id()) : session.user_id();
  }
  pg.visits = view.visits;
  pg.csrf_token = manager_.csrf_token(session, out);
  if (view.live) {
    pg.id_hint = session.id_hint();
    pg.created_at = iso8601(session.created_at());
    pg.expires_at = iso8601(session.expires_at());
  }
  pg.message = std::move(notice);
  pg.ask_password = ask_password && pg.authenticated;
  pg.secure_cookies = options_.secure_cookies;
  if (pg.authenticated) pg.sessions = co_await session_rows(session);
  set_html_body(res, render_home(pg));
  co_return res;
}

asio::awaitable<Response> Router::fail(Ctx& ctx, Session* session, HttpStatus status,
                                       std::string_view json_message, std::string notice) const {
  if (!ctx.html) co_return ctx.error(status, json_message);
  if (session == nullptr) {
    Response res = ctx.make(status);
    res.set(bhttp::field::cache_control, "no-store");
    set_html_body(res, render_notice_page(notice, "sessionkit demo"));
    co_return res;
  }
  co_return co_await page(ctx, *session, status, std::move(notice));
}

asio::awaitable<Response> Router::get_api_session(Ctx& ctx) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);

  Response res = ctx.make(HttpStatus::ok);
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return session_error(ctx, committed, &res);

  set_json_body(res, api_session_body(session, manager_.csrf_token(session, out)));
  co_return res;
}

asio::awaitable<Response> Router::post_increment(Ctx& ctx, bool api) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = co_await check_unsafe(ctx, session)) co_return std::move(*denied);

  auto visits = co_await skb::co_increment(manager_, session, "visits", 1);
  if (!visits) co_return co_await session_failure(ctx, &session, visits.status());

  Response res = api ? ctx.make(HttpStatus::ok) : ctx.see_other("/");
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return co_await session_failure(ctx, &session, committed, &res);
  if (api) {
    set_json_body(
        res, json{{"visits", *visits}, {"csrf_token", manager_.csrf_token(session, out)}}.dump());
  }
  co_return res;
}

asio::awaitable<Response> Router::post_login(Ctx& ctx, bool api) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = co_await check_unsafe(ctx, session)) co_return std::move(*denied);

  std::string user;
  std::string password;
  if (api) {
    auto parsed = parse_login_json(ctx.req.body());
    if (auto* why = std::get_if<std::string>(&parsed)) {
      co_return ctx.error(HttpStatus::bad_request, *why);
    }
    auto& credentials = std::get<Credentials>(parsed);
    user = std::move(credentials.user);
    password = std::move(credentials.password);
  } else {
    auto u = ctx.form->find("username");
    auto pw = ctx.form->find("password");
    if (u == ctx.form->end() || pw == ctx.form->end()) {
      co_return co_await fail(ctx, &session, HttpStatus::bad_request, "missing field",
                              "Please enter a user name and a password.");
    }
    user = u->second;
    password = pw->second;
  }
  if (user.size() > kMaxUserBytes || password.size() > kMaxPasswordBytes) {
    co_return co_await fail(ctx, &session, HttpStatus::bad_request,
                            "user name or password too long",
                            "The user name or password is too long.");
  }

  const std::string name = user;
  PasswordCheck check = co_await verify_password(user, password);
  if (check.outcome == PasswordCheck::busy) co_return co_await password_busy(ctx, session);
  if (check.outcome != PasswordCheck::ok) {
    co_return co_await fail(ctx, &session, HttpStatus::unauthorized,
                            "invalid user name or password", "Invalid user name or password.");
  }

  // Login: a NEW session ID (fixation defence), bound to the user and to the credentials just
  // checked (a password change that races this login ends the session).
  session.regenerate();
  session.set_user(name, check.stamp);
  session.set("user", json{{"name", name}});

  Response res = api ? ctx.make(HttpStatus::ok) : ctx.see_other("/");
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return co_await session_failure(ctx, &session, committed, &res);
  if (api) {
    set_json_body(
        res,
        json{{"user", {{"name", name}}}, {"csrf_token", manager_.csrf_token(session, out)}}.dump());
  }
  co_return res;
}

asio::awaitable<Response> Router::post_logout(Ctx& ctx, bool api) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = co_await check_unsafe(ctx, session)) co_return std::move(*denied);

  session.destroy();
  Response res = api ? ctx.make(HttpStatus::ok) : ctx.see_other("/");
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  // Destroying a session that already ended is still a successful logout.
  if (!committed && committed.code() != sessionkit::errc::not_found) {
    co_return co_await session_failure(ctx, &session, committed, &res);
  }
  if (api) set_json_body(res, R"({"ok":true})");
  co_return res;
}

asio::awaitable<Response> Router::get_readyz(Ctx& ctx) const {
  auto health = co_await skb::async_call<void>(
      [this](sessionkit::Callback<void> done) { manager_.store().health(std::move(done)); },
      use_awaitable);
  if (!health) {
    spdlog::warn("readiness check failed: {}", health.to_string());
    co_return ctx.error(HttpStatus::service_unavailable, kStoreUnavailable);
  }
  Response res = ctx.make(HttpStatus::ok);
  res.set(bhttp::field::cache_control, "no-store");
  set_json_body(res, R"({"ready":true})");
  co_return res;
}

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
  const bool expensive = manager_.store().count_is_expensive();
  const auto now = std::chrono::steady_clock::now();
  std::optional<std::uint64_t> active;
  {
    std::lock_guard lock(count_cache_.mutex);
    if (expensive && count_cache_.value && now - count_cache_.at < kExpensiveCountMaxAge) {
      active = count_cache_.value;
    }
  }
  if (!active) {
    auto count = co_await skb::async_call<std::size_t>(
        [this](sessionkit::Callback<std::size_t> done) { manager_.store().count(std::move(done)); },
        use_awaitable);
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

asio::awaitable<Router::PasswordCheck> Router::verify_password(const std::string& user,
                                                               const std::string& password) const {
  // The pool runs at most a few argon2id checks at a time; a queue longer than the bound only
  // adds latency for everyone (and is what a guessing flood builds), so it is refused instead.
  if (pending_password_checks_.fetch_add(1, std::memory_order_relaxed) >=
      options_.max_pending_password_checks) {
    pending_password_checks_.fetch_sub(1, std::memory_order_relaxed);
    co_return PasswordCheck{PasswordCheck::busy, {}};
  }
  // Named, not a temporary inside the co_await expression: g++ 12 mishandles non-trivially
  // destructible temporaries there (they can be destroyed twice).
  auto start = [this, &user, &password](sessionkit::Callback<std::string> done) {
    asio::post(hash_executor_, [this, user, password, done = std::move(done)] {
      std::optional<std::string> stamp = users_.verify(user, password);
      pending_password_checks_.fetch_sub(1, std::memory_order_relaxed);
      if (!stamp) return done(sessionkit::Result<std::string>(sessionkit::errc::not_found, ""));
      done(std::move(*stamp));
    });
  };
  auto verified = co_await skb::async_call<std::string>(std::move(start), use_awaitable);
  if (!verified.ok()) co_return PasswordCheck{PasswordCheck::wrong, {}};
  co_return PasswordCheck{PasswordCheck::ok, std::move(*verified)};
}

asio::awaitable<Response> Router::password_busy(Ctx& ctx, Session& session) const {
  Response res = co_await fail(ctx, &session, HttpStatus::service_unavailable,
                               "too many password checks at once; retry shortly",
                               "Too many password checks at once; please try again in a moment.");
  res.set(bhttp::field::retry_after, "1");
  co_return res;
}

asio::awaitable<sessionkit::Result<bool>> Router::count_reauth_failure(Session& session) const {
  co_return co_await skb::async_call<bool>(
      [this, &session](sessionkit::Callback<bool> done) {
        manager_.reauthentication_failed(session, std::move(done));
      },
      use_awaitable);
}

std::optional<std::string> Router::request_csrf_token(const Ctx& ctx) const {
  if (auto header = sessionkit::SessionManager::csrf_header(ctx.view)) {
    return std::string(*header);
  }
  if (ctx.form) {
    auto it = ctx.form->find("_csrf");
    if (it != ctx.form->end()) return it->second;
  }
  return std::nullopt;
}

asio::awaitable<std::optional<Response>> Router::check_unsafe(Ctx& ctx, Session& session) const {
  // Second line of defence: where the browser says the request comes from.
  if (auto verdict = sessionkit::http::check_origin(ctx.view, options_.origins); !verdict) {
    co_return co_await fail(ctx, &session, HttpStatus::forbidden, verdict.reason,
                            "This form was sent from another site, so it was refused.");
  }
  if (ctx.form_malformed) {
    co_return co_await fail(ctx, &session, HttpStatus::bad_request, "malformed form body",
                            "The form could not be read; please try again.");
  }
  auto token = request_csrf_token(ctx);
  if (!token || !manager_.verify_csrf(session, *token)) {
    // From a form of our own page this is an out-of-date page (signed in or out in another tab
    // since it loaded): the page again, with a fresh token, is the helpful answer.
    co_return co_await fail(
        ctx, &session, HttpStatus::forbidden, "invalid or missing CSRF token",
        "This page was out of date (you signed in or out in another tab), so nothing was done. "
        "Please try again.");
  }
  co_return std::nullopt;
}

std::string Router::anonymous_retry_after() const {
  const std::size_t per_minute = manager_.options().anonymous_sessions.per_minute;
  return std::to_string(per_minute == 0 ? 60 : std::max<std::size_t>(1, 60 / per_minute));
}

asio::awaitable<Response> Router::session_failure(Ctx& ctx, Session* session,
                                                  const sessionkit::Status& status,
                                                  Response* partial) const {
  using sessionkit::errc;
  if (!ctx.html || status.is_unavailable()) co_return session_error(ctx, status, partial);
  switch (status.code()) {
    case errc::too_large:
      co_return co_await fail(ctx, session, HttpStatus::payload_too_large, "",
                              "Your session holds too much data; nothing was saved.");
    case errc::rate_limited: {
      Response res = co_await fail(
          ctx, session, HttpStatus::too_many_requests, "",
          "Too many new sessions from your address; please wait a minute and try again.");
      res.set(bhttp::field::retry_after, anonymous_retry_after());
      co_return res;
    }
    case errc::not_found:
    case errc::conflict:
      co_return co_await fail(ctx, session, HttpStatus::conflict, "",
                              "Your session ended while this request ran (signed out elsewhere, "
                              "or your password changed). Please sign in again.");
    default:
      co_return session_error(ctx, status, partial);
  }
}

Response Router::session_error(Ctx& ctx, const sessionkit::Status& status,
                               Response* partial) const {
  using sessionkit::errc;
  switch (status.code()) {
    case errc::too_large:
      return ctx.error(HttpStatus::payload_too_large, "session data too large");
    case errc::rate_limited: {
      Response res = ctx.error(HttpStatus::too_many_requests, status.message());
      res.set(bhttp::field::retry_after, anonymous_retry_after());
      return res;
    }
    case errc::invalid_argument:
      return ctx.error(HttpStatus::bad_request, status.message());
    case errc::unsupported:
      return ctx.error(HttpStatus::not_implemented,
                       "not possible with client-side (cookie) sessions: the server keeps no "
                       "record of them");
    case errc::not_found:
    case errc::conflict: {
      // The session ended (or changed identity) concurrently. Keep the cookie-clearing header
      // commit may have written, so the client drops its stale cookie.
      Response res = partial != nullptr ? std::move(*partial) : ctx.make(HttpStatus::conflict);
      res.result(HttpStatus::conflict);
      res.erase(bhttp::field::location);
      set_json_body(res, json{{"error", "session ended concurrently"}}.dump());
      return res;
    }
    default: {
      spdlog::warn("session store error on {} {}: {}", std::string_view(ctx.req.method_string()),
                   ctx.path, status.to_string());
      if (ctx.html) {
        Response res = ctx.make(HttpStatus::service_unavailable);
        res.set(bhttp::field::cache_control, "no-store");
        res.set(bhttp::field::retry_after, "5");
        set_html_body(res, render_notice_page("The session store is unavailable right now, so "
                                              "nothing was done. Please try again shortly.",
                                              "Service unavailable"));
        return res;
      }
      return ctx.error(HttpStatus::service_unavailable, kStoreUnavailable);
    }
  }
}

}  // namespace demo
