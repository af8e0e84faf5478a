#include "users.h"

#include <sodium.h>

#include <mutex>

#include <stdexcept>

namespace demo {
namespace {

std::string hash_password(std::string_view password) {
  std::string out(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str(out.data(), password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("argon2id hashing failed (out of memory?)");
  }
  out.resize(out.find('\0'));
  return out;
}

}  // namespace

UserDirectory::UserDirectory(const std::vector<std::pair<std::string, std::string>>& accounts) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialize");
  for (const auto& [name, password] : accounts) {
    accounts_.push_back(Account{name, hash_password(password), 1});
  }
  // A random password nobody knows: verifying against it costs what a real verification costs.
  unsigned char random[32];
  randombytes_buf(random, sizeof random);
  dummy_hash_ =
      hash_password(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
}

UserDirectory UserDirectory::with_demo_accounts() {
  return UserDirectory({{"alice", "wonderland"}, {"bob", "builder"}});
}

std::optional<std::string> UserDirectory::verify(std::string_view user,
                                                 std::string_view password) const {
  std::string hash = dummy_hash_;
  std::string stamp;
  bool known = false;
  {
    std::shared_lock lock(mutex_);
    for (const auto& a : accounts_) {
      if (a.name == user) {
        hash = a.hash;
        stamp = std::to_string(a.generation);
        known = true;
        break;
      }
    }
  }
  bool ok = crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  if (!known || !ok) return std::nullopt;
  return stamp;
}

std::optional<std::string> UserDirectory::change_password(std::string_view user,
                                                          std::string_view current,
                                                          std::string_view replacement) {
  std::optional<std::string> verified = verify(user, current);
  if (!verified) return std::nullopt;
  std::string fresh = hash_password(replacement);
  std::unique_lock lock(mutex_);
  for (auto& a : accounts_) {
    // Only the credentials that were checked are replaced: a change that raced this one wins.
    if (a.name == user && std::to_string(a.generation) == *verified) {
      a.hash = std::move(fresh);
      return std::to_string(++a.generation);
    }
  }
  return std::nullopt;
}

std::optional<std::string> UserDirectory::rotate_stamp(std::string_view user) {
  std::unique_lock lock(mutex_);
  for (auto& a : accounts_) {
    if (a.name == user) return std::to_string(++a.generation);
  }
  return std::nullopt;
}

void UserDirectory::current_stamp(const std::string& user_id,
                                  sessionkit::Callback<std::string> done) const {
  std::string stamp;
  {
    std::shared_lock lock(mutex_);
    for (const auto& a : accounts_) {
      if (a.name == user_id) {
        stamp = std::to_string(a.generation);
        break;
      }
    }
  }
  done(std::move(stamp));
}

}  // namespace demo
