// sessionkit/http/authorization.h: the Bearer credential of an Authorization header value.
#include "sessionkit/http/authorization.h"

#include <gtest/gtest.h>

namespace sessionkit::http {
namespace {

TEST(BearerCredential, ReadsTheTokenOfTheBearerSchemeOnly) {
  EXPECT_EQ(bearer_credential("Bearer abc.def"), "abc.def");
  EXPECT_EQ(bearer_credential("bEaReR \t abc \t"), "abc") << "scheme case, OWS trimmed";
  EXPECT_EQ(bearer_credential("  Bearer abc"), "abc");
  EXPECT_EQ(bearer_credential("Bearer"), "") << "a Bearer with no token";
  EXPECT_EQ(bearer_credential("Bearer   "), "");
  EXPECT_EQ(bearer_credential("Basic eDp5"), std::nullopt);
  EXPECT_EQ(bearer_credential("Bearerabc"), std::nullopt) << "not the Bearer scheme";
  EXPECT_EQ(bearer_credential(""), std::nullopt);
}

}  // namespace
}  // namespace sessionkit::http
