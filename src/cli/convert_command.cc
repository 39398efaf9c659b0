// `lakepack convert IN OUT`: one file or object from one format to another, published
// atomically so that a failure never leaves a partial OUT. Avro input goes through the Avro
// layer to JSON lines, and from there through the engine with the columns the Avro schema gives.
#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "cli/cli.h"
#include "cli/flags.h"
#include "common/strings.h"
#include "exec/rejects.h"
#include "exec/staging.h"
#include "format/avro_codec.h"
#include "lakepack/format.h"
#include "lakepack/uri.h"

namespace lakepack::cli {

namespace {

// Avro IN: to Avro (blocks copied as they are, under a new sync marker), to JSON lines (the Avro
// layer alone), or to Parquet / CSV (JSON lines read by the engine as the schema's columns, so
// that a column whose first values are all null still gets its type). Returns the rows.
Result<int64_t> ConvertAvro(const std::string& in, const std::string& in_shown, Spool& spool,
                            FormatEngine& engine, const WriteSpec& ws) {
  if (ws.format == FileFormat::kAvro) {
    LP_ASSIGN_OR_RETURN(AvroHeader h, ReadAvroHeader(in));
    LP_ASSIGN_OR_RETURN(AvroCodec codec, ParseAvroCodec(h.codec));
    return ConcatAvro({{in, in_shown}}, {ws.path, h.schema_json, codec, h.metadata});
  }
  if (ws.format == FileFormat::kJsonLines) return AvroToJsonLines(in, ws.path);
  LP_ASSIGN_OR_RETURN(AvroHeader h, ReadAvroHeader(in));
  LP_ASSIGN_OR_RETURN(std::vector<AvroField> fields, AvroRecordFields(h.schema_json));
  std::vector<ColumnInfo> columns;
  for (const auto& f : fields) columns.push_back({f.name, f.engine_type});
  const std::string jsonl = spool.NewFile(".jsonl");
  LP_ASSIGN_OR_RETURN(int64_t records, AvroToJsonLines(in, jsonl));
  if (records == 0) {
    // No records: an empty JSON-lines file is not readable, a 0-byte CSV is (no columns, no
    // rows), and CopyAs still gives the output the schema's columns.
    const std::string empty = spool.NewFile(".csv");
    std::ofstream(empty, std::ios::trunc).close();
    return engine.CopyAs(ReadSpec{{empty}, FileFormat::kCsv}, columns, ws);
  }
  ReadSpec rs{{jsonl}, FileFormat::kJsonLines};
  rs.json_columns = columns;
  auto rows = engine.CopyAs(rs, columns, ws);
  // The JSON lines are lakepack's own staging: an error about them is about IN.
  if (!rows.ok()) return ShowPathAs(rows.status(), jsonl, in_shown);
  if (*rows != records) {
    return Status::Corruption(
        fmt::format("{}: {} Avro records became {} rows", in_shown, records, *rows));
  }
  return rows;
}

struct ConvertFlags {
  std::string in;
  std::string out;
  std::string format;
  std::string input_format;
  std::string compression = "snappy";
  int64_t row_group_rows = 0;
  std::string rejects;
};

void PrintConverted(const ConvertFlags& f, const GlobalOptions& g, FileFormat out_format,
                    int64_t rows, int64_t bytes, int64_t rejected,
                    const std::string& rejected_text) {
  if (g.json) {
    std::cout
        << fmt::format(
               R"({{"command":"convert","input":"{}","output":"{}","format":"{}","rows":{},"bytes":{},"rejected":{}}})",
               f.in, f.out, FormatName(out_format), rows, bytes, rejected)
        << std::endl;
  } else if (!g.quiet) {
    std::cout << fmt::format("converted {} -> {}: {} rows, {} bytes ({}){}", f.in, f.out, rows,
                             bytes, FormatName(out_format), rejected_text)
              << std::endl;
  }
}

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
  if (out_format == FileFormat::kAvro && in_format != FileFormat::kAvro) {
    return Fail(kCmd,
                Status::InvalidArgument(f.out + ": convert writes Avro from Avro only (parquet, "
                                                "csv or jsonl from other inputs)"),
                true);
  }
  if (in_format == FileFormat::kAvro && !f.rejects.empty()) {
    return Fail(kCmd, Status::InvalidArgument("--rejects applies to CSV and JSON-lines inputs"),
                true);
  }

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
                              : out_format == FileFormat::kAvro  ? ".avro"
                                                                 : ".jsonl");
  ws.format = out_format;
  ws.compression = *codec;
  ws.row_group_rows = f.row_group_rows;
  if (in_format == FileFormat::kAvro) {
    auto rows = ConvertAvro(*local_in, f.in, **spool, **engine, ws);
    if (!rows.ok()) {
      return Fail(kCmd, ShowPathAs(ShowPathAs(rows.status(), *local_in, f.in), ws.path, f.out));
    }
    auto published = Publish(*dst->store, dst->key, ws.path);
    if (!published.ok()) return Fail(kCmd, published.status());
    PrintConverted(f, g, out_format, *rows, published->size, 0, "");
    return kExitOk;
  }
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

  PrintConverted(f, g, out_format, *rows, published->size, rejected, rejected_text);
  return kExitOk;
}

}  // namespace

Command AddConvertCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<ConvertFlags>();
  CLI::App* sub = app.add_subcommand(
      "convert", "Convert one file between CSV, JSON lines and Parquet, or from Avro");
  sub->add_option("IN", flags->in, "Input file: a path, file:// or s3:// URI")->required();
  sub->add_option("OUT", flags->out, "Output file: a path, file:// or s3:// URI")->required();
  sub->add_option("--format,-f", flags->format,
                  "Output format: parquet, csv, jsonl, avro (avro from avro only; default: from "
                  "OUT's extension)");
  sub->add_option("--input-format", flags->input_format,
                  "Input format: parquet, csv, jsonl, avro (default: from IN's extension)");
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
      "  lakepack convert raw_x_1609577700_GOOD.avro x.parquet\n"
      "OUT appears whole or not at all: it is written aside and renamed into place.");
  return {sub, [flags, &global] { return RunConvert(*flags, global); }};
}

}  // namespace lakepack::cli
