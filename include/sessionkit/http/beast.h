// sessionkit/http/beast.h — the Boost.Beast / Boost.Asio adapter (target sessionkit::beast).
//
// Views. `BasicRequestView<Fields>` implements http::RequestView over a Beast request header
// (a `boost::beast::http::request<Body>` converts to it), plus the peer address and whether the
// transport is TLS, which Beast messages do not carry. `BasicResponseHeaders<Fields>` implements
// http::ResponseHeaders over a Beast response header. Both BORROW the message: it must outlive
// the view and every manager call the view is passed to. Use the aliases `BeastRequestView` and
// `BeastResponseHeaders` for the default `boost::beast::http::fields`.
// `header(name)` answers the first field line of `name`, except for `Cookie`: several Cookie lines
// are joined with "; " (as RFC 9113 §8.2.3 does for HTTP/2), so that the cookie parser, and its
// duplicate-cookie detection, sees every cookie. The joined text is built on first use and owned
// by the view: a string_view obtained from it is valid while the view lives and is not moved.
//
// Forwarding headers. `resolve_client(proxies, header, peer, peer_tls)` passes EVERY field line
// of X-Forwarded-For and X-Forwarded-Proto to `TrustedProxies::resolve` (sessionkit/http/proxy.h);
// answer 400 when the result is `malformed`.
//
// Request framing. `framing_error(parser)` (or `framing_error(header)`) checks a parsed request
// header for what RFC 9112 demands a 400 and a closed connection for, and Beast 1.81 lets
// through: Transfer-Encoding whose final coding is not `chunked` (Beast reads no body and runs
// the body's bytes as the next request), `chunked` more than once, any Transfer-Encoding on
// HTTP/1.0 (Beast decodes it), Transfer-Encoding with Content-Length, HTTP/1.1 without Host, more
// than one Host line, a Host value with characters no URI authority has. (Several Content-Length
// lines or values that disagree, and Content-Length before a chunked Transfer-Encoding, are already
// parse errors in Beast: `multiple_content_length`, `bad_transfer_encoding`.) Call it after
// `async_read_header` and before reading the body or answering `Expect: 100-continue`; on an error,
// answer 400 with `Connection: close` and close the connection without parsing anything further.
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
// stores and client-side sessions always do): the coroutine goes on with the result at once,
// without a trip through the scheduler. A call that completes later (Redis, PostgreSQL) resumes the
// coroutine on its executor exactly as the `use_awaitable` forms do, except that a completion on
// the coroutine's own thread (a store attached to its event loop: RedisStore::attach) resumes it
// right there (dispatch) instead of queueing it. Prefer them in coroutine code.
//
// The request lifecycle: `with_session` (sessionkit/http/beast_session.h) answers one request
// with a handler that holds only its own logic.
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

#include <array>
#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sessionkit/http/failure.h"
#include "sessionkit/http/origin.h"
#include "sessionkit/http/proxy.h"
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
    if (name.size() == 6 && boost::beast::iequals(name, "Cookie")) return cookie();
    auto it = header_->find(name);
    if (it == header_->end()) return std::nullopt;
    return std::string_view(it->value());
  }
  std::string_view peer_address() const override { return peer_; }
  bool is_tls() const override { return tls_; }

 private:
  // Every Cookie line, joined with "; " when there are several.
  std::optional<std::string_view> cookie() const {
    auto [first, last] = header_->equal_range(boost::beast::http::field::cookie);
    if (first == last) return std::nullopt;
    if (std::next(first) == last) return std::string_view(first->value());
    if (!joined_cookie_) {
      std::string joined;
      for (auto it = first; it != last; ++it) {
        if (!joined.empty()) joined += "; ";
        joined.append(it->value().data(), it->value().size());
      }
      joined_cookie_ = std::move(joined);
    }
    return std::string_view(*joined_cookie_);
  }

  const header_type* header_;
  std::string peer_;
  bool tls_;
  mutable std::optional<std::string> joined_cookie_;  // built once, on first use
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

// ---- forwarding headers ----

// `proxies.resolve` over every X-Forwarded-For and X-Forwarded-Proto line of `header`, in order.
// Without trusted proxies the header is not looked at. No allocation for up to 8 lines of each.
template <class Fields>
http::TrustedProxies::Client resolve_client(const http::TrustedProxies& proxies,
                                            const boost::beast::http::header<true, Fields>& header,
                                            std::string_view peer, bool peer_tls) {
  if (proxies.empty()) return {std::string(peer), peer_tls};
  struct Lines {
    std::array<std::string_view, 8> small{};
    std::vector<std::string_view> more;
    std::size_t n = 0;
    std::span<const std::string_view> collect(const boost::beast::http::header<true, Fields>& h,
                                              std::string_view name) {
      auto [first, last] = h.equal_range(name);
      for (auto it = first; it != last; ++it) {
        const std::string_view line(it->value().data(), it->value().size());
        if (n < small.size()) {
          small[n++] = line;
          continue;
        }
        if (more.empty()) more.assign(small.begin(), small.end());
        more.push_back(line);
      }
      if (more.empty()) return {small.data(), n};
      return more;
    }
  } forwarded_for, forwarded_proto;
  return proxies.resolve(peer, peer_tls, forwarded_for.collect(header, "X-Forwarded-For"),
                         forwarded_proto.collect(header, "X-Forwarded-Proto"));
}

// ---- request framing ----

// Why a parsed request header must be answered with 400 and a closed connection (see the top of
// this file), or nullopt when its framing is sound. The message is a static string.
template <class Fields>
std::optional<std::string_view> framing_error(
    const boost::beast::http::header<true, Fields>& header) {
  namespace bhttp = boost::beast::http;
  auto [te_first, te_last] = header.equal_range(bhttp::field::transfer_encoding);
  if (te_first != te_last) {
    if (header.version() < 11) return "Transfer-Encoding on HTTP/1.0";
    if (header.find(bhttp::field::content_length) != header.end())
      return "Transfer-Encoding together with Content-Length";
    // The codings of every line, as one list: `chunked` must be the final one, and only once.
    std::size_t codings = 0, chunked_at = 0, chunked_count = 0;
    for (auto it = te_first; it != te_last; ++it) {
      std::string_view rest(it->value().data(), it->value().size());
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view coding = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
          coding.remove_prefix(1);
        while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
          coding.remove_suffix(1);
        if (coding.empty()) continue;
        ++codings;
        if (boost::beast::iequals(coding, "chunked")) {
          ++chunked_count;
          chunked_at = codings;
        }
      }
    }
    if (chunked_count != 1 || chunked_at != codings)
      return "Transfer-Encoding must end in chunked, once";
  }
  auto [host_first, host_last] = header.equal_range(bhttp::field::host);
  if (host_first == host_last) {
    if (header.version() >= 11) return "missing Host header";
  } else {
    if (std::next(host_first) != host_last) return "more than one Host header";
    // uri-host [ ":" port ]: unreserved, pct-encoded, sub-delims, ":" and the IP-literal brackets.
    for (const char c : std::string_view(host_first->value().data(), host_first->value().size())) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("-._~%!$&'()*+,;=:[]").find(c) != std::string_view::npos;
      if (!ok) return "invalid Host header";
    }
  }
  return std::nullopt;
}

// `framing_error(parser.get())`, and whether Beast agrees that a Transfer-Encoding is chunked.
template <class Body, class Allocator>
std::optional<std::string_view> framing_error(
    const boost::beast::http::parser<true, Body, Allocator>& parser) {
  if (auto error = framing_error(parser.get().base())) return error;
  if (!parser.chunked() &&
      parser.get().find(boost::beast::http::field::transfer_encoding) != parser.get().end()) {
    return "Transfer-Encoding not understood";
  }
  return std::nullopt;
}

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

// Runs `handler(result)` from `state` (a completion_state): inline when `inline_ok` and the
// calling thread runs the handler's executor (asio::dispatch), else posted to that executor.
template <class T, class State>
void deliver_completion(std::shared_ptr<State> state, Result<T> result, bool inline_ok) {
  auto ex = state->work.get_executor();  // copied first: `state` moves into the function
  auto run = [state = std::move(state), result = std::move(result)]() mutable {
    auto h = std::move(state->handler);
    state->work.reset();
    std::move(h)(std::move(result));
  };
  if (inline_ok) {
    boost::asio::dispatch(ex, std::move(run));
  } else {
    boost::asio::post(ex, std::move(run));
  }
}

// A sessionkit::Callback<T> that posts `handler(result)` to the handler's executor.
template <class T, class Handler>
Callback<T> make_posting_callback(Handler&& handler) {
  using handler_type = std::decay_t<Handler>;
  auto state = std::make_shared<completion_state<handler_type>>(std::forward<Handler>(handler));
  return [state = std::move(state)](Result<T> result) mutable {
    // Posting (never dispatching) keeps the guarantee for inline completions and keeps request
    // code off store threads.
    deliver_completion<T>(std::move(state), std::move(result), /*inline_ok=*/false);
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
// A result that arrives after the coroutine has suspended, on a thread that runs the coroutine's
// executor (a store attached to that event loop: RedisStore::attach), resumes it right there
// (dispatch); from any other thread it is posted, as `async_call` does.
template <class T, class Start>
boost::asio::awaitable<Result<T>> co_call(Start start) {
  detail::rendezvous<T> meet;
  start(Callback<T>([&meet](Result<T> r) { meet.complete(std::move(r)); }));
  if (meet.state.load(std::memory_order_acquire) == detail::rendezvous<T>::completed) {
    co_return std::move(*meet.result);  // completed inline: no suspension at all
  }
  auto wait = [&meet](auto handler) {
    using handler_type = decltype(handler);
    auto state = std::make_shared<detail::completion_state<handler_type>>(std::move(handler));
    // Called by `meet.complete` after this initiation has returned: the coroutine is suspended.
    meet.resume = [state](Result<T> r) {
      detail::deliver_completion<T>(state, std::move(r), /*inline_ok=*/true);
    };
    if (meet.state.exchange(detail::rendezvous<T>::waiting, std::memory_order_acq_rel) ==
        detail::rendezvous<T>::completed) {
      // The result arrived between the check above and now, inside this initiation: post it
      // (a handler never runs inside its initiating function).
      meet.resume = nullptr;
      detail::deliver_completion<T>(state, std::move(*meet.result), /*inline_ok=*/false);
    }
  };
  co_return co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&,
                                                 void(Result<T>)>(std::move(wait),
                                                                  boost::asio::use_awaitable);
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
