#include "core/attached_loops.h"

#include <atomic>
#include <map>
#include <mutex>
#include <utility>

namespace sessionkit::detail {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::uint64_t, std::function<bool()>> loops;
  std::uint64_t next = 1;
  std::atomic<std::size_t> size{0};  // read without the lock: no loop, no cost
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

std::uint64_t note_attached_loop(std::function<bool()> runs_on_this_thread) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const std::uint64_t id = r.next++;
  r.loops.emplace(id, std::move(runs_on_this_thread));
  r.size.store(r.loops.size());
  return id;
}

void forget_attached_loop(std::uint64_t id) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.loops.erase(id);
  r.size.store(r.loops.size());
}

bool on_attached_loop() {
  Registry& r = registry();
  if (r.size.load() == 0) return false;
  std::lock_guard lock(r.mutex);
  for (const auto& [id, runs_here] : r.loops)
    if (runs_here()) return true;
  return false;
}

}  // namespace sessionkit::detail
