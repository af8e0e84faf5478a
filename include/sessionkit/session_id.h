// sessionkit/session_id.h — session identifiers and the keys they are stored under.
//
// A `SessionId` is 32 bytes from a kernel-seeded CSPRNG (crypto::random_bytes: ChaCha20 over
// libsodium, per thread; docs/architecture.md), written as 43 characters of unpadded base64url.
// It is the bearer secret: it travels only in the (signed) cookie and is never written to a
// store.
//
// A `SessionKey` is SHA-256(SessionId): the only form in which a store sees an ID. A leaked
// store dump or a timing side channel on store lookups therefore yields no usable token.
//
// Thread safety: plain values. `SessionId::generate()` may be called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace sessionkit {

class SessionId {
 public:
  static constexpr std::size_t kBytes = 32;
  static constexpr std::size_t kEncodedLength = 43;  // base64url without padding

  // A fresh random ID.
  static SessionId generate();
  // Accepts exactly 43 base64url characters that decode to 32 bytes; anything else: nullopt.
  static std::optional<SessionId> parse(std::string_view text);

  const std::string& str() const noexcept { return text_; }
  bool operator==(const SessionId&) const = default;

 private:
  explicit SessionId(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

class SessionKey {
 public:
  static constexpr std::size_t kBytes = 32;
  using Bytes = std::array<std::uint8_t, kBytes>;

  SessionKey() = default;
  explicit SessionKey(const Bytes& bytes) : bytes_(bytes) {}
  // SHA-256 of the ID's text form.
  static SessionKey of(const SessionId& id);
  // Parses 64 lowercase hex characters (the store-side text form); nullopt otherwise.
  static std::optional<SessionKey> from_hex(std::string_view hex);

  const Bytes& bytes() const noexcept { return bytes_; }
  std::string hex() const;
  // First 8 hex characters: safe to show or log (it is a digest prefix, not the ID).
  std::string hint() const;

  bool operator==(const SessionKey&) const = default;
  auto operator<=>(const SessionKey&) const = default;  // NOLINT(modernize-use-nullptr): no pointer

 private:
  Bytes bytes_{};
};

struct SessionKeyHash {
  std::size_t operator()(const SessionKey& k) const noexcept {
    std::size_t h;
    std::memcpy(&h, k.bytes().data(), sizeof h);  // already a uniform digest
    return h;
  }
};

}  // namespace sessionkit
