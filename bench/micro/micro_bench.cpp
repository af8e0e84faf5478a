// Micro-benchmarks of sessionkit's hot paths (Google Benchmark). See bench/README.md.
//
// Every store here is a MemoryStore with a ManualClock that never advances: nothing expires and
// no lazy touch is ever due, so the manager benchmarks measure the steady-state request path.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sessionkit/cookie_sealer.h"
#include "sessionkit/events.h"
#include "sessionkit/http/cookie.h"
#include "sessionkit/keyring.h"
#include "sessionkit/manager.h"
#include "sessionkit/record.h"
#include "sessionkit/session.h"
#include "sessionkit/session_id.h"
#include "sessionkit/store.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/memory.h"
#include "sessionkit/tokens/access_token.h"
#include "sessionkit/tokens/signing_keys.h"
#include "support/http_fakes.h"
#include "tokens/jose.h"  // internal: the signature-only benchmark

namespace sk = sessionkit;
using sk::testing::FakeRequest;
using sk::testing::FakeResponse;

namespace {

const std::string kSecretA = "benchmark-secret-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kSecretB = "benchmark-secret-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string kSecretC = "benchmark-secret-cccccccccccccccccccccccccccccccccccccccc";
constexpr std::string_view kCookieContext = "cookie:sid";  // what the manager signs "sid" with

template <class T>
T must(sk::Result<T> r) {
  if (!r.ok()) throw std::runtime_error(r.status().to_string());
  return std::move(r).value();
}

// A realistic browser Cookie header: analytics, preferences, consent, and the session cookie
// in the middle (4th of 6).
std::string cookie_header(const std::string& signed_sid) {
  return "_ga=GA1.2.1843029172.1700000000; theme=dark; lang=en-US; sid=" + signed_sid +
         "; _gid=GA1.2.2039481123.1700086400; consent=%7B%22ads%22%3Afalse%2C%22stats%22%3Atrue%7D";
}

sk::SessionRecord record_with(nlohmann::json data, sk::Time now) {
  sk::SessionRecord r;
  r.created_at = now;
  r.last_access = now;
  r.expires_at = now + std::chrono::minutes(30);
  r.absolute_expires_at = now + std::chrono::hours(12);
  r.auth_at = now;
  r.user_id = "alice";
  r.ip = "203.0.113.7";
  r.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0";
  r.data = std::move(data);
  return r;
}

nlohmann::json small_payload() {
  return {{"user", "alice"}, {"visits", 42}};
}

// About 1 kB of encoded payload: a cart, preferences and some navigation state.
nlohmann::json large_payload() {
  nlohmann::json cart = nlohmann::json::array();
  for (int i = 0; i < 8; ++i) {
    cart.push_back({{"sku", "SKU-" + std::to_string(100000 + i * 7919)},
                    {"qty", i % 3 + 1},
                    {"price_cents", 1999 + i * 250},
                    {"title", "Item number " + std::to_string(i)}});
  }
  return {{"user", "alice"},
          {"visits", 42},
          {"cart", cart},
          {"prefs", {{"theme", "dark"}, {"lang", "en-US"}, {"tz", "Europe/Berlin"}}},
          {"last_page", "/account/orders?page=3&sort=date_desc"},
          {"flash", "Your order #10492 has shipped."}};
}

// ---- 1. cookie parsing ----

void BM_FindCookie(benchmark::State& state) {
  const std::string header =
      cookie_header(sk::Keyring::from_secrets({kSecretA})
                        .value()
                        .sign(sk::SessionId::generate().str(), kCookieContext));
  for (auto _ : state) {
    auto v = sk::http::find_cookie(header, "sid");
    benchmark::DoNotOptimize(v);
  }
  state.SetLabel(std::to_string(header.size()) + " B header, 6 cookies");
}
BENCHMARK(BM_FindCookie);

// ---- 2. signature verification ----

void BM_KeyringVerify(benchmark::State& state) {
  const auto secrets = static_cast<int>(state.range(0));
  // The cookie is signed with the OLDEST secret, so the match is the last one tried.
  std::vector<std::string> all = {kSecretA, kSecretB, kSecretC};
  all.resize(static_cast<std::size_t>(secrets));
  const sk::Keyring ring = must(sk::Keyring::from_secrets(all));
  const sk::Keyring signer = must(sk::Keyring::from_secrets({all.back()}));
  const std::string value = signer.sign(sk::SessionId::generate().str(), kCookieContext);
  if (!ring.verify(value, kCookieContext)) throw std::runtime_error("verify failed");
  for (auto _ : state) {
    auto v = ring.verify(value, kCookieContext);
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_KeyringVerify)->ArgName("secrets")->Arg(1)->Arg(3);

// ---- 2b. sealed (encrypted) cookie values ----

// 200 bytes: the start of an encoded small session record (padded if it were shorter).
const std::string& sealer_plaintext() {
  static const std::string p = [] {
    std::string s = sk::encode_record(record_with(small_payload(), sk::ManualClock().now()));
    s.resize(200, ' ');
    return s;
  }();
  return p;
}

void BM_CookieSeal(benchmark::State& state) {
  const sk::CookieSealer sealer(must(sk::Keyring::from_secrets({kSecretA})), "cookie:sid");
  const std::string& plaintext = sealer_plaintext();
  for (auto _ : state) {
    auto sealed = sealer.seal(plaintext);
    benchmark::DoNotOptimize(sealed);
  }
  state.SetLabel(std::to_string(plaintext.size()) + " B plaintext, " +
                 std::to_string(sk::CookieSealer::sealed_size(plaintext.size())) + " B sealed");
}
BENCHMARK(BM_CookieSeal);

void BM_CookieOpen(benchmark::State& state) {
  const auto secrets = static_cast<int>(state.range(0));
  // Sealed with the OLDEST secret, so the match is the last key tried.
  std::vector<std::string> all = {kSecretA, kSecretB, kSecretC};
  all.resize(static_cast<std::size_t>(secrets));
  const sk::CookieSealer sealer(must(sk::Keyring::from_secrets(all)), "cookie:sid");
  const sk::CookieSealer oldest(must(sk::Keyring::from_secrets({all.back()})), "cookie:sid");
  const std::string sealed = must(oldest.seal(sealer_plaintext()));
  if (!sealer.open(sealed)) throw std::runtime_error("open failed");
  for (auto _ : state) {
    auto opened = sealer.open(sealed);
    benchmark::DoNotOptimize(opened);
  }
  state.SetLabel(std::to_string(sealed.size()) + " B sealed");
}
BENCHMARK(BM_CookieOpen)->ArgName("secrets")->Arg(1)->Arg(3);

// ---- 3. IDs and keys ----

void BM_SessionIdGenerate(benchmark::State& state) {
  for (auto _ : state) {
    sk::SessionId id = sk::SessionId::generate();
    benchmark::DoNotOptimize(id);
  }
}
BENCHMARK(BM_SessionIdGenerate);

void BM_SessionKeyOf(benchmark::State& state) {
  const sk::SessionId id = sk::SessionId::generate();
  for (auto _ : state) {
    sk::SessionKey key = sk::SessionKey::of(id);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_SessionKeyOf);

// ---- 4. record codec ----

const sk::SessionRecord& codec_record(bool large) {
  static const sk::SessionRecord small = record_with(small_payload(), sk::ManualClock().now());
  static const sk::SessionRecord big = record_with(large_payload(), sk::ManualClock().now());
  return large ? big : small;
}

void BM_EncodeRecord(benchmark::State& state) {
  const sk::SessionRecord& record = codec_record(state.range(0) != 0);
  for (auto _ : state) {
    std::string s = sk::encode_record(record);
    benchmark::DoNotOptimize(s);
  }
  state.SetLabel(std::to_string(sk::encode_record(record).size()) + " B encoded");
}
BENCHMARK(BM_EncodeRecord)->ArgName("large")->Arg(0)->Arg(1);

void BM_DecodeRecord(benchmark::State& state) {
  const std::string encoded = sk::encode_record(codec_record(state.range(0) != 0));
  for (auto _ : state) {
    auto r = sk::decode_record(encoded);
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(std::to_string(encoded.size()) + " B encoded");
}
BENCHMARK(BM_DecodeRecord)->ArgName("large")->Arg(0)->Arg(1);

// ---- 5-7. manager on a memory store ----

// A manager over a MemoryStore, with one committed, logged-in session.
struct ManagerFixture {
  sk::ManualClock clock;
  std::shared_ptr<sk::MemoryStore> store;
  std::unique_ptr<sk::SessionManager> manager;
  std::string cookie;  // the request's Cookie header

  // `extra_bytes`: one more value of that many bytes in the payload (payload-size scaling).
  explicit ManagerFixture(std::size_t extra_bytes = 0) {
    store = std::make_shared<sk::MemoryStore>(sk::MemoryStoreOptions{.clock = &clock});
    manager = std::make_unique<sk::SessionManager>(
        store, must(sk::Keyring::from_secrets({kSecretA})), sk::SessionOptions::development(),
        sk::SessionManager::Dependencies{&clock, sk::make_null_sink(), nullptr, nullptr});
    sk::Session s = load(FakeRequest());
    s.set_user("alice");
    s.regenerate();
    s.set("user", "alice");
    s.set("visits", 0);
    if (extra_bytes > 0) s.set("blob", std::string(extra_bytes, 'x'));
    FakeResponse res;
    commit(s, res);
    auto pair = res.set_cookie_pair("sid");
    if (!pair) throw std::runtime_error("no session cookie was set");
    cookie = cookie_header(pair->substr(4));
  }

  sk::Session load(const FakeRequest& req) {
    std::optional<sk::Result<sk::Session>> out;
    manager->load(req, [&](sk::Result<sk::Session> r) { out.emplace(std::move(r)); });
    if (!out || !out->ok()) throw std::runtime_error("load failed");
    return std::move(*out).value();
  }

  void commit(sk::Session& s, FakeResponse& res) {
    bool ok = false;
    manager->commit(s, res, [&](sk::Status st) { ok = st.ok(); });
    if (!ok) throw std::runtime_error("commit failed");
  }

  static ManagerFixture& get() { return with_payload(0); }
  static ManagerFixture& with_payload(std::size_t extra_bytes) {
    static std::map<std::size_t, std::unique_ptr<ManagerFixture>> fixtures;
    auto& f = fixtures[extra_bytes];
    if (!f) f = std::make_unique<ManagerFixture>(extra_bytes);
    return *f;
  }
};

void BM_CsrfToken(benchmark::State& state) {
  ManagerFixture& f = ManagerFixture::get();
  sk::Session s = f.load(FakeRequest(f.cookie));
  if (!s.is_stored()) throw std::runtime_error("session not loaded");
  FakeResponse res;
  for (auto _ : state) {
    std::string token = f.manager->csrf_token(s, res);
    benchmark::DoNotOptimize(token);
  }
}
BENCHMARK(BM_CsrfToken);

void BM_VerifyCsrf(benchmark::State& state) {
  ManagerFixture& f = ManagerFixture::get();
  sk::Session s = f.load(FakeRequest(f.cookie));
  FakeResponse res;
  const std::string token = f.manager->csrf_token(s, res);
  if (!f.manager->verify_csrf(s, token)) throw std::runtime_error("csrf does not verify");
  for (auto _ : state) {
    bool ok = f.manager->verify_csrf(s, token);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_VerifyCsrf);

// Read path: load an unmodified logged-in session and commit it (no write, no touch due).
// `bytes`: one more value of that size in the payload (0, 1 kB, 16 kB): how the cost grows.
void BM_ManagerReadPath(benchmark::State& state) {
  ManagerFixture& f = ManagerFixture::with_payload(static_cast<std::size_t>(state.range(0)));
  const FakeRequest req(f.cookie);
  for (auto _ : state) {
    sk::Session s = f.load(req);
    FakeResponse res;
    f.commit(s, res);
    benchmark::DoNotOptimize(res.headers_.data());
  }
}
BENCHMARK(BM_ManagerReadPath)
    ->ArgName("bytes")
    ->Arg(0)
    ->Arg(1024)
    ->Arg(16384)
    ->Unit(benchmark::kMicrosecond);

// Write path: load, atomically increment a counter in the store, commit.
void BM_ManagerWritePath(benchmark::State& state) {
  ManagerFixture& f = ManagerFixture::with_payload(static_cast<std::size_t>(state.range(0)));
  const FakeRequest req(f.cookie);
  for (auto _ : state) {
    sk::Session s = f.load(req);
    std::int64_t visits = 0;
    f.manager->increment(s, "visits", 1, [&](sk::Result<std::int64_t> r) {
      if (r.ok()) visits = *r;
    });
    FakeResponse res;
    f.commit(s, res);
    benchmark::DoNotOptimize(visits);
    benchmark::DoNotOptimize(res.headers_.data());
  }
}
BENCHMARK(BM_ManagerWritePath)
    ->ArgName("bytes")
    ->Arg(0)
    ->Arg(1024)
    ->Arg(16384)
    ->Unit(benchmark::kMicrosecond);

// ---- 6. MemoryStore at 1k and 1M sessions ----

// Uniformly spread keys without the cost of SHA-256 (splitmix64 of a counter).
sk::SessionKey synthetic_key(std::uint64_t n) {
  sk::SessionKey::Bytes bytes{};
  std::uint64_t x = n * 4;
  for (std::size_t word = 0; word < 4; ++word) {
    std::uint64_t z = (x++ + 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    std::memcpy(bytes.data() + word * 8, &z, 8);
  }
  return sk::SessionKey(bytes);
}

struct StoreFixture {
  sk::ManualClock clock;
  sk::MemoryStore store{sk::MemoryStoreOptions{.clock = &clock}};
  std::vector<sk::SessionKey> keys;

  explicit StoreFixture(std::size_t n) {
    const sk::SessionRecord record = record_with(small_payload(), clock.now());
    keys.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      keys.push_back(synthetic_key(i));
      bool ok = false;
      store.create(keys.back(), record, [&](sk::Status st) { ok = st.ok(); });
      if (!ok) throw std::runtime_error("create failed");
    }
  }

  // Sessions are created once per size and kept for the whole run.
  static StoreFixture& with(std::size_t n) {
    static std::map<std::size_t, std::unique_ptr<StoreFixture>> fixtures;
    auto& f = fixtures[n];
    if (!f) f = std::make_unique<StoreFixture>(n);
    return *f;
  }

  // Visits every key in a scattered order, like independent requests would.
  const sk::SessionKey& next(std::uint64_t& i) const {
    return keys[(i++ * 2654435761ULL) % keys.size()];
  }
};

void BM_MemoryStoreLoad(benchmark::State& state) {
  StoreFixture& f = StoreFixture::with(static_cast<std::size_t>(state.range(0)));
  std::uint64_t i = 0;
  for (auto _ : state) {
    bool found = false;
    f.store.load(f.next(i), std::nullopt, [&](sk::Result<std::optional<sk::SessionRecord>> r) {
      found = r.ok() && r->has_value();
      benchmark::DoNotOptimize(r);
    });
    if (!found) {
      state.SkipWithError("record not found");
      break;
    }
  }
}
BENCHMARK(BM_MemoryStoreLoad)
    ->ArgName("sessions")
    ->Arg(1000)
    ->Arg(1000000)
    ->Unit(benchmark::kMicrosecond);

// The same load and patch through an EncryptedStore over a memory store of 1000 sessions
// (stores/encrypted.h): the cost of sealing at rest, `payload` small (2 values, plus the sealed
// address and User-Agent) or large (about 1 kB in 5 values).
struct EncryptedFixture {
  sk::ManualClock clock;
  std::shared_ptr<sk::MemoryStore> memory =
      std::make_shared<sk::MemoryStore>(sk::MemoryStoreOptions{.clock = &clock});
  std::shared_ptr<sk::EncryptedStore> store = sk::EncryptedStore::wrap(
      memory, sk::Keyring::parse("bench-at-rest-secret-0123456789abcdef").value());
  std::vector<sk::SessionKey> keys;

  explicit EncryptedFixture(bool large) {
    sk::SessionRecord record = record_with(large ? large_payload() : small_payload(), clock.now());
    record.ip = "198.51.100.7";
    record.user_agent = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    for (std::size_t i = 0; i < 1000; ++i) {
      keys.push_back(synthetic_key(i));
      bool ok = false;
      store->create(keys.back(), record, [&](sk::Status st) { ok = st.ok(); });
      if (!ok) throw std::runtime_error("create failed");
    }
  }
  static EncryptedFixture& with(bool large) {
    static EncryptedFixture small(false), big(true);
    return large ? big : small;
  }
  const sk::SessionKey& next(std::uint64_t& i) const {
    return keys[(i++ * 2654435761ULL) % keys.size()];
  }
};

void BM_EncryptedStoreLoad(benchmark::State& state) {
  EncryptedFixture& f = EncryptedFixture::with(state.range(0) != 0);
  std::uint64_t i = 0;
  for (auto _ : state) {
    bool found = false;
    f.store->load(f.next(i), std::nullopt, [&](sk::Result<std::optional<sk::SessionRecord>> r) {
      found = r.ok() && r->has_value();
      benchmark::DoNotOptimize(r);
    });
    if (!found) {
      state.SkipWithError("record not found");
      break;
    }
  }
}
BENCHMARK(BM_EncryptedStoreLoad)->ArgName("large")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_EncryptedStorePatch(benchmark::State& state) {
  EncryptedFixture& f = EncryptedFixture::with(false);
  sk::SessionPatch patch;
  patch.set.emplace_back("visits", 0);
  std::uint64_t i = 0;
  for (auto _ : state) {
    patch.set.front().second = static_cast<std::int64_t>(i);
    bool ok = false;
    f.store->patch(f.next(i), patch, [&](sk::Status st) { ok = st.ok(); });
    if (!ok) {
      state.SkipWithError("patch failed");
      break;
    }
  }
}
BENCHMARK(BM_EncryptedStorePatch)->Unit(benchmark::kMicrosecond);

void BM_MemoryStorePatch(benchmark::State& state) {
  StoreFixture& f = StoreFixture::with(static_cast<std::size_t>(state.range(0)));
  sk::SessionPatch patch;
  patch.set.emplace_back("visits", 0);
  std::uint64_t i = 0;
  for (auto _ : state) {
    patch.set.front().second = static_cast<std::int64_t>(i);
    bool ok = false;
    f.store.patch(f.next(i), patch, [&](sk::Status st) { ok = st.ok(); });
    if (!ok) {
      state.SkipWithError("patch failed");
      break;
    }
  }
}
BENCHMARK(BM_MemoryStorePatch)
    ->ArgName("sessions")
    ->Arg(1000)
    ->Arg(1000000)
    ->Unit(benchmark::kMicrosecond);

// replace (the encode path of create and replace: the whole payload is checked for invalid
// UTF-8 and encoded) of one of 1000 sessions of its own; `bytes`: one more value of that size.
void BM_MemoryStoreReplace(benchmark::State& state) {
  static StoreFixture f(1000);  // not shared: the other benchmarks keep their small records
  nlohmann::json payload = small_payload();
  if (state.range(0) > 0)
    payload["blob"] = std::string(static_cast<std::size_t>(state.range(0)), 'x');
  const sk::SessionRecord record = record_with(std::move(payload), f.clock.now());
  std::uint64_t i = 0;
  for (auto _ : state) {
    bool ok = false;
    f.store.replace(f.next(i), record, [&](sk::Status st) { ok = st.ok(); });
    if (!ok) {
      state.SkipWithError("replace failed");
      break;
    }
  }
}
BENCHMARK(BM_MemoryStoreReplace)
    ->ArgName("bytes")
    ->Arg(0)
    ->Arg(1024)
    ->Arg(16384)
    ->Unit(benchmark::kMicrosecond);

// ---- 8. JWT access tokens (sessionkit/tokens) ----
// Sign and verify per algorithm (arg 0: EdDSA, 1: ES256), and the bare Ed25519 check the
// EdDSA verification is built on: issue 15 asks that verifying an EdDSA token cost no more
// than crypto_sign_verify_detached plus about 1 µs.

struct TokenBench {
  sk::ManualClock clock;
  sk::tokens::KeyRing ring{clock};
  std::optional<sk::tokens::AccessTokens> tokens;
  explicit TokenBench(sk::tokens::Algorithm alg) {
    must(ring.rotate(alg, "bench-key"));
    sk::tokens::AccessTokenOptions o;
    o.issuer = "https://issuer.example";
    o.audience = "https://api.example";
    tokens.emplace(must(sk::tokens::AccessTokens::create(ring, o)));
  }
  static sk::tokens::Algorithm alg_of(const benchmark::State& state) {
    return state.range(0) == 0 ? sk::tokens::Algorithm::eddsa : sk::tokens::Algorithm::es256;
  }
};

void BM_AccessTokenIssue(benchmark::State& state) {
  TokenBench b(TokenBench::alg_of(state));
  const sk::tokens::AccessTokenClaims claims{"alice", "0123456789abcdef0123456789abcdef", {}};
  for (auto _ : state)
    benchmark::DoNotOptimize(must(b.tokens->issue(claims)));
}
BENCHMARK(BM_AccessTokenIssue)->ArgName("es256")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_AccessTokenVerify(benchmark::State& state) {
  TokenBench b(TokenBench::alg_of(state));
  const std::string token =
      must(b.tokens->issue({"alice", "0123456789abcdef0123456789abcdef", {}})).token;
  for (auto _ : state)
    benchmark::DoNotOptimize(must(b.tokens->verify(token)));
  state.SetLabel(std::to_string(token.size()) + " bytes");
}
BENCHMARK(BM_AccessTokenVerify)->ArgName("es256")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// The signature check alone, on the very token BM_AccessTokenVerify verifies, through the same
// key object: `verify` minus this is everything verification adds (split, base64url, the header,
// the claims and their checks). Issue 15 asks for about 1 µs on EdDSA.
void BM_AccessTokenSignatureOnly(benchmark::State& state) {
  namespace jose = sk::tokens::jose;
  TokenBench b(TokenBench::alg_of(state));
  const std::string token =
      must(b.tokens->issue({"alice", "0123456789abcdef0123456789abcdef", {}})).token;
  const auto parts = jose::split(token).value();
  const std::string signature = jose::b64url_decode(parts.signature).value();
  const auto key = b.ring.find("bench-key").value();
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        key.verify(parts.signing_input,
                   {reinterpret_cast<const std::uint8_t*>(signature.data()), signature.size()}));
  }
}
BENCHMARK(BM_AccessTokenSignatureOnly)
    ->ArgName("es256")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMicrosecond);

// The signature check alone, on a message of an access token's size.
void BM_Ed25519VerifyDetached(benchmark::State& state) {
  if (sodium_init() < 0) throw std::runtime_error("sodium_init");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk_[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk_);
  const std::string message(280, 'm');
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), sk_);
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto_sign_verify_detached(
        sig, reinterpret_cast<const unsigned char*>(message.data()), message.size(), pk));
  }
}
BENCHMARK(BM_Ed25519VerifyDetached)->Unit(benchmark::kMicrosecond);

}  // namespace
