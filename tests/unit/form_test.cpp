// sessionkit/http/form.h: the urlencoded decoder the adapters use for the CSRF form field.
#include "sessionkit/http/form.h"

#include <gtest/gtest.h>

#include <string>

namespace sessionkit::http {
namespace {

TEST(Form, DecodesPlusAndPercentEscapesOfEitherCase) {
  EXPECT_EQ(form_decode("a+b%20c%2fd%2Fe"), "a b c/d/e");
  EXPECT_EQ(form_decode("%00%ff"), std::string("\0\xff", 2));
  EXPECT_EQ(form_decode(""), "");
  EXPECT_EQ(form_decode("%2B"), "+") << "an encoded plus stays a plus";
}

TEST(Form, AMalformedEscapeIsAnErrorNotLiteralText) {
  for (const char* bad : {"%", "%4", "a%zz", "%g0", "%0g", "abc%", "%%41"}) {
    EXPECT_FALSE(form_decode(bad).has_value()) << bad;
  }
}

TEST(Form, EncodeKeepsUnreservedAndRoundTripsEveryByte) {
  EXPECT_EQ(form_encode("Az09-._~"), "Az09-._~");
  EXPECT_EQ(form_encode("a b+c/&="), "a%20b%2Bc%2F%26%3D");
  std::string all;
  for (int c = 0; c < 256; ++c)
    all += static_cast<char>(c);
  EXPECT_EQ(form_decode(form_encode(all)), all);
}

TEST(Form, ParsesFieldsFirstValueWinsEmptyPiecesSkipped) {
  const auto fields = parse_form("a=1&&b=x+y&a=2&flag&=v&c=");
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(fields->at("a"), "1");
  EXPECT_EQ(fields->at("b"), "x y");
  EXPECT_EQ(fields->at("flag"), "") << "no '=': an empty value";
  EXPECT_EQ(fields->at(""), "v");
  EXPECT_EQ(fields->at("c"), "");
  EXPECT_EQ(fields->size(), 5u);
  EXPECT_EQ(parse_form("")->size(), 0u);
  EXPECT_EQ(parse_form("a=b=c")->at("a"), "b=c") << "split at the first '='";
}

TEST(Form, AnyMalformedPieceMakesTheWholeBodyInvalid) {
  EXPECT_FALSE(parse_form("a=1&b=%zz").has_value());
  EXPECT_FALSE(parse_form("%=1").has_value());
  // form_field does not find a field in a malformed body, even before the bad piece.
  EXPECT_FALSE(form_field("_csrf=tok&b=%zz", "_csrf").has_value());
  EXPECT_FALSE(form_field("b=%zz&_csrf=tok", "_csrf").has_value());
}

TEST(Form, FieldFindsTheFirstValueOfAnEncodedName) {
  EXPECT_EQ(form_field("x=1&_csrf=a%2Bb&_csrf=second", "_csrf"), "a+b");
  EXPECT_EQ(form_field("%5Fcsrf=t", "_csrf"), "t") << "the name is decoded before comparing";
  EXPECT_FALSE(form_field("x=1", "_csrf").has_value());
  EXPECT_FALSE(form_field("_CSRF=t", "_csrf").has_value()) << "names are case-sensitive";
  EXPECT_FALSE(form_field("", "_csrf").has_value());
}

TEST(Form, ContentTypeIsTheMediaTypeCaseInsensitivelyParametersIgnored) {
  EXPECT_TRUE(is_form_content_type("application/x-www-form-urlencoded"));
  EXPECT_TRUE(is_form_content_type("Application/X-WWW-Form-URLEncoded; charset=UTF-8"));
  EXPECT_TRUE(is_form_content_type(" application/x-www-form-urlencoded ;charset=utf-8"));
  EXPECT_FALSE(is_form_content_type("application/x-www-form-urlencodedX"));
  EXPECT_FALSE(is_form_content_type("multipart/form-data; boundary=x"));
  EXPECT_FALSE(is_form_content_type("application/json"));
  EXPECT_FALSE(is_form_content_type(""));
}

}  // namespace
}  // namespace sessionkit::http
