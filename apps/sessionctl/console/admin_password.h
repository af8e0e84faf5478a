// admin_password.h — the console's admin password: an argon2id hash (libsodium's
// crypto_pwhash_str, the "$argon2id$v=19$m=…,t=…,p=…$salt$hash" text), made by
// `sessionctl hash-password` and given to the console in a file or the environment (private to
// sessionctl).
#pragma once

#include <string>
#include <string_view>

namespace sessionctl {

// The argon2id hash of `password` (libsodium's interactive limits: 64 MiB, 2 passes).
// Throws std::runtime_error when libsodium cannot (out of memory).
std::string hash_password(std::string_view password);

// Whether `password` matches `hash`, in time that does not depend on where they differ. A
// malformed hash never matches.
bool password_matches(const std::string& hash, std::string_view password);

// Whether `hash` is an argon2id hash string this build can check.
bool is_password_hash(const std::string& hash);

}  // namespace sessionctl
