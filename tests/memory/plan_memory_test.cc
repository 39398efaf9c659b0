// Issue 13's bound: a roll-up plans a listing of ten million keys in under 256 MB, because the
// listing streams page by page and tasks leave the planner as soon as the listing has passed
// them. A binary of its own (label memory): the peak resident size it asserts (VmHWM) is this
// process's, one test per process (ctest runs each discovered test alone), so no other test
// pollutes it. The lake is a SyntheticMinuteStore: its pages are generated, held nowhere.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "exec/job.h"
#include "exec/jobs.h"
#include "lakepack/format.h"
#include "unit/scratch_dir.h"
#include "unit/synthetic_store.h"

namespace lakepack {
namespace {

constexpr int64_t kBoundKb = 256 * 1024;
// 7 tables of 1000 days of minute files: 10,080,000 keys.
constexpr int kTables = 7;
constexpr int kDays = 1000;

// Peak resident set of this process so far, in kB (/proc/self/status VmHWM).
int64_t PeakRssKb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

RollupOptions HourRollup() {
  RollupOptions o;
  o.src = "synthetic://lake";
  o.start = "2000-01-01";
  o.end = "2002-12-31";  // every day of the synthetic lake
  o.grouping = Grouping::kHour;
  return o;
}

StoreOpener OpenerOf(std::shared_ptr<ObjectStore> store) {
  return [store](const std::string&, bool) { return Result<std::shared_ptr<ObjectStore>>(store); };
}

// Counts what planning hands on and keeps nothing, as a shard keeping none of the tasks would.
class CountingSink final : public PlanSink {
 public:
  Status Add(Task task) override {
    tasks++;
    inputs += static_cast<int64_t>(task.inputs.size());
    if (task.inputs.size() != 60) odd++;
    return Status::OK();
  }
  void Stray(const std::string&, const std::string&) override { strays++; }
  void Note(const std::string&) override {}
  int64_t tasks = 0, inputs = 0, odd = 0, strays = 0;
};

TEST(PlanMemory, TenMillionKeysArePlannedUnder256MB) {
  auto store = std::make_shared<test_util::SyntheticMinuteStore>(kTables, kDays);
  ASSERT_EQ(store->keys(), 10'080'000);
  RollupOptions o = HourRollup();  // the job keeps a reference
  RollupResult result;
  auto job = NewRollupJob(o, OpenerOf(store), result);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  test_util::ScratchDir scratch;
  auto spool = Spool::Create(scratch.path());
  ASSERT_TRUE(spool.ok()) << spool.status().ToString();
  NullProgress progress;
  RunOptions options;
  JobContext ctx{*store, *store, **spool, progress, options};
  CountingSink sink;
  Status st = (*job)->StreamPlan(0, ctx, sink);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(sink.tasks, int64_t{kTables} * kDays * 24);
  EXPECT_EQ(sink.inputs, store->keys());
  EXPECT_EQ(sink.odd, 0);
  EXPECT_EQ(sink.strays, 0);
  int64_t peak = PeakRssKb();
  // The bench (bench/plan_memory.sh) reads this line.
  std::cout << fmt::format("plan_memory: keys={} tasks={} list_requests={} peak_rss_kb={}\n",
                           store->keys(), sink.tasks, store->list_calls(), peak);
  EXPECT_GT(peak, 0);
  EXPECT_LT(peak, kBoundKb) << "planning " << store->keys() << " keys took " << peak << " kB";
}

// The same lake through RunJob's dry run, footers and all, for one shard in 2000 (the footers
// of all ten million would take hours): listing and planning stream through the sink that
// shards and describes, and the engines that read footers stay within the bound too.
TEST(PlanMemory, DryRunOfOneShardOfTenMillionKeysStaysUnder256MB) {
  test_util::ScratchDir scratch;
  std::string payload;
  {
    auto engine = FormatEngine::Open(EngineOptions{});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    SampleSpec sample;
    sample.rows = 10;
    WriteSpec out;
    out.path = scratch.path() + "/sample.parquet";
    auto rows = (*engine)->WriteSample(sample, out);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    std::ifstream in(out.path, std::ios::binary);
    payload.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto store = std::make_shared<test_util::SyntheticMinuteStore>(kTables, kDays, payload);
  RollupOptions o = HourRollup();
  o.dry_run = true;
  RollupResult result;
  auto job = NewRollupJob(o, OpenerOf(store), result);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  RunOptions ro;
  ro.dry_run = true;
  ro.parallel = 2;
  ro.shard_index = 0;
  ro.shard_count = 2000;
  ro.spool_dir = scratch.path();
  NullProgress progress;
  auto summary = RunJob(**job, ro, progress);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_GT(summary->tasks, 0);
  EXPECT_EQ(static_cast<int64_t>(result.plan.size()), summary->tasks);
  for (const auto& p : result.plan) {
    EXPECT_EQ(p.rows, 60 * 10) << p.output;
    EXPECT_EQ(p.inputs.size(), 60u) << p.output;
  }
  int64_t peak = PeakRssKb();
  std::cout << fmt::format("plan_memory_dry_run: keys={} tasks_of_shard={} peak_rss_kb={}\n",
                           store->keys(), summary->tasks, peak);
  EXPECT_LT(peak, kBoundKb);
}

}  // namespace
}  // namespace lakepack
