// crypto::random_bytes — session IDs, CSRF masks and seeds, nonces, generated secrets.
//
// Why not one getrandom() per call (libsodium's randombytes_buf): on the read path the demo
// mints a CSRF token per response, and measured on this project's 2-core VM the syscall cost far
// more than its ~0.4 µs in a tight loop (every kernel entry and exit also costs the code around
// it; see docs/performance.md). So small requests come from a per-thread pool:
//
// - The pool is "fast key erasure" (D. J. Bernstein, 2017): a 32-byte key expands with ChaCha20
//   (libsodium's randombytes_buf_deterministic) into 32 bytes of NEXT key plus the pool. The old
//   key is overwritten at once, and every byte handed out is zeroed in the pool, so a later
//   memory disclosure reveals nothing already used.
// - The key is seeded from the kernel (getrandom via libsodium) and re-seeded every
//   kReseedEvery refills.
// - fork(): the pool lives in its own pages marked MADV_WIPEONFORK, so a child process sees them
//   zeroed and seeds afresh; parent and child never share a stream. If the kernel refuses
//   MADV_WIPEONFORK (older than 4.14), or the pages cannot be mapped, every call goes to the
//   kernel as before.
// - Requests larger than the pool (none on the request path) go to the kernel directly.
#include <sodium.h>
#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "crypto/crypto.h"

namespace sessionkit::crypto {

namespace {

constexpr std::size_t kPoolBytes = 512;
constexpr unsigned kReseedEvery = 64;  // refills: a fresh kernel seed every 32 KiB

struct Pool {
  std::uint32_t seeded;  // 0 in fresh and wiped-on-fork pages: seed before use
  std::uint32_t refills;
  std::uint32_t pos;
  std::array<std::uint8_t, 32> key;
  std::array<std::uint8_t, kPoolBytes> bytes;
};

// The calling thread's pool, mapped on first use; nullptr when it cannot be had safely.
class PoolPage {
 public:
  PoolPage() {
    void* p =
        mmap(nullptr, sizeof(Pool), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    if (madvise(p, sizeof(Pool), MADV_WIPEONFORK) != 0) {
      munmap(p, sizeof(Pool));
      return;
    }
    pool_ = static_cast<Pool*>(p);  // zero-filled: not seeded yet
  }
  ~PoolPage() {
    if (pool_ == nullptr) return;
    sodium_memzero(pool_, sizeof(Pool));
    munmap(pool_, sizeof(Pool));
    pool_ = nullptr;  // a call from a later thread-exit destructor goes to the kernel
  }
  PoolPage(const PoolPage&) = delete;
  PoolPage& operator=(const PoolPage&) = delete;
  Pool* get() const noexcept { return pool_; }

 private:
  Pool* pool_ = nullptr;
};

void refill(Pool& p) {
  if (p.seeded == 0 || p.refills >= kReseedEvery) {
    randombytes_buf(p.key.data(), p.key.size());
    p.seeded = 1;
    p.refills = 0;
  }
  std::array<std::uint8_t, 32 + kPoolBytes> out;
  randombytes_buf_deterministic(out.data(), out.size(), p.key.data());
  std::memcpy(p.key.data(), out.data(), p.key.size());  // the old key is gone
  std::memcpy(p.bytes.data(), out.data() + p.key.size(), p.bytes.size());
  sodium_memzero(out.data(), out.size());
  p.pos = 0;
  ++p.refills;
}

}  // namespace

void random_bytes(std::span<std::uint8_t> out) {
  init();
  thread_local PoolPage page;
  Pool* p = page.get();
  if (p == nullptr || out.size() > kPoolBytes) {
    randombytes_buf(out.data(), out.size());
    return;
  }
  if (p->seeded == 0) p->pos = kPoolBytes;  // a fresh or wiped (forked) page: seed first
  while (!out.empty()) {
    if (p->pos >= kPoolBytes) refill(*p);
    const std::size_t n = std::min<std::size_t>(out.size(), kPoolBytes - p->pos);
    std::memcpy(out.data(), p->bytes.data() + p->pos, n);
    sodium_memzero(p->bytes.data() + p->pos, n);  // handed out: not kept
    p->pos += static_cast<std::uint32_t>(n);
    out = out.subspan(n);
  }
}

}  // namespace sessionkit::crypto
