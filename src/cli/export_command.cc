// `lakepack export [postgres://…] TABLE… DST`: PostgreSQL tables to Parquet (docs/export.md).
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "cli/flags.h"
#include "cli/progress.h"
#include "lakepack/export.h"

namespace lakepack::cli {

namespace {

struct ExportFlags {
  ExportOptions o;
  std::vector<std::string> positional;
  std::string partitions_file;
  std::string order_by = "uploaded_date,data_item_id";
  std::string backoff = "5s";
  std::string layout = "hive-date";
  std::string compression = "zstd";
  std::string shard;
};

// "5", "5s", "500ms", "2m" → seconds.
bool ParseDuration(const std::string& s, double& out) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || v < 0) return false;
  std::string unit(end);
  if (unit.empty() || unit == "s")
    out = v;
  else if (unit == "ms")
    out = v / 1000;
  else if (unit == "m")
    out = v * 60;
  else
    return false;
  return true;
}

// Comma- or newline-separated names; blank lines and # comments skipped.
void AddTables(const std::string& text, std::vector<std::string>& tables) {
  std::string cur;
  auto push = [&] {
    auto b = cur.find_first_not_of(" \t\r");
    auto e = cur.find_last_not_of(" \t\r");
    if (b != std::string::npos && cur[b] != '#') tables.push_back(cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (char c : text) {
    if (c == ',' || c == '\n')
      push();
    else
      cur += c;
  }
  push();
}

int RunExport(ExportFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "export";
  ExportOptions& o = f.o;
  o.spool_dir = g.spool_dir;
  o.engine = EngineOptionsFrom(g);
  auto shard = ParseShardFlag("--shard", f.shard);
  if (!shard.ok()) return Fail(kCmd, shard.status(), true);
  o.shard = *shard;
  std::vector<std::string> pos = f.positional;
  if (!pos.empty() &&
      (pos[0].rfind("postgres://", 0) == 0 || pos[0].rfind("postgresql://", 0) == 0)) {
    o.conninfo = pos[0];
    pos.erase(pos.begin());
  }
  if (pos.empty()) return Fail(kCmd, Status::InvalidArgument("missing DST"), true);
  o.dst = pos.back();
  pos.pop_back();
  o.tables = pos;
  if (!f.partitions_file.empty()) {
    std::ifstream in(f.partitions_file);
    if (!in) {
      return Fail(kCmd, Status::InvalidArgument(f.partitions_file + ": cannot read"), true);
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    AddTables(text, o.tables);
  }
  if (o.tables.empty()) {
    if (const char* p = std::getenv("PARTITIONS")) AddTables(p, o.tables);
  }
  if (o.tables.empty()) {
    return Fail(kCmd,
                Status::InvalidArgument("no tables given (arguments, --partitions-file or "
                                        "PARTITIONS)"),
                true);
  }
  auto comma = f.order_by.find(',');
  if (comma == std::string::npos) {
    return Fail(kCmd, Status::InvalidArgument("--order-by: expected TS_COL,ID_COL"), true);
  }
  o.ts_column = f.order_by.substr(0, comma);
  o.id_column = f.order_by.substr(comma + 1);
  if (!ParseDuration(f.backoff, o.retry_backoff_seconds)) {
    return Fail(
        kCmd, Status::InvalidArgument("--retry-backoff: expected e.g. 5s, got '" + f.backoff + "'"),
        true);
  }
  auto layout = ParseExportLayoutFlag("--layout", f.layout);
  if (!layout.ok()) return Fail(kCmd, layout.status(), true);
  o.layout = *layout;
  auto codec = ParseCompressionFlag("--compression", f.compression);
  if (!codec.ok()) return Fail(kCmd, codec.status(), true);
  o.compression = *codec;
  TerminalProgress progress(g.quiet || g.json);
  auto res = Export(o, progress);
  if (!res.ok()) {
    return Fail(kCmd, res.status(), res.status().code() == StatusCode::kInvalidArgument);
  }
  PrintSummary(*res, g.json, g.quiet);
  return res->tasks_failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

Command AddExportCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<ExportFlags>();
  ExportOptions& o = flags->o;
  CLI::App* sub = app.add_subcommand(
      "export", "Export PostgreSQL tables to Parquet files named after their rows, resumably");
  sub->add_option("ARGS", flags->positional,
                  "[postgres://user@host:port/db] TABLE... DST (connection from PG* variables "
                  "when no URI is given)")
      ->required();
  sub->add_option("--chunk-rows", o.chunk_rows, "Rows per pull from PostgreSQL")
      ->envname("CHUNK_SIZE")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--flush-rows", o.flush_rows, "Rows per Parquet file")
      ->envname("FLUSH_THRESHOLD")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--order-by", flags->order_by, "Key columns TS_COL,ID_COL (unique together)")
      ->capture_default_str();
  sub->add_option("--prefix", o.prefix, "File name prefix")
      ->envname("PARQUET_PREFIX")
      ->capture_default_str();
  sub->add_option("--layout", flags->layout, "hive-date, by-partition or flat")
      ->envname("S3_LAYOUT")
      ->capture_default_str();
  sub->add_option("--compression", flags->compression, "Parquet codec")->capture_default_str();
  sub->add_option("--parallel", o.parallel, "Tables at once")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--retries", o.retries, "Attempts per table")
      ->envname("RETRIES")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--retry-backoff", flags->backoff, "Wait between attempts (5s, 500ms)")
      ->envname("RETRY_BACKOFF_SEC")
      ->capture_default_str();
  sub->add_option("--partitions-file", flags->partitions_file, "File of table names, one a line")
      ->envname("PARTITIONS_FILE");
  sub->add_option("--shard", flags->shard,
                  "Export only the tables that fall in shard i of N (i/N; auto[/N] inside a Slurm, "
                  "Kubernetes or AWS Batch array job)");
  sub->footer(
      "Example:\n  lakepack export postgres://etl@db:5432/app public.items_2024_01 "
      "s3://archive/perm_items --layout hive-date\n"
      "Each --flush-rows rows become {prefix}_{schema}.{table}_{start}_{id8}-{end}_{id8}_rows-"
      "{n}.parquet.\nA rerun resumes after the last file in DST; check with `lakepack validate`.");
  return {sub, [flags, &global] { return RunExport(*flags, global); }};
}

}  // namespace lakepack::cli
