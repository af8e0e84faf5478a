// CookieSealer: round trips, rotation, context separation, tampering, size limits, and the key
// derivation (checked against a value built by hand with libsodium).
#include "sessionkit/cookie_sealer.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/crypto.h"

namespace sessionkit {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kContext = "cookie:sid";
constexpr std::string_view kOld = "old-secret-0123456789abcdef0123456789";
constexpr std::string_view kNew = "new-secret-0123456789abcdef0123456789";

Keyring make(std::string_view secrets) {
  auto k = Keyring::parse(secrets);
  EXPECT_TRUE(k.ok()) << k.status().to_string();
  return std::move(k).value();
}

std::string seal_ok(const CookieSealer& s, std::string_view plaintext) {
  auto r = s.seal(plaintext);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? *r : std::string();
}

std::vector<std::uint8_t> decode(std::string_view text) {
  std::vector<std::uint8_t> raw(text.size());
  auto n = crypto::base64url_decode(text, raw);
  EXPECT_TRUE(n.has_value()) << text;
  raw.resize(n.value_or(0));
  return raw;
}

// A sealed value built by hand: version ‖ nonce ‖ XChaCha20-Poly1305(plaintext, ad) under `key`.
std::string seal_by_hand(std::span<const std::uint8_t> key, std::uint8_t version,
                         std::string_view ad, std::string_view plaintext) {
  EXPECT_EQ(key.size(), crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
  std::vector<std::uint8_t> raw(1 + 24 + plaintext.size() + 16);
  raw[0] = version;
  crypto::random_bytes(std::span(raw).subspan(1, 24));
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      raw.data() + 25, &written, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
      raw.data() + 1, key.data());
  EXPECT_EQ(written, plaintext.size() + 16);
  return crypto::base64url_encode(raw);
}

std::string ad_for(std::uint8_t version, std::string_view context) {
  return std::string(1, static_cast<char>(version)) + std::string(context);
}

std::string binary_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i)
    s.push_back(static_cast<char>(i));
  s += std::string("\0\0\xff\0", 4);
  return s;
}

TEST(CookieSealer, RoundTripsEmptyBinaryAndText) {
  CookieSealer s(make(kNew), std::string(kContext));
  for (const std::string& p :
       {std::string(), binary_bytes(), std::string(R"({"v":1,"user":"alice"})")}) {
    const std::string sealed = seal_ok(s, p);
    EXPECT_EQ(sealed.size(), CookieSealer::sealed_size(p.size()));
    EXPECT_EQ(sealed.find_first_not_of(kAlphabet), std::string::npos) << sealed;
    auto o = s.open(sealed);
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->plaintext, p);
    EXPECT_EQ(o->key_index, 0u);
  }
}

TEST(CookieSealer, FormatIsVersionNonceCiphertextTag) {
  CookieSealer s(make(kNew), std::string(kContext));
  const std::string p = "twelve bytes";
  const auto raw = decode(seal_ok(s, p));
  ASSERT_EQ(raw.size(), 1 + 24 + p.size() + 16);
  EXPECT_EQ(raw[0], 1);
  EXPECT_EQ(CookieSealer::kOverheadBytes, 41u);
  // The plaintext does not appear in the clear.
  const std::string raw_text(raw.begin(), raw.end());
  EXPECT_EQ(raw_text.find(p), std::string::npos);
}

TEST(CookieSealer, FreshNonceForEverySeal) {
  CookieSealer s(make(kNew), std::string(kContext));
  const std::string a = seal_ok(s, "same plaintext");
  const std::string b = seal_ok(s, "same plaintext");
  EXPECT_NE(a, b);
  const auto ra = decode(a);
  const auto rb = decode(b);
  ASSERT_EQ(ra.size(), rb.size());
  EXPECT_FALSE(std::equal(ra.begin() + 1, ra.begin() + 25, rb.begin() + 1));
  EXPECT_EQ(s.open(a)->plaintext, "same plaintext");
  EXPECT_EQ(s.open(b)->plaintext, "same plaintext");
}

TEST(CookieSealer, RotationOpensWithOlderKeyAndRetires) {
  CookieSealer old_only(make(kOld), std::string(kContext));
  CookieSealer rotated(make(std::string(kNew) + "," + std::string(kOld)), std::string(kContext));
  CookieSealer new_only(make(kNew), std::string(kContext));
  const std::string by_old = seal_ok(old_only, "record");

  auto o = rotated.open(by_old);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->plaintext, "record");
  EXPECT_EQ(o->key_index, 1u);  // re-seal with the newest key
  EXPECT_FALSE(new_only.open(by_old).has_value());

  // The rotated sealer seals with the newest key: the new keyring alone opens it.
  const std::string resealed = seal_ok(rotated, o->plaintext);
  auto n = new_only.open(resealed);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->key_index, 0u);
  EXPECT_EQ(rotated.open(resealed)->key_index, 0u);
  EXPECT_FALSE(old_only.open(resealed).has_value());
}

TEST(CookieSealer, ContextSeparatesValues) {
  const Keyring k = make(kNew);
  CookieSealer a(k, "cookie:a");
  CookieSealer b(k, "cookie:b");
  const std::string sealed = seal_ok(a, "value");
  EXPECT_TRUE(a.open(sealed).has_value());
  EXPECT_FALSE(b.open(sealed).has_value());
  EXPECT_FALSE(CookieSealer(k, "cookie:a ").open(sealed).has_value());
  EXPECT_FALSE(CookieSealer(k, "").open(sealed).has_value());
}

TEST(CookieSealer, DifferentSecretRejects) {
  CookieSealer a(make(kNew), std::string(kContext));
  CookieSealer b(Keyring::ephemeral(), std::string(kContext));
  EXPECT_FALSE(b.open(seal_ok(a, "value")).has_value());
}

TEST(CookieSealer, EverySingleCharacterChangeIsRejected) {
  CookieSealer s(make(kNew), std::string(kContext));
  const std::string sealed = seal_ok(s, "a session record");
  ASSERT_TRUE(s.open(sealed).has_value());
  std::size_t tried = 0;
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    for (char c : kAlphabet) {
      if (c == sealed[i]) continue;
      std::string t = sealed;
      t[i] = c;
      EXPECT_FALSE(s.open(t).has_value()) << "position " << i << " set to " << c;
      ++tried;
    }
    for (char c : std::string_view("=+/. \0\x80", 7)) {
      std::string t = sealed;
      t[i] = c;
      EXPECT_FALSE(s.open(t).has_value()) << "position " << i << " set to byte " << int(c);
    }
  }
  EXPECT_EQ(tried, sealed.size() * 63);
}

TEST(CookieSealer, EverySingleBitFlipOfTheRawBytesIsRejected) {
  CookieSealer s(make(kNew), std::string(kContext));
  const auto raw = decode(seal_ok(s, "a session record"));
  for (std::size_t i = 0; i < raw.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto t = raw;
      t[i] ^= static_cast<std::uint8_t>(1u << bit);
      EXPECT_FALSE(s.open(crypto::base64url_encode(t)).has_value())
          << "byte " << i << " bit " << bit;
    }
  }
  EXPECT_TRUE(s.open(crypto::base64url_encode(raw)).has_value());
}

TEST(CookieSealer, TruncationAndExtensionAreRejected) {
  CookieSealer s(make(kNew), std::string(kContext));
  const std::string sealed = seal_ok(s, "a session record");
  for (std::size_t len = 0; len < sealed.size(); ++len) {
    EXPECT_FALSE(s.open(sealed.substr(0, len)).has_value()) << "prefix of " << len;
    EXPECT_FALSE(s.open(sealed.substr(sealed.size() - len)).has_value()) << "suffix of " << len;
  }
  for (std::string_view extra : {"A", "AA", "AAA", "AAAA", "=", "==", " ", "\n"}) {
    EXPECT_FALSE(s.open(sealed + std::string(extra)).has_value()) << "+" << extra;
  }
  // Whole raw bytes dropped from the end (the tag) or added.
  auto raw = decode(sealed);
  raw.pop_back();
  EXPECT_FALSE(s.open(crypto::base64url_encode(raw)).has_value());
  raw.push_back(0);
  raw.push_back(0);
  EXPECT_FALSE(s.open(crypto::base64url_encode(raw)).has_value());
}

TEST(CookieSealer, NonBase64IsRejected) {
  CookieSealer s(make(kNew), std::string(kContext));
  std::string sealed;  // one with both URL-safe characters (nearly always the first)
  for (int i = 0;
       i < 20 && (sealed.find('-') == std::string::npos || sealed.find('_') == std::string::npos);
       ++i)
    sealed = seal_ok(s, std::string(300, 'x'));
  ASSERT_NE(sealed.find('-'), std::string::npos);
  std::string standard = sealed;  // the standard alphabet instead of the URL-safe one
  for (char& c : standard)
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  EXPECT_FALSE(s.open(standard).has_value());
  EXPECT_FALSE(s.open("").has_value());
  EXPECT_FALSE(s.open(std::string(100, '!')).has_value());
  EXPECT_FALSE(s.open(std::string(100, '\0')).has_value());
  EXPECT_FALSE(s.open(std::string(99, 'A') + "=").has_value());
  EXPECT_FALSE(s.open(" " + sealed).has_value());
  std::string spaced = sealed;
  spaced.insert(spaced.size() / 2, " ");
  EXPECT_FALSE(s.open(spaced).has_value());
  // libsodium 1.0.18 decodes any byte >= 0x80 as '_': such spellings must not open.
  ASSERT_NE(sealed.find('_'), std::string::npos);
  for (int high = 0x80; high <= 0xff; ++high) {
    std::string t = sealed;
    for (char& c : t)
      if (c == '_') c = static_cast<char>(high);
    EXPECT_FALSE(s.open(t).has_value()) << high;
  }
  // Valid base64 of the right shape but random bytes.
  EXPECT_FALSE(s.open(std::string(sealed.size(), 'A')).has_value());
}

TEST(CookieSealer, WrongVersionIsRejected) {
  const Keyring k = make(kNew);
  CookieSealer s(k, std::string(kContext));
  auto raw = decode(seal_ok(s, "record"));
  for (std::uint8_t v : {0, 2, 0x81, 0xff}) {
    auto t = raw;
    t[0] = v;
    EXPECT_FALSE(s.open(crypto::base64url_encode(t)).has_value()) << int(v);
  }
  // Even a self-consistent value of another version (version 2 in the header and in the
  // associated data, under the right key) is rejected: the version is checked, not only bound.
  const Keyring::Mac key = k.mac(0, "cookie-store:key/1", kContext);
  EXPECT_TRUE(s.open(seal_by_hand(key, 1, ad_for(1, kContext), "record")).has_value());
  EXPECT_FALSE(s.open(seal_by_hand(key, 2, ad_for(2, kContext), "record")).has_value());
}

TEST(CookieSealer, KeyIsDerivedNeverTheSecretOrASignature) {
  // A 32-byte secret could serve as a key as it is: it must not.
  const std::string secret = "0123456789abcdef0123456789abcdef";
  ASSERT_EQ(secret.size(), 32u);
  const Keyring k = make(secret);
  CookieSealer s(k, std::string(kContext));
  const std::string ad = ad_for(1, kContext);

  // The documented derivation opens (this pins it: changing it breaks existing cookies).
  const Keyring::Mac derived = k.mac(0, "cookie-store:key/1", kContext);
  auto o = s.open(seal_by_hand(derived, 1, ad, "hand-made"));
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->plaintext, "hand-made");

  EXPECT_FALSE(s.open(seal_by_hand(crypto::as_bytes(secret), 1, ad, "x")).has_value());
  // Neither the cookie-signing MAC nor an HMAC of the context under other purposes.
  const Keyring::Mac signing = k.mac(0, kContext, "");
  EXPECT_FALSE(s.open(seal_by_hand(signing, 1, ad, "x")).has_value());
  const Keyring::Mac swapped = k.mac(0, kContext, "cookie-store:key/1");
  EXPECT_FALSE(s.open(seal_by_hand(swapped, 1, ad, "x")).has_value());
  const Keyring::Mac plain_hmac = crypto::hmac_sha256(crypto::as_bytes(secret), kContext);
  EXPECT_FALSE(s.open(seal_by_hand(plain_hmac, 1, ad, "x")).has_value());
  // The key of another context does not open this one, even with this context's AD.
  const Keyring::Mac other = k.mac(0, "cookie-store:key/1", "cookie:other");
  EXPECT_FALSE(s.open(seal_by_hand(other, 1, ad, "x")).has_value());
  // The associated data is version ‖ context: without the context it does not open.
  EXPECT_FALSE(s.open(seal_by_hand(derived, 1, std::string(1, '\1'), "x")).has_value());
  EXPECT_FALSE(s.open(seal_by_hand(derived, 1, std::string(kContext), "x")).has_value());
}

TEST(CookieSealer, SealedSizeMatchesTheOutput) {
  CookieSealer s(make(kNew), std::string(kContext));
  EXPECT_EQ(CookieSealer::sealed_size(0), 55u);  // base64url of 41 bytes
  EXPECT_EQ(CookieSealer::sealed_size(1), 56u);
  EXPECT_EQ(CookieSealer::sealed_size(2), 58u);
  for (std::size_t n = 0; n < 200; ++n) {
    EXPECT_EQ(seal_ok(s, std::string(n, 'x')).size(), CookieSealer::sealed_size(n)) << n;
  }
  EXPECT_EQ(CookieSealer::sealed_size(SIZE_MAX), SIZE_MAX);
  EXPECT_EQ(CookieSealer::sealed_size(SIZE_MAX - 41), SIZE_MAX);
  EXPECT_EQ(CookieSealer::sealed_size(SIZE_MAX / 4 * 3), SIZE_MAX);
  // Large but representable: exact, not saturated.
  EXPECT_EQ(CookieSealer::sealed_size(SIZE_MAX / 2),
            (SIZE_MAX / 2 + 41) / 3 * 4);  // 41 + SIZE_MAX / 2 is a multiple of 3
}

TEST(CookieSealer, TooLargeExactlyAtTheLimit) {
  CookieSealer s(make(kNew), std::string(kContext));
  EXPECT_EQ(s.max_sealed_bytes(), 3800u);
  // 3800 characters of base64 hold 2850 bytes; minus 41 bytes of overhead.
  EXPECT_EQ(s.max_plaintext_bytes(), 2809u);
  const std::string fits(2809, 'p');
  const std::string sealed = seal_ok(s, fits);
  EXPECT_EQ(sealed.size(), 3800u);
  auto o = s.open(sealed);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->plaintext, fits);

  auto r = s.seal(fits + "p");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), errc::too_large);
  EXPECT_NE(r.message().find("3802"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("3800"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find("2809"), std::string::npos) << r.message();
  EXPECT_EQ(s.seal(std::string(100000, 'p')).code(), errc::too_large);
}

TEST(CookieSealer, CustomLimitsAtEveryRemainder) {
  const Keyring k = make(kNew);
  // Limits with every remainder mod 4, and limits below the smallest sealed value.
  for (std::size_t limit = 40; limit < 80; ++limit) {
    CookieSealer s(k, std::string(kContext), limit);
    EXPECT_EQ(s.max_sealed_bytes(), limit);
    if (limit < CookieSealer::sealed_size(0)) {
      EXPECT_EQ(s.seal("").code(), errc::too_large) << limit;
      continue;
    }
    const std::size_t max = s.max_plaintext_bytes();
    EXPECT_LE(CookieSealer::sealed_size(max), limit);
    EXPECT_GT(CookieSealer::sealed_size(max + 1), limit);
    const std::string sealed = seal_ok(s, std::string(max, 'm'));
    EXPECT_TRUE(s.open(sealed).has_value()) << limit;
    EXPECT_EQ(s.seal(std::string(max + 1, 'm')).code(), errc::too_large) << limit;
  }
}

TEST(CookieSealer, OversizeInputIsRejectedBeforeDecoding) {
  const Keyring k = make(kNew);
  CookieSealer big(k, std::string(kContext));
  CookieSealer small(k, std::string(kContext), 200);
  const std::string sealed = seal_ok(big, std::string(1000, 'z'));
  EXPECT_TRUE(big.open(sealed).has_value());
  EXPECT_FALSE(small.open(sealed).has_value());  // a genuine value, but over the limit
  EXPECT_FALSE(big.open(std::string(1u << 20, 'A')).has_value());
}

TEST(CookieSealer, CopiesShareKeysAndOutliveTheOriginal) {
  std::optional<CookieSealer> copy;
  std::string sealed;
  {
    CookieSealer original(make(kNew), std::string(kContext), 1000);
    sealed = seal_ok(original, "kept");
    copy = original;
  }
  EXPECT_EQ(copy->max_sealed_bytes(), 1000u);
  auto o = copy->open(sealed);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->plaintext, "kept");
}

TEST(CookieSealer, ConcurrentSealAndOpen) {
  const CookieSealer s(make(std::string(kNew) + "," + std::string(kOld)), std::string(kContext));
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string p = std::to_string(t) + ":" + std::to_string(i);
        auto sealed = s.seal(p);
        auto o = sealed.ok() ? s.open(*sealed) : std::nullopt;
        if (!o || o->plaintext != p || o->key_index != 0) ++failures[t];
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace sessionkit
