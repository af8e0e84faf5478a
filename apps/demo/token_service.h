// token_service.h — the demo's token sessions: the access-token key ring, the access and refresh
// tokens, the stateful check, and the refresh cookie's shape (private to the demo). Built at
// start-up from the --token-* flags; the routes are in token_routes.cpp (docs/demo.md, "Token
// sessions").
//
// Thread safety: everything here may be used from many threads at once (see each library type).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config.h"
#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "sessionkit/tokens/access_token.h"
#include "sessionkit/tokens/refresh_tokens.h"
#include "sessionkit/tokens/session_check.h"
#include "sessionkit/tokens/signing_keys.h"

namespace demo {

class TokenService {
 public:
  // `keyring` is the session keyring: refresh tokens and sids are sealed under keys derived from
  // it (contexts of their own). Throws UsageError for an unreadable or invalid key file or
  // token options the library refuses.
  TokenService(sessionkit::SessionManager& manager, const sessionkit::Keyring& keyring,
               const Config& cfg, bool production);

  const sessionkit::tokens::KeyRing& ring() const { return *ring_; }
  const sessionkit::tokens::AccessTokens& access() const { return *access_; }
  sessionkit::tokens::RefreshTokens& refresh() { return refresh_; }
  // Mints the access tokens' `sid` claims (both modes).
  const sessionkit::tokens::SessionCheck& sids() const { return check_; }
  // The stateful check; nullptr with --token-check stateless.
  sessionkit::tokens::SessionCheck* check() { return stateful_ ? &check_ : nullptr; }

  // The refresh cookie: HttpOnly, SameSite=Strict, Path=/; in production Secure with the
  // __Host- prefix. Lives as long as a session may (the absolute timeout).
  const std::string& cookie_name() const noexcept { return cookie_name_; }
  bool cookie_secure() const noexcept { return cookie_secure_; }
  std::chrono::seconds cookie_max_age() const noexcept { return cookie_max_age_; }

 private:
  std::unique_ptr<sessionkit::tokens::KeyRing> ring_;
  std::optional<sessionkit::tokens::AccessTokens> access_;
  sessionkit::tokens::RefreshTokens refresh_;
  sessionkit::tokens::SessionCheck check_;
  bool stateful_;
  std::string cookie_name_;
  bool cookie_secure_ = false;
  std::chrono::seconds cookie_max_age_{0};
};

}  // namespace demo
