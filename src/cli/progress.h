// Progress for the terminal: a one-line bar (tasks, files, bytes, rows, rate, ETA) redrawn in
// place on stderr when it is a terminal, plain log lines otherwise.
#pragma once

#include <chrono>
#include <iosfwd>
#include <mutex>
#include <string>

#include "common/strings.h"
#include "lakepack/run.h"

namespace lakepack::cli {

class PlanPrinter;  // plan.h

class TerminalProgress final : public ProgressSink {
 public:
  //! quiet: log nothing but failures; the bar is drawn only when stderr is a terminal. Log
  //! lines go to `log` (stderr by default; validate's results go to stdout), the bar cleared
  //! first.
  //! `tasks`: what a task is to the user ("task", export's "table", validate's "file").
  explicit TerminalProgress(bool quiet, std::ostream* log = nullptr, std::string tasks = "task");
  ~TerminalProgress() override;
  void Planned(int64_t tasks, int64_t files, int64_t bytes) override;
  void TaskDone(bool ok, int64_t files, int64_t bytes, int64_t rows) override;
  void Advanced(int64_t files, int64_t bytes, int64_t rows) override;
  void Log(const std::string& line) override;
  void TaskPlanned(const PlannedTask& task) override;
  //! The run is over: the bar is cleared and not drawn again (the summary follows).
  void Finish();
  //! Under `lakepack plan`: where planned tasks go.
  void set_plan(PlanPrinter* plan) { plan_ = plan; }

 private:
  void DrawLocked();
  bool Due();
  int64_t events_ = 0;  // TaskDone and Advanced calls, for Due
  void ClearLocked();
  std::mutex mu_;
  PlanPrinter* plan_ = nullptr;
  bool quiet_;
  std::ostream* log_;
  std::string noun_;
  bool tty_;
  bool drawn_ = false;
  bool finished_ = false;
  int64_t tasks_ = 0, files_ = 0, bytes_ = 0;
  int64_t tasks_done_ = 0, files_done_ = 0, bytes_done_ = 0, rows_done_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace lakepack::cli
