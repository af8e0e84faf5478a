// AnomalyDetector: sign-in signals; the rules are in anomaly_detector.h.
#include "sessionkit/anomaly_detector.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "core/fan_in.h"
#include "core/report_anomaly.h"
#include "core/window_count.h"
#include "sessionkit/rate_limiter.h"

namespace sessionkit {

namespace {

constexpr const char* kSignIns = "_sk_sign_ins";

}  // namespace

Result<std::unique_ptr<AnomalyDetector>> AnomalyDetector::create(
    std::shared_ptr<SessionStore> sessions, const Clock& clock, AnomalyDetectorOptions options,
    std::shared_ptr<EventSink> events, std::shared_ptr<Metrics> metrics,
    std::shared_ptr<SessionStore> counts) {
  if (!sessions) return Status(errc::invalid_argument, "anomaly detector: no store");
  const bool spread = options.max_networks > 0 || options.max_user_agents > 0;
  if ((spread && options.spread_window <= Duration::zero()) ||
      (options.max_sign_ins > 0 && options.sign_in_window <= Duration::zero())) {
    return Status(errc::invalid_argument, "anomaly detector: an enabled signal needs a window");
  }
  if (!counts) counts = sessions;
  return std::unique_ptr<AnomalyDetector>(
      new AnomalyDetector(std::move(sessions), std::move(counts), clock, options, std::move(events),
                          std::move(metrics)));
}

AnomalyDetector::AnomalyDetector(std::shared_ptr<SessionStore> sessions,
                                 std::shared_ptr<SessionStore> counts, const Clock& clock,
                                 AnomalyDetectorOptions options, std::shared_ptr<EventSink> events,
                                 std::shared_ptr<Metrics> metrics)
    : sessions_(std::move(sessions)),
      counts_(std::move(counts)),
      clock_(&clock),
      options_(options),
      events_(std::move(events)),
      metrics_(std::move(metrics)) {}

void AnomalyDetector::raise(Anomaly which, const SignIn& sign_in, std::string why, Time now) const {
  detail::report_anomaly(events_.get(), metrics_.get(), which, now, "", sign_in.user_id,
                         std::move(why));
}

std::vector<Anomaly> AnomalyDetector::spread(const SignIn& sign_in,
                                             const std::vector<StoredSession>& sessions,
                                             Time now) const {
  std::set<std::string> networks;
  std::set<std::string> agents;
  if (!sign_in.address.empty()) networks.insert(RateLimiter::client_key(sign_in.address));
  agents.insert(sign_in.user_agent);
  const Time since = now - options_.spread_window;
  for (const StoredSession& s : sessions) {
    if (s.record.expired(now) || s.record.last_access < since) continue;
    if (!s.record.ip.empty()) networks.insert(RateLimiter::client_key(s.record.ip));
    agents.insert(s.record.user_agent);
  }
  const std::string window = std::to_string(
      std::chrono::duration_cast<std::chrono::minutes>(options_.spread_window).count());
  std::vector<Anomaly> out;
  if (options_.max_networks > 0 && networks.size() > options_.max_networks) {
    raise(Anomaly::many_addresses, sign_in,
          "sign-in from " + RateLimiter::client_key(sign_in.address) + ": sessions used from " +
              std::to_string(networks.size()) + " networks within " + window + " min (limit " +
              std::to_string(options_.max_networks) + ")",
          now);
    out.push_back(Anomaly::many_addresses);
  }
  if (options_.max_user_agents > 0 && agents.size() > options_.max_user_agents) {
    raise(Anomaly::many_user_agents, sign_in,
          "sessions used from " + std::to_string(agents.size()) + " User-Agents within " + window +
              " min (limit " + std::to_string(options_.max_user_agents) + ")",
          now);
    out.push_back(Anomaly::many_user_agents);
  }
  return out;
}

void AnomalyDetector::signed_in(const SignIn& sign_in, Callback<std::vector<Anomaly>> done) const {
  const Time now = clock_->now();
  const bool with_spread = options_.max_networks > 0 || options_.max_user_agents > 0;
  const bool with_cycles = options_.max_sign_ins > 0;
  if (sign_in.user_id.empty() || (!with_spread && !with_cycles)) {
    return done(std::vector<Anomaly>{});
  }
  // Two parts, each answering the anomalies it raised; joined in the enum's order.
  auto fan = detail::FanIn<std::vector<Anomaly>>::start(
      2, [done = std::move(done)](Result<std::vector<std::vector<Anomaly>>> parts) {
        if (!parts) return done(parts.status());
        std::vector<Anomaly> all;
        for (const auto& part : *parts)
          all.insert(all.end(), part.begin(), part.end());
        std::sort(all.begin(), all.end());
        done(std::move(all));
      });
  if (with_spread) {
    sessions_->list_user(sign_in.user_id,
                         [this, sign_in, now, fan](Result<std::vector<StoredSession>> list) {
                           if (!list) return fan->put(0, list.status());
                           fan->put(0, spread(sign_in, *list, now));
                         });
  } else {
    fan->put(0, std::vector<Anomaly>{});
  }
  if (with_cycles) {
    const SessionKey key = detail::counter_key("sessionkit/sign-ins/1", {sign_in.user_id});
    detail::count_in_window(
        counts_, key, kSignIns, now, options_.sign_in_window,
        [this, sign_in, now, fan](Result<std::int64_t> n) {
          if (!n) return fan->put(1, n.status());
          std::vector<Anomaly> out;
          if (*n == static_cast<std::int64_t>(options_.max_sign_ins) + 1) {
            raise(Anomaly::sign_in_cycles, sign_in,
                  std::to_string(*n) + " sign-ins within " +
                      std::to_string(
                          std::chrono::duration_cast<std::chrono::minutes>(options_.sign_in_window)
                              .count()) +
                      " min (limit " + std::to_string(options_.max_sign_ins) + ")",
                  now);
            out.push_back(Anomaly::sign_in_cycles);
          }
          fan->put(1, std::move(out));
        });
  } else {
    fan->put(1, std::vector<Anomaly>{});
  }
}

}  // namespace sessionkit
