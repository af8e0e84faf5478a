// sessionkit/stores/compressed.h — CompressedStore: large payload values stored zstd-compressed,
// over any SessionStore, transparent to readers.
//
// A decorator: wrap the store the manager uses (`CompressedStore::wrap(inner)`); what is written
// through it has each top-level payload value whose compact JSON is at least
// `options.threshold` bytes compressed (zstd, `options.level`) when that makes it shorter, and
// stored as the JSON string "z1.<base64url(zstd frame)>"; reads through it answer the values as
// written. Small values, numbers, booleans and null (of any size: `increment` works on the
// stored number), the user id, times, the client address and User-Agent are stored as they are. A
// caller's own string value that begins with "z1." is always stored encoded, so a stored "z1."
// string is never ambiguous.
//
// Each value is compressed on its own (a patch writes only the values it names): a payload of
// many small values gains nothing; one large value (a cart, a cached profile) does. The frame
// records the value's size, and a read refuses (errc::corrupt) a frame that claims, or
// decompresses to, more than `options.max_bytes`: whoever can write to the store cannot make a
// reader allocate without bound.
//
// Turning it on is safe at any time (values stored plain read as they are). Turning it off is
// not: readers without the decorator would see the "z1." strings; keep the decorator with
// `threshold = 0` (write plain, still read compressed values) until the records written with
// it have ended.
//
// With EncryptedStore, do not stack the two: compress inside the encryption with
// `EncryptedStoreOptions::compression` (ciphertext does not compress, and a sealed "z1." string
// would be base64 twice). Read docs/security.md ("Compression and encryption") first: the
// sealed size then follows the compressed size.
//
// Operations keep their contract (the store conformance suite runs through it on memory,
// SQLite, Redis and PostgreSQL). `patch_if` with a condition value that is stored encoded is a
// load and a compare-and-swap on the stored text (two round trips); every other call, increment
// included, is one inner call, as before.
//
// Thread safety: as thread-safe as the inner store. Keep the shared_ptr that wrap answers for as
// long as calls are pending (the manager does).
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "sessionkit/store.h"

namespace sessionkit {

struct CompressionOptions {
  std::size_t threshold = 1024;  // compress values of at least this many bytes (compact JSON);
                                 // 0: write every value plain (reads still decompress)
  int level = 3;                 // zstd level, 1 (fastest) .. 19; 3 is zstd's own default
  std::size_t max_bytes = std::size_t{16} * 1024 * 1024;  // the largest value a read inflates
  bool only_if_smaller = true;  // false: compress every value at or above the threshold even
                                // when that makes it longer (tests; benchmarks)
  static CompressionOptions off() { return CompressionOptions{.threshold = 0}; }
};

class CompressedStore final : public SessionStore,
                              public std::enable_shared_from_this<CompressedStore> {
 public:
  // invalid_argument (thrown) for no inner store, a level outside 1..19 or max_bytes of 0.
  static std::shared_ptr<CompressedStore> wrap(std::shared_ptr<SessionStore> inner,
                                               CompressionOptions options = {});

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

  const std::shared_ptr<SessionStore>& inner() const noexcept { return inner_; }

 private:
  CompressedStore(std::shared_ptr<SessionStore> inner, CompressionOptions options);

  nlohmann::json encode(const nlohmann::json& value) const;
  Result<nlohmann::json> decode_payload(nlohmann::json data) const;
  Result<SessionRecord> decode(SessionRecord record) const;
  SessionPatch encode(const SessionPatch& patch) const;
  SessionRecord encode(const SessionRecord& record) const;
  // Whether `value` is stored as something else than itself.
  bool transformed(const nlohmann::json& value) const;

  std::shared_ptr<SessionStore> inner_;
  CompressionOptions options_;
};

}  // namespace sessionkit
