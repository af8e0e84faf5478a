// Signing in and out, the password, re-authentication and ending sessions (ASVS 3.3.3, 3.7.1):
// each handler serves the JSON API and the page's form alike (the scope answers in the right
// format). Another user's session handle answers 404 exactly like a made-up one.
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <variant>

#include "credentials.h"
#include "routes.h"
#include "session_scope.h"
#include "sessionkit/http/beast.h"
#include "token_service.h"

namespace demo {

namespace asio = boost::asio;
namespace skb = sessionkit::beast;
using asio::use_awaitable;
using nlohmann::json;
using sessionkit::errc;
using sessionkit::Session;

namespace {

// Why a request body cannot be used: the JSON error and the page's notice (400).
struct BadInput {
  std::string error;
  std::string notice;
};

std::variant<Credentials, BadInput> read_login(const Router::Ctx& ctx) {
  if (!ctx.html) {
    auto parsed = parse_login_json(ctx.req.body());
    if (auto* why = std::get_if<std::string>(&parsed)) return BadInput{*why, ""};
    return std::get<Credentials>(std::move(parsed));
  }
  const std::string* user = ctx.field("username");
  const std::string* password = ctx.field("password");
  if (user == nullptr || password == nullptr) {
    return BadInput{"missing field", "Please enter a user name and a password."};
  }
  return Credentials{*user, *password};
}

std::variant<PasswordChange, BadInput> read_password_change(const Router::Ctx& ctx) {
  if (!ctx.html) {
    auto parsed = parse_password_change_json(ctx.req.body());
    if (auto* why = std::get_if<std::string>(&parsed)) return BadInput{*why, ""};
    return std::get<PasswordChange>(std::move(parsed));
  }
  const std::string* current = ctx.field("current");
  const std::string* replacement = ctx.field("replacement");
  if (current == nullptr || replacement == nullptr) {
    return BadInput{"missing field", "Please fill in both passwords."};
  }
  if (replacement->size() < 8 || replacement->size() > 1024 || current->size() > 1024) {
    return BadInput{"bad password length", "The new password must be 8 to 1024 characters long."};
  }
  return PasswordChange{*current, *replacement};
}

std::variant<std::string, BadInput> read_reauth(const Router::Ctx& ctx) {
  if (!ctx.html) {
    auto parsed = parse_reauth_json(ctx.req.body());
    if (auto* why = std::get_if<std::string>(&parsed)) return BadInput{*why, ""};
    return std::move(std::get<Reauthentication>(parsed).password);
  }
  const std::string* password = ctx.field("password");
  if (password == nullptr)
    return BadInput{"missing field: password", "Please enter your password."};
  return *password;
}

// {"revoked": n}; client-side sessions cannot be destroyed from here: {"revoked": null} and why.
json revoked_json(const sessionkit::Result<std::size_t>& revoked, std::string_view others) {
  if (revoked) return json{{"revoked", *revoked}};
  return json{{"revoked", nullptr},
              {"note", "client-side sessions: " + std::string(others) +
                           " end on their next request (their credentials are out of date)"}};
}

}  // namespace

// POST /api/login, POST /login
asio::awaitable<Response> Router::post_login(SessionScope& s) const {
  auto input = read_login(s.ctx());
  if (auto* bad = std::get_if<BadInput>(&input)) {
    co_return co_await s.fail(HttpStatus::bad_request, bad->error, bad->notice);
  }
  const Credentials& login = std::get<Credentials>(input);
  if (login.user.size() > kMaxUserBytes || login.password.size() > kMaxPasswordBytes) {
    co_return co_await s.fail(HttpStatus::bad_request, "user name or password too long",
                              "The user name or password is too long.");
  }
  // The throttle first: while a delay is in force the password is not even tried (429).
  const sessionkit::LoginThrottle::Attempt attempt = login_attempt(s.ctx(), login.user);
  auto allowed = co_await throttle_check(attempt);
  if (!allowed) co_return co_await s.failure(allowed.status());
  if (!allowed->allowed) {
    Response res = co_await s.fail(HttpStatus::too_many_requests, "too many failed sign-ins",
                                   too_many_failures_message(allowed->retry_after));
    res.set(boost::beast::http::field::retry_after, retry_after_seconds(allowed->retry_after));
    co_return res;
  }
  PasswordCheck check = co_await verify_password(login.user, login.password);
  if (check.outcome == PasswordCheck::busy) co_return co_await password_busy(s);
  if (check.outcome != PasswordCheck::ok) {
    // Counted before the answer: a failure the throttle could not record is a 503, never a
    // free guess.
    auto counted = co_await throttle_failed(attempt);
    if (!counted) co_return co_await s.failure(counted.status());
    co_return co_await s.fail(HttpStatus::unauthorized, "invalid user name or password",
                              "Invalid user name or password.");
  }
  if (auto reset = co_await throttle_succeeded(attempt); !reset) {
    co_return co_await s.failure(reset);
  }
  // A NEW session ID (fixation defence), bound to the user and to the credentials just checked
  // (a password change that races this login ends the session).
  Session& session = s.session();
  session.regenerate();
  session.set_user(login.user, check.stamp);
  session.set("user", json{{"name", login.user}});
  Response res = s.success("/");
  set_device_cookie(res, login.user);
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  co_await watch_sign_in(s.ctx(), login.user);
  if (!s.html()) {
    set_json_body(res,
                  json{{"user", {{"name", login.user}}}, {"csrf_token", s.csrf_token(res)}}.dump());
  }
  co_return res;
}

// POST /api/logout, POST /logout
asio::awaitable<Response> Router::post_logout(SessionScope& s) const {
  s.session().destroy();
  Response res = s.success("/");
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  if (!s.html()) set_json_body(res, R"({"ok":true})");
  co_return res;
}

// POST /api/password, POST /password (signed in)
asio::awaitable<Response> Router::post_password(SessionScope& s) const {
  auto input = read_password_change(s.ctx());
  if (auto* bad = std::get_if<BadInput>(&input)) {
    co_return co_await s.fail(HttpStatus::bad_request, bad->error, bad->notice);
  }
  Session& session = s.session();
  auto changed = co_await change_password(session.user_id(), std::get<PasswordChange>(input));
  if (!changed && changed.code() != errc::not_found) {
    co_return co_await s.fail(HttpStatus::service_unavailable, "could not change the password",
                              "The password could not be changed; please try again.");
  }
  if (!changed) {
    co_return co_await wrong_password(s, "the current password is wrong",
                                      "The current password is wrong.", false);
  }
  // A privilege change: a new session ID for this browser, carrying the new credentials; every
  // other session is ended (and any still signing in with the old password ends on its next
  // request). The current password was just proven: that counts as a re-authentication.
  session.regenerate();
  session.reauthenticated();
  session.set_credential(*changed);
  Response res = s.success("/?done=password");
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  auto revoked = co_await revoke_user_sessions(session);
  if (!revoked && revoked.code() != errc::unsupported) {
    co_return co_await s.failure(revoked.status(), &res);
  }
  if (!s.html()) {
    json body = revoked_json(revoked, "other sessions");
    body["csrf_token"] = s.csrf_token(res);
    set_json_body(res, body.dump());
  }
  co_return res;
}

// POST /api/reauth, POST /reauth (signed in): the password again, before sensitive actions.
asio::awaitable<Response> Router::post_reauth(SessionScope& s) const {
  auto input = read_reauth(s.ctx());
  if (auto* bad = std::get_if<BadInput>(&input)) {
    co_return co_await s.fail(HttpStatus::bad_request, bad->error, bad->notice);
  }
  PasswordCheck check = co_await verify_password(s.session().user_id(), std::get<0>(input));
  if (check.outcome == PasswordCheck::busy) co_return co_await password_busy(s);
  if (check.outcome != PasswordCheck::ok) {
    co_return co_await wrong_password(s, "wrong password", "Wrong password.", true);
  }
  s.session().reauthenticated();
  Response res = s.success("/");
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  if (!s.html()) {
    const sessionkit::Time at = s.session().auth_at().value_or(sessionkit::Time{});
    set_json_body(res, json{{"reauthenticated_at", iso8601(at)}}.dump());
  }
  co_return res;
}

// DELETE /api/sessions/{handle}, POST /sessions/revoke (field `handle`), signed in: ends one of
// the user's sessions. The caller's own is a logout; another needs a recent authentication.
asio::awaitable<Response> Router::revoke_session(SessionScope& s) const {
  const std::string param(s.ctx().param);
  const std::string* handle = s.html() ? s.ctx().field("handle") : &param;
  if (handle == nullptr) {
    co_return co_await s.fail(HttpStatus::bad_request, "missing field: handle",
                              "Something went wrong; please try again.");
  }
  Session& session = s.session();
  const bool own = *handle == manager_.session_handle_of(session);
  if (own) {
    session.destroy();  // its cookie is cleared too
  } else {
    if (auto stale = co_await s.require_recent_auth()) co_return std::move(*stale);
    auto revoked = co_await skb::async_call<bool>(
        [this, &session, handle](sessionkit::Callback<bool> done) {
          manager_.revoke_session(session, *handle, std::move(done));
        },
        use_awaitable);
    if (!revoked) co_return co_await s.failure(revoked.status());
    if (!*revoked) {
      co_return co_await s.fail(HttpStatus::not_found, "no such session",
                                "That session had already ended.");
    }
  }
  Response res = s.success("/");
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  if (!s.html()) set_json_body(res, json{{"revoked", true}, {"current", own}}.dump());
  co_return res;
}

// POST /api/sessions/revoke-others, POST /sessions/revoke-others (signed in, recently
// authenticated): "sign out everywhere else". A new security stamp for the user ends every
// session signed in before it on its next request, sign-ins still in flight included (the race
// a plain revoke loses); this session carries the new stamp; then the others are destroyed.
asio::awaitable<Response> Router::revoke_other_sessions(SessionScope& s) const {
  Session& session = s.session();
  std::optional<std::string> stamp = users_.rotate_stamp(session.user_id());
  if (!stamp) {
    const sessionkit::Status no_user(errc::not_found,
                                     "no such user");  // named: see verify_password
    co_return co_await s.failure(no_user);
  }
  session.set_credential(*stamp);
  Response res = s.success("/?done=revoke-others");
  if (auto failed = co_await s.commit(res)) co_return std::move(*failed);
  // Client-side sessions cannot be destroyed from here; the stamp ends them instead.
  auto revoked = co_await revoke_user_sessions(session);
  if (!revoked && revoked.code() != errc::unsupported) {
    co_return co_await s.failure(revoked.status(), &res);
  }
  if (!s.html()) set_json_body(res, revoked_json(revoked, "the others").dump());
  co_return res;
}

// ---- helpers ----

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
      if (!stamp) return done(sessionkit::Result<std::string>(errc::not_found, ""));
      done(std::move(*stamp));
    });
  };
  auto verified = co_await skb::async_call<std::string>(std::move(start), use_awaitable);
  if (!verified.ok()) co_return PasswordCheck{PasswordCheck::wrong, {}};
  co_return PasswordCheck{PasswordCheck::ok, std::move(*verified)};
}

asio::awaitable<sessionkit::Result<std::string>> Router::change_password(
    const std::string& user, const PasswordChange& change) const {
  // argon2id twice (verify, hash): on the hashing pool, never on an I/O thread.
  auto start = [this, &user, &change](sessionkit::Callback<std::string> done) {
    asio::post(hash_executor_, [this, user, change, done = std::move(done)] {
      try {
        std::optional<std::string> stamp =
            users_.change_password(user, change.current, change.replacement);
        if (!stamp) return done(sessionkit::Result<std::string>(errc::not_found, ""));
        done(std::move(*stamp));
      } catch (const std::exception& e) {
        done(sessionkit::Result<std::string>(errc::unavailable, e.what()));
      }
    });
  };
  co_return co_await skb::async_call<std::string>(std::move(start), use_awaitable);
}

asio::awaitable<Response> Router::password_busy(SessionScope& s) const {
  Response res = co_await s.fail(HttpStatus::service_unavailable,
                                 "too many password checks at once; retry shortly",
                                 "Too many password checks at once; please try again in a moment.");
  res.set(boost::beast::http::field::retry_after, "1");
  co_return res;
}

asio::awaitable<Response> Router::wrong_password(SessionScope& s, std::string_view error,
                                                 std::string notice, bool ask_password) const {
  // Counted, and after a few the session ends: a stolen cookie is no unlimited password oracle.
  auto ended = co_await skb::async_call<bool>(
      [this, &s](sessionkit::Callback<bool> done) {
        manager_.reauthentication_failed(s.session(), std::move(done));
      },
      use_awaitable);
  if (!ended) co_return co_await s.failure(ended.status());
  if (*ended) {
    co_return co_await s.fail(HttpStatus::unauthorized, "too many wrong passwords: signed out",
                              "Too many wrong passwords: you have been signed out.");
  }
  co_return co_await s.fail(HttpStatus::forbidden, error, std::move(notice), ask_password);
}

asio::awaitable<sessionkit::Result<std::size_t>> Router::revoke_user_sessions(
    const Session& keep) const {
  auto revoked = co_await skb::async_call<std::size_t>(
      [this, &keep](sessionkit::Callback<std::size_t> done) {
        manager_.revoke_user_sessions(keep.user_id(), &keep, std::move(done));
      },
      use_awaitable);
  // This instance's cached "live" answers for the user's access tokens go at once (the
  // credential stamp changed, or the sessions are gone): no cache window after a password change.
  if (tokens_ != nullptr && tokens_->check() != nullptr) {
    tokens_->check()->forget_user(keep.user_id());
  }
  co_return revoked;
}

}  // namespace demo
