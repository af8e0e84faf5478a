#include "sessionkit/keyring.h"

#include <algorithm>
#include <charconv>
#include <memory>

#include "crypto/crypto.h"

namespace sessionkit {
namespace {

constexpr std::string_view kDomain = "sessionkit/1";
constexpr std::size_t kSignatureChars = 43;  // base64url of 32 bytes

}  // namespace

struct Keyring::Impl {
  std::vector<std::string> secrets;
  std::vector<std::unique_ptr<crypto::HmacKey>> keys;
};

Keyring::Keyring(std::vector<std::string> secrets) {
  auto impl = std::make_shared<Impl>();
  for (const auto& s : secrets) {
    impl->keys.push_back(std::make_unique<crypto::HmacKey>(crypto::as_bytes(s)));
  }
  impl->secrets = std::move(secrets);
  impl_ = std::move(impl);
}

std::size_t Keyring::size() const noexcept {
  return impl_->keys.size();
}

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
  std::size_t n = impl_->secrets.front().size();
  for (const auto& k : impl_->secrets)
    n = std::min(n, k.size());
  return n;
}

Keyring::Mac Keyring::mac(std::size_t index, std::string_view context,
                          std::string_view message) const {
  // Framed with the context's length so (context, message) pairs cannot collide:
  // "sessionkit/1" NUL len(context) ':' context message.
  char len[24];
  auto [end, ec] = std::to_chars(len, len + sizeof len, context.size());
  (void)ec;  // cannot fail: 24 digits hold any size_t
  const std::string_view parts[] = {kDomain,
                                    std::string_view("\0", 1),
                                    std::string_view(len, static_cast<std::size_t>(end - len)),
                                    ":",
                                    context,
                                    message};
  return impl_->keys[index]->mac(parts);
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
  if (auto v = verify_detailed(signed_value, context)) return v->value;
  return std::nullopt;
}

std::optional<Keyring::Verified> Keyring::verify_detailed(std::string_view signed_value,
                                                          std::string_view context) const {
  std::size_t dot = signed_value.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view value = signed_value.substr(0, dot);
  std::string_view sig = signed_value.substr(dot + 1);
  if (sig.size() != kSignatureChars) return std::nullopt;
  Mac given;
  auto n = crypto::base64url_decode(sig, given);
  if (!n || *n != given.size()) return std::nullopt;
  std::size_t match = size();
  for (std::size_t i = 0; i < size(); ++i) {
    Mac expected = mac(i, context, value);
    const bool equal = crypto::equal(expected, given);  // no early exit: same work for every key
    if (equal && match == size()) match = i;
  }
  if (match == size()) return std::nullopt;
  return Verified{value, match};
}

}  // namespace sessionkit
