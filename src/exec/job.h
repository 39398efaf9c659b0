// Job: what one command contributes to the engine, like a DuckDB operator. A job plans tasks
// (MakePlan: it gathers a listing and whatever else planning reads, then calls its pure
// planner in plan/) and builds one task's outputs as local files (Build: engine work only).
// RunJob does the rest, the same way for every command: recover, plan, shard, claim leases,
// build, commit, report. See docs/architecture.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "commit/commit.h"
#include "exec/spool.h"
#include "lakepack/object_store.h"
#include "lakepack/run.h"
#include "lakepack/status.h"
#include "plan/task.h"

namespace lakepack {

//! How a run goes, whatever the command.
struct RunOptions {
  bool dry_run = false;
  int parallel = 1;  // tasks at once
  int shard_index = 0;
  int shard_count = 1;
  std::string spool_dir;  // empty: $TMPDIR or /tmp
  //! A later level (rollup --cascade) is not planned after a level with a failed task.
  bool stop_after_failed_level = true;
  //! When set (a signal, for lakepack watch), tasks not yet started are skipped ("stopped");
  //! tasks in hand finish or roll back.
  const std::atomic<bool>* stop = nullptr;
  //! A real run holds at most this many planned entries (a task, each input, read and output
  //! one) not yet started: when planning has more, tasks start while it goes on, so that a
  //! plan of millions of objects is never held whole. A plan within the bound runs as before:
  //! planned whole, then run.
  int64_t held_plan_entries = int64_t{1} << 17;
};

//! What RunJob lends a job while it plans.
struct JobContext {
  ObjectStore& dst;
  ObjectStore& src;
  Spool& spool;
  ProgressSink& progress;
  const RunOptions& options;
};

//! What one task built.
struct BuildResult {
  std::vector<LocalOutput> outputs;
  //! Small documents committed with the outputs (pack's manifest): kept in the journal record,
  //! written after the commit point, before the inputs are deleted.
  std::vector<LedgerDoc> ledger;
  int64_t rows = 0;  // rows written (all outputs)
  //! Files the task published itself (PublishNew), beside `outputs`.
  int64_t files_out = 0;
  int64_t bytes_out = 0;
  //! What the log line says the task did ("merged 60 file(s)").
  std::string what;
};

//! What RunJob lends a job while it builds one task.
class TaskContext {
 public:
  //! What a task has reported done while it runs (Advance), so that the run's TaskDone
  //! reports only the rest.
  struct Reported {
    std::atomic<int64_t> files{0}, bytes{0}, rows{0};
  };
  TaskContext(ObjectStore& src, ObjectStore& dst, std::string dir, LeaseManager* leases,
              HeldLeases* held, Transaction* txn = nullptr, ProgressSink* progress = nullptr,
              Reported* reported = nullptr)
      : src_(src),
        dst_(dst),
        dir_(std::move(dir)),
        leases_(leases),
        held_(held),
        txn_(txn),
        progress_(progress),
        reported_(reported) {}

  //! Part of the task's work is done: `files` inputs of `bytes` bytes read, `rows` rows
  //! written (any of them 0). Moves the progress bar; safe from several threads.
  void Advance(int64_t files, int64_t bytes, int64_t rows);

  //! The task's private scratch directory (removed after the task).
  const std::string& dir() const { return dir_; }
  ObjectStore& src() { return src_; }
  ObjectStore& dst() { return dst_; }

  //! A local file holding `object` as planned: the store's own file where it has one (and
  //! the commit then re-checks its ETag), else a download pinned to its ETag, so that a
  //! changed input fails the task before anything is written.
  Result<std::string> Stage(ObjectStore& store, const ObjectInfo& object);
  //! For jobs whose task is a stream of new files (export): publishes one finished file now,
  //! create-only and tagged, after proving the task's leases are still held.
  Result<ObjectInfo> PublishNew(const std::string& key, const std::string& local_path,
                                const std::string& tag);

  //! Call just before the engine starts writing output `key` of the task at `local_path`
  //! (which must not exist yet): where the destination can, the file goes up while it is
  //! written, and the commit completes that upload (Transaction::Follow). Whether it does is
  //! the store's choice, by `expected_size` among others; the build goes on the same either way.
  Status Follow(const std::string& key, const std::string& local_path, int64_t expected_size);

  //! Whether some input was used in place (its ETag must be checked again before commit).
  bool read_in_place() const { return read_in_place_; }
  //! Whether `object` of `store` was downloaded pinned to its planned ETag by Stage: then the
  //! GET itself proved it unchanged, and the commit need not ask again.
  bool Verified(const ObjectStore& store, const ObjectInfo& object) const;
  //! Why the task is stale, when a pinned download found an input gone (NotFound) or changed
  //! (FailedPrecondition) since the plan; OK otherwise. The engine then skips the task.
  Status stale() const;

 private:
  ObjectStore& src_;
  ObjectStore& dst_;
  std::string dir_;
  LeaseManager* leases_;
  HeldLeases* held_;
  Transaction* txn_;
  ProgressSink* progress_;
  Reported* reported_;
  std::atomic<bool> read_in_place_{false};
  mutable std::mutex mu_;
  Status stale_;
  std::set<std::pair<const ObjectStore*, std::string>> verified_;  // (store, key)
};

//! Where a job's planning hands its tasks, one at a time, as its listing streams: RunLevel
//! keeps this shard's tasks (and, in a dry run, describes them as they come), so that no plan
//! has to be held whole.
class PlanSink {
 public:
  virtual ~PlanSink() = default;
  //! One planned task, complete. A failure stops the planning and is the level's error.
  virtual Status Add(Task task) = 0;
  //! A URI the planner left alone, and why ("does not fit the layout").
  virtual void Stray(const std::string& uri, const std::string& reason) = 0;
  //! Something about the plan the user must be told, neither a task nor a stray (rollup: a file
  //! left out because its period only overlaps the range): a warning of the run, and of a dry
  //! run.
  virtual void Note(const std::string& line) = 0;
};

class Job {
 public:
  virtual ~Job() = default;

  //! "rollup", "pack", "export".
  virtual std::string Name() const = 0;
  //! Where outputs, journal and leases live; and where inputs come from.
  virtual std::shared_ptr<ObjectStore> Destination() = 0;
  virtual std::shared_ptr<ObjectStore> Source() = 0;

  //! Levels run one after the other, each planned after the previous one committed (rollup
  //! --cascade: hour, then day, ...). Most jobs have one.
  virtual int Levels() const { return 1; }
  //! The tasks of `level`. A dry run plans too (and the job may simulate the previous level).
  virtual Result<Plan> MakePlan(int level, JobContext& ctx) = 0;
  //! The tasks of `level`, handed to `sink` as they are planned (rollup: while the listing
  //! streams). The default hands on MakePlan's tasks and strays.
  virtual Status StreamPlan(int level, JobContext& ctx, PlanSink& sink);
  //! Dry run: at most this many tasks per Describe call, which then gets consecutive parts of
  //! the level's plan, in order, as they are planned; 0 (the default): the whole plan in one
  //! call.
  virtual size_t DescribeBatch() const { return 0; }
  //! Dry run: record what the plan would do (job-specific results). Default: nothing.
  virtual Status Describe(int level, const Plan& plan, JobContext& ctx) {
    (void)level, (void)plan, (void)ctx;
    return Status::OK();
  }
  //! Dry run, after Describe: the rows a planned task reads, where footers told (default:
  //! Task::input_rows).
  virtual int64_t PlannedRows(const Task& task) { return task.input_rows; }
  //! The engine work of one task: its outputs as local files in ctx.dir().
  virtual Result<BuildResult> Build(const Task& task, TaskContext& ctx) = 0;
  //! After a task's commit point, before its inputs are deleted: caches that are not the
  //! truth (pack's manifest). A failure is logged, not fatal.
  virtual Status AfterCommit(const Task& task, const Transaction& txn) {
    (void)task, (void)txn;
    return Status::OK();
  }
  //! A task failed for good (after its rollback): a job may note it.
  virtual void Failed(const Task& task, const Status& status) { (void)task, (void)status; }
};

//! A level's whole plan through StreamPlan (for jobs whose MakePlan streams, and for tests).
Result<Plan> CollectPlan(Job& job, int level, JobContext& ctx);

//! The one loop under every command (see job.h's header comment). Returns the summary;
//! failed tasks are in summary.errors and do not fail the call; errors before any task runs
//! (recovery, listing, usage) do.
Result<RunSummary> RunJob(Job& job, const RunOptions& options, ProgressSink& progress);

//! `lakepack recover`: finishes or rolls back what dead runs left in `uri`'s journal.
Result<RecoveryReport> RecoverStore(const std::string& uri, ProgressSink& progress);

}  // namespace lakepack
