#include "sessionkit/http/cookie.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <utility>
#include <vector>

// Counts global allocations so the tests can prove that parsing does not allocate. noinline keeps
// g++ -O2 from inlining new/delete into callers and raising -Wmismatched-new-delete on free().
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace sessionkit::http {
namespace {

using namespace std::chrono_literals;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs all_pairs(std::string_view header) {
  Pairs out;
  for_each_cookie(header, [&](std::string_view n, std::string_view v) {
    out.emplace_back(std::string(n), std::string(v));
    return true;
  });
  return out;
}

// ---- parsing ----

TEST(CookieParse, SimplePairsInOrder) {
  EXPECT_EQ(all_pairs("a=1; b=2; c=3"), (Pairs{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

TEST(CookieParse, EmptyHeaderHasNoCookies) {
  EXPECT_TRUE(all_pairs("").empty());
  EXPECT_FALSE(find_cookie("", "sid").has_value());
  EXPECT_EQ(count_cookies("", "sid"), 0u);
  EXPECT_TRUE(all_pairs("   ").empty());
  EXPECT_TRUE(all_pairs(";;; ;").empty());
}

TEST(CookieParse, TrimsSpacesAndTabs) {
  EXPECT_EQ(all_pairs(" \ta = 1 \t;\tb=2  ;  c =\t3"), (Pairs{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  EXPECT_EQ(find_cookie("  sid \t=\t abc  ; x=y", "sid"), "abc");
}

TEST(CookieParse, NoSpaceAfterSemicolon) {
  EXPECT_EQ(all_pairs("a=1;b=2"), (Pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(CookieParse, SkipsEmptyPairsAndTrailingSemicolon) {
  EXPECT_EQ(all_pairs("; a=1;; ;b=2;"), (Pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(find_cookie("sid=abc;", "sid"), "abc");
  EXPECT_EQ(find_cookie("sid=abc; ", "sid"), "abc");
}

TEST(CookieParse, SkipsPairsWithoutEquals) {
  EXPECT_EQ(all_pairs("flag; a=1; other ;b=2"), (Pairs{{"a", "1"}, {"b", "2"}}));
  EXPECT_FALSE(find_cookie("sid; x=1", "sid").has_value());
  EXPECT_EQ(count_cookies("sid; sid=1", "sid"), 1u);
}

TEST(CookieParse, SkipsEmptyNames) {
  EXPECT_EQ(all_pairs("=orphan; a=1;  =x"), (Pairs{{"a", "1"}}));
  EXPECT_FALSE(find_cookie("=orphan", "").has_value());
}

TEST(CookieParse, EmptyValueIsPresent) {
  EXPECT_EQ(find_cookie("sid=; a=1", "sid"), "");
  EXPECT_EQ(find_cookie("sid=", "sid"), "");
  EXPECT_EQ(find_cookie("sid=  ;a=1", "sid"), "");
}

TEST(CookieParse, EqualsInsideValueIsKept) {
  EXPECT_EQ(find_cookie("tok=a=b==; x=1", "tok"), "a=b==");
  EXPECT_EQ(find_cookie("x=1; b64=YWJj=", "b64"), "YWJj=");
}

TEST(CookieParse, StripsOneSurroundingPairOfQuotes) {
  EXPECT_EQ(find_cookie("sid=\"abc\"", "sid"), "abc");
  EXPECT_EQ(find_cookie("sid= \"abc\" ; x=1", "sid"), "abc");
  EXPECT_EQ(find_cookie("sid=\"\"", "sid"), "");
  EXPECT_EQ(find_cookie("sid=\"\"abc\"\"", "sid"), "\"abc\"");  // only one pair
  EXPECT_EQ(find_cookie("sid=\"abc", "sid"), "\"abc");          // unbalanced: kept
  EXPECT_EQ(find_cookie("sid=abc\"", "sid"), "abc\"");
  EXPECT_EQ(find_cookie("sid=\"", "sid"), "\"");
}

TEST(CookieParse, NamesMatchExactlyNotByPrefixOrSuffix) {
  const std::string_view header = "xsid=1; sid2=2; SID=3; sid=4; sid_=5";
  EXPECT_EQ(find_cookie(header, "sid"), "4");
  EXPECT_EQ(find_cookie(header, "sid2"), "2");
  EXPECT_EQ(find_cookie(header, "xsid"), "1");
  EXPECT_EQ(find_cookie(header, "SID"), "3");  // case-sensitive
  EXPECT_FALSE(find_cookie(header, "si").has_value());
  EXPECT_FALSE(find_cookie(header, "id").has_value());
  EXPECT_EQ(count_cookies(header, "sid"), 1u);
  EXPECT_FALSE(find_cookie("xsid=1; sid2=2", "sid").has_value());
}

TEST(CookieParse, DuplicatesFirstWinsAndAreCounted) {
  const std::string_view header = "sid=first; other=x; sid=second;sid=third";
  EXPECT_EQ(find_cookie(header, "sid"), "first");
  EXPECT_EQ(count_cookies(header, "sid"), 3u);
  EXPECT_EQ(count_cookies(header, "other"), 1u);
  EXPECT_EQ(count_cookies(header, "missing"), 0u);
}

TEST(CookieParse, FindReturnsViewIntoOriginalHeader) {
  const std::string header = "a=1; sid = \"secret-token\" ; b=2";
  auto v = find_cookie(header, "sid");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(*v, "secret-token");
  const char* begin = header.data();
  const char* end = header.data() + header.size();
  EXPECT_GE(v->data(), begin);
  EXPECT_LE(v->data() + v->size(), end);
  EXPECT_EQ(v->data(), begin + header.find("secret-token"));
}

TEST(CookieParse, ForEachStopsWhenVisitorReturnsFalse) {
  int visited = 0;
  for_each_cookie("a=1; b=2; c=3", [&](std::string_view n, std::string_view) {
    ++visited;
    return n != "b";
  });
  EXPECT_EQ(visited, 2);
}

TEST(CookieParse, DoesNotAllocate) {
  const std::string header(" a=1; ;flag; sid2=x; sid=\"value-with=equals\"; sid=dup; tail=;  ");
  const std::size_t before = g_allocations.load();
  auto v = find_cookie(header, "sid");
  std::size_t n = count_cookies(header, "sid");
  auto missing = find_cookie(header, "nope");
  const std::size_t after = g_allocations.load();
  EXPECT_EQ(after, before);
  // The counting hook itself works (a direct call cannot be elided by the optimizer).
  ::operator delete(::operator new(64));
  EXPECT_EQ(g_allocations.load(), after + 1);
  EXPECT_EQ(v, "value-with=equals");
  EXPECT_EQ(n, 2u);
  EXPECT_FALSE(missing.has_value());
}

TEST(CookieParse, PrefixStrings) {
  EXPECT_EQ(prefix_string(CookiePrefix::none), "");
  EXPECT_EQ(prefix_string(CookiePrefix::secure), "__Secure-");
  EXPECT_EQ(prefix_string(CookiePrefix::host), "__Host-");
}

// ---- http_date ----

Time utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
  using namespace std::chrono;
  return Time(sys_days(year{y} / month{mo} / day{d}) + hours{h} + minutes{mi} + seconds{s});
}

TEST(HttpDate, Rfc7231Example) {
  EXPECT_EQ(http_date(utc(1994, 11, 6, 8, 49, 37)), "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST(HttpDate, Epoch) {
  EXPECT_EQ(http_date(from_millis(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
}

TEST(HttpDate, LeapDay2024) {
  EXPECT_EQ(http_date(utc(2024, 2, 29, 23, 59, 59)), "Thu, 29 Feb 2024 23:59:59 GMT");
  EXPECT_EQ(http_date(utc(2024, 2, 29, 23, 59, 59) + 1s), "Fri, 01 Mar 2024 00:00:00 GMT");
}

TEST(HttpDate, KnownVectors) {
  // ManualClock's default start.
  EXPECT_EQ(http_date(from_millis(1'704'067'200'000)), "Mon, 01 Jan 2024 00:00:00 GMT");
  EXPECT_EQ(http_date(from_millis(2'147'483'647'000)), "Tue, 19 Jan 2038 03:14:07 GMT");
  EXPECT_EQ(http_date(utc(2000, 2, 29, 12, 0, 0)), "Tue, 29 Feb 2000 12:00:00 GMT");
  EXPECT_EQ(http_date(utc(2023, 12, 31, 7, 5, 9)), "Sun, 31 Dec 2023 07:05:09 GMT");
  EXPECT_EQ(http_date(utc(2025, 6, 14, 10, 30, 0)), "Sat, 14 Jun 2025 10:30:00 GMT");
  EXPECT_EQ(http_date(utc(2026, 8, 19, 18, 0, 0)), "Wed, 19 Aug 2026 18:00:00 GMT");
}

TEST(HttpDate, TruncatesMillisecondsTowardPast) {
  EXPECT_EQ(http_date(from_millis(999)), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(http_date(from_millis(-1)), "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(HttpDate, ClampsToFourDigitYears) {
  EXPECT_EQ(http_date(Time::max()), "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(http_date(Time::min()), "Mon, 01 Jan 0001 00:00:00 GMT");
}

// ---- serialize ----

TEST(SetCookieSerialize, NameValueAndDefaultPath) {
  SetCookie c{.name = "sid", .value = "abc"};
  EXPECT_EQ(c.serialize(), "sid=abc; Path=/");
}

TEST(SetCookieSerialize, NoPathWhenEmpty) {
  SetCookie c{.name = "sid", .value = "", .path = ""};
  EXPECT_EQ(c.serialize(), "sid=");
}

TEST(SetCookieSerialize, AllAttributesInOrder) {
  SetCookie c;
  c.name = "__Secure-sid";
  c.value = "abc.def";
  c.max_age = 3600s;
  c.expires = utc(1994, 11, 6, 8, 49, 37);
  c.domain = "example.com";
  c.path = "/app";
  c.secure = true;
  c.http_only = true;
  c.same_site = SameSite::none;
  c.partitioned = true;
  EXPECT_EQ(c.serialize(),
            "__Secure-sid=abc.def; Max-Age=3600; Expires=Sun, 06 Nov 1994 08:49:37 GMT; "
            "Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=None; Partitioned");
}

TEST(SetCookieSerialize, SameSiteValues) {
  SetCookie c{.name = "a", .value = "1", .path = ""};
  c.same_site = SameSite::lax;
  EXPECT_EQ(c.serialize(), "a=1; SameSite=Lax");
  c.same_site = SameSite::strict;
  EXPECT_EQ(c.serialize(), "a=1; SameSite=Strict");
  c.same_site = SameSite::none;
  EXPECT_EQ(c.serialize(), "a=1; SameSite=None");
  c.same_site = SameSite::unset;
  EXPECT_EQ(c.serialize(), "a=1");
}

TEST(SetCookieSerialize, HeaderExampleFromDocs) {
  SetCookie c{.name = "sid", .value = "abc", .max_age = 3600s};
  c.secure = true;
  c.http_only = true;
  c.same_site = SameSite::lax;
  EXPECT_EQ(c.serialize(), "sid=abc; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Lax");
}

TEST(SetCookieSerialize, DeletionCookie) {
  SetCookie c{.name = "sid", .value = "", .max_age = 0s, .expires = from_millis(0)};
  EXPECT_EQ(c.serialize(), "sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/");
  c.max_age = -5s;  // negative means "delete": written as 0
  c.expires.reset();
  EXPECT_EQ(c.serialize(), "sid=; Max-Age=0; Path=/");
}

// ---- validate ----

SetCookie good() {
  SetCookie c{.name = "sid", .value = "abc"};
  c.secure = true;
  c.http_only = true;
  c.same_site = SameSite::lax;
  return c;
}

void expect_invalid(const SetCookie& c, std::string_view needle) {
  Status s = c.validate();
  EXPECT_FALSE(s.ok()) << c.serialize();
  EXPECT_EQ(s.code(), errc::invalid_argument);
  EXPECT_NE(s.message().find(needle), std::string::npos)
      << "message \"" << s.message() << "\" lacks \"" << needle << "\"";
}

TEST(SetCookieValidate, DefaultsAreValid) {
  EXPECT_TRUE(good().validate().ok());
  EXPECT_TRUE((SetCookie{.name = "a", .value = ""}).validate().ok());
  EXPECT_TRUE((SetCookie{.name = "a", .value = "1", .path = ""}).validate().ok());
}

TEST(SetCookieValidate, NameMustBeToken) {
  SetCookie c = good();
  c.name = "!#$%&'*+-.^_`|~09azAZ";  // every tchar class
  EXPECT_TRUE(c.validate().ok()) << c.validate().to_string();

  c.name = "";
  expect_invalid(c, "name is empty");
  for (char bad : std::string_view("()<>@,;:\\\"/[]?={} \t\x01\x1f\x7f")) {
    c.name = std::string("s") + bad + "id";
    expect_invalid(c, "cookie name contains illegal character");
  }
  c.name = "s\xc3\xa9id";  // non-ASCII
  expect_invalid(c, "cookie name");
  c.name = std::string("s\0d", 3);  // NUL
  expect_invalid(c, "0x00");
  c.name = "se;id";
  expect_invalid(c, "0x3B (';') at offset 2");
}

TEST(SetCookieValidate, ValueMustBeCookieOctets) {
  SetCookie c = good();
  std::string all_ok;
  for (int ch = 0x21; ch <= 0x7e; ++ch) {
    if (ch != '"' && ch != ',' && ch != ';' && ch != '\\') all_ok += static_cast<char>(ch);
  }
  c.value = all_ok;
  EXPECT_TRUE(c.validate().ok()) << c.validate().to_string();
  c.value = "";
  EXPECT_TRUE(c.validate().ok());

  for (char bad : std::string_view(" \",;\\\t\r\n\x01\x7f")) {
    c.value = std::string("ab") + bad + "c";
    expect_invalid(c, "cookie value contains illegal character");
  }
  c.value = "caf\xc3\xa9";
  expect_invalid(c, "cookie value contains illegal character 0xC3 at offset 3");
  c.value = "a b";
  expect_invalid(c, "0x20 (space)");
}

TEST(SetCookieValidate, SizeLimits) {
  SetCookie c = good();
  c.value = std::string(4096 - c.name.size(), 'x');
  EXPECT_TRUE(c.validate().ok());
  c.value += 'x';
  expect_invalid(c, "browsers drop cookies over 4096");

  c = good();
  c.path = "/" + std::string(1023, 'p');
  EXPECT_TRUE(c.validate().ok());
  c.path += 'p';
  expect_invalid(c, "Path is 1025 bytes");
}

TEST(SetCookieValidate, DomainAndPathCharacters) {
  SetCookie c = good();
  c.domain = "example.com";
  c.path = "/a b,c=d";  // spaces and commas are legal in Path
  EXPECT_TRUE(c.validate().ok()) << c.validate().to_string();

  c = good();
  c.domain = "example.com; Secure";
  expect_invalid(c, "Domain contains illegal character 0x3B (';')");
  c.domain = "example.com\r\nSet-Cookie: x=y";
  expect_invalid(c, "Domain contains illegal character 0x0D");
  c.domain =
      "b\xc3\xbc"
      "cher.de";
  expect_invalid(c, "Domain contains illegal character 0xC3");

  c = good();
  c.path = "/;Domain=evil";
  expect_invalid(c, "Path contains illegal character 0x3B (';')");
  c.path = "/a\tb";
  expect_invalid(c, "Path contains illegal character 0x09");
  c.path = std::string("/\x7f");
  expect_invalid(c, "Path contains illegal character 0x7F");
  c.path = "app";
  expect_invalid(c, "does not start with '/'");
}

TEST(SetCookieValidate, SecurePrefixRequiresSecure) {
  SetCookie c = good();
  c.name = "__Secure-sid";
  c.domain = "example.com";
  c.path = "/app";
  EXPECT_TRUE(c.validate().ok());
  c.secure = false;
  expect_invalid(c, "__Secure- cookie requires Secure");
  c.name = "__secure-sid";  // browsers match prefixes case-insensitively
  expect_invalid(c, "__Secure- cookie requires Secure");
  c.name = "x__Secure-sid";  // not a prefix
  EXPECT_TRUE(c.validate().ok());
}

TEST(SetCookieValidate, HostPrefixRules) {
  SetCookie c = good();
  c.name = "__Host-sid";
  EXPECT_TRUE(c.validate().ok());

  SetCookie insecure = c;
  insecure.secure = false;
  expect_invalid(insecure, "__Host- cookie requires Secure");

  SetCookie with_path = c;
  with_path.path = "/app";
  expect_invalid(with_path, "__Host- cookie requires Path=/");
  with_path.path = "";
  expect_invalid(with_path, "__Host- cookie requires Path=/");

  SetCookie with_domain = c;
  with_domain.domain = "example.com";
  expect_invalid(with_domain, "__Host- cookie must not have a Domain");

  SetCookie lower = c;
  lower.name = "__HOST-sid";
  lower.domain = "example.com";
  expect_invalid(lower, "__Host- cookie must not have a Domain");
}

TEST(SetCookieValidate, SameSiteNoneRequiresSecure) {
  SetCookie c = good();
  c.same_site = SameSite::none;
  EXPECT_TRUE(c.validate().ok());
  c.secure = false;
  expect_invalid(c, "SameSite=None requires Secure");
  c.same_site = SameSite::lax;
  EXPECT_TRUE(c.validate().ok());
  c.same_site = SameSite::strict;
  EXPECT_TRUE(c.validate().ok());
}

TEST(SetCookieValidate, PartitionedRequiresSecure) {
  SetCookie c = good();
  c.partitioned = true;
  EXPECT_TRUE(c.validate().ok());
  c.secure = false;
  expect_invalid(c, "Partitioned requires Secure");
}

TEST(SetCookieValidate, FullProductionCookieIsValid) {
  SetCookie c;
  c.name = std::string(prefix_string(CookiePrefix::host)) + "sid";
  c.value = "dGhpcyBpcyBhIHRlc3Q_-.sig";
  c.max_age = 86400s;
  c.expires = utc(2024, 2, 29, 0, 0, 0);
  c.secure = true;
  c.http_only = true;
  c.same_site = SameSite::none;
  c.partitioned = true;
  EXPECT_TRUE(c.validate().ok()) << c.validate().to_string();
  EXPECT_EQ(c.serialize(),
            "__Host-sid=dGhpcyBpcyBhIHRlc3Q_-.sig; Max-Age=86400; "
            "Expires=Thu, 29 Feb 2024 00:00:00 GMT; Path=/; Secure; HttpOnly; SameSite=None; "
            "Partitioned");
}

}  // namespace
}  // namespace sessionkit::http
