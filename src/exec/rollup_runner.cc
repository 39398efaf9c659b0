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

#include "common/parallel.h"
#include "common/strings.h"
#include "exec/job.h"
#include "exec/jobs.h"
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

// The roll-up on the engine: one level per grouping (several with --cascade), each planned by
// PlanRollup from a fresh listing, one task per output file.
class RollupJob final : public Job {
 public:
  RollupJob(const RollupOptions& o, std::vector<Granularity> levels, Period start, Period end,
            Layout layout, Compression compression, std::shared_ptr<ObjectStore> store,
            RollupResult& result)
      : o_(o),
        levels_(std::move(levels)),
        start_(start),
        end_(end),
        layout_(std::move(layout)),
        compression_(compression),
        store_(std::move(store)),
        result_(result) {}

  std::string Name() const override { return "rollup"; }
  std::shared_ptr<ObjectStore> Destination() override { return store_; }
  std::shared_ptr<ObjectStore> Source() override { return store_; }
  int Levels() const override { return static_cast<int>(levels_.size()); }

  Result<Plan> MakePlan(int level, JobContext& ctx) override {
    std::vector<ObjectInfo> listing;
    if (ctx.options.dry_run && level > 0) {
      listing = simulated_;  // a dry run's next level sees the previous level as planned
    } else {
      LP_ASSIGN_OR_RETURN(listing, store_->ListAll(""));
    }
    RollupPlanOptions po;
    po.grouping = levels_[level];
    po.start_day = start_;
    po.end_day = end_;
    po.root_name = RootName(store_->Uri());
    RollupPlan rp = PlanRollup(listing, layout_, po);
    Plan plan;
    if (level == 0) {
      for (const auto& s : rp.stray) plan.stray.push_back(store_->UriOf(s));
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& rt : rp.tasks) {
      Task t = ToTask(rt);
      tasks_[t.id] = rt;
      plan.tasks.push_back(std::move(t));
    }
    if (ctx.options.dry_run) Simulate(listing, rp);
    return plan;
  }

  Status Describe(int level, const Plan& plan, JobContext& ctx) override {
    LP_ASSIGN_OR_RETURN(auto engine, FormatEngine::Open(TaskEngineOptions(o_, ctx.spool.path())));
    for (const auto& t : plan.tasks) {
      const RollupTask& rt = tasks_.at(t.id);
      PlannedOutput p;
      p.level = std::string(GranularityName(levels_[level]));
      p.output = store_->UriOf(rt.output_key);
      p.merges_existing = rt.target.has_value();
      p.bytes = rt.input_bytes;
      std::vector<ObjectInfo> files = rt.inputs;
      if (rt.target) files.push_back(*rt.target);
      // One engine is single-threaded; footers are small, so this stays quick.
      for (const auto& f : files) {
        if (f.etag == kPlannedTag) {  // an output of the level planned before this one
          p.rows += planned_rows_[f.key];
          continue;
        }
        LP_ASSIGN_OR_RETURN(FileInfo info,
                            InspectParquetObject(*store_, f, *engine, ctx.spool.path()));
        p.rows += info.rows;
      }
      planned_rows_[rt.output_key] = p.rows;
      for (const auto& in : rt.inputs) p.inputs.push_back(store_->UriOf(in.key));
      result_.plan.push_back(std::move(p));
    }
    return Status::OK();
  }

  int64_t PlannedRows(const Task& task) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = planned_rows_.find(tasks_.at(task.id).output_key);
    return it == planned_rows_.end() ? task.input_rows : it->second;
  }

  Result<BuildResult> Build(const Task& task, TaskContext& ctx) override {
    RollupTask rt;
    {
      std::lock_guard<std::mutex> lock(mu_);
      rt = tasks_.at(task.id);
    }
    LP_ASSIGN_OR_RETURN(auto engine, FormatEngine::Open(TaskEngineOptions(o_, ctx.dir())));
    // The files to merge, in row order: the existing target first, then the inputs.
    std::vector<ObjectInfo> files;
    if (rt.target) files.push_back(*rt.target);
    files.insert(files.end(), rt.inputs.begin(), rt.inputs.end());
    std::vector<std::string> local(files.size());
    LP_RETURN_IF_ERROR(ParallelFor(files.size(), o_.io_parallel, [&](size_t i) {
      auto p = ctx.Stage(*store_, files[i]);
      if (!p.ok()) return p.status();
      local[i] = *p;
      return Status::OK();
    }));
    // Footers: rows to expect and columns to unite.
    int64_t expected_rows = 0;
    std::vector<std::pair<std::string, std::vector<ColumnInfo>>> schemas;
    for (size_t i = 0; i < files.size(); i++) {
      auto info = engine->Inspect(local[i], FileFormat::kParquet);
      if (!info.ok()) return ShowPathAs(info.status(), local[i], store_->UriOf(files[i].key));
      expected_rows += info->rows;
      schemas.emplace_back(store_->UriOf(files[i].key), info->columns);
    }
    LP_RETURN_IF_ERROR(CheckSchemasUnite(schemas));
    WriteSpec out;
    out.path = ctx.dir() + "/merged.parquet";
    out.compression = compression_;
    LP_ASSIGN_OR_RETURN(int64_t rows, engine->Copy(ReadSpec{local, FileFormat::kParquet}, out));
    // Verify the local output before anything becomes visible: its footer must count every row.
    auto out_info = engine->Inspect(out.path, FileFormat::kParquet);
    if (!out_info.ok() || rows != expected_rows || out_info->rows != expected_rows) {
      return Status::Corruption(fmt::format("{}: merged file has {} rows, inputs have {}",
                                            store_->UriOf(rt.output_key),
                                            out_info.ok() ? out_info->rows : -1, expected_rows));
    }
    BuildResult br;
    br.outputs.push_back({rt.output_key, out.path, expected_rows, rt.target});
    br.rows = expected_rows;
    br.what = fmt::format("{}: merged {} file(s){}", GranularityName(rt.period.granularity),
                          rt.inputs.size(), rt.target ? " into the existing file" : "");
    return br;
  }

 private:
  Task ToTask(const RollupTask& rt) const {
    Task t;
    t.command = "rollup";
    t.label = store_->UriOf(rt.output_key);
    t.inputs = rt.inputs;
    t.outputs.push_back({rt.output_key, rt.target, -1});
    // The output, and the inputs where they are another level's outputs (an hour file that an
    // hour task may be rewriting while a day task would merge it). Minute files are no task's
    // output: the output's lock covers them.
    t.locks.push_back(rt.output_key);
    if (rt.period.granularity > Granularity::kHour) {
      for (const auto& in : rt.inputs) t.locks.push_back(in.key);
    }
    t.shard_key = rt.output_key;
    t.input_bytes = rt.input_bytes;
    t.id = TaskId(t);
    return t;
  }

  // What the next level of a dry run would see: inputs gone, outputs in place.
  void Simulate(const std::vector<ObjectInfo>& listing, const RollupPlan& rp) {
    std::set<std::string> gone;
    for (const auto& t : rp.tasks) {
      for (const auto& in : t.inputs) gone.insert(in.key);
    }
    std::vector<ObjectInfo> next;
    for (const auto& o : listing) {
      if (!gone.count(o.key)) next.push_back(o);
    }
    for (const auto& t : rp.tasks) {
      if (!t.target) next.push_back({t.output_key, t.input_bytes, kPlannedTag, 0, ""});
    }
    simulated_ = std::move(next);
  }

  const RollupOptions& o_;
  const std::vector<Granularity> levels_;
  const Period start_, end_;
  const Layout layout_;
  const Compression compression_;
  const std::shared_ptr<ObjectStore> store_;
  RollupResult& result_;
  std::mutex mu_;
  std::map<std::string, RollupTask> tasks_;  // by task id
  std::vector<ObjectInfo> simulated_;
  std::map<std::string, int64_t> planned_rows_;  // dry run: rows of outputs planned so far
};

}  // namespace

Result<std::unique_ptr<Job>> NewRollupJob(const RollupOptions& options, const StoreOpener& open,
                                          RollupResult& result) {
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

  std::vector<Granularity> levels;
  if (options.cascade) {
    for (int g = static_cast<int>(Granularity::kHour); g <= static_cast<int>(grouping); g++) {
      levels.push_back(static_cast<Granularity>(g));
    }
  } else {
    levels.push_back(grouping);
  }
  LP_ASSIGN_OR_RETURN(auto store, open(options.src, false));
  return std::unique_ptr<Job>(new RollupJob(options, levels, start, end, std::move(layout),
                                            options.compression, std::move(store), result));
}

Result<RollupResult> Rollup(const RollupOptions& options, ProgressSink& progress) {
  RollupResult result;
  LP_ASSIGN_OR_RETURN(auto job, NewRollupJob(options, OpenStoreFor, result));
  RunOptions ro;
  ro.dry_run = options.dry_run;
  ro.parallel = options.parallel;
  ro.shard_index = options.shard.index;
  ro.shard_count = options.shard.count;
  ro.spool_dir = options.spool_dir;
  LP_ASSIGN_OR_RETURN(result.summary, RunJob(*job, ro, progress));
  return result;
}

}  // namespace lakepack
