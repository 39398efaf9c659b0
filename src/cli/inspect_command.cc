// `lakepack inspect PATH`: format, rows, columns, size, and for Parquet the row groups and
// codecs, read from the footer without scanning the data; for Avro the schema, codec, blocks and
// metadata, with every record decoded (so a corrupt file shows).
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/flags.h"
#include "common/strings.h"
#include "exec/staging.h"
#include "format/avro_codec.h"
#include "format/parquet_footer.h"
#include "lakepack/format.h"
#include "lakepack/uri.h"

namespace lakepack::cli {

namespace {

struct InspectFlags {
  std::string path;
  std::string input_format;
};

// Metadata values as text for a terminal: long ones shortened, bytes that are not printable
// shown as '.'.
std::string ShortValue(const std::string& v) {
  constexpr size_t kMax = 96;
  std::string out;
  for (char c : v.substr(0, kMax)) out += (c >= 0x20 && c < 0x7f) ? c : '.';
  if (v.size() > kMax) out += fmt::format("... ({} bytes)", v.size());
  return out;
}

int PrintAvro(const std::string& shown, const AvroFileInfo& info, const GlobalOptions& g) {
  if (g.json) {
    nlohmann::json j;
    j["path"] = shown;
    j["format"] = "avro";
    j["rows"] = info.records;
    j["size_bytes"] = info.size_bytes;
    j["codec"] = info.codec;
    j["blocks"] = info.blocks;
    j["sync"] = info.sync_hex;
    j["columns"] = nlohmann::json::array();
    for (auto& c : info.fields) j["columns"].push_back({{"name", c.name}, {"type", c.avro_type}});
    j["schema"] = nlohmann::json::parse(info.schema_json, nullptr, false);
    j["metadata"] = nlohmann::json::object();
    for (auto& [k, v] : info.metadata) j["metadata"][k] = v;
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return kExitOk;
  }
  std::cout << fmt::format(
      "path:        {}\nformat:      avro\nrows:        {}\nsize:        {} bytes\n"
      "codec:       {}\nblocks:      {}\n",
      shown, info.records, info.size_bytes, info.codec, info.blocks);
  if (!info.metadata.empty()) {
    std::cout << fmt::format("metadata:    {}\n", info.metadata.size());
    for (auto& [k, v] : info.metadata) std::cout << fmt::format("  {:<24} {}\n", k, ShortValue(v));
  }
  std::cout << fmt::format("columns:     {}\n", info.fields.size());
  for (auto& c : info.fields) std::cout << fmt::format("  {:<24} {}\n", c.name, c.avro_type);
  std::cout << "schema:      " << info.schema_json << "\n";
  return kExitOk;
}

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
  if (format == FileFormat::kAvro) {
    auto local = StageForReading(*src->store, src->key, (*spool)->path());
    if (!local.ok() && local.status().IsNotFound()) return Fail(kCmd, NoSuchInput(f.path));
    if (!local.ok()) return Fail(kCmd, local.status());
    auto avro = InspectAvro(*local);
    if (!avro.ok()) return Fail(kCmd, ShowPathAs(avro.status(), *local, f.path));
    return PrintAvro(f.path, *avro, g);
  }
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
      "inspect",
      "Show a file's format, rows, columns, size, and row groups (Parquet) or blocks (Avro) and "
      "codecs");
  sub->add_option("PATH", flags->path, "A path, file:// or s3:// URI")->required();
  sub->add_option("--input-format", flags->input_format,
                  "parquet, csv, jsonl, avro (default: from the extension)");
  sub->footer(
      "Example:\n  lakepack inspect lake/2025/01/01/events.parquet --json\n"
      "  lakepack inspect s3://cold/raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/"
      "raw_x_1609577700_GOOD.avro");
  return {sub, [flags, &global] { return RunInspect(*flags, global); }};
}

}  // namespace lakepack::cli
