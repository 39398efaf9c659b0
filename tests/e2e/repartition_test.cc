// Acceptance tests of `lakepack repartition` (issue 12, docs/repartition.md) on moto, RGW and a
// local directory: a synthetic SiteWise cold tier (tests/repartition/cold_tier_gen.py; several
// days, ids assetId_propertyId with '_' inside, four 6-hourly files per series per day) in a
// source lake, repartitioned into a destination lake. Every day file is read back by two
// independent readers (python3-avro and avsc) and compared, as a multiset of records, with its
// inputs; timeseries.txt must list the day's series. Reruns, the seed's four incremental
// scenarios and a late file, days outside the range, corrupt inputs, keys that do not fit,
// --series-list, --dry-run, the seed's config.yml and bad usage.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "e2e/repartition_util.h"

namespace lakepack::e2e {
namespace {

namespace fs = std::filesystem;

const ColdDay kDay6{2023, 1, 6}, kDay7{2023, 1, 7}, kDay8{2023, 1, 8}, kDay9{2023, 1, 9},
    kDay10{2023, 1, 10};

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) n++;
  return n;
}

// The keys of `after` whose ETag differs from `before`, or that are new or gone.
std::vector<std::string> Changed(const std::map<std::string, std::string>& before,
                                 const std::map<std::string, std::string>& after) {
  std::vector<std::string> changed;
  for (const auto& [k, e] : after) {
    auto it = before.find(k);
    if (it == before.end() || it->second != e) changed.push_back(k);
  }
  for (const auto& [k, e] : before) {
    if (!after.count(k)) changed.push_back(k + " (gone)");
  }
  std::sort(changed.begin(), changed.end());
  return changed;
}

// Data keys (outside _lakepack/) only.
std::map<std::string, std::string> DataEtags(TestLake& lake) {
  std::map<std::string, std::string> m;
  for (auto& [k, e] : Etags(lake)) {
    if (k.rfind("_lakepack/", 0) != 0) m[k] = e;
  }
  return m;
}

std::vector<std::string> DayKeys(const std::vector<ColdDay>& days) {
  std::vector<std::string> keys;
  for (const auto& d : days) {
    keys.push_back(d.DayFile());
    keys.push_back(d.IndexFile());
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

class Repartition : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why = TestLake::Unavailable(GetParam());
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

// Five days generated (6 to 10), three repartitioned (7 to 9). Series 0-4 with four exports a
// day, series 5 with exports 0-2 only (its export 3 comes late).
void BaseColdTier(ColdTier& cold) {
  cold.Add({"--start", "2023-01-06", "--days", "5", "--series", "5", "--records", "20"});
  for (const std::string e : {"0", "1", "2"}) {
    cold.Add({"--start", "2023-01-06", "--days", "5", "--series", "1", "--series-offset", "5",
              "--records", "20", "--only-export", e});
  }
}

TEST_P(Repartition, FirstRunRerunIncrementsAndLateFile) {
  ColdTier cold(GetParam(), "rp-src");
  BaseColdTier(cold);
  auto dst = TestLake::Open(GetParam(), "rp-dst");
  const auto src_before = Etags(cold.lake());
  auto run = [&] {
    return dst->Run(RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-09"));
  };

  auto first = run();
  ASSERT_EQ(first.exit_code, 0) << first.All();
  for (const auto& d : {kDay7, kDay8, kDay9}) {
    EXPECT_NE(first.All().find(fmt::format("Reviewing --> year: {}, month: {}, day: {}", d.year,
                                           d.month, d.day)),
              std::string::npos)
        << first.All();
  }
  EXPECT_EQ(Count(first.All(), "Reviewing --> "), 3) << first.All();
  EXPECT_NE(first.All().find("# of new source files: 23 (# of new timeseries detected: 6)"),
            std::string::npos)
      << first.All();
  EXPECT_NE(first.All().find("Download time:"), std::string::npos) << first.All();
  // One file per day (days 6 and 10, outside the range, untouched), and nothing of lakepack's
  // own left behind.
  ExpectOnlyDays(*dst, {kDay7, kDay8, kDay9});
  EXPECT_EQ(dst->LakepackLeftovers(), std::vector<std::string>{});
  for (const auto& d : {kDay7, kDay8, kDay9}) ExpectDay(*dst, cold, d);
  // Every file gets its own sync marker (avro-c's comes from srand(time(NULL)): two files of one
  // second would share it). The last 16 bytes of a container file are its sync marker.
  {
    std::set<std::string> syncs;
    for (const auto& d : {kDay7, kDay8, kDay9}) {
      const std::string bytes = ReadFile(dst->Fetch(d.DayFile()));
      ASSERT_GT(bytes.size(), 16u);
      syncs.insert(bytes.substr(bytes.size() - 16));
    }
    EXPECT_EQ(syncs.size(), 3u) << "day files written in one run share a sync marker";
  }
  // The series ids hold '_' and are whole (parsed from the right).
  auto index = ReadFile(dst->Fetch(kDay7.IndexFile()));
  EXPECT_EQ(Count(index, "\n"), 6);
  EXPECT_EQ(Count(index, "_"), 6) << index;

  // No change: a rerun changes no object, not even lakepack's own.
  auto all_before = Etags(*dst);
  auto again = run();
  ASSERT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(Count(again.All(), "Skip, no new data"), 3) << again.All();
  EXPECT_EQ(Changed(all_before, Etags(*dst)), std::vector<std::string>{}) << again.All();

  // Each increment changes the one day it adds to; that day keeps one file holding all inputs.
  struct Step {
    std::string what;
    std::vector<std::string> gen;
    ColdDay day;
    std::string log;  // a line the run prints for the day
  };
  const std::vector<Step> steps = {
      {"new properties of existing assets",
       {"--start", "2023-01-08", "--days", "1", "--series", "2", "--property-seed", "7",
        "--records", "20"},
       kDay8,
       "# of new source files: 8 (# of new timeseries detected: 2)"},
      {"new assets",
       {"--start", "2023-01-09", "--days", "1", "--series", "2", "--series-offset", "100",
        "--records", "20"},
       kDay9,
       "# of new source files: 8 (# of new timeseries detected: 2)"},
      {"a new datastream",
       {"--start", "2023-01-07", "--days", "1", "--series", "1", "--series-offset", "200",
        "--datastream", "--records", "20"},
       kDay7,
       "# of new source files: 4 (# of new timeseries detected: 1)"},
      {"a late 6-hourly export of a merged series",
       {"--start", "2023-01-08", "--days", "1", "--series", "1", "--series-offset", "5",
        "--only-export", "3", "--records", "20"},
       kDay8,
       "# of new source files: 1 (# of new timeseries detected: 0)"},
  };
  for (const auto& s : steps) {
    SCOPED_TRACE(s.what);
    cold.Add(s.gen);
    auto before = DataEtags(*dst);
    auto r = run();
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_NE(r.All().find(s.log), std::string::npos) << r.All();
    EXPECT_EQ(Count(r.All(), "Skip, no new data"), 2) << r.All();
    // The day file is replaced; its timeseries.txt is rewritten (a new ETag locally, the same
    // one on S3 when its content is the same: a late file adds no series); no other day moves.
    auto changed = Changed(before, DataEtags(*dst));
    changed.erase(std::remove(changed.begin(), changed.end(), s.day.IndexFile()), changed.end());
    EXPECT_EQ(changed, std::vector<std::string>{s.day.DayFile()}) << r.All();
    ExpectOnlyDays(*dst, {kDay7, kDay8, kDay9});
    ExpectDay(*dst, cold, s.day);
  }
  // The new properties belong to existing assets: day 8 has two pairs of ids that share an
  // asset id.
  {
    auto ids = SeriesOf(AvroRecords({dst->Fetch(kDay8.DayFile())}, "python"));
    std::map<std::string, int> assets;
    for (const auto& id : ids) assets[id.substr(0, id.find('_'))]++;
    int shared = 0;
    for (const auto& [a, n] : assets) shared += n == 2;
    EXPECT_EQ(shared, 2);
  }
  // The datastream's id has no '_': the whole UUID is the id.
  EXPECT_EQ(Count(ReadFile(dst->Fetch(kDay7.IndexFile())), "\n"), 7);

  all_before = Etags(*dst);
  auto last = run();
  ASSERT_EQ(last.exit_code, 0) << last.All();
  EXPECT_EQ(Count(last.All(), "Skip, no new data"), 3) << last.All();
  EXPECT_EQ(Changed(all_before, Etags(*dst)), std::vector<std::string>{});
  for (const auto& d : {kDay7, kDay8, kDay9}) ExpectDay(*dst, cold, d);
  // SRC is never written to.
  auto src_after = Etags(cold.lake());
  for (const auto& [k, e] : src_before) EXPECT_EQ(src_after[k], e) << k;
}

TEST_P(Repartition, DryRunChangesNothingAndPrintsThePlan) {
  ColdTier cold(GetParam(), "rp-dry-src");
  cold.Add({"--start", "2023-01-07", "--days", "2", "--series", "3", "--records", "10"});
  auto dst = TestLake::Open(GetParam(), "rp-dry-dst");
  auto dry =
      dst->Run(RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-08", {"--dry-run"}));
  ASSERT_EQ(dry.exit_code, 0) << dry.All();
  EXPECT_EQ(dst->Keys(), std::vector<std::string>{}) << dry.All();
  EXPECT_NE(dry.out.find("2023-1-7"), std::string::npos) << dry.All();
  EXPECT_NE(dry.out.find("2023-1-8"), std::string::npos) << dry.All();
  EXPECT_EQ(Count(dry.out, "12 new file(s)"), 2) << dry.All();
  EXPECT_NE(dry.out.find("nothing was changed"), std::string::npos) << dry.All();

  auto real = dst->Run(RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-08"));
  ASSERT_EQ(real.exit_code, 0) << real.All();
  cold.Add({"--start", "2023-01-08", "--days", "1", "--series", "1", "--series-offset", "50",
            "--records", "10"});
  auto before = Etags(*dst);
  dry =
      dst->Run(RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-08", {"--dry-run"}));
  ASSERT_EQ(dry.exit_code, 0) << dry.All();
  EXPECT_NE(dry.out.find("merged into the existing day file"), std::string::npos) << dry.All();
  EXPECT_NE(dry.out.find("4 new file(s)"), std::string::npos) << dry.All();
  EXPECT_EQ(Changed(before, Etags(*dst)), std::vector<std::string>{}) << dry.All();
  // --json too.
  dry = dst->Run({"--json", "repartition", cold.uri(), dst->uri(), "--start", "2023-01-07", "--end",
                  "2023-01-08", "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.All();
  auto j = SummaryJson(dry);
  ASSERT_TRUE(j.is_object()) << dry.All();
  EXPECT_EQ(j.value("dry_run", false), true) << dry.out;
  EXPECT_EQ(j.value("days_unchanged", -1), 1) << dry.out;
  EXPECT_EQ(Changed(before, Etags(*dst)), std::vector<std::string>{}) << dry.All();
}

// Flips one byte in the data of an Avro file's last block (before its CRC and sync marker).
void FlipByteInLastBlock(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(0, std::ios::end);
  const auto size = static_cast<int64_t>(f.tellg());
  const int64_t at = size - 16 - 4 - 12;
  f.seekg(at);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(at);
  f.write(&c, 1);
}

// On a terminal the bar counts days (tasks), raw files, bytes and records; off one, none.
TEST(RepartitionProgress, DrawsABarDayByDayOnATerminal) {
  ColdTier cold("local", "rp-bar-src");
  cold.Add({"--start", "2023-01-07", "--days", "2", "--series", "3", "--records", "10"});
  auto dst = TestLake::Open("local", "rp-bar-dst");
  auto args =
      RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-08", {"--parallel", "1"});
  auto r = OnTerminal(args, dst->env());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto bars = Bars(r.out);
  ASSERT_GE(bars.size(), 2u) << r.out;
  bool one = false;
  for (const auto& b : bars) one = one || b.find("] 1/2 tasks  12/24 files") != std::string::npos;
  EXPECT_TRUE(one) << r.out;
  EXPECT_NE(bars.back().find("] 2/2 tasks  24/24 files"), std::string::npos) << bars.back();
  EXPECT_NE(bars.back().find(" rows  "), std::string::npos) << bars.back();
  auto dst2 = TestLake::Open("local", "rp-bar-dst2");
  auto plain = dst2->Run(RepartitionArgs(cold.uri(), dst2->uri(), "2023-01-07", "2023-01-08"));
  ASSERT_EQ(plain.exit_code, 0) << plain.All();
  EXPECT_EQ(plain.All().find('\033'), std::string::npos) << plain.All();
}

TEST_P(Repartition, CorruptInputsFailTheirDayOnly) {
  ColdTier cold(GetParam(), "rp-bad-src");
  cold.Add({"--start", "2023-01-07", "--days", "3", "--series", "3", "--records", "40"});
  auto dst = TestLake::Open(GetParam(), "rp-bad-dst");
  // Day 8: one file truncated to half. Day 9: a flipped byte in a snappy block.
  const std::string cut = cold.DayFiles(kDay8)[1];
  const std::string flipped = cold.DayFiles(kDay9)[2];
  fs::resize_file(cut, fs::file_size(cut) / 2);
  FlipByteInLastBlock(flipped);
  auto key_of = [&](const std::string& path) { return path.substr(cold.mirror().size() + 1); };
  cold.lake().Put(key_of(cut), cut);
  cold.lake().Put(key_of(flipped), flipped);

  auto r = dst->Run(RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-09"));
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.All().find(key_of(cut)), std::string::npos) << "the truncated key\n" << r.All();
  EXPECT_NE(r.All().find(key_of(flipped)), std::string::npos) << "the flipped key\n" << r.All();
  ExpectOnlyDays(*dst, {kDay7});
  ExpectDay(*dst, cold, kDay7);
  EXPECT_EQ(dst->LakepackLeftovers(), std::vector<std::string>{});
}

TEST_P(Repartition, KeysThatDoNotFitAreReportedAndLeftAlone) {
  ColdTier cold(GetParam(), "rp-stray-src");
  cold.Add({"--start", "2023-01-07", "--days", "1", "--series", "2", "--records", "10"});
  const std::string good = cold.DayFiles(kDay7)[0];
  ScratchDir tmp;
  WriteFile(tmp / "notes.txt", "not a raw file\n");
  const std::vector<std::string> strays = {
      kDay7.RawPrefix() + "seriesBucket=aa/notes.txt",
      kDay7.RawPrefix() + "seriesBucket=aa/raw_onlyid.avro",
      kDay7.RawPrefix() + "seriesBucket=aa/raw_abc_notanumber_GOOD.avro",
  };
  cold.lake().Put(strays[0], tmp / "notes.txt");
  cold.lake().Put(strays[1], good);
  cold.lake().Put(strays[2], good);
  const auto src_before = Etags(cold.lake());
  auto dst = TestLake::Open(GetParam(), "rp-stray-dst");
  auto r = dst->Run(RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-07"));
  ASSERT_EQ(r.exit_code, 0) << r.All();
  for (const auto& k : strays)
    EXPECT_NE(r.All().find(k), std::string::npos) << k << "\n" << r.All();
  EXPECT_NE(r.All().find("left alone"), std::string::npos) << r.All();
  EXPECT_EQ(Etags(cold.lake()), src_before);
  ExpectOnlyDays(*dst, {kDay7});
  ExpectDay(*dst, cold, kDay7);  // the mirror's day files are the raw_* that fit
}

TEST_P(Repartition, SeriesListAsLinesAndAsListTimeSeriesJson) {
  ColdTier cold(GetParam(), "rp-list-src");
  cold.Add({"--start", "2023-01-07", "--days", "2", "--series", "4", "--records", "10"});
  cold.Add({"--start", "2023-01-07", "--days", "2", "--series", "1", "--series-offset", "300",
            "--datastream", "--records", "10"});
  auto ids = SeriesOf(AvroRecords(cold.DayFiles(kDay7), "python"));
  ASSERT_EQ(ids.size(), 5u);
  std::string stream;
  std::vector<std::string> assoc;
  for (const auto& id : ids)
    (id.find('_') == std::string::npos ? stream : assoc.emplace_back()) = id;
  ASSERT_FALSE(stream.empty());
  ASSERT_EQ(assoc.size(), 4u);
  ScratchDir tmp;

  // Plain lines, with a comment and a blank line.
  WriteFile(tmp / "series.txt", "# two of them\n" + assoc[0] + "\n\n" + assoc[2] + "\n");
  {
    auto dst = TestLake::Open(GetParam(), "rp-list-lines");
    auto r = dst->Run(RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-08",
                                      {"--series-list", tmp / "series.txt"}));
    ASSERT_EQ(r.exit_code, 0) << r.All();
    std::set<std::string> only = {assoc[0], assoc[2]};
    ExpectOnlyDays(*dst, {kDay7, kDay8});
    for (const auto& d : {kDay7, kDay8}) ExpectDay(*dst, cold, d, &only);
  }
  // `aws iotsitewise list-time-series` JSON: an associated series (assetId and propertyId;
  // its timeSeriesId is SiteWise's own UUID, not in file names) and a data stream.
  auto a = assoc[1];
  nlohmann::json j = {
      {"TimeSeriesSummaries",
       {{{"assetId", a.substr(0, a.find('_'))},
         {"propertyId", a.substr(a.find('_') + 1)},
         {"timeSeriesId", "0b0a3f9c-1111-4222-8333-444455556666"},
         {"dataType", "DOUBLE"},
         {"timeSeriesCreationDate", "2023-01-01T00:00:00Z"},
         {"timeSeriesLastUpdateDate", "2023-01-02T00:00:00Z"},
         {"timeSeriesArn", "arn:aws:iotsitewise:us-east-1:123456789012:time-series/x"}},
        {{"alias", "/plant/line1/stream"},
         {"timeSeriesId", stream},
         {"dataType", "DOUBLE"},
         {"timeSeriesArn", "arn:aws:iotsitewise:us-east-1:123456789012:time-series/y"}}}}};
  WriteFile(tmp / "series.json", j.dump(2));
  {
    auto dst = TestLake::Open(GetParam(), "rp-list-json");
    auto r = dst->Run(RepartitionArgs(cold.uri(), dst->uri(), "2023-01-07", "2023-01-08",
                                      {"--series-list", tmp / "series.json"}));
    ASSERT_EQ(r.exit_code, 0) << r.All();
    std::set<std::string> only = {a, stream};
    ExpectOnlyDays(*dst, {kDay7, kDay8});
    for (const auto& d : {kDay7, kDay8}) ExpectDay(*dst, cold, d, &only);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Repartition, ::testing::Values("local", "moto", "rgw"));

// The seed's config.yml, with the buckets of the sample (SRC and DST are whole buckets) on moto.
TEST(RepartitionConfig, SeedConfigYmlOnMotoBuckets) {
  auto probe = TestLake::Open("moto", "rp-cfg-probe");
  auto env = probe->env();
  const std::string tag = std::to_string(::getpid());
  const std::string cold_bucket = "lp-cold-tier-" + tag, out_bucket = "lp-repartitioned-" + tag;
  auto aws = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"env",
                                     "-u",
                                     "AWS_CA_BUNDLE",
                                     "-u",
                                     "AWS_PROFILE",
                                     "-u",
                                     "AWS_SESSION_TOKEN",
                                     "aws",
                                     "--endpoint-url",
                                     env["AWS_ENDPOINT_URL"]};
    argv.insert(argv.end(), args.begin(), args.end());
    return e2e::Run(argv, env);
  };
  for (const auto& b : {cold_bucket, out_bucket}) {
    auto r = aws({"s3api", "create-bucket", "--bucket", b});
    ASSERT_EQ(r.exit_code, 0) << r.All();
  }
  ScratchDir tmp;
  GenColdTier(tmp / "cold",
              {"--start", "2023-01-07", "--days", "3", "--series", "3", "--records", "10"});
  auto up = aws({"s3", "cp", "--recursive", "--quiet", tmp / "cold", "s3://" + cold_bucket + "/"});
  ASSERT_EQ(up.exit_code, 0) << up.All();
  WriteFile(tmp / "config.yml",
            "timeseries_type: ASSOCIATED\n"
            "cold_tier_bucket_name: " +
                cold_bucket +
                "\n"
                "repartitioned_data_bucket_name: " +
                out_bucket +
                "\n"
                "local_tmp_raw_dir_name: raw_data\n"
                "local_tmp_merged_dir_name: merged_data\n"
                "date_start: 2023-01-07\n"
                "date_end: 2023-01-09\n");
  auto list = [&] {
    auto r = aws({"s3", "ls", "--recursive", "s3://" + out_bucket + "/"});
    EXPECT_EQ(r.exit_code, 0) << r.All();
    std::vector<std::string> keys;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      auto sp = line.rfind(' ');
      if (sp != std::string::npos && line.find("_lakepack/") == std::string::npos) {
        keys.push_back(line.substr(sp + 1));
      }
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  };
  // Flags win: --end narrows the config's range to two days.
  auto r = Lakepack({"repartition", "--config", tmp / "config.yml", "--end", "2023-01-08"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.All().find("timeseries_type ASSOCIATED"), std::string::npos) << r.All();
  EXPECT_NE(r.All().find("local_tmp_raw_dir_name is not needed"), std::string::npos) << r.All();
  EXPECT_EQ(list(), DayKeys({kDay7, kDay8})) << r.All();
  // The config alone: day 9 is added, days 7 and 8 skip.
  r = Lakepack({"repartition", "--config", tmp / "config.yml"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(Count(r.All(), "Skip, no new data"), 2) << r.All();
  EXPECT_EQ(list(), DayKeys({kDay7, kDay8, kDay9})) << r.All();
  for (const auto& d : {kDay7, kDay8, kDay9}) {
    auto get =
        aws({"s3", "cp", "--quiet", "s3://" + out_bucket + "/" + d.DayFile(), tmp / "day.avro"});
    ASSERT_EQ(get.exit_code, 0) << get.All();
    std::vector<std::string> inputs;
    for (const auto& f : ListFiles(tmp / ("cold/" + d.RawPrefix()))) {
      inputs.push_back(tmp / ("cold/" + d.RawPrefix() + f));
    }
    auto want = AvroRecords(inputs, "python");
    EXPECT_EQ(MultisetDiff(AvroRecords({tmp / "day.avro"}, "python"), want), "") << d.DayFile();
    EXPECT_EQ(MultisetDiff(AvroRecords({tmp / "day.avro"}, "avsc"), want), "") << d.DayFile();
  }
  for (const auto& b : {cold_bucket, out_bucket}) {
    aws({"s3", "rm", "--recursive", "--quiet", "s3://" + b + "/"});
    aws({"s3api", "delete-bucket", "--bucket", b});
  }
}

// Bad usage exits 2 and changes nothing.
TEST(RepartitionUsage, BadUsageExitsTwo) {
  ScratchDir tmp;
  GenColdTier(tmp / "cold",
              {"--start", "2023-01-07", "--days", "1", "--series", "1", "--records", "5"});
  fs::create_directories(tmp / "out");
  WriteFile(tmp / "unknown.yml", "cold_tier_bucket_name: a\nfavourite_colour: blue\n");
  WriteFile(tmp / "nested.yml", "cold_tier_bucket_name:\n  name: a\n");
  WriteFile(tmp / "type.yml", "timeseries_type: SOMETIMES\n");
  const std::string src = tmp / "cold", dst = tmp / "out";
  const std::vector<std::vector<std::string>> cases = {
      {"repartition", src, dst, "--start", "2023-01-07"},
      {"repartition", src, dst, "--end", "2023-01-07"},
      {"repartition", src, "--start", "2023-01-07", "--end", "2023-01-07"},
      {"repartition", src, dst, "--start", "2023-13-01", "--end", "2023-01-07"},
      {"repartition", src, dst, "--start", "20230107", "--end", "2023-01-07"},
      {"repartition", src, dst, "--start", "2023-01-08", "--end", "2023-01-07"},
      {"repartition", src, dst, "--start", "2023-01-07", "--end", "2023-01-07", "--parallel", "0"},
      {"repartition", src, dst, "--start", "2023-01-07", "--end", "2023-01-07", "--frobnicate"},
      {"repartition", src, dst, "--start", "2023-01-07", "--end", "2023-01-07", "--shard", "3/2"},
      {"repartition", src, dst, "--start", "2023-01-07", "--end", "2023-01-07", "--config",
       tmp / "unknown.yml"},
      {"repartition", src, dst, "--start", "2023-01-07", "--end", "2023-01-07", "--config",
       tmp / "nested.yml"},
      {"repartition", src, dst, "--start", "2023-01-07", "--end", "2023-01-07", "--config",
       tmp / "type.yml"},
      {"repartition", src, dst, "--start", "2023-01-07", "--end", "2023-01-07", "--config",
       tmp / "missing.yml"},
      {"repartition", src, dst, "--start", "2023-01-07", "--end", "2023-01-07", "--series-list",
       tmp / "missing.txt"},
  };
  for (const auto& args : cases) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    auto r = Lakepack(args);
    EXPECT_EQ(r.exit_code, 2) << line << "\n" << r.All();
    EXPECT_FALSE(r.err.empty()) << line;
  }
  EXPECT_EQ(ListFiles(dst), std::vector<std::string>{});
}

}  // namespace
}  // namespace lakepack::e2e
