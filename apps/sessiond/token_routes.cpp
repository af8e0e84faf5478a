// token_routes.cpp — token sessions over the API (docs/sessiond.md, "Token sessions";
// docs/tokens.md for the library): a session sessiond made can be given a short-lived signed
// access token (JWT, EdDSA or ES256) and a rotating refresh token, for clients that send
// `Authorization: Bearer` rather than a cookie.
//   POST /v1/sessions/{id}/tokens     -> 200 {access_token, token_type, expires_in, refresh_token}
//   POST /v1/tokens/refresh  {refresh_token} -> 200 the same; 400 invalid_grant
//   POST /v1/tokens/revoke   {token}   -> 200 {"revoked": bool} (RFC 7009: 200 either way)
//   POST /v1/tokens/introspect {token} -> 200 {"active": bool, …} (RFC 7662's fields)
//   GET  /v1/jwks                      -> the public keys (no API key: they are public)
// A refresh token's reuse (an old token presented again) destroys the session (RefreshTokens).
// Refusals of a token are OAuth errors: {"error": "invalid_grant", "error_description": …}.
#include <nlohmann/json.hpp>

#include "api.h"
#include "call.h"
#include "sessionkit/http/beast.h"
#include "token_support.h"

namespace sessiond {

namespace asio = boost::asio;
namespace sk = sessionkit;
namespace tok = sessionkit::tokens;
using nlohmann::json;
using verb = boost::beast::http::verb;

namespace {

Response oauth_error(const Call& c, std::string_view error, std::string_view description) {
  return c.answer(HttpStatus::bad_request,
                  json{{"error", error}, {"error_description", description}});
}

// The body's string member `name`; nullopt (and an answer in `refused`) when absent or not one.
std::optional<std::string> string_member(Call& c, std::string_view name,
                                         std::optional<Response>& refused) {
  if (auto bad = c.parse_body()) {
    refused = std::move(bad);
    return std::nullopt;
  }
  const auto it = c.body.find(name);
  if (it == c.body.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    refused = oauth_error(c, "invalid_request", "\"" + std::string(name) + "\" is required");
    return std::nullopt;
  }
  return it->get<std::string>();
}

}  // namespace

Response Api::token_answer(Call& c, const sk::Session& session, const std::string& refresh) {
  if (session.user_id().empty()) {
    // "sub" is required: a token names a user.
    return c.error(HttpStatus::conflict, "the session has no user: set one (PATCH \"user\") first");
  }
  auto sid = tokens_->check().sid(session);
  if (!sid) return c.store_error(sid.status());
  auto issued = tokens_->access().issue(
      tok::AccessTokenClaims{.subject = session.user_id(), .session_id = *sid, .extra = {}});
  if (!issued) {
    // The user id cannot be a claim (not UTF-8), or no key may sign now.
    return c.error(HttpStatus::bad_request,
                   "no access token for this session: " + issued.message());
  }
  const auto lifetime =
      std::chrono::duration_cast<std::chrono::seconds>(tokens_->access().options().lifetime);
  return c.answer(HttpStatus::ok, json{{"access_token", issued->token},
                                       {"token_type", "Bearer"},
                                       {"expires_in", lifetime.count()},
                                       {"refresh_token", refresh}});
}

asio::awaitable<Response> Api::jwks_route(Call& c) {
  if (!c.method_is({verb::get, verb::head})) co_return c.not_allowed();
  if (tokens_ == nullptr) co_return c.error(HttpStatus::not_found, kTokensOff);
  Response res = c.answer(HttpStatus::ok, json());
  res.body() = tokens_->ring().jwks();
  res.set(boost::beast::http::field::content_type, "application/jwk-set+json");
  res.set(boost::beast::http::field::cache_control, "max-age=60");
  res.prepare_payload();
  co_return res;
}

asio::awaitable<Response> Api::issue_tokens(Call& c, std::string_view id_text) {
  if (!c.method_is({verb::post})) co_return c.not_allowed();
  if (tokens_ == nullptr) co_return c.error(HttpStatus::not_found, kTokensOff);
  const auto id = sk::SessionId::parse(id_text);
  if (!id) {
    co_return c.error(HttpStatus::bad_request,
                      "token sessions need an ID sessiond made (POST /v1/sessions: 43 "
                      "characters)");
  }
  const sk::beast::BeastRequestView view(c.req, c.peer);
  const std::string user_agent(view.header("User-Agent").value_or(""));
  auto loaded = co_await call_store<sk::Session>(*metrics_, [&](sk::Callback<sk::Session> done) {
    tokens_->manager().load_id(*id, c.peer, user_agent, std::move(done));
  });
  if (!loaded) co_return c.store_error(status_of(loaded));
  if (!loaded->is_stored()) {
    co_return c.error(HttpStatus::not_found, "no such session (or it has expired)");
  }
  if (loaded->user_id().empty()) {  // checked before the family is written
    co_return c.error(HttpStatus::conflict,
                      "the session has no user: set one (PATCH \"user\") first");
  }
  auto refresh = co_await call_store<std::string>(*metrics_, [&](sk::Callback<std::string> done) {
    tokens_->refresh().start(*loaded, std::move(done));
  });
  if (!refresh) co_return c.store_error(status_of(refresh));
  co_return token_answer(c, *loaded, *refresh);
}

asio::awaitable<Response> Api::token_route(Call& c, std::string_view action) {
  if (!c.method_is({verb::post})) co_return c.not_allowed();
  if (tokens_ == nullptr) co_return c.error(HttpStatus::not_found, kTokensOff);
  const sk::beast::BeastRequestView view(c.req, c.peer);
  std::optional<Response> refused;

  if (action == "refresh") {
    const auto token = string_member(c, "refresh_token", refused);
    if (!token) co_return std::move(*refused);
    auto r = co_await call_store<tok::Refresh>(*metrics_, [&](sk::Callback<tok::Refresh> done) {
      tokens_->refresh().refresh(view, *token, std::move(done));
    });
    if (!r) co_return c.store_error(status_of(r));
    if (!r->ok()) {
      if (r->outcome == tok::Refresh::Outcome::reused) {
        if (auto key = tokens_->refresh().session_key(*token)) tokens_->check().forget(*key);
      }
      co_return oauth_error(c, "invalid_grant", "the refresh token is invalid, expired or revoked");
    }
    co_return token_answer(c, r->session, r->refresh_token);
  }

  if (action == "revoke") {
    const auto token = string_member(c, "token", refused);
    if (!token) co_return std::move(*refused);
    auto r = co_await call_store<bool>(*metrics_, [&](sk::Callback<bool> done) {
      tokens_->refresh().revoke(view, *token, std::move(done));
    });
    if (!r) co_return c.store_error(status_of(r));
    if (auto key = tokens_->refresh().session_key(*token)) tokens_->check().forget(*key);
    co_return c.answer(HttpStatus::ok, json{{"revoked", *r}});
  }

  // introspect: an access token's claims, and whether its session is live now.
  const auto token = string_member(c, "token", refused);
  if (!token) co_return std::move(*refused);
  tok::Rejection why = tok::Rejection::none;
  auto verified = tokens_->access().verify(*token, &why);
  if (!verified) {
    co_return c.answer(HttpStatus::ok, json{{"active", false}, {"reason", tok::to_string(why)}});
  }
  auto live = co_await call_store<bool>(*metrics_, [&](sk::Callback<bool> done) {
    tokens_->check().check(*verified, view, std::move(done));
  });
  if (!live) co_return c.store_error(status_of(live));
  if (!*live)
    co_return c.answer(HttpStatus::ok, json{{"active", false}, {"reason", "session ended"}});
  const auto secs = [](sk::Time t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  co_return c.answer(HttpStatus::ok, json{{"active", true},
                                          {"sub", verified->subject},
                                          {"iss", verified->issuer},
                                          {"aud", verified->audience},
                                          {"iat", secs(verified->issued_at)},
                                          {"exp", secs(verified->expires_at)},
                                          {"jti", verified->jwt_id},
                                          {"token_type", "Bearer"}});
}

}  // namespace sessiond
