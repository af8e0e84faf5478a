// SessionManager with client-side sessions (client_side.h), no store: the session travels in its
// sealed cookie as "<43-character ID><encoded record>". The ID is never shown to the client in
// the clear either; it keys the CSRF secret and the event hints exactly as with a server-side
// store.
#include "sessionkit/manager.h"

#include "core/manager_timed.h"
#include "sessionkit/store_rules.h"

namespace sessionkit {

namespace {

constexpr std::size_t kIdChars = 43;

}  // namespace

void SessionManager::load_sealed(Session s, const CookieSealer::Opened& opened,
                                 Callback<Session> done) {
  const std::string_view text = opened.plaintext;
  std::optional<SessionId> id =
      text.size() > kIdChars ? SessionId::parse(text.substr(0, kIdChars)) : std::nullopt;
  Result<SessionRecord> record =
      id ? decode_record(text.substr(kIdChars))
         : Result<SessionRecord>(errc::corrupt, "no session ID in the sealed cookie");
  if (!record) {
    // Authentic but unreadable: sealed by a build with another format. Not the client's fault,
    // not a store failure: the visitor starts afresh and the event says why.
    emit(EventType::anomaly, s, "sealed session cookie unreadable: " + record.status().to_string());
    done(std::move(s));
    return;
  }
  const SessionKey key = SessionKey::of(*id);
  accept_loaded(std::move(s), std::move(*id), key, std::move(record).value(), opened.key_index > 0,
                std::move(done));
}

void SessionManager::commit_sealed(Session& s, http::ResponseHeaders& out,
                                   const Callback<void>& done) {
  if (s.st_->destroy_) {
    if (s.st_->stored_) {
      s.st_->ended();
      emit(EventType::destroyed, s,
           "destroyed by the application (client-side: the cookie is cleared; a copy stays "
           "valid until its deadline)");
    }
    if (s.st_->cookie_present_ || s.st_->loaded_) write_clear_cookie(cookie_name_, out);
    write_presession_cookie(s, out);
    done({});
    return;
  }

  prepare_write(s);
  // Nothing to destroy on the server if the credentials changed meanwhile: the next load's
  // check ends the session instead.
  s.st_->recheck_credential_ = false;
  auto plan = plan_commit(s);
  if (!plan) {
    done(plan.status());
    return;
  }
  if (!s.st_->stored_ && !plan->create_new) {  // nothing to keep: visitors get no cookie
    if (s.st_->cookie_present_) write_clear_cookie(cookie_name_, out);  // stale, forged or expired
    write_presession_cookie(s, out);
    done({});
    return;
  }
  seal_session(s, out, *plan, done);
}

void SessionManager::seal_session(Session& s, http::ResponseHeaders& out, const CommitPlan& plan,
                                  const Callback<void>& done) {
  const Time now = clock_->now();
  // The record and ID the new cookie carries.
  SessionRecord record;
  std::optional<SessionId> new_id;
  if (plan.create_new || plan.rotate) {
    carry_csrf_seed(s);
    record = fresh_record(s, now);
    new_id = SessionId::generate();
  } else {
    const bool refresh = plan.modified || options_.resave || touch_due(s, now).has_value();
    if (!refresh && !s.st_->set_cookie_ && !options_.rolling) {
      done({});  // unchanged and not due: the client's cookie stays as it is
      return;
    }
    record = s.st_->record_;
    if (s.st_->user_dirty_ || s.st_->auth_dirty_) record.auth_at = now;
    if (refresh) record.accessed(now, options_.idle_timeout);
  }
  const SessionId& id = new_id ? *new_id : *s.st_->id_;
  Result<std::string> sealed = sealer_->seal(id.str() + encode_record(record));
  if (!sealed) {
    done(Status(errc::too_large, "the session does not fit in a cookie: " + sealed.message()));
    return;
  }

  if (new_id) {
    const SessionKey old_key = s.st_->key_;
    const SessionKey key = SessionKey::of(*new_id);
    s.st_->adopt_created(std::move(*new_id), key, std::move(record));
    if (plan.rotate) {
      emit(EventType::rotated, s,
           "regenerate() (client-side: the old cookie stays valid until its deadline)",
           old_key.hint());
    } else {
      emit(EventType::created, s, "new session");
    }
  } else {
    s.st_->record_ = std::move(record);
    s.st_->changes_saved();
  }
  write_session_cookie(s, std::move(sealed).value(), out);
  write_presession_cookie(s, out);
  s.st_->set_cookie_ = false;
  done({});
}

}  // namespace sessionkit
