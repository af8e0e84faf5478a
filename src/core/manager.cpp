#include "sessionkit/manager.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <mutex>
#include <stdexcept>

#include "core/manager_timed.h"
#include "core/reserved_keys.h"
#include "crypto/crypto.h"
#include "sessionkit/stores/cookie.h"
#include "sessionkit/store_rules.h"

namespace sessionkit {
namespace {

constexpr std::size_t kMaxUserAgent = 512;

std::chrono::seconds seconds_until(Time deadline, Time now) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - now);
  return left.count() > 0 ? left : std::chrono::seconds(0);
}

}  // namespace

// ---------------------------------------------------------------- options

SessionOptions SessionOptions::production() {
  SessionOptions o;
  o.cookie.prefix = http::CookiePrefix::host;
  o.cookie.secure = true;
  return o;
}

SessionOptions SessionOptions::development() {
  SessionOptions o;
  o.cookie.prefix = http::CookiePrefix::none;
  o.cookie.secure = false;
  return o;
}

Status SessionOptions::validate() const {
  if (idle_timeout.count() <= 0) return {errc::invalid_argument, "idle_timeout must be positive"};
  if (absolute_timeout.count() <= 0) {
    return {errc::invalid_argument, "absolute_timeout must be positive"};
  }
  if (touch_interval.count() < 0) {
    return {errc::invalid_argument, "touch_interval must not be negative"};
  }
  if (max_payload_bytes == 0 || max_keys == 0) {
    return {errc::invalid_argument, "payload limits must be positive"};
  }
  http::SetCookie probe;
  probe.name = cookie.full_name();
  probe.value = "x";
  probe.domain = cookie.domain;
  probe.path = cookie.path;
  probe.secure = cookie.secure;
  probe.http_only = cookie.http_only;
  probe.same_site = cookie.same_site;
  probe.partitioned = cookie.partitioned;
  if (Status s = probe.validate(); !s.ok()) {
    return {errc::invalid_argument, "cookie options: " + s.message()};
  }
  return {};
}

// ---------------------------------------------------------------- construction

SessionManager::SessionManager(std::shared_ptr<SessionStore> store, Keyring keyring,
                               SessionOptions options)
    : SessionManager(std::move(store), std::move(keyring), std::move(options), Dependencies{}) {}

SessionManager::SessionManager(std::shared_ptr<SessionStore> store, Keyring keyring,
                               SessionOptions options, Dependencies deps)
    : store_(std::move(store)),
      keyring_(std::move(keyring)),
      options_(std::move(options)),
      clock_(deps.clock ? deps.clock : &system_clock()),
      events_(deps.events ? std::move(deps.events) : make_log_sink()),
      metrics_(deps.metrics ? std::move(deps.metrics) : std::make_shared<Metrics>()),
      credentials_(std::move(deps.credentials)),
      anonymous_limiter_(RateLimiter::Options{options_.anonymous_sessions.burst,
                                              options_.anonymous_sessions.per_minute},
                         *clock_) {
  if (!store_) throw std::invalid_argument("SessionManager needs a store");
  if (Status s = options_.validate(); !s.ok()) throw std::invalid_argument(s.to_string());
  // Lazy touch must happen well within the idle window, or active sessions would expire.
  options_.touch_interval = std::min(options_.touch_interval, options_.idle_timeout / 2);
  cookie_name_ = options_.cookie.full_name();
  csrf_cookie_name_ = cookie_name_ + "-csrf";
  sign_context_ = "cookie:" + cookie_name_;
  crypto::init();
  if (const CookieStore* client = store_->client_side()) {
    if (options_.max_sessions_per_user > 0) {
      throw std::invalid_argument(
          "max_sessions_per_user cannot be enforced with client-side (cookie) sessions");
    }
    sealer_.emplace(keyring_, "session:" + cookie_name_, client->options().max_cookie_bytes);
  }
}

// ---------------------------------------------------------------- helpers

void SessionManager::emit(EventType type, const Session& s, std::string reason,
                          std::string old_hint) const {
  Event e;
  e.type = type;
  e.at = clock_->now();
  e.key_hint = s.st_->key_ == SessionKey() ? std::string() : s.st_->key_.hint();
  e.old_key_hint = std::move(old_hint);
  e.user_id = s.st_->record_.user_id;
  e.reason = std::move(reason);
  events_->on_event(e);
}

TouchSpec SessionManager::touch_spec(Time now) const {
  return TouchSpec{now, now + options_.idle_timeout};
}

std::optional<Time> SessionManager::touch_due(const Session& s, Time now) const {
  if (options_.rolling || now - s.st_->record_.last_access >= options_.touch_interval) return now;
  return std::nullopt;
}

SessionRecord SessionManager::fresh_record(const Session& s, Time now) const {
  SessionRecord record = s.st_->record_;
  record.created_at = now;
  record.last_access = now;
  record.absolute_expires_at = now + options_.absolute_timeout;
  record.expires_at = std::min(now + options_.idle_timeout, record.absolute_expires_at);
  if (s.st_->user_dirty_ || s.st_->auth_dirty_) record.auth_at = now;
  if (!s.st_->stored_ || record.ip.empty()) {
    record.ip = s.st_->client_ip_;
    record.user_agent = s.st_->user_agent_;
  }
  return record;
}

void SessionManager::adopt_created(Session& s, SessionId id, SessionKey key, SessionRecord record) {
  s.st_->id_ = std::move(id);
  s.st_->key_ = key;
  s.st_->record_ = std::move(record);
  s.st_->stored_ = true;
  s.st_->set_cookie_ = true;
  s.st_->regenerate_ = false;
  s.changes_saved();
}

http::SetCookie SessionManager::cookie_template(std::string name) const {
  const CookieOptions& c = options_.cookie;
  http::SetCookie cookie;
  cookie.name = std::move(name);
  cookie.domain = c.domain;
  cookie.path = c.path;
  cookie.secure = c.secure;
  cookie.http_only = c.http_only;
  cookie.same_site = c.same_site;
  cookie.partitioned = c.partitioned;
  return cookie;
}

void SessionManager::write_session_cookie(const Session& s, http::ResponseHeaders& out) const {
  write_session_cookie(s, keyring_.sign(s.st_->id_->str(), sign_context_), out);
}

void SessionManager::write_session_cookie(const Session& s, std::string value,
                                          http::ResponseHeaders& out) const {
  http::SetCookie cookie = cookie_template(cookie_name_);
  cookie.value = std::move(value);
  if (options_.cookie.persistent) {
    cookie.max_age = seconds_until(s.st_->record_.absolute_expires_at, clock_->now());
  }
  out.add("Set-Cookie", cookie.serialize());
  out.set("Cache-Control", "no-store");
}

void SessionManager::write_clear_cookie(std::string_view name, http::ResponseHeaders& out) const {
  http::SetCookie cookie = cookie_template(std::string(name));
  cookie.max_age = std::chrono::seconds(0);
  cookie.expires = from_millis(0);
  out.add("Set-Cookie", cookie.serialize());
  out.set("Cache-Control", "no-store");
}

void SessionManager::write_commit_cookies(Session& s, http::ResponseHeaders& out) const {
  if (s.st_->stored_ && (s.st_->set_cookie_ || options_.rolling)) write_session_cookie(s, out);
  write_presession_cookie(s, out);
  s.st_->set_cookie_ = false;
}

void SessionManager::finish_commit(Session& s, http::ResponseHeaders& out, Callback<void> done) {
  if (s.st_->recheck_credential_) {
    // The stamp just written is re-read: a credential change that raced this sign-in ends it.
    s.st_->recheck_credential_ = false;
    recheck_credentials(s, [this, &s, &out, done = std::move(done)](Status st) mutable {
      if (!st.ok()) return done(std::move(st));
      finish_commit(s, out, std::move(done));
    });
    return;
  }
  if (!s.st_->bound_now_ || options_.max_sessions_per_user == 0 || !s.st_->stored_) {
    write_commit_cookies(s, out);
    return done({});
  }
  s.st_->bound_now_ = false;
  // The cap is part of the login: if it cannot be enforced now, the login fails (503, no
  // cookie) rather than leave the user with more sessions than allowed.
  evict_over_cap(s, [this, &s, &out, done = std::move(done)](Status st) mutable {
    if (st.code() == errc::conflict) {
      // A newer login of the same user took the last slot: this session has been ended.
      s.st_->stored_ = false;
      return done(std::move(st));
    }
    if (!st.ok()) {
      emit(EventType::store_error, s, "session cap: " + st.to_string());
      return done(std::move(st));
    }
    write_commit_cookies(s, out);
    done({});
  });
}

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
        // The user's sessions, newest first, by creation time and then by key: the same order
        // for every request and every app server. Two logins that race therefore agree on which
        // sessions stay, and together end no more than the cap demands (each keeping itself
        // first, they could end each other). The current session is ranked like the others.
        std::vector<std::pair<Time, SessionKey>> ranked;
        ranked.reserve(r->size() + 1);
        bool mine_listed = false;
        for (const auto& stored : *r) {
          mine_listed = mine_listed || stored.key == mine;
          ranked.emplace_back(stored.record.created_at, stored.key);
        }
        if (!mine_listed) ranked.emplace_back(mine_created, mine);
        if (ranked.size() <= cap) return done({});
        std::sort(ranked.begin(), ranked.end(), std::greater<>());
        ranked.erase(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(cap));
        const bool mine_evicted = std::any_of(ranked.begin(), ranked.end(),
                                              [&](const auto& v) { return v.second == mine; });
        struct Pending {
          std::mutex mutex;
          std::size_t left;
          Status error;
          Callback<void> done;
        };
        auto pending = std::make_shared<Pending>();
        pending->left = ranked.size();
        pending->done = std::move(done);
        for (const auto& [created, victim] : ranked) {
          store_->destroy(
              victim, timed<bool>([this, user, cap, pending, mine_evicted,
                                   hint = victim.hint()](Result<bool> d) {
                if (d.ok() && *d) {
                  metrics_->sessions_destroyed.fetch_add(1, std::memory_order_relaxed);
                  Event e;
                  e.type = EventType::destroyed;
                  e.at = clock_->now();
                  e.user_id = user;
                  e.key_hint = hint;
                  e.reason = "evicted: the user has more than " + std::to_string(cap) + " sessions";
                  events_->on_event(e);
                }
                Callback<void> finished;
                Status error;
                {
                  std::lock_guard lock(pending->mutex);
                  if (!d.ok() && pending->error.ok()) pending->error = d.status();
                  if (--pending->left == 0) {
                    finished = std::move(pending->done);
                    error = pending->error;
                  }
                }
                if (!finished) return;
                if (error.ok() && mine_evicted) {
                  error =
                      Status(errc::conflict, "a newer login of this user took the last of its " +
                                                 std::to_string(cap) + " session slots");
                }
                finished(std::move(error));
              }));
        }
      }));
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

// ---------------------------------------------------------------- load

const char* SessionManager::expiry_reason(const SessionRecord& record, Time now) const {
  if (now >= record.absolute_expires_at || now >= record.created_at + options_.absolute_timeout) {
    return "absolute timeout";
  }
  if (now >= record.expires_at || now >= record.last_access + options_.idle_timeout) {
    return "idle timeout";
  }
  return nullptr;
}

void SessionManager::load(const http::RequestView& request, Callback<Session> done) {
  Session s;
  // Validly signed session IDs, in the order the browser sent them (at most a few: a request
  // with more is hostile and the rest are ignored).
  constexpr std::size_t kMaxCandidates = 4;
  std::vector<std::pair<SessionId, bool>> ids;  // ID, signed by a secret being retired
  std::optional<CookieSealer::Opened> opened;   // client-side sessions
  std::size_t session_cookies = 0;
  if (auto header = request.header("Cookie")) {
    http::for_each_cookie(*header, [&](std::string_view name, std::string_view value) {
      if (name == cookie_name_) {
        ++session_cookies;
        if (sealer_) {
          if (!opened) opened = sealer_->open(value);
        } else if (ids.size() < kMaxCandidates) {
          if (auto v = keyring_.verify_detailed(value, sign_context_)) {
            if (auto id = SessionId::parse(v->value)) {
              const bool seen = std::any_of(ids.begin(), ids.end(),
                                            [&](const auto& c) { return c.first == *id; });
              if (!seen) ids.emplace_back(std::move(*id), v->key_index > 0);
            }
          }
        }
      } else if (name == csrf_cookie_name_ && s.st_->csrf_cookie_.empty()) {
        s.st_->csrf_cookie_ = std::string(value);  // verified only if needed: presession_seed()
      }
      return true;
    });
  }
  s.st_->cookie_present_ = session_cookies > 0;
  s.st_->duplicate_cookies_ = session_cookies > 1;
  s.st_->client_ip_ = std::string(request.peer_address());
  if (auto ua = request.header("User-Agent")) {
    s.st_->user_agent_ = std::string(ua->substr(0, kMaxUserAgent));
  }
  if (session_cookies > 1) {
    // Without the __Host- prefix a sibling subdomain can plant a cookie of the same name with a
    // longer Path, which the browser sends first. Every validly signed one is tried in order and
    // the first live session wins; no cookie is cleared in answer (see write_commit_cookies).
    metrics_->anomalies.fetch_add(1, std::memory_order_relaxed);
    emit(EventType::anomaly, s,
         "request from " + (s.st_->client_ip_.empty() ? std::string("?") : s.st_->client_ip_) +
             " carried " + std::to_string(session_cookies) + " session cookies (" +
             std::to_string(ids.size()) + " validly signed); the first live one is used");
  }
  if (opened) {
    load_sealed(std::move(s), std::move(*opened), std::move(done));
    return;
  }
  if (ids.empty()) {
    done(std::move(s));
    return;
  }
  load_candidate(std::move(s), std::move(ids), 0, std::move(done));
}

void SessionManager::load_candidate(Session s, std::vector<std::pair<SessionId, bool>> ids,
                                    std::size_t i, Callback<Session> done) {
  SessionKey key = SessionKey::of(ids[i].first);
  store_->load(
      key, std::nullopt,
      timed<std::optional<SessionRecord>>([this, s = std::move(s), ids = std::move(ids), i, key,
                                           done = std::move(done)](
                                              Result<std::optional<SessionRecord>> r) mutable {
        if (!r.ok()) {
          s.st_->key_ = key;
          emit(EventType::store_error, s, "load: " + r.status().to_string());
          done(r.status());
          return;
        }
        const bool last = i + 1 == ids.size();
        if (!r->has_value()) {  // unknown or store-expired ID: never adopted
          if (last) return done(std::move(s));
          return load_candidate(std::move(s), std::move(ids), i + 1, std::move(done));
        }
        SessionId id = ids[i].first;
        const bool reissue = ids[i].second;
        if (last) {
          accept_loaded(std::move(s), std::move(id), key, std::move(**r), reissue, std::move(done));
          return;
        }
        // Not the last candidate: if this one is refused (expired, bound elsewhere, stale
        // credentials), the next one is tried with the request's state as it was.
        Session base = s;
        accept_loaded(std::move(s), std::move(id), key, std::move(**r), reissue,
                      [this, base = std::move(base), ids = std::move(ids), i,
                       done = std::move(done)](Result<Session> accepted) mutable {
                        if (!accepted.ok() || accepted->is_stored()) {
                          return done(std::move(accepted));
                        }
                        load_candidate(std::move(base), std::move(ids), i + 1, std::move(done));
                      });
      }));
}

void SessionManager::accept_loaded(Session s, SessionId id, const SessionKey& key,
                                   SessionRecord record, bool reissue, Callback<Session> done) {
  if (const char* why = expiry_reason(record, clock_->now()); why != nullptr) {
    Session gone = s;
    gone.st_->key_ = key;
    gone.st_->record_ = std::move(record);
    metrics_->sessions_expired.fetch_add(1, std::memory_order_relaxed);
    emit(EventType::expired, gone, why);
    // Best effort: the store's own expiry removes it later anyway. (A client-side session has
    // nothing to remove: commit clears its cookie.)
    if (!sealer_) store_->destroy(key, timed<bool>([](Result<bool>) {}));
    done(std::move(s));
    return;
  }
  if (std::string why_not = binding_violation(s, record); !why_not.empty()) {
    end_loaded(std::move(s), key, std::move(record), std::move(why_not), Ending::refused,
               std::move(done));
    return;
  }
  if (credentials_ && !record.user_id.empty()) {
    check_credentials(std::move(s), std::move(id), key, std::move(record), reissue,
                      std::move(done));
    return;
  }
  adopt_loaded(s, std::move(id), key, std::move(record), reissue);
  done(std::move(s));
}

void SessionManager::adopt_loaded(Session& s, SessionId id, const SessionKey& key,
                                  SessionRecord record, bool reissue) {
  s.st_->id_ = std::move(id);
  s.st_->key_ = key;
  s.st_->record_ = std::move(record);
  s.st_->loaded_ = true;
  s.st_->stored_ = true;
  // Signed or sealed by a secret being retired: re-issue under the newest one.
  if (reissue) s.st_->set_cookie_ = true;
}

void SessionManager::end_loaded(Session s, const SessionKey& key, SessionRecord record,
                                std::string why, Ending ending, Callback<Session> done) {
  Session gone = s;
  gone.st_->key_ = key;
  gone.st_->record_ = std::move(record);
  const bool refused = ending == Ending::refused;
  if (refused) {
    metrics_->anomalies.fetch_add(1, std::memory_order_relaxed);
  } else {
    metrics_->credential_revocations.fetch_add(1, std::memory_order_relaxed);
  }
  const EventType type = refused ? EventType::anomaly : EventType::destroyed;
  if (sealer_) {  // client-side: nothing to destroy; commit clears the cookie
    emit(type, gone, why + " (client-side session: cleared, not revocable)");
    if (refused) s.st_->refusal_ = std::move(why);
    done(std::move(s));
    return;
  }
  if (refused) emit(EventType::anomaly, gone, why);
  // Fail closed: if the record cannot be destroyed now, the request fails (503) instead of
  // going on as a visitor while the session lives.
  store_->destroy(key,
                  timed<bool>([this, s = std::move(s), gone = std::move(gone), why = std::move(why),
                               refused, done = std::move(done)](Result<bool> r) mutable {
                    if (!r.ok()) {
                      emit(EventType::store_error, gone,
                           "destroy of an ended session: " + r.status().to_string());
                      return done(r.status());
                    }
                    if (*r) {
                      metrics_->sessions_destroyed.fetch_add(1, std::memory_order_relaxed);
                      emit(EventType::destroyed, gone, why);
                    }
                    if (refused) s.st_->refusal_ = std::move(why);
                    done(std::move(s));
                  }));
}

// ---------------------------------------------------------------- commit

Status SessionManager::check_limits(const Session& s) const {
  if (!s.is_modified()) return {};  // unchanged data was within the limits when written
  if (s.st_->record_.data.size() > options_.max_keys) {
    return {errc::too_large,
            "session holds more than " + std::to_string(options_.max_keys) + " keys"};
  }
  std::size_t bytes = stores::dump_payload(s.st_->record_.data).size();
  if (bytes > options_.max_payload_bytes) {
    return {errc::too_large, "session payload of " + std::to_string(bytes) +
                                 " bytes exceeds the limit of " +
                                 std::to_string(options_.max_payload_bytes)};
  }
  return {};
}

Result<SessionManager::CommitPlan> SessionManager::plan_commit(const Session& s) const {
  if (s.st_->reserved_misuse_) {
    return Status(errc::invalid_argument, std::string(reserved::kMisuse));
  }
  if (Status limits = check_limits(s); !limits.ok()) return limits;
  const bool modified = s.is_modified();
  return CommitPlan{modified, !s.st_->stored_ && (modified || options_.save_uninitialized),
                    s.st_->stored_ && s.st_->regenerate_};
}

void SessionManager::commit(Session& s, http::ResponseHeaders& out, Callback<void> done) {
  if (sealer_) {
    commit_sealed(s, out, std::move(done));
    return;
  }
  const Time now = clock_->now();

  s.st_->bound_now_ = s.st_->user_dirty_ && !s.st_->record_.user_id.empty() && !s.st_->destroy_;
  auto finish = [this, &s, &out](Callback<void>& cb, Status st) {
    if (!st.ok()) return cb(std::move(st));
    finish_commit(s, out, std::move(cb));
  };

  if (s.st_->destroy_) {
    if (!s.st_->stored_) {
      if (s.st_->cookie_present_ && !s.st_->duplicate_cookies_) {
        write_clear_cookie(cookie_name_, out);
      }
      finish(done, {});
      return;
    }
    store_->destroy(s.st_->key_, timed<bool>([this, &s, &out, finish,
                                              done = std::move(done)](Result<bool> r) mutable {
                      if (!r.ok()) {
                        emit(EventType::store_error, s, "destroy: " + r.status().to_string());
                        done(r.status());
                        return;
                      }
                      s.st_->stored_ = false;
                      metrics_->sessions_destroyed.fetch_add(1, std::memory_order_relaxed);
                      emit(EventType::destroyed, s, "destroyed by the application");
                      write_clear_cookie(cookie_name_, out);
                      finish(done, {});
                    }));
    return;
  }

  prepare_write(s);
  auto plan = plan_commit(s);
  if (!plan) {
    done(plan.status());
    return;
  }
  const bool modified = plan->modified, rotate = plan->rotate;
  if (plan->create_new || rotate) {
    if (plan->create_new && s.st_->record_.user_id.empty()) {
      if (Status admitted = admit_anonymous(s); !admitted.ok()) {
        done(std::move(admitted));
        return;
      }
    }
    carry_csrf_seed(s);
    SessionRecord record = fresh_record(s, now);
    SessionId id = SessionId::generate();
    SessionKey key = SessionKey::of(id);
    store_->create(key, record,
                   timed<void>([this, &s, finish, rotate, id = std::move(id), key, record,
                                done = std::move(done)](Status st) mutable {
                     if (!st.ok()) {
                       emit(EventType::store_error, s, "create: " + st.to_string());
                       done(std::move(st));
                       return;
                     }
                     const SessionKey old_key = s.st_->key_;
                     adopt_created(s, std::move(id), key, std::move(record));
                     if (!rotate) {
                       metrics_->sessions_created.fetch_add(1, std::memory_order_relaxed);
                       emit(EventType::created, s, "new session");
                       finish(done, {});
                       return;
                     }
                     metrics_->sessions_rotated.fetch_add(1, std::memory_order_relaxed);
                     emit(EventType::rotated, s, "regenerate()", old_key.hint());
                     // The new session stands even if the old record cannot be removed now; it then
                     // expires by itself, and the event log says so.
                     store_->destroy(old_key,
                                     timed<bool>([this, &s, finish, old_key,
                                                  done = std::move(done)](Result<bool> r) mutable {
                                       if (!r.ok()) {
                                         emit(EventType::store_error, s,
                                              "destroy of rotated-out session " + old_key.hint() +
                                                  ": " + r.status().to_string());
                                       }
                                       finish(done, {});
                                     }));
                   }));
    return;
  }

  if (!s.st_->stored_) {  // nothing to store: anonymous visitors cost no record
    // A stale or forged cookie is cleared; not when there were several (which one would the
    // clearing Set-Cookie delete? perhaps the rightful one, not the planted one).
    if (s.st_->cookie_present_ && !s.st_->duplicate_cookies_) write_clear_cookie(cookie_name_, out);
    finish(done, {});
    return;
  }

  std::optional<Time> touch_at = touch_due(s, now);
  auto on_written = [this, &s, &out, finish, now](Callback<void>& cb, Status st,
                                                  bool touched) mutable {
    if (st.code() == errc::not_found) {  // destroyed concurrently: never resurrect
      s.st_->stored_ = false;
      write_clear_cookie(cookie_name_, out);
      cb(Status(errc::not_found, "the session ended while this request ran"));
      return;
    }
    if (!st.ok()) {
      emit(EventType::store_error, s, "write: " + st.to_string());
      cb(std::move(st));
      return;
    }
    if (touched) {
      s.st_->record_.last_access = now;
      s.st_->record_.expires_at =
          std::min(now + options_.idle_timeout, s.st_->record_.absolute_expires_at);
    }
    s.changes_saved();
    finish(cb, {});
  };

  if (modified) {
    SessionPatch patch;
    patch.set.reserve(s.st_->dirty_.size());
    for (const auto& k : s.st_->dirty_)
      patch.set.emplace_back(k, s.st_->record_.data[k]);
    patch.erase = s.st_->erased_;
    if (s.st_->user_dirty_) patch.user_id = s.st_->record_.user_id;
    if (s.st_->user_dirty_ || s.st_->auth_dirty_) {
      patch.auth_at = now;
      s.st_->record_.auth_at = now;
    }
    patch.touch = touch_spec(now);
    store_->patch(s.st_->key_, patch,
                  timed<void>([on_written, done = std::move(done)](Status st) mutable {
                    on_written(done, std::move(st), true);
                  }));
    return;
  }
  if (options_.resave) {
    SessionRecord record = s.st_->record_;
    record.last_access = now;
    record.expires_at = std::min(now + options_.idle_timeout, record.absolute_expires_at);
    store_->replace(s.st_->key_, record,
                    timed<void>([on_written, done = std::move(done)](Status st) mutable {
                      on_written(done, std::move(st), true);
                    }));
    return;
  }
  if (touch_at) {
    store_->touch(s.st_->key_, touch_spec(now),
                  timed<void>([on_written, done = std::move(done)](Status st) mutable {
                    on_written(done, std::move(st), true);
                  }));
    return;
  }
  finish(done, {});
}

// ---------------------------------------------------------------- increment

void SessionManager::increment(Session& s, std::string field, std::int64_t delta,
                               Callback<std::int64_t> done) {
  if (Session::is_reserved_key(field)) {
    done(Status(errc::invalid_argument, std::string(reserved::kMisuse)));
    return;
  }
  increment_field(s, std::move(field), delta, std::move(done));
}

void SessionManager::increment_field(Session& s, std::string field, std::int64_t delta,
                                     Callback<std::int64_t> done) {
  if (s.st_->destroy_) {
    done(Status(errc::invalid_argument, "increment on a session marked for destruction"));
    return;
  }
  if (sealer_) {  // client-side: the cookie written at commit carries the new value
    Result<std::int64_t> next = stores::apply_increment(s.st_->record_.data, field, delta);
    if (next) s.mark_dirty(field);
    done(std::move(next));
    return;
  }
  const Time now = clock_->now();
  if (!s.st_->stored_) {
    // First write of a new session: create it with the value in place (atomic by creation).
    // Same rules as the stores' increment (non-integer or overflow: invalid, nothing changed).
    if (s.st_->record_.user_id.empty()) {
      if (Status admitted = admit_anonymous(s); !admitted.ok()) {
        done(std::move(admitted));
        return;
      }
    }
    Result<std::int64_t> next = stores::apply_increment(s.st_->record_.data, field, delta);
    if (!next) {
      done(next.status());
      return;
    }
    s.mark_dirty(field);
    prepare_write(s);
    carry_csrf_seed(s);
    SessionRecord record = fresh_record(s, now);
    SessionId id = SessionId::generate();
    SessionKey key = SessionKey::of(id);
    const std::int64_t value = *next;
    store_->create(key, record,
                   timed<void>([this, &s, id = std::move(id), key, record, value,
                                done = std::move(done)](Status st) mutable {
                     if (!st.ok()) {
                       emit(EventType::store_error, s, "create: " + st.to_string());
                       done(std::move(st));
                       return;
                     }
                     adopt_created(s, std::move(id), key, std::move(record));
                     metrics_->sessions_created.fetch_add(1, std::memory_order_relaxed);
                     emit(EventType::created, s, "new session");
                     done(value);
                   }));
    return;
  }
  std::optional<TouchSpec> touch;
  if (touch_due(s, now)) touch = touch_spec(now);
  store_->increment(s.st_->key_, field, delta, touch,
                    timed<std::int64_t>([this, &s, field, touch,
                                         done = std::move(done)](Result<std::int64_t> r) mutable {
                      if (!r.ok()) {
                        if (r.code() == errc::not_found) {
                          s.st_->stored_ = false;
                          done(Status(errc::not_found, "the session ended while this request ran"));
                          return;
                        }
                        if (r.is_unavailable())
                          emit(EventType::store_error, s, "increment: " + r.message());
                        done(r.status());
                        return;
                      }
                      s.st_->record_.data[field] = *r;
                      std::erase(s.st_->dirty_, field);  // the store has it already
                      if (touch) {
                        s.st_->record_.last_access = touch->last_access;
                        s.st_->record_.expires_at =
                            std::min(touch->expires_at, s.st_->record_.absolute_expires_at);
                      }
                      done(*r);
                    }));
}

// ---------------------------------------------------------------- revocation

void SessionManager::revoke_user_sessions(const std::string& user_id, const Session* keep,
                                          Callback<std::size_t> done) {
  std::optional<SessionKey> keep_key;
  if (keep != nullptr && keep->st_->stored_) keep_key = keep->st_->key_;
  store_->destroy_user(
      user_id, keep_key,
      timed<std::size_t>([this, user_id, done = std::move(done)](Result<std::size_t> r) {
        if (r.ok()) {
          metrics_->sessions_destroyed.fetch_add(*r, std::memory_order_relaxed);
          Event e;
          e.type = EventType::destroyed;
          e.at = clock_->now();
          e.user_id = user_id;
          e.reason = "revoked " + std::to_string(*r) + " session(s) of the user";
          events_->on_event(e);
        }
        done(std::move(r));
      }));
}

}  // namespace sessionkit
