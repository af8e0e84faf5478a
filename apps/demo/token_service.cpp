#include "token_service.h"

#include <spdlog/spdlog.h>

#include "secrets.h"
#include "sessionkit/session_id.h"

namespace demo {

namespace tok = sessionkit::tokens;

namespace {

std::unique_ptr<tok::KeyRing> make_ring(const Config& cfg, bool production) {
  tok::KeyRingOptions options;
  options.max_token_lifetime = std::chrono::seconds(cfg.token_lifetime);
  if (!cfg.token_keys_file.empty()) {
    const std::string text = read_secret_file("--token-keys-file", cfg.token_keys_file);
    auto ring = tok::KeyRing::import(text, sessionkit::system_clock(), options);
    if (!ring) throw UsageError("--token-keys-file: " + ring.message());
    if (!(*ring)->signing_key()) {
      throw UsageError("--token-keys-file: no active key to sign with (every key is retired)");
    }
    return std::move(ring).value();
  }
  auto ring = std::make_unique<tok::KeyRing>(sessionkit::system_clock(), options);
  auto key = ring->rotate(tok::Algorithm::eddsa,
                          "demo-" + sessionkit::SessionId::generate().str().substr(0, 8));
  if (!key) throw std::runtime_error("cannot generate a token signing key: " + key.message());
  if (production) {
    spdlog::warn(
        "no --token-keys-file: access tokens are signed with a per-process key (instances do "
        "not share it, and a restart invalidates every access token)");
  }
  return ring;
}

}  // namespace

TokenService::TokenService(sessionkit::SessionManager& manager, const sessionkit::Keyring& keyring,
                           const Config& cfg, bool production)
    : ring_(make_ring(cfg, production)),
      refresh_(manager, keyring),
      check_(manager, keyring,
             tok::SessionCheckOptions{.cache_for = std::chrono::seconds(cfg.token_check_cache)}),
      stateful_(cfg.token_check == "stateful"),
      cookie_secure_(manager.options().cookie.secure),
      cookie_max_age_(
          std::chrono::duration_cast<std::chrono::seconds>(manager.options().absolute_timeout)) {
  tok::AccessTokenOptions options;
  options.issuer = cfg.token_issuer;
  options.audience = cfg.token_audience;
  options.lifetime = std::chrono::seconds(cfg.token_lifetime);
  auto access = tok::AccessTokens::create(*ring_, options);
  if (!access) throw UsageError("access tokens: " + access.message());
  access_.emplace(std::move(access).value());
  cookie_name_ = cookie_secure_ ? "__Host-refresh" : "refresh";
}

}  // namespace demo
