// progress.h — the progress of a long copy (export, import, migrate) on stderr (private to
// sessionctl). On a terminal, one line redrawn in place five times a second: a bar, the count
// of the total, the rate and the time left. Otherwise (a log, a pipe), one plain line every
// `interval`. The total may be unknown (0): then the count and the rate only; or counted in
// bytes of input (import of a file) while the count stays in sessions.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <iosfwd>
#include <mutex>
#include <string>
#include <thread>

namespace sessionctl {

// "[#######.............]  35.0%  350,000/1,000,000 sessions  12,345/s  ETA 0:52".
// `total` 0: "350,000 sessions  12,345/s". `fraction` < 0: unknown.
std::string progress_line(std::size_t done, double fraction, std::size_t total, double per_second,
                          double eta_seconds, bool bar);

class Progress {
 public:
  enum class Mode { kAuto, kAlways, kNever };
  Progress(std::ostream& out, std::string verb, Mode mode, std::chrono::milliseconds interval);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void set_total(std::size_t sessions) { total_ = sessions; }
  void set_total_bytes(std::size_t bytes) { total_bytes_ = bytes; }
  void add(std::size_t sessions) { done_ += sessions; }
  void set_bytes(std::size_t bytes) { bytes_ = bytes; }
  // Draws the last line (and ends it, on a terminal); stops the drawing thread. `complete`:
  // the copy reached its end (100%); else the line shows where it stopped.
  void finish(bool complete = true);

 private:
  void draw(bool last, bool complete);
  std::ostream* out_;
  std::string verb_;
  bool tty_ = false;
  bool on_ = false;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<std::size_t> total_{0}, total_bytes_{0}, done_{0}, bytes_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sessionctl
