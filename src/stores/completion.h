// completion.h — how the stores in this tree answer their callers (internal; not installed).
//
// The store contract (sessionkit/store.h): every callback is called EXACTLY ONCE, possibly
// inline, and no exception crosses the interface. Every store keeps it the same way:
//
// - `answer(done, result)` is the only way a store calls a callback. It consumes `done` (a
//   callback answered once is empty afterwards, so nothing can answer it twice) and does nothing
//   when `done` is already empty. A callback that throws breaks the contract, but the exception
//   stops here: it must not take a worker or I/O thread down, nor reach a caller's `noexcept`.
// - `complete<T>(store, done, body)`: inline stores (memory, SQLite) and reply handlers. Runs
//   `body()`, which returns the Result<T>, then answers it, after `body` has returned (so
//   outside whatever `body` locked). An exception from `body` (std::bad_alloc in practice)
//   answers `unavailable` "<store> store: <what>". `attempt<T>(store, body)` is its first half:
//   the Result<T>, for code that passes it on instead of answering (a FanIn slot).
// - `guarded<T>(store, done, submit)`: asynchronous stores (PostgreSQL, Redis). Runs `submit()`,
//   which either answers inline through `answer` or hands `done` over (moves it into a queued
//   job or a pending reply handler: the new owner answers it). An exception thrown before `done`
//   was answered or handed over answers `unavailable`; after that, `done` is empty and belongs
//   to its new owner, so the guard stays quiet. A store must therefore move `done` only into
//   whatever will answer it, and only once nothing it still does can throw, or the callback is
//   lost.
//
// `answer` runs every callback inside a `sync::CompletionScope` (sessionkit/sync.h), so that the
// blocking facade refuses to wait on a thread that is running a store's completion.
//
// `store` names the store in messages ("postgres", "redis"). Every function here is noexcept.
#pragma once

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "sessionkit/result.h"
#include "sessionkit/store.h"
#include "sessionkit/sync.h"

namespace sessionkit::stores {

// Calls `done` with `result` unless it is empty, and leaves it empty. Swallows what it throws.
template <class T>
void answer(Callback<T>& done, std::type_identity_t<Result<T>> result) noexcept {
  if (!done) return;
  Callback<T> once = std::move(done);
  done = nullptr;
  try {
    const sync::CompletionScope in_completion;
    once(std::move(result));
  } catch (
      ...) {  // NOLINT(bugprone-empty-catch): the callback broke the contract; nowhere to report
  }
}

// `unavailable` for an exception that reached a store's boundary ("<store> store: <what>").
template <class T>
Result<T> failed(std::string_view store, const char* what) noexcept {
  try {
    return Result<T>(errc::unavailable, std::string(store) + " store: " + what);
  } catch (...) {  // no memory for the message: the code alone
    return Result<T>(errc::unavailable, std::string());
  }
}

// What `body()` returns, or `unavailable` for an exception it throws.
template <class T, class F>
Result<T> attempt(std::string_view store, F&& body) noexcept {
  try {
    return std::forward<F>(body)();
  } catch (const std::exception& e) {
    return failed<T>(store, e.what());
  } catch (...) {
    return failed<T>(store, "unknown failure");
  }
}

// Inline stores and reply handlers: answers what `body()` returns (or `unavailable`).
template <class T, class F>
void complete(std::string_view store, Callback<T>& done, F&& body) noexcept {
  answer(done, attempt<T>(store, std::forward<F>(body)));
}

// Asynchronous stores: runs `submit()`; an exception before `done` was answered or handed over
// answers `unavailable`.
template <class T, class F>
void guarded(std::string_view store, Callback<T>& done, F&& submit) noexcept {
  try {
    std::forward<F>(submit)();
  } catch (const std::exception& e) {
    answer(done, failed<T>(store, e.what()));
  } catch (...) {
    answer(done, failed<T>(store, "unknown failure"));
  }
}

}  // namespace sessionkit::stores
