// scraper.h — the console's live feed (private to sessionctl): every interval it reads GET
// /metrics and GET /events of each app instance named with --scrape, keeps a short history of
// per-minute rates for the charts and the recent events for the events page. One background
// thread; the pages read snapshots. docs/operations.md, "Live charts and events".
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "console/metrics_text.h"

namespace sessionctl {

struct ScrapeOptions {
  std::vector<std::string> targets;  // base URLs of app instances: http://HOST:PORT[/PREFIX]
  std::string token;                 // sent as "Authorization: Bearer" when not empty
  std::chrono::milliseconds interval{2000};
  std::size_t points = 180;   // history kept per series (6 min at 2 s)
  std::size_t events = 5000;  // events kept, all instances together
};

// What the events page may ask for; empty fields match everything.
struct EventFilter {
  std::string type;      // created, rotated, destroyed, expired, anomaly, store_error
  std::string user;      // exact user id
  std::string instance;  // a target URL as given
  std::string text;      // a substring of the reason or the anomaly
  std::size_t limit = 200;
};

class Scraper {
 public:
  explicit Scraper(ScrapeOptions options);
  ~Scraper();  // stops the thread
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  // The charts' data: {"interval_ms", "points":[{"t_ms", "active", "created_per_min",
  // "destroyed_per_min", "expired_per_min", "anomalies_per_min", "store_errors_per_min",
  // "requests_per_s", "store_ms_mean", "store_ms_p99"}...], "targets":[{"url", "up", "error",
  // "events"}...]}. Rates are summed over the instances that answered; "active" is the largest
  // figure any instance reports (instances normally share one store); null where unknown.
  nlohmann::json series() const;

  // The newest events matching `filter`, newest first: {"instance", "seq", and the event's own
  // fields (event, at_ms, key, old_key, user, reason, anomaly)}.
  std::vector<nlohmann::json> events(const EventFilter& filter) const;

  const ScrapeOptions& options() const { return options_; }

 private:
  struct Target {
    std::string url, scheme_host_port, prefix;
    bool up = false;
    std::string error, events_error;
    bool has_previous = false;
    SessionFigures previous;
    std::chrono::steady_clock::time_point previous_at;
    std::string instance;  // /events' instance id: a new one means it restarted
    std::uint64_t after = 0;
  };
  void loop();
  void scrape_once();

  ScrapeOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<Target> targets_;
  std::deque<nlohmann::json> points_;
  std::deque<nlohmann::json> events_;
  std::thread thread_;
};

}  // namespace sessionctl
