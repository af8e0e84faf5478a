// LoginThrottle: counts of failed sign-ins in a SessionStore; the rules are in login_throttle.h.
#include "sessionkit/login_throttle.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "core/fan_in.h"
#include "core/report_anomaly.h"
#include "core/window_count.h"
#include "crypto/crypto.h"
#include "sessionkit/rate_limiter.h"

namespace sessionkit {

namespace {

constexpr const char* kFails = "_sk_fails";
constexpr const char* kUntil = "_sk_until";
constexpr std::string_view kDeviceContext = "login-device";
constexpr std::size_t kMaxFree = 1'000'000'000;

// The delay a scope record holds in force at `now`, or zero.
Duration in_force(const std::optional<SessionRecord>& record, Time now) {
  if (!record) return Duration::zero();
  const auto until = record->data.find(kUntil);
  if (until == record->data.end() || !until->is_number_integer()) return Duration::zero();
  const Time end = from_millis(until->get<std::int64_t>());
  return end > now ? end - now : Duration::zero();
}

}  // namespace

// One scope's record for one attempt.
struct LoginThrottle::Target {
  Scope scope;
  SessionKey key;
};

// The longest delay in force among the targets' (`delays` in the same order).
LoginThrottle::Verdict LoginThrottle::verdict_of(const std::vector<Target>& targets,
                                                 const std::vector<Duration>& delays) {
  Verdict v;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    if (delays[i] > v.retry_after) {
      v.allowed = false;
      v.retry_after = delays[i];
      v.by = targets[i].scope;
    }
  }
  return v;
}

const char* LoginThrottle::to_string(Scope scope) noexcept {
  switch (scope) {
    case Scope::pair:
      return "pair";
    case Scope::address:
      return "address";
    case Scope::account:
      return "account";
  }
  return "unknown";
}

Result<std::unique_ptr<LoginThrottle>> LoginThrottle::create(std::shared_ptr<SessionStore> store,
                                                             const Keyring& keyring,
                                                             const Clock& clock,
                                                             LoginThrottleOptions options,
                                                             std::shared_ptr<EventSink> events,
                                                             std::shared_ptr<Metrics> metrics) {
  if (!store) return Status(errc::invalid_argument, "login throttle: no store");
  for (const auto* s : {&options.pair, &options.address, &options.account}) {
    if (s->window <= Duration::zero() || s->base_delay <= Duration::zero() ||
        s->max_delay < s->base_delay || s->free > kMaxFree) {
      return Status(errc::invalid_argument,
                    "login throttle: a scope needs a positive window and base delay, a "
                    "max_delay of at least the base delay, and at most 1,000,000,000 free "
                    "failures");
    }
  }
  if (options.device_lifetime <= Duration::zero()) {
    return Status(errc::invalid_argument, "login throttle: device_lifetime must be positive");
  }
  return std::unique_ptr<LoginThrottle>(new LoginThrottle(std::move(store), keyring, clock, options,
                                                          std::move(events), std::move(metrics)));
}

LoginThrottle::LoginThrottle(std::shared_ptr<SessionStore> store, const Keyring& keyring,
                             const Clock& clock, LoginThrottleOptions options,
                             std::shared_ptr<EventSink> events, std::shared_ptr<Metrics> metrics)
    : store_(std::move(store)),
      keyring_(keyring),
      clock_(&clock),
      options_(options),
      events_(std::move(events)),
      metrics_(std::move(metrics)) {}

const LoginThrottleScope& LoginThrottle::scope(Scope s) const noexcept {
  switch (s) {
    case Scope::pair:
      return options_.pair;
    case Scope::address:
      return options_.address;
    case Scope::account:
      break;
  }
  return options_.account;
}

std::vector<LoginThrottle::Target> LoginThrottle::targets(const Attempt& attempt,
                                                          bool with_account) const {
  // Each key is a SHA-256 over a domain-separated, length-prefixed text, so it can equal neither
  // a session key (the SHA-256 of an ID) nor another scope's key.
  const std::string address = RateLimiter::client_key(attempt.address);
  const auto key_of = [](std::string_view scope, std::string_view a, std::string_view b) {
    return detail::counter_key(std::string("sessionkit/login-throttle/1\n") + std::string(scope),
                               {a, b});
  };
  std::vector<Target> out;
  if (options_.pair.enabled) {
    out.push_back({Scope::pair, key_of("pair", attempt.account, address)});
  }
  if (options_.address.enabled) out.push_back({Scope::address, key_of("address", "", address)});
  if (options_.account.enabled && with_account) {
    out.push_back({Scope::account, key_of("account", attempt.account, "")});
  }
  return out;
}

Duration LoginThrottle::delay_after(const LoginThrottleScope& s,
                                    std::int64_t failures) const noexcept {
  if (failures <= static_cast<std::int64_t>(s.free)) return Duration::zero();
  const std::int64_t doublings =
      std::min<std::int64_t>(failures - static_cast<std::int64_t>(s.free) - 1, 40);
  Duration d = s.base_delay;
  for (std::int64_t i = 0; i < doublings && d < s.max_delay; ++i)
    d *= 2;
  return std::min(d, s.max_delay);
}

void LoginThrottle::check(const Attempt& attempt, Callback<Verdict> done) const {
  const bool known = known_device(attempt.device_token, attempt.account);
  auto list = std::make_shared<std::vector<Target>>(targets(attempt, !known));
  const Time now = clock_->now();
  auto fan = detail::FanIn<Duration>::start(
      list->size(), [list, done = std::move(done)](Result<std::vector<Duration>> delays) {
        if (!delays) return done(delays.status());
        done(verdict_of(*list, *delays));
      });
  for (std::size_t i = 0; i < list->size(); ++i) {
    store_->load((*list)[i].key, std::nullopt,
                 [fan, i, now](Result<std::optional<SessionRecord>> r) {
                   if (!r) return fan->put(i, r.status());
                   fan->put(i, in_force(*r, now));
                 });
  }
}

void LoginThrottle::failed(const Attempt& attempt, Callback<Verdict> done) const {
  const bool known = known_device(attempt.device_token, attempt.account);
  auto list = std::make_shared<std::vector<Target>>(targets(attempt, !known));
  // Counting in the account scope even for a known device would let the owner's own typos
  // count against the account; they count in the pair and address scopes only.
  auto fan = detail::FanIn<Duration>::start(
      list->size(), [list, done = std::move(done)](Result<std::vector<Duration>> delays) {
        if (!delays) return done(delays.status());
        done(verdict_of(*list, *delays));
      });
  for (std::size_t i = 0; i < list->size(); ++i) {
    count((*list)[i], [fan, i](Result<Duration> d) { fan->put(i, std::move(d)); });
  }
}

void LoginThrottle::count(const Target& target, const Callback<Duration>& done) const {
  const LoginThrottleScope& s = scope(target.scope);
  const Time now = clock_->now();
  // After the count: the delay it calls for, written into the record.
  auto counted = [this, target, now, &s, done](std::int64_t failures) {
    const Duration delay = delay_after(s, failures);
    if (failures == static_cast<std::int64_t>(s.free) + 1) {
      const Anomaly which = target.scope == Scope::pair      ? Anomaly::login_failures_pair
                            : target.scope == Scope::address ? Anomaly::login_failures_address
                                                             : Anomaly::login_failures_account;
      detail::report_anomaly(events_.get(), metrics_.get(), which, now, target.key.hint(), "",
                             std::string("login failures: over ") + std::to_string(s.free) +
                                 " for one " + std::string(to_string(target.scope)));
    }
    if (delay == Duration::zero()) return done(Duration::zero());
    SessionPatch patch;
    patch.set.emplace_back(kUntil, to_millis(now + delay));
    store_->patch(target.key, patch, [delay, done](const Result<void>& r) {
      if (!r && r.code() != errc::not_found) return done(r);
      done(delay);  // not_found: the window ended meanwhile; the count starts over
    });
  };
  detail::count_in_window(store_, target.key, kFails, now, s.window,
                          [counted, done](Result<std::int64_t> n) {
                            if (!n) return done(n.status());
                            counted(*n);
                          });
}

void LoginThrottle::succeeded(const Attempt& attempt, const Callback<void>& done) const {
  if (!options_.pair.enabled) return done(Status());
  const Target pair = targets(attempt, false).front();
  store_->destroy(pair.key, [done](const Result<bool>& r) {
    if (!r) return done(r.status());
    done(Status());
  });
}

std::string LoginThrottle::device_token(std::string_view account) const {
  const auto mac = keyring_.mac(0, kDeviceContext, account);
  const std::string value = std::to_string(to_millis(clock_->now())) + "-" +
                            crypto::base64url_encode(std::span<const std::uint8_t>(mac.data(), 16));
  return keyring_.sign(value, kDeviceContext);
}

bool LoginThrottle::known_device(std::string_view token, std::string_view account) const {
  if (token.empty()) return false;
  const auto verified = keyring_.verify_detailed(token, kDeviceContext);
  if (!verified) return false;
  const std::string_view value = verified->value;
  const std::size_t dash = value.find('-');
  if (dash == std::string_view::npos) return false;
  std::int64_t issued_ms = 0;
  for (char c : value.substr(0, dash)) {
    if (c < '0' || c > '9' || issued_ms > (INT64_MAX - 9) / 10) return false;
    issued_ms = issued_ms * 10 + (c - '0');
  }
  const Time issued = from_millis(issued_ms);
  const Time now = clock_->now();
  if (issued > now || now - issued >= options_.device_lifetime) return false;
  // The account's digest under the secret that signed the token (rotation keeps it valid).
  const auto mac = keyring_.mac(verified->key_index, kDeviceContext, account);
  return value.substr(dash + 1) ==
         crypto::base64url_encode(std::span<const std::uint8_t>(mac.data(), 16));
}

}  // namespace sessionkit
