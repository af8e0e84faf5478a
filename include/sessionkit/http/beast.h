// sessionkit/http/beast.h — the Boost.Beast / Boost.Asio adapter (target sessionkit::beast).
//
// Views. `BasicRequestView<Fields>` implements http::RequestView over a Beast request header
// (a `boost::beast::http::request<Body>` converts to it), plus the peer address and whether the
// transport is TLS, which Beast messages do not carry. `BasicResponseHeaders<Fields>` implements
// http::ResponseHeaders over a Beast response header. Both BORROW the message: it must outlive
// the view and every manager call the view is passed to. Use the aliases `BeastRequestView` and
// `BeastResponseHeaders` for the default `boost::beast::http::fields`.
//
// Asynchronous operations. `async_load`, `async_commit`, `async_increment` and the generic
// `async_call` turn the manager's (and stores') callback API into Asio asynchronous operations
// initiated with `boost::asio::async_initiate`, so any completion token works:
//
//   Result<Session> s = co_await sessionkit::beast::async_load(manager, view, asio::use_awaitable);
//
// Completion signatures carry the library's result type unchanged (errors are values, nothing
// is thrown): `void(Result<Session>)`, `void(Status)`, `void(Result<std::int64_t>)`.
//
// Completion rules (the usual Asio guarantees, whatever the store does):
// - The handler is NEVER invoked from inside the initiating function, even though the memory
//   and SQLite stores complete inline, and never on a store's own thread: the completion is
//   always `post`ed to the handler's associated executor (for `use_awaitable`: the coroutine's
//   executor or strand). Without an associated executor, `asio::system_executor` is used.
// - Outstanding work is tracked on that executor until the handler has run, so `io_context::run`
//   does not return while an operation is pending.
// - The operations are not cancellable (a started store call always completes); cancellation
//   slots of the handler are ignored.
// - Ownership: `manager`, `request`, `session` and `response` are borrowed and must stay alive
//   until the handler runs. Coroutine locals satisfy this automatically.
//
// Coroutines. `co_load`, `co_commit`, `co_increment` and `co_call` are the same operations as
// `asio::awaitable`s that do not suspend at all when the call completes inline (the memory, SQLite
// and cookie stores always do): the coroutine goes on with the result at once, without a trip
// through the scheduler. A call that completes later (Redis, PostgreSQL) resumes the coroutine
// on its executor exactly as the `use_awaitable` forms do. Prefer them in coroutine code.
//
// g++ 12 caveat (reproduced with Debian's 12.2): a temporary closure or brace-initialized
// aggregate that owns resources (e.g. a lambda capturing a std::string by value) written
// INSIDE a `co_await` expression is destroyed twice (double free). Name it first:
//   auto start = [s = std::string(x)](Callback<bool> done) { ... };
//   auto r = co_await async_call<bool>(std::move(start), asio::use_awaitable);
// The wrappers below take only references and views, so they are not affected.
//
// Thread safety: the views are used by one thread at a time; the functions are thread-safe as
// far as SessionManager is (fully).
#pragma once

#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "sessionkit/http/request.h"
#include "sessionkit/manager.h"
#include "sessionkit/result.h"
#include "sessionkit/session.h"
#include "sessionkit/store.h"

namespace sessionkit::beast {

// ---- views ----

template <class Fields = boost::beast::http::fields>
class BasicRequestView final : public http::RequestView {
 public:
  using header_type = boost::beast::http::header<true, Fields>;

  // `header` is borrowed. `peer_address` is copied (e.g. "203.0.113.7" or "::1").
  explicit BasicRequestView(const header_type& header, std::string peer_address = {},
                            bool is_tls = false)
      : header_(&header), peer_(std::move(peer_address)), tls_(is_tls) {}

  std::string_view method() const override { return header_->method_string(); }
  std::string_view target() const override { return header_->target(); }
  std::optional<std::string_view> header(std::string_view name) const override {
    auto it = header_->find(name);
    if (it == header_->end()) return std::nullopt;
    return std::string_view(it->value());
  }
  std::string_view peer_address() const override { return peer_; }
  bool is_tls() const override { return tls_; }

  const header_type& beast_header() const noexcept { return *header_; }

 private:
  const header_type* header_;
  std::string peer_;
  bool tls_;
};

template <class Fields = boost::beast::http::fields>
class BasicResponseHeaders final : public http::ResponseHeaders {
 public:
  using header_type = boost::beast::http::header<false, Fields>;

  // `header` is borrowed (a `boost::beast::http::response<Body>` converts to it).
  explicit BasicResponseHeaders(header_type& header) : header_(&header) {}

  void add(std::string_view name, std::string_view value) override { header_->insert(name, value); }
  void set(std::string_view name, std::string_view value) override { header_->set(name, value); }

 private:
  header_type* header_;
};

using BeastRequestView = BasicRequestView<>;
using BeastResponseHeaders = BasicResponseHeaders<>;

// ---- asynchronous operations ----

namespace detail {

// Owns the handler and a work guard on its executor until the completion has run. Shared
// because sessionkit::Callback is a (copyable) std::function while Asio handlers are move-only.
template <class Handler>
struct completion_state {
  using executor_type = boost::asio::associated_executor_t<Handler, boost::asio::system_executor>;

  explicit completion_state(Handler&& h)
      : work(boost::asio::make_work_guard(
            boost::asio::get_associated_executor(h, boost::asio::system_executor()))),
        handler(std::move(h)) {}

  boost::asio::executor_work_guard<executor_type> work;
  Handler handler;
};

// A sessionkit::Callback<T> that posts `handler(result)` to the handler's executor.
template <class T, class Handler>
Callback<T> make_posting_callback(Handler&& handler) {
  using handler_type = std::decay_t<Handler>;
  auto state = std::make_shared<completion_state<handler_type>>(std::forward<Handler>(handler));
  return [state = std::move(state)](Result<T> result) mutable {
    // Posting (never dispatching) keeps the guarantee for inline completions and keeps request
    // code off store threads. Copy the executor first: `state` is moved into the function.
    auto ex = state->work.get_executor();
    boost::asio::post(ex, [state = std::move(state), result = std::move(result)]() mutable {
      handler_type h = std::move(state->handler);
      state->work.reset();
      std::move(h)(std::move(result));
    });
  };
}

}  // namespace detail

// Runs `start(Callback<T>)`, which must arrange for the callback to be called exactly once
// (e.g. a SessionStore member call), and completes `token` with the Result<T>.
// Signature: void(Result<T>).
template <class T, class Start, class CompletionToken>
auto async_call(Start&& start, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(Result<T>)>(
      [](auto handler, std::decay_t<Start> start_fn) {
        start_fn(detail::make_posting_callback<T>(std::move(handler)));
      },
      token, std::forward<Start>(start));
}

// SessionManager::load. Signature: void(Result<Session>).
template <class CompletionToken>
auto async_load(SessionManager& manager, const http::RequestView& request,
                CompletionToken&& token) {
  return async_call<Session>(
      [&manager, &request](Callback<Session> done) { manager.load(request, std::move(done)); },
      std::forward<CompletionToken>(token));
}

// SessionManager::commit. Signature: void(Status).
template <class CompletionToken>
auto async_commit(SessionManager& manager, Session& session, http::ResponseHeaders& response,
                  CompletionToken&& token) {
  return async_call<void>(
      [&manager, &session, &response](Callback<void> done) {
        manager.commit(session, response, std::move(done));
      },
      std::forward<CompletionToken>(token));
}

// SessionManager::increment. Signature: void(Result<std::int64_t>).
template <class CompletionToken>
auto async_increment(SessionManager& manager, Session& session, std::string_view field,
                     std::int64_t delta, CompletionToken&& token) {
  return async_call<std::int64_t>(
      [&manager, &session, field = std::string(field), delta](Callback<std::int64_t> done) {
        manager.increment(session, field, delta, std::move(done));
      },
      std::forward<CompletionToken>(token));
}

// ---- coroutines ----

namespace detail {

// The meeting point of a call's completion and the coroutine waiting for it. It lives in the
// waiting coroutine's frame, which outlasts the call: the coroutine cannot finish before the
// result has arrived. Whichever of the two sides comes second delivers the result.
template <class T>
struct rendezvous {
  enum : int { started = 0, completed = 1, waiting = 2 };
  std::atomic<int> state{started};
  std::optional<Result<T>> result;
  Callback<T> resume;  // set by the coroutine before it announces `waiting`

  void complete(Result<T> r) {
    result.emplace(std::move(r));
    if (state.exchange(completed, std::memory_order_acq_rel) == waiting) {
      Callback<T> resume_now = std::move(resume);
      Result<T> value = std::move(*result);
      resume_now(std::move(value));  // `this` may be gone once this returns
    }
  }
};

}  // namespace detail

// Awaitable form of `async_call` (see "Coroutines" above). Signature: Result<T>.
template <class T, class Start>
boost::asio::awaitable<Result<T>> co_call(Start start) {
  detail::rendezvous<T> meet;
  start(Callback<T>([&meet](Result<T> r) { meet.complete(std::move(r)); }));
  if (meet.state.load(std::memory_order_acquire) == detail::rendezvous<T>::completed) {
    co_return std::move(*meet.result);  // completed inline: no suspension at all
  }
  auto wait = [&meet](Callback<T> done) {
    meet.resume = std::move(done);
    if (meet.state.exchange(detail::rendezvous<T>::waiting, std::memory_order_acq_rel) ==
        detail::rendezvous<T>::completed) {
      // The result arrived between the check above and now: deliver it (posted by `done`).
      Callback<T> deliver = std::move(meet.resume);
      deliver(std::move(*meet.result));
    }
  };
  co_return co_await async_call<T>(std::move(wait), boost::asio::use_awaitable);
}

// SessionManager::load as an awaitable. Result<Session>.
// (Plain functions around co_call, not coroutines themselves: one coroutine frame per call.)
inline boost::asio::awaitable<Result<Session>> co_load(SessionManager& manager,
                                                       const http::RequestView& request) {
  return co_call<Session>(
      [&manager, &request](Callback<Session> done) { manager.load(request, std::move(done)); });
}

// SessionManager::commit as an awaitable. Status.
inline boost::asio::awaitable<Status> co_commit(SessionManager& manager, Session& session,
                                                http::ResponseHeaders& response) {
  return co_call<void>([&manager, &session, &response](Callback<void> done) {
    manager.commit(session, response, std::move(done));
  });
}

// SessionManager::increment as an awaitable. Result<std::int64_t>.
inline boost::asio::awaitable<Result<std::int64_t>> co_increment(SessionManager& manager,
                                                                 Session& session,
                                                                 std::string_view field,
                                                                 std::int64_t delta) {
  return co_call<std::int64_t>(
      [&manager, &session, name = std::string(field), delta](Callback<std::int64_t> done) {
        manager.increment(session, name, delta, std::move(done));
      });
}

}  // namespace sessionkit::beast
