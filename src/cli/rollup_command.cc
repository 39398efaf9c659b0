// `lakepack rollup SRC`: merges time-sliced files one level up (minute → hour → day → month →
// year), and `lakepack recover DST`: finishes what a crashed run left in the journal.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/flags.h"
#include "cli/plan.h"
#include "cli/progress.h"
#include "lakepack/rollup.h"

namespace lakepack::cli {

namespace {

struct RollupFlags {
  RollupOptions o;
  std::string grouping = "day";
  std::string compression = "snappy";
  std::string shard;
  // The seed's form, run_merge.sh START_DATE END_DATE GROUPING, after SRC.
  std::vector<std::string> positional;
  bool grouping_flag = false;  // --grouping given
};

// `lakepack rollup SRC START END [GROUPING]` beside --start/--end/--grouping: one or the other
// for each value, never both.
Status TakePositional(RollupFlags& f) {
  const auto& p = f.positional;
  if (p.empty()) {
    if (f.o.start.empty())
      return Status::InvalidArgument("--start is required (or SRC START END GROUPING)");
    if (f.o.end.empty())
      return Status::InvalidArgument("--end is required (or SRC START END GROUPING)");
    return Status::OK();
  }
  if (p.size() < 2 || p.size() > 3) {
    return Status::InvalidArgument(fmt::format(
        "{} value(s) after SRC: give START END [GROUPING] (as run_merge.sh START_DATE END_DATE "
        "GROUPING), or --start/--end/--grouping",
        p.size()));
  }
  if (!f.o.start.empty() || !f.o.end.empty()) {
    return Status::InvalidArgument(
        "START END after SRC and --start/--end together: give one of them");
  }
  f.o.start = p[0];
  f.o.end = p[1];
  if (p.size() == 3) {
    if (f.grouping_flag) {
      return Status::InvalidArgument(
          "GROUPING after SRC and --grouping together: give one of them");
    }
    f.grouping = p[2];
  }
  return Status::OK();
}

int RunRollup(RollupFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "rollup";
  f.o.spool_dir = g.spool_dir;
  f.o.engine = EngineOptionsFrom(g);
  if (Status st = TakePositional(f); !st.ok()) return Fail(kCmd, st, true);
  auto grouping =
      ParseGroupingFlag(f.positional.size() == 3 ? "GROUPING" : "--grouping", f.grouping);
  if (!grouping.ok()) return Fail(kCmd, grouping.status(), true);
  f.o.grouping = *grouping;
  auto codec = ParseCompressionFlag("--compression", f.compression);
  if (!codec.ok()) return Fail(kCmd, codec.status(), true);
  f.o.compression = *codec;
  auto shard = ParseShardFlag("--shard", f.shard);
  if (!shard.ok()) return Fail(kCmd, shard.status(), true);
  f.o.shard = *shard;
  TerminalProgress progress(g.quiet || g.json || g.plan != nullptr);
  progress.set_plan(g.plan);
  auto res = Rollup(f.o, progress);
  progress.Finish();
  if (!res.ok()) {
    return Fail(kCmd, res.status(), res.status().code() == StatusCode::kInvalidArgument);
  }
  if (g.plan) return g.plan->Finish(res->summary);
  if (f.o.dry_run) {
    if (g.json) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& p : res->plan) {
        j.push_back({{"level", p.level},
                     {"output", p.output},
                     {"merges_existing", p.merges_existing},
                     {"inputs", p.inputs},
                     {"bytes", p.bytes},
                     {"rows", p.rows}});
        if (!p.error.empty()) j.back()["error"] = p.error;
      }
      std::cout << nlohmann::json{{"command", "rollup"}, {"dry_run", true}, {"plan", j}}.dump()
                << std::endl;
    } else {
      std::cout << fmt::format("{:<6} {:>6} {:>12} {:>10}  {}\n", "level", "inputs", "bytes",
                               "rows", "output");
      for (const auto& p : res->plan) {
        std::cout << fmt::format(
            "{:<6} {:>6} {:>12} {:>10}  {}{}{}\n", p.level, p.inputs.size(), p.bytes, p.rows,
            p.output,
            p.merges_existing ? "  (merges into the existing file, counted in bytes and rows)" : "",
            p.error.empty() ? "" : "  (would FAIL, see below)");
      }
      std::cout << fmt::format("{} output(s) planned; nothing was changed (--dry-run)\n",
                               res->plan.size());
    }
    for (const auto& w : res->summary.warnings) {
      std::cerr << "lakepack rollup: warning: " << w << std::endl;
    }
    // A real run would fail these tasks alone (and exit 1): so does the dry run, after the plan.
    int failing = 0;
    for (const auto& p : res->plan) {
      if (p.error.empty()) continue;
      failing++;
      std::cerr << fmt::format("lakepack rollup: error: {} would fail: {}", p.output, p.error)
                << std::endl;
    }
    return failing > 0 ? kExitFailed : kExitOk;
  }
  PrintSummary(res->summary, g.json, g.quiet);
  return res->summary.tasks_failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

Command AddRollupCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<RollupFlags>();
  RollupOptions& o = flags->o;
  CLI::App* sub = app.add_subcommand(
      "rollup", "Merge time-sliced Parquet files one level up: minute → hour → day → month → year");
  sub->add_option("SRC", o.src, "The lake: a directory, file:// or s3:// URI")->required();
  sub->add_option("RANGE", flags->positional,
                  "START END [GROUPING], the seed's form (run_merge.sh START_DATE END_DATE "
                  "GROUPING), instead of "
                  "--start, --end and --grouping");
  sub->add_option("--start", o.start,
                  "First day, YYYY-MM-DD (inclusive). A file is merged only when its whole period "
                  "lies inside --start..--end; one that only overlaps it is left out and named");
  sub->add_option("--end", o.end, "Last day, YYYY-MM-DD (inclusive)");
  sub->add_option("--grouping", flags->grouping, "hour, day, month or year")
      ->capture_default_str()
      ->each([flags](const std::string&) { flags->grouping_flag = true; });
  sub->add_flag("--cascade", o.cascade,
                "Merge the finer levels too: minute, hour, ... files of the range go straight "
                "into the grouping's file (one task per output, no intermediate file written)");
  sub->add_flag("--by-level", o.by_level,
                "With --cascade: run and commit one level at a time (hour files first, then "
                "days, ...): more bytes moved, but a crash loses at most one level's task");
  sub->add_option("--layout", o.layout,
                  "Path template of the finest files (default "
                  "{user}/{db}/{table}/{yyyy}/{MM}/{dd}/{HH}/{name}; hive: "
                  "{table}/year={yyyy}/month={MM}/day={dd}/{name})");
  sub->add_option("--pattern", o.pattern,
                  "Regex over file names with named groups (?<yyyy>..)(?<MM>..)(?<dd>..)"
                  "(?<HH>..)(?<mm>..) for time the path does not carry");
  sub->add_flag("--dry-run", o.dry_run, "Print the plan (outputs, inputs, bytes, rows) and stop");
  sub->add_option("--parallel", o.parallel, "Tasks at once")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--compression", flags->compression, "Codec of merged files")
      ->capture_default_str();
  sub->add_option("--shard", flags->shard,
                  "Run only shard i of N of the plan (i/N; auto[/N] inside a Slurm, Kubernetes or "
                  "AWS Batch array job)");
  sub->footer(
      "Examples:\n  lakepack rollup s3://lake/data --start 2025-01-01 --end 2025-12-30 --grouping "
      "day --cascade\n"
      "  lakepack rollup s3://lake/data 2025-01-01 2025-12-30 day     (run_merge.sh's form)\n"
      "Merged files are named <table>_<period>.parquet one directory up; an existing one is\n"
      "merged with the new rows and replaced. Inputs are deleted only after the merged file is\n"
      "verified and committed; a crashed run is finished by the next one (or `lakepack recover`).");
  return {sub, [flags, &global] { return RunRollup(*flags, global); }};
}

Command AddRecoverCommand(CLI::App& app, const GlobalOptions& global) {
  auto dst = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "recover", "Finish or roll back the tasks an interrupted run left in DST's journal");
  sub->add_option("DST", *dst, "The destination store: a directory or s3:// URI")->required();
  sub->footer("Example:\n  lakepack recover s3://lake/data");
  return {sub, [dst, &global] {
            TerminalProgress progress(global.quiet || global.json);
            auto n = Recover(*dst, progress);
            if (!n.ok()) return Fail("recover", n.status());
            if (global.json) {
              std::cout << nlohmann::json{{"command", "recover"}, {"recovered", *n}}.dump()
                        << std::endl;
            } else if (!global.quiet) {
              std::cout << fmt::format("recover: {} unfinished task(s) found and resolved", *n)
                        << std::endl;
            }
            return kExitOk;
          }};
}

}  // namespace lakepack::cli
