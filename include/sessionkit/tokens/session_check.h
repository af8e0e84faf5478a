// sessionkit/tokens/session_check.h — revoking access tokens before `exp`: the stateful check.
//
// An access token (access_token.h) is valid until its `exp` on its own: verification reads no
// store. That is the stateless mode — cheapest, but a token of a session that has ended (logout,
// "sign out everywhere", a password change, refresh-token reuse) keeps working for the rest of
// its lifetime (5 minutes by default). `SessionCheck` is the stateful mode: after `verify`, one
// store read tells whether the session the token names is still live and still the token's
// subject's, cached per session for at most `cache_for`.
//
// The `sid` claim: `sid(session)` mints it, the session ID sealed with XChaCha20-Poly1305
// (CookieSealer, context "access-token:sid", a key derived from the keyring given here). The
// token carries no usable session credential (a JWT is readable by whoever holds it, logs
// included), yet the check can load the session by its ID through SessionManager::load_id, with
// exactly the policy of a request: deadlines, binding, credential stamps, the lazy touch (API
// use keeps the session from idling out, as a page's requests do). A `sid` that does not open
// (another keyring, tampered, a token not minted with this class) is not live.
//
// The cache, and what it costs (docs/tokens.md, "Stateful or stateless"): an answer is reused
// for `cache_for` (default 5 s; 0: every check reads the store). So a session ended on ANOTHER
// instance is seen here at most `cache_for` later; ended through this instance, `forget` and
// `forget_user` drop the entry at once. The cache holds at most `max_entries`; when full, the
// expired entries go, and if that frees nothing, all of them.
//
// Errors are store failures only (unavailable / timeout / corrupt: answer 503, never "signed
// out"), and errc::unsupported with client-side sessions. Nothing is cached from a failure.
//
// Thread safety: every member may run on many threads at once (one mutex guards the cache). The
// manager must outlive the check, and the check every `check` call it has not answered yet.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sessionkit/clock.h"
#include "sessionkit/cookie_sealer.h"
#include "sessionkit/http/request.h"
#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "sessionkit/result.h"
#include "sessionkit/session.h"
#include "sessionkit/session_id.h"
#include "sessionkit/tokens/access_token.h"

namespace sessionkit::tokens {

struct SessionCheckOptions {
  Duration cache_for = std::chrono::seconds(5);  // 0: no cache
  std::size_t max_entries = 100000;
};

class SessionCheck {
 public:
  // Throws std::invalid_argument for a negative cache_for or max_entries = 0.
  SessionCheck(SessionManager& manager, const Keyring& keyring, SessionCheckOptions options = {});

  // The `sid` claim for a stored session (after its commit). errc::invalid_argument for a
  // session that is not stored.
  Result<std::string> sid(const Session& session) const;

  // True when the session `token.session_id` names is live now and bound to `token.subject`.
  // `request` supplies the client address and User-Agent for the session's binding checks.
  void check(const AccessToken& token, const http::RequestView& request, Callback<bool> done);

  // Drops the cached answer for the session with store key `key` (it was ended here).
  void forget(const SessionKey& key);
  // Drops every cached answer for `user`'s sessions (a password change, "sign out everywhere").
  void forget_user(std::string_view user);

  // The store key of the session a `sid` names; nullopt when it does not open.
  std::optional<SessionKey> key_of(std::string_view sid) const;

 private:
  struct Entry {
    std::string user;  // "" when the session is not live
    Time until;
  };
  void remember(const SessionKey& key, std::string user, Time now);
  std::optional<SessionId> open(std::string_view sid) const;

  SessionManager* manager_;
  CookieSealer sealer_;
  SessionCheckOptions options_;
  std::mutex mutex_;
  std::unordered_map<SessionKey, Entry, SessionKeyHash> cache_;
};

}  // namespace sessionkit::tokens
