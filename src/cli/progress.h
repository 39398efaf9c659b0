// Progress for the terminal: a one-line bar (files, bytes, rate, ETA) redrawn on stderr when
// it is a terminal, plain log lines otherwise.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "lakepack/run.h"

namespace lakepack::cli {

class PlanPrinter;  // plan.h

class TerminalProgress final : public ProgressSink {
 public:
  //! quiet: log nothing but failures; the bar is drawn only when stderr is a terminal.
  explicit TerminalProgress(bool quiet);
  ~TerminalProgress() override;
  void Planned(int64_t tasks, int64_t files, int64_t bytes) override;
  void TaskDone(bool ok, int64_t files, int64_t bytes, int64_t rows) override;
  void Log(const std::string& line) override;
  void TaskPlanned(const PlannedTask& task) override;
  //! Under `lakepack plan`: where planned tasks go.
  void set_plan(PlanPrinter* plan) { plan_ = plan; }

 private:
  void DrawLocked();
  void ClearLocked();
  std::mutex mu_;
  PlanPrinter* plan_ = nullptr;
  bool quiet_;
  bool tty_;
  bool drawn_ = false;
  int64_t tasks_ = 0, files_ = 0, bytes_ = 0;
  int64_t tasks_done_ = 0, files_done_ = 0, bytes_done_ = 0, rows_done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

//! "12.3 MB", "1.1 GB".
std::string HumanBytes(double bytes);

}  // namespace lakepack::cli
