#include "sessionkit/record.h"

#include <gtest/gtest.h>

namespace sessionkit {
namespace {

SessionRecord sample() {
  SessionRecord r;
  r.created_at = from_millis(1'700'000'000'000);
  r.last_access = from_millis(1'700'000'001'000);
  r.expires_at = from_millis(1'700'000'601'000);
  r.absolute_expires_at = from_millis(1'700'043'200'000);
  r.auth_at = from_millis(1'700'000'000'500);
  r.user_id = "alice";
  r.ip = "10.0.0.1";
  r.user_agent = "Mozilla/5.0";
  r.data = {{"visits", 3}, {"user", {{"name", "alice"}}}, {"cart", {1, 2, 3}}};
  return r;
}

TEST(Record, RoundTrips) {
  SessionRecord r = sample();
  auto back = decode_record(encode_record(r));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, r);
}

TEST(Record, OptionalFieldsMayBeAbsent) {
  SessionRecord r = sample();
  r.auth_at.reset();
  r.user_id.clear();
  r.ip.clear();
  r.user_agent.clear();
  r.data = nlohmann::json::object();
  std::string enc = encode_record(r);
  EXPECT_EQ(enc.find("\"user\""), std::string::npos);
  auto back = decode_record(enc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, r);
}

TEST(Record, DocumentedFormat) {
  auto j = nlohmann::json::parse(encode_record(sample()));
  EXPECT_EQ(j["v"], 1);
  EXPECT_EQ(j["created"], 1'700'000'000'000);
  EXPECT_EQ(j["access"], 1'700'000'001'000);
  EXPECT_EQ(j["expires"], 1'700'000'601'000);
  EXPECT_EQ(j["absolute"], 1'700'043'200'000);
  EXPECT_EQ(j["auth"], 1'700'000'000'500);
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["ip"], "10.0.0.1");
  EXPECT_EQ(j["ua"], "Mozilla/5.0");
  EXPECT_EQ(j["data"]["visits"], 3);
}

TEST(Record, RejectsCorruptInput) {
  for (std::string_view bad : {"", "null", "[]", "{",
                               "{\"v\":2,\"created\":1,\"access\":1,"
                               "\"expires\":1,\"absolute\":1,\"data\":{}}",
                               "{\"v\":1}",
                               "{\"v\":1,\"created\":\"x\",\"access\":1,"
                               "\"expires\":1,\"absolute\":1,\"data\":{}}",
                               "{\"v\":1,\"created\":1,\"access\":1,\"expires\":1,"
                               "\"absolute\":1,\"data\":[]}",
                               "{\"v\":1,\"created\":1,\"access\":1,\"expires\":1,"
                               "\"absolute\":1,\"user\":5,\"data\":{}}"}) {
    auto r = decode_record(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.code(), errc::corrupt) << bad;
  }
}

TEST(Record, ExpiredChecksBothDeadlines) {
  SessionRecord r = sample();
  EXPECT_FALSE(r.expired(r.last_access));
  EXPECT_TRUE(r.expired(r.expires_at));
  r.expires_at = r.absolute_expires_at + Duration(1000);
  EXPECT_TRUE(r.expired(r.absolute_expires_at));
}

TEST(Result, CarriesValueOrError) {
  Result<int> ok = 5;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad(errc::unavailable, "down");
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(bad.is_unavailable());
  EXPECT_EQ(bad.status().to_string(), "store unavailable: down");
  EXPECT_EQ(std::error_code(errc::not_found).message(), "not found");
  Status timeout(errc::timeout, "");
  EXPECT_TRUE(timeout.is_unavailable());
  EXPECT_FALSE(Status(errc::not_found, "").is_unavailable());
}

}  // namespace
}  // namespace sessionkit
