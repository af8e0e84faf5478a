// sessionkit/anomaly.h — the bounded set of anomaly reasons, and their counters.
//
// Every `anomaly` event (events.h) names one `Anomaly`: the manager's own (binding, duplicate
// cookies, re-authentication failures, client-side cookies), refresh-token reuse, the login
// throttle's (login_throttle.h) and the sign-in signals of `AnomalyDetector`
// (anomaly_detector.h). The set is closed so that `sessionkit_anomalies_total{reason}` has a
// fixed, small number of series (every reason is exported, zeros included); the event's free
// text `reason` carries the details.
//
// Thread safety: `AnomalyCounters` is a set of relaxed atomics, safe from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sessionkit {

enum class Anomaly : std::uint8_t {
  none,  // not an anomaly event
  // The manager's
  binding_mismatch,   // a session presented from another address / User-Agent than it is bound to
  duplicate_cookies,  // a request carried several session cookies (a planted one, likely)
  reauth_failures,    // too many failed re-authentications: the session was ended
  unreadable_cookie,  // a sealed (client-side) session cookie that is authentic but unreadable
  revoked_cookie,     // a destroyed client-side session's cookie was presented again
  refresh_reuse,      // a rotated-out refresh token was presented again (tokens/)
  // The login throttle's: failures crossed a scope's free count
  login_failures_pair,     // one account from one address
  login_failures_address,  // one address, many accounts
  login_failures_account,  // one account, many addresses
  // AnomalyDetector's sign-in signals
  many_addresses,    // one user active from more networks than allowed within a window
  many_user_agents,  // one user active from more User-Agents than allowed within a window
  sign_in_cycles,    // one user signing in more often than allowed within a window
};

inline constexpr std::size_t kAnomalyCount = static_cast<std::size_t>(Anomaly::sign_in_cycles) + 1;

// The metric label: "binding_mismatch", "login_failures_account", ... ("none" for none).
std::string_view to_string(Anomaly anomaly) noexcept;

// One counter per reason (`none` is never counted).
class AnomalyCounters {
 public:
  void add(Anomaly anomaly, std::uint64_t n = 1) noexcept {
    if (anomaly != Anomaly::none) {
      counts_[static_cast<std::size_t>(anomaly)].fetch_add(n, std::memory_order_relaxed);
    }
  }
  std::uint64_t operator[](Anomaly anomaly) const noexcept {
    return counts_[static_cast<std::size_t>(anomaly)].load(std::memory_order_relaxed);
  }
  std::uint64_t total() const noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, kAnomalyCount> counts_{};
};

}  // namespace sessionkit
