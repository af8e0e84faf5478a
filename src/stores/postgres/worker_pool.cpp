// The PostgreSQL store's workers (see worker_pool.h): starting them, the queue (bounded, with
// its queue_timeout), closing, and the reconnect throttle that keeps a store whose server is
// down from dialling it once per operation.
#include "stores/postgres/worker_pool.h"

#include <exception>

namespace sessionkit::postgres_detail {

WorkerPool::WorkerPool(Settings s)
    : settings(std::move(s)),
      clock(settings.options.clock ? settings.options.clock : &system_clock()) {}

Status WorkerPool::start(std::unique_ptr<Connection> first) {
  try {
    workers_.reserve(settings.options.pool_size);
    for (std::size_t i = 0; i < settings.options.pool_size; ++i) {
      workers_.emplace_back(
          [self = shared_from_this(), c = i == 0 ? std::move(first) : nullptr]() mutable {
            self->work(std::move(c));
          });
    }
  } catch (const std::exception& e) {
    close();
    return {errc::unavailable, std::string("postgres: cannot start workers: ") + e.what()};
  }
  return {};
}

void WorkerPool::enqueue(std::unique_ptr<Job> job) noexcept {
  const char* refused = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (closing_) {
      refused = "postgres: store closed";
    } else if (queue_.size() >= settings.options.queue_limit) {
      refused = "postgres: too many operations queued (queue_limit)";
    } else {
      try {
        queue_.push_back(std::move(job));  // strong guarantee: `job` intact if this throws
      } catch (...) {
        refused = "postgres store: out of memory";
      }
    }
    // Signalled under the lock: once it is released a worker may run the job, whose callback
    // may drop the store's last owner; that worker then ends and the pool (ready_ with it) is
    // destroyed while this thread, which holds no reference, would still be signalling ready_
    // (TSan: pthread_cond_signal here racing pthread_cond_destroy in ~WorkerPool, in
    // PostgresStoreTest.ACallbackMayDropTheLastOwner).
    if (!refused) ready_.notify_one();
  }
  // `refused` is set only when `job` was not moved, or when push_back threw, which leaves it
  // intact (strong guarantee).
  // NOLINTNEXTLINE(bugprone-use-after-move)
  if (refused) job->fail({errc::unavailable, refused});
}

void WorkerPool::close() noexcept {
  std::deque<std::unique_ptr<Job>> pending;
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    pending.swap(queue_);
  }
  ready_.notify_all();
  for (auto& job : pending)
    job->fail({errc::unavailable, "postgres: store closed"});
  for (auto& t : workers_) {
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else if (t.joinable()) {
      t.join();
    }
  }
}

void WorkerPool::work(std::unique_ptr<Connection> conn) noexcept {
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (closing_) return;  // close() took the queue
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    if (Steady::now() - job->enqueued > settings.options.queue_timeout) {
      job->fail({errc::timeout, "postgres: no free connection within queue_timeout"});
      continue;
    }
    Status ready = ensure(conn);
    if (!ready) {
      job->fail(std::move(ready));
      continue;
    }
    job->run(*conn, to_millis(clock->now()));
    if (conn->broken()) conn.reset();  // the next operation connects anew
  }
}

// A usable connection in `conn`: keeps a healthy one, replaces a dead one. While the server is
// unreachable, one attempt per reconnect_interval (store-wide); in between: unavailable.
Status WorkerPool::ensure(std::unique_ptr<Connection>& conn) noexcept {
  try {
    if (conn && !conn->usable()) conn.reset();
    if (conn) return {};
    {
      std::lock_guard lock(mutex_);
      if (Steady::now() < retry_after_) return {errc::unavailable, last_error_};
    }
    auto fresh = Connection::connect(settings);
    std::lock_guard lock(mutex_);
    if (!fresh) {
      retry_after_ = Steady::now() + settings.options.reconnect_interval;
      last_error_ = fresh.message();
      return fresh.status();
    }
    retry_after_ = {};
    conn = std::move(*fresh);
    return {};
  } catch (const std::exception& e) {
    return {errc::unavailable, std::string("postgres: connect: ") + e.what()};
  }
}

}  // namespace sessionkit::postgres_detail
