// lakepack plan (plan_command.cc): prints a dry run's tasks as they are planned, with the shard
// each one falls in for --shards N, and the totals per shard at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "lakepack/run.h"

namespace lakepack::cli {

class PlanPrinter {
 public:
  //! shards: the N to show shards for (1: none); max_task_bytes: 0 for no cap.
  PlanPrinter(bool json, int shards, int64_t max_task_bytes);
  //! One planned task: printed now (thread-safe).
  void Add(const PlannedTask& task);
  //! The totals; the exit code (1 when a task reads more than the cap).
  int Finish(const RunSummary& summary);

 private:
  struct Totals {
    int64_t tasks = 0, files = 0, bytes = 0;
  };
  std::mutex mu_;
  const bool json_;
  const int shards_;
  const int64_t max_task_bytes_;
  std::vector<Totals> per_shard_;
  Totals all_;
  int64_t over_ = 0;
  int64_t rows_ = 0;
  std::string command_;
};

//! `lakepack plan ...` (argv[1] == "plan"): parses plan's own flags, then runs the command's
//! dry run through `run_cli` (main's parser, given the rewritten arguments and the printer).
int RunPlan(int argc, char** argv,
            const std::function<int(std::vector<std::string>, PlanPrinter*)>& run_cli);

}  // namespace lakepack::cli
