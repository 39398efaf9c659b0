// Unit tests for the repartition planner.
#include "plan/repartition_plan.h"

#include <gtest/gtest.h>

namespace lakepack {
namespace {

const std::string kId = "7020c8e2-e6db-40fa-9845-ed0dddd4c77d_95e63da7-d34e-43e1-bc6f-1b490154b07a";

ObjectInfo Obj(const std::string& key, const std::string& etag = "e1", int64_t size = 10) {
  ObjectInfo o;
  o.key = key;
  o.etag = etag;
  o.size = size;
  return o;
}

std::string Raw(const std::string& id, int64_t ts, int d = 2) {
  return "raw/startYear=2021/startMonth=1/startDay=" + std::to_string(d) + "/seriesBucket=a2/raw_" +
         id + "_" + std::to_string(ts) + "_GOOD.avro";
}

Period Jan(int d) {
  Period p;
  p.granularity = Granularity::kDay;
  p.year = 2021, p.month = 1, p.day = d;
  return p;
}

TEST(RepartitionPlanTest, ParsesKeysFromTheRight) {
  auto r = ParseRawKey(Raw(kId, 1609577700));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->series_id, kId);  // 73 characters with an '_' inside
  EXPECT_EQ(r->start_timestamp, 1609577700);
  EXPECT_EQ(r->quality, "GOOD");
  EXPECT_EQ(r->series_bucket, "a2");
  EXPECT_EQ(r->day, Jan(2));
  auto padded =
      ParseRawKey("raw/startYear=2021/startMonth=01/startDay=02/seriesBucket=a2/raw_s_1_BAD.avro");
  ASSERT_TRUE(padded.has_value());
  EXPECT_EQ(padded->day, Jan(2));
  for (const char* bad :
       {"raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/x.avro",
        "raw/startYear=2021/startMonth=13/startDay=2/seriesBucket=a2/raw_s_1_GOOD.avro",
        "raw/startYear=2021/startMonth=2/startDay=30/seriesBucket=a2/raw_s_1_GOOD.avro",
        "raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/raw_s_x_GOOD.avro",
        "raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/raw_1_GOOD.avro",
        "agg/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/raw_s_1_GOOD.avro",
        "raw/startYear=2021/startMonth=1/startDay=2/raw_s_1_GOOD.avro"}) {
    EXPECT_FALSE(ParseRawKey(bad).has_value()) << bad;
  }
  EXPECT_EQ(RawDayPrefix(Jan(2)), "raw/startYear=2021/startMonth=1/startDay=2/");
  EXPECT_EQ(DayPartition(Jan(2)), "startYear=2021/startMonth=1/startDay=2/");
}

TEST(RepartitionPlanTest, SourcesRoundTripSorted) {
  std::string text = EncodeSources({{"b", "e2", 2}, {"a", "e1", 1}});
  EXPECT_EQ(text, R"([["a","e1",1],["b","e2",2]])");
  auto back = DecodeSources(text);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->size(), 2u);
  EXPECT_EQ((*back)[1].key, "b");
  EXPECT_FALSE(DecodeSources("{}").ok());
  EXPECT_FALSE(DecodeSources(R"([["a","e"]])").ok());
  // Keys that need escaping (quotes, backslashes, control bytes, UTF-8) come back as they were.
  const std::string odd = "raw/a\"b\\c\td\u00e9.avro";
  auto escaped = DecodeSources(EncodeSources({{odd, "e\"", 3}}));
  ASSERT_TRUE(escaped.ok()) << escaped.status().message();
  ASSERT_EQ(escaped->size(), 1u);
  EXPECT_EQ((*escaped)[0].key, odd);
  EXPECT_EQ((*escaped)[0].etag, "e\"");
  EXPECT_EQ((*escaped)[0].size, 3);
}

TEST(RepartitionPlanTest, AFirstRunTakesEveryFileOfTheDay) {
  DayPlanInput in;
  in.day = Jan(2);
  in.listing = {Obj(Raw("s2", 200)), Obj(Raw("s1", 300)), Obj(Raw("s1", 100)),
                Obj("raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=a2/notes.txt")};
  DayPlan p = PlanDay(in);
  ASSERT_TRUE(p.error.empty());
  ASSERT_EQ(p.inputs.size(), 3u);
  EXPECT_EQ(p.inputs[0].key, Raw("s1", 100));  // by series, then time
  EXPECT_EQ(p.inputs[1].key, Raw("s1", 300));
  EXPECT_EQ(p.inputs[2].key, Raw("s2", 200));
  EXPECT_EQ(p.output_key, "startYear=2021/startMonth=1/startDay=2/merged.avro");
  EXPECT_EQ(p.index_key, "startYear=2021/startMonth=1/startDay=2/timeseries.txt");
  EXPECT_EQ(p.series, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(p.new_series, 2);
  EXPECT_EQ(p.sources.size(), 3u);
  ASSERT_EQ(p.stray.size(), 1u);
  EXPECT_EQ(p.input_bytes, 30);
}

TEST(RepartitionPlanTest, AKeyThatIsNotUtf8FailsItsDayNamingIt) {
  // A local cold tier can hold a Latin-1 file name; the day's JSON list of sources could not.
  DayPlanInput in;
  in.day = Jan(2);
  in.listing = {Obj(Raw("s1", 100)), Obj(Raw("caf\xE9", 100))};
  DayPlan p = PlanDay(in);
  EXPECT_NE(p.error.find("caf\\xE9"), std::string::npos) << p.error;
  EXPECT_NE(p.error.find("not valid UTF-8"), std::string::npos) << p.error;
  // UTF-8 in a series id is fine.
  in.listing = {Obj(Raw("caf\xC3\xA9", 100))};
  EXPECT_TRUE(PlanDay(in).error.empty());
}

TEST(RepartitionPlanTest, ARerunTakesOnlyWhatItHasNotMergedByKeyAndEtag) {
  DayPlanInput in;
  in.day = Jan(2);
  in.existing = Obj("startYear=2021/startMonth=1/startDay=2/merged.avro", "day1");
  in.merged = {{Raw("s1", 100), "e1", 10}, {Raw("s2", 100), "e1", 10}};
  // A late 6-hourly file of a known series, a new series, and the merged ones unchanged.
  in.listing = {Obj(Raw("s1", 100)), Obj(Raw("s2", 100)), Obj(Raw("s1", 21700)),
                Obj(Raw("s3", 100))};
  DayPlan p = PlanDay(in);
  ASSERT_TRUE(p.error.empty());
  EXPECT_FALSE(p.rebuild);
  ASSERT_EQ(p.inputs.size(), 2u);
  EXPECT_EQ(p.inputs[0].key, Raw("s1", 21700));
  EXPECT_EQ(p.inputs[1].key, Raw("s3", 100));
  EXPECT_EQ(p.sources.size(), 4u);
  EXPECT_EQ(p.series, (std::vector<std::string>{"s1", "s2", "s3"}));
  EXPECT_EQ(p.new_series, 1);

  in.listing = {Obj(Raw("s1", 100)), Obj(Raw("s2", 100))};
  EXPECT_TRUE(PlanDay(in).nothing_new());
}

TEST(RepartitionPlanTest, AChangedSourceRebuildsTheDayOrFailsItWhenRowsWouldBeLost) {
  DayPlanInput in;
  in.day = Jan(2);
  in.existing = Obj("startYear=2021/startMonth=1/startDay=2/merged.avro", "day1");
  in.merged = {{Raw("s1", 100), "e1", 10}, {Raw("s2", 100), "e1", 10}};
  in.listing = {Obj(Raw("s1", 100), "e9"), Obj(Raw("s2", 100))};
  DayPlan p = PlanDay(in);
  ASSERT_TRUE(p.error.empty());
  EXPECT_TRUE(p.rebuild);
  EXPECT_EQ(p.changed, (std::vector<std::string>{Raw("s1", 100)}));
  EXPECT_EQ(p.inputs.size(), 2u);  // every listed file, the day file's rows dropped
  EXPECT_EQ(p.sources.size(), 2u);
  EXPECT_EQ(p.sources[0].etag, "e9");

  in.listing = {Obj(Raw("s1", 100), "e9")};  // s2's file is gone from the cold tier
  p = PlanDay(in);
  EXPECT_NE(p.error.find("would lose the rows of " + Raw("s2", 100)), std::string::npos) << p.error;
}

TEST(RepartitionPlanTest, TheSeriesListNarrowsTheDay) {
  std::set<std::string> only = {"s2"};
  DayPlanInput in;
  in.day = Jan(2);
  in.series = &only;
  in.listing = {Obj(Raw("s1", 100)), Obj(Raw("s2", 100))};
  DayPlan p = PlanDay(in);
  ASSERT_EQ(p.inputs.size(), 1u);
  EXPECT_EQ(p.inputs[0].key, Raw("s2", 100));
  EXPECT_EQ(p.filtered_out, 1);
}

}  // namespace
}  // namespace lakepack

namespace lakepack {
namespace {

TEST(RepartitionPlanTest, SeriesListsAsLinesOrSiteWiseJson) {
  auto lines = ParseSeriesList("# ids\ns1\n  s2  \n\ns_3\n", "ids.txt");
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(*lines, (std::set<std::string>{"s1", "s2", "s_3"}));
  auto json = ParseSeriesList(
      R"({"TimeSeriesSummaries":[{"assetId":"a1","propertyId":"p1","timeSeriesId":"t1"},)"
      R"({"alias":"/x","timeSeriesId":"t2"}]})",
      "ts.json");
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, (std::set<std::string>{"a1_p1", "t1", "t2"}));
  EXPECT_FALSE(ParseSeriesList(R"({"other":1})", "x.json").ok());
}

}  // namespace
}  // namespace lakepack
