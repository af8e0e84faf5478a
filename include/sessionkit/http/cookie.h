// sessionkit/http/cookie.h — RFC 6265 Cookie header parsing and Set-Cookie writing.
//
// Parsing never allocates: it walks the header and hands out string_views into it. It is lenient
// the way browsers and RFC 6265 §5.4 are (optional whitespace, empty pairs and pairs without '='
// are skipped) and never fails; callers decide what a missing or duplicated cookie means.
// A cookie value wrapped in double quotes (RFC 6265 §4.1.1 cookie-value) is returned unquoted.
//
// `SetCookie` serializes one Set-Cookie header value with every attribute. `validate()` checks
// what browsers would silently reject: illegal characters in name or value, and the rules of the
// `__Secure-` (Secure required) and `__Host-` (Secure, Path=/, no Domain) prefixes.
//
// Thread safety: plain functions and values.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/clock.h"
#include "sessionkit/result.h"

namespace sessionkit::http {

// Calls `visit(name, value)` for each cookie pair in order; stops early if `visit` returns
// false. Names and values are trimmed of surrounding spaces/tabs.
template <class Visitor>
void for_each_cookie(std::string_view header, Visitor&& visit);

// The value of the first cookie named `name` (exact, case-sensitive match), if any.
std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name);

// How many cookies named `name` the header carries (duplicates are a signal of cookie tossing).
std::size_t count_cookies(std::string_view header, std::string_view name);

enum class SameSite { unset, lax, strict, none };
enum class CookiePrefix { none, secure, host };  // "", "__Secure-", "__Host-"

std::string_view prefix_string(CookiePrefix prefix) noexcept;

struct SetCookie {
  std::string name;  // the full name, including any __Host-/__Secure- prefix
  std::string value;
  std::optional<std::chrono::seconds> max_age{};  // Max-Age=N (0 or negative deletes the cookie)
  std::optional<Time> expires{};                  // Expires=<IMF-fixdate>
  std::string domain{};                           // empty: host-only
  std::string path = "/";                         // empty: no Path attribute
  bool secure = false;
  bool http_only = false;
  SameSite same_site = SameSite::unset;
  bool partitioned = false;  // CHIPS; requires Secure

  // The header value, e.g. "sid=abc; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax".
  std::string serialize() const;
  // errc::invalid_argument with a message when a browser would reject or misread the cookie.
  Status validate() const;
};

// Formats `t` as an IMF-fixdate (RFC 7231 §7.1.1.1), e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(Time t);

// ---- implementation of the template ----

namespace detail {
inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}
}  // namespace detail

template <class Visitor>
void for_each_cookie(std::string_view header, Visitor&& visit) {
  while (!header.empty()) {
    std::size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = detail::trim_ows(pair.substr(0, eq));
    std::string_view value = detail::trim_ows(pair.substr(eq + 1));
    if (name.empty()) continue;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!visit(name, value)) return;
  }
}

}  // namespace sessionkit::http
