#include "sessionkit/stores/redis.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <mutex>
#include <set>
#include <utility>

#include "sessionkit/store_rules.h"
#include "stores/redis/client.h"
#include "stores/redis/scripts.h"

namespace sessionkit {

using redis::Command;
using redis::Reply;

namespace {

constexpr std::string_view kPayloadPrefix = "d:";
constexpr std::size_t kKeyHex = SessionKey::kBytes * 2;

std::string ms(Time t) {
  return std::to_string(to_millis(t));
}

std::optional<std::int64_t> parse_i64(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// An error reply (or an unexpected shape) as a Status.
Status reply_status(const redisReply& r) {
  if (redis::is_error(r) && redis::text(r).substr(0, 9) == "WRONGTYPE") {
    return {errc::corrupt,
            "redis: a session key holds another type: " + std::string(redis::text(r))};
  }
  return {errc::unavailable, redis::describe(r)};
}

// Escapes glob characters for SCAN MATCH.
std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// The fields of a record, as HSET arguments.
void append_fields(std::vector<std::string>& args, const SessionRecord& r) {
  args.insert(args.end(), {"v", std::to_string(kRecordFormatVersion), "c", ms(r.created_at), "a",
                           ms(r.last_access), "e", ms(r.expires_at), "x", ms(r.absolute_expires_at),
                           "ip", r.ip, "ua", r.user_agent});
  if (r.auth_at) args.insert(args.end(), {"t", ms(*r.auth_at)});
  if (!r.user_id.empty()) args.insert(args.end(), {"u", r.user_id});
  for (const auto& [name, value] : r.data.items()) {
    args.push_back(std::string(kPayloadPrefix) + name);
    args.push_back(stores::dump_payload(value));
  }
}

// A record from an HGETALL-shaped reply (field, value, ...). nullopt for an empty reply.
Result<std::optional<SessionRecord>> decode_hash(const redisReply& r) {
  using R = std::optional<SessionRecord>;
  if (r.type == REDIS_REPLY_NIL) return R{};
  if (r.type != REDIS_REPLY_ARRAY) return reply_status(r);
  if (r.elements == 0) return R{};
  if (r.elements % 2 != 0) return Result<R>(errc::corrupt, "redis: odd-sized session hash");
  SessionRecord rec;
  bool has[5] = {};
  auto time_field = [&](std::string_view v, Time& out, int slot) {
    auto n = parse_i64(v);
    if (!n) return false;
    out = from_millis(*n);
    has[slot] = true;
    return true;
  };
  for (std::size_t i = 0; i < r.elements; i += 2) {
    std::string_view f = redis::text(*r.element[i]), v = redis::text(*r.element[i + 1]);
    bool ok = true;
    if (f.substr(0, kPayloadPrefix.size()) == kPayloadPrefix) {
      auto value = nlohmann::json::parse(v, nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded())
        return Result<R>(errc::corrupt, "redis: a payload value does not parse");
      rec.data[std::string(f.substr(kPayloadPrefix.size()))] = std::move(value);
    } else if (f == "v") {
      if (v != std::to_string(kRecordFormatVersion)) {
        return Result<R>(errc::corrupt,
                         "redis: unknown record format version '" + std::string(v) + "'");
      }
      has[4] = true;
    } else if (f == "c") {
      ok = time_field(v, rec.created_at, 0);
    } else if (f == "a") {
      ok = time_field(v, rec.last_access, 1);
    } else if (f == "e") {
      ok = time_field(v, rec.expires_at, 2);
    } else if (f == "x") {
      ok = time_field(v, rec.absolute_expires_at, 3);
    } else if (f == "t") {
      auto n = parse_i64(v);  // optional: does not count as one of the required fields
      ok = n.has_value();
      if (ok) rec.auth_at = from_millis(*n);
    } else if (f == "u") {
      rec.user_id = std::string(v);
    } else if (f == "ip") {
      rec.ip = std::string(v);
    } else if (f == "ua") {
      rec.user_agent = std::string(v);
    }  // unknown fields are ignored, as in the portable encoding
    if (!ok) return Result<R>(errc::corrupt, "redis: bad time in field '" + std::string(f) + "'");
  }
  if (!(has[0] && has[1] && has[2] && has[3] && has[4])) {
    return Result<R>(errc::corrupt, "redis: session hash lacks required fields");
  }
  return R(std::move(rec));
}

// Collects N results of one kind and calls `done` once with all of them, or with the first
// error. Thread-safe (replies for different servers arrive on the one I/O thread anyway).
template <class T>
struct Gather {
  using Done = std::function<void(Result<std::vector<T>>)>;
  Gather(std::size_t n, Done d) : results(n), left(n), done(std::move(d)) {}
  void put(std::size_t i, Result<T> r) {
    std::unique_lock lock(m);
    if (finished) return;
    if (!r) {
      finished = true;
      lock.unlock();
      return done(r.status());
    }
    results[i] = std::move(*r);
    if (--left == 0) {
      finished = true;
      lock.unlock();
      done(std::move(results));
    }
  }
  std::mutex m;
  std::vector<T> results;
  std::size_t left;
  bool finished = false;
  Done done;
};

// Scan cursor: "<server index>:<redis cursor>:<hex keys found but not yet returned>".
struct ScanCursor {
  std::size_t node = 0;
  std::string redis_cursor = "0";
  std::vector<SessionKey> pending;
};  // redis cursor "0" on `node` means "not begun there" (a finished server moves `node` on)

std::optional<ScanCursor> parse_cursor(std::string_view c) {
  ScanCursor out;
  if (c.empty()) return out;
  auto a = c.find(':');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = c.find(':', a + 1);
  if (b == std::string_view::npos) return std::nullopt;
  auto node = parse_i64(c.substr(0, a));
  std::string_view rc = c.substr(a + 1, b - a - 1);
  if (!node || *node < 0 || rc.empty() || rc.size() > 20 ||
      !std::all_of(rc.begin(), rc.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  std::string_view keys = c.substr(b + 1);
  if (keys.size() % kKeyHex != 0) return std::nullopt;
  for (std::size_t i = 0; i < keys.size(); i += kKeyHex) {
    auto k = SessionKey::from_hex(keys.substr(i, kKeyHex));
    if (!k) return std::nullopt;
    out.pending.push_back(*k);
  }
  out.node = static_cast<std::size_t>(*node);
  out.redis_cursor = std::string(rc);
  return out;
}

std::string format_cursor(const ScanCursor& c) {
  std::string out = std::to_string(c.node) + ":" + c.redis_cursor + ":";
  for (const auto& k : c.pending)
    out += k.hex();
  return out;
}

}  // namespace

class RedisStore::Impl : public std::enable_shared_from_this<RedisStore::Impl> {
 public:
  Impl(RedisStoreOptions options, std::shared_ptr<redis::Client> client)
      : options_(std::move(options)),
        clock_(options_.clock ? options_.clock : &system_clock()),
        client_(std::move(client)) {}

  std::string session_key(const SessionKey& key) const {
    return options_.key_prefix + "s:" + key.hex();
  }
  std::string index_key(const std::string& user) const { return options_.key_prefix + "u:" + user; }
  Time now() const { return clock_->now(); }

  // EVALSHA, falling back to EVAL once when the server does not have the script cached.
  void eval(const redis::Script& script, const std::string& key, std::vector<std::string> args,
            std::function<void(Result<Reply>)> done) {
    std::vector<std::string> cmd;
    cmd.reserve(args.size() + 4);
    cmd.insert(cmd.end(), {"EVALSHA", script.sha1, "1", key});
    cmd.insert(cmd.end(), std::make_move_iterator(args.begin()),
               std::make_move_iterator(args.end()));
    Command wire = redis::make_command(cmd);
    client_->execute(
        key, std::move(wire),
        [self = shared_from_this(), &script, cmd = std::move(cmd),
         done = std::move(done)](Result<Reply> r) mutable {
          if (r && redis::is_error(**r) && redis::text(**r).substr(0, 8) == "NOSCRIPT") {
            cmd[0] = "EVAL";
            cmd[1] = std::string(script.body);
            const std::string key = cmd[3];
            return self->client_->execute(key, redis::make_command(cmd), std::move(done));
          }
          done(std::move(r));
        });
  }

  // A plain command whose key is its first argument (`{"HGETALL", key}`), routed by that key.
  void run(std::initializer_list<std::string_view> args, std::function<void(Result<Reply>)> done) {
    client_->execute(*(args.begin() + 1), redis::make_command(args), std::move(done));
  }

  // Adds `key` to `user`'s index (before the binding becomes visible), then runs `next`.
  void index_then(const std::string& user, const SessionKey& key, Time absolute,
                  std::function<void(Status)> next) {
    if (user.empty()) return next({});
    const Time t = now();
    const auto ttl = std::max<std::int64_t>(1, to_millis(absolute) - to_millis(t));
    eval(redis::scripts().index_add, index_key(user),
         {key.hex(), ms(absolute), ms(t), std::to_string(ttl)},
         [next = std::move(next)](Result<Reply> r) {
           if (!r) return next(r.status());
           if (redis::is_error(**r)) return next(reply_status(**r));
           next({});
         });
  }

  void load(const SessionKey& key, std::optional<TouchSpec> touch,
            Callback<std::optional<SessionRecord>> done) {
    using R = std::optional<SessionRecord>;
    if (touch && touch->only_if_accessed_in) return load_lazy(key, *touch, std::move(done));
    const Time t = now();
    auto finish = [t, done = std::move(done)](Result<Reply> r) {
      if (!r) return done(r.status());
      auto rec = decode_hash(**r);
      if (rec && *rec && (*rec)->expired(t)) return done(R{});
      done(std::move(rec));
    };
    const std::string name = session_key(key);
    if (!touch) return run({"HGETALL", name}, std::move(finish));
    eval(redis::scripts().touch_load, name, {ms(t), ms(touch->last_access), ms(touch->expires_at)},
         std::move(finish));
  }

  // A lazy touch: HGETALL, then the touch script only when the touch is due (once per touch
  // interval per session). The window cannot move into the script for free: an EVALSHA costs
  // about 10x the server time of an HGETALL (INFO commandstats: 13.6 vs 1.4 us per call), and
  // every read would pay it to save one round trip per touch interval (docs/stores.md).
  void load_lazy(const SessionKey& key, const TouchSpec& touch,
                 Callback<std::optional<SessionRecord>> done) {
    using R = std::optional<SessionRecord>;
    const Time t = now();
    auto self = shared_from_this();
    run({"HGETALL", session_key(key)}, [self, t, key, touch,
                                        done = std::move(done)](Result<Reply> r) mutable {
      if (!r) return done(r.status());
      auto rec = decode_hash(**r);
      if (!rec) return done(rec.status());
      if (!*rec || (*rec)->expired(t)) return done(R{});
      if (!stores::touch_applies(touch, (*rec)->last_access)) return done(std::move(rec));
      TouchSpec due = touch;
      due.only_if_accessed_in.reset();
      self->touch(key, due,
                  [record = std::move(**rec), due, done = std::move(done)](Status st) mutable {
                    if (st.code() == errc::not_found)
                      return done(R{});  // ended or expired meanwhile
                    if (!st.ok()) return done(st);
                    record.last_access = due.last_access;
                    record.expires_at = stores::touched_deadline(due, record.absolute_expires_at);
                    done(R(std::move(record)));
                  });
    });
  }

  void write_record(const redis::Script& script, const SessionKey& key, const SessionRecord& record,
                    errc when_zero, Callback<void> done) {
    if (auto s = stores::check_record(record); !s) return done(s);
    const Time t = now();
    std::vector<std::string> args{ms(t)};
    const auto deadline =
        std::min(to_millis(record.expires_at), to_millis(record.absolute_expires_at));
    args.push_back(std::to_string(std::max<std::int64_t>(1, deadline - to_millis(t))));
    append_fields(args, record);
    auto self = shared_from_this();
    index_then(record.user_id, key, record.absolute_expires_at,
               [self, &script, key, when_zero, args = std::move(args),
                done = std::move(done)](Status s) mutable {
                 if (!s) return done(s);
                 self->eval(script, self->session_key(key), std::move(args),
                            [when_zero, done = std::move(done)](Result<Reply> r) {
                              if (!r) return done(r.status());
                              if ((*r)->type != REDIS_REPLY_INTEGER) return done(reply_status(**r));
                              if ((*r)->integer == 0) {
                                return done(Status(when_zero, when_zero == errc::conflict
                                                                  ? "session key already exists"
                                                                  : "session not found"));
                              }
                              done({});
                            });
               });
  }

  void patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
    const Time t = now();
    std::vector<std::string> args{ms(t),
                                  patch.user_id ? "1" : "0",
                                  patch.user_id.value_or(""),
                                  patch.auth_at ? ms(*patch.auth_at) : "",
                                  patch.touch ? ms(patch.touch->last_access) : "",
                                  patch.touch ? ms(patch.touch->expires_at) : "",
                                  std::to_string(patch.set.size())};
    for (const auto& [name, value] : patch.set) {
      args.push_back(std::string(kPayloadPrefix) + name);
      args.push_back(stores::dump_payload(value));
    }
    for (const auto& name : patch.erase)
      args.push_back(std::string(kPayloadPrefix) + name);
    // The script answers the record's absolute deadline (0: missing).
    auto apply = [self = shared_from_this(), key,
                  args = std::move(args)](Callback<Time> done) mutable {
      self->eval(redis::scripts().patch, self->session_key(key), std::move(args),
                 [done = std::move(done)](Result<Reply> r) {
                   if (!r) return done(r.status());
                   if ((*r)->type != REDIS_REPLY_INTEGER) return done(reply_status(**r));
                   if ((*r)->integer == 0) {
                     return done(Result<Time>(errc::not_found, "session not found"));
                   }
                   done(from_millis((*r)->integer));
                 });
    };
    if (!patch.user_id || patch.user_id->empty()) {
      return apply([done = std::move(done)](Result<Time> r) { done(r.status()); });
    }
    // Rebinding: index first with a provisional score (the absolute deadline is not known
    // here), then the patch, which answers the deadline that becomes the entry's real score.
    const std::string user = *patch.user_id;
    auto self = shared_from_this();
    index_then(
        user, key, t + std::chrono::hours(24 * 400),
        [self, key, user, apply = std::move(apply), done = std::move(done)](Status s) mutable {
          if (!s) return done(s);
          apply([self, key, user, done = std::move(done)](Result<Time> absolute) {
            if (!absolute) return done(absolute.status());
            self->index_then(user, key, *absolute, [done = std::move(done)](Status) { done({}); });
          });
        });
  }

  void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                 std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
    eval(redis::scripts().increment, session_key(key),
         {ms(now()), std::string(kPayloadPrefix) + field, std::to_string(delta),
          touch ? ms(touch->last_access) : "", touch ? ms(touch->expires_at) : ""},
         [field, done = std::move(done)](Result<Reply> r) {
           using R = Result<std::int64_t>;
           if (!r) return done(r.status());
           const redisReply& rep = **r;
           if (rep.type != REDIS_REPLY_ARRAY || rep.elements == 0 ||
               rep.element[0]->type != REDIS_REPLY_INTEGER) {
             return done(reply_status(rep));
           }
           switch (rep.element[0]->integer) {
             case 0:
               return done(R(errc::not_found, "session not found"));
             case 1: {
               auto v = rep.elements > 1 ? parse_i64(redis::text(*rep.element[1])) : std::nullopt;
               if (!v) return done(R(errc::corrupt, "redis: increment answered a non-integer"));
               return done(*v);
             }
             default: {
               std::string_view err = rep.elements > 1 ? redis::text(*rep.element[1]) : "";
               if (err.find("overflow") != std::string_view::npos) {
                 return done(R(errc::invalid_argument, "increment of '" + field + "' overflows"));
               }
               return done(
                   R(errc::invalid_argument, "field '" + field + "' does not hold an integer"));
             }
           }
         });
  }

  void touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
    eval(redis::scripts().touch, session_key(key),
         {ms(now()), ms(touch.last_access), ms(touch.expires_at)},
         [done = std::move(done)](Result<Reply> r) {
           if (!r) return done(r.status());
           if ((*r)->type != REDIS_REPLY_INTEGER) return done(reply_status(**r));
           if ((*r)->integer == 0) return done(Status(errc::not_found, "session not found"));
           done({});
         });
  }

  void destroy(const SessionKey& key, Callback<bool> done) {
    auto self = shared_from_this();
    eval(redis::scripts().destroy, session_key(key), {ms(now())},
         [self, key, done = std::move(done)](Result<Reply> r) {
           if (!r) return done(r.status());
           const redisReply& rep = **r;
           if (rep.type != REDIS_REPLY_ARRAY || rep.elements != 2) return done(reply_status(rep));
           const bool alive = rep.element[0]->integer == 1;
           std::string user(redis::text(*rep.element[1]));
           if (user.empty()) return done(alive);
           // The session is gone for good (IDs are never reused): drop its index entry.
           const std::string idx = self->index_key(user);
           self->run({"ZREM", idx, key.hex()},
                     [alive, done = std::move(done)](Result<Reply>) { done(alive); });
         });
  }

  // The index members of `user` (entries past their absolute deadline dropped first).
  void index_members(const std::string& user,
                     std::function<void(Result<std::vector<SessionKey>>)> done) {
    eval(redis::scripts().index_list, index_key(user), {ms(now())},
         [done = std::move(done)](Result<Reply> r) {
           if (!r) return done(r.status());
           const redisReply& rep = **r;
           if (rep.type != REDIS_REPLY_ARRAY) return done(reply_status(rep));
           std::vector<SessionKey> keys;
           for (std::size_t i = 0; i < rep.elements; ++i)
             if (auto k = SessionKey::from_hex(redis::text(*rep.element[i]))) keys.push_back(*k);
           done(std::move(keys));
         });
  }

  // Loads `keys` (HGETALL each, pipelined); answers the unexpired ones that decode, in order.
  void load_many(std::vector<SessionKey> keys,
                 std::function<void(Result<std::vector<StoredSession>>)> done) {
    if (keys.empty()) return done(std::vector<StoredSession>{});
    const Time t = now();
    auto shared_keys = std::make_shared<std::vector<SessionKey>>(std::move(keys));
    auto gather = std::make_shared<Gather<std::optional<SessionRecord>>>(
        shared_keys->size(), [t, shared_keys, done = std::move(done)](
                                 Result<std::vector<std::optional<SessionRecord>>> all) {
          if (!all) return done(all.status());
          std::vector<StoredSession> out;
          for (std::size_t i = 0; i < all->size(); ++i) {
            auto& rec = (*all)[i];
            if (rec && !rec->expired(t)) out.push_back({(*shared_keys)[i], std::move(*rec)});
          }
          done(std::move(out));
        });
    for (std::size_t i = 0; i < shared_keys->size(); ++i) {
      run({"HGETALL", session_key((*shared_keys)[i])}, [gather, i](Result<Reply> r) {
        if (!r) return gather->put(i, r.status());
        auto rec = decode_hash(**r);
        if (!rec && rec.code() == errc::corrupt)
          return gather->put(i, std::optional<SessionRecord>{});
        gather->put(i, std::move(rec));
      });
    }
  }

  void list_user(const std::string& user, Callback<std::vector<StoredSession>> done) {
    if (user.empty()) return done(std::vector<StoredSession>{});
    auto self = shared_from_this();
    index_members(user, [self, user, done = std::move(done)](Result<std::vector<SessionKey>> keys) {
      if (!keys) return done(keys.status());
      self->load_many(std::move(*keys), [user, done = std::move(done)](
                                            Result<std::vector<StoredSession>> found) {
        if (!found) return done(found.status());
        std::vector<StoredSession> mine;
        for (auto& s : *found)
          if (s.record.user_id == user) mine.push_back(std::move(s));
        std::sort(mine.begin(), mine.end(), [](const StoredSession& a, const StoredSession& b) {
          return std::tie(a.record.created_at, a.key) < std::tie(b.record.created_at, b.key);
        });
        done(std::move(mine));
      });
    });
  }

  void destroy_user(const std::string& user, std::optional<SessionKey> keep,
                    Callback<std::size_t> done) {
    if (user.empty()) return done(std::size_t{0});
    auto self = shared_from_this();
    index_members(user, [self, user, keep,
                         done = std::move(done)](Result<std::vector<SessionKey>> keys) {
      if (!keys) return done(keys.status());
      std::vector<SessionKey> victims;
      for (const auto& k : *keys)
        if (!keep || k != *keep) victims.push_back(k);
      if (victims.empty()) return done(std::size_t{0});
      auto shared_victims = std::make_shared<std::vector<SessionKey>>(std::move(victims));
      auto gather = std::make_shared<Gather<long long>>(
          shared_victims->size(),
          [self, user, shared_victims, done = std::move(done)](Result<std::vector<long long>> all) {
            if (!all) return done(all.status());
            std::size_t live = 0;
            std::vector<std::string> zrem{"ZREM", self->index_key(user)};
            for (std::size_t i = 0; i < all->size(); ++i) {
              if ((*all)[i] == 1) ++live;
              if ((*all)[i] == 1 || (*all)[i] == 2) zrem.push_back((*shared_victims)[i].hex());
            }
            if (zrem.size() == 2) return done(live);
            self->client_->execute(self->index_key(user), redis::make_command(zrem),
                                   [live, done = std::move(done)](Result<Reply>) { done(live); });
          });
      const std::string t = ms(self->now());
      for (std::size_t i = 0; i < shared_victims->size(); ++i) {
        self->eval(redis::scripts().destroy_if_user, self->session_key((*shared_victims)[i]),
                   {t, user}, [gather, i](Result<Reply> r) {
                     if (!r) return gather->put(i, r.status());
                     if ((*r)->type != REDIS_REPLY_INTEGER)
                       return gather->put(i, reply_status(**r));
                     gather->put(i, (*r)->integer);
                   });
      }
    });
  }

  std::string match_pattern() const { return glob_escape(options_.key_prefix + "s:") + "*"; }

  // One SCAN step over the session keys of `node`: the keys found (names that do not parse
  // are skipped) and the next cursor ("0": that server is done).
  struct ScanBatch {
    std::vector<SessionKey> keys;
    std::string next_cursor;
  };
  void scan_batch(const redis::Endpoint& node, const std::string& cursor, std::size_t count,
                  Callback<ScanBatch> done) {
    auto self = shared_from_this();
    client_->execute_on(node,
                        redis::make_command({"SCAN", cursor, "MATCH", match_pattern(), "COUNT",
                                             std::to_string(count)}),
                        [self, done = std::move(done)](Result<Reply> r) {
                          if (!r) return done(r.status());
                          const redisReply& rep = **r;
                          if (rep.type != REDIS_REPLY_ARRAY || rep.elements != 2 ||
                              rep.element[1]->type != REDIS_REPLY_ARRAY) {
                            return done(reply_status(rep));
                          }
                          const std::string prefix = self->options_.key_prefix + "s:";
                          ScanBatch batch;
                          batch.next_cursor = std::string(redis::text(*rep.element[0]));
                          for (std::size_t i = 0; i < rep.element[1]->elements; ++i) {
                            std::string_view name = redis::text(*rep.element[1]->element[i]);
                            if (name.substr(0, prefix.size()) != prefix) continue;
                            if (auto k = SessionKey::from_hex(name.substr(prefix.size())))
                              batch.keys.push_back(*k);
                          }
                          done(std::move(batch));
                        });
  }

  void count(Callback<std::size_t> done) {
    auto self = shared_from_this();
    client_->masters([self, done = std::move(done)](Result<std::vector<redis::Endpoint>> nodes) {
      if (!nodes) return done(nodes.status());
      self->count_from(std::make_shared<std::vector<redis::Endpoint>>(std::move(*nodes)), 0, "0", 0,
                       std::move(done));
    });
  }

  void count_from(std::shared_ptr<std::vector<redis::Endpoint>> nodes, std::size_t node,
                  std::string cursor, std::size_t total, Callback<std::size_t> done) {
    if (node >= nodes->size()) return done(total);
    auto self = shared_from_this();
    scan_batch((*nodes)[node], cursor, 1000,
               [self, nodes, node, total, done = std::move(done)](Result<ScanBatch> b) mutable {
                 if (!b) return done(b.status());
                 total += b->keys.size();
                 if (b->next_cursor == "0") {
                   return self->count_from(nodes, node + 1, "0", total, std::move(done));
                 }
                 self->count_from(nodes, node, std::move(b->next_cursor), total, std::move(done));
               });
  }

  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
    if (limit == 0) return done(Result<ScanPage>(errc::invalid_argument, "scan limit is 0"));
    auto parsed = parse_cursor(cursor);
    if (!parsed) return done(Result<ScanPage>(errc::invalid_argument, "malformed scan cursor"));
    auto self = shared_from_this();
    client_->masters([self, c = std::move(*parsed), limit,
                      done = std::move(done)](Result<std::vector<redis::Endpoint>> nodes) mutable {
      if (!nodes) return done(nodes.status());
      if (c.node > nodes->size()) {
        return done(
            Result<ScanPage>(errc::invalid_argument, "scan cursor names an unknown server"));
      }
      self->scan_step(std::make_shared<std::vector<redis::Endpoint>>(std::move(*nodes)),
                      std::move(c), limit, std::move(done));
    });
  }

  // Fills `c.pending` with SCAN batches until it holds `limit` keys or every server is done,
  // then loads the first `limit` of them and keeps the rest in the next cursor.
  void scan_step(std::shared_ptr<std::vector<redis::Endpoint>> nodes, ScanCursor c,
                 std::size_t limit, Callback<ScanPage> done) {
    if (c.pending.size() < limit && c.node < nodes->size()) {
      auto self = shared_from_this();
      const redis::Endpoint& node = (*nodes)[c.node];
      const std::string start = c.redis_cursor;
      scan_batch(node, start, std::clamp<std::size_t>(limit, 10, 1000),
                 [self, nodes, c = std::move(c), limit,
                  done = std::move(done)](Result<ScanBatch> b) mutable {
                   if (!b) return done(b.status());
                   std::set<SessionKey> seen(c.pending.begin(), c.pending.end());
                   for (const auto& k : b->keys)
                     if (seen.insert(k).second) c.pending.push_back(k);
                   c.redis_cursor = std::move(b->next_cursor);
                   if (c.redis_cursor == "0") ++c.node;
                   self->scan_step(nodes, std::move(c), limit, std::move(done));
                 });
      return;
    }
    const std::size_t take = std::min(limit, c.pending.size());
    std::vector<SessionKey> now_keys(c.pending.begin(),
                                     c.pending.begin() + static_cast<std::ptrdiff_t>(take));
    c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(take));
    std::string next;
    if (!c.pending.empty() || c.node < nodes->size()) next = format_cursor(c);
    load_many(std::move(now_keys), [next = std::move(next), done = std::move(done)](
                                       Result<std::vector<StoredSession>> found) mutable {
      if (!found) return done(found.status());
      done(ScanPage{std::move(*found), std::move(next)});
    });
  }

  void health(Callback<void> done) {
    auto self = shared_from_this();
    client_->masters([self, done = std::move(done)](Result<std::vector<redis::Endpoint>> nodes) {
      if (!nodes) return done(nodes.status());
      auto gather =
          std::make_shared<Gather<int>>(nodes->size(), [done](Result<std::vector<int>> all) {
            if (!all) return done(all.status());
            done({});
          });
      for (std::size_t i = 0; i < nodes->size(); ++i) {
        self->client_->execute_on(
            (*nodes)[i], redis::make_command({"PING"}), [gather, i](Result<Reply> r) {
              if (!r) return gather->put(i, r.status());
              if ((*r)->type != REDIS_REPLY_STATUS || redis::text(**r) != "PONG") {
                return gather->put(i, reply_status(**r));
              }
              gather->put(i, 1);
            });
      }
    });
  }

  const RedisStoreOptions options_;
  const Clock* clock_;
  std::shared_ptr<redis::Client> client_;
};

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

std::string RedisStore::redis_key(const SessionKey& key) const {
  return impl_->session_key(key);
}

void RedisStore::load(const SessionKey& key, std::optional<TouchSpec> touch,
                      Callback<std::optional<SessionRecord>> done) {
  impl_->load(key, touch, std::move(done));
}
void RedisStore::create(const SessionKey& key, const SessionRecord& record, Callback<void> done) {
  impl_->write_record(redis::scripts().create, key, record, errc::conflict, std::move(done));
}
void RedisStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  impl_->patch(key, patch, std::move(done));
}
void RedisStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                           std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  impl_->increment(key, field, delta, touch, std::move(done));
}
void RedisStore::replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) {
  impl_->write_record(redis::scripts().replace, key, record, errc::not_found, std::move(done));
}
void RedisStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  impl_->touch(key, touch, std::move(done));
}
void RedisStore::destroy(const SessionKey& key, Callback<bool> done) {
  impl_->destroy(key, std::move(done));
}
void RedisStore::list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) {
  impl_->list_user(user_id, std::move(done));
}
void RedisStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                              Callback<std::size_t> done) {
  impl_->destroy_user(user_id, keep, std::move(done));
}
void RedisStore::count(Callback<std::size_t> done) {
  impl_->count(std::move(done));
}
void RedisStore::scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
  impl_->scan(cursor, limit, std::move(done));
}
void RedisStore::purge_expired(std::size_t, Callback<std::size_t> done) {
  done(std::size_t{0});  // Redis deletes expired sessions itself (TTL)
}
void RedisStore::health(Callback<void> done) {
  impl_->health(std::move(done));
}

}  // namespace sessionkit
