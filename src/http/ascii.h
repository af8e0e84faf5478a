// Internal (not installed): the ASCII text rules HTTP header values follow, shared by the
// cookie-free header parsers (origin.cpp, proxy.cpp, form.cpp, authorization.cpp).
// Header field names, schemes, tokens and media types compare case-insensitively in ASCII only
// (RFC 9110 §5.1, §8.3.1); optional whitespace (OWS) is spaces and horizontal tabs (§5.6.3).
#pragma once

#include <cstddef>
#include <string_view>

namespace sessionkit::http::ascii {

constexpr char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// `s` without the optional whitespace at both ends.
constexpr std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

}  // namespace sessionkit::http::ascii
