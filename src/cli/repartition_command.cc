// `lakepack repartition SRC DST --start D --end D`: SiteWise cold-tier Avro into one Avro file
// per day (docs/repartition.md). The seed's config.yml is read with --config; flags win.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/cli.h"
#include "cli/flags.h"
#include "cli/plan.h"
#include "cli/progress.h"
#include "common/flat_yaml.h"
#include "lakepack/repartition.h"

namespace lakepack::cli {

namespace {

struct RepartitionFlags {
  RepartitionOptions o;
  std::string config;
  std::string shard;
};

// The seed's config.yml under the flags: a value is taken only where no flag gave one.
Status ApplyConfig(RepartitionFlags& f, TerminalProgress& progress) {
  LP_ASSIGN_OR_RETURN(auto cfg, ReadFlatYaml(f.config));
  auto take = [&](const char* key, std::string& into, const std::string& prefix = "") {
    auto it = cfg.find(key);
    if (it != cfg.end() && into.empty() && !it->second.empty()) into = prefix + it->second;
  };
  take("cold_tier_bucket_name", f.o.src, "s3://");
  take("repartitioned_data_bucket_name", f.o.dst, "s3://");
  take("date_start", f.o.start);
  take("date_end", f.o.end);
  if (auto it = cfg.find("timeseries_type"); it != cfg.end() && f.o.series_list.empty()) {
    if (it->second != "ASSOCIATED" && it->second != "DISASSOCIATED") {
      return Status::InvalidArgument(fmt::format(
          "{}: timeseries_type '{}': expected ASSOCIATED or DISASSOCIATED", f.config, it->second));
    }
    progress.Log(fmt::format(
        "{}: timeseries_type {} selects series through the SiteWise API, which lakepack does "
        "not call: every series is included; pass --series-list FILE to narrow it "
        "(docs/repartition.md)",
        f.config, it->second));
  }
  for (const char* local : {"local_tmp_raw_dir_name", "local_tmp_merged_dir_name"}) {
    if (cfg.count(local)) {
      progress.Log(fmt::format("{}: {} is not needed (lakepack stages in its spool, --spool-dir)",
                               f.config, local));
    }
  }
  for (const auto& [k, v] : cfg) {
    static const std::set<std::string> known = {"timeseries_type",
                                                "cold_tier_bucket_name",
                                                "repartitioned_data_bucket_name",
                                                "local_tmp_raw_dir_name",
                                                "local_tmp_merged_dir_name",
                                                "date_start",
                                                "date_end"};
    if (!known.count(k)) {
      return Status::InvalidArgument(fmt::format("{}: unknown key '{}'", f.config, k));
    }
  }
  return Status::OK();
}

int RunRepartition(RepartitionFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "repartition";
  f.o.spool_dir = g.spool_dir;
  TerminalProgress progress(g.quiet || g.json || g.plan != nullptr);
  progress.set_plan(g.plan);
  if (!f.config.empty()) {
    Status st = ApplyConfig(f, progress);
    if (!st.ok()) return Fail(kCmd, st, true);
  }
  if (f.o.src.empty() || f.o.dst.empty()) {
    return Fail(kCmd,
                Status::InvalidArgument("SRC and DST are required (or cold_tier_bucket_name and "
                                        "repartitioned_data_bucket_name in --config)"),
                true);
  }
  if (f.o.start.empty() || f.o.end.empty()) {
    return Fail(kCmd,
                Status::InvalidArgument("--start and --end are required (or date_start and "
                                        "date_end in --config)"),
                true);
  }
  auto shard = ParseShardFlag("--shard", f.shard);
  if (!shard.ok()) return Fail(kCmd, shard.status(), true);
  f.o.shard = *shard;
  auto res = Repartition(f.o, progress);
  progress.Finish();
  if (!res.ok()) {
    return Fail(kCmd, res.status(), res.status().code() == StatusCode::kInvalidArgument);
  }
  if (g.plan) return g.plan->Finish(res->summary);
  nlohmann::json days = nlohmann::json::array();
  for (const auto& d : res->days) {
    days.push_back({{"day", d.day},
                    {"output", d.output},
                    {"merges_existing", d.merges_existing},
                    {"rebuild", d.rebuild},
                    {"new_files", d.new_files},
                    {"new_series", d.new_series},
                    {"series", d.series},
                    {"bytes", d.bytes},
                    {"error", d.error}});
  }
  if (f.o.dry_run) {
    if (g.json) {
      std::cout << nlohmann::json{{"command", "repartition"},
                                  {"dry_run", true},
                                  {"days_reviewed", res->days_reviewed},
                                  {"days_unchanged", res->days_unchanged},
                                  {"days", days}}
                       .dump()
                << std::endl;
    } else {
      for (const auto& d : res->days) {
        std::cout << fmt::format("{:<10} {:>6} new file(s) {:>12} bytes {:>5} new series  {}{}\n",
                                 d.day, d.new_files, d.bytes, d.new_series, d.output,
                                 !d.error.empty()    ? "  (fails: " + d.error + ")"
                                 : d.rebuild         ? "  (rebuilt: a merged file changed)"
                                 : d.merges_existing ? "  (merged into the existing day file)"
                                                     : "");
      }
      std::cout << fmt::format(
          "{} day(s) reviewed, {} to write, {} without new data; nothing was changed (--dry-run)\n",
          res->days_reviewed, res->days.size(), res->days_unchanged);
    }
    return kExitOk;
  }
  if (g.json) {
    nlohmann::json j = SummaryJson(res->summary);
    j["days_reviewed"] = res->days_reviewed;
    j["days_unchanged"] = res->days_unchanged;
    j["days"] = days;
    std::cout << j.dump() << std::endl;
  } else {
    PrintSummary(res->summary, false, g.quiet);
    if (!g.quiet) {
      std::cout << fmt::format(
          "{} day(s) reviewed: {} written, {} without new data\n", res->days_reviewed,
          res->summary.tasks - res->summary.tasks_failed - res->summary.tasks_skipped,
          res->days_unchanged);
    }
  }
  return res->summary.tasks_failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

Command AddRepartitionCommand(CLI::App& app, const GlobalOptions& global) {
  auto f = std::make_shared<RepartitionFlags>();
  RepartitionOptions& o = f->o;
  CLI::App* sub = app.add_subcommand(
      "repartition", "SiteWise cold-tier Avro into one Avro file per day, incrementally");
  sub->add_option("SRC", o.src,
                  "The cold tier: s3://bucket[/keyPrefix] or a directory holding raw/");
  sub->add_option("DST", o.dst, "Where day files go: s3://bucket[/prefix] or a directory");
  sub->add_option("--start", o.start, "First day, YYYY-MM-DD (inclusive)");
  sub->add_option("--end", o.end, "Last day, YYYY-MM-DD (inclusive)");
  sub->add_option("--config", f->config,
                  "The seed's config.yml (cold_tier_bucket_name, repartitioned_data_bucket_name, "
                  "date_start, date_end, timeseries_type, ...); flags win");
  sub->add_option("--series-list", o.series_list,
                  "Only these series: one id per line, or `aws iotsitewise list-time-series` "
                  "JSON");
  sub->add_option("--parallel", o.parallel, "Days at once")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_flag("--dry-run", o.dry_run, "Print the plan per day and stop");
  sub->add_option("--shard", f->shard,
                  "Run only shard i of N of the plan (i/N; auto[/N] inside a Slurm, Kubernetes or "
                  "AWS Batch array job)");
  sub->footer(
      "Examples:\n"
      "  lakepack repartition s3://cold-tier s3://repartitioned --start 2023-01-07 --end "
      "2023-01-09\n"
      "  lakepack repartition --config config.yml          (the seed's config: source, dest, "
      "dates)\n"
      "  lakepack repartition SRC DST --start D --end D --dry-run   (the days and series planned)\n"
      "  lakepack repartition SRC DST --start D --end D --shard auto   (one element of an array "
      "job)\n"
      "Each day gets DST/startYear=Y/startMonth=M/startDay=D/merged.avro and timeseries.txt; a "
      "rerun merges only raw files (by key and ETag) not merged before. See "
      "docs/repartition.md.");
  return {sub, [f, &global] { return RunRepartition(*f, global); }};
}

}  // namespace lakepack::cli
