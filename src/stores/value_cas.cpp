// value_cas.cpp — see value_cas.h.
#include "stores/value_cas.h"

#include <utility>

#include "sessionkit/store_rules.h"

namespace sessionkit::detail {

namespace {

void attempt(std::shared_ptr<const ValueCas> cas, SessionKey key, std::string field,
             std::shared_ptr<const ValueCas::Step> step, int n, Callback<void> done) {
  SessionStore& inner = *cas->inner;
  inner.load(key, std::nullopt,
             [cas = std::move(cas), key, field = std::move(field), step = std::move(step), n,
              done = std::move(done)](Result<std::optional<SessionRecord>> r) mutable {
               if (!r) return done(r.status());
               if (!r->has_value()) return done(Status(errc::not_found, "no such session"));
               const nlohmann::json& raw = (**r).data;
               const auto it = raw.find(field);
               nlohmann::json stored = it == raw.end() ? nlohmann::json() : *it;
               Result<nlohmann::json> plain = cas->decode(key, std::move(**r));
               if (!plain) return done(plain.status());
               const auto p = plain->find(field);
               Result<SessionPatch> patch = (*step)(p == plain->end() ? nullptr : &*p);
               if (!patch) return done(patch.status());
               Result<SessionPatch> encoded = cas->encode(key, *patch);
               if (!encoded) return done(encoded.status());
               SessionStore& target = *cas->inner;
               target.patch_if(key, PayloadCondition{field, std::move(stored)}, *encoded,
                               [cas, key, field, step, n, done](const Result<void>& w) mutable {
                                 if (w.code() == errc::conflict && n < cas->max_attempts) {
                                   return attempt(std::move(cas), key, std::move(field),
                                                  std::move(step), n + 1, std::move(done));
                                 }
                                 done(w);
                               });
             });
}

}  // namespace

void ValueCas::run(const SessionKey& key, const std::string& field,
                   std::shared_ptr<const Step> step, Callback<void> done) const {
  attempt(std::make_shared<const ValueCas>(*this), key, field, std::move(step), 1, std::move(done));
}

std::shared_ptr<const ValueCas::Step> ValueCas::condition_step(const PayloadCondition& condition,
                                                               const SessionPatch& patch) {
  return std::make_shared<const Step>(
      [condition, patch](const nlohmann::json* current) -> Result<SessionPatch> {
        if (current == nullptr ? !condition.value.is_null() : *current != condition.value) {
          return stores::condition_failed();
        }
        return patch;
      });
}

std::shared_ptr<const ValueCas::Step> ValueCas::increment_step(const std::string& field,
                                                               std::int64_t delta,
                                                               std::optional<TouchSpec> touch,
                                                               std::shared_ptr<std::int64_t> next) {
  return std::make_shared<const Step>([field, delta, touch, next = std::move(next)](
                                          const nlohmann::json* current) -> Result<SessionPatch> {
    nlohmann::json data = nlohmann::json::object();
    if (current != nullptr) data[field] = *current;
    Result<std::int64_t> n = stores::apply_increment(data, field, delta);
    if (!n) return n.status();
    *next = *n;
    SessionPatch p;
    p.set.emplace_back(field, *n);
    p.touch = touch;
    return p;
  });
}

}  // namespace sessionkit::detail
