// FlatStore: a store of this project's own, written against the installed sessionkit headers.
// Every record is kept in record.h's portable encoding (encode_record) in a hash map under one
// mutex. Deliberately small: scan sorts the keys after the cursor and purge_expired walks every
// record (fine for a test double; the suite checks behaviour, not cost). Answers inline.
#pragma once

#include <sessionkit/record.h>
#include <sessionkit/store.h>
#include <sessionkit/store_rules.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace consumer {

using namespace sessionkit;

class FlatStore final : public SessionStore {
 public:
  explicit FlatStore(const Clock& clock) : clock_(clock) {}
  std::string_view name() const noexcept override { return "flat"; }

  void load(const SessionKey& key, std::optional<TouchSpec> touch,
            Callback<std::optional<SessionRecord>> done) override {
    using R = std::optional<SessionRecord>;
    done(locked<R>([&](Time now) -> Result<R> {
      auto r = read(key, now);
      if (r.code() == errc::not_found) return R{};
      if (!r) return r.status();
      if (touch && stores::touch_applies(*touch, r->last_access)) {  // a lazy touch: when due
        touched(*r, *touch);
        write(key, *r);
      }
      return R(std::move(*r));
    }));
  }
  void create(const SessionKey& key, const SessionRecord& record, Callback<void> done) override {
    done(locked<void>([&](Time now) -> Status {
      if (auto ok = stores::check_record(record); !ok) return ok;
      if (read(key, now)) return {errc::conflict, "taken"};
      write(key, record);
      return {};
    }));
  }
  void patch(const SessionKey& key, const SessionPatch& p, Callback<void> done) override {
    done(locked<void>([&](Time now) { return patch_where(key, nullptr, p, now); }));
  }
  void patch_if(const SessionKey& key, const PayloadCondition& condition, const SessionPatch& p,
                Callback<void> done) override {
    done(locked<void>([&](Time now) { return patch_where(key, &condition, p, now); }));
  }
  Status patch_where(const SessionKey& key, const PayloadCondition* condition,
                     const SessionPatch& p, Time now) {
    auto r = read(key, now);
    if (!r) return r.status();
    if (condition && !stores::condition_holds(r->data, *condition)) {
      return stores::condition_failed();
    }
    stores::apply_payload_patch(r->data, p);
    if (p.user_id) r->user_id = *p.user_id;
    if (p.auth_at) r->auth_at = *p.auth_at;
    if (p.touch) touched(*r, *p.touch);
    write(key, *r);
    return {};
  }
  void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                 std::optional<TouchSpec> touch, Callback<std::int64_t> done) override {
    done(locked<std::int64_t>([&](Time now) -> Result<std::int64_t> {
      auto r = read(key, now);
      if (!r) return r.status();
      auto next = stores::apply_increment(r->data, field, delta);
      if (!next) return next;
      if (touch) touched(*r, *touch);
      write(key, *r);
      return next;
    }));
  }
  void replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) override {
    done(locked<void>([&](Time now) -> Status {
      if (auto ok = stores::check_record(record); !ok) return ok;
      if (auto r = read(key, now); !r) return r.status();
      write(key, record);
      return {};
    }));
  }
  void touch(const SessionKey& key, TouchSpec t, Callback<void> done) override {
    done(locked<void>([&](Time now) -> Status {
      auto r = read(key, now);
      if (!r) return r.status();
      touched(*r, t);
      write(key, *r);
      return {};
    }));
  }
  void destroy(const SessionKey& key, Callback<bool> done) override {
    done(locked<bool>([&](Time now) -> Result<bool> {
      const bool live = read(key, now).ok();
      records_.erase(key);
      return live;
    }));
  }
  void list_user(const std::string& user, Callback<std::vector<StoredSession>> done) override {
    using R = std::vector<StoredSession>;
    done(locked<R>([&](Time now) -> Result<R> {
      R out;
      for (const auto& [key, text] : records_) {
        auto r = decode_record(text);
        if (r && !user.empty() && r->user_id == user && !r->expired(now))
          out.push_back({key, std::move(*r)});
      }
      std::sort(out.begin(), out.end(), [](const StoredSession& a, const StoredSession& b) {
        return std::tie(a.record.created_at, a.key) < std::tie(b.record.created_at, b.key);
      });
      return out;
    }));
  }
  void destroy_user(const std::string& user, std::optional<SessionKey> keep,
                    Callback<std::size_t> done) override {
    done(locked<std::size_t>([&](Time now) -> Result<std::size_t> {
      std::size_t live = 0;
      std::erase_if(records_, [&](const auto& kv) {
        auto r = decode_record(kv.second);
        if (!r || user.empty() || r->user_id != user || kv.first == keep) return false;
        live += r->expired(now) ? 0 : 1;
        return true;
      });
      return live;
    }));
  }
  void count(Callback<std::size_t> done) override {
    done(locked<std::size_t>([&](Time) -> Result<std::size_t> { return records_.size(); }));
  }
  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) override {
    done(locked<ScanPage>([&](Time now) -> Result<ScanPage> {
      auto after = cursor.empty() ? std::optional<SessionKey>() : SessionKey::from_hex(cursor);
      if (limit == 0 || (!cursor.empty() && !after)) return {errc::invalid_argument, "bad scan"};
      std::vector<SessionKey> keys;
      for (const auto& [key, text] : records_) {
        if (!after || key > *after) keys.push_back(key);
      }
      std::sort(keys.begin(), keys.end());
      ScanPage page;
      for (const auto& key : keys) {
        auto r = read(key, now);
        if (!r) continue;  // expired
        if (page.sessions.size() == limit) {
          page.next_cursor = page.sessions.back().key.hex();
          break;
        }
        page.sessions.push_back({key, std::move(*r)});
      }
      return page;
    }));
  }
  void purge_expired(std::size_t limit, Callback<std::size_t> done) override {
    done(locked<std::size_t>([&](Time now) -> Result<std::size_t> {
      std::size_t purged = 0;
      std::erase_if(records_, [&](const auto& kv) {
        if (purged == limit || read(kv.first, now).code() != errc::not_found) return false;
        return ++purged, true;
      });
      return purged;
    }));
  }
  void health(Callback<void> done) override { done(Status{}); }

 private:
  // Runs `body` under the lock; the caller answers after the lock is released.
  template <class T, class F>
  Result<T> locked(F&& body) {
    try {
      std::lock_guard lock(mutex_);
      return body(clock_.now());
    } catch (const std::exception& e) {
      return Result<T>(errc::unavailable, e.what());
    }
  }
  // The live record under `key`; not_found when missing or expired.
  Result<SessionRecord> read(const SessionKey& key, Time now) const {
    auto it = records_.find(key);
    if (it == records_.end()) return Result<SessionRecord>(errc::not_found, "no session");
    auto r = decode_record(it->second);
    if (r && r->expired(now)) return Result<SessionRecord>(errc::not_found, "expired");
    return r;
  }
  void write(const SessionKey& key, const SessionRecord& r) { records_[key] = encode_record(r); }
  static void touched(SessionRecord& r, const TouchSpec& t) {
    r.last_access = t.last_access;
    r.expires_at = stores::touched_deadline(t, r.absolute_expires_at);
  }

  const Clock& clock_;
  std::mutex mutex_;
  std::unordered_map<SessionKey, std::string, SessionKeyHash> records_;
};

}  // namespace consumer
