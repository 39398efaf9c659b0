// Issue 13: a roll-up lists only what the layout allows for its date range (narrowing), and its
// planner hands tasks on while the listing streams. Listings are seen through a
// SyntheticMinuteStore that records every List it is asked.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "exec/job.h"
#include "exec/jobs.h"
#include "plan/rollup_plan.h"
#include "store/listing.h"
#include "store/memory_store.h"
#include "unit/scratch_dir.h"
#include "unit/synthetic_store.h"

namespace lakepack {
namespace {

StoreOpener OpenerOf(std::shared_ptr<ObjectStore> store) {
  return [store](const std::string&, bool) { return Result<std::shared_ptr<ObjectStore>>(store); };
}

// The plan of one roll-up level of days [start, end] over `store`.
Result<Plan> PlanLevel(std::shared_ptr<ObjectStore> store, const std::string& start,
                       const std::string& end, Grouping grouping) {
  RollupResult result;
  RollupOptions o;
  o.src = "mem://lake";
  o.start = start;
  o.end = end;
  o.grouping = grouping;
  LP_ASSIGN_OR_RETURN(auto job, NewRollupJob(o, OpenerOf(store), result));
  test_util::ScratchDir scratch;
  LP_ASSIGN_OR_RETURN(auto spool, Spool::Create(scratch.path()));
  NullProgress progress;
  RunOptions options;
  JobContext ctx{*store, *store, *spool, progress, options};
  return job->MakePlan(0, ctx);
}

// A plan of the synthetic lake (`tables` tables of 40 days from 2000-01-01), with the listings
// it asked for.
struct Listed {
  Result<Plan> plan;
  std::vector<std::pair<std::string, std::string>> lists;  // (prefix, delimiter)
};

Listed PlanSynthetic(int tables, const std::string& start, const std::string& end, Grouping g,
                     bool no_delimiter = false) {
  auto store = std::make_shared<test_util::SyntheticMinuteStore>(tables, 40);
  store->Record(true);
  store->NoDelimiter(no_delimiter);
  auto plan = PlanLevel(store, start, end, g);
  return Listed{std::move(plan), store->lists()};
}

int Depth(const std::string& prefix) {
  return static_cast<int>(std::count(prefix.begin(), prefix.end(), '/'));
}

TEST(RollupListing, AnHourRollupListsOnlyTheDaysOfItsRange) {
  Listed l = PlanSynthetic(2, "2000-01-05", "2000-01-06", Grouping::kHour);
  ASSERT_TRUE(l.plan.ok()) << l.plan.status().ToString();
  ASSERT_EQ(l.plan->tasks.size(), 2u * 2 * 24);
  for (const auto& t : l.plan->tasks) {
    ASSERT_EQ(t.inputs.size(), 60u) << t.label;
    EXPECT_EQ(t.outputs[0].key.find("/2000/01/0"), 11u) << t.outputs[0].key;
  }
  std::set<std::string> days;
  for (const auto& [prefix, delimiter] : l.lists) {
    if (!delimiter.empty()) {
      // Above the days (lake/db/tNN/yyyy/MM/dd/): the root, lake/, db/, the tables, their
      // years and months.
      EXPECT_LT(Depth(prefix), 6) << prefix;
      continue;
    }
    EXPECT_EQ(Depth(prefix), 6) << prefix;
    days.insert(prefix);
  }
  EXPECT_EQ(days, (std::set<std::string>{"lake/db/t00/2000/01/05/", "lake/db/t00/2000/01/06/",
                                         "lake/db/t01/2000/01/05/", "lake/db/t01/2000/01/06/"}));
}

TEST(RollupListing, AStoreWithoutTrustworthyDelimiterListingsIsListedFlatToTheSamePlan) {
  Listed narrow = PlanSynthetic(2, "2000-01-05", "2000-01-06", Grouping::kHour);
  Listed flat = PlanSynthetic(2, "2000-01-05", "2000-01-06", Grouping::kHour, true);
  ASSERT_TRUE(narrow.plan.ok()) << narrow.plan.status().ToString();
  ASSERT_TRUE(flat.plan.ok()) << flat.plan.status().ToString();
  ASSERT_EQ(flat.plan->tasks.size(), narrow.plan->tasks.size());
  for (size_t i = 0; i < flat.plan->tasks.size(); i++) {
    const Task& a = narrow.plan->tasks[i];
    const Task& b = flat.plan->tasks[i];
    EXPECT_EQ(b.id, a.id);
    ASSERT_EQ(b.inputs.size(), a.inputs.size()) << b.label;
    for (size_t k = 0; k < a.inputs.size(); k++) EXPECT_EQ(b.inputs[k].key, a.inputs[k].key);
  }
  for (const auto& [prefix, delimiter] : flat.lists) EXPECT_EQ(delimiter, "") << prefix;
}

TEST(RollupListing, ADayRollupNeverListsMinuteFiles) {
  Listed l = PlanSynthetic(1, "2000-01-05", "2000-01-05", Grouping::kDay);
  ASSERT_TRUE(l.plan.ok()) << l.plan.status().ToString();
  EXPECT_TRUE(l.plan->tasks.empty());  // no hour files yet
  for (const auto& [prefix, delimiter] : l.lists) {
    EXPECT_EQ(delimiter, "/") << prefix;
    // The day directory one level (its hour files), never an hour directory.
    EXPECT_LE(Depth(prefix), 6) << prefix;
    if (Depth(prefix) == 6) {
      EXPECT_EQ(prefix, "lake/db/t00/2000/01/05/");
    }
  }
}

TEST(RollupListing, StrayKeysAreReportedWhereTheRangeIsListed) {
  auto store = MakeMemoryStore("lake");
  const std::string t = "u/db/t";
  for (const auto& k :
       {t + "/2025/01/01/00/a.parquet", t + "/2025/01/01/00/b.parquet",
        t + "/2025/01/02/00/a.parquet", t + "/README.txt", t + "/2025/01/01/00/notes.txt",
        t + "/2025/01/02/00/notes.txt", t + "/2025/13/01/00/bad-month.parquet",
        t + "/2025/01/01/t_20250101T01.parquet"}) {
    ASSERT_TRUE(store->Write(k, "x").ok());
  }
  ASSERT_TRUE(store->Write("_lakepack/journal/x", "x").ok());
  auto plan = PlanLevel(store, "2025-01-01", "2025-01-01", Grouping::kHour);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->tasks.size(), 1u);
  EXPECT_EQ(plan->tasks[0].inputs.size(), 2u);
  // The README beside the time directories and the notes in the day listed are reported, and
  // so is what sits in a directory of no real month; the day not listed (01-02) is not.
  EXPECT_EQ(plan->stray,
            (std::vector<std::string>{"mem://lake/" + t + "/2025/01/01/00/notes.txt",
                                      "mem://lake/" + t + "/2025/13/01/00/bad-month.parquet",
                                      "mem://lake/" + t + "/README.txt"}));
}

TEST(RollupListing, TheHourFileAlreadyThereIsTheTarget) {
  auto store = MakeMemoryStore("lake");
  ASSERT_TRUE(store->Write("u/db/t/2025/01/01/00/a.parquet", "x").ok());
  ASSERT_TRUE(store->Write("u/db/t/2025/01/01/t_20250101T00.parquet", "old").ok());
  auto plan = PlanLevel(store, "2025-01-01", "2025-01-01", Grouping::kHour);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->tasks.size(), 1u);
  ASSERT_TRUE(plan->tasks[0].outputs[0].replaces);
  EXPECT_EQ(plan->tasks[0].outputs[0].replaces->key, "u/db/t/2025/01/01/t_20250101T00.parquet");

  // A day roll-up finds the day file in the month directory, its inputs in the day directory.
  ASSERT_TRUE(store->Write("u/db/t/2025/01/t_20250101.parquet", "old").ok());
  plan = PlanLevel(store, "2025-01-01", "2025-01-01", Grouping::kDay);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->tasks.size(), 1u);
  EXPECT_EQ(plan->tasks[0].inputs.size(), 1u);
  ASSERT_TRUE(plan->tasks[0].outputs[0].replaces);
  EXPECT_EQ(plan->tasks[0].outputs[0].replaces->key, "u/db/t/2025/01/t_20250101.parquet");
}

TEST(RollupPlanner, HandsOnADaysTasksOnceTheListingHasLeftTheDay) {
  auto layout = Layout::Parse(Layout::kDefaultTemplate);
  ASSERT_TRUE(layout.ok());
  RollupPlanOptions po;
  po.grouping = Granularity::kHour;
  po.start_day = *ParseDay("2025-01-01");
  po.end_day = *ParseDay("2025-01-02");
  std::vector<std::string> out;
  RollupPlanner planner(*layout, po, [&](RollupTask t) {
    out.push_back(t.output_key);
    return Status::OK();
  });
  ASSERT_TRUE(planner.Add({"u/db/t/2025/01/01/00/a.parquet", 1, "e", 0, "", {}}).ok());
  ASSERT_TRUE(planner.Add({"u/db/t/2025/01/01/01/a.parquet", 1, "e", 0, "", {}}).ok());
  EXPECT_TRUE(out.empty()) << "the day's hour file could still come";
  ASSERT_TRUE(planner.Add({"u/db/t/2025/01/02/00/a.parquet", 1, "e", 0, "", {}}).ok());
  EXPECT_EQ(out, (std::vector<std::string>{"u/db/t/2025/01/01/t_20250101T00.parquet",
                                           "u/db/t/2025/01/01/t_20250101T01.parquet"}));
  EXPECT_FALSE(planner.Add({"u/db/t/2025/01/01/00/b.parquet", 1, "e", 0, "", {}}).ok())
      << "keys must ascend";
  ASSERT_TRUE(planner.Finish().ok());
  EXPECT_EQ(out.size(), 3u);
}

TEST(WalkStore, ListsObjectsInKeyOrderAcrossDirectories) {
  auto store = MakeMemoryStore("walk");
  for (const auto& k : {"a-c", "a/b", "a/c/d", "a/c/e", "a0", "b/x", "b/y/z"}) {
    ASSERT_TRUE(store->Write(k, "x").ok());
  }
  std::vector<std::string> keys;
  Status st = WalkStore(
      *store, "",
      [](const std::string& dir) {
        return dir == "b/" ? WalkStep::kSkip : dir == "a/c/" ? WalkStep::kAll : WalkStep::kWalk;
      },
      [&](ObjectInfo& o) {
        keys.push_back(o.key);
        return Status::OK();
      });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(keys, (std::vector<std::string>{"a-c", "a/b", "a/c/d", "a/c/e", "a0"}));
}

TEST(WalkStore, AFlatWalkSkipsAndKeepsWhatTheDelimiterWalkDoes) {
  test_util::SyntheticMinuteStore store(3, 3);
  auto step = [](const std::string& dir) {
    if (dir == "lake/db/t01/") return WalkStep::kSkip;
    if (dir == "lake/db/t02/2000/01/02/") return WalkStep::kSkip;
    if (dir == "lake/db/t00/2000/01/03/") return WalkStep::kAll;
    return WalkStep::kWalk;
  };
  auto walk = [&](bool no_delimiter) {
    store.NoDelimiter(no_delimiter);
    std::vector<std::string> keys;
    std::map<std::string, int> asked;
    Status st = WalkStore(
        store, "",
        [&](const std::string& dir) {
          asked[dir]++;
          return step(dir);
        },
        [&](ObjectInfo& o) {
          keys.push_back(o.key);
          return Status::OK();
        });
    EXPECT_TRUE(st.ok()) << st.ToString();
    for (const auto& [dir, n] : asked) EXPECT_EQ(n, 1) << dir;
    return keys;
  };
  std::vector<std::string> narrow = walk(false);
  std::vector<std::string> flat = walk(true);
  EXPECT_EQ(narrow.size(), 5u * 24 * 60);  // t00's 3 days and t02's days 1 and 3
  EXPECT_EQ(flat, narrow);
}

TEST(WalkStore, PagesOfTheSyntheticStoreAgreeWithOneWholeListing) {
  test_util::SyntheticMinuteStore store(2, 3);
  std::vector<std::string> walked, listed;
  ASSERT_TRUE(WalkStore(
                  store, "", [](const std::string&) { return WalkStep::kWalk; },
                  [&](ObjectInfo& o) {
                    walked.push_back(o.key);
                    return Status::OK();
                  })
                  .ok());
  auto all = store.ListAll("");
  ASSERT_TRUE(all.ok());
  for (const auto& o : *all) listed.push_back(o.key);
  EXPECT_EQ(static_cast<int64_t>(listed.size()), store.keys());
  EXPECT_TRUE(std::is_sorted(listed.begin(), listed.end()));
  EXPECT_EQ(walked, listed);
}

}  // namespace
}  // namespace lakepack
