// Crash tests of `lakepack repartition` (issue 12): 20 trials on moto and 10 on a local
// directory, each killing the run with SIGKILL at a crash point chosen deterministically per
// trial (LAKEPACK_CRASH_AT=op:<n> over the operations a clean run from the same state reaches,
// counted with LAKEPACK_COUNT_OPS, or a named step of the commit protocol), half on a first run
// and half on an incremental one (new series added after a first run). Then an uninterrupted
// rerun: each day's record multiset exact (no record twice, none missing), one file per day,
// timeseries.txt right, nothing of lakepack's own left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "e2e/repartition_util.h"

namespace lakepack::e2e {
namespace {

const std::vector<ColdDay> kDays = {{2023, 1, 7}, {2023, 1, 8}};
const std::vector<std::string> kSteps = {"journal-intent", "output-written", "committed",
                                         "ledger-written", "journal-dropped"};

using Trial = std::tuple<std::string, int>;  // backend, trial
class RepartitionCrash : public ::testing::TestWithParam<Trial> {};

TEST_P(RepartitionCrash, KillThenRerunIsExact) {
  auto [backend, trial] = GetParam();
  // Four series in the first run (--series-list), two more in the incremental one.
  ColdTier cold(backend, "rpc-src");
  cold.Add({"--start", "2023-01-07", "--days", "2", "--series", "6", "--records", "30"});
  ScratchDir tmp;
  auto ids = SeriesOf(AvroRecords(cold.DayFiles(kDays[0]), "python"));
  ASSERT_EQ(ids.size(), 6u);
  std::string first4;
  for (int i = 0; i < 4; i++) first4 += ids[i] + "\n";
  WriteFile(tmp / "first4.txt", first4);

  const bool incremental = trial % 2 == 1;
  auto args = [&](const std::string& dst, bool subset) {
    std::vector<std::string> more = {"--parallel", "1"};
    if (subset) more.insert(more.end(), {"--series-list", tmp / "first4.txt"});
    return RepartitionArgs(cold.uri(), dst, "2023-01-07", "2023-01-08", more);
  };
  auto dst = TestLake::Open(backend, "rpc-dst");
  if (incremental) {
    auto r = dst->Run(args(dst->uri(), true));
    ASSERT_EQ(r.exit_code, 0) << r.All();
  }
  // The crash point: trials 0-9 a named step (first or second occurrence: day 7's task or
  // day 8's), trials 10-19 an operation at a fixed fraction of the counted range (4% to 97%).
  std::string at;
  if (trial < 10) {
    at = kSteps[(trial / 2) % kSteps.size()] + ":" + std::to_string(1 + (trial / 2 + trial) % 2);
  } else {
    auto twin = TestLake::Open(backend, "rpc-count");
    if (incremental) {
      auto r = twin->Run(args(twin->uri(), true));
      ASSERT_EQ(r.exit_code, 0) << r.All();
    }
    const std::string count_file = tmp / "ops";
    auto r = twin->Run(args(twin->uri(), false), {{"LAKEPACK_COUNT_OPS", count_file}});
    ASSERT_EQ(r.exit_code, 0) << r.All();
    const int64_t ops = std::stoll(ReadFile(count_file));
    ASSERT_GT(ops, 0);
    // Five points spread over the run, early to late, for each of the two kinds of run.
    static const double kAt[] = {0.04, 0.27, 0.52, 0.76, 0.97};
    const int64_t n = std::clamp<int64_t>(std::llround(kAt[(trial - 10) / 2] * ops), 1, ops);
    at = "op:" + std::to_string(n);
    std::cout << backend << " trial " << trial << ": op " << n << " of " << ops << std::endl;
  }
  auto killed = dst->Run(args(dst->uri(), false), {{"LAKEPACK_CRASH_AT", at}});
  EXPECT_EQ(killed.exit_code, 137) << "expected SIGKILL at " << at << "\n" << killed.All();
  auto rerun = dst->Run(args(dst->uri(), false));
  ASSERT_EQ(rerun.exit_code, 0) << "after a kill at " << at << "\n" << rerun.All();
  SCOPED_TRACE("killed at " + at + (incremental ? " (incremental run)" : " (first run)"));
  ExpectOnlyDays(*dst, kDays);
  for (const auto& d : kDays) ExpectDay(*dst, cold, d, nullptr, "python");
  EXPECT_EQ(dst->LakepackLeftovers(), std::vector<std::string>{}) << rerun.All();
  // And one more run changes nothing.
  auto before = Etags(*dst);
  auto again = dst->Run(args(dst->uri(), false));
  ASSERT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(Etags(*dst), before) << again.All();
}

std::string TrialName(const ::testing::TestParamInfo<Trial>& i) {
  return std::get<0>(i.param) + "_" + std::to_string(std::get<1>(i.param));
}

INSTANTIATE_TEST_SUITE_P(Moto, RepartitionCrash,
                         ::testing::Combine(::testing::Values("moto"), ::testing::Range(0, 20)),
                         TrialName);
INSTANTIATE_TEST_SUITE_P(Local, RepartitionCrash,
                         ::testing::Combine(::testing::Values("local"),
                                            ::testing::Values(0, 3, 4, 7, 8, 11, 12, 15, 16, 19)),
                         TrialName);

}  // namespace
}  // namespace lakepack::e2e
