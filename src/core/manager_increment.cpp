// SessionManager::increment: an atomic counter in the store (or, for a session without a record,
// the record's creation with the value in place).
#include "core/manager_timed.h"
#include "core/reserved_keys.h"
#include "sessionkit/manager.h"
#include "sessionkit/store_rules.h"

namespace sessionkit {

void SessionManager::increment(Session& s, std::string field, std::int64_t delta,
                               Callback<std::int64_t> done) {
  if (Session::is_reserved_key(field)) {
    done(Status(errc::invalid_argument, std::string(reserved::kMisuse)));
    return;
  }
  increment_field(s, std::move(field), delta, std::move(done));
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): owned: an inline `done` may free the app's
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
  if (!s.st_->stored_) {
    increment_new(s, field, delta, std::move(done));
    return;
  }
  const Time now = clock_->now();
  const bool touch = touch_due(s, now).has_value();
  store_->increment(s.st_->key_, field, delta,
                    touch ? std::optional<TouchSpec>(touch_spec(now)) : std::nullopt,
                    timed<std::int64_t>([this, &s, field, touch, now,
                                         done = std::move(done)](Result<std::int64_t> r) mutable {
                      if (!r.ok()) {
                        if (r.code() == errc::not_found) {
                          s.st_->ended();
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
                      if (touch) s.st_->record_.accessed(now, options_.idle_timeout);
                      done(*r);
                    }));
}

void SessionManager::increment_new(Session& s, const std::string& field, std::int64_t delta,
                                   Callback<std::int64_t> done) {
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
  create_record(s, /*rotate=*/false, [value = *next, done = std::move(done)](Status st) mutable {
    if (!st.ok()) return done(std::move(st));
    done(value);
  });
}

}  // namespace sessionkit
