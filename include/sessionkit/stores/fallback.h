// sessionkit/stores/fallback.h — FallbackStore: a new store that reads through to the old one,
// for moving the apps to another store without a pause and without signing anybody out
// (docs/operations.md, "Cutting over to another store").
//
// `FallbackStore::wrap(primary, fallback)`: `primary` is the store the apps move to, `fallback`
// the one they leave. New sessions are created in the primary only. The first operation that
// names a session the primary does not have (load, patch, patch_if, increment, replace, touch)
// copies it from the fallback into the primary (`create`: a copy another instance made first
// wins), then runs on the primary; the fallback's record is left as it was. From then on every
// instance finds the session in the primary, so each session's writes all go to one store.
// `sessionctl migrate --from OLD --to NEW` moves the sessions nobody uses meanwhile; when it
// is done, the apps drop the fallback.
//
// Ending sessions reaches both stores, the fallback FIRST: `destroy` removes the key from the
// fallback, then from the primary; `destroy_user` ends the user's sessions in both (and the
// fallback's copies of the primary's ones, whatever user the fallback's copy names). With
// `migrate` copying concurrently — it looks the original up again after each copy and removes
// the copy when the original is gone — a logout is never undone.
//
// Everything else is the primary's: `count`, `scan` and the name describe the primary (the
// metrics count the sessions moved so far); `list_user` answers both stores' sessions of the
// user (the primary's record where both have one); `purge_expired` purges both; `health` needs
// both (a session the primary does not have cannot be answered without the fallback: an outage
// of either is `unavailable`, never "no session").
//
// Cost: one primary call, as before, for every session in the primary; a miss (a session still
// only in the fallback, or none at all) adds a fallback load, and a copy adds a create and a
// second primary call. The fallback's calls are made from the primary's completions (on the
// primary's I/O thread for network stores).
//
// Limit: the apps must all use the FallbackStore before `migrate` starts. An instance still on
// the old store alone writes only there; after another instance copied the session, those
// writes are not seen. Roll the new configuration out first, then migrate.
//
// Thread safety: as thread-safe as the two stores. Keep the shared_ptr that wrap answers for as
// long as calls are pending (the manager does).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string_view>

#include "sessionkit/store.h"

namespace sessionkit {

class FallbackStore final : public SessionStore,
                            public std::enable_shared_from_this<FallbackStore> {
 public:
  // Throws std::invalid_argument when either store is missing or both are the same object.
  static std::shared_ptr<FallbackStore> wrap(std::shared_ptr<SessionStore> primary,
                                             std::shared_ptr<SessionStore> fallback);

  std::string_view name() const noexcept override { return primary_->name(); }
  void load(const SessionKey& key, std::optional<TouchSpec> touch,
            Callback<std::optional<SessionRecord>> done) override;
  void create(const SessionKey& key, const SessionRecord& record, Callback<void> done) override;
  void patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) override;
  void patch_if(const SessionKey& key, const PayloadCondition& condition, const SessionPatch& patch,
                Callback<void> done) override;
  void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                 std::optional<TouchSpec> touch, Callback<std::int64_t> done) override;
  void replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) override;
  void touch(const SessionKey& key, TouchSpec touch, Callback<void> done) override;
  void destroy(const SessionKey& key, Callback<bool> done) override;
  void list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) override;
  void destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                    Callback<std::size_t> done) override;
  void count(Callback<std::size_t> done) override;
  bool count_is_expensive() const noexcept override { return primary_->count_is_expensive(); }
  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) override;
  void purge_expired(std::size_t limit, Callback<std::size_t> done) override;
  void health(Callback<void> done) override;

  // Sessions this object copied from the fallback into the primary so far.
  std::size_t copied() const noexcept { return copied_; }
  const std::shared_ptr<SessionStore>& primary() const noexcept { return primary_; }
  const std::shared_ptr<SessionStore>& fallback() const noexcept { return fallback_; }

 private:
  FallbackStore(std::shared_ptr<SessionStore> primary, std::shared_ptr<SessionStore> fallback);
  // Copies `key` from the fallback into the primary when the fallback has it; answers whether
  // the primary has it now (a copy made by another instance counts).
  void copy_in(const SessionKey& key, Callback<bool> done);
  // Runs `op` on the primary; when that answers not_found, copies the session in and runs
  // `op` once more.
  template <class T>
  void on_primary(const SessionKey& key, std::function<void(Callback<T>)> op, Callback<T> done);

  std::shared_ptr<SessionStore> primary_;
  std::shared_ptr<SessionStore> fallback_;
  std::atomic<std::size_t> copied_{0};
};

}  // namespace sessionkit
