// EncryptedStore: sealing at rest over any store. The format and the rules are in
// include/sessionkit/stores/encrypted.h.
#include "sessionkit/stores/encrypted.h"

#include <sodium.h>

#include <array>
#include <utility>
#include <vector>

#include "core/fan_in.h"
#include "crypto/crypto.h"
#include "sessionkit/store_rules.h"
#include "stores/map_values.h"
#include "stores/value_cas.h"
#include "stores/zstd_codec.h"

namespace sessionkit {

namespace {

constexpr std::string_view kKeyPurpose = "at-rest:key/1";
constexpr std::string_view kPrefix = "e1.";
constexpr std::size_t kKidChars = 8;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

using Key = std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_KEYBYTES>;

// The associated data of one sealed value: the record's key and what the value is.
std::string ad_of(const SessionKey& key, char kind, std::string_view name) {
  std::string ad = "sessionkit/at-rest/1\n";
  ad += key.hex();
  ad += '\n';
  ad += kind;  // 'v': a payload value named `name`; 'm': record metadata (ip, ua)
  ad += '\n';
  ad += name;
  return ad;
}

bool is_sealed(const nlohmann::json& v) {
  return v.is_string() && v.get_ref<const std::string&>().starts_with(kPrefix);
}

Status corrupt(const std::string& what) {
  return {errc::corrupt, "encrypted store: " + what};
}

}  // namespace

struct EncryptedStore::Keys {
  std::vector<Key> keys;         // newest first
  std::vector<std::string> ids;  // kid of each
  ~Keys() {
    for (Key& k : keys)
      sodium_memzero(k.data(), k.size());
  }

  std::string seal(std::string_view plaintext, const std::string& ad) const {
    std::vector<std::uint8_t> raw(kNonceBytes + plaintext.size() + kTagBytes);
    crypto::random_bytes(std::span(raw).first(kNonceBytes));
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        raw.data() + kNonceBytes, &written,
        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
        reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, raw.data(),
        keys.front().data());
    return std::string(kPrefix) + ids.front() + "." + crypto::base64url_encode(raw);
  }

  // The plaintext and whether it was sealed under an older key; nullopt when it does not open.
  std::optional<std::pair<std::string, bool>> open(std::string_view sealed,
                                                   const std::string& ad) const {
    if (!sealed.starts_with(kPrefix)) return std::nullopt;
    sealed.remove_prefix(kPrefix.size());
    if (sealed.size() < kKidChars + 1 || sealed[kKidChars] != '.') return std::nullopt;
    const std::string_view kid = sealed.substr(0, kKidChars);
    const std::string_view body = sealed.substr(kKidChars + 1);
    std::size_t index = 0;
    while (index < ids.size() && ids[index] != kid)
      ++index;
    if (index == ids.size()) return std::nullopt;
    std::vector<std::uint8_t> raw(body.size() * 3 / 4 + 3);
    const auto n = crypto::base64url_decode(body, raw);
    if (!n || *n < kNonceBytes + kTagBytes) return std::nullopt;
    std::string plain(*n - kNonceBytes - kTagBytes, '\0');
    unsigned long long plain_bytes = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(plain.data()), &plain_bytes, nullptr,
            raw.data() + kNonceBytes, *n - kNonceBytes,
            reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), raw.data(),
            keys[index].data()) != 0) {
      return std::nullopt;
    }
    return std::make_pair(std::move(plain), index > 0);
  }
};

struct EncryptedStore::Opened {
  // A value to re-seal under the newest key: its name in the stored payload, its text there
  // (the compare-and-swap's condition), its plaintext and its associated data.
  struct Stale {
    std::string name;
    nlohmann::json stored;
    std::string plaintext;
    std::string ad;
  };
  SessionRecord record;  // as the caller sees it
  std::vector<Stale> stale;
};

std::shared_ptr<EncryptedStore> EncryptedStore::wrap(std::shared_ptr<SessionStore> inner,
                                                     const Keyring& keyring,
                                                     EncryptedStoreOptions options) {
  if (!inner) throw std::invalid_argument("EncryptedStore: no inner store");
  if (options.compression.level < 1 || options.compression.level > 19) {
    throw std::invalid_argument("EncryptedStore: a zstd level outside 1..19");
  }
  if (options.compression.max_bytes == 0) {
    throw std::invalid_argument("EncryptedStore: compression.max_bytes of 0");
  }
  return std::shared_ptr<EncryptedStore>(
      new EncryptedStore(std::move(inner), keyring, std::move(options)));
}

EncryptedStore::EncryptedStore(std::shared_ptr<SessionStore> inner, const Keyring& keyring,
                               EncryptedStoreOptions options)
    : inner_(std::move(inner)), keys_(std::make_unique<Keys>()), options_(std::move(options)) {
  crypto::init();
  for (std::size_t i = 0; i < keyring.size(); ++i) {
    Keyring::Mac derived = keyring.mac(i, kKeyPurpose, options_.context);
    Key k;
    std::copy(derived.begin(), derived.end(), k.begin());
    sodium_memzero(derived.data(), derived.size());
    const auto digest = crypto::sha256(std::span<const std::uint8_t>(k.data(), k.size()));
    keys_->ids.push_back(crypto::base64url_encode(std::span<const std::uint8_t>(digest.data(), 6)));
    keys_->keys.push_back(k);
    sodium_memzero(k.data(), k.size());
  }
}

EncryptedStore::~EncryptedStore() = default;

// ---------------------------------------------------------------- sealing and opening

// The client address and User-Agent travel sealed in the payload under these reserved names;
// the inner store's own ip and user_agent fields are left empty.
constexpr std::string_view kIpKey = "_sk_at_ip";
constexpr std::string_view kUaKey = "_sk_at_ua";

namespace {

// The names the decorator keeps for itself: a caller may not write them.
bool is_meta_name(std::string_view name) {
  return name == kIpKey || name == kUaKey;
}

Status meta_name_refused(std::string_view name) {
  return {errc::invalid_argument, "encrypted store: \"" + std::string(name) +
                                      "\" is reserved (the sealed address and "
                                      "User-Agent)"};
}

Status check_names(const SessionPatch& patch) {
  for (const auto& [name, value] : patch.set) {
    if (is_meta_name(name)) return meta_name_refused(name);
  }
  for (const auto& name : patch.erase) {
    if (is_meta_name(name)) return meta_name_refused(name);
  }
  return {};
}

}  // namespace

std::string EncryptedStore::seal_value(const SessionKey& key, const std::string& name,
                                       const nlohmann::json& value) const {
  std::string text = stores::dump_payload(value);
  const CompressionOptions& z = options_.compression;
  if (z.threshold != 0 && text.size() >= z.threshold) {
    std::string frame = detail::zstd_compress(text, z.level);
    if (!z.only_if_smaller || frame.size() < text.size()) text = std::move(frame);
  }
  return keys_->seal(text, ad_of(key, 'v', name));
}

Result<SessionRecord> EncryptedStore::seal(const SessionKey& key,
                                           const SessionRecord& record) const {
  if (Status st = stores::check_record(record); !st.ok()) return st;
  for (const auto& [name, value] : record.data.items()) {
    if (is_meta_name(name)) return meta_name_refused(name);
  }
  SessionRecord out =
      detail::map_values(record, [&](const std::string& name, const nlohmann::json& value) {
        return seal_value(key, name, value);
      });
  out.ip.clear();
  out.user_agent.clear();
  if (!record.ip.empty()) out.data[kIpKey] = keys_->seal(record.ip, ad_of(key, 'm', "ip"));
  if (!record.user_agent.empty()) {
    out.data[kUaKey] = keys_->seal(record.user_agent, ad_of(key, 'm', "ua"));
  }
  return out;
}

SessionPatch EncryptedStore::seal(const SessionKey& key, const SessionPatch& patch) const {
  return detail::map_values(patch, [&](const std::string& name, const nlohmann::json& value) {
    return seal_value(key, name, value);
  });
}

Result<EncryptedStore::Opened> EncryptedStore::open(const SessionKey& key,
                                                    SessionRecord record) const {
  Opened out;
  nlohmann::json data = nlohmann::json::object();
  for (auto& [name, value] : record.data.items()) {
    const bool meta = name == kIpKey || name == kUaKey;
    const std::string ad =
        meta ? ad_of(key, 'm', name == kIpKey ? "ip" : "ua") : ad_of(key, 'v', name);
    std::string plaintext;
    if (!is_sealed(value)) {
      if (meta || !options_.plaintext_reads) return corrupt("a value in clear (\"" + name + "\")");
      plaintext = stores::dump_payload(value);
      out.stale.push_back({name, value, plaintext, ad});
      data[name] = std::move(value);
      continue;
    }
    auto opened = keys_->open(value.get_ref<const std::string&>(), ad);
    if (!opened) return corrupt("value \"" + name + "\" does not open with this keyring");
    if (opened->second) out.stale.push_back({name, value, opened->first, ad});
    if (meta) {
      (name == kIpKey ? record.ip : record.user_agent) = std::move(opened->first);
      continue;
    }
    if (detail::is_zstd_frame(opened->first)) {
      Result<std::string> text =
          detail::zstd_decompress(opened->first, options_.compression.max_bytes);
      if (!text) return corrupt("value \"" + name + "\": " + text.status().message());
      opened->first = std::move(*text);
    }
    auto parsed = nlohmann::json::parse(opened->first, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return corrupt("value \"" + name + "\" is not JSON");
    data[name] = std::move(parsed);
  }
  // Written in clear before encryption was turned on: read as they are (they stay in the inner
  // store's fields until the record is replaced or ends).
  if (!options_.plaintext_reads && !record.data.contains(kIpKey) && !record.ip.empty()) {
    return corrupt("the client address in clear");
  }
  if (!options_.plaintext_reads && !record.data.contains(kUaKey) && !record.user_agent.empty()) {
    return corrupt("the User-Agent in clear");
  }
  record.data = std::move(data);
  out.record = std::move(record);
  return out;
}

void EncryptedStore::reseal(const SessionKey& key, const Opened& opened,
                            Callback<std::size_t> done) {
  // One compare-and-swap per stale value: written only while it is still the stale text.
  const std::size_t n = opened.stale.size();
  auto fan = detail::FanIn<std::size_t>::start(
      n, [done = std::move(done)](Result<std::vector<std::size_t>> r) {
        if (!r) return done(r.status());
        std::size_t sum = 0;
        for (std::size_t v : *r)
          sum += v;
        done(sum);
      });
  for (std::size_t i = 0; i < n; ++i) {
    const Opened::Stale& v = opened.stale[i];
    SessionPatch p;
    p.set.emplace_back(v.name, keys_->seal(v.plaintext, v.ad));
    inner_->patch_if(key, PayloadCondition{v.name, v.stored}, p, [fan, i](const Result<void>& r) {
      // A conflict or a vanished record: someone else wrote it since; nothing to do.
      if (r.ok()) return fan->put(i, std::size_t{1});
      if (r.code() == errc::conflict || r.code() == errc::not_found) {
        return fan->put(i, std::size_t{0});
      }
      fan->put(i, Status(r));
    });
  }
}

// ---------------------------------------------------------------- the operations

void EncryptedStore::load(const SessionKey& key, std::optional<TouchSpec> touch,
                          Callback<std::optional<SessionRecord>> done) {
  inner_->load(key, touch,
               [self = shared_from_this(), key,
                done = std::move(done)](Result<std::optional<SessionRecord>> r) mutable {
                 if (!r || !r->has_value()) return done(std::move(r));
                 auto opened = self->open(key, std::move(**r));
                 if (!opened) return done(opened.status());
                 if (!opened->stale.empty()) {
                   self->reseal(key, *opened, [](const Result<std::size_t>&) {});
                 }
                 done(std::optional<SessionRecord>(std::move(opened->record)));
               });
}

void EncryptedStore::create(const SessionKey& key, const SessionRecord& record,
                            Callback<void> done) {
  auto sealed = seal(key, record);
  if (!sealed) return done(sealed.status());
  inner_->create(key, *sealed, std::move(done));
}

void EncryptedStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  if (Status st = check_names(patch); !st.ok()) return done(std::move(st));
  inner_->patch(key, seal(key, patch), std::move(done));
}

void EncryptedStore::replace(const SessionKey& key, const SessionRecord& record,
                             Callback<void> done) {
  auto sealed = seal(key, record);
  if (!sealed) return done(sealed.status());
  inner_->replace(key, *sealed, std::move(done));
}

detail::ValueCas EncryptedStore::value_cas() {
  return detail::ValueCas{
      .inner = inner_,
      .decode = [self = shared_from_this()](const SessionKey& key,
                                            SessionRecord r) -> Result<nlohmann::json> {
        auto opened = self->open(key, std::move(r));
        if (!opened) return opened.status();
        return std::move(opened->record.data);
      },
      .encode = [self = shared_from_this()](const SessionKey& key, const SessionPatch& p)
          -> Result<SessionPatch> { return self->seal(key, p); },
  };
}

void EncryptedStore::patch_if(const SessionKey& key, const PayloadCondition& condition,
                              const SessionPatch& patch, Callback<void> done) {
  if (Status st = check_names(patch); !st.ok()) return done(std::move(st));
  if (is_meta_name(condition.key)) return done(meta_name_refused(condition.key));
  value_cas().run(key, condition.key, detail::ValueCas::condition_step(condition, patch),
                  std::move(done));
}

void EncryptedStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                               std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  if (is_meta_name(field)) return done(meta_name_refused(field));
  auto next = std::make_shared<std::int64_t>(0);
  value_cas().run(key, field, detail::ValueCas::increment_step(field, delta, touch, next),
                  [next, done = std::move(done)](const Result<void>& r) {
                    if (!r) return done(Status(r));
                    done(*next);
                  });
}

void EncryptedStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  inner_->touch(key, touch, std::move(done));
}

void EncryptedStore::destroy(const SessionKey& key, Callback<bool> done) {
  inner_->destroy(key, std::move(done));
}

void EncryptedStore::list_user(const std::string& user_id,
                               Callback<std::vector<StoredSession>> done) {
  inner_->list_user(user_id, [self = shared_from_this(), done = std::move(done)](
                                 Result<std::vector<StoredSession>> r) mutable {
    if (!r) return done(std::move(r));
    for (StoredSession& s : *r) {
      auto opened = self->open(s.key, std::move(s.record));
      if (!opened) return done(opened.status());
      s.record = std::move(opened->record);
    }
    done(std::move(r));
  });
}

void EncryptedStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                                  Callback<std::size_t> done) {
  inner_->destroy_user(user_id, keep, std::move(done));
}

void EncryptedStore::count(Callback<std::size_t> done) {
  inner_->count(std::move(done));
}

void EncryptedStore::scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
  inner_->scan(cursor, limit,
               [self = shared_from_this(), done = std::move(done)](Result<ScanPage> r) mutable {
                 if (!r) return done(std::move(r));
                 for (StoredSession& s : r->sessions) {
                   auto opened = self->open(s.key, std::move(s.record));
                   if (!opened) return done(opened.status());
                   s.record = std::move(opened->record);
                 }
                 done(std::move(r));
               });
}

void EncryptedStore::purge_expired(std::size_t limit, Callback<std::size_t> done) {
  inner_->purge_expired(limit, std::move(done));
}

void EncryptedStore::health(Callback<void> done) {
  inner_->health(std::move(done));
}

// ---------------------------------------------------------------- re-encryption

void EncryptedStore::reencrypt_all(std::size_t page, Callback<std::size_t> done) {
  if (page == 0) return done(Status(errc::invalid_argument, "reencrypt_all: a page of 0"));
  reencrypt_page("", page, 0, std::move(done));
}

void EncryptedStore::reencrypt_page(const std::string& cursor, std::size_t page, std::size_t so_far,
                                    Callback<std::size_t> done) {
  inner_->scan(cursor, page,
               [self = shared_from_this(), page, so_far,
                done = std::move(done)](Result<ScanPage> r) mutable {
                 if (!r) return done(r.status());
                 auto records = std::make_shared<ScanPage>(std::move(*r));
                 auto fan = detail::FanIn<std::size_t>::start(
                     records->sessions.size(),
                     [self, records, page, so_far,
                      done = std::move(done)](Result<std::vector<std::size_t>> counts) mutable {
                       if (!counts) return done(counts.status());
                       std::size_t total = so_far;
                       for (std::size_t c : *counts)
                         total += c;
                       if (records->next_cursor.empty()) return done(total);
                       self->reencrypt_page(records->next_cursor, page, total, std::move(done));
                     });
                 for (std::size_t i = 0; i < records->sessions.size(); ++i) {
                   StoredSession& s = records->sessions[i];
                   auto opened = self->open(s.key, std::move(s.record));
                   if (!opened) {
                     fan->put(i, opened.status());
                     continue;
                   }
                   if (opened->stale.empty()) {
                     fan->put(i, std::size_t{0});
                     continue;
                   }
                   self->reseal(s.key, *opened,
                                [fan, i](Result<std::size_t> n) { fan->put(i, std::move(n)); });
                 }
               });
}

}  // namespace sessionkit
