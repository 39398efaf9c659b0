// `lakepack convert IN OUT`: one file or object from one format to another, published
// atomically so that a failure never leaves a partial OUT.
#include <fmt/format.h>

#include <iostream>

#include "cli/cli.h"
#include "cli/flags.h"
#include "common/strings.h"
#include "exec/rejects.h"
#include "exec/staging.h"
#include "lakepack/format.h"
#include "lakepack/uri.h"

namespace lakepack::cli {

namespace {

struct ConvertFlags {
  std::string in;
  std::string out;
  std::string format;
  std::string input_format;
  std::string compression = "snappy";
  int64_t row_group_rows = 0;
  std::string rejects;
};

int RunConvert(const ConvertFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "convert";
  // Usage first: every flag is checked before anything is read or written.
  auto in = FormatFromFlagOrPath("--input-format", f.input_format, f.in, "input format");
  if (!in.ok()) return Fail(kCmd, in.status(), true);
  auto out = FormatFromFlagOrPath("--format", f.format, f.out, "output format");
  if (!out.ok()) return Fail(kCmd, out.status(), true);
  const FileFormat in_format = *in, out_format = *out;
  auto codec = ParseCompressionFlag("--compression", f.compression);
  if (!codec.ok()) return Fail(kCmd, codec.status(), true);

  auto src = OpenObject(f.in);
  if (!src.ok() && src.status().IsNotFound()) {
    return Fail(kCmd, NoSuchInput(f.in));
  }
  if (!src.ok())
    return Fail(kCmd, src.status(), src.status().code() == StatusCode::kInvalidArgument);
  StoreOptions out_opts;
  out_opts.create_local_root = true;
  auto dst = OpenObject(f.out, out_opts);
  if (!dst.ok())
    return Fail(kCmd, dst.status(), dst.status().code() == StatusCode::kInvalidArgument);

  auto spool = Spool::Create(g.spool_dir);
  if (!spool.ok()) return Fail(kCmd, spool.status());
  auto local_in = StageForReading(*src->store, src->key, (*spool)->path());
  if (!local_in.ok() && local_in.status().IsNotFound()) {
    return Fail(kCmd, NoSuchInput(f.in));
  }
  if (!local_in.ok()) return Fail(kCmd, local_in.status());

  EngineOptions eo = EngineOptionsFrom(g);
  eo.temp_dir = (*spool)->path() + "/engine";
  auto engine = FormatEngine::Open(eo);
  if (!engine.ok()) return Fail(kCmd, engine.status());

  WriteSpec ws;
  ws.path = (*spool)->NewFile(out_format == FileFormat::kParquet ? ".parquet"
                              : out_format == FileFormat::kCsv   ? ".csv"
                                                                 : ".jsonl");
  ws.format = out_format;
  ws.compression = *codec;
  ws.row_group_rows = f.row_group_rows;
  ReadSpec rs{{*local_in}, in_format};
  std::unique_ptr<RejectsFile> rejects;
  if (!f.rejects.empty()) {
    auto r = RejectsFile::Create(f.rejects);
    if (!r.ok()) return Fail(kCmd, r.status());
    rejects = std::move(*r);
    rejects->ShowAs(*local_in, f.in);
    rs.rejects = rejects.get();
  }
  auto rows = (*engine)->Copy(rs, ws);
  // Errors name the user's input, not the spool copy.
  if (!rows.ok()) {
    return Fail(kCmd, ShowPathAs(ShowPathAs(rows.status(), *local_in, f.in), ws.path, f.out));
  }
  if (rejects) {
    Status synced = rejects->Sync();
    if (!synced.ok()) return Fail(kCmd, synced);
  }
  auto published = Publish(*dst->store, dst->key, ws.path);
  if (!published.ok()) return Fail(kCmd, published.status());
  const int64_t rejected = rejects ? rejects->count() : 0;
  std::string rejected_text =
      rejects ? fmt::format("; {} record(s) rejected, in {}", rejected, f.rejects) : "";

  if (g.json) {
    std::cout
        << fmt::format(
               R"({{"command":"convert","input":"{}","output":"{}","format":"{}","rows":{},"bytes":{},"rejected":{}}})",
               f.in, f.out, FormatName(out_format), *rows, published->size, rejected)
        << std::endl;
  } else if (!g.quiet) {
    std::cout << fmt::format("converted {} -> {}: {} rows, {} bytes ({}){}", f.in, f.out, *rows,
                             published->size, FormatName(out_format), rejected_text)
              << std::endl;
  }
  return kExitOk;
}

}  // namespace

Command AddConvertCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<ConvertFlags>();
  CLI::App* sub =
      app.add_subcommand("convert", "Convert one file between CSV, JSON lines and Parquet");
  sub->add_option("IN", flags->in, "Input file: a path, file:// or s3:// URI")->required();
  sub->add_option("OUT", flags->out, "Output file: a path, file:// or s3:// URI")->required();
  sub->add_option("--format,-f", flags->format,
                  "Output format: parquet, csv, jsonl (default: from OUT's extension)");
  sub->add_option("--input-format", flags->input_format,
                  "Input format: parquet, csv, jsonl (default: from IN's extension)");
  sub->add_option("--compression,-c", flags->compression,
                  "Parquet codec: snappy, zstd, gzip, uncompressed")
      ->capture_default_str();
  sub->add_option("--row-group-rows", flags->row_group_rows,
                  "Rows per Parquet row group (default: the engine's, 122880)")
      ->check(kPositive);
  sub->add_option("--rejects", flags->rejects,
                  "Divert CSV / JSON-lines records that cannot be read to this local file (JSON "
                  "lines with file, line, reason, text) and convert the rest; without it a bad "
                  "record fails the conversion");
  sub->footer(
      "Example:\n  lakepack convert events.csv events.parquet --compression zstd\n"
      "  lakepack convert s3://lake/raw/a.jsonl s3://lake/clean/a.parquet\n"
      "OUT appears whole or not at all: it is written aside and renamed into place.");
  return {sub, [flags, &global] { return RunConvert(*flags, global); }};
}

}  // namespace lakepack::cli
