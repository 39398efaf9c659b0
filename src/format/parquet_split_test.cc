// Unit tests of cutting a Parquet file by row groups (format/parquet_split.h): the pieces hold
// the source's rows, in order, with their own key-value metadata, and DuckDB reads them whole.
#include "format/parquet_split.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lakepack/format.h"

namespace lakepack {
namespace {

class ParquetSplit : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lp-split-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto e = FormatEngine::Open({.memory_limit = "512MB", .threads = 2});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(*e);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  std::unique_ptr<FormatEngine> engine_;
};

TEST_F(ParquetSplit, PiecesHoldTheRowsInOrderWithTheirOwnMetadata) {
  // The seeds' sample rows: dictionary columns (so bloom filters), lists, NULLs.
  WriteSpec src{dir_ + "/all.parquet", FileFormat::kParquet, Compression::kSnappy, 2048};
  src.metadata = {{"old", "gone"}};
  ASSERT_TRUE(engine_->WriteSample(SampleSpec{.rows = 10000}, src).ok());
  auto s = ParquetSplitter::Open(src.path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const auto& groups = (*s)->row_groups();
  ASSERT_GE(groups.size(), 4u);
  int64_t rows = 0;
  for (const auto& g : groups) {
    EXPECT_GT(g.bytes, 0);
    rows += g.rows;
  }
  EXPECT_EQ(rows, 10000);

  // Pieces [0, 1), [1, n - 1), [n - 1, n): rows, metadata, and the rows themselves.
  const size_t n = groups.size();
  std::vector<std::pair<size_t, size_t>> cuts = {{0, 1}, {1, n - 2}, {n - 1, 1}};
  std::vector<std::string> pieces;
  for (size_t k = 0; k < cuts.size(); k++) {
    std::string out = dir_ + "/piece" + std::to_string(k) + ".parquet";
    auto size = (*s)->Write(cuts[k].first, cuts[k].second, {{"piece", std::to_string(k)}}, out);
    ASSERT_TRUE(size.ok()) << size.status().ToString();
    EXPECT_EQ(*size, static_cast<int64_t>(std::filesystem::file_size(out)));
    auto info = engine_->Inspect(out);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    int64_t want = 0;
    for (size_t g = cuts[k].first; g < cuts[k].first + cuts[k].second; g++) want += groups[g].rows;
    EXPECT_EQ(info->rows, want);
    EXPECT_EQ(info->row_groups, static_cast<int64_t>(cuts[k].second));
    auto kv = engine_->ParquetMetadata(out);
    ASSERT_TRUE(kv.ok());
    EXPECT_EQ(*kv,
              (std::vector<std::pair<std::string, std::string>>{{"piece", std::to_string(k)}}));
    pieces.push_back(out);
  }
  // The pieces laid end to end are the source, row for row (as CSV text, in order).
  WriteSpec whole{dir_ + "/whole.csv", FileFormat::kCsv};
  WriteSpec again{dir_ + "/again.csv", FileFormat::kCsv};
  ASSERT_TRUE(engine_->Copy(ReadSpec{{src.path}}, whole).ok());
  ASSERT_TRUE(engine_->Copy(ReadSpec{pieces}, again).ok());
  auto text = [](const std::string& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  EXPECT_EQ(text(whole.path), text(again.path));
  // Filters that use the statistics and bloom filters read the moved pieces right.
  auto d1 = engine_->Digest(ReadSpec{{src.path}});
  auto d2 = engine_->Digest(ReadSpec{pieces});
  ASSERT_TRUE(d1.ok() && d2.ok());
  EXPECT_EQ(*d1, *d2);
}

TEST_F(ParquetSplit, NotParquetIsCorruption) {
  std::string p = dir_ + "/x.parquet";
  std::ofstream(p) << "not a parquet file at all";
  auto s = ParquetSplitter::Open(p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace lakepack
