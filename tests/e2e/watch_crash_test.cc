// Crash trials of `lakepack watch` (docs/watch.md, "A crash at any moment"): each trial drops 24
// CSVs in nested folders into a fresh DIR, runs the watcher (--once, or the daemon) with
// LAKEPACK_CRASH_AT chosen per trial, so that it dies by SIGKILL at a known point: an operation
// op:<n> spread over the range a first clean run counted (LAKEPACK_COUNT_OPS), or a named step
// (watch-built, watch-checkpointed, the engine's commit steps, store-request). A restart with
// --once must then finish, and leave:
//   - every file's rows in DST exactly once: per object, the row multiset (read by hyparquet,
//     independently of lakepack) is exactly its CSV's; no other object (none under _lakepack/);
//   - every file in the checkpoint, with its MD5, and the object's ETag;
//   - no second upload of an object that was already there after the kill: its ETag is the
//     same, and a file whose object was there but not checkpointed is "recorded", not ingested.
// Kills come from crash points, never from timers; every wait is bounded polling.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "e2e/watch_util.h"

namespace lakepack::e2e::watch {
namespace {

namespace fs = std::filesystem;

constexpr int kFiles = 24;

// One trial: --once or the daemon, and where it dies. `op` >= 0: the op-th of kOpTrials points
// spread over the counted operations (op:1 .. op:<count>); else `step` ("watch-built:7").
struct TrialPlan {
  bool daemon = false;
  int op = -1;
  std::string step;
};

constexpr int kOpTrials = 7;

const std::vector<TrialPlan> kPlans = {
    {false, 0, ""},
    {true, -1, "watch-built:1"},
    {false, 1, ""},
    {true, -1, "watch-checkpointed:1"},
    {false, 2, ""},
    {true, -1, "committed:3"},
    {false, -1, "watch-built:7"},
    {true, -1, "output-written:5"},
    {false, 3, ""},
    {true, -1, "watch-checkpointed:12"},
    {false, -1, "committed:1"},
    {true, -1, "lease-claimed:4"},
    {false, 4, ""},
    {true, -1, "store-request:10"},
    {false, -1, "watch-checkpointed:24"},
    {true, -1, "journal-intent:2"},
    {false, 5, ""},
    {true, -1, "watch-built:24"},
    {false, -1, "output-written:1"},
    {false, 6, ""},
};

struct CrashCase {
  std::string backend;
  int trials;
  friend void PrintTo(const CrashCase& c, std::ostream* os) {
    *os << c.backend << ", " << c.trials << " trials";
  }
};

class WatchCrash : public ::testing::TestWithParam<CrashCase> {};

std::vector<std::string> OnceArgs(const std::string& dir, const Dst& dst) {
  return {dir, dst.uri(), "--once", "--settle", "0", "--json"};
}

TEST_P(WatchCrash, EveryFileOnceAfterAKill) {
  const CrashCase c = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(c.backend);
  const auto t0 = std::chrono::steady_clock::now();
  ScratchDir work;
  const auto specs = NestedSpecs(kFiles, 20);
  const auto expected = ExpectedMultisets(specs, work.path());
  ASSERT_EQ(expected.size(), specs.size());

  // The clean run that counts the operations a --once run from scratch reaches.
  int64_t ops = 0;
  {
    auto dst = Dst::Fresh(c.backend, "count");
    const std::string dir = dst->scratch() / "in";
    for (const auto& s : specs) Drop(dir, s);
    const std::string count_file = dst->scratch() / "ops.txt";
    auto env = dst->LakepackEnv();
    env["LAKEPACK_COUNT_OPS"] = count_file;
    Daemon d(WatchArgv(OnceArgs(dir, *dst)), env);
    auto r = d.Finish(std::chrono::seconds(300));
    ASSERT_EQ(r.exit_code, 0) << "the counting run failed:\n" << Tail(r.All());
    ops = std::atoll(ReadFile(count_file).c_str());
    ExpectMirrors(*dst, specs, expected);
  }
  std::cout << c.backend << ": a clean --once run of " << kFiles << " files reaches " << ops
            << " crash points" << std::endl;
  ASSERT_GE(ops, kFiles) << "LAKEPACK_COUNT_OPS counted too few operations";

  for (int t = 0; t < c.trials; t++) {
    const TrialPlan& plan = kPlans[t % kPlans.size()];
    const std::string crash =
        plan.op >= 0 ? "op:" + std::to_string(1 + plan.op * (ops - 1) / (kOpTrials - 1))
                     : plan.step;
    const std::string label = c.backend + " trial " + std::to_string(t) + " (" +
                              (plan.daemon ? "daemon" : "--once") + ", LAKEPACK_CRASH_AT=" + crash +
                              ")";
    SCOPED_TRACE(label);
    auto dst = Dst::Fresh(c.backend, "crash-" + std::to_string(t));
    const std::string dir = dst->scratch() / "in";
    const std::string checkpoint = dir + "/.lakepack-checkpoint.txt";
    for (const auto& s : specs) Drop(dir, s);
    auto env = dst->LakepackEnv();
    env["LAKEPACK_CRASH_AT"] = crash;

    RunResult killed;
    if (plan.daemon) {
      Daemon d(WatchArgv({dir, dst->uri(), "--json", "--settle", "0", "--poll", "1"}), env);
      // It dies at its crash point; should it finish every file without reaching it, the
      // point was never reached (a failure of its own, told apart from a hang).
      std::string why;
      bool all_done = d.WaitUntil(
          [&] { return ReadCheckpoint(checkpoint).entries.size() == specs.size(); }, kCap, &why);
      if (all_done && d.Alive()) {
        d.Signal(SIGTERM);
        killed = d.Finish(std::chrono::seconds(60));
        ADD_FAILURE() << "the daemon checkpointed every file without reaching " << crash
                      << " (exit " << killed.exit_code << " on SIGTERM)";
        continue;
      }
      killed = d.Finish(std::chrono::seconds(60));
    } else {
      Daemon d(WatchArgv(OnceArgs(dir, *dst)), env);
      killed = d.Finish(std::chrono::seconds(300));
    }
    EXPECT_EQ(killed.exit_code, 137) << "expected SIGKILL at " << crash << ":\n"
                                     << Tail(killed.All());
    if (killed.exit_code != 137) continue;

    // What the kill left: objects (ETags) and checkpoint lines.
    std::string error;
    std::map<std::string, std::string> left;
    if (dst->Exists(&error)) left = Etags(*dst);
    const Checkpoint left_checkpoint = ReadCheckpoint(checkpoint);

    Daemon restart(WatchArgv(OnceArgs(dir, *dst)), dst->LakepackEnv());
    auto r = restart.Finish(std::chrono::seconds(300));
    EXPECT_EQ(r.exit_code, 0) << "the restart did not finish:\n" << Tail(r.All());
    ExpectMirrors(*dst, specs, expected);
    ExpectCheckpoint(checkpoint, dir, specs, *dst);

    // Exactly once, also in how it got there.
    auto events = ParseEvents(r.out);
    auto ingested = FilesOf(events, "ingested");
    auto recorded = FilesOf(events, "recorded");
    auto after = Etags(*dst);
    for (const auto& s : specs) {
      const std::string key = ParquetKey(s.rel);
      const bool was_checkpointed = left_checkpoint.entries.count(s.rel) > 0;
      const bool was_there = left.count(key) > 0;
      const auto n_ingested = std::count(ingested.begin(), ingested.end(), s.rel);
      const auto n_recorded = std::count(recorded.begin(), recorded.end(), s.rel);
      if (was_there) {
        EXPECT_EQ(after[key], left[key])
            << key << " was in DST after the kill and was uploaded again by the restart";
      }
      if (was_checkpointed) {
        EXPECT_EQ(n_ingested + n_recorded, 0)
            << s.rel << " was checkpointed before the kill, yet the restart "
            << (n_ingested ? "ingested" : "recorded") << " it";
      } else if (was_there) {
        EXPECT_EQ(n_recorded, 1) << s.rel << ": its object was in DST but not checkpointed: it "
                                 << "must be recorded (once), without a second upload";
        EXPECT_EQ(n_ingested, 0) << s.rel << " was uploaded a second time";
      } else {
        EXPECT_EQ(n_ingested, 1) << s.rel << " was in neither DST nor the checkpoint: the "
                                 << "restart must ingest it once";
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << c.backend << ": " << c.trials << " trials in " << seconds << " s" << std::endl;
}

INSTANTIATE_TEST_SUITE_P(Watch, WatchCrash,
                         ::testing::Values(CrashCase{"moto", 20}, CrashCase{"local", 20}),
                         [](const ::testing::TestParamInfo<CrashCase>& i) {
                           return i.param.backend;
                         });

}  // namespace
}  // namespace lakepack::e2e::watch
