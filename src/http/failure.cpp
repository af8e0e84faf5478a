// The error -> HTTP answer table (include/sessionkit/http/failure.h).
#include "sessionkit/http/failure.h"

#include <algorithm>
#include <cstddef>

namespace sessionkit::http {

Failure failure_for(const Status& status, const SessionOptions& options) {
  switch (status.code()) {
    case errc::too_large:
      return {413, "session data too large; nothing was saved", 0, false};
    case errc::rate_limited: {  // too many new anonymous sessions from one address
      const std::size_t per_minute = options.anonymous_sessions.per_minute;
      const int retry =
          per_minute == 0 ? 60 : static_cast<int>(std::max<std::size_t>(1, 60 / per_minute));
      return {429, "too many new sessions from your address; try again shortly", retry, false};
    }
    case errc::invalid_argument:
      return {400, status.message().empty() ? "invalid request" : status.message(), 0, false};
    case errc::unsupported:
      return {501, "not possible with client-side (cookie) sessions", 0, false};
    case errc::not_found:  // the session ended (or changed identity) concurrently
    case errc::conflict:
      return {409, "session ended concurrently; sign in again", 0, false};
    case errc::unavailable:
    case errc::timeout:
    case errc::corrupt:
    case errc::ok:  // not an error: a caller's bug, still never a 500
      break;
  }
  // The store could not answer: never "signed out", never a new cookie.
  return {503, "session store unavailable; try again shortly", 5, true};
}

}  // namespace sessionkit::http
