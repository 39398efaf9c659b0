// Acceptance tests for issue 10: concurrent runs, shards and leftovers, on the local store, moto
// and RGW (skipped, saying why, when servers.env does not export it).
//
//   ConcurrentPack    2 to 4 `pack --delete-inputs` of one table at once, then one solo run:
//                     every id once, no input left, every run exits 0, a run that did not do
//                     a task it planned says it skipped it, nothing under _lakepack/ but caches.
//   ConcurrentRollup  2 to 4 `rollup --grouping day --cascade` at once, then one solo run: the
//                     lake's rows exactly as before, in one day file, every run exits 0.
//   Shards            three `rollup --shard i/3` at once (together or staggered): every hour
//                     task done exactly once, no minute file left, without a solo run.
//   RewrittenInput    an input rewritten after the commit point, before the deletes: its new
//                     rows survive, recovery names it, no old row is lost.
//   SpoolHygiene      a killed run's spool directory is gone after a completed rerun.
//   MultipartHygiene  an upload cut by a kill is aborted by a completed rerun (moto, RGW).
//
// Runs start together or staggered by delays drawn from a seeded PRNG: delays only shape the
// schedule, and no verdict depends on timing (every check is of the state the runs leave, and
// of what each run says it did). Kills come from crash points (LAKEPACK_CRASH_AT), never from
// timers. Each test keeps within a few minutes on 2 cores (the CTest timeout is in
// tests/CMakeLists.txt).
//
// What a --json summary holds besides today's keys: "tasks_skipped" (a count) and "skipped"
// (one line per task another run held); their absence reads as 0 and [].
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "e2e/lake.h"

namespace lakepack::e2e {
namespace {

using nlohmann::json;

constexpr int kTrials = 10;
// Pack is the longest test: on the local store it runs 5 trials, to keep within the time
// budget; 10 on the servers.
int PackTrials(const std::string& backend) { return backend == "local" ? 5 : kTrials; }

// ---------------------------------------------------------------------------------------------
// Runs and what they say
// ---------------------------------------------------------------------------------------------

// One run of a trial, with its --json summary.
struct RunView {
  std::string label;  // "run 2 (+0.41 s)", "solo run"
  RunResult run;
  json summary;

  int64_t Get(const char* key) const {
    if (!summary.is_object() || !summary.contains(key)) return 0;
    const json& v = summary[key];
    return v.is_number_integer() ? v.get<int64_t>() : 0;
  }
  json Skipped() const {
    if (summary.is_object() && summary.contains("skipped") && summary["skipped"].is_array()) {
      return summary["skipped"];
    }
    return json::array();
  }
  // Tasks this run did: those it planned ("tasks", as today) but neither failed nor skipped.
  int64_t Done() const { return Get("tasks") - Get("tasks_failed") - Get("tasks_skipped"); }
  std::string Brief() const {
    return fmt::format("{}: exit {}, tasks {}, failed {}, skipped {}, rows {}, files_out {}", label,
                       run.exit_code, Get("tasks"), Get("tasks_failed"), Get("tasks_skipped"),
                       Get("rows"), Get("files_out"));
  }
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// The last `n` characters of what a run printed, for a failure message.
std::string Tail(const RunResult& r, size_t n = 1500) {
  std::string all = r.All();
  return all.size() <= n ? all : "..." + all.substr(all.size() - n);
}

std::string Briefs(const std::vector<RunView>& runs) {
  std::string s;
  for (const auto& r : runs) s += "  " + r.Brief() + "\n";
  return s;
}

// Start delays for `runs` runs: all 0 (together) or each drawn from [0, 1] s (staggered).
std::vector<double> Delays(int runs, bool staggered, std::mt19937& rng) {
  std::uniform_real_distribution<double> d(0.0, 1.0);
  std::vector<double> out;
  for (int i = 0; i < runs; i++) out.push_back(staggered ? d(rng) : 0.0);
  return out;
}

// Runs `args` `delays.size()` times on the lake, at those delays; then, when `solo`, once more
// alone. Every run's --json summary is read.
std::vector<RunView> RunTrial(TestLake& lake, const std::vector<std::string>& args,
                              const std::vector<double>& delays, bool solo) {
  std::vector<Launch> launches;
  for (double d : delays) launches.push_back({LakepackArgv(args), lake.env(), d});
  auto results = RunTogether(launches);
  std::vector<RunView> runs;
  for (size_t i = 0; i < results.size(); i++) {
    runs.push_back({fmt::format("run {} (+{:.2f} s)", i, delays[i]), results[i], {}});
  }
  if (solo) runs.push_back({"solo run", lake.Run(args), {}});
  for (auto& r : runs) r.summary = SummaryJson(r.run);
  return runs;
}

// Every run exited 0, printed a summary, and its skip count matches its skip lines.
void ExpectRunsClean(const std::vector<RunView>& runs) {
  for (const auto& r : runs) {
    EXPECT_EQ(r.run.exit_code, 0) << r.Brief() << "\n" << Tail(r.run);
    if (r.run.exit_code != 0) continue;
    EXPECT_TRUE(r.summary.is_object()) << r.label << " printed no JSON summary:\n" << Tail(r.run);
    EXPECT_EQ(r.Get("tasks_skipped"), static_cast<int64_t>(r.Skipped().size()))
        << r.label
        << ": \"tasks_skipped\" must count the lines of \"skipped\": " << r.summary.dump();
  }
}

std::string Basename(const std::string& key) { return key.substr(key.rfind('/') + 1); }

void ExpectNoLeftovers(TestLake& lake) {
  auto left = lake.LakepackLeftovers();
  std::string list;
  for (const auto& k : left) list += "  " + k + "\n";
  EXPECT_TRUE(left.empty()) << left.size()
                            << " object(s) under _lakepack/ that are not caches are left:\n"
                            << list;
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& i) { return i.param; }

// ---------------------------------------------------------------------------------------------
// 1. Concurrent pack
// ---------------------------------------------------------------------------------------------

constexpr int kPackInputs = 12;
constexpr int64_t kIdsPerInput = 15000;
constexpr int64_t kPackIds = kPackInputs * kIdsPerInput;  // 180,000 ids, 3.9 MB of CSV

std::string PackRow(int64_t id) { return fmt::format("{},n{},{}.5", id, id, id); }

// Rows of the outputs, counted by id against what the inputs held (id i once, as PackRow(i)).
struct IdTally {
  int64_t rows = 0;        // in the outputs
  int64_t doubled = 0;     // copies of an id beyond its first
  int64_t missing = 0;     // ids in no output
  int64_t unexpected = 0;  // rows that are no input's row
  bool exact() const { return doubled == 0 && missing == 0 && unexpected == 0; }
  std::string Describe() const {
    return fmt::format("{} rows in the outputs for {} ids: {} doubled, {} missing, {} unexpected",
                       rows, kPackIds, doubled, missing, unexpected);
  }
};

IdTally TallyIds(const std::vector<std::string>& lines) {
  IdTally t;
  std::vector<int> seen(kPackIds, 0);
  for (const auto& line : lines) {
    t.rows++;
    int64_t id = std::atoll(line.substr(0, line.find(',')).c_str());
    if (id < 0 || id >= kPackIds || line != PackRow(id)) {
      t.unexpected++;
      continue;
    }
    if (seen[id]++ > 0) t.doubled++;
  }
  t.missing = std::count(seen.begin(), seen.end(), 0);
  return t;
}

class ConcurrentPack : public ::testing::TestWithParam<std::string> {};

TEST_P(ConcurrentPack, EveryIdOnceAndEveryRunExitsZero) {
  const std::string backend = GetParam();
  SKIP_UNLESS_AVAILABLE(backend);
  // The inputs, made once: in00.csv .. in11.csv, ids 0 .. 179,999 in turn; and the same rows
  // as JSON lines, for the independent reader.
  ScratchDir dir;
  std::vector<std::string> inputs;
  std::string jsonl;
  for (int f = 0; f < kPackInputs; f++) {
    std::string csv = "id,name,amount\n";
    for (int64_t id = f * kIdsPerInput; id < (f + 1) * kIdsPerInput; id++) {
      csv += PackRow(id) + "\n";
      jsonl += fmt::format("{{\"id\": {}, \"name\": \"n{}\", \"amount\": {}.5}}\n", id, id, id);
    }
    inputs.push_back(dir / fmt::format("in{:02d}.csv", f));
    WriteFile(inputs.back(), csv);
  }
  WriteFile(dir / "expected.jsonl", jsonl);

  const int trials = PackTrials(backend);
  for (int trial = 0; trial < trials; trial++) {
    std::mt19937 rng(1000 + trial);
    const int n = std::uniform_int_distribution<int>(2, 4)(rng);
    const bool staggered = trial % 2 == 1;
    const auto delays = Delays(n, staggered, rng);
    SCOPED_TRACE(fmt::format("{} trial {}: {} runs {}", backend, trial, n,
                             staggered ? "staggered" : "together"));
    const auto t0 = std::chrono::steady_clock::now();
    auto lake = TestLake::Open(backend, fmt::format("cpack{}", trial));
    for (int f = 0; f < kPackInputs; f++) {
      lake->Put(fmt::format("land/table/in{:02d}.csv", f), inputs[f]);
    }
    const std::vector<std::string> args = {"pack",
                                           lake->uri() + "/land",
                                           lake->uri() + "/db",
                                           "--table",
                                           "table",
                                           "--target-size",
                                           "300KB",
                                           "--delete-inputs",
                                           "--json"};
    auto runs = RunTrial(*lake, args, delays, /*solo=*/true);
    std::cout << fmt::format("{} trial {} ({}):\n{}", backend, trial,
                             staggered ? "staggered" : "together", Briefs(runs))
              << std::flush;

    ExpectRunsClean(runs);
    // Each input's rows were packed by one run only: the rows the runs say they packed add up
    // to the inputs' (a run that lost the race to another packs nothing and says so).
    int64_t packed = 0;
    for (const auto& r : runs) packed += r.Get("rows");
    EXPECT_EQ(packed, kPackIds) << "the runs together say they packed " << packed << " rows of "
                                << kPackIds << ": a task was done twice or not at all\n"
                                << Briefs(runs);
    for (const auto& r : runs) {
      if (r.Get("tasks") > 0 && r.Get("rows") == 0 && r.Get("files_out") == 0) {
        EXPECT_GT(r.Get("tasks_skipped") + r.Get("tasks_failed"), 0)
            << r.label << " planned a task, did none, and reports no skip: " << r.summary.dump();
      }
    }

    std::vector<std::string> left_inputs, outputs;
    for (const auto& k : lake->DataKeys()) {
      if (k.rfind("land/", 0) == 0) left_inputs.push_back(k);
      if (k.rfind("db/table/", 0) == 0 && k.size() > 8 &&
          k.compare(k.size() - 8, 8, ".parquet") == 0) {
        outputs.push_back(k);
      }
    }
    EXPECT_TRUE(left_inputs.empty()) << left_inputs.size() << " input(s) left, the first "
                                     << (left_inputs.empty() ? "" : left_inputs[0]);
    IdTally tally = TallyIds(lake->CsvRows(outputs));
    EXPECT_TRUE(tally.exact()) << tally.Describe();
    ExpectNoLeftovers(*lake);

    // The last trial's outputs are read by an independent reader as well (hyparquet, against
    // the JSON lines the test wrote itself): the multiset of their rows is the inputs'.
    if (trial == trials - 1) {
      std::vector<std::string> local;
      for (const auto& k : outputs) local.push_back(lake->Fetch(k));
      std::string err_out, err_in;
      std::string got = MultisetOf(local, "hyparquet", &err_out);
      std::string want = MultisetOf({dir / "expected.jsonl"}, "jsonl", &err_in);
      EXPECT_EQ(err_out, "");
      EXPECT_EQ(err_in, "");
      EXPECT_EQ(got, want) << "hyparquet's multiset of the outputs' rows is not the inputs'";
    }
    std::cout << fmt::format("{} trial {}: {:.1f} s\n", backend, trial, Seconds(t0)) << std::flush;
  }
}

INSTANTIATE_TEST_SUITE_P(Concurrency, ConcurrentPack, ::testing::Values("local", "moto", "rgw"),
                         BackendName);

// ---------------------------------------------------------------------------------------------
// 2. Concurrent rollup --cascade
// ---------------------------------------------------------------------------------------------

const std::string kDayKey =
    "demo/lake/permanent_data_items/2025/01/permanent_data_items_20250101.parquet";

class ConcurrentRollup : public ::testing::TestWithParam<std::string> {};

TEST_P(ConcurrentRollup, RowsExactlyOnceInOneDayFile) {
  const std::string backend = GetParam();
  SKIP_UNLESS_AVAILABLE(backend);
  // 12 hours of 2025-01-01, two minute files each: 12 hour tasks, then the day task.
  ScratchDir dir;
  std::string tree =
      SampleTree(dir, {"--minutes", "24", "--every", "30", "--rows-per-file", "40", "--seed", "3"});
  const int trials = kTrials;
  for (int trial = 0; trial < trials; trial++) {
    std::mt19937 rng(2000 + trial);
    const int n = std::uniform_int_distribution<int>(2, 4)(rng);
    const bool staggered = trial % 2 == 1;
    const auto delays = Delays(n, staggered, rng);
    SCOPED_TRACE(fmt::format("{} trial {}: {} runs {}", backend, trial, n,
                             staggered ? "staggered" : "together"));
    const auto t0 = std::chrono::steady_clock::now();
    auto lake = TestLake::Open(backend, fmt::format("croll{}", trial));
    lake->PutTree(tree);
    const RowDigest before = lake->DigestFiles(ListFilePaths(tree));
    ASSERT_EQ(before.rows, 24 * 40);
    const std::vector<std::string> args = {"rollup",    lake->uri(),  "--start",    "2025-01-01",
                                           "--end",     "2025-01-01", "--grouping", "day",
                                           "--cascade", "--json"};
    auto runs = RunTrial(*lake, args, delays, /*solo=*/true);
    std::cout << fmt::format("{} trial {} ({}):\n{}", backend, trial,
                             staggered ? "staggered" : "together", Briefs(runs))
              << std::flush;

    ExpectRunsClean(runs);
    EXPECT_EQ(lake->DataKeys(), std::vector<std::string>{kDayKey})
        << "one day file, and no finer file of the day";
    RowDigest after = lake->Digest();
    EXPECT_EQ(after, before) << "the lake holds " << after.rows << " rows; " << before.rows
                             << " were rolled up";
    ExpectNoLeftovers(*lake);
    std::cout << fmt::format("{} trial {}: {:.1f} s\n", backend, trial, Seconds(t0)) << std::flush;
  }
}

INSTANTIATE_TEST_SUITE_P(Concurrency, ConcurrentRollup, ::testing::Values("local", "moto", "rgw"),
                         BackendName);

// ---------------------------------------------------------------------------------------------
// 3. Shards
// ---------------------------------------------------------------------------------------------

class Shards : public ::testing::TestWithParam<std::string> {};

TEST_P(Shards, ThreeShardsAtOnceDoEveryHourTaskOnce) {
  const std::string backend = GetParam();
  SKIP_UNLESS_AVAILABLE(backend);
  // 48 hours (2025-01-01 and 02), two minute files each: 48 hour tasks.
  ScratchDir dir;
  std::string tree =
      SampleTree(dir, {"--minutes", "96", "--every", "30", "--rows-per-file", "20", "--seed", "4"});
  // Trial 0 starts the three together; trials 1 and 2 stagger them (0 to 1 s), so that a
  // shard lists the lake and recovers after another has begun.
  constexpr int kShardTrials = 3;
  for (int trial = 0; trial < kShardTrials; trial++) {
    std::mt19937 rng(3000 + trial);
    const auto delays = Delays(3, trial > 0, rng);
    SCOPED_TRACE(
        fmt::format("{} trial {}: {}", backend, trial, trial > 0 ? "staggered" : "together"));
    auto lake = TestLake::Open(backend, fmt::format("shards{}", trial));
    lake->PutTree(tree);
    const RowDigest before = lake->DigestFiles(ListFilePaths(tree));
    auto args = [&](const std::string& shard) {
      std::vector<std::string> a = {"rollup",     lake->uri(),  "--start", "2025-01-01", "--end",
                                    "2025-01-02", "--grouping", "hour",    "--json"};
      if (!shard.empty()) a.insert(a.end(), {"--shard", shard});
      return a;
    };
    // The hour files the whole plan makes.
    std::vector<std::string> hours;
    {
      auto plan = lake->Run([&] {
        auto a = args("");
        a.push_back("--dry-run");
        return a;
      }());
      ASSERT_EQ(plan.exit_code, 0) << plan.All();
      json j = SummaryJson(plan);
      ASSERT_TRUE(j.contains("plan")) << plan.out;
      for (const auto& p : j["plan"]) {
        hours.push_back(lake->KeyOf(p.value("output", "")));
      }
      std::sort(hours.begin(), hours.end());
      ASSERT_EQ(hours.size(), 48u);
    }
    auto env = lake->env();
    std::vector<Launch> launches;
    for (int i = 0; i < 3; i++) {
      launches.push_back({LakepackArgv(args(fmt::format("{}/3", i))), env, delays[i]});
    }
    auto results = RunTogether(launches);
    std::vector<RunView> runs;
    for (int i = 0; i < 3; i++) {
      runs.push_back({fmt::format("shard {}/3 (+{:.2f} s)", i, delays[i]), results[i],
                      SummaryJson(results[i])});
    }
    std::cout << fmt::format("{} trial {}:\n{}", backend, trial, Briefs(runs)) << std::flush;

    ExpectRunsClean(runs);
    int64_t done = 0;
    for (const auto& r : runs) done += r.Done();
    EXPECT_EQ(done, 48) << "the shards together did " << done
                        << " hour tasks of 48: every task exactly once\n"
                        << Briefs(runs);
    EXPECT_EQ(lake->DataKeys(), hours) << "every hour file, and no minute file left";
    RowDigest after = lake->Digest();
    EXPECT_EQ(after, before) << "the lake holds " << after.rows << " rows; " << before.rows
                             << " were rolled up";
    ExpectNoLeftovers(*lake);
  }
}

INSTANTIATE_TEST_SUITE_P(Concurrency, Shards, ::testing::Values("local", "moto", "rgw"),
                         BackendName);

// ---------------------------------------------------------------------------------------------
// 4. An input rewritten after the commit point, before the deletes
// ---------------------------------------------------------------------------------------------

const std::string kHour00 =
    "demo/lake/permanent_data_items/2025/01/01/permanent_data_items_20250101T00.parquet";

std::vector<std::string> HourArgs(const TestLake& lake) {
  return {"rollup", lake.uri(),   "--start",    "2025-01-01",
          "--end",  "2025-01-01", "--grouping", "hour"};
}

class RewrittenInput : public ::testing::TestWithParam<std::string> {};

TEST_P(RewrittenInput, NewRowsSurviveAndRecoveryNamesTheInput) {
  const std::string backend = GetParam();
  SKIP_UNLESS_AVAILABLE(backend);
  // One hour task: four minute files of 2025-01-01 00:00 .. 00:03.
  ScratchDir dir;
  std::string tree =
      SampleTree(dir, {"--minutes", "4", "--every", "1", "--rows-per-file", "50", "--seed", "7"});
  auto lake = TestLake::Open(backend, "rewritten");
  lake->PutTree(tree);
  auto originals = ListFilePaths(tree);
  auto keys = lake->DataKeys();
  ASSERT_EQ(keys.size(), 4u);
  const std::string victim = keys[1];  // the 00:01 file

  auto killed = lake->Run(HourArgs(*lake), {{"LAKEPACK_CRASH_AT", "committed"}});
  ASSERT_EQ(killed.exit_code, 137) << "expected SIGKILL at the crash point 'committed'\n"
                                   << killed.All();

  // New rows for the same minute, at the same key: new content, so a new ETag.
  std::string fresh_dir = dir / "fresh";
  auto s = Lakepack({"sample", fresh_dir, "--minutes", "1", "--start", "2025-01-01T00:01",
                     "--rows-per-file", "30", "--seed", "99", "--quiet"});
  ASSERT_EQ(s.exit_code, 0) << s.All();
  auto fresh = ListFilePaths(fresh_dir);
  ASSERT_EQ(fresh.size(), 1u);
  lake->Put(victim, fresh[0]);

  // Every original row (the victim's old ones are in the committed output) and the new rows.
  auto all = originals;
  all.push_back(fresh[0]);
  const RowDigest expected = lake->DigestFiles(all);
  const RowDigest fresh_rows = lake->DigestFiles(fresh);
  ASSERT_EQ(expected.rows, 4 * 50 + 30);

  auto rec = lake->Run({"recover", lake->uri()});
  EXPECT_EQ(rec.exit_code, 0) << rec.All();
  EXPECT_NE(rec.err.find(Basename(victim)), std::string::npos)
      << "recovery must name the input that changed:\n"
      << rec.All();
  EXPECT_NE(rec.err.find("changed"), std::string::npos)
      << "recovery must say that the input changed:\n"
      << rec.All();
  auto after_recover = lake->DataKeys();
  std::vector<std::string> expected_keys{kHour00, victim};
  std::sort(expected_keys.begin(), expected_keys.end());
  EXPECT_EQ(after_recover, expected_keys)
      << "the hour file and the rewritten input, no other input";
  if (std::find(after_recover.begin(), after_recover.end(), victim) != after_recover.end()) {
    EXPECT_EQ(lake->DigestFiles({lake->Fetch(victim)}), fresh_rows)
        << "the rewritten input holds its new rows";
  }
  RowDigest now = lake->Digest();
  EXPECT_EQ(now, expected) << "after recover: " << now.rows << " rows in the lake, "
                           << expected.rows << " expected (200 old + 30 new)";
  ExpectNoLeftovers(*lake);

  // The same rollup again merges the new rows into the hour file.
  auto again = lake->Run(HourArgs(*lake));
  EXPECT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(lake->DataKeys(), std::vector<std::string>{kHour00});
  now = lake->Digest();
  EXPECT_EQ(now, expected) << "after the rerun: " << now.rows << " rows in the lake, "
                           << expected.rows << " expected (200 old + 30 new)";
  ExpectNoLeftovers(*lake);
}

INSTANTIATE_TEST_SUITE_P(Concurrency, RewrittenInput, ::testing::Values("local", "moto", "rgw"),
                         BackendName);

// ---------------------------------------------------------------------------------------------
// 5. Spool hygiene
// ---------------------------------------------------------------------------------------------

class SpoolHygiene : public ::testing::TestWithParam<std::string> {};

TEST_P(SpoolHygiene, AKilledRunsSpoolIsGoneAfterACompletedRerun) {
  const std::string backend = GetParam();
  SKIP_UNLESS_AVAILABLE(backend);
  ScratchDir dir, spool, count_spool;
  std::string tree =
      SampleTree(dir, {"--minutes", "24", "--every", "30", "--rows-per-file", "40", "--seed", "5"});
  auto lake = TestLake::Open(backend, "spool");
  lake->PutTree(tree);
  const RowDigest before = lake->DigestFiles(ListFilePaths(tree));
  // The counting run (on a clone) spools elsewhere, so that DIR starts empty.
  const TestLake* real = lake.get();
  LakeArgs args = [&](const TestLake& l) {
    auto a = HourArgs(l);
    a.insert(a.begin(), {"--spool-dir", &l == real ? spool.path() : count_spool.path()});
    return a;
  };
  int64_t ops = CountOps(*lake, args, {});
  ASSERT_GT(ops, 2);
  const int64_t n = ops / 2;
  auto killed = lake->Run(args(*lake), {{"LAKEPACK_CRASH_AT", "op:" + std::to_string(n)}});
  ASSERT_EQ(killed.exit_code, 137) << "expected SIGKILL at op " << n << " of " << ops << "\n"
                                   << killed.All();
  ASSERT_FALSE(SpoolDirs(spool.path()).empty())
      << "the run killed at op " << n << " of " << ops << " left no spool directory in "
      << spool.path() << ": nothing to clean";

  auto rerun = lake->Run(args(*lake));
  ASSERT_EQ(rerun.exit_code, 0) << rerun.All();
  auto left = SpoolDirs(spool.path());
  EXPECT_TRUE(left.empty()) << "the spool directory of the killed run is left: " << spool.path()
                            << "/" << (left.empty() ? "" : left[0]);
  EXPECT_EQ(lake->Digest(), before);
}

INSTANTIATE_TEST_SUITE_P(Concurrency, SpoolHygiene, ::testing::Values("local", "moto", "rgw"),
                         BackendName);

// ---------------------------------------------------------------------------------------------
// 6. Multipart hygiene
// ---------------------------------------------------------------------------------------------

class MultipartHygiene : public ::testing::TestWithParam<std::string> {};

TEST_P(MultipartHygiene, AnUploadCutByAKillIsAbortedByTheRerun) {
  const std::string backend = GetParam();
  SKIP_UNLESS_AVAILABLE(backend);
  // One hour task whose output (about 1.4 MB) goes up in a multipart upload: the threshold is
  // 256 KiB (in bytes, whatever a unit means), far above any journal record or lease.
  ScratchDir dir;
  std::string tree =
      SampleTree(dir, {"--minutes", "3", "--every", "1", "--rows-per-file", "3000", "--seed", "6"});
  auto lake = TestLake::Open(backend, "multipart");
  if (!lake->store().Capabilities().create_only_multipart_reliable) {
    // New outputs are create-only writes; where If-None-Match is not enforced on
    // CompleteMultipartUpload (RGW) they go as one PUT, so no run leaves an upload to cut.
    GTEST_SKIP() << backend << " does not enforce create-only multipart uploads: lakepack "
                 << "writes its outputs there in one PUT (up to 5 GiB)";
  }
  lake->PutTree(tree);
  const RowDigest before = lake->DigestFiles(ListFilePaths(tree));
  const std::map<std::string, std::string> env = {{"LAKEPACK_S3_MULTIPART_THRESHOLD", "262144"}};
  const std::string hour = Basename(kHour00);
  const int64_t ops = CountOps(*lake, HourArgs, env);
  ASSERT_GT(ops, 2);

  // Where the upload is: a kill at op n on a copy of the lake leaves nothing of the output yet
  // (0), an open multipart upload (1), or the output's object, staged or final (2). That rises
  // with n, so the first n past 0 is found by bisection; it must be inside the upload.
  std::map<int64_t, int> probed;
  auto state = [&](int64_t n) {
    if (probed.count(n)) return probed[n];
    auto twin = lake->Clone("probe");
    auto env_n = env;
    env_n["LAKEPACK_CRASH_AT"] = "op:" + std::to_string(n);
    auto r = twin->Run(HourArgs(*twin), env_n);
    EXPECT_EQ(r.exit_code, 137) << "op " << n << " of " << ops << "\n" << r.All();
    int s = 0;
    if (!twin->OpenMultipartUploads().empty()) {
      s = 1;
    } else {
      for (const auto& k : twin->Keys()) {
        if (Basename(k) == hour) s = 2;
      }
    }
    return probed[n] = s;
  };
  int64_t lo = 1, hi = ops;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (state(mid) >= 1) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  ASSERT_EQ(state(lo), 1) << "no operation of the run (" << ops
                          << ") lies inside a multipart upload: op " << lo << " leaves state "
                          << state(lo);

  auto killed_env = env;
  killed_env["LAKEPACK_CRASH_AT"] = "op:" + std::to_string(lo);
  auto killed = lake->Run(HourArgs(*lake), killed_env);
  ASSERT_EQ(killed.exit_code, 137) << killed.All();
  auto open = lake->OpenMultipartUploads();
  ASSERT_FALSE(open.empty()) << "the kill at op " << lo << " of " << ops
                             << " left no open upload: nothing to clean";
  std::cout << fmt::format("{}: killed at op {} of {}: open upload of {}\n", backend, lo, ops,
                           open[0])
            << std::flush;

  auto rerun = lake->Run(HourArgs(*lake), env);
  ASSERT_EQ(rerun.exit_code, 0) << rerun.All();
  open = lake->OpenMultipartUploads();
  std::string list;
  for (const auto& k : open) list += "  " + k + "\n";
  EXPECT_TRUE(open.empty()) << open.size() << " multipart upload(s) still open after the rerun:\n"
                            << list;
  EXPECT_EQ(lake->DataKeys(), std::vector<std::string>{kHour00});
  EXPECT_EQ(lake->Digest(), before);
  ExpectNoLeftovers(*lake);
}

INSTANTIATE_TEST_SUITE_P(Concurrency, MultipartHygiene, ::testing::Values("moto", "rgw"),
                         BackendName);

}  // namespace
}  // namespace lakepack::e2e
