// admin_password.cpp — see admin_password.h.
#include "console/admin_password.h"

#include <sodium.h>

#include <stdexcept>

namespace sessionctl {

namespace {

void init() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
}

}  // namespace

std::string hash_password(std::string_view password) {
  init();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("argon2id: out of memory");
  }
  return out;
}

bool password_matches(const std::string& hash, std::string_view password) {
  init();
  if (!is_password_hash(hash)) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool is_password_hash(const std::string& hash) {
  return hash.starts_with(crypto_pwhash_argon2id_STRPREFIX) && hash.size() < crypto_pwhash_STRBYTES;
}

}  // namespace sessionctl
