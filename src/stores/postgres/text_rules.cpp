// The PostgreSQL store's text rules (see text_rules.h): a UTF-8 validator (overlong forms,
// surrogates and code points past U+10FFFF are invalid), the U+FFFD replacement, the U+0000
// checks of payloads and user ids, and the text[] literal.
#include "stores/postgres/text_rules.h"

#include <cstddef>
#include <cstdint>

#include "sessionkit/store_rules.h"

namespace sessionkit::postgres_detail {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b(i + k) & 0x3F);
  }
  constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

const Status kNulInPayload{errc::invalid_argument,
                           "postgres: payload strings and keys cannot contain U+0000 (jsonb)"};

bool storable_text(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0 || s[i] == '\0') return false;
    i += n;
  }
  return true;
}

std::string clean_text(std::string_view s, bool nul) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0 || (nul && s[i] == '\0')) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s, i, n);
      i += n;
    }
  }
  return out;
}

bool has_nul(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::string:
      return j.get_ref<const std::string&>().find('\0') != std::string::npos;
    case nlohmann::json::value_t::object:
      for (const auto& [name, value] : j.items()) {
        if (name.find('\0') != std::string::npos || has_nul(value)) return true;
      }
      return false;
    case nlohmann::json::value_t::array:
      for (const auto& value : j) {
        if (has_nul(value)) return true;
      }
      return false;
    default:
      return false;
  }
}

Status check_user(const std::string& user_id) {
  if (!storable_text(user_id)) {
    return {errc::invalid_argument, "postgres: user id must be UTF-8 without U+0000"};
  }
  return {};
}

Status check_record(const SessionRecord& r) {
  if (auto s = stores::check_record(r); !s) return s;
  if (has_nul(r.data)) return kNulInPayload;
  return check_user(r.user_id);
}

std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : clean_text(item, false)) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace sessionkit::postgres_detail
