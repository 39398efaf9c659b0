// `lakepack sample DST`: makes a small lake of minute files with the seeds' Data Schema, so
// that every command can be tried (and benchmarked) without data of one's own.
#include <fmt/format.h>

#include <ctime>
#include <iostream>

#include "cli/cli.h"
#include "exec/staging.h"
#include "lakepack/format.h"
#include "lakepack/uri.h"

namespace lakepack::cli {

namespace {

struct SampleFlags {
  std::string dst;
  int minutes = 180;
  int64_t rows_per_file = 500;
  std::string start = "2025-01-01T00:00";
  std::string format = "parquet";
  std::string user = "demo";
  std::string db = "lake";
  std::string table = "permanent_data_items";
  int64_t seed = 1;
  int every = 1;  // minutes between files
};

// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (UTC) → seconds since the epoch.
Result<int64_t> ParseStart(const std::string& s) {
  std::tm tm{};
  int y, mo, d, h = 0, mi = 0;
  int n = std::sscanf(s.c_str(), "%d-%d-%dT%d:%d", &y, &mo, &d, &h, &mi);
  if (n != 3 && n != 5) {
    return Status::InvalidArgument("--start: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, got '" + s +
                                   "'");
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return static_cast<int64_t>(timegm(&tm));
}

int RunSample(const SampleFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "sample";
  auto format = ParseFormat(f.format);
  if (!format.ok()) return Fail(kCmd, format.status().WithContext("--format"), true);
  if (*format == FileFormat::kAvro) {
    return Fail(kCmd, Status::InvalidArgument("--format: sample writes parquet, csv or jsonl"),
                true);
  }
  auto start = ParseStart(f.start);
  if (!start.ok()) return Fail(kCmd, start.status(), true);
  if (f.minutes <= 0 || f.rows_per_file <= 0 || f.every <= 0) {
    return Fail(kCmd,
                Status::InvalidArgument("--minutes, --rows-per-file and --every must be positive"),
                true);
  }
  StoreOptions so;
  so.create_local_root = true;
  auto store = OpenStore(f.dst, so);
  if (!store.ok()) return Fail(kCmd, store.status());
  auto spool = Spool::Create(g.spool_dir);
  if (!spool.ok()) return Fail(kCmd, spool.status());
  EngineOptions eo = EngineOptionsFrom(g);
  auto engine = FormatEngine::Open(eo);
  if (!engine.ok()) return Fail(kCmd, engine.status());

  std::string ext = *format == FileFormat::kParquet ? "parquet"
                    : *format == FileFormat::kCsv   ? "csv"
                                                    : "jsonl";
  int64_t rows = 0, bytes = 0;
  for (int m = 0; m < f.minutes; m++) {
    std::time_t t = *start + static_cast<int64_t>(m) * f.every * 60;
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::string key = fmt::format(
        "{}/{}/{}/{:04}/{:02}/{:02}/{:02}/{}_{:04}{:02}{:02}T{:02}{:02}_s{}.{}", f.user, f.db,
        f.table, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, f.table,
        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, f.seed, ext);
    SampleSpec spec;
    spec.rows = f.rows_per_file;
    spec.seed = f.seed * 1000003 + m;
    spec.start_us = static_cast<int64_t>(t) * 1000000;
    spec.step_us = 60000000 / f.rows_per_file;
    WriteSpec ws;
    ws.path = (*spool)->NewFile("." + ext);
    ws.format = *format;
    auto n = (*engine)->WriteSample(spec, ws);
    if (!n.ok()) return Fail(kCmd, n.status());
    auto info = Publish(**store, key, ws.path);
    if (!info.ok()) return Fail(kCmd, info.status());
    rows += *n;
    bytes += info->size;
  }
  if (g.json) {
    std::cout << fmt::format(R"({{"command":"sample","files":{},"rows":{},"bytes":{}}})", f.minutes,
                             rows, bytes)
              << std::endl;
  } else if (!g.quiet) {
    std::cout << fmt::format("sample: wrote {} minute files, {} rows, {} bytes under {}", f.minutes,
                             rows, bytes, (*store)->Uri())
              << std::endl;
  }
  return kExitOk;
}

}  // namespace

Command AddSampleCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<SampleFlags>();
  CLI::App* sub = app.add_subcommand(
      "sample", "Make a sample lake of minute files (the seeds' Data Schema) to try lakepack on");
  sub->add_option("DST", flags->dst, "Where to write: a directory or s3:// URI")->required();
  sub->add_option("--minutes", flags->minutes, "How many minute files")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--rows-per-file", flags->rows_per_file, "Rows in each file")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--start", flags->start, "First minute, UTC (YYYY-MM-DD[THH:MM])")
      ->capture_default_str();
  sub->add_option("--format", flags->format, "parquet, csv or jsonl")->capture_default_str();
  sub->add_option("--user", flags->user, "First path level")->capture_default_str();
  sub->add_option("--db", flags->db, "Second path level")->capture_default_str();
  sub->add_option("--table", flags->table, "Table name (third path level)")->capture_default_str();
  sub->add_option("--seed", flags->seed, "Seed for the row values")->capture_default_str();
  sub->add_option("--every", flags->every, "Minutes from one file to the next")
      ->check(kPositive)
      ->capture_default_str();
  sub->footer(
      "Example:\n  lakepack sample ./lake --minutes 120 --rows-per-file 1000\n"
      "Files land at <user>/<db>/<table>/YYYY/MM/DD/HH/<table>_YYYYMMDDTHHMM.<ext>.");
  return {sub, [flags, &global] { return RunSample(*flags, global); }};
}

}  // namespace lakepack::cli
