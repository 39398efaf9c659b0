// End-to-end: every bad input gets one clear line naming the file and the problem, the right
// exit code, and no output (partial or otherwise) left behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "e2e/harness.h"

namespace lakepack::e2e {
namespace {

namespace fs = std::filesystem;

int Lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Shared checks: exit code, one stderr line starting as every lakepack error does, naming
// `names` and holding `what`; nothing on stdout; the output directory as it was.
void ExpectCleanFailure(const RunResult& r, int code, const std::string& names,
                        const std::string& what) {
  EXPECT_EQ(r.exit_code, code) << r.All();
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("lakepack convert: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(names), std::string::npos) << "should name " << names << ": " << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << "should say " << what << ": " << r.err;
}

class ConvertErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(
        Lakepack({"sample", dir_ / "s", "--minutes", "1", "--rows-per-file", "2000"}).exit_code, 0);
    good_parquet_ = dir_ / ("s/" + ListFiles(dir_ / "s")[0]);
    fs::create_directories(dir_ / "out");
  }
  // The output directory holds nothing: no OUT, no temporary file.
  void ExpectNoOutput() { EXPECT_EQ(ListFiles(dir_ / "out"), std::vector<std::string>{}); }

  ScratchDir dir_;
  std::string good_parquet_;
};

TEST_F(ConvertErrors, MissingInput) {
  std::string in = dir_ / "nope/missing.csv";
  auto r = Lakepack({"convert", in, dir_ / "out/x.parquet"});
  ExpectCleanFailure(r, 1, in, "no such file");
  ExpectNoOutput();
}

TEST_F(ConvertErrors, TruncatedParquet) {
  std::string data = ReadFile(good_parquet_);
  WriteFile(dir_ / "trunc.parquet", data.substr(0, data.size() / 2));
  auto r = Lakepack({"convert", dir_ / "trunc.parquet", dir_ / "out/x.csv"});
  ExpectCleanFailure(r, 1, dir_ / "trunc.parquet", "not a Parquet file or truncated");
  ExpectNoOutput();
  auto i = Lakepack({"inspect", dir_ / "trunc.parquet"});
  EXPECT_EQ(i.exit_code, 1);
  EXPECT_NE(i.err.find("trunc.parquet: not a Parquet file or truncated"), std::string::npos)
      << i.err;
}

TEST_F(ConvertErrors, CorruptParquetPages) {
  // Overwrite the middle of the data pages: the footer still parses, the pages do not.
  std::string data = ReadFile(good_parquet_);
  for (size_t i = 100; i < data.size() / 2; i++) data[i] = static_cast<char>(i * 7);
  WriteFile(dir_ / "bad.parquet", data);
  auto r = Lakepack({"convert", dir_ / "bad.parquet", dir_ / "out/x.jsonl"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(dir_ / "bad.parquet"), std::string::npos) << r.err;
  ExpectNoOutput();
}

TEST_F(ConvertErrors, CsvThatCannotBeParsed) {
  // Within the sniffer's sample: no dialect fits every row.
  WriteFile(dir_ / "ragged.csv", "a,b\n1,2\n3,4\n5,6,7,8\n9,10\n");
  auto r = Lakepack({"convert", dir_ / "ragged.csv", dir_ / "out/x.parquet"});
  ExpectCleanFailure(r, 1, dir_ / "ragged.csv", "cannot parse as CSV");
  ExpectNoOutput();
  // Past the sample: the line is named.
  std::string big = "a,b\n";
  for (int i = 0; i < 30000; i++) big += std::to_string(i) + "," + std::to_string(i) + "\n";
  big += "5,6,7\n1,2\n";
  WriteFile(dir_ / "late.csv", big);
  r = Lakepack({"convert", dir_ / "late.csv", dir_ / "out/x.parquet"});
  ExpectCleanFailure(r, 1, dir_ / "late.csv",
                     "CSV error on line 30002: Expected Number of Columns: 2 Found: 3");
  ExpectNoOutput();
}

TEST_F(ConvertErrors, JsonLinesThatAreNotJson) {
  WriteFile(dir_ / "bad.jsonl", "{\"a\": 1}\n{\"a\": 2\n");
  auto r = Lakepack({"convert", dir_ / "bad.jsonl", dir_ / "out/x.parquet"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(dir_ / "bad.jsonl"), std::string::npos) << r.err;
  ExpectNoOutput();
}

TEST_F(ConvertErrors, UnwritableOutput) {
  // The output's parent is a regular file: no directory can be made there.
  WriteFile(dir_ / "out/blocker", "x");
  std::string out = dir_ / "out/blocker/x.parquet";
  auto r = Lakepack({"convert", good_parquet_, out});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_EQ(Lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(dir_ / "out/blocker"), std::string::npos) << r.err;
  EXPECT_EQ(ListFiles(dir_ / "out"), std::vector<std::string>{"blocker"});
}

TEST_F(ConvertErrors, UnknownOutputFormatIsBadUsage) {
  auto r = Lakepack({"convert", good_parquet_, dir_ / "out/x.parquet", "--format", "xml"});
  ExpectCleanFailure(r, 2, "--format", "unknown format 'xml'");
  auto r2 = Lakepack({"convert", good_parquet_, dir_ / "out/x.xml"});
  ExpectCleanFailure(r2, 2, dir_ / "out/x.xml", "cannot tell the output format");
  ExpectNoOutput();
}

TEST_F(ConvertErrors, UnknownInputFormatIsBadUsage) {
  WriteFile(dir_ / "data.bin", "1,2\n");
  auto r = Lakepack({"convert", dir_ / "data.bin", dir_ / "out/x.parquet"});
  ExpectCleanFailure(r, 2, dir_ / "data.bin", "cannot tell the input format");
  ExpectNoOutput();
}

TEST_F(ConvertErrors, UnknownCodecIsBadUsage) {
  auto r = Lakepack({"convert", good_parquet_, dir_ / "out/x.parquet", "--compression", "lzma"});
  ExpectCleanFailure(r, 2, "--compression", "unknown compression 'lzma'");
  ExpectNoOutput();
}

TEST_F(ConvertErrors, MissingArgumentsAreBadUsage) {
  auto r = Lakepack({"convert", good_parquet_});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("OUT"), std::string::npos) << r.err;
}

TEST_F(ConvertErrors, InputsAreNeverChanged) {
  std::string before = ReadFile(good_parquet_);
  auto r = Lakepack({"convert", good_parquet_, dir_ / "out/x.parquet", "--compression", "bogus"});
  EXPECT_EQ(r.exit_code, 2);
  r = Lakepack({"convert", good_parquet_, dir_ / "out/x.csv"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(ReadFile(good_parquet_), before);
}

}  // namespace
}  // namespace lakepack::e2e
