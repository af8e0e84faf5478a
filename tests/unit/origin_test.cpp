// check_origin: the headers browsers really send, and what the policy makes of them.
#include "sessionkit/http/origin.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "support/http_fakes.h"

namespace sessionkit::http {
namespace {

using sessionkit::testing::FakeRequest;

// One request: absent headers are nullopt.
struct Case {
  const char* what;
  std::optional<std::string> sec_fetch_site;
  std::optional<std::string> origin;
  std::optional<std::string> host;
  bool tls;
  bool allowed;
  std::string method = "POST";
};

FakeRequest make(const Case& c) {
  FakeRequest r;
  r.method_ = c.method;
  r.tls_ = c.tls;
  if (c.host) r.headers_.emplace_back("Host", *c.host);
  if (c.sec_fetch_site) r.headers_.emplace_back("Sec-Fetch-Site", *c.sec_fetch_site);
  if (c.origin) r.headers_.emplace_back("Origin", *c.origin);
  return r;
}

OriginPolicy policy_of(std::string_view list, bool allow_same_site = false) {
  auto p = OriginPolicy::parse(list);
  EXPECT_TRUE(p.ok()) << p.message();
  OriginPolicy out = p.ok() ? *p : OriginPolicy();
  out.allow_same_site = allow_same_site;
  return out;
}

void expect_all(const std::vector<Case>& cases, const OriginPolicy& policy = {}) {
  for (const Case& c : cases) {
    const OriginVerdict v = check_origin(make(c), policy);
    EXPECT_EQ(v.allowed, c.allowed) << c.what << " (reason: " << v.reason << ")";
    EXPECT_EQ(static_cast<bool>(v), v.allowed);
    EXPECT_FALSE(v.reason.empty()) << c.what;
  }
}

const std::nullopt_t none = std::nullopt;
constexpr bool kTls = true, kPlain = false, kAllow = true, kRefuse = false;

// An https app at app.example.com, derived from Host. Chromium 76+, Firefox 90+ and
// Safari 16.4+ send the same pair of headers; what differs is the page's Referrer-Policy.
TEST(CheckOrigin, ModernBrowsers) {
  expect_all({
      // Same-origin form post (navigate mode), default policy strict-origin-when-cross-origin.
      {"form post, default policy", "same-origin", "https://app.example.com", "app.example.com",
       kTls, kAllow},
      // Same-origin form post from a page with Referrer-Policy: no-referrer: Origin: null.
      {"form post, no-referrer", "same-origin", "null", "app.example.com", kTls, kAllow},
      // Same-origin fetch() POST (cors mode): the real origin whatever the policy.
      {"fetch, any policy", "same-origin", "https://app.example.com", "app.example.com", kTls,
       kAllow},
      // Fetch Metadata decides even when the proxy rewrote Host (no configured origins).
      {"same-origin, Host rewritten by a proxy", "same-origin", "https://app.example.com",
       "backend:8080", kPlain, kAllow},
      // User-initiated (bookmark, address bar).
      {"Sec-Fetch-Site: none", "none", none, "app.example.com", kTls, kAllow},
      // Cross-site form post from the attacker's page, with and without no-referrer.
      {"cross-site form post", "cross-site", "https://evil.example", "app.example.com", kTls,
       kRefuse},
      {"cross-site form post, attacker no-referrer", "cross-site", "null", "app.example.com", kTls,
       kRefuse},
      // Cross-site fetch() (no-cors simple request or cors).
      {"cross-site fetch", "cross-site", "https://evil.example", "app.example.com", kTls, kRefuse},
      // A sandboxed frame (opaque origin) even on our own site.
      {"sandboxed frame", "cross-site", "null", "app.example.com", kTls, kRefuse},
      // Our own host over plain http posting to https.
      {"http page posting to https", "cross-site", "http://app.example.com", "app.example.com",
       kTls, kRefuse},
      // A sibling subdomain: same-site, refused by default.
      {"same-site sibling", "same-site", "https://blog.example.com", "app.example.com", kTls,
       kRefuse},
      // Fetch Metadata wins over a matching Origin.
      {"cross-site with a matching Origin", "cross-site", "https://app.example.com",
       "app.example.com", kTls, kRefuse},
      // The demo on http://127.0.0.1:8080 (loopback is potentially trustworthy: Fetch Metadata
      // is sent) with its no-referrer policy.
      {"demo on loopback, no-referrer", "same-origin", "null", "127.0.0.1:8080", kPlain, kAllow},
      {"demo on loopback, cross-site", "cross-site", "http://evil.example", "127.0.0.1:8080",
       kPlain, kRefuse},
  });
}

// No Fetch Metadata: Safari < 16.4, Firefox 70-89, Chromium < 76, and every modern browser
// talking plain http to a host that is not loopback (Fetch Metadata is for trustworthy URLs).
TEST(CheckOrigin, OriginOnlyBrowsers) {
  expect_all({
      {"same-origin post", none, "https://app.example.com", "app.example.com", kTls, kAllow},
      {"same-origin post, no-referrer", none, "null", "app.example.com", kTls, kAllow},
      {"cross-site post", none, "https://evil.example", "app.example.com", kTls, kRefuse},
      // Indistinguishable from our own no-referrer post: the CSRF token decides.
      {"cross-site post, attacker no-referrer", none, "null", "app.example.com", kTls, kAllow},
      {"LAN http app", none, "http://192.168.1.5:8080", "192.168.1.5:8080", kPlain, kAllow},
      {"LAN http app, cross-site", none, "http://evil.example", "192.168.1.5:8080", kPlain,
       kRefuse},
      // Firefox < 70 and older browsers send no Origin on form posts; so do curl & co.
      {"no Origin, no Fetch Metadata", none, none, "app.example.com", kTls, kAllow},
      {"no Origin, no Fetch Metadata, no Host", none, none, none, kPlain, kAllow},
      {"Origin: null without a Host", none, "null", none, kPlain, kAllow},
  });
}

TEST(CheckOrigin, SchemeHostAndPortMustMatch) {
  expect_all({
      {"https origin, http app", none, "https://app.example", "app.example", kPlain, kRefuse},
      {"http origin, https app", none, "http://app.example", "app.example", kTls, kRefuse},
      {"other host", none, "http://app.example.net", "app.example", kPlain, kRefuse},
      {"host suffix", none, "http://xapp.example", "app.example", kPlain, kRefuse},
      {"other port", none, "http://app.example:8081", "app.example:8080", kPlain, kRefuse},
      {"port missing from Origin", none, "http://app.example", "app.example:8080", kPlain, kRefuse},
      {"port missing from Host", none, "http://app.example:8080", "app.example", kPlain, kRefuse},
      {"same port", none, "http://app.example:8080", "app.example:8080", kPlain, kAllow},
      // Default ports are elided on either side.
      {"http :80 vs bare Host", none, "http://app.example:80", "app.example", kPlain, kAllow},
      {"bare http vs Host :80", none, "http://app.example", "app.example:80", kPlain, kAllow},
      {"https :443 vs bare Host", none, "https://app.example:443", "app.example", kTls, kAllow},
      {"bare https vs Host :443", none, "https://app.example", "app.example:443", kTls, kAllow},
      {"https :80 is not the default", none, "https://app.example:80", "app.example", kTls,
       kRefuse},
      {"http on 443 explicitly", none, "http://app.example:443", "app.example:443", kPlain, kAllow},
      {"Host :443 but plain http", none, "https://app.example", "app.example:443", kPlain, kRefuse},
      {"empty port is the default", none, "http://app.example", "app.example:", kPlain, kAllow},
      // Case.
      {"case", none, "HTTP://App.Example", "app.EXAMPLE", kPlain, kAllow},
      {"case, https", none, "HTTPS://APP.EXAMPLE", "App.Example", kTls, kAllow},
      // IPv6.
      {"IPv6 with port", none, "http://[::1]:8080", "[::1]:8080", kPlain, kAllow},
      {"IPv6, other port", none, "http://[::1]:8081", "[::1]:8080", kPlain, kRefuse},
      {"IPv6, no port in Origin", none, "http://[::1]", "[::1]:8080", kPlain, kRefuse},
      {"IPv6, other address", none, "http://[::2]:8080", "[::1]:8080", kPlain, kRefuse},
      {"IPv6, default port", none, "http://[::1]:80", "[::1]", kPlain, kAllow},
      {"IPv6, case", none, "http://[2001:DB8::A]", "[2001:db8::a]", kPlain, kAllow},
      {"IPv6 vs IPv4", none, "http://127.0.0.1:8080", "[::1]:8080", kPlain, kRefuse},
      // Whitespace around header values.
      {"whitespace", " same-origin ", " null ", "app.example", kPlain, kAllow},
      {"whitespace, Origin", none, " http://app.example\t", " app.example ", kPlain, kAllow},
  });
}

TEST(CheckOrigin, MalformedOriginOrHostIsRefused) {
  expect_all({
      {"no scheme", none, "app.example", "app.example", kPlain, kRefuse},
      {"path", none, "http://app.example/", "app.example", kPlain, kRefuse},
      {"user info", none, "http://u@app.example", "app.example", kPlain, kRefuse},
      {"port too large", none, "http://app.example:65536", "app.example:65536", kPlain, kRefuse},
      {"port not a number", none, "http://app.example:8o", "app.example:8o", kPlain, kRefuse},
      {"empty Origin", none, "", "app.example", kPlain, kRefuse},
      {"two origins", none, "http://app.example http://evil.example", "app.example", kPlain,
       kRefuse},
      {"unclosed IPv6", none, "http://[::1", "[::1", kPlain, kRefuse},
      {"malformed Host", none, "http://app.example", "app.example/x", kPlain, kRefuse},
      {"empty Host", none, "http://app.example", "", kPlain, kRefuse},
      {"Host with user info", none, "http://app.example", "u@app.example", kPlain, kRefuse},
      {"Origin on another scheme", none, "file://app.example", "app.example", kPlain, kRefuse},
  });
}

TEST(CheckOrigin, OriginWithoutHostIsRefusedUnlessConfigured) {
  const std::vector<Case> cases = {
      {"HTTP/1.0 with an Origin", none, "https://app.example", none, kTls, kRefuse},
  };
  expect_all(cases);
  expect_all({{"configured", none, "https://app.example", none, kTls, kAllow}},
             policy_of("https://app.example"));
}

TEST(CheckOrigin, UnknownSecFetchSiteIsRefused) {
  expect_all({
      {"unknown token", "cross-origin", "https://app.example", "app.example", kTls, kRefuse},
      {"empty", "", "https://app.example", "app.example", kTls, kRefuse},
      {"merged duplicates", "same-origin, cross-site", none, "app.example", kTls, kRefuse},
      {"quoted", "\"same-origin\"", none, "app.example", kTls, kRefuse},
      {"case-insensitive", "Same-Origin", none, "app.example", kTls, kAllow},
  });
  // Even with a configured origin in Origin.
  expect_all({{"unknown token, configured", "sideways", "https://app.example", "app.example", kTls,
               kRefuse}},
             policy_of("https://app.example"));
}

TEST(CheckOrigin, SafeMethodsAlwaysPass) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE"}) {
    Case c{"safe", "cross-site", "https://evil.example", "app.example", kTls, kAllow, m};
    expect_all({c});
    Case bad{"safe, malformed", "bogus", "garbage", none, kTls, kAllow, m};
    expect_all({bad});
  }
  for (const char* m : {"POST", "PUT", "PATCH", "DELETE", "get", "PROPFIND"}) {
    Case c{"unsafe", "cross-site", "https://evil.example", "app.example", kTls, kRefuse, m};
    expect_all({c});
  }
}

TEST(CheckOrigin, SameSite) {
  const std::vector<Case> cases = {
      {"sibling form post", "same-site", "https://blog.example.com", "app.example.com", kTls,
       kAllow},
      {"sibling, Origin null", "same-site", "null", "app.example.com", kTls, kAllow},
      {"cross-site stays refused", "cross-site", "https://evil.example", "app.example.com", kTls,
       kRefuse},
  };
  expect_all(cases, policy_of("", /*allow_same_site=*/true));
  expect_all({{"default refuses", "same-site", "https://blog.example.com", "app.example.com", kTls,
               kRefuse}},
             OriginPolicy());
}

TEST(CheckOrigin, ConfiguredOrigins) {
  const OriginPolicy p = policy_of("https://app.example, https://www.example:8443/,");
  expect_all(
      {
          {"first", none, "https://app.example", "app.example", kTls, kAllow},
          {"second", none, "https://www.example:8443", "app.example", kTls, kAllow},
          {"default port spelt out", none, "https://app.example:443", "app.example", kTls, kAllow},
          {"case", none, "HTTPS://WWW.EXAMPLE:8443", "app.example", kTls, kAllow},
          {"other", none, "https://evil.example", "app.example", kTls, kRefuse},
          {"scheme", none, "http://app.example", "app.example", kPlain, kRefuse},
          {"port", none, "https://www.example", "app.example", kTls, kRefuse},
          // Behind a proxy that rewrites Host: the configured list replaces the derived origin.
          {"proxy rewrote Host", none, "https://app.example", "backend:8080", kPlain, kAllow},
          {"derived origin no longer counts", none, "http://backend:8080", "backend:8080", kPlain,
           kRefuse},
          {"no Origin", none, none, "backend:8080", kPlain, kAllow},
          {"Origin null", none, "null", "backend:8080", kPlain, kAllow},
          // An app on several origins: a post between them is same-site or cross-site.
          {"cross-site from a configured origin", "cross-site", "https://www.example:8443",
           "app.example", kTls, kAllow},
          {"same-site from a configured origin", "same-site", "https://www.example:8443",
           "app.example", kTls, kAllow},
          {"cross-site from elsewhere", "cross-site", "https://evil.example", "app.example", kTls,
           kRefuse},
          {"cross-site, Origin null", "cross-site", "null", "app.example", kTls, kRefuse},
          {"same-origin", "same-origin", "null", "backend:8080", kPlain, kAllow},
      },
      p);
}

TEST(OriginPolicy, ParsesAndNormalises) {
  auto p = OriginPolicy::parse(" HTTPS://App.Example:443 , http://[::1]:8080,http://h:80/ ,");
  ASSERT_TRUE(p.ok()) << p.message();
  EXPECT_FALSE(p->derives_from_host());
  EXPECT_EQ(p->origins(),
            (std::vector<std::string>{"https://app.example", "http://[::1]:8080", "http://h"}));
  EXPECT_TRUE(p->contains("https://app.example"));
  EXPECT_TRUE(p->contains("http://[::1]:8080"));
  EXPECT_TRUE(p->contains("http://h:80"));
  EXPECT_FALSE(p->contains("http://app.example"));
  EXPECT_FALSE(p->contains("null"));
  EXPECT_FALSE(p->contains(""));

  auto empty = OriginPolicy::parse(" , ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->derives_from_host());
  EXPECT_TRUE(empty->origins().empty());
  EXPECT_FALSE(empty->contains("https://app.example"));
  EXPECT_TRUE(OriginPolicy().derives_from_host());
  EXPECT_FALSE(OriginPolicy().allow_same_site);
}

TEST(OriginPolicy, RejectsBadEntries) {
  for (const char* bad :
       {"app.example", "ftp://app.example", "https://*.example", "https://app.example/path",
        "https://u:p@app.example", "https://app.example:70000", "https://app.example:x", "null",
        "https://", "https:///", "//app.example", "https://app.example?q", "https://[::1",
        "https://app.example, evil"}) {
    auto p = OriginPolicy::parse(bad);
    EXPECT_EQ(p.code(), errc::invalid_argument) << bad;
  }
  auto p = OriginPolicy::parse("https://ok.example, https://bad.example/x");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.message().find("https://bad.example/x"), std::string::npos) << p.message();
}

}  // namespace
}  // namespace sessionkit::http
