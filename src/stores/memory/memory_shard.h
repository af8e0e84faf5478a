// Internal to the memory store: the compact entry layout and one shard (records, user index,
// deadline heap, eviction lists). Not installed.
//
// Thread safety: every Shard member except `mutex` needs `mutex` held.
#pragma once

#include <algorithm>
#include <atomic>
#include <compare>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "sessionkit/store_rules.h"
#include "sessionkit/stores/memory.h"

namespace sessionkit {
namespace memory_detail {

constexpr std::int64_t kNoAuth = std::numeric_limits<std::int64_t>::min();  // auth_at absent

struct Entry;
using Node = std::pair<const SessionKey, Entry>;
struct UserList {
  std::vector<Node*> nodes;  // the shard's records bound to this user
};
using UserMap = std::unordered_map<std::string, UserList>;
using UserNode = UserMap::value_type;

// One record, compact: 80 bytes plus one allocation for the variable-length fields. The user id
// is not stored here but is the key of the shard's user index node this entry points to.
struct Entry {
  std::int64_t created = 0;
  std::int64_t access = 0;
  std::int64_t expires = 0;
  std::int64_t absolute = 0;
  std::int64_t auth = kNoAuth;
  UserNode* user = nullptr;
  std::unique_ptr<char[]> blob;  // [u32 ip length][u32 ua length][ip][ua][payload MessagePack]
  std::uint32_t blob_size = 0;
  std::uint32_t heap_pos = 0;  // index of this entry in its shard's deadline heap
  Node* lru_prev = nullptr;    // neighbours in its shard's eviction list of its class
  Node* lru_next = nullptr;

  bool authenticated() const noexcept { return user != nullptr; }
  std::int64_t deadline() const noexcept { return stores::deadline_ms(expires, absolute); }
  bool expired(std::int64_t now) const noexcept { return now >= deadline(); }
};
static_assert(sizeof(Entry) == 80);
using Map = std::unordered_map<SessionKey, Entry, SessionKeyHash>;
static_assert(std::is_same_v<Map::value_type, Node>);

// Where a shard's next eviction victim stands; the store evicts the smallest rank of all shards.
struct EvictionRank {
  int tier;         // 0 expired, 1 anonymous, 2 authenticated
  std::int64_t at;  // tier 0: the deadline; else the last access of the least recently used
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 flags the 0 a defaulted <=> compares with
  auto operator<=>(const EvictionRank&) const = default;
};

struct Packed {
  std::unique_ptr<char[]> bytes;
  std::uint32_t size = 0;
};

inline Result<Packed> pack(std::string_view ip, std::string_view ua, std::string_view data) {
  constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
  if (ip.size() > kMax / 4 || ua.size() > kMax / 4 || data.size() > kMax / 2) {
    return Result<Packed>(errc::too_large, "memory store: record too large");
  }
  const std::size_t total = 8 + ip.size() + ua.size() + data.size();
  Packed p{std::make_unique_for_overwrite<char[]>(total), static_cast<std::uint32_t>(total)};
  const auto ip_len = static_cast<std::uint32_t>(ip.size());
  const auto ua_len = static_cast<std::uint32_t>(ua.size());
  char* out = p.bytes.get();
  std::memcpy(out, &ip_len, 4);
  std::memcpy(out + 4, &ua_len, 4);
  std::memcpy(out + 8, ip.data(), ip.size());
  std::memcpy(out + 8 + ip.size(), ua.data(), ua.size());
  std::memcpy(out + 8 + ip.size() + ua.size(), data.data(), data.size());
  return p;
}

struct Fields {
  std::string_view ip, ua, data;
};

inline Fields unpack(const Entry& e) noexcept {
  const char* in = e.blob.get();
  std::uint32_t ip_len = 0, ua_len = 0;
  std::memcpy(&ip_len, in, 4);
  std::memcpy(&ua_len, in + 4, 4);
  const std::size_t data_at = 8 + std::size_t{ip_len} + ua_len;
  return {{in + 8, ip_len}, {in + 8 + ip_len, ua_len}, {in + data_at, e.blob_size - data_at}};
}

}  // namespace memory_detail

// One shard: records, the user index, the deadline heap and two eviction lists (anonymous and
// authenticated records, each least recently used first). Every member needs `mutex` held.
class MemoryStore::Shard {
  using Entry = memory_detail::Entry;
  using Map = memory_detail::Map;
  using Node = memory_detail::Node;
  using UserList = memory_detail::UserList;
  using UserMap = memory_detail::UserMap;
  using UserNode = memory_detail::UserNode;

 public:
  explicit Shard(std::atomic<std::size_t>& total) : total_(total) {}

  std::mutex mutex;

  std::size_t size() const noexcept { return map_.size(); }

  // The record under `key` if it is unexpired; an expired one found is removed.
  Node* find_live(const SessionKey& key, std::int64_t now) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (it->second.expired(now)) {
      erase(&*it);
      return nullptr;
    }
    return &*it;
  }

  Node* find(const SessionKey& key) {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &*it;
  }

  // Inserts a new record (the key must be absent). Strong guarantee if it throws.
  void insert(const SessionKey& key, Entry entry, const std::string& user) {
    if (heap_.size() == heap_.capacity())
      heap_.reserve(std::max<std::size_t>(16, 2 * heap_.size()));
    auto [it, inserted] = map_.try_emplace(key, std::move(entry));
    Node* node = &*it;
    try {
      node->second.user = user.empty() ? nullptr : add_to_user(node, user);
    } catch (...) {
      map_.erase(it);
      throw;
    }
    heap_.push_back({node->second.deadline(), node});
    node->second.heap_pos = static_cast<std::uint32_t>(heap_.size() - 1);
    sift_up(heap_.size() - 1);
    lru_link(node);
  }

  void erase(Node* node) noexcept {
    heap_remove(node->second.heap_pos);
    lru_unlink(node);  // before the user goes: the user picks the list
    remove_from_user(node);
    map_.erase(map_.find(node->first));
    total_.fetch_sub(1, std::memory_order_relaxed);
  }

  // Binds `node` to `user` ("" unbinds); a change of user puts the record last (most recently
  // used) in the eviction list of its new class. Changes nothing if it throws.
  void rebind(Node* node, const std::string& user) {
    const UserNode* old = node->second.user;
    if (old ? old->first == user : user.empty()) return;
    UserNode* fresh = user.empty() ? nullptr : add_to_user(node, user);
    lru_unlink(node);
    remove_from_user(node);
    node->second.user = fresh;
    lru_link(node);
  }

  // Marks `node` most recently used in its eviction list: O(1).
  void mark_used(Node* node) noexcept {
    LruList& list = lru_of(node->second);
    if (list.tail == node) return;
    lru_unlink(node);
    lru_link(node);
  }

  void set_deadlines(Node* node, std::int64_t expires, std::int64_t absolute) noexcept {
    Entry& e = node->second;
    e.expires = expires;
    e.absolute = absolute;
    heap_[e.heap_pos].deadline = e.deadline();
    heap_fix(e.heap_pos);
  }

  // A touch (a lazy one only within its window: store_rules.h).
  void apply_touch(Node* node, const TouchSpec& touch) noexcept {
    Entry& e = node->second;
    if (!stores::touch_applies(touch, from_millis(e.access))) return;
    e.access = to_millis(touch.last_access);
    mark_used(node);
    set_deadlines(node, to_millis(stores::touched_deadline(touch, from_millis(e.absolute))),
                  e.absolute);
  }

  // Removes up to `limit` expired records, earliest deadline first: O(log n) each.
  std::size_t purge(std::int64_t now, std::size_t limit) noexcept {
    std::size_t removed = 0;
    while (removed < limit && !heap_.empty() && heap_.front().deadline <= now) {
      erase(heap_.front().node);
      ++removed;
    }
    return removed;
  }

  // This shard's next eviction victim, in the store's order: an expired record (earliest
  // deadline), else the least recently used anonymous record, else the least recently used
  // authenticated one. O(1); `evict` removes it in O(log n).
  Node* victim(std::int64_t now) const noexcept {
    if (heap_.empty()) return nullptr;
    if (heap_.front().deadline <= now) return heap_.front().node;
    return lru_[0].head ? lru_[0].head : lru_[1].head;
  }

  std::optional<memory_detail::EvictionRank> victim_rank(std::int64_t now) const noexcept {
    const Node* v = victim(now);
    if (!v) return std::nullopt;
    const Entry& e = v->second;
    if (e.expired(now)) return memory_detail::EvictionRank{0, e.deadline()};
    return memory_detail::EvictionRank{e.authenticated() ? 2 : 1, e.access};
  }

  bool evict(std::int64_t now) noexcept {
    Node* v = victim(now);
    if (!v) return false;
    erase(v);
    return true;
  }

  const UserList* user_list(const std::string& user) const {
    auto it = users_.find(user);
    return it == users_.end() ? nullptr : &it->second;
  }

  template <class F>
  void for_each(F&& f) {
    for (auto& node : map_)
      f(&node);
  }

 private:
  struct HeapItem {
    std::int64_t deadline;
    Node* node;
  };

  // An intrusive doubly linked list through Entry::lru_prev/lru_next, in the order the records
  // were last created, touched, replaced or moved here by a change of user: head = least
  // recently used.
  struct LruList {
    Node* head = nullptr;
    Node* tail = nullptr;
  };

  LruList& lru_of(const Entry& e) noexcept { return lru_[e.authenticated() ? 1 : 0]; }

  void lru_link(Node* node) noexcept {  // at the tail of its class's list
    LruList& list = lru_of(node->second);
    node->second.lru_prev = list.tail;
    node->second.lru_next = nullptr;
    (list.tail ? list.tail->second.lru_next : list.head) = node;
    list.tail = node;
  }

  void lru_unlink(Node* node) noexcept {
    LruList& list = lru_of(node->second);
    Entry& e = node->second;
    (e.lru_prev ? e.lru_prev->second.lru_next : list.head) = e.lru_next;
    (e.lru_next ? e.lru_next->second.lru_prev : list.tail) = e.lru_prev;
    e.lru_prev = e.lru_next = nullptr;
  }

  UserNode* add_to_user(Node* node, const std::string& user) {
    auto [it, inserted] = users_.try_emplace(user);
    try {
      it->second.nodes.push_back(node);
    } catch (...) {
      if (inserted) users_.erase(it);
      throw;
    }
    return &*it;
  }

  void remove_from_user(Node* node) noexcept {
    UserNode* user = node->second.user;
    if (!user) return;
    auto& nodes = user->second.nodes;
    auto pos = std::find(nodes.begin(), nodes.end(), node);
    if (pos != nodes.end()) {
      *pos = nodes.back();
      nodes.pop_back();
    }
    if (nodes.empty()) users_.erase(users_.find(user->first));
    node->second.user = nullptr;
  }

  void place(std::size_t i, HeapItem item) noexcept {
    heap_[i] = item;
    item.node->second.heap_pos = static_cast<std::uint32_t>(i);
  }

  void sift_up(std::size_t i) noexcept {
    const HeapItem item = heap_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (heap_[parent].deadline <= item.deadline) break;
      place(i, heap_[parent]);
      i = parent;
    }
    place(i, item);
  }

  void sift_down(std::size_t i) noexcept {
    const HeapItem item = heap_[i];
    const std::size_t n = heap_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap_[child + 1].deadline < heap_[child].deadline) ++child;
      if (item.deadline <= heap_[child].deadline) break;
      place(i, heap_[child]);
      i = child;
    }
    place(i, item);
  }

  void heap_fix(std::size_t i) noexcept {
    if (i > 0 && heap_[i].deadline < heap_[(i - 1) / 2].deadline) {
      sift_up(i);
    } else {
      sift_down(i);
    }
  }

  void heap_remove(std::size_t i) noexcept {
    const HeapItem last = heap_.back();
    heap_.pop_back();
    if (i < heap_.size()) {
      place(i, last);
      heap_fix(i);
    }
  }

  Map map_;
  UserMap users_;
  std::vector<HeapItem> heap_;  // min-heap of deadlines, indexed by Entry::heap_pos
  LruList lru_[2];              // eviction lists: [0] anonymous, [1] authenticated records
  std::atomic<std::size_t>& total_;
};

}  // namespace sessionkit
