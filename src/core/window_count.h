// Internal: counts in session records, for the login throttle and the anomaly detector.
//
// A count is a record with no user under a key no session ID can hash to: `counter_key` is a
// SHA-256 over a domain-separated, length-prefixed text. The record lives `window` from its
// first count (the store's own expiry removes it), so the count is a fixed window.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string_view>

#include "sessionkit/store.h"

namespace sessionkit::detail {

// SHA-256 of `domain` followed by "\n<size>:<part>" for each part.
SessionKey counter_key(std::string_view domain, std::initializer_list<std::string_view> parts);

// Adds one to the integer `field` of the record under `key` and answers the new count: 1 when it
// creates the record (at `now`, living `window`), else the atomic `increment`'s answer. Two
// callers racing to create it both count (the loser increments). Store errors are answered.
void count_in_window(const std::shared_ptr<SessionStore>& store, const SessionKey& key,
                     std::string_view field, Time now, Duration window,
                     const Callback<std::int64_t>& done);

}  // namespace sessionkit::detail
