// CompressedStore: large values compressed at rest over any store. The format and the rules are
// in include/sessionkit/stores/compressed.h.
#include "sessionkit/stores/compressed.h"

#include <stdexcept>
#include <utility>
#include <vector>

#include "crypto/crypto.h"
#include "sessionkit/store_rules.h"
#include "stores/map_values.h"
#include "stores/value_cas.h"
#include "stores/zstd_codec.h"

namespace sessionkit {

namespace {

constexpr std::string_view kPrefix = "z1.";

bool is_encoded(const nlohmann::json& v) {
  return v.is_string() && v.get_ref<const std::string&>().starts_with(kPrefix);
}

// A number stays a number (increment works on it in the inner store; its text is at most ~24
// bytes, which no frame shortens), and so do true, false and null.
bool kept_plain(const nlohmann::json& v) {
  return v.is_number() || v.is_boolean() || v.is_null();
}

Status corrupt(const std::string& what) {
  return {errc::corrupt, "compressed store: " + what};
}

}  // namespace

std::shared_ptr<CompressedStore> CompressedStore::wrap(std::shared_ptr<SessionStore> inner,
                                                       CompressionOptions options) {
  if (!inner) throw std::invalid_argument("CompressedStore: no inner store");
  if (options.level < 1 || options.level > 19) {
    throw std::invalid_argument("CompressedStore: a zstd level outside 1..19");
  }
  if (options.max_bytes == 0) throw std::invalid_argument("CompressedStore: max_bytes of 0");
  return std::shared_ptr<CompressedStore>(new CompressedStore(std::move(inner), options));
}

CompressedStore::CompressedStore(std::shared_ptr<SessionStore> inner, CompressionOptions options)
    : inner_(std::move(inner)), options_(options) {}

// ---------------------------------------------------------------- encoding and decoding

nlohmann::json CompressedStore::encode(const nlohmann::json& value) const {
  const bool ambiguous = is_encoded(value);  // a caller's own "z1." string: always encoded
  if (!ambiguous && options_.threshold == 0) return value;
  if (kept_plain(value)) return value;
  std::string text = stores::dump_payload(value);
  if (!ambiguous && text.size() < options_.threshold) return value;
  const std::string frame = detail::zstd_compress(text, options_.level);
  std::string out(kPrefix);
  out += crypto::base64url_encode(
      std::span(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size()));
  // The JSON string costs its quotes; the plain text is what it would cost as it is.
  if (!ambiguous && options_.only_if_smaller && out.size() + 2 >= text.size()) return value;
  return out;
}

bool CompressedStore::transformed(const nlohmann::json& value) const {
  if (is_encoded(value)) return true;
  if (kept_plain(value)) return false;
  return options_.threshold != 0 && stores::dump_payload(value).size() >= options_.threshold;
}

Result<nlohmann::json> CompressedStore::decode_payload(nlohmann::json data) const {
  if (!data.is_object()) return data;
  for (auto& [name, value] : data.items()) {
    if (!is_encoded(value)) continue;
    const std::string_view body = std::string_view(value.get_ref<const std::string&>()).substr(3);
    std::string frame(body.size() * 3 / 4 + 3, '\0');
    const auto n = crypto::base64url_decode(
        body, std::span(reinterpret_cast<std::uint8_t*>(frame.data()), frame.size()));
    if (!n) return corrupt("value \"" + name + "\" is not base64url");
    frame.resize(*n);
    Result<std::string> text = detail::zstd_decompress(frame, options_.max_bytes);
    if (!text) return corrupt("value \"" + name + "\": " + text.status().message());
    auto parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_discarded()) return corrupt("value \"" + name + "\" is not JSON");
    value = std::move(parsed);
  }
  return data;
}

Result<SessionRecord> CompressedStore::decode(SessionRecord record) const {
  Result<nlohmann::json> data = decode_payload(std::move(record.data));
  if (!data) return data.status();
  record.data = std::move(*data);
  return record;
}

SessionPatch CompressedStore::encode(const SessionPatch& patch) const {
  return detail::map_values(
      patch, [this](const std::string&, const nlohmann::json& value) { return encode(value); });
}

SessionRecord CompressedStore::encode(const SessionRecord& record) const {
  return detail::map_values(
      record, [this](const std::string&, const nlohmann::json& value) { return encode(value); });
}

// ---------------------------------------------------------------- the operations

void CompressedStore::load(const SessionKey& key, std::optional<TouchSpec> touch,
                           Callback<std::optional<SessionRecord>> done) {
  inner_->load(key, touch,
               [self = shared_from_this(),
                done = std::move(done)](Result<std::optional<SessionRecord>> r) mutable {
                 if (!r || !r->has_value()) return done(std::move(r));
                 Result<SessionRecord> record = self->decode(std::move(**r));
                 if (!record) return done(record.status());
                 done(std::optional<SessionRecord>(std::move(*record)));
               });
}

void CompressedStore::create(const SessionKey& key, const SessionRecord& record,
                             Callback<void> done) {
  if (Status st = stores::check_record(record); !st.ok()) return done(std::move(st));
  inner_->create(key, encode(record), std::move(done));
}

void CompressedStore::replace(const SessionKey& key, const SessionRecord& record,
                              Callback<void> done) {
  if (Status st = stores::check_record(record); !st.ok()) return done(std::move(st));
  inner_->replace(key, encode(record), std::move(done));
}

void CompressedStore::patch(const SessionKey& key, const SessionPatch& patch, Callback<void> done) {
  inner_->patch(key, encode(patch), std::move(done));
}

void CompressedStore::patch_if(const SessionKey& key, const PayloadCondition& condition,
                               const SessionPatch& patch, Callback<void> done) {
  detail::ValueCas cas{
      .inner = inner_,
      .decode = [self = shared_from_this()](const SessionKey&, SessionRecord r)
          -> Result<nlohmann::json> { return self->decode_payload(std::move(r.data)); },
      .encode = [self = shared_from_this()](const SessionKey&, const SessionPatch& p)
          -> Result<SessionPatch> { return self->encode(p); },
  };
  auto step = detail::ValueCas::condition_step(condition, patch);
  if (transformed(condition.value)) return cas.run(key, condition.key, step, std::move(done));
  // A value stored as itself compares as itself, in one round trip. A conflict may still be a
  // value stored compressed by a writer with a lower threshold: compare the decoded value then.
  inner_->patch_if(key, condition, encode(patch),
                   [cas, key, field = condition.key, step,
                    done = std::move(done)](const Result<void>& r) mutable {
                     if (r.code() != errc::conflict) return done(r);
                     cas.run(key, field, step, std::move(done));
                   });
}

void CompressedStore::increment(const SessionKey& key, const std::string& field, std::int64_t delta,
                                std::optional<TouchSpec> touch, Callback<std::int64_t> done) {
  // A number is never stored compressed (kept_plain); any other value is not an integer, and the
  // inner store refuses to increment it (invalid_argument) as it would the value itself.
  inner_->increment(key, field, delta, touch, std::move(done));
}

void CompressedStore::touch(const SessionKey& key, TouchSpec touch, Callback<void> done) {
  inner_->touch(key, touch, std::move(done));
}

void CompressedStore::destroy(const SessionKey& key, Callback<bool> done) {
  inner_->destroy(key, std::move(done));
}

void CompressedStore::list_user(const std::string& user_id,
                                Callback<std::vector<StoredSession>> done) {
  inner_->list_user(user_id, [self = shared_from_this(), done = std::move(done)](
                                 Result<std::vector<StoredSession>> r) mutable {
    if (!r) return done(std::move(r));
    for (StoredSession& s : *r) {
      Result<SessionRecord> record = self->decode(std::move(s.record));
      if (!record) return done(record.status());
      s.record = std::move(*record);
    }
    done(std::move(r));
  });
}

void CompressedStore::destroy_user(const std::string& user_id, std::optional<SessionKey> keep,
                                   Callback<std::size_t> done) {
  inner_->destroy_user(user_id, keep, std::move(done));
}

void CompressedStore::count(Callback<std::size_t> done) {
  inner_->count(std::move(done));
}

void CompressedStore::scan(const std::string& cursor, std::size_t limit, Callback<ScanPage> done) {
  inner_->scan(cursor, limit,
               [self = shared_from_this(), done = std::move(done)](Result<ScanPage> r) mutable {
                 if (!r) return done(std::move(r));
                 for (StoredSession& s : r->sessions) {
                   Result<SessionRecord> record = self->decode(std::move(s.record));
                   if (!record) return done(record.status());
                   s.record = std::move(*record);
                 }
                 done(std::move(r));
               });
}

void CompressedStore::purge_expired(std::size_t limit, Callback<std::size_t> done) {
  inner_->purge_expired(limit, std::move(done));
}

void CompressedStore::health(Callback<void> done) {
  inner_->health(std::move(done));
}

}  // namespace sessionkit
