// End-to-end: what the long commands show. On a terminal (a pseudo-terminal made by script(1))
// a bar on stderr is redrawn in place with tasks, files, bytes, rows, rate and ETA, and
// cleared before the summary; without one, plain lines and no escape codes.
#include <gtest/gtest.h>

#include <regex>

#include "e2e/lake.h"

namespace lakepack::e2e {

std::map<std::string, std::string> PgEnv();  // export_test.cc
std::string PgUri();
void SeedTable(const std::string& table, int64_t rows, int64_t same);

namespace {

// Three CSV inputs of 20,000 rows under DIR/land/t/.
std::string ThreeInputs(ScratchDir& dir) {
  for (int i = 1; i <= 3; i++) {
    std::string s = dir / ("s" + std::to_string(i));
    auto r = Lakepack({"sample", s, "--minutes", "1", "--rows-per-file", "20000", "--format", "csv",
                       "--seed", std::to_string(i), "--quiet"});
    EXPECT_EQ(r.exit_code, 0) << r.All();
    auto files = ListFilePaths(s);
    EXPECT_EQ(files.size(), 1u);
    std::filesystem::create_directories(dir / "land/t");
    std::filesystem::copy_file(files.at(0), dir / ("land/t/in" + std::to_string(i) + ".csv"));
  }
  return dir / "land";
}

TEST(Progress, PackDrawsABarThatMovesWithTheInputsOnATerminal) {
  ScratchDir dir;
  std::string land = ThreeInputs(dir);
  auto r = OnTerminal({"pack", land, dir / "db", "--table", "t", "--target-size", "1MB"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto bars = Bars(r.out);
  ASSERT_GE(bars.size(), 4u) << r.out;
  // The bar moves input by input before the task ends, then counts the rows written.
  std::regex one(
      R"(^\[#*\.*\] 0/1 tasks  1/3 files  .* / 27\.3 MB  .*/s  0 rows  .* rows/s  ETA .*$)");
  bool moved = false;
  for (const auto& b : bars) moved = moved || std::regex_match(b, one);
  EXPECT_TRUE(moved) << r.out;
  EXPECT_TRUE(std::regex_match(
      bars.back(), std::regex(R"(^\[#{20}\] 1/1 tasks  3/3 files  27\.3 MB / 27\.3 MB  )"
                              R"(.*/s  60000 rows  .* rows/s  ETA -$)")))
      << bars.back();
  // The bar is cleared before the summary, which starts a line of its own.
  EXPECT_NE(r.out.find("\r\033[Kpack: 1 task(s), 0 failed; 3 file(s) in"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("ETA -pack:"), std::string::npos) << r.out;

  // Not a terminal: plain lines, in order, and not one escape code.
  auto plain = Lakepack({"pack", land, dir / "db2", "--table", "t", "--target-size", "1MB"});
  ASSERT_EQ(plain.exit_code, 0) << plain.All();
  EXPECT_EQ(plain.All().find('\033'), std::string::npos) << plain.All();
  size_t planned = plain.err.find("planned 1 task(s) over 3 file(s), 27.3 MB\n");
  size_t read = plain.err.find("t: read 3 input(s), 27.3 MB, 60000 rows; writing them in order\n");
  size_t wrote = plain.err.find("/db2/t/t_0.snappy.parquet: ");
  EXPECT_NE(planned, std::string::npos) << plain.err;
  EXPECT_LT(planned, read) << plain.err;
  EXPECT_LT(read, wrote) << plain.err;
  // --quiet: nothing at all, on a terminal too.
  auto quiet = OnTerminal({"pack", land, dir / "db3", "--table", "t", "--quiet"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.All();
  EXPECT_EQ(quiet.out, "");
}

// watch, a daemon: a status line under its log lines (ingested files, CSV bytes, rows, the
// batch in hand with its rate and ETA), cleared before each line and at the end; none off a
// terminal.
// rollup: the bar counts tasks (one per output), input files, bytes and rows.
TEST(Progress, RollupDrawsABarTaskByTask) {
  ScratchDir dir;
  auto s =
      Lakepack({"sample", dir / "lake", "--minutes", "130", "--rows-per-file", "10", "--quiet"});
  ASSERT_EQ(s.exit_code, 0) << s.All();
  auto r =
      OnTerminal({"rollup", dir / "lake", "2025-01-01", "2025-01-01", "hour", "--parallel", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto bars = Bars(r.out);
  ASSERT_GE(bars.size(), 3u) << r.out;
  bool one = false;
  for (const auto& b : bars) one = one || b.find("] 1/3 tasks  60/130 files") != std::string::npos;
  EXPECT_TRUE(one) << r.out;
  EXPECT_NE(bars.back().find("] 3/3 tasks  130/130 files"), std::string::npos) << bars.back();
  EXPECT_NE(bars.back().find("  1300 rows  "), std::string::npos) << bars.back();
  EXPECT_NE(r.out.find("\r\033[Krollup: 3 task(s), 0 failed"), std::string::npos) << r.out;
}

TEST(Progress, WatchKeepsAStatusLineUnderItsLog) {
  ScratchDir dir;
  std::filesystem::create_directories(dir / "in");
  WriteFile(dir / "in/x.csv", "a,b\n1,2\n3,4\n");
  WriteFile(dir / "in/y.csv", "a,b\n5,6\n");
  auto r = OnTerminal({"watch", dir / "in", dir / "out", "--once", "--settle", "0", "--workers",
                       "1", "--no-inotify"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto has = [&](const std::string& s) { return r.out.find(s) != std::string::npos; };
  EXPECT_TRUE(has("[watch] 0 ingested, 0 B of CSV, 0 rows  batch 0/2 files, 0 B / 20 B")) << r.out;
  EXPECT_TRUE(has("[watch] 2 ingested, 20 B of CSV, 3 rows  batch 2/2 files, 20 B / 20 B"))
      << r.out;
  // Each log line starts clean: the status line is cleared first.
  EXPECT_TRUE(has("\r\033[K" + std::string("20"))) << r.out;  // "2026-…" timestamps
  EXPECT_TRUE(std::regex_search(r.out, std::regex("stopped \\(once\\): 2 file\\(s\\) ingested, 0 "
                                                  "failed, 0 pending\r?\n.*\r\033\\[K$")))
      << r.out;
  auto plain = Lakepack({"watch", dir / "in", dir / "out2", "--once", "--settle", "0",
                         "--checkpoint", dir / "cp2.txt"});
  ASSERT_EQ(plain.exit_code, 0) << plain.All();
  EXPECT_EQ(plain.All().find("[watch]"), std::string::npos) << plain.All();
  EXPECT_EQ(plain.All().find('\033'), std::string::npos) << plain.All();
}

TEST(Progress, ValidateAndExportCountTheirOwnUnits) {
  if (PgEnv().empty()) GTEST_SKIP() << "no PostgreSQL: run under ctest (servers.pg fixture)";
  SeedTable("public.pdi_progress", 6000, 10);
  ScratchDir dir;
  auto env = PgEnv();
  auto e = OnTerminal({"export", PgUri(), "public.pdi_progress", dir / "out", "--flush-rows",
                       "2000", "--layout", "flat"},
                      env);
  ASSERT_EQ(e.exit_code, 0) << e.All();
  auto bars = Bars(e.out);
  ASSERT_FALSE(bars.empty()) << e.out;
  // Rows move file by file inside the one table's task.
  bool mid = false;
  std::regex after_one(R"(^\[\.+\] 0/1 tables  1 files  [0-9.]+ [KM]?B  .*/s  2000 rows  .*)");
  for (const auto& b : bars) mid = mid || std::regex_match(b, after_one);
  EXPECT_TRUE(mid) << e.out;
  EXPECT_TRUE(std::regex_match(
      bars.back(), std::regex(R"(^\[#+\] 1/1 tables  3 files  .*  6000 rows  .* ETA -$)")))
      << bars.back();
  EXPECT_NE(e.out.find("\r\033[Kexport: 1 table(s), 0 failed; 3 file(s) written ("),
            std::string::npos)
      << e.out;
  auto plain = Lakepack({"export", PgUri(), "public.pdi_progress", dir / "out2", "--flush-rows",
                         "2000", "--layout", "flat"},
                        env);
  EXPECT_NE(plain.err.find("planned 1 table(s)\n"), std::string::npos) << plain.err;
  EXPECT_EQ(plain.All().find('\033'), std::string::npos) << plain.All();
  EXPECT_EQ(plain.out.find("file(s) in"), std::string::npos) << plain.out;

  auto v = OnTerminal({"validate", dir / "out", "--results", dir / "r.txt"});
  ASSERT_EQ(v.exit_code, 0) << v.All();
  bars = Bars(v.out);
  ASSERT_FALSE(bars.empty()) << v.out;
  EXPECT_NE(bars.back().find("3/3 files  "), std::string::npos) << bars.back();
  EXPECT_NE(bars.back().find("6000 rows"), std::string::npos) << bars.back();
  // Each result line stands alone: the bar is cleared before it.
  EXPECT_EQ(std::count(v.out.begin(), v.out.end(), '\n'), 5) << v.out;  // results, 3, summary
  EXPECT_NE(v.out.find("\r\033[KPASS|file://"), std::string::npos) << v.out;
}

}  // namespace
}  // namespace lakepack::e2e
