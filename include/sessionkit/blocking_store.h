// sessionkit/blocking_store.h — a synchronous facade over any SessionStore.
//
// For tests and tools that call a store directly. Applications never call their store: for
// synchronous frameworks (cpp-httplib, Crow: one request per thread) use sessionkit/sync.h,
// the same blocking calls over SessionManager (load, commit, increment, ...). Each method starts
// the store's asynchronous operation and blocks the calling thread until its callback has delivered
// the result, then answers that result unchanged (errors included). With the memory and SQLite
// stores, which complete inline, this costs no thread switch.
//
// Thread safety: as thread-safe as the wrapped store (every SessionStore is); any number of
// threads may call one BlockingStore at once. Never call it from a thread the wrapped store uses
// to run its callbacks (a network store's I/O thread, or an event loop a store is attached to:
// RedisStore::attach): that thread would wait for itself. On an attached loop's thread every call
// is refused at once with `invalid_argument`.
//
// Blocking: a call waits as long as the store takes to call back; stores bound that time with
// their own timeouts and answer `errc::timeout` / `errc::unavailable` when it runs out.
//
// Ownership: borrows the store, which must outlive this object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sessionkit/store.h"

namespace sessionkit {

class BlockingStore {
 public:
  explicit BlockingStore(SessionStore& store) noexcept : store_(&store) {}

  SessionStore& store() const noexcept { return *store_; }

  Result<std::optional<SessionRecord>> load(const SessionKey& key,
                                            std::optional<TouchSpec> touch = {});
  Status create(const SessionKey& key, const SessionRecord& record);
  Status patch(const SessionKey& key, const SessionPatch& patch);
  Status patch_if(const SessionKey& key, const PayloadCondition& condition,
                  const SessionPatch& patch);
  Result<std::int64_t> increment(const SessionKey& key, const std::string& field,
                                 std::int64_t delta = 1, std::optional<TouchSpec> touch = {});
  Status replace(const SessionKey& key, const SessionRecord& record);
  Status touch(const SessionKey& key, TouchSpec touch);
  Result<bool> destroy(const SessionKey& key);
  Result<std::vector<StoredSession>> list_user(const std::string& user_id);
  Result<std::size_t> destroy_user(const std::string& user_id, std::optional<SessionKey> keep = {});
  Result<std::size_t> count();
  Result<ScanPage> scan(const std::string& cursor, std::size_t limit);
  Result<std::size_t> purge_expired(std::size_t limit);
  Status health();

 private:
  SessionStore* store_;
};

}  // namespace sessionkit
