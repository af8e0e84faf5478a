// Internal crypto wrappers: known-answer tests (FIPS 180-2, RFC 4231).
#include "crypto/crypto.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "sessionkit/keyring.h"

#include <atomic>
#include <optional>
#include <random>

#include <string>
#include <thread>
#include <vector>

namespace sessionkit::crypto {
namespace {

std::string hex_of(const Digest& d) {
  return to_hex(d);
}

std::vector<std::uint8_t> repeat(std::uint8_t byte, std::size_t n) {
  return std::vector<std::uint8_t>(n, byte);
}

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(hex_of(sha256(std::string_view(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      hex_of(sha256(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(HmacSha256, Rfc4231) {
  // Test case 1: 20-byte key of 0x0b.
  EXPECT_EQ(hex_of(hmac_sha256(repeat(0x0b, 20), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: short key.
  EXPECT_EQ(hex_of(hmac_sha256(as_bytes("Jefe"), "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: 131-byte key (longer than the block: hashed first).
  EXPECT_EQ(hex_of(hmac_sha256(repeat(0xaa, 131),
                               "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacKey, PartsAreConcatenatedAndStateIsReusable) {
  HmacKey key(as_bytes("Jefe"));
  const std::string_view split[] = {"what do ya ", "", "want for nothing?"};
  const std::string_view whole[] = {"what do ya want for nothing?"};
  for (int i = 0; i < 3; ++i) {  // the precomputed state is not consumed by a MAC
    EXPECT_EQ(hex_of(key.mac(split)),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  EXPECT_EQ(key.mac(split), key.mac(whole));
}

TEST(HmacKey, SharedAcrossThreads) {
  HmacKey key(repeat(0x0b, 20));
  const std::string_view msg[] = {"Hi There"};
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (hex_of(key.mac(msg)) !=
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7") {
          ++wrong;
        }
      }
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(wrong, 0);
}

TEST(Base64Url, RoundTripAndRejects) {
  std::vector<std::uint8_t> raw = {0xfb, 0xff, 0x00, 0x10};
  std::string enc = base64url_encode(raw);
  EXPECT_EQ(enc, "-_8AEA");
  std::array<std::uint8_t, 8> out{};
  auto n = base64url_decode(enc, out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 4u);
  EXPECT_TRUE(std::equal(raw.begin(), raw.end(), out.begin()));
  EXPECT_FALSE(base64url_decode("+/8AEA", out));    // standard alphabet
  EXPECT_FALSE(base64url_decode("-_8AEA==", out));  // padding
  std::array<std::uint8_t, 2> small{};
  EXPECT_FALSE(base64url_decode(enc, small));  // does not fit
  // One spelling per value: no byte outside the alphabet stands in for '_' or anything else.
  for (int b = 0x80; b <= 0xff; ++b) {
    std::string odd = enc;
    odd[1] = static_cast<char>(b);
    EXPECT_FALSE(base64url_decode(odd, out)) << "byte " << b;
  }
  EXPECT_FALSE(base64url_decode(std::string("-_8A\0A", 6), out));
  EXPECT_FALSE(base64url_decode("-_8AEB", out)) << "non-zero trailing bits";
}

TEST(Base64Url, AgreesWithLibsodiumOnEveryLengthAndOnRandomText) {
  std::mt19937 rng(7);
  for (std::size_t len = 0; len <= 130; ++len) {
    std::vector<std::uint8_t> raw(len);
    for (auto& b : raw)
      b = static_cast<std::uint8_t>(rng());
    const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string reference(sodium_base64_ENCODED_LEN(len, variant), '\0');
    sodium_bin2base64(reference.data(), reference.size(), raw.data(), raw.size(), variant);
    reference.resize(reference.size() - 1);
    const std::string mine = base64url_encode(raw);
    ASSERT_EQ(mine, reference) << "length " << len;
    std::vector<std::uint8_t> back(len + 3);
    auto n = base64url_decode(mine, back);
    ASSERT_TRUE(n) << "length " << len;
    ASSERT_EQ(*n, len);
    EXPECT_TRUE(std::equal(raw.begin(), raw.end(), back.begin()));
    if (len > 0) {
      std::vector<std::uint8_t> tight(len - 1);
      EXPECT_FALSE(base64url_decode(mine, tight)) << "does not fit";
    }
  }
  // Random ASCII text: accepted exactly when libsodium accepts it, with the same bytes.
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. ";
  for (int round = 0; round < 20000; ++round) {
    std::string text(rng() % 12, ' ');
    for (auto& c : text)
      c = alphabet[rng() % (round % 3 == 0 ? alphabet.size() : 64)];
    std::array<std::uint8_t, 16> a{}, b{};
    auto mine = base64url_decode(text, a);
    std::size_t len = 0;
    const char* end = nullptr;
    const bool ok = sodium_base642bin(b.data(), b.size(), text.data(), text.size(), nullptr, &len,
                                      &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
                    end == text.data() + text.size();
    ASSERT_EQ(mine.has_value(), ok) << "'" << text << "'";
    if (ok) {
      ASSERT_EQ(*mine, len);
      EXPECT_TRUE(std::equal(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(len), b.begin()));
    }
  }
}

// A plain table-driven decoder as the reference: every byte value at every position of texts
// that span a whole 8-character word and a tail must be accepted exactly when it is in the
// alphabet, and decode to the reference's bytes (the codec maps 8 characters per word).
TEST(Base64Url, EveryByteAtEveryPositionAgreesWithATableDecoder) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::array<int, 256> table;
  table.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i)
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int>(i);
  const auto reference = [&](std::string_view text) -> std::optional<std::vector<std::uint8_t>> {
    std::vector<std::uint8_t> out;
    unsigned bits = 0, acc = 0;
    for (char c : text) {
      const int v = table[static_cast<unsigned char>(c)];
      if (v < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<unsigned>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<std::uint8_t>(acc >> bits));
        acc &= (1u << bits) - 1;
      }
    }
    if (bits >= 6 || acc != 0) return std::nullopt;  // a lone character, or spare bits set
    return out;
  };
  std::mt19937 rng(11);
  for (std::size_t len : {16u, 19u, 22u, 23u}) {  // rests 0, 3, 2, 3; tails of 0, 3, 6, 7
    std::string base(len, 'A');
    for (auto& c : base)
      c = alphabet[rng() % 64];
    if (len % 4 == 2)
      base.back() = alphabet[(table[static_cast<unsigned char>(base.back())] & ~15)];
    if (len % 4 == 3) base.back() = alphabet[(table[static_cast<unsigned char>(base.back())] & ~3)];
    for (std::size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string text = base;
        text[pos] = static_cast<char>(b);
        std::array<std::uint8_t, 32> out{};
        const auto mine = base64url_decode(text, out);
        const auto want = reference(text);
        ASSERT_EQ(mine.has_value(), want.has_value())
            << "length " << len << " pos " << pos << " byte " << b;
        if (want) {
          ASSERT_EQ(*mine, want->size());
          EXPECT_TRUE(std::equal(want->begin(), want->end(), out.begin()));
        }
      }
    }
  }
}

TEST(Base64Url, ASignatureHasExactlyOneAcceptedSpelling) {
  Keyring k = Keyring::parse("0123456789abcdef0123456789abcdef").value();
  const std::string signed_value = k.sign("value", "ctx");
  ASSERT_TRUE(k.verify(signed_value, "ctx"));
  std::size_t accepted = 0;
  for (std::size_t i = signed_value.rfind('.') + 1; i < signed_value.size(); ++i) {
    for (int b = 0; b < 256; ++b) {
      std::string v = signed_value;
      if (static_cast<unsigned char>(v[i]) == b) continue;
      v[i] = static_cast<char>(b);
      if (k.verify(v, "ctx")) ++accepted;
    }
  }
  EXPECT_EQ(accepted, 0u);
}

}  // namespace
}  // namespace sessionkit::crypto
