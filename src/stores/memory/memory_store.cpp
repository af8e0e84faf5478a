#include "sessionkit/stores/memory.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "sessionkit/store_rules.h"
#include "stores/completion.h"
#include "stores/memory/memory_shard.h"
#include "stores/memory/payload_codec.h"

namespace sessionkit {

using namespace memory_detail;

namespace {

constexpr std::string_view kStore = "memory";  // in messages: "memory store: <what>"
constexpr std::size_t kPurgeOnWrite = 2;       // expired records a write removes on the side

Entry make_entry(const SessionRecord& r, Packed packed) {
  Entry e;
  e.created = to_millis(r.created_at);
  e.access = to_millis(r.last_access);
  e.expires = to_millis(r.expires_at);
  e.absolute = to_millis(r.absolute_expires_at);
  e.auth = r.auth_at ? to_millis(*r.auth_at) : kNoAuth;
  e.blob = std::move(packed.bytes);
  e.blob_size = packed.size;
  return e;
}

// A copy of one record taken under the shard lock; decoded (JSON parsed) after unlocking.
struct Snapshot {
  SessionKey key;
  Entry meta;  // times only (no blob, no user)
  std::string user, ip, ua, data;
};

Snapshot snapshot(const Node& node) {
  const Entry& e = node.second;
  Snapshot s;
  s.key = node.first;
  s.meta.created = e.created;
  s.meta.access = e.access;
  s.meta.expires = e.expires;
  s.meta.absolute = e.absolute;
  s.meta.auth = e.auth;
  if (e.user) s.user = e.user->first;
  const Fields f = unpack(e);
  s.ip = f.ip;
  s.ua = f.ua;
  s.data = f.data;
  return s;
}

Result<SessionRecord> to_record(Snapshot& s) {
  auto data = memory_detail::decode_payload(s.data);
  if (!data) return data.status();
  SessionRecord r;
  r.created_at = from_millis(s.meta.created);
  r.last_access = from_millis(s.meta.access);
  r.expires_at = from_millis(s.meta.expires);
  r.absolute_expires_at = from_millis(s.meta.absolute);
  if (s.meta.auth != kNoAuth) r.auth_at = from_millis(s.meta.auth);
  r.user_id = std::move(s.user);
  r.ip = std::move(s.ip);
  r.user_agent = std::move(s.ua);
  r.data = std::move(*data);
  return r;
}

// Whether every name and value a patch sets is valid UTF-8 (erased names change nothing stored).
bool sets_valid_utf8(const SessionPatch& patch) noexcept {
  for (const auto& [name, value] : patch.set) {
    if (!valid_utf8(name) || !all_valid_utf8(value)) return false;
  }
  return true;
}

}  // namespace

Result<std::shared_ptr<MemoryStore>> MemoryStore::open(MemoryStoreOptions options) {
  using R = std::shared_ptr<MemoryStore>;
  if (options.shards == 0 || options.shards > kMaxShards) {
    return Result<R>(errc::invalid_argument, "memory store: shards must be 1 to " +
                                                 std::to_string(kMaxShards) + ", not " +
                                                 std::to_string(options.shards));
  }
  return stores::attempt<R>("memory",
                            [&] { return Result<R>(std::make_shared<MemoryStore>(options)); });
}

MemoryStore::MemoryStore(MemoryStoreOptions options)
    : clock_(options.clock ? options.clock : &system_clock()), max_sessions_(options.max_sessions) {
  const std::size_t n = std::bit_ceil(std::clamp<std::size_t>(options.shards, 1, kMaxShards));
  shard_shift_ = 64 - std::countr_zero(n);
  shards_.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    shards_.push_back(std::make_unique<Shard>(size_));
}

MemoryStore::~MemoryStore() = default;

std::size_t MemoryStore::shard_index(const SessionKey& key) const noexcept {
  if (shard_shift_ >= 64) return 0;
  std::uint64_t top = 0;
  for (std::size_t i = 0; i < 8; ++i)
    top = top << 8 | key.bytes()[i];
  return static_cast<std::size_t>(top >> shard_shift_);
}

MemoryStore::Shard& MemoryStore::shard_for(const SessionKey& key) const noexcept {
  return *shards_[shard_index(key)];
}

void MemoryStore::load(const SessionKey& key, std::optional<TouchSpec> touch,
                       Callback<std::optional<SessionRecord>> done) {
  using R = std::optional<SessionRecord>;
  stores::complete<R>(kStore, done, [&]() -> Result<R> {
    const std::int64_t now = to_millis(clock_->now());
    Shard& shard = shard_for(key);
    Snapshot snap;
    {
      std::lock_guard lock(shard.mutex);
      Node* node = shard.find_live(key, now);
      if (!node) return R{};
      if (touch) shard.apply_touch(node, *touch);
      snap = snapshot(*node);
    }
    auto record = to_record(snap);
    if (!record) return record.status();
    return R(std::move(*record));
  });
}

void MemoryStore::create(const SessionKey& key, const SessionRecord& record, Callback<void> done) {
  stores::complete<void>(kStore, done, [&]() -> Status {
    if (auto s = stores::check_record(record); !s) return s;
    auto packed =
        pack(record.ip, record.user_agent, memory_detail::encode_payload_repaired(record.data));
    if (!packed) return packed.status();
    Entry entry = make_entry(record, std::move(*packed));
    const std::int64_t now = to_millis(clock_->now());
    Shard& shard = shard_for(key);
    auto taken = [] { return Status(errc::conflict, "session key already exists"); };
    if (max_sessions_ > 0) {
      {
        std::lock_guard lock(shard.mutex);
        if (shard.find_live(key, now)) return taken();
      }
      reserve_slot(now);  // may evict; never under a shard lock
    }
    struct Slot {  // releases the reserved slot unless the record was stored
      std::atomic<std::size_t>& size;
      bool held;
      ~Slot() {
        if (held) size.fetch_sub(1, std::memory_order_relaxed);
      }
    } slot{size_, max_sessions_ > 0};
    std::lock_guard lock(shard.mutex);
    shard.purge(now, kPurgeOnWrite);
    if (shard.find_live(key, now)) return taken();
    shard.insert(key, std::move(entry), record.user_id);
    if (!slot.held) size_.fetch_add(1, std::memory_order_relaxed);
    slot.held = false;
    return {};
  });
}

void MemoryStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  patch_where(key, nullptr, patch, std::move(done));
}

void MemoryStore::patch_if(const SessionKey& key, const PayloadCondition& condition,
                           const SessionPatch& patch, Callback<void> done) {
  patch_where(key, &condition, patch, std::move(done));
}

void MemoryStore::patch_where(const SessionKey& key, const PayloadCondition* condition,
                              const SessionPatch& patch, Callback<void> done) {
  stores::complete<void>(kStore, done, [&]() -> Status {
    const std::int64_t now = to_millis(clock_->now());
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    shard.purge(now, kPurgeOnWrite);
    Node* node = shard.find_live(key, now);
    if (!node) return {errc::not_found, "no such session"};
    Entry& e = node->second;
    std::optional<Packed> packed;  // everything that can fail happens before the first change
    if (condition || !patch.set.empty() || !patch.erase.empty()) {
      const Fields f = unpack(e);
      auto data = memory_detail::decode_payload(f.data);
      if (!data) return data.status();
      if (condition && !stores::condition_holds(*data, *condition)) {
        return stores::condition_failed();
      }
      stores::apply_payload_patch(*data, patch);
      // The stored payload is valid UTF-8 already: only what the patch sets needs a look.
      if (!sets_valid_utf8(patch)) replace_invalid_utf8(*data);
      auto p = pack(f.ip, f.ua, memory_detail::encode_payload(*data));
      if (!p) return p.status();
      packed = std::move(*p);
    }
    if (patch.user_id) shard.rebind(node, *patch.user_id);
    if (packed) {
      e.blob = std::move(packed->bytes);
      e.blob_size = packed->size;
    }
    if (patch.auth_at) e.auth = to_millis(*patch.auth_at);
    if (patch.touch) shard.apply_touch(node, *patch.touch);
    return {};
  });
}

void MemoryStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                            std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  stores::complete<std::int64_t>(kStore, done, [&]() -> Result<std::int64_t> {
    const std::int64_t now = to_millis(clock_->now());
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    shard.purge(now, kPurgeOnWrite);
    Node* node = shard.find_live(key, now);
    if (!node) return {errc::not_found, "no such session"};
    Entry& e = node->second;
    const Fields f = unpack(e);
    auto data = memory_detail::decode_payload(f.data);
    if (!data) return data.status();
    auto value = stores::apply_increment(*data, field, delta);
    if (!value) return value;
    if (!valid_utf8(field)) replace_invalid_utf8(*data);  // the rest is stored, hence valid
    auto packed = pack(f.ip, f.ua, memory_detail::encode_payload(*data));
    if (!packed) return packed.status();
    e.blob = std::move(packed->bytes);
    e.blob_size = packed->size;
    if (touch) shard.apply_touch(node, *touch);
    return value;
  });
}

void MemoryStore::replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) {
  stores::complete<void>(kStore, done, [&]() -> Status {
    if (auto s = stores::check_record(record); !s) return s;
    auto packed =
        pack(record.ip, record.user_agent, memory_detail::encode_payload_repaired(record.data));
    if (!packed) return packed.status();
    Entry fresh = make_entry(record, std::move(*packed));
    const std::int64_t now = to_millis(clock_->now());
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    shard.purge(now, kPurgeOnWrite);
    Node* node = shard.find_live(key, now);
    if (!node) return {errc::not_found, "no such session"};
    shard.rebind(node, record.user_id);
    shard.mark_used(node);
    Entry& e = node->second;
    e.created = fresh.created;
    e.access = fresh.access;
    e.auth = fresh.auth;
    e.blob = std::move(fresh.blob);
    e.blob_size = fresh.blob_size;
    shard.set_deadlines(node, fresh.expires, fresh.absolute);
    return {};
  });
}

void MemoryStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  stores::complete<void>(kStore, done, [&]() -> Status {
    const std::int64_t now = to_millis(clock_->now());
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    shard.purge(now, kPurgeOnWrite);
    Node* node = shard.find_live(key, now);
    if (!node) return {errc::not_found, "no such session"};
    shard.apply_touch(node, touch);
    return {};
  });
}

void MemoryStore::destroy(const SessionKey& key, Callback<bool> done) {
  stores::complete<bool>(kStore, done, [&]() -> Result<bool> {
    const std::int64_t now = to_millis(clock_->now());
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    Node* node = shard.find(key);
    if (!node) return false;
    const bool live = !node->second.expired(now);
    shard.erase(node);
    return live;
  });
}

void MemoryStore::list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) {
  using R = std::vector<StoredSession>;
  stores::complete<R>(kStore, done, [&]() -> Result<R> {
    R out;
    if (user_id.empty()) return out;  // "" means unbound, not a user
    const std::int64_t now = to_millis(clock_->now());
    std::vector<Snapshot> snaps;
    for (auto& shard : shards_) {
      std::lock_guard lock(shard->mutex);
      if (const UserList* list = shard->user_list(user_id)) {
        for (const Node* node : list->nodes) {
          if (!node->second.expired(now)) snaps.push_back(snapshot(*node));
        }
      }
    }
    out.reserve(snaps.size());
    for (auto& snap : snaps) {
      auto record = to_record(snap);
      if (!record) return record.status();
      out.push_back({snap.key, std::move(*record)});
    }
    std::sort(out.begin(), out.end(), [](const StoredSession& a, const StoredSession& b) {
      return std::tie(a.record.created_at, a.key) < std::tie(b.record.created_at, b.key);
    });
    return out;
  });
}

void MemoryStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                               Callback<std::size_t> done) {
  stores::complete<std::size_t>(kStore, done, [&]() -> Result<std::size_t> {
    std::size_t destroyed = 0;
    if (user_id.empty()) return destroyed;
    const std::int64_t now = to_millis(clock_->now());
    std::vector<Node*> nodes;
    for (auto& shard : shards_) {
      std::lock_guard lock(shard->mutex);
      const UserList* list = shard->user_list(user_id);
      if (!list) continue;
      nodes = list->nodes;  // erasing below changes (and may free) the list
      for (Node* node : nodes) {
        if (keep && node->first == *keep) continue;
        if (!node->second.expired(now)) ++destroyed;
        shard->erase(node);
      }
    }
    return destroyed;
  });
}

void MemoryStore::count(Callback<std::size_t> done) {
  stores::complete<std::size_t>(kStore, done, [&]() -> Result<std::size_t> {
    std::size_t n = 0;
    for (auto& shard : shards_) {
      std::lock_guard lock(shard->mutex);
      n += shard->size();
    }
    return n;
  });
}

void MemoryStore::scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
  stores::complete<ScanPage>(kStore, done, [&]() -> Result<ScanPage> {
    if (limit == 0) return {errc::invalid_argument, "scan limit must be positive"};
    std::optional<SessionKey> after;
    if (!cursor.empty()) {
      after = SessionKey::from_hex(cursor);
      if (!after) return {errc::invalid_argument, "malformed scan cursor"};
    }
    const std::int64_t now = to_millis(clock_->now());
    // Shards partition the key space in order, so key order is shard order then key order
    // within a shard. One more than `limit` is gathered to know whether the scan is complete.
    const std::size_t want = limit < std::numeric_limits<std::size_t>::max() ? limit + 1 : limit;
    auto key_less = [](const Node* a, const Node* b) { return a->first < b->first; };
    std::vector<Snapshot> snaps;
    for (std::size_t s = after ? shard_index(*after) : 0; s < shards_.size() && snaps.size() < want;
         ++s) {
      const std::size_t need = want - snaps.size();
      // A bounded max-heap keeps the `need` smallest qualifying keys of the shard.
      std::priority_queue<Node*, std::vector<Node*>, decltype(key_less)> best(key_less);
      std::lock_guard lock(shards_[s]->mutex);
      shards_[s]->for_each([&](Node* node) {
        if ((after && node->first <= *after) || node->second.expired(now)) return;
        if (best.size() < need) {
          best.push(node);
        } else if (node->first < best.top()->first) {
          best.pop();
          best.push(node);
        }
      });
      std::vector<Node*> chosen;
      chosen.reserve(best.size());
      for (; !best.empty(); best.pop())
        chosen.push_back(best.top());
      for (auto it = chosen.rbegin(); it != chosen.rend(); ++it)
        snaps.push_back(snapshot(**it));
    }
    ScanPage page;
    if (snaps.size() > limit) {
      snaps.resize(limit);
      page.next_cursor = snaps.back().key.hex();
    }
    page.sessions.reserve(snaps.size());
    for (auto& snap : snaps) {
      auto record = to_record(snap);
      if (!record) return record.status();
      page.sessions.push_back({snap.key, std::move(*record)});
    }
    return page;
  });
}

void MemoryStore::purge_expired(std::size_t limit, Callback<std::size_t> done) {
  stores::complete<std::size_t>(kStore, done, [&]() -> Result<std::size_t> {
    const std::int64_t now = to_millis(clock_->now());
    std::size_t removed = 0;
    const std::size_t n = shards_.size();
    const std::size_t start = purge_start_.fetch_add(1, std::memory_order_relaxed);
    for (std::size_t i = 0; i < n && removed < limit; ++i) {
      Shard& shard = *shards_[(start + i) % n];
      std::lock_guard lock(shard.mutex);
      removed += shard.purge(now, limit - removed);
    }
    return removed;
  });
}

void MemoryStore::health(Callback<void> done) {
  stores::answer<void>(done, Status::success());
}

void MemoryStore::reserve_slot(std::int64_t now) {
  std::size_t current = size_.load(std::memory_order_relaxed);
  for (;;) {
    if (current < max_sessions_) {
      if (size_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) return;
      continue;
    }
    if (!evict_one(now)) {  // every counted slot is a create in flight: nothing to evict
      size_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    current = size_.load(std::memory_order_relaxed);
  }
}

// Each shard offers its next victim in O(1); the smallest rank of all goes (O(shards) to choose,
// O(log n) to remove). The chosen shard is locked again and evicts its victim of that moment.
bool MemoryStore::evict_one(std::int64_t now) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::optional<EvictionRank> best;
    std::size_t best_shard = 0;
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      std::lock_guard lock(shards_[i]->mutex);
      auto rank = shards_[i]->victim_rank(now);
      if (rank && (!best || *rank < *best)) {
        best = rank;
        best_shard = i;
      }
    }
    if (!best) return false;
    std::lock_guard lock(shards_[best_shard]->mutex);
    if (shards_[best_shard]->evict(now)) return true;
  }
  return false;
}

}  // namespace sessionkit
