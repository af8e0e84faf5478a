// libFuzzer target: EncryptedStore's and CompressedStore's opening of what a store holds
// (stores/encrypted.h, stores/compressed.h), over a memory store.
//
// The first byte picks what the rest of the input is:
//   0  a stored payload (JSON text): put as it is under a key, then loaded through the
//      decorator (with and without plaintext_reads);
//   1  the sealed text of one value after "e1.<kid>." with this keyring's kid, so the input
//      reaches the base64url decoder and the AEAD;
//   2  a payload written through the decorator: it must read back equal, every value sealed.
//   3  the bytes of a zstd frame, stored as a value "z1.<base64url(input)>", then loaded
//      through CompressedStore (a 1 MiB inflation limit);
//   4  a payload written through CompressedStore and through EncryptedStore with compression,
//      every value compressed: it must read back as a plain store answers it.
// Checks, for any input: no crash, no sanitizer report; what opens is a record whose values
// re-seal (re-compress) and open to the same record; what does not open is `corrupt`, never
// another error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/crypto.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/stores/compressed.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/memory.h"

namespace {

using namespace sessionkit;

void check(bool ok) {
  if (!ok) std::abort();
}

struct World {
  ManualClock clock;
  std::shared_ptr<MemoryStore> memory =
      std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock});
  Keyring keyring = Keyring::parse("at-rest-fuzz-secret-0123456789abcdef").value();
  std::shared_ptr<EncryptedStore> strict = EncryptedStore::wrap(memory, keyring);
  std::shared_ptr<EncryptedStore> lenient =
      EncryptedStore::wrap(memory, keyring, {.plaintext_reads = true});
  std::shared_ptr<CompressedStore> compressed =
      CompressedStore::wrap(memory, {.threshold = 1, .max_bytes = 1 << 20});
  std::shared_ptr<CompressedStore> always = CompressedStore::wrap(
      memory, {.threshold = 1, .max_bytes = 1 << 20, .only_if_smaller = false});
  std::shared_ptr<EncryptedStore> sealed_zstd = EncryptedStore::wrap(
      memory, keyring,
      {.compression = {.threshold = 1, .max_bytes = 1 << 20, .only_if_smaller = false}});
  SessionKey key = SessionKey::of(SessionId::generate());
  SessionKey other = SessionKey::of(SessionId::generate());
  std::string kid;

  World() {
    SessionRecord r = base();
    r.data = {{"v", 1}};
    check(BlockingStore(*strict).create(key, r).ok());
    const SessionRecord raw = BlockingStore(*memory).load(key).value().value();
    kid = raw.data["v"].get<std::string>().substr(0, 12);  // "e1.<kid>."
    check(BlockingStore(*memory).destroy(key).ok());
  }
  SessionRecord base() const {
    SessionRecord r;
    r.start(clock.now(), std::chrono::hours(1), std::chrono::hours(2));
    r.user_id = "u";
    return r;
  }
};

World& world() {
  static World w;
  return w;
}

// Loads `key` through `store`: answers the record, or checks that the refusal is `corrupt`.
std::optional<SessionRecord> open(SessionStore& store, const SessionKey& key) {
  auto r = BlockingStore(store).load(key);
  if (!r.ok()) {
    check(r.code() == errc::corrupt);
    return std::nullopt;
  }
  check(r->has_value());
  return **r;
}

// What opened re-seals under another key and opens to the same record.
void round_trip(World& w, const SessionRecord& opened) {
  check(BlockingStore(*w.strict).create(w.other, opened).ok());
  auto again = open(*w.strict, w.other);
  check(again.has_value() && *again == opened);
  check(BlockingStore(*w.memory).destroy(w.other).ok());
}

// Writes `raw` through `store` and reads it back: what a plain store answers for it.
void written_through(World& w, SessionStore& store, const SessionRecord& raw) {
  if (!BlockingStore(store).create(w.key, raw).ok()) return;
  auto opened = open(store, w.key);
  check(opened.has_value());
  check(BlockingStore(*w.memory).destroy(w.key).ok());
  check(BlockingStore(*w.memory).create(w.key, raw).ok());
  auto plain = BlockingStore(*w.memory).load(w.key).value();
  check(plain.has_value() && plain->data == opened->data);
  check(BlockingStore(*w.memory).destroy(w.key).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  World& w = world();
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  SessionRecord raw = w.base();
  switch (data[0] % 5) {
    case 0: {
      auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) return 0;
      raw.data = std::move(j);
      break;
    }
    case 1:
      raw.data = {{"v", w.kid + std::string(in)}};
      break;
    case 3: {
      raw.data = {{"v", "z1." + crypto::base64url_encode(std::span(
                                    reinterpret_cast<const std::uint8_t*>(in.data()), in.size()))},
                  {"n", 1}};
      check(BlockingStore(*w.memory).create(w.key, raw).ok());
      if (auto opened = open(*w.compressed, w.key)) {
        check(BlockingStore(*w.always).create(w.other, *opened).ok());
        auto again = open(*w.compressed, w.other);
        check(again.has_value() && *again == *opened);
        check(BlockingStore(*w.memory).destroy(w.other).ok());
      }
      check(BlockingStore(*w.memory).destroy(w.key).ok());
      return 0;
    }
    case 4: {
      auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) return 0;
      raw.data = std::move(j);
      written_through(w, *w.always, raw);
      written_through(w, *w.sealed_zstd, raw);
      return 0;
    }
    default: {
      auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object()) return 0;
      raw.data = std::move(j);
      raw.ip = "198.51.100.7";
      const Status created = BlockingStore(*w.strict).create(w.key, raw);
      if (created.ok()) {
        auto opened = open(*w.strict, w.key);
        // Through the decorator: the very record back (invalid UTF-8 is repaired by the memory
        // store as by every store, so compare what a plain store would answer).
        check(opened.has_value());
        check(BlockingStore(*w.memory).destroy(w.key).ok());
        check(BlockingStore(*w.memory).create(w.key, raw).ok());
        auto plain = BlockingStore(*w.memory).load(w.key).value();
        check(plain.has_value() && plain->data == opened->data && opened->ip == raw.ip);
      }
      (void)BlockingStore(*w.memory).destroy(w.key);
      return 0;
    }
  }
  if (!BlockingStore(*w.memory).create(w.key, raw).ok()) return 0;
  for (EncryptedStore* store : {w.strict.get(), w.lenient.get()}) {
    if (auto opened = open(*store, w.key)) round_trip(w, *opened);
  }
  check(BlockingStore(*w.memory).destroy(w.key).ok());
  return 0;
}
