// SessionManager: a user's view of their own sessions (list, revoke one).
#include <algorithm>

#include "crypto/crypto.h"
#include "sessionkit/manager.h"

#include "core/manager_timed.h"

namespace sessionkit {

namespace {
constexpr std::string_view kHandleContext = "sessionkit/session-handle";
constexpr std::size_t kHandleBytes = 16;
}  // namespace

std::string SessionManager::session_handle(const SessionKey& key) const {
  const auto& bytes = key.bytes();
  const Keyring::Mac mac =
      keyring_.mac(0, kHandleContext,
                   std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  return crypto::base64url_encode(std::span(mac).first(kHandleBytes));
}

std::string SessionManager::session_handle_of(const Session& session) const {
  return session.is_stored() ? session_handle(session.st_->key_) : std::string();
}

void SessionManager::list_sessions(const Session& current,
                                   Callback<std::vector<SessionSummary>> done) {
  const std::string user = current.user_id();
  if (user.empty() || !current.is_stored()) return done(std::vector<SessionSummary>{});
  const SessionKey mine = current.st_->key_;
  store_->list_user(user,
                    timed<std::vector<StoredSession>>(
                        [this, mine, done = std::move(done)](Result<std::vector<StoredSession>> r) {
                          if (!r) return done(r.status());
                          std::vector<SessionSummary> out;
                          out.reserve(r->size());
                          for (const auto& s : *r) {
                            SessionSummary v;
                            v.handle = session_handle(s.key);
                            v.current = s.key == mine;
                            v.created_at = s.record.created_at;
                            v.last_seen_at = s.record.last_access;
                            v.ip = s.record.ip;
                            v.user_agent = s.record.user_agent;
                            out.push_back(std::move(v));
                          }
                          std::stable_sort(out.begin(), out.end(),
                                           [](const SessionSummary& a, const SessionSummary& b) {
                                             return a.created_at > b.created_at;
                                           });
                          done(std::move(out));
                        }));
}

void SessionManager::revoke_session(const Session& current, std::string_view handle,
                                    Callback<bool> done) {
  const std::string user = current.user_id();
  if (user.empty() || !current.is_stored()) return done(false);
  store_->list_user(
      user, timed<std::vector<StoredSession>>([this, user, wanted = std::string(handle),
                                               done = std::move(done)](
                                                  Result<std::vector<StoredSession>> r) mutable {
        if (!r) return done(r.status());
        std::optional<SessionKey> victim;
        for (const auto& s : *r) {
          const std::string h = session_handle(s.key);
          if (h.size() == wanted.size() &&
              crypto::equal(
                  std::span(reinterpret_cast<const std::uint8_t*>(h.data()), h.size()),
                  std::span(reinterpret_cast<const std::uint8_t*>(wanted.data()), wanted.size()))) {
            victim = s.key;
          }
        }
        if (!victim) return done(false);
        store_->destroy(*victim, timed<bool>([this, user, victim = *victim,
                                              done = std::move(done)](Result<bool> d) {
          if (!d) return done(d.status());
          if (*d) {
            metrics_->sessions_destroyed.fetch_add(1, std::memory_order_relaxed);
            Event e;
            e.type = EventType::destroyed;
            e.at = clock_->now();
            e.user_id = user;
            e.key_hint = victim.hint();
            e.reason = "revoked by its user";
            events_->on_event(e);
          }
          done(*d);
        }));
      }));
}

}  // namespace sessionkit
