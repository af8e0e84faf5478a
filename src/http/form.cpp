#include "sessionkit/http/form.h"

#include "http/ascii.h"

namespace sessionkit::http {
namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Calls visit(name, value) on each non-empty piece, in order, until it returns true; false when
// a piece is malformed (nothing after it is visited).
template <typename Visit>
bool for_each_field(std::string_view body, Visit&& visit) {
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view piece = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (piece.empty()) continue;
    const auto eq = piece.find('=');
    auto name = form_decode(piece.substr(0, eq));
    auto value =
        form_decode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1));
    if (!name || !value) return false;
    if (visit(std::move(*name), std::move(*value))) return true;
  }
  return true;
}

}  // namespace

std::optional<std::string> form_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_digit(text[i + 1]);
      const int lo = hex_digit(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

std::string form_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<FormFields> parse_form(std::string_view body) {
  FormFields out;
  const bool ok = for_each_field(body, [&](std::string&& name, std::string&& value) {
    out.emplace(std::move(name), std::move(value));  // emplace keeps the first value
    return false;
  });
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::string> form_field(std::string_view body, std::string_view name) {
  std::optional<std::string> found;
  // The whole body is checked even after a match: a malformed body has no fields at all.
  const bool ok = for_each_field(body, [&](std::string&& key, std::string&& value) {
    if (!found && key == name) found = std::move(value);
    return false;
  });
  if (!ok) return std::nullopt;
  return found;
}

bool is_form_content_type(std::string_view content_type) {
  constexpr std::string_view kForm = "application/x-www-form-urlencoded";
  return ascii::iequals(ascii::trim_ows(content_type.substr(0, content_type.find(';'))), kForm);
}

}  // namespace sessionkit::http
