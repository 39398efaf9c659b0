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
  std::string parquet_dir = "./parquet_out";  // PARQUET_DIR
  std::string s3_bucket;                      // S3_BUCKET
  std::string s3_prefix = "etl/perm_items";   // S3_PREFIX
  bool no_resume = false;
  std::vector<std::string> column_types;  // COL=TYPE
};

// The last argument is DST when it names a place (a URI, or a path with a '/'); otherwise
// every argument is a table (names like public.t, or "Odd"."My Table" quoted) and DST comes
// from PARQUET_DIR / S3_BUCKET, as the seed's `pg_to_parquet_etl.sh TABLE`.
bool LooksLikeLocation(const std::string& arg) {
  if (arg.empty() || arg[0] == '"') return false;
  return arg.find("://") != std::string::npos || arg.find('/') != std::string::npos || arg == "." ||
         arg == "..";
}

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
  if (!pos.empty() && LooksLikeLocation(pos.back())) {
    if (!f.s3_bucket.empty()) {
      return Fail(
          kCmd,
          Status::InvalidArgument(fmt::format("DST {} given and S3_BUCKET={} set: give one of them",
                                              pos.back(), f.s3_bucket)),
          true);
    }
    o.dst = pos.back();
    pos.pop_back();
  } else if (!f.s3_bucket.empty()) {
    // The seed's upload: files are written to PARQUET_DIR, then uploaded to
    // s3://S3_BUCKET/S3_PREFIX/, and kept locally until the upload is verified.
    std::string prefix = f.s3_prefix;
    while (!prefix.empty() && prefix.front() == '/') prefix.erase(prefix.begin());
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    o.dst = "s3://" + f.s3_bucket + (prefix.empty() ? "" : "/" + prefix);
    o.outbox = f.parquet_dir;
  } else {
    o.dst = f.parquet_dir;
  }
  if (f.no_resume) o.resume = false;
  for (const auto& ct : f.column_types) {
    auto eq = ct.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == ct.size()) {
      return Fail(kCmd,
                  Status::InvalidArgument("--column-type: expected COL=TYPE, got '" + ct + "'"),
                  true);
    }
    if (!o.column_types.emplace(ct.substr(0, eq), ct.substr(eq + 1)).second) {
      return Fail(
          kCmd,
          Status::InvalidArgument("--column-type: column '" + ct.substr(0, eq) + "' given twice"),
          true);
    }
  }
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
  TerminalProgress progress(g.quiet || g.json, nullptr, "table");
  auto res = Export(o, progress);
  progress.Finish();
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
                  "[postgres://user@host:port/db] TABLE... [DST] (connection from PG* variables "
                  "when no URI is given; DST is a URI or a path with a '/', else PARQUET_DIR or "
                  "S3_BUCKET)");
  sub->add_option("--parquet-dir", flags->parquet_dir,
                  "Where files go without DST; with S3_BUCKET, where they wait until their "
                  "upload is verified")
      ->envname("PARQUET_DIR")
      ->capture_default_str();
  sub->add_option("--s3-bucket", flags->s3_bucket,
                  "Without DST: upload to s3://BUCKET/S3_PREFIX/ (empty: no upload)")
      ->envname("S3_BUCKET");
  sub->add_option("--s3-prefix", flags->s3_prefix, "Key prefix of the upload")
      ->envname("S3_PREFIX")
      ->capture_default_str();
  sub->add_option("--resume", o.resume,
                  "Continue each table after the last row in DST (0: from the first row)")
      ->envname("S3_RESUME")
      ->capture_default_str();
  sub->add_flag("--no-resume", flags->no_resume, "Same as --resume 0");
  sub->add_option("--hive-split", o.hive_split,
                  "hive-date folders year=/month=/half=/ (0: year=/month=/)")
      ->envname("HIVE_SPLIT")
      ->capture_default_str();
  sub->add_option("--s3-max-keys", o.list_max_keys, "Keys per page when DST is listed")
      ->envname("S3_MAX_KEYS")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--chunk-rows", o.chunk_rows, "Rows per pull from PostgreSQL")
      ->envname("CHUNK_SIZE")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--flush-rows", o.flush_rows, "Rows per Parquet file")
      ->envname("FLUSH_THRESHOLD")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--column-type", flags->column_types,
                  "COL=TYPE: read column COL as PostgreSQL type TYPE (e.g. amount=numeric(38,10) "
                  "for a numeric without precision, which is otherwise exported as its exact "
                  "text); once per column")
      ->allow_extra_args(false);  // one COL=TYPE per --column-type: ARGS keep the rest
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
      "Examples:\n"
      "  lakepack export postgres://etl@db:5432/app public.items_2024_01 s3://archive/perm_items\n"
      "  PGHOST=db S3_BUCKET=archive lakepack export public.items_2024_01   (the seed's form:\n"
      "      files in ./parquet_out until uploaded to s3://archive/etl/perm_items/)\n"
      "  PARTITIONS_FILE=tables.txt lakepack export ./parquet_out --parallel 4\n"
      "Each --flush-rows rows become {prefix}_{schema}.{table}_{start}_{id8}-{end}_{id8}_rows-"
      "{n}.parquet.\nA rerun resumes after the last file in DST; check with `lakepack validate`.");
  return {sub, [flags, &global] { return RunExport(*flags, global); }};
}

}  // namespace lakepack::cli
