// SessionManager: a user's sessions — the per-user cap, revoking them all, and the user's own
// view of them (list, revoke one).
#include <algorithm>
#include <functional>

#include "crypto/crypto.h"
#include "sessionkit/manager.h"

#include "core/fan_in.h"
#include "core/manager_timed.h"

namespace sessionkit {

namespace {
constexpr std::string_view kHandleContext = "sessionkit/session-handle";
constexpr std::size_t kHandleBytes = 16;

// What the operations that need server-side records answer with client-side sessions.
Status no_store() {
  return {errc::unsupported,
          "client-side sessions keep everything in the client: no server-side records to read, "
          "list or revoke"};
}
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
  if (!store_) return done(no_store());
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
  // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): `done` may end `current` inline
  const std::string user = current.user_id();
  if (user.empty() || !current.is_stored()) return done(false);
  if (!store_) return done(no_store());
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
          if (*d) emit_for(EventType::destroyed, victim.hint(), user, "revoked by its user");
          done(*d);
        }));
      }));
}

void SessionManager::revoke_user_sessions(const std::string& user_id, const Session* keep,
                                          Callback<std::size_t> done) {
  if (!store_) return done(no_store());
  std::optional<SessionKey> keep_key;
  if (keep != nullptr && keep->st_->stored_) keep_key = keep->st_->key_;
  store_->destroy_user(
      user_id, keep_key,
      timed<std::size_t>([this, user_id, done = std::move(done)](Result<std::size_t> r) {
        if (r.ok()) {
          emit_for(EventType::destroyed, {}, user_id,
                   "revoked " + std::to_string(*r) + " session(s) of the user", *r);
        }
        done(std::move(r));
      }));
}

namespace {

// The sessions a user keeps under a cap of `cap`: newest first, by creation time and then by
// key, the same order for every request and every app server. Two logins that race therefore
// agree on which sessions stay, and together end no more than the cap demands (each keeping
// itself first, they could end each other). Answers the rest, oldest last.
std::vector<SessionKey> over_cap(const std::vector<StoredSession>& listed, const SessionKey& mine,
                                 Time mine_created, std::size_t cap) {
  std::vector<std::pair<Time, SessionKey>> ranked;
  ranked.reserve(listed.size() + 1);
  bool mine_listed = false;
  for (const auto& stored : listed) {
    mine_listed = mine_listed || stored.key == mine;
    ranked.emplace_back(stored.record.created_at, stored.key);
  }
  if (!mine_listed) ranked.emplace_back(mine_created, mine);  // ranked like the others
  std::vector<SessionKey> victims;
  if (ranked.size() <= cap) return victims;
  std::sort(ranked.begin(), ranked.end(), std::greater<>());
  for (std::size_t i = cap; i < ranked.size(); ++i)
    victims.push_back(ranked[i].second);
  return victims;
}

}  // namespace

void SessionManager::evict_over_cap(const Session& s, Callback<void> done) {
  const std::string user = s.st_->record_.user_id;
  const SessionKey mine = s.st_->key_;
  const Time mine_created = s.st_->record_.created_at;
  const std::size_t cap = options_.max_sessions_per_user;
  store_->list_user(
      user, timed<std::vector<StoredSession>>([this, user, mine, mine_created, cap,
                                               done = std::move(done)](
                                                  Result<std::vector<StoredSession>> r) mutable {
        if (!r) return done(r.status());
        const std::vector<SessionKey> victims = over_cap(*r, mine, mine_created, cap);
        const bool mine_evicted = std::find(victims.begin(), victims.end(), mine) != victims.end();
        auto fan = detail::FanIn<bool>::start(
            victims.size(),
            [cap, mine_evicted, done = std::move(done)](const Result<std::vector<bool>>& all) {
              if (!all.ok()) return done(all.status());
              if (!mine_evicted) return done({});
              done(Status(errc::conflict, "a newer login of this user took the last of its " +
                                              std::to_string(cap) + " session slots"));
            });
        for (std::size_t i = 0; i < victims.size(); ++i) {
          store_->destroy(
              victims[i],
              timed<bool>([this, fan, i, user, cap, hint = victims[i].hint()](Result<bool> d) {
                if (d.ok() && *d) {
                  emit_for(EventType::destroyed, hint, user,
                           "evicted: the user has more than " + std::to_string(cap) + " sessions");
                }
                fan->put(i, std::move(d));
              }));
        }
      }));
}

}  // namespace sessionkit
