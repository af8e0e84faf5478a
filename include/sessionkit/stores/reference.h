// sessionkit/stores/reference.h — ReferenceStore: the SessionStore contract (store.h) as the
// plainest code that keeps it. The executable specification of a store and the file to copy
// when writing one (docs/stores.md, "Writing a store"); it passes the conformance suite
// (sessionkit/testing/store_conformance.h) like every store in this repository.
//
// What it is: one std::map of records under one std::mutex, header-only (CMake target
// `sessionkit::reference`). Each rule of store.h is marked "Rule:" where the code keeps it.
// Not for production: one lock for everything, list_user / destroy_user walk every record and
// there is no cap on the number of sessions (MemoryStore has shards, a user index and a cap).
//
// Thread safety: any operation from any thread. Every callback runs inline, before the call
// returns, after the lock is released (so a callback may call the store again).
//
// Expiry: judged by the clock given to the constructor. A deadline index (deadline, key) lets
// purge_expired remove exactly what expired without looking at anything else.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "sessionkit/clock.h"
#include "sessionkit/store.h"
#include "sessionkit/store_rules.h"

namespace sessionkit {

class ReferenceStore final : public SessionStore {
 public:
  // `clock` decides expiry (tests pass a ManualClock) and must outlive the store.
  explicit ReferenceStore(const Clock& clock = system_clock()) : clock_(&clock) {}

  std::string_view name() const noexcept override { return "reference"; }

  void load(const SessionKey& key, std::optional<TouchSpec> touch,
            Callback<std::optional<SessionRecord>> done) override {
    using R = std::optional<SessionRecord>;
    answer<R>(done, [&](Time now) -> Result<R> {
      Entry* e = live(key, now);
      if (!e) return R{};  // Rule: a miss (missing or expired) is success with nothing.
      // Rule: a lazy touch refreshes only when its window holds the record's last access
      // (touch_applies); outside it the record is answered as it is. A refreshed record is
      // answered with its new last_access and deadline.
      if (touch && stores::touch_applies(*touch, e->meta.last_access)) set_touch(key, *e, *touch);
      auto record = to_record(*e);
      if (!record) return record.status();
      return R(std::move(*record));
    });
  }

  void create(const SessionKey& key, const SessionRecord& record, Callback<void> done) override {
    answer<void>(done, [&](Time now) -> Status {
      if (auto ok = stores::check_record(record); !ok) return ok;  // Rule: data is an object.
      // Rule: a live record under the key is a conflict; an expired one is taken over.
      if (live(key, now)) return {errc::conflict, "session key already taken"};
      put(key, record);
      return {};
    });
  }

  void patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) override {
    patch_where(key, nullptr, patch, std::move(done));
  }

  void patch_if(const SessionKey& key, const PayloadCondition& condition, const SessionPatch& patch,
                Callback<void> done) override {
    patch_where(key, &condition, patch, std::move(done));
  }

  void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                 std::optional<TouchSpec> touch, Callback<std::int64_t> done) override {
    answer<std::int64_t>(done, [&](Time now) -> Result<std::int64_t> {
      Entry* e = live(key, now);
      if (!e) return missing();  // Rule: no resurrection.
      auto data = stores::parse_payload(e->payload);
      if (!data) return data.status();
      // Rule: missing counts as 0; a non-integer or an overflow is invalid_argument and
      // changes nothing (not even the touch).
      auto next = stores::apply_increment(*data, field, delta);
      if (!next) return next;
      e->payload = stores::dump_payload(*data);
      if (touch) set_touch(key, *e, *touch);
      return next;
    });
  }

  void replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) override {
    answer<void>(done, [&](Time now) -> Status {
      if (auto ok = stores::check_record(record); !ok) return ok;
      if (!live(key, now)) return missing();  // Rule: only create brings a key into existence.
      put(key, record);
      return {};
    });
  }

  void touch(const SessionKey& key, TouchSpec touch, Callback<void> done) override {
    answer<void>(done, [&](Time now) -> Status {
      Entry* e = live(key, now);
      if (!e) return missing();
      set_touch(key, *e, touch);
      return {};
    });
  }

  void destroy(const SessionKey& key, Callback<bool> done) override {
    answer<bool>(done, [&](Time now) -> Result<bool> { return remove(key, now); });
  }

  void list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) override {
    using R = std::vector<StoredSession>;
    answer<R>(done, [&](Time now) -> Result<R> {
      R out;
      if (user_id.empty()) return out;  // Rule: "" means unbound, never a user.
      for (const auto& [key, e] : records_) {
        if (e.meta.user_id != user_id || e.meta.expired(now)) continue;
        auto record = to_record(e);
        if (!record) return record.status();
        out.push_back({key, std::move(*record)});
      }
      // Rule: ordered by creation time, then key.
      std::sort(out.begin(), out.end(), [](const StoredSession& a, const StoredSession& b) {
        return std::tie(a.record.created_at, a.key) < std::tie(b.record.created_at, b.key);
      });
      return out;
    });
  }

  void destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                    Callback<std::size_t> done) override {
    answer<std::size_t>(done, [&](Time now) -> Result<std::size_t> {
      if (user_id.empty()) return std::size_t{0};  // Rule: "" destroys nothing.
      std::vector<SessionKey> doomed;
      for (const auto& [key, e] : records_) {
        if (e.meta.user_id == user_id && key != keep) doomed.push_back(key);
      }
      std::size_t destroyed = 0;  // Rule: expired ones go too, uncounted.
      for (const auto& key : doomed)
        destroyed += remove(key, now) ? 1 : 0;
      return destroyed;
    });
  }

  void count(Callback<std::size_t> done) override {
    // Rule: may include expired records not yet purged. A maintained figure: not expensive.
    answer<std::size_t>(done, [&](Time) -> Result<std::size_t> { return records_.size(); });
  }

  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) override {
    answer<ScanPage>(done, [&](Time now) -> Result<ScanPage> {
      if (limit == 0) return {errc::invalid_argument, "scan limit must be positive"};
      // Rule: "" starts; otherwise the cursor is the hex of the last key returned, and the scan
      // goes on in ascending key order, so a key present throughout comes exactly once.
      auto it = records_.begin();
      if (!cursor.empty()) {
        auto after = SessionKey::from_hex(cursor);
        if (!after) return {errc::invalid_argument, "malformed scan cursor"};
        it = records_.upper_bound(*after);
      }
      ScanPage page;
      for (; it != records_.end(); ++it) {
        if (it->second.meta.expired(now)) continue;  // Rule: expired is never scanned.
        if (page.sessions.size() == limit) {         // one more live record: not the last page
          page.next_cursor = page.sessions.back().key.hex();
          break;
        }
        auto record = to_record(it->second);
        if (!record) return record.status();
        page.sessions.push_back({it->first, std::move(*record)});
      }
      return page;  // Rule: an empty next_cursor ends the scan.
    });
  }

  void purge_expired(std::size_t limit, Callback<std::size_t> done) override {
    answer<std::size_t>(done, [&](Time now) -> Result<std::size_t> {
      // Rule: the cost is in proportion to what expired: earliest deadlines first, stop at the
      // first live one.
      std::size_t purged = 0;
      while (purged < limit && !deadlines_.empty() && deadlines_.begin()->first <= now) {
        records_.erase(deadlines_.begin()->second);
        deadlines_.erase(deadlines_.begin());
        ++purged;
      }
      return purged;
    });
  }

  void health(Callback<void> done) override {
    answer<void>(done, [](Time) -> Status { return {}; });
  }

 private:
  // patch and patch_if: the condition (if any) is checked under the same lock as the write.
  void patch_where(const SessionKey& key, const PayloadCondition* condition,
                   const SessionPatch& patch, Callback<void> done) {
    answer<void>(done, [&](Time now) -> Status {
      Entry* e = live(key, now);
      if (!e) return missing();  // Rule: no resurrection; expired is missing.
      auto data = stores::parse_payload(e->payload);
      if (!data) return data.status();
      // Rule (patch_if): the condition is checked under the same lock as the write.
      if (condition && !stores::condition_holds(*data, *condition)) {
        return stores::condition_failed();
      }
      stores::apply_payload_patch(*data, patch);  // Rule: only the named keys; set, then erase.
      e->payload = stores::dump_payload(*data);
      if (patch.user_id) e->meta.user_id = *patch.user_id;  // "" unbinds
      if (patch.auth_at) e->meta.auth_at = *patch.auth_at;
      if (patch.touch) set_touch(key, *e, *patch.touch);
      return {};  // Rule: all of it under one lock, so concurrent patches all survive.
    });
  }

  struct Entry {
    SessionRecord meta;   // everything but the payload (meta.data stays null)
    std::string payload;  // stores::dump_payload text: a loaded record is always a fresh copy
  };

  // Rule: expired once the clock reaches min(expires_at, absolute_expires_at).
  static Time deadline(const SessionRecord& r) {
    return std::min(r.expires_at, r.absolute_expires_at);
  }
  static Status missing() { return {errc::not_found, "no such session"}; }

  // Rule: exactly one answer; nothing throws across the interface (only std::bad_alloc can
  // here); the callback runs after the lock is released. `now` is read under the lock.
  template <class T, class F>
  void answer(const Callback<T>& done, F&& body) {
    std::optional<Result<T>> result;
    try {
      std::lock_guard lock(mutex_);
      result.emplace(body(clock_->now()));
    } catch (const std::exception& e) {
      result.emplace(errc::unavailable, std::string("reference store: ") + e.what());
    }
    if (done) done(std::move(*result));
  }

  // The live record under `key`, or nullptr: an expired record answers as missing.
  Entry* live(const SessionKey& key, Time now) {
    auto it = records_.find(key);
    return it == records_.end() || it->second.meta.expired(now) ? nullptr : &it->second;
  }

  Result<SessionRecord> to_record(const Entry& e) const {
    auto data = stores::parse_payload(e.payload);  // anything but an object: corrupt
    if (!data) return data.status();
    SessionRecord r = e.meta;
    r.data = std::move(*data);
    return r;
  }

  // Stores `record` under `key` (over whatever was there), keeping the deadline index.
  void put(const SessionKey& key, const SessionRecord& record) {
    if (auto it = records_.find(key); it != records_.end())
      deadlines_.erase({deadline(it->second.meta), key});
    Entry e{record, stores::dump_payload(record.data)};  // Rule: invalid UTF-8 becomes U+FFFD.
    e.meta.data = nullptr;
    deadlines_.emplace(deadline(e.meta), key);
    records_.insert_or_assign(key, std::move(e));
  }

  // Rule: a touch writes last_access and a deadline never past the absolute one.
  void set_touch(const SessionKey& key, Entry& e, const TouchSpec& touch) {
    deadlines_.erase({deadline(e.meta), key});
    e.meta.last_access = touch.last_access;
    e.meta.expires_at = stores::touched_deadline(touch, e.meta.absolute_expires_at);
    deadlines_.emplace(deadline(e.meta), key);
  }

  // Deletes the record under `key`, if any; answers whether a live one was there.
  bool remove(const SessionKey& key, Time now) {
    auto it = records_.find(key);
    if (it == records_.end()) return false;
    const bool was_live = !it->second.meta.expired(now);
    deadlines_.erase({deadline(it->second.meta), key});
    records_.erase(it);
    return was_live;
  }

  const Clock* clock_;
  std::mutex mutex_;
  std::map<SessionKey, Entry> records_;              // ascending key order: the scan order
  std::set<std::pair<Time, SessionKey>> deadlines_;  // (deadline, key) of every record
};

}  // namespace sessionkit
