// `lakepack export`: reads each table in (ts, id) order with keyset pagination, writes every
// --flush-rows rows as one Parquet file named after its rows, and publishes it atomically.
// Resume needs no local state: the destination's files say how far the table got.
#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>

#include "common/crash_point.h"
#include "common/parallel.h"
#include "common/strings.h"
#include "exec/job.h"
#include "exec/jobs.h"
#include "exec/spool.h"
#include "exec/staging.h"
#include "lakepack/export.h"
#include "lakepack/uri.h"
#include "source/postgres.h"
#include "store/listing.h"

namespace lakepack {

namespace fs = std::filesystem;

std::string CompactTimestamp(int64_t micros) {
  int64_t secs = micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

namespace {

// "{prefix}_{schema}.{table}": what every file name of this table starts with.
std::string SourceOf(const std::string& prefix, const std::string& table) {
  auto [schema, name] = pg::SplitTable(table);
  return prefix + "_" + ExportNameText(schema + "." + name);
}

}  // namespace

std::string ExportNameText(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || std::strchr("/\\?*:\"<>|#%", c) != nullptr) c = '_';
  }
  return out;
}

std::string ExportFileName(const std::string& prefix, const std::string& table, int64_t first_ts_us,
                           const std::string& first_id, int64_t last_ts_us,
                           const std::string& last_id, int64_t rows) {
  return fmt::format("{}_{}_{}-{}_{}_rows-{}.parquet", SourceOf(prefix, table),
                     CompactTimestamp(first_ts_us), ExportNameText(first_id.substr(0, 8)),
                     CompactTimestamp(last_ts_us), ExportNameText(last_id.substr(0, 8)), rows);
}

ExportName ParseExportFileName(const std::string& file_name) {
  static const std::regex re(
      R"(^(.+)_(\d{8}T\d{6}Z)_(.{1,8})-(\d{8}T\d{6}Z)_(.{1,8})_rows-(\d+)\.parquet$)");
  std::smatch m;
  ExportName n;
  if (!std::regex_match(file_name, m, re)) return n;
  n.ok = true;
  n.source = m[1];
  n.start_ts = m[2];
  n.start_id8 = m[3];
  n.end_ts = m[4];
  n.end_id8 = m[5];
  n.rows = std::stoll(m[6]);
  return n;
}

namespace {

// The by-partition folder of a table.
std::string PartitionDir(const std::string& table) {
  auto [schema, name] = pg::SplitTable(table);
  return ExportNameText(schema + "." + name) + "/";
}

std::string LayoutDir(const ExportOptions& o, const std::string& table, int64_t first_ts_us) {
  if (o.layout == ExportLayout::kFlat) return "";
  if (o.layout == ExportLayout::kByPartition) return PartitionDir(table);
  std::string ts = CompactTimestamp(first_ts_us);  // YYYYMMDDT...
  std::string dir = fmt::format("year={}/month={}/", ts.substr(0, 4), ts.substr(4, 2));
  if (!o.hive_split) return dir;
  return dir + (std::stoi(ts.substr(6, 2)) <= 15 ? "half=01/" : "half=02/");
}

// The hive-date folder a timestamp falls in (its half-month, or its month without
// HIVE_SPLIT), so that a file never straddles two folders.
std::string HalfOf(const ExportOptions& o, int64_t us) {
  std::string ts = CompactTimestamp(us);
  if (!o.hive_split) return ts.substr(0, 6);
  return ts.substr(0, 6) + (std::stoi(ts.substr(6, 2)) <= 15 ? "a" : "b");
}

// The layout whose folder a key of `table` sits in, or nullopt when no layout puts it there (a
// folder of some other table, or of the user's making).
std::optional<ExportLayout> LayoutOfKey(const std::string& key, const std::string& table) {
  static const std::regex hive(R"(^year=\d{4}/month=\d\d/(half=0[12]/)?$)");
  const std::string dir = DirOf(key);
  if (dir.empty()) return ExportLayout::kFlat;
  if (dir == PartitionDir(table)) return ExportLayout::kByPartition;
  if (std::regex_match(dir, hive)) return ExportLayout::kHiveDate;
  return std::nullopt;
}

// "layout flat", or "no layout's folder" for nullopt.
std::string PlaceName(const std::optional<ExportLayout>& layout) {
  return layout ? "layout " + std::string(ExportLayoutName(*layout)) : "no layout's folder";
}

// Layouts in the order of their names, no layout first (the order messages list them in).
struct ByLayoutName {
  bool operator()(const std::optional<ExportLayout>& a,
                  const std::optional<ExportLayout>& b) const {
    return (a ? ExportLayoutName(*a) : "") < (b ? ExportLayoutName(*b) : "");
  }
};

// One table's files in the destination by the layout they sit in, each list in key order.
using TableFiles = std::map<std::optional<ExportLayout>, std::vector<std::string>, ByLayoutName>;

// Every table's files, from one listing of the whole destination (all pages): resume must see
// the files a run under another layout left, and N tables must not cost N listings.
Result<std::map<std::string, TableFiles>> ListTableFiles(ObjectStore& store,
                                                         const std::string& prefix,
                                                         const std::vector<std::string>& tables,
                                                         int max_keys) {
  std::map<std::string, std::string> table_of;  // source -> table
  for (const auto& t : tables) table_of.emplace(SourceOf(prefix, t), t);
  std::map<std::string, TableFiles> files;
  for (const auto& t : tables) files[t];
  // Page by page: only the tables' files are kept, not the listing.
  ListOptions lo;
  lo.max_keys = max_keys;
  LP_RETURN_IF_ERROR(ForEachPage(store, lo, [&](ListPage& page) {
    for (const auto& obj : page.objects) {
      if (obj.key.rfind("_lakepack/", 0) == 0) continue;
      ExportName n = ParseExportFileName(BaseName(obj.key));
      if (!n.ok) continue;
      // The whole source must match: "archive_perm_items_public.t" is not perm_items' public.t.
      auto it = table_of.find(n.source);
      if (it == table_of.end()) continue;
      files[it->second][LayoutOfKey(obj.key, it->second)].push_back(obj.key);
    }
    return Status::OK();
  }));
  return files;
}

struct TableStats {
  int64_t files = 0, rows = 0, bytes = 0;
  bool resumed = false;
};

class TableExport {
 public:
  //! `publish` makes one finished local file of `rows` rows visible as a new object (the
  //! engine's PublishNew), and counts its rows as done.
  using PublishFn = std::function<Result<ObjectInfo>(const std::string& key,
                                                     const std::string& local, int64_t rows)>;
  TableExport(const ExportOptions& o, const std::string& table, ObjectStore& store,
              ProgressSink& progress, PublishFn publish)
      : o_(o), table_(table), store_(store), progress_(progress), publish_(std::move(publish)) {}

  // `listed`: this table's files from the run's listing of the destination; std::nullopt to
  // list again (a retry, after an attempt that may have published files).
  Status Run(std::optional<TableFiles> listed, TableStats& stats) {
    if (!listed) {
      LP_ASSIGN_OR_RETURN(auto all, ListTableFiles(store_, o_.prefix, {table_}, o_.list_max_keys));
      listed = std::move(all[table_]);
    }
    files_ = std::move(*listed);
    if (o_.resume) {
      LP_RETURN_IF_ERROR(CheckLayout());
    } else {
      size_t n = 0;
      for (const auto& [layout, keys] : files_) n += keys.size();
      progress_.Log(
          fmt::format("{}: not resuming (S3_RESUME=0 / --no-resume): from the first "
                      "row; {} file(s) of this table already in the destination are "
                      "kept",
                      table_, n));
      files_.clear();
    }
    LP_ASSIGN_OR_RETURN(auto spool, Spool::Create(o_.spool_dir));
    EngineOptions eo = o_.engine;
    eo.temp_dir = spool->path() + "/engine";
    // Each file is one row group that one thread writes; with more threads DuckDB's calling
    // thread polls for tasks while a worker writes (a quarter of the process's CPU in the
    // profile, on cores the server needs). Tables run in parallel instead (--parallel).
    if (eo.threads == 0) eo.threads = 1;
    LP_ASSIGN_OR_RETURN(engine_, FormatEngine::Open(eo));
    LP_ASSIGN_OR_RETURN(conn_, pg::Connection::Open(o_.conninfo));
    LP_ASSIGN_OR_RETURN(cols_, conn_->Columns(table_, o_.column_types));
    LP_RETURN_IF_ERROR(FindKeyColumns());
    LP_RETURN_IF_ERROR(conn_->CheckExactCasts(table_, cols_));

    LP_ASSIGN_OR_RETURN(std::optional<pg::Key> from, FindResumeKey(spool->path()));
    stats.resumed = from.has_value();
    std::vector<BufferColumn> bcols;
    for (const auto& c : cols_) bcols.push_back({c.name, c.type});
    LP_ASSIGN_OR_RETURN(buffer_, engine_->NewRowBuffer(bcols));

    // `from`: the key the current page starts at (>=), `prev`: the last row taken.
    std::optional<pg::Key> prev;
    int64_t equal_to_from = 0;
    auto same = [](const pg::Key& k, const pg::Field* f, size_t ts, size_t id) {
      return f[ts].view() == k.ts && f[id].view() == k.id;
    };
    auto on_row = [&](const pg::Field* f, bool first_of_page) -> Status {
      if (f[ts_].null() || f[id_].null()) {
        return Status::InvalidArgument(table_ + ": a row has a NULL " + o_.ts_column + " or " +
                                       o_.id_column + "; keyset order cannot include it");
      }
      if (first_of_page && prev) {
        from = prev;  // a later page starts at the last row of the one before
        equal_to_from = 0;
      }
      if (from && same(*from, f, ts_, id_)) {
        // The page starts at the last row already written (>=): skip it, but a second row
        // with the same key means (ts, id) is not unique and keyset paging would lose rows.
        if (++equal_to_from > 1) return NotUnique();
        return Status::OK();
      }
      if (prev && same(*prev, f, ts_, id_)) return NotUnique();
      LP_ASSIGN_OR_RETURN(int64_t ts_us, pg::TimestampMicros(cols_[ts_], f[ts_]));
      if (buffer_->rows() > 0 && o_.layout == ExportLayout::kHiveDate &&
          HalfOf(o_, ts_us) != half_) {
        LP_RETURN_IF_ERROR(FlushFile(spool->path(), stats));
      }
      if (buffer_->rows() == 0) {
        first_ts_ = ts_us;
        LP_ASSIGN_OR_RETURN(first_id_, pg::IdText(cols_[id_], f[id_]));
        half_ = HalfOf(o_, ts_us);
      }
      LP_RETURN_IF_ERROR(pg::AppendRow(cols_, f, *buffer_));
      last_ts_ = ts_us;
      last_id_field_.assign(f[id_].data, f[id_].length);
      if (!prev) prev.emplace();
      prev->ts.assign(f[ts_].data, f[ts_].length);  // reuses the strings' buffers
      prev->id.assign(f[id_].data, f[id_].length);
      if (buffer_->rows() >= o_.flush_rows) LP_RETURN_IF_ERROR(FlushFile(spool->path(), stats));
      return Status::OK();
    };
    LP_RETURN_IF_ERROR(
        conn_->ReadPages(table_, cols_, ts_, id_, from, o_.chunk_rows, on_row).status());
    if (buffer_->rows() > 0) LP_RETURN_IF_ERROR(FlushFile(spool->path(), stats));
    return Status::OK();
  }

 private:
  Status NotUnique() {
    return Status::FailedPrecondition(
        fmt::format("{}: ({}, {}) is not unique; keyset pagination needs a unique order", table_,
                    o_.ts_column, o_.id_column));
  }

  Status FindKeyColumns() {
    bool found_ts = false, found_id = false;
    for (size_t i = 0; i < cols_.size(); i++) {
      if (cols_[i].name == o_.ts_column) ts_ = i, found_ts = true;
      if (cols_[i].name == o_.id_column) id_ = i, found_id = true;
    }
    if (!found_ts || !found_id) {
      return Status::InvalidArgument(
          fmt::format("{}: no column {}", table_, found_ts ? o_.id_column : o_.ts_column));
    }
    if (cols_[ts_].as_text || cols_[id_].as_text) {
      return Status::InvalidArgument(table_ + ": unsupported type of an order column");
    }
    if (!cols_[ts_].cast_to.empty() || !cols_[id_].cast_to.empty()) {
      return Status::InvalidArgument(
          fmt::format("--column-type: {} and {} order the table; their type cannot change",
                      o_.ts_column, o_.id_column));
    }
    return Status::OK();
  }

  // Resume continues after the files present only if they all sit in the layout asked for.
  // Files elsewhere hold rows too: resuming without them would write those rows again, and
  // which of two layouts to continue in is the user's call, so the run refuses, writing
  // nothing, and says how to go on.
  Status CheckLayout() const {
    if (files_.empty() || (files_.size() == 1 && files_.count(o_.layout))) return Status::OK();
    if (files_.size() > 1) {
      std::string found;
      for (const auto& [layout, keys] : files_) {
        found += fmt::format("{}{} (e.g. {})", found.empty() ? "" : " and ", PlaceName(layout),
                             keys.front());
      }
      return Status::FailedPrecondition(fmt::format(
          "{}: this table's files are in {} places, {}; resume cannot tell which to continue: "
          "keep them in one layout and rerun with it; nothing was written",
          store_.Uri(), files_.size(), found));
    }
    const auto& [layout, keys] = *files_.begin();
    const std::string_view asked = ExportLayoutName(o_.layout);
    if (!layout) {
      return Status::FailedPrecondition(fmt::format(
          "{}: {} file(s) of this table are in no layout's folder (e.g. {}); move them to "
          "where --layout {} puts them, or out of the destination; nothing was written",
          store_.Uri(), keys.size(), keys.front(), asked));
    }
    const std::string_view found = ExportLayoutName(*layout);
    return Status::FailedPrecondition(
        fmt::format("{}: {} file(s) of this table are in layout {}, not {} (e.g. {}); rerun with "
                    "--layout {} to resume there; nothing was written",
                    store_.Uri(), keys.size(), found, asked, keys.front(), found));
  }

  // The last key already written: the largest (ts, id) over this table's files in the
  // destination. Names carry timestamps to the second only, so every file sharing the
  // latest end second is read.
  Result<std::optional<pg::Key>> FindResumeKey(const std::string& spool) {
    std::string best_end;
    std::vector<std::string> candidates;
    auto mine = files_.find(o_.layout);
    if (mine == files_.end()) return std::optional<pg::Key>();
    for (const auto& key : mine->second) {
      ExportName n = ParseExportFileName(BaseName(key));
      if (n.end_ts > best_end) {
        best_end = n.end_ts;
        candidates.clear();
      }
      if (n.end_ts == best_end) candidates.push_back(key);
    }
    if (candidates.empty()) return std::optional<pg::Key>();
    std::optional<KeyRange> best;
    std::string best_id_bytes;
    for (const auto& key : candidates) {
      LP_ASSIGN_OR_RETURN(std::string local, StageForReading(store_, key, spool));
      auto r = engine_->ReadKeyRange(local, o_.ts_column, o_.id_column);
      if (!store_.LocalPath(key)) ::unlink(local.c_str());
      if (!r.ok())
        return Status(r.status().code(), store_.UriOf(key) + ": " + r.status().message());
      LP_ASSIGN_OR_RETURN(std::string idb, pg::EncodeId(cols_[id_], r->last_id, r->id_is_blob));
      if (!best || r->last_ts_us > best->last_ts_us ||
          (r->last_ts_us == best->last_ts_us && idb > best_id_bytes)) {
        best = *r;
        best_id_bytes = idb;
      }
    }
    LP_ASSIGN_OR_RETURN(std::string tsb, pg::EncodeTimestamp(cols_[ts_], best->last_ts_us));
    progress_.Log(fmt::format("{}: resuming after {} ({} file(s) already in the destination)",
                              table_, CompactTimestamp(best->last_ts_us), mine->second.size()));
    return std::optional<pg::Key>(pg::Key{tsb, best_id_bytes});
  }

  Status FlushFile(const std::string& spool, TableStats& stats) {
    int64_t rows = buffer_->rows();
    pg::Field last{last_id_field_.data(), static_cast<int>(last_id_field_.size())};
    LP_ASSIGN_OR_RETURN(std::string last_id, pg::IdText(cols_[id_], last));
    std::string name =
        ExportFileName(o_.prefix, table_, first_ts_, first_id_, last_ts_, last_id, rows);
    std::string key = LayoutDir(o_, table_, first_ts_) + name;
    std::string local = spool + "/" + name;
    LP_ASSIGN_OR_RETURN(RowDigest digest, buffer_->Digest());
    WriteSpec ws;
    ws.path = local;
    ws.compression = o_.compression;
    LP_ASSIGN_OR_RETURN(
        int64_t written,
        buffer_->Flush(ws, {{"lakepack.digest", fmt::format("{}:{}", digest.rows, digest.checksum)},
                            {"lakepack.order_by", o_.ts_column + "," + o_.id_column},
                            {"lakepack.source", table_}}));
    // The footer must count every row fed before the file may become visible.
    auto info = engine_->Inspect(local, FileFormat::kParquet);
    if (!info.ok() || info->rows != rows || written != rows) {
      ::unlink(local.c_str());
      return Status::Corruption(fmt::format("{}: wrote {} rows, the file holds {}", name, rows,
                                            info.ok() ? info->rows : -1));
    }
    LP_ASSIGN_OR_RETURN(ObjectInfo published, publish_(key, local, rows));
    ::unlink(local.c_str());
    stats.files++;
    stats.rows += rows;
    stats.bytes += published.size;
    progress_.Log(fmt::format("{}: wrote {} ({} rows)", table_, store_.UriOf(key), rows));
    return Status::OK();
  }

  const ExportOptions& o_;
  std::string table_;
  ObjectStore& store_;
  ProgressSink& progress_;
  PublishFn publish_;
  TableFiles files_;
  std::unique_ptr<FormatEngine> engine_;
  std::unique_ptr<pg::Connection> conn_;
  std::vector<pg::PgColumn> cols_;
  size_t ts_ = 0, id_ = 0;
  std::unique_ptr<RowBuffer> buffer_;
  int64_t first_ts_ = 0, last_ts_ = 0;
  std::string first_id_, last_id_field_, half_;
};

bool Retriable(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kUnauthenticated:
    case StatusCode::kFailedPrecondition:
      return false;
    default:
      return true;
  }
}

// One task per table: its files in the destination are listed once for all tables, then each
// table's export continues after the last row already written, one new file at a time.
class ExportJob final : public Job {
 public:
  ExportJob(const ExportOptions& o, std::shared_ptr<ObjectStore> store,
            std::shared_ptr<ObjectStore> outbox, ProgressSink& progress)
      : o_(o), store_(std::move(store)), outbox_(std::move(outbox)), progress_(progress) {}

  std::string Name() const override { return "export"; }
  std::shared_ptr<ObjectStore> Destination() override { return store_; }
  std::shared_ptr<ObjectStore> Source() override { return store_; }

  Result<Plan> MakePlan(int, JobContext&) override {
    // A failed listing is not fatal here: each table then lists for itself, with its retries.
    listed_ = ListTableFiles(*store_, o_.prefix, o_.tables, o_.list_max_keys);
    Plan plan;
    for (const auto& table : o_.tables) {
      Task t;
      t.command = "export";
      t.label = table;
      t.locks.push_back(fmt::format("export:{}|{}|{}", store_->Uri(), o_.prefix, table));
      t.shard_key = t.locks.front();
      t.id = TaskId(t);
      plan.tasks.push_back(std::move(t));
    }
    return plan;
  }

  Result<BuildResult> Build(const Task& task, TaskContext& ctx) override {
    const std::string& table = task.label;
    const std::string tag = task.id + ".export";
    auto publish = [&](const std::string& key, const std::string& local,
                       int64_t rows) -> Result<ObjectInfo> {
      if (outbox_) {
        LP_RETURN_IF_ERROR(Publish(*outbox_, key, local).status());
        CrashPoint("export-outbox-written");
      }
      LP_ASSIGN_OR_RETURN(ObjectInfo done,
                          outbox_ ? Upload(key, ctx, tag) : ctx.PublishNew(key, local, tag));
      ctx.Advance(1, done.size, rows);  // export's files and bytes are the ones it writes
      return done;
    };
    Status st;
    TableStats total;
    int attempts = std::max(1, o_.retries);
    for (int attempt = 1; attempt <= attempts; attempt++) {
      TableStats stats;
      int64_t uploaded = 0;
      st = UploadPending(table, ctx, tag, uploaded);
      std::optional<TableFiles> files;
      // Uploads change what the destination holds: the table's files are listed again.
      if (attempt == 1 && listed_.ok() && uploaded == 0) files = listed_->at(table);
      if (st.ok()) {
        TableExport job(o_, table, *store_, progress_, publish);
        st = job.Run(std::move(files), stats);
      }
      total.files += stats.files;
      total.rows += stats.rows;
      total.bytes += stats.bytes;
      if (st.ok() || !Retriable(st) || attempt == attempts) break;
      progress_.Log(fmt::format("{}: attempt {} of {} failed ({}); retrying in {}s", table, attempt,
                                attempts, st.message(), o_.retry_backoff_seconds));
      std::this_thread::sleep_for(std::chrono::duration<double>(o_.retry_backoff_seconds));
    }
    if (!st.ok()) {
      // Files published before the failure stay: the next run resumes after them.
      return Status(st.code(), table + ": " + st.message());
    }
    BuildResult br;
    br.rows = total.rows;
    br.files_out = total.files;
    br.bytes_out = total.bytes;
    br.what = fmt::format("done, {} file(s), {} rows", total.files, total.rows);
    return br;
  }

 private:
  // Uploads the outbox's file `key` to the same key in DST, then removes it from the outbox once
  // DST holds it whole (same size; the store has checked the upload's checksum). A file of that
  // name that DST already holds from this task (an earlier run that stopped before removing
  // the local copy) counts as uploaded.
  Result<ObjectInfo> Upload(const std::string& key, TaskContext& ctx, const std::string& tag) {
    std::string local = *outbox_->LocalPath(key);
    LP_ASSIGN_OR_RETURN(auto here, outbox_->Stat(key));
    if (!here) return Status::NotFound(outbox_->UriOf(key) + ": vanished before its upload");
    LP_ASSIGN_OR_RETURN(ObjectInfo up, ctx.PublishNew(key, local, tag));
    CrashPoint("export-uploaded");
    if (up.size != here->size) {
      return Status::IOError(
          fmt::format("{}: holds {} bytes after the upload of {} ({} bytes), "
                      "which is kept for the next run",
                      store_->UriOf(key), up.size, local, here->size));
    }
    if (::unlink(local.c_str()) != 0 && errno != ENOENT) {
      return Status::IOError(
          fmt::format("{}: uploaded, but cannot remove it: {}", local, std::strerror(errno)));
    }
    return up;
  }

  // The seed's "pending files are uploaded before new data is processed": the table's files
  // an earlier run left in the outbox (its upload failed or the run stopped) go first, so
  // that the resume point, read from DST, counts them.
  Status UploadPending(const std::string& table, TaskContext& ctx, const std::string& tag,
                       int64_t& uploaded) {
    if (!outbox_) return Status::OK();
    LP_ASSIGN_OR_RETURN(auto pending,
                        ListTableFiles(*outbox_, o_.prefix, {table}, o_.list_max_keys));
    for (const auto& [layout, keys] : pending[table]) {
      for (const auto& key : keys) {
        LP_ASSIGN_OR_RETURN(ObjectInfo up, Upload(key, ctx, tag));
        uploaded++;
        progress_.Log(fmt::format("{}: uploaded {} left by an earlier run ({} bytes)", table,
                                  store_->UriOf(key), up.size));
      }
    }
    return Status::OK();
  }

  const ExportOptions o_;  // a copy: the job may outlive the options it was made from
  std::shared_ptr<ObjectStore> store_;
  std::shared_ptr<ObjectStore> outbox_;  // PARQUET_DIR before an upload; null: none
  ProgressSink& progress_;
  Result<std::map<std::string, TableFiles>> listed_ = std::map<std::string, TableFiles>{};
};

}  // namespace

std::unique_ptr<Job> NewExportJob(const ExportOptions& options, std::shared_ptr<ObjectStore> store,
                                  std::shared_ptr<ObjectStore> outbox, ProgressSink& progress) {
  return std::make_unique<ExportJob>(options, std::move(store), std::move(outbox), progress);
}

Result<RunSummary> Export(const ExportOptions& o, ProgressSink& progress) {
  if (o.tables.empty()) return Status::InvalidArgument("no tables given");
  for (const auto& t : o.tables) LP_RETURN_IF_ERROR(pg::ParseTableName(t).status());
  if (o.chunk_rows <= 0 || o.flush_rows <= 0) {
    return Status::InvalidArgument("--chunk-rows and --flush-rows must be positive");
  }
  LP_RETURN_IF_ERROR(pg::CheckConninfo(o.conninfo));
  StoreOptions so;
  so.create_local_root = true;
  LP_ASSIGN_OR_RETURN(std::shared_ptr<ObjectStore> store, OpenStore(o.dst, so));
  std::shared_ptr<ObjectStore> outbox;
  if (!o.outbox.empty()) {
    LP_ASSIGN_OR_RETURN(outbox, OpenStore(o.outbox, so));
    if (!outbox->LocalPath("x")) {
      return Status::InvalidArgument(o.outbox +
                                     ": the local folder files wait in before their "
                                     "upload must be a local path");
    }
  }
  auto job = NewExportJob(o, store, outbox, progress);
  RunOptions ro;
  ro.parallel = std::max(1, o.parallel);
  ro.spool_dir = o.spool_dir;
  ro.shard_index = o.shard.index;
  ro.shard_count = o.shard.count;
  return RunJob(*job, ro, progress);
}

}  // namespace lakepack
