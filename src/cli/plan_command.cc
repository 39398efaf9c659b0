// lakepack plan COMMAND ARGS...: the command's dry run shown as its task list (what --shard
// splits), so that a user can size an array job before submitting it. The command parses its
// own flags as always (with --dry-run added); its TerminalProgress hands every planned task to
// the PlanPrinter, which prints it as it comes (a line of text, or a JSON line) and keeps only
// the totals per shard, so a plan of millions of tasks is shown in bounded memory.
#include "cli/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/flags.h"
#include "cli/progress.h"
#include "plan/task.h"

namespace lakepack::cli {

PlanPrinter::PlanPrinter(bool json, int shards, int64_t max_task_bytes)
    : json_(json),
      shards_(std::max(1, shards)),
      max_task_bytes_(max_task_bytes),
      per_shard_(static_cast<size_t>(std::max(1, shards))) {}

void PlanPrinter::Add(const PlannedTask& t) {
  std::lock_guard<std::mutex> lock(mu_);
  const int shard = ShardOfKey(t.shard_key, shards_);
  const bool over = max_task_bytes_ > 0 && t.bytes > max_task_bytes_;
  const int64_t files = static_cast<int64_t>(t.inputs.size() + t.reads.size());
  Totals& s = per_shard_[static_cast<size_t>(shard)];
  s.tasks++;
  s.files += files;
  s.bytes += t.bytes;
  all_.tasks++;
  all_.files += files;
  all_.bytes += t.bytes;
  if (over) over_++;
  if (t.rows >= 0) rows_ += t.rows;
  command_ = t.command;
  if (json_) {
    auto objects = [](const std::vector<PlannedTask::Object>& list) {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& o : list) a.push_back({{"uri", o.uri}, {"size", o.size}});
      return a;
    };
    nlohmann::json j = {{"task", t.id},
                        {"command", t.command},
                        {"level", t.level},
                        {"label", t.label},
                        {"shard", shard},
                        {"shards", shards_},
                        {"inputs", objects(t.inputs)},
                        {"reads", objects(t.reads)},
                        {"outputs", t.outputs},
                        {"bytes", t.bytes},
                        {"over_cap", over}};
    if (t.rows >= 0) j["rows"] = t.rows;
    std::cout << j.dump() << "\n";
    return;
  }
  if (all_.tasks == 1) {
    std::cout << fmt::format("{:<16} {:>5} {:>7} {:>10} {:>11}  {}\n", "task", "shard", "files",
                             "bytes", "rows", "output");
  }
  std::cout << fmt::format(
      "{:<16} {:>5} {:>7} {:>10} {:>11}  {}{}\n", t.id, shard, files,
      HumanBytes(static_cast<double>(t.bytes)), t.rows >= 0 ? std::to_string(t.rows) : "-",
      t.outputs.empty() ? t.label : t.outputs.front(), over ? "  (over --max-task-bytes)" : "");
}

int PlanPrinter::Finish(const RunSummary& summary) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string command = command_.empty() ? summary.command : command_;
  if (json_) {
    nlohmann::json shards = nlohmann::json::array();
    for (size_t i = 0; i < per_shard_.size(); i++) {
      shards.push_back({{"shard", i},
                        {"tasks", per_shard_[i].tasks},
                        {"files", per_shard_[i].files},
                        {"bytes", per_shard_[i].bytes}});
    }
    std::cout << nlohmann::json{{"plan", command},
                                {"tasks", all_.tasks},
                                {"files", all_.files},
                                {"bytes", all_.bytes},
                                {"rows_known", rows_},
                                {"stray", summary.stray.size()},
                                {"max_task_bytes", max_task_bytes_},
                                {"over_cap", over_},
                                {"per_shard", shards}}
                     .dump()
              << std::endl;
  } else {
    std::cout << fmt::format("{}: {} task(s) over {} file(s), {}; {} stray key(s) left alone\n",
                             command, all_.tasks, all_.files,
                             HumanBytes(static_cast<double>(all_.bytes)), summary.stray.size());
    if (shards_ > 1) {
      for (size_t i = 0; i < per_shard_.size(); i++) {
        std::cout << fmt::format("  shard {}/{}: {} task(s), {} file(s), {}\n", i, shards_,
                                 per_shard_[i].tasks, per_shard_[i].files,
                                 HumanBytes(static_cast<double>(per_shard_[i].bytes)));
      }
    }
    if (over_ > 0) {
      std::cout << fmt::format(
          "{} task(s) read more than --max-task-bytes {}: a task is one output, so use a finer "
          "--grouping to make them smaller\n",
          over_, HumanBytes(static_cast<double>(max_task_bytes_)));
    }
  }
  std::cout << std::flush;
  return over_ > 0 ? kExitFailed : kExitOk;
}

namespace {

constexpr const char* kPlanHelp =
    "Usage: lakepack plan COMMAND ARGS... [--json] [--shards N] [--max-task-bytes SIZE]\n"
    "\n"
    "Prints the tasks COMMAND would run (its dry run), in plan order: the task id (what\n"
    "journal records and leases carry), the shard it falls in, its files, bytes, rows (where\n"
    "Parquet footers tell) and output, then the totals. COMMAND is rollup, pack or\n"
    "repartition, with its own arguments; --shard i/N (or auto) shows only that shard.\n"
    "\n"
    "  --json                 one JSON object per task, then one with the totals\n"
    "  --shards N             show the shard of each task, and each shard's totals, for an\n"
    "                         array of N (what --shard auto/N would give element i)\n"
    "  --max-task-bytes SIZE  flag the tasks that read more than SIZE (e.g. 2GiB); the exit\n"
    "                         code is then 1. A task is one output: make it smaller with a\n"
    "                         finer --grouping\n"
    "\n"
    "Example:\n"
    "  lakepack plan rollup s3://lake/events --start 2025-01-01 --end 2025-01-31 \\\n"
    "      --grouping day --shards 8\n";

}  // namespace

int RunPlan(int argc, char** argv,
            const std::function<int(std::vector<std::string>, PlanPrinter*)>& run_cli) {
  constexpr std::string_view kCmd = "plan";
  bool json = false;
  int shards = 1;
  int64_t cap = 0;
  std::vector<std::string> rest;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&](std::string_view flag) -> Result<std::string> {
      if (a.size() > flag.size() && a.compare(0, flag.size() + 1, std::string(flag) + "=") == 0) {
        return a.substr(flag.size() + 1);
      }
      if (i + 1 >= argc) {
        return Status::InvalidArgument(fmt::format("{} needs a value", flag));
      }
      return std::string(argv[++i]);
    };
    if (a == "-h" || a == "--help") {
      if (rest.empty()) {
        std::cout << kPlanHelp;
        return kExitOk;
      }
      rest.push_back(a);  // the command's own help
    } else if (a == "--json") {
      json = true;
    } else if (a == "--shards" || a.rfind("--shards=", 0) == 0) {
      auto v = value("--shards");
      if (!v.ok()) return Fail(kCmd, v.status(), true);
      char tail = 0;
      if (std::sscanf(v->c_str(), "%d%c", &shards, &tail) != 1 || shards < 1) {
        return Fail(kCmd,
                    Status::InvalidArgument(fmt::format("--shards: expected N >= 1, got '{}'", *v)),
                    true);
      }
    } else if (a == "--max-task-bytes" || a.rfind("--max-task-bytes=", 0) == 0) {
      auto v = value("--max-task-bytes");
      if (!v.ok()) return Fail(kCmd, v.status(), true);
      auto size = ParseByteSizeFlag("--max-task-bytes", *v, true);
      if (!size.ok()) return Fail(kCmd, size.status(), true);
      cap = size->bytes();
    } else {
      rest.push_back(a);
    }
  }
  if (rest.empty()) {
    std::cerr << kPlanHelp;
    return kExitUsage;
  }
  const std::string& command = rest.front();
  if (command != "rollup" && command != "pack" && command != "repartition") {
    return Fail(kCmd,
                Status::InvalidArgument(fmt::format(
                    "'{}' has no plan to show (plan takes rollup, pack or repartition)", command)),
                true);
  }
  // The command's help is its own; otherwise its dry run.
  const bool help = std::find(rest.begin(), rest.end(), "--help") != rest.end() ||
                    std::find(rest.begin(), rest.end(), "-h") != rest.end();
  if (!help) rest.push_back("--dry-run");
  PlanPrinter printer(json, shards, cap);
  return run_cli(std::move(rest), help ? nullptr : &printer);
}

}  // namespace lakepack::cli
