// The Redis store's front (see sessionkit/stores/redis.h and store_impl.h): option checks and
// open, the public entry points, each running its operation under stores::guarded so that no
// exception leaves the store, and the plumbing the operations share (scripts with their EVAL
// fallback, plain keyed commands, the user index, loading many keys).
#include "sessionkit/stores/redis.h"

#include <algorithm>
#include <future>
#include <utility>

#include "core/fan_in.h"
#include "stores/redis/record_codec.h"
#include "stores/redis/store_impl.h"

namespace sessionkit {

using redis::Command;
using redis::Reply;
using stores::answer;
using stores::guarded;

RedisStore::Impl::Impl(RedisStoreOptions options, std::shared_ptr<redis::Client> client)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &system_clock()),
      client_(std::move(client)) {}

void RedisStore::Impl::eval(const redis::Script& script, const std::string& key,
                            std::vector<std::string> args, redis::ReplyHandler done) {
  std::vector<std::string> cmd;
  cmd.reserve(args.size() + 4);
  cmd.insert(cmd.end(), {"EVALSHA", script.sha1, "1", key});
  cmd.insert(cmd.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  Command wire = redis::make_command(cmd);
  client_->execute(key, std::move(wire),
                   [self = shared_from_this(), &script, cmd = std::move(cmd),
                    done = std::move(done)](Result<Reply> r) mutable {
                     if (r && redis::is_error(**r) && redis::text(**r).substr(0, 8) == "NOSCRIPT") {
                       return guarded(kRedisStoreName, done, [&] {
                         cmd[0] = "EVAL";
                         cmd[1] = std::string(script.body);
                         const std::string key = cmd[3];
                         Command fallback = redis::make_command(cmd);
                         self->client_->execute(key, std::move(fallback), std::move(done));
                       });
                     }
                     answer(done, std::move(r));
                   });
}

void RedisStore::Impl::run(std::initializer_list<std::string_view> args, redis::ReplyHandler done) {
  Command wire = redis::make_command(args);
  client_->execute(*(args.begin() + 1), std::move(wire), std::move(done));
}

void RedisStore::Impl::index_then(const std::string& user, const SessionKey& key, Time absolute,
                                  std::function<void(Status)> next) {
  if (user.empty()) return next({});
  const Time t = now();
  const auto ttl = std::max<std::int64_t>(1, to_millis(absolute) - to_millis(t));
  std::vector<std::string> args{key.hex(), redis::ms(absolute), redis::ms(t), std::to_string(ttl)};
  eval(redis::scripts().index_add, index_key(user), std::move(args),
       answering(std::move(next), [](const redisReply& r) -> Status {
         if (redis::is_error(r)) return redis::reply_status(r);
         return {};
       }));
}

void RedisStore::Impl::index_members(const std::string& user,
                                     Callback<std::vector<SessionKey>>&& done) {
  const std::string name = index_key(user);
  std::vector<std::string> args{redis::ms(now())};
  eval(redis::scripts().index_list, name, std::move(args),
       answering(std::move(done), [](const redisReply& r) -> Result<std::vector<SessionKey>> {
         if (r.type != REDIS_REPLY_ARRAY) return redis::reply_status(r);
         std::vector<SessionKey> keys;
         for (std::size_t i = 0; i < r.elements; ++i)
           if (auto k = SessionKey::from_hex(redis::text(*r.element[i]))) keys.push_back(*k);
         return keys;
       }));
}

void RedisStore::Impl::load_many(std::vector<SessionKey> keys,
                                 Callback<std::vector<StoredSession>>&& done) {
  using Found = std::optional<SessionRecord>;
  if (keys.empty()) return answer(done, std::vector<StoredSession>{});
  const Time t = now();
  auto shared_keys = std::make_shared<std::vector<SessionKey>>(std::move(keys));
  std::vector<std::string> names;
  for (const auto& k : *shared_keys)
    names.push_back(session_key(k));
  auto fan = detail::FanIn<Found>::start(names.size(), [t, shared_keys, done = std::move(done)](
                                                           Result<std::vector<Found>> all) mutable {
    stores::complete<std::vector<StoredSession>>(
        kRedisStoreName, done, [&]() -> Result<std::vector<StoredSession>> {
          if (!all) return all.status();
          std::vector<StoredSession> out;
          for (std::size_t i = 0; i < all->size(); ++i) {
            auto& rec = (*all)[i];
            if (rec && !rec->expired(t)) out.push_back({(*shared_keys)[i], std::move(*rec)});
          }
          return out;
        });
  });
  for (std::size_t i = 0; i < names.size(); ++i) {
    run({"HGETALL", names[i]}, [fan, i](Result<Reply> r) {
      fan->put(i, stores::attempt<Found>(kRedisStoreName, [&]() -> Result<Found> {
                 if (!r) return r.status();
                 auto rec = redis::decode_hash(**r);
                 if (!rec && rec.code() == errc::corrupt)
                   return Found{};  // skipped, as a scan skips it
                 return rec;
               }));
    });
  }
}

Result<std::shared_ptr<RedisStore>> RedisStore::open(RedisStoreOptions options) {
  using R = std::shared_ptr<RedisStore>;
  if (options.nodes.empty()) return Result<R>(errc::invalid_argument, "redis: no server given");
  for (const auto& n : options.nodes)
    if (n.host.empty() || n.port == 0)
      return Result<R>(errc::invalid_argument, "redis: bad server address");
  if (options.connections == 0) return Result<R>(errc::invalid_argument, "redis: connections is 0");
  if (options.cluster && options.database != 0) {
    return Result<R>(errc::invalid_argument, "redis: a cluster has only database 0");
  }
  if (options.key_prefix.find_first_of("{}") != std::string::npos) {
    return Result<R>(errc::invalid_argument, "redis: the key prefix must not contain '{' or '}'");
  }
  if (options.command_timeout.count() <= 0 || options.connect_timeout.count() <= 0) {
    return Result<R>(errc::invalid_argument, "redis: timeouts must be positive");
  }
  auto client = redis::Client::start(options);
  if (!client) return client.status();
  auto impl = std::make_shared<Impl>(std::move(options), std::move(*client));
  std::shared_ptr<RedisStore> store(new RedisStore(impl));
  // Fail early on a wrong address or credentials.
  std::promise<Status> ready;
  auto answered = ready.get_future();
  store->health([&ready](Status s) { ready.set_value(std::move(s)); });
  Status s = answered.get();
  if (!s) return Result<R>(s.code(), s.message());
  return store;
}

RedisStore::RedisStore(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisStore::~RedisStore() {
  impl_->client_->shutdown();
}

std::string_view RedisStore::name() const noexcept {
  return impl_->options_.cluster ? "redis-cluster" : "redis";
}

std::shared_ptr<void> RedisStore::attach(boost::asio::io_context& loop) {
  return impl_->client_->attach(loop);
}

std::string RedisStore::redis_key(const SessionKey& key) const {
  return impl_->session_key(key);
}

void RedisStore::load(const SessionKey& key, std::optional<TouchSpec> touch,
                      Callback<std::optional<SessionRecord>> done) {
  guarded(kRedisStoreName, done, [&] { impl_->load(key, touch, std::move(done)); });
}
void RedisStore::create(const SessionKey& key, const SessionRecord& record, Callback<void> done) {
  guarded(kRedisStoreName, done, [&] {
    impl_->write_record(redis::scripts().create, key, record, errc::conflict, std::move(done));
  });
}
void RedisStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  guarded(kRedisStoreName, done, [&] { impl_->patch(key, patch, std::move(done)); });
}
void RedisStore::patch_if(const SessionKey& key, const PayloadCondition& condition,
                          const SessionPatch& patch, Callback<void> done) {
  guarded(kRedisStoreName, done, [&] { impl_->patch_if(key, condition, patch, std::move(done)); });
}
void RedisStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                           std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  guarded(kRedisStoreName, done,
          [&] { impl_->increment(key, field, delta, touch, std::move(done)); });
}
void RedisStore::replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) {
  guarded(kRedisStoreName, done, [&] {
    impl_->write_record(redis::scripts().replace, key, record, errc::not_found, std::move(done));
  });
}
void RedisStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  guarded(kRedisStoreName, done, [&] { impl_->touch(key, touch, std::move(done)); });
}
void RedisStore::destroy(const SessionKey& key, Callback<bool> done) {
  guarded(kRedisStoreName, done, [&] { impl_->destroy(key, std::move(done)); });
}
void RedisStore::list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) {
  guarded(kRedisStoreName, done, [&] { impl_->list_user(user_id, std::move(done)); });
}
void RedisStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                              Callback<std::size_t> done) {
  guarded(kRedisStoreName, done, [&] { impl_->destroy_user(user_id, keep, std::move(done)); });
}
void RedisStore::count(Callback<std::size_t> done) {
  guarded(kRedisStoreName, done, [&] { impl_->count(std::move(done)); });
}
void RedisStore::scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
  guarded(kRedisStoreName, done, [&] { impl_->scan(cursor, limit, std::move(done)); });
}
void RedisStore::purge_expired(std::size_t, Callback<std::size_t> done) {
  answer(done, std::size_t{0});  // Redis deletes expired sessions itself (TTL)
}
void RedisStore::health(Callback<void> done) {
  guarded(kRedisStoreName, done, [&] { impl_->health(std::move(done)); });
}
void RedisStore::memory_usage(const SessionKey& key, Callback<std::size_t> done) {
  guarded(kRedisStoreName, done,
          [&] { impl_->memory_usage(impl_->session_key(key), std::move(done)); });
}
void RedisStore::index_memory_usage(const std::string& user_id, Callback<std::size_t> done) {
  guarded(kRedisStoreName, done,
          [&] { impl_->memory_usage(impl_->index_key(user_id), std::move(done)); });
}

void RedisStore::Impl::memory_usage(const std::string& name, Callback<std::size_t>&& done) {
  client_->execute(name, redis::make_command({"MEMORY", "USAGE", name, "SAMPLES", "0"}),
                   answering(std::move(done), [](const redisReply& r) -> Result<std::size_t> {
                     if (r.type == REDIS_REPLY_INTEGER && r.integer >= 0) {
                       return static_cast<std::size_t>(r.integer);
                     }
                     if (r.type == REDIS_REPLY_NIL) return std::size_t{0};
                     return redis::reply_status(r);
                   }));
}

}  // namespace sessionkit
