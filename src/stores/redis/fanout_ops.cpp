// The Redis store's operations over several keys or servers (see store_impl.h): a user's
// sessions through the user index (list_user, destroy_user), the keyspace walk with SCAN
// (count, scan: scan_cursor.h) and health (PING every master). Parallel calls are joined with
// detail::FanIn (core/fan_in.h), which waits for every reply and answers the first error.
#include <algorithm>
#include <set>
#include <tuple>
#include <utility>

#include "core/fan_in.h"
#include "stores/redis/record_codec.h"
#include "stores/redis/store_impl.h"

namespace sessionkit {

using redis::Reply;
using stores::answer;
using stores::guarded;

void RedisStore::Impl::list_user(const std::string& user,
                                 Callback<std::vector<StoredSession>>&& done) {
  using R = std::vector<StoredSession>;
  if (user.empty()) return answer(done, R{});
  index_members(user, [self = shared_from_this(), user,
                       done = std::move(done)](Result<std::vector<SessionKey>> keys) mutable {
    guarded(kRedisStoreName, done, [&] {
      if (!keys) return answer(done, keys.status());
      self->load_many(std::move(*keys), [user, done = std::move(done)](Result<R> found) mutable {
        stores::complete<R>(kRedisStoreName, done, [&]() -> Result<R> {
          if (!found) return found.status();
          R mine;
          for (auto& s : *found)
            if (s.record.user_id == user) mine.push_back(std::move(s));
          std::sort(mine.begin(), mine.end(), [](const StoredSession& a, const StoredSession& b) {
            return std::tie(a.record.created_at, a.key) < std::tie(b.record.created_at, b.key);
          });
          return mine;
        });
      });
    });
  });
}

void RedisStore::Impl::destroy_user(const std::string& user, std::optional<SessionKey> keep,
                                    Callback<std::size_t>&& done) {
  if (user.empty()) return answer(done, std::size_t{0});
  index_members(user, [self = shared_from_this(), user, keep,
                       done = std::move(done)](Result<std::vector<SessionKey>> keys) mutable {
    guarded(kRedisStoreName, done, [&] {
      if (!keys) return answer(done, keys.status());
      std::vector<SessionKey> victims;
      for (const auto& k : *keys)
        if (!keep || k != *keep) victims.push_back(k);
      if (victims.empty()) return answer(done, std::size_t{0});
      self->destroy_each(user, std::move(victims), std::move(done));
    });
  });
}

// Destroys each of `victims` that is still bound to `user` (one script each, in parallel), then
// drops the destroyed ones from the index; answers how many were unexpired.
void RedisStore::Impl::destroy_each(const std::string& user, std::vector<SessionKey> victims,
                                    Callback<std::size_t>&& done) {
  auto shared_victims = std::make_shared<std::vector<SessionKey>>(std::move(victims));
  std::vector<std::string> names;
  for (const auto& k : *shared_victims)
    names.push_back(session_key(k));
  const std::string t = redis::ms(now());
  auto fan = detail::FanIn<long long>::start(
      names.size(), [self = shared_from_this(), user, shared_victims,
                     done = std::move(done)](Result<std::vector<long long>> all) mutable {
        guarded(kRedisStoreName, done, [&] {
          if (!all) return answer(done, all.status());
          std::size_t live = 0;
          std::vector<std::string> zrem{"ZREM", self->index_key(user)};
          for (std::size_t i = 0; i < all->size(); ++i) {
            if ((*all)[i] == 1) ++live;
            if ((*all)[i] == 1 || (*all)[i] == 2) zrem.push_back((*shared_victims)[i].hex());
          }
          if (zrem.size() == 2) return answer(done, live);
          auto command = redis::make_command(zrem);
          self->client_->execute(
              zrem[1], std::move(command),
              [live, done = std::move(done)](Result<Reply>) mutable { answer(done, live); });
        });
      });
  for (std::size_t i = 0; i < names.size(); ++i) {
    eval(redis::scripts().destroy_if_user, names[i], {t, user}, [fan, i](Result<Reply> r) {
      fan->put(i, stores::attempt<long long>(kRedisStoreName, [&]() -> Result<long long> {
                 if (!r) return r.status();
                 if ((*r)->type != REDIS_REPLY_INTEGER) return redis::reply_status(**r);
                 return (*r)->integer;
               }));
    });
  }
}

// One SCAN step over the session keys of `node` (names that do not parse are skipped).
void RedisStore::Impl::scan_batch(const redis::Endpoint& node, const std::string& cursor,
                                  std::size_t count, Callback<redis::ScanBatch>&& done) {
  auto command =
      redis::make_command({"SCAN", cursor, "MATCH", redis::match_pattern(session_prefix()), "COUNT",
                           std::to_string(count)});
  client_->execute_on(node, command,
                      answering(std::move(done), [prefix = session_prefix()](const redisReply& r) {
                        return redis::read_scan_reply(r, prefix);
                      }));
}

void RedisStore::Impl::count(Callback<std::size_t>&& done) {
  client_->masters([self = shared_from_this(),
                    done = std::move(done)](Result<std::vector<redis::Endpoint>> nodes) mutable {
    guarded(kRedisStoreName, done, [&] {
      if (!nodes) return answer(done, nodes.status());
      auto all = std::make_shared<std::vector<redis::Endpoint>>(std::move(*nodes));
      self->count_from(std::move(all), 0, "0", 0, std::move(done));
    });
  });
}

void RedisStore::Impl::count_from(Endpoints nodes, std::size_t node, const std::string& cursor,
                                  std::size_t total, Callback<std::size_t>&& done) {
  if (node >= nodes->size()) return answer(done, total);
  const redis::Endpoint& server = (*nodes)[node];
  scan_batch(server, cursor, 1000,
             [self = shared_from_this(), nodes, node, total,
              done = std::move(done)](Result<redis::ScanBatch> b) mutable {
               guarded(kRedisStoreName, done, [&] {
                 if (!b) return answer(done, b.status());
                 total += b->keys.size();
                 if (b->next_cursor == "0") {
                   return self->count_from(nodes, node + 1, "0", total, std::move(done));
                 }
                 self->count_from(nodes, node, b->next_cursor, total, std::move(done));
               });
             });
}

void RedisStore::Impl::scan(const std::string& cursor, std::size_t limit,
                            Callback<ScanPage>&& done) {
  if (limit == 0) return answer(done, Result<ScanPage>(errc::invalid_argument, "scan limit is 0"));
  auto parsed = redis::parse_cursor(cursor);
  if (!parsed)
    return answer(done, Result<ScanPage>(errc::invalid_argument, "malformed scan cursor"));
  client_->masters([self = shared_from_this(), c = std::move(*parsed), limit,
                    done = std::move(done)](Result<std::vector<redis::Endpoint>> nodes) mutable {
    guarded(kRedisStoreName, done, [&] {
      if (!nodes) return answer(done, nodes.status());
      if (c.node > nodes->size()) {
        return answer(
            done, Result<ScanPage>(errc::invalid_argument, "scan cursor names an unknown server"));
      }
      auto all = std::make_shared<std::vector<redis::Endpoint>>(std::move(*nodes));
      self->scan_step(std::move(all), std::move(c), limit, std::move(done));
    });
  });
}

// Fills `c.pending` with SCAN batches until it holds `limit` keys or every server is done, then
// loads the first `limit` of them and keeps the rest in the next cursor.
void RedisStore::Impl::scan_step(Endpoints nodes, redis::ScanCursor c, std::size_t limit,
                                 Callback<ScanPage>&& done) {
  if (c.pending.size() < limit && c.node < nodes->size()) {
    const redis::Endpoint& node = (*nodes)[c.node];
    const std::string start = c.redis_cursor;
    return scan_batch(node, start, std::clamp<std::size_t>(limit, 10, 1000),
                      [self = shared_from_this(), nodes, c = std::move(c), limit,
                       done = std::move(done)](Result<redis::ScanBatch> b) mutable {
                        guarded(kRedisStoreName, done, [&] {
                          if (!b) return answer(done, b.status());
                          std::set<SessionKey> seen(c.pending.begin(), c.pending.end());
                          for (const auto& k : b->keys)
                            if (seen.insert(k).second) c.pending.push_back(k);
                          c.redis_cursor = std::move(b->next_cursor);
                          if (c.redis_cursor == "0") ++c.node;
                          self->scan_step(nodes, std::move(c), limit, std::move(done));
                        });
                      });
  }
  const std::size_t take = std::min(limit, c.pending.size());
  std::vector<SessionKey> now_keys(c.pending.begin(),
                                   c.pending.begin() + static_cast<std::ptrdiff_t>(take));
  c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(take));
  std::string next;
  if (!c.pending.empty() || c.node < nodes->size()) next = redis::format_cursor(c);
  load_many(std::move(now_keys), [next = std::move(next), done = std::move(done)](
                                     Result<std::vector<StoredSession>> found) mutable {
    stores::complete<ScanPage>(kRedisStoreName, done, [&]() -> Result<ScanPage> {
      if (!found) return found.status();
      return ScanPage{std::move(*found), std::move(next)};
    });
  });
}

void RedisStore::Impl::health(Callback<void>&& done) {
  client_->masters([self = shared_from_this(),
                    done = std::move(done)](Result<std::vector<redis::Endpoint>> nodes) mutable {
    guarded(kRedisStoreName, done, [&] {
      if (!nodes) return answer(done, nodes.status());
      auto fan = detail::FanIn<int>::start(
          nodes->size(), [done = std::move(done)](const Result<std::vector<int>>& all) mutable {
            answer(done, all.status());
          });
      for (std::size_t i = 0; i < nodes->size(); ++i) {
        self->client_->execute_on(
            (*nodes)[i], redis::make_command({"PING"}), [fan, i](Result<Reply> r) {
              fan->put(i, stores::attempt<int>(kRedisStoreName, [&]() -> Result<int> {
                         if (!r) return r.status();
                         if ((*r)->type != REDIS_REPLY_STATUS || redis::text(**r) != "PONG") {
                           return redis::reply_status(**r);
                         }
                         return 1;
                       }));
            });
      }
    });
  });
}

}  // namespace sessionkit
