// Internal to the PostgreSQL store: the worker threads and their job queue. A call of the store
// becomes a Job on a bounded queue; `pool_size` workers, each owning one Connection (opened on
// first need, replaced when it breaks, at most one reconnect attempt per reconnect_interval
// store-wide while the server is unreachable), take jobs in order and run them with the store's
// clock read just before, or fail them ("store closed", queue full, queue_timeout passed, no
// connection). Every job is answered exactly once, through stores::answer. Not installed.
//
// Thread safety: `submit` and `close` may be called from any thread (close also from a worker:
// that worker then finishes by itself). The pool is shared by its owner and its workers, so a
// worker whose callback dropped the last owner can still finish its loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "stores/completion.h"
#include "stores/postgres/postgres_connection.h"

namespace sessionkit::postgres_detail {

inline constexpr std::string_view kStoreName = "postgres";

using Steady = std::chrono::steady_clock;

// One queued operation: `run` executes it on a worker's connection and answers; `fail` answers
// without running it. Exactly one of the two is called, once.
class Job {
 public:
  Job() : enqueued(Steady::now()) {}
  virtual ~Job() = default;
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  // `now`: the store's clock (ms since the epoch), for the statements' now() parameters.
  virtual void run(Connection& c, std::int64_t now) noexcept = 0;
  virtual void fail(Status status) noexcept = 0;

  const Steady::time_point enqueued;
};

// `body(connection, now)` computes the Result<T> (stores::complete: exceptions answer
// `unavailable`).
template <class T, class Body>
class JobOf final : public Job {
 public:
  JobOf(Callback<T>& done, Body body) : done_(std::move(done)), body_(std::move(body)) {}
  void run(Connection& c, std::int64_t now) noexcept override {
    stores::complete<T>(kStoreName, done_, [&] { return body_(c, now); });
  }
  void fail(Status status) noexcept override {
    stores::answer(done_, Result<T>(std::move(status)));
  }

 private:
  Callback<T> done_;
  Body body_;
};

class WorkerPool : public std::enable_shared_from_this<WorkerPool> {
 public:
  explicit WorkerPool(Settings s);
  virtual ~WorkerPool() = default;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  const Settings settings;
  const Clock* const clock;

  // Starts pool_size workers; the first gets `first` (the connection open() used).
  Status start(std::unique_ptr<Connection> first);

  // Queues `body` (see JobOf), taking `done` over; answers at once when the queue is full or
  // the store closing.
  template <class T, class Body>
  void submit(Callback<T>& done, Body&& body) noexcept {
    std::unique_ptr<Job> job;
    try {
      job = std::make_unique<JobOf<T, std::decay_t<Body>>>(done, std::forward<Body>(body));
    } catch (...) {
      stores::answer(done, Result<T>(errc::unavailable, "postgres store: out of memory"));
      return;
    }
    enqueue(std::move(job));
  }

  // Answers queued operations "store closed", lets running ones finish, joins the workers
  // (except the calling thread, if it is one: it finishes by itself).
  void close() noexcept;

 private:
  void enqueue(std::unique_ptr<Job> job) noexcept;
  void work(std::unique_ptr<Connection> conn) noexcept;
  Status ensure(std::unique_ptr<Connection>& conn) noexcept;

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<Job>> queue_;
  bool closing_ = false;
  Steady::time_point retry_after_{};
  std::string last_error_;
  std::vector<std::thread> workers_;
};

}  // namespace sessionkit::postgres_detail
