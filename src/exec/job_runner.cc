// RunJob: recover → plan → shard → claim → build → commit → report, for every command.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

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
  std::lock_guard<std::mutex> lock(mu_);
  verified_.emplace(&store, object.key);
  return path;
}

Status TaskContext::Follow(const std::string& key, const std::string& local_path,
                           int64_t expected_size) {
  if (txn_ == nullptr) return Status::OK();
  return txn_->Follow(key, local_path, expected_size).status();
}

bool TaskContext::Verified(const ObjectStore& store, const ObjectInfo& object) const {
  std::lock_guard<std::mutex> lock(mu_);
  return verified_.count({&store, object.key}) > 0;
}

Status TaskContext::stale() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stale_;
}

void TaskContext::Advance(int64_t files, int64_t bytes, int64_t rows) {
  if (reported_) {
    reported_->files += files;
    reported_->bytes += bytes;
    reported_->rows += rows;
  }
  if (progress_) progress_->Advanced(files, bytes, rows);
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
  // This task wrote it before (a retry, or a run that died after the write): it is done.
  auto written_before = [&]() -> Result<std::optional<ObjectInfo>> {
    LP_ASSIGN_OR_RETURN(auto now, dst_.Stat(key));
    if (now && !tag.empty() && now->tag == tag) {
      ::unlink(local_path.c_str());
      return now;
    }
    if (now) return Status::AlreadyExists(dst_.UriOf(key) + ": exists; not overwriting it");
    return std::optional<ObjectInfo>();
  };
  if (!dst_.Capabilities().create_only_reliable) {
    LP_ASSIGN_OR_RETURN(auto before, written_before());
    if (before) return *before;
  }
  auto w = dst_.WriteFromFile(key, local_path, put);
  if (w.ok() || !w.status().IsAlreadyExists()) return w;
  LP_ASSIGN_OR_RETURN(auto before, written_before());
  if (before) return *before;
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
// `reported`: what the task told the progress sink while it ran, and (`rows`, on success) the
// rows it wrote in all, for the TaskDone that follows.
Status RunTask(Run& run, const Task& task, const std::string& dir, TaskContext::Reported& reported,
               int64_t& rows) {
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
  TaskContext tctx(*run.src, *run.dst, dir, run.leases.get(), held, txn.get(), &run.progress,
                   &reported);
  auto built = run.job.Build(task, tctx);
  if (!built.ok() && !tctx.stale().ok()) {
    // A download pinned to its planned ETag found the input gone or changed: the same
    // verdict as CheckPlanned's before the build.
    txn.reset();
    release();
    return SkipIfStale(run, task, tctx.stale());
  }
  if (built.ok()) {
    // Inputs read in place: make sure none changed before or while the engine read it; and
    // the remote inputs the build did not download pinned (none, for the jobs that stage
    // every input).
    st = txn->CheckPlanned(Transaction::Check::kAfterBuild,
                           [&](const ObjectInfo& i) { return tctx.Verified(*run.src, i); });
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
    rows = built->rows;
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

// The weight of a task held before it runs (RunOptions::held_plan_entries).
int64_t Entries(const Task& t) {
  return 1 + static_cast<int64_t>(t.inputs.size() + t.reads.size() + t.outputs.size());
}

// A real run's tasks of one level, run by `parallel` workers. Tasks are held until planning
// ends, or until they weigh more than the bound; from then on workers run them while planning
// goes on, and Push waits while the bound is full. Each task gets its number in plan order,
// which names its spool directory and orders the errors.
class LevelExecutor {
 public:
  LevelExecutor(Run& run, int level) : run_(run), level_(level) {}
  ~LevelExecutor() { Close(); }

  void Push(Task task) {
    std::unique_lock<std::mutex> lock(mu_);
    const int64_t w = Entries(task);
    if (started_) {
      room_.wait(lock, [&] { return held_ == 0 || held_ + w <= run_.options.held_plan_entries; });
    }
    held_ += w;
    queue_.push_back({next_++, std::move(task)});
    unreported_.tasks++;
    unreported_.files +=
        static_cast<int64_t>(queue_.back().task.inputs.size() + queue_.back().task.reads.size());
    unreported_.bytes += queue_.back().task.input_bytes;
    if (!started_ && held_ > run_.options.held_plan_entries) StartLocked();
    if (started_ && unreported_.tasks >= kReportEvery) ReportLocked();
    work_.notify_one();
  }

  //! Planning is over: runs what is left and waits for the workers.
  void Close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      if (!started_) StartLocked();
      if (unreported_.tasks > 0) ReportLocked();
      work_.notify_all();
    }
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  int64_t tasks() const { return next_; }
  //! The failed tasks, in plan order: (label, status).
  std::vector<std::pair<std::string, Status>> failures() {
    std::sort(failures_.begin(), failures_.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::pair<std::string, Status>> out;
    for (auto& f : failures_) out.push_back(std::move(f.second));
    return out;
  }

 private:
  struct Numbered {
    int64_t seq;
    Task task;
  };
  // Planned() is told of tasks as they are queued, in chunks once the workers run.
  static constexpr int64_t kReportEvery = 1024;

  void StartLocked() {
    started_ = true;
    ReportLocked();
    const int n = std::max(1, run_.options.parallel);
    for (int i = 0; i < n; i++) workers_.emplace_back([this] { Work(); });
  }
  void ReportLocked() {
    run_.progress.Planned(unreported_.tasks, unreported_.files, unreported_.bytes);
    unreported_ = {};
  }

  void Work() {
    while (true) {
      Numbered n;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_.wait(lock, [&] { return !queue_.empty() || closed_; });
        if (queue_.empty()) return;
        n = std::move(queue_.front());
        queue_.pop_front();
      }
      RunOne(n);
      {
        std::lock_guard<std::mutex> lock(mu_);
        held_ -= Entries(n.task);
      }
      room_.notify_all();
    }
  }

  void RunOne(const Numbered& n) {
    const Task& t = n.task;
    if (run_.options.stop != nullptr && run_.options.stop->load()) {
      Skip(run_, t, "not started: stopping");
      return;
    }
    std::string dir = run_.spool->Sub(fmt::format("t{}-{}", level_, n.seq));
    TaskContext::Reported reported;
    int64_t rows = 0;
    Status s = RunTask(run_, t, dir, reported, rows);
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (!s.ok()) run_.job.Failed(t, s);
    // A task may report more than it planned (pack's topped-up output is read too).
    run_.progress.TaskDone(
        s.ok(),
        std::max<int64_t>(0,
                          static_cast<int64_t>(t.inputs.size() + t.reads.size()) - reported.files),
        std::max<int64_t>(0, t.input_bytes - reported.bytes),
        std::max<int64_t>(0, rows - reported.rows));
    if (!s.ok()) {
      std::string line = s.message();
      if (line.find(t.label) == std::string::npos) line = fmt::format("{}: {}", t.label, line);
      std::lock_guard<std::mutex> lock(mu_);
      failures_.push_back({n.seq, {std::move(line), s}});
    }
  }

  Run& run_;
  const int level_;
  std::mutex mu_;
  std::condition_variable work_, room_;
  std::deque<Numbered> queue_;
  std::vector<std::thread> workers_;
  int64_t held_ = 0;  // entries queued or running
  int64_t next_ = 0;
  bool started_ = false, closed_ = false;
  struct {
    int64_t tasks = 0, files = 0, bytes = 0;
  } unreported_;
  std::vector<std::pair<int64_t, std::pair<std::string, Status>>> failures_;
};

// The one place every planned task of a level passes by, in a real run and in a dry run: it
// keeps this shard's tasks, counts them and either hands them to the executor (a real run) or
// describes them in the job's batches as they come (a dry run).
class LevelSink final : public PlanSink {
 public:
  LevelSink(Run& run, int level, JobContext& ctx, LevelExecutor* executor)
      : run_(run), level_(level), ctx_(ctx), executor_(executor) {}

  Status Add(Task task) override {
    if (ShardOf(task, run_.options.shard_count) != run_.options.shard_index) return Status::OK();
    if (executor_ != nullptr) {
      executor_->Push(std::move(task));
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

  void Note(const std::string& line) override {
    std::lock_guard<std::mutex> lock(run_.mu);
    run_.summary.warnings.push_back(line);
  }

  void Stray(const std::string& uri, const std::string& reason) override {
    std::lock_guard<std::mutex> lock(run_.mu);
    run_.summary.stray.push_back(uri);
    batch_.stray.push_back(uri);
    batch_.stray_reason = reason;
    run_.progress.Log("left alone (" + reason + "): " + uri);
  }

  //! Dry run: describes what is left (also an empty plan: the job may report its level).
  Status FinishDryRun() { return DescribePart(); }

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
  LevelExecutor* const executor_;  // a real run's
  Plan batch_;                     // a dry run's tasks not yet described
};

Status RunLevel(Run& run, int level) {
  JobContext ctx{*run.dst, *run.src, *run.spool, run.progress, run.options};
  if (run.options.dry_run) {
    LevelSink sink(run, level, ctx, nullptr);
    LP_RETURN_IF_ERROR(run.job.StreamPlan(level, ctx, sink));
    return sink.FinishDryRun();
  }
  LevelExecutor executor(run, level);
  LevelSink sink(run, level, ctx, &executor);
  // A planning failure after tasks started (a listing cut off) still lets the started ones
  // end: each is its own transaction, and the rest is planned again by the next run.
  Status planned = run.job.StreamPlan(level, ctx, sink);
  executor.Close();
  std::lock_guard<std::mutex> lock(run.mu);
  run.summary.tasks += executor.tasks();
  for (auto& [line, status] : executor.failures()) {
    run.summary.tasks_failed++;
    run.summary.errors.push_back(line);
    run.progress.Log("failed: " + line);
  }
  return planned;
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
  void Note(const std::string& line) override { plan_.notes.push_back(line); }

 private:
  Plan& plan_;
};

}  // namespace

Status Job::StreamPlan(int level, JobContext& ctx, PlanSink& sink) {
  LP_ASSIGN_OR_RETURN(Plan plan, MakePlan(level, ctx));
  for (const auto& s : plan.stray) sink.Stray(s, plan.stray_reason);
  for (const auto& n : plan.notes) sink.Note(n);
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
  LP_RETURN_IF_ERROR(CheckShard(options.shard_index, options.shard_count));
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
