// sessionkit/keyring.h — secrets for signing cookies and deriving CSRF secrets, with rotation.
//
// A keyring is an ordered list of secrets, newest first. New signatures always use the first;
// verification accepts a signature made by any of them, so a secret can be rotated in by
// prepending it and retired later by removing it. Values signed only by a removed secret simply
// fail verification (the caller treats them as absent), which is never an error.
//
// Signatures are HMAC-SHA256 over a purpose-bound message ("sessionkit/1" + context + value),
// so a value signed for one purpose (a session cookie named "sid") does not verify for another
// (a CSRF cookie). Verification compares in constant time.
//
// Thread safety: immutable after construction; share freely between threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/result.h"

namespace sessionkit {

class Keyring {
 public:
  // SessionManager refuses a keyring with a secret shorter than this unless its options lower
  // SessionOptions::min_secret_bytes (development() does).
  static constexpr std::size_t kMinSecretBytes = 32;

  // `secrets` newest first; at least one, none empty.
  static Result<Keyring> from_secrets(std::vector<std::string> secrets);
  // A comma-separated list, newest first (the SESSION_SECRET format). Spaces around items are
  // trimmed; empty items are rejected.
  static Result<Keyring> parse(std::string_view text);
  // One fresh random secret: for development and tests only (cookies die with the process).
  static Keyring ephemeral();

  std::size_t size() const noexcept;
  // Length in bytes of the shortest secret.
  std::size_t shortest_secret() const noexcept;

  // "<value>.<signature>" with the newest secret. `value` must not contain '.'-free assumptions:
  // the signature is split off at the LAST '.'.
  std::string sign(std::string_view value, std::string_view context) const;
  // The value part when the signature verifies under any secret; nullopt otherwise.
  std::optional<std::string_view> verify(std::string_view signed_value,
                                         std::string_view context) const;
  // Like `verify`, and says which secret signed it (0 = newest): a value signed by an older
  // secret should be re-signed with the newest one so that the older can be retired.
  struct Verified {
    std::string_view value;
    std::size_t key_index = 0;
  };
  std::optional<Verified> verify_detailed(std::string_view signed_value,
                                          std::string_view context) const;

  using Mac = std::array<std::uint8_t, 32>;
  // HMAC-SHA256 of `message` under secret `index` (0 = newest), bound to `context`.
  Mac mac(std::size_t index, std::string_view context, std::string_view message) const;

 private:
  struct Impl;  // the secrets and their precomputed HMAC key states
  explicit Keyring(std::vector<std::string> secrets);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace sessionkit
