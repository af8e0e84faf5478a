// TrustedProxies: which forwarding headers are believed, and who the client is.
#include "sessionkit/http/proxy.h"

#include <gtest/gtest.h>

namespace sessionkit::http {
namespace {

TrustedProxies make(std::string_view list) {
  auto p = TrustedProxies::parse(list);
  EXPECT_TRUE(p.ok()) << p.message();
  return p.ok() ? *p : TrustedProxies();
}

TEST(TrustedProxies, ParsesAddressesAndBlocks) {
  TrustedProxies p = make(" 10.0.0.0/8, 192.168.1.5 ,::1, 2001:db8::/32,");
  EXPECT_TRUE(p.contains("10.1.2.3"));
  EXPECT_TRUE(p.contains("192.168.1.5"));
  EXPECT_FALSE(p.contains("192.168.1.6"));
  EXPECT_FALSE(p.contains("11.0.0.1"));
  EXPECT_TRUE(p.contains("::1"));
  EXPECT_TRUE(p.contains("2001:db8:abcd::1"));
  EXPECT_FALSE(p.contains("2001:db9::1"));
  EXPECT_TRUE(p.contains("::ffff:10.9.9.9"));  // IPv4-mapped counts as IPv4
  EXPECT_FALSE(p.contains("not-an-ip"));
  EXPECT_FALSE(p.contains(""));
  EXPECT_TRUE(make("").empty());
  EXPECT_TRUE(make("0.0.0.0/0").contains("8.8.8.8"));
}

TEST(TrustedProxies, RejectsBadEntries) {
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "999.1.1.1",
                          "proxy.internal", "10.0.0.1/8/8", "1.2.3.4 5"}) {
    auto p = TrustedProxies::parse(bad);
    EXPECT_EQ(p.code(), errc::invalid_argument) << bad;
  }
}

TEST(TrustedProxies, HeadersFromAnUntrustedPeerAreIgnored) {
  TrustedProxies none;
  auto c = none.resolve("203.0.113.9", false, "1.1.1.1", "https");
  EXPECT_EQ(c.address, "203.0.113.9");
  EXPECT_FALSE(c.tls);
  TrustedProxies p = make("10.0.0.0/8");
  c = p.resolve("203.0.113.9", false, "1.1.1.1", "https");  // the peer is not a proxy
  EXPECT_EQ(c.address, "203.0.113.9");
  EXPECT_FALSE(c.tls);
}

TEST(TrustedProxies, TheClientIsTheFirstUntrustedHopFromTheRight) {
  TrustedProxies p = make("10.0.0.0/8");
  // client -> 10.0.0.2 -> 10.0.0.1 (peer); the client forged "6.6.6.6" in front.
  auto c = p.resolve("10.0.0.1", false, "6.6.6.6, 198.51.100.7, 10.0.0.2", "https");
  EXPECT_EQ(c.address, "198.51.100.7");
  EXPECT_TRUE(c.tls);
  // Garbage written by the client stops the walk at the last address a proxy vouched for.
  c = p.resolve("10.0.0.1", false, "<script>, 10.0.0.2", "http");
  EXPECT_EQ(c.address, "10.0.0.2");
  EXPECT_FALSE(c.tls);
  // No header: the proxy itself.
  c = p.resolve("10.0.0.1", true, std::nullopt, std::nullopt);
  EXPECT_EQ(c.address, "10.0.0.1");
  EXPECT_TRUE(c.tls);
  // X-Forwarded-Proto: the nearest proxy's (rightmost) value decides.
  EXPECT_FALSE(p.resolve("10.0.0.1", false, "1.2.3.4", "https, http").tls);
  EXPECT_TRUE(p.resolve("10.0.0.1", false, "1.2.3.4", " HTTPS ").tls);
  EXPECT_EQ(p.resolve("10.0.0.1", false, "[2001:db8::5]", std::nullopt).address, "[2001:db8::5]");
}

}  // namespace
}  // namespace sessionkit::http
