// Token sessions for API clients and apps without cookies (docs/demo.md, "Token sessions"):
//   POST /api/token          credentials -> access token + refresh token (RFC 6749 §5.1)
//   POST /api/token/refresh  a refresh token (body or cookie) -> the next pair
//   POST /api/token/revoke   ends the token's session (RFC 7009: 200 whether or not it was live)
//   GET  /api/me             a bearer access token, or the session cookie
//   GET  /.well-known/jwks.json  the public keys that verify access tokens
// A token session is a server-side session of its own with no cookie (SessionManager::load_id):
// logout, "sign out everywhere", a password change and the timeouts end it like any other.
// Errors: RFC 6749 §5.2 on the token endpoints ({"error", "error_description"}, 400
// invalid_grant for a bad password or refresh token), RFC 6750 §3 on /api/me (401 with
// WWW-Authenticate: Bearer error="invalid_token"; 403 insufficient_scope), 503 when the store
// cannot answer.
#include <boost/beast/http/field.hpp>
#include <nlohmann/json.hpp>
#include <variant>

#include "credentials.h"
#include "router_ctx.h"
#include "routes.h"
#include "session_scope.h"
#include "session_view.h"
#include "sessionkit/http/authorization.h"
#include "sessionkit/http/beast.h"
#include "sessionkit/http/cookie.h"
#include "sessionkit/http/origin.h"
#include "sessionkit/session_id.h"
#include "token_service.h"

namespace demo {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;
namespace tok = sessionkit::tokens;
using bhttp::verb;
using nlohmann::json;
using sessionkit::Session;

namespace {

constexpr std::string_view kTokenPath = "/api/token";
constexpr std::string_view kRefreshPath = "/api/token/refresh";
constexpr std::string_view kRevokePath = "/api/token/revoke";
constexpr std::string_view kMePath = "/api/me";
constexpr std::string_view kJwksPath = "/.well-known/jwks.json";
constexpr std::string_view kRealm = "sessionkit-demo";

// Token answers and their errors are never cached (RFC 6749 §5.1).
void no_store(Response& res) {
  res.set(bhttp::field::cache_control, "no-store");
  res.set(bhttp::field::pragma, "no-cache");
}

// RFC 6749 §5.2: {"error": code, "error_description": description}.
Response oauth_error(const Router::Ctx& ctx, HttpStatus status, std::string_view code,
                     std::string_view description) {
  Response res = ctx.make(status);
  no_store(res);
  set_json_body(res, json{{"error", code}, {"error_description", description}}.dump());
  return res;
}

// RFC 6750 §3: the challenge, with an error code unless the request had no credential at all.
// Descriptions are fixed ASCII texts without quotes or backslashes.
Response bearer_error(const Router::Ctx& ctx, HttpStatus status, std::string_view code,
                      std::string_view description, std::string_view scope = {}) {
  std::string challenge = "Bearer realm=\"" + std::string(kRealm) + "\"";
  if (!code.empty()) {
    challenge += ", error=\"" + std::string(code) + "\", error_description=\"" +
                 std::string(description) + "\"";
  }
  if (!scope.empty()) challenge += ", scope=\"" + std::string(scope) + "\"";
  Response res = ctx.make(status);
  no_store(res);
  res.set(bhttp::field::www_authenticate, challenge);
  set_json_body(
      res, json{{"error", code.empty() ? "unauthorized" : code}, {"error_description", description}}
               .dump());
  return res;
}

// The refresh cookie's value when the request carries exactly one; "" when none; nullopt when it
// carries it twice (ambiguous: refused).
std::optional<std::string> refresh_cookie(const Router::Ctx& ctx, const std::string& name) {
  auto header = ctx.view.header("Cookie");
  if (!header) return std::string();
  const std::size_t n = sessionkit::http::count_cookies(*header, name);
  if (n > 1) return std::nullopt;
  auto value = sessionkit::http::find_cookie(*header, name);
  return value ? std::string(*value) : std::string();
}

void set_refresh_cookie(Response& res, const TokenService& tokens, std::string value) {
  sessionkit::http::SetCookie c;
  c.name = tokens.cookie_name();
  c.value = std::move(value);
  c.max_age = c.value.empty() ? std::chrono::seconds(0) : tokens.cookie_max_age();
  c.secure = tokens.cookie_secure();
  c.http_only = true;
  c.same_site = sessionkit::http::SameSite::strict;
  res.insert(bhttp::field::set_cookie, c.serialize());
}

// Where a refresh or revocation takes its token from: the JSON body's `member` or the refresh
// cookie, never both.
struct PresentedToken {
  std::string value;
  bool from_cookie = false;
};
std::variant<PresentedToken, Response> presented_token(const Router::Ctx& ctx,
                                                       const TokenService& tokens,
                                                       std::string_view member) {
  auto body = parse_token_member_json(ctx.req.body(), member);
  if (auto* why = std::get_if<std::string>(&body)) {
    return oauth_error(ctx, HttpStatus::bad_request, "invalid_request", *why);
  }
  auto cookie = refresh_cookie(ctx, tokens.cookie_name());
  if (!cookie) {
    return oauth_error(ctx, HttpStatus::bad_request, "invalid_request",
                       "the refresh cookie is sent twice");
  }
  auto& in_body = std::get<std::optional<std::string>>(body);
  if (in_body && !cookie->empty()) {
    return oauth_error(ctx, HttpStatus::bad_request, "invalid_request",
                       "a token in the body and in the cookie: send one");
  }
  if (in_body) return PresentedToken{std::move(*in_body), false};
  if (!cookie->empty()) return PresentedToken{std::move(*cookie), true};
  return oauth_error(ctx, HttpStatus::bad_request, "invalid_request",
                     "no token: send {\"" + std::string(member) + "\": …} or the refresh cookie");
}

// The scope a session's tokens carry (stored at sign-in).
std::string scope_of(const Session& session) {
  return session.get<std::string>("scope").value_or("profile");
}

bool has_scope(const tok::AccessToken& token, std::string_view wanted) {
  auto it = token.extra.find("scope");
  if (it == token.extra.end() || !it->second.is_string()) return false;
  std::string_view scopes = it->second.get_ref<const std::string&>();
  while (!scopes.empty()) {
    const std::size_t end = std::min(scopes.find(' '), scopes.size());
    if (scopes.substr(0, end) == wanted) return true;
    scopes.remove_prefix(std::min(end + 1, scopes.size()));
  }
  return false;
}

}  // namespace

bool Router::is_token_path(std::string_view path) noexcept {
  return path == kTokenPath || path == kRefreshPath || path == kRevokePath || path == kMePath ||
         path == kJwksPath;
}

asio::awaitable<Response> Router::token_route(Ctx& ctx) const {
  const bool get = ctx.path == kMePath || ctx.path == kJwksPath;
  if (ctx.method != (get ? verb::get : verb::post)) {
    co_return ctx.method_not_allowed(get ? "GET, HEAD" : "POST");
  }
  if (tokens_ == nullptr && !(ctx.path == kMePath && !ctx.view.header("Authorization"))) {
    co_return ctx.error(HttpStatus::not_implemented,
                        "token sessions need a server-side session store (not cookie://)");
  }
  if (ctx.path == kJwksPath) co_return get_jwks(ctx);
  if (ctx.path == kMePath) co_return co_await get_me(ctx);
  // The token endpoints: JSON bodies only, and (for a browser) only from an allowed origin —
  // the refresh cookie rides along by itself.
  if (!ctx.req.body().empty() &&
      !media_type_is(ctx.req[bhttp::field::content_type], "application/json")) {
    co_return ctx.error(HttpStatus::unsupported_media_type, "the body must be application/json");
  }
  if (auto verdict = sessionkit::http::check_origin(ctx.view, options_.origins); !verdict) {
    co_return oauth_error(ctx, HttpStatus::forbidden, "invalid_request", verdict.reason);
  }
  if (ctx.path == kTokenPath) co_return co_await post_token(ctx);
  if (ctx.path == kRefreshPath) co_return co_await post_token_refresh(ctx);
  co_return co_await post_token_revoke(ctx);
}

// POST /api/token
asio::awaitable<Response> Router::post_token(Ctx& ctx) const {
  auto input = parse_token_request_json(ctx.req.body());
  if (auto* bad = std::get_if<TokenRequestError>(&input)) {
    co_return oauth_error(ctx, HttpStatus::bad_request, bad->error, bad->message);
  }
  const TokenRequest& request = std::get<TokenRequest>(input);
  const Credentials& login = request.credentials;
  if (login.user.size() > kMaxUserBytes || login.password.size() > kMaxPasswordBytes) {
    co_return oauth_error(ctx, HttpStatus::bad_request, "invalid_request",
                          "user name or password too long");
  }
  // The sign-in throttle, as for /api/login (login_guard.cpp): 429 while a delay is in force.
  const sessionkit::LoginThrottle::Attempt attempt = login_attempt(ctx, login.user);
  auto allowed = co_await throttle_check(attempt);
  if (!allowed) co_return failure_answer(ctx, allowed.status(), nullptr);
  if (!allowed->allowed) {
    Response res = oauth_error(ctx, HttpStatus::too_many_requests, "too_many_attempts",
                               "too many failed sign-ins: retry after " +
                                   retry_after_seconds(allowed->retry_after) + " s");
    res.set(bhttp::field::retry_after, retry_after_seconds(allowed->retry_after));
    co_return res;
  }
  PasswordCheck check = co_await verify_password(login.user, login.password);
  if (check.outcome == PasswordCheck::busy) {
    Response res = ctx.error(HttpStatus::service_unavailable, "too many sign-ins at once");
    res.set(bhttp::field::retry_after, "1");
    co_return res;
  }
  if (check.outcome != PasswordCheck::ok) {
    auto counted = co_await throttle_failed(attempt);
    if (!counted) co_return failure_answer(ctx, counted.status(), nullptr);
    co_return oauth_error(ctx, HttpStatus::bad_request, "invalid_grant",
                          "invalid user name or password");
  }
  if (auto reset = co_await throttle_succeeded(attempt); !reset) {
    co_return failure_answer(ctx, reset, nullptr);
  }
  // A session of its own, never carried by a cookie; bound to the credentials just checked.
  const std::string ua(ctx.view.header("User-Agent").value_or(""));
  auto loaded = co_await skb::co_call<Session>([&](sessionkit::Callback<Session> done) {
    manager_.load_id(sessionkit::SessionId::generate(), ctx.view.peer_address(), ua,
                     std::move(done));
  });
  if (!loaded) co_return failure_answer(ctx, loaded.status(), nullptr);
  Session& session = *loaded;
  session.set_user(login.user, check.stamp);
  session.set("user", json{{"name", login.user}});
  session.set("scope", request.scope);
  Response scratch;  // a token session writes no cookie; its headers are not sent
  skb::BeastResponseHeaders headers(scratch);
  if (auto committed = co_await skb::co_commit(manager_, session, headers); !committed) {
    co_return failure_answer(ctx, committed, nullptr);
  }
  co_await watch_sign_in(ctx, login.user);
  auto refresh = co_await skb::co_call<std::string>([&](sessionkit::Callback<std::string> done) {
    tokens_->refresh().start(session, std::move(done));
  });
  if (!refresh) co_return failure_answer(ctx, refresh.status(), nullptr);
  co_return token_answer(ctx, session, *refresh, request.refresh_cookie);
}

// POST /api/token/refresh
asio::awaitable<Response> Router::post_token_refresh(Ctx& ctx) const {
  auto presented = presented_token(ctx, *tokens_, "refresh_token");
  if (auto* refused = std::get_if<Response>(&presented)) co_return std::move(*refused);
  const PresentedToken& token = std::get<PresentedToken>(presented);
  auto result = co_await skb::co_call<tok::Refresh>([&](sessionkit::Callback<tok::Refresh> done) {
    tokens_->refresh().refresh(ctx.view, token.value, std::move(done));
  });
  if (!result) co_return failure_answer(ctx, result.status(), nullptr);
  if (!result->ok()) {
    if (result->outcome == tok::Refresh::Outcome::reused) {
      // The session is gone: its access tokens stop here at once, not a cache window later.
      if (auto key = tokens_->refresh().session_key(token.value); key && tokens_->check()) {
        tokens_->check()->forget(*key);
      }
    }
    Response res = oauth_error(ctx, HttpStatus::bad_request, "invalid_grant",
                               "the refresh token is invalid, expired or revoked");
    if (token.from_cookie) set_refresh_cookie(res, *tokens_, "");
    co_return res;
  }
  co_return token_answer(ctx, result->session, result->refresh_token, token.from_cookie);
}

// POST /api/token/revoke (RFC 7009 §2.2: 200 whether or not the token was live).
asio::awaitable<Response> Router::post_token_revoke(Ctx& ctx) const {
  auto presented = presented_token(ctx, *tokens_, "token");
  if (auto* refused = std::get_if<Response>(&presented)) co_return std::move(*refused);
  const PresentedToken& token = std::get<PresentedToken>(presented);
  auto revoked = co_await skb::co_call<bool>([&](sessionkit::Callback<bool> done) {
    tokens_->refresh().revoke(ctx.view, token.value, std::move(done));
  });
  if (!revoked) co_return failure_answer(ctx, revoked.status(), nullptr);
  if (auto key = tokens_->refresh().session_key(token.value); key && tokens_->check()) {
    tokens_->check()->forget(*key);
  }
  Response res = ctx.make(HttpStatus::ok);
  no_store(res);
  if (token.from_cookie) set_refresh_cookie(res, *tokens_, "");
  set_json_body(res, json{{"revoked", *revoked}}.dump());
  co_return res;
}

// GET /api/me: a bearer access token, or else the session cookie.
asio::awaitable<Response> Router::get_me(Ctx& ctx) const {
  auto authorization = ctx.view.header("Authorization");
  if (!authorization) {
    Response res = co_await with_session(
        ctx, SessionRules{.signed_out_error = "sign in, or send an access token"},
        &Router::get_me_by_cookie);
    if (res.result() == HttpStatus::unauthorized) {
      res.set(bhttp::field::www_authenticate, "Bearer realm=\"" + std::string(kRealm) + "\"");
    }
    co_return res;
  }
  auto presented = sessionkit::http::bearer_credential(*authorization);
  if (!presented) {
    co_return bearer_error(ctx, HttpStatus::unauthorized, {}, "only Bearer access tokens");
  }
  if (presented->empty()) {
    co_return bearer_error(ctx, HttpStatus::bad_request, "invalid_request", "empty bearer token");
  }
  // The session cookie is not read on this path: a browser sends it by itself, so refusing the
  // pair would make tokens unusable in any browser that also has a cookie session here, and the
  // explicit credential is the one the caller chose (the answer says "via": "access_token").
  tok::Rejection why = tok::Rejection::none;
  auto token = tokens_->access().verify(*presented, &why);
  if (!token) {
    co_return bearer_error(ctx, HttpStatus::unauthorized, "invalid_token", tok::to_string(why));
  }
  if (tok::SessionCheck* check = tokens_->check()) {
    auto live = co_await skb::co_call<bool>(
        [&](sessionkit::Callback<bool> done) { check->check(*token, ctx.view, std::move(done)); });
    if (!live) co_return failure_answer(ctx, live.status(), nullptr);
    if (!*live) {
      co_return bearer_error(ctx, HttpStatus::unauthorized, "invalid_token",
                             "the session has ended");
    }
  }
  if (!has_scope(*token, "profile")) {
    co_return bearer_error(ctx, HttpStatus::forbidden, "insufficient_scope",
                           "this needs the profile scope", "profile");
  }
  Response res = ctx.make(HttpStatus::ok);
  no_store(res);
  set_json_body(res, json{{"user", {{"name", token->subject}}},
                          {"via", "access_token"},
                          {"expires_at", iso8601(token->expires_at)}}
                         .dump(-1, ' ', false, json::error_handler_t::replace));
  co_return res;
}

asio::awaitable<Response> Router::get_me_by_cookie(SessionScope& s) const {
  Response res = s.success();
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  const SessionView v = view_of(s.session());
  json user = v.user != nullptr ? *v.user : json{{"name", s.session().user_id()}};
  set_json_body(res, json{{"user", std::move(user)},
                          {"via", "cookie"},
                          {"expires_at", iso8601(s.session().expires_at())}}
                         .dump(-1, ' ', false, json::error_handler_t::replace));
  co_return res;
}

// GET /.well-known/jwks.json (RFC 7517 §5): public keys only.
Response Router::get_jwks(Ctx& ctx) const {
  Response res = ctx.make(HttpStatus::ok);
  res.set(bhttp::field::cache_control, "public, max-age=60");
  res.set(bhttp::field::content_type, "application/jwk-set+json");
  res.body() = tokens_->ring().jwks();
  res.prepare_payload();
  return res;
}

Response Router::token_answer(const Ctx& ctx, const Session& session,
                              const std::string& refresh_token, bool as_cookie) const {
  const std::string scope = scope_of(session);
  auto sid = tokens_->sids().sid(session);
  if (!sid) return failure_answer(ctx, sid.status(), nullptr);
  tok::AccessTokenClaims claims{session.user_id(), std::move(*sid), {{"scope", scope}}};
  auto access = tokens_->access().issue(claims);
  if (!access) return failure_answer(ctx, access.status(), nullptr);
  Response res = ctx.make(HttpStatus::ok);
  no_store(res);
  json body{{"access_token", access->token},
            {"token_type", "Bearer"},
            {"expires_in", std::chrono::duration_cast<std::chrono::seconds>(
                               access->claims.expires_at - access->claims.issued_at)
                               .count()},
            {"scope", scope}};
  if (as_cookie) {
    set_refresh_cookie(res, *tokens_, refresh_token);
  } else {
    body["refresh_token"] = refresh_token;
  }
  set_json_body(res, body.dump());
  return res;
}

}  // namespace demo
