// RFC 6265 cookie codec: Cookie header lookup, Set-Cookie serialization and validation,
// IMF-fixdate formatting. See include/sessionkit/http/cookie.h for the contract.
#include "sessionkit/http/cookie.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace sessionkit::http {
namespace {

// Limits from RFC 6265bis §5.6 (enforced by Chrome, Firefox and Safari): a cookie whose
// name+value exceeds 4096 bytes is dropped, and so is an attribute value over 1024 bytes.
constexpr std::size_t max_name_value_size = 4096;
constexpr std::size_t max_attribute_value_size = 1024;

constexpr bool is_ctl(unsigned char c) noexcept {
  return c < 0x20 || c == 0x7f;
}

// RFC 7230 §3.2.6 tchar: any VCHAR except delimiters "(),/:;<=>?@[\]{} and DQUOTE.
constexpr bool is_tchar(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// RFC 6265 §4.1.1 cookie-octet: US-ASCII except CTLs, whitespace, DQUOTE, comma, semicolon and
// backslash.
constexpr bool is_cookie_octet(unsigned char c) noexcept {
  return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
         (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

// "0x3B (';')" for printable bytes, "0x0A" otherwise.
std::string describe_byte(unsigned char c) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string s = "0x";
  s += hex[c >> 4];
  s += hex[c & 0x0f];
  if (c > 0x20 && c < 0x7f) {
    s += " ('";
    s += static_cast<char>(c);
    s += "')";
  } else if (c == ' ') {
    s += " (space)";
  }
  return s;
}

Status bad_char(std::string_view what, unsigned char c, std::size_t offset) {
  return Status(errc::invalid_argument, std::string(what) + " contains illegal character " +
                                            describe_byte(c) + " at offset " +
                                            std::to_string(offset));
}

// Domain and Path are RFC 6265 §4.1.1 "<any CHAR except CTLs or ';'>"; CHAR is US-ASCII, so
// non-ASCII (e.g. an IDN domain not yet in punycode) is rejected as well.
Status check_attribute(std::string_view what, std::string_view value) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (is_ctl(c) || c == ';' || c >= 0x80) return bad_char(what, c, i);
  }
  if (value.size() > max_attribute_value_size) {
    return Status(errc::invalid_argument, std::string(what) + " is " +
                                              std::to_string(value.size()) +
                                              " bytes; browsers ignore attributes over " +
                                              std::to_string(max_attribute_value_size));
  }
  return {};
}

// Browsers match the prefixes case-insensitively (RFC 6265bis §4.1.3), so "__host-sid" is held
// to the __Host- rules too.
bool has_prefix_ci(std::string_view name, std::string_view prefix) noexcept {
  if (name.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), name.begin(), [](char a, char b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(a) == lower(b);
  });
}

void append_2digits(std::string& out, unsigned v) {
  out += static_cast<char>('0' + v / 10 % 10);
  out += static_cast<char>('0' + v % 10);
}

}  // namespace

std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name) {
  std::optional<std::string_view> found;
  for_each_cookie(header, [&](std::string_view n, std::string_view v) {
    if (n != name) return true;
    found = v;
    return false;
  });
  return found;
}

std::size_t count_cookies(std::string_view header, std::string_view name) {
  std::size_t count = 0;
  for_each_cookie(header, [&](std::string_view n, std::string_view) {
    if (n == name) ++count;
    return true;
  });
  return count;
}

std::string_view prefix_string(CookiePrefix prefix) noexcept {
  switch (prefix) {
    case CookiePrefix::none:
      return "";
    case CookiePrefix::secure:
      return "__Secure-";
    case CookiePrefix::host:
      return "__Host-";
  }
  return "";
}

std::string SetCookie::serialize() const {
  std::string out;
  out.reserve(name.size() + value.size() + domain.size() + path.size() + 128);
  out += name;
  out += '=';
  out += value;
  if (max_age) {
    // RFC 6265 §4.1.1 writes Max-Age as non-negative digits; a negative age means "delete",
    // which 0 says in a form every client parses.
    out += "; Max-Age=";
    out += std::to_string(std::max<std::chrono::seconds::rep>(max_age->count(), 0));
  }
  if (expires) {
    out += "; Expires=";
    out += http_date(*expires);
  }
  if (!domain.empty()) {
    out += "; Domain=";
    out += domain;
  }
  if (!path.empty()) {
    out += "; Path=";
    out += path;
  }
  if (secure) out += "; Secure";
  if (http_only) out += "; HttpOnly";
  switch (same_site) {
    case SameSite::unset:
      break;
    case SameSite::lax:
      out += "; SameSite=Lax";
      break;
    case SameSite::strict:
      out += "; SameSite=Strict";
      break;
    case SameSite::none:
      out += "; SameSite=None";
      break;
  }
  if (partitioned) out += "; Partitioned";
  return out;
}

Status SetCookie::validate() const {
  if (name.empty()) return Status(errc::invalid_argument, "cookie name is empty");
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (!is_tchar(c)) return bad_char("cookie name", c, i);
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (!is_cookie_octet(c)) return bad_char("cookie value", c, i);
  }
  if (name.size() + value.size() > max_name_value_size) {
    return Status(errc::invalid_argument,
                  "cookie name and value are " + std::to_string(name.size() + value.size()) +
                      " bytes; browsers drop cookies over " + std::to_string(max_name_value_size));
  }
  if (Status s = check_attribute("Domain", domain); !s) return s;
  if (Status s = check_attribute("Path", path); !s) return s;
  if (!path.empty() && path.front() != '/') {
    // RFC 6265 §5.2.4: such a Path is ignored and the request path's directory used instead.
    return Status(errc::invalid_argument, "Path \"" + path + "\" does not start with '/'");
  }

  if (has_prefix_ci(name, prefix_string(CookiePrefix::host))) {
    if (!secure) return Status(errc::invalid_argument, "__Host- cookie requires Secure");
    if (path != "/") {
      return Status(errc::invalid_argument,
                    "__Host- cookie requires Path=/ (got \"" + path + "\")");
    }
    if (!domain.empty()) {
      return Status(errc::invalid_argument,
                    "__Host- cookie must not have a Domain (got \"" + domain + "\")");
    }
  } else if (has_prefix_ci(name, prefix_string(CookiePrefix::secure)) && !secure) {
    return Status(errc::invalid_argument, "__Secure- cookie requires Secure");
  }
  if (same_site == SameSite::none && !secure) {
    return Status(errc::invalid_argument, "SameSite=None requires Secure");
  }
  if (partitioned && !secure) {
    return Status(errc::invalid_argument, "Partitioned requires Secure");
  }
  return {};
}

std::string http_date(Time t) {
  using namespace std::chrono;
  // IMF-fixdate has a four-digit year: clamp to 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
  // (this also keeps the calendar conversion below far from overflow).
  constexpr sys_seconds lo = sys_days{year{1} / January / 1};
  constexpr sys_seconds hi =
      sys_days{year{9999} / December / 31} + hours{23} + minutes{59} + seconds{59};
  sys_seconds s = std::clamp(floor<seconds>(t), lo, hi);

  static constexpr std::array<const char*, 7> day_names = {"Sun", "Mon", "Tue", "Wed",
                                                           "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> month_names = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

  const sys_days day = floor<days>(s);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> tod{s - day};
  const auto y = static_cast<unsigned>(static_cast<int>(ymd.year()));

  std::string out;
  out.reserve(29);  // "Sun, 06 Nov 1994 08:49:37 GMT"
  out += day_names[weekday{day}.c_encoding()];
  out += ", ";
  append_2digits(out, static_cast<unsigned>(ymd.day()));
  out += ' ';
  out += month_names[static_cast<unsigned>(ymd.month()) - 1];
  out += ' ';
  append_2digits(out, y / 100);
  append_2digits(out, y % 100);
  out += ' ';
  append_2digits(out, static_cast<unsigned>(tod.hours().count()));
  out += ':';
  append_2digits(out, static_cast<unsigned>(tod.minutes().count()));
  out += ':';
  append_2digits(out, static_cast<unsigned>(tod.seconds().count()));
  out += " GMT";
  return out;
}

}  // namespace sessionkit::http
