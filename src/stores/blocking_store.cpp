#include "sessionkit/blocking_store.h"

#include "core/attached_loops.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <utility>

namespace sessionkit {
namespace {

// Starts `start(callback)` and waits until the callback has run, on this thread (inline) or on
// another. The state is shared with the callback, so that a contract-breaking second call still
// finds it alive (and is ignored).
template <class T, class Start>
Result<T> wait_for(Start&& start) {
  struct State {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<Result<T>> result;
  };
  if (detail::on_attached_loop()) {
    // The reply would be handled by this very thread (RedisStore::attach): never wait for it.
    return Result<T>(errc::invalid_argument,
                     "BlockingStore called on an event loop's thread that a store is attached to "
                     "(it would wait forever): use the asynchronous call there");
  }
  auto state = std::make_shared<State>();
  start([state](Result<T> r) {
    {
      std::lock_guard lock(state->mutex);
      if (state->result) return;  // a second call would break the contract: ignore it
      state->result.emplace(std::move(r));
    }
    state->ready.notify_all();
  });
  std::unique_lock lock(state->mutex);
  state->ready.wait(lock, [&] { return state->result.has_value(); });
  return std::move(*state->result);
}

}  // namespace

Result<std::optional<SessionRecord>> BlockingStore::load(const SessionKey& key,
                                                         std::optional<TouchSpec> touch) {
  return wait_for<std::optional<SessionRecord>>(
      [&](auto done) { store_->load(key, touch, std::move(done)); });
}

Status BlockingStore::create(const SessionKey& key, const SessionRecord& record) {
  return wait_for<void>([&](auto done) { store_->create(key, record, std::move(done)); });
}

Status BlockingStore::patch(const SessionKey& key, const SessionPatch& patch) {
  return wait_for<void>([&](auto done) { store_->patch(key, patch, std::move(done)); });
}

Status BlockingStore::patch_if(const SessionKey& key, const PayloadCondition& condition,
                               const SessionPatch& patch) {
  return wait_for<void>(
      [&](auto done) { store_->patch_if(key, condition, patch, std::move(done)); });
}

Result<std::int64_t> BlockingStore::increment(const SessionKey& key, const std::string& field,
                                              std::int64_t delta, std::optional<TouchSpec> touch) {
  return wait_for<std::int64_t>(
      [&](auto done) { store_->increment(key, field, delta, touch, std::move(done)); });
}

Status BlockingStore::replace(const SessionKey& key, const SessionRecord& record) {
  return wait_for<void>([&](auto done) { store_->replace(key, record, std::move(done)); });
}

Status BlockingStore::touch(const SessionKey& key, TouchSpec touch) {
  return wait_for<void>([&](auto done) { store_->touch(key, touch, std::move(done)); });
}

Result<bool> BlockingStore::destroy(const SessionKey& key) {
  return wait_for<bool>([&](auto done) { store_->destroy(key, std::move(done)); });
}

Result<std::vector<StoredSession>> BlockingStore::list_user(const std::string& user_id) {
  return wait_for<std::vector<StoredSession>>(
      [&](auto done) { store_->list_user(user_id, std::move(done)); });
}

Result<std::size_t> BlockingStore::destroy_user(const std::string& user_id,
                                                std::optional<SessionKey> keep) {
  return wait_for<std::size_t>(
      [&](auto done) { store_->destroy_user(user_id, keep, std::move(done)); });
}

Result<std::size_t> BlockingStore::count() {
  return wait_for<std::size_t>([&](auto done) { store_->count(std::move(done)); });
}

Result<ScanPage> BlockingStore::scan(const std::string& cursor, std::size_t limit) {
  return wait_for<ScanPage>([&](auto done) { store_->scan(cursor, limit, std::move(done)); });
}

Result<std::size_t> BlockingStore::purge_expired(std::size_t limit) {
  return wait_for<std::size_t>([&](auto done) { store_->purge_expired(limit, std::move(done)); });
}

Status BlockingStore::health() {
  return wait_for<void>([&](auto done) { store_->health(std::move(done)); });
}

}  // namespace sessionkit
