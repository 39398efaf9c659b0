// RunJob: recover → plan → shard → claim → build → commit → report, for every command.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>

#include <unistd.h>

#include "commit/commit.h"
#include "commit/lease.h"
#include "common/parallel.h"
#include "common/strings.h"
#include "exec/job.h"
#include "exec/jobs.h"
#include "exec/staging.h"
#include "lakepack/uri.h"

namespace lakepack {

namespace fs = std::filesystem;

Result<std::string> TaskContext::Stage(ObjectStore& store, const ObjectInfo& object) {
  if (auto local = store.LocalPath(object.key)) {
    // No stat here: CheckPlanned saw it before the build and asks again after it, and a
    // file gone in between fails its reader with its name.
    read_in_place_ = true;
    return *local;
  }
  static std::atomic<int> counter{0};
  std::string path = fmt::format("{}/in{}-{}", dir_, counter++, BaseName(object.key));
  if (object.etag.empty()) {
    LP_RETURN_IF_ERROR(store.ReadToFile(object.key, path));
    return path;
  }
  Status st = store.ReadToFilePinned(object.key, object.etag, path);
  if (st.IsNotFound() || st.code() == StatusCode::kFailedPrecondition) {
    // Gone or changed since the plan: the task is stale, as if CheckPlanned had said so.
    std::lock_guard<std::mutex> lock(mu_);
    if (stale_.ok()) stale_ = st;
  }
  LP_RETURN_IF_ERROR(st);
  return path;
}

Status TaskContext::stale() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stale_;
}

Result<ObjectInfo> TaskContext::PublishNew(const std::string& key, const std::string& local_path,
                                           const std::string& tag) {
  if (leases_ && held_) {
    if (leases_->Lost(held_)) {
      return Status::FailedPrecondition(dst_.UriOf(key) + ": this run lost its lease on the task");
    }
  }
  PutOptions put;
  put.if_none_match = true;
  put.consume_source = true;
  put.tag = tag;
  if (!dst_.Capabilities().create_only_reliable) {
    LP_ASSIGN_OR_RETURN(auto now, dst_.Stat(key));
    if (now) return Status::AlreadyExists(dst_.UriOf(key) + ": exists; not overwriting it");
  }
  auto w = dst_.WriteFromFile(key, local_path, put);
  if (w.ok() || !w.status().IsAlreadyExists()) return w;
  // This task wrote it before (a retry, or a run that died after the write): it is done.
  LP_ASSIGN_OR_RETURN(auto now, dst_.Stat(key));
  if (now && !tag.empty() && now->tag == tag) {
    ::unlink(local_path.c_str());
    return *now;
  }
  return w;
}

namespace {

struct Run {
  Job& job;
  const RunOptions& options;
  ProgressSink& progress;
  std::shared_ptr<ObjectStore> dst;
  std::shared_ptr<ObjectStore> src;
  std::unique_ptr<LeaseManager> leases;
  std::unique_ptr<Committer> committer;
  std::unique_ptr<Spool> spool;
  std::mutex mu;
  RunSummary summary;
};

// Tells the user what recovery did, when it did anything. Returns the tasks it ended.
int LogRecovery(const RecoveryReport& report, ProgressSink& progress) {
  int n = report.rolled_back + report.rolled_forward;
  if (n > 0) {
    progress.Log(
        fmt::format("recovered {} unfinished task(s) from the journal: {} finished, {} rolled back",
                    n, report.rolled_forward, report.rolled_back));
  }
  if (report.live > 0) {
    progress.Log(
        fmt::format("{} task(s) in the journal belong to live runs; left to them", report.live));
  }
  if (report.uploads_aborted > 0) {
    progress.Log(fmt::format("aborted {} unfinished multipart upload(s) of dead runs",
                             report.uploads_aborted));
  }
  return n;
}

void AddWarnings(Run& run, const std::vector<std::string>& lines) {
  std::lock_guard<std::mutex> lock(run.mu);
  for (const auto& l : lines) {
    run.summary.warnings.push_back(l);
  }
}

void Skip(Run& run, const Task& task, const std::string& why) {
  std::lock_guard<std::mutex> lock(run.mu);
  std::string line = fmt::format("{}: {}", task.label, why);
  run.summary.tasks_skipped++;
  run.summary.skipped.push_back(line);
}

// A task whose input is gone (NotFound: another run merged it) or changed (FailedPrecondition)
// since the plan is skipped, not failed; any other status is returned.
Status SkipIfStale(Run& run, const Task& task, const Status& st) {
  if (st.IsNotFound()) {
    Skip(run, task, st.message() + " (done by another run?)");
    return Status::OK();
  }
  if (st.code() == StatusCode::kFailedPrecondition) {
    Skip(run, task, st.message() + "; run again to include it");
    return Status::OK();
  }
  return st;
}

// One task, start to end. Returns the task's failure (after rollback); skips are OK.
Status RunTask(Run& run, const Task& task, const std::string& dir) {
  HeldLeases* held = nullptr;
  std::optional<HeldLeases> claimed;
  if (run.leases) {
    Busy busy;
    LP_ASSIGN_OR_RETURN(claimed, run.leases->Claim(task.locks, task.id, &busy));
    if (!claimed) {
      Skip(run, task, fmt::format("leased by {} (lock {})", busy.holder, busy.lock));
      return Status::OK();
    }
    held = &*claimed;
    run.leases->Watch(held);
  }
  auto release = [&] {
    if (held) {
      run.leases->Unwatch(held);
      (void)run.leases->Release(*held);
    }
  };
  // A lease taken over from a dead run: that run's record comes first.
  if (held) {
    for (const auto& dead : held->taken_over) {
      RecoveryReport report;
      Status st = run.committer->RecoverTask(dead, report);
      if (!st.ok()) {
        release();
        return st;
      }
      AddWarnings(run, report.changed_inputs);
      std::lock_guard<std::mutex> lock(run.mu);
      run.summary.recovered += report.rolled_back + report.rolled_forward;
    }
  }
  auto txn = run.committer->Begin(task, held);
  Status st = txn->CheckPlanned();
  if (!st.ok()) {
    release();
    return SkipIfStale(run, task, st);
  }
  TaskContext tctx(*run.src, *run.dst, dir, run.leases.get(), held);
  auto built = run.job.Build(task, tctx);
  if (!built.ok() && !tctx.stale().ok()) {
    // A download pinned to its planned ETag found the input gone or changed: the same
    // verdict as CheckPlanned's before the build.
    txn.reset();
    release();
    return SkipIfStale(run, task, tctx.stale());
  }
  if (built.ok() && tctx.read_in_place()) {
    // Inputs read in place: make sure none changed before or while the engine read it.
    st = txn->CheckPlanned(Transaction::Check::kAfterBuild);
    if (!st.ok()) {
      txn.reset();
      release();
      return SkipIfStale(run, task, st);
    }
  }
  if (built.ok() && !built->outputs.empty()) {
    st = txn->Commit(built->outputs, built->ledger);
    if (!st.ok()) built = st;
  }
  if (!built.ok()) {
    txn.reset();  // rolls back
    release();
    return built.status();
  }
  std::vector<std::string> changed;
  if (txn->committed()) {
    Status after = run.job.AfterCommit(task, *txn);
    if (!after.ok()) run.progress.Log("warning: " + after.message());
    st = txn->Finish(changed);
  }
  AddWarnings(run, changed);
  {
    std::lock_guard<std::mutex> lock(run.mu);
    run.summary.files_in += static_cast<int64_t>(task.inputs.size() + task.reads.size());
    run.summary.bytes_in += task.input_bytes;
    run.summary.rows += built->rows;
    run.summary.files_out += built->files_out;
    run.summary.bytes_out += built->bytes_out;
    for (const auto& w : txn->written()) {
      run.summary.files_out++;
      run.summary.bytes_out += w.size;
    }
    if (!built->what.empty()) run.progress.Log(fmt::format("{}: {}", task.label, built->what));
  }
  txn.reset();
  release();
  // Committed: a failure of the deletes leaves the record for recovery to finish.
  return st;
}

// What `lakepack plan` shows of one task.
PlannedTask Planned(Run& run, int level, const Task& t) {
  PlannedTask p;
  p.command = t.command;
  p.level = level;
  p.id = t.id;
  p.label = t.label;
  p.shard_key = EffectiveShardKey(t);
  for (const auto& i : t.inputs) p.inputs.push_back({run.src->UriOf(i.key), i.size});
  for (const auto& i : t.reads) p.reads.push_back({run.src->UriOf(i.key), i.size});
  for (const auto& o : t.outputs) p.outputs.push_back(run.dst->UriOf(o.key));
  p.bytes = t.input_bytes;
  p.rows = run.job.PlannedRows(t);
  return p;
}

// The one place every planned task of a level passes by, in a real run and in a dry run: it
// keeps this shard's tasks, counts them and, in a dry run, describes them in the job's
// batches as they come.
class LevelSink final : public PlanSink {
 public:
  LevelSink(Run& run, int level, JobContext& ctx) : run_(run), level_(level), ctx_(ctx) {}

  Status Add(Task task) override {
    if (ShardOf(task, run_.options.shard_count) != run_.options.shard_index) return Status::OK();
    files_ += static_cast<int64_t>(task.inputs.size() + task.reads.size());
    bytes_ += task.input_bytes;
    if (!run_.options.dry_run) {
      mine_.push_back(std::move(task));
      return Status::OK();
    }
    run_.summary.tasks++;
    run_.summary.files_in += static_cast<int64_t>(task.inputs.size() + task.reads.size());
    run_.summary.bytes_in += task.input_bytes;
    batch_.tasks.push_back(std::move(task));
    size_t most = run_.job.DescribeBatch();
    if (most > 0 && batch_.tasks.size() >= most) return DescribePart();
    return Status::OK();
  }

  void Stray(const std::string& uri, const std::string& reason) override {
    run_.summary.stray.push_back(uri);
    batch_.stray.push_back(uri);
    batch_.stray_reason = reason;
    run_.progress.Log("left alone (" + reason + "): " + uri);
  }

  //! Dry run: describes what is left (also an empty plan: the job may report its level).
  Status FinishDryRun() { return DescribePart(); }

  std::vector<Task>& mine() { return mine_; }
  int64_t files() const { return files_; }
  int64_t bytes() const { return bytes_; }

 private:
  Status DescribePart() {
    Plan part;
    std::swap(part, batch_);
    LP_RETURN_IF_ERROR(run_.job.Describe(level_, part, ctx_));
    for (const auto& t : part.tasks) run_.progress.TaskPlanned(Planned(run_, level_, t));
    return Status::OK();
  }

  Run& run_;
  const int level_;
  JobContext& ctx_;
  std::vector<Task> mine_;  // a real run's tasks of this shard
  Plan batch_;              // a dry run's tasks not yet described
  int64_t files_ = 0, bytes_ = 0;
};

Status RunLevel(Run& run, int level) {
  JobContext ctx{*run.dst, *run.src, *run.spool, run.progress, run.options};
  LevelSink sink(run, level, ctx);
  LP_RETURN_IF_ERROR(run.job.StreamPlan(level, ctx, sink));
  if (run.options.dry_run) return sink.FinishDryRun();
  const std::vector<Task>& mine = sink.mine();
  run.progress.Planned(static_cast<int64_t>(mine.size()), sink.files(), sink.bytes());
  auto statuses = ParallelForAll(mine.size(), run.options.parallel, [&](size_t i) {
    const Task& t = mine[i];
    if (run.options.stop != nullptr && run.options.stop->load()) {
      Skip(run, t, "not started: stopping");
      return Status::OK();
    }
    std::string dir = run.spool->Sub(fmt::format("t{}-{}", level, i));
    Status s = RunTask(run, t, dir);
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (!s.ok()) run.job.Failed(t, s);
    run.progress.TaskDone(s.ok(), static_cast<int64_t>(t.inputs.size()), t.input_bytes, 0);
    return s;
  });
  run.summary.tasks += static_cast<int64_t>(mine.size());
  for (size_t i = 0; i < statuses.size(); i++) {
    if (statuses[i].ok()) continue;
    run.summary.tasks_failed++;
    std::string line = statuses[i].message();
    if (line.find(mine[i].label) == std::string::npos) {
      line = fmt::format("{}: {}", mine[i].label, line);
    }
    run.summary.errors.push_back(line);
    run.progress.Log("failed: " + line);
  }
  return Status::OK();
}

// Keeps a whole plan (CollectPlan).
class CollectingSink final : public PlanSink {
 public:
  explicit CollectingSink(Plan& plan) : plan_(plan) {}
  Status Add(Task task) override {
    plan_.tasks.push_back(std::move(task));
    return Status::OK();
  }
  void Stray(const std::string& uri, const std::string& reason) override {
    plan_.stray.push_back(uri);
    plan_.stray_reason = reason;
  }

 private:
  Plan& plan_;
};

}  // namespace

Status Job::StreamPlan(int level, JobContext& ctx, PlanSink& sink) {
  LP_ASSIGN_OR_RETURN(Plan plan, MakePlan(level, ctx));
  for (const auto& s : plan.stray) sink.Stray(s, plan.stray_reason);
  for (auto& t : plan.tasks) LP_RETURN_IF_ERROR(sink.Add(std::move(t)));
  return Status::OK();
}

Result<Plan> CollectPlan(Job& job, int level, JobContext& ctx) {
  Plan plan;
  CollectingSink sink(plan);
  LP_RETURN_IF_ERROR(job.StreamPlan(level, ctx, sink));
  return plan;
}

Result<RunSummary> RunJob(Job& job, const RunOptions& options, ProgressSink& progress) {
  auto t0 = std::chrono::steady_clock::now();
  if (options.shard_count < 1 || options.shard_index < 0 ||
      options.shard_index >= options.shard_count) {
    return Status::InvalidArgument("--shard: expected i/N with 0 <= i < N");
  }
  Run run{job, options, progress, job.Destination(), job.Source(), {}, {}, {}, {}, {}};
  run.summary.command = job.Name();
  LP_ASSIGN_OR_RETURN(run.spool, Spool::Create(options.spool_dir));

  std::unique_ptr<RunGuard> guard;
  Owner self = Owner::Self();
  Liveness liveness = Liveness::System();
  int64_t ttl = LeaseManager::DefaultTtlMs();
  if (!options.dry_run) {
    StoreCapabilities caps = run.dst->Capabilities();
    if (!caps.create_only_reliable) {
      // Leases need create-only writes; without them only one run at a time is safe.
      if (options.shard_count > 1) {
        return Status::FailedPrecondition(fmt::format(
            "--shard: {} does not honour create-only writes (probed), so shards cannot share "
            "it safely; run one lakepack at a time there",
            run.dst->Uri()));
      }
      LP_ASSIGN_OR_RETURN(guard, RunGuard::Acquire(run.dst, self, liveness, ttl));
    }
    run.leases = std::make_unique<LeaseManager>(run.dst, self, liveness, ttl);
  }
  run.committer = std::make_unique<Committer>(run.dst, run.src, run.leases.get());
  if (!options.dry_run) {
    LP_ASSIGN_OR_RETURN(RecoveryReport report, run.committer->Recover());
    run.summary.recovered = LogRecovery(report, progress);
    AddWarnings(run, report.changed_inputs);
  }
  for (int level = 0; level < job.Levels(); level++) {
    LP_RETURN_IF_ERROR(RunLevel(run, level));
    // A coarser level built on a failed finer level would merge an incomplete period.
    if (options.stop_after_failed_level && run.summary.tasks_failed > 0) break;
  }
  run.summary.requests = run.dst->Counters();
  // Two stores on one client (two buckets of one endpoint) count the same requests.
  if (run.src->CounterOwner() != run.dst->CounterOwner()) {
    for (const auto& [k, v] : run.src->Counters()) run.summary.requests[k] += v;
  }
  run.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::move(run.summary);
}

Result<std::shared_ptr<ObjectStore>> OpenStoreFor(const std::string& uri, bool create_root) {
  StoreOptions so;
  so.create_local_root = create_root;
  return OpenStore(uri, so);
}

Result<RecoveryReport> RecoverStore(const std::string& uri, ProgressSink& progress) {
  LP_ASSIGN_OR_RETURN(auto store, OpenStore(uri));
  std::unique_ptr<RunGuard> guard;
  Owner self = Owner::Self();
  Liveness liveness = Liveness::System();
  int64_t ttl = LeaseManager::DefaultTtlMs();
  if (!store->Capabilities().create_only_reliable) {
    LP_ASSIGN_OR_RETURN(guard, RunGuard::Acquire(store, self, liveness, ttl));
  }
  LeaseManager leases(store, self, liveness, ttl);
  Committer committer(store, store, &leases);
  LP_ASSIGN_OR_RETURN(RecoveryReport report, committer.Recover());
  LogRecovery(report, progress);
  for (const auto& w : report.changed_inputs) progress.Log("warning: " + w);
  return report;
}

}  // namespace lakepack
