// `lakepack watch --once` through the fault proxy (tests/faults/fault_proxy.py) in front of moto:
// 5% and 20% of requests fail (500, 503, SlowDown, resets before and after forwarding, cut
// bodies), with the store's default retries and with one retry only (so that failures reach
// watch's own --retries). Every file must land exactly once: the run exits 0, or it exits 1
// and a rerun (the faults off) exits 0; either way each object holds exactly its CSV's rows,
// there is no other object, and the checkpoint has every file.
#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/watch_util.h"
#include "faults/fault_proxy_process.h"

namespace lakepack::e2e::watch {
namespace {

namespace fs = std::filesystem;

using ::lakepack::testing::FaultProxy;
using ::lakepack::testing::FaultProxyOptions;

struct FaultCase {
  const char* name;
  double rate;
  int store_retries;  // LAKEPACK_S3_MAX_RETRIES; -1: the store's default
  uint64_t seed;
  friend void PrintTo(const FaultCase& c, std::ostream* os) { *os << c.name; }
};

class WatchFaults : public ::testing::TestWithParam<FaultCase> {};

TEST_P(WatchFaults, EveryFileLandsOnce) {
  const FaultCase& c = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE("moto");
  const S3Server moto = ServerOf("moto");
  FaultProxyOptions options;
  options.upstream_port = moto.Port();
  options.rate = c.rate;
  options.seed = c.seed;
  auto started = FaultProxy::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::unique_ptr<FaultProxy> proxy = std::move(*started);

  auto dst = Dst::Fresh("moto", std::string("faults-") + c.name);
  ScratchDir scratch;
  const std::string dir = scratch / "in";
  const std::string checkpoint = scratch / "checkpoint.txt";
  fs::create_directories(scratch / "tmp");
  auto specs = NestedSpecs(20, 40);
  for (const auto& s : specs) Drop(dir, s);

  auto env = dst->LakepackEnv(proxy->endpoint());
  env["TMPDIR"] = scratch / "tmp";
  // Quick store retries, so that the test spends its time on requests, not on backoff.
  env["LAKEPACK_S3_RETRY_BASE_MS"] = "5";
  env["LAKEPACK_S3_RETRY_MAX_DELAY_MS"] = "200";
  env["LAKEPACK_S3_IDLE_TIMEOUT_S"] = "60";
  if (c.store_retries >= 0) env["LAKEPACK_S3_MAX_RETRIES"] = std::to_string(c.store_retries);
  const std::vector<std::string> args = {dir,         dst->uri(), "--once",        "--settle",
                                         "0",         "--json",   "--checkpoint",  checkpoint,
                                         "--retries", "3",        "--retry-delay", "1"};
  auto start = std::chrono::steady_clock::now();
  Daemon first(WatchArgv(args), env);
  auto r = first.Finish(std::chrono::seconds(300));
  std::cout << "first run's stderr:\n" << Tail(r.err, 4000) << std::endl;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << c.name << ": exit " << r.exit_code << " after " << seconds << " s, "
            << proxy->faults() << " faults injected" << std::endl;
  RecordProperty("faults", proxy->faults());
  EXPECT_GT(proxy->faults(), 0) << "no fault was injected: the test tested nothing";
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1)
      << "exit " << r.exit_code << " (0 or 1 expected):\n"
      << Tail(r.All());
  if (r.exit_code == 1) {
    // A failed file is named; the rerun, with the faults off, finishes the job.
    auto failed = FilesOf(ParseEvents(r.out), "failed");
    EXPECT_FALSE(failed.empty()) << "exit 1, yet no 'failed' event:\n" << Tail(r.All());
    std::cout << c.name << ": failed in the first run: " << Join(failed) << std::endl;
    auto off = e2e::Run({"curl", "-s", "-f", "-X", "POST", "-H", "Content-Type: application/json",
                         "--data", "{\"rate\": 0}", proxy->endpoint() + "/__fault_proxy/config"});
    ASSERT_EQ(off.exit_code, 0) << "turning the faults off: " << off.All();
    Daemon rerun(WatchArgv(args), env);
    auto again = rerun.Finish(std::chrono::seconds(300));
    EXPECT_EQ(again.exit_code, 0) << "the rerun after exit 1:\n" << Tail(again.All());
  }
  // Every object exact, nothing else; a lease whose delete failed on every attempt may stay
  // (dead; the next claim of its key takes it over), never a journal record or a staged object.
  ExpectMirrors(*dst, specs, ExpectedMultisets(specs, scratch.path()), {"hyparquet"},
                "_lakepack/leases/[^/]+");
  ExpectCheckpoint(checkpoint, dir, specs, *dst);
  EXPECT_TRUE(ListFiles(scratch / "tmp").empty())
      << "left in lakepack's TMPDIR: " << Join(ListFiles(scratch / "tmp"));
}

// "Uploads that fail (after the store's own retries) are retried with backoff: --retry-delay
// seconds, doubled each time, up to --retries attempts in all per file. Then the file is
// reported failed." Every PUT of one object fails (and nothing else): that file gets exactly
// --retries attempts, the last one final, while the others land; its rerun with the faults off
// lands it. The secret shows nowhere.
TEST(WatchRetries, AFileThatNeverUploadsFailsAfterItsAttempts) {
  WATCH_SKIP_UNLESS_AVAILABLE("moto");
  const S3Server moto = ServerOf("moto");
  auto dst = Dst::Fresh("moto", "retries");
  FaultProxyOptions options;
  options.upstream_port = moto.Port();
  options.rate = 1.0;
  options.kinds = "500,503";
  options.match = "^PUT /" + dst->bucket() + "/a/f01\\.parquet";
  auto started = FaultProxy::Start(options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  std::unique_ptr<FaultProxy> proxy = std::move(*started);

  ScratchDir scratch;
  const std::string dir = scratch / "in";
  const std::string checkpoint = scratch / "checkpoint.txt";
  auto specs = NestedSpecs(4);
  for (const auto& s : specs) Drop(dir, s);
  const std::string secret = "watch-retry-secret-Zq8v";
  auto env = dst->LakepackEnv(proxy->endpoint());
  env["AWS_SECRET_ACCESS_KEY"] = secret;  // moto checks no signature
  env["LAKEPACK_S3_MAX_RETRIES"] = "0";
  const std::vector<std::string> args = {dir,         dst->uri(), "--once",        "--settle",
                                         "0",         "--json",   "--checkpoint",  checkpoint,
                                         "--retries", "3",        "--retry-delay", "1"};
  auto start = std::chrono::steady_clock::now();
  Daemon d(WatchArgv(args), env);
  auto r = d.Finish(std::chrono::seconds(300));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << Tail(r.All());
  auto failed = Named(ParseEvents(r.out), "failed");
  std::vector<int> attempts;
  for (const auto& e : failed) {
    EXPECT_EQ(e.value("file", ""), "a/f01.csv") << e.dump();
    attempts.push_back(e.value("attempt", -1));
    EXPECT_EQ(e.value("final", false), e.value("attempt", -1) == 3) << e.dump();
  }
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3})) << r.out;
  // Backoff 1 s then 2 s: at least 3 s in all (a loose bound, never an upper one).
  EXPECT_GE(seconds, 3.0);
  EXPECT_NE(r.err.find("a/f01.csv"), std::string::npos) << Tail(r.err);
  EXPECT_EQ(r.All().find(secret), std::string::npos) << "the secret shows:\n" << Tail(r.All());
  std::vector<CsvSpec> others;
  for (const auto& s : specs) {
    if (s.rel != "a/f01.csv") others.push_back(s);
  }
  ExpectMirrors(*dst, others, ExpectedMultisets(others, scratch.path()), {"hyparquet"},
                "_lakepack/leases/[^/]+");
  EXPECT_EQ(ReadCheckpoint(checkpoint).entries.count("a/f01.csv"), 0u);

  auto off = e2e::Run({"curl", "-s", "-f", "-X", "POST", "-H", "Content-Type: application/json",
                       "--data", "{\"rate\": 0}", proxy->endpoint() + "/__fault_proxy/config"});
  ASSERT_EQ(off.exit_code, 0) << off.All();
  Daemon rerun(WatchArgv(args), env);
  auto again = rerun.Finish(std::chrono::seconds(300));
  EXPECT_EQ(again.exit_code, 0) << Tail(again.All());
  ExpectMirrors(*dst, specs, scratch.path());
  ExpectCheckpoint(checkpoint, dir, specs, *dst);
}

// A retry must not be blocked by the run's own lease (it once waited on it until the lease
// expired). Two proxies in a chain: the outer one fails every DeleteObjects (so the failed
// attempt can release neither its lease nor its journal record), the inner one fails the first
// PUT of one object only. Once that first attempt has failed, the outer proxy's faults are
// turned off: a later attempt of the same run can upload the file, and must (its lease is its
// own run's). When the faults go off only shifts which attempt succeeds, not the verdict.
TEST(WatchRetries, ARetryIsNotBlockedByItsOwnLease) {
  WATCH_SKIP_UNLESS_AVAILABLE("moto");
  const S3Server moto = ServerOf("moto");
  auto dst = Dst::Fresh("moto", "ownlease");
  FaultProxyOptions inner_options;
  inner_options.upstream_port = moto.Port();
  inner_options.rate = 1.0;
  inner_options.kinds = "500";
  inner_options.match = "^PUT /" + dst->bucket() + "/a/f01\\.parquet";
  inner_options.max_faults = 1;
  auto inner = FaultProxy::Start(inner_options);
  ASSERT_TRUE(inner.ok()) << inner.status().ToString();
  FaultProxyOptions outer_options;
  outer_options.upstream_port = (*inner)->port();
  outer_options.rate = 1.0;
  outer_options.kinds = "500";
  // Leases go with a DeleteObjects (POST ?delete), as do journal records.
  outer_options.match = "^POST /" + dst->bucket() + "/?\\?delete";
  auto outer = FaultProxy::Start(outer_options);
  ASSERT_TRUE(outer.ok()) << outer.status().ToString();

  ScratchDir scratch;
  const std::string dir = scratch / "in";
  const std::string checkpoint = scratch / "checkpoint.txt";
  auto specs = NestedSpecs(3);
  for (const auto& s : specs) Drop(dir, s);
  auto env = dst->LakepackEnv((*outer)->endpoint());
  env["LAKEPACK_S3_MAX_RETRIES"] = "0";
  Daemon d(WatchArgv({dir, dst->uri(), "--once", "--settle", "0", "--json", "--checkpoint",
                      checkpoint, "--retries", "3", "--retry-delay", "2"}),
           env);
  std::string why;
  bool first_failed = d.WaitUntil(
      [&] {
        for (const auto& e : Named(d.Events(), "failed")) {
          if (e.value("file", "") == "a/f01.csv") return true;
        }
        return false;
      },
      kCap, &why);
  EXPECT_TRUE(first_failed) << "a/f01.csv's first attempt did not fail: " << why << "\n" << d.Out();
  auto off = e2e::Run({"curl", "-s", "-f", "-X", "POST", "-H", "Content-Type: application/json",
                       "--data", "{\"rate\": 0}", (*outer)->endpoint() + "/__fault_proxy/config"});
  ASSERT_EQ(off.exit_code, 0) << off.All();
  // Three small files: a run that takes two minutes is stuck (lakepack's own lease lives 300 s).
  auto r = d.Finish(kCap);
  EXPECT_EQ((*inner)->faults(), 1) << (*inner)->log();
  EXPECT_GT((*outer)->faults(), 0) << "no DeleteObjects failed: the test tested nothing";
  EXPECT_EQ(r.exit_code, 0) << "a later attempt could upload a/f01.csv:\n" << Tail(r.All());
  auto events = ParseEvents(r.out);
  EXPECT_EQ(Sorted(FilesOf(events, "ingested")), Rels(specs)) << r.out;
  for (const auto& e : Named(events, "failed")) {
    EXPECT_EQ(e.value("final", true), false) << e.dump();
  }
  // Leases and the capability probe whose deletes failed while the faults were on may stay.
  ExpectMirrors(*dst, specs, ExpectedMultisets(specs, scratch.path()), {"hyparquet"},
                "_lakepack/(leases/[^/]+|probe/[^/]+/d/e/p)");
}

const FaultCase kFaults[] = {
    {"Rate5", 0.05, -1, 5},
    {"Rate20", 0.20, -1, 20},
    {"Rate5OneStoreRetry", 0.05, 1, 55},
    {"Rate20OneStoreRetry", 0.20, 1, 2020},
};

INSTANTIATE_TEST_SUITE_P(Watch, WatchFaults, ::testing::ValuesIn(kFaults),
                         [](const ::testing::TestParamInfo<FaultCase>& i) {
                           return std::string(i.param.name);
                         });

}  // namespace
}  // namespace lakepack::e2e::watch
