// sessionkit/tokens/signing_keys.h — the keys that sign access tokens, and their ring.
//
// A `SigningKey` is one asymmetric key pair with a key ID (`kid`), a JWS algorithm and a
// creation time: Ed25519 (JWS "EdDSA", libsodium; the default) or ECDSA P-256 with SHA-256
// (JWS "ES256", OpenSSL 3). The algorithm belongs to the key: a token is verified with its
// key's own algorithm, never with the one its header names (RFC 8725 §3.1).
//
// A `KeyRing` holds the keys of one issuer. The newest active (not retired) key signs; every
// key verifies until its horizon. A retired key's horizon is
//     retired_at + max_token_lifetime + max_leeway
// (KeyRingOptions): the latest moment at which a token it signed, just before retirement, can
// still be accepted. Past that, the key drops out of `find`, the JWKS and the export, so its
// tokens fail with an unknown `kid`. Active keys have no horizon.
//
// Key text (import / export): a JSON Web Key (RFC 7517, 8037, 7518) with the private part,
//   {"kty":"OKP","crv":"Ed25519","x":"…","d":"<32-byte seed>","kid":"…","alg":"EdDSA"} or
//   {"kty":"EC","crv":"P-256","x":"…","y":"…","d":"…","kid":"…","alg":"ES256"},
// plus "created_ms" (and, once retired, "retired_ms"): milliseconds since the Unix epoch. A ring
// is a JWK Set of those ({"keys":[…]}), so several instances of an app can share one ring file.
// Private text is a secret: keep it mode 0600, never log it. `jwks()` is the public document
// (RFC 7517 §5: kty, crv, x[, y], kid, alg, "use":"sig"; never "d").
//
// Errors are values: malformed text, an unknown algorithm or curve, a private part that does not
// match its public part, or a duplicate `kid` answer errc::invalid_argument (conflict for a
// duplicate kid on add); nothing here throws on bad input.
//
// Thread safety: a SigningKey is immutable; share it freely. A KeyRing may be used from many
// threads at once, rotations included (one internal mutex; signing and verifying hold it only to
// copy a shared pointer).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/clock.h"
#include "sessionkit/result.h"

namespace sessionkit::tokens {

// The JWS algorithms a key may have. Nothing else (none, HS*, RS*) is ever accepted.
enum class Algorithm {
  eddsa,  // "EdDSA" with Ed25519 (RFC 8037): 64-byte signatures
  es256,  // "ES256", ECDSA P-256 SHA-256 (RFC 7518 §3.4): 64-byte r||s signatures
};
// "EdDSA" / "ES256", the JWS spelling.
const char* to_string(Algorithm alg) noexcept;

// One key pair. Immutable; copies share the key material (which is wiped when the last goes).
class SigningKey {
 public:
  // A fresh key from the system's CSPRNG. `kid` must be non-empty printable ASCII of at most
  // 128 characters (invalid_argument otherwise).
  static Result<SigningKey> generate(Algorithm alg, std::string kid, Time created_at);
  // A private JWK as described on top ("retired_ms" is read by KeyRing::import only).
  static Result<SigningKey> import_jwk(std::string_view text);

  const std::string& kid() const noexcept;
  Algorithm algorithm() const noexcept;
  Time created_at() const noexcept;

  // The private JWK (with "created_ms"). A secret.
  std::string export_jwk() const;
  // The public JWK, as a JSON object's text (kty, crv, x[, y], kid, alg, use).
  std::string public_jwk() const;

  // The JWS signature (64 bytes) over `signing_input`; unavailable only if OpenSSL fails.
  Result<std::string> sign(std::string_view signing_input) const;
  // True when `signature` is this key's valid signature of `signing_input`.
  bool verify(std::string_view signing_input, std::span<const std::uint8_t> signature) const;

  class Impl;  // internal (src/tokens/signing_key.cpp)

 private:
  explicit SigningKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
  friend class KeyRing;
};

struct KeyRingOptions {
  // The longest lifetime a token signed by this ring may have; AccessTokens refuses options
  // above it. Sets how long a retired key keeps verifying.
  Duration max_token_lifetime = std::chrono::minutes(5);
  // The largest clock-skew leeway a verifier of this ring may use (see AccessTokenOptions).
  Duration max_leeway = std::chrono::seconds(30);
};

class KeyRing {
 public:
  // An empty ring reading time from `clock`, which must outlive it.
  explicit KeyRing(const Clock& clock = system_clock(), KeyRingOptions options = {});

  // Adds a key. conflict if its kid is already in the ring; the newest active key (largest
  // created_at, then the last added) signs from now on.
  Status add(SigningKey key);
  // Generates a key of `alg` named `kid` created now, adds it, and retires every other active
  // key now: the rotation step. Answers the new key.
  Result<SigningKey> rotate(Algorithm alg, std::string kid);
  // Retires `kid` now (not_found if absent; a key already retired keeps its first retired_at).
  Status retire(std::string_view kid);
  // Forgets every key past its horizon now (they already stopped verifying; this frees them).
  void prune();

  // The key that signs now: the newest active one; not_found when the ring has none.
  Result<SigningKey> signing_key() const;
  // The key named `kid` if it still verifies now (active, or retired within its horizon).
  std::optional<SigningKey> find(std::string_view kid) const;

  // The public JWK Set of every key that still verifies, newest first.
  std::string jwks() const;
  // The private JWK Set (a secret), with created_ms / retired_ms; keys past their horizon left
  // out. `import` reads it back.
  std::string export_private() const;
  static Result<std::unique_ptr<KeyRing>> import(std::string_view text,
                                                 const Clock& clock = system_clock(),
                                                 KeyRingOptions options = {});

  const KeyRingOptions& options() const noexcept { return options_; }
  const Clock& clock() const noexcept { return clock_; }

 private:
  struct Entry {
    SigningKey key;
    std::optional<Time> retired_at;
  };
  bool verifies(const Entry& e, Time now) const;

  const Clock& clock_;
  KeyRingOptions options_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // in the order added
};

}  // namespace sessionkit::tokens
