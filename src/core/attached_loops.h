// Internal: the event loops stores have attached connections to (RedisStore::attach). A thread
// that runs one must never block waiting for a store call: the reply would be handled by that
// very thread. BlockingStore asks `on_attached_loop()` and refuses rather than wait forever.
// Thread-safe. Not installed.
#pragma once

#include <cstdint>
#include <functional>

namespace sessionkit::detail {

// Registers a loop by a predicate that says whether the calling thread runs it; answers the
// registration's id for `forget_attached_loop`.
std::uint64_t note_attached_loop(std::function<bool()> runs_on_this_thread);
void forget_attached_loop(std::uint64_t id);
// Whether the calling thread runs a registered loop.
bool on_attached_loop();

}  // namespace sessionkit::detail
