// What every data-moving command reports: progress while it runs and a summary at the end.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace lakepack {

//! Totals of one run; printed as text or JSON by the CLI.
struct RunSummary {
  std::string command;
  int64_t tasks = 0;
  int64_t tasks_failed = 0;
  //! Tasks this run did not do: leased by another live run, or already done by one, or
  //! planned on inputs that changed since (one line each in `skipped`).
  int64_t tasks_skipped = 0;
  int64_t files_in = 0;
  int64_t files_out = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
  int64_t rows = 0;
  double seconds = 0;
  int recovered = 0;                        // journal records finished or rolled back first
  std::map<std::string, int64_t> requests;  // the stores' counters
  std::vector<std::string> stray;           // keys left alone: they do not fit the layout
  std::vector<std::string> errors;          // one line per failed task
  std::vector<std::string> skipped;         // one line per skipped task
  //! Worth the user's attention but not a failure (an input that changed after its rows were
  //! committed and was left in place).
  std::vector<std::string> warnings;
};

//! One task of a dry run's plan, as `lakepack plan` shows it.
struct PlannedTask {
  struct Object {
    std::string uri;
    int64_t size = 0;
  };
  std::string command;  // "rollup", "pack", ...
  int level = 0;        // rollup --cascade: 0 the finest grouping
  std::string id;       // the task id (journal records, leases and write tags carry it)
  std::string label;
  //! What the shard split hashes (ShardOfKey in plan/task.h gives the shard for any N).
  std::string shard_key;
  std::vector<Object> inputs;  // deleted once the outputs are visible
  std::vector<Object> reads;   // read only
  std::vector<std::string> outputs;
  int64_t bytes = 0;  // of the inputs and reads
  int64_t rows = -1;  // where footers tell; -1 unknown
};

//! Receives progress from a running command. Called from worker threads: implementations
//! must be thread-safe.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  //! A dry run's planned task (this shard's tasks, in plan order, one level after another).
  virtual void TaskPlanned(const PlannedTask& task) { (void)task; }
  //! The work ahead: tasks, input files and bytes.
  virtual void Planned(int64_t tasks, int64_t files, int64_t bytes) = 0;
  //! One task finished (ok or not) having read `files` files of `bytes` bytes, `rows` rows
  //! (what it did not already report through Advanced).
  virtual void TaskDone(bool ok, int64_t files, int64_t bytes, int64_t rows) = 0;
  //! Part of a running task's work done (a long task: pack's series, export's table), so that
  //! a bar moves before the task ends.
  virtual void Advanced(int64_t files, int64_t bytes, int64_t rows) {
    (void)files, (void)bytes, (void)rows;
  }
  //! A line worth telling the user (a task's result, a stray file, a recovery).
  virtual void Log(const std::string& line) = 0;
};

//! A sink that drops everything.
class NullProgress final : public ProgressSink {
 public:
  void Planned(int64_t, int64_t, int64_t) override {}
  void TaskDone(bool, int64_t, int64_t, int64_t) override {}
  void Log(const std::string&) override {}
};

}  // namespace lakepack
