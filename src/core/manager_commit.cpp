// SessionManager::commit: the save rules (what a request writes, if anything), the writes, and
// the end every successful commit shares (credential re-check, the per-user cap, cookies).
#include "core/manager_timed.h"
#include "core/reserved_keys.h"
#include "sessionkit/manager.h"
#include "sessionkit/store_rules.h"

namespace sessionkit {

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
    commit_sealed(s, out, done);
    return;
  }
  s.st_->bound_now_ = s.st_->user_dirty_ && !s.st_->record_.user_id.empty() && !s.st_->destroy_;
  if (s.st_->destroy_) {
    commit_destroy(s, out, std::move(done));
    return;
  }
  prepare_write(s);
  auto plan = plan_commit(s);
  if (!plan) {
    done(plan.status());
    return;
  }
  if (plan->create_new || plan->rotate) {
    if (plan->create_new && s.st_->record_.user_id.empty()) {
      if (Status admitted = admit_anonymous(s); !admitted.ok()) {
        done(std::move(admitted));
        return;
      }
    }
    create_record(s, plan->rotate, [this, &s, &out, done = std::move(done)](Status st) mutable {
      if (!st.ok()) return done(std::move(st));
      finish_commit(s, out, std::move(done));
    });
    return;
  }
  if (!s.st_->stored_) {  // nothing to store: anonymous visitors cost no record
    // A stale or forged cookie is cleared; not when there were several (which one would the
    // clearing Set-Cookie delete? perhaps the rightful one, not the planted one).
    if (s.st_->cookie_present_ && !s.st_->duplicate_cookies_) write_clear_cookie(cookie_name_, out);
    finish_commit(s, out, std::move(done));
    return;
  }
  commit_update(s, out, plan->modified, std::move(done));
}

void SessionManager::commit_destroy(Session& s, http::ResponseHeaders& out, Callback<void> done) {
  if (!s.st_->stored_) {
    if (s.st_->cookie_present_ && !s.st_->duplicate_cookies_) write_clear_cookie(cookie_name_, out);
    finish_commit(s, out, std::move(done));
    return;
  }
  store_->destroy(s.st_->key_, timed<bool>([this, &s, &out,
                                            done = std::move(done)](const Result<bool>& r) mutable {
                    if (!r.ok()) {
                      emit(EventType::store_error, s, "destroy: " + r.status().to_string());
                      done(r.status());
                      return;
                    }
                    s.st_->ended();
                    emit(EventType::destroyed, s, "destroyed by the application");
                    if (!s.st_->via_bearer_) write_clear_cookie(cookie_name_, out);
                    finish_commit(s, out, std::move(done));
                  }));
}

void SessionManager::create_record(Session& s, bool rotate, Callback<void> done) {
  carry_csrf_seed(s);
  SessionRecord record = fresh_record(s, clock_->now());
  SessionId id = SessionId::generate();
  SessionKey key = SessionKey::of(id);
  store_->create(key, record,
                 timed<void>([this, &s, rotate, id = std::move(id), key, record,
                              done = std::move(done)](Status st) mutable {
                   if (!st.ok()) {
                     emit(EventType::store_error, s, "create: " + st.to_string());
                     done(std::move(st));
                     return;
                   }
                   const SessionKey old_key = s.st_->key_;
                   s.st_->adopt_created(std::move(id), key, std::move(record));
                   if (!rotate) {
                     emit(EventType::created, s, "new session");
                     done({});
                     return;
                   }
                   emit(EventType::rotated, s, "regenerate()", old_key.hint());
                   // The new session stands even if the old record cannot be removed now; it then
                   // expires by itself, and the event log says so.
                   store_->destroy(old_key, timed<bool>([this, &s, old_key, done = std::move(done)](
                                                            const Result<bool>& r) mutable {
                                     if (!r.ok()) {
                                       emit(EventType::store_error, s,
                                            "destroy of rotated-out session " + old_key.hint() +
                                                ": " + r.status().to_string());
                                     }
                                     done({});
                                   }));
                 }));
}

void SessionManager::commit_update(Session& s, http::ResponseHeaders& out, bool modified,
                                   Callback<void> done) {
  const Time now = clock_->now();
  // The save rules for a stored session: its changes; else everything again (`resave`); else
  // the access time when due (lazy touch); else nothing.
  enum class Write { patch, replace, touch, none };
  const Write write = modified            ? Write::patch
                      : options_.resave   ? Write::replace
                      : touch_due(s, now) ? Write::touch
                                          : Write::none;
  if (write == Write::none) {
    finish_commit(s, out, std::move(done));
    return;
  }
  auto written = timed<void>([this, &s, &out, now, done = std::move(done)](Status st) mutable {
    if (st.code() == errc::not_found) {  // destroyed concurrently: never resurrect
      s.st_->ended();
      if (!s.st_->via_bearer_) write_clear_cookie(cookie_name_, out);
      done(Status(errc::not_found, "the session ended while this request ran"));
      return;
    }
    if (!st.ok()) {
      emit(EventType::store_error, s, "write: " + st.to_string());
      done(std::move(st));
      return;
    }
    s.st_->record_.accessed(now, options_.idle_timeout);
    s.st_->changes_saved();
    finish_commit(s, out, std::move(done));
  });
  if (write == Write::patch) {
    store_->patch(s.st_->key_, s.st_->pending_patch(touch_spec(now)), std::move(written));
  } else if (write == Write::replace) {
    SessionRecord record = s.st_->record_;
    record.accessed(now, options_.idle_timeout);
    store_->replace(s.st_->key_, record, std::move(written));
  } else {
    store_->touch(s.st_->key_, touch_spec(now), std::move(written));
  }
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
      s.st_->ended();
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

}  // namespace sessionkit
