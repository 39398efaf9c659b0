// lakepack plan and --shard auto (issue 13): the task list a user sizes an array with is the
// one the shards split, element by element, whichever scheduler's variable gives the index.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "harness.h"
#include "lake.h"

namespace lakepack::e2e {
namespace {

struct PlanLines {
  std::vector<nlohmann::json> tasks;
  nlohmann::json summary;
};

// The JSON lines of `lakepack plan ... --json`: one per task, then the totals.
PlanLines ParsePlan(const RunResult& r) {
  PlanLines p;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.contains("task")) {
      p.tasks.push_back(j);
    } else if (j.contains("plan")) {
      p.summary = j;
    }
  }
  return p;
}

std::set<std::string> Ids(const std::vector<nlohmann::json>& tasks) {
  std::set<std::string> ids;
  for (const auto& t : tasks) ids.insert(t["task"].get<std::string>());
  return ids;
}

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // 30 minute files, one every 10 minutes (5 hours), 7 rows each: 5 hour tasks.
    lake_ = TestLake::Open("local", "plan");
    auto r = lake_->Run({"sample", lake_->uri(), "--minutes", "30", "--every", "10",
                         "--rows-per-file", "7", "--seed", "13", "--quiet"});
    ASSERT_EQ(r.exit_code, 0) << r.All();
  }
  std::vector<std::string> Rollup(std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"rollup", lake_->uri(), "--start",    "2025-01-01",
                                  "--end",  "2025-01-01", "--grouping", "hour"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  std::vector<std::string> Plan(std::vector<std::string> extra) {
    std::vector<std::string> a = Rollup(std::move(extra));
    a.insert(a.begin(), "plan");
    return a;
  }
  std::unique_ptr<TestLake> lake_;
};

TEST_F(PlanTest, ListsTheDryRunsTasksWithTheirShardsAndTotals) {
  const auto keys_before = lake_->Keys();
  auto dry = lake_->Run(Rollup({"--dry-run", "--json"}));
  ASSERT_EQ(dry.exit_code, 0) << dry.All();
  std::set<std::string> dry_outputs;
  int64_t dry_rows = 0;
  nlohmann::json dry_plan;
  std::istringstream lines(dry.out);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("plan")) dry_plan = j["plan"];
  }
  for (const auto& p : dry_plan) {
    dry_outputs.insert(p["output"].get<std::string>());
    dry_rows += p["rows"].get<int64_t>();
  }
  ASSERT_EQ(dry_outputs.size(), 5u) << dry.out;

  auto r = lake_->Run(Plan({"--shards", "3", "--json"}));
  ASSERT_EQ(r.exit_code, 0) << r.All();
  PlanLines plan = ParsePlan(r);
  ASSERT_EQ(plan.tasks.size(), 5u) << r.out;
  std::set<std::string> outputs;
  int64_t rows = 0, bytes = 0;
  std::map<int, int64_t> per_shard;
  for (const auto& t : plan.tasks) {
    EXPECT_EQ(t["command"], "rollup");
    EXPECT_EQ(t["shards"], 3);
    ASSERT_EQ(t["outputs"].size(), 1u) << t.dump();
    outputs.insert(t["outputs"][0].get<std::string>());
    EXPECT_EQ(t["inputs"].size(), 6u) << "six files an hour: " << t.dump();
    EXPECT_GT(t["rows"].get<int64_t>(), 0) << t.dump();
    rows += t["rows"].get<int64_t>();
    bytes += t["bytes"].get<int64_t>();
    per_shard[t["shard"].get<int>()]++;
  }
  EXPECT_EQ(outputs, dry_outputs);
  EXPECT_EQ(rows, dry_rows);
  EXPECT_EQ(rows, 5 * 6 * 7);
  EXPECT_EQ(plan.summary["tasks"], 5);
  EXPECT_EQ(plan.summary["files"], 30);
  EXPECT_EQ(plan.summary["bytes"], bytes);
  ASSERT_EQ(plan.summary["per_shard"].size(), 3u);
  for (const auto& s : plan.summary["per_shard"]) {
    EXPECT_EQ(s["tasks"].get<int64_t>(), per_shard[s["shard"].get<int>()]) << s.dump();
  }
  // A plan changes nothing.
  EXPECT_EQ(lake_->Keys(), keys_before);

  // Text: a header, a line per task, the totals and one line per shard.
  auto text = lake_->Run(Plan({"--shards", "3"}));
  ASSERT_EQ(text.exit_code, 0) << text.All();
  EXPECT_NE(text.out.find("task"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("rollup: 5 task(s) over 30 file(s)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("shard 2/3:"), std::string::npos) << text.out;
}

TEST_F(PlanTest, EachShardRunsExactlyItsPlannedTasksWithShardAuto) {
  auto full = ParsePlan(lake_->Run(Plan({"--shards", "3", "--json"})));
  ASSERT_EQ(full.tasks.size(), 5u);
  const RowDigest before = lake_->Digest();
  std::set<std::string> done;
  for (int i = 0; i < 3; i++) {
    std::vector<nlohmann::json> mine;
    for (const auto& t : full.tasks) {
      if (t["shard"] == i) mine.push_back(t);
    }
    // The same shard, from --shard i/3, from Slurm's variables and from Kubernetes' index.
    auto explicit_shard =
        ParsePlan(lake_->Run(Plan({"--shard", fmt::format("{}/3", i), "--json"})));
    EXPECT_EQ(Ids(explicit_shard.tasks), Ids(mine)) << "shard " << i;
    auto slurm = ParsePlan(lake_->Run(Plan({"--shard", "auto", "--json"}),
                                      {{"SLURM_ARRAY_TASK_ID", std::to_string(i + 4)},
                                       {"SLURM_ARRAY_TASK_MIN", "4"},
                                       {"SLURM_ARRAY_TASK_COUNT", "3"}}));
    EXPECT_EQ(Ids(slurm.tasks), Ids(mine)) << "shard " << i << " from SLURM_ARRAY_TASK_ID";
    // The element runs for real: it writes exactly the outputs its plan named.
    auto run = lake_->Run(Rollup({"--shard", "auto/3", "--json"}),
                          {{"JOB_COMPLETION_INDEX", std::to_string(i)}});
    ASSERT_EQ(run.exit_code, 0) << run.All();
    EXPECT_EQ(SummaryJson(run)["tasks"].get<int64_t>(), static_cast<int64_t>(mine.size()))
        << run.out;
    for (const auto& t : mine) {
      const std::string key = lake_->KeyOf(t["outputs"][0].get<std::string>());
      const auto keys = lake_->Keys();
      EXPECT_TRUE(std::find(keys.begin(), keys.end(), key) != keys.end()) << key;
      EXPECT_TRUE(done.insert(key).second) << key << " written by two shards";
    }
  }
  EXPECT_EQ(done.size(), 5u);
  EXPECT_EQ(lake_->Digest(), before) << "the rows, exactly once, after the three shards";
  // Nothing is left to do.
  EXPECT_EQ(ParsePlan(lake_->Run(Plan({"--json"}))).tasks.size(), 0u);
}

TEST_F(PlanTest, MaxTaskBytesFlagsTasksOverTheCapAndFails) {
  auto r = lake_->Run(Plan({"--max-task-bytes", "1"}));
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.out.find("(over --max-task-bytes)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("5 task(s) read more than --max-task-bytes"), std::string::npos) << r.out;
  auto fits = lake_->Run(Plan({"--max-task-bytes", "1GiB", "--json"}));
  EXPECT_EQ(fits.exit_code, 0) << fits.All();
  EXPECT_EQ(ParsePlan(fits).summary["over_cap"], 0);
}

TEST(PlanUsage, BadUsageExitsTwoNamingWhatIsWrong) {
  auto none = Lakepack({"plan"});
  EXPECT_EQ(none.exit_code, 2) << none.All();
  EXPECT_NE(none.err.find("Usage: lakepack plan COMMAND"), std::string::npos) << none.err;
  auto help = Lakepack({"plan", "--help"});
  EXPECT_EQ(help.exit_code, 0) << help.All();
  EXPECT_NE(help.out.find("--max-task-bytes"), std::string::npos) << help.out;
  auto other = Lakepack({"plan", "convert", "a.csv", "b.parquet"});
  EXPECT_EQ(other.exit_code, 2) << other.All();
  EXPECT_NE(other.err.find("'convert' has no plan"), std::string::npos) << other.err;
  auto shards = Lakepack({"plan", "rollup", "/tmp", "--shards", "0"});
  EXPECT_EQ(shards.exit_code, 2) << shards.All();
  EXPECT_NE(shards.err.find("--shards"), std::string::npos) << shards.err;
  auto cap = Lakepack({"plan", "rollup", "/tmp", "--max-task-bytes", "lots"});
  EXPECT_EQ(cap.exit_code, 2) << cap.All();
  EXPECT_NE(cap.err.find("--max-task-bytes"), std::string::npos) << cap.err;
}

TEST(ShardAuto, OutsideAnArrayOrWithoutACountIsAUsageError) {
  ScratchDir dir;
  const std::vector<std::string> args = {"rollup",    dir.path(),   "--start",    "2025-01-01",
                                         "--end",     "2025-01-01", "--grouping", "hour",
                                         "--dry-run", "--shard"};
  auto with = [&](const std::string& shard) {
    auto a = args;
    a.push_back(shard);
    return a;
  };
  // No scheduler variable: the run says which ones it looked for.
  auto outside = Lakepack(with("auto"), {{"SLURM_ARRAY_TASK_ID", ""},
                                         {"JOB_COMPLETION_INDEX", ""},
                                         {"AWS_BATCH_JOB_ARRAY_INDEX", ""}});
  EXPECT_EQ(outside.exit_code, 2) << outside.All();
  EXPECT_NE(
      outside.err.find("SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX"),
      std::string::npos)
      << outside.err;
  // A resubmitted Slurm element is an array of one: without /N it would take the whole plan.
  auto resubmitted = Lakepack(with("auto"), {{"SLURM_ARRAY_TASK_ID", "3"},
                                             {"SLURM_ARRAY_TASK_COUNT", "1"},
                                             {"SLURM_ARRAY_TASK_MIN", "3"}});
  EXPECT_EQ(resubmitted.exit_code, 2) << resubmitted.All();
  EXPECT_NE(resubmitted.err.find("auto/N"), std::string::npos) << resubmitted.err;
  // Kubernetes and AWS Batch do not pass the count.
  auto k8s = Lakepack(with("auto"), {{"JOB_COMPLETION_INDEX", "1"}});
  EXPECT_EQ(k8s.exit_code, 2) << k8s.All();
  EXPECT_NE(k8s.err.find("JOB_COMPLETION_INDEX gives the index but not the count"),
            std::string::npos)
      << k8s.err;
  auto batch = Lakepack(with("auto/4"), {{"AWS_BATCH_JOB_ARRAY_INDEX", "4"}});
  EXPECT_EQ(batch.exit_code, 2) << batch.All();
  EXPECT_NE(batch.err.find("index 4 (from AWS_BATCH_JOB_ARRAY_INDEX) is not below N = 4"),
            std::string::npos)
      << batch.err;
  auto ok = Lakepack(with("auto/4"), {{"AWS_BATCH_JOB_ARRAY_INDEX", "3"}});
  EXPECT_EQ(ok.exit_code, 0) << ok.All();
}

}  // namespace
}  // namespace lakepack::e2e
