#include "sessionkit/keyring.h"

#include <algorithm>

#include "crypto/crypto.h"

namespace sessionkit {
namespace {

constexpr std::string_view kDomain = "sessionkit/1";
constexpr std::size_t kSignatureChars = 43;  // base64url of 32 bytes

}  // namespace

Result<Keyring> Keyring::from_secrets(std::vector<std::string> secrets) {
  if (secrets.empty()) return {errc::invalid_argument, "the keyring needs at least one secret"};
  for (const auto& s : secrets) {
    if (s.empty()) return {errc::invalid_argument, "a keyring secret is empty"};
  }
  crypto::init();
  return Keyring(std::move(secrets));
}

Result<Keyring> Keyring::parse(std::string_view text) {
  std::vector<std::string> secrets;
  while (true) {
    std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (item.empty()) {
      return {errc::invalid_argument, "the secret list has an empty item (check the commas)"};
    }
    secrets.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return from_secrets(std::move(secrets));
}

Keyring Keyring::ephemeral() {
  std::array<std::uint8_t, 32> raw;
  crypto::random_bytes(raw);
  return Keyring({crypto::base64url_encode(raw)});
}

std::size_t Keyring::shortest_secret() const noexcept {
  std::size_t n = keys_.front().size();
  for (const auto& k : keys_)
    n = std::min(n, k.size());
  return n;
}

Keyring::Mac Keyring::mac(std::size_t index, std::string_view context,
                          std::string_view message) const {
  // The message is framed with lengths so (context, message) pairs cannot collide.
  std::string framed;
  framed.reserve(kDomain.size() + context.size() + message.size() + 8);
  framed.append(kDomain);
  framed.push_back('\0');
  framed.append(std::to_string(context.size()));
  framed.push_back(':');
  framed.append(context);
  framed.append(message);
  return crypto::hmac_sha256(crypto::as_bytes(keys_[index]), framed);
}

std::string Keyring::sign(std::string_view value, std::string_view context) const {
  Mac m = mac(0, context, value);
  std::string out;
  out.reserve(value.size() + 1 + kSignatureChars);
  out.append(value);
  out.push_back('.');
  out.append(crypto::base64url_encode(m));
  return out;
}

std::optional<std::string_view> Keyring::verify(std::string_view signed_value,
                                                std::string_view context) const {
  std::size_t dot = signed_value.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view value = signed_value.substr(0, dot);
  std::string_view sig = signed_value.substr(dot + 1);
  if (sig.size() != kSignatureChars) return std::nullopt;
  Mac given;
  auto n = crypto::base64url_decode(sig, given);
  if (!n || *n != given.size()) return std::nullopt;
  bool ok = false;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    Mac expected = mac(i, context, value);
    ok |= crypto::equal(expected, given);  // no early exit: same work for every key
  }
  if (!ok) return std::nullopt;
  return value;
}

}  // namespace sessionkit
