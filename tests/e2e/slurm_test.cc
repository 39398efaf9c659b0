// Acceptance tests of the Slurm recipe (issue 13): contrib/slurm/lakepack-array.sbatch, run by a
// real one-node Slurm 22.05 that this binary starts once (tests/servers/slurm_start.sh, in a
// scratch directory, with its own munged) and stops at the end, over lakes on moto and RGW.
//
//   FourElementsDoEveryHourTaskOnce   `sbatch --wait --array=0-3` of `rollup --grouping hour`:
//                                     exit 0, every hour task of the plan done by exactly one
//                                     element, the lake's rows exactly as before.
//   CancelledElementResubmittedAlone  element 2 is cancelled (scancel) while it is inside a
//                                     task, its output written and not committed; then
//                                     `LAKEPACK_SHARDS=4 sbatch --wait --array=2` alone: it
//                                     rolls the dead run's task forward and does the rest of its
//                                     shard; every task once, the rows exact.
//   TwoArraysOfOnePlanAtOnce          two arrays of the same rollup (--array=0-1 each) submitted
//                                     together, so four workers run at once and each shard is
//                                     planned twice: leases make each task run once; rows exact.
//   SlurmScript.UsageErrors...        the script outside Slurm, with an element's variables: its
//                                     usage errors (exit 2) and lakepack's, and one good element.
//
// Which tasks an element did: its --json summary counts the tasks of its shard ("tasks"), names
// those it skipped ("skipped": "<output URI>: why") and sums the rows it merged ("rows"), but
// does not name the tasks it did. So the test makes each shard's plan first (`--dry-run --shard
// i/N --json`: outputs and rows), and an element that planned its whole shard did exactly the
// tasks of that plan it did not skip; its rows must be theirs.
//
// Nothing here waits for a fixed time. Every wait polls with a deadline (a cap for a hung run,
// never a guess of how long something takes): `sbatch --wait` itself (it polls every 2 s, as
// MinJobAge=0 keeps it from backing off), the marker a paused run writes (LAKEPACK_PAUSE_AT,
// src/common/crash_point.h), and the start barrier of the two racing arrays. Every job a test
// submits is cancelled at its end if it still runs; slurm_stop.sh cancels what is left.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>
#include <tuple>

#include "e2e/lake.h"

namespace lakepack::e2e {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kScript =
    std::string(LAKEPACK_SOURCE_DIR) + "/contrib/slurm/lakepack-array.sbatch";
const std::string kServers = std::string(LAKEPACK_SOURCE_DIR) + "/tests/servers";
// The cap of one `sbatch --wait` (the arrays here take seconds).
constexpr std::chrono::seconds kArrayCap{300};
// The cap of the other waits: a paused run's marker, a job's end.
constexpr std::chrono::seconds kWaitCap{180};

// The LAKEPACK of the array whose element 2 is cancelled: that element writes its id to {0}
// (as <array job id>_<index>: Slurm 22.05 answers "Invalid job id" to scancel and scontrol
// given an element's own SLURM_JOB_ID, and scancel still exits 0) and pauses once its first output
// is written, before the commit point (it writes {1}.reached then); the others run lakepack ({2})
// as they are.
constexpr const char* kPauseElement2 = R"sh(if [ "$SLURM_ARRAY_TASK_ID" = 2 ]; then
  echo "${{SLURM_ARRAY_JOB_ID}}_$SLURM_ARRAY_TASK_ID" >"{0}.tmp" && mv "{0}.tmp" "{0}"
  LAKEPACK_PAUSE_AT="output-written:{1}"
  export LAKEPACK_PAUSE_AT
fi
exec "{2}" "$@"
)sh";

// The LAKEPACK of two racing arrays: a start barrier in directory {0}, so that their four
// runs overlap. Each element waits (polling, at most 120 s) until all four are there; it shapes
// the schedule only, and says so when it gave up.
constexpr const char* kBarrier = R"sh(touch "{0}/$SLURM_JOB_ID"
i=0
while [ "$(ls "{0}" | wc -l)" -lt 4 ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(ls "{0}" | wc -l)" -ge 4 ] || echo "barrier: not all four elements came" >&2
exec "{1}" "$@"
)sh";

std::string Tail(const std::string& s, size_t n = 2000) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

// ---------------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------------

// The one-node cluster of this process: started by the first test suite set-up, stopped by
// its tear-down (and, should this process die first, by slurm_start.sh's watcher).
class SlurmCluster {
 public:
  void Start() {
    const std::string out = dir_ / "slurm.conf.path";
    auto r = Run({"bash", kServers + "/slurm_start.sh", Dir(), out},
                 {{"LAKEPACK_SLURM_OWNER_PID", std::to_string(::getpid())}});
    if (r.exit_code == 3) {
      why_not_ = "Slurm is not installed here: " + r.err;
    } else if (r.exit_code != 0) {
      why_not_ = fmt::format("Slurm did not start (slurm_start.sh exit {}): {}", r.exit_code,
                             Tail(r.All()));
    } else {
      conf_ = ReadFile(out);
      while (!conf_.empty() && conf_.back() == '\n') conf_.pop_back();
      std::cout << r.out << std::flush;
    }
  }
  void Stop() {
    auto r = Run({"bash", kServers + "/slurm_stop.sh", Dir()});
    EXPECT_EQ(r.exit_code, 0) << r.All();
  }

  //! The jobcomp/filetxt log: a line for every job that ended.
  std::string jobcomp() const { return Dir() + "/log/jobcomp.txt"; }
  //! Why the cluster is not up ("" when it is).
  const std::string& why_not() const { return why_not_; }
  //! A Slurm command (sbatch, scontrol, ...) against this cluster.
  RunResult Command(const std::vector<std::string>& argv,
                    std::map<std::string, std::string> env = {}) const {
    env["SLURM_CONF"] = conf_;
    return Run(argv, env);
  }
  Spawned SpawnCommand(const std::vector<std::string>& argv,
                       std::map<std::string, std::string> env) const {
    env["SLURM_CONF"] = conf_;
    return Spawn(argv, env);
  }

 private:
  std::string Dir() const { return dir_ / "slurm"; }
  ScratchDir dir_;
  std::string conf_, why_not_;
};

// ---------------------------------------------------------------------------------------------
// Plans, elements and what they say
// ---------------------------------------------------------------------------------------------

// A plan: output URI -> the rows its task merges.
using Plan = std::map<std::string, int64_t>;

int64_t RowsOf(const Plan& p) {
  int64_t rows = 0;
  for (const auto& [_, r] : p) rows += r;
  return rows;
}

// What one array element left: its output files, its --json summary, its job state.
struct Element {
  std::string label;  // "job 12 element 2"
  RunResult run;      // exit_code from its jobcomp line; out and err from its output files
  json summary;
  std::string state;  // JobState: COMPLETED, CANCELLED, ...

  int64_t Get(const char* key) const {
    if (!summary.is_object() || !summary.contains(key)) return 0;
    const json& v = summary[key];
    return v.is_number_integer() ? v.get<int64_t>() : 0;
  }
  int64_t Done() const { return Get("tasks") - Get("tasks_failed") - Get("tasks_skipped"); }
  //! The output URIs of the tasks it skipped ("<URI>: why").
  std::set<std::string> Skipped() const {
    std::set<std::string> out;
    if (!summary.is_object() || !summary.contains("skipped")) return out;
    for (const auto& line : summary["skipped"]) {
      std::string s = line.is_string() ? line.get<std::string>() : "";
      out.insert(s.substr(0, s.find(": ")));
    }
    return out;
  }
  std::string Brief() const {
    return fmt::format("{}: {} exit {}, tasks {}, failed {}, skipped {}, rows {}, recovered {}",
                       label, state, run.exit_code, Get("tasks"), Get("tasks_failed"),
                       Get("tasks_skipped"), Get("rows"), Get("recovered"));
  }
};

std::string Briefs(const std::vector<const Element*>& elements) {
  std::string s;
  for (const auto* e : elements) s += "  " + e->Brief() + "\n";
  return s;
}

// One `sbatch --wait --array=...` and its elements, by index.
struct ArrayRun {
  RunResult sbatch;
  std::string job_id;
  std::map<int, Element> elements;
};

// The ends of the elements of array job `array_job`, from jobcomp/filetxt's lines (one per job
// that ended: "JobId=4 ... JobState=CANCELLED ... ArrayJobId=1 ArrayTaskId=2 ... ExitCode=0:15"):
// array index -> (JobState, ExitCode). A later line of an index (a requeued element) wins.
std::map<int, std::pair<std::string, std::string>> JobEnds(const std::string& jobcomp,
                                                           const std::string& array_job) {
  std::map<int, std::pair<std::string, std::string>> out;
  static const std::regex array(R"(\bArrayJobId=(\d+)\b)"), task(R"(\bArrayTaskId=(\d+)\b)"),
      state(R"(\bJobState=(\S+))"), code(R"(\bExitCode=(\S+))");
  size_t pos = 0;
  while (pos < jobcomp.size()) {
    size_t end = jobcomp.find('\n', pos);
    if (end == std::string::npos) end = jobcomp.size();
    std::string line = jobcomp.substr(pos, end - pos);
    pos = end + 1;
    std::smatch a, t, s, c;
    if (std::regex_search(line, a, array) && a[1] == array_job &&
        std::regex_search(line, t, task) && std::regex_search(line, s, state) &&
        std::regex_search(line, c, code)) {
      out[std::stoi(t[1])] = {s[1], c[1]};
    }
  }
  return out;
}

// "0:15" -> the exit status before the colon (the signal is after it).
int ExitStatus(const std::string& exit_code) { return std::atoi(exit_code.c_str()); }

class SlurmArray : public ::testing::TestWithParam<std::string> {
 public:
  static void SetUpTestSuite() {
    cluster_ = new SlurmCluster;
    cluster_->Start();
  }
  static void TearDownTestSuite() {
    if (cluster_->why_not().empty()) cluster_->Stop();
    delete cluster_;
    cluster_ = nullptr;
  }

 protected:
  void SetUp() override {
    SKIP_UNLESS_AVAILABLE(GetParam());
    if (!cluster_->why_not().empty()) GTEST_SKIP() << cluster_->why_not();
    job_name_ = fmt::format(
        "lp-{}-{}", ::testing::UnitTest::GetInstance()->current_test_info()->name(), ::getpid());
    job_name_ = std::regex_replace(job_name_, std::regex("[^A-Za-z0-9-]"), "-");
  }
  void TearDown() override {
    if (job_name_.empty()) return;
    // Whatever a failed check left running.
    (void)cluster_->Command({"scancel", "--full", "--name=" + job_name_});
    auto left = cluster_->Command({"squeue", "-h", "--name=" + job_name_, "-o", "%i %T"});
    EXPECT_EQ(left.out, "") << "jobs of this test still queued after scancel";
  }

  // The arguments of the rollup every element runs.
  std::vector<std::string> RollupArgs(const TestLake& lake, bool one_task_at_a_time = false) {
    std::vector<std::string> a = {"rollup",     lake.uri(),   "--start", "2025-01-01", "--end",
                                  "2025-01-01", "--grouping", "hour",    "--json"};
    if (one_task_at_a_time) a.insert(a.end(), {"--parallel", "1"});
    return a;
  }

  // The plan of `args` (--dry-run), of shard i/N when `shard` is given.
  Plan DryRun(TestLake& lake, std::vector<std::string> args, const std::string& shard = "") {
    args.push_back("--dry-run");
    if (!shard.empty()) args.insert(args.end(), {"--shard", shard});
    auto r = lake.Run(args);
    EXPECT_EQ(r.exit_code, 0) << r.All();
    json j = SummaryJson(r);
    Plan plan;
    if (!j.contains("plan")) {
      ADD_FAILURE() << "no plan in the dry run's output: " << r.out;
      return plan;
    }
    for (const auto& p : j["plan"]) plan[p.value("output", "")] = p.value("rows", int64_t{0});
    return plan;
  }

  // The plans of shards 0 .. n-1; they must split the whole plan.
  std::vector<Plan> ShardPlans(TestLake& lake, const std::vector<std::string>& args, int n,
                               const Plan& whole) {
    std::vector<Plan> shards;
    Plan joined;
    for (int i = 0; i < n; i++) {
      shards.push_back(DryRun(lake, args, fmt::format("{}/{}", i, n)));
      for (const auto& [k, v] : shards.back()) {
        EXPECT_TRUE(joined.emplace(k, v).second) << k << " is in two shards' plans";
      }
    }
    EXPECT_EQ(joined, whole) << "the shards' plans do not make up the whole plan";
    return shards;
  }

  // `sbatch --wait --array=ARRAY` of the contrib script, started; `tag` names its output files.
  Spawned Submit(const TestLake& lake, const std::string& array, const std::string& tag,
                 const std::vector<std::string>& args, std::map<std::string, std::string> env) {
    std::vector<std::string> argv = {"sbatch",
                                     "--wait",
                                     "--parsable",
                                     "--array=" + array,
                                     "--job-name=" + job_name_,
                                     "--output=" + scratch_ / (tag + "-%a.out"),
                                     "--error=" + scratch_ / (tag + "-%a.err"),
                                     kScript};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& [k, v] : lake.env()) env[k] = v;
    if (!env.count("LAKEPACK")) env["LAKEPACK"] = LAKEPACK_BIN;
    return cluster_->SpawnCommand(argv, env);
  }

  // Waits for a submitted array and gathers its elements (`indices`): their output files, and
  // their ends from the cluster's jobcomp file (polled until every element has its line).
  ArrayRun Collect(Spawned& sbatch, const std::string& tag, const std::vector<int>& indices) {
    ArrayRun a;
    a.sbatch = Wait(sbatch, kArrayCap);
    a.job_id = a.sbatch.out.substr(0, a.sbatch.out.find_first_of(";\n"));
    std::map<int, std::pair<std::string, std::string>> states;
    const auto deadline = std::chrono::steady_clock::now() + kWaitCap;
    while (!a.job_id.empty()) {
      states = JobEnds(ReadFile(cluster_->jobcomp()), a.job_id);
      if (states.size() >= indices.size() || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (int i : indices) {
      Element e;
      e.label = fmt::format("job {} element {}", a.job_id, i);
      e.run.out = ReadFile(scratch_ / fmt::format("{}-{}.out", tag, i));
      e.run.err = ReadFile(scratch_ / fmt::format("{}-{}.err", tag, i));
      e.summary = SummaryJson(e.run);
      if (states.count(i)) {
        e.state = states[i].first;
        e.run.exit_code = ExitStatus(states[i].second);
      } else {
        ADD_FAILURE() << e.label << ": no line in " << cluster_->jobcomp() << "; sbatch said:\n"
                      << a.sbatch.All();
      }
      a.elements[i] = std::move(e);
    }
    return a;
  }

  ArrayRun SubmitAndWait(const TestLake& lake, const std::string& array, const std::string& tag,
                         const std::vector<int>& indices, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {}) {
    Spawned s = Submit(lake, array, tag, args, env);
    return Collect(s, tag, indices);
  }

  // An element that ran to its end: exit 0, state COMPLETED, a summary, no failed task, and
  // no secret of the store in what it printed.
  void ExpectCompleted(const Element& e, const TestLake& lake) {
    EXPECT_EQ(e.state, "COMPLETED") << e.Brief() << "\n" << Tail(e.run.All());
    EXPECT_EQ(e.run.exit_code, 0) << e.Brief() << "\n" << Tail(e.run.All());
    EXPECT_TRUE(e.summary.is_object()) << e.label << " printed no JSON summary:\n"
                                       << Tail(e.run.All());
    EXPECT_EQ(e.Get("tasks_failed"), 0) << e.Brief() << "\n" << Tail(e.run.All());
    ExpectNoSecret(e, lake);
  }
  void ExpectNoSecret(const Element& e, const TestLake& lake) {
    const std::string secret = lake.env().at("AWS_SECRET_ACCESS_KEY");
    EXPECT_EQ(e.run.All().find(secret), std::string::npos)
        << e.label << ": the store's secret is in its output";
  }

  // The tasks an element did, by output URI, when it planned its whole shard: the shard's
  // plan less what it skipped. Its rows must be those tasks' rows.
  std::set<std::string> DoneTasks(const Element& e, const Plan& shard) {
    EXPECT_EQ(e.Get("tasks"), static_cast<int64_t>(shard.size()))
        << e.Brief() << ": it planned another number of tasks than its shard's dry run";
    std::set<std::string> done;
    Plan rows;
    const auto skipped = e.Skipped();
    for (const auto& s : skipped) {
      EXPECT_TRUE(shard.count(s)) << e.label << " skipped a task outside its shard: " << s;
    }
    for (const auto& [out, r] : shard) {
      if (!skipped.count(out)) {
        done.insert(out);
        rows[out] = r;
      }
    }
    EXPECT_EQ(e.Done(), static_cast<int64_t>(done.size())) << e.Brief();
    EXPECT_EQ(e.Get("rows"), RowsOf(rows))
        << e.Brief() << ": its rows are not those of the tasks of its shard it did not skip";
    return done;
  }

  // Every task of `whole` in exactly one of `done`.
  void ExpectEachTaskOnce(const std::vector<std::set<std::string>>& done, const Plan& whole,
                          const std::string& briefs) {
    std::map<std::string, int> times;
    for (const auto& d : done) {
      for (const auto& t : d) times[t]++;
    }
    for (const auto& [t, _] : whole) {
      EXPECT_EQ(times[t], 1) << t << " was done " << times[t] << " time(s)\n" << briefs;
    }
    for (const auto& [t, n] : times) {
      EXPECT_TRUE(whole.count(t)) << t << " was done but is not in the plan";
    }
  }

  // The lake after the work: every hour file of the plan and nothing else, the rows exactly
  // those of the minute files, nothing of lakepack's own left.
  void ExpectLakeRolledUp(TestLake& lake, const Plan& whole, const RowDigest& before) {
    std::vector<std::string> hours;
    for (const auto& [uri, _] : whole) hours.push_back(lake.KeyOf(uri));
    std::sort(hours.begin(), hours.end());
    EXPECT_EQ(lake.DataKeys(), hours) << "every hour file, and no minute file left";
    RowDigest after = lake.Digest();
    EXPECT_EQ(after, before) << "the lake holds " << after.rows << " rows; " << before.rows
                             << " were rolled up";
    auto left = lake.LakepackLeftovers();
    EXPECT_TRUE(left.empty()) << left.size() << " object(s) under _lakepack/ left, the first "
                              << (left.empty() ? "" : left[0]);
  }

  // A lake of 24 hours of 2025-01-01, two minute files each (24 hour tasks), the rollup the
  // elements run on it, and its plans: whole and split into `shards`.
  struct Setup {
    std::unique_ptr<TestLake> lake;
    RowDigest before;
    std::vector<std::string> args;
    Plan whole;
    std::vector<Plan> shards;
  };
  Setup MakeLake(const std::string& name, int shards, bool one_task_at_a_time = false) {
    std::string tree = SampleTree(
        scratch_, {"--minutes", "48", "--every", "30", "--rows-per-file", "20", "--seed", "13"});
    Setup s;
    s.lake = TestLake::Open(GetParam(), name);
    s.lake->PutTree(tree);
    s.before = s.lake->DigestFiles(ListFilePaths(tree));
    EXPECT_EQ(s.before.rows, 48 * 20);
    s.args = RollupArgs(*s.lake, one_task_at_a_time);
    s.whole = DryRun(*s.lake, s.args);
    EXPECT_EQ(s.whole.size(), 24u);
    s.shards = ShardPlans(*s.lake, s.args, shards, s.whole);
    return s;
  }

  // Writes an executable shell script.
  std::string Script(const std::string& name, const std::string& body) {
    std::string path = scratch_ / name;
    WriteFile(path, "#!/bin/sh\n" + body);
    fs::permissions(path, fs::perms::owner_all);
    return path;
  }

  static SlurmCluster* cluster_;
  std::string job_name_;
  ScratchDir scratch_;
};

SlurmCluster* SlurmArray::cluster_ = nullptr;

// Polls (every 50 ms, up to kWaitCap) until `path` exists.
bool AwaitFile(const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitCap;
  while (!Exists(path)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// a. Four elements, one plan
// ---------------------------------------------------------------------------------------------

TEST_P(SlurmArray, FourElementsDoEveryHourTaskOnce) {
  Setup s = MakeLake("slurm-four", 4);
  ASSERT_FALSE(HasFailure());
  auto& lake = s.lake;
  const auto& [before, args, whole, shards] = std::tie(s.before, s.args, s.whole, s.shards);

  const auto t0 = std::chrono::steady_clock::now();
  ArrayRun a = SubmitAndWait(*lake, "0-3", "four", {0, 1, 2, 3}, args);
  std::vector<const Element*> all;
  for (const auto& [_, e] : a.elements) all.push_back(&e);
  std::cout << fmt::format(
                   "{}: array {} in {:.1f} s (sbatch --wait exit {}):\n{}", GetParam(), a.job_id,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                   a.sbatch.exit_code, Briefs(all))
            << std::flush;

  EXPECT_EQ(a.sbatch.exit_code, 0) << a.sbatch.All();
  std::vector<std::set<std::string>> done;
  for (int i = 0; i < 4; i++) {
    const Element& e = a.elements[i];
    ExpectCompleted(e, *lake);
    EXPECT_TRUE(e.Skipped().empty()) << e.Brief() << ": nothing ran beside it to skip for";
    EXPECT_NE(e.run.err.find(fmt::format("element {} (of 4)", i)), std::string::npos)
        << e.label << ": the script's line names another element or count:\n"
        << e.run.err;
    done.push_back(DoneTasks(e, shards[i]));
  }
  ExpectEachTaskOnce(done, whole, Briefs(all));
  ExpectLakeRolledUp(*lake, whole, before);
}

// ---------------------------------------------------------------------------------------------
// b. A cancelled element, resubmitted alone
// ---------------------------------------------------------------------------------------------

TEST_P(SlurmArray, CancelledElementResubmittedAlone) {
  // One task at a time: the element paused in its first task has done no other.
  Setup s = MakeLake("slurm-cancel", 4, /*one_task_at_a_time=*/true);
  ASSERT_FALSE(HasFailure());
  auto& lake = s.lake;
  const auto& [before, args, whole, shards] = std::tie(s.before, s.args, s.whole, s.shards);
  ASSERT_FALSE(shards[2].empty()) << "shard 2 of 4 has no task to be cancelled in";

  // Element 2 pauses inside its first task (kPauseElement2) and says which job it is.
  const std::string pause = scratch_ / "pause", victim = scratch_ / "victim.jobid";
  const std::string wrapper = Script(
      "pause-element-2.sh", fmt::format(fmt::runtime(kPauseElement2), victim, pause, LAKEPACK_BIN));
  Spawned first = Submit(*lake, "0-3", "first", args, {{"LAKEPACK", wrapper}});
  const bool reached = AwaitFile(pause + ".reached");
  std::string victim_job = reached ? ReadFile(victim) : "";
  while (!victim_job.empty() && victim_job.back() == '\n') victim_job.pop_back();
  if (reached) {
    // scancel exits 0 even when it cancelled nothing; its error is on stderr.
    auto c = cluster_->Command({"scancel", victim_job});
    EXPECT_EQ(c.exit_code, 0) << c.All();
    EXPECT_EQ(c.err, "") << "scancel " << victim_job;
  }
  ArrayRun a = Collect(first, "first", {0, 1, 2, 3});
  ASSERT_TRUE(reached) << "element 2 did not reach its pause within " << kWaitCap.count() << " s\n"
                       << Tail(a.elements[2].run.All());
  // A cancelled element counts as 1 in sbatch --wait's exit code.
  EXPECT_EQ(a.sbatch.exit_code, 1) << a.sbatch.All();
  const Element& cancelled = a.elements[2];
  EXPECT_EQ(cancelled.state, "CANCELLED") << cancelled.Brief();
  EXPECT_FALSE(cancelled.summary.is_object())
      << cancelled.label << " printed a summary: it ran to its end\n"
      << cancelled.run.All();
  ExpectNoSecret(cancelled, *lake);
  // The cancel hit it inside its task: its journal record and lease are in the lake, unless an
  // element still running beside it has already recovered them (seen once on RGW: element 0
  // reported "recovered": 1), and the output of that task is the one hour file of its shard
  // there.
  int64_t recovered_beside = 0;
  for (int i : {0, 1, 3}) recovered_beside += a.elements[i].Get("recovered");
  EXPECT_TRUE(!lake->LakepackLeftovers().empty() || recovered_beside == 1)
      << "the cancelled element left no journal record or lease, and no other element "
         "recovered its task";
  const auto keys = lake->DataKeys();
  std::vector<std::string> written;
  for (const auto& [uri, _] : shards[2]) {
    if (std::binary_search(keys.begin(), keys.end(), lake->KeyOf(uri))) written.push_back(uri);
  }
  ASSERT_EQ(written.size(), 1u) << "hour files of shard 2 in the lake after the cancel: "
                                << written.size() << ", not the one it was cancelled in";
  // Every output of that task was written, so recovery rolls it forward (commit-protocol.md)
  // and the resubmitted element plans the rest of its shard.
  Plan rest = shards[2];
  rest.erase(written[0]);

  ArrayRun again = SubmitAndWait(*lake, "2", "again", {2}, args, {{"LAKEPACK_SHARDS", "4"}});
  std::vector<const Element*> all = {&a.elements[0], &a.elements[1], &a.elements[2], &a.elements[3],
                                     &again.elements[2]};
  std::cout << fmt::format("{}: array {}, element 2 cancelled, resubmitted as {}:\n{}", GetParam(),
                           a.job_id, again.job_id, Briefs(all))
            << std::flush;
  EXPECT_EQ(again.sbatch.exit_code, 0) << again.sbatch.All();

  std::vector<std::set<std::string>> done;
  for (int i : {0, 1, 3}) {
    ExpectCompleted(a.elements[i], *lake);
    done.push_back(DoneTasks(a.elements[i], shards[i]));
  }
  const Element& resubmitted = again.elements[2];
  ExpectCompleted(resubmitted, *lake);
  EXPECT_NE(resubmitted.run.err.find("element 2 (of 4)"), std::string::npos) << resubmitted.run.err;
  EXPECT_TRUE(resubmitted.Skipped().empty()) << resubmitted.Brief();
  done.push_back(DoneTasks(resubmitted, rest));
  done.push_back({written[0]});  // by recovery
  ExpectEachTaskOnce(done, whole, Briefs(all));
  // The dead run's task was recovered once, by whichever run met its record first: the
  // resubmitted element, or one of the others had it started after the cancel.
  int64_t recovered = 0;
  for (const auto* e : all) recovered += e->Get("recovered");
  EXPECT_EQ(recovered, 1) << "the cancelled element's task must be recovered exactly once\n"
                          << Briefs(all);
  ExpectLakeRolledUp(*lake, whole, before);
}

// ---------------------------------------------------------------------------------------------
// c. Two arrays of one plan at once
// ---------------------------------------------------------------------------------------------

TEST_P(SlurmArray, TwoArraysOfOnePlanAtOnce) {
  Setup s = MakeLake("slurm-race", 2);
  ASSERT_FALSE(HasFailure());
  auto& lake = s.lake;
  const auto& [before, args, whole, shards] = std::tie(s.before, s.args, s.whole, s.shards);

  // Every check below holds whatever the order of the runs; the barrier makes them overlap.
  const std::string barrier = scratch_ / "barrier";
  fs::create_directories(barrier);
  const std::string wrapper =
      Script("barrier.sh", fmt::format(fmt::runtime(kBarrier), barrier, LAKEPACK_BIN));
  Spawned first = Submit(*lake, "0-1", "race-a", args, {{"LAKEPACK", wrapper}});
  Spawned second = Submit(*lake, "0-1", "race-b", args, {{"LAKEPACK", wrapper}});
  ArrayRun a = Collect(first, "race-a", {0, 1});
  ArrayRun b = Collect(second, "race-b", {0, 1});
  std::vector<const Element*> all = {&a.elements[0], &a.elements[1], &b.elements[0],
                                     &b.elements[1]};
  std::cout << fmt::format("{}: arrays {} and {} at once:\n{}", GetParam(), a.job_id, b.job_id,
                           Briefs(all))
            << std::flush;
  EXPECT_EQ(a.sbatch.exit_code, 0) << a.sbatch.All();
  EXPECT_EQ(b.sbatch.exit_code, 0) << b.sbatch.All();

  for (const auto* e : all) {
    ExpectCompleted(*e, *lake);
    EXPECT_EQ(e->run.err.find("barrier:"), std::string::npos)
        << e->label << ": the four elements did not all run at once\n"
        << e->run.err;
  }
  // Per shard, the two runs of it: together they did each of its tasks once. A run that
  // listed the lake after the other had committed some tasks planned fewer, so its tasks are
  // counted, not named: done counts, and rows, add up to the shard's; skips name its tasks.
  for (int i = 0; i < 2; i++) {
    const Element& x = a.elements[i];
    const Element& y = b.elements[i];
    EXPECT_EQ(x.Done() + y.Done(), static_cast<int64_t>(shards[i].size()))
        << "shard " << i << " of 2: its two runs did " << x.Done() + y.Done() << " of "
        << shards[i].size() << " tasks\n"
        << Briefs(all);
    EXPECT_EQ(x.Get("rows") + y.Get("rows"), RowsOf(shards[i]))
        << "shard " << i << " of 2: its two runs merged other rows than its tasks'\n"
        << Briefs(all);
    for (const auto* e : {&x, &y}) {
      for (const auto& s : e->Skipped()) {
        EXPECT_TRUE(shards[i].count(s)) << e->label << " skipped a task outside its shard: " << s;
      }
    }
  }
  ExpectLakeRolledUp(*lake, whole, before);
}

// ---------------------------------------------------------------------------------------------
// The script's own checks, outside Slurm
// ---------------------------------------------------------------------------------------------

// The script run with the variables an element has, on a local lake: each bad case exits 2
// with a message that names its cause, before lakepack touches the lake; a good one runs
// lakepack's shard of the element.
TEST(SlurmScript, UsageErrorsExitTwoAndAnElementRunsItsShard) {
  ScratchDir dir;
  const std::string lake =
      SampleTree(dir, {"--minutes", "48", "--every", "30", "--rows-per-file", "5", "--seed", "17"});
  const std::vector<std::string> rollup = {"rollup",    lake,         "--start",    "2025-01-01",
                                           "--end",     "2025-01-01", "--grouping", "hour",
                                           "--dry-run", "--json"};
  const std::map<std::string, std::string> element = {
      {"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_COUNT", "4"}, {"SLURM_ARRAY_TASK_MIN", "0"},
      {"SLURM_ARRAY_JOB_ID", "7"},  {"LAKEPACK_SHARDS", ""},         {"LAKEPACK", LAKEPACK_BIN}};
  struct Case {
    const char* name;
    std::vector<std::string> args;
    std::map<std::string, std::string> env;  // over `element`
    const char* says;
  };
  auto with = [&](std::vector<std::string> extra) {
    auto a = rollup;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const std::vector<Case> cases = {
      {"no command", {}, {}, "give the lakepack command"},
      {"--shard given", with({"--shard", "1/4"}), {}, "do not pass --shard"},
      {"--shard= given", with({"--shard=auto"}), {}, "do not pass --shard"},
      {"not an array", rollup, {{"SLURM_ARRAY_TASK_ID", ""}}, "not an element of a job array"},
      {"LAKEPACK_SHARDS not a count",
       rollup,
       {{"LAKEPACK_SHARDS", "four"}},
       "LAKEPACK_SHARDS must be a positive count"},
      {"LAKEPACK_SHARDS zero",
       rollup,
       {{"LAKEPACK_SHARDS", "0"}},
       "LAKEPACK_SHARDS must be a positive count"},
      {"no binary", rollup, {{"LAKEPACK", dir / "no-such-lakepack"}}, "not found (set LAKEPACK)"},
      // lakepack's own checks of --shard auto, through the script.
      {"resubmitted without LAKEPACK_SHARDS",
       rollup,
       {{"SLURM_ARRAY_TASK_ID", "2"},
        {"SLURM_ARRAY_TASK_COUNT", "1"},
        {"SLURM_ARRAY_TASK_MIN", "2"}},
       "a resubmitted element?"},
      {"index not below LAKEPACK_SHARDS",
       rollup,
       {{"SLURM_ARRAY_TASK_ID", "2"}, {"LAKEPACK_SHARDS", "2"}},
       "is not below N = 2"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto env = element;
    for (const auto& [k, v] : c.env) env[k] = v;
    std::vector<std::string> argv = {"bash", kScript};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = e2e::Run(argv, env);
    EXPECT_EQ(r.exit_code, 2) << r.All();
    EXPECT_NE(r.err.find(c.says), std::string::npos) << "expected '" << c.says << "' in:\n"
                                                     << r.err;
  }
  EXPECT_EQ(ListFilePaths(lake).size(), 48u) << "a bad case changed the lake";

  // Element 1 of 4 plans what --shard 1/4 plans, and says which element it is.
  std::vector<std::string> argv = {"bash", kScript};
  argv.insert(argv.end(), rollup.begin(), rollup.end());
  auto r = e2e::Run(argv, element);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("job 7 element 1 (of 4)"), std::string::npos) << r.err;
  auto direct = Lakepack(with({"--shard", "1/4"}));
  ASSERT_EQ(direct.exit_code, 0) << direct.All();
  EXPECT_EQ(SummaryJson(r), SummaryJson(direct));
  EXPECT_FALSE(SummaryJson(r)["plan"].empty()) << "shard 1 of 4 has no task: a weak check";
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& i) { return i.param; }

INSTANTIATE_TEST_SUITE_P(Slurm, SlurmArray, ::testing::Values("moto", "rgw"), BackendName);

}  // namespace
}  // namespace lakepack::e2e
