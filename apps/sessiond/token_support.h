// token_support.h — what sessiond's token routes need (private to sessiond): a SessionManager
// over sessiond's own store (with sessiond's timeouts), the signing key ring, access tokens,
// refresh tokens and the stateful session check (include/sessionkit/tokens/, docs/tokens.md).
// Built at start when `--token-keys FILE` is given; the routes answer 404 otherwise.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "sessionkit/store.h"
#include "sessionkit/tokens/access_token.h"
#include "sessionkit/tokens/refresh_tokens.h"
#include "sessionkit/tokens/session_check.h"
#include "sessionkit/tokens/signing_keys.h"

namespace sessiond {

struct TokenSettings {
  std::string keys_text;  // a JWK Set with private keys (KeyRing::export format)
  std::string issuer = "sessiond";
  std::string audience = "sessiond";
  sessionkit::Duration lifetime = std::chrono::minutes(5);
  sessionkit::Duration idle_timeout = std::chrono::minutes(30);
  sessionkit::Duration absolute_timeout = std::chrono::hours(12);
  sessionkit::Duration touch_interval = std::chrono::seconds(60);
};

class TokenSupport {
 public:
  // Throws std::runtime_error naming what is wrong (a key ring without an active key, options
  // the library refuses).
  TokenSupport(std::shared_ptr<sessionkit::SessionStore> store, const sessionkit::Keyring& keyring,
               const TokenSettings& settings);

  sessionkit::SessionManager& manager() { return *manager_; }
  const sessionkit::tokens::KeyRing& ring() const { return *ring_; }
  const sessionkit::tokens::AccessTokens& access() const { return *access_; }
  sessionkit::tokens::RefreshTokens& refresh() { return *refresh_; }
  sessionkit::tokens::SessionCheck& check() { return *check_; }

 private:
  std::unique_ptr<sessionkit::SessionManager> manager_;
  std::unique_ptr<sessionkit::tokens::KeyRing> ring_;
  std::optional<sessionkit::tokens::AccessTokens> access_;
  std::unique_ptr<sessionkit::tokens::RefreshTokens> refresh_;
  std::unique_ptr<sessionkit::tokens::SessionCheck> check_;
};

}  // namespace sessiond
