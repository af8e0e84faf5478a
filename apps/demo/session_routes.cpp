// The demo's "your sessions" API (ASVS 3.3.3 / 3.3.4): list your sessions, revoke one, revoke
// all others; and a password change, which rotates the current session and ends all others. Handles
// are opaque (SessionManager::session_handle); another user's handle answers 404 exactly like a
// made-up one.
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "credentials.h"
#include "router_ctx.h"
#include "routes.h"
#include "sessionkit/http/beast.h"

namespace demo {

namespace bhttp = boost::beast::http;
namespace skb = sessionkit::beast;
using boost::asio::use_awaitable;
using nlohmann::json;
using sessionkit::Session;
using Summary = sessionkit::SessionManager::SessionSummary;

namespace {

Response reauth_required(const Router::Ctx& ctx) {
  Response res = ctx.make(Status::unauthorized);
  res.set(bhttp::field::cache_control, "no-store");
  set_json_body(res, json{{"error", "re-authentication required: POST /api/reauth"},
                          {"reauthenticate", "/api/reauth"}}
                         .dump());
  return res;
}

}  // namespace

boost::asio::awaitable<Response> Router::sessions_api(Ctx& ctx, std::string_view rest) const {
  const bhttp::verb m = ctx.method;
  if (rest.empty() && m != bhttp::verb::get) co_return ctx.method_not_allowed("GET, HEAD");
  if (rest == "/revoke-others" && m != bhttp::verb::post) co_return ctx.method_not_allowed("POST");
  const bool one = !rest.empty() && rest != "/revoke-others";
  if (one && m != bhttp::verb::delete_) co_return ctx.method_not_allowed("DELETE");
  if (one && (rest.size() < 2 || rest.find('/', 1) != std::string_view::npos)) {
    co_return ctx.error(Status::not_found, "no such session");
  }

  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (m != bhttp::verb::get) {
    if (auto denied = check_unsafe(ctx, session)) co_return std::move(*denied);
  }
  if (!session.is_stored() || session.user_id().empty()) {
    co_return ctx.error(Status::unauthorized, "sign in to manage your sessions");
  }
  // Ending another session is sensitive (ASVS 3.7.1): it needs a recent authentication.
  // Ending the caller's own session is a logout and needs none.
  const bool own = one && rest.substr(1) == manager_.session_handle_of(session);
  if (m != bhttp::verb::get && !own &&
      !manager_.authenticated_within(session, options_.reauth_after)) {
    co_return reauth_required(ctx);
  }

  Response res = ctx.make(Status::ok);
  res.set(bhttp::field::cache_control, "no-store");
  if (rest.empty()) {
    auto listed = co_await skb::async_call<std::vector<Summary>>(
        [this, &session](sessionkit::Callback<std::vector<Summary>> done) {
          manager_.list_sessions(session, std::move(done));
        },
        use_awaitable);
    if (!listed) co_return session_error(ctx, listed.status());
    json items = json::array();
    for (const auto& s : *listed) {
      items.push_back({{"handle", s.handle},
                       {"current", s.current},
                       {"created_at", iso8601(s.created_at)},
                       {"last_seen_at", iso8601(s.last_seen_at)},
                       {"ip", s.ip},
                       {"user_agent", s.user_agent}});
    }
    set_json_body(res, json{{"sessions", std::move(items)}}.dump(-1, ' ', false,
                                                                 json::error_handler_t::replace));
    co_return res;
  }
  if (rest == "/revoke-others") {
    auto revoked = co_await skb::async_call<std::size_t>(
        [this, &session](sessionkit::Callback<std::size_t> done) {
          manager_.revoke_user_sessions(session.user_id(), &session, std::move(done));
        },
        use_awaitable);
    if (!revoked) co_return session_error(ctx, revoked.status());
    set_json_body(res, json{{"revoked", *revoked}}.dump());
    co_return res;
  }
  const std::string handle(rest.substr(1));
  if (handle == manager_.session_handle_of(session)) {
    // The caller's own session: a logout, so that its cookie is cleared too.
    session.destroy();
    skb::BeastResponseHeaders out(res);
    auto committed = co_await skb::co_commit(manager_, session, out);
    if (!committed) co_return session_error(ctx, committed, &res);
    set_json_body(res, json{{"revoked", true}, {"current", true}}.dump());
    co_return res;
  }
  auto revoked = co_await skb::async_call<bool>(
      [this, &session, &handle](sessionkit::Callback<bool> done) {
        manager_.revoke_session(session, handle, std::move(done));
      },
      use_awaitable);
  if (!revoked) co_return session_error(ctx, revoked.status());
  if (!*revoked) co_return ctx.error(Status::not_found, "no such session");
  set_json_body(res, json{{"revoked", true}, {"current", false}}.dump());
  co_return res;
}

boost::asio::awaitable<Response> Router::post_password(Ctx& ctx) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = check_unsafe(ctx, session)) co_return std::move(*denied);
  if (!session.is_stored() || session.user_id().empty()) {
    co_return ctx.error(Status::unauthorized, "sign in to change your password");
  }
  auto parsed = parse_password_change_json(ctx.req.body());
  if (auto* why = std::get_if<std::string>(&parsed)) co_return ctx.error(Status::bad_request, *why);
  auto change = std::get<PasswordChange>(std::move(parsed));

  // argon2id twice (verify, hash): on the hashing pool, never on an I/O thread.
  const std::string user = session.user_id();
  auto start = [this, user, change](sessionkit::Callback<bool> done) {
    boost::asio::post(hash_executor_, [this, user, change, done = std::move(done)] {
      try {
        done(users_.change_password(user, change.current, change.replacement));
      } catch (const std::exception& e) {
        done(sessionkit::Result<bool>(sessionkit::errc::unavailable, e.what()));
      }
    });
  };
  auto changed = co_await skb::async_call<bool>(std::move(start), use_awaitable);
  if (!changed) co_return ctx.error(Status::service_unavailable, "could not change the password");
  if (!*changed) co_return ctx.error(Status::forbidden, "the current password is wrong");

  // A privilege change: a new session ID for this browser, every other session ended. The
  // current password was just proven: that counts as a re-authentication.
  session.regenerate();
  session.reauthenticated();
  Response res = ctx.make(Status::ok);
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return session_error(ctx, committed, &res);
  auto revoked = co_await skb::async_call<std::size_t>(
      [this, &session](sessionkit::Callback<std::size_t> done) {
        manager_.revoke_user_sessions(session.user_id(), &session, std::move(done));
      },
      use_awaitable);
  if (!revoked && revoked.code() == sessionkit::errc::unsupported) {
    // Client-side sessions cannot be ended from here: say so instead of failing a change that
    // has happened.
    set_json_body(res, json{{"revoked", nullptr},
                            {"note",
                             "client-side sessions: other sessions end at their own "
                             "deadline"},
                            {"csrf_token", manager_.csrf_token(session)}}
                           .dump());
    co_return res;
  }
  if (!revoked) co_return session_error(ctx, revoked.status(), &res);
  set_json_body(res,
                json{{"revoked", *revoked}, {"csrf_token", manager_.csrf_token(session)}}.dump());
  co_return res;
}

boost::asio::awaitable<Response> Router::post_reauth(Ctx& ctx) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = check_unsafe(ctx, session)) co_return std::move(*denied);
  if (!session.is_stored() || session.user_id().empty()) {
    co_return ctx.error(Status::unauthorized, "sign in first");
  }
  auto parsed = parse_reauth_json(ctx.req.body());
  if (auto* why = std::get_if<std::string>(&parsed)) co_return ctx.error(Status::bad_request, *why);
  const std::string user = session.user_id();
  if (!co_await verify_password(user, std::get<Reauthentication>(parsed).password)) {
    co_return ctx.error(Status::forbidden, "wrong password");
  }
  session.reauthenticated();
  Response res = ctx.make(Status::ok);
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return session_error(ctx, committed, &res);
  set_json_body(
      res,
      json{{"reauthenticated_at", iso8601(session.auth_at().value_or(sessionkit::Time{}))}}.dump());
  co_return res;
}

boost::asio::awaitable<std::variant<Session, Response>> Router::open_session(Ctx& ctx) const {
  auto loaded = co_await skb::co_load(manager_, ctx.view);
  if (!loaded) co_return session_error(ctx, loaded.status());
  if (loaded->refusal().empty()) co_return std::move(*loaded);
  // Binding refused the session (it is destroyed): 403, and commit clears the cookie.
  Response res = ctx.error(Status::forbidden,
                           "this session is bound to another client and has been ended; "
                           "sign in again");
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, *loaded, out);
  if (!committed) co_return session_error(ctx, committed);
  co_return res;
}

boost::asio::awaitable<std::vector<SessionRow>> Router::session_rows(Session& session) const {
  auto listed = co_await skb::async_call<std::vector<Summary>>(
      [this, &session](sessionkit::Callback<std::vector<Summary>> done) {
        manager_.list_sessions(session, std::move(done));
      },
      use_awaitable);
  std::vector<SessionRow> rows;
  if (!listed) co_return rows;  // the page still renders; the API reports the error
  for (const auto& s : *listed) {
    rows.push_back(SessionRow{s.handle, s.current, iso8601(s.created_at), iso8601(s.last_seen_at),
                              s.ip, s.user_agent});
  }
  co_return rows;
}

boost::asio::awaitable<Response> Router::post_session_form(Ctx& ctx, std::string_view path) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = check_unsafe(ctx, session)) co_return std::move(*denied);
  if (!ctx.form) {
    co_return ctx.error(Status::bad_request, "expected an application/x-www-form-urlencoded body");
  }
  if (!session.is_stored() || session.user_id().empty()) co_return ctx.see_other("/");
  auto field = [&ctx](std::string_view name) -> const std::string* {
    auto it = ctx.form->find(name);
    return it == ctx.form->end() ? nullptr : &it->second;
  };
  Response res = ctx.see_other("/");

  if (path == "/reauth") {
    const std::string* password = field("password");
    if (password == nullptr) co_return ctx.error(Status::bad_request, "missing field: password");
    if (!co_await verify_password(session.user_id(), *password)) {
      co_return ctx.see_other("/?error=reauth-password");
    }
    session.reauthenticated();
  } else if (path == "/sessions/revoke") {
    const std::string* handle = field("handle");
    if (handle == nullptr) co_return ctx.error(Status::bad_request, "missing field: handle");
    if (*handle == manager_.session_handle_of(session)) {
      session.destroy();  // this browser's own session: a logout
    } else {
      if (!manager_.authenticated_within(session, options_.reauth_after)) {
        co_return ctx.see_other("/?error=reauth");
      }
      auto revoked = co_await skb::async_call<bool>(
          [this, &session, handle](sessionkit::Callback<bool> done) {
            manager_.revoke_session(session, *handle, std::move(done));
          },
          use_awaitable);
      if (!revoked) co_return session_error(ctx, revoked.status());
      if (!*revoked) co_return ctx.see_other("/?error=session");
    }
  } else {  // /sessions/revoke-others
    if (!manager_.authenticated_within(session, options_.reauth_after)) {
      co_return ctx.see_other("/?error=reauth");
    }
    auto revoked = co_await skb::async_call<std::size_t>(
        [this, &session](sessionkit::Callback<std::size_t> done) {
          manager_.revoke_user_sessions(session.user_id(), &session, std::move(done));
        },
        use_awaitable);
    if (!revoked) co_return session_error(ctx, revoked.status());
  }
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed && !(session.is_destroyed() && committed.code() == sessionkit::errc::not_found)) {
    co_return session_error(ctx, committed, &res);
  }
  co_return res;
}

}  // namespace demo
