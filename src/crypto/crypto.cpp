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

// base64url without padding, constant time in the data (the values may be secrets: session IDs,
// CSRF tokens, sealed cookies): no table lookups and no branches on the bytes, only on lengths.
// libsodium's codec is constant time too but costs ~80 instructions per character; this one
// does the same arithmetic inline.
namespace {

// -1 when a < x < b, else 0 (x, a, b in 0..255; arithmetic right shift of a negative int).
inline int in_range(int x, int a, int b) {
  return ((a - x) & (x - b)) >> 8;
}

inline char encode6(unsigned v) {
  const int x = static_cast<int>(v);
  int add = 'A';
  add += in_range(x, 25, 256) & ('a' - 26 - 'A');
  add += in_range(x, 51, 256) & (('0' - 52) - ('a' - 26));
  add += in_range(x, 61, 256) & (('-' - 62) - ('0' - 52));
  add += in_range(x, 62, 256) & (('_' - 63) - ('-' - 62));
  return static_cast<char>(x + add);
}

// The 6-bit value of a base64url character, or -1.
inline int decode6(unsigned char c) {
  const int x = c;
  int v = -1;
  v += in_range(x, 'A' - 1, 'Z' + 1) & (x - 'A' + 1);
  v += in_range(x, 'a' - 1, 'z' + 1) & (x - 'a' + 26 + 1);
  v += in_range(x, '0' - 1, '9' + 1) & (x - '0' + 52 + 1);
  v += in_range(x, '-' - 1, '-' + 1) & (62 + 1);
  v += in_range(x, '_' - 1, '_' + 1) & (63 + 1);
  return v;
}

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  const std::size_t n = bytes.size();
  std::string out((n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1), '\0');
  char* o = out.data();
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const unsigned w = (unsigned{bytes[i]} << 16) | (unsigned{bytes[i + 1]} << 8) | bytes[i + 2];
    *o++ = encode6(w >> 18);
    *o++ = encode6((w >> 12) & 63);
    *o++ = encode6((w >> 6) & 63);
    *o++ = encode6(w & 63);
  }
  if (n - i == 1) {
    const unsigned w = unsigned{bytes[i]} << 16;
    *o++ = encode6(w >> 18);
    *o++ = encode6((w >> 12) & 63);
  } else if (n - i == 2) {
    const unsigned w = (unsigned{bytes[i]} << 16) | (unsigned{bytes[i + 1]} << 8);
    *o++ = encode6(w >> 18);
    *o++ = encode6((w >> 12) & 63);
    *o++ = encode6((w >> 6) & 63);
  }
  return out;
}

std::optional<std::size_t> base64url_decode(std::string_view text, std::span<std::uint8_t> out) {
  const std::size_t n = text.size();
  const std::size_t rest = n % 4;
  if (rest == 1) return std::nullopt;  // no whole byte in a lone character
  const std::size_t size = (n / 4) * 3 + (rest == 0 ? 0 : rest - 1);
  if (size > out.size()) return std::nullopt;
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  int bad = 0;  // the OR of every decoded value: negative once any character was invalid
  std::uint8_t* o = out.data();
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const int a = decode6(in[i]), b = decode6(in[i + 1]), c = decode6(in[i + 2]),
              d = decode6(in[i + 3]);
    bad |= a | b | c | d;
    const unsigned w = (static_cast<unsigned>(a & 63) << 18) |
                       (static_cast<unsigned>(b & 63) << 12) |
                       (static_cast<unsigned>(c & 63) << 6) | static_cast<unsigned>(d & 63);
    *o++ = static_cast<std::uint8_t>(w >> 16);
    *o++ = static_cast<std::uint8_t>(w >> 8);
    *o++ = static_cast<std::uint8_t>(w);
  }
  if (rest == 2) {
    const int a = decode6(in[i]), b = decode6(in[i + 1]);
    bad |= a | b;
    bad |= -((b & 15) != 0);  // the unused low bits must be zero: one spelling per value
    *o++ = static_cast<std::uint8_t>(((a & 63) << 2) | ((b & 63) >> 4));
  } else if (rest == 3) {
    const int a = decode6(in[i]), b = decode6(in[i + 1]), c = decode6(in[i + 2]);
    bad |= a | b | c;
    bad |= -((c & 3) != 0);
    *o++ = static_cast<std::uint8_t>(((a & 63) << 2) | ((b & 63) >> 4));
    *o++ = static_cast<std::uint8_t>(((b & 15) << 4) | ((c & 63) >> 2));
  }
  if (bad < 0) return std::nullopt;
  return size;
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
