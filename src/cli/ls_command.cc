// `lakepack ls PATH`: a table's files with size, format and rows (Parquet from the footers,
// without reading the data), and the latest file number of its series T_N in each folder (the
// seed's table_log and get_files_from_table_log, and the number pack tops up next).
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/cli.h"
#include "common/parallel.h"
#include "common/strings.h"
#include "exec/engine_pool.h"
#include "exec/staging.h"
#include "format/avro_codec.h"
#include "format/parquet_footer.h"
#include "lakepack/format.h"
#include "lakepack/uri.h"
#include "plan/pack_plan.h"

namespace lakepack::cli {

namespace {

struct LsFlags {
  std::string path;
  std::string table;  // with it, PATH is the base and the table folder PATH/T
  std::string suffix;
  bool count_rows = false;
};

struct Listed {
  ObjectInfo object;
  std::string rel;  // below the table folder
  FileFormat format = FileFormat::kUnknown;
  std::optional<int64_t> rows;  // unknown: not counted (CSV, JSON lines, Avro without --count-rows)
  std::string error;
};

// The rows of one file: Parquet from its footer (two ranged reads); the others, with
// --count-rows, read whole (downloaded into `dir`, removed after).
Status CountRows(ObjectStore& store, Listed& f, bool count_rows, EnginePool& engines,
                 const std::string& dir) {
  if (f.format == FileFormat::kUnknown) return Status::OK();
  if (f.format != FileFormat::kParquet && !count_rows) return Status::OK();
  auto engine = engines.Take();
  if (!engine.ok()) return engine.status();
  Result<int64_t> rows = Status::IOError("not counted");
  if (f.format == FileFormat::kParquet) {
    auto info = InspectParquetObject(store, f.object, **engine, dir);
    rows = info.ok() ? Result<int64_t>(info->rows) : Result<int64_t>(info.status());
  } else {
    auto local = StageForReading(store, f.object.key, dir);
    if (!local.ok()) {
      rows = local.status();
    } else if (f.format == FileFormat::kAvro) {
      auto info = InspectAvro(*local);
      rows = info.ok() ? Result<int64_t>(info->records) : Result<int64_t>(info.status());
    } else {
      auto info = (*engine)->Inspect(*local, f.format);
      rows = info.ok() ? Result<int64_t>(info->rows) : Result<int64_t>(info.status());
    }
    if (local.ok() && !store.LocalPath(f.object.key)) {
      std::error_code ec;
      std::filesystem::remove(*local, ec);
    }
  }
  engines.Give(std::move(*engine));
  if (!rows.ok()) return rows.status();
  f.rows = *rows;
  return Status::OK();
}

int RunLs(const LsFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "ls";
  if (f.table.find('/') != std::string::npos) {
    return Fail(kCmd, Status::InvalidArgument("--table: a table name has no '/'"), true);
  }
  std::string folder = f.path;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  if (!f.table.empty()) folder += "/" + f.table;
  auto loc = ParseLocation(folder);
  if (!loc.ok()) return Fail(kCmd, loc.status(), true);
  // The series is named after the table: --table, else the folder's own name.
  std::string table = f.table;
  if (table.empty()) table = BaseName(loc->path.empty() ? loc->root : loc->path);
  auto store = OpenStore(folder);
  if (!store.ok()) return Fail(kCmd, store.status());
  auto listing = (*store)->ListAll("");
  if (!listing.ok()) return Fail(kCmd, listing.status());

  std::vector<Listed> files;
  for (const auto& o : *listing) {
    // lakepack's own records (manifests, journals) are not the table's files.
    if (o.key.rfind("_lakepack/", 0) == 0 || o.key.find("/_lakepack/") != std::string::npos)
      continue;
    Listed l;
    l.object = o;
    l.rel = o.key;
    l.format = FormatFromPath(BaseName(o.key));
    files.push_back(std::move(l));
  }
  std::sort(files.begin(), files.end(),
            [](const Listed& a, const Listed& b) { return a.rel < b.rel; });

  auto spool = Spool::Create(g.spool_dir, "ls");
  if (!spool.ok()) return Fail(kCmd, spool.status());
  EngineOptions eo = EngineOptionsFrom(g);
  eo.threads = 1;  // footers are small; the readers are the parallelism
  EnginePool engines(eo, (*spool)->path() + "/engine");
  std::vector<Status> read = ParallelForAll(files.size(), 16, [&](size_t i) {
    return CountRows(**store, files[i], f.count_rows, engines,
                     (*spool)->Sub(fmt::format("f{}", i)));
  });
  int failed = 0;
  for (size_t i = 0; i < files.size(); i++) {
    if (!read[i].ok()) {
      files[i].error = read[i].message();
      failed++;
    }
  }

  // The latest number of the series in each folder: the file pack tops up next.
  struct Latest {
    int64_t number = -1;
    std::string file;
  };
  std::map<std::string, Latest> latest;  // folder (relative, "" or "k=v/") → latest
  for (const auto& l : files) {
    size_t slash = l.rel.rfind('/');
    std::string dir = slash == std::string::npos ? "" : l.rel.substr(0, slash + 1);
    auto id = ParsePackOutputName(l.rel.substr(dir.size()), table, f.suffix);
    if (!id) continue;
    Latest& x = latest[dir];
    if (id->number > x.number) x = {id->number, l.rel};
  }

  int64_t bytes = 0, rows = 0, uncounted = 0;
  for (const auto& l : files) {
    bytes += l.object.size;
    if (l.rows) rows += *l.rows;
    if (!l.rows && l.format != FileFormat::kUnknown && l.error.empty()) uncounted++;
  }
  const std::string shown = (*store)->Uri();
  if (g.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& l : files) {
      nlohmann::json j = {
          {"file", l.rel},
          {"uri", (*store)->UriOf(l.object.key)},
          {"format", l.format == FileFormat::kUnknown ? std::string("other")
                                                      : std::string(FormatName(l.format))},
          {"size", l.object.size},
          {"rows", l.rows ? nlohmann::json(*l.rows) : nlohmann::json(nullptr)}};
      if (!l.error.empty()) j["error"] = l.error;
      list.push_back(std::move(j));
    }
    nlohmann::json lat = nlohmann::json::array();
    for (const auto& [dir, x] : latest) {
      lat.push_back({{"folder", dir}, {"number", x.number}, {"file", x.file}});
    }
    std::cout << nlohmann::json{{"command", "ls"},
                                {"path", shown},
                                {"table", table},
                                {"files", list},
                                {"file_count", files.size()},
                                {"bytes", bytes},
                                {"rows", rows},
                                {"rows_uncounted", uncounted},
                                {"latest", lat},
                                {"errors", failed}}
                     .dump()
              << std::endl;
  } else if (!g.quiet) {
    size_t width = 4;
    for (const auto& l : files) width = std::max(width, l.rel.size());
    std::cout << shown << "/\n";
    if (!files.empty()) {
      std::cout << fmt::format("  {:<{}}  {:<7}  {:>14}  {:>12}\n", "FILE", width, "FORMAT",
                               "BYTES", "ROWS");
    }
    for (const auto& l : files) {
      std::string r = l.rows ? std::to_string(*l.rows) : (l.error.empty() ? "-" : "(error)");
      std::cout << fmt::format("  {:<{}}  {:<7}  {:>14}  {:>12}\n", l.rel, width,
                               l.format == FileFormat::kUnknown ? "other" : FormatName(l.format),
                               l.object.size, r);
    }
    std::cout << fmt::format("{} file(s), {} bytes, {} rows", files.size(), bytes, rows);
    if (uncounted > 0) {
      std::cout << fmt::format(" ({} csv/jsonl/avro file(s) not counted: --count-rows reads them)",
                               uncounted);
    }
    std::cout << "\n";
    const std::string series = table + (f.suffix.empty() ? "" : "_" + f.suffix) + "_N.ext";
    if (latest.empty()) {
      std::cout << fmt::format("latest file number: none (no {} file)\n", series);
    }
    for (const auto& [dir, x] : latest) {
      std::cout << fmt::format("latest file number{}: {} ({})\n", dir.empty() ? "" : " in " + dir,
                               x.number, x.file);
    }
  }
  for (const auto& l : files) {
    if (!l.error.empty()) PrintError(kCmd, Status::IOError(l.error));
  }
  return failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

Command AddLsCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<LsFlags>();
  CLI::App* sub = app.add_subcommand(
      "ls",
      "List a table's files: size, format, rows (Parquet from the footers) and the latest "
      "file number");
  sub->add_option("PATH", flags->path,
                  "The table's folder (a path, file:// or s3:// URI); with --table, the base "
                  "that holds it")
      ->required();
  sub->add_option("--table", flags->table,
                  "The table T: list PATH/T/ (default: PATH is the table folder, named T)");
  sub->add_option("--suffix", flags->suffix, "The series is T_S_N.ext (pack --suffix S)");
  sub->add_flag("--count-rows", flags->count_rows,
                "Count the rows of CSV, JSON-lines and Avro files too (reads them whole)");
  sub->footer(
      "Example:\n  lakepack ls s3://bucket/db --table table\n"
      "Every file below the table folder is listed (lakepack's own _lakepack/ records are not),\n"
      "with partitions. The latest file number is the highest N of the files named T_N.ext (or\n"
      "T_S_N.ext) in each folder: the file 'lakepack pack' tops up next. A Parquet file whose\n"
      "footer cannot be read is named on stderr and the exit code is 1.");
  return {sub, [flags, &global] { return RunLs(*flags, global); }};
}

}  // namespace lakepack::cli
