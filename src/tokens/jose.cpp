// The JOSE building blocks (see jose.h): base64url over the core's constant-time codec, and a
// JSON reader that refuses duplicate member names (RFC 8725 §3.10 asks for one meaning per
// token; nlohmann would silently keep the last of two).
#include "tokens/jose.h"

#include <set>
#include <vector>

#include "crypto/crypto.h"

namespace sessionkit::tokens::jose {

std::string b64url(std::span<const std::uint8_t> bytes) {
  return crypto::base64url_encode(bytes);
}

std::string b64url(std::string_view bytes) {
  return crypto::base64url_encode(crypto::as_bytes(bytes));
}

std::optional<std::string> b64url_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  auto n =
      crypto::base64url_decode(text, {reinterpret_cast<std::uint8_t*>(out.data()), out.size()});
  if (!n) return std::nullopt;
  out.resize(*n);
  return out;
}

std::optional<nlohmann::json> parse_object(std::string_view text) {
  using json = nlohmann::json;
  std::vector<std::set<std::string, std::less<>>> names;  // one set per open object
  bool duplicate = false;
  const json::parser_callback_t check = [&](int /*depth*/, json::parse_event_t event,
                                            json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        names.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!names.empty()) names.pop_back();
        break;
      case json::parse_event_t::key:
        if (!names.empty() && parsed.is_string() &&
            !names.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), check, /*allow_exceptions=*/false);
  if (duplicate || value.is_discarded() || !value.is_object()) return std::nullopt;
  return value;
}

std::optional<std::string> dump(const nlohmann::json& value) {
  try {
    return value.dump();
  } catch (const nlohmann::json::exception&) {  // type_error 316: a string that is not UTF-8
    return std::nullopt;
  }
}

std::optional<Compact> split(std::string_view token) {
  const std::size_t a = token.find('.');
  if (a == std::string_view::npos) return std::nullopt;
  const std::size_t b = token.find('.', a + 1);
  if (b == std::string_view::npos || token.find('.', b + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  return Compact{token.substr(0, a), token.substr(a + 1, b - a - 1), token.substr(b + 1),
                 token.substr(0, b)};
}

}  // namespace sessionkit::tokens::jose
