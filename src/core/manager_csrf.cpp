// SessionManager: CSRF tokens (the seed per browser, its cookie, masking and verification).
#include <array>

#include "core/reserved_keys.h"
#include "crypto/crypto.h"
#include "sessionkit/manager.h"

namespace sessionkit {

namespace {

// Three purposes, three MACs: the seed's cookie signature never equals the secret derived from
// the seed (a token cannot be forged from the cookie's value).
constexpr std::string_view kCsrfSecretContext = "csrf:secret";
constexpr std::string_view kCsrfCookieContext = "csrf:cookie";
constexpr std::string_view kCsrfLegacySessionContext = "csrf:session";  // records without a seed
using reserved::kCsrfSeed;
constexpr std::size_t kCsrfBytes = 32;
constexpr std::size_t kCsrfTokenChars = 86;  // base64url of mask || masked secret (64 bytes)

}  // namespace

const std::string& SessionManager::presession_seed(const Session& s) const {
  if (!s.st_->csrf_cookie_checked_) {
    s.st_->csrf_cookie_checked_ = true;
    if (s.st_->csrf_seed_.empty() && !s.st_->csrf_cookie_.empty()) {
      if (auto v = keyring_.verify(s.st_->csrf_cookie_, kCsrfCookieContext)) {
        s.st_->csrf_seed_ = *v;
      }
    }
  }
  return s.st_->csrf_seed_;
}

const std::string& SessionManager::csrf_seed(const Session& s) const {
  // A stored session's seed is its record's, never the cookie's: a cookie planted in the
  // browser cannot change the secret of a live session.
  if (s.st_->stored_) {
    static const std::string none;
    const nlohmann::json* seed = s.find(kCsrfSeed);
    return seed != nullptr && seed->is_string() ? seed->get_ref<const std::string&>() : none;
  }
  return presession_seed(s);
}

void SessionManager::fresh_csrf_seed(Session& s, bool send_cookie) {
  std::array<std::uint8_t, kCsrfBytes> seed;
  crypto::random_bytes(seed);
  s.st_->csrf_seed_ = crypto::base64url_encode(seed);
  s.st_->csrf_cookie_checked_ = true;
  s.st_->csrf_seed_new_ = send_cookie;
  s.st_->csrf_rotate_ = false;
  if (s.st_->stored_ || s.contains(kCsrfSeed)) {
    s.set_reserved(std::string(kCsrfSeed), s.st_->csrf_seed_);
  }
}

void SessionManager::carry_csrf_seed(Session& s) const {
  // (A sign-in's new seed was drawn by prepare_write, which every write calls first.)
  if (s.contains(kCsrfSeed)) return;  // a rotated or re-created record keeps its seed
  // No seed in the browser yet (no token was ever handed out): the record gets one of its own;
  // the browser needs no cookie for it while the session lives.
  if (presession_seed(s).empty()) fresh_csrf_seed(s, /*send_cookie=*/false);
  s.set_reserved(std::string(kCsrfSeed), s.st_->csrf_seed_);
}

Keyring::Mac SessionManager::csrf_secret(const Session& s, std::size_t key_index) const {
  const std::string& seed = csrf_seed(s);
  if (!seed.empty()) return keyring_.mac(key_index, kCsrfSecretContext, seed);
  return keyring_.mac(key_index, kCsrfLegacySessionContext, s.st_->id_->str());
}

void SessionManager::write_presession_cookie(Session& s, http::ResponseHeaders& out) const {
  // The browser's CSRF seed, when it is new to the browser (first token, or a new seed at a
  // sign-in). It outlives the session (a browser-session cookie), so that a page loaded while
  // signed in still works as a visitor's after the session ends.
  if (!s.st_->csrf_seed_new_ || s.st_->via_bearer_) return;  // a bearer client takes no cookies
  http::SetCookie c = cookie_template(csrf_cookie_name());
  c.value = keyring_.sign(s.st_->csrf_seed_, kCsrfCookieContext);
  c.http_only = true;
  c.max_age.reset();
  out.add("Set-Cookie", c.serialize());
  s.st_->csrf_seed_new_ = false;
}

std::string SessionManager::csrf_token(Session& s, http::ResponseHeaders& out) {
  if (s.st_->csrf_rotate_ || (csrf_seed(s).empty() && !(s.st_->stored_ && s.st_->id_))) {
    fresh_csrf_seed(s);
  }
  write_presession_cookie(s, out);
  Keyring::Mac secret = csrf_secret(s, 0);
  std::array<std::uint8_t, 2 * kCsrfBytes> token;
  crypto::random_bytes(std::span(token).first(kCsrfBytes));
  for (std::size_t i = 0; i < kCsrfBytes; ++i)
    token[kCsrfBytes + i] = token[i] ^ secret[i];
  return crypto::base64url_encode(token);
}

bool SessionManager::verify_csrf(const Session& s, std::string_view token) const {
  // A bearer request carries no cookie, and a browser never adds a bearer credential on its
  // own: a cross-site page cannot make one (docs/security.md, CSRF).
  if (s.st_->via_bearer_) return true;
  bool ok = false;
  std::array<std::uint8_t, 2 * kCsrfBytes> raw;
  if (token.size() == kCsrfTokenChars &&
      (!csrf_seed(s).empty() || (s.st_->stored_ && s.st_->id_))) {
    auto n = crypto::base64url_decode(token, raw);
    if (n && *n == raw.size()) {
      std::array<std::uint8_t, kCsrfBytes> given;
      for (std::size_t i = 0; i < kCsrfBytes; ++i)
        given[i] = raw[i] ^ raw[kCsrfBytes + i];
      for (std::size_t k = 0; k < keyring_.size(); ++k) {
        ok |= crypto::equal(csrf_secret(s, k), given);
      }
    }
  }
  if (!ok) metrics_->csrf_failures.fetch_add(1, std::memory_order_relaxed);
  return ok;
}

std::optional<std::string_view> SessionManager::csrf_header(const http::RequestView& request) {
  return request.header("X-CSRF-Token");
}

}  // namespace sessionkit
