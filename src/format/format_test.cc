// Unit tests of format names, SQL text and the DuckDB engine on small local files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "format/sql.h"
#include "lakepack/format.h"

namespace lakepack {
namespace {

TEST(FormatNames, ParseAndPrint) {
  EXPECT_EQ(*ParseFormat("parquet"), FileFormat::kParquet);
  EXPECT_EQ(*ParseFormat("snappy.parquet"), FileFormat::kParquet);
  EXPECT_EQ(*ParseFormat("CSV"), FileFormat::kCsv);
  EXPECT_EQ(*ParseFormat("ndjson"), FileFormat::kJsonLines);
  auto bad = ParseFormat("xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "unknown format 'xml' (expected parquet, csv, jsonl or avro)");
  EXPECT_EQ(FormatName(FileFormat::kJsonLines), "jsonl");
}

TEST(FormatNames, FromPath) {
  EXPECT_EQ(FormatFromPath("a/b/t_0.snappy.parquet"), FileFormat::kParquet);
  EXPECT_EQ(FormatFromPath("X.CSV"), FileFormat::kCsv);
  EXPECT_EQ(FormatFromPath("x.jsonl"), FileFormat::kJsonLines);
  EXPECT_EQ(FormatFromPath("x.avro"), FileFormat::kAvro);
  EXPECT_EQ(*ParseFormat("AVRO"), FileFormat::kAvro);
  EXPECT_EQ(FormatFromPath("parquet"), FileFormat::kUnknown);
}

TEST(FormatNames, Compression) {
  EXPECT_EQ(*ParseCompression("ZSTD"), Compression::kZstd);
  EXPECT_EQ(*ParseCompression("none"), Compression::kUncompressed);
  EXPECT_FALSE(ParseCompression("lzma").ok());
  EXPECT_EQ(CompressionName(Compression::kGzip), "gzip");
}

TEST(Sql, QuoteDoublesSingleQuotes) {
  EXPECT_EQ(sql::Quote("it's"), "'it''s'");
  EXPECT_EQ(sql::Quote(""), "''");
}

TEST(Sql, JsonLinesWithGivenColumnsAreNotDetected) {
  std::string s = sql::ReadExpression(
      {{"/a.jsonl", FileFormat::kJsonLines, ',', {{"x", "BIGINT"}, {"it's", "VARCHAR"}}}});
  EXPECT_NE(s.find("columns = {'x': 'BIGINT', 'it''s': 'VARCHAR'}"), std::string::npos) << s;
  EXPECT_EQ(sql::ReadExpression({{"/a.jsonl", FileFormat::kJsonLines, ','}}).find("columns"),
            std::string::npos);
}

TEST(Sql, ReadExpressionUnitesFormatsByName) {
  std::string s = sql::ReadExpression({{"/a.csv", FileFormat::kCsv, ','},
                                       {"/b.parquet", FileFormat::kParquet, ','},
                                       {"/c.csv", FileFormat::kCsv, ','}});
  EXPECT_NE(s.find("read_csv(['/a.csv', '/c.csv']"), std::string::npos) << s;
  EXPECT_NE(s.find("UNION ALL BY NAME"), std::string::npos) << s;
  EXPECT_NE(s.find("read_parquet(['/b.parquet'], union_by_name = true, hive_partitioning = false)"),
            std::string::npos)
      << s;
  // CSV comes first: groups keep the order of their first file.
  EXPECT_LT(s.find("read_csv"), s.find("read_parquet"));
}

TEST(Sql, WriteOptions) {
  WriteSpec w;
  w.compression = Compression::kZstd;
  w.row_group_rows = 4096;
  EXPECT_EQ(sql::WriteOptions(w), "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 4096");
  w.format = FileFormat::kCsv;
  EXPECT_EQ(sql::WriteOptions(w), "FORMAT csv, HEADER true");
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/lp-fmt-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto e = FormatEngine::Open({.memory_limit = "512MB", .threads = 2});
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(*e);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    std::string p = dir_ + "/" + name;
    std::ofstream(p) << content;
    return p;
  }
  std::string dir_;
  std::unique_ptr<FormatEngine> engine_;
};

TEST_F(EngineTest, CopyUnitesColumnsByNameAcrossFormats) {
  std::string a = Write("a.csv", "id,name\n1,x\n2,y\n");
  std::string b = Write("b.jsonl", "{\"id\": 3, \"extra\": true}\n");
  WriteSpec out{dir_ + "/out.parquet"};
  auto rows = engine_->Copy({{a, b}}, out);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 3);
  auto info = engine_->Inspect(out.path);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->rows, 3);
  std::vector<std::string> names;
  for (auto& c : info->columns) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"id", "name", "extra"}));
}

TEST_F(EngineTest, DigestIgnoresOrderButNotMultiplicity) {
  std::string a = Write("a.csv", "k,v\n1,a\n2,b\n3,c\n");
  std::string b = Write("b.csv", "k,v\n3,c\n1,a\n2,b\n");
  std::string c = Write("c.csv", "k,v\n3,c\n1,a\n2,b\n2,b\n");
  std::string d = Write("d.csv", "k,v\n3,c\n1,a\n2,B\n");
  auto da = engine_->Digest({{a}});
  auto db = engine_->Digest({{b}});
  auto dc = engine_->Digest({{c}});
  auto dd = engine_->Digest({{d}});
  ASSERT_TRUE(da.ok() && db.ok() && dc.ok() && dd.ok());
  EXPECT_EQ(*da, *db);
  EXPECT_NE(da->checksum, dc->checksum);
  EXPECT_EQ(dc->rows, 4);
  EXPECT_NE(da->checksum, dd->checksum);
}

TEST_F(EngineTest, FailedCopyLeavesNoOutput) {
  std::string bad = Write("bad.parquet", "this is not parquet at all, just text");
  WriteSpec out{dir_ + "/out.csv", FileFormat::kCsv};
  auto rows = engine_->Copy({{bad}}, out);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(rows.status().message().rfind(bad + ": not a Parquet file or truncated", 0), 0u)
      << rows.status().message();
  EXPECT_FALSE(std::filesystem::exists(out.path));
}

// Many footers at once give what Inspect gives file by file; a bad one is named as Inspect
// names it.
TEST_F(EngineTest, InspectParquetFilesAgreesWithInspect) {
  std::vector<std::string> files;
  const std::vector<std::string> texts = {"id,name\n1,x\n2,y\n", "id,name\n3,z\n",
                                          "name,id,extra\nw,4,true\n", "id,name\n5,v\n6,u\n7,t\n"};
  for (size_t i = 0; i < texts.size(); i++) {
    std::string csv = Write("f" + std::to_string(i) + ".csv", texts[i]);
    WriteSpec out{dir_ + "/f" + std::to_string(i) + ".parquet"};
    ASSERT_TRUE(engine_->Copy({{csv}}, out).ok());
    files.push_back(out.path);
  }
  auto many = engine_->InspectParquetFiles(files);
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  ASSERT_EQ(many->size(), files.size());
  for (size_t i = 0; i < files.size(); i++) {
    auto one = engine_->Inspect(files[i]);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ((*many)[i].rows, one->rows) << files[i];
    EXPECT_EQ((*many)[i].row_groups, one->row_groups) << files[i];
    EXPECT_EQ((*many)[i].size_bytes, one->size_bytes) << files[i];
    ASSERT_EQ((*many)[i].columns.size(), one->columns.size()) << files[i];
    for (size_t c = 0; c < one->columns.size(); c++) {
      EXPECT_EQ((*many)[i].columns[c].name, one->columns[c].name);
      EXPECT_EQ((*many)[i].columns[c].type, one->columns[c].type);
    }
  }
  EXPECT_EQ((*many)[2].columns.size(), 3u);
  std::string bad = Write("bad.parquet", "this is not parquet at all, just text");
  files.insert(files.begin() + 1, bad);
  auto failed = engine_->InspectParquetFiles(files);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().ToString(), engine_->Inspect(bad).status().ToString());
}

TEST_F(EngineTest, MissingInputIsNotFound) {
  auto rows = engine_->Copy({{dir_ + "/nope.csv"}}, WriteSpec{dir_ + "/o.parquet"});
  ASSERT_FALSE(rows.ok());
  EXPECT_TRUE(rows.status().IsNotFound()) << rows.status().ToString();
  EXPECT_NE(rows.status().message().find("nope.csv"), std::string::npos);
}

TEST_F(EngineTest, SampleIsDeterministic) {
  SampleSpec s;
  s.rows = 1234;
  WriteSpec a{dir_ + "/a.parquet"}, b{dir_ + "/b.parquet"};
  ASSERT_EQ(*engine_->WriteSample(s, a), 1234);
  ASSERT_EQ(*engine_->WriteSample(s, b), 1234);
  EXPECT_EQ(*engine_->Digest({{a.path}}), *engine_->Digest({{b.path}}));
  s.seed = 2;
  WriteSpec c{dir_ + "/c.parquet"};
  ASSERT_TRUE(engine_->WriteSample(s, c).ok());
  EXPECT_NE(engine_->Digest({{a.path}})->checksum, engine_->Digest({{c.path}})->checksum);
}

TEST(EngineVersion, IsDuckDB14) { EXPECT_EQ(FormatEngine::LibraryVersion().rfind("v1.4.", 0), 0u); }

}  // namespace
}  // namespace lakepack
