// sessionkit/store.h — the SessionStore interface: the contract every back end implements.
//
// Asynchronous and thread-safe. Every operation takes a completion callback that is called
// EXACTLY ONCE with the result, possibly inline before the call returns (the memory and SQLite
// stores always complete inline; network stores complete on their own threads). Callbacks must
// not block for long and must not throw. No exception crosses this interface.
//
// Results: success carries the value; `errc::not_found` means the target record does not exist
// or has expired; `errc::conflict` means a create found the key taken or a `patch_if` condition
// did not hold; `errc::unavailable` / `errc::timeout` mean the store could not answer — callers
// must never read these as "no session". A miss on `load` is success with an empty optional, not an
// error.
//
// Keys are `SessionKey`s (SHA-256 digests of session IDs): a store never sees a raw ID.
//
// Expiry: a record whose `expires_at` (or `absolute_expires_at`) has passed by the store's clock
// is never returned, patched, incremented or touched; it answers as missing. Stores delete
// expired records themselves (TTL, or `purge_expired`), at a cost proportional to what expired.
//
// No resurrection: `create` is the only operation that brings a key into existence; `patch`,
// `increment`, `replace` and `touch` on a missing key answer `not_found` and write nothing.
//
// No lost updates: `patch` changes only the top-level keys it names, atomically, so two
// concurrent patches of different keys both survive; `increment` is an atomic read-modify-write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sessionkit/clock.h"
#include "sessionkit/record.h"
#include "sessionkit/result.h"
#include "sessionkit/session_id.h"

namespace sessionkit {

template <class T>
using Callback = std::function<void(Result<T>)>;

// A refreshed access time and deadline, written together. Stores never move a deadline past
// the record's absolute deadline: the stored `expires_at` becomes
// min(touch.expires_at, record.absolute_expires_at).
//
// A lazy touch (honoured by `load`; the other operations never receive one): with
// `only_if_accessed_in`, the refresh happens only when the record's current last access lies
// in [from, before) — `before`: not refreshed within the caller's touch interval; `from`: not
// idle past the caller's own idle timeout (the caller then ends the record itself and must
// see its real last access). Outside the window the record is answered as it is. This lets a
// read refresh the access time in its one round trip, and only when that is due.
struct AccessWindow {
  Time from{};
  Time before{};
  bool contains(Time t) const noexcept { return t >= from && t < before; }
};

struct TouchSpec {
  Time last_access{};
  Time expires_at{};
  std::optional<AccessWindow> only_if_accessed_in{};
};

// A change of some top-level keys of a record's payload, applied atomically. `erase` is applied
// after `set`: a key named in both ends up removed.
struct SessionPatch {
  std::vector<std::pair<std::string, nlohmann::json>> set;  // upsert these keys
  std::vector<std::string> erase;                           // remove these keys (missing: fine)
  std::optional<std::string> user_id;                       // rebind ("" unbinds)
  std::optional<Time> auth_at;                              // new authentication time
  std::optional<TouchSpec> touch;                           // refresh access time and deadline
};

// The precondition of `SessionStore::patch_if`: the payload's top-level `key` holds exactly
// `value` (JSON equality: same type and contents; an absent key equals only `null`).
struct PayloadCondition {
  std::string key;
  nlohmann::json value;
};

struct StoredSession {
  SessionKey key;
  SessionRecord record;
};

// One page of a cursor scan. An empty `next_cursor` means the scan is complete.
struct ScanPage {
  std::vector<StoredSession> sessions;
  std::string next_cursor;
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // A short name for logs and metrics ("memory", "sqlite", ...).
  virtual std::string_view name() const noexcept = 0;

  // The record under `key`, or nullopt when missing or expired. With `touch`, the access time
  // and deadline are refreshed in the same step (a lazy touch: only when its window holds the
  // record's last access) and the returned record carries the values as they now are. Network
  // stores do this in one round trip.
  virtual void load(const SessionKey& key, std::optional<TouchSpec> touch,
                    Callback<std::optional<SessionRecord>> done) = 0;

  // Stores a new record. `conflict` if an unexpired record already has this key.
  virtual void create(const SessionKey& key, const SessionRecord& record, Callback<void> done) = 0;

  // Applies `patch` atomically. `not_found` if the record is missing or expired.
  virtual void patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) = 0;

  // Compare-and-swap: applies `patch` exactly as `patch` does, but only while `condition`
  // holds, checked and applied in one atomic step; otherwise answers `conflict` and writes
  // nothing. `not_found` if the record is missing or expired (checked first). Refresh-token
  // rotation (tokens/refresh_tokens.h) is built on it. The default answers `unsupported`: a
  // store supports it by overriding it, and the conformance suite then checks it.
  virtual void patch_if(const SessionKey& /*key*/, const PayloadCondition& /*condition*/,
                        const SessionPatch& /*patch*/, Callback<void> done) {
    const Callback<void> answer = std::move(done);
    answer(Status{errc::unsupported, "this store has no conditional patch"});
  }

  // Atomically adds `delta` to the integer at top-level `field` (a missing field counts as 0)
  // and answers the new value. `not_found` if the record is missing or expired;
  // `invalid_argument` if the field holds a non-integer (nothing is changed then).
  virtual void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                         std::optional<TouchSpec> touch, Callback<std::int64_t> done) = 0;

  // Overwrites the whole record. `not_found` if the record is missing or expired.
  virtual void replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) = 0;

  // Refreshes access time and deadline. `not_found` if the record is missing or expired.
  virtual void touch(const SessionKey& key, TouchSpec touch, Callback<void> done) = 0;

  // Removes the record; answers whether an unexpired record was there.
  virtual void destroy(const SessionKey& key, Callback<bool> done) = 0;

  // Every unexpired session bound to `user_id`. "" means "unbound", not a user: answers none.
  virtual void list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) = 0;

  // Destroys every session bound to `user_id` except `keep` (if given); answers how many
  // unexpired ones it destroyed (expired ones bound to the user are deleted too, uncounted).
  // "" destroys nothing and answers 0.
  virtual void destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                            Callback<std::size_t> done) = 0;

  // Number of stored records (may include expired ones not yet purged).
  virtual void count(Callback<std::size_t> done) = 0;
  // True when `count` walks every record (O(sessions), e.g. Redis SCAN) rather than reading a
  // maintained figure: callers that count often, such as metrics scrapes, should cache it.
  virtual bool count_is_expensive() const noexcept { return false; }

  // Up to `limit` unexpired sessions after `cursor` ("" starts). Sessions that exist for the
  // whole scan are returned exactly once; ones created or removed meanwhile may or may not be.
  // A cursor is opaque and store-specific; a malformed one, or a limit of 0, is
  // `invalid_argument`.
  virtual void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) = 0;

  // Deletes up to `limit` expired records; answers how many were deleted.
  virtual void purge_expired(std::size_t limit, Callback<std::size_t> done) = 0;

  // Success when the store can serve requests now.
  virtual void health(Callback<void> done) = 0;
};

}  // namespace sessionkit
