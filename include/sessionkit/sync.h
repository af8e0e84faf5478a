// sessionkit/sync.h — the SessionManager as blocking calls, for synchronous code.
//
// For frameworks that run one request per thread and want an answer before the handler returns
// (cpp-httplib, Crow, Drogon's synchronous handlers, CGI-style code) and for tests:
//
//   auto s = sessionkit::sync::load(manager, request);         // Result<Session>
//   if (!s) return answer_503();                               // the store is down
//   s->set("theme", "dark");
//   auto visits = sessionkit::sync::increment(manager, *s, "visits");
//   sessionkit::Status st = sessionkit::sync::commit(manager, *s, response_headers);
//
// Contract:
// - Each call starts the manager's asynchronous operation and blocks the calling thread until
//   its completion has run, then answers the result unchanged (errors are values). Nothing of
//   the call outlives it: every argument is borrowed for the duration of the call only, and the
//   result is moved to the caller. Unlike nested callbacks, this is correct with EVERY store:
//   the memory and SQLite stores complete inline (no wait, no thread switch), Redis and
//   PostgreSQL on their own threads, which the call waits for.
// - Time: a call waits as long as the store takes to answer; the stores bound that time with
//   their own timeouts and answer `errc::timeout` / `errc::unavailable` when it runs out.
// - Store threads: a call made from inside a store's completion callback (e.g. on Redis' I/O
//   thread or a PostgreSQL worker, from a callback of the asynchronous API) would wait for the
//   very thread that must deliver its answer. It is refused instead, at once and without
//   starting anything: `errc::invalid_argument` with a message that says so. The stores of this
//   tree mark every completion they run (`CompletionScope`), the inline ones (memory, SQLite)
//   too, so that code refused on one store is refused on all. A store of your own marks its
//   completions the same way. Likewise any call on the thread of an event loop a store has
//   attached connections to (RedisStore::attach): that thread handles the replies.
// - `commit` must follow `increment` (and any other change) before the response is sent: the
//   increment is stored at once, but the cookie that names a newly created session is written
//   by `commit`.
// - CSRF: `csrf_token` and `verify_csrf` answer at once (no store call); a token may be issued
//   before or after `commit`. `verify_csrf(manager, session, request, form_token)` reads the
//   X-CSRF-Token header, else `form_token` (e.g. a form's `_csrf` field). Check it on every
//   request whose method is not safe (`is_safe_method`) before acting on it. A bearer request
//   (`Session::via_bearer()`) passes `verify_csrf` without a token (see manager.h).
//
// Thread safety: every function is as thread-safe as SessionManager (fully); a Session and the
// views are used by one thread at a time. `call<T>` does the same for any callback API.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sessionkit/http/request.h"
#include "sessionkit/manager.h"
#include "sessionkit/result.h"
#include "sessionkit/session.h"
#include "sessionkit/store.h"

namespace sessionkit::detail {
// Whether the current thread runs an event loop a store is attached to (RedisStore::attach).
bool on_attached_loop();
}  // namespace sessionkit::detail

namespace sessionkit::sync {

namespace detail {
// How many store completions the current thread is inside (CompletionScope nests). One object
// per thread for the whole program (an inline variable).
inline thread_local int completion_depth = 0;
}  // namespace detail

// Marks the current thread as running a store's completion callback while it lives (nesting is
// fine). The stores of this tree hold one around every callback they call (src/stores/
// completion.h); `active()` is what the blocking calls check.
class CompletionScope {
 public:
  CompletionScope() noexcept { ++detail::completion_depth; }
  ~CompletionScope() { --detail::completion_depth; }
  CompletionScope(const CompletionScope&) = delete;
  CompletionScope& operator=(const CompletionScope&) = delete;

  // Whether the current thread is inside a store's completion callback.
  static bool active() noexcept { return detail::completion_depth > 0; }
};

// The error every blocking call answers inside a completion (see "Store threads").
inline Status refused_in_completion() {
  return {errc::invalid_argument,
          "sessionkit::sync: a blocking call from inside a store's completion callback (a store "
          "thread) would wait for that thread itself; use the asynchronous API there, or hand the "
          "work to a thread of your own"};
}

// Runs `start(Callback<T>)`, which must arrange for the callback to be called exactly once (a
// SessionManager or SessionStore member call), and blocks until it has been: its result.
template <class T, class Start>
Result<T> call(Start&& start) {
  if (CompletionScope::active()) return Result<T>(refused_in_completion());
  if (::sessionkit::detail::on_attached_loop()) {
    return Result<T>(
        errc::invalid_argument,
        "sessionkit::sync: a blocking call on the thread of an event loop a store is "
        "attached to would wait for that thread itself; use the asynchronous API there");
  }
  struct State {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<Result<T>> result;
  };
  // Shared with the callback: a store may destroy its copy of the callback after this returns.
  auto state = std::make_shared<State>();
  std::forward<Start>(start)(Callback<T>([state](Result<T> r) {
    std::lock_guard lock(state->mutex);
    if (state->result) return;  // a second call would break the contract: ignored
    state->result.emplace(std::move(r));
    state->ready.notify_one();  // under the lock: the waiter cannot return before it is done
  }));
  std::unique_lock lock(state->mutex);
  state->ready.wait(lock, [&] { return state->result.has_value(); });
  return std::move(*state->result);
}

// SessionManager::load. Errors: store failures (answer 503); with bearer sessions on, a request
// with both a session cookie and a bearer credential (invalid_argument: answer 400).
inline Result<Session> load(SessionManager& manager, const http::RequestView& request) {
  return call<Session>([&](Callback<Session> done) { manager.load(request, std::move(done)); });
}

// SessionManager::commit: writes what changed and the cookie headers into `response`. Errors:
// store failures, `too_large`, `rate_limited`, `not_found` / `conflict` (the session ended
// concurrently; for a destroyed session, `not_found` only means it had already ended).
inline Status commit(SessionManager& manager, Session& session, http::ResponseHeaders& response) {
  return call<void>(
      [&](Callback<void> done) { manager.commit(session, response, std::move(done)); });
}

// SessionManager::increment: atomically adds `delta` to `field` and answers the new value.
inline Result<std::int64_t> increment(SessionManager& manager, Session& session, std::string field,
                                      std::int64_t delta = 1) {
  return call<std::int64_t>([&](Callback<std::int64_t> done) {
    manager.increment(session, std::move(field), delta, std::move(done));
  });
}

// SessionManager::update: re-applies `fn` until its changes are written over an unchanged
// version (at most `max_attempts` times) and answers the version written.
inline Result<std::uint64_t> update(SessionManager& manager, Session& session,
                                    SessionManager::Updater fn, std::size_t max_attempts = 16) {
  return call<std::uint64_t>([&](Callback<std::uint64_t> done) {
    manager.update(session, std::move(fn), std::move(done), max_attempts);
  });
}

// SessionManager::reauthentication_failed: true when the session is now marked for destruction.
inline Result<bool> reauthentication_failed(SessionManager& manager, Session& session) {
  return call<bool>(
      [&](Callback<bool> done) { manager.reauthentication_failed(session, std::move(done)); });
}

// SessionManager::list_sessions: `current`'s user's sessions, newest first.
inline Result<std::vector<SessionManager::SessionSummary>> list_sessions(SessionManager& manager,
                                                                         const Session& current) {
  using Summaries = std::vector<SessionManager::SessionSummary>;
  return call<Summaries>(
      [&](Callback<Summaries> done) { manager.list_sessions(current, std::move(done)); });
}

// SessionManager::revoke_session: true when a session of `current`'s user was destroyed.
inline Result<bool> revoke_session(SessionManager& manager, const Session& current,
                                   std::string_view handle) {
  return call<bool>(
      [&](Callback<bool> done) { manager.revoke_session(current, handle, std::move(done)); });
}

// SessionManager::revoke_user_sessions: destroys `user_id`'s sessions except `keep`.
inline Result<std::size_t> revoke_user_sessions(SessionManager& manager, const std::string& user_id,
                                                const Session* keep = nullptr) {
  return call<std::size_t>([&](Callback<std::size_t> done) {
    manager.revoke_user_sessions(user_id, keep, std::move(done));
  });
}

// ---- CSRF ----

// GET, HEAD, OPTIONS and TRACE (exactly, case-sensitive as RFC 9110 methods are): the methods
// that need no CSRF token. Every other method does.
inline bool is_safe_method(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE";
}

// SessionManager::csrf_token: a freshly masked token; writes the browser's CSRF cookie into
// `response` when it needs one.
inline std::string csrf_token(SessionManager& manager, Session& session,
                              http::ResponseHeaders& response) {
  return manager.csrf_token(session, response);
}

// Whether the request carries a valid CSRF token for `session`: its X-CSRF-Token header, else
// `form_token` ("" for none). Constant time; failures are counted by the manager's metrics.
inline bool verify_csrf(const SessionManager& manager, const Session& session,
                        const http::RequestView& request, std::string_view form_token = {}) {
  if (auto header = SessionManager::csrf_header(request)) {
    return manager.verify_csrf(session, *header);
  }
  return manager.verify_csrf(session, form_token);
}

}  // namespace sessionkit::sync
