// Reading an access token's claims set; the rules are in claims.h.
#include "tokens/claims.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "tokens/jose.h"

namespace sessionkit::tokens::claims {

namespace {

using json = nlohmann::json;

constexpr std::array<std::string_view, 8> kRegistered = {"iss", "aud", "sub", "sid",
                                                         "iat", "exp", "nbf", "jti"};

// A NumericDate member as a Time: nullopt when absent, an error when not an integer in range.
Result<std::optional<Time>> numeric_date(const json& claims, const char* name) {
  const auto it = claims.find(name);
  if (it == claims.end()) return std::optional<Time>();
  std::int64_t v = -1;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(kMaxNumericDate)) v = static_cast<std::int64_t>(u);
  } else if (it->is_number_integer()) {
    v = it->get<std::int64_t>();
  }
  if (v < 0 || v > kMaxNumericDate) {
    return Status(errc::invalid_argument, std::string(name) + " is not an integer NumericDate");
  }
  return std::optional<Time>(from_millis(v * 1000));
}

}  // namespace

bool is_registered(std::string_view name) {
  return std::find(kRegistered.begin(), kRegistered.end(), name) != kRegistered.end();
}

Read read(std::string_view text) {
  const auto refuse = [](Rejection why, std::string detail) {
    return Read{std::nullopt, why, std::move(detail)};
  };
  const auto claims = jose::parse_object(text);
  if (!claims) return refuse(Rejection::malformed, "the claims are not one JSON object");

  AccessToken out;
  const auto string_claim = [&](const char* name, std::string& into) {
    const auto it = claims->find(name);
    if (it == claims->end() || !it->is_string()) return false;
    into = it->get_ref<const std::string&>();
    return true;
  };
  if (!string_claim("iss", out.issuer) || !string_claim("sub", out.subject) ||
      !string_claim("sid", out.session_id) || !string_claim("jti", out.jwt_id)) {
    return refuse(Rejection::bad_claim, "iss, sub, sid and jti must be strings");
  }
  const auto aud = claims->find("aud");
  if (aud != claims->end() && aud->is_string()) {
    out.audience.push_back(aud->get_ref<const std::string&>());
  } else if (aud != claims->end() && aud->is_array()) {
    for (const json& a : *aud) {
      if (!a.is_string()) return refuse(Rejection::bad_claim, "aud holds a non-string");
      out.audience.push_back(a.get_ref<const std::string&>());
    }
  } else {
    return refuse(Rejection::bad_claim, "aud must be a string or an array of strings");
  }
  const auto iat = numeric_date(*claims, "iat");
  const auto exp = numeric_date(*claims, "exp");
  const auto nbf = numeric_date(*claims, "nbf");
  for (const auto* t : {&iat, &exp, &nbf}) {
    if (!t->ok()) return refuse(Rejection::bad_claim, t->message());
  }
  if (!iat->has_value() || !exp->has_value()) {
    return refuse(Rejection::bad_claim, "iat and exp are required");
  }
  out.issued_at = **iat;
  out.expires_at = **exp;
  out.not_before = *nbf;
  for (const auto& [name, value] : claims->items()) {
    if (!is_registered(name)) out.extra.emplace(name, value);
  }
  return {std::move(out)};
}

std::optional<AccessToken> read_flat(std::string_view text) {
  std::size_t i = 0;
  const auto at = [&](char c) { return i < text.size() && text[i] == c; };
  const auto take = [&](std::string_view word) {
    if (text.substr(i, word.size()) != word) return false;
    i += word.size();
    return true;
  };
  // A string of printable ASCII without escapes, its quotes stripped.
  const auto plain_string = [&]() -> std::optional<std::string_view> {
    if (!at('"')) return std::nullopt;
    const std::size_t start = ++i;
    for (; i < text.size(); ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c == '"') return text.substr(start, i++ - start);
      if (c < 0x20 || c > 0x7e || c == '\\') return std::nullopt;
    }
    return std::nullopt;
  };
  // A non-negative integer of at most 18 digits (no leading zero, no fraction, no exponent).
  const auto plain_integer = [&]() -> std::optional<std::uint64_t> {
    const std::size_t start = i;
    std::uint64_t v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
      v = v * 10 + (text[i++] - '0');
    const std::size_t digits = i - start;
    if (digits == 0 || digits > 18 || (digits > 1 && text[start] == '0')) return std::nullopt;
    return v;
  };

  AccessToken out;
  std::array<std::string_view, 16> names;
  std::size_t count = 0;
  unsigned seen = 0;  // bit k: kRegistered[k]
  if (!take("{")) return std::nullopt;
  do {
    const auto name = plain_string();
    if (!name || count == names.size() || !take(":")) return std::nullopt;
    if (std::find(names.begin(), names.begin() + count, *name) != names.begin() + count) {
      return std::nullopt;  // a duplicate: `read` refuses it
    }
    names[count++] = *name;
    const auto reg = std::find(kRegistered.begin(), kRegistered.end(), *name);
    const bool is_registered = reg != kRegistered.end();
    if (is_registered) seen |= 1u << (reg - kRegistered.begin());
    const bool is_date = *name == "iat" || *name == "exp" || *name == "nbf";
    if (at('"')) {
      const auto value = plain_string();
      if (!value || is_date) return std::nullopt;
      if (*name == "iss") {
        out.issuer = *value;
      } else if (*name == "sub") {
        out.subject = *value;
      } else if (*name == "sid") {
        out.session_id = *value;
      } else if (*name == "jti") {
        out.jwt_id = *value;
      } else if (*name == "aud") {
        out.audience.emplace_back(*value);
      } else {
        out.extra.emplace(std::string(*name), json(std::string(*value)));
      }
    } else if (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      const auto value = plain_integer();
      if (!value || (is_registered && !is_date)) return std::nullopt;
      if (is_date) {
        if (*value > static_cast<std::uint64_t>(kMaxNumericDate)) return std::nullopt;
        const Time t = from_millis(static_cast<std::int64_t>(*value) * 1000);
        if (*name == "iat") {
          out.issued_at = t;
        } else if (*name == "exp") {
          out.expires_at = t;
        } else {
          out.not_before = t;
        }
      } else {
        out.extra.emplace(std::string(*name), json(*value));
      }
    } else if (!is_registered && take("true")) {
      out.extra.emplace(std::string(*name), json(true));
    } else if (!is_registered && take("false")) {
      out.extra.emplace(std::string(*name), json(false));
    } else if (!is_registered && take("null")) {
      out.extra.emplace(std::string(*name), json(nullptr));
    } else {
      return std::nullopt;
    }
  } while (take(","));
  if (!take("}") || i != text.size()) return std::nullopt;
  constexpr unsigned kRequired = 0b1011'1111;  // every registered claim but nbf
  if ((seen & kRequired) != kRequired) return std::nullopt;
  return out;
}

}  // namespace sessionkit::tokens::claims
