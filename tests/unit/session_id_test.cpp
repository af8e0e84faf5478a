#include "sessionkit/session_id.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

#include "crypto/crypto.h"

namespace sessionkit {
namespace {

TEST(SessionId, FormatIs43Base64UrlChars) {
  for (int i = 0; i < 200; ++i) {
    SessionId id = SessionId::generate();
    ASSERT_EQ(id.str().size(), 43u);
    for (char c : id.str()) {
      ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
    }
    auto parsed = SessionId::parse(id.str());
    ASSERT_TRUE(parsed);
    EXPECT_EQ(*parsed, id);
  }
}

TEST(SessionId, ParseRejectsMalformed) {
  std::string good = SessionId::generate().str();
  EXPECT_FALSE(SessionId::parse(""));
  EXPECT_FALSE(SessionId::parse(good.substr(1)));
  EXPECT_FALSE(SessionId::parse(good + "A"));
  std::string bad = good;
  bad[5] = '+';  // standard base64, not base64url
  EXPECT_FALSE(SessionId::parse(bad));
  bad[5] = '=';
  EXPECT_FALSE(SessionId::parse(bad));
  bad[5] = '\0';
  EXPECT_FALSE(SessionId::parse(bad));
  // 43 chars carry 258 bits; the 2 spare bits must be zero (one canonical form per ID).
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::size_t last = kAlphabet.find(good.back());
  ASSERT_EQ(last % 4, 0u);  // canonical: the 2 low bits of the last sextet are zero
  std::string noncanonical = good;
  noncanonical.back() = kAlphabet[last + 1];
  EXPECT_FALSE(SessionId::parse(noncanonical));
}

TEST(SessionId, NoRepeatsAndBitsLookUniform) {
  // 4096 IDs × 256 bits: each bit position should be set about half the time.
  constexpr int kIds = 4096;
  std::set<std::string> seen;
  std::array<int, 256> ones{};
  for (int i = 0; i < kIds; ++i) {
    SessionId id = SessionId::generate();
    ASSERT_TRUE(seen.insert(id.str()).second);
    std::array<std::uint8_t, 32> raw;
    ASSERT_EQ(crypto::base64url_decode(id.str(), raw), 32u);
    for (int b = 0; b < 256; ++b)
      ones[b] += (raw[b / 8] >> (b % 8)) & 1;
  }
  // Binomial(4096, 0.5): sd = 32; 6 sd = 192 is never hit by a working CSPRNG.
  for (int b = 0; b < 256; ++b) {
    EXPECT_NEAR(ones[b], kIds / 2, 192) << "bit " << b;
  }
}

TEST(SessionKey, IsSha256OfTheId) {
  SessionId id = SessionId::generate();
  SessionKey key = SessionKey::of(id);
  EXPECT_EQ(key.hex(), crypto::to_hex(crypto::sha256(id.str())));
  EXPECT_EQ(key.hex().size(), 64u);
  EXPECT_EQ(key.hex().find(id.str()), std::string::npos);
  EXPECT_EQ(key.hint(), key.hex().substr(0, 8));
  auto back = SessionKey::from_hex(key.hex());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, key);
  EXPECT_FALSE(SessionKey::from_hex("zz"));
  EXPECT_FALSE(SessionKey::from_hex(std::string(64, 'G')));
}

TEST(SessionKey, KnownVector) {
  // SHA-256("abc")
  auto id = SessionId::parse(SessionId::generate().str());
  ASSERT_TRUE(id);
  EXPECT_EQ(crypto::to_hex(crypto::sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace sessionkit
