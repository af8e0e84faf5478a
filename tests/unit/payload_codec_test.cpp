// The memory store's MessagePack payload reader (src/stores/memory/payload_codec.h): it reads
// back exactly what nlohmann's to_msgpack writes, for every kind of JSON value, and rejects
// anything else without crashing.
#include "stores/memory/payload_codec.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace sessionkit::memory_detail {
namespace {

using nlohmann::json;

json tricky() {
  json j = json::object();
  j["empty"] = json::object();
  j["list"] = json::array({1, -1, 127, 128, -32, -33, 255, 256, 65535, 65536, -129, -32769});
  j["ints"] = json::array({std::numeric_limits<std::int64_t>::min(),
                           std::numeric_limits<std::int64_t>::max(),
                           std::numeric_limits<std::uint64_t>::max(), 4294967295LL, 4294967296LL,
                           -2147483648LL, -2147483649LL});
  j["floats"] = json::array({0.5, 1.0e300, -2.25, 3.141592653589793});
  j["flags"] = json::array({true, false, nullptr});
  j["text"] = json::array({"", std::string(31, 'a'), std::string(32, 'b'), std::string(255, 'c'),
                           std::string(256, 'd'), std::string(70000, 'e'), "ünïcødé ✓"});
  j[""] = "the empty key";
  j["nested"] = {{"a", {{"b", {{"c", json::array({json::object(), json::array()})}}}}}};
  json many = json::object();
  for (int i = 0; i < 70; ++i)
    many["k" + std::to_string(i)] = i;
  j["many"] = many;
  json long_list = json::array();
  for (int i = 0; i < 70000; ++i)
    long_list.push_back(i % 3);
  j["long_list"] = long_list;
  return j;
}

TEST(PayloadCodec, RoundTripsEveryKindOfValue) {
  const json j = tricky();
  const std::string encoded = encode_payload(j);
  auto back = decode_payload(encoded);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, j);
  EXPECT_EQ(back->dump(), j.dump());
  auto empty = decode_payload(encode_payload(json::object()));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, json::object());
}

TEST(PayloadCodec, RejectsWhatIsNotOneObject) {
  EXPECT_FALSE(decode_payload("").ok());
  EXPECT_FALSE(decode_payload(encode_payload(json::array({1}))).ok());
  EXPECT_FALSE(decode_payload(encode_payload(json(5))).ok());
  const std::string ok = encode_payload(json{{"a", 1}});
  EXPECT_FALSE(decode_payload(ok + "x").ok()) << "trailing bytes";
  for (std::size_t cut = 0; cut < ok.size(); ++cut) {
    EXPECT_FALSE(decode_payload(ok.substr(0, cut)).ok()) << "truncated at " << cut;
  }
  EXPECT_FALSE(decode_payload(std::string("\x81\x01\x01", 3)).ok()) << "non-string key";
  EXPECT_FALSE(decode_payload(std::string("\x81\xa1"
                                          "a"
                                          "\xc4\x01x",
                                          6))
                   .ok())
      << "bin";
  EXPECT_FALSE(decode_payload(std::string("\xdf\xff\xff\xff\xff", 5)).ok()) << "huge count";
  std::string deep;
  for (int i = 0; i < 1000; ++i)
    deep += "\x81\xa1k";
  deep += '\x01';
  EXPECT_FALSE(decode_payload(deep).ok()) << "nesting deeper than the limit";
}

// Keys are read straight into strings: every string form, any order, the last of twins wins.
TEST(PayloadCodec, MapKeysInEveryStringFormAnyOrderAndTwice) {
  // {"b": 1, "a": 2} with "b" as fixstr and "a" as str8, written out of order
  auto two =
      decode_payload(std::string("\x82\xa1"
                                 "b"
                                 "\x01\xd9\x01"
                                 "a"
                                 "\x02",
                                 8));
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(*two, (json{{"a", 2}, {"b", 1}}));
  // a key as str16 and as str32
  auto wide =
      decode_payload(std::string("\x82\xda\x00\x01"
                                 "k"
                                 "\xc3\xdb\x00\x00\x00\x01"
                                 "m"
                                 "\xc0",
                                 13));
  ASSERT_TRUE(wide.ok());
  EXPECT_EQ(*wide, (json{{"k", true}, {"m", nullptr}}));
  // {"a": 1, "a": {"x": 3}}: the last value wins, whole (not merged)
  auto twice =
      decode_payload(std::string("\x82\xa1"
                                 "a"
                                 "\x01\xa1"
                                 "a"
                                 "\x81\xa1"
                                 "x"
                                 "\x03",
                                 10));
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(*twice, (json{{"a", {{"x", 3}}}}));
  EXPECT_FALSE(decode_payload(std::string("\x81\xd9\x05"
                                          "ab",
                                          5))
                   .ok())
      << "key longer than the input";
}

TEST(PayloadCodec, RandomBytesNeverCrashAndMutationsOfValidInputStayConsistent) {
  std::mt19937 rng(11);
  const std::string valid = encode_payload(tricky()["many"]);
  for (int round = 0; round < 20000; ++round) {
    std::string bytes = valid;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e)
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    auto decoded = decode_payload(bytes);
    if (decoded.ok()) {  // whatever it read must itself round-trip
      auto again = decode_payload(encode_payload(*decoded));
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, *decoded);
    }
  }
}

}  // namespace
}  // namespace sessionkit::memory_detail
