// sessionkit/stores/memory.h — an in-process SessionStore (development, tests, one process).
//
// What it is: records live in this process's memory and vanish with it. They are kept
// serialized (the payload as MessagePack, metadata as integers), so callers get the copy
// semantics of a remote store: a loaded record is a fresh copy, and changing it changes nothing
// stored. Keys are spread over `shards` independently locked shards by the top bits of the key.
//
// Thread safety: every member function may be called from any number of threads at once. An
// operation on one key locks one shard; list_user, destroy_user, count, scan and purge_expired
// visit the shards one after another and never hold two shard locks at once. Every callback is
// invoked inline, before the call returns, with no lock held (a callback may call the store),
// and, like every store of this library, inside a `sync::CompletionScope`: a blocking call of
// sessionkit/sync.h made from a callback answers an error instead of running.
//
// Expiry: a record is expired once the store's clock reaches min(expires_at,
// absolute_expires_at); from then on it is invisible (never loaded, patched, listed or
// scanned). Each shard keeps an indexed min-heap of those deadlines, so removing expired records
// costs O(log n) each and nothing is ever scanned: `purge_expired(limit)` pops them, and every
// write also removes a few (at most 2) expired records of its shard on the side.
//
// Cap and eviction rule: with `max_sessions > 0`, a `create` that would make the store hold more
// than `max_sessions` records first evicts one record, as often as needed, then stores the new
// record and succeeds. The victim is, in this order: (1) an expired record, earliest deadline
// first; (2) else an anonymous record (empty user_id), least recently used first; (3) only when
// no anonymous record is left, an authenticated record, least recently used first. A flood of
// anonymous creates therefore never evicts a signed-in session while an anonymous one remains;
// nearness to expiry plays no part. "Least recently used" is least recently written: a record
// becomes the most recently used of its class when it is created, when its last_access is
// written (touch; load, patch or increment with a touch; replace) and when a patch or replace
// binds or unbinds a user (moving it between the classes). The manager writes last_access
// lazily, once per touch interval. Within a shard the order is exact; across shards each
// shard's candidate is compared by last_access. The record being created is never the one
// evicted; a create that conflicts evicts nothing. The cap holds exactly under concurrent
// creates. Cost: O(shards) to choose plus O(log n) to remove, per eviction.
//
// Scan: sessions in ascending key order (bytewise); the cursor is the hex of the last key
// returned. A page costs O(records in the shards it visits), so prefer large pages.
//
// Errors: `not_found` / `conflict` as the store contract says; `invalid_argument` for a payload
// that is not a JSON object, an increment of a non-integer or one that would overflow, a scan
// cursor that is not a key's hex, or a scan limit of 0; `too_large` for a single text field over
// 4 GiB; `corrupt` cannot happen in practice; `unavailable` only when memory runs out. Nothing
// throws.
//
// Construction: `MemoryStore::open(options)` is the way to make one, like every store of this
// library (SqliteStore::open, RedisStore::open, PostgresStore::open): it checks the options and
// answers `invalid_argument` with a message naming the bad field. The constructor stays public
// for code that wants no Result (tests); it does not refuse anything: it clamps `shards` into
// [1, kMaxShards].
//
// Ownership: the store owns its records. `options.clock` is borrowed and must outlive the store.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sessionkit/store.h"

namespace sessionkit {

struct MemoryStoreOptions {
  std::size_t shards = 16;       // 1 to MemoryStore::kMaxShards, rounded up to a power of two
  std::size_t max_sessions = 0;  // 0 = unlimited; else a cap kept by the eviction rule above
  const Clock* clock = nullptr;  // nullptr = system_clock()
};

class MemoryStore final : public SessionStore {
 public:
  static constexpr std::size_t kMaxShards = std::size_t{1} << 16;

  // A new, empty store. Errors: `invalid_argument` when `shards` is 0 or over kMaxShards;
  // `unavailable` when memory runs out. Never throws.
  static Result<std::shared_ptr<MemoryStore>> open(MemoryStoreOptions options = {});

  // As `open`, without the checks: `shards` is clamped into [1, kMaxShards]. Prefer `open`.
  explicit MemoryStore(MemoryStoreOptions options = {});
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  std::string_view name() const noexcept override { return "memory"; }

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
  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) override;
  void purge_expired(std::size_t limit, Callback<std::size_t> done) override;
  void health(Callback<void> done) override;

 private:
  // patch and patch_if: the condition (if any) is checked under the shard lock of the write.
  void patch_where(const SessionKey& key, const PayloadCondition* condition,
                   const SessionPatch& patch, Callback<void> done);
  class Shard;

  Shard& shard_for(const SessionKey& key) const noexcept;
  std::size_t shard_index(const SessionKey& key) const noexcept;
  void reserve_slot(std::int64_t now);  // cap bookkeeping: may evict
  bool evict_one(std::int64_t now);

  const Clock* clock_;
  std::size_t max_sessions_;
  int shard_shift_;  // shard index = top bits of the key
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<std::size_t> size_{0};  // records held (+ slots reserved by creates in flight)
  std::atomic<std::size_t> purge_start_{0};
};

}  // namespace sessionkit
