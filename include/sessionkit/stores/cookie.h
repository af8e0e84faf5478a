// sessionkit/stores/cookie.h — client-side sessions: the whole session in an encrypted cookie.
//
// What it is: the server keeps nothing. A `SessionManager` given a `CookieStore` seals the
// session's ID and record (metadata and payload, the encoding of record.h) into the session
// cookie with `CookieSealer` (XChaCha20-Poly1305, keys derived from the manager's keyring, so
// they rotate with SESSION_SECRET; a cookie sealed under an older secret is re-sealed with the
// newest on its next response) and opens it again on the next request. Timeouts, binding, CSRF
// and rotation work as with a server-side store: the deadlines travel inside the sealed value,
// where the client can neither read nor change them.
//
// Trade-offs (docs/security.md):
// - No server-side revocation: `destroy()` (logout) clears the cookie in the browser, but a
//   copy of the old cookie stays valid until its own idle or absolute deadline. Listing or
//   revoking a user's sessions answers `errc::unsupported`; so does `count`. Keep the timeouts
//   short, and rotate SESSION_SECRET to end every session at once.
// - Size: a commit whose sealed cookie would exceed `max_cookie_bytes` fails with
//   `errc::too_large` and sends nothing (the browser would silently drop a larger cookie).
// - Concurrency: the last response's cookie wins. Two concurrent requests that change the
//   session lose one change; `increment` is not atomic across requests.
// - Every response that changes the session (or refreshes its access time) carries the whole
//   cookie again.
//
// The SessionStore operations exist only so that a CookieStore can stand where a store is
// expected: the manager never calls them. Called directly, each answers `errc::unsupported`,
// except `health` (always ready) and `purge_expired` (nothing to purge: 0).
//
// Thread safety: immutable; share freely.
#pragma once

#include <cstddef>

#include "sessionkit/cookie_sealer.h"
#include "sessionkit/store.h"

namespace sessionkit {

struct CookieStoreOptions {
  // Longest sealed cookie value accepted and produced (see cookie_sealer.h for the 3800 default).
  std::size_t max_cookie_bytes = CookieSealer::kDefaultMaxSealedBytes;
};

class CookieStore final : public SessionStore {
 public:
  explicit CookieStore(CookieStoreOptions options = {}) : options_(options) {}

  const CookieStoreOptions& options() const noexcept { return options_; }

  std::string_view name() const noexcept override { return "cookie"; }
  const CookieStore* client_side() const noexcept override { return this; }

  void load(const SessionKey&, std::optional<TouchSpec>,
            Callback<std::optional<SessionRecord>> done) override;
  void create(const SessionKey&, const SessionRecord&, Callback<void> done) override;
  void patch(const SessionKey&, const SessionPatch&, Callback<void> done) override;
  void increment(const SessionKey&, const std::string&, std::int64_t, std::optional<TouchSpec>,
                 Callback<std::int64_t> done) override;
  void replace(const SessionKey&, const SessionRecord&, Callback<void> done) override;
  void touch(const SessionKey&, TouchSpec, Callback<void> done) override;
  void destroy(const SessionKey&, Callback<bool> done) override;
  void list_user(const std::string&, Callback<std::vector<StoredSession>> done) override;
  void destroy_user(const std::string&, std::optional<SessionKey>,
                    Callback<std::size_t> done) override;
  void count(Callback<std::size_t> done) override;
  void scan(const std::string&, std::size_t, Callback<ScanPage> done) override;
  void purge_expired(std::size_t, Callback<std::size_t> done) override;
  void health(Callback<void> done) override;

 private:
  CookieStoreOptions options_;
};

}  // namespace sessionkit
