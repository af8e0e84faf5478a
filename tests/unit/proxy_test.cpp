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
  // Garbage written by the client left of the client's address is ignored.
  c = p.resolve("10.0.0.1", false, "<script>, 198.51.100.7, 10.0.0.2", "http");
  EXPECT_EQ(c.address, "198.51.100.7");
  EXPECT_FALSE(c.malformed);
  EXPECT_FALSE(c.tls);
  // No header: the proxy itself.
  c = p.resolve("10.0.0.1", true, std::nullopt, std::nullopt);
  EXPECT_EQ(c.address, "10.0.0.1");
  EXPECT_TRUE(c.tls);
  // X-Forwarded-Proto: the nearest proxy's (rightmost) value decides.
  EXPECT_FALSE(p.resolve("10.0.0.1", false, "1.2.3.4", "https, http").tls);
  EXPECT_TRUE(p.resolve("10.0.0.1", false, "1.2.3.4", " HTTPS ").tls);
  EXPECT_EQ(p.resolve("10.0.0.1", false, "[2001:db8::5]", std::nullopt).address, "2001:db8::5");
}

// Finding 2 of issue 21: HAProxy's `option forwardfor` appends its OWN X-Forwarded-For line. A
// thief's line comes first; the proxy's (the real client address) last. The lines are one list.
TEST(TrustedProxies, SeveralForwardedForLinesAreOneListAndTheProxysLastLineWins) {
  TrustedProxies p = make("10.0.0.0/8");
  const std::string_view lines[] = {"192.0.2.44", "198.51.100.7"};  // victim forged, real client
  auto c = p.resolve("10.0.0.1", false, lines, {});
  EXPECT_EQ(c.address, "198.51.100.7");
  EXPECT_FALSE(c.malformed);
  // Two proxies, each appending a line: the first untrusted hop from the right of the joined list.
  const std::string_view chain[] = {"192.0.2.44, 6.6.6.6", "198.51.100.7", "10.0.0.2"};
  EXPECT_EQ(p.resolve("10.0.0.1", false, chain, {}).address, "198.51.100.7");
  // Empty elements and lines are skipped, not taken for the end of the list.
  const std::string_view sparse[] = {"192.0.2.44", "198.51.100.7, ,", ""};
  EXPECT_EQ(p.resolve("10.0.0.1", false, sparse, {}).address, "198.51.100.7");
  // The lines of an untrusted peer are ignored.
  EXPECT_EQ(p.resolve("203.0.113.9", false, lines, {}).address, "203.0.113.9");
}

TEST(TrustedProxies, EntriesWithPortsAndBracketsAreParsed) {
  TrustedProxies p = make("10.0.0.0/8, 2001:db8:ffff::/48");
  auto one = [&](std::string_view xff) {
    return p.resolve("10.0.0.1", false, std::optional<std::string_view>(xff), std::nullopt);
  };
  EXPECT_EQ(one("1.2.3.4:5678").address, "1.2.3.4");
  EXPECT_EQ(one("[2001:db8::1]:443").address, "2001:db8::1");
  EXPECT_EQ(one("[::1]").address, "::1");
  EXPECT_EQ(one("2001:DB8:0:0::1").address, "2001:db8::1") << "canonical text";
  EXPECT_EQ(one("198.51.100.7:1234, 10.0.0.2:80").address, "198.51.100.7");
  EXPECT_EQ(one("198.51.100.7, [2001:db8:ffff::9]:8443").address, "198.51.100.7")
      << "a trusted proxy with a port is still trusted";
  for (auto* c : {"1.2.3.4:5678", "[2001:db8::1]:443", "[::1]"})
    EXPECT_FALSE(one(c).malformed) << c;
}

TEST(TrustedProxies, AMalformedEntryAtTheClientPositionMakesTheClientUnknown) {
  TrustedProxies p = make("10.0.0.0/8");
  for (auto* bad :
       {"<script>", "unknown", "1.2.3.4:", "1.2.3.4:99999", "1.2.3.4:80:80", "[1.2.3.4]",
        "[2001:db8::1", "[2001:db8::1]x", "2001:db8::1]:443", "example.com:80", "999.1.1.1"}) {
    auto c = p.resolve("10.0.0.1", true, std::optional<std::string_view>(bad), "https");
    EXPECT_TRUE(c.malformed) << bad;
    EXPECT_EQ(c.address, "") << bad << ": never the proxy's address";
    const std::string via = std::string(bad) + ", 10.0.0.2";  // behind two proxies
    c = p.resolve("10.0.0.1", true, std::optional<std::string_view>(via), std::nullopt);
    EXPECT_TRUE(c.malformed) << via;
    EXPECT_EQ(c.address, "") << via;
  }
  // Left of the client position, garbage is the client's own text and ignored.
  auto c = p.resolve("10.0.0.1", false, "<script>, 198.51.100.7", std::nullopt);
  EXPECT_FALSE(c.malformed);
  EXPECT_EQ(c.address, "198.51.100.7");
}

TEST(TrustedProxies, ForwardedProtoLinesAreOneListAndTheRightmostWins) {
  TrustedProxies p = make("10.0.0.0/8");
  const std::string_view xff[] = {"198.51.100.7"};
  const std::string_view forged_https[] = {"https", "http"};  // client's line, then the proxy's
  EXPECT_FALSE(p.resolve("10.0.0.1", false, xff, forged_https).tls);
  const std::string_view real_https[] = {"http", "https"};
  EXPECT_TRUE(p.resolve("10.0.0.1", false, xff, real_https).tls);
  const std::string_view trailing[] = {"http, https", " "};
  EXPECT_TRUE(p.resolve("10.0.0.1", false, xff, trailing).tls) << "empty elements are skipped";
  EXPECT_TRUE(p.resolve("10.0.0.1", true, xff, {}).tls) << "no header: the connection decides";
}

}  // namespace
}  // namespace sessionkit::http
