// report_anomaly.h — one anomaly, counted and told (internal; the login throttle and the anomaly
// detector; the manager counts through its own emit()). Either sink may be null.
#pragma once

#include <string>

#include "sessionkit/anomaly.h"
#include "sessionkit/clock.h"
#include "sessionkit/events.h"
#include "sessionkit/metrics.h"

namespace sessionkit::detail {

// Adds one to `metrics->anomalies[which]` and sends an `anomaly` event naming `which`.
void report_anomaly(EventSink* events, Metrics* metrics, Anomaly which, Time at,
                    std::string key_hint, std::string user_id, std::string why);

}  // namespace sessionkit::detail
