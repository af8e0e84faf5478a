// sessionkit/cookie_sealer.h — authenticated encryption of cookie values (client-side sessions).
//
// A sealed value is the unpadded base64url text of
//   version (1 byte, = 1) ‖ nonce (24 random bytes) ‖ XChaCha20-Poly1305-IETF ciphertext ‖ tag
// with the version byte and the sealer's context as associated data. The plaintext is opaque
// bytes; nothing is compressed (compression would leak the plaintext's content through its size).
//
// Keys: one 32-byte key per keyring secret, newest first,
//   key[i] = keyring.mac(i, "cookie-store:key/1", context)   (HMAC-SHA256, see keyring.h)
// so keys rotate with the keyring (SESSION_SECRET) and differ per context (name the cookie in
// it). A secret is never used as a key directly. The context "cookie-store:key/1" is reserved
// for this derivation: never `Keyring::sign` or `Keyring::mac` anything else under it.
// Derived keys are wiped (sodium_memzero) when the last copy of the sealer is destroyed.
//
// `seal` always uses the newest key and a fresh random nonce. `open` tries the keys newest first
// and answers nullopt for anything not sealed by a key of this keyring under this context
// (malformed, tampered, other context, retired secret), and for any text that is not canonical
// base64url; `key_index > 0` asks the caller to re-seal with the newest key. A value that
// opens is authentic, not fresh: sealing gives no server-side revocation, and an old value
// replays until the caller's own expiry check (inside the plaintext) rejects it.
//
// Size: browsers keep a cookie only if its name and value fit in 4096 bytes (RFC 6265bis), and
// RFC 6265 §6.1 only promises 4096 bytes counting the attributes too, so the default limit of
// 3800 bytes for the sealed text leaves about 300 bytes for the name and attributes ("__Host-",
// Path, Expires, ...).
// `seal` answers errc::too_large instead of producing a value the browser would drop.
//
// Thread safety: immutable after construction; copies share the keys; use from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/keyring.h"
#include "sessionkit/result.h"

namespace sessionkit {

class CookieSealer {
 public:
  static constexpr std::uint8_t kFormatVersion = 1;
  // Bytes added to the plaintext before base64url: version, nonce and Poly1305 tag.
  static constexpr std::size_t kOverheadBytes = 1 + 24 + 16;
  static constexpr std::size_t kDefaultMaxSealedBytes = 3800;

  // `context` separates values sealed for different purposes (e.g. "cookie:sid"); a value
  // sealed under one context never opens under another.
  CookieSealer(const Keyring& keyring, std::string_view context,
               std::size_t max_sealed_bytes = kDefaultMaxSealedBytes);

  // The sealed text (base64url, cookie-safe) with the newest key; errc::too_large when it would
  // be longer than max_sealed_bytes().
  Result<std::string> seal(std::string_view plaintext) const;

  struct Opened {
    std::string plaintext;
    std::size_t key_index = 0;  // 0 = newest; > 0: re-seal so that the older secret can retire
  };
  // The plaintext when `sealed` is a value sealed by any key of this sealer's keyring under its
  // context; nullopt for anything else, including text longer than max_sealed_bytes().
  std::optional<Opened> open(std::string_view sealed) const;

  std::size_t max_sealed_bytes() const noexcept;
  // The largest plaintext that seal() accepts under max_sealed_bytes(). When not even an empty
  // plaintext fits (max_sealed_bytes() < sealed_size(0)), this is 0 and seal() always fails.
  std::size_t max_plaintext_bytes() const noexcept;

  // Length of the sealed text for a plaintext of `plaintext_bytes` (SIZE_MAX on overflow).
  static std::size_t sealed_size(std::size_t plaintext_bytes) noexcept;

 private:
  struct Impl;  // the derived keys, the associated data and the limit
  std::shared_ptr<const Impl> impl_;
};

}  // namespace sessionkit
