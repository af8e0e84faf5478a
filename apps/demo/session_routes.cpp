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
  Response res = ctx.make(HttpStatus::unauthorized);
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
    co_return ctx.error(HttpStatus::not_found, "no such session");
  }

  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (m != bhttp::verb::get) {
    if (auto denied = co_await check_unsafe(ctx, session)) co_return std::move(*denied);
  }
  if (!session.is_stored() || session.user_id().empty()) {
    co_return ctx.error(HttpStatus::unauthorized, "sign in to manage your sessions");
  }
  // Ending another session is sensitive (ASVS 3.7.1): it needs a recent authentication.
  // Ending the caller's own session is a logout and needs none.
  const bool own = one && rest.substr(1) == manager_.session_handle_of(session);
  if (m != bhttp::verb::get && !own &&
      !manager_.authenticated_within(session, options_.reauth_after)) {
    co_return reauth_required(ctx);
  }

  Response res = ctx.make(HttpStatus::ok);
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
    auto revoked = co_await revoke_others(session, res);
    if (!revoked && revoked.code() == sessionkit::errc::unsupported) {
      // Client-side sessions cannot be destroyed from here; their credential stamp is out of
      // date now, so each ends on its next request.
      set_json_body(res, json{{"revoked", nullptr},
                              {"note",
                               "client-side sessions: the others end on their next request "
                               "(their credentials are out of date)"}}
                             .dump());
      co_return res;
    }
    if (!revoked) co_return session_error(ctx, revoked.status(), &res);
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
  if (!*revoked) co_return ctx.error(HttpStatus::not_found, "no such session");
  set_json_body(res, json{{"revoked", true}, {"current", false}}.dump());
  co_return res;
}

boost::asio::awaitable<sessionkit::Result<std::size_t>> Router::revoke_others(Session& session,
                                                                              Response& res) const {
  // Sign-ins of this user that are still in flight carry the old stamp: they end on their next
  // request even if they are stored after the destroy below (the race a plain revoke loses).
  std::optional<std::string> stamp = users_.rotate_stamp(session.user_id());
  if (!stamp) co_return sessionkit::Result<std::size_t>(sessionkit::errc::not_found, "no user");
  session.set_credential(*stamp);
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return sessionkit::Result<std::size_t>(committed);
  co_return co_await skb::async_call<std::size_t>(
      [this, &session](sessionkit::Callback<std::size_t> done) {
        manager_.revoke_user_sessions(session.user_id(), &session, std::move(done));
      },
      use_awaitable);
}

boost::asio::awaitable<Response> Router::post_password(Ctx& ctx) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = co_await check_unsafe(ctx, session)) co_return std::move(*denied);
  if (!session.is_stored() || session.user_id().empty()) {
    co_return co_await fail(ctx, &session, HttpStatus::unauthorized,
                            "sign in to change your password",
                            "Please sign in to change your password.");
  }
  PasswordChange change;
  if (ctx.html) {
    auto current = ctx.form->find("current");
    auto replacement = ctx.form->find("replacement");
    if (current == ctx.form->end() || replacement == ctx.form->end()) {
      co_return co_await fail(ctx, &session, HttpStatus::bad_request, "missing field",
                              "Please fill in both passwords.");
    }
    change.current = current->second;
    change.replacement = replacement->second;
    if (change.replacement.size() < 8 || change.replacement.size() > 1024 ||
        change.current.size() > 1024) {
      co_return co_await fail(ctx, &session, HttpStatus::bad_request, "bad password length",
                              "The new password must be 8 to 1024 characters long.");
    }
  } else {
    auto parsed = parse_password_change_json(ctx.req.body());
    if (auto* why = std::get_if<std::string>(&parsed)) {
      co_return ctx.error(HttpStatus::bad_request, *why);
    }
    change = std::get<PasswordChange>(std::move(parsed));
  }

  // argon2id twice (verify, hash): on the hashing pool, never on an I/O thread.
  const std::string user = session.user_id();
  auto start = [this, user, change](sessionkit::Callback<std::string> done) {
    boost::asio::post(hash_executor_, [this, user, change, done = std::move(done)] {
      try {
        std::optional<std::string> stamp =
            users_.change_password(user, change.current, change.replacement);
        if (!stamp) return done(sessionkit::Result<std::string>(sessionkit::errc::not_found, ""));
        done(std::move(*stamp));
      } catch (const std::exception& e) {
        done(sessionkit::Result<std::string>(sessionkit::errc::unavailable, e.what()));
      }
    });
  };
  auto changed = co_await skb::async_call<std::string>(std::move(start), use_awaitable);
  if (!changed && changed.code() != sessionkit::errc::not_found) {
    co_return co_await fail(ctx, &session, HttpStatus::service_unavailable,
                            "could not change the password",
                            "The password could not be changed; please try again.");
  }
  if (!changed) {
    // A wrong current password is a failed re-authentication: counted, and after a few the
    // session ends (a stolen cookie is not an unlimited password oracle).
    auto ended = co_await count_reauth_failure(session);
    if (!ended) co_return co_await session_failure(ctx, &session, ended.status());
    co_return co_await fail(ctx, &session, HttpStatus::forbidden, "the current password is wrong",
                            *ended ? "Too many wrong passwords: you have been signed out."
                                   : "The current password is wrong.");
  }

  // A privilege change: a new session ID for this browser, carrying the new credentials; every
  // other session is ended (and any still signing in with the old password ends on its next
  // request). The current password was just proven: that counts as a re-authentication.
  session.regenerate();
  session.reauthenticated();
  session.set_credential(*changed);
  Response res = ctx.html ? ctx.see_other("/?done=password") : ctx.make(HttpStatus::ok);
  res.set(bhttp::field::cache_control, "no-store");
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed) co_return co_await session_failure(ctx, &session, committed, &res);
  auto revoked = co_await skb::async_call<std::size_t>(
      [this, &session](sessionkit::Callback<std::size_t> done) {
        manager_.revoke_user_sessions(session.user_id(), &session, std::move(done));
      },
      use_awaitable);
  if (!revoked && revoked.code() == sessionkit::errc::unsupported) {
    // Client-side sessions cannot be destroyed from here; their credential stamp ends them on
    // their next request instead.
    if (!ctx.html) {
      set_json_body(res, json{{"revoked", nullptr},
                              {"note",
                               "client-side sessions: other sessions end on their next request "
                               "(their credentials are out of date)"},
                              {"csrf_token", manager_.csrf_token(session, out)}}
                             .dump());
    }
    co_return res;
  }
  if (!revoked) co_return co_await session_failure(ctx, &session, revoked.status(), &res);
  if (!ctx.html) {
    set_json_body(
        res, json{{"revoked", *revoked}, {"csrf_token", manager_.csrf_token(session, out)}}.dump());
  }
  co_return res;
}

boost::asio::awaitable<Response> Router::post_reauth(Ctx& ctx) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = co_await check_unsafe(ctx, session)) co_return std::move(*denied);
  if (!session.is_stored() || session.user_id().empty()) {
    co_return ctx.error(HttpStatus::unauthorized, "sign in first");
  }
  auto parsed = parse_reauth_json(ctx.req.body());
  if (auto* why = std::get_if<std::string>(&parsed))
    co_return ctx.error(HttpStatus::bad_request, *why);
  const std::string user = session.user_id();
  PasswordCheck check = co_await verify_password(user, std::get<Reauthentication>(parsed).password);
  if (check.outcome == PasswordCheck::busy) co_return co_await password_busy(ctx, session);
  if (check.outcome != PasswordCheck::ok) {
    auto ended = co_await count_reauth_failure(session);
    if (!ended) co_return session_error(ctx, ended.status());
    if (!*ended) co_return ctx.error(HttpStatus::forbidden, "wrong password");
    Response res = ctx.error(HttpStatus::unauthorized, "too many wrong passwords: signed out");
    skb::BeastResponseHeaders out(res);
    auto committed = co_await skb::co_commit(manager_, session, out);
    if (!committed && committed.code() != sessionkit::errc::not_found) {
      co_return session_error(ctx, committed);
    }
    co_return res;
  }
  session.reauthenticated();
  Response res = ctx.make(HttpStatus::ok);
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
  if (ctx.html || ctx.path == "/") {
    co_return co_await page(ctx, *loaded, HttpStatus::forbidden,
                            "This session was bound to another browser or address and has been "
                            "ended; please sign in again.");
  }
  Response res = ctx.error(HttpStatus::forbidden,
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
  const sessionkit::Time now = manager_.clock().now();
  auto age = [now](sessionkit::Time t) {
    return describe_age(std::chrono::duration_cast<std::chrono::seconds>(now - t).count());
  };
  for (const auto& s : *listed) {
    rows.push_back(SessionRow{s.handle, s.current, iso8601(s.created_at), iso8601(s.last_seen_at),
                              s.ip, s.user_agent, age(s.created_at), age(s.last_seen_at)});
  }
  co_return rows;
}

boost::asio::awaitable<Response> Router::post_session_form(Ctx& ctx, std::string_view path) const {
  auto opened = co_await open_session(ctx);
  if (auto* early = std::get_if<Response>(&opened)) co_return std::move(*early);
  Session& session = std::get<Session>(opened);
  if (auto denied = co_await check_unsafe(ctx, session)) co_return std::move(*denied);
  if (!ctx.form) {
    co_return co_await fail(ctx, &session, HttpStatus::bad_request, "expected a form body",
                            "The form could not be read; please try again.");
  }
  if (!session.is_stored() || session.user_id().empty()) {
    co_return co_await fail(ctx, &session, HttpStatus::unauthorized, "sign in first",
                            "Please sign in first.");
  }
  auto field = [&ctx](std::string_view name) -> const std::string* {
    auto it = ctx.form->find(name);
    return it == ctx.form->end() ? nullptr : &it->second;
  };
  Response res = ctx.see_other("/");

  if (path == "/reauth") {
    const std::string* password = field("password");
    if (password == nullptr) {
      co_return co_await fail(ctx, &session, HttpStatus::bad_request, "missing field: password",
                              "Please enter your password.");
    }
    PasswordCheck check = co_await verify_password(session.user_id(), *password);
    if (check.outcome == PasswordCheck::busy) co_return co_await password_busy(ctx, session);
    if (check.outcome != PasswordCheck::ok) {
      auto ended = co_await count_reauth_failure(session);
      if (!ended) co_return co_await session_failure(ctx, &session, ended.status());
      if (*ended) {
        co_return co_await page(ctx, session, HttpStatus::unauthorized,
                                "Too many wrong passwords: you have been signed out.");
      }
      co_return co_await page(ctx, session, HttpStatus::forbidden, "Wrong password.", true);
    }
    session.reauthenticated();
  } else if (path == "/sessions/revoke") {
    const std::string* handle = field("handle");
    if (handle == nullptr) {
      co_return co_await fail(ctx, &session, HttpStatus::bad_request, "missing field: handle",
                              "Something went wrong; please try again.");
    }
    if (*handle == manager_.session_handle_of(session)) {
      session.destroy();  // this browser's own session: a logout
    } else {
      if (!manager_.authenticated_within(session, options_.reauth_after)) {
        co_return co_await page(ctx, session, HttpStatus::unauthorized,
                                "Please confirm your password to end other sessions.", true);
      }
      auto revoked = co_await skb::async_call<bool>(
          [this, &session, handle](sessionkit::Callback<bool> done) {
            manager_.revoke_session(session, *handle, std::move(done));
          },
          use_awaitable);
      if (!revoked) co_return co_await session_failure(ctx, &session, revoked.status());
      if (!*revoked) {
        co_return co_await page(ctx, session, HttpStatus::not_found,
                                "That session had already ended.");
      }
    }
  } else {  // /sessions/revoke-others
    if (!manager_.authenticated_within(session, options_.reauth_after)) {
      co_return co_await page(ctx, session, HttpStatus::unauthorized,
                              "Please confirm your password to end other sessions.", true);
    }
    res = ctx.see_other("/?done=revoke-others");
    auto revoked = co_await revoke_others(session, res);
    if (!revoked && revoked.code() != sessionkit::errc::unsupported) {
      co_return co_await session_failure(ctx, &session, revoked.status(), &res);
    }
  }
  skb::BeastResponseHeaders out(res);
  auto committed = co_await skb::co_commit(manager_, session, out);
  if (!committed && !(session.is_destroyed() && committed.code() == sessionkit::errc::not_found)) {
    co_return co_await session_failure(ctx, &session, committed, &res);
  }
  co_return res;
}

}  // namespace demo
