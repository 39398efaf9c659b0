// End-to-end: every bad input gets one clear line naming the file and the problem, the right
// exit code, and no output (partial or otherwise) left behind.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
  ExpectCleanFailure(r, 1, dir_ / "ragged.csv", "line 4: 4 fields, but the header has 2");
  ExpectNoOutput();
  // Past the sample: the line is named.
  std::string big = "a,b\n";
  for (int i = 0; i < 30000; i++) big += std::to_string(i) + "," + std::to_string(i) + "\n";
  big += "5,6,7\n1,2\n";
  WriteFile(dir_ / "late.csv", big);
  r = Lakepack({"convert", dir_ / "late.csv", dir_ / "out/x.parquet"});
  ExpectCleanFailure(r, 1, dir_ / "late.csv", "line 30002: 3 fields, but the header has 2");
  ExpectNoOutput();
}

// Issue 9, "rows silently dropped": DuckDB's sniffer read these as 0, 999 and 0 rows with
// exit 0 (it chose to skip 1000 and 1 lines, or took the first data row for the header).
std::string IdNameAmount(int rows) {
  std::string csv = "id,name,amount\n";
  for (int i = 1; i <= rows; i++) csv += fmt::format("{},n{},{}.5\n", i, i, i);
  return csv;
}

TEST_F(ConvertErrors, CsvWithAnExtraFieldOnTheLastLineIsRefused) {
  std::string csv = IdNameAmount(999) + "1000,n1000,1000.5,EXTRA\n";
  WriteFile(dir_ / "a.csv", csv);
  auto r = Lakepack({"convert", dir_ / "a.csv", dir_ / "out/a.parquet"});
  ExpectCleanFailure(r, 1, dir_ / "a.csv", "line 1001: 4 fields, but the header has 3");
  ExpectNoOutput();
  EXPECT_EQ(ReadFile(dir_ / "a.csv"), csv);
}

TEST_F(ConvertErrors, CsvWithAShortHeaderIsRefused) {
  std::string csv = "id,name\n";
  for (int i = 1; i <= 999; i++) csv += fmt::format("{},n{},{}.5\n", i, i, i);
  WriteFile(dir_ / "a.csv", csv);
  auto r = Lakepack({"convert", dir_ / "a.csv", dir_ / "out/a.parquet"});
  ExpectCleanFailure(r, 1, dir_ / "a.csv", "line 2: 3 fields, but the header has 2");
  ExpectNoOutput();
}

TEST_F(ConvertErrors, CsvOfThreeRaggedLinesIsRefused) {
  WriteFile(dir_ / "a.csv", "a,b,c\n1,2\n1,2,3,4\n");
  auto r = Lakepack({"convert", dir_ / "a.csv", dir_ / "out/a.parquet"});
  ExpectCleanFailure(r, 1, dir_ / "a.csv", "line 2: 2 fields, but the header has 3");
  ExpectNoOutput();
}

TEST_F(ConvertErrors, CsvProblemsNameTheLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a,b\n1,2\n3,\"open\n4,5\n", "line 3: a quoted field opened on line 3 is never closed"},
      {"a,b\n1,2\n3,\xff\xfe\n", "line 3: not valid UTF-8 (byte 0xFF"},
      {"a,b\n1,\"x\"y\n", "line 2: unexpected text after a closing quote"},
      {"\n1,2\n", "line 1: the header line is empty"},
      {"a,b\n1,2\n" + std::string(9 << 20, 'x') + ",3\n", "line 3: the record is 9437186 bytes"},
  };
  for (const auto& [csv, want] : cases) {
    WriteFile(dir_ / "p.csv", csv);
    auto r = Lakepack({"convert", dir_ / "p.csv", dir_ / "out/p.parquet"});
    ExpectCleanFailure(r, 1, dir_ / "p.csv", want);
    ExpectNoOutput();
  }
}

TEST_F(ConvertErrors, EmptyCsvHasNoColumnsToWrite) {
  WriteFile(dir_ / "empty.csv", "");
  auto r = Lakepack({"convert", dir_ / "empty.csv", dir_ / "out/e.parquet"});
  ExpectCleanFailure(r, 1, dir_ / "empty.csv", "empty file (0 bytes): no header");
  ExpectNoOutput();
}

TEST_F(ConvertErrors, JsonLineThatIsNotAnObjectIsRefused) {
  WriteFile(dir_ / "a.jsonl", "{\"a\": 1}\n[1, 2]\n{\"a\": 3}\n");
  auto r = Lakepack({"convert", dir_ / "a.jsonl", dir_ / "out/a.parquet"});
  ExpectCleanFailure(r, 1, dir_ / "a.jsonl", "line 2: not a JSON object");
  ExpectNoOutput();
}

// Blank lines, CRLF endings, a BOM and quoted newlines are CSV, not errors: every row arrives.
TEST(ConvertStrict, WellFormedVariantsKeepEveryRow) {
  ScratchDir dir;
  const std::vector<std::pair<std::string, int>> cases = {
      {"a,b\r\n1,2\r\n3,4", 2},
      {"\xEF\xBB\xBF"
       "a,b\n1,2\n",
       1},
      {"a,b\n1,2\n\n3,4\n", 2},
      {"a;b\n1;2\n3;4\n", 2},
      {"a,b\n1,\"multi\nline, with comma\"\n2,\"say \"\"hi\"\"\"\n", 2},
      {"#a,b\n#1,2\n", 1},  // '#' is data, not a comment
      {"a\n1\n\n2\n", 3},   // one column: a blank line is a NULL value
  };
  int i = 0;
  for (const auto& [csv, rows] : cases) {
    std::string in = dir / fmt::format("v{}.csv", i), out = dir / fmt::format("v{}.parquet", i);
    i++;
    WriteFile(in, csv);
    auto r = Lakepack({"convert", in, out, "--json"});
    ASSERT_EQ(r.exit_code, 0) << csv << "\n" << r.All();
    EXPECT_EQ(nlohmann::json::parse(r.out)["rows"], rows) << csv;
  }
}

TEST(ConvertStrict, RejectsDivertBadLinesAndConvertTheRest) {
  ScratchDir dir;
  std::string csv = IdNameAmount(10) + "11,n11\n" + "12,n12,12.5\n" + "13,\xff,1,2\n";
  WriteFile(dir / "a.csv", csv);
  auto r = Lakepack({"convert", dir / "a.csv", dir / "a.parquet", "--rejects", dir / "bad.jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("11 rows"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 record(s) rejected, in " + (dir / "bad.jsonl")), std::string::npos)
      << r.out;
  std::string rej = ReadFile(dir / "bad.jsonl");
  auto nl = rej.find('\n');
  auto first = nlohmann::json::parse(rej.substr(0, nl));
  EXPECT_EQ(first["file"], dir / "a.csv");
  EXPECT_EQ(first["line"], 12);
  EXPECT_EQ(first["text"], "11,n11");
  EXPECT_EQ(first["reason"], "2 fields, but the header has 3");
  auto second = nlohmann::json::parse(rej.substr(nl + 1));
  EXPECT_EQ(second["line"], 14);
  EXPECT_TRUE(second.contains("bytes_base64")) << second.dump();
  EXPECT_EQ(ReadFile(dir / "a.csv"), csv);
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
