// users.h — the demo's user directory: fixed demo accounts with argon2id password hashes.
//
// Hashes are made at start-up with libsodium's crypto_pwhash_str (argon2id, OPSLIMIT/MEMLIMIT
// _INTERACTIVE), so no plaintext password is kept after construction. `verify` is CPU- and
// memory-heavy (tens of milliseconds, 64 MiB): run it off the I/O threads. For an unknown user it
// verifies against a dummy hash, so response time does not reveal which user names exist.
//
// Thread safety: `verify` and `change_password` may run on many threads at once (a
// shared_mutex guards the hashes).
#pragma once

#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace demo {

class UserDirectory {
 public:
  // Throws std::runtime_error when libsodium cannot initialize or hashing fails.
  explicit UserDirectory(const std::vector<std::pair<std::string, std::string>>& accounts);
  // alice/wonderland and bob/builder.
  static UserDirectory with_demo_accounts();

  // True when `user` exists and `password` matches its hash.
  bool verify(std::string_view user, std::string_view password) const;
  // Replaces `user`'s password when `current` matches; false otherwise (nothing changes).
  // Throws std::runtime_error only when hashing fails (out of memory).
  bool change_password(std::string_view user, std::string_view current,
                       std::string_view replacement);

 private:
  struct Account {
    std::string name;
    std::string hash;
  };
  mutable std::shared_mutex mutex_;
  std::vector<Account> accounts_;
  std::string dummy_hash_;
};

}  // namespace demo
