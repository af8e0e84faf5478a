// sessionkit/anomaly_detector.h — AnomalyDetector: signals about a user's sign-ins.
//
// The app calls `signed_in` after each successful sign-in (once the new session is committed).
// It answers the anomalies this sign-in raises, each also reported as an `anomaly` event and
// counted in `sessionkit_anomalies_total{reason}`. It never refuses anything: what to do about
// a signal (tell the user, ask for a second factor, page someone) is the app's decision.
//
// Signals, each with its own threshold (0 turns it off):
//   many_addresses    the user's live sessions used within `spread_window`, with this sign-in,
//                     come from more than `max_networks` client networks (RateLimiter::
//                     client_key: an IPv4 address, an IPv6 /64). Raised by every sign-in
//                     while that holds.
//   many_user_agents  the same with distinct User-Agent strings, over `max_user_agents`.
//   sign_in_cycles    more than `max_sign_ins` sign-ins of the user within `sign_in_window` (a
//                     fixed window from the first): scripted login/logout loops, a shared
//                     account. Raised once per window, by the sign-in that crosses it.
// The defaults stay quiet for a person with a laptop, a phone and a tablet whose phone moves
// between Wi-Fi and a mobile network (three networks, three browsers), signing in a few times
// an hour, and speak when an account is used from a fifth network or browser within the hour
// or signs in an eleventh time in ten minutes.
//
// Where the facts come from: the spread signals read the user's sessions (`list_user`) from the
// session store: each record's client address and User-Agent are the ones it was created with
// (SessionRecord::ip, user_agent), and its last access says whether it was used within the
// window. So a session that is logged out no longer counts (its sign-in still counted towards
// sign_in_cycles). The store must keep a user index: every store but the client-side cookie one
// (there, set max_networks and max_user_agents to 0). The sign-in count is a record in the same
// store (or another: `counts`), shared by every instance on it, like LoginThrottle's.
//
// Failure: a store error is answered as an error; the sign-in itself has happened, so an app
// should log it and go on. Thread safety: every member is thread-safe; callbacks run on the
// store's threads, or inline for memory and SQLite. The detector must outlive its pending calls.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "sessionkit/anomaly.h"
#include "sessionkit/clock.h"
#include "sessionkit/events.h"
#include "sessionkit/metrics.h"
#include "sessionkit/result.h"
#include "sessionkit/store.h"

namespace sessionkit {

struct AnomalyDetectorOptions {
  std::size_t max_networks = 4;
  std::size_t max_user_agents = 4;
  Duration spread_window = std::chrono::hours(1);
  std::size_t max_sign_ins = 10;
  Duration sign_in_window = std::chrono::minutes(10);
};

class AnomalyDetector {
 public:
  struct SignIn {
    std::string user_id;     // the user just signed in (not "")
    std::string address;     // the client address (RequestView::peer_address)
    std::string user_agent;  // the request's User-Agent ("" counts as one more agent)
  };

  // `sessions`: the session store (its user index is read). `counts`: where sign-in counts are
  // kept (default: `sessions`). invalid_argument without a store, or with a zero window for an
  // enabled signal.
  static Result<std::unique_ptr<AnomalyDetector>> create(
      std::shared_ptr<SessionStore> sessions, const Clock& clock,
      AnomalyDetectorOptions options = {}, std::shared_ptr<EventSink> events = nullptr,
      std::shared_ptr<Metrics> metrics = nullptr, std::shared_ptr<SessionStore> counts = nullptr);

  // Runs every enabled signal for this sign-in (one `list_user` and one count, in parallel) and
  // answers the anomalies it raised, in the enum's order (none: an empty list).
  void signed_in(const SignIn& sign_in, Callback<std::vector<Anomaly>> done) const;

  const AnomalyDetectorOptions& options() const noexcept { return options_; }

 private:
  AnomalyDetector(std::shared_ptr<SessionStore> sessions, std::shared_ptr<SessionStore> counts,
                  const Clock& clock, AnomalyDetectorOptions options,
                  std::shared_ptr<EventSink> events, std::shared_ptr<Metrics> metrics);
  // The spread signals over the user's sessions (and this sign-in).
  std::vector<Anomaly> spread(const SignIn& sign_in, const std::vector<StoredSession>& sessions,
                              Time now) const;
  void raise(Anomaly which, const SignIn& sign_in, std::string why, Time now) const;

  std::shared_ptr<SessionStore> sessions_;
  std::shared_ptr<SessionStore> counts_;
  const Clock* clock_;
  AnomalyDetectorOptions options_;
  std::shared_ptr<EventSink> events_;
  std::shared_ptr<Metrics> metrics_;
};

}  // namespace sessionkit
