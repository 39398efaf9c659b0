// The pack job: plans one task per series (the latest output topped up first, then the new
// inputs), and builds it by laying the sources end to end in one local Parquet file and cutting
// it into outputs of the target size by row ranges, measuring each written file and correcting
// its row count until it is within tolerance. The engine (exec/job.h) commits the outputs and
// the manifest of packed inputs as one transaction.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/parallel.h"
#include "common/strings.h"
#include "exec/job.h"
#include "exec/jobs.h"
#include "exec/rejects.h"
#include "exec/spool.h"
#include "exec/staging.h"
#include "format/parquet_footer.h"
#include "format/parquet_split.h"
#include "lakepack/pack.h"
#include "lakepack/uri.h"
#include "plan/pack_plan.h"
#include "plan/schema_union.h"

namespace lakepack {

namespace {

namespace fs = std::filesystem;

// Outputs are cut aiming at this fraction of the target; a file further off is rewritten with
// a corrected row count, so that every file lands well inside kPackSizeTolerance.
constexpr double kAimTolerance = 0.04;
// Rewrites of one output before taking the closest attempt.
constexpr int kMaxAttempts = 6;
// Rows of the first probe write that measures bytes per row in the output format.
constexpr int64_t kMinProbeRows = 2048;
// The laid-out file's row groups: about this many to a target's bytes, within DuckDB's vector
// (2,048 rows) and its default row group (122,880 rows).
constexpr int64_t kGroupsPerTarget = 32;
constexpr int64_t kMinGroupRows = 2048;
constexpr int64_t kMaxGroupRows = 122880;
// A Parquet file's bytes besides its row groups and their footer entries: the magic bytes,
// the footer's length, the schema and the provenance (an estimate, for cutting).
constexpr double kFileOverheadBytes = 2048;

int64_t FileSize(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

Result<std::vector<ColumnInfo>> ReadSchemaFile(const std::string& path,
                                               const EngineOptions& engine_options) {
  std::ifstream f(path);
  if (!f) return PosixError("--schema " + path, errno);
  std::stringstream ss;
  ss << f.rdbuf();
  std::vector<ColumnInfo> cols;
  try {
    auto j = nlohmann::json::parse(ss.str());
    // {"columns": [...]} or [...] of {"name", "type"}, or {"col": "TYPE", ...} in file order.
    if (j.is_object() && j.contains("columns")) j = j["columns"];
    if (j.is_array()) {
      for (const auto& c : j) {
        cols.push_back({c.at("name").get<std::string>(), c.at("type").get<std::string>()});
      }
    } else if (j.is_object()) {
      // nlohmann's object sorts keys; keep the file's order with an ordered parse.
      auto o = nlohmann::ordered_json::parse(ss.str());
      for (auto it = o.begin(); it != o.end(); ++it) {
        cols.push_back({it.key(), it.value().get<std::string>()});
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument(fmt::format("--schema {}: {}", path, e.what()));
  }
  if (cols.empty()) return Status::InvalidArgument("--schema " + path + ": no columns");
  // DuckDB's type names or arrow/pandas ones (the seed's metadata), as DuckDB's; an unknown one
  // is bad usage naming the schema file, before any input is read.
  LP_ASSIGN_OR_RETURN(auto engine, FormatEngine::Open(engine_options));
  for (auto& c : cols) {
    auto type = engine->SchemaType(c.type);
    if (!type.ok()) {
      return Status::InvalidArgument(fmt::format(
          "--schema {}: column '{}': {} (DuckDB names such as BIGINT or VARCHAR, or arrow/pandas "
          "names such as int64, float64, string, bool, date32, timestamp[ms])",
          path, c.name, type.status().message()));
    }
    c.type = *type;
  }
  return cols;
}

struct Cut {
  std::string local;
  std::string key;
  int64_t rows = 0;
  int64_t size = 0;
  bool tops_up = false;
  Provenance provenance;
};

// An existing output of the series and what it holds.
struct KnownOutput {
  ObjectInfo object;
  Provenance provenance;
  //! The provenance without the replaced inputs' rows (--replace-changed), and the row ranges
  //! of the output that remain; `affected` when that removed any.
  bool affected = false;
  Provenance kept;
  std::vector<std::pair<int64_t, int64_t>> kept_rows;
};

// What each output of the series holds: from the manifest when its entry still matches the
// output, else from the output's own footer (Parquet). CSV and JSON-lines outputs cannot carry
// provenance: without a matching manifest entry nothing can tell which inputs they hold, and
// packing anyway could pack inputs twice, so the run stops.
Result<std::vector<KnownOutput>> LoadProvenance(ObjectStore& store, const PackSeries& series,
                                                const PackManifest& manifest, bool parquet,
                                                FormatEngine& engine, const std::string& spool) {
  std::vector<KnownOutput> out;
  for (const auto& o : series.all) {
    KnownOutput k;
    k.object = o;
    if (const auto* cached = manifest.Find(o, !parquet)) {
      k.provenance = cached->provenance;
    } else if (!parquet) {
      return Status::FailedPrecondition(fmt::format(
          "{}: no record of the inputs this output holds (CSV and JSON-lines outputs keep it "
          "only in {}_lakepack/, which is missing or stale): nothing was written, since inputs "
          "could be packed twice",
          store.UriOf(o.key), store.UriOf(DirOf(o.key))));
    } else {
      LP_ASSIGN_OR_RETURN(FileInfo info, InspectParquetObject(store, o, engine, spool, true));
      auto kv = std::find_if(info.metadata.begin(), info.metadata.end(),
                             [](const auto& p) { return p.first == kProvenanceKey; });
      if (kv == info.metadata.end()) {
        // Written before lakepack recorded provenance: rows of unknown origin.
        k.provenance.push_back({"", "", 0, 0, info.rows, false});
      } else {
        auto p = ProvenanceFromJson(kv->second);
        if (!p.ok()) return Status::Corruption(store.UriOf(o.key) + ": " + p.status().message());
        k.provenance = std::move(*p);
        if (ProvenanceRows(k.provenance) != info.rows) {
          return Status::Corruption(
              fmt::format("{}: its provenance accounts for {} rows, but it holds {}",
                          store.UriOf(o.key), ProvenanceRows(k.provenance), info.rows));
        }
      }
    }
    out.push_back(std::move(k));
  }
  return out;
}

std::string ChangedLine(const std::string& uri, const ObjectInfo& now, const InputVerdict& v,
                        const ObjectStore& out_store) {
  return fmt::format(
      "{}: changed since it was packed into {} (ETag {} then, {} now; {} then, {} "
      "bytes now)",
      uri, v.output.empty() ? "this table" : out_store.UriOf(v.output), v.etag, now.etag,
      v.size > 0 ? std::to_string(v.size) + " bytes" : "size unknown", now.size);
}

// Writes the row ranges of an existing output (a local copy, in the series' format) to `out`.
// Row ranges are Parquet's to select, so a CSV or JSON-lines output is laid into Parquet first,
// in its row order.
Result<int64_t> KeepRows(FormatEngine& engine, const std::string& local,
                         const std::vector<std::pair<int64_t, int64_t>>& ranges,
                         const WriteSpec& out) {
  std::string parquet = local;
  if (FormatFromPath(local) != FileFormat::kParquet) {
    parquet = out.path + ".rows.parquet";
    LP_RETURN_IF_ERROR(
        engine.Copy(ReadSpec{{local}}, WriteSpec{parquet, FileFormat::kParquet}).status());
  }
  auto rows = engine.CopyRowRanges(parquet, ranges, out);
  if (parquet != local) ::unlink(parquet.c_str());
  return rows;
}

// A subdirectory of a task's scratch directory.
std::string Sub(TaskContext& ctx, const std::string& name) {
  std::string p = ctx.dir() + "/" + name;
  std::error_code ec;
  fs::create_directories(p, ec);
  return p;
}

}  // namespace

namespace {

class PackJob final : public Job {
 public:
  PackJob(const PackOptions& o, std::string ext, FileFormat out_format, Compression compression,
          std::vector<ColumnInfo> schema, std::shared_ptr<ObjectStore> in_store,
          std::shared_ptr<ObjectStore> out_store, ProgressSink& progress, PackResult& result)
      : o(o),
        ext(std::move(ext)),
        out_format(out_format),
        parquet_out(out_format == FileFormat::kParquet),
        compression(compression),
        schema(std::move(schema)),
        in_store(std::move(in_store)),
        out_store(std::move(out_store)),
        progress(progress),
        result(result) {}

  // The seed: "if there are existing files in the output path of a different format, an
  // error is raised". Any data file directly in the output folder whose format is not the one
  // asked for stops the run (the series' own files are checked by FindPackSeries, naming the
  // format to use); inputs packed in place (`inputs`, when the stores are one) are not outputs.
  Status CheckNoOtherFormat(const std::vector<ObjectInfo>& out_listing,
                            const std::vector<ObjectInfo>* inputs) const {
    std::set<std::string> input_keys;
    if (inputs) {
      for (const auto& i : *inputs) input_keys.insert(i.key);
    }
    for (const auto& f : out_listing) {
      if (f.key.rfind(out_dir, 0) != 0) continue;
      const std::string name = f.key.substr(out_dir.size());
      if (name.empty() || name.find('/') != std::string::npos || input_keys.count(f.key)) continue;
      const FileFormat format = FormatFromPath(name);
      if (format == FileFormat::kUnknown || format == out_format) continue;
      return Status::FailedPrecondition(fmt::format(
          "{}: a {} file in the output folder, but --format asks for .{}; nothing was written "
          "(pack into another table, suffix or partition, or move the file)",
          out_store->UriOf(f.key), FormatName(format), ext));
    }
    return Status::OK();
  }

  // --schema without --cast-parquet: a Parquet input keeps its types, so they must be the
  // schema's already (the one write gives every output the schema's types). The topped-up
  // output is lakepack's own, written in them.
  template <typename Source>
  Status CheckParquetTypes(const Source& src, const std::string& local) const {
    if (schema.empty() || o.cast_parquet || src.output) return Status::OK();
    if (FormatFromPath(src.object.key) != FileFormat::kParquet) return Status::OK();
    const std::string uri = src.store->UriOf(src.object.key);
    auto have = engine->Schema(ReadSpec{{local}, FileFormat::kParquet});
    if (!have.ok()) return ShowPathAs(have.status(), local, uri);
    for (const auto& want : schema) {
      for (const auto& c : *have) {
        if (c.name != want.name || c.type == want.type) continue;
        return Status::FailedPrecondition(fmt::format(
            "{}: column '{}' is {} in the file, {} in the schema; Parquet inputs keep their types "
            "unless --cast-parquet; nothing was written",
            uri, c.name, c.type, want.type));
      }
    }
    return Status::OK();
  }

  std::string Name() const override { return "pack"; }
  std::shared_ptr<ObjectStore> Destination() override { return out_store; }
  std::shared_ptr<ObjectStore> Source() override { return in_store; }

  Result<Plan> MakePlan(int, JobContext& ctx) override {
    Plan out;
    out.stray_reason = "not csv, jsonl or parquet";
    EngineOptions eo = o.engine;
    eo.temp_dir = ctx.spool.Sub("engine");
    LP_ASSIGN_OR_RETURN(engine, FormatEngine::Open(eo));
    // Plan: the series in the output directory, what its outputs hold, the new inputs.
    const std::string table_dir = o.table + "/";
    out_dir = table_dir + (o.partition.empty() ? "" : o.partition + "/");
    LP_ASSIGN_OR_RETURN(auto out_listing, out_store->ListAll(table_dir));
    auto found = FindPackSeries(out_listing, out_dir, o.table, o.suffix, ext);
    if (!found.ok()) {
      return Status(found.status().code(), out_store->Uri() + "/" + found.status().message());
    }
    series = *found;
    manifest_key = PackManifestKey(o.table, o.partition, o.suffix, ext);
    LP_ASSIGN_OR_RETURN(manifest_info, out_store->Stat(manifest_key));
    if (manifest_info) {
      LP_ASSIGN_OR_RETURN(std::string text, out_store->Read(manifest_key));
      auto m = PackManifestFromJson(text);
      if (m.ok()) {
        manifest = std::move(*m);
      } else if (!parquet_out) {
        return Status::Corruption(out_store->UriOf(manifest_key) + ": " + m.status().message());
      } else {
        // Only a cache for Parquet outputs: their footers say the same.
        progress.Log(out_store->UriOf(manifest_key) + ": unreadable (" + m.status().message() +
                     "); reading the outputs' footers instead");
      }
    }
    LP_ASSIGN_OR_RETURN(known, LoadProvenance(*out_store, series, manifest, parquet_out, *engine,
                                              ctx.spool.Sub("footers")));
    PackedIndex index;
    for (const auto& k : known) index.Add(k.object.key, k.provenance);
    for (const auto& [uri, etag] : manifest.legacy) index.AddLegacy(uri, etag);

    LP_ASSIGN_OR_RETURN(auto in_listing, in_store->ListAll(table_dir));
    std::vector<std::string> unknown;
    std::vector<ObjectInfo> candidates =
        SelectPackInputs(in_listing, table_dir, o.input_ext, &unknown);
    for (const auto& k : unknown) {
      out.stray.push_back(in_store->UriOf(k));
    }
    const bool same_store = in_store->Uri() == out_store->Uri();
    LP_RETURN_IF_ERROR(CheckNoOtherFormat(out_listing, same_store ? &candidates : nullptr));
    std::vector<std::pair<std::string, std::string>> replaced;  // (uri, etag now) of changed inputs
    std::set<std::string> values;
    for (const auto& c : candidates) {
      // When inputs and outputs share a directory, the series' own files are not inputs.
      if (same_store && c.key.rfind(out_dir, 0) == 0 &&
          c.key.substr(out_dir.size()).find('/') == std::string::npos &&
          ParsePackOutputName(c.key.substr(out_dir.size()), o.table, o.suffix)) {
        continue;
      }
      std::string uri = in_store->UriOf(c.key);
      InputVerdict v = index.Classify(uri, c.etag);
      if (v.state == InputState::kPacked) {
        result.already_packed.push_back(uri);
        continue;
      }
      if (v.state == InputState::kChanged) {
        result.changed.push_back(ChangedLine(uri, c, v, *out_store));
        replaced.emplace_back(uri, c.etag);
      }
      if (!o.input_partition_name.empty()) {
        std::string needle = "/" + o.input_partition_name + "=";
        auto pos = ("/" + c.key).find(needle);
        if (pos != std::string::npos) {
          std::string rest = c.key.substr(pos + needle.size() - 1);
          values.insert(rest.substr(0, rest.find('/')));
        }
      }
      inputs.push_back(c);
      result.inputs.push_back(uri);
    }
    result.partition_values.assign(values.begin(), values.end());
    if (!result.changed.empty() && !o.replace_changed && !ctx.options.dry_run) {
      return Status::FailedPrecondition(fmt::format(
          "{}{}: nothing was written; rerun with --replace-changed to replace the old rows in the "
          "outputs with the new content",
          result.changed[0],
          result.changed.size() > 1
              ? fmt::format(" (and {} more changed input(s))", result.changed.size() - 1)
              : ""));
    }
    for (const auto& line : result.changed) progress.Log(line);
    // With --replace-changed: the outputs that hold old rows of a changed input lose them.
    std::map<std::string, std::string> etag_now(replaced.begin(), replaced.end());
    auto is_replaced = [&](const ProvenanceSegment& g) {
      auto it = etag_now.find(g.uri);
      return it != etag_now.end() && g.etag != it->second && !g.consumed;
    };
    for (auto& k : known) {
      k.kept = RemoveSegments(k.provenance, is_replaced, &k.kept_rows);
      k.affected = k.kept.size() != k.provenance.size();
    }
    if (series.latest) result.latest = out_store->UriOf(series.latest->key);
    const bool latest_affected = !known.empty() && known.back().affected;
    // The latest output has room when another row group (kGroupsPerTarget) would bring it
    // closer to the target: one within half a group of it is full, left as it is.
    result.tops_up = series.latest &&
                     (series.latest->size <
                          o.target_size.bytes() - o.target_size.bytes() / (2 * kGroupsPerTarget) ||
                      latest_affected);
    for (const auto& i : inputs) in_bytes += i.size;
    if (!result.already_packed.empty()) {
      progress.Log(fmt::format("{} input(s) already packed (held by the outputs): skipped",
                               result.already_packed.size()));
    }
    if (inputs.empty()) {
      progress.Log("nothing new to pack");
      return out;
    }
    first_number =
        result.tops_up ? series.next_number - 1 : (series.latest ? series.next_number : 0);
    for (size_t i = 0; i + 1 < known.size(); i++) {
      if (known[i].affected) result.rewritten.push_back(out_store->UriOf(known[i].object.key));
    }
    out.tasks.push_back(MakeTask());
    return out;
  }

  Status Describe(int, const Plan&, JobContext&) override {
    // Sizes from input bytes: a plan, not a promise (formats compress differently).
    int64_t total = in_bytes + (result.tops_up ? series.latest->size : 0);
    int64_t n = std::max<int64_t>(1, (total + o.target_size.bytes() - 1) / o.target_size.bytes());
    for (int64_t i = 0; i < n; i++) {
      PackedOutput p;
      p.output =
          out_store->UriOf(out_dir + PackOutputName(o.table, o.suffix, first_number + i, ext));
      p.tops_up = result.tops_up && i == 0;
      p.bytes = std::min(o.target_size.bytes(), total - i * o.target_size.bytes());
      result.outputs.push_back(p);
    }

    return Status::OK();
  }

  Result<BuildResult> Build(const Task&, TaskContext& ctx) override {
    std::unique_ptr<RejectsFile> rejects;
    if (!o.rejects_file.empty()) {
      LP_ASSIGN_OR_RETURN(rejects, RejectsFile::Create(o.rejects_file));
    }

    // Sources in row order: the topped-up output's own (kept) rows first, then the inputs by key.
    struct Source {
      std::shared_ptr<ObjectStore> store;
      ObjectInfo object;
      const KnownOutput* output = nullptr;  // the topped-up output
    };
    std::vector<Source> sources;
    if (result.tops_up) sources.push_back({out_store, *series.latest, &known.back()});
    for (const auto& i : inputs) sources.push_back({in_store, i, nullptr});
    auto read_spec = [&](const std::string& local) {
      ReadSpec rs{{local}};
      rs.rejects = rejects.get();
      return rs;
    };

    // A local path for each source: a download or the store's own file; for a topped-up output
    // that loses replaced rows, the rows it keeps.
    std::vector<std::string> locals(sources.size());
    auto stage = [&](size_t i) -> Status {
      const auto& src = sources[i];
      std::string uri = src.store->UriOf(src.object.key);
      LP_ASSIGN_OR_RETURN(std::string local, ctx.Stage(*src.store, src.object));
      if (src.output && src.output->affected) {
        std::string kept = Sub(ctx, "kept") + "/" + std::to_string(i) + ".parquet";
        auto rows =
            KeepRows(*engine, local, src.output->kept_rows, WriteSpec{kept, FileFormat::kParquet});
        if (!rows.ok()) return ShowPathAs(rows.status(), local, uri);
        local = kept;
      }
      if (rejects) rejects->ShowAs(local, uri);
      locals[i] = local;
      return Status::OK();
    };

    // Without --schema every source is staged and its columns read first, for the one schema
    // rule of every command (plan/schema_union.h; a conflict names the column and both files).
    // With it, sources are staged below, just before the one write that reads them all.
    std::vector<InputColumns> schemas;
    std::vector<size_t> schema_source;  // index into sources of each schemas entry
    for (size_t i = 0; schema.empty() && i < sources.size(); i++) {
      LP_RETURN_IF_ERROR(stage(i));
      const auto& src = sources[i];
      std::string uri = src.store->UriOf(src.object.key);
      auto cols = engine->Schema(read_spec(locals[i]));
      if (!cols.ok()) return ShowPathAs(cols.status(), locals[i], uri);
      if (!cols->empty()) {  // a 0-byte CSV has no columns
        FileFormat f = FormatFromPath(src.object.key);
        schemas.push_back(
            {uri, f == FileFormat::kCsv || f == FileFormat::kJsonLines, std::move(*cols)});
        schema_source.push_back(i);
      }
    }
    std::vector<ColumnInfo> columns = schema;
    if (columns.empty()) {
      auto fits = [&](size_t input, const std::string& column, const std::string& type) {
        size_t i = schema_source[input];
        auto bad = engine->FirstMisfit(read_spec(locals[i]), column, type);
        if (!bad.ok())
          return Result<std::optional<std::string>>(
              ShowPathAs(bad.status(), locals[i], sources[i].store->UriOf(sources[i].object.key)));
        return bad;
      };
      LP_ASSIGN_OR_RETURN(auto read_as, UniteInputSchemas(schemas, fits));
      auto cols = engine->Schema(ReadSpec{locals, FileFormat::kUnknown, "", rejects.get()});
      if (!cols.ok()) {
        Status st = cols.status();
        for (size_t i = 0; i < sources.size(); i++) {
          st = ShowPathAs(st, locals[i], sources[i].store->UriOf(sources[i].object.key));
        }
        return st;
      }
      columns = *cols;
      for (auto& c : columns) {
        if (auto it = read_as.find(c.name); it != read_as.end()) c.type = it->second;
      }
    }
    if (columns.empty()) {
      progress.Log("nothing to pack: the new inputs hold no columns and no rows (empty files)");
      return BuildResult{};
    }

    // The sources are cast to the common columns and laid end to end in one local Parquet file,
    // in one write (row order: the topped-up output's rows first, then the inputs by key); the
    // stream's provenance records which rows of which input it holds, in order.
    std::vector<ReadSpec> specs;
    int64_t source_bytes = 0, source_rows = 0;
    // Progress: each input counts half its bytes once staged and counted, the other half once
    // the one write below has read it (the two passes over it).
    int64_t input_bytes = 0, advanced_bytes = 0;
    for (size_t i = 0; i < sources.size(); i++) {
      if (locals[i].empty()) LP_RETURN_IF_ERROR(stage(i));
      specs.push_back(read_spec(locals[i]));
      LP_RETURN_IF_ERROR(CheckParquetTypes(sources[i], locals[i]));
      source_bytes += sources[i].object.size;
      auto n = engine->CountRows(specs.back());
      if (!n.ok())
        return ShowPathAs(n.status(), locals[i], sources[i].store->UriOf(sources[i].object.key));
      source_rows += *n;
      if (!sources[i].output) {
        input_bytes += sources[i].object.size;
        advanced_bytes += sources[i].object.size / 2;
        ctx.Advance(1, sources[i].object.size / 2, 0);
      }
    }
    progress.Log(fmt::format("{}: read {} input(s), {}, {} rows; writing them in order", o.table,
                             inputs.size(), HumanBytes(static_cast<double>(input_bytes)),
                             source_rows));
    // Row groups of about 1/kGroupsPerTarget of the target (by the sources' bytes per row:
    // Parquet is smaller than the text it comes from, so its groups are smaller still), so that
    // outputs can be cut at group boundaries close to the target.
    const int64_t group_rows = std::clamp<int64_t>(
        RowsForBytes(o.target_size.bytes() / kGroupsPerTarget,
                     static_cast<double>(source_bytes) /
                         static_cast<double>(std::max<int64_t>(1, source_rows))),
        kMinGroupRows, kMaxGroupRows);
    const std::string all = ctx.dir() + "/all.parquet";
    auto copied = engine->CopyAsInOrder(
        specs, columns,
        WriteSpec{all, FileFormat::kParquet, parquet_out ? compression : Compression::kSnappy,
                  group_rows});
    if (!copied.ok()) {
      Status st = copied.status();
      for (size_t i = 0; i < sources.size(); i++) {
        st = ShowPathAs(st, locals[i], sources[i].store->UriOf(sources[i].object.key));
      }
      return st;
    }
    ctx.Advance(0, input_bytes - advanced_bytes, source_rows);
    Provenance stream;
    int64_t total_rows = 0, old_rows = 0;
    for (size_t i = 0; i < sources.size(); i++) {
      const auto& src = sources[i];
      std::string uri = src.store->UriOf(src.object.key);
      const int64_t rows = (*copied)[i];
      if (src.output) {
        old_rows = rows;
        const Provenance& held = src.output->affected ? src.output->kept : src.output->provenance;
        if (ProvenanceRows(held) != rows) {
          return Status::Corruption(
              fmt::format("{}: holds {} rows, its provenance {}", uri, rows, ProvenanceRows(held)));
        }
        stream.insert(stream.end(), held.begin(), held.end());
      } else {
        stream.push_back({uri, src.object.etag, src.object.size, 0, rows, o.delete_inputs});
      }
      total_rows += rows;
      if (locals[i].rfind(ctx.dir(), 0) == 0 && !src.output)
        ::unlink(locals[i].c_str());  // a download
    }
    if (total_rows == old_rows) progress.Log("the new inputs hold no rows");

    // Cut [0, total_rows) into outputs.
    std::string out_local = Sub(ctx, "out");
    WriteSpec ws;
    ws.format = out_format;
    ws.compression = compression;
    auto provenance_of = [&](int64_t start, int64_t n) {
      Provenance p = SliceProvenance(stream, start, n);
      if (parquet_out) ws.metadata = {{kProvenanceKey, ProvenanceToJson(p)}};
      return p;
    };
    const double target = static_cast<double>(o.target_size.bytes());
    // A topped-up output that would get no new row is left as it is, not rewritten.
    const bool latest_affected = !known.empty() && known.back().affected;
    auto noop_top_up = [&](const Cut& c) {
      return c.tops_up && !latest_affected && c.rows == old_rows;
    };
    std::vector<Cut> cuts;
    int64_t untouched_rows = 0;  // rows of a topped-up output left as it is
    int64_t start = 0;
    int64_t number = first_number;
    // Parquet outputs: the row groups of the laid-out file are copied byte for byte into the
    // outputs (one encoding of the rows in all), when its groups fall close enough to the
    // target; otherwise (small targets, other formats) each output is written by row ranges.
    bool cut_by_groups = false;
    if (parquet_out && total_rows > 0) {
      auto splitter = ParquetSplitter::Open(all);
      if (!splitter.ok() && splitter.status().code() != StatusCode::kFailedPrecondition) {
        return splitter.status();
      }
      std::optional<std::vector<std::pair<size_t, size_t>>> plan;
      if (splitter.ok()) {
        std::vector<int64_t> bytes, rows;
        for (const auto& g : (*splitter)->row_groups()) {
          bytes.push_back(g.bytes);
          rows.push_back(g.rows);
        }
        plan = CutRowGroups(bytes, rows, o.target_size.bytes(), kAimTolerance,
                            result.tops_up ? old_rows : 0, kFileOverheadBytes,
                            (*splitter)->footer_bytes_per_row_group());
      }
      if (plan) {
        cut_by_groups = true;
        for (const auto& [first, count] : *plan) {
          Cut cut;
          cut.key = out_dir + PackOutputName(o.table, o.suffix, number, ext);
          cut.local =
              fmt::format("{}/{}", out_local, PackOutputName(o.table, o.suffix, number, ext));
          cut.tops_up = start == 0 && result.tops_up;
          for (size_t g = first; g < first + count; g++) {
            cut.rows += (*splitter)->row_groups()[g].rows;
          }
          cut.provenance = provenance_of(start, cut.rows);
          number++;
          start += cut.rows;
          if (noop_top_up(cut)) {
            untouched_rows = cut.rows;
            continue;
          }
          LP_ASSIGN_OR_RETURN(cut.size, (*splitter)->Write(first, count, ws.metadata, cut.local));
          cuts.push_back(cut);
        }
      }
    }
    double bpr = 0;
    if (!cut_by_groups) {
      int64_t all_rows = std::max<int64_t>(1, total_rows);
      double all_bpr = static_cast<double>(FileSize(all)) / static_cast<double>(all_rows);
      int64_t probe = std::min(
          total_rows, std::max(kMinProbeRows, RowsForBytes(o.target_size.bytes() / 8, all_bpr)));
      if (probe > 0) {
        ws.path = out_local + "/probe." + ext;
        provenance_of(0, probe);
        LP_ASSIGN_OR_RETURN(int64_t n, engine->CopyRowRange(all, 0, probe, ws));
        bpr = static_cast<double>(FileSize(ws.path)) / static_cast<double>(std::max<int64_t>(1, n));
        ::unlink(ws.path.c_str());
      }
    }
    while (!cut_by_groups && (start < total_rows || (cuts.empty() && untouched_rows == 0))) {
      const int64_t remaining = total_rows - start;
      const int64_t min_rows = (start == 0 && result.tops_up) ? std::max<int64_t>(1, old_rows) : 1;
      Cut cut;
      cut.key = out_dir + PackOutputName(o.table, o.suffix, number, ext);
      cut.local = fmt::format("{}/{}", out_local, PackOutputName(o.table, o.suffix, number, ext));
      cut.tops_up = start == 0 && result.tops_up;
      ws.path = cut.local;
      int64_t n = std::clamp(RowsForBytes(o.target_size.bytes(), bpr),
                             std::min(min_rows, remaining), remaining);
      // The closest attempt so far, by distance from the target.
      int64_t best_n = -1, best_size = 0;
      std::error_code ec;
      for (int attempt = 0; attempt < kMaxAttempts; attempt++) {
        provenance_of(start, n);
        LP_ASSIGN_OR_RETURN(int64_t wrote, engine->CopyRowRange(all, start, n, ws));
        if (wrote != n) {
          return Status::Corruption(
              fmt::format("{}: wrote {} rows of {}", out_store->UriOf(cut.key), wrote, n));
        }
        int64_t size = FileSize(ws.path);
        if (n == remaining && size <= target * (1 + kPackSizeTolerance)) {
          best_n = n, best_size = size;  // the last output: any size up to the limit
          fs::rename(ws.path, ws.path + ".best", ec);
          break;
        }
        if (best_n < 0 || std::abs(size - target) < std::abs(best_size - target)) {
          best_n = n, best_size = size;
          fs::rename(ws.path, ws.path + ".best", ec);
        }
        if (ec) return Status::IOError(fmt::format("{}: {}", ws.path, ec.message()));
        bpr = static_cast<double>(size) / static_cast<double>(n);
        if (std::abs(size - target) <= target * kAimTolerance) break;
        int64_t next = std::clamp(RowsForBytes(o.target_size.bytes(), bpr),
                                  std::min(min_rows, remaining), remaining);
        if (next == n) break;
        n = next;
      }
      fs::rename(ws.path + ".best", ws.path, ec);  // the closest attempt is kept aside
      if (ec) return Status::IOError(fmt::format("{}: {}", ws.path, ec.message()));
      cut.rows = best_n;
      cut.size = best_size;
      cut.provenance = SliceProvenance(stream, start, best_n);
      start += best_n;
      number++;
      if (noop_top_up(cut)) {
        ::unlink(cut.local.c_str());
        untouched_rows = cut.rows;
        continue;
      }
      cuts.push_back(cut);
    }
    if (untouched_rows > 0) {
      result.tops_up = false;
      progress.Log(fmt::format("{}: no room for another row: left as it is",
                               out_store->UriOf(series.latest->key)));
    }
    ::unlink(all.c_str());

    // The other outputs that held replaced rows are rewritten without them, in place.
    // (An affected latest output is always topped up: its kept rows lead the stream.)
    const size_t stream_cuts = cuts.size();
    for (size_t i = 0; i + 1 < known.size(); i++) {
      const KnownOutput& k = known[i];
      if (!k.affected) continue;
      std::string uri = out_store->UriOf(k.object.key);
      LP_ASSIGN_OR_RETURN(std::string local, ctx.Stage(*out_store, k.object));
      Cut cut;
      cut.key = k.object.key;
      cut.local = out_local + "/" + BaseName(k.object.key);
      ws.path = cut.local;
      if (parquet_out) ws.metadata = {{kProvenanceKey, ProvenanceToJson(k.kept)}};
      auto rows = KeepRows(*engine, local, k.kept_rows, ws);
      if (!rows.ok()) return ShowPathAs(rows.status(), local, uri);
      cut.rows = *rows;
      cut.size = FileSize(cut.local);
      cut.provenance = k.kept;
      cut.tops_up = false;
      if (cut.rows != ProvenanceRows(k.kept)) {
        return Status::Corruption(fmt::format("{}: rewritten with {} rows, expected {}", uri,
                                              cut.rows, ProvenanceRows(k.kept)));
      }
      cuts.push_back(cut);
    }

    // Verify before anything becomes visible: every row is in exactly one output.
    int64_t cut_rows = 0;
    for (size_t i = 0; i < cuts.size(); i++) {
      const Cut& c = cuts[i];
      if (parquet_out) {
        LP_ASSIGN_OR_RETURN(FileInfo info, engine->Inspect(c.local, FileFormat::kParquet));
        if (info.rows != c.rows) {
          return Status::Corruption(fmt::format("{}: written file has {} rows, expected {}",
                                                out_store->UriOf(c.key), info.rows, c.rows));
        }
      }
      if (i < stream_cuts) cut_rows += c.rows;
    }
    if (cut_rows + untouched_rows != total_rows) {
      return Status::Corruption(fmt::format("outputs hold {} rows, the sources {}",
                                            cut_rows + untouched_rows, total_rows));
    }
    if (rejects) {
      LP_RETURN_IF_ERROR(rejects->Sync());  // durable before any input can be deleted
      result.rejected = rejects->count();
      if (result.rejected > 0) {
        progress.Log(fmt::format("{} record(s) could not be read: diverted to {}", result.rejected,
                                 rejects->path()));
      }
    }

    // The manifest: a cache of what every output of the series holds (for CSV and JSON-lines
    // outputs, the record itself). New outputs' ETags are not known before they are published.
    PackManifest next;
    next.legacy = manifest.legacy;
    for (const auto& k : known) {
      bool rewritten = std::any_of(cuts.begin(), cuts.end(),
                                   [&](const Cut& c) { return c.key == k.object.key; });
      if (!rewritten)
        next.outputs.push_back({k.object.key, k.object.etag, k.object.size, k.provenance});
    }
    for (const auto& c : cuts) next.outputs.push_back({c.key, "", c.size, c.provenance});
    std::sort(next.outputs.begin(), next.outputs.end(),
              [](const auto& a, const auto& b) { return a.key < b.key; });
    next_manifest_ = next;
    BuildResult br;
    for (const auto& c : cuts) {
      std::optional<ObjectInfo> replaces;
      for (const auto& k : known) {
        if (k.object.key == c.key) replaces = k.object;
      }
      br.outputs.push_back({c.key, c.local, c.rows, replaces});
    }
    br.ledger.push_back({manifest_key, PackManifestToJson(next)});
    br.rows = total_rows - old_rows;
    cuts_ = cuts;
    return br;
  }

  void Failed(const Task&, const Status& status) override { failure = status; }

  //! The task's failure, as the one error of the run (pack has one task).
  Status failure;

  Status AfterCommit(const Task&, const Transaction& txn) override {
    // Refresh the cache with the published outputs' ETags (best effort: without it the next
    // run reads their footers, or for CSV and JSON lines matches them by size).
    std::map<std::string, const ObjectInfo*> written;
    for (const auto& w : txn.written()) written[w.key] = &w;
    bool refreshed = true;
    for (auto& e : next_manifest_.outputs) {
      if (!e.etag.empty()) continue;
      auto it = written.find(e.key);
      bool staged = false;
      for (const auto& jo : txn.record().outputs)
        staged |= jo.key == e.key && !jo.staging_key.empty();
      if (it != written.end() && !staged) {
        e.etag = it->second->etag;
        continue;
      }
      refreshed = false;  // copied from staging after this point: its ETag is not known yet
      break;
    }
    if (refreshed) {
      LP_RETURN_IF_ERROR(
          out_store->Write(manifest_key, PackManifestToJson(next_manifest_)).status());
    }
    for (const auto& c : cuts_) {
      PackedOutput p;
      p.output = out_store->UriOf(c.key);
      p.tops_up = c.tops_up;
      p.rows = c.rows;
      auto it = written.find(c.key);
      p.bytes = it != written.end() ? it->second->size : c.size;
      result.outputs.push_back(p);
      bool rewritten = std::find(result.rewritten.begin(), result.rewritten.end(), p.output) !=
                       result.rewritten.end();
      progress.Log(fmt::format("{}: {} rows, {} bytes{}", p.output, p.rows, p.bytes,
                               p.tops_up   ? " (topped up)"
                               : rewritten ? " (rewritten without the replaced rows)"
                                           : ""));
    }
    return Status::OK();
  }

 private:
  Task MakeTask() const {
    Task t;
    t.command = "pack";
    t.label = out_store->UriOf(out_dir + PackOutputName(o.table, o.suffix, first_number, ext));
    for (const auto& i : inputs) (o.delete_inputs ? t.inputs : t.reads).push_back(i);
    if (result.tops_up) t.outputs.push_back({series.latest->key, *series.latest, -1});
    for (size_t i = 0; i + 1 < known.size(); i++) {
      if (known[i].affected) t.outputs.push_back({known[i].object.key, known[i].object, -1});
    }
    // One series is one task at a time; with --delete-inputs the inputs' folder too, so that
    // two series packing the same inputs cannot both delete them.
    t.locks.push_back("pack:" + out_store->UriOf(out_dir) + "|" + o.table + "|" + o.suffix + "|" +
                      ext);
    if (o.delete_inputs) t.locks.push_back("pack-inputs:" + in_store->UriOf(o.table + "/"));
    t.shard_key = t.locks.front();
    for (const auto& i : inputs) t.input_bytes += i.size;
    t.id = TaskId(t);
    return t;
  }

  const PackOptions o;  // a copy: the job may outlive the options it was made from
  const std::string ext;
  const FileFormat out_format;
  const bool parquet_out;
  const Compression compression;
  const std::vector<ColumnInfo> schema;
  const std::shared_ptr<ObjectStore> in_store;
  const std::shared_ptr<ObjectStore> out_store;
  ProgressSink& progress;
  PackResult& result;

  // The plan, kept for the build of its one task.
  std::unique_ptr<FormatEngine> engine;
  std::string out_dir, manifest_key;
  PackSeries series;
  PackManifest manifest;
  std::optional<ObjectInfo> manifest_info;
  std::vector<KnownOutput> known;
  std::vector<ObjectInfo> inputs;
  int64_t in_bytes = 0;
  int64_t first_number = 0;
  // The build's outputs, for the summary after the commit.
  std::vector<Cut> cuts_;
  PackManifest next_manifest_;
};

}  // namespace

Result<std::unique_ptr<Job>> NewPackJob(const PackOptions& o, const StoreOpener& open,
                                        ProgressSink& progress, PackResult& result) {
  // Usage first: nothing is opened before the flags make sense.
  if (o.table.empty()) return Status::InvalidArgument("--table: a table name is required");
  if (o.table.find('/') != std::string::npos || o.table == "_lakepack") {
    return Status::InvalidArgument("--table '" + o.table +
                                   "': a table name is one path segment, without '/'");
  }
  // The suffix goes into file names (T_S_N.ext): a '/' would put them in another folder.
  if (o.suffix.find('/') != std::string::npos) {
    return Status::InvalidArgument("--suffix '" + o.suffix + "': a name part, without '/'");
  }
  const int64_t target_bytes = o.target_size.bytes();
  if (target_bytes <= 0) return Status::InvalidArgument("--target-size must be positive");
  const std::string ext(PackFormatName(o.format));
  const FileFormat out_format = o.format == PackFormat::kCsv         ? FileFormat::kCsv
                                : o.format == PackFormat::kJsonLines ? FileFormat::kJsonLines
                                                                     : FileFormat::kParquet;
  const bool parquet_out = out_format == FileFormat::kParquet;
  Compression compression = Compression::kSnappy;
  if (o.compression) {
    if (!parquet_out) {
      return Status::InvalidArgument("--compression applies to Parquet outputs only");
    }
    compression = *o.compression;
    if (o.format == PackFormat::kSnappyParquet && compression != Compression::kSnappy) {
      return Status::InvalidArgument(fmt::format(
          "--compression {} contradicts --format snappy.parquet", CompressionName(compression)));
    }
  }
  if (!o.input_ext.empty()) {
    LP_ASSIGN_OR_RETURN(FileFormat f, ParseFormat(o.input_ext));
    if (f == FileFormat::kAvro) {
      return Status::InvalidArgument("--input-ext: pack reads csv, jsonl or parquet, not avro");
    }
  }
  if (!o.partition.empty()) {
    // One key=value per folder level; a key once.
    std::set<std::string> keys;
    for (std::string_view piece : Split(o.partition, '/')) {
      const std::string part(piece);
      auto eq = part.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == part.size()) {
        return Status::InvalidArgument("--partition: expected key=value, got '" + part + "'");
      }
      if (!keys.insert(part.substr(0, eq)).second) {
        return Status::InvalidArgument("--partition: key '" + part.substr(0, eq) + "' given twice");
      }
    }
  }
  std::vector<ColumnInfo> schema;
  if (!o.schema_file.empty()) {
    LP_ASSIGN_OR_RETURN(schema, ReadSchemaFile(o.schema_file, o.engine));
  }

  LP_ASSIGN_OR_RETURN(auto in_store, open(o.input_base, false));
  // A dry run may leave an empty output directory, never a file.
  LP_ASSIGN_OR_RETURN(auto out_store, open(o.output_base, true));
  return std::unique_ptr<Job>(new PackJob(o, ext, out_format, compression, std::move(schema),
                                          std::move(in_store), std::move(out_store), progress,
                                          result));
}

Result<PackResult> Pack(const PackOptions& o, ProgressSink& progress) {
  PackResult result;
  LP_ASSIGN_OR_RETURN(auto job, NewPackJob(o, OpenStoreFor, progress, result));
  RunOptions ro;
  ro.dry_run = o.dry_run;
  ro.spool_dir = o.spool_dir;
  ro.shard_index = o.shard.index;
  ro.shard_count = o.shard.count;
  LP_ASSIGN_OR_RETURN(result.summary, RunJob(*job, ro, progress));
  // Pack has one task: its failure is the run's error (with its own code, for the exit code).
  LP_RETURN_IF_ERROR(static_cast<PackJob&>(*job).failure);
  return result;
}

}  // namespace lakepack
