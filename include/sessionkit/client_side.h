// sessionkit/client_side.h — client-side sessions: the whole session in an encrypted cookie.
//
// What it is: a manager mode, not a store. A `SessionManager` given `ClientSideOptions` (in
// `SessionManager::Dependencies::client_side`, with no store) keeps nothing on the server: it
// seals the session's ID and record (metadata and payload, the encoding of record.h) into the
// session cookie with `CookieSealer` (XChaCha20-Poly1305, keys derived from the manager's
// keyring, so they rotate with SESSION_SECRET; a cookie sealed under an older secret is
// re-sealed with the newest on its next response) and opens it again on the next request.
// Timeouts, binding, CSRF and rotation work as with a server-side store: the deadlines travel
// inside the sealed value, where the client can neither read nor change them.
//
// Trade-offs (docs/security.md, docs/stores.md):
// - No server-side revocation by default: `Session::destroy()` (logout) clears the cookie in the
//   browser, but a copy of the old cookie stays valid until its own idle or absolute deadline,
//   and so does the cookie a `regenerate()` replaced. Listing or revoking a user's sessions
//   answers `errc::unsupported`, and `max_sessions_per_user` cannot be enforced (the manager's
//   constructor rejects it). Keep the timeouts short, and rotate SESSION_SECRET to end every
//   session at once. A password change ends them through credential stamps (credentials.h).
// - Opt-in revocation list (`revocations`): a real logout at the price of one store read per
//   request. A destroyed session, and the ID a regenerate() replaced, leave a tombstone in that
//   store under the session's key (SHA-256 of the ID, as every store keys sessions) until the
//   session's absolute deadline, when the store forgets it (TTL, or purge_expired). Every
//   request that carries a sealed cookie reads the key once: a tombstone means no session (the
//   cookie is cleared; a destroyed session's copy is also reported as an `anomaly`). A store
//   failure is an error on that load and on the commit that would write the tombstone (answer
//   503): a logout is never confirmed without it. The tombstone holds no payload and no user:
//   {"_sk_revoked": "destroyed" | "rotated"}.
// - Size: a commit whose sealed cookie would exceed `max_cookie_bytes` fails with
//   `errc::too_large` and sends nothing (the browser would silently drop a larger cookie).
// - Concurrency: the last response's cookie wins. Two concurrent requests that change the
//   session lose one change; `increment` is not atomic across requests.
// - Every response that changes the session (or refreshes its access time) carries the whole
//   cookie again.
//
// Thread safety: plain values; share freely.
#pragma once

#include <cstddef>
#include <memory>

#include "sessionkit/cookie_sealer.h"

namespace sessionkit {

class SessionStore;

struct ClientSideOptions {
  // Longest sealed cookie value accepted and produced (see cookie_sealer.h for the 3800 default).
  std::size_t max_cookie_bytes = CookieSealer::kDefaultMaxSealedBytes;
  // The revocation list (see "Opt-in revocation list" above); null: none.
  std::shared_ptr<SessionStore> revocations = nullptr;
};

}  // namespace sessionkit
