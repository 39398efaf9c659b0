// `lakepack pack INPUT_BASE OUTPUT_BASE --table T`: packs a table's files into evenly sized
// outputs, topping up the latest one first.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>
#include <vector>

#include "cli/cli.h"
#include "cli/flags.h"
#include "cli/plan.h"
#include "cli/progress.h"
#include "lakepack/pack.h"

namespace lakepack::cli {

namespace {

struct PackFlags {
  PackOptions o;
  std::string target_size = "256MB";
  std::string format = "snappy.parquet";
  std::string compression;  // empty: snappy
  std::string shard;
  std::vector<std::string> partitions;  // --partition, each key=value, in the order given
};

int RunPack(PackFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "pack";
  f.o.spool_dir = g.spool_dir;
  f.o.engine = EngineOptionsFrom(g);
  // Measured (docs/performance.md, pack): with 1GB instead of 2GB the one ordered COPY of 2 GB
  // of CSV peaked at 1.05-1.24 GB instead of 1.29-1.38 GB, in the same time within the noise;
  // 512MB was slower (1.9x DuckDB) and still above 1 GB.
  if (g.memory_limit.empty()) f.o.engine.memory_limit = "1GB";
  // The seed's output_partition is a dict: several --partition, one folder level each.
  f.o.partition.clear();
  for (const auto& p : f.partitions) f.o.partition += (f.o.partition.empty() ? "" : "/") + p;
  auto size = ParseByteSizeFlag("--target-size", f.target_size, /*positive=*/true);
  if (!size.ok()) return Fail(kCmd, size.status(), true);
  f.o.target_size = *size;
  auto format = ParsePackFormatFlag("--format", f.format);
  if (!format.ok()) return Fail(kCmd, format.status(), true);
  f.o.format = *format;
  if (!f.compression.empty()) {
    auto codec = ParseCompressionFlag("--compression", f.compression);
    if (!codec.ok()) return Fail(kCmd, codec.status(), true);
    f.o.compression = *codec;
  }
  auto shard = ParseShardFlag("--shard", f.shard);
  if (!shard.ok()) return Fail(kCmd, shard.status(), true);
  f.o.shard = *shard;
  TerminalProgress progress(g.quiet || g.json || g.plan != nullptr);
  progress.set_plan(g.plan);
  auto res = Pack(f.o, progress);
  progress.Finish();
  if (!res.ok()) {
    return Fail(kCmd, res.status(), res.status().code() == StatusCode::kInvalidArgument);
  }
  if (g.plan) return g.plan->Finish(res->summary);
  if (f.o.dry_run) {
    if (g.json) {
      nlohmann::json outs = nlohmann::json::array();
      for (const auto& p : res->outputs) {
        outs.push_back({{"output", p.output}, {"tops_up", p.tops_up}, {"bytes", p.bytes}});
      }
      std::cout << nlohmann::json{{"command", "pack"},
                                  {"dry_run", true},
                                  {"inputs", res->inputs},
                                  {"already_packed", res->already_packed},
                                  {"changed", res->changed},
                                  {"rewritten", res->rewritten},
                                  {"partition_values", res->partition_values},
                                  {"latest", res->latest},
                                  {"tops_up", res->tops_up},
                                  {"target_bytes", f.o.target_size.bytes()},
                                  {"outputs", outs}}
                       .dump()
                << std::endl;
    } else {
      std::cout << fmt::format("{} input(s) to pack ({} already packed); latest output: {}{}\n",
                               res->inputs.size(), res->already_packed.size(),
                               res->latest.empty() ? "(none)" : res->latest,
                               res->tops_up ? " (under the target: topped up first)" : "");
      for (const auto& i : res->inputs) std::cout << "  input  " << i << "\n";
      for (const auto& c : res->changed) {
        std::cout << "  changed " << c
                  << (f.o.replace_changed ? "  (old rows replaced)"
                                          : "  (the run stops here without --replace-changed)")
                  << "\n";
      }
      for (const auto& r : res->rewritten) {
        std::cout << "  rewrite " << r << "  (without the changed inputs' old rows)\n";
      }
      for (const auto& p : res->outputs) {
        std::cout << fmt::format("  output {}  ~{} bytes{}\n", p.output, p.bytes,
                                 p.tops_up ? "  (top-up)" : "");
      }
      std::cout << fmt::format(
          "{} output(s) planned (sizes estimated from input bytes); nothing "
          "was changed (--dry-run)\n",
          res->outputs.size());
    }
    return kExitOk;
  }
  if (g.json) {
    // The summary plus the outputs written.
    const auto& s = res->summary;
    nlohmann::json outs = nlohmann::json::array();
    for (const auto& p : res->outputs) {
      outs.push_back(
          {{"output", p.output}, {"tops_up", p.tops_up}, {"rows", p.rows}, {"bytes", p.bytes}});
    }
    nlohmann::json j = SummaryJson(s);
    j["already_packed"] = res->already_packed.size();
    j["changed"] = res->changed;
    j["rewritten"] = res->rewritten;
    j["rejected"] = res->rejected;
    j["tops_up"] = res->tops_up;
    j["outputs"] = outs;
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  PrintSummary(res->summary, false, g.quiet);
  if (!f.o.rejects_file.empty() && !g.quiet) {
    std::cout << fmt::format("{} record(s) rejected, in {}", res->rejected, f.o.rejects_file)
              << std::endl;
  }
  return kExitOk;
}

}  // namespace

Command AddPackCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<PackFlags>();
  PackOptions& o = flags->o;
  CLI::App* sub = app.add_subcommand(
      "pack", "Pack a table's files (csv, jsonl, parquet) into evenly sized files T_N.ext");
  sub->add_option("INPUT_BASE", o.input_base, "Inputs are the files under INPUT_BASE/T/")
      ->required();
  sub->add_option("OUTPUT_BASE", o.output_base, "Outputs go to OUTPUT_BASE/T/")->required();
  sub->add_option("--table", o.table, "The table T")->required();
  sub->add_option("--target-size", flags->target_size,
                  "Size of every output but the last, within 10% (256MB, 1MB, 1.5GB)")
      ->capture_default_str();
  sub->add_option("--format", flags->format, "Output format: snappy.parquet, parquet, csv or jsonl")
      ->capture_default_str();
  sub->add_option("--compression", flags->compression,
                  "Parquet codec: snappy, zstd, gzip, uncompressed (default snappy)");
  sub->add_option("--suffix", o.suffix, "Name outputs T_S_N.ext");
  sub->add_option("--partition", flags->partitions,
                  "Write into OUTPUT_BASE/T/key=value/; several (--partition a=1 --partition b=2) "
                  "nest in the order given: T/a=1/b=2/")
      ->allow_extra_args(false);  // one key=value per --partition
  sub->add_option("--input-ext", o.input_ext,
                  "Only inputs with this extension: csv, jsonl, parquet, snappy.parquet");
  sub->add_option("--input-partition-name", o.input_partition_name,
                  "Name of the inputs' partition (T/NAME=value/); values are reported");
  sub->add_option("--schema", o.schema_file,
                  "JSON file of columns and types ({\"col\": \"BIGINT\", ...}); every input is "
                  "cast to it");
  sub->add_flag("--cast-parquet", o.cast_parquet,
                "With --schema: cast Parquet inputs to it too (the seed's cast_parquet; without "
                "it a Parquet input must already have the schema's types)");
  sub->add_flag("--delete-inputs", o.delete_inputs,
                "Delete the inputs once their rows are committed in the outputs");
  sub->add_flag("--replace-changed", o.replace_changed,
                "An input changed since it was packed: remove its old rows from the outputs "
                "that hold them and pack its new content (without this the run stops)");
  sub->add_option("--rejects", o.rejects_file,
                  "Divert CSV / JSON-lines records that cannot be read to this local file (JSON "
                  "lines with file, line, reason, text) and pack the rest");
  sub->add_flag("--dry-run", o.dry_run, "Print the plan and stop");
  sub->add_option("--shard", flags->shard,
                  "Do the series only if it falls in shard i of N (i/N; auto[/N] inside a Slurm, "
                  "Kubernetes or AWS Batch array job)");
  sub->footer(
      "Examples:\n"
      "  lakepack pack s3://bucket/land s3://bucket/db --table table --target-size 256MB\n"
      "  lakepack pack ./land ./db --table t --partition region=eu --partition day=2025-01-02 \\\n"
      "      --schema schema.json --cast-parquet          (partitioned, typed by a schema)\n"
      "  lakepack pack ./land ./db --table t --dry-run    (the plan; nothing is written)\n"
      "  lakepack ls ./db --table t                       (what the table holds)\n"
      "The latest output (highest N) is topped up first, its own rows first; the rest fills new\n"
      "files numbered on from it. Each Parquet output records the inputs it holds (key, ETag,\n"
      "size, rows) in its own metadata: inputs already packed are skipped, so a rerun adds\n"
      "nothing, and an input changed since it was packed stops the run unless\n"
      "--replace-changed. CSV records are checked against the header: a bad line stops the\n"
      "run (exit 1, file and line named) unless --rejects takes it.");
  return {sub, [flags, &global] { return RunPack(*flags, global); }};
}

}  // namespace lakepack::cli
