// `lakepack inspect PATH`: format, rows, columns, size, and for Parquet the row groups and
// codecs, read from the footer without scanning the data.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/flags.h"
#include "common/strings.h"
#include "exec/staging.h"
#include "format/parquet_footer.h"
#include "lakepack/format.h"
#include "lakepack/uri.h"

namespace lakepack::cli {

namespace {

struct InspectFlags {
  std::string path;
  std::string input_format;
};

int RunInspect(const InspectFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "inspect";
  auto parsed = FormatFromFlagOrPath("--input-format", f.input_format, f.path, "format");
  if (!parsed.ok()) return Fail(kCmd, parsed.status(), true);
  const FileFormat format = *parsed;
  auto src = OpenObject(f.path);
  if (!src.ok() && src.status().IsNotFound()) {
    return Fail(kCmd, NoSuchInput(f.path));
  }
  if (!src.ok())
    return Fail(kCmd, src.status(), src.status().code() == StatusCode::kInvalidArgument);
  auto spool = Spool::Create(g.spool_dir);
  if (!spool.ok()) return Fail(kCmd, spool.status());
  EngineOptions eo = EngineOptionsFrom(g);
  auto engine = FormatEngine::Open(eo);
  if (!engine.ok()) return Fail(kCmd, engine.status());
  auto stat = src->store->Stat(src->key);
  if (!stat.ok()) return Fail(kCmd, stat.status());
  if (!*stat) return Fail(kCmd, NoSuchInput(f.path));
  Result<FileInfo> info = Status::IOError("not inspected");
  std::string local_name;
  if (format == FileFormat::kParquet) {
    // Footer only: two ranged reads for a remote object, however large it is.
    info = InspectParquetObject(*src->store, **stat, **engine, (*spool)->path());
    local_name = src->store->LocalPath(src->key).value_or(src->store->UriOf(src->key));
  } else {
    auto local = StageForReading(*src->store, src->key, (*spool)->path());
    if (!local.ok()) return Fail(kCmd, local.status());
    info = (*engine)->Inspect(*local, format);
    local_name = *local;
  }
  if (!info.ok()) return Fail(kCmd, ShowPathAs(info.status(), local_name, f.path));
  if (g.json) {
    nlohmann::json j;
    j["path"] = f.path;
    j["format"] = FormatName(info->format);
    j["rows"] = info->rows;
    j["size_bytes"] = info->size_bytes;
    j["columns"] = nlohmann::json::array();
    for (auto& c : info->columns) j["columns"].push_back({{"name", c.name}, {"type", c.type}});
    if (info->format == FileFormat::kParquet) {
      j["row_groups"] = info->row_groups;
      j["compression"] = info->compressions;
      j["created_by"] = info->created_by;
    }
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  std::cout << fmt::format(
      "path:        {}\nformat:      {}\nrows:        {}\nsize:        {} bytes\n", f.path,
      FormatName(info->format), info->rows, info->size_bytes);
  if (info->format == FileFormat::kParquet) {
    std::string codecs;
    for (auto& c : info->compressions) codecs += (codecs.empty() ? "" : ", ") + c;
    std::cout << fmt::format("row groups:  {}\ncompression: {}\ncreated by:  {}\n",
                             info->row_groups, codecs, info->created_by);
  }
  std::cout << fmt::format("columns:     {}\n", info->columns.size());
  for (auto& c : info->columns) std::cout << fmt::format("  {:<24} {}\n", c.name, c.type);
  return kExitOk;
}

}  // namespace

Command AddInspectCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<InspectFlags>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "Show a file's format, rows, columns, size, row groups and codecs");
  sub->add_option("PATH", flags->path, "A path, file:// or s3:// URI")->required();
  sub->add_option("--input-format", flags->input_format,
                  "parquet, csv, jsonl (default: from the extension)");
  sub->footer("Example:\n  lakepack inspect lake/2025/01/01/events.parquet --json");
  return {sub, [flags, &global] { return RunInspect(*flags, global); }};
}

}  // namespace lakepack::cli
