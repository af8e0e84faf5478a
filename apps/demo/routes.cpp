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
      options_(options) {}

asio::awaitable<Response> Router::handle(Request& req, const std::string& peer) const {
  const bool head = req.method() == verb::head;
  auto header = [&req](std::string_view name) -> std::optional<std::string_view> {
    auto it = req.find(name);
    if (it == req.end()) return std::nullopt;
    return std::string_view(it->value());
  };
  // The demo serves plain HTTP itself; HTTPS can only come through a trusted proxy. Without
  // configured proxies the forwarding headers are not even looked up.
  sessionkit::http::TrustedProxies::Client client{peer, false};
  if (!options_.proxies.empty()) {
    client = options_.proxies.resolve(peer, /*peer_tls=*/false, header("X-Forwarded-For"),
                                      header("X-Forwarded-Proto"));
  }
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

  Response res;
  try {
    res = co_await route(ctx);
  } catch (const std::exception& e) {
    // A bug, not client input: log it and answer 500 without crashing the server.
    spdlog::error("request {} {} failed: {}", std::string_view(req.method_string()),
                  std::string_view(req.target()), e.what());
    res = ctx.error(Status::internal_server_error, "internal error");
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
    co_return ctx.error(Status::bad_request, "the request target must be a path");
  }
  const std::string_view p = ctx.path;
  const verb m = ctx.method;

  if (p == "/healthz") {  // liveness: no session work at all
    if (m != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    Response res = ctx.make(Status::ok);
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
  if (p == "/") {
    if (m != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    co_return co_await get_home(ctx);
  }
  if (p == "/api/session") {
    if (m != verb::get) co_return ctx.method_not_allowed("GET, HEAD");
    co_return co_await get_api_session(ctx);
  }
  if (p == "/api/password") {
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
  co_return ctx.error(Status::not_found, "not found");
}

asio::awaitable<Response> Router::get_home(Ctx& ctx) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);

  Response res = ctx.make(Status::ok);
  res.set(bhttp::field::cache_control, "no-store");  // the page carries a CSRF token
  prime_csrf(session);
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return session_error(ctx, committed, &res);

  const SessionView view = view_of(session);
  HomePage page;
  page.authenticated = view.authenticated;
  if (page.authenticated) {
    page.user =
        view.user != nullptr ? view.user->value("name", session.user_id()) : session.user_id();
  }
  page.visits = view.visits;
  page.csrf_token = manager_.csrf_token(session);
  if (view.live) {
    page.id_hint = session.id_hint();
    page.created_at = iso8601(session.created_at());
    page.expires_at = iso8601(session.expires_at());
  }
  if (auto query = parse_form(target_query(ctx.req.target())); query) {
    auto it = query->find("error");
    // Fixed messages only: nothing from the query string is reflected into the page.
    if (it != query->end() && it->second == "login") {
      page.message = "Invalid user name or password.";
    } else if (it != query->end() && it->second == "reauth") {
      page.message = "Please confirm your password to end other sessions.";
      page.ask_password = page.authenticated;
    } else if (it != query->end() && it->second == "reauth-password") {
      page.message = "Wrong password.";
      page.ask_password = page.authenticated;
    } else if (it != query->end()) {
      page.message = "Something went wrong; please try again.";
    }
  }
  page.secure_cookies = options_.secure_cookies;
  if (page.authenticated) page.sessions = co_await session_rows(session);
  set_html_body(res, render_home(page));
  co_return res;
}

asio::awaitable<Response> Router::get_api_session(Ctx& ctx) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);

  Response res = ctx.make(Status::ok);
  res.set(bhttp::field::cache_control, "no-store");
  prime_csrf(session);
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return session_error(ctx, committed, &res);

  set_json_body(res, api_session_body(session, manager_.csrf_token(session)));
  co_return res;
}

asio::awaitable<Response> Router::post_increment(Ctx& ctx, bool api) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = check_unsafe(ctx, session)) co_return std::move(*denied);

  auto visits = co_await skb::co_increment(manager_, session, "visits", 1);
  if (!visits) co_return session_error(ctx, visits.status());

  Response res = api ? ctx.make(Status::ok) : ctx.see_other("/");
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return session_error(ctx, committed, &res);
  if (api) {
    set_json_body(res,
                  json{{"visits", *visits}, {"csrf_token", manager_.csrf_token(session)}}.dump());
  }
  co_return res;
}

asio::awaitable<Response> Router::post_login(Ctx& ctx, bool api) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = check_unsafe(ctx, session)) co_return std::move(*denied);

  std::string user;
  std::string password;
  if (api) {
    auto parsed = parse_login_json(ctx.req.body());
    if (auto* why = std::get_if<std::string>(&parsed)) {
      co_return ctx.error(Status::bad_request, *why);
    }
    auto& credentials = std::get<Credentials>(parsed);
    user = std::move(credentials.user);
    password = std::move(credentials.password);
  } else {
    if (!ctx.form) {
      co_return ctx.error(Status::bad_request,
                          "expected an application/x-www-form-urlencoded body");
    }
    auto u = ctx.form->find("username");
    auto pw = ctx.form->find("password");
    if (u == ctx.form->end() || pw == ctx.form->end()) co_return ctx.see_other("/?error=login");
    user = u->second;
    password = pw->second;
  }
  if (user.size() > kMaxUserBytes || password.size() > kMaxPasswordBytes) {
    co_return ctx.error(Status::bad_request, "user name or password too long");
  }

  const std::string name = user;
  if (!co_await verify_password(user, password)) {
    if (!api) co_return ctx.see_other("/?error=login");
    co_return ctx.error(Status::unauthorized, "invalid user name or password");
  }

  // Login: a NEW session ID (fixation defence), bound to the user.
  session.regenerate();
  session.set_user(name);
  session.set("user", json{{"name", name}});

  Response res = api ? ctx.make(Status::ok) : ctx.see_other("/");
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return session_error(ctx, committed, &res);
  if (api) {
    set_json_body(
        res, json{{"user", {{"name", name}}}, {"csrf_token", manager_.csrf_token(session)}}.dump());
  }
  co_return res;
}

asio::awaitable<Response> Router::post_logout(Ctx& ctx, bool api) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = check_unsafe(ctx, session)) co_return std::move(*denied);

  session.destroy();
  Response res = api ? ctx.make(Status::ok) : ctx.see_other("/");
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  // Destroying a session that already ended is still a successful logout.
  if (!committed && committed.code() != sessionkit::errc::not_found) {
    co_return session_error(ctx, committed, &res);
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
    co_return ctx.error(Status::service_unavailable, kStoreUnavailable);
  }
  Response res = ctx.make(Status::ok);
  res.set(bhttp::field::cache_control, "no-store");
  set_json_body(res, R"({"ready":true})");
  co_return res;
}

asio::awaitable<Response> Router::get_metrics(Ctx& ctx) const {
  if (!options_.metrics_token.empty()) {
    auto auth = ctx.view.header("Authorization");
    const std::string expected = "Bearer " + options_.metrics_token;
    if (!auth || !constant_time_equal(*auth, expected)) {
      Response res = ctx.error(Status::unauthorized, "metrics need a bearer token");
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
  Response res = ctx.make(Status::ok);
  res.set(bhttp::field::cache_control, "no-store");
  set_text_body(res, manager_.metrics().render_prometheus(active),
                "text/plain; version=0.0.4; charset=utf-8");
  co_return res;
}

asio::awaitable<bool> Router::verify_password(const std::string& user,
                                              const std::string& password) const {
  // Named, not a temporary inside the co_await expression: g++ 12 mishandles non-trivially
  // destructible temporaries there (they can be destroyed twice).
  auto start = [this, &user, &password](sessionkit::Callback<bool> done) {
    asio::post(hash_executor_, [this, user, password, done = std::move(done)] {
      done(users_.verify(user, password));
    });
  };
  auto verified = co_await skb::async_call<bool>(std::move(start), use_awaitable);
  co_return verified.ok() && *verified;
}

void Router::prime_csrf(Session& session) const {
  // For a visitor without a stored session the token is bound to a pre-session seed whose
  // cookie commit sends only if the seed exists by then. Issuing a token BEFORE commit makes
  // sure of that; the token handed out is issued after commit (it reuses the seed, or is bound
  // to the session if commit created or rotated one).
  // A stored session's token needs no cookie: skip the work then.
  if (!session.is_stored()) (void)manager_.csrf_token(session);
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

std::optional<Response> Router::check_unsafe(Ctx& ctx, const Session& session) const {
  // Second line of defence: browsers say where a request comes from.
  auto site = ctx.view.header("Sec-Fetch-Site");
  if (site && iequals(*site, "cross-site")) {
    return ctx.error(Status::forbidden, "cross-site request refused");
  }
  if (auto origin = ctx.view.header("Origin")) {
    std::string_view o = *origin;
    std::size_t scheme_end = o.find("://");
    auto host = ctx.view.header("Host");
    if (scheme_end == std::string_view::npos ||
        (host && !iequals(o.substr(scheme_end + 3), *host))) {
      return ctx.error(Status::forbidden, "cross-origin request refused");
    }
  }
  auto token = request_csrf_token(ctx);
  if (!token || !manager_.verify_csrf(session, *token)) {
    return ctx.error(Status::forbidden, "invalid or missing CSRF token");
  }
  if (ctx.form_malformed) return ctx.error(Status::bad_request, "malformed form body");
  return std::nullopt;
}

Response Router::session_error(Ctx& ctx, const sessionkit::Status& status,
                               Response* partial) const {
  using sessionkit::errc;
  switch (status.code()) {
    case errc::too_large:
      return ctx.error(Status::payload_too_large, "session data too large");
    case errc::unsupported:
      return ctx.error(Status::not_implemented,
                       "not possible with client-side (cookie) sessions: the server keeps no "
                       "record of them");
    case errc::not_found:
    case errc::conflict: {
      // The session ended (or changed identity) concurrently. Keep the cookie-clearing header
      // commit may have written, so the client drops its stale cookie.
      Response res = partial != nullptr ? std::move(*partial) : ctx.make(Status::conflict);
      res.result(Status::conflict);
      res.erase(bhttp::field::location);
      set_json_body(res, json{{"error", "session ended concurrently"}}.dump());
      return res;
    }
    default:
      spdlog::warn("session store error on {} {}: {}", std::string_view(ctx.req.method_string()),
                   ctx.path, status.to_string());
      return ctx.error(Status::service_unavailable, kStoreUnavailable);
  }
}

}  // namespace demo
