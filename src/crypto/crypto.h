// Internal: thin wrappers over libsodium used by the core. Not installed.
//
// All functions are thread-safe. `init()` runs sodium_init() once; every other function calls it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sessionkit::crypto {

using Digest = std::array<std::uint8_t, 32>;

void init();
void random_bytes(std::span<std::uint8_t> out);

std::string base64url_encode(std::span<const std::uint8_t> bytes);
// Decodes unpadded base64url into `out`; answers the number of bytes written, or nullopt on any
// invalid character, trailing garbage, or when the result would not fit.
std::optional<std::size_t> base64url_decode(std::string_view text, std::span<std::uint8_t> out);

// SHA-256 and HMAC-SHA256 run on OpenSSL (SHA-NI/AVX2 where the CPU has them); randomness
// (random.cpp: a per-thread pool over libsodium's ChaCha20, kernel-seeded) and comparisons are
// libsodium; base64url is this project's own constant-time codec.
Digest sha256(std::span<const std::uint8_t> data);
Digest sha256(std::string_view data);
Digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view message);

// An HMAC-SHA256 key with its inner and outer hash states computed once, so each MAC costs
// only the message blocks and one outer block. Immutable after construction; thread-safe.
class HmacKey {
 public:
  explicit HmacKey(std::span<const std::uint8_t> key);
  ~HmacKey();
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;

  // HMAC over the concatenation of `parts`.
  Digest mac(std::span<const std::string_view> parts) const;

 private:
  struct State;
  State* state_;
};

// Constant-time comparison of equal-length buffers.
bool equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

std::string to_hex(std::span<const std::uint8_t> bytes);

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace sessionkit::crypto
