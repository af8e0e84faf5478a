// sessionkit/credentials.h — CredentialSource: sessions tied to the credentials that made them.
//
// Revoking a user's sessions after a password change (SessionManager::revoke_user_sessions)
// cannot by itself end a sign-in that is still in flight: a login whose password check read the
// OLD password, but whose session is stored after the revocation ran, would survive it. So a
// session also carries a *credential stamp*: an opaque string the application derives from the
// user's credentials (the password hash, or a random "security stamp" it replaces on every
// password change, reset or "sign out everywhere"). `Session::set_user(user, stamp)` records it
// (as an HMAC under the keyring: a store dump shows no hashes), and with a CredentialSource in
// `SessionManager::Dependencies`:
//   - every load of a session bound to a user asks the source for the user's current stamp; a
//     session whose stamp differs (or that has none) is destroyed and the request continues as a
//     visitor (a `destroyed` event, `sessionkit_credential_revocations_total`);
//   - every commit that binds a user or sets a stamp asks again AFTER the write: if the stamp
//     changed meanwhile, the new session is destroyed and commit fails with errc::conflict.
// A login therefore either completes before the credential change — and the change's revocation
// or the next load ends it — or sees the new stamp and fails. This holds across app instances
// and stores, because the check reads the credentials, not the session store.
//
// The stamp passed to set_user must be the one read together with the password check (under the
// same lock or transaction), never one read after it.
//
// Contract for implementations: thread-safe; `current_stamp` calls `done` exactly once, possibly
// inline. It answers the user's current stamp, "" when the user does not exist any more (their
// sessions then end), or an error (errc::unavailable) when the directory cannot answer — the
// request then fails (503): a session is never kept or ended on a guess. It is called on every
// request of a signed-in user, so it should be a cache or memory lookup.
#pragma once

#include <string>

#include "sessionkit/store.h"

namespace sessionkit {

class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual void current_stamp(const std::string& user_id, Callback<std::string> done) const = 0;
};

}  // namespace sessionkit
