// token_support.cpp — see token_support.h.
#include "token_support.h"

#include <algorithm>
#include <stdexcept>

namespace sessiond {

namespace sk = sessionkit;
namespace tok = sessionkit::tokens;

TokenSupport::TokenSupport(std::shared_ptr<sk::SessionStore> store, const sk::Keyring& keyring,
                           const TokenSettings& settings) {
  sk::SessionOptions options = sk::SessionOptions::production();
  options.idle_timeout = settings.idle_timeout;
  options.absolute_timeout = settings.absolute_timeout;
  options.touch_interval = std::min(settings.touch_interval, settings.idle_timeout / 2);
  manager_ = std::make_unique<sk::SessionManager>(std::move(store), keyring, options);

  tok::KeyRingOptions ring_options;
  ring_options.max_token_lifetime = std::max(settings.lifetime, ring_options.max_token_lifetime);
  auto ring = tok::KeyRing::import(settings.keys_text, sk::system_clock(), ring_options);
  if (!ring) throw std::runtime_error("--token-keys: " + ring.message());
  if (!(*ring)->signing_key()) {
    throw std::runtime_error("--token-keys: no active key to sign with (every key is retired)");
  }
  ring_ = std::move(ring).value();
  tok::AccessTokenOptions access;
  access.issuer = settings.issuer;
  access.audience = settings.audience;
  access.lifetime = settings.lifetime;
  auto made = tok::AccessTokens::create(*ring_, access);
  if (!made) throw std::runtime_error("access tokens: " + made.message());
  access_.emplace(std::move(made).value());
  refresh_ = std::make_unique<tok::RefreshTokens>(*manager_, keyring);
  check_ = std::make_unique<tok::SessionCheck>(*manager_, keyring);
}

}  // namespace sessiond
