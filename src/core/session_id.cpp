#include "sessionkit/session_id.h"

#include "crypto/crypto.h"

namespace sessionkit {

SessionId SessionId::generate() {
  std::array<std::uint8_t, kBytes> raw;
  crypto::random_bytes(raw);
  return SessionId(crypto::base64url_encode(raw));
}

std::optional<SessionId> SessionId::parse(std::string_view text) {
  if (text.size() != kEncodedLength) return std::nullopt;
  std::array<std::uint8_t, kBytes> raw;
  auto n = crypto::base64url_decode(text, raw);
  // base64url_decode rejects non-canonical text (the unused low bits of the last character
  // set), so one ID has exactly one text form.
  if (!n || *n != kBytes) return std::nullopt;
  return SessionId(std::string(text));
}

SessionKey SessionKey::of(const SessionId& id) {
  return SessionKey(crypto::sha256(id.str()));
}

std::optional<SessionKey> SessionKey::from_hex(std::string_view hex) {
  if (hex.size() != 2 * kBytes) return std::nullopt;
  Bytes b;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < kBytes; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    b[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return SessionKey(b);
}

std::string SessionKey::hex() const {
  return crypto::to_hex(bytes_);
}

std::string SessionKey::hint() const {
  return crypto::to_hex(std::span(bytes_).first(4));
}

}  // namespace sessionkit
