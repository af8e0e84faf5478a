// sessionkit/login_throttle.h — LoginThrottle: slows password guessing, across app instances.
//
// Failed sign-ins are counted in a SessionStore (any of them; every instance pointing at one
// store shares the counts: memory for one process, SQLite for one host, Redis, Redis Cluster or
// PostgreSQL for many) under three scopes:
//   pair     one account from one client address: what a single guesser meets; the strictest;
//   address  one client address, every account: one address trying many accounts;
//   account  one account, every address: guessing spread over many addresses; the loosest.
// Client addresses are RateLimiter::client_key's (an IPv6 address by its /64), after the
// trusted-proxy rules (RequestView::peer_address).
//
// A scope allows `free` failures, then puts a delay in force after each further failure:
// base_delay, doubled per failure, at most max_delay. While a delay is in force `check` refuses
// (the app answers 429 with Retry-After) without trying the password, so a guess made then is
// not even counted. A scope's count starts at its first failure and is forgotten `window` after
// it; a successful sign-in forgets the pair's count (the address and account counts stay: one
// success does not make an address or an account trustworthy).
//
// No lockout anyone can cause. A per-account limit is a lever for an attacker: failing on
// purpose from anywhere would keep the owner out. So the account scope is skipped for a known
// device: a browser that signed in to that account before holds a device token
// (`device_token`, kept by the app in a long-lived HttpOnly cookie), and `Attempt::device_token`
// carries it back. The owner on a known device meets only the pair and address scopes, which an
// attacker elsewhere cannot fill. A new device of the owner's, during an attack on the account,
// waits like the attacker (bounded by max_delay per attempt): the trade-off OWASP describes for
// device cookies.
//
// The default limits and why:
//   pair     5 free (typos), then 1 s doubling to 15 min: a single guesser gets about 100
//            tries a day, not millions;
//   address  30 free (a household or office behind one address), then the same backoff;
//   account  100 free: NIST SP 800-63B §5.2.2 caps consecutive failures per account at 100.
//   window   24 h for each.
//
// Records: each scope's count is a session record (no user, no ID anyone holds) under a key
// derived from a domain-separated SHA-256 of the scope, the account and the address, with payload
// {"_sk_fails": n, "_sk_until": ms}. They expire with their window by the store's own rules, so
// they appear in a store's count and scans until then.
//
// Concurrency: counts are atomic (`increment`); instances that fail at once each get their own
// count. The delay is written after the count, so two racing failures may leave the shorter of
// their two delays in force (one step of the backoff), never none.
//
// Failure: a store error is an error (errc::unavailable or timeout) for the app to answer 503;
// never "allowed". Thread safety: every member is thread-safe; callbacks run on the store's
// threads, or inline for memory and SQLite. The throttle must outlive its pending calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sessionkit/clock.h"
#include "sessionkit/events.h"
#include "sessionkit/keyring.h"
#include "sessionkit/metrics.h"
#include "sessionkit/result.h"
#include "sessionkit/store.h"

namespace sessionkit {

struct LoginThrottleScope {
  bool enabled = true;
  std::size_t free = 5;  // failures allowed before the first delay
  Duration base_delay = std::chrono::seconds(1);
  Duration max_delay = std::chrono::minutes(15);
  Duration window = std::chrono::hours(24);  // from the scope's first failure
};

struct LoginThrottleOptions {
  LoginThrottleScope pair = {};
  LoginThrottleScope address = {.free = 30};
  LoginThrottleScope account = {.free = 100};
  Duration device_lifetime = std::chrono::days(180);  // how long a device token is honoured
};

class LoginThrottle {
 public:
  enum class Scope { pair, address, account };

  struct Attempt {
    std::string account;       // the user name as typed (the app's own normalisation applied)
    std::string address;       // the client address (RequestView::peer_address)
    std::string device_token;  // what `device_token` answered at a past sign-in here, or ""
  };

  struct Verdict {
    bool allowed = true;
    Duration retry_after{0};    // when not allowed: until the longest delay in force ends
    std::optional<Scope> by{};  // the scope imposing it
  };

  // invalid_argument for a scope with a zero window, a zero base delay, a max_delay under
  // base_delay or more than 1,000,000,000 free failures, or a device lifetime that is not
  // positive.
  static Result<std::unique_ptr<LoginThrottle>> create(std::shared_ptr<SessionStore> store,
                                                       const Keyring& keyring, const Clock& clock,
                                                       LoginThrottleOptions options = {},
                                                       std::shared_ptr<EventSink> events = nullptr,
                                                       std::shared_ptr<Metrics> metrics = nullptr);

  // Before checking the password: may this attempt go ahead? One store read per enabled scope
  // (in parallel).
  void check(const Attempt& attempt, Callback<Verdict> done) const;

  // After a wrong password: counts it in every enabled scope and answers the delay now in force
  // (the app still answers this attempt as a failed sign-in). The failure that first puts a
  // scope over its free count is an anomaly (Anomaly::login_failures_pair, _address or
  // _account): an `anomaly` event to `events` and a count in `metrics`, when given.
  void failed(const Attempt& attempt, Callback<Verdict> done) const;

  // After a right password: forgets the pair's count.
  void succeeded(const Attempt& attempt, const Callback<void>& done) const;

  // A token naming this account, for the app to keep in the browser (a long-lived HttpOnly
  // cookie) after a successful sign-in. It names the account by a keyed digest (the cookie does
  // not show the user name) and is signed with the keyring under its own purpose.
  std::string device_token(std::string_view account) const;
  // Whether `token` is a device token for `account` issued within device_lifetime.
  bool known_device(std::string_view token, std::string_view account) const;

  const LoginThrottleOptions& options() const noexcept { return options_; }

  static const char* to_string(Scope scope) noexcept;

 private:
  LoginThrottle(std::shared_ptr<SessionStore> store, const Keyring& keyring, const Clock& clock,
                LoginThrottleOptions options, std::shared_ptr<EventSink> events,
                std::shared_ptr<Metrics> metrics);
  struct Target;
  std::vector<Target> targets(const Attempt& attempt, bool with_account) const;
  static Verdict verdict_of(const std::vector<Target>& targets,
                            const std::vector<Duration>& delays);
  // Counts one failure in one scope; answers the delay it put in force.
  void count(const Target& target, const Callback<Duration>& done) const;
  const LoginThrottleScope& scope(Scope s) const noexcept;
  Duration delay_after(const LoginThrottleScope& s, std::int64_t failures) const noexcept;

  std::shared_ptr<SessionStore> store_;
  Keyring keyring_;
  const Clock* clock_;
  LoginThrottleOptions options_;
  std::shared_ptr<EventSink> events_;
  std::shared_ptr<Metrics> metrics_;
};

}  // namespace sessionkit
