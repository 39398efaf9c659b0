#include "common/flat_yaml.h"

#include <gtest/gtest.h>

namespace lakepack {
namespace {

TEST(FlatYamlTest, ReadsTheSeedsConfig) {
  auto m = ParseFlatYaml(
      "# AWS sample config\n"
      "timeseries_type: ASSOCIATED\n"
      "cold_tier_bucket_name: 'my-cold-tier'\n"
      "repartitioned_data_bucket_name: \"out # not a comment\"\n"
      "local_tmp_raw_dir_name: raw_data  # a comment\n"
      "date_start: 2023-01-07\n"
      "\n"
      "date_end: '2023-01-09'\n",
      "config.yml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->at("timeseries_type"), "ASSOCIATED");
  EXPECT_EQ(m->at("cold_tier_bucket_name"), "my-cold-tier");
  EXPECT_EQ(m->at("repartitioned_data_bucket_name"), "out # not a comment");
  EXPECT_EQ(m->at("local_tmp_raw_dir_name"), "raw_data");
  EXPECT_EQ(m->at("date_start"), "2023-01-07");
  EXPECT_EQ(m->at("date_end"), "2023-01-09");
}

TEST(FlatYamlTest, RefusesWhatItWouldMisread) {
  for (const char* bad :
       {"a:\n  b: 1\n", "- x\n", "a: 'open\n", "novalue\n", "a: 1\na: 2\n", "a: |\n"}) {
    auto m = ParseFlatYaml(bad, "c.yml");
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_NE(m.status().message().find("c.yml: line "), std::string::npos) << m.status().message();
  }
}

}  // namespace
}  // namespace lakepack
