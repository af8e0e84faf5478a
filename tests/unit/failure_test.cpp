// failure_for (sessionkit/http/failure.h): every errc answers as the header's table says.
#include "sessionkit/http/failure.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>

#include "sessionkit/keyring.h"
#include "sessionkit/stores/memory.h"

namespace sessionkit::http {
namespace {

struct Row {
  errc code;
  int status;
  int retry_after;
  bool store_down;
};

// The table of failure.h, row by row, with the default options (30 anonymous sessions a minute:
// Retry-After 2 for rate_limited).
constexpr Row kTable[] = {
    {errc::unavailable, 503, 5, true},  {errc::timeout, 503, 5, true},
    {errc::corrupt, 503, 5, true},      {errc::invalid_argument, 400, 0, false},
    {errc::too_large, 413, 0, false},   {errc::rate_limited, 429, 2, false},
    {errc::not_found, 409, 0, false},   {errc::conflict, 409, 0, false},
    {errc::unsupported, 501, 0, false},
};

TEST(FailureFor, EveryErrcHasItsDocumentedAnswer) {
  const SessionOptions options;
  for (const Row& row : kTable) {
    const Failure f = failure_for(Status(row.code, "detail"), options);
    EXPECT_EQ(f.status, row.status) << to_string(row.code);
    EXPECT_EQ(f.retry_after, row.retry_after) << to_string(row.code);
    EXPECT_EQ(f.store_down, row.store_down) << to_string(row.code);
    EXPECT_FALSE(f.message.empty()) << to_string(row.code);
  }
}

TEST(FailureFor, TheTableCoversEveryErrorCode) {
  // errc runs from ok (0) to rate_limited (9): one row for each error.
  EXPECT_EQ(std::size(kTable), static_cast<std::size_t>(errc::rate_limited));
  for (int code = 1; code <= static_cast<int>(errc::rate_limited); ++code) {
    EXPECT_TRUE(std::any_of(std::begin(kTable), std::end(kTable), [&](const Row& r) {
      return static_cast<int>(r.code) == code;
    })) << code;
  }
}

TEST(FailureFor, RateLimitedRetryAfterComesFromTheAnonymousSessionRate) {
  SessionOptions options;
  const Status limited(errc::rate_limited, "slow down");
  options.anonymous_sessions.per_minute = 30;
  EXPECT_EQ(failure_for(limited, options).retry_after, 2);
  options.anonymous_sessions.per_minute = 6;
  EXPECT_EQ(failure_for(limited, options).retry_after, 10);
  options.anonymous_sessions.per_minute = 1;
  EXPECT_EQ(failure_for(limited, options).retry_after, 60);
  options.anonymous_sessions.per_minute = 120;  // a token every half second: at least 1
  EXPECT_EQ(failure_for(limited, options).retry_after, 1);
  options.anonymous_sessions.per_minute = 0;  // no refill: a minute
  EXPECT_EQ(failure_for(limited, options).retry_after, 60);
}

TEST(FailureFor, TheManagerOverloadUsesTheManagersOptions) {
  SessionOptions options = SessionOptions::development();
  options.anonymous_sessions.per_minute = 4;
  const SessionManager manager(std::make_shared<MemoryStore>(), Keyring::ephemeral(), options);
  EXPECT_EQ(failure_for(Status(errc::rate_limited, "x"), manager).retry_after, 15);
}

TEST(FailureFor, MessagesAreForTheClient) {
  const SessionOptions options;
  // Bad input: the error's own message names it.
  EXPECT_EQ(failure_for(Status(errc::invalid_argument, "field too long"), options).message,
            "field too long");
  EXPECT_FALSE(failure_for(Status(errc::invalid_argument, ""), options).message.empty());
  // A store's details never reach the client.
  const Failure down = failure_for(Status(errc::unavailable, "redis 10.0.0.5:6379: auth"), options);
  EXPECT_EQ(down.message.find("redis"), std::string::npos) << down.message;
}

TEST(FailureFor, AnOkStatusIsNeverA500NorASuccess) {
  const Failure f = failure_for(Status(), SessionOptions());
  EXPECT_EQ(f.status, 503);
  EXPECT_TRUE(f.store_down);
}

}  // namespace
}  // namespace sessionkit::http
