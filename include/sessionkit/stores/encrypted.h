// sessionkit/stores/encrypted.h — EncryptedStore: payloads, client addresses and User-Agents
// encrypted at rest, over any SessionStore.
//
// A decorator: wrap the store the manager uses (`EncryptedStore::wrap(inner, keyring)`) and
// everything the manager, the login throttle or the refresh tokens write through it is sealed
// before it reaches the inner store, and opened on the way back. The inner store, its backups
// and anyone who can read them (redis-cli, psql, a copy of the SQLite file) see:
//   hidden   every payload value (each top-level value sealed on its own), the client address
//            and the User-Agent a session was created with (sealed into the payload under the
//            reserved names "_sk_at_ip" / "_sk_at_ua", which a caller may not write:
//            invalid_argument; the store's own ip / user_agent fields stay empty);
//   in clear the payload's top-level key names (app-chosen names like "cart", and reserved
//            "_sk_…" ones), the user id (the user index needs it: prefer opaque ids to e-mail
//            addresses), the times (created, last access, deadlines, authentication), the
//            store key (already a SHA-256 of the session ID), and sizes (no padding).
//
// Sealed value: the JSON string "e1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>", XChaCha20-
// Poly1305-IETF (libsodium) over the value's compact JSON, or a zstd frame of it with
// `options.compression` (the address and User-Agent: their text), with a random 24-byte nonce and
// the store key plus the value's name as associated data: a value moved to another name or another
// record does not open (errc::corrupt), so whoever can write to the store cannot swap a victim's
// values for their own. `kid` (8 characters) names the key: one per keyring secret, key[i] =
// keyring.mac(i, "at-rest:key/1", context); `kid` = the first 6 bytes of SHA-256(key[i]) in
// base64url.
//
// Keys rotate with the keyring (SESSION_SECRET=new,old): values are sealed with the newest
// key; any key of the keyring opens them. A record read with values under an older key has
// them re-sealed under the newest at once, in the background, value by value with a compare-
// and-swap (a concurrent write wins), so records in use move to the new key with their next
// request. Before retiring a secret, `reencrypt_all` re-seals whatever was not read since (a
// scan); then the old secret can go. A value under a key the keyring no longer has is
// `corrupt`.
//
// Operations keep their contract (the store conformance suite runs through it on memory,
// SQLite, Redis and PostgreSQL) with these costs: load, create, patch, replace, touch, destroy:
// one inner call as before. `increment` and `patch_if` cannot be done by the inner store on
// sealed values; they are a load and a compare-and-swap on the sealed text (the inner store's
// `patch_if`: every store of this tree), again on a conflict: two round trips instead of one,
// still atomic.
//
// `plaintext_reads` (off by default): payload values written before encryption was turned on
// are read as they are and re-sealed like values under an old key; off, they are `corrupt`.
// The address and User-Agent of such records stay in the store's own fields (read as they are)
// until the record is replaced or ends. To migrate a live store: turn it on, run
// `reencrypt_all`, and turn it off once the absolute timeout has passed.
//
// Thread safety: as thread-safe as the inner store. The EncryptedStore must outlive its
// pending calls (wrap answers a shared_ptr; keep it, as the manager does).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sessionkit/keyring.h"
#include "sessionkit/store.h"
#include "sessionkit/stores/compressed.h"

namespace sessionkit {

namespace detail {
struct ValueCas;
}

struct EncryptedStoreOptions {
  std::string context = "sessionkit";  // separates key sets: stores with different contexts
                                       // under one keyring cannot read each other's values
  bool plaintext_reads = false;        // accept values written before encryption (migration)
  // Values at or above compression.threshold are zstd-compressed before they are sealed (off by
  // default: the sealed size then follows the compressed size; docs/security.md, "Compression
  // and encryption"). Sealed values that hold a zstd frame open with any setting.
  CompressionOptions compression = CompressionOptions::off();
};

class EncryptedStore final : public SessionStore,
                             public std::enable_shared_from_this<EncryptedStore> {
 public:
  static std::shared_ptr<EncryptedStore> wrap(std::shared_ptr<SessionStore> inner,
                                              const Keyring& keyring,
                                              EncryptedStoreOptions options = {});
  ~EncryptedStore() override;

  std::string_view name() const noexcept override { return inner_->name(); }
  void load(const SessionKey& key, std::optional<TouchSpec> touch,
            Callback<std::optional<SessionRecord>> done) override;
  void create(const SessionKey& key, const SessionRecord& record, Callback<void> done) override;
  void patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) override;
  void patch_if(const SessionKey& key, const PayloadCondition& condition, const SessionPatch& patch,
                Callback<void> done) override;
  void increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                 std::optional<TouchSpec> touch, Callback<std::int64_t> done) override;
  void replace(const SessionKey& key, const SessionRecord& record, Callback<void> done) override;
  void touch(const SessionKey& key, TouchSpec touch, Callback<void> done) override;
  void destroy(const SessionKey& key, Callback<bool> done) override;
  void list_user(const std::string& user_id, Callback<std::vector<StoredSession>> done) override;
  void destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                    Callback<std::size_t> done) override;
  void count(Callback<std::size_t> done) override;
  bool count_is_expensive() const noexcept override { return inner_->count_is_expensive(); }
  void scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) override;
  void purge_expired(std::size_t limit, Callback<std::size_t> done) override;
  void health(Callback<void> done) override;

  // Re-seals under the newest key every value of every record that is under an older one (or
  // in clear, with plaintext_reads), page by page (`page` records per scan call), and answers
  // how many values it re-sealed. Safe while the apps run (compare-and-swap per value).
  void reencrypt_all(std::size_t page, Callback<std::size_t> done);

  const std::shared_ptr<SessionStore>& inner() const noexcept { return inner_; }

 private:
  struct Keys;
  EncryptedStore(std::shared_ptr<SessionStore> inner, const Keyring& keyring,
                 EncryptedStoreOptions options);

  struct Opened;
  // The record as the caller sees it, and which of its values need re-sealing.
  Result<Opened> open(const SessionKey& key, SessionRecord record) const;
  Result<SessionRecord> seal(const SessionKey& key, const SessionRecord& record) const;
  SessionPatch seal(const SessionKey& key, const SessionPatch& patch) const;
  // Re-seals the stale values of one record (compare-and-swap each); answers how many.
  void reseal(const SessionKey& key, const Opened& opened, Callback<std::size_t> done);
  // The sealed text of one payload value (compressed first when the options say so).
  std::string seal_value(const SessionKey& key, const std::string& name,
                         const nlohmann::json& value) const;
  // Compare-and-swap on the sealed text of one value (src/stores/value_cas.h), through this.
  detail::ValueCas value_cas();
  void reencrypt_page(const std::string& cursor, std::size_t page, std::size_t so_far,
                      Callback<std::size_t> done);

  std::shared_ptr<SessionStore> inner_;
  std::unique_ptr<Keys> keys_;
  EncryptedStoreOptions options_;
};

}  // namespace sessionkit
