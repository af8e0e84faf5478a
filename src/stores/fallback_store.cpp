// FallbackStore: a primary store that reads through to the store the apps are leaving. The
// rules are in include/sessionkit/stores/fallback.h.
#include "sessionkit/stores/fallback.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "core/fan_in.h"
#include "stores/completion.h"

namespace sessionkit {

using stores::answer;

std::shared_ptr<FallbackStore> FallbackStore::wrap(std::shared_ptr<SessionStore> primary,
                                                   std::shared_ptr<SessionStore> fallback) {
  if (!primary || !fallback) throw std::invalid_argument("FallbackStore: a store is missing");
  if (primary == fallback) {
    throw std::invalid_argument("FallbackStore: the primary and the fallback are one store");
  }
  return std::shared_ptr<FallbackStore>(new FallbackStore(std::move(primary), std::move(fallback)));
}

FallbackStore::FallbackStore(std::shared_ptr<SessionStore> primary,
                             std::shared_ptr<SessionStore> fallback)
    : primary_(std::move(primary)), fallback_(std::move(fallback)) {}

void FallbackStore::copy_in(const SessionKey& key, Callback<bool> done) {
  auto self = shared_from_this();
  fallback_->load(
      key, std::nullopt,
      [self, key, done = std::move(done)](Result<std::optional<SessionRecord>> r) mutable {
        if (!r.ok()) return answer(done, r.status());
        if (!r->has_value()) return answer(done, false);
        self->primary_->create(key, **r, [self, done = std::move(done)](const Status& st) mutable {
          if (st.ok()) {
            ++self->copied_;
            return answer(done, true);
          }
          // conflict: another request (or instance, or sessionctl migrate) copied it first.
          if (st.code() == errc::conflict) return answer(done, true);
          answer(done, st);
        });
      });
}

template <class T>
void FallbackStore::on_primary(const SessionKey& key, std::function<void(Callback<T>)> op,
                               Callback<T> done) {
  auto self = shared_from_this();
  auto first = [self, key, op, done = std::move(done)](Result<T> r) mutable {
    if (r.ok() || r.code() != errc::not_found) return answer(done, std::move(r));
    self->copy_in(key, [op = std::move(op), done = std::move(done),
                        missing = Status(r.code(), r.message())](Result<bool> in) mutable {
      if (!in.ok()) return answer(done, in.status());
      if (!*in) return answer(done, Result<T>(missing));  // in neither store
      op(std::move(done));
    });
  };
  op(std::move(first));
}

void FallbackStore::load(const SessionKey& key, std::optional<TouchSpec> touch,
                         Callback<std::optional<SessionRecord>> done) {
  auto self = shared_from_this();
  primary_->load(
      key, touch,
      [self, key, touch, done = std::move(done)](Result<std::optional<SessionRecord>> r) mutable {
        if (!r.ok() || r->has_value()) return answer(done, std::move(r));
        self->copy_in(key, [self, key, touch, done = std::move(done)](Result<bool> in) mutable {
          if (!in.ok()) return answer(done, in.status());
          if (!*in) return answer(done, std::optional<SessionRecord>());
          self->primary_->load(key, touch, std::move(done));
        });
      });
}

void FallbackStore::create(const SessionKey& key, const SessionRecord& record,
                           Callback<void> done) {
  primary_->create(key, record, std::move(done));
}

void FallbackStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  auto p = primary_;
  on_primary<void>(
      key, [p, key, patch](Callback<void> d) { p->patch(key, patch, std::move(d)); },
      std::move(done));
}

void FallbackStore::patch_if(const SessionKey& key, const PayloadCondition& condition,
                             const SessionPatch& patch, Callback<void> done) {
  auto p = primary_;
  on_primary<void>(
      key,
      [p, key, condition, patch](Callback<void> d) {
        p->patch_if(key, condition, patch, std::move(d));
      },
      std::move(done));
}

void FallbackStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                              std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  auto p = primary_;
  on_primary<std::int64_t>(
      key,
      [p, key, field, delta, touch](Callback<std::int64_t> d) {
        p->increment(key, field, delta, touch, std::move(d));
      },
      std::move(done));
}

void FallbackStore::replace(const SessionKey& key, const SessionRecord& record,
                            Callback<void> done) {
  auto p = primary_;
  on_primary<void>(
      key, [p, key, record](Callback<void> d) { p->replace(key, record, std::move(d)); },
      std::move(done));
}

void FallbackStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  auto p = primary_;
  on_primary<void>(
      key, [p, key, touch](Callback<void> d) { p->touch(key, touch, std::move(d)); },
      std::move(done));
}

void FallbackStore::destroy(const SessionKey& key, Callback<bool> done) {
  auto self = shared_from_this();
  // The fallback first: see the header (a concurrent migrate never undoes a logout).
  fallback_->destroy(key, [self, key, done = std::move(done)](Result<bool> old) mutable {
    self->primary_->destroy(
        key, [old = std::move(old), done = std::move(done)](Result<bool> now) mutable {
          if (!old.ok()) return answer(done, old.status());
          if (!now.ok()) return answer(done, now.status());
          answer(done, *old || *now);
        });
  });
}

void FallbackStore::list_user(const std::string& user_id,
                              Callback<std::vector<StoredSession>> done) {
  auto self = shared_from_this();
  primary_->list_user(user_id, [self, user_id, done = std::move(done)](
                                   Result<std::vector<StoredSession>> mine) mutable {
    if (!mine.ok()) return answer(done, std::move(mine));
    self->fallback_->list_user(user_id, [mine = std::move(mine).value(), done = std::move(done)](
                                            Result<std::vector<StoredSession>> old) mutable {
      if (!old.ok()) return answer(done, std::move(old));
      std::unordered_set<SessionKey, SessionKeyHash> seen;
      for (const StoredSession& s : mine)
        seen.insert(s.key);
      for (StoredSession& s : *old) {
        if (!seen.contains(s.key)) mine.push_back(std::move(s));
      }
      answer(done, std::move(mine));
    });
  });
}

void FallbackStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                                 Callback<std::size_t> done) {
  if (user_id.empty()) return answer(done, std::size_t{0});
  auto self = shared_from_this();
  // Both stores' sessions of the user: each is destroyed in the fallback first, by key (the
  // fallback's copy of a session the primary binds to the user may name no user, or another);
  // then the primary's, as destroy does.
  list_user(user_id, [self, user_id, keep,
                      done = std::move(done)](Result<std::vector<StoredSession>> all) mutable {
    if (!all.ok()) return answer(done, all.status());
    std::vector<SessionKey> ending;
    for (const StoredSession& s : *all) {
      if (!keep || s.key != *keep) ending.push_back(s.key);
    }
    const std::size_t n = ending.size();
    auto fan = detail::FanIn<bool>::start(n, [self, user_id, keep, n, done = std::move(done)](
                                                 const Result<std::vector<bool>>& old) mutable {
      if (!old.ok()) return answer(done, old.status());
      self->primary_->destroy_user(user_id, keep,
                                   [n, done = std::move(done)](Result<std::size_t> r) mutable {
                                     if (!r.ok()) return answer(done, std::move(r));
                                     answer(done, std::max(n, *r));
                                   });
    });
    for (std::size_t i = 0; i < n; ++i) {
      self->fallback_->destroy(ending[i], [fan, i](Result<bool> r) { fan->put(i, std::move(r)); });
    }
  });
}

void FallbackStore::count(Callback<std::size_t> done) {
  primary_->count(std::move(done));
}

void FallbackStore::scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
  primary_->scan(cursor, limit, std::move(done));
}

void FallbackStore::purge_expired(std::size_t limit, Callback<std::size_t> done) {
  auto self = shared_from_this();
  primary_->purge_expired(
      limit, [self, limit, done = std::move(done)](Result<std::size_t> mine) mutable {
        if (!mine.ok()) return answer(done, std::move(mine));
        self->fallback_->purge_expired(
            limit, [n = *mine, done = std::move(done)](Result<std::size_t> old) mutable {
              if (!old.ok()) return answer(done, std::move(old));
              answer(done, n + *old);
            });
      });
}

void FallbackStore::health(Callback<void> done) {
  auto self = shared_from_this();
  primary_->health([self, done = std::move(done)](const Status& st) mutable {
    if (!st.ok()) return answer(done, st);
    self->fallback_->health(std::move(done));
  });
}

}  // namespace sessionkit
