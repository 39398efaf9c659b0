// Unit tests of periods and layout templates, both ways.
#include "layout/layout.h"

#include <gtest/gtest.h>

namespace lakepack {
namespace {

TEST(Period, TruncateCompactAndBounds) {
  Period p{Granularity::kMinute, 2024, 2, 29, 23, 59};
  ASSERT_TRUE(p.Validate().ok());
  EXPECT_EQ(p.Compact(), "20240229T2359");
  EXPECT_EQ(p.Truncate(Granularity::kHour).Compact(), "20240229T23");
  EXPECT_EQ(p.Truncate(Granularity::kDay).ToString(), "2024-02-29");
  EXPECT_EQ(p.Truncate(Granularity::kMonth).Compact(), "202402");
  EXPECT_EQ(p.Truncate(Granularity::kYear).Compact(), "2024");
  Period d = p.Truncate(Granularity::kDay);
  EXPECT_EQ(d.EndSeconds() - d.StartSeconds(), 86400);
  Period m = p.Truncate(Granularity::kMonth);
  EXPECT_EQ(m.EndSeconds() - m.StartSeconds(), 29 * 86400);
  EXPECT_FALSE((Period{Granularity::kDay, 2023, 2, 29}).Validate().ok());
  EXPECT_FALSE((Period{Granularity::kHour, 2023, 1, 1, 24}).Validate().ok());
}

TEST(Period, ParseDay) {
  auto d = ParseDay("2025-12-30");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->Compact(), "20251230");
  EXPECT_FALSE(ParseDay("2025-13-01").ok());
  EXPECT_FALSE(ParseDay("2025-1-1").ok());
  EXPECT_EQ(ParseDay("yesterday").status().message(),
            "'yesterday' is not a date in YYYY-MM-DD form");
}

TEST(Layout, DefaultPlacesEveryLevel) {
  auto l = Layout::Parse(Layout::kDefaultTemplate);
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  auto minute = l->Match("u/db/t/2025/01/02/03/anything.parquet");
  ASSERT_TRUE(minute);
  EXPECT_EQ(minute->prefix, "u/db/t");
  EXPECT_EQ(minute->table, "t");
  EXPECT_EQ(minute->level, Granularity::kMinute);
  EXPECT_EQ(minute->period.ToString(), "2025-01-02T03");  // known to the hour only

  auto hour = l->Match("u/db/t/2025/01/02/t_20250102T03.parquet");
  ASSERT_TRUE(hour);
  EXPECT_EQ(hour->level, Granularity::kHour);
  EXPECT_EQ(hour->period.Compact(), "20250102T03");

  auto foreign_hour = l->Match("u/db/t/2025/01/02/whatever.parquet");
  ASSERT_TRUE(foreign_hour);
  EXPECT_EQ(foreign_hour->level, Granularity::kHour);
  EXPECT_EQ(foreign_hour->period.ToString(), "2025-01-02");

  auto day = l->Match("u/db/t/2025/01/t_20250102.parquet");
  ASSERT_TRUE(day);
  EXPECT_EQ(day->level, Granularity::kDay);
  auto month = l->Match("u/db/t/2025/t_202501.parquet");
  ASSERT_TRUE(month);
  EXPECT_EQ(month->level, Granularity::kMonth);
  auto year = l->Match("u/db/t/t_2025.parquet");
  ASSERT_TRUE(year);
  EXPECT_EQ(year->level, Granularity::kYear);
  EXPECT_EQ(year->prefix, "u/db/t");
}

TEST(Layout, StrayFilesDoNotMatch) {
  auto l = Layout::Parse(Layout::kDefaultTemplate);
  ASSERT_TRUE(l.ok());
  EXPECT_FALSE(l->Match("u/db/t/2025/01/02/03/notes.txt"));
  EXPECT_FALSE(l->Match("u/db/t/2025/13/t_202513.parquet"));          // month 13
  EXPECT_FALSE(l->Match("u/db/t/2025/01/02/t_20250103T04.parquet"));  // name disagrees with dir
  EXPECT_FALSE(l->Match("u/db/t/random.parquet"));                    // not placed in time
  EXPECT_FALSE(l->Match("u/db/t/2025/02/30/t.parquet"));              // no Feb 30
}

TEST(Layout, MergedKeysRoundTrip) {
  auto l = Layout::Parse(Layout::kDefaultTemplate);
  ASSERT_TRUE(l.ok());
  Period h{Granularity::kHour, 2025, 1, 2, 3};
  EXPECT_EQ(l->MergedKey("u/db/t", "t", h), "u/db/t/2025/01/02/t_20250102T03.parquet");
  EXPECT_EQ(l->MergedKey("u/db/t", "t", h.Truncate(Granularity::kDay)),
            "u/db/t/2025/01/t_20250102.parquet");
  EXPECT_EQ(l->MergedKey("", "t", h.Truncate(Granularity::kYear)), "t_2025.parquet");
  for (auto g : {Granularity::kHour, Granularity::kDay, Granularity::kMonth, Granularity::kYear}) {
    auto key = l->MergedKey("u/db/t", "t", h.Truncate(g));
    auto m = l->Match(key);
    ASSERT_TRUE(m) << key;
    EXPECT_EQ(m->level, g) << key;
    EXPECT_EQ(m->period, h.Truncate(g)) << key;
  }
}

TEST(Layout, TableRootItselfAsDataset) {
  auto l = Layout::Parse(Layout::kDefaultTemplate);
  ASSERT_TRUE(l.ok());
  auto m = l->Match("2025/01/02/03/x.parquet", "events");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->prefix, "");
  EXPECT_EQ(m->table, "events");
}

TEST(Layout, Hive) {
  auto l = Layout::Parse("{table}/year={yyyy}/month={MM}/day={dd}/{name}");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  auto m = l->Match("lake/events/year=2024/month=06/day=30/part-0001.parquet");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->level, Granularity::kHour);
  EXPECT_EQ(m->table, "events");
  EXPECT_EQ(m->prefix, "lake/events");
  EXPECT_EQ(l->MergedKey(m->prefix, m->table, m->period),
            "lake/events/year=2024/month=06/events_20240630.parquet");
  EXPECT_FALSE(l->Match("lake/events/year=2024/month=6/day=30/p.parquet"));
}

TEST(Layout, PatternTakesTimeFromNames) {
  auto l = Layout::Parse(
      "{table}/{yyyy}/{MM}/{dd}/{HH}/{name}",
      R"(^ev_(?<yyyy>\d{4})-(?<MM>\d\d)-(?<dd>\d\d)T(?<HH>\d\d)-(?<mm>\d\d)\.parquet$)");
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  auto flat = l->Match("events/ev_2025-03-04T05-06.parquet");
  ASSERT_TRUE(flat);
  EXPECT_EQ(flat->level, Granularity::kMinute);
  EXPECT_EQ(flat->period.Compact(), "20250304T0506");
  EXPECT_EQ(flat->prefix, "events");
  EXPECT_FALSE(l->Match("events/other.parquet"));
}

TEST(Layout, BadTemplatesAreExplained) {
  EXPECT_EQ(
      Layout::Parse("{yyyy}/{dd}/{name}").status().message(),
      "--layout '{yyyy}/{dd}/{name}': time directories must run {yyyy}/{MM}/{dd}/{HH} in order");
  EXPECT_FALSE(Layout::Parse("{table}/{yyyy}").ok());
  EXPECT_FALSE(Layout::Parse("{table}/{name}").ok());
  EXPECT_EQ(Layout::Parse("{table}/{name}", "(?<foo>x)").status().message(),
            "--pattern: unknown group 'foo' (use yyyy, MM, dd, HH, mm)");
}

}  // namespace
}  // namespace lakepack
