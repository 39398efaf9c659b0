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
#include "common/parallel.h"
#include "common/strings.h"
#include "exec/engine_pool.h"
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
#include "store/listing.h"

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

// Dry run: the tasks one Describe call takes (RunLevel hands them on as they are planned), and
// the footers read at once. Each reader has an engine of its own, opened for one part and
// closed after it, so what the engines keep of the footers they read stays bounded.
constexpr size_t kDescribeTasks = 16;

// The roll-up on the engine: one level per grouping (several with --cascade), each planned by a
// RollupPlanner while the listing streams, one task per output file. The listing is narrowed to
// what the layout allows for the date range (Step): tables are found one directory level at a
// time, and only their time directories that can hold an input or an output of the range are
// listed.
class RollupJob final : public Job {
 public:
  RollupJob(const RollupOptions& o, std::vector<Granularity> levels, Period start, Period end,
            bool direct, Layout layout, Compression compression, std::shared_ptr<ObjectStore> store,
            RollupResult& result)
      : o_(o),
        levels_(std::move(levels)),
        direct_(direct),
        start_(start),
        end_(end),
        range_start_(start.StartSeconds()),
        range_end_(end.EndSeconds()),
        layout_(std::move(layout)),
        compression_(compression),
        store_(std::move(store)),
        root_name_(RootName(store_->Uri())),
        result_(result) {}

  std::string Name() const override { return "rollup"; }
  std::shared_ptr<ObjectStore> Destination() override { return store_; }
  std::shared_ptr<ObjectStore> Source() override { return store_; }
  int Levels() const override { return static_cast<int>(levels_.size()); }

  Result<Plan> MakePlan(int level, JobContext& ctx) override {
    return CollectPlan(*this, level, ctx);
  }

  Status StreamPlan(int level, JobContext& ctx, PlanSink& sink) override {
    const Granularity grouping = levels_[level];
    const bool dry = ctx.options.dry_run;
    const bool next_level = level + 1 < Levels();
    RollupPlanOptions po;
    po.grouping = grouping;
    po.start_day = start_;
    po.end_day = end_;
    po.root_name = root_name_;
    po.direct = direct_;
    // A dry run's outputs of this level that are new files: the next level plans on them.
    std::map<std::string, int64_t> planned_now;
    RollupPlanner planner(layout_, po, [&](RollupTask rt) {
      if (dry && next_level && !rt.target) planned_now.emplace(rt.output_key, rt.input_bytes);
      return sink.Add(ToTask(std::move(rt)));
    });
    // A dry run's later level sees the levels planned before as if they had run: their inputs
    // gone, their new outputs in place (merged into the listing in key order).
    auto planned = planned_.begin();
    auto add_planned_before = [&](const std::string* key) -> Status {
      for (; planned != planned_.end() && (key == nullptr || planned->first < *key); ++planned) {
        if (GoneBefore(level, planned->first)) continue;
        LP_RETURN_IF_ERROR(
            planner.Add(ObjectInfo{planned->first, planned->second, kPlannedTag, 0, "", {}}));
      }
      return Status::OK();
    };
    LP_RETURN_IF_ERROR(WalkStore(
        *store_, "",
        [&](const std::string& dir) { return Step(dir, direct_ ? Granularity::kHour : grouping); },
        [&](ObjectInfo& o) -> Status {
          if (dry && level > 0) {
            LP_RETURN_IF_ERROR(add_planned_before(&o.key));
            if (GoneBefore(level, o.key)) return Status::OK();
          }
          return planner.Add(o);
        }));
    LP_RETURN_IF_ERROR(add_planned_before(nullptr));
    LP_RETURN_IF_ERROR(planner.Finish());
    if (level == 0) {
      for (const auto& s : planner.stray()) sink.Stray(store_->UriOf(s), "does not fit the layout");
    }
    for (const auto& [key, period] : planner.left_out()) {
      sink.Note(fmt::format(
          "{}: left out: its period {} only overlaps {}..{} (a file is merged only when its "
          "whole period lies inside the range)",
          store_->UriOf(key), period.ToString(), start_.ToString(), end_.ToString()));
    }
    if (!finer_dirs_.empty()) {
      const std::string input(GranularityName(Finer(grouping)));
      sink.Note(fmt::format(
          "{} director(ies) of files finer than {} inside the range left unmerged ({}{}): "
          "--grouping {} merges {} files; add --cascade to merge the finer files too",
          finer_dirs_.size(), input, store_->UriOf(*finer_dirs_.begin()),
          finer_dirs_.size() > 1 ? ", ..." : "", GranularityName(grouping), input));
      finer_dirs_.clear();
    }
    planned_.merge(planned_now);
    return Status::OK();
  }

  size_t DescribeBatch() const override { return kDescribeTasks; }

  Status Describe(int level, const Plan& plan, JobContext& ctx) override {
    // The footers of this part of the plan, read a few at once.
    struct Footer {
      size_t task;
      const ObjectInfo* object;
    };
    std::vector<Footer> footers;
    std::vector<int64_t> rows(plan.tasks.size(), 0);
    described_rows_.clear();
    for (size_t i = 0; i < plan.tasks.size(); i++) {
      const Task& t = plan.tasks[i];
      auto count = [&](const ObjectInfo& f) {
        if (f.etag == kPlannedTag) {  // an output of the level planned before this one
          rows[i] += planned_rows_[f.key];
        } else {
          footers.push_back({i, &f});
        }
      };
      for (const auto& in : t.inputs) count(in);
      if (t.outputs[0].replaces) count(*t.outputs[0].replaces);
    }
    EngineOptions eo = TaskEngineOptions(o_, ctx.spool.path());
    eo.threads = 1;  // footers are small; the readers are the parallelism
    EnginePool engines(eo, ctx.spool.path() + "/describe-engine");
    std::vector<int64_t> footer_rows(footers.size(), 0);
    // Every footer is asked, so that one unreadable file marks its own output as failing (a
    // real run fails only that task) and the rest of the plan still shows.
    std::vector<Status> read =
        ParallelForAll(footers.size(), std::max(1, o_.parallel), [&](size_t k) {
          auto engine = engines.Take();
          if (!engine.ok()) return engine.status();
          auto info = InspectParquetObject(*store_, *footers[k].object, **engine, ctx.spool.path());
          engines.Give(std::move(*engine));
          if (!info.ok()) return info.status();
          footer_rows[k] = info->rows;
          return Status::OK();
        });
    std::vector<std::string> errors(plan.tasks.size());
    for (size_t k = 0; k < footers.size(); k++) {
      rows[footers[k].task] += footer_rows[k];
      if (!read[k].ok() && errors[footers[k].task].empty()) {
        errors[footers[k].task] = read[k].message();
      }
    }
    for (size_t i = 0; i < plan.tasks.size(); i++) {
      const Task& t = plan.tasks[i];
      const TaskOutput& out = t.outputs[0];
      PlannedOutput p;
      auto placed = layout_.Match(out.key, root_name_);
      p.level = std::string(GranularityName(placed ? placed->level : levels_[level]));
      p.output = store_->UriOf(out.key);
      p.merges_existing = out.replaces.has_value();
      // Bytes and rows count the same files: the inputs and the existing output merged into.
      p.bytes = t.input_bytes + (out.replaces ? out.replaces->size : 0);
      p.rows = rows[i];
      p.error = errors[i];
      if (level + 1 < Levels()) planned_rows_[out.key] = p.rows;
      described_rows_[t.id] = p.rows;
      p.inputs.reserve(t.inputs.size());
      for (const auto& in : t.inputs) p.inputs.push_back(store_->UriOf(in.key));
      result_.plan.push_back(std::move(p));
    }
    return Status::OK();
  }

  // Called for the tasks of the part Describe has just read.
  int64_t PlannedRows(const Task& task) override {
    auto it = described_rows_.find(task.id);
    return it == described_rows_.end() ? task.input_rows : it->second;
  }

  Result<BuildResult> Build(const Task& task, TaskContext& ctx) override {
    const TaskOutput& target = task.outputs[0];
    LP_ASSIGN_OR_RETURN(auto engine, FormatEngine::Open(TaskEngineOptions(o_, ctx.dir())));
    // The files to merge, in row order: the existing target first, then the inputs.
    std::vector<ObjectInfo> files;
    if (target.replaces) files.push_back(*target.replaces);
    files.insert(files.end(), task.inputs.begin(), task.inputs.end());
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
    auto infos = engine->InspectParquetFiles(local);
    if (!infos.ok()) {
      Status st = infos.status();
      for (size_t i = 0; i < files.size(); i++) {
        st = ShowPathAs(st, local[i], store_->UriOf(files[i].key));
      }
      return st;
    }
    for (size_t i = 0; i < files.size(); i++) {
      expected_rows += (*infos)[i].rows;
      schemas.emplace_back(store_->UriOf(files[i].key), std::move((*infos)[i].columns));
    }
    LP_RETURN_IF_ERROR(CheckSchemasUnite(schemas));
    WriteSpec out;
    out.path = ctx.dir() + "/merged.parquet";
    out.compression = compression_;
    // On S3 the merged file goes up while DuckDB writes it (the merge and the upload overlap);
    // the commit then completes that upload. About the inputs' size: no compression changes.
    LP_RETURN_IF_ERROR(ctx.Follow(target.key, out.path, task.input_bytes));
    LP_ASSIGN_OR_RETURN(int64_t rows, engine->Copy(ReadSpec{local, FileFormat::kParquet}, out));
    // Verify the local output before anything becomes visible: its footer must count every row.
    auto out_info = engine->Inspect(out.path, FileFormat::kParquet);
    if (!out_info.ok() || rows != expected_rows || out_info->rows != expected_rows) {
      return Status::Corruption(fmt::format("{}: merged file has {} rows, inputs have {}",
                                            store_->UriOf(target.key),
                                            out_info.ok() ? out_info->rows : -1, expected_rows));
    }
    BuildResult br;
    br.outputs.push_back({target.key, out.path, expected_rows, target.replaces});
    br.rows = expected_rows;
    auto placed = layout_.Match(target.key, root_name_);
    br.what = fmt::format("{}: merged {} file(s){}",
                          placed ? GranularityName(placed->level) : std::string_view("rollup"),
                          task.inputs.size(), target.replaces ? " into the existing file" : "");
    return br;
  }

 private:
  Task ToTask(RollupTask rt) const {
    Task t;
    t.command = "rollup";
    t.label = store_->UriOf(rt.output_key);
    // The output, and the inputs where they are another level's outputs (an hour file that an
    // hour task may be rewriting while a day task would merge it). Minute files are no task's
    // output: the output's lock covers them. A direct cascade also locks the files of the
    // levels it skips, which need not exist: the keys another run's finer roll-up (an hour
    // task over the same minute files) would write, and lock.
    std::set<std::string> locks = {rt.output_key};
    for (size_t i = 0; i < rt.inputs.size(); i++) {
      const Granularity level = rt.input_levels[i];
      if (level > Granularity::kMinute) locks.insert(rt.inputs[i].key);
      for (Granularity g = Coarser(level); g < rt.period.granularity; g = Coarser(g)) {
        locks.insert(layout_.MergedKey(rt.prefix, rt.table, rt.input_periods[i].Truncate(g)));
      }
    }
    t.locks.push_back(rt.output_key);
    for (const auto& l : locks) {
      if (l != rt.output_key) t.locks.push_back(l);
    }
    t.shard_key = rt.output_key;
    t.input_bytes = rt.input_bytes;
    t.inputs = std::move(rt.inputs);
    t.outputs.push_back({std::move(rt.output_key), std::move(rt.target), -1});
    t.id = TaskId(t);
    return t;
  }

  bool InRange(const Period& p) const {
    return p.StartSeconds() >= range_start_ && p.EndSeconds() <= range_end_;
  }

  // What the walk lists below directory `dir` for a level grouped by `grouping`. Inputs (files
  // of the level finer than the grouping) sit in time directories of the grouping's
  // granularity, outputs one directory up; so a directory finer than that, or whose period
  // misses the range, holds neither.
  WalkStep Step(const std::string& dir, Granularity grouping) const {
    if (dir == kLakepackPrefix) return WalkStep::kSkip;  // the journal and leases
    // Only names place files in time: everything is listed, as before.
    if (!layout_.HasTimeDirectories()) return WalkStep::kAll;
    auto p = layout_.DirPeriod(dir);
    if (!p) return WalkStep::kWalk;  // a table, or a directory above tables
    // A time directory of no real period (month 13): nothing below fits the layout, and it is
    // listed to report it.
    if (!p->Validate().ok()) return WalkStep::kAll;
    if (p->EndSeconds() <= range_start_ || p->StartSeconds() >= range_end_) {
      return WalkStep::kSkip;
    }
    if (p->granularity < grouping) {
      // Finer files than the grouping takes (a day's hour directories of minute files for
      // --grouping day): left unmerged without --cascade, which the run says.
      if (Levels() == 1 && !direct_ && p->StartSeconds() >= range_start_ &&
          p->EndSeconds() <= range_end_) {
        std::lock_guard<std::mutex> lock(finer_mu_);
        finer_dirs_.insert(dir);
      }
      return WalkStep::kSkip;
    }
    // Hour tasks: a day's hour directories and hour files in one listing, not one per hour.
    if (grouping == Granularity::kHour && p->granularity == Granularity::kDay) {
      return WalkStep::kAll;
    }
    return WalkStep::kWalk;
  }

  // Dry run: whether a level planned before `level` took `key` as an input.
  bool GoneBefore(int level, const std::string& key) const {
    if (key.rfind(kLakepackPrefix, 0) == 0) return false;
    auto m = layout_.Match(key, root_name_);
    if (!m || !InRange(m->period)) return false;
    for (int j = 0; j < level; j++) {
      if (m->level == Finer(levels_[j])) return true;
    }
    return false;
  }

  const RollupOptions o_;  // a copy: the job may outlive the options it was made from
  const std::vector<Granularity> levels_;
  const bool direct_;  // --cascade planned as one level (RollupPlanOptions::direct)
  const Period start_, end_;
  const int64_t range_start_, range_end_;
  const Layout layout_;
  const Compression compression_;
  const std::shared_ptr<ObjectStore> store_;
  const std::string root_name_;
  RollupResult& result_;
  // Dry run: the new files of the levels planned so far (key → bytes), and the rows of every
  // planned output.
  std::map<std::string, int64_t> planned_;
  std::map<std::string, int64_t> planned_rows_;
  // Time directories finer than a plain (non-cascade) grouping that the walk skipped inside
  // the range, for the note that their files stay unmerged.
  mutable std::mutex finer_mu_;
  mutable std::set<std::string> finer_dirs_;
  std::map<std::string, int64_t> described_rows_;  // task id → rows, of the last part described
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

  if (options.by_level && !options.cascade) {
    return Status::InvalidArgument("--by-level needs --cascade");
  }
  // A cascade goes straight to its grouping in one level unless each level is to be committed
  // before the next; without a level to skip (an hour grouping) the two are the same.
  const bool direct = options.cascade && !options.by_level && grouping > Granularity::kHour;
  std::vector<Granularity> levels;
  if (options.cascade && !direct) {
    for (int g = static_cast<int>(Granularity::kHour); g <= static_cast<int>(grouping); g++) {
      levels.push_back(static_cast<Granularity>(g));
    }
  } else {
    levels.push_back(grouping);
  }
  LP_ASSIGN_OR_RETURN(auto store, open(options.src, false));
  return std::unique_ptr<Job>(new RollupJob(options, levels, start, end, direct, std::move(layout),
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
