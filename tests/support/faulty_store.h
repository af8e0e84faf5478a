// Test support: a SessionStore decorator that can be told to fail every call with
// errc::unavailable (a store that went away), counts the calls it forwards, and can hold
// list_user calls back until released (to interleave two requests deterministically).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "sessionkit/store.h"

namespace sessionkit::testing {

class FaultyStore final : public SessionStore {
 public:
  explicit FaultyStore(std::shared_ptr<SessionStore> inner) : inner_(std::move(inner)) {}

  void set_failing(bool failing) { failing_ = failing; }
  // Fail only destroy and list_user calls (the paths behind binding refusal and the cap).
  void set_failing_destroy(bool failing) { failing_destroy_ = failing; }
  // While holding, list_user (or patch_if: compare-and-swap races) calls wait; held() counts
  // them and release_held() forwards them all, in order.
  void hold_list_user(bool hold) { holding_list_ = hold; }
  void hold_patch_if(bool hold) { holding_patch_if_ = hold; }
  // Fail only patch_if (a compare-and-swap after a load that worked: a store lost mid-rotation).
  void set_failing_patch_if(bool failing) { failing_patch_if_ = failing; }
  // Forward patch_if, then answer errc::unavailable whatever the store did: the write happened
  // but its answer was lost on the way back (a timeout after the server applied it).
  void set_losing_patch_if_answers(bool losing) { losing_patch_if_answers_ = losing; }
  std::size_t held() {
    std::lock_guard lock(held_mutex_);
    return held_.size();
  }
  void release_held() {
    std::vector<std::function<void()>> held;
    {
      std::lock_guard lock(held_mutex_);
      held.swap(held_);
    }
    for (auto& call : held)
      call();
  }
  std::size_t calls() const { return calls_; }
  std::size_t writes() const { return writes_; }

  std::string_view name() const noexcept override { return "faulty"; }

  void load(const SessionKey& k, std::optional<TouchSpec> t,
            Callback<std::optional<SessionRecord>> d) override {
    if (fail(d)) return;
    if (!t) return inner_->load(k, t, std::move(d));
    // A (lazy) touch is a write when it refreshed the record: its access time is now the
    // touch's. A record created in that same millisecond has it too without any touch (a
    // touch is never due at creation), so it does not count.
    inner_->load(
        k, t,
        [this, at = t->last_access, d = std::move(d)](Result<std::optional<SessionRecord>> r) {
          if (r.ok() && r->has_value() && (*r)->last_access == at && (*r)->created_at != at)
            ++writes_;
          d(std::move(r));
        });
  }
  void create(const SessionKey& k, const SessionRecord& r, Callback<void> d) override {
    if (fail(d)) return;
    ++writes_;
    inner_->create(k, r, std::move(d));
  }
  void patch(const SessionKey& k, const SessionPatch& p, Callback<void> d) override {
    if (fail(d)) return;
    ++writes_;
    inner_->patch(k, p, std::move(d));
  }
  void patch_if(const SessionKey& k, const PayloadCondition& c, const SessionPatch& p,
                Callback<void> d) override {
    if (fail(d)) return;
    if (failing_patch_if_) return d(Status(errc::unavailable, "injected fault: patch_if fails"));
    ++writes_;
    if (losing_patch_if_answers_) {
      return inner_->patch_if(k, c, p, [d = std::move(d)](Status) {
        d(Status(errc::timeout, "injected fault: the answer was lost"));
      });
    }
    if (holding_patch_if_) {
      std::lock_guard lock(held_mutex_);
      held_.push_back(
          [this, k, c, p, d = std::move(d)]() mutable { inner_->patch_if(k, c, p, std::move(d)); });
      return;
    }
    inner_->patch_if(k, c, p, std::move(d));
  }
  void increment(const SessionKey& k, const std::string& f, std::int64_t delta,
                 std::optional<TouchSpec> t, Callback<std::int64_t> d) override {
    if (fail(d)) return;
    ++writes_;
    inner_->increment(k, f, delta, t, std::move(d));
  }
  void replace(const SessionKey& k, const SessionRecord& r, Callback<void> d) override {
    if (fail(d)) return;
    ++writes_;
    inner_->replace(k, r, std::move(d));
  }
  void touch(const SessionKey& k, TouchSpec t, Callback<void> d) override {
    if (fail(d)) return;
    ++writes_;
    inner_->touch(k, t, std::move(d));
  }
  void destroy(const SessionKey& k, Callback<bool> d) override {
    if (fail(d) || fail_destroy(d)) return;
    ++writes_;
    inner_->destroy(k, std::move(d));
  }
  void list_user(const std::string& u, Callback<std::vector<StoredSession>> d) override {
    if (fail(d) || fail_destroy(d)) return;
    if (holding_list_) {
      std::lock_guard lock(held_mutex_);
      held_.push_back(
          [this, u, d = std::move(d)]() mutable { inner_->list_user(u, std::move(d)); });
      return;
    }
    inner_->list_user(u, std::move(d));
  }
  void destroy_user(const std::string& u, std::optional<SessionKey> keep,
                    Callback<std::size_t> d) override {
    if (fail(d)) return;
    ++writes_;
    inner_->destroy_user(u, keep, std::move(d));
  }
  void count(Callback<std::size_t> d) override {
    if (fail(d)) return;
    inner_->count(std::move(d));
  }
  void scan(const std::string& c, std::size_t limit, Callback<ScanPage> d) override {
    if (fail(d)) return;
    inner_->scan(c, limit, std::move(d));
  }
  void purge_expired(std::size_t limit, Callback<std::size_t> d) override {
    if (fail(d)) return;
    inner_->purge_expired(limit, std::move(d));
  }
  void health(Callback<void> d) override {
    if (fail(d)) return;
    inner_->health(std::move(d));
  }

 private:
  template <class T>
  bool fail(Callback<T>& d) {
    ++calls_;
    if (!failing_) return false;
    d(Status(errc::unavailable, "injected fault: store is down"));
    return true;
  }

  template <class T>
  bool fail_destroy(Callback<T>& d) {
    if (!failing_destroy_) return false;
    d(Status(errc::unavailable, "injected fault: destroy fails"));
    return true;
  }

  std::shared_ptr<SessionStore> inner_;
  std::atomic<bool> failing_{false};
  std::atomic<bool> failing_destroy_{false};
  std::atomic<bool> holding_list_{false};
  std::atomic<bool> holding_patch_if_{false};
  std::atomic<bool> failing_patch_if_{false};
  std::atomic<bool> losing_patch_if_answers_{false};
  std::mutex held_mutex_;
  std::vector<std::function<void()>> held_;
  std::atomic<std::size_t> calls_{0};
  std::atomic<std::size_t> writes_{0};
};

}  // namespace sessionkit::testing
