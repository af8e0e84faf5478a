// SessionManager: sessions tied to the credentials they were made with (credentials.h), and the
// count of failed re-authentications.
#include <array>
#include <atomic>
#include <functional>
#include <string>

#include "core/manager_timed.h"
#include "core/reserved_keys.h"
#include "crypto/crypto.h"
#include "sessionkit/manager.h"

namespace sessionkit {

namespace {

constexpr std::string_view kCredentialContext = "credential";
using reserved::kCredential;

}  // namespace

std::string SessionManager::credential_mac(std::size_t key_index, const std::string& user,
                                           std::string_view stamp) const {
  std::string input;
  input.reserve(user.size() + 1 + stamp.size());
  input.append(user).push_back('\0');
  input.append(stamp);
  return crypto::base64url_encode(keyring_.mac(key_index, kCredentialContext, input));
}

namespace {

// Verified (stored MAC, user, stamp) triples per thread: a signed-in user's requests check the
// same triple again and again, and a hit saves the HMAC (about 6k instructions per request,
// bench/macro/profile.sh). An entry is made only after the HMAC matched; a hit needs the same
// manager, the same stored MAC, user and stamp, so it answers exactly what the HMAC would.
struct VerifiedStamp {
  std::uint64_t manager = 0;
  std::string mac;
  std::string user;
  std::string stamp;
  std::size_t key_index = 0;
};
constexpr std::size_t kVerifiedSlots = 64;
thread_local std::array<VerifiedStamp, kVerifiedSlots> verified_stamps;

std::uint64_t next_manager_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

std::optional<std::size_t> SessionManager::stamp_matches(const SessionRecord& record,
                                                         std::string_view stamp) const {
  if (stamp.empty()) return std::nullopt;  // the user does not exist any more
  auto it = record.data.find(kCredential);
  if (it == record.data.end() || !it->is_string()) return std::nullopt;
  const std::string& stored = it->get_ref<const std::string&>();
  std::uint64_t id = instance_id_.load(std::memory_order_relaxed);
  if (id == 0) {
    const std::uint64_t fresh = next_manager_id();
    if (instance_id_.compare_exchange_strong(id, fresh)) id = fresh;  // else `id` is the winner's
  }
  VerifiedStamp& slot = verified_stamps[std::hash<std::string_view>{}(stored) % kVerifiedSlots];
  if (slot.manager == id && slot.mac == stored && slot.user == record.user_id &&
      slot.stamp == stamp) {
    return slot.key_index;
  }
  std::optional<std::size_t> matched;
  for (std::size_t k = 0; k < keyring_.size(); ++k) {
    const std::string mac = credential_mac(k, record.user_id, stamp);
    const bool ok =
        mac.size() == stored.size() &&
        crypto::equal(
            std::span(reinterpret_cast<const std::uint8_t*>(mac.data()), mac.size()),
            std::span(reinterpret_cast<const std::uint8_t*>(stored.data()), stored.size()));
    if (ok && !matched) matched = k;
  }
  if (matched) slot = VerifiedStamp{id, stored, record.user_id, std::string(stamp), *matched};
  return matched;
}

void SessionManager::stage_credential(Session& s) const {
  if (!s.st_->credential_dirty_) return;
  const std::string& user = s.st_->record_.user_id;
  if (s.st_->credential_ && !s.st_->credential_->empty() && !user.empty()) {
    s.set_reserved(std::string(kCredential), credential_mac(0, user, *s.st_->credential_));
    s.st_->recheck_credential_ = credentials_ != nullptr;
  } else if (s.contains(kCredential)) {
    s.erase_reserved(kCredential);
  }
}

void SessionManager::check_credentials(Session s, SessionId id, const SessionKey& key,
                                       SessionRecord record, bool reissue, Callback<Session> done) {
  const std::string user = record.user_id;
  credentials_->current_stamp(user, [this, s = std::move(s), id = std::move(id), key,
                                     record = std::move(record), reissue,
                                     done = std::move(done)](Result<std::string> current) mutable {
    if (!current.ok()) {
      // Fail closed: neither keep nor end a session on a guess.
      emit(EventType::store_error, s, "credential lookup: " + current.status().to_string());
      done(Status(errc::unavailable, "credential lookup: " + current.message()));
      return;
    }
    const std::optional<std::size_t> k = stamp_matches(record, *current);
    if (!k) {
      end_loaded(std::move(s), key, record.user_id,
                 current->empty() ? "the user no longer exists"
                                  : "the user's credentials changed since this session signed in",
                 Ending::stale_credentials, std::move(done));
      return;
    }
    s.st_->adopt_loaded(std::move(id), key, std::move(record), reissue);
    // MAC'd under a secret being retired: re-MAC'd under the newest (written at commit),
    // so that the session outlives the old secret's removal.
    if (*k > 0) {
      s.set_reserved(std::string(kCredential), credential_mac(0, s.st_->record_.user_id, *current));
    }
    done(std::move(s));
  });
}

void SessionManager::recheck_credentials(Session& s, Callback<void> done) {
  const std::string user = s.st_->record_.user_id;
  credentials_->current_stamp(user, [this, &s,
                                     done = std::move(done)](Result<std::string> current) mutable {
    if (!current.ok()) {
      emit(EventType::store_error, s, "credential lookup: " + current.status().to_string());
      done(Status(errc::unavailable, "credential lookup: " + current.message()));
      return;
    }
    if (stamp_matches(s.st_->record_, *current)) {
      done({});
      return;
    }
    // The credentials changed while this sign-in ran (its password check read the old ones):
    // the session just written must not outlive that change.
    metrics_->credential_revocations.fetch_add(1, std::memory_order_relaxed);
    const std::string why = "the user's credentials changed while this session signed in";
    store_->destroy(
        s.st_->key_, timed<bool>([this, &s, why, done = std::move(done)](Result<bool> r) mutable {
          if (!r.ok()) {
            emit(EventType::store_error, s,
                 "destroy of a session with stale credentials: " + r.status().to_string());
            return done(r.status());
          }
          if (*r) emit(EventType::destroyed, s, why);
          s.st_->ended();
          done(Status(errc::conflict, why));
        }));
  });
}

void SessionManager::reauthentication_failed(Session& s, Callback<bool> done) {
  if (!s.st_->stored_ || s.st_->destroy_) {
    done(false);
    return;
  }
  increment_field(s, std::string(reserved::kReauthFailures), 1,
                  [this, &s, done = std::move(done)](Result<std::int64_t> n) mutable {
                    if (!n.ok()) return done(n.status());
                    const std::size_t max = options_.max_reauth_failures;
                    if (max == 0 || static_cast<std::size_t>(*n) < max) return done(false);
                    flag(Anomaly::reauth_failures, s,
                         std::to_string(*n) + " failed re-authentications from " +
                             (s.st_->client_ip_.empty() ? std::string("?") : s.st_->client_ip_) +
                             ": the session is ended");
                    // commit destroys the record and clears the cookie; if that fails, the
                    // caller answers 503 and the count stays at the maximum (the next failure
                    // ends it again).
                    s.destroy();
                    done(true);
                  });
}

}  // namespace sessionkit
