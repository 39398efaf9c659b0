// `lakepack validate`: each export file's name (rows, first/last timestamp, first/last id8 in
// (ts, id) order) against its contents, and its rows against the checksum written at export.
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "common/parallel.h"
#include "common/strings.h"
#include "exec/spool.h"
#include "exec/staging.h"
#include "lakepack/export.h"
#include "lakepack/uri.h"
#include "lakepack/validate.h"
#include "plan/task.h"
#include "source/postgres.h"
#include "store/listing.h"

namespace lakepack {

namespace fs = std::filesystem;

namespace {

struct Target {
  std::shared_ptr<ObjectStore> store;
  ObjectInfo object;  // as listed (or Stat'ed): key, size, ETag
};

std::string Id8(const std::string& id, bool is_base64) {
  std::string s = id;
  if (is_base64) {
    for (char& c : s) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
  }
  return ExportNameText(s.substr(0, 8));
}

// Inputs to objects: a name ending in .parquet is one object; anything else a prefix.
Result<std::vector<Target>> Expand(const std::vector<std::string>& inputs) {
  std::vector<Target> out;
  for (const auto& in : inputs) {
    bool is_file = in.size() > 8 && in.compare(in.size() - 8, 8, ".parquet") == 0;
    if (is_file) {
      LP_ASSIGN_OR_RETURN(ObjectRef ref, OpenObject(in));
      LP_ASSIGN_OR_RETURN(auto st, ref.store->Stat(ref.key));
      if (!st) return Status::NotFound(in + ": no such file");
      out.push_back({ref.store, *st});
      continue;
    }
    LP_ASSIGN_OR_RETURN(auto store, OpenStore(in));
    size_t before = out.size();
    // Page by page: only the keys to check are kept, not the listing.
    LP_RETURN_IF_ERROR(ForEachPage(*store, ListOptions{}, [&](ListPage& page) {
      for (const auto& o : page.objects) {
        if (o.key.rfind("_lakepack/", 0) == 0) continue;
        if (o.key.size() < 8 || o.key.compare(o.key.size() - 8, 8, ".parquet") != 0) continue;
        if (BaseName(o.key).rfind(".lakepack-tmp", 0) == 0) continue;
        out.push_back({store, o});
      }
      return Status::OK();
    }));
    if (out.size() == before) return Status::NotFound(in + ": no .parquet files there");
  }
  return out;
}

// The seed's TEMP_DIR: a kept download of an S3 object at temp_dir/<bucket>/<key>, reused while
// the object's ETag and size still match the copy's (recorded in <copy>.etag); otherwise, or
// with `force`, downloaded again. The download goes to a temporary name first, so a copy that
// is there is whole.
// `info` is the object as listed: its ETag and size, without another request.
Result<std::string> CachedCopy(ObjectStore& store, const ObjectInfo& info,
                               const std::string& temp_dir, bool force) {
  const std::string& key = info.key;
  auto loc = ParseLocation(store.UriOf(key));
  if (!loc.ok()) return loc.status();
  const std::string path = temp_dir + "/" + loc->root + "/" + loc->path;
  const std::string tag_path = path + ".etag";
  const std::string want = fmt::format("{} {}", info.etag, info.size);
  std::error_code ec;
  if (!force && fs::exists(path, ec)) {
    std::ifstream in(tag_path);
    std::string have;
    std::getline(in, have);
    if (have == want && static_cast<int64_t>(fs::file_size(path, ec)) == info.size) return path;
  }
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) return Status::IOError(fs::path(path).parent_path().string() + ": " + ec.message());
  // Two runs may share TEMP_DIR, and one run may be given an object twice (a prefix and the
  // file): each download has a name of its own.
  static std::atomic<int> downloads{0};
  const std::string part = fmt::format("{}.lakepack-part-{}-{}", path, ::getpid(), downloads++);
  LP_RETURN_IF_ERROR(store.ReadToFile(key, part));
  fs::rename(part, path, ec);
  if (ec) return Status::IOError(path + ": " + ec.message());
  std::ofstream(tag_path, std::ios::trunc) << want << "\n";
  return path;
}

// Why the file fails, or "" when it passes. `rows` gets the file's rows.
std::string Check(FormatEngine& engine, const std::string& local, const std::string& name,
                  const ValidateOptions& o, int64_t& rows) {
  ExportName n = ParseExportFileName(name);
  if (!n.ok) return "the name does not follow {prefix}_{table}_{ts}_{id8}-{ts}_{id8}_rows-{n}";
  std::string ts = o.ts_column, id = o.id_column, digest;
  auto meta = engine.ParquetMetadata(local);
  if (!meta.ok()) return "cannot read: " + meta.status().message();
  for (const auto& [k, v] : *meta) {
    if (k == "lakepack.order_by" && v.find(',') != std::string::npos) {
      ts = v.substr(0, v.find(','));
      id = v.substr(v.find(',') + 1);
    }
    if (k == "lakepack.digest") digest = v;
  }
  auto r = engine.ReadKeyRange(local, ts, id);
  if (!r.ok()) return "cannot read: " + r.status().message();
  rows = r->rows;
  std::vector<std::string> why;
  if (r->rows != n.rows)
    why.push_back(fmt::format("rows: name says {}, file has {}", n.rows, r->rows));
  if (r->rows > 0) {
    std::string a = CompactTimestamp(r->first_ts_us), b = CompactTimestamp(r->last_ts_us);
    std::string ia = Id8(r->first_id, r->id_is_blob), ib = Id8(r->last_id, r->id_is_blob);
    if (a != n.start_ts)
      why.push_back(fmt::format("start ts: name says {}, file has {}", n.start_ts, a));
    if (ia != n.start_id8) {
      why.push_back(fmt::format("start id: name says {}, file has {}", n.start_id8, ia));
    }
    if (b != n.end_ts) why.push_back(fmt::format("end ts: name says {}, file has {}", n.end_ts, b));
    if (ib != n.end_id8)
      why.push_back(fmt::format("end id: name says {}, file has {}", n.end_id8, ib));
  }
  if (!digest.empty()) {
    auto d = engine.Digest(ReadSpec{{local}, FileFormat::kParquet});
    if (!d.ok()) {
      why.push_back("cannot read: " + d.status().message());
    } else if (fmt::format("{}:{}", d->rows, d->checksum) != digest) {
      why.push_back(
          fmt::format("rows differ from the checksum written at export ({} rows, "
                      "checksum {}; the file's rows give {}:{})",
                      digest.substr(0, digest.find(':')), digest.substr(digest.find(':') + 1),
                      d->rows, d->checksum));
    }
  }
  std::string out;
  for (const auto& w : why) out += (out.empty() ? "" : "; ") + w;
  return out;
}

}  // namespace

Result<std::string> NewResultsFile() {
  const char* t = std::getenv("TMPDIR");
  std::string templ = std::string((t && *t) ? t : "/tmp") + "/validation_results.XXXXXX.txt";
  int fd = ::mkstemps(templ.data(), 4);
  if (fd < 0) return PosixError(templ, errno);
  ::close(fd);
  return templ;
}

Result<ValidateReport> Validate(const ValidateOptions& o, ProgressSink& progress) {
  if (o.inputs.empty()) return Status::InvalidArgument("no files or prefixes given");
  LP_RETURN_IF_ERROR(CheckShard(o.shard.index, o.shard.count));
  if (o.shard.count > 1 && !o.against_table.empty()) {
    return Status::InvalidArgument(
        "--against needs every file of the table: not with --shard (run it once, unsharded)");
  }
  LP_ASSIGN_OR_RETURN(std::vector<Target> targets, Expand(o.inputs));
  if (o.shard.count > 1) {
    std::erase_if(targets, [&](const Target& t) {
      return ShardOfKey(t.store->UriOf(t.object.key), o.shard.count) != o.shard.index;
    });
  }
  ValidateReport report;
  report.results_file = o.results_file;
  if (report.results_file.empty()) {
    LP_ASSIGN_OR_RETURN(report.results_file, NewResultsFile());
  }
  LP_ASSIGN_OR_RETURN(auto spool, Spool::Create(o.spool_dir, "validate"));

  int64_t bytes = 0;
  for (const auto& t : targets) bytes += t.object.size;
  progress.Planned(static_cast<int64_t>(targets.size()), static_cast<int64_t>(targets.size()),
                   bytes);
  report.lines.resize(targets.size());
  std::vector<int64_t> rows(targets.size(), 0);
  std::mutex mu;
  std::vector<std::unique_ptr<FormatEngine>> pool;
  std::atomic<bool> stop{false};
  ParallelForAll(targets.size(), std::max(1, o.parallel), [&](size_t i) -> Status {
    if (o.stop_on_error && stop.load()) {
      report.lines[i].path = targets[i].store->UriOf(targets[i].object.key);
      report.lines[i].checked = false;
      return Status::OK();
    }
    std::unique_ptr<FormatEngine> engine;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!pool.empty()) {
        engine = std::move(pool.back());
        pool.pop_back();
      }
    }
    if (!engine) {
      EngineOptions eo = o.engine;
      if (o.parallel > 1 && eo.threads == 0) eo.threads = 1;
      auto e = FormatEngine::Open(eo);
      if (!e.ok()) return e.status();
      engine = std::move(*e);
    }
    const Target& t = targets[i];
    ValidateLine& line = report.lines[i];
    line.path = t.store->UriOf(t.object.key);
    const std::string dir = spool->Sub(std::to_string(i));
    auto local = o.temp_dir.empty() || t.store->LocalPath(t.object.key)
                     ? StageForReading(*t.store, t.object.key, dir)
                     : CachedCopy(*t.store, t.object, o.temp_dir, o.force_download);
    if (!local.ok()) {
      line.reason = "cannot fetch: " + local.status().message();
    } else {
      // Name the object, not the spool copy the engine read.
      line.reason =
          ShowPathAs(Check(*engine, *local, BaseName(t.object.key), o, rows[i]), *local, line.path);
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
    line.pass = line.reason.empty();
    if (!line.pass) stop = true;
    progress.TaskDone(line.pass, 1, t.object.size, rows[i]);
    progress.Log(line.pass ? "PASS|" + line.path : "FAIL|" + line.path + "|" + line.reason);
    std::lock_guard<std::mutex> lock(mu);
    pool.push_back(std::move(engine));
    return Status::OK();
  });
  spool.reset();  // the spool and what is left in it go

  int64_t table_rows_in_files = 0;
  std::string table_source;
  if (!o.against_table.empty()) {
    auto [schema, name] = pg::SplitTable(o.against_table);
    table_source = ExportNameText(schema + "." + name);
  }
  for (size_t i = 0; i < targets.size(); i++) {
    if (!report.lines[i].checked) {
      report.not_checked++;
      continue;
    }
    if (report.lines[i].pass) report.rows += rows[i];
    if (!report.lines[i].pass) report.failed++;
    ExportName n = ParseExportFileName(BaseName(targets[i].object.key));
    std::string suffix = "_" + table_source;
    if (!table_source.empty() && n.ok && n.source.size() >= suffix.size() &&
        n.source.compare(n.source.size() - suffix.size(), suffix.size(), suffix) == 0) {
      table_rows_in_files += rows[i];
    }
  }
  if (!o.against_table.empty() && report.not_checked == 0) {
    ValidateLine line;
    line.path = "postgres:" + table_source;
    auto conn = pg::Connection::Open(o.against_conninfo);
    if (!conn.ok()) {
      line.reason = conn.status().message();
    } else {
      auto res = (*conn)->QueryText("SELECT count(*) FROM " + pg::QualifiedName(o.against_table));
      if (!res.ok()) {
        line.reason = res.status().message();
      } else {
        int64_t n = std::stoll((*res)[0][0].value_or("0"));
        if (n != table_rows_in_files) {
          line.reason =
              fmt::format("the table has {} rows, its files hold {}", n, table_rows_in_files);
        }
      }
    }
    line.pass = line.reason.empty();
    if (!line.pass) report.failed++;
    progress.Log(line.pass ? "PASS|" + line.path : "FAIL|" + line.path + "|" + line.reason);
    report.lines.push_back(line);
  }

  std::ofstream out(report.results_file, std::ios::trunc);
  for (const auto& l : report.lines) {
    if (!l.checked) continue;
    out << (l.pass ? "PASS|" + l.path : "FAIL|" + l.path + "|" + l.reason) << "\n";
  }
  out.close();
  if (!out) return Status::IOError(report.results_file + ": cannot write the results");
  return report;
}

}  // namespace lakepack
