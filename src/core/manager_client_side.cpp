// SessionManager with client-side sessions (client_side.h), no store: the session travels in its
// sealed cookie as "<43-character ID><encoded record>". The ID is never shown to the client in
// the clear either; it keys the CSRF secret and the event hints exactly as with a server-side
// store.
#include "sessionkit/manager.h"

#include <algorithm>
#include <optional>
#include <string>

#include "core/manager_timed.h"
#include "sessionkit/store.h"
#include "sessionkit/store_rules.h"

namespace sessionkit {

namespace {

constexpr std::size_t kIdChars = 43;
// The payload key of a revocation-list tombstone: {"_sk_revoked": "destroyed" | "rotated"}.
constexpr std::string_view kRevokedKey = "_sk_revoked";

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
    flag(Anomaly::unreadable_cookie, s,
         "sealed session cookie unreadable: " + record.status().to_string());
    done(std::move(s));
    return;
  }
  const SessionKey key = SessionKey::of(*id);
  const bool reissue = opened.key_index > 0;
  if (!client_side_->revocations) {
    accept_loaded(std::move(s), std::move(*id), key, std::move(record).value(), reissue,
                  std::move(done));
    return;
  }
  // The revocation list: one read; a tombstone means no session (commit clears the cookie).
  client_side_->revocations->load(
      key, std::nullopt,
      timed<std::optional<SessionRecord>>(
          [this, s = std::move(s), id = std::move(*id), key, record = std::move(record).value(),
           reissue, done = std::move(done)](Result<std::optional<SessionRecord>> r) mutable {
            if (!r.ok()) {
              done(r.status());
              return;
            }
            if (r->has_value()) {
              const nlohmann::json& data = (*r)->data;
              const auto why = data.find(kRevokedKey);
              if (why == data.end() || *why != "rotated") {
                flag_for(Anomaly::revoked_cookie, key.hint(), record.user_id,
                         "a revoked client-side session cookie was presented (a copy of a "
                         "session that was destroyed)");
              }
              done(std::move(s));
              return;
            }
            accept_loaded(std::move(s), std::move(id), key, std::move(record), reissue,
                          std::move(done));
          }));
}

void SessionManager::revoke_sealed(const Session& s, std::string_view reason, Callback<void> done) {
  const Time now = clock_->now();
  const SessionRecord& live = s.st_->record_;
  const Time until =
      std::min(live.absolute_expires_at, live.created_at + options_.absolute_timeout);
  if (until <= now) {  // the cookie is dead by its own deadline already
    done({});
    return;
  }
  SessionRecord tombstone;
  tombstone.created_at = now;
  tombstone.last_access = now;
  tombstone.expires_at = until;
  tombstone.absolute_expires_at = until;
  tombstone.data = nlohmann::json::object({{std::string(kRevokedKey), reason}});
  client_side_->revocations->create(s.st_->key_, tombstone,
                                    timed<void>([done = std::move(done)](Status st) {
                                      // Already revoked (a second logout of one cookie): the same
                                      // outcome.
                                      done(st.code() == errc::conflict ? Status() : std::move(st));
                                    }));
}

void SessionManager::commit_sealed(Session& s, http::ResponseHeaders& out,
                                   const Callback<void>& done) {
  if (s.st_->destroy_) {
    auto finish = [this, &s, &out, done] {
      if (s.st_->stored_) {
        s.st_->ended();
        emit(EventType::destroyed, s,
             client_side_->revocations
                 ? "destroyed by the application (client-side: the cookie is cleared and "
                   "revoked)"
                 : "destroyed by the application (client-side: the cookie is cleared; a copy "
                   "stays valid until its deadline)");
      }
      if (s.st_->cookie_present_ || s.st_->loaded_) write_clear_cookie(cookie_name_, out);
      write_presession_cookie(s, out);
      done({});
    };
    if (s.st_->stored_ && client_side_->revocations) {
      // The logout counts only once the tombstone is stored: a failure answers an error and
      // leaves the client's cookie in place (it may retry).
      revoke_sealed(s, "destroyed", [finish, done](Status st) {
        if (!st.ok()) {
          done(std::move(st));
          return;
        }
        finish();
      });
      return;
    }
    finish();
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
  if (plan->rotate && s.st_->stored_ && client_side_->revocations) {
    // The cookie being replaced stops working too (fixation defence as with a store).
    revoke_sealed(s, "rotated", [this, &s, &out, plan = *plan, done](Status st) {
      if (!st.ok()) {
        done(std::move(st));
        return;
      }
      seal_session(s, out, plan, done);
    });
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
