// SessionManager::update: optimistic concurrency over the record's version (reserved key
// `_sk_ver`) and the store's compare-and-swap (`patch_if`). The rules are in manager.h.
#include <memory>
#include <utility>

#include "core/manager_timed.h"
#include "core/reserved_keys.h"
#include "sessionkit/manager.h"
#include "sessionkit/store_rules.h"

namespace sessionkit {

namespace {

// What `fn` answered, checked: payload keys only, none reserved.
Status check_changes(const Result<SessionPatch>& patch) {
  if (!patch) return patch.status();
  if (patch->user_id || patch->auth_at || patch->touch) {
    return {errc::invalid_argument, "update: only set and erase of payload keys"};
  }
  for (const auto& [name, value] : patch->set) {
    if (Session::is_reserved_key(name))
      return {errc::invalid_argument, std::string(reserved::kMisuse)};
  }
  for (const auto& name : patch->erase) {
    if (Session::is_reserved_key(name))
      return {errc::invalid_argument, std::string(reserved::kMisuse)};
  }
  return {};
}

// The version a payload holds: 0 when it has none (never updated).
std::uint64_t version_of(const nlohmann::json& data) {
  const auto it = data.find(reserved::kVersion);
  return it != data.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

}  // namespace

void SessionManager::adopt_written(Session& s, const SessionPatch& patch) {
  stores::apply_payload_patch(s.st_->record_.data, patch);
  for (const auto& [name, value] : patch.set) {
    std::erase(s.st_->dirty_, name);
    std::erase(s.st_->erased_, name);
  }
  for (const auto& name : patch.erase) {
    std::erase(s.st_->dirty_, name);
    std::erase(s.st_->erased_, name);
  }
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): owned: an inline `done` may free the app's
void SessionManager::update(Session& s, Updater fn, Callback<std::uint64_t> done,
                            std::size_t max_attempts) {
  if (s.st_->destroy_) {
    done(Status(errc::invalid_argument, "update on a session marked for destruction"));
    return;
  }
  if (!fn || max_attempts == 0) {
    done(Status(errc::invalid_argument, "update: a function and at least one attempt"));
    return;
  }
  if (sealer_ || !s.st_->stored_) {
    // Nobody else holds this copy: a client-side session's cookie, or a session not stored yet
    // (created by commit with the values in place). Applied here as `set`/`erase` would be.
    Result<SessionPatch> patch = fn(s.st_->record_.data);
    if (Status ok = check_changes(patch); !ok.ok()) return done(std::move(ok));
    for (auto& [name, value] : patch->set)
      s.set(name, std::move(value));
    for (const auto& name : patch->erase)
      s.erase(name);
    done(std::uint64_t{0});
    return;
  }
  update_stored(s, std::make_shared<const Updater>(std::move(fn)), 1, max_attempts,
                std::move(done));
}

void SessionManager::update_stored(Session& s, std::shared_ptr<const Updater> fn,
                                   std::size_t attempt, std::size_t max_attempts,
                                   Callback<std::uint64_t> done) {
  const SessionKey key = s.st_->key_;
  store_->load(
      key, std::nullopt,
      timed<std::optional<SessionRecord>>([this, &s, key, fn = std::move(fn), attempt, max_attempts,
                                           done = std::move(done)](
                                              Result<std::optional<SessionRecord>> r) mutable {
        if (!r.ok()) {
          emit(EventType::store_error, s, "update: load: " + r.message());
          return done(r.status());
        }
        if (!r->has_value() || (**r).expired(clock_->now())) {
          s.st_->ended();
          return done(Status(errc::not_found, "the session ended while this request ran"));
        }
        const nlohmann::json& data = (**r).data;
        Result<SessionPatch> patch = (*fn)(data);
        if (Status ok = check_changes(patch); !ok.ok()) return done(std::move(ok));
        const std::uint64_t version = version_of(data);
        PayloadCondition condition{std::string(reserved::kVersion),
                                   version == 0 ? nlohmann::json() : nlohmann::json(version)};
        patch->set.emplace_back(std::string(reserved::kVersion), version + 1);
        auto written = std::make_shared<SessionPatch>(std::move(patch).value());
        store_->patch_if(
            key, condition, *written,
            timed<void>([this, &s, written, version, fn = std::move(fn), attempt, max_attempts,
                         done = std::move(done)](const Result<void>& w) mutable {
              if (w.ok()) {
                adopt_written(s, *written);
                return done(version + 1);
              }
              if (w.code() == errc::conflict && attempt < max_attempts) {
                return update_stored(s, std::move(fn), attempt + 1, max_attempts, std::move(done));
              }
              if (w.code() == errc::not_found) {
                s.st_->ended();
                return done(Status(errc::not_found, "the session ended while this request ran"));
              }
              if (w.code() == errc::conflict) {
                return done(Status(errc::conflict, "update: the session changed on each of " +
                                                       std::to_string(max_attempts) + " attempts"));
              }
              if (w.is_unavailable()) emit(EventType::store_error, s, "update: " + w.message());
              done(w);
            }));
      }));
}

}  // namespace sessionkit
