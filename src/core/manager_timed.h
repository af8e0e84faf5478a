// SessionManager::timed: wraps a store call's completion to record its latency and errors.
#pragma once

#include <chrono>
#include <utility>

#include "sessionkit/manager.h"
#include "sessionkit/metrics.h"

namespace sessionkit {

template <class T, class F>
Callback<T> SessionManager::timed(F&& f) const {
  // A raw Metrics pointer, not a shared_ptr copy: the manager outlives its store calls, and a
  // copy would be two atomic reference-count updates per call.
  return [metrics = metrics_.get(), start = std::chrono::steady_clock::now(),
          f = std::forward<F>(f)](Result<T> r) mutable {
    metrics->store_latency.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    if (r.is_unavailable()) metrics->store_errors.fetch_add(1, std::memory_order_relaxed);
    f(std::move(r));
  };
}

}  // namespace sessionkit
