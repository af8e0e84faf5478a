// EncryptedStore (sessionkit/stores/encrypted.h) over the memory store: what the inner store
// holds, what does not open (another record, another name, tampering, another context, a
// retired key, a value in clear), key rotation with the re-sealing at read and reencrypt_all,
// the migration from clear values, and increments from many threads. The whole store contract
// through it is checked by the conformance suite (EncryptedMemory, EncryptedSqlite,
// EncryptedRedis, EncryptedPostgres in store_contract_test).
#include "sessionkit/stores/encrypted.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "sessionkit/blocking_store.h"
#include "sessionkit/stores/memory.h"

namespace sessionkit {
namespace {

using namespace std::chrono_literals;

const Keyring kOld = Keyring::parse("at-rest-old-secret-0123456789abcdef").value();
const Keyring kNew = Keyring::parse("at-rest-new-secret-0123456789abcdef").value();
const Keyring kBoth =
    Keyring::parse("at-rest-new-secret-0123456789abcdef,at-rest-old-secret-0123456789abcdef")
        .value();

class EncryptedStoreTest : public ::testing::Test {
 protected:
  std::shared_ptr<EncryptedStore> wrap(const Keyring& keyring, EncryptedStoreOptions o = {}) {
    return EncryptedStore::wrap(memory_, keyring, std::move(o));
  }
  SessionRecord record() {
    SessionRecord r;
    r.start(clock_.now(), 30min, 12h);
    r.user_id = "alice";
    r.ip = "198.51.100.7";
    r.user_agent = "Agent/1.0";
    r.data = {{"cart", {{"items", {1, 2, 3}}}}, {"visits", 2}, {"note", "private"}};
    return r;
  }
  SessionRecord raw(const SessionKey& key) {
    return BlockingStore(*memory_).load(key).value().value_or(SessionRecord{});
  }
  static SessionPatch sets(std::vector<std::pair<std::string, nlohmann::json>> values) {
    SessionPatch p;
    p.set = std::move(values);
    return p;
  }
  // The kid of a sealed value: "e1.<kid>.…".
  static std::string kid(const nlohmann::json& sealed) {
    return sealed.get<std::string>().substr(3, 8);
  }

  ManualClock clock_;
  std::shared_ptr<MemoryStore> memory_ =
      std::make_shared<MemoryStore>(MemoryStoreOptions{.clock = &clock_});
  const SessionKey key_ = SessionKey::of(SessionId::generate());
};

TEST_F(EncryptedStoreTest, TheInnerStoreHoldsNoValueNoAddressNoAgent) {
  auto store = wrap(kNew);
  ASSERT_TRUE(BlockingStore(*store).create(key_, record()).ok());
  const SessionRecord inner = raw(key_);
  EXPECT_EQ(inner.user_id, "alice") << "the user index needs it";
  EXPECT_EQ(inner.ip, "") << "the address travels sealed in the payload";
  EXPECT_EQ(inner.user_agent, "");
  ASSERT_EQ(inner.data.size(), 5u) << inner.data.dump();
  EXPECT_TRUE(inner.data.contains("_sk_at_ip") && inner.data.contains("_sk_at_ua"));
  for (const auto& [name, value] : inner.data.items()) {
    EXPECT_TRUE(value.is_string() && value.get<std::string>().starts_with("e1.")) << name;
  }
  const std::string dump = inner.data.dump() + inner.ip + inner.user_agent;
  for (const char* clear : {"private", "198.51.100.7", "Agent/1.0", "items"}) {
    EXPECT_EQ(dump.find(clear), std::string::npos) << clear;
  }
  EXPECT_EQ(BlockingStore(*store).load(key_).value(), record()) << "and reads back whole";
  // Two seals of one value differ (random nonces): equal values are not visible as equal.
  ASSERT_TRUE(BlockingStore(*store).patch(key_, sets({{"a", 1}, {"b", 1}})).ok());
  EXPECT_NE(raw(key_).data["a"], raw(key_).data["b"]);
}

TEST_F(EncryptedStoreTest, AValueMovedOrTamperedWithDoesNotOpen) {
  auto store = wrap(kNew);
  ASSERT_TRUE(BlockingStore(*store).create(key_, record()).ok());
  const SessionRecord inner = raw(key_);
  BlockingStore db(*memory_);
  // Another record: the victim's sealed values copied under the attacker's key.
  const SessionKey other = SessionKey::of(SessionId::generate());
  ASSERT_TRUE(db.create(other, inner).ok());
  EXPECT_EQ(BlockingStore(*store).load(other).code(), errc::corrupt);
  // Another name within the record.
  ASSERT_TRUE(db.patch(key_, sets({{"visits", inner.data["note"]}})).ok());
  EXPECT_EQ(BlockingStore(*store).load(key_).code(), errc::corrupt);
  // One character changed.
  std::string flipped = inner.data["note"].get<std::string>();
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  ASSERT_TRUE(db.patch(key_, sets({{"visits", inner.data["visits"]}, {"note", flipped}})).ok());
  EXPECT_EQ(BlockingStore(*store).load(key_).code(), errc::corrupt);
  // A value in clear (written around the decorator).
  ASSERT_TRUE(db.patch(key_, sets({{"note", "planted"}})).ok());
  EXPECT_EQ(BlockingStore(*store).load(key_).code(), errc::corrupt);
  // Another context, or a keyring without the key.
  const SessionKey third = SessionKey::of(SessionId::generate());
  ASSERT_TRUE(BlockingStore(*store).create(third, record()).ok());
  EXPECT_EQ(BlockingStore(*wrap(kNew, {.context = "another"})).load(third).code(), errc::corrupt);
  EXPECT_EQ(BlockingStore(*wrap(kOld)).load(third).code(), errc::corrupt);
}

TEST_F(EncryptedStoreTest, RotationResealsWhatIsReadAndReencryptAllTheRest) {
  auto before = wrap(kOld);
  const SessionKey read_key = key_;
  const SessionKey idle_key = SessionKey::of(SessionId::generate());
  ASSERT_TRUE(BlockingStore(*before).create(read_key, record()).ok());
  ASSERT_TRUE(BlockingStore(*before).create(idle_key, record()).ok());
  const std::string old_kid = kid(raw(read_key).data["note"]);

  auto rotated = wrap(kBoth);  // SESSION_SECRET=new,old
  EXPECT_EQ(BlockingStore(*rotated).load(read_key).value(), record()) << "the old key opens";
  const std::string new_kid = kid(raw(read_key).data["note"]);
  EXPECT_NE(new_kid, old_kid) << "and the read re-sealed the values under the new key";
  const SessionRecord resealed = raw(read_key);
  for (const auto& [name, value] : resealed.data.items())
    EXPECT_EQ(kid(value), new_kid);
  EXPECT_EQ(kid(raw(idle_key).data["note"]), old_kid) << "a record nobody read is as it was";

  std::optional<Result<std::size_t>> n;
  rotated->reencrypt_all(1, [&](Result<std::size_t> r) { n.emplace(std::move(r)); });
  ASSERT_TRUE(n.has_value() && n->ok());
  EXPECT_EQ(**n, 5u) << "the idle record's three values, its address and its User-Agent";
  auto after = wrap(kNew);  // the old secret retired
  EXPECT_EQ(BlockingStore(*after).load(idle_key).value()->data, record().data);
  EXPECT_EQ(BlockingStore(*after).load(read_key).value()->data, record().data);
}

TEST_F(EncryptedStoreTest, PlaintextReadsMigrateAStoreWrittenInClear) {
  ASSERT_TRUE(BlockingStore(*memory_).create(key_, record()).ok());  // before encryption
  EXPECT_EQ(BlockingStore(*wrap(kNew)).load(key_).code(), errc::corrupt) << "off by default";
  auto migrating = wrap(kNew, {.plaintext_reads = true});
  std::optional<Result<std::size_t>> n;
  migrating->reencrypt_all(10, [&](Result<std::size_t> r) { n.emplace(std::move(r)); });
  ASSERT_TRUE(n.has_value() && n->ok());
  EXPECT_EQ(**n, 3u);
  EXPECT_TRUE(raw(key_).data["note"].get<std::string>().starts_with("e1."));
  EXPECT_EQ(raw(key_).ip, "198.51.100.7")
      << "the address and agent stay as written until the record is replaced or ends";
  EXPECT_EQ(BlockingStore(*migrating).load(key_).value(), record());
}

TEST_F(EncryptedStoreTest, TheNamesItKeepsForTheAddressAndAgentAreRefused) {
  // Found by at_rest_fuzz: a caller's "_sk_at_ip" would have been taken for the address.
  auto store = wrap(kNew);
  SessionRecord r = record();
  r.data["_sk_at_ip"] = "mine";
  EXPECT_EQ(BlockingStore(*store).create(key_, r).code(), errc::invalid_argument);
  ASSERT_TRUE(BlockingStore(*store).create(key_, record()).ok());
  EXPECT_EQ(BlockingStore(*store).patch(key_, sets({{"_sk_at_ua", "x"}})).code(),
            errc::invalid_argument);
  SessionPatch erase;
  erase.erase.emplace_back("_sk_at_ip");
  EXPECT_EQ(BlockingStore(*store).patch(key_, erase).code(), errc::invalid_argument);
  EXPECT_EQ(BlockingStore(*store).increment(key_, "_sk_at_ip").code(), errc::invalid_argument);
  EXPECT_EQ(BlockingStore(*store).patch_if(key_, {"_sk_at_ua", nullptr}, sets({{"a", 1}})).code(),
            errc::invalid_argument);
  EXPECT_EQ(BlockingStore(*store).load(key_).value(), record()) << "nothing changed";
}

TEST_F(EncryptedStoreTest, IncrementsFromManyThreadsAreAllCounted) {
  auto store = wrap(kNew);
  ASSERT_TRUE(BlockingStore(*store).create(key_, record()).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        EXPECT_TRUE(BlockingStore(*store).increment(key_, "visits").ok());
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(BlockingStore(*store).load(key_).value()->data["visits"], 402);
  EXPECT_TRUE(raw(key_).data["visits"].is_string()) << "sealed, not a number the store adds to";
}

}  // namespace
}  // namespace sessionkit
