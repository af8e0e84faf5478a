// Redis-specific tests: URL parsing, one command per read, TTLs, TLS, AUTH, faults.
#include <gtest/gtest.h>

#include "contract/store_harness.h"

namespace sessionkit::testing {
namespace {

TEST(RedisUrl, ParsesEveryForm) {
  auto a = RedisStoreOptions::from_url("redis://127.0.0.1:6380/2?prefix=app:&connections=3&timeout_ms=150");
  ASSERT_OK(a);
  ASSERT_EQ(a->nodes.size(), 1u);
  EXPECT_EQ(a->nodes[0].host, "127.0.0.1");
  EXPECT_EQ(a->nodes[0].port, 6380);
  EXPECT_EQ(a->database, 2);
  EXPECT_EQ(a->key_prefix, "app:");
  EXPECT_EQ(a->connections, 3u);
  EXPECT_EQ(a->command_timeout, std::chrono::milliseconds(150));
  EXPECT_FALSE(a->tls.has_value());
  EXPECT_FALSE(a->cluster);

  auto b = RedisStoreOptions::from_url("rediss://app%40x:p%3Ass@cache.internal?ca=/etc/ca.pem&sni=redis");
  ASSERT_OK(b);
  EXPECT_EQ(b->username, "app@x");
  EXPECT_EQ(b->password, "p:ss");
  EXPECT_EQ(b->nodes[0].port, 6379);
  ASSERT_TRUE(b->tls.has_value());
  EXPECT_EQ(b->tls->ca_file, "/etc/ca.pem");
  EXPECT_EQ(b->tls->server_name, "redis");

  auto c = RedisStoreOptions::from_url("redis+cluster://:secret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002");
  ASSERT_OK(c);
  EXPECT_TRUE(c->cluster);
  EXPECT_EQ(c->password, "secret");
  ASSERT_EQ(c->nodes.size(), 3u);
  EXPECT_EQ(c->nodes[2].host, "::1");
  EXPECT_EQ(c->nodes[2].port, 7002);
}

TEST(RedisUrl, RejectsWhatItCannotMean) {
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h/x",
                          "redis://a,b", "redis+cluster://h/1", "redis://user@h", "redis://h?nope=1",
                          "redis://h?ca=/x", "redis://h?connections=0", "redis://%zz:p@h",
                          "rediss://h?verify=maybe"}) {
    auto r = RedisStoreOptions::from_url(bad);
    EXPECT_EQ(r.code(), errc::invalid_argument) << bad;
    if (!r) {
      EXPECT_NE(r.message().find("redis URL"), std::string::npos) << r.message();
    }
  }
}

TEST(RedisStoreOpen, RejectsBadOptionsAndUnreachableServers) {
  RedisStoreOptions o;
  o.key_prefix = "{tag}";
  EXPECT_EQ(RedisStore::open(o).code(), errc::invalid_argument);
  o = {};
  o.connections = 0;
  EXPECT_EQ(RedisStore::open(o).code(), errc::invalid_argument);
  o = {};
  o.nodes = {{"127.0.0.1", free_port()}};  // nobody listens
  o.connect_timeout = std::chrono::milliseconds(500);
  auto r = RedisStore::open(o);
  EXPECT_TRUE(r.is_unavailable()) << r.message();
}

}  // namespace
}  // namespace sessionkit::testing
