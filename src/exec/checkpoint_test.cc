// Unit tests for the watch checkpoint and watch's naming rules.
#include "exec/checkpoint.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "exec/watch.h"
#include "unit/scratch_dir.h"

namespace lakepack {
namespace {

using test_util::ScratchDir;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t Lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

CheckpointEntry Entry(const std::string& file, const std::string& md5) {
  return CheckpointEntry{file, md5, 10, 20, "s3://b/" + file, "etag", 3, "2026-12-01T00:00:00Z"};
}

TEST(CheckpointTest, AppendsAndReloadsLastLineOfANameWins) {
  ScratchDir d;
  const std::string path = d.path() + "/sub/ck.txt";  // its directory is created
  {
    auto cp = Checkpoint::Open(path, "/data/csv");
    ASSERT_TRUE(cp.ok()) << cp.status().message();
    ASSERT_TRUE((*cp)->Append(Entry("a.csv", std::string(32, '1'))).ok());
    ASSERT_TRUE((*cp)->Append(Entry("b/c.csv", std::string(32, '2'))).ok());
    ASSERT_TRUE((*cp)->Append(Entry("a.csv", std::string(32, '3'))).ok());
    EXPECT_EQ((*cp)->files(), 2u);
  }
  EXPECT_EQ(Lines(Slurp(path)), 3u);
  auto cp = Checkpoint::Open(path, "/data/csv");
  ASSERT_TRUE(cp.ok());
  auto a = (*cp)->Find("a.csv");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->md5, std::string(32, '3'));
  EXPECT_EQ(a->size, 10);
  EXPECT_EQ(a->mtime_ns, 20);
  EXPECT_EQ(a->object, "s3://b/a.csv");
  EXPECT_TRUE((*cp)->Find("b/c.csv").has_value());
  EXPECT_FALSE((*cp)->Find("c.csv").has_value());
}

TEST(CheckpointTest, ATornLastLineIsIgnoredAndCompactedAway) {
  ScratchDir d;
  const std::string good = CheckpointLine(Entry("a.csv", std::string(32, 'a')));
  const std::string path = d.File("ck.txt", good + "\n" + good.substr(0, 20));
  auto cp = Checkpoint::Open(path, "/x");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ((*cp)->files(), 1u);
  EXPECT_EQ(Slurp(path), good + "\n");  // rewritten whole, without the torn line
  ASSERT_TRUE((*cp)->Append(Entry("b.csv", std::string(32, 'b'))).ok());
  EXPECT_EQ(Lines(Slurp(path)), 2u);
}

TEST(CheckpointTest, ReadsTheSeedsLinesRelativeToTheDirectory) {
  ScratchDir d;
  const std::string md5 = "0123456789abcdef0123456789ABCDEF";
  const std::string path =
      d.File("ck.txt", "/data/csv/x/y.csv:" + md5 + "\n/elsewhere/z.csv:" + md5 + "\nnot a line\n");
  auto cp = Checkpoint::Open(path, "/data/csv/");
  ASSERT_TRUE(cp.ok());
  auto y = (*cp)->Find("x/y.csv");
  ASSERT_TRUE(y.has_value());
  EXPECT_EQ(y->md5, "0123456789abcdef0123456789abcdef");
  EXPECT_TRUE((*cp)->Find("/elsewhere/z.csv").has_value());
  EXPECT_EQ((*cp)->ignored_lines(), 1);
}

TEST(CheckpointTest, CompactsWhenLinesOutnumberFiles) {
  ScratchDir d;
  const std::string path = d.path() + "/ck.txt";
  {
    auto cp = Checkpoint::Open(path, "/d");
    ASSERT_TRUE(cp.ok());
    for (int i = 0; i < 1100; i++) {
      ASSERT_TRUE((*cp)->Append(Entry("same.csv", std::string(32, 'a' + i % 6))).ok());
    }
    // Compacted at least once on the way: far fewer lines than appends.
    EXPECT_LT(Lines(Slurp(path)), 1100u);
  }
  auto cp = Checkpoint::Open(path, "/d");
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(Lines(Slurp(path)), 1u);  // compacted at open: one file, one line
  EXPECT_EQ((*cp)->Find("same.csv")->md5, std::string(32, 'a' + 1099 % 6));
}

TEST(CheckpointTest, ASecondHolderIsRefused) {
  ScratchDir d;
  const std::string path = d.path() + "/ck.txt";
  auto first = Checkpoint::Open(path, "/d");
  ASSERT_TRUE(first.ok());
  auto second = Checkpoint::Open(path, "/d");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another lakepack watch"), std::string::npos);
  first->reset();
  EXPECT_TRUE(Checkpoint::Open(path, "/d").ok());
}

TEST(WatchNamesTest, OutputKeysAndIgnoredNames) {
  EXPECT_EQ(WatchOutputKey("a/b.csv", FileFormat::kParquet), "a/b.parquet");
  EXPECT_EQ(WatchOutputKey("B.CSV", FileFormat::kParquet), "B.parquet");
  EXPECT_EQ(WatchOutputKey("b.csv", FileFormat::kJsonLines), "b.jsonl");
  EXPECT_EQ(WatchOutputKey("b.csv.gz", FileFormat::kParquet), "");
  EXPECT_EQ(WatchOutputKey(".csv", FileFormat::kParquet), "");
  for (const char* n : {".x.csv", "~x.csv", "x.csv~", "x.csv.tmp", "x.csv.part", "x.CSV.PART",
                        "x.filepart", "x.crdownload", ".x.swp"}) {
    EXPECT_TRUE(WatchIgnoresName(n)) << n;
  }
  for (const char* n : {"x.csv", "tmp.csv", "part_1.csv"}) EXPECT_FALSE(WatchIgnoresName(n)) << n;
}

}  // namespace
}  // namespace lakepack
