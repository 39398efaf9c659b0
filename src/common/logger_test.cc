// Unit tests for the levelled, rotating logger.
#include "common/logger.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "unit/scratch_dir.h"

namespace lakepack {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LoggerTest, ParsesTheSeedsLevels) {
  EXPECT_EQ(*ParseLogLevel("DEBUG"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("Warning"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("WARN"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("ERROR"), LogLevel::kError);
  EXPECT_EQ(*ParseLogLevel("CRITICAL"), LogLevel::kCritical);
  auto bad = ParseLogLevel("LOUD");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("LOUD"), std::string::npos);
}

TEST(LoggerTest, RotatesAtTheSizeAndKeepsTheCount) {
  test_util::ScratchDir d;
  const std::string path = d.path() + "/w.log";
  Logger log(LogLevel::kInfo, /*to_stderr=*/false);
  ASSERT_TRUE(log.OpenFile(path, 200, 3).ok());
  for (int i = 0; i < 100; i++) log.Info("line " + std::to_string(i));
  log.Debug("below the level: dropped");
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(fs::exists(path + ".1"));
  EXPECT_TRUE(fs::exists(path + ".2"));
  EXPECT_FALSE(fs::exists(path + ".3"));
  for (const std::string& p : {path, path + ".1", path + ".2"}) {
    EXPECT_LE(fs::file_size(p), 200u) << p;
  }
  const std::string last = Slurp(path);
  EXPECT_NE(last.find(" - INFO - line 99\n"), std::string::npos) << last;
  EXPECT_EQ(last.find("dropped"), std::string::npos);
  // Python's asctime: "2026-12-01 16:55:36,123 - INFO - ...".
  EXPECT_EQ(last[4], '-');
  EXPECT_EQ(last[19], ',');
  EXPECT_NE(Slurp(path + ".2").find("line"), std::string::npos);
}

}  // namespace
}  // namespace lakepack
