// KeyRing: which key signs, which keys still verify (the horizon rule in signing_keys.h), and the
// JWK Sets (public and private) that carry the ring between instances.
#include <algorithm>

#include "sessionkit/tokens/signing_keys.h"
#include "tokens/jose.h"

namespace sessionkit::tokens {

KeyRing::KeyRing(const Clock& clock, KeyRingOptions options) : clock_(clock), options_(options) {}

bool KeyRing::verifies(const Entry& e, Time now) const {
  return !e.retired_at || now <= *e.retired_at + options_.max_token_lifetime + options_.max_leeway;
}

Status KeyRing::add(SigningKey key) {
  const std::lock_guard lock(mutex_);
  for (const Entry& e : entries_) {
    if (e.key.kid() == key.kid()) {
      return {errc::conflict, "key ring: kid \"" + key.kid() + "\" is already in the ring"};
    }
  }
  entries_.push_back({std::move(key), std::nullopt});
  return {};
}

Result<SigningKey> KeyRing::rotate(Algorithm alg, std::string kid) {
  const Time now = clock_.now();
  auto key = SigningKey::generate(alg, std::move(kid), now);
  if (!key) return key.status();
  const std::lock_guard lock(mutex_);
  for (const Entry& e : entries_) {
    if (e.key.kid() == key->kid()) {
      return Status(errc::conflict, "key ring: kid \"" + key->kid() + "\" is already in the ring");
    }
  }
  for (Entry& e : entries_) {
    if (!e.retired_at) e.retired_at = now;
  }
  entries_.push_back({*key, std::nullopt});
  return key;
}

Status KeyRing::retire(std::string_view kid) {
  const Time now = clock_.now();
  const std::lock_guard lock(mutex_);
  for (Entry& e : entries_) {
    if (e.key.kid() == kid) {
      if (!e.retired_at) e.retired_at = now;
      return {};
    }
  }
  return {errc::not_found, "key ring: no key \"" + std::string(kid) + "\""};
}

void KeyRing::prune() {
  const Time now = clock_.now();
  const std::lock_guard lock(mutex_);
  std::erase_if(entries_, [&](const Entry& e) { return !verifies(e, now); });
}

Result<SigningKey> KeyRing::signing_key() const {
  const std::lock_guard lock(mutex_);
  const Entry* best = nullptr;
  for (const Entry& e : entries_) {
    if (!e.retired_at && (!best || e.key.created_at() >= best->key.created_at())) best = &e;
  }
  if (!best) return Status(errc::not_found, "key ring: no active signing key");
  return best->key;
}

std::optional<SigningKey> KeyRing::find(std::string_view kid) const {
  const Time now = clock_.now();
  const std::lock_guard lock(mutex_);
  for (const Entry& e : entries_) {
    if (e.key.kid() == kid) {
      if (!verifies(e, now)) return std::nullopt;
      return e.key;
    }
  }
  return std::nullopt;
}

namespace {

// The entries that still verify, newest first (of two created at once, the one added last).
template <class Entry, class Pred>
std::vector<const Entry*> newest_first(const std::vector<Entry>& entries, Pred verifies) {
  std::vector<const Entry*> out;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (verifies(*it)) out.push_back(&*it);
  }
  std::stable_sort(out.begin(), out.end(), [](const Entry* a, const Entry* b) {
    return a->key.created_at() > b->key.created_at();
  });
  return out;
}

}  // namespace

std::string KeyRing::jwks() const {
  const Time now = clock_.now();
  const std::lock_guard lock(mutex_);
  nlohmann::json keys = nlohmann::json::array();
  for (const Entry* e : newest_first(entries_, [&](const Entry& x) { return verifies(x, now); })) {
    keys.push_back(nlohmann::json::parse(e->key.public_jwk()));
  }
  return nlohmann::json{{"keys", std::move(keys)}}.dump();
}

std::string KeyRing::export_private() const {
  const Time now = clock_.now();
  const std::lock_guard lock(mutex_);
  nlohmann::json keys = nlohmann::json::array();
  for (const Entry* e : newest_first(entries_, [&](const Entry& x) { return verifies(x, now); })) {
    nlohmann::json jwk = nlohmann::json::parse(e->key.export_jwk());
    if (e->retired_at) jwk["retired_ms"] = to_millis(*e->retired_at);
    keys.push_back(std::move(jwk));
  }
  return nlohmann::json{{"keys", std::move(keys)}}.dump();
}

Result<std::unique_ptr<KeyRing>> KeyRing::import(std::string_view text, const Clock& clock,
                                                 KeyRingOptions options) {
  const auto set = jose::parse_object(text);
  if (!set) return Status(errc::invalid_argument, "key ring: not a JSON object");
  const auto keys = set->find("keys");
  if (keys == set->end() || !keys->is_array()) {
    return Status(errc::invalid_argument, "key ring: \"keys\" must be an array");
  }
  auto ring = std::make_unique<KeyRing>(clock, options);
  // Oldest first, as they were added where the set was exported (ties keep their order).
  for (std::size_t index = keys->size(); index-- > 0;) {
    const nlohmann::json& jwk = (*keys)[index];
    const std::string where = "key ring: keys[" + std::to_string(index) + "]: ";
    if (!jwk.is_object()) return Status(errc::invalid_argument, where + "not an object");
    auto key = SigningKey::import_jwk(jwk.dump());  // parsed from text: valid UTF-8
    if (!key) return Status(errc::invalid_argument, where + key.message());
    std::optional<Time> retired;
    if (const auto r = jwk.find("retired_ms"); r != jwk.end()) {
      if (!r->is_number_integer() || r->get<std::int64_t>() < 0) {
        return Status(errc::invalid_argument, where + "\"retired_ms\" is not an integer");
      }
      retired = from_millis(r->get<std::int64_t>());
    }
    if (auto added = ring->add(std::move(key).value()); !added) {
      return Status(errc::invalid_argument, where + added.message());
    }
    ring->entries_.back().retired_at = retired;
  }
  return ring;
}

}  // namespace sessionkit::tokens
