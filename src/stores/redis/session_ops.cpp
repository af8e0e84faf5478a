// The Redis store's operations on one session (see store_impl.h): load (with the lazy touch),
// create and replace, patch and patch_if (and the user index they keep in step), increment,
// touch and destroy. Each is one script on the session's key, plus an index update when a user
// binding changes; expiry is judged by the store's clock, passed to every script.
#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "sessionkit/store_rules.h"
#include "stores/redis/record_codec.h"
#include "stores/redis/store_impl.h"

namespace sessionkit {

using redis::Reply;
using stores::answer;
using stores::guarded;

namespace {

using MaybeRecord = std::optional<SessionRecord>;

// A rebinding patch indexes the session with this provisional score before the patch answers
// the record's real absolute deadline.
constexpr auto kProvisionalIndexLife = std::chrono::hours(24 * 400);
// How often patch_if retries a failed check whose field holds equal JSON in another spelling.
constexpr int kSpellingRetries = 3;

// The increment script's answer: {1, new value} / {0} missing / {2, error text}. The new value
// is an integer reply below 2^53 in magnitude, and the field's text beyond (Lua's doubles).
Result<std::int64_t> read_increment(const redisReply& rep, const std::string& field) {
  using R = Result<std::int64_t>;
  if (rep.type != REDIS_REPLY_ARRAY || rep.elements == 0 ||
      rep.element[0]->type != REDIS_REPLY_INTEGER) {
    return redis::reply_status(rep);
  }
  switch (rep.element[0]->integer) {
    case 0:
      return R(errc::not_found, "session not found");
    case 1: {
      if (rep.elements > 1 && rep.element[1]->type == REDIS_REPLY_INTEGER) {
        return static_cast<std::int64_t>(rep.element[1]->integer);
      }
      auto v = rep.elements > 1 ? redis::parse_i64(redis::text(*rep.element[1])) : std::nullopt;
      if (!v) return R(errc::corrupt, "redis: increment answered a non-integer");
      return *v;
    }
    default: {
      std::string_view err = rep.elements > 1 ? redis::text(*rep.element[1]) : "";
      if (err.find("overflow") != std::string_view::npos) {
        return R(errc::invalid_argument, "increment of '" + field + "' overflows");
      }
      return R(errc::invalid_argument, "field '" + field + "' does not hold an integer");
    }
  }
}

// A script answering 1 (done) or 0 (`when_zero`: the session is missing, or the key taken).
Status read_one_or_zero(const redisReply& r, errc when_zero) {
  if (r.type != REDIS_REPLY_INTEGER) return redis::reply_status(r);
  if (r.integer == 0) {
    return {when_zero,
            when_zero == errc::conflict ? "session key already exists" : "session not found"};
  }
  return {};
}

}  // namespace

void RedisStore::Impl::load(const SessionKey& key, std::optional<TouchSpec> touch,
                            Callback<MaybeRecord>&& done) {
  if (touch && touch->only_if_accessed_in) return load_lazy(key, *touch, std::move(done));
  const Time t = now();
  const std::string name = session_key(key);
  auto unexpired = [t](const redisReply& r) -> Result<MaybeRecord> {
    auto rec = redis::decode_hash(r);
    if (rec && *rec && (*rec)->expired(t)) return MaybeRecord{};
    return rec;
  };
  if (!touch) return run({"HGETALL", name}, answering(std::move(done), unexpired));
  std::vector<std::string> args{redis::ms(t), redis::ms(touch->last_access),
                                redis::ms(touch->expires_at)};
  eval(redis::scripts().touch_load, name, std::move(args), answering(std::move(done), unexpired));
}

// A lazy touch: HGETALL, then the touch script only when the touch is due (once per touch
// interval per session). The window cannot move into the script for free: an EVALSHA costs
// about 10x the server time of an HGETALL (INFO commandstats: 13.6 vs 1.4 us per call), and
// every read would pay it to save one round trip per touch interval (docs/stores.md).
void RedisStore::Impl::load_lazy(const SessionKey& key, const TouchSpec& touch,
                                 Callback<MaybeRecord>&& done) {
  const Time t = now();
  const std::string name = session_key(key);
  run({"HGETALL", name}, [self = shared_from_this(), t, key, touch,
                          done = std::move(done)](Result<Reply> r) mutable {
    guarded(kRedisStoreName, done, [&] {
      if (!r) return answer(done, r.status());
      auto rec = redis::decode_hash(**r);
      if (!rec) return answer(done, rec.status());
      if (!*rec || (*rec)->expired(t)) return answer(done, MaybeRecord{});
      if (!stores::touch_applies(touch, (*rec)->last_access)) return answer(done, std::move(rec));
      TouchSpec due = touch;
      due.only_if_accessed_in.reset();
      self->touch(
          key, due, [record = std::move(**rec), due, done = std::move(done)](Status st) mutable {
            stores::complete<MaybeRecord>(kRedisStoreName, done, [&]() -> Result<MaybeRecord> {
              if (st.code() == errc::not_found) return MaybeRecord{};  // ended or expired meanwhile
              if (!st.ok()) return st;
              record.last_access = due.last_access;
              record.expires_at = stores::touched_deadline(due, record.absolute_expires_at);
              return MaybeRecord(std::move(record));
            });
          });
    });
  });
}

void RedisStore::Impl::write_record(const redis::Script& script, const SessionKey& key,
                                    const SessionRecord& record, errc when_zero,
                                    Callback<void>&& done) {
  if (auto s = stores::check_record(record); !s) return answer(done, std::move(s));
  std::vector<std::string> args = redis::record_args(now(), record);
  index_then(record.user_id, key, record.absolute_expires_at,
             [self = shared_from_this(), &script, key, when_zero, args = std::move(args),
              done = std::move(done)](Status s) mutable {
               if (!s) return answer(done, std::move(s));
               guarded(kRedisStoreName, done, [&] {
                 const std::string name = self->session_key(key);
                 self->eval(script, name, std::move(args),
                            answering(std::move(done), [when_zero](const redisReply& r) {
                              return read_one_or_zero(r, when_zero);
                            }));
               });
             });
}

void RedisStore::Impl::patch(const SessionKey& key, const SessionPatch& patch,
                             Callback<void>&& done) {
  const Time t = now();
  // The script answers the record's absolute deadline (0: missing).
  auto apply = [self = shared_from_this(), name = session_key(key),
                args = redis::patch_args(t, patch)](Callback<Time>&& applied) mutable {
    self->eval(redis::scripts().patch, name, std::move(args),
               answering(std::move(applied), [](const redisReply& r) -> Result<Time> {
                 if (r.type != REDIS_REPLY_INTEGER) return redis::reply_status(r);
                 if (r.integer == 0) return Result<Time>(errc::not_found, "session not found");
                 return from_millis(r.integer);
               }));
  };
  if (!patch.user_id || patch.user_id->empty()) {
    return apply(
        [done = std::move(done)](const Result<Time>& r) mutable { answer(done, r.status()); });
  }
  // Rebinding: index first with a provisional score (the absolute deadline is not known
  // here), then the patch, which answers the deadline that becomes the entry's real score.
  const std::string user = *patch.user_id;
  index_then(user, key, t + kProvisionalIndexLife,
             [self = shared_from_this(), key, user, apply = std::move(apply),
              done = std::move(done)](Status s) mutable {
               if (!s) return answer(done, std::move(s));
               guarded(kRedisStoreName, done, [&] {
                 apply([self, key, user, done = std::move(done)](Result<Time> absolute) mutable {
                   guarded(kRedisStoreName, done, [&] {
                     if (!absolute) return answer(done, absolute.status());
                     self->index_then(
                         user, key, *absolute,
                         [done = std::move(done)](const Status&) mutable { answer(done, {}); });
                   });
                 });
               });
             });
}

namespace {

// patch_if's answer: applied, conflict (the check failed), or the error.
Status patch_if_status(const Result<redis::PatchAnswer>& r) {
  if (!r) return r.status();
  if (!r->applied) return stores::condition_failed();
  return {};
}

}  // namespace

void RedisStore::Impl::patch_checked(std::string name, std::vector<std::string> args,
                                     std::shared_ptr<const nlohmann::json> expected, int retries,
                                     Callback<redis::PatchAnswer>&& done) {
  std::vector<std::string> sent = args;
  eval(redis::scripts().patch, name, std::move(sent),
       [self = shared_from_this(), name, args = std::move(args), expected = std::move(expected),
        retries, done = std::move(done)](Result<Reply> r) mutable {
         guarded(kRedisStoreName, done, [&] {
           if (!r) return answer(done, r.status());
           auto got = redis::read_patch_answer(**r);
           // The field's text differs from the condition's, but it may still be equal JSON
           // (1.0 and 1): then the condition holds, and is checked again on exactly that text.
           if (got && !got->applied && got->held && *got->held != args[redis::kCheckTextArg]) {
             const auto held = nlohmann::json::parse(*got->held, nullptr, false);
             if (!held.is_discarded() && held == *expected) {
               if (retries == 0) {
                 return answer(done, Result<redis::PatchAnswer>(
                                         errc::unavailable,
                                         "redis: patch_if: the field kept changing, try again"));
               }
               args[redis::kCheckTextArg] = *got->held;
               return self->patch_checked(std::move(name), std::move(args), std::move(expected),
                                          retries - 1, std::move(done));
             }
           }
           answer(done, std::move(got));
         });
       });
}

// patch_if: the patch script with the condition as a field check, so that liveness, the check
// and every write happen in one script (atomic on the server). A rebinding patch_if must index
// the session before the binding becomes visible, as patch does, but must leave the index as it
// was on a conflict: it first runs the script with the check and an empty patch (writes
// nothing), and indexes only when the condition held there.
void RedisStore::Impl::patch_if(const SessionKey& key, const PayloadCondition& condition,
                                const SessionPatch& patch, Callback<void>&& done) {
  const Time t = now();
  const redis::FieldCheck check = redis::field_check(condition);
  auto expected = std::make_shared<const nlohmann::json>(condition.value);
  if (!patch.user_id || patch.user_id->empty()) {
    return patch_checked(session_key(key), redis::patch_args(t, patch, check), std::move(expected),
                         kSpellingRetries,
                         [done = std::move(done)](const Result<redis::PatchAnswer>& r) mutable {
                           answer(done, patch_if_status(r));
                         });
  }
  const std::string user = *patch.user_id;
  auto apply = [self = shared_from_this(), key, user, expected,
                args = redis::patch_args(t, patch, check)](Callback<void>&& done) mutable {
    self->patch_checked(
        self->session_key(key), std::move(args), std::move(expected), kSpellingRetries,
        [self, key, user, done = std::move(done)](Result<redis::PatchAnswer> r) mutable {
          guarded(kRedisStoreName, done, [&] {
            // Missing: the provisional entry stays, as patch leaves it (list_user skips it).
            if (!r) return answer(done, r.status());
            // Applied: the entry gets its real score. A conflict here means the value changed
            // since the first look: the provisional entry is given the record's real deadline
            // (never removed: a concurrent rebinding to the same user may rely on it).
            self->index_then(user, key, r->absolute,
                             [st = patch_if_status(r), done = std::move(done)](
                                 const Status&) mutable { answer(done, std::move(st)); });
          });
        });
  };
  patch_checked(session_key(key), redis::patch_args(t, SessionPatch{}, check), std::move(expected),
                kSpellingRetries,
                [self = shared_from_this(), key, user, t, apply = std::move(apply),
                 done = std::move(done)](Result<redis::PatchAnswer> first) mutable {
                  guarded(kRedisStoreName, done, [&] {
                    if (!first || !first->applied) return answer(done, patch_if_status(first));
                    self->index_then(
                        user, key, t + kProvisionalIndexLife,
                        [apply = std::move(apply), done = std::move(done)](Status s) mutable {
                          if (!s) return answer(done, std::move(s));
                          guarded(kRedisStoreName, done, [&] { apply(std::move(done)); });
                        });
                  });
                });
}

void RedisStore::Impl::increment(const SessionKey& key, const std::string& field,
                                 std::int64_t delta, std::optional<TouchSpec> touch,
                                 Callback<std::int64_t>&& done) {
  const std::string name = session_key(key);
  std::vector<std::string> args{redis::ms(now()), redis::payload_field(field),
                                std::to_string(delta), touch ? redis::ms(touch->last_access) : "",
                                touch ? redis::ms(touch->expires_at) : ""};
  eval(redis::scripts().increment, name, std::move(args),
       answering(std::move(done),
                 [field](const redisReply& r) { return read_increment(r, field); }));
}

void RedisStore::Impl::touch(const SessionKey& key, const TouchSpec& touch, Callback<void>&& done) {
  const std::string name = session_key(key);
  std::vector<std::string> args{redis::ms(now()), redis::ms(touch.last_access),
                                redis::ms(touch.expires_at)};
  eval(redis::scripts().touch, name, std::move(args),
       answering(std::move(done),
                 [](const redisReply& r) { return read_one_or_zero(r, errc::not_found); }));
}

void RedisStore::Impl::destroy(const SessionKey& key, Callback<bool>&& done) {
  const std::string name = session_key(key);
  std::vector<std::string> args{redis::ms(now())};
  eval(redis::scripts().destroy, name, std::move(args),
       [self = shared_from_this(), key, done = std::move(done)](Result<Reply> r) mutable {
         guarded(kRedisStoreName, done, [&] {
           if (!r) return answer(done, r.status());
           const redisReply& rep = **r;
           if (rep.type != REDIS_REPLY_ARRAY || rep.elements != 2) {
             return answer(done, redis::reply_status(rep));
           }
           const bool alive = rep.element[0]->integer == 1;
           const std::string user(redis::text(*rep.element[1]));
           if (user.empty()) return answer(done, alive);
           // The session is gone for good (IDs are never reused): drop its index entry.
           const std::string idx = self->index_key(user), member = key.hex();
           self->run({"ZREM", idx, member}, [alive, done = std::move(done)](Result<Reply>) mutable {
             answer(done, alive);
           });
         });
       });
}

}  // namespace sessionkit
