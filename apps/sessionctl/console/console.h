// console.h — `sessionctl console`: the operators' web console over a session store (private to
// sessionctl; docs/operations.md, "The web console").
//
// A cpp-httplib server, loopback by default, built on sessionkit itself: its own sessions (a
// memory store, a per-process secret: a restart signs the admin out), its own CSRF tokens, an
// admin password checked against an argon2id hash (`sessionctl hash-password`), and a strict
// Content-Security-Policy (scripts and styles from the console only). Pages: the overview (the
// store's figures), search by user (the user index) or by key prefix (a bounded scan), a
// session's detail (payload redacted), and revoking one session or all of a user's, each after a
// confirmation page. With --scrape URL (several allowed): live charts on the overview (per-minute
// rates from each instance's /metrics, drawn by /static/console.js polling /api/series) and the
// events page (each instance's /events, filterable). Wrong admin passwords are throttled
// (sessionkit::LoginThrottle: a delay doubling after 5 failures from one address).
#pragma once

#include <string>
#include <vector>

#include "console/scraper.h"
#include "context.h"

namespace sessionctl {

struct ConsoleOptions {
  std::string listen = "127.0.0.1:9090";  // HOST:PORT (port 0: any free port, printed)
  std::string password_hash;              // argon2id hash (from a file or the environment)
  int threads = 8;
  ScrapeOptions scrape;  // the app instances whose /metrics and /events feed the live pages
};

// Serves until SIGINT or SIGTERM; answers an exit code. Prints "listening on http://HOST:PORT".
int console(const Context& ctx, const ConsoleOptions& options);

}  // namespace sessionctl
