// Unit tests of the engine without a network or a lake on disk: every job's MakePlan over a
// MemoryStore, and RunJob's loop (commit, skip of a leased task, shards, rollback) with a job
// made here.
#include "exec/jobs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "commit/lease.h"
#include "exec/job.h"
#include "store/memory_store.h"
#include "unit/scratch_dir.h"

namespace lakepack {
namespace {

namespace fs = std::filesystem;

using Scratch = test_util::ScratchDir;

struct Planning {
  Scratch scratch;
  NullProgress progress;
  RunOptions options;
  std::unique_ptr<Spool> spool;
  Planning() {
    auto made = Spool::Create(scratch.path());
    spool = std::move(*made);
  }
  JobContext Context(ObjectStore& dst, ObjectStore& src) {
    return JobContext{dst, src, *spool, progress, options};
  }
};

StoreOpener OpenerOf(std::shared_ptr<ObjectStore> store) {
  return [store](const std::string&, bool) { return Result<std::shared_ptr<ObjectStore>>(store); };
}

std::shared_ptr<ObjectStore> MinuteLake() {
  auto store = MakeMemoryStore("lake");
  // Two hours of one day in the seeds' default layout: {user}/{db}/{table}/yyyy/MM/dd/HH/name.
  for (int h = 0; h < 2; h++) {
    for (int m = 0; m < 3; m++) {
      std::string key = fmt::format("u/db/t/2025/01/01/{:02}/m{:02}.parquet", h, m);
      EXPECT_TRUE(store->Write(key, "x").ok());
    }
  }
  return store;
}

TEST(RollupJobTest, PlansOneTaskPerOutputWithItsLocks) {
  auto store = MinuteLake();
  RollupOptions o;
  o.src = "mem://lake";
  o.start = o.end = "2025-01-01";
  o.grouping = Grouping::kDay;
  o.cascade = true;
  o.by_level = true;
  RollupResult result;
  auto job = NewRollupJob(o, OpenerOf(store), result);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ((*job)->Levels(), 2);  // hour, then day
  Planning p;
  auto ctx = p.Context(*store, *store);
  auto hours = (*job)->MakePlan(0, ctx);
  ASSERT_TRUE(hours.ok()) << hours.status().ToString();
  ASSERT_EQ(hours->tasks.size(), 2u);
  std::set<std::string> ids;
  for (const auto& t : hours->tasks) {
    EXPECT_EQ(t.command, "rollup");
    EXPECT_EQ(t.inputs.size(), 3u);
    ASSERT_EQ(t.outputs.size(), 1u);
    EXPECT_FALSE(t.outputs[0].replaces);
    // Minute inputs are no task's output: the output key is the only lock.
    EXPECT_EQ(t.locks, std::vector<std::string>{t.outputs[0].key});
    EXPECT_EQ(t.shard_key, t.outputs[0].key);
    EXPECT_EQ(t.id, TaskId(t));
    ids.insert(t.id);
  }
  EXPECT_EQ(ids.size(), 2u);
  // Planning again from the same listing gives the same tasks, ids included.
  auto again = (*job)->MakePlan(0, ctx);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tasks[0].id, hours->tasks[0].id);

  // The day level, once the hour files exist: it locks its hour inputs too (an hour task
  // could be rewriting one of them).
  for (const auto& t : hours->tasks) {
    ASSERT_TRUE(store->Write(t.outputs[0].key, "merged").ok());
    std::vector<std::string> keys;
    for (const auto& in : t.inputs) keys.push_back(in.key);
    ASSERT_TRUE(store->Delete(keys).ok());
  }
  auto day = (*job)->MakePlan(1, ctx);
  ASSERT_TRUE(day.ok()) << day.status().ToString();
  ASSERT_EQ(day->tasks.size(), 1u);
  const Task& d = day->tasks[0];
  EXPECT_EQ(d.inputs.size(), 2u);
  EXPECT_EQ(d.locks.size(), 3u);
  for (const auto& in : d.inputs) {
    EXPECT_NE(std::find(d.locks.begin(), d.locks.end(), in.key), d.locks.end()) << in.key;
  }
}

// A cascade without --by-level: one level, one task per final output, whose inputs are every
// minute file of the day in row order, and whose locks are the day file and the hour files
// the level-by-level cascade would write (none exists: another run's hour roll-up over the
// same minutes would take those locks).
TEST(RollupJobTest, ADirectCascadeMergesTheMinutesIntoTheDayAndLocksTheHoursItSkips) {
  auto store = MinuteLake();
  // An hour file of 01:00 exists already: an input too, after the minute files of 00:xx and
  // before those of 01:xx (the level-by-level cascade merges 01:xx into it first).
  ASSERT_TRUE(store->Write("u/db/t/2025/01/01/t_20250101T01.parquet", "h").ok());
  RollupOptions o;
  o.src = "mem://lake";
  o.start = o.end = "2025-01-01";
  o.grouping = Grouping::kDay;
  o.cascade = true;
  RollupResult result;
  auto job = NewRollupJob(o, OpenerOf(store), result);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ((*job)->Levels(), 1);
  Planning p;
  auto ctx = p.Context(*store, *store);
  auto plan = (*job)->MakePlan(0, ctx);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->tasks.size(), 1u);
  const Task& t = plan->tasks[0];
  EXPECT_EQ(t.outputs[0].key, "u/db/t/2025/01/t_20250101.parquet");
  EXPECT_FALSE(t.outputs[0].replaces);
  std::vector<std::string> inputs;
  for (const auto& in : t.inputs) inputs.push_back(in.key);
  EXPECT_EQ(inputs,
            (std::vector<std::string>{
                "u/db/t/2025/01/01/00/m00.parquet", "u/db/t/2025/01/01/00/m01.parquet",
                "u/db/t/2025/01/01/00/m02.parquet", "u/db/t/2025/01/01/t_20250101T01.parquet",
                "u/db/t/2025/01/01/01/m00.parquet", "u/db/t/2025/01/01/01/m01.parquet",
                "u/db/t/2025/01/01/01/m02.parquet"}));
  EXPECT_EQ(t.locks, (std::vector<std::string>{"u/db/t/2025/01/t_20250101.parquet",
                                               "u/db/t/2025/01/01/t_20250101T00.parquet",
                                               "u/db/t/2025/01/01/t_20250101T01.parquet"}));
  EXPECT_EQ(t.id, TaskId(t));
  // --by-level without --cascade is a usage error.
  o.cascade = false;
  o.by_level = true;
  EXPECT_EQ(NewRollupJob(o, OpenerOf(store), result).status().code(), StatusCode::kInvalidArgument);
}

TEST(RollupJobTest, UsageErrorsBeforeTheLakeIsOpened) {
  RollupOptions o;
  o.start = "2025-02-01";
  o.end = "2025-01-01";
  RollupResult result;
  bool opened = false;
  auto job = NewRollupJob(
      o,
      [&](const std::string&, bool) -> Result<std::shared_ptr<ObjectStore>> {
        opened = true;
        return MakeMemoryStore();
      },
      result);
  ASSERT_FALSE(job.ok());
  EXPECT_EQ(job.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(opened);
}

TEST(PackJobTest, PlansOneTaskPerSeries) {
  auto in = MakeMemoryStore("in");
  auto out = MakeMemoryStore("out");
  ASSERT_TRUE(in->Write("T/a.csv", "id\n1\n").ok());
  ASSERT_TRUE(in->Write("T/b.csv", "id\n2\n").ok());
  ASSERT_TRUE(in->Write("T/notes.txt", "?").ok());
  std::map<std::string, std::shared_ptr<ObjectStore>> stores{{"in", in}, {"out", out}};
  StoreOpener open = [&](const std::string& uri, bool) {
    return Result<std::shared_ptr<ObjectStore>>(stores.at(uri));
  };
  for (bool del : {false, true}) {
    PackOptions o;
    o.input_base = "in";
    o.output_base = "out";
    o.table = "T";
    o.delete_inputs = del;
    NullProgress progress;
    PackResult result;
    auto job = NewPackJob(o, open, progress, result);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    Planning p;
    auto ctx = p.Context(*out, *in);
    auto plan = (*job)->MakePlan(0, ctx);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    ASSERT_EQ(plan->tasks.size(), 1u);
    const Task& t = plan->tasks[0];
    // Inputs are deleted only with --delete-inputs; otherwise they are only read.
    EXPECT_EQ(t.inputs.size(), del ? 2u : 0u);
    EXPECT_EQ(t.reads.size(), del ? 0u : 2u);
    EXPECT_TRUE(t.outputs.empty()) << "new outputs are decided by the cut";
    ASSERT_EQ(t.locks.size(), del ? 2u : 1u);
    EXPECT_EQ(t.locks[0], "pack:mem://out/T/|T||snappy.parquet");
    EXPECT_EQ(t.label, "mem://out/T/T_0.snappy.parquet");
    EXPECT_EQ(plan->stray, std::vector<std::string>{"mem://in/T/notes.txt"});
  }
}

TEST(ExportJobTest, PlansOneTaskPerTable) {
  auto store = MakeMemoryStore("dst");
  ExportOptions o;
  o.tables = {"public.a", "public.b"};
  NullProgress progress;
  auto job = NewExportJob(o, store, nullptr, progress);
  Planning p;
  auto ctx = p.Context(*store, *store);
  auto plan = job->MakePlan(0, ctx);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->tasks.size(), 2u);
  EXPECT_EQ(plan->tasks[0].label, "public.a");
  EXPECT_EQ(plan->tasks[0].locks.size(), 1u);
  EXPECT_NE(plan->tasks[0].id, plan->tasks[1].id);
}

// A job that merges each group of inputs "g<N>/..." into "out/g<N>" by concatenation.
class ConcatJob final : public Job {
 public:
  explicit ConcatJob(std::shared_ptr<ObjectStore> store) : store_(std::move(store)) {}
  std::string Name() const override { return "concat"; }
  std::shared_ptr<ObjectStore> Destination() override { return store_; }
  std::shared_ptr<ObjectStore> Source() override { return store_; }
  Result<Plan> MakePlan(int, JobContext&) override {
    LP_ASSIGN_OR_RETURN(auto listing, store_->ListAll("g"));
    std::map<std::string, Task> by_group;
    for (const auto& o : listing) {
      std::string group = o.key.substr(0, o.key.find('/'));
      Task& t = by_group[group];
      t.command = "concat";
      t.label = "out/" + group;
      t.inputs.push_back(o);
    }
    Plan plan;
    for (auto& [g, t] : by_group) {
      t.outputs.push_back({"out/" + g, std::nullopt, -1});
      t.locks = {"out/" + g};
      t.shard_key = "out/" + g;
      t.id = TaskId(t);
      plan.tasks.push_back(t);
    }
    return plan;
  }
  // Counts how far planning runs ahead of the builds: the tasks handed on and not yet started.
  Status StreamPlan(int level, JobContext& ctx, PlanSink& sink) override {
    LP_ASSIGN_OR_RETURN(Plan plan, MakePlan(level, ctx));
    int64_t added = 0;
    for (auto& t : plan.tasks) {
      LP_RETURN_IF_ERROR(sink.Add(std::move(t)));
      added++;
      most_ahead_ = std::max(most_ahead_, added - built_.load());
    }
    built_before_planned_ = built_.load();
    return Status::OK();
  }
  Result<BuildResult> Build(const Task& task, TaskContext& ctx) override {
    built_++;
    if (fail_) return Status::IOError(task.label + ": failed on purpose");
    std::string data;
    for (const auto& in : task.inputs) {
      LP_ASSIGN_OR_RETURN(std::string local, ctx.Stage(*store_, in));
      std::ifstream f(local, std::ios::binary);
      data += std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    }
    std::string path = ctx.dir() + "/out";
    std::ofstream(path, std::ios::binary) << data;
    BuildResult br;
    br.outputs.push_back({task.outputs[0].key, path, 1, std::nullopt});
    br.rows = 1;
    return br;
  }
  bool fail_ = false;
  std::atomic<int64_t> built_{0};
  int64_t most_ahead_ = 0, built_before_planned_ = 0;

 private:
  std::shared_ptr<ObjectStore> store_;
};

std::shared_ptr<ObjectStore> GroupLake(int groups) {
  auto store = MakeMemoryStore("groups");
  for (int g = 0; g < groups; g++) {
    for (int i = 0; i < 2; i++) {
      EXPECT_TRUE(store->Write(fmt::format("g{}/{}", g, i), fmt::format("{}{}", g, i)).ok());
    }
  }
  return store;
}

std::vector<std::string> KeysUnder(ObjectStore& s, const std::string& prefix) {
  std::vector<std::string> keys;
  auto listed = s.ListAll(prefix);
  EXPECT_TRUE(listed.ok());
  if (listed.ok()) {
    for (const auto& o : *listed) keys.push_back(o.key);
  }
  return keys;
}

TEST(RunJobTest, CommitsEveryTaskAndLeavesNothingOfItsOwn) {
  auto store = GroupLake(3);
  ConcatJob job(store);
  Scratch scratch;
  RunOptions ro;
  ro.spool_dir = scratch.path();
  ro.parallel = 2;
  NullProgress progress;
  auto s = RunJob(job, ro, progress);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->tasks, 3);
  EXPECT_EQ(s->tasks_failed, 0);
  EXPECT_EQ(s->files_out, 3);
  EXPECT_EQ(*store->Read("out/g1"), "1011");
  EXPECT_TRUE(KeysUnder(*store, "g").empty());
  EXPECT_TRUE(KeysUnder(*store, "_lakepack/").empty());
  EXPECT_TRUE(fs::is_empty(scratch.path())) << "the spool is removed";
}

TEST(RunJobTest, APlanLargerThanTheBoundRunsWhilePlanningGoesOn) {
  for (int64_t bound : {int64_t{20}, int64_t{1} << 17}) {
    auto store = GroupLake(200);
    Scratch scratch;
    ConcatJob job(store);
    RunOptions ro;
    ro.spool_dir = scratch.path();
    ro.parallel = 2;
    ro.held_plan_entries = bound;  // a task of 2 inputs and 1 output weighs 4
    NullProgress progress;
    auto s = RunJob(job, ro, progress);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->tasks, 200);
    EXPECT_EQ(s->files_out, 200);
    EXPECT_EQ(*store->Read("out/g137"), "13701371");
    EXPECT_TRUE(KeysUnder(*store, "g").empty());
    if (bound == 20) {
      // Held: at most 5 tasks queued or running, and the one being added.
      EXPECT_LE(job.most_ahead_, 6);
      EXPECT_GT(job.built_before_planned_, 0) << "tasks ran before planning ended";
    } else {
      // A plan within the bound is planned whole, then run.
      EXPECT_EQ(job.most_ahead_, 200);
      EXPECT_EQ(job.built_before_planned_, 0);
    }
  }
}

TEST(RunJobTest, ATaskLeasedByALiveRunIsSkippedAndSaysSo) {
  auto store = GroupLake(2);
  // Another live run (this very process, under another run id) holds g0's lock.
  LeaseManager other(
      store,
      [] {
        Owner o = Owner::Self();
        o.run_id = "other";
        return o;
      }(),
      Liveness::System(), 60'000);
  Busy busy;
  auto held = other.Claim({"out/g0"}, "someone", &busy);
  ASSERT_TRUE(held.ok() && held->has_value());
  ConcatJob job(store);
  Scratch scratch;
  RunOptions ro;
  ro.spool_dir = scratch.path();
  NullProgress progress;
  auto s = RunJob(job, ro, progress);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->tasks_skipped, 1);
  ASSERT_EQ(s->skipped.size(), 1u);
  EXPECT_NE(s->skipped[0].find("out/g0: leased by run other"), std::string::npos) << s->skipped[0];
  EXPECT_FALSE(store->Stat("out/g0")->has_value());
  EXPECT_TRUE(store->Stat("out/g1")->has_value());
  EXPECT_EQ(KeysUnder(*store, "g0/").size(), 2u);
}

TEST(RunJobTest, ShardsCoverEveryTaskOnce) {
  auto store = GroupLake(12);
  Scratch scratch;
  int64_t done = 0;
  for (int i = 0; i < 3; i++) {
    ConcatJob job(store);
    RunOptions ro;
    ro.spool_dir = scratch.path();
    ro.shard_index = i;
    ro.shard_count = 3;
    NullProgress progress;
    auto s = RunJob(job, ro, progress);
    ASSERT_TRUE(s.ok());
    done += s->files_out;
  }
  EXPECT_EQ(done, 12);
  EXPECT_TRUE(KeysUnder(*store, "g").empty());
  EXPECT_EQ(KeysUnder(*store, "out/").size(), 12u);
}

TEST(RunJobTest, AFailedBuildLeavesEverythingAsItWas) {
  auto store = GroupLake(2);
  ConcatJob job(store);
  job.fail_ = true;
  Scratch scratch;
  RunOptions ro;
  ro.spool_dir = scratch.path();
  NullProgress progress;
  auto s = RunJob(job, ro, progress);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->tasks_failed, 2);
  ASSERT_EQ(s->errors.size(), 2u);
  EXPECT_NE(s->errors[0].find("failed on purpose"), std::string::npos);
  EXPECT_EQ(KeysUnder(*store, "g").size(), 4u);
  EXPECT_TRUE(KeysUnder(*store, "out/").empty());
  EXPECT_TRUE(KeysUnder(*store, "_lakepack/").empty());
}

}  // namespace
}  // namespace lakepack
