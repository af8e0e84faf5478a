#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <stdexcept>

namespace sessionkit::crypto {

void init() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      // Without a working CSPRNG nothing here is safe: fail closed.
      std::abort();
    }
  });
}

void random_bytes(std::span<std::uint8_t> out) {
  init();
  randombytes_buf(out.data(), out.size());
}

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes.data(), bytes.size(), variant);
  out.resize(out.size() - 1);  // drop the terminating NUL
  return out;
}

std::optional<std::size_t> base64url_decode(std::string_view text, std::span<std::uint8_t> out) {
  init();
  // libsodium 1.0.18 decodes bytes 0x80-0xFF as '_': without this check one value would have
  // many accepted spellings. (The alphabet check leaks nothing: it is about the text's shape.)
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  if (end != text.data() + text.size()) return std::nullopt;
  return len;
}

namespace {

const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    const EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) std::abort();  // no SHA-256 provider: nothing here could be trusted
    return m;
  }();
  return md;
}

// One reusable digest context per thread: no allocation per hash.
EVP_MD_CTX* scratch_ctx() {
  struct Holder {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Holder() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Holder holder;
  if (holder.ctx == nullptr) std::abort();
  return holder.ctx;
}

void check(int ok) {
  if (ok != 1) std::abort();  // OpenSSL digest calls fail only on allocation failure
}

}  // namespace

Digest sha256(std::span<const std::uint8_t> data) {
  Digest d;
  EVP_MD_CTX* ctx = scratch_ctx();
  check(EVP_DigestInit_ex2(ctx, sha256_md(), nullptr));
  check(EVP_DigestUpdate(ctx, data.data(), data.size()));
  check(EVP_DigestFinal_ex(ctx, d.data(), nullptr));
  return d;
}

Digest sha256(std::string_view data) {
  return sha256(as_bytes(data));
}

struct HmacKey::State {
  EVP_MD_CTX* inner = EVP_MD_CTX_new();  // after absorbing key XOR ipad
  EVP_MD_CTX* outer = EVP_MD_CTX_new();  // after absorbing key XOR opad
  ~State() {
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
  }
};

HmacKey::HmacKey(std::span<const std::uint8_t> key) : state_(new State) {
  constexpr std::size_t kBlock = 64;
  std::array<std::uint8_t, kBlock> k{};
  if (key.size() > kBlock) {
    Digest d = sha256(key);
    std::copy(d.begin(), d.end(), k.begin());
  } else {
    std::copy(key.begin(), key.end(), k.begin());
  }
  std::array<std::uint8_t, kBlock> pad;
  for (std::size_t i = 0; i < kBlock; ++i)
    pad[i] = k[i] ^ 0x36;
  check(EVP_DigestInit_ex2(state_->inner, sha256_md(), nullptr));
  check(EVP_DigestUpdate(state_->inner, pad.data(), pad.size()));
  for (std::size_t i = 0; i < kBlock; ++i)
    pad[i] = k[i] ^ 0x5c;
  check(EVP_DigestInit_ex2(state_->outer, sha256_md(), nullptr));
  check(EVP_DigestUpdate(state_->outer, pad.data(), pad.size()));
  sodium_memzero(k.data(), k.size());
  sodium_memzero(pad.data(), pad.size());
}

HmacKey::~HmacKey() {
  delete state_;
}

Digest HmacKey::mac(std::span<const std::string_view> parts) const {
  EVP_MD_CTX* ctx = scratch_ctx();
  Digest inner;
  check(EVP_MD_CTX_copy_ex(ctx, state_->inner));
  for (std::string_view p : parts)
    check(EVP_DigestUpdate(ctx, p.data(), p.size()));
  check(EVP_DigestFinal_ex(ctx, inner.data(), nullptr));
  Digest out;
  check(EVP_MD_CTX_copy_ex(ctx, state_->outer));
  check(EVP_DigestUpdate(ctx, inner.data(), inner.size()));
  check(EVP_DigestFinal_ex(ctx, out.data(), nullptr));
  return out;
}

Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view message) {
  const std::string_view parts[] = {message};
  return HmacKey(key).mac(parts);
}

bool equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace sessionkit::crypto
