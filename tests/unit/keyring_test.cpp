#include "sessionkit/keyring.h"

#include <gtest/gtest.h>

namespace sessionkit {
namespace {

Keyring make(std::string_view secrets) {
  auto k = Keyring::parse(secrets);
  EXPECT_TRUE(k.ok()) << k.status().to_string();
  return std::move(k).value();
}

TEST(Keyring, SignsAndVerifies) {
  Keyring k = make("0123456789abcdef0123456789abcdef");
  std::string signed_value = k.sign("hello", "ctx");
  ASSERT_EQ(signed_value.rfind("hello.", 0), 0u);
  EXPECT_EQ(signed_value.size(), 5u + 1 + 43);
  auto v = k.verify(signed_value, "ctx");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "hello");
}

TEST(Keyring, SignatureIsDeterministicPerSecret) {
  EXPECT_EQ(make("a-secret").sign("v", "c"), make("a-secret").sign("v", "c"));
  EXPECT_NE(make("a-secret").sign("v", "c"), make("b-secret").sign("v", "c"));
}

TEST(Keyring, RejectsTamperedValueOrSignature) {
  Keyring k = make("secret-one");
  std::string s = k.sign("value", "ctx");
  std::string bad_value = s;
  bad_value[0] = 'V';
  EXPECT_FALSE(k.verify(bad_value, "ctx"));
  std::string bad_sig = s;
  bad_sig.back() = bad_sig.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(k.verify(bad_sig, "ctx"));
  EXPECT_FALSE(k.verify(s.substr(0, s.size() - 1), "ctx"));
  EXPECT_FALSE(k.verify("value", "ctx"));
  EXPECT_FALSE(k.verify("", "ctx"));
  EXPECT_FALSE(k.verify(".", "ctx"));
  EXPECT_FALSE(k.verify(s + "=", "ctx"));
}

TEST(Keyring, ContextSeparatesPurposes) {
  Keyring k = make("secret-one");
  EXPECT_FALSE(k.verify(k.sign("value", "cookie:sid"), "cookie:other"));
  // Moving bytes between context and value must not produce a valid signature.
  EXPECT_FALSE(k.verify(k.sign("bvalue", "a"), "ab"));
}

TEST(Keyring, RotationSignsWithNewestAcceptsAll) {
  Keyring old_only = make("old-secret");
  Keyring rotated = make("new-secret,old-secret");
  Keyring new_only = make("new-secret");
  std::string by_old = old_only.sign("id", "c");
  EXPECT_TRUE(rotated.verify(by_old, "c"));
  EXPECT_FALSE(new_only.verify(by_old, "c"));
  EXPECT_EQ(rotated.sign("id", "c"), new_only.sign("id", "c"));
  // verify_detailed says which secret signed: 0 = newest.
  auto old_match = rotated.verify_detailed(by_old, "c");
  ASSERT_TRUE(old_match.has_value());
  EXPECT_EQ(old_match->value, "id");
  EXPECT_EQ(old_match->key_index, 1u);
  auto new_match = rotated.verify_detailed(rotated.sign("id", "c"), "c");
  ASSERT_TRUE(new_match.has_value());
  EXPECT_EQ(new_match->key_index, 0u);
  EXPECT_FALSE(rotated.verify_detailed(by_old + "x", "c").has_value());
}

TEST(Keyring, ParseValidates) {
  EXPECT_FALSE(Keyring::parse("").ok());
  EXPECT_FALSE(Keyring::parse("a,,b").ok());
  EXPECT_FALSE(Keyring::parse("a, ").ok());
  auto k = Keyring::parse(" first , second ");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->size(), 2u);
  EXPECT_EQ(k->shortest_secret(), 5u);
  EXPECT_EQ(k->sign("x", "c"), make("first").sign("x", "c"));
  EXPECT_EQ(Keyring::from_secrets({}).code(), errc::invalid_argument);
}

TEST(Keyring, EphemeralKeyringsDiffer) {
  Keyring a = Keyring::ephemeral();
  Keyring b = Keyring::ephemeral();
  EXPECT_GE(a.shortest_secret(), Keyring::kMinSecretBytes);
  EXPECT_FALSE(b.verify(a.sign("x", "c"), "c"));
}

}  // namespace
}  // namespace sessionkit
