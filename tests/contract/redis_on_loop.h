// Test support: a RedisStore used the way an app server with one event loop per thread uses it
// (RedisStore::attach). `OnLoopStore` owns an io_context run by one thread, attaches the store
// to it, and forwards every call by posting it onto that loop, so each store call is made on the
// attached loop's thread. It checks that every callback then runs on that same thread (without
// the attachment they would run on the store's own I/O thread) and reports any that did not.
// With it the whole conformance suite runs in attached mode.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <thread>

#include "sessionkit/stores/redis.h"

namespace sessionkit::testing {

class OnLoopStore final : public SessionStore {
 public:
  explicit OnLoopStore(std::shared_ptr<RedisStore> inner)
      : inner_(std::move(inner)), work_(loop_.get_executor()) {
    attachment_ = inner_->attach(loop_);
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~OnLoopStore() override {
    attachment_.reset();  // closes the loop's connections; their last handlers run on the loop
    work_.reset();
    boost::asio::post(loop_, [this] { loop_.stop(); });
    thread_.join();
    EXPECT_EQ(off_loop_.load(), 0U) << "callbacks of calls made on the attached loop ran elsewhere";
  }
  OnLoopStore(const OnLoopStore&) = delete;
  OnLoopStore& operator=(const OnLoopStore&) = delete;

  std::string_view name() const noexcept override { return inner_->name(); }
  bool count_is_expensive() const noexcept override { return inner_->count_is_expensive(); }

  void load(const SessionKey& k, std::optional<TouchSpec> t,
            Callback<std::optional<SessionRecord>> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable { inner_->load(k, t, std::move(d)); });
  }
  void create(const SessionKey& k, const SessionRecord& r, Callback<void> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable { inner_->create(k, r, std::move(d)); });
  }
  void patch(const SessionKey& k, const SessionPatch& p, Callback<void> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable { inner_->patch(k, p, std::move(d)); });
  }
  void patch_if(const SessionKey& k, const PayloadCondition& c, const SessionPatch& p,
                Callback<void> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable {
      inner_->patch_if(k, c, p, std::move(d));
    });
  }
  void increment(const SessionKey& k, const std::string& f, std::int64_t delta,
                 std::optional<TouchSpec> t, Callback<std::int64_t> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable {
      inner_->increment(k, f, delta, t, std::move(d));
    });
  }
  void replace(const SessionKey& k, const SessionRecord& r, Callback<void> d) override {
    on_loop(
        [=, this, d = checked(std::move(d))]() mutable { inner_->replace(k, r, std::move(d)); });
  }
  void touch(const SessionKey& k, TouchSpec t, Callback<void> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable { inner_->touch(k, t, std::move(d)); });
  }
  void destroy(const SessionKey& k, Callback<bool> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable { inner_->destroy(k, std::move(d)); });
  }
  void list_user(const std::string& u, Callback<std::vector<StoredSession>> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable { inner_->list_user(u, std::move(d)); });
  }
  void destroy_user(const std::string& u, std::optional<SessionKey> keep,
                    Callback<std::size_t> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable {
      inner_->destroy_user(u, keep, std::move(d));
    });
  }
  void count(Callback<std::size_t> d) override {
    on_loop([this, d = checked(std::move(d))]() mutable { inner_->count(std::move(d)); });
  }
  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable {
      inner_->scan(cursor, limit, std::move(d));
    });
  }
  void purge_expired(std::size_t limit, Callback<std::size_t> d) override {
    on_loop([=, this, d = checked(std::move(d))]() mutable {
      inner_->purge_expired(limit, std::move(d));
    });
  }
  void health(Callback<void> d) override {
    on_loop([this, d = checked(std::move(d))]() mutable { inner_->health(std::move(d)); });
  }

  RedisStore& inner() { return *inner_; }
  boost::asio::io_context& loop() { return loop_; }

 private:
  template <class F>
  void on_loop(F&& f) {
    boost::asio::post(loop_, std::forward<F>(f));
  }
  // `d`, counting whether it runs on the loop's thread.
  template <class T>
  Callback<T> checked(Callback<T> d) {
    return [this, d = std::move(d)](Result<T> r) {
      if (loop_.get_executor().running_in_this_thread()) {
        ++on_loop_;
      } else {
        ++off_loop_;
      }
      d(std::move(r));
    };
  }

  std::shared_ptr<RedisStore> inner_;
  boost::asio::io_context loop_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<void> attachment_;
  std::thread thread_;
  std::atomic<std::size_t> on_loop_{0};
  std::atomic<std::size_t> off_loop_{0};
};

}  // namespace sessionkit::testing
