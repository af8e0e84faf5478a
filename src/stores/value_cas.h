// value_cas.h — a compare-and-swap on one payload value for decorators whose stored values are
// a transform of the caller's (internal; EncryptedStore seals them, CompressedStore may
// compress them).
//
// The inner store cannot compare or add to transformed values, so `patch_if` and `increment`
// become: load the record, decode it, run `step` on the field's decoded value (nullptr: absent)
// to get the plain patch to write (or an error to answer), encode that patch, and write it with
// the inner store's `patch_if` on the field's stored text — written only while that text is
// unchanged; on a conflict (another writer's success) everything is read again, at most
// `max_attempts` times. Two round trips instead of one, still atomic.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "sessionkit/store.h"

namespace sessionkit::detail {

struct ValueCas {
  // The payload as the caller sees it, from a record as stored.
  using Decode = std::function<Result<nlohmann::json>(const SessionKey&, SessionRecord)>;
  // A plain patch as it is to be stored.
  using Encode = std::function<Result<SessionPatch>(const SessionKey&, const SessionPatch&)>;
  // The decoded value of the field (nullptr: absent) → the plain patch to write.
  using Step = std::function<Result<SessionPatch>(const nlohmann::json* current)>;

  std::shared_ptr<SessionStore> inner;  // kept alive until `done`
  Decode decode;
  Encode encode;
  int max_attempts = 1000;  // each conflict is another writer's success

  void run(const SessionKey& key, const std::string& field, std::shared_ptr<const Step> step,
           Callback<void> done) const;

  // The step of `patch_if`: `patch` when the field equals `condition.value` (an absent field
  // equals only null), else `conflict`.
  static std::shared_ptr<const Step> condition_step(const PayloadCondition& condition,
                                                    const SessionPatch& patch);
  // The step of `increment`: writes the field's value plus `delta` (with `touch`) and leaves
  // the new value in `*next`.
  static std::shared_ptr<const Step> increment_step(const std::string& field, std::int64_t delta,
                                                    std::optional<TouchSpec> touch,
                                                    std::shared_ptr<std::int64_t> next);
};

}  // namespace sessionkit::detail
