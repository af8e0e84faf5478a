// sessionkit/result.h — errors as values.
//
// Every fallible operation of the library returns a `Result<T>` (or `Status`, which is
// `Result<void>`): either a value, or an error code from `errc` with a human-readable message.
// A miss ("no such session") is NOT an error: lookups answer an empty std::optional.
// `errc::unavailable` always means "the store could not answer"; callers must never treat it
// as "no session" (the HTTP layer answers 503 and keeps the client's cookie).
//
// Thread safety: plain values; distinct objects may be used from distinct threads freely.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace sessionkit {

enum class errc {
  ok = 0,
  not_found = 1,         // the target record does not exist (or has expired)
  conflict = 2,          // create of a key that already exists, or a concurrent change won
  unavailable = 3,       // the store (or another dependency) could not answer: retry later
  invalid_argument = 4,  // the caller's input is malformed (bad field type, bad URL, ...)
  too_large = 5,         // a configured limit was exceeded (payload size, key count, ...)
  corrupt = 6,           // stored data could not be decoded
  timeout = 7,           // the operation did not finish in time (a kind of unavailable)
  unsupported = 8,       // this store cannot do that (e.g. revocation with client-side sessions)
  rate_limited = 9,      // a per-client limit refused the operation for now: retry later (429)
};

const std::error_category& error_category() noexcept;
std::error_code make_error_code(errc e) noexcept;
const char* to_string(errc e) noexcept;

template <class T>
class [[nodiscard]] Result;

// Result<void>: success, or an error code and message.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() noexcept = default;
  Result(errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static Result success() noexcept { return Result(); }

  bool ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // True for errors that mean "the store could not answer" (unavailable or timeout).
  bool is_unavailable() const noexcept {
    return code_ == errc::unavailable || code_ == errc::timeout;
  }
  std::string to_string() const;

 private:
  errc code_ = errc::ok;
  std::string message_;
};

using Status = Result<void>;

// Result<T>: a T, or an error Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Status error) : status_(std::move(error)) { assert(!status_.ok()); }
  Result(errc code, std::string message) : status_(code, std::move(message)) {}

  bool ok() const noexcept { return status_.ok(); }
  explicit operator bool() const noexcept { return ok(); }
  errc code() const noexcept { return status_.code(); }
  const std::string& message() const noexcept { return status_.message(); }
  const Status& status() const noexcept { return status_; }
  bool is_unavailable() const noexcept { return status_.is_unavailable(); }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace sessionkit

template <>
struct std::is_error_code_enum<sessionkit::errc> : std::true_type {};
