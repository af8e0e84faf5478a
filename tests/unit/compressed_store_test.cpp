// CompressedStore (sessionkit/stores/compressed.h) and EncryptedStore's compression over the
// memory store: what the inner store holds, the threshold and the only-if-smaller rule, a
// caller's own "z1." strings, values written before, what a reader refuses (a frame that
// inflates past the limit, bad base64, trailing bytes, not JSON) without losing the record,
// conditional patches on compressed values, and compression inside the encryption. The whole
// store contract through it is checked by the conformance suite (CompressedMemory,
// CompressedSqlite, CompressedRedis, CompressedPostgres, EncryptedCompressedMemory).
#include "sessionkit/stores/compressed.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "sessionkit/blocking_store.h"
#include "sessionkit/stores/encrypted.h"
#include "sessionkit/stores/memory.h"
#include "stores/zstd_codec.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;

// A cart of `items` lines: repetitive JSON, as real payloads are.
nlohmann::json cart(int items) {
  nlohmann::json lines = nlohmann::json::array();
  for (int i = 0; i < items; ++i) {
    lines.push_back({{"sku", "SKU-" + std::to_string(1000 + i)},
                     {"name", "Blue cotton shirt, size M"},
                     {"qty", 1 + i % 3},
                     {"price_cents", 2599}});
  }
  return {{"lines", lines}, {"currency", "EUR"}};
}

// `n` bytes that do not compress (base64url of random bytes).
std::string noise(std::size_t n) {
  std::vector<std::uint8_t> bytes(n);
  std::mt19937 rng(7);
  for (auto& b : bytes)
    b = static_cast<std::uint8_t>(rng());
  return crypto::base64url_encode(bytes).substr(0, n);
}

std::string z1(std::string_view frame) {
  return "z1." + crypto::base64url_encode(
                     std::span(reinterpret_cast<const std::uint8_t*>(frame.data()), frame.size()));
}

class CompressedStoreTest : public ::testing::Test {
 protected:
  SessionRecord record(nlohmann::json data) {
    SessionRecord r;
    r.start(clock_.now(), 30min, 12h);
    r.user_id = "alice";
    r.ip = "198.51.100.7";
    r.user_agent = "Agent/1.0";
    r.data = std::move(data);
    return r;
  }
  nlohmann::json raw(const std::string& name) {
    const SessionRecord r = BlockingStore(*memory_).load(key_).value().value_or(SessionRecord{});
    return r.data.contains(name) ? r.data[name] : nlohmann::json();
  }
  static SessionPatch sets(std::vector<std::pair<std::string, nlohmann::json>> values) {
    SessionPatch p;
    p.set = std::move(values);
    return p;
  }

  ManualClock clock_;
  std::shared_ptr<MemoryStore> memory_ =
      std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_});
  const SessionKey key_ = SessionKey::of(SessionId::generate());
};

TEST_F(CompressedStoreTest, LargeValuesAreStoredCompressedAndReadBackWhole) {
  auto store = CompressedStore::wrap(memory_);  // threshold 1 kB
  const SessionRecord written = record({{"cart", cart(100)}, {"visits", 2}, {"name", "alice"}});
  ASSERT_TRUE(BlockingStore(*store).create(key_, written).ok());
  const nlohmann::json stored = raw("cart");
  const std::size_t plain = cart(100).dump().size();
  ASSERT_GT(plain, 1024u);
  ASSERT_TRUE(stored.is_string() && stored.get<std::string>().starts_with("z1.")) << stored;
  EXPECT_LT(stored.get<std::string>().size() * 5, plain) << "repetitive JSON: at least 5x smaller";
  EXPECT_EQ(raw("visits"), 2) << "small values stay as they are";
  EXPECT_EQ(raw("name"), "alice");
  EXPECT_EQ(BlockingStore(*store).load(key_).value(), written);
  // The same through patch, replace, list_user and scan.
  ASSERT_TRUE(BlockingStore(*store).patch(key_, sets({{"saved", cart(50)}})).ok());
  EXPECT_TRUE(raw("saved").get<std::string>().starts_with("z1."));
  const auto listed = BlockingStore(*store).list_user("alice").value();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].record.data["saved"], cart(50));
  const auto page = BlockingStore(*store).scan("", 10).value();
  ASSERT_EQ(page.sessions.size(), 1u);
  EXPECT_EQ(page.sessions[0].record.data["cart"], cart(100));
  SessionRecord replaced = written;
  replaced.data["cart"] = cart(200);
  ASSERT_TRUE(BlockingStore(*store).replace(key_, replaced).ok());
  EXPECT_TRUE(raw("cart").get<std::string>().starts_with("z1."));
  EXPECT_EQ(BlockingStore(*store).load(key_).value()->data["cart"], cart(200));
}

TEST_F(CompressedStoreTest, ThresholdAndOnlyIfSmaller) {
  auto store = CompressedStore::wrap(memory_, {.threshold = 4096});
  const nlohmann::json medium = cart(20);  // about 1.5 kB: under this threshold
  ASSERT_LT(medium.dump().size(), 4096u);
  const std::string random = noise(8192);  // over it, but does not compress
  ASSERT_TRUE(
      BlockingStore(*store).create(key_, record({{"medium", medium}, {"random", random}})).ok());
  EXPECT_EQ(raw("medium"), medium);
  EXPECT_EQ(raw("random"), random) << "stored as it is: compressed it would be longer";
  // only_if_smaller = false compresses it anyway, and it still reads back.
  auto always = CompressedStore::wrap(memory_, {.threshold = 1, .only_if_smaller = false});
  ASSERT_TRUE(BlockingStore(*always).patch(key_, sets({{"random", random}, {"n", 1}})).ok());
  EXPECT_TRUE(raw("random").get<std::string>().starts_with("z1."));
  EXPECT_EQ(raw("n"), 1) << "a number is never compressed: increment works on it";
  EXPECT_EQ(BlockingStore(*always).increment(key_, "n", 2).value(), 3);
  EXPECT_EQ(BlockingStore(*store).load(key_).value()->data["random"], random);
  EXPECT_EQ(BlockingStore(*store).load(key_).value()->data["n"], 3);
}

TEST_F(CompressedStoreTest, ACallersOwnZ1StringIsNeverAmbiguous) {
  auto store = CompressedStore::wrap(memory_);
  const std::string own = "z1.not-a-frame";
  ASSERT_TRUE(BlockingStore(*store).create(key_, record({{"code", own}})).ok());
  EXPECT_NE(raw("code"), own) << "stored encoded although short";
  EXPECT_EQ(BlockingStore(*store).load(key_).value()->data["code"], own);
  // A condition on it compares the caller's value.
  ASSERT_TRUE(BlockingStore(*store).patch_if(key_, {"code", own}, sets({{"code", 1}})).ok());
  EXPECT_EQ(raw("code"), 1);
}

TEST_F(CompressedStoreTest, ValuesWrittenBeforeReadAsTheyAreAndThresholdZeroStillReads) {
  // Written without the decorator: read through it unchanged.
  const SessionRecord before = record({{"cart", cart(100)}, {"n", 1}});
  ASSERT_TRUE(BlockingStore(*memory_).create(key_, before).ok());
  auto store = CompressedStore::wrap(memory_);
  EXPECT_EQ(BlockingStore(*store).load(key_).value(), before);
  // Written compressed, then read by a decorator that no longer compresses.
  ASSERT_TRUE(BlockingStore(*store).patch(key_, sets({{"cart", cart(120)}})).ok());
  auto off = CompressedStore::wrap(memory_, CompressionOptions::off());
  EXPECT_EQ(BlockingStore(*off).load(key_).value()->data["cart"], cart(120));
  ASSERT_TRUE(BlockingStore(*off).patch(key_, sets({{"cart", cart(130)}})).ok());
  EXPECT_EQ(raw("cart"), cart(130)) << "threshold 0 writes plain";
}

TEST_F(CompressedStoreTest, WhatAReaderRefusesIsCorruptAndTheRecordStays) {
  auto store = CompressedStore::wrap(memory_, {.max_bytes = 1024 * 1024});
  const std::string big(2 * 1024 * 1024, 'a');  // 2 MiB of JSON text inflating from ~100 bytes
  const std::string bomb = detail::zstd_compress("\"" + big + "\"", 3);
  ASSERT_LT(bomb.size(), 1000u);
  std::string trailing = detail::zstd_compress("1", 3) + "xx";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"inflates past max_bytes", z1(bomb)},
      {"not base64url", "z1.***"},
      {"not a frame", z1("hello world")},
      {"trailing bytes", z1(trailing)},
      {"not JSON", z1(detail::zstd_compress("{nope", 3))},
      {"truncated", z1(detail::zstd_compress(std::string(5000, 'x'), 3).substr(0, 12))},
  };
  for (const auto& [what, stored] : cases) {
    SCOPED_TRACE(what);
    const SessionKey key = SessionKey::of(SessionId::generate());
    const SessionRecord planted = record({{"v", stored}, {"n", 1}});
    ASSERT_TRUE(BlockingStore(*memory_).create(key, planted).ok());
    const auto r = BlockingStore(*store).load(key);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), errc::corrupt) << r.status().message();
    EXPECT_EQ(BlockingStore(*memory_).load(key).value(), planted) << "nothing lost";
  }
  // Within the limit the same kind of frame reads.
  auto roomy = CompressedStore::wrap(memory_, {.max_bytes = 4 * 1024 * 1024});
  const SessionKey ok = SessionKey::of(SessionId::generate());
  ASSERT_TRUE(BlockingStore(*memory_).create(ok, record({{"v", z1(bomb)}})).ok());
  EXPECT_EQ(BlockingStore(*roomy).load(ok).value()->data["v"], big);
}

TEST_F(CompressedStoreTest, ConditionsAndIncrementsSeeTheCallersValues) {
  auto store = CompressedStore::wrap(memory_);
  ASSERT_TRUE(BlockingStore(*store).create(key_, record({{"cart", cart(100)}, {"n", 1}})).ok());
  // A condition on a compressed value: compared decoded (two zstd runs give the same text here,
  // but the decorator does not rely on it).
  EXPECT_EQ(BlockingStore(*store).patch_if(key_, {"cart", cart(99)}, sets({{"n", 2}})).code(),
            errc::conflict);
  ASSERT_TRUE(BlockingStore(*store).patch_if(key_, {"cart", cart(100)}, sets({{"n", 2}})).ok());
  EXPECT_EQ(raw("n"), 2);
  // A value compressed by a writer with a lower threshold still meets a small condition.
  auto low = CompressedStore::wrap(memory_, {.threshold = 1, .only_if_smaller = false});
  ASSERT_TRUE(BlockingStore(*low).patch(key_, sets({{"tag", "gold"}})).ok());
  ASSERT_NE(raw("tag"), "gold");
  ASSERT_TRUE(BlockingStore(*store).patch_if(key_, {"tag", "gold"}, sets({{"n", 3}})).ok());
  EXPECT_EQ(raw("n"), 3);
  EXPECT_EQ(BlockingStore(*store).patch_if(key_, {"tag", "silver"}, sets({{"n", 4}})).code(),
            errc::conflict);
  EXPECT_EQ(raw("n"), 3);
  // Increments: on an integer as always; a compressed value is not one.
  EXPECT_EQ(BlockingStore(*store).increment(key_, "n", 5).value(), 8);
  EXPECT_EQ(BlockingStore(*store).increment(key_, "cart", 1).code(), errc::invalid_argument);
  EXPECT_EQ(BlockingStore(*store).load(key_).value()->data["cart"], cart(100));
}

TEST_F(CompressedStoreTest, WrapRefusesBadOptions) {
  EXPECT_THROW(CompressedStore::wrap(nullptr), std::invalid_argument);
  EXPECT_THROW(CompressedStore::wrap(memory_, {.level = 0}), std::invalid_argument);
  EXPECT_THROW(CompressedStore::wrap(memory_, {.level = 20}), std::invalid_argument);
  EXPECT_THROW(CompressedStore::wrap(memory_, {.max_bytes = 0}), std::invalid_argument);
}

// ---------------------------------------------------------------- inside the encryption

const Keyring kKeys = Keyring::parse("compressed-at-rest-secret-0123456789ab").value();

TEST_F(CompressedStoreTest, EncryptedStoreCompressesBeforeSealing) {
  EncryptedStoreOptions zipped;
  zipped.compression = CompressionOptions{};  // 1 kB
  auto plain = EncryptedStore::wrap(memory_, kKeys);
  auto packed = EncryptedStore::wrap(memory_, kKeys, zipped);
  ASSERT_TRUE(BlockingStore(*plain).create(key_, record({{"cart", cart(100)}})).ok());
  const std::size_t sealed_plain = raw("cart").get<std::string>().size();
  ASSERT_TRUE(BlockingStore(*packed).patch(key_, sets({{"cart", cart(100)}, {"n", 1}})).ok());
  const std::string sealed_packed = raw("cart").get<std::string>();
  EXPECT_TRUE(sealed_packed.starts_with("e1.")) << "one layer: sealed, not \"z1.\" then sealed";
  EXPECT_LT(sealed_packed.size() * 5, sealed_plain);
  // Either reads what either wrote.
  EXPECT_EQ(BlockingStore(*plain).load(key_).value()->data["cart"], cart(100));
  EXPECT_EQ(BlockingStore(*packed).load(key_).value()->data["n"], 1);
  EXPECT_EQ(BlockingStore(*packed).increment(key_, "n", 2).value(), 3);
  // A sealed frame that inflates past the reader's limit is corrupt; the record stays.
  EncryptedStoreOptions tight = zipped;
  tight.compression.max_bytes = 1024;
  auto strict = EncryptedStore::wrap(memory_, kKeys, tight);
  const auto r = BlockingStore(*strict).load(key_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), errc::corrupt);
  EXPECT_EQ(BlockingStore(*packed).load(key_).value()->data["cart"], cart(100));
}

}  // namespace
}  // namespace sessionkit
