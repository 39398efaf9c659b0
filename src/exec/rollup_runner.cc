// The roll-up executor: plans each level, then runs its tasks in parallel, each one staging
// its inputs, merging them with the format engine, and handing the result to the commit
// protocol.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "commit/commit.h"
#include "common/strings.h"
#include "exec/parallel.h"
#include "exec/recovery.h"
#include "exec/spool.h"
#include "exec/staging.h"
#include "format/parquet_footer.h"
#include "lakepack/rollup.h"
#include "lakepack/uri.h"
#include "layout/layout.h"
#include "plan/rollup_plan.h"
#include "plan/schema_union.h"

namespace lakepack {

namespace {

namespace fs = std::filesystem;

// The ETag a dry run gives the outputs it plans, so that the next level can plan on them.
constexpr const char* kPlannedTag = "(planned)";

struct Context {
  const RollupOptions& options;
  ProgressSink& progress;
  std::shared_ptr<ObjectStore> store;
  Committer committer;
  Spool& spool;
  Compression compression;
  std::mutex mu;
  RunSummary summary;
  std::map<std::string, int64_t> planned_rows;  // dry run: rows of outputs planned so far
};

EngineOptions TaskEngineOptions(const RollupOptions& o, const std::string& spool) {
  EngineOptions eo = o.engine;
  if (eo.threads <= 0) {
    long cores = ::sysconf(_SC_NPROCESSORS_ONLN);
    eo.threads = static_cast<int>(std::max<long>(1, cores / std::max(1, o.parallel)));
    if (eo.threads < 2 && cores >= 2) eo.threads = 2;
  }
  eo.temp_dir = spool + "/engine";
  return eo;
}

// Runs one task through the commit protocol. Before Commit any failure rolls the task back and
// leaves every input (and the existing target) as it was.
Status RunTask(Context& ctx, const RollupTask& task, size_t index) {
  ObjectStore& store = *ctx.store;
  std::string dir = ctx.spool.Sub("t" + std::to_string(index));
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove_all(dir, ec);
  };
  LP_ASSIGN_OR_RETURN(auto engine, FormatEngine::Open(TaskEngineOptions(ctx.options, dir)));

  // The files to merge, in row order: the existing target first, then the inputs.
  std::vector<ObjectInfo> files;
  if (task.target) files.push_back(*task.target);
  files.insert(files.end(), task.inputs.begin(), task.inputs.end());
  std::vector<std::string> local(files.size());
  Status st = ParallelFor(files.size(), ctx.options.io_parallel, [&](size_t i) {
    auto p = StageForReading(store, files[i].key, dir);
    if (!p.ok()) return p.status();
    local[i] = *p;
    return Status::OK();
  });
  if (!st.ok()) {
    cleanup();
    return st;
  }
  // Footers: rows to expect and columns to unite.
  int64_t expected_rows = 0;
  std::vector<std::pair<std::string, std::vector<ColumnInfo>>> schemas;
  for (size_t i = 0; i < files.size(); i++) {
    auto info = engine->Inspect(local[i], FileFormat::kParquet);
    if (!info.ok()) {
      cleanup();
      return ShowPathAs(info.status(), local[i], store.UriOf(files[i].key));
    }
    expected_rows += info->rows;
    schemas.emplace_back(store.UriOf(files[i].key), info->columns);
  }
  st = CheckSchemasUnite(schemas);
  if (!st.ok()) {
    cleanup();
    return st;
  }
  WriteSpec out;
  out.path = dir + "/merged.parquet";
  out.compression = ctx.compression;
  auto rows = engine->Copy(ReadSpec{local, FileFormat::kParquet}, out);
  if (!rows.ok()) {
    cleanup();
    return rows.status();
  }
  // Verify the local output before anything becomes visible: its footer must count every row.
  auto out_info = engine->Inspect(out.path, FileFormat::kParquet);
  if (!out_info.ok() || *rows != expected_rows || out_info->rows != expected_rows) {
    cleanup();
    return Status::Corruption(fmt::format("{}: merged file has {} rows, inputs have {}",
                                          store.UriOf(task.output_key),
                                          out_info.ok() ? out_info->rows : -1, expected_rows));
  }

  CommitRecord rec;
  rec.task_id = task.id;
  rec.command = "rollup";
  for (const auto& in : task.inputs) rec.inputs.push_back({in.key, in.size, in.etag});
  CommitOutput o;
  o.final_key = task.output_key;
  o.rows = expected_rows;
  if (task.target) o.replaces = {task.target->key, task.target->size, task.target->etag};
  rec.outputs.push_back(o);
  st = ctx.committer.Begin(rec);
  if (st.ok()) st = ctx.committer.Stage(rec, 0, out.path);
  if (st.ok()) st = ctx.committer.Commit(rec);
  if (!st.ok()) {
    // Not committed: roll back. If even that fails, the next run's recovery will.
    (void)ctx.committer.Abort(rec);
    cleanup();
    return st;
  }
  cleanup();
  // Committed: from here a failure leaves the record for recovery to finish.
  LP_RETURN_IF_ERROR(ctx.committer.Publish(rec));
  {
    std::lock_guard<std::mutex> lock(ctx.mu);
    ctx.summary.files_in += static_cast<int64_t>(task.inputs.size());
    ctx.summary.files_out += 1;
    ctx.summary.bytes_in += task.input_bytes;
    ctx.summary.bytes_out += rec.outputs[0].size;
    ctx.summary.rows += expected_rows;
  }
  return Status::OK();
}

// Dry run: the rows each output would hold, from the inputs' footers.
Status DescribePlan(Context& ctx, const RollupPlan& plan, std::vector<PlannedOutput>& out) {
  LP_ASSIGN_OR_RETURN(auto engine,
                      FormatEngine::Open(TaskEngineOptions(ctx.options, ctx.spool.path())));
  for (const auto& t : plan.tasks) {
    PlannedOutput p;
    p.level = std::string(GranularityName(plan.grouping));
    p.output = ctx.store->UriOf(t.output_key);
    p.merges_existing = t.target.has_value();
    p.bytes = t.input_bytes;
    std::vector<ObjectInfo> files = t.inputs;
    if (t.target) files.push_back(*t.target);
    std::vector<int64_t> rows(files.size(), 0);
    // One engine is single-threaded; footers are small, so this stays quick.
    for (size_t i = 0; i < files.size(); i++) {
      if (files[i].etag == kPlannedTag) {  // an output of the level planned before this one
        rows[i] = ctx.planned_rows[files[i].key];
        continue;
      }
      auto info = InspectParquetObject(*ctx.store, files[i], *engine, ctx.spool.path());
      if (!info.ok()) return info.status();
      rows[i] = info->rows;
    }
    for (auto r : rows) p.rows += r;
    ctx.planned_rows[t.output_key] = p.rows;
    for (const auto& in : t.inputs) p.inputs.push_back(ctx.store->UriOf(in.key));
    out.push_back(std::move(p));
  }
  return Status::OK();
}

}  // namespace

Result<RollupResult> Rollup(const RollupOptions& options, ProgressSink& progress) {
  auto t0 = std::chrono::steady_clock::now();
  // Usage first.
  // Each usage error names its flag (grouping and codec are typed: the CLI checked them).
  const Granularity grouping = GranularityOf(options.grouping);
  auto parsed_start = ParseDay(options.start);
  if (!parsed_start.ok()) return parsed_start.status().WithContext("--start");
  auto parsed_end = ParseDay(options.end);
  if (!parsed_end.ok()) return parsed_end.status().WithContext("--end");
  Period start = *parsed_start, end = *parsed_end;
  if (end < start) {
    return Status::InvalidArgument(
        fmt::format("--end {} is before --start {}", options.end, options.start));
  }
  LP_ASSIGN_OR_RETURN(
      Layout layout,
      Layout::Parse(options.layout.empty() ? std::string(Layout::kDefaultTemplate) : options.layout,
                    options.pattern));
  if (options.shard_count < 1 || options.shard_index < 0 ||
      options.shard_index >= options.shard_count) {
    return Status::InvalidArgument("--shard: expected i/N with 0 <= i < N");
  }

  LP_ASSIGN_OR_RETURN(auto store, OpenStore(options.src));
  LP_ASSIGN_OR_RETURN(auto spool, Spool::Create(options.spool_dir));
  Context ctx{options, progress, store, Committer(store, store), *spool, options.compression,
              {},      {}};
  ctx.summary.command = "rollup";
  RollupResult result;

  // Whatever an earlier run left half done is finished or rolled back before planning.
  if (!options.dry_run) {
    LP_ASSIGN_OR_RETURN(ctx.summary.recovered, RecoverAndReport(ctx.committer, progress));
  }

  std::vector<Granularity> levels;
  if (options.cascade) {
    for (int g = static_cast<int>(Granularity::kHour); g <= static_cast<int>(grouping); g++) {
      levels.push_back(static_cast<Granularity>(g));
    }
  } else {
    levels.push_back(grouping);
  }
  std::string root_name = RootName(store->Uri());
  std::vector<ObjectInfo> simulated;  // dry run with cascade: the listing after each level
  bool have_simulated = false;
  for (Granularity level : levels) {
    std::vector<ObjectInfo> listing;
    if (have_simulated) {
      listing = simulated;
    } else {
      LP_ASSIGN_OR_RETURN(listing, store->ListAll(""));
    }
    RollupPlanOptions po;
    po.grouping = level;
    po.start_day = start;
    po.end_day = end;
    po.root_name = root_name;
    po.shard_index = options.shard_index;
    po.shard_count = options.shard_count;
    RollupPlan plan = PlanRollup(listing, layout, po);
    if (level == levels.front()) {
      for (const auto& s : plan.stray) {
        ctx.summary.stray.push_back(store->UriOf(s));
        progress.Log("left alone (does not fit the layout): " + store->UriOf(s));
      }
    }
    if (options.dry_run) {
      LP_RETURN_IF_ERROR(DescribePlan(ctx, plan, result.plan));
      // What the next level would see: inputs gone, outputs in place.
      std::set<std::string> gone;
      for (const auto& t : plan.tasks) {
        for (const auto& in : t.inputs) gone.insert(in.key);
      }
      std::vector<ObjectInfo> next;
      for (const auto& o : listing) {
        if (!gone.count(o.key)) next.push_back(o);
      }
      for (const auto& t : plan.tasks) {
        if (!t.target) next.push_back({t.output_key, t.input_bytes, kPlannedTag, 0});
      }
      simulated = std::move(next);
      have_simulated = true;
      ctx.summary.tasks += static_cast<int64_t>(plan.tasks.size());
      continue;
    }
    int64_t files = 0, bytes = 0;
    for (const auto& t : plan.tasks) {
      files += static_cast<int64_t>(t.inputs.size());
      bytes += t.input_bytes;
    }
    progress.Planned(static_cast<int64_t>(plan.tasks.size()), files, bytes);
    auto statuses = ParallelForAll(plan.tasks.size(), options.parallel, [&](size_t i) {
      Status s = RunTask(ctx, plan.tasks[i], i);
      const auto& t = plan.tasks[i];
      progress.TaskDone(s.ok(), static_cast<int64_t>(t.inputs.size()), t.input_bytes, 0);
      if (s.ok()) {
        progress.Log(fmt::format("{} {}: merged {} file(s){}", GranularityName(level),
                                 store->UriOf(t.output_key), t.inputs.size(),
                                 t.target ? " into the existing file" : ""));
      }
      return s;
    });
    ctx.summary.tasks += static_cast<int64_t>(plan.tasks.size());
    for (size_t i = 0; i < statuses.size(); i++) {
      if (statuses[i].ok()) continue;
      ctx.summary.tasks_failed++;
      std::string line =
          fmt::format("{}: {}", store->UriOf(plan.tasks[i].output_key), statuses[i].message());
      ctx.summary.errors.push_back(line);
      progress.Log("failed: " + line);
    }
    // A coarser level built on a failed finer level would merge an incomplete period.
    if (ctx.summary.tasks_failed > 0) break;
  }
  ctx.summary.requests = store->Counters();
  ctx.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.summary = std::move(ctx.summary);
  return result;
}

}  // namespace lakepack
