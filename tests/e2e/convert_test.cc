// End-to-end: `lakepack convert` and `inspect` on real files, checked by independent readers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/harness.h"

namespace lakepack::e2e {
namespace {

using nlohmann::json;

json InspectJson(const std::string& path) {
  auto r = Lakepack({"inspect", path, "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  return json::parse(r.out, nullptr, false);
}

// Reads a JSON lines file into one json value per line.
std::vector<json> JsonLines(const std::string& path) {
  std::vector<json> rows;
  std::istringstream in(ReadFile(path));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) rows.push_back(json::parse(line));
  }
  return rows;
}

TEST(Convert, CsvWithQuotesNewlinesUtf8AndEmptyFields) {
  ScratchDir d;
  WriteFile(d / "in.csv",
            "id,name,note,amount\n"
            "1,\"Smith, John\",\"said \"\"hi\"\"\",1.5\n"
            "2,Zoë Ünïcødé 日本語,\"two\nlines\",\n"
            "3,,plain,-2.25\n"
            "4,\"\",\"\",0\n");
  auto r = Lakepack({"convert", d / "in.csv", d / "out.parquet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("4 rows"), std::string::npos) << r.out;

  json info = InspectJson(d / "out.parquet");
  EXPECT_EQ(info["rows"], 4);
  EXPECT_EQ(info["format"], "parquet");
  ASSERT_EQ(info["columns"].size(), 4u);
  EXPECT_EQ(info["columns"][0]["name"], "id");
  EXPECT_EQ(info["columns"][0]["type"], "BIGINT");
  EXPECT_EQ(info["columns"][3]["type"], "DOUBLE");

  // Values, as a third reader (DuckDB's JSON writer) sees them after the round trip.
  ASSERT_EQ(Lakepack({"convert", d / "out.parquet", d / "back.jsonl"}).exit_code, 0);
  auto rows = JsonLines(d / "back.jsonl");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0]["name"], "Smith, John");
  EXPECT_EQ(rows[0]["note"], "said \"hi\"");
  EXPECT_EQ(rows[1]["name"], "Zoë Ünïcødé 日本語");
  EXPECT_EQ(rows[1]["note"], "two\nlines");
  EXPECT_TRUE(rows[1]["amount"].is_null());
  EXPECT_TRUE(rows[2]["name"].is_null());  // an empty unquoted field is NULL
  EXPECT_EQ(rows[2]["amount"], -2.25);
  ExpectReadersAgree(d / "out.parquet", 4);
}

TEST(Convert, HeaderOnlyCsvGivesAnEmptyParquetWithItsColumns) {
  ScratchDir d;
  WriteFile(d / "empty.csv", "a,b,c\n");
  auto r = Lakepack({"convert", d / "empty.csv", d / "empty.parquet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json info = InspectJson(d / "empty.parquet");
  EXPECT_EQ(info["rows"], 0);
  ASSERT_EQ(info["columns"].size(), 3u);
  EXPECT_EQ(info["columns"][2]["name"], "c");
  ExpectReadersAgree(d / "empty.parquet", 0);
}

TEST(Convert, JsonLinesWithNullsAndNestedValues) {
  ScratchDir d;
  WriteFile(
      d / "in.jsonl",
      "{\"id\": 1, \"user\": {\"name\": \"ann\", \"tags\": [\"a\", \"b\"]}, \"score\": 3.5, "
      "\"ok\": true}\n"
      "{\"id\": 2, \"user\": {\"name\": null, \"tags\": []}, \"score\": null, \"ok\": false}\n"
      "{\"id\": 3, \"user\": null, \"score\": 7, \"ok\": null}\n");
  for (std::string codec : {"snappy", "zstd", "gzip", "uncompressed"}) {
    SCOPED_TRACE(codec);
    std::string out = d / ("out." + codec + ".parquet");
    auto r = Lakepack({"convert", d / "in.jsonl", out, "--compression", codec});
    ASSERT_EQ(r.exit_code, 0) << r.All();
    json info = InspectJson(out);
    EXPECT_EQ(info["rows"], 3);
    ASSERT_EQ(info["compression"].size(), 1u);
    std::string want = codec == "uncompressed" ? "UNCOMPRESSED" : codec;
    for (auto& c : want) c = static_cast<char>(std::toupper(c));
    EXPECT_EQ(info["compression"][0], want);
    ExpectReadersAgree(out, 3);
  }
  ASSERT_EQ(Lakepack({"convert", d / "out.zstd.parquet", d / "back.jsonl"}).exit_code, 0);
  auto rows = JsonLines(d / "back.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["user"]["tags"], json::array({"a", "b"}));
  EXPECT_TRUE(rows[1]["user"]["name"].is_null());
  EXPECT_EQ(rows[1]["user"]["tags"], json::array());
  EXPECT_TRUE(rows[2]["user"].is_null());
  EXPECT_TRUE(rows[2]["ok"].is_null());
}

TEST(Convert, ParquetToCsvToParquetKeepsEveryRow) {
  ScratchDir d;
  // Sample rows of the seeds' schema, minus the BLOB columns CSV cannot carry as bytes.
  ASSERT_EQ(Lakepack({"sample", d / "lake", "--minutes", "1", "--rows-per-file", "3000"}).exit_code,
            0);
  auto files = ListFiles(d / "lake");
  ASSERT_EQ(files.size(), 1u);
  std::string src = d / ("lake/" + files[0]);
  ASSERT_EQ(Lakepack({"convert", src, d / "mid.csv"}).exit_code, 0);
  ASSERT_EQ(Lakepack({"convert", d / "mid.csv", d / "again.parquet"}).exit_code, 0);
  ASSERT_EQ(Lakepack({"convert", d / "again.parquet", d / "again.csv"}).exit_code, 0);
  // The CSV written from the round-tripped Parquet is byte for byte the first CSV.
  EXPECT_EQ(ReadFile(d / "mid.csv"), ReadFile(d / "again.csv"));
  EXPECT_EQ(InspectJson(d / "again.parquet")["rows"], 3000);

  // A round trip through CSV of types CSV carries exactly: identical canonical values.
  WriteFile(d / "typed.jsonl",
            "{\"i\": 1, \"big\": 9007199254740993, \"f\": 0.1, \"s\": \"a,b\", \"b\": true}\n"
            "{\"i\": -5, \"big\": -1, \"f\": 2.5e10, \"s\": \"x\\ny\", \"b\": false}\n"
            "{\"i\": null, \"big\": 0, \"f\": null, \"s\": null, \"b\": null}\n");
  ASSERT_EQ(Lakepack({"convert", d / "typed.jsonl", d / "t1.parquet"}).exit_code, 0);
  ASSERT_EQ(Lakepack({"convert", d / "t1.parquet", d / "t.csv"}).exit_code, 0);
  ASSERT_EQ(Lakepack({"convert", d / "t.csv", d / "t2.parquet"}).exit_code, 0);
  auto v1 = CrossRead(d / "t1.parquet");
  auto v2 = CrossRead(d / "t2.parquet");
  ASSERT_EQ(v1.size(), 2u);
  ASSERT_EQ(v2.size(), 2u);
  for (size_t i = 0; i < 2; i++) {
    EXPECT_EQ(v1[i].error, "");
    EXPECT_EQ(v1[i].rows, 3);
    EXPECT_EQ(v1[i].checksum, v2[i].checksum) << v1[i].reader;
  }
  ExpectReadersAgree(d / "t2.parquet", 3);
}

TEST(Convert, SampleDataOfTheSeedSchemaReadsTheSameEverywhere) {
  ScratchDir d;
  ASSERT_EQ(Lakepack({"sample", d / "lake", "--minutes", "2", "--rows-per-file", "700"}).exit_code,
            0);
  auto files = ListFiles(d / "lake");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0],
            "demo/lake/permanent_data_items/2025/01/01/00/"
            "permanent_data_items_20250101T0000_s1.parquet");
  json info = InspectJson(d / ("lake/" + files[1]));
  EXPECT_EQ(info["rows"], 700);
  EXPECT_EQ(info["columns"].size(), 16u);
  // parquet-wasm hands UUIDs over as bare bytes; hyparquet checks that column.
  ExpectReadersAgree(d / ("lake/" + files[1]), 700, {"plan_id"});
}

TEST(Inspect, ParquetShowsRowGroupsAndCodec) {
  ScratchDir d;
  ASSERT_EQ(Lakepack({"sample", d / "s", "--minutes", "1", "--rows-per-file", "10000"}).exit_code,
            0);
  std::string src = d / ("s/" + ListFiles(d / "s")[0]);
  // DuckDB cuts row groups at multiples of its 2048-row vectors.
  auto r = Lakepack(
      {"convert", src, d / "rg.parquet", "--row-group-rows", "2048", "--compression", "zstd"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json info = InspectJson(d / "rg.parquet");
  EXPECT_EQ(info["rows"], 10000);
  EXPECT_EQ(info["row_groups"], 5);
  EXPECT_EQ(info["compression"], json::array({"ZSTD"}));
  EXPECT_GT(info["size_bytes"].get<int64_t>(), 1000);
  auto text = Lakepack({"inspect", d / "rg.parquet"});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("row groups:  5"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("uploaded_date"), std::string::npos) << text.out;
}

TEST(Cli, EveryCommandAnswersHelpWithAnExample) {
  for (std::string cmd : {"convert", "inspect", "ls", "sample", "rollup", "recover", "pack",
                          "export", "validate", "watch", "repartition"}) {
    auto r = Lakepack({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    // "Example:" or, for a command with several forms, "Examples:" (one per form).
    EXPECT_TRUE(r.out.find("Example:") != std::string::npos ||
                r.out.find("Examples:") != std::string::npos)
        << cmd << ": " << r.out;
    EXPECT_NE(r.out.find("Options:"), std::string::npos) << cmd;
  }
  auto top = Lakepack({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("convert"), std::string::npos);
}

// docs/commands.md is `lakepack reference`: generated from the same definitions as --help, so
// the two cannot drift (regenerate with `build/lakepack reference > docs/commands.md`).
TEST(Cli, CommandsReferenceIsGeneratedFromTheDefinitions) {
  auto r = Lakepack({"reference"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.out, ReadFile(std::string(LAKEPACK_SOURCE_DIR) + "/docs/commands.md"))
      << "docs/commands.md is stale: run build/lakepack reference > docs/commands.md";
  // The seeds' variables, each with its option, and the defaults the seeds name.
  for (const char* env : {"`CHUNK_SIZE` | `10000`",
                          "`FLUSH_THRESHOLD` | `20000`",
                          "`PARQUET_DIR` | `./parquet_out`",
                          "`S3_BUCKET`",
                          "`S3_PREFIX` | `etl/perm_items`",
                          "`S3_RESUME` | `1`",
                          "`HIVE_SPLIT` | `1`",
                          "`S3_MAX_KEYS` | `1000`",
                          "`PARQUET_PREFIX` | `perm_items`",
                          "`S3_LAYOUT` | `hive-date`",
                          "`RETRIES` | `2`",
                          "`RETRY_BACKOFF_SEC` | `5s`",
                          "`PARTITIONS_FILE`",
                          "`MAX_PARALLEL` | `1`",
                          "`FILES_LIST`",
                          "`CONTINUE_ON_ERROR` | `1`",
                          "`FORCE_DOWNLOAD`",
                          "`TEMP_DIR`",
                          "$CSV_DIRECTORY_PATH",
                          "$MINIO_BUCKET"}) {
    EXPECT_NE(r.out.find(env), std::string::npos) << env;
  }
  // The hidden command itself is not listed in --help.
  EXPECT_EQ(Lakepack({"--help"}).out.find("reference"), std::string::npos);
}

TEST(Cli, VersionNamesLakepackAndDuckDB) {
  auto r = Lakepack({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("lakepack 0."), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DuckDB v1.4."), std::string::npos) << r.out;
}

}  // namespace
}  // namespace lakepack::e2e
