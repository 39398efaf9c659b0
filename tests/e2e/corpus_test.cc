// End-to-end over the Apache Parquet test corpus (files from many writers, every encoding and
// codec, some broken on purpose): every file DuckDB can read converts with the same rows; every
// file it cannot read gets one clean error line and no output.
#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/harness.h"
#include "lakepack/format.h"

namespace lakepack::e2e {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(ConformanceDir(), ec)) {
    if (e.path().extension() == ".parquet") files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  // An empty list would make the suite vacuous: a placeholder makes the missing corpus fail.
  if (files.empty()) files.push_back("MISSING_CORPUS");
  return files;
}

class Corpus : public ::testing::TestWithParam<std::string> {};

TEST_P(Corpus, ConvertsWithTheSameRowsOrFailsCleanly) {
  std::string src = ConformanceDir() + "/" + GetParam();
  ASSERT_TRUE(Exists(src)) << "the Parquet test corpus is missing: " << ConformanceDir();
  auto engine = FormatEngine::Open({.memory_limit = "1GB", .threads = 1});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  auto want = (*engine)->Digest({{src}, FileFormat::kParquet});

  ScratchDir d;
  std::string out = d / "out/converted.parquet";
  auto r = Lakepack({"convert", src, out});
  if (!want.ok()) {
    // DuckDB cannot read it: the user gets one line naming the file, exit 1, and no output.
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(GetParam() + ": "), std::string::npos) << r.err;
    EXPECT_EQ(ListFiles(d / "out"), std::vector<std::string>{});
    return;
  }
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto got = (*engine)->Digest({{out}, FileFormat::kParquet});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->rows, want->rows);
  EXPECT_EQ(got->checksum, want->checksum) << "rows differ after convert";
  auto info = (*engine)->Inspect(out);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->rows, want->rows);
}

INSTANTIATE_TEST_SUITE_P(ParquetTesting, Corpus, ::testing::ValuesIn(CorpusFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace lakepack::e2e
