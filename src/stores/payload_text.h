// Internal to the stores: one payload value from its JSON text (the Redis store keeps each value
// as a hash field of JSON text), exactly as `nlohmann::json::parse(text, nullptr, false)` gives
// it (a discarded value for text that does not parse), but without nlohmann's lexer for the
// values sessions mostly hold: a plain string (no escape, no control character, valid UTF-8),
// a small integer, true, false and null. Those cost at most one allocation (a string's text)
// instead of the lexer's buffer growth and a second copy. Anything else (escapes, floats, big or
// signed-zero numbers, whitespace, objects, arrays) goes to nlohmann's parser. payload_fuzz
// checks that both agree on any text, types included.
//
// Thread safety: a plain function.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "stores/utf8.h"

namespace sessionkit::stores {

inline nlohmann::json parse_payload_text(std::string_view text) {
  const std::size_t n = text.size();
  if (n >= 2 && text.front() == '"' && text.back() == '"') {
    const std::string_view inner = text.substr(1, n - 2);
    bool plain = true;
    for (const char ch : inner) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == '"' || c == '\\') {
        plain = false;
        break;
      }
    }
    if (plain && valid_utf8(inner)) return nlohmann::json(std::string(inner));
  } else if (n >= 1 && n <= 18 && (text[0] == '-' || (text[0] >= '0' && text[0] <= '9'))) {
    // 0, [1-9][0-9]* (unsigned, as nlohmann reads a non-negative integer), -[1-9][0-9]*.
    const bool negative = text[0] == '-';
    const std::string_view digits = negative ? text.substr(1) : text;
    bool ok = !digits.empty() && (digits[0] != '0' || (digits.size() == 1 && !negative));
    std::uint64_t value = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (ok) {
      if (!negative) return nlohmann::json(value);
      return nlohmann::json(-static_cast<std::int64_t>(value));
    }
  } else if (text == "true") {
    return nlohmann::json(true);
  } else if (text == "false") {
    return nlohmann::json(false);
  } else if (text == "null") {
    return nlohmann::json(nullptr);
  }
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace sessionkit::stores
