// SessionManager: construction, lifecycle reporting, and the small policy helpers the load and
// commit paths share (deadlines, binding, the steps before any write, the anonymous limit).
// The paths themselves: manager_load.cpp, manager_commit.cpp, manager_increment.cpp; CSRF:
// manager_csrf.cpp; credentials: manager_credentials.cpp; a user's sessions and the cap:
// manager_sessions.cpp; cookies: manager_cookie.cpp; client-side sessions:
// manager_client_side.cpp.
#include "sessionkit/manager.h"

#include <chrono>
#include <stdexcept>

#include "core/reserved_keys.h"
#include "crypto/crypto.h"

namespace sessionkit {

SessionManager::SessionManager(std::shared_ptr<SessionStore> store, Keyring keyring,
                               SessionOptions options)
    : SessionManager(std::move(store), std::move(keyring), std::move(options), Dependencies{}) {}

SessionManager::SessionManager(std::shared_ptr<SessionStore> store, Keyring keyring,
                               SessionOptions options, Dependencies deps)
    : store_(std::move(store)),
      client_side_(deps.client_side),
      keyring_(std::move(keyring)),
      options_(std::move(options)),
      clock_(deps.clock ? deps.clock : &system_clock()),
      events_(deps.events ? std::move(deps.events) : make_log_sink()),
      metrics_(deps.metrics ? std::move(deps.metrics) : std::make_shared<Metrics>()),
      credentials_(std::move(deps.credentials)),
      anonymous_limiter_(RateLimiter::Options{options_.anonymous_sessions.burst,
                                              options_.anonymous_sessions.per_minute},
                         *clock_) {
  if (keyring_.shortest_secret() < options_.min_secret_bytes) {
    throw std::invalid_argument("every keyring secret must be at least " +
                                std::to_string(options_.min_secret_bytes) +
                                " bytes (SessionOptions::min_secret_bytes); the shortest has " +
                                std::to_string(keyring_.shortest_secret()) +
                                ": generate one with `head -c 32 /dev/urandom | base64`");
  }
  if (store_ && client_side_) {
    throw std::invalid_argument(
        "SessionManager takes a store or client-side sessions (Dependencies::client_side), not "
        "both");
  }
  if (!store_ && !client_side_) {
    throw std::invalid_argument(
        "SessionManager needs a store or client-side sessions (Dependencies::client_side)");
  }
  if (Status s = options_.validate(); !s.ok()) throw std::invalid_argument(s.to_string());
  // Lazy touch must happen well within the idle window, or active sessions would expire.
  options_.touch_interval = std::min(options_.touch_interval, options_.idle_timeout / 2);
  cookie_name_ = options_.cookie.full_name();
  csrf_cookie_name_ = cookie_name_ + "-csrf";
  sign_context_ = "cookie:" + cookie_name_;
  crypto::init();
  if (client_side_) {
    if (options_.max_sessions_per_user > 0) {
      throw std::invalid_argument(
          "max_sessions_per_user cannot be enforced with client-side (cookie) sessions");
    }
    if (options_.bearer.enabled) {
      throw std::invalid_argument(
          "bearer session tokens need a store: not available with client-side (cookie) sessions");
    }
    sealer_.emplace(keyring_, "session:" + cookie_name_, client_side_->max_cookie_bytes);
  }
}

// ---------------------------------------------------------------- lifecycle reporting

void SessionManager::emit(EventType type, const Session& s, std::string reason,
                          std::string old_hint) const {
  emit_for(type, s.st_->key_ == SessionKey() ? std::string() : s.st_->key_.hint(),
           s.st_->record_.user_id, std::move(reason), 1, std::move(old_hint));
}

void SessionManager::flag(Anomaly which, const Session& s, std::string reason) const {
  flag_for(which, s.st_->key_ == SessionKey() ? std::string() : s.st_->key_.hint(),
           s.st_->record_.user_id, std::move(reason));
}

void SessionManager::flag_for(Anomaly which, std::string key_hint, std::string user,
                              std::string reason) const {
  emit_for(EventType::anomaly, std::move(key_hint), std::move(user), std::move(reason), 1, {},
           which);
}

void SessionManager::emit_for(EventType type, std::string key_hint, std::string user,
                              std::string reason, std::uint64_t count, std::string old_hint,
                              Anomaly which) const {
  std::atomic<std::uint64_t>* counter = nullptr;
  switch (type) {
    case EventType::created:
      counter = &metrics_->sessions_created;
      break;
    case EventType::rotated:
      counter = &metrics_->sessions_rotated;
      break;
    case EventType::destroyed:
      counter = &metrics_->sessions_destroyed;
      break;
    case EventType::expired:
      counter = &metrics_->sessions_expired;
      break;
    case EventType::anomaly:
      metrics_->anomalies.add(which, count);
      break;
    case EventType::store_error:
      break;  // counted per failed store call (timed)
  }
  if (counter != nullptr) counter->fetch_add(count, std::memory_order_relaxed);
  Event e;
  e.type = type;
  e.at = clock_->now();
  e.key_hint = std::move(key_hint);
  e.old_key_hint = std::move(old_hint);
  e.user_id = std::move(user);
  e.reason = std::move(reason);
  e.anomaly = which;
  events_->on_event(e);
}

// ---------------------------------------------------------------- policy helpers

TouchSpec SessionManager::touch_spec(Time now) const {
  return TouchSpec{now, now + options_.idle_timeout};
}

std::optional<Time> SessionManager::touch_due(const Session& s, Time now) const {
  if (s.st_->touched_at_load_) return std::nullopt;  // load refreshed it in its round trip
  if (options_.rolling || now - s.st_->record_.last_access >= options_.touch_interval) return now;
  return std::nullopt;
}

SessionRecord SessionManager::fresh_record(const Session& s, Time now) const {
  SessionRecord record = s.st_->record_;
  record.start(now, options_.idle_timeout, options_.absolute_timeout);
  if (s.st_->user_dirty_ || s.st_->auth_dirty_) record.auth_at = now;
  if (!s.st_->stored_ || record.ip.empty()) {
    record.ip = s.st_->client_ip_;
    record.user_agent = s.st_->user_agent_;
  }
  return record;
}

std::string SessionManager::binding_violation(const Session& s, const SessionRecord& record) const {
  if (options_.bind.user_agent && s.st_->user_agent_ != record.user_agent) {
    return "binding: the User-Agent differs from the session's";
  }
  if (options_.bind.ip && s.st_->client_ip_ != record.ip) {
    return "binding: request from " + s.st_->client_ip_ + ", session created from " + record.ip;
  }
  return {};
}

void SessionManager::prepare_write(Session& s) const {
  if (s.st_->csrf_rotate_) fresh_csrf_seed(s);
  stage_credential(s);
  if (s.st_->auth_dirty_ && s.contains(reserved::kReauthFailures)) {
    s.erase_reserved(reserved::kReauthFailures);
  }
}

Status SessionManager::admit_anonymous(const Session& s) {
  const RateLimiter::Decision d =
      anonymous_limiter_.try_acquire(RateLimiter::client_key(s.st_->client_ip_));
  if (d.allowed) return {};
  metrics_->rate_limited.fetch_add(1, std::memory_order_relaxed);
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(d.retry_after).count();
  return Status(errc::rate_limited, "too many new sessions from this address; retry in " +
                                        std::to_string(seconds) + " s");
}

bool SessionManager::authenticated_within(const Session& s, Duration max_age) const {
  if (!s.st_->stored_ || s.st_->record_.user_id.empty() || !s.st_->record_.auth_at) return false;
  return clock_->now() - *s.st_->record_.auth_at <= max_age;
}

}  // namespace sessionkit
