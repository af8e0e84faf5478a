// users.h — the demo's user directory: fixed demo accounts with argon2id password hashes.
//
// Hashes are made at start-up with libsodium's crypto_pwhash_str (argon2id, OPSLIMIT/MEMLIMIT
// _INTERACTIVE), so no plaintext password is kept after construction. `verify` is CPU- and
// memory-heavy (tens of milliseconds, 64 MiB): run it off the I/O threads. For an unknown user it
// verifies against a dummy hash, so response time does not reveal which user names exist.
//
// Each account also has a security stamp: its credential generation, 1 at start-up and one more
// on every password change and every "sign out everywhere else". (A counter, not random bytes:
// demo instances that share a store start with the same stamps; the store keeps only a MAC of
// it under the server secret. The directory itself is per process, so a password change on one
// instance is not seen by another.) Sessions carry the stamp they signed in with
// (sessionkit/credentials.h); the directory is the session manager's CredentialSource, so a
// session whose stamp is out of date ends on its next request.
//
// Thread safety: every member may run on many threads at once (a shared_mutex guards the
// accounts).
#pragma once

#include <cstdint>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sessionkit/credentials.h"

namespace demo {

class UserDirectory final : public sessionkit::CredentialSource {
 public:
  // Throws std::runtime_error when libsodium cannot initialize or hashing fails.
  explicit UserDirectory(const std::vector<std::pair<std::string, std::string>>& accounts);
  // alice/wonderland and bob/builder.
  static UserDirectory with_demo_accounts();

  // The security stamp of the credentials `password` matched (read together with the hash it
  // was checked against), or nullopt when `user` does not exist or the password is wrong.
  std::optional<std::string> verify(std::string_view user, std::string_view password) const;
  // Replaces `user`'s password when `current` matches and nothing changed the account meanwhile;
  // answers the new security stamp, or nullopt (nothing changes). Throws std::runtime_error only
  // when hashing fails (out of memory).
  std::optional<std::string> change_password(std::string_view user, std::string_view current,
                                             std::string_view replacement);
  // A new security stamp for `user` (every session signed in before ends); nullopt when the
  // user does not exist.
  std::optional<std::string> rotate_stamp(std::string_view user);

  // sessionkit::CredentialSource: the user's stamp, "" when the user does not exist. Inline.
  void current_stamp(const std::string& user_id,
                     sessionkit::Callback<std::string> done) const override;

 private:
  struct Account {
    std::string name;
    std::string hash;
    std::uint64_t generation = 1;  // the security stamp
  };
  mutable std::shared_mutex mutex_;
  std::vector<Account> accounts_;
  std::string dummy_hash_;
};

}  // namespace demo
