// progress.cpp — see progress.h.
#include "progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ostream>

namespace sessionctl {

namespace {

std::string grouped(std::size_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
    s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string duration(double seconds) {
  const auto s = static_cast<long>(std::llround(std::max(seconds, 0.0)));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

}  // namespace

std::string progress_line(std::size_t done, double fraction, std::size_t total, double per_second,
                          double eta_seconds, bool bar) {
  std::string line;
  if (fraction >= 0) {
    fraction = std::min(fraction, 1.0);
    if (bar) {
      constexpr int kWidth = 24;
      const int filled = static_cast<int>(fraction * kWidth);
      line += "[" + std::string(static_cast<std::size_t>(filled), '#') +
              std::string(static_cast<std::size_t>(kWidth - filled), '.') + "]  ";
    }
    char pct[16];
    std::snprintf(pct, sizeof pct, "%5.1f%%  ", fraction * 100);
    line += pct;
  }
  line += grouped(done);
  if (total > 0) line += "/" + grouped(total);
  line += " sessions  " + grouped(static_cast<std::size_t>(std::llround(per_second))) + "/s";
  if (fraction >= 0 && eta_seconds >= 0) line += "  ETA " + duration(eta_seconds);
  return line;
}

Progress::Progress(std::ostream& out, std::string verb, Mode mode,
                   std::chrono::milliseconds interval)
    : out_(&out), verb_(std::move(verb)), tty_(isatty(STDERR_FILENO) == 1), interval_(interval) {
  on_ = mode == Mode::kAlways || (mode == Mode::kAuto && (tty_ || interval.count() > 0));
  if (!on_) return;
  if (interval_.count() <= 0) interval_ = std::chrono::seconds(5);
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    const auto every = tty_ ? std::chrono::milliseconds(200) : interval_;
    while (!cv_.wait_for(lock, every, [this] { return stop_; }))
      draw(false, false);
  });
}

Progress::~Progress() {
  finish(false);
}

void Progress::finish(bool complete) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (on_) draw(true, complete);
}

void Progress::draw(bool last, bool complete) {
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::size_t done = done_, total = total_, bytes = bytes_, total_bytes = total_bytes_;
  const double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  double fraction = -1;
  if (complete) {
    fraction = 1;
  } else if (total_bytes > 0) {
    fraction = static_cast<double>(bytes) / static_cast<double>(total_bytes);
  } else if (total > 0) {
    fraction = static_cast<double>(done) / static_cast<double>(total);
  }
  const double eta = fraction > 0 ? secs * (1 - fraction) / fraction : -1;
  const std::string line =
      verb_ + "  " + progress_line(done, fraction, total_bytes > 0 ? 0 : total, rate, eta, tty_);
  if (tty_) {
    *out_ << "\r\033[K" << line << (last ? "\n" : "") << std::flush;
  } else {
    *out_ << line << '\n' << std::flush;
  }
}

}  // namespace sessionctl
