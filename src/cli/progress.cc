// Terminal progress (see progress.h).
#include "cli/progress.h"

#include "cli/plan.h"

#include <fmt/format.h>
#include <unistd.h>

#include <iostream>

namespace lakepack::cli {

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    u++;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.1f} {}", b, units[u]);
}

TerminalProgress::TerminalProgress(bool quiet) : quiet_(quiet), tty_(::isatty(2) != 0) {}

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
    std::cerr << fmt::format("planned {} task(s) over {} file(s), {}", tasks, files,
                             HumanBytes(static_cast<double>(bytes)))
              << std::endl;
  }
  DrawLocked();
}

void TerminalProgress::TaskDone(bool ok, int64_t files, int64_t bytes, int64_t rows) {
  std::lock_guard<std::mutex> lock(mu_);
  tasks_done_++;
  files_done_ += files;
  bytes_done_ += bytes;
  rows_done_ += rows;
  DrawLocked();
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
  std::cerr << line << std::endl;
  DrawLocked();
}

void TerminalProgress::ClearLocked() {
  if (tty_ && drawn_) {
    std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }
}

void TerminalProgress::DrawLocked() {
  if (!tty_ || quiet_ || tasks_ == 0) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? bytes_done_ / secs : 0;
  double frac = bytes_ > 0 ? static_cast<double>(bytes_done_) / bytes_ : 0;
  std::string eta = (rate > 0 && bytes_done_ < bytes_)
                        ? fmt::format("{:.0f}s", (bytes_ - bytes_done_) / rate)
                        : "-";
  int width = 24;
  int filled = static_cast<int>(frac * width);
  std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
  std::cerr << fmt::format("\r\033[K[{}] {}/{} tasks  {}/{} files  {} / {}  {}/s  ETA {}", bar,
                           tasks_done_, tasks_, files_done_, files_, HumanBytes(bytes_done_),
                           HumanBytes(bytes_), HumanBytes(rate), eta)
            << std::flush;
  drawn_ = true;
}

}  // namespace lakepack::cli
