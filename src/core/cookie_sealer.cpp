// Cookie sealing with XChaCha20-Poly1305-IETF (libsodium). See
// include/sessionkit/cookie_sealer.h for the format and the contract.
#include "sessionkit/cookie_sealer.h"

#include <sodium.h>

#include <array>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "crypto/crypto.h"

namespace sessionkit {
namespace {

// Keyring::mac context of the key derivation (the message is the sealer's context).
constexpr std::string_view kKeyPurpose = "cookie-store:key/1";

constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kHeaderBytes = 1 + kNonceBytes;  // version ‖ nonce

static_assert(kKeyBytes == std::tuple_size_v<Keyring::Mac>);
static_assert(CookieSealer::kOverheadBytes == kHeaderBytes + kTagBytes);

using Key = std::array<std::uint8_t, kKeyBytes>;

// Length of the unpadded base64 text of `n` bytes, SIZE_MAX if it does not fit a size_t.
std::size_t base64_length(std::size_t n) noexcept {
  constexpr std::size_t kMax = std::numeric_limits<std::size_t>::max();
  const std::size_t groups = n / 3;
  const std::size_t tail = n % 3 == 0 ? 0 : n % 3 + 1;
  if (groups > (kMax - tail) / 4) return kMax;
  return groups * 4 + tail;
}

// The largest `n` with base64_length(n) <= chars.
std::size_t base64_capacity(std::size_t chars) noexcept {
  const std::size_t q = chars / 4;
  const std::size_t r = chars % 4;  // 0 or 1 extra characters carry no byte, 2 one, 3 two
  return q * 3 + (r >= 2 ? r - 1 : 0);
}

constexpr bool is_base64url(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

struct CookieSealer::Impl {
  std::vector<Key> keys;  // newest first; sized once, never reallocated (no stale copies)
  std::string ad;         // associated data: version byte ‖ context
  std::size_t max_sealed;

  Impl(std::size_t n, std::size_t max) : keys(n), max_sealed(max) {}
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    for (Key& k : keys)
      sodium_memzero(k.data(), k.size());
  }
};

CookieSealer::CookieSealer(const Keyring& keyring, std::string_view context,
                           std::size_t max_sealed_bytes) {
  crypto::init();
  auto impl = std::make_shared<Impl>(keyring.size(), max_sealed_bytes);
  for (std::size_t i = 0; i < keyring.size(); ++i) {
    Keyring::Mac derived = keyring.mac(i, kKeyPurpose, context);
    impl->keys[i] = derived;
    sodium_memzero(derived.data(), derived.size());
  }
  impl->ad.reserve(1 + context.size());
  impl->ad.push_back(static_cast<char>(kFormatVersion));
  impl->ad.append(context);
  impl_ = std::move(impl);
}

std::size_t CookieSealer::sealed_size(std::size_t plaintext_bytes) noexcept {
  if (plaintext_bytes > std::numeric_limits<std::size_t>::max() - kOverheadBytes) {
    return std::numeric_limits<std::size_t>::max();
  }
  return base64_length(plaintext_bytes + kOverheadBytes);
}

std::size_t CookieSealer::max_sealed_bytes() const noexcept {
  return impl_->max_sealed;
}

std::size_t CookieSealer::max_plaintext_bytes() const noexcept {
  const std::size_t raw = base64_capacity(impl_->max_sealed);
  return raw < kOverheadBytes ? 0 : raw - kOverheadBytes;
}

Result<std::string> CookieSealer::seal(std::string_view plaintext) const {
  const Impl& m = *impl_;
  const std::size_t size = sealed_size(plaintext.size());
  if (size > m.max_sealed) {
    return {errc::too_large, "the sealed cookie value would be " + std::to_string(size) +
                                 " bytes (" + std::to_string(plaintext.size()) +
                                 " bytes of plaintext), over the limit of " +
                                 std::to_string(m.max_sealed) + " bytes; at most " +
                                 std::to_string(max_plaintext_bytes()) + " plaintext bytes fit"};
  }
  std::vector<std::uint8_t> raw(kOverheadBytes + plaintext.size());
  raw[0] = kFormatVersion;
  crypto::random_bytes(std::span(raw).subspan(1, kNonceBytes));
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      raw.data() + kHeaderBytes, &written, bytes_of(plaintext), plaintext.size(), bytes_of(m.ad),
      m.ad.size(), nullptr, raw.data() + 1, m.keys.front().data());
  return crypto::base64url_encode(raw);
}

std::optional<CookieSealer::Opened> CookieSealer::open(std::string_view sealed) const {
  const Impl& m = *impl_;
  // Bound the work before decoding anything: too long, or too short to hold even the overhead.
  if (sealed.size() > m.max_sealed || sealed.size() < sealed_size(0)) return std::nullopt;
  // libsodium 1.0.18 decodes every byte >= 0x80 as '_' in the URL-safe alphabet: without this
  // check, one sealed value would have many accepted spellings.
  for (char c : sealed) {
    if (!is_base64url(static_cast<unsigned char>(c))) return std::nullopt;
  }
  std::vector<std::uint8_t> raw(base64_capacity(sealed.size()));
  const auto n = crypto::base64url_decode(sealed, raw);
  if (!n || *n < kOverheadBytes) return std::nullopt;
  // m.ad begins with kFormatVersion: past this check it is this value's version ‖ context.
  if (raw[0] != kFormatVersion) return std::nullopt;
  const std::uint8_t* nonce = raw.data() + 1;
  const std::uint8_t* cipher = raw.data() + kHeaderBytes;
  const std::size_t cipher_bytes = *n - kHeaderBytes;
  Opened out;
  out.plaintext.resize(cipher_bytes - kTagBytes);
  auto* plain = reinterpret_cast<unsigned char*>(out.plaintext.data());
  for (std::size_t i = 0; i < m.keys.size(); ++i) {
    unsigned long long plain_bytes = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plain_bytes, nullptr, cipher,
                                                   cipher_bytes, bytes_of(m.ad), m.ad.size(), nonce,
                                                   m.keys[i].data()) == 0) {
      out.key_index = i;
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace sessionkit
