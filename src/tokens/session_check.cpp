// The stateful access-token check (include/sessionkit/tokens/session_check.h).
#include "sessionkit/tokens/session_check.h"

#include <memory>
#include <stdexcept>
#include <utility>

namespace sessionkit::tokens {
namespace {

constexpr std::string_view kSealContext = "access-token:sid";

}  // namespace

SessionCheck::SessionCheck(SessionManager& manager, const Keyring& keyring,
                           SessionCheckOptions options)
    : manager_(&manager), sealer_(keyring, kSealContext), options_(options) {
  if (options_.cache_for < Duration::zero()) {
    throw std::invalid_argument("SessionCheckOptions::cache_for must not be negative");
  }
  if (options_.max_entries == 0) {
    throw std::invalid_argument("SessionCheckOptions::max_entries must be at least 1");
  }
}

Result<std::string> SessionCheck::sid(const Session& session) const {
  if (!session.is_stored() || session.is_destroyed() || !session.st_->id_) {
    return Status{errc::invalid_argument, "a sid needs a stored session (commit first)"};
  }
  return sealer_.seal(session.st_->id_->str());
}

std::optional<SessionId> SessionCheck::open(std::string_view sid) const {
  auto opened = sealer_.open(sid);
  if (!opened) return std::nullopt;
  return SessionId::parse(opened->plaintext);
}

std::optional<SessionKey> SessionCheck::key_of(std::string_view sid) const {
  auto id = open(sid);
  if (!id) return std::nullopt;
  return SessionKey::of(*id);
}

void SessionCheck::check(const AccessToken& token, const http::RequestView& request,
                         Callback<bool> done) {
  if (manager_->store() == nullptr) {
    return done(Status{errc::unsupported, "the stateful check needs a server-side store"});
  }
  auto id = open(token.session_id);
  if (!id) return done(false);
  const SessionKey key = SessionKey::of(*id);
  const Time now = manager_->clock().now();
  if (options_.cache_for > Duration::zero()) {
    std::lock_guard lock(mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      if (now < it->second.until) {
        const bool live = !it->second.user.empty() && it->second.user == token.subject;
        return done(live);
      }
      cache_.erase(it);
    }
  }
  manager_->load_id(
      *id, request.peer_address(), request.header("User-Agent").value_or(""),
      [this, key, subject = token.subject, now, done = std::move(done)](Result<Session> r) {
        if (!r.ok()) return done(r.status());
        std::string user = r->is_stored() ? r->user_id() : std::string();
        const bool live = !user.empty() && user == subject;
        remember(key, std::move(user), now);
        done(live);
      });
}

void SessionCheck::remember(const SessionKey& key, std::string user, Time now) {
  if (options_.cache_for <= Duration::zero()) return;
  std::lock_guard lock(mutex_);
  if (cache_.size() >= options_.max_entries && !cache_.contains(key)) {
    std::erase_if(cache_, [now](const auto& kv) { return kv.second.until <= now; });
    if (cache_.size() >= options_.max_entries) cache_.clear();
  }
  cache_[key] = Entry{std::move(user), now + options_.cache_for};
}

void SessionCheck::forget(const SessionKey& key) {
  std::lock_guard lock(mutex_);
  cache_.erase(key);
}

void SessionCheck::forget_user(std::string_view user) {
  std::lock_guard lock(mutex_);
  std::erase_if(cache_, [user](const auto& kv) { return kv.second.user == user; });
}

}  // namespace sessionkit::tokens
