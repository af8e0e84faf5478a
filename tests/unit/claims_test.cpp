// The two readers of an access token's claims (src/tokens/claims.h): the fast flat reader
// answers only for the plain shape, and then exactly what the general reader answers.
#include "tokens/claims.h"

#include <gtest/gtest.h>

#include <string>

namespace sessionkit::tokens::claims {
namespace {

using json = nlohmann::json;

// The claims the library mints (AccessTokens::issue dumps them in this order, without spaces).
const std::string kMinted = R"({"aud":"https://api.example","exp":1735690200,"iat":1735689900,)"
                            R"("iss":"https://issuer.example","jti":"q1w2e3r4t5y6u7i8o9p0aa",)"
                            R"("sid":"c2VhbGVkIHNlc3Npb24gaWQ","sub":"alice"})";

void expect_same(const AccessToken& a, const AccessToken& b) {
  EXPECT_EQ(a.issuer, b.issuer);
  EXPECT_EQ(a.audience, b.audience);
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.session_id, b.session_id);
  EXPECT_EQ(a.issued_at, b.issued_at);
  EXPECT_EQ(a.expires_at, b.expires_at);
  EXPECT_EQ(a.not_before, b.not_before);
  EXPECT_EQ(a.jwt_id, b.jwt_id);
  EXPECT_EQ(a.extra, b.extra);
}

// `text` with `members` (JSON text, no braces) inserted first.
std::string with(std::string_view members) {
  return "{" + std::string(members) + "," + kMinted.substr(1);
}

TEST(Claims, TheFlatReaderReadsWhatIsMinted) {
  const auto flat = read_flat(kMinted);
  ASSERT_TRUE(flat.has_value());
  const auto general = read(kMinted);
  ASSERT_TRUE(general.token.has_value()) << general.detail;
  expect_same(*flat, *general.token);
  EXPECT_EQ(flat->subject, "alice");
  EXPECT_EQ(flat->audience, std::vector<std::string>{"https://api.example"});
  EXPECT_EQ(to_millis(flat->expires_at), 1'735'690'200'000);
  EXPECT_FALSE(flat->not_before.has_value());
  EXPECT_TRUE(flat->extra.empty());
}

TEST(Claims, TheFlatReaderReadsPlainExtraClaimsAndNbf) {
  const std::string text =
      with(R"("scope":"profile sessions","n":0,"big":999999999999999999,"t":true,"f":false,)"
           R"("z":null,"nbf":1735689900)");
  const auto flat = read_flat(text);
  ASSERT_TRUE(flat.has_value());
  const auto general = read(text);
  ASSERT_TRUE(general.token.has_value()) << general.detail;
  expect_same(*flat, *general.token);
  EXPECT_EQ(flat->extra.at("scope"), "profile sessions");
  EXPECT_TRUE(flat->extra.at("big").is_number_unsigned());
  EXPECT_TRUE(flat->extra.at("z").is_null());
  EXPECT_EQ(flat->not_before, from_millis(1'735'689'900'000));
}

// Inputs the flat reader declines, and what the general reader makes of them.
TEST(Claims, AnythingElseIsLeftToTheGeneralReader) {
  struct Case {
    std::string text;
    Rejection general;  // none: the general reader accepts it
  };
  std::string spaced = kMinted;
  spaced.insert(1, " ");
  const std::vector<Case> cases = {
      {spaced, Rejection::none},                              // whitespace
      {with(R"("x":"a\"b")"), Rejection::none},               // an escape
      {with("\"x\":\"caf\xc3\xa9\""), Rejection::none},       // non-ASCII
      {with(R"("x":1.5)"), Rejection::none},                  // a fraction
      {with(R"("x":1e3)"), Rejection::none},                  // an exponent
      {with(R"("x":-1)"), Rejection::none},                   // a negative number
      {with(R"("x":1234567890123456789)"), Rejection::none},  // 19 digits
      {with(R"("x":{"a":1})"), Rejection::none},              // a nested object
      {with(R"("x":[1])"), Rejection::none},                  // an array
      {with(R"("x":01)"), Rejection::malformed},              // a leading zero
      {with(R"("sub":"mallory")"), Rejection::malformed},     // a name twice
      {with(R"("x":1,"x":2)"), Rejection::malformed},         // an extra name twice
      {kMinted + " ", Rejection::none},                       // trailing whitespace
      {kMinted + "x", Rejection::malformed},                  // trailing bytes
      {"{}", Rejection::bad_claim},                           // nothing at all
      {R"({"aud":"a","exp":2,"iat":1,"iss":"i","jti":"j","sid":"s"})", Rejection::bad_claim},
      {R"({"aud":"a","exp":2,"iss":"i","jti":"j","sid":"s","sub":"u"})", Rejection::bad_claim},
      {R"({"aud":["a","b"],"exp":2,"iat":1,"iss":"i","jti":"j","sid":"s","sub":"u"})",
       Rejection::none},  // aud as an array
      {R"({"aud":1,"exp":2,"iat":1,"iss":"i","jti":"j","sid":"s","sub":"u"})",
       Rejection::bad_claim},  // aud a number
      {R"({"aud":"a","exp":"2","iat":1,"iss":"i","jti":"j","sid":"s","sub":"u"})",
       Rejection::bad_claim},  // exp a string
      {R"({"aud":"a","exp":253402300800,"iat":1,"iss":"i","jti":"j","sid":"s","sub":"u"})",
       Rejection::bad_claim},  // exp past 9999
      {R"({"aud":"a","exp":2,"iat":1,"iss":true,"jti":"j","sid":"s","sub":"u"})",
       Rejection::bad_claim},  // iss a boolean
      {R"({"aud":"a","exp":2,"iat":1,"iss":"i","jti":"j","sid":"s","sub":null})",
       Rejection::bad_claim},  // sub null
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_FALSE(read_flat(c.text).has_value());
    const auto general = read(c.text);
    EXPECT_EQ(general.token.has_value(), c.general == Rejection::none);
    EXPECT_EQ(general.why, c.general);
  }
  // At most 16 members: 17 (the 7 minted and 10 more) go to the general reader.
  std::string many;
  for (int k = 0; k < 10; ++k)
    many += (k ? ",\"x" : "\"x") + std::to_string(k) + "\":1";
  EXPECT_FALSE(read_flat(with(many)).has_value());
  EXPECT_TRUE(read(with(many)).token.has_value());
  many = many.substr(0, many.rfind(','));  // 16 members
  ASSERT_TRUE(read_flat(with(many)).has_value());
  expect_same(*read_flat(with(many)), *read(with(many)).token);
}

}  // namespace
}  // namespace sessionkit::tokens::claims
