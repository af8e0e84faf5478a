// redis_store_bench — the Redis store alone, without HTTP (issue 19): loads per second and their
// latency with 1, 8 and 64 loads in flight, and heap allocations per load (every malloc, calloc
// and realloc in the process, C++'s operator new and hiredis' reader alike, the store's I/O
// thread included, divided by the loads done).
//
//   redis_store_bench URL [SECONDS] [IN_FLIGHT...]      (bench/redis_store.sh starts a Redis)
//
// Each in-flight level: 1,024 sessions created first (10 payload fields, like a signed-in demo
// session), then SECONDS of loads without a touch: every completion starts the next load of
// another session, so exactly IN_FLIGHT loads are outstanding. Prints one line per level:
// in_flight, loads/s, p50 and p99 latency in µs, allocations per load.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sessionkit/record.h"
#include "sessionkit/session_id.h"
#include "sessionkit/store.h"
#include "sessionkit/stores/url.h"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

// Counts every heap allocation of the process: glibc's malloc family, interposed by this
// executable (libstdc++'s operator new and the shared libraries call these), forwarding to
// glibc's own entry points.
extern "C" {
void* __libc_malloc(std::size_t);               // NOLINT(bugprone-reserved-identifier)
void* __libc_calloc(std::size_t, std::size_t);  // NOLINT(bugprone-reserved-identifier)
void* __libc_realloc(void*, std::size_t);       // NOLINT(bugprone-reserved-identifier)
void* malloc(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
}

namespace {

namespace sk = sessionkit;
using Clock = std::chrono::steady_clock;

struct Level {
  unsigned in_flight;
  double per_second;
  double p50_us;
  double p99_us;
  double allocations_per_load;
};

class Run {
 public:
  Run(sk::SessionStore& store, const std::vector<sk::SessionKey>& keys, unsigned in_flight)
      : store_(store), keys_(keys), in_flight_(in_flight) {
    latencies_.reserve(1 << 22);
  }

  Level measure(std::chrono::seconds duration) {
    const std::uint64_t allocations_before = g_allocations.load();
    const auto began = Clock::now();
    for (unsigned i = 0; i < in_flight_; ++i)
      start(i);
    std::this_thread::sleep_for(duration);
    stop_.store(true);
    {
      std::unique_lock lock(mu_);
      drained_.wait(lock, [&] { return outstanding_ == 0; });
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - began).count();
    const std::uint64_t allocations = g_allocations.load() - allocations_before;
    std::lock_guard lock(mu_);
    std::sort(latencies_.begin(), latencies_.end());
    const auto at = [&](double q) {
      return latencies_.empty() ? 0.0
                                : latencies_[static_cast<std::size_t>(
                                      q * static_cast<double>(latencies_.size() - 1))];
    };
    return Level{
        .in_flight = in_flight_,
        .per_second = static_cast<double>(done_) / seconds,
        .p50_us = at(0.50),
        .p99_us = at(0.99),
        .allocations_per_load =
            done_ == 0 ? 0.0 : static_cast<double>(allocations) / static_cast<double>(done_)};
  }

 private:
  void start(std::size_t slot) {
    {
      std::lock_guard lock(mu_);
      ++outstanding_;
    }
    const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed) % keys_.size();
    const auto t0 = Clock::now();
    store_.load(
        keys_[i], std::nullopt, [this, slot, t0](sk::Result<std::optional<sk::SessionRecord>> r) {
          const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
          if (!r || !*r) {
            std::fprintf(stderr, "load failed: %s\n",
                         r ? "missing" : r.status().to_string().c_str());
            std::abort();
          }
          bool again = false;
          {
            std::lock_guard lock(mu_);
            latencies_.push_back(us);
            ++done_;
            --outstanding_;
            again = !stop_.load();
            if (outstanding_ == 0 && !again) drained_.notify_all();
          }
          if (again) start(slot);
        });
  }

  sk::SessionStore& store_;
  const std::vector<sk::SessionKey>& keys_;
  const unsigned in_flight_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> next_{0};
  std::mutex mu_;
  std::condition_variable drained_;
  std::size_t outstanding_ = 0;
  std::uint64_t done_ = 0;
  std::vector<double> latencies_;
};

// Runs one store call to completion; exits on failure (setup and cleanup only).
template <class T>
void wait_for(const std::function<void(sk::Callback<T>)>& start) {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<sk::Result<T>> out;
  start([&](sk::Result<T> r) {
    std::lock_guard lock(mu);
    out.emplace(std::move(r));
    cv.notify_all();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return out.has_value(); });
  if (!*out) {
    std::fprintf(stderr, "setup failed: %s\n", out->message().c_str());
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s STORE_URL [SECONDS] [IN_FLIGHT...]\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1];
  const auto seconds = std::chrono::seconds(argc > 2 ? std::atoi(argv[2]) : 5);
  std::vector<unsigned> levels;
  for (int i = 3; i < argc; ++i)
    levels.push_back(static_cast<unsigned>(std::atoi(argv[i])));
  if (levels.empty()) levels = {1, 8, 64};

  auto opened = sk::open_store_url(url);
  if (!opened || !opened->store) {
    std::fprintf(stderr, "cannot open %s\n", url.c_str());
    return 1;
  }
  sk::SessionStore& store = *opened->store;

  std::vector<sk::SessionKey> keys;
  const sk::Time now = sk::system_clock().now();
  for (int i = 0; i < 1024; ++i) {
    sk::SessionRecord r;
    r.start(now, std::chrono::hours(1), std::chrono::hours(12));
    r.user_id = "bench-user-" + std::to_string(i);
    for (int f = 0; f < 10; ++f)
      r.data["field" + std::to_string(f)] = "value number " + std::to_string(f * i);
    const sk::SessionKey key = sk::SessionKey::of(sk::SessionId::generate());
    wait_for<void>([&](sk::Callback<void> done) { store.create(key, r, std::move(done)); });
    keys.push_back(key);
  }

  std::printf("| in flight | loads/s | p50 µs | p99 µs | allocations/load |\n");
  std::printf("| ---: | ---: | ---: | ---: | ---: |\n");
  for (unsigned k : levels) {
    Run run(store, keys, k);
    const Level l = run.measure(seconds);
    std::printf("| %u | %.0f | %.1f | %.1f | %.1f |\n", l.in_flight, l.per_second, l.p50_us,
                l.p99_us, l.allocations_per_load);
    std::fflush(stdout);
  }
  for (const sk::SessionKey& key : keys)
    wait_for<bool>([&](sk::Callback<bool> done) { store.destroy(key, std::move(done)); });
  return 0;
}
