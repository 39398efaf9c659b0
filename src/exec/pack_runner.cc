// The pack executor: lays the latest output (when it is topped up) and the new inputs end to
// end in one local Parquet file, cuts it into outputs of the target size by row ranges,
// measuring each written file and correcting its row count until it is within tolerance, and
// hands the outputs and the new manifest of packed inputs to the commit protocol as one task.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "commit/commit.h"
#include "exec/parallel.h"
#include "exec/recovery.h"
#include "exec/spool.h"
#include "exec/staging.h"
#include "lakepack/pack.h"
#include "lakepack/uri.h"
#include "plan/pack_plan.h"

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

int64_t FileSize(const std::string& path) {
  std::error_code ec;
  auto n = fs::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<std::vector<ColumnInfo>> ReadSchemaFile(const std::string& path) {
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
  for (const auto& c : cols) {
    // Types go into SQL text: allow only what type names are made of.
    for (char ch : c.type) {
      if (!(std::isalnum(static_cast<unsigned char>(ch)) ||
            std::string_view("(), _[]").find(ch) != std::string_view::npos)) {
        return Status::InvalidArgument(
            fmt::format("--schema {}: column '{}': bad type '{}'", path, c.name, c.type));
      }
    }
  }
  return cols;
}

// A message about a staged local file names the object instead.
Status NameObject(const Status& st, const std::string& local, const std::string& uri) {
  std::string msg = st.message();
  for (size_t pos; (pos = msg.find(local)) != std::string::npos;) {
    msg.replace(pos, local.size(), uri);
  }
  return Status(st.code(), msg);
}

std::string Hex64(const std::string& s) {
  return fmt::format("{:016x}", std::hash<std::string>{}(s));
}

// A local path for the engine to read `key` from. Files used in place are linked into the
// spool under a plain name: a path holding "key=value" directories would make the engine add
// hive partition columns to the rows.
Result<std::string> StageSource(ObjectStore& store, const std::string& key,
                                const std::string& dir) {
  LP_ASSIGN_OR_RETURN(std::string local, StageForReading(store, key, dir));
  if (local.rfind(dir, 0) == 0) return local;  // downloaded into the spool already
  std::string name = key.substr(key.rfind('/') == std::string::npos ? 0 : key.rfind('/') + 1);
  std::string link = dir + "/" + name;
  std::error_code ec;
  fs::create_symlink(local, link, ec);
  if (ec)
    return Status::IOError(fmt::format("{}: cannot link into the spool: {}", link, ec.message()));
  return link;
}

struct Cut {
  std::string local;
  std::string key;
  int64_t rows = 0;
  int64_t size = 0;
  bool tops_up = false;
};

}  // namespace

Result<int64_t> ParseByteSize(std::string_view text) {
  std::string t = Lower(std::string(text));
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) i++;
  if (i == 0) return Status::InvalidArgument(fmt::format("bad size '{}' (e.g. 256MB)", text));
  double v = 0;
  try {
    v = std::stod(t.substr(0, i));
  } catch (...) {
    return Status::InvalidArgument(fmt::format("bad size '{}' (e.g. 256MB)", text));
  }
  std::string unit = t.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  double mul = 0;
  if (unit.empty() || unit == "b")
    mul = 1;
  else if (unit == "kb" || unit == "k")
    mul = 1e3;
  else if (unit == "mb" || unit == "m")
    mul = 1e6;
  else if (unit == "gb" || unit == "g")
    mul = 1e9;
  else if (unit == "kib")
    mul = 1024.0;
  else if (unit == "mib")
    mul = 1024.0 * 1024;
  else if (unit == "gib")
    mul = 1024.0 * 1024 * 1024;
  if (mul == 0 || v * mul < 1) {
    return Status::InvalidArgument(fmt::format("bad size '{}' (e.g. 256MB)", text));
  }
  return static_cast<int64_t>(std::llround(v * mul));
}

Result<PackResult> Pack(const PackOptions& o, ProgressSink& progress) {
  auto t0 = std::chrono::steady_clock::now();
  // Usage first: nothing is opened before the flags make sense.
  if (o.table.empty() || o.table.find('/') != std::string::npos || o.table == "_lakepack") {
    return Status::InvalidArgument("--table: a table name without '/' is required");
  }
  if (o.target_bytes <= 0) return Status::InvalidArgument("--target-size must be positive");
  std::string ext = Lower(o.format);
  LP_ASSIGN_OR_RETURN(FileFormat out_format, ParseFormat(ext));
  if (ext != "parquet" && ext != "snappy.parquet" && ext != "csv" && ext != "jsonl") {
    return Status::InvalidArgument("--format: expected parquet, snappy.parquet, csv or jsonl");
  }
  Compression compression = Compression::kSnappy;
  if (!o.compression.empty()) {
    if (out_format != FileFormat::kParquet) {
      return Status::InvalidArgument("--compression applies to Parquet outputs only");
    }
    LP_ASSIGN_OR_RETURN(compression, ParseCompression(o.compression));
    if (ext == "snappy.parquet" && compression != Compression::kSnappy) {
      return Status::InvalidArgument(
          fmt::format("--compression {} contradicts --format snappy.parquet", o.compression));
    }
  }
  if (!o.input_ext.empty()) {
    LP_RETURN_IF_ERROR(ParseFormat(o.input_ext).status());
  }
  if (!o.partition.empty()) {
    auto eq = o.partition.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == o.partition.size() ||
        o.partition.find('/') != std::string::npos) {
      return Status::InvalidArgument("--partition: expected key=value, got '" + o.partition + "'");
    }
  }
  std::vector<ColumnInfo> schema;
  if (!o.schema_file.empty()) {
    LP_ASSIGN_OR_RETURN(schema, ReadSchemaFile(o.schema_file));
  }

  LP_ASSIGN_OR_RETURN(auto in_store, OpenStore(o.input_base));
  StoreOptions so;
  so.create_local_root = true;  // a dry run may leave an empty directory, never a file
  LP_ASSIGN_OR_RETURN(auto out_store, OpenStore(o.output_base, so));
  LP_ASSIGN_OR_RETURN(auto spool, Spool::Create(o.spool_dir));
  Committer committer(out_store, in_store);
  PackResult result;
  RunSummary& summary = result.summary;
  summary.command = "pack";

  if (!o.dry_run) {
    LP_ASSIGN_OR_RETURN(summary.recovered, RecoverAndReport(committer, progress));
  }

  // Plan: the series in the output directory, the manifest, the new inputs.
  const std::string table_dir = o.table + "/";
  const std::string out_dir = table_dir + (o.partition.empty() ? "" : o.partition + "/");
  LP_ASSIGN_OR_RETURN(auto out_listing, out_store->ListAll(table_dir));
  auto found = FindPackSeries(out_listing, out_dir, o.table, o.suffix, ext);
  if (!found.ok()) {
    return Status(found.status().code(), out_store->Uri() + "/" + found.status().message());
  }
  PackSeries series = *found;
  const std::string manifest_key = PackManifestKey(o.table, o.partition, o.suffix, ext);
  PackManifest manifest;
  LP_ASSIGN_OR_RETURN(auto manifest_info, out_store->Stat(manifest_key));
  if (manifest_info) {
    LP_ASSIGN_OR_RETURN(std::string text, out_store->Read(manifest_key));
    LP_ASSIGN_OR_RETURN(manifest, PackManifestFromJson(text));
  }
  LP_ASSIGN_OR_RETURN(auto in_listing, in_store->ListAll(table_dir));
  std::vector<std::string> unknown;
  std::vector<ObjectInfo> candidates =
      SelectPackInputs(in_listing, table_dir, o.input_ext, &unknown);
  for (const auto& k : unknown) {
    summary.stray.push_back(in_store->UriOf(k));
    progress.Log("left alone (not csv, jsonl or parquet): " + in_store->UriOf(k));
  }
  const bool same_store = in_store->Uri() == out_store->Uri();
  std::vector<ObjectInfo> inputs;
  std::set<std::string> values;
  for (const auto& c : candidates) {
    // When inputs and outputs share a directory, the series' own files are not inputs.
    if (same_store && c.key.rfind(out_dir, 0) == 0 &&
        c.key.substr(out_dir.size()).find('/') == std::string::npos &&
        ParsePackOutputName(c.key.substr(out_dir.size()), o.table, o.suffix)) {
      continue;
    }
    if (manifest.Contains(in_store->UriOf(c.key), c.etag)) {
      result.already_packed.push_back(in_store->UriOf(c.key));
      continue;
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
    result.inputs.push_back(in_store->UriOf(c.key));
  }
  result.partition_values.assign(values.begin(), values.end());
  if (series.latest) result.latest = out_store->UriOf(series.latest->key);
  result.tops_up = series.latest && series.latest->size < o.target_bytes;
  int64_t in_bytes = 0;
  for (const auto& i : inputs) in_bytes += i.size;
  if (!result.already_packed.empty()) {
    progress.Log(fmt::format("{} input(s) already packed (in the manifest): skipped",
                             result.already_packed.size()));
  }
  if (inputs.empty()) {
    progress.Log("nothing new to pack");
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    summary.requests = out_store->Counters();
    return result;
  }
  const int64_t first_number =
      result.tops_up ? series.next_number - 1 : (series.latest ? series.next_number : 0);

  if (o.dry_run) {
    // Sizes from input bytes: a plan, not a promise (formats compress differently).
    int64_t total = in_bytes + (result.tops_up ? series.latest->size : 0);
    int64_t n = std::max<int64_t>(1, (total + o.target_bytes - 1) / o.target_bytes);
    for (int64_t i = 0; i < n; i++) {
      PackedOutput p;
      p.output =
          out_store->UriOf(out_dir + PackOutputName(o.table, o.suffix, first_number + i, ext));
      p.tops_up = result.tops_up && i == 0;
      p.bytes = std::min(o.target_bytes, total - i * o.target_bytes);
      result.outputs.push_back(p);
    }
    summary.tasks = 1;
    summary.files_in = static_cast<int64_t>(inputs.size());
    summary.bytes_in = in_bytes;
    return result;
  }

  progress.Planned(1, static_cast<int64_t>(inputs.size()), in_bytes);
  EngineOptions eo = o.engine;
  eo.temp_dir = spool->Sub("engine");
  LP_ASSIGN_OR_RETURN(auto engine, FormatEngine::Open(eo));

  // Sources in row order: the topped-up output's own rows first, then the inputs by key.
  struct Source {
    std::shared_ptr<ObjectStore> store;
    ObjectInfo object;
  };
  std::vector<Source> sources;
  if (result.tops_up) sources.push_back({out_store, *series.latest});
  for (const auto& i : inputs) sources.push_back({in_store, i});

  // Each source is staged, cast to the common columns and laid into a part file, one at a
  // time, so that the spool holds one downloaded input at once besides the parts.
  std::vector<std::string> parts;
  int64_t total_rows = 0, old_rows = 0;
  std::vector<ColumnInfo> columns = schema;
  std::vector<std::string> locals;
  if (columns.empty()) {
    // The columns of all sources united by name: inspect each (footers for Parquet; CSV and
    // JSON are sniffed), then ask the engine for the union over the local copies.
    for (size_t i = 0; i < sources.size(); i++) {
      std::string dir = spool->Sub("s" + std::to_string(i));
      auto p = StageSource(*sources[i].store, sources[i].object.key, dir);
      if (!p.ok()) return p.status();
      locals.push_back(*p);
    }
    auto cols = engine->Schema(ReadSpec{locals});
    if (!cols.ok()) {
      Status st = cols.status();
      for (size_t i = 0; i < sources.size(); i++) {
        st = NameObject(st, locals[i], sources[i].store->UriOf(sources[i].object.key));
      }
      return st;
    }
    columns = *cols;
  }
  std::string parts_dir = spool->Sub("parts");
  for (size_t i = 0; i < sources.size(); i++) {
    const auto& src = sources[i];
    std::string uri = src.store->UriOf(src.object.key);
    std::string dir = spool->Sub("s" + std::to_string(i));
    std::string local;
    if (i < locals.size()) {
      local = locals[i];
    } else {
      LP_ASSIGN_OR_RETURN(local, StageSource(*src.store, src.object.key, dir));
    }
    WriteSpec ws;
    ws.path = fmt::format("{}/part_{:06}.parquet", parts_dir, i);
    ws.format = FileFormat::kParquet;
    ws.compression = Compression::kSnappy;
    auto rows = engine->CopyAs(ReadSpec{{local}}, columns, ws);
    if (!rows.ok()) return NameObject(rows.status(), local, uri);
    if (i == 0 && result.tops_up) old_rows = *rows;
    total_rows += *rows;
    parts.push_back(ws.path);
    std::error_code ec;
    fs::remove_all(dir, ec);  // a download, or a link
  }
  if (total_rows == 0) {
    progress.Log("the new inputs hold no rows");
  }
  std::string all = parts[0];
  if (parts.size() > 1) {
    all = spool->path() + "/all.parquet";
    LP_ASSIGN_OR_RETURN(
        int64_t n, engine->Copy(ReadSpec{parts, FileFormat::kParquet},
                                WriteSpec{all, FileFormat::kParquet, Compression::kSnappy, 0}));
    if (n != total_rows) {
      return Status::Corruption(
          fmt::format("laying the inputs end to end gave {} rows, expected {}", n, total_rows));
    }
    std::error_code ec;
    fs::remove_all(parts_dir, ec);
  }

  // Cut [0, total_rows) into outputs by row ranges, measuring each written file.
  std::string out_local = spool->Sub("out");
  WriteSpec ws;
  ws.format = out_format;
  ws.compression = compression;
  const double target = static_cast<double>(o.target_bytes);
  double bpr = 0;
  {
    int64_t all_rows = std::max<int64_t>(1, total_rows);
    double all_bpr = static_cast<double>(FileSize(all)) / static_cast<double>(all_rows);
    int64_t probe =
        std::min(total_rows, std::max(kMinProbeRows, RowsForBytes(o.target_bytes / 8, all_bpr)));
    if (probe > 0) {
      ws.path = out_local + "/probe." + ext;
      LP_ASSIGN_OR_RETURN(int64_t n, engine->CopyRowRange(all, 0, probe, ws));
      bpr = static_cast<double>(FileSize(ws.path)) / static_cast<double>(std::max<int64_t>(1, n));
      ::unlink(ws.path.c_str());
    }
  }
  std::vector<Cut> cuts;
  int64_t start = 0;
  int64_t number = first_number;
  do {
    const int64_t remaining = total_rows - start;
    const int64_t min_rows = (cuts.empty() && result.tops_up) ? std::max<int64_t>(1, old_rows) : 1;
    Cut cut;
    cut.key = out_dir + PackOutputName(o.table, o.suffix, number, ext);
    cut.local = fmt::format("{}/{}", out_local, PackOutputName(o.table, o.suffix, number, ext));
    cut.tops_up = cuts.empty() && result.tops_up;
    ws.path = cut.local;
    int64_t n =
        std::clamp(RowsForBytes(o.target_bytes, bpr), std::min(min_rows, remaining), remaining);
    // The closest attempt so far, by distance from the target.
    int64_t best_n = -1, best_size = 0;
    for (int attempt = 0; attempt < kMaxAttempts; attempt++) {
      LP_ASSIGN_OR_RETURN(int64_t wrote, engine->CopyRowRange(all, start, n, ws));
      if (wrote != n) {
        return Status::Corruption(
            fmt::format("{}: wrote {} rows of {}", out_store->UriOf(cut.key), wrote, n));
      }
      int64_t size = FileSize(ws.path);
      if (n == remaining && size <= target * (1 + kPackSizeTolerance)) {
        best_n = n, best_size = size;  // the last output: any size up to the limit
        fs::rename(ws.path, ws.path + ".best");
        break;
      }
      if (best_n < 0 || std::abs(size - target) < std::abs(best_size - target)) {
        best_n = n, best_size = size;
        fs::rename(ws.path, ws.path + ".best");
      }
      bpr = static_cast<double>(size) / static_cast<double>(n);
      if (std::abs(size - target) <= target * kAimTolerance) break;
      int64_t next =
          std::clamp(RowsForBytes(o.target_bytes, bpr), std::min(min_rows, remaining), remaining);
      if (next == n) break;
      n = next;
    }
    fs::rename(ws.path + ".best", ws.path);  // the closest attempt is kept aside
    cut.rows = best_n;
    cut.size = best_size;
    start += best_n;
    number++;
    cuts.push_back(cut);
  } while (start < total_rows);

  // Verify before anything becomes visible: every row is in exactly one output.
  int64_t cut_rows = 0;
  for (const auto& c : cuts) {
    if (out_format == FileFormat::kParquet) {
      LP_ASSIGN_OR_RETURN(FileInfo info, engine->Inspect(c.local, FileFormat::kParquet));
      if (info.rows != c.rows) {
        return Status::Corruption(fmt::format("{}: written file has {} rows, expected {}",
                                              out_store->UriOf(c.key), info.rows, c.rows));
      }
    }
    cut_rows += c.rows;
  }
  if (cut_rows != total_rows) {
    return Status::Corruption(
        fmt::format("outputs hold {} rows, the sources {}", cut_rows, total_rows));
  }

  // The manifest: every input packed so far, this run's after the earlier ones.
  PackManifest next = manifest;
  for (const auto& i : inputs) next.packed.emplace_back(in_store->UriOf(i.key), i.etag);
  std::string manifest_local = spool->path() + "/manifest.json";
  {
    std::ofstream mf(manifest_local, std::ios::binary);
    mf << PackManifestToJson(next);
    if (!mf) return PosixError(manifest_local, errno);
  }

  CommitRecord rec;
  std::string plan_text = out_store->Uri() + "|" + out_dir + "|" + o.suffix + "|" + ext;
  for (const auto& i : inputs) plan_text += "|" + i.key + "@" + i.etag;
  rec.task_id = "pack-" + Hex64(plan_text);
  rec.command = "pack";
  rec.input_root = in_store->Uri();
  if (o.delete_inputs) {
    for (const auto& i : inputs) rec.inputs.push_back({i.key, i.size, i.etag});
  }
  for (const auto& c : cuts) {
    CommitOutput co;
    co.final_key = c.key;
    co.rows = c.rows;
    if (c.tops_up) co.replaces = {series.latest->key, series.latest->size, series.latest->etag};
    rec.outputs.push_back(co);
  }
  {
    CommitOutput co;
    co.final_key = manifest_key;
    if (manifest_info) co.replaces = {manifest_info->key, manifest_info->size, manifest_info->etag};
    rec.outputs.push_back(co);
  }
  Status st = committer.Begin(rec);
  for (size_t i = 0; st.ok() && i < rec.outputs.size(); i++) {
    st = committer.Stage(rec, i, i < cuts.size() ? cuts[i].local : manifest_local);
  }
  if (st.ok()) st = committer.Commit(rec);
  if (!st.ok()) {
    (void)committer.Abort(rec);  // if even this fails, the next run's recovery rolls back
    progress.TaskDone(false, static_cast<int64_t>(inputs.size()), in_bytes, 0);
    return st;
  }
  LP_RETURN_IF_ERROR(committer.Publish(rec));
  progress.TaskDone(true, static_cast<int64_t>(inputs.size()), in_bytes, total_rows - old_rows);

  for (size_t i = 0; i < cuts.size(); i++) {
    const auto& c = cuts[i];
    PackedOutput p;
    p.output = out_store->UriOf(c.key);
    p.tops_up = c.tops_up;
    p.rows = c.rows;
    p.bytes = rec.outputs[i].size;
    result.outputs.push_back(p);
    progress.Log(fmt::format("{}: {} rows, {} bytes{}", p.output, p.rows, p.bytes,
                             p.tops_up ? " (topped up)" : ""));
    summary.bytes_out += p.bytes;
  }
  summary.tasks = 1;
  summary.files_in = static_cast<int64_t>(inputs.size());
  summary.bytes_in = in_bytes;
  summary.files_out = static_cast<int64_t>(cuts.size());
  summary.rows = total_rows - old_rows;
  summary.requests = out_store->Counters();
  if (!same_store) {
    for (const auto& [k, v] : in_store->Counters()) summary.requests[k] += v;
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace lakepack
