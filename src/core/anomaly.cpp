#include "sessionkit/anomaly.h"

#include "core/report_anomaly.h"

namespace sessionkit {

std::string_view to_string(Anomaly anomaly) noexcept {
  switch (anomaly) {
    case Anomaly::none:
      return "none";
    case Anomaly::binding_mismatch:
      return "binding_mismatch";
    case Anomaly::duplicate_cookies:
      return "duplicate_cookies";
    case Anomaly::reauth_failures:
      return "reauth_failures";
    case Anomaly::unreadable_cookie:
      return "unreadable_cookie";
    case Anomaly::revoked_cookie:
      return "revoked_cookie";
    case Anomaly::refresh_reuse:
      return "refresh_reuse";
    case Anomaly::login_failures_pair:
      return "login_failures_pair";
    case Anomaly::login_failures_address:
      return "login_failures_address";
    case Anomaly::login_failures_account:
      return "login_failures_account";
    case Anomaly::many_addresses:
      return "many_addresses";
    case Anomaly::many_user_agents:
      return "many_user_agents";
    case Anomaly::sign_in_cycles:
      return "sign_in_cycles";
  }
  return "unknown";
}

std::uint64_t AnomalyCounters::total() const noexcept {
  std::uint64_t sum = 0;
  for (const auto& c : counts_)
    sum += c.load(std::memory_order_relaxed);
  return sum;
}

namespace detail {

void report_anomaly(EventSink* events, Metrics* metrics, Anomaly which, Time at,
                    std::string key_hint, std::string user_id, std::string why) {
  if (metrics != nullptr) metrics->anomalies.add(which);
  if (events == nullptr) return;
  events->on_event(Event{.type = EventType::anomaly,
                         .at = at,
                         .key_hint = std::move(key_hint),
                         .old_key_hint = "",
                         .user_id = std::move(user_id),
                         .reason = std::move(why),
                         .anomaly = which});
}

}  // namespace detail

}  // namespace sessionkit
