#include "crypto/crypto.h"

// SHA256_CTX: see sha256() below.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
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

// random_bytes: src/crypto/random.cpp

// base64url without padding, constant time in the data (the values may be secrets: session IDs,
// CSRF tokens, sealed cookies): no table lookups and no branches on the bytes, only on lengths.
// The character mapping runs on 8 characters at once in a 64-bit word (SWAR: each byte lane is
// one character), about 3 instructions per character; libsodium's codec is constant time too
// but costs ~80, and the per-character arithmetic this replaces ~30.
namespace {

static_assert(std::endian::native == std::endian::little,
              "the word-at-a-time codec reads the first character from the lowest byte");

constexpr std::uint64_t kLanes = 0x0101010101010101ull;  // 1 in every byte lane
constexpr std::uint64_t kHigh = 0x8080808080808080ull;   // the high bit of every lane

// 0x80 in each lane whose value (below 128) is at least k (1 <= k <= 128); no lane carries
// into the next because every sum stays below 256.
constexpr std::uint64_t at_least(std::uint64_t lanes, unsigned k) {
  return (lanes + (128 - k) * kLanes) & kHigh;
}

// 0xFF in each lane flagged 0x80 by at_least.
constexpr std::uint64_t widen(std::uint64_t flags) {
  return (flags >> 7) * 0xFF;
}

// Eight 6-bit values (one per lane) to their characters: 'A' + v, then the offsets of the
// a-z, 0-9, '-' and '_' ranges. Additions and subtractions are split so no lane wraps.
constexpr std::uint64_t encode8(std::uint64_t v) {
  const std::uint64_t up = v + 'A' * kLanes + 6 * (at_least(v, 26) >> 7) +  // a-z: +6 from A-Z
                           49 * (at_least(v, 63) >> 7);                     // '_': +49 from '-'
  const std::uint64_t down = 75 * (at_least(v, 52) >> 7) +                  // 0-9: -75 from a-z
                             13 * (at_least(v, 62) >> 7);                   // '-': -13 from 0-9
  return up - down;
}

// Eight characters to their 6-bit values, in place. Returns 0x80 in each lane whose character
// is not in the alphabet (its value is then meaningless).
constexpr std::uint64_t decode8(std::uint64_t& chars) {
  const std::uint64_t high = chars & kHigh;  // bytes 0x80-0xFF: never in the alphabet
  const std::uint64_t x = chars & ~kHigh;
  const auto in = [x](unsigned first, unsigned last) {
    return at_least(x, first) & ~at_least(x, last + 1);
  };
  const std::uint64_t upper = in('A', 'Z'), lower = in('a', 'z'), digit = in('0', '9'),
                      dash = in('-', '-'), under = in('_', '_');
  const auto lanes = [](int offset) { return static_cast<std::uint8_t>(offset) * kLanes; };
  const std::uint64_t offset = (widen(upper) & lanes(-'A')) | (widen(lower) & lanes(26 - 'a')) |
                               (widen(digit) & lanes(52 - '0')) | (widen(dash) & lanes(62 - '-')) |
                               (widen(under) & lanes(63 - '_'));
  // lane-wise x + offset modulo 256: add the low 7 bits, then fix up the high bit per lane
  chars = (x + (offset & ~kHigh)) ^ (offset & kHigh);
  return (~(upper | lower | digit | dash | under) & kHigh) | high;
}

std::uint64_t load(const void* p, std::size_t n) {
  std::uint64_t w = 0;
  std::memcpy(&w, p, n);
  return w;
}

}  // namespace

std::string base64url_encode(std::span<const std::uint8_t> bytes) {
  const std::size_t n = bytes.size();
  std::string out((n / 3) * 4 + (n % 3 == 0 ? 0 : n % 3 + 1), '\0');
  // First the 6-bit values, then every 8 of them mapped to characters at once.
  auto* o = reinterpret_cast<std::uint8_t*>(out.data());
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const unsigned w = (unsigned{bytes[i]} << 16) | (unsigned{bytes[i + 1]} << 8) | bytes[i + 2];
    *o++ = static_cast<std::uint8_t>(w >> 18);
    *o++ = static_cast<std::uint8_t>((w >> 12) & 63);
    *o++ = static_cast<std::uint8_t>((w >> 6) & 63);
    *o++ = static_cast<std::uint8_t>(w & 63);
  }
  if (n - i == 1) {
    *o++ = static_cast<std::uint8_t>(bytes[i] >> 2);
    *o++ = static_cast<std::uint8_t>((bytes[i] & 3) << 4);
  } else if (n - i == 2) {
    *o++ = static_cast<std::uint8_t>(bytes[i] >> 2);
    *o++ = static_cast<std::uint8_t>(((bytes[i] & 3) << 4) | (bytes[i + 1] >> 4));
    *o++ = static_cast<std::uint8_t>((bytes[i + 1] & 15) << 2);
  }
  char* p = out.data();
  std::size_t k = 0;
  for (; k + 8 <= out.size(); k += 8) {
    const std::uint64_t w = encode8(load(p + k, 8));
    std::memcpy(p + k, &w, 8);
  }
  if (k < out.size()) {
    const std::uint64_t w = encode8(load(p + k, out.size() - k));
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): into a std::string, which ends itself
    std::memcpy(p + k, &w, out.size() - k);
  }
  return out;
}

std::optional<std::size_t> base64url_decode(std::string_view text, std::span<std::uint8_t> out) {
  const std::size_t n = text.size();
  const std::size_t rest = n % 4;
  if (rest == 1) return std::nullopt;  // no whole byte in a lone character
  const std::size_t size = (n / 4) * 3 + (rest == 0 ? 0 : rest - 1);
  if (size > out.size()) return std::nullopt;
  std::uint64_t bad = 0;  // 0x80 in a lane once any character there was invalid
  std::uint8_t* o = out.data();
  // Whole groups of four characters, eight characters (two groups) per word where possible.
  auto put = [&o](std::uint64_t v) {  // the 4 values in the low lanes of v → 3 bytes
    const unsigned w = static_cast<unsigned>(((v & 63) << 18) | (((v >> 8) & 63) << 12) |
                                             (((v >> 16) & 63) << 6) | ((v >> 24) & 63));
    *o++ = static_cast<std::uint8_t>(w >> 16);
    *o++ = static_cast<std::uint8_t>(w >> 8);
    *o++ = static_cast<std::uint8_t>(w);
  };
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v = load(text.data() + i, 8);
    bad |= decode8(v);
    put(v);
    put(v >> 32);
  }
  // The last 0-7 characters, padded with 'A' (a valid character with value 0).
  const std::size_t tail = n - i;
  std::uint64_t v = 'A' * kLanes;
  std::memcpy(&v, text.data() + i, tail);
  bad |= decode8(v);
  if (tail >= 4) {
    put(v);
    v >>= 32;
  }
  const auto value = [&v](unsigned lane) { return static_cast<unsigned>((v >> (8 * lane)) & 63); };
  unsigned trailing = 0;  // the unused low bits of the last character: zero, one spelling per value
  if (rest == 2) {
    trailing = value(1) & 15;
    *o++ = static_cast<std::uint8_t>((value(0) << 2) | (value(1) >> 4));
  } else if (rest == 3) {
    trailing = value(2) & 3;
    *o++ = static_cast<std::uint8_t>((value(0) << 2) | (value(1) >> 4));
    *o++ = static_cast<std::uint8_t>(((value(1) & 15) << 4) | (value(2) >> 2));
  }
  if ((bad | trailing) != 0) return std::nullopt;
  return size;
}

namespace {

void check(int ok) {
  if (ok != 1) std::abort();  // SHA256_* return 1 always; anything else is not to be trusted
}

}  // namespace

// SHA-256 and HMAC run on OpenSSL's SHA256_CTX: the precomputed HMAC inner and outer states are
// plain structs, so a MAC copies two of them. The EVP equivalent (EVP_MD_CTX_copy_ex) allocates,
// cleanses and frees a provider context per copy: callgrind counted 2.9k more instructions per
// logged-in read (two MACs and one hash; docs/performance.md). These functions are deprecated in
// OpenSSL 3 but present, and run the same SHA-NI/AVX2 code as EVP.
Digest sha256(std::span<const std::uint8_t> data) {
  Digest d;
  SHA256_CTX ctx;
  check(SHA256_Init(&ctx));
  check(SHA256_Update(&ctx, data.data(), data.size()));
  check(SHA256_Final(d.data(), &ctx));
  return d;
}

Digest sha256(std::string_view data) {
  return sha256(as_bytes(data));
}

struct HmacKey::State {
  SHA256_CTX inner;  // after absorbing key XOR ipad
  SHA256_CTX outer;  // after absorbing key XOR opad
  ~State() { sodium_memzero(this, sizeof *this); }
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
  check(SHA256_Init(&state_->inner));
  check(SHA256_Update(&state_->inner, pad.data(), pad.size()));
  for (std::size_t i = 0; i < kBlock; ++i)
    pad[i] = k[i] ^ 0x5c;
  check(SHA256_Init(&state_->outer));
  check(SHA256_Update(&state_->outer, pad.data(), pad.size()));
  sodium_memzero(k.data(), k.size());
  sodium_memzero(pad.data(), pad.size());
}

HmacKey::~HmacKey() {
  delete state_;
}

Digest HmacKey::mac(std::span<const std::string_view> parts) const {
  SHA256_CTX ctx = state_->inner;
  Digest inner;
  for (std::string_view p : parts)
    check(SHA256_Update(&ctx, p.data(), p.size()));
  check(SHA256_Final(inner.data(), &ctx));
  Digest out;
  ctx = state_->outer;
  check(SHA256_Update(&ctx, inner.data(), inner.size()));
  check(SHA256_Final(out.data(), &ctx));
  sodium_memzero(&ctx, sizeof ctx);
  sodium_memzero(inner.data(), inner.size());
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
