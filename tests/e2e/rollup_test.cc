// End-to-end: `lakepack rollup` on a local lake and on moto. Every test compares the lake's
// rows before and after (an order-independent digest of every row) and looks at which files
// remain.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "e2e/lake.h"
#include "faults/fault_proxy_process.h"

namespace lakepack::e2e {
namespace {

using nlohmann::json;

const std::string kTable = "demo/lake/permanent_data_items";

class Rollup : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    lake_ =
        TestLake::Open(GetParam(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  // Sample minute files into the lake.
  void Sample(std::vector<std::string> extra) {
    std::vector<std::string> args = {"sample", lake_->uri(), "--rows-per-file", "40"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = lake_->Run(args);
    ASSERT_EQ(r.exit_code, 0) << r.All();
  }
  RunResult Roll(std::vector<std::string> extra) {
    std::vector<std::string> args = {"rollup", lake_->uri(), "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return lake_->Run(args);
  }
  // A file named .parquet that is not Parquet, at `key` of the lake.
  void PutBroken(const std::string& key) {
    ScratchDir d;
    WriteFile(d / "broken.parquet", "PAR1 this is not really parquet PAR1");
    lake_->Put(key, d / "broken.parquet");
  }
  // Keys matching a regular expression.
  std::vector<std::string> Matching(const std::string& re) {
    std::vector<std::string> out;
    std::regex r(re);
    for (auto& k : lake_->Keys()) {
      if (std::regex_match(k, r)) out.push_back(k);
    }
    return out;
  }
  std::unique_ptr<TestLake> lake_;
};

TEST_P(Rollup, MinutesIntoHours) {
  Sample({"--minutes", "90"});  // 00:00 … 01:29
  RowDigest before = lake_->Digest();
  ASSERT_EQ(before.rows, 90 * 40);
  auto r = Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json s = json::parse(r.out);
  EXPECT_EQ(s["tasks"], 2);
  EXPECT_EQ(s["files_in"], 90);
  EXPECT_EQ(s["files_out"], 2);
  EXPECT_EQ(s["rows"], 90 * 40);
  EXPECT_EQ(
      lake_->DataKeys(),
      (std::vector<std::string>{kTable + "/2025/01/01/permanent_data_items_20250101T00.parquet",
                                kTable + "/2025/01/01/permanent_data_items_20250101T01.parquet"}));
  EXPECT_EQ(lake_->Keys(), lake_->DataKeys()) << "journal or staging objects left behind";
  EXPECT_EQ(lake_->Digest(), before);
  EXPECT_EQ(lake_->Rows(kTable + "/2025/01/01/permanent_data_items_20250101T00.parquet"), 60 * 40);

  // Rows keep their order: by minute, then row. uploaded_date grows with both.
  std::string local = lake_->Fetch(kTable + "/2025/01/01/permanent_data_items_20250101T01.parquet");
  ASSERT_EQ(Lakepack({"convert", local, local + ".csv"}).exit_code, 0);
  std::istringstream csv(ReadFile(local + ".csv"));
  std::string line, prev;
  std::getline(csv, line);  // header
  int n = 0;
  std::regex ts(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?)");
  while (std::getline(csv, line)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, ts)) << line;
    EXPECT_LE(prev, m.str()) << "row " << n << " out of order";
    prev = m.str();
    n++;
  }
  EXPECT_EQ(n, 30 * 40);
}

// The cascade to years, level by level (--by-level) and direct: the same files in the end.
TEST_P(Rollup, CascadeToYearAndRerunChangesNothing) {
  std::string by_level_rows;  // the 2024 file's rows as CSV, in order, of the by-level cascade
  for (bool by_level : {true, false}) {
    SCOPED_TRACE(by_level ? "--by-level" : "direct");
    if (!by_level) lake_ = TestLake::Open(GetParam(), "CascadeToYearDirect");
    // Two days, one file every 6 hours: levels hour, day, month, year all have work.
    Sample({"--minutes", "8", "--every", "360", "--start", "2024-12-31T00:00"});
    RowDigest before = lake_->Digest();
    std::vector<std::string> cascade = {"--start",    "2024-01-01", "--end",    "2025-12-31",
                                        "--grouping", "year",       "--cascade"};
    if (by_level) cascade.push_back("--by-level");
    auto with = [&](std::vector<std::string> more) {
      more.insert(more.begin(), cascade.begin(), cascade.end());
      return more;
    };
    auto dry = Roll(with({"--dry-run"}));
    ASSERT_EQ(dry.exit_code, 0) << dry.All();
    json plan = json::parse(dry.out)["plan"];
    // By level: 8 hour files, 2 days, 2 months, 2 years. Direct: the 2 years, straight from the
    // minute files (4 each).
    EXPECT_EQ(plan.size(), by_level ? 14u : 2u) << dry.out;
    EXPECT_EQ(plan.back()["level"], "year");
    if (!by_level) EXPECT_EQ(plan.back()["inputs"].size(), 4u) << dry.out;
    EXPECT_EQ(lake_->Digest(), before) << "a dry run changed the lake";

    auto r = Roll(cascade);
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_EQ(lake_->DataKeys(),
              (std::vector<std::string>{kTable + "/permanent_data_items_2024.parquet",
                                        kTable + "/permanent_data_items_2025.parquet"}));
    EXPECT_EQ(lake_->Digest(), before);
    EXPECT_EQ(lake_->Rows(kTable + "/permanent_data_items_2024.parquet"), 4 * 40);
    // The same rows in the same order, whichever way the cascade went.
    std::string year = lake_->Fetch(kTable + "/permanent_data_items_2024.parquet");
    ASSERT_EQ(Lakepack({"convert", year, year + ".csv"}).exit_code, 0);
    if (by_level) {
      by_level_rows = ReadFile(year + ".csv");
    } else {
      EXPECT_EQ(ReadFile(year + ".csv"), by_level_rows);
    }

    std::vector<std::string> keys = lake_->Keys();
    auto again = Roll(cascade);
    ASSERT_EQ(again.exit_code, 0) << again.All();
    EXPECT_EQ(json::parse(again.out)["tasks"], 0);
    EXPECT_EQ(lake_->Keys(), keys);
    EXPECT_EQ(lake_->Digest(), before);
  }
}

TEST_P(Rollup, DaysAndMonthsLevelByLevel) {
  Sample({"--minutes", "6", "--every", "240", "--start", "2025-03-31T20:00"});  // 31 Mar – 1 Apr
  RowDigest before = lake_->Digest();
  for (std::string g : {"hour", "day", "month"}) {
    auto r = Roll({"--start", "2025-03-01", "--end", "2025-04-30", "--grouping", g});
    ASSERT_EQ(r.exit_code, 0) << g << ": " << r.All();
    EXPECT_EQ(lake_->Digest(), before) << g;
  }
  EXPECT_EQ(lake_->DataKeys(),
            (std::vector<std::string>{kTable + "/2025/permanent_data_items_202503.parquet",
                                      kTable + "/2025/permanent_data_items_202504.parquet"}));
}

TEST_P(Rollup, MergesIntoAnExistingTargetOldRowsFirst) {
  Sample({"--minutes", "20"});
  ASSERT_EQ(Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"}).exit_code,
            0);
  const std::string hour = kTable + "/2025/01/01/permanent_data_items_20250101T00.parquet";
  ASSERT_EQ(lake_->Rows(hour), 20 * 40);
  std::string first = lake_->Fetch(hour);
  // Late data for the same hour, other values (another seed).
  Sample({"--minutes", "10", "--start", "2025-01-01T00:30", "--seed", "7"});
  RowDigest before = lake_->Digest();
  auto r = Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(lake_->DataKeys(), std::vector<std::string>{hour});
  EXPECT_EQ(lake_->Rows(hour), 30 * 40);
  EXPECT_EQ(lake_->Digest(), before);
  // The existing file's rows come first, as they were.
  std::string merged = lake_->Fetch(hour);
  ASSERT_EQ(Lakepack({"convert", first, first + ".csv"}).exit_code, 0);
  ASSERT_EQ(Lakepack({"convert", merged, merged + ".csv"}).exit_code, 0);
  std::string a = ReadFile(first + ".csv"), b = ReadFile(merged + ".csv");
  EXPECT_EQ(b.substr(0, a.size()), a);
}

TEST_P(Rollup, DateRangeTouchesOnlyItsDays) {
  Sample({"--minutes", "6", "--every", "720"});  // 1, 2 and 3 January, twice a day
  RowDigest before = lake_->Digest();
  auto r = Roll({"--start", "2025-01-02", "--end", "2025-01-02", "--grouping", "day", "--cascade"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(Matching(".*/2025/01/01/00/.*").size(), 1u);
  EXPECT_EQ(Matching(".*/2025/01/01/12/.*").size(), 1u);
  EXPECT_EQ(Matching(".*/2025/01/03/.*").size(), 2u);
  EXPECT_EQ(Matching(".*/2025/01/02/.*").size(), 0u);
  EXPECT_EQ(Matching(".*/2025/01/permanent_data_items_20250102.parquet").size(), 1u);
  EXPECT_EQ(lake_->DataKeys().size(), 5u);
  EXPECT_EQ(lake_->Digest(), before);
}

TEST_P(Rollup, MixedSchemasUniteAndConflictsStopOnlyTheirGroup) {
  Sample({"--minutes", "3"});
  ScratchDir d;
  // 00:xx gets a file with an extra column and a missing one: united by name.
  WriteFile(d / "extra.jsonl", "{\"byte_count\": 5, \"extra_note\": \"hello\"}\n");
  ASSERT_EQ(Lakepack({"convert", d / "extra.jsonl", d / "extra.parquet"}).exit_code, 0);
  lake_->Put(kTable + "/2025/01/01/00/zz_extra.parquet", d / "extra.parquet");
  // 05:xx holds two files whose column 'v' cannot be reconciled (number vs text).
  WriteFile(d / "a.jsonl", "{\"v\": 1}\n");
  WriteFile(d / "b.jsonl", "{\"v\": \"one\"}\n");
  ASSERT_EQ(Lakepack({"convert", d / "a.jsonl", d / "a.parquet"}).exit_code, 0);
  ASSERT_EQ(Lakepack({"convert", d / "b.jsonl", d / "b.parquet"}).exit_code, 0);
  lake_->Put(kTable + "/2025/01/01/05/a.parquet", d / "a.parquet");
  lake_->Put(kTable + "/2025/01/01/05/b.parquet", d / "b.parquet");

  auto r = Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find("column 'v' has type BIGINT in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("but VARCHAR in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("permanent_data_items_20250101T05.parquet"), std::string::npos) << r.err;
  // Hour 00 was merged, extra column included; hour 05 is untouched.
  const std::string h0 = kTable + "/2025/01/01/permanent_data_items_20250101T00.parquet";
  EXPECT_EQ(lake_->Rows(h0), 3 * 40 + 1);
  EXPECT_EQ(Matching(".*/05/a.parquet").size(), 1u);
  EXPECT_EQ(Matching(".*/05/b.parquet").size(), 1u);
  EXPECT_EQ(Matching(".*/00/.*").size(), 0u);
  EXPECT_EQ(lake_->Keys(), lake_->DataKeys()) << "the failed task left lakepack objects";
  auto i = Lakepack({"inspect", lake_->Fetch(h0), "--json"});
  EXPECT_NE(i.out.find("\"extra_note\""), std::string::npos) << i.out;
}

TEST_P(Rollup, StrayFilesAreReportedAndLeftAlone) {
  Sample({"--minutes", "2"});
  ScratchDir d;
  WriteFile(d / "readme.txt", "not data");
  lake_->Put(kTable + "/README.txt", d / "readme.txt");
  lake_->Put(kTable + "/2025/01/01/00/notes.txt", d / "readme.txt");
  lake_->Put(kTable + "/2025/13/01/00/bad-month.parquet", d / "readme.txt");
  auto r = Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json s = json::parse(r.out);
  EXPECT_EQ(s["stray"].size(), 3u) << r.out;
  EXPECT_EQ(Matching(".*README.txt").size(), 1u);
  EXPECT_EQ(Matching(".*notes.txt").size(), 1u);
  EXPECT_EQ(Matching(".*bad-month.parquet").size(), 1u);
  EXPECT_EQ(Matching(".*T00.parquet").size(), 1u);
}

TEST_P(Rollup, UnreadableInputLeavesItsGroupInPlace) {
  Sample({"--minutes", "3"});
  PutBroken(kTable + "/2025/01/01/00/broken.parquet");
  auto before = lake_->Keys();
  auto r = Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find("broken.parquet"), std::string::npos) << r.err;
  EXPECT_EQ(lake_->Keys(), before);
}

// A file is merged only when its whole period lies inside the range: a month file for a range
// that starts on the 15th is left out, and the plan and the run say so, naming it; with
// --cascade too. A plain --grouping day says that it leaves the minute files of its days alone.
TEST_P(Rollup, FilesLeftOutOfTheRangeAreNamed) {
  Sample({"--minutes", "90"});
  RowDigest before = lake_->Digest();
  auto r = lake_->Run({"rollup", lake_->uri(), "2025-01-01", "2025-01-01", "day"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("warning: 2 director(ies) of files finer than hour inside the range left "
                       "unmerged ("),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("/2025/01/01/00/, ...): --grouping day merges hour files; add --cascade to "
                       "merge the finer files too"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(lake_->Digest(), before);

  r = Roll({"--start", "2025-01-01", "--end", "2025-01-31", "--grouping", "month", "--cascade"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  const std::string month = kTable + "/2025/permanent_data_items_202501.parquet";
  ASSERT_EQ(lake_->DataKeys(), std::vector<std::string>{month});
  const std::string says = lake_->store().UriOf(month) +
                           ": left out: its period 2025-01 only overlaps 2025-01-15..2025-02-15 (a "
                           "file is merged only when its whole period lies inside the range)";
  for (std::vector<std::string> mode :
       {std::vector<std::string>{}, {"--cascade"}, {"--dry-run"}, {"--cascade", "--dry-run"}}) {
    std::vector<std::string> args = {"rollup", lake_->uri(), "2025-01-15", "2025-02-15", "year"};
    args.insert(args.end(), mode.begin(), mode.end());
    auto y = lake_->Run(args);
    EXPECT_EQ(y.exit_code, 0) << y.All();
    EXPECT_NE(y.err.find("warning: " + says), std::string::npos) << y.All();
  }
  EXPECT_EQ(lake_->DataKeys(), std::vector<std::string>{month});
  EXPECT_EQ(lake_->Digest(), before);
}

// --quiet: nothing on either stream when all went well; a failed group still names its file.
TEST_P(Rollup, QuietPrintsOnlyWhatWentWrong) {
  Sample({"--minutes", "3"});
  auto r = lake_->Run({"rollup", lake_->uri(), "2025-01-01", "2025-01-01", "hour", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(lake_->DataKeys().size(), 1u);
  Sample({"--minutes", "2", "--start", "2025-01-02T00:00"});
  PutBroken(kTable + "/2025/01/02/00/broken.parquet");
  r = lake_->Run({"rollup", lake_->uri(), "2025-01-02", "2025-01-02", "hour", "--quiet"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("broken.parquet"), std::string::npos) << r.err;
}

// A dry run over a corrupt file shows the whole plan and marks the one group a real run would
// fail (naming the file), exits 1 as that run would, and changes nothing.
TEST_P(Rollup, DryRunShowsThePlanAndMarksTheGroupABrokenFileWouldFail) {
  Sample({"--minutes", "90"});
  PutBroken(kTable + "/2025/01/01/00/broken.parquet");
  auto before = lake_->Keys();
  auto r = lake_->Run({"rollup", lake_->uri(), "2025-01-01", "2025-01-01", "hour", "--dry-run"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  std::string t00, t01;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("_20250101T00.parquet") != std::string::npos) t00 = line;
    if (line.find("_20250101T01.parquet") != std::string::npos) t01 = line;
  }
  EXPECT_NE(t00.find("(would FAIL, see below)"), std::string::npos) << r.out;
  EXPECT_FALSE(t01.empty()) << r.out;
  EXPECT_EQ(t01.find("FAIL"), std::string::npos) << t01;
  EXPECT_NE(r.out.find("2 output(s) planned"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("_20250101T00.parquet would fail: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("broken.parquet"), std::string::npos) << r.err;

  auto j = lake_->Run(
      {"rollup", lake_->uri(), "2025-01-01", "2025-01-01", "hour", "--dry-run", "--json"});
  EXPECT_EQ(j.exit_code, 1) << j.All();
  json plan = json::parse(j.out)["plan"];
  ASSERT_EQ(plan.size(), 2u);
  int marked = 0;
  for (const auto& p : plan) {
    if (!p.contains("error")) continue;
    marked++;
    EXPECT_NE(p["error"].get<std::string>().find("broken.parquet"), std::string::npos) << p;
  }
  EXPECT_EQ(marked, 1);
  EXPECT_EQ(lake_->Keys(), before);
}

// A dry run's bytes and rows count the same files: the new inputs and the existing output
// they merge into, both.
TEST_P(Rollup, DryRunBytesAndRowsCountTheSameFiles) {
  Sample({"--minutes", "20"});
  ASSERT_EQ(Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"}).exit_code,
            0);
  Sample({"--minutes", "10", "--start", "2025-01-01T00:30", "--seed", "5"});
  auto j = lake_->Run(
      {"rollup", lake_->uri(), "2025-01-01", "2025-01-01", "hour", "--dry-run", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.All();
  json plan = json::parse(j.out)["plan"];
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_TRUE(plan[0]["merges_existing"].get<bool>()) << plan;
  const std::string existing = kTable + "/2025/01/01/permanent_data_items_20250101T00.parquet";
  int64_t bytes = lake_->store().Stat(existing)->value().size;
  int64_t rows = lake_->Rows(existing);
  EXPECT_EQ(rows, 20 * 40);
  for (const auto& in : plan[0]["inputs"]) {
    std::string key = lake_->KeyOf(in.get<std::string>());
    bytes += lake_->store().Stat(key)->value().size;
    rows += lake_->Rows(key);
  }
  EXPECT_EQ(plan[0]["inputs"].size(), 10u);
  EXPECT_EQ(plan[0]["bytes"], bytes);
  EXPECT_EQ(plan[0]["rows"], rows);
  auto text = lake_->Run({"rollup", lake_->uri(), "2025-01-01", "2025-01-01", "hour", "--dry-run"});
  EXPECT_NE(text.out.find(fmt::format("{:>12} {:>10}", bytes, rows)), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("(merges into the existing file, counted in bytes and rows)"),
            std::string::npos)
      << text.out;
}

TEST_P(Rollup, ManyTablesUnderOnePrefixAndOneTableAsRoot) {
  Sample({"--minutes", "3", "--table", "alpha"});
  Sample({"--minutes", "2", "--table", "beta", "--user", "other"});
  RowDigest before = lake_->Digest();
  auto r = Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(lake_->DataKeys(),
            (std::vector<std::string>{"demo/lake/alpha/2025/01/01/alpha_20250101T00.parquet",
                                      "other/lake/beta/2025/01/01/beta_20250101T00.parquet"}));
  EXPECT_EQ(lake_->Digest(), before);
  // SRC naming one table: the table's own directory is the root.
  auto day = lake_->Run({"rollup", lake_->uri() + "/demo/lake/alpha", "--start", "2025-01-01",
                         "--end", "2025-01-01", "--grouping", "day"});
  ASSERT_EQ(day.exit_code, 0) << day.All();
  EXPECT_EQ(lake_->DataKeys(),
            (std::vector<std::string>{"demo/lake/alpha/2025/01/alpha_20250101.parquet",
                                      "other/lake/beta/2025/01/01/beta_20250101T00.parquet"}));
  EXPECT_EQ(lake_->Digest(), before);
}

TEST_P(Rollup, HiveLayoutAndTimeFromFileNames) {
  ScratchDir d;
  ASSERT_EQ(Lakepack({"sample", d / "s", "--minutes", "1", "--rows-per-file", "10"}).exit_code, 0);
  std::string one = d / ("s/" + ListFiles(d / "s")[0]);
  // Hive: day directories hold hour-level part files.
  lake_->Put("events/year=2024/month=06/day=30/part-0.parquet", one);
  lake_->Put("events/year=2024/month=06/day=30/part-1.parquet", one);
  lake_->Put("events/year=2024/month=07/day=01/part-0.parquet", one);
  auto r = Roll({"--start", "2024-06-01", "--end", "2024-07-31", "--grouping", "day", "--layout",
                 "{table}/year={yyyy}/month={MM}/day={dd}/{name}"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(lake_->DataKeys(),
            (std::vector<std::string>{"events/year=2024/month=06/events_20240630.parquet",
                                      "events/year=2024/month=07/events_20240701.parquet"}));
  EXPECT_EQ(lake_->Rows("events/year=2024/month=06/events_20240630.parquet"), 20);
  // The hive directories name the period; they must not become columns of the rows.
  auto cols = Lakepack(
      {"inspect", lake_->Fetch("events/year=2024/month=06/events_20240630.parquet"), "--json"});
  EXPECT_EQ(json::parse(cols.out)["columns"].size(), 16u) << cols.out;
  // Flat files whose names carry the minute: --pattern places them in time.
  lake_->Put("flat/ev_2025-03-04T05-06.parquet", one);
  lake_->Put("flat/ev_2025-03-04T05-07.parquet", one);
  auto p =
      Roll({"--start", "2025-03-04", "--end", "2025-03-04", "--grouping", "hour", "--layout",
            "{table}/{yyyy}/{MM}/{dd}/{HH}/{name}", "--pattern",
            R"(^ev_(?<yyyy>\d{4})-(?<MM>\d\d)-(?<dd>\d\d)T(?<HH>\d\d)-(?<mm>\d\d)\.parquet$)"});
  ASSERT_EQ(p.exit_code, 0) << p.All();
  EXPECT_EQ(lake_->Rows("flat/2025/03/04/flat_20250304T05.parquet"), 20);
}

TEST_P(Rollup, BadUsageIsExitTwo) {
  auto r = Roll({"--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "week"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("unknown grouping 'week'"), std::string::npos) << r.err;
  r = Roll({"--start", "2025-02-30", "--end", "2025-03-01"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  r = Roll({"--start", "2025-03-01", "--end", "2025-02-01"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("--end 2025-02-01 is before --start 2025-03-01"), std::string::npos);
}

// The seed's form, run_merge.sh START_DATE END_DATE GROUPING, after SRC: the same run as the
// flags; half of it, or both forms at once, is bad usage naming what to give.
TEST_P(Rollup, TheSeedsPositionalFormRunsLikeTheFlags) {
  Sample({"--minutes", "90"});
  RowDigest before = lake_->Digest();
  auto r = Roll({"2025-01-01", "2025-01-01", "hour"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json s = json::parse(r.out);
  EXPECT_EQ(s["files_in"], 90);
  EXPECT_EQ(s["files_out"], 2);
  EXPECT_EQ(lake_->DataKeys().size(), 2u);
  EXPECT_EQ(lake_->Digest(), before);

  struct Bad {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Bad& bad :
       std::vector<Bad>{{{}, "--start is required (or SRC START END GROUPING)"},
                        {{"2025-01-01"}, "1 value(s) after SRC: give START END [GROUPING]"},
                        {{"2025-01-01", "2025-01-02", "day", "extra"}, "4 value(s) after SRC"},
                        {{"2025-01-01", "2025-01-01", "--start", "2025-01-01"},
                         "START END after SRC and --start/--end together"},
                        {{"2025-01-01", "2025-01-01", "day", "--grouping", "hour"},
                         "GROUPING after SRC and --grouping together"},
                        {{"2025-01-01", "2025-01-01", "week"}, "unknown grouping 'week'"}}) {
    auto u = Roll(bad.args);
    EXPECT_EQ(u.exit_code, 2) << u.All();
    EXPECT_NE(u.err.find(bad.says), std::string::npos) << u.err;
  }
  EXPECT_EQ(lake_->Digest(), before);
}

// An upload that fails every time (a fault proxy in front of moto answers 500 to every PUT of
// a Parquet output): the task fails, the journal is rolled back, the leases are released, and
// every input stays.
TEST(RollupFaults, FailingUploadLeavesEveryInputInPlace) {
  auto lake = TestLake::Open("moto", "failing-upload");
  ASSERT_EQ(lake->Run({"sample", lake->uri(), "--minutes", "5", "--quiet"}).exit_code, 0);
  auto before = lake->Keys();
  RowDigest digest = lake->Digest();
  lakepack::testing::FaultProxyOptions fo;
  fo.upstream_port = std::atoi(std::getenv("LAKEPACK_TEST_S3_PORT"));
  fo.rate = 1;
  fo.kinds = "500";
  fo.match = "^PUT [^?]*\\.parquet";  // the merged output, written once to its final key
  auto proxy = lakepack::testing::FaultProxy::Start(fo);
  ASSERT_TRUE(proxy.ok()) << proxy.status().ToString();
  auto r = lake->Run(
      {"rollup", lake->uri(), "--start", "2025-01-01", "--end", "2025-01-01", "--grouping", "hour"},
      {{"AWS_ENDPOINT_URL", (*proxy)->endpoint()}, {"LAKEPACK_S3_MAX_RETRIES", "2"}});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find(".parquet"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("InternalError"), std::string::npos) << r.err;
  EXPECT_GE((*proxy)->faults(), 3);
  EXPECT_EQ(lake->Keys(), before);
  EXPECT_EQ(lake->Digest(), digest);
}

// s3rver ignores conditional writes and lists in its own order: the commit protocol relies on
// neither, and the same tests must pass there.
INSTANTIATE_TEST_SUITE_P(Stores, Rollup, ::testing::Values("local", "moto", "s3rver"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
}  // namespace lakepack::e2e
