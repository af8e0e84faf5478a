// sessionkit/http/failure.h — the one table from a manager error to an HTTP answer.
//
// Every SessionManager error is a `Status` with an `errc`. `failure_for` says how to answer it,
// framework-neutrally (no framework types here: an adapter turns a `Failure` into its own
// response). Both shipped adapters (beast.h's `with_session`, httplib.h's `with_session`) and
// the demo answer with it; docs/adapters.md prints the same table:
//
//   errc                          status  Retry-After                       store_down
//   unavailable, timeout, corrupt 503     5                                 true
//   invalid_argument              400     -                                 false
//   too_large                     413     -                                 false
//   rate_limited                  429     60 / anonymous_sessions.per_minute false
//                                         (at least 1; 60 when per_minute is 0)
//   not_found, conflict           409     -                                 false
//   unsupported                   501     -                                 false
//
// - 503 (the store could not answer) is never a 500 and never "signed out": send no Set-Cookie
//   and no page that shows the visitor as anonymous, and log it (`store_down`).
// - 409 (the session ended concurrently: another tab signed out, a newer login took the last
//   slot): keep the cookie-clearing Set-Cookie line commit wrote, so the browser forgets it.
// - The message is for the client: plain English, no secrets, no store details. For
//   invalid_argument it is the error's own message (which names the bad input); the others are
//   fixed sentences. Apps may word their own (the demo does); status and Retry-After they keep.
// - The adapters' own refusals have no errc: a failed CSRF or Origin check, a session that
//   client binding refused (403), a malformed X-Forwarded-For from a trusted proxy (400).
// - `status` must be an error. An ok Status (or a code this table does not know) gets the
//   503 answer: a bug must never become a 500 or a silent success.
//
// Thread safety: pure functions of their arguments; call them from any thread.
#pragma once

#include <string>

#include "sessionkit/manager.h"
#include "sessionkit/result.h"

namespace sessionkit::http {

struct Failure {
  int status = 503;
  std::string message;      // for the client: no secrets, no store details
  int retry_after = 0;      // seconds for Retry-After; 0: send none
  bool store_down = false;  // the store could not answer (log it; no Set-Cookie)
};

// The answer to the manager error `status` (the table above). `options` are the manager's: the
// Retry-After of rate_limited comes from `options.anonymous_sessions.per_minute`.
Failure failure_for(const Status& status, const SessionOptions& options);

// The same, with the manager's options.
inline Failure failure_for(const Status& status, const SessionManager& manager) {
  return failure_for(status, manager.options());
}

}  // namespace sessionkit::http
