// sessionkit/tokens/refresh_tokens.h — rotating refresh tokens with reuse detection.
//
// A refresh token stands for one session (the "family": one per session) and is good for ONE
// use: each refresh answers a new token and retires the one presented. The family lives inside
// its session record, under the reserved payload key "_sk_rt", so everything that ends a
// session ends its tokens too — logout, "sign out everywhere" and a password change
// (SessionManager::revoke_user_sessions, credential stamps), idle and absolute timeouts, the
// per-user cap — in every store, with no second table to keep in step.
//
// Token: CookieSealer-sealed (XChaCha20-Poly1305 under a key derived from the manager's keyring,
// context "refresh-token") text "<session ID>.<secret>", where the secret is 256 bits: the
// first from the CSPRNG, each next one HMAC-SHA256(keyring secret, ID "." previous secret). About
// 171 characters of base64url. Opaque to clients; a forged or altered token does not open. The
// store keeps only SHA-256 digests of the current and the previous secret:
//   "_sk_rt": {"cur": b64url(SHA-256(current)), "prev": b64url(SHA-256(previous)),
//              "at": <ms of the rotation that made `cur` current>, "gen": <rotations so far>}
//
// `refresh(token)`:
//   - the CURRENT secret rotates: the next secret becomes current, the presented one previous,
//     "at" = now, in one compare-and-swap (SessionStore::patch_if on the whole "_sk_rt" value,
//     with the session's touch); a lost race re-reads and decides again (bounded);
//   - the PREVIOUS secret within `grace` after "at" (a retry after a lost response, two tabs,
//     a parallel call) answers the SAME successor (the same secret, sealed again: rotating
//     either string moves the chain once) and writes nothing. The window is anchored at the
//     first rotation and never slides; a token two or more generations old never gets it;
//   - anything else from a token that opens (the previous secret after grace, an older one) is
//     REUSE: a copy of the token is in two hands. The session is destroyed (its family, every
//     access token checked statefully, the cookie session if it has one), an `anomaly` event
//     says "refresh token reuse", and Metrics::refresh_reuse counts it;
//   - a token that does not open, or whose session is gone, is invalid (nothing changes).
// The session is loaded with SessionManager::load_id: the same policy as a request (deadlines,
// binding, credential stamps). A session whose ID is regenerated leaves its tokens behind (they
// name the old ID): token sessions should not regenerate; start a new family instead.
//
// Errors are only store failures (unavailable/timeout/corrupt: answer 503, nothing half-written)
// and errc::unsupported for a manager without a store or a store without patch_if. A rejected
// token is a result (`Refresh::outcome`), answered as OAuth 2.0 `invalid_grant` (RFC 6749 §5.2).
//
// Thread safety: immutable after construction; use from any thread. The manager must outlive it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "sessionkit/clock.h"
#include "sessionkit/cookie_sealer.h"
#include "sessionkit/http/request.h"
#include "sessionkit/manager.h"
#include "sessionkit/result.h"
#include "sessionkit/session.h"
#include "sessionkit/session_id.h"
#include "sessionkit/store.h"

namespace sessionkit::tokens {

struct RefreshTokenOptions {
  // How long after a rotation the previous token still answers the same successor.
  Duration grace = std::chrono::seconds(30);
  // Compare-and-swap attempts per refresh before giving up with errc::conflict (each lost race
  // means another refresh of the same family won meanwhile).
  int max_attempts = 4;
};

struct Refresh {
  enum class Outcome {
    rotated,   // the current token: a new one was stored
    replayed,  // the previous token within grace: the same successor, nothing written
    invalid,   // not a token of ours, or its session has ended: nothing changed
    reused,    // an old token of a live family: the session was destroyed
  };
  Outcome outcome = Outcome::invalid;
  std::string refresh_token;  // rotated, replayed: the token to hand out
  Session session;            // rotated, replayed: the session (mint the access token from it)
  std::string reason;         // invalid, reused: why (for logs, not for the client)
  bool ok() const noexcept { return outcome == Outcome::rotated || outcome == Outcome::replayed; }
};

std::string_view to_string(Refresh::Outcome outcome) noexcept;

class RefreshTokens {
 public:
  // The reserved payload key of a family.
  static constexpr std::string_view kFamilyKey = "_sk_rt";

  // Throws std::invalid_argument for a grace below zero or max_attempts < 1.
  RefreshTokens(SessionManager& manager, Keyring keyring, RefreshTokenOptions options = {});

  // Starts (or restarts) the family of a stored session (after its commit; e.g. a sign-in):
  // writes the family into the record (one store patch) and answers its first token. A restart
  // retires every earlier token of the session: presenting one then counts as reuse.
  // errc::invalid_argument for a session that is not stored; errc::not_found when the record
  // ended meanwhile; errc::unsupported with client-side sessions; store failures.
  void start(const Session& session, Callback<std::string> done);

  // Redeems `token` (see the header comment); `request` supplies the client address and
  // User-Agent for the session's binding checks.
  void refresh(const http::RequestView& request, std::string_view token, Callback<Refresh> done);

  // Ends the family of `token` and its session (RFC 7009 revocation; logout of a token
  // client): true when a live session was destroyed. A token that does not open, or whose
  // session is gone, answers false (RFC 7009 answers 200 either way). Errors: store failures.
  void revoke(const http::RequestView& request, std::string_view token, Callback<bool> done);

  // The store key of the session `token` names (e.g. to drop a SessionCheck's cached answer
  // after a revocation or a reuse); nullopt when the token does not open.
  std::optional<SessionKey> session_key(std::string_view token) const;

 private:
  struct Opened;  // a token's session ID and secret
  class Attempt;  // one redemption in flight
  // The secret that follows `opened`'s, derived under keyring secret `key_index`.
  std::string successor(const Opened& opened, std::size_t key_index) const;
  Result<std::string> seal(const SessionId& id, std::string_view secret) const;
  std::optional<Opened> open(std::string_view token) const;

  SessionManager* manager_;
  Keyring keyring_;
  CookieSealer sealer_;
  RefreshTokenOptions options_;
};

}  // namespace sessionkit::tokens
