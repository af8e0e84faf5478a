// fan_in.h — joins N concurrent asynchronous results into one (internal; used by the manager and
// the stores whenever one operation fans out into several store calls).
//
// `FanIn<T>::start(n, done)` answers a shared handle; each of the n completions calls
// `put(i, result)` exactly once, from any thread. `done` runs exactly once, on the thread of the
// last `put`: with every value in index order, or with the first error reported. It always waits
// for all n, so nothing the operation started is still running when `done` runs. n = 0 runs
// `done` at once with no values.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "sessionkit/result.h"

namespace sessionkit::detail {

template <class T>
class FanIn {
 public:
  using Done = std::function<void(Result<std::vector<T>>)>;

  static std::shared_ptr<FanIn> start(std::size_t n, Done done) {
    auto fan = std::shared_ptr<FanIn>(new FanIn(n, std::move(done)));
    if (n == 0) fan->finish();
    return fan;
  }

  void put(std::size_t i, Result<T> r) {
    {
      std::lock_guard lock(mutex_);
      if (r.ok()) {
        values_[i] = std::move(r).value();
      } else if (error_.ok()) {
        error_ = r.status();
      }
      if (--left_ != 0) return;
    }
    finish();
  }

 private:
  FanIn(std::size_t n, Done done) : values_(n), left_(n), done_(std::move(done)) {}

  // Runs once: after the last put (no other thread touches the state any more) or at start.
  void finish() {
    Done done = std::move(done_);
    if (!error_.ok()) return done(std::move(error_));
    done(std::move(values_));
  }

  std::mutex mutex_;
  std::vector<T> values_;
  std::size_t left_;
  Status error_;
  Done done_;
};

}  // namespace sessionkit::detail
