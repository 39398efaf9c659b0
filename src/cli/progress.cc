// Terminal progress (see progress.h).
#include "cli/progress.h"

#include "cli/plan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

namespace lakepack::cli {

TerminalProgress::TerminalProgress(bool quiet, std::ostream* log, std::string tasks)
    : quiet_(quiet),
      log_(log ? log : &std::cerr),
      noun_(std::move(tasks)),
      tty_(::isatty(2) != 0) {}

TerminalProgress::~TerminalProgress() {
  std::lock_guard<std::mutex> lock(mu_);
  ClearLocked();
}

void TerminalProgress::Planned(int64_t tasks, int64_t files, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_ += tasks;
  files_ += files;
  bytes_ += bytes;
  if (!tty_ && !quiet_) {
    std::string line = fmt::format("planned {} {}(s)", tasks, noun_);
    if (files > 0 && noun_ != "file") line += fmt::format(" over {} file(s)", files);
    if (bytes > 0) line += ", " + HumanBytes(static_cast<double>(bytes));
    std::cerr << line << std::endl;
  }
  DrawLocked();
}

void TerminalProgress::TaskDone(bool ok, int64_t files, int64_t bytes, int64_t rows) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_done_++;
  files_done_ += files;
  bytes_done_ += bytes;
  rows_done_ += rows;
  if (Due() || tasks_done_ == tasks_) DrawLocked();
}

// A bar over a million files must not be drawn a million times: it is drawn at about 1000
// evenly spaced events of the plan, counted, not timed, so that the same run draws the same
// bars on any machine (and a plan of a few files draws at every one).
bool TerminalProgress::Due() {
  const int64_t step = std::max<int64_t>(1, (tasks_ + files_) / 1000);
  return events_++ % step == 0;
}

void TerminalProgress::Advanced(int64_t files, int64_t bytes, int64_t rows) {
  std::lock_guard<std::mutex> lock(mu_);
  files_done_ += files;
  bytes_done_ += bytes;
  rows_done_ += rows;
  if (Due()) DrawLocked();
}

void TerminalProgress::TaskPlanned(const PlannedTask& task) {
  if (plan_) plan_->Add(task);
}

void TerminalProgress::Log(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  bool failure = line.rfind("failed", 0) == 0;
  if (quiet_ && !failure) return;
  if (tty_ && !failure && !quiet_) {
    // On a terminal the bar tells the story; per-task lines would scroll it away.
    if (line.rfind("hour ", 0) == 0 || line.rfind("day ", 0) == 0 || line.rfind("month ", 0) == 0 ||
        line.rfind("year ", 0) == 0) {
      return;
    }
  }
  ClearLocked();
  *log_ << line << std::endl;
  DrawLocked();
}

void TerminalProgress::Finish() {
  std::lock_guard<std::mutex> lock(mu_);
  ClearLocked();
  finished_ = true;
}

void TerminalProgress::ClearLocked() {
  if (tty_ && drawn_) {
    std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }
}

namespace {

// "42s", "3m07s", "2h05m"; "-" when unknown.
std::string Eta(double seconds) {
  if (seconds < 0) return "-";
  int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

}  // namespace

void TerminalProgress::DrawLocked() {
  if (!tty_ || quiet_ || finished_ || tasks_ == 0) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // The work is measured in bytes when the plan knows them (inputs to read), else in tasks
  // (export's tables): the bar, the rate and the ETA follow that measure.
  const bool by_bytes = bytes_ > 0;
  double frac = by_bytes ? static_cast<double>(bytes_done_) / static_cast<double>(bytes_)
                         : static_cast<double>(tasks_done_) / static_cast<double>(tasks_);
  frac = std::clamp(frac, 0.0, 1.0);
  double eta = frac > 0 && frac < 1 && secs > 0 ? secs * (1 - frac) / frac : -1;
  int width = 20;
  int filled = static_cast<int>(frac * width);
  std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
  std::string line = fmt::format("\r\033[K[{}] {}/{} {}s", bar, tasks_done_, tasks_, noun_);
  if (files_ > 0 && noun_ != "file") line += fmt::format("  {}/{} files", files_done_, files_);
  // Work the plan could not size (export's files, written as it reads): counts without a total.
  if (files_ == 0 && files_done_ > 0) line += fmt::format("  {} files", files_done_);
  if (by_bytes || bytes_done_ > 0) {
    line += by_bytes ? fmt::format("  {} / {}", HumanBytes(static_cast<double>(bytes_done_)),
                                   HumanBytes(static_cast<double>(bytes_)))
                     : "  " + HumanBytes(static_cast<double>(bytes_done_));
    line +=
        fmt::format("  {}/s", HumanBytes(secs > 0 ? static_cast<double>(bytes_done_) / secs : 0));
  }
  line += fmt::format("  {} rows  {:.0f} rows/s  ETA {}", rows_done_,
                      secs > 0 ? static_cast<double>(rows_done_) / secs : 0.0, Eta(eta));
  std::cerr << line << std::flush;
  drawn_ = true;
}

}  // namespace lakepack::cli
