// End-to-end: `lakepack validate` passes what export wrote and fails, with a reason and exit 1,
// a file whose name says the wrong row count, a truncated file and a file with one changed row.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "e2e/lake.h"

namespace lakepack::e2e {

// From export_test.cc.
struct Checksum {
  int64_t rows = -1;
  std::string sum;
};
std::map<std::string, std::string> PgEnv();
std::string PgUri();
void SeedTable(const std::string& table, int64_t rows, int64_t same);
std::string NodeQuery(const std::string& sql);

namespace {

namespace fs = std::filesystem;

#define REQUIRE_PG()                                                                 \
  if (PgEnv().empty()) {                                                             \
    GTEST_SKIP() << "no PostgreSQL: run under ctest (servers.pg fixture, pgserver)"; \
  }

TEST(Validate, FailsWrongCountTruncatedAndChangedFiles) {
  REQUIRE_PG();
  SeedTable("public.pdi_validate", 45000, 5000);
  ScratchDir dir;
  std::string out = dir / "out";
  auto r = Lakepack({"export", PgUri(), "public.pdi_validate", out, "--layout", "flat"}, PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto files = ListFiles(out);
  ASSERT_EQ(files.size(), 3u);  // 20000 + 20000 + 5000
  auto ok = Lakepack({"validate", out, "--results", dir / "ok.txt"});
  EXPECT_EQ(ok.exit_code, 0) << ok.All();
  EXPECT_EQ(ReadFile(dir / "ok.txt"), "PASS|file://" + out + "/" + files[0] + "\nPASS|file://" +
                                          out + "/" + files[1] + "\nPASS|file://" + out + "/" +
                                          files[2] + "\n");

  std::string bad = dir / "bad";
  fs::create_directories(bad);
  // 1. The name says 19999 rows.
  std::string name = files[0];
  std::string wrong = std::regex_replace(name, std::regex("_rows-20000"), "_rows-19999");
  fs::copy_file(out + "/" + name, bad + "/" + wrong);
  // 2. Truncated: the first half of the bytes.
  std::string data = ReadFile(out + "/" + files[1]);
  WriteFile(bad + "/" + files[1], data.substr(0, data.size() / 2));
  // 3. One row changed (byte_count of the 100th row), written by another DuckDB with the
  //    same order, name and lakepack metadata, so only the row checksum can tell.
  std::string src = out + "/" + files[2];
  std::string kv = NodeQuery(
      "SELECT string_agg('''' || decode(key) || ''': ''' || "
      "decode(value) || '''', ', ') FROM parquet_kv_metadata('" +
      src + "')");
  while (!kv.empty() && kv.back() == '\n') kv.pop_back();
  NodeQuery(
      "COPY (SELECT * EXCLUDE (rn) REPLACE (CASE WHEN rn = 100 THEN byte_count + 1 ELSE "
      "byte_count END AS byte_count) FROM (SELECT *, row_number() OVER (ORDER BY "
      "uploaded_date, data_item_id) AS rn FROM read_parquet('" +
      src + "')) ORDER BY rn) TO '" + bad + "/" + files[2] +
      "' (FORMAT parquet, COMPRESSION zstd, KV_METADATA {" + kv + "})");

  auto v = Lakepack({"validate", bad, "--results", dir / "bad.txt", "--parallel", "2"});
  EXPECT_EQ(v.exit_code, 1) << v.All();
  std::string lines = ReadFile(dir / "bad.txt");
  EXPECT_NE(
      lines.find("FAIL|file://" + bad + "/" + wrong + "|rows: name says 19999, file has 20000"),
      std::string::npos)
      << lines;
  EXPECT_NE(lines.find("FAIL|file://" + bad + "/" + files[1] + "|cannot read"), std::string::npos)
      << lines;
  EXPECT_NE(lines.find("FAIL|file://" + bad + "/" + files[2] +
                       "|rows differ from the checksum written at export"),
            std::string::npos)
      << lines;
  EXPECT_EQ(lines.find("PASS|"), std::string::npos) << lines;
  // Each file alone: exit 1 and the reason on stdout.
  for (const auto& f : {wrong, files[1], files[2]}) {
    auto one = Lakepack({"validate", bad + "/" + f, "--results", dir / "one.txt"});
    EXPECT_EQ(one.exit_code, 1) << one.All();
    EXPECT_NE(one.out.find("FAIL|"), std::string::npos) << one.All();
  }
  // --against: a table with more rows than its files fails the safe-drop check.
  auto against = Lakepack({"validate", out, "--results", dir / "against.txt", "--against", PgUri(),
                           "public.pdi_validate"},
                          PgEnv());
  EXPECT_EQ(against.exit_code, 0) << against.All();
  fs::remove(out + "/" + files[2]);
  auto short_by = Lakepack({"validate", out, "--results", dir / "against.txt", "--against", PgUri(),
                            "public.pdi_validate"},
                           PgEnv());
  EXPECT_EQ(short_by.exit_code, 1) << short_by.All();
  EXPECT_NE(ReadFile(dir / "against.txt")
                .find("FAIL|postgres:public.pdi_validate|the table has 45000 rows, its files "
                      "hold 40000"),
            std::string::npos);
}

// --shard splits the files over the elements of an array job: every file checked exactly once.
TEST(Validate, ShardsCheckEveryFileOnce) {
  REQUIRE_PG();
  SeedTable("public.pdi_validate_shards", 45000, 5000);
  ScratchDir dir;
  std::string out = dir / "out";
  auto r = Lakepack({"export", PgUri(), "public.pdi_validate_shards", out, "--layout", "flat",
                     "--flush-rows", "5000"},
                    PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto files = ListFiles(out);
  ASSERT_EQ(files.size(), 9u);
  std::multiset<std::string> checked;
  std::vector<std::string> per_shard;
  for (int i = 0; i < 3; i++) {
    std::string results = dir / ("shard" + std::to_string(i) + ".txt");
    auto v = Lakepack({"validate", out, "--shard", std::to_string(i) + "/3", "--results", results});
    EXPECT_EQ(v.exit_code, 0) << v.All();
    std::string text = ReadFile(results);
    per_shard.push_back(text);
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      ASSERT_EQ(line.rfind("PASS|file://" + out + "/", 0), 0u) << line;
      checked.insert(line.substr(line.rfind('/') + 1));
    }
  }
  EXPECT_EQ(checked, std::multiset<std::string>(files.begin(), files.end()));
  // --shard auto inside a Slurm array: element 1 of 3 checks what 1/3 did.
  std::string results = dir / "auto.txt";
  auto a = Lakepack({"validate", out, "--shard", "auto", "--results", results},
                    {{"SLURM_ARRAY_TASK_ID", "1"},
                     {"SLURM_ARRAY_TASK_COUNT", "3"},
                     {"SLURM_ARRAY_TASK_MIN", "0"}});
  EXPECT_EQ(a.exit_code, 0) << a.All();
  EXPECT_EQ(ReadFile(results), per_shard[1]);
  // --against needs every file; a shard out of range is bad usage.
  auto against = Lakepack(
      {"validate", out, "--shard", "0/3", "--against", PgUri(), "public.pdi_validate_shards"},
      PgEnv());
  EXPECT_EQ(against.exit_code, 2) << against.All();
  EXPECT_NE(against.err.find("--against needs every file"), std::string::npos) << against.err;
  auto bad = Lakepack({"validate", out, "--shard", "3/3"});
  EXPECT_EQ(bad.exit_code, 2) << bad.All();
}

// The seed's validate_all_parquet.sh flags: the results path at the start and the end, --json
// with every file's result, --stop-on-error / CONTINUE_ON_ERROR=0 (no file started after the
// first failure), --continue, and the TEMP_DIR download cache that --force / FORCE_DOWNLOAD
// bypasses (S3 objects kept as TEMP_DIR/bucket/key, reused while the object is unchanged).
TEST(Validate, SeedFlagsResultsStopOnErrorAndDownloadCache) {
  REQUIRE_PG();
  SeedTable("public.pdi_validate_seed", 9000, 10);
  auto lake = TestLake::Open("moto", "validate-seed");
  auto r = lake->Run({"export", PgUri(), "public.pdi_validate_seed", lake->uri(), "--layout",
                      "flat", "--flush-rows", "3000", "--quiet"},
                     PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto keys = lake->DataKeys();
  ASSERT_EQ(keys.size(), 3u);
  ScratchDir dir;
  const std::string temp = dir / "temp";
  auto v = lake->Run({"validate", lake->uri(), "--results", dir / "r.txt"}, {{"TEMP_DIR", temp}});
  ASSERT_EQ(v.exit_code, 0) << v.All();
  EXPECT_EQ(v.out.rfind("results: " + dir / "r.txt" + "\n", 0), 0u) << v.out;
  EXPECT_NE(v.out.find("validate: 3 checked, 3 passed, 0 failed; results in " + dir / "r.txt"),
            std::string::npos)
      << v.out;
  const std::string kept = temp + "/" + lake->bucket() + "/" + lake->prefix() + "/" + keys[0];
  ASSERT_TRUE(Exists(kept)) << kept;
  // A kept copy is read instead of the object: change the copy (same size), and the check sees
  // the change; --force downloads the object again and passes.
  std::string bytes = ReadFile(kept);
  bytes[bytes.size() / 2] ^= 0x55;
  WriteFile(kept, bytes);
  v = lake->Run({"validate", lake->uri() + "/" + keys[0], "--results", dir / "r.txt"},
                {{"TEMP_DIR", temp}});
  EXPECT_EQ(v.exit_code, 1) << v.All();
  v = lake->Run({"validate", lake->uri() + "/" + keys[0], "--results", dir / "r.txt", "--force"},
                {{"TEMP_DIR", temp}});
  EXPECT_EQ(v.exit_code, 0) << v.All();
  WriteFile(kept, bytes);
  v = lake->Run({"validate", lake->uri() + "/" + keys[0], "--results", dir / "r.txt"},
                {{"TEMP_DIR", temp}, {"FORCE_DOWNLOAD", "1"}});
  EXPECT_EQ(v.exit_code, 0) << v.All();
  // An object that changed is downloaded again, without --force.
  WriteFile(kept, bytes);
  // Another file's bytes under the same key: the object's ETag changes.
  lake->Put(keys[0], lake->Fetch(keys[1]));
  v = lake->Run({"validate", lake->uri() + "/" + keys[0], "--results", dir / "r.txt"},
                {{"TEMP_DIR", temp}});
  EXPECT_EQ(v.exit_code, 1) << v.All();
  EXPECT_NE(ReadFile(dir / "r.txt").find("name says"), std::string::npos)
      << ReadFile(dir / "r.txt");
  EXPECT_EQ(ReadFile(kept), ReadFile(lake->Fetch(keys[1])));
  lake->Put(keys[0], lake->Fetch(keys[2]));  // keys[0] fails, keys[1] and keys[2] pass

  // --stop-on-error: the first file fails, the other two are not started (one at a time).
  for (const auto& [flag, env] :
       std::vector<std::pair<std::string, std::string>>{{"--stop-on-error", ""}, {"", "0"}}) {
    std::vector<std::string> args = {"validate", lake->uri(), "--results", dir / "s.txt", "--json"};
    if (!flag.empty()) args.push_back(flag);
    std::map<std::string, std::string> e;
    if (!env.empty()) e["CONTINUE_ON_ERROR"] = env;
    v = lake->Run(args, e);
    EXPECT_EQ(v.exit_code, 1) << v.All();
    auto j = nlohmann::json::parse(v.out);
    EXPECT_EQ(j["files"], 1);
    EXPECT_EQ(j["failed"], 1);
    EXPECT_EQ(j["not_checked"], 2);
    ASSERT_EQ(j["results"].size(), 3u);
    EXPECT_EQ(j["results"][0]["result"], "FAIL");
    EXPECT_NE(j["results"][0]["reason"].get<std::string>().find("name says"), std::string::npos);
    EXPECT_EQ(j["results"][1]["result"], "not checked");
    EXPECT_EQ(j["results"][1]["path"], lake->uri() + "/" + keys[1]);
    EXPECT_EQ(ReadFile(dir / "s.txt").find("PASS|"), std::string::npos);
  }
  // --continue (and the default) checks them all; --continue beats CONTINUE_ON_ERROR=0.
  v = lake->Run({"validate", lake->uri(), "--continue", "--json"}, {{"CONTINUE_ON_ERROR", "0"}});
  EXPECT_EQ(v.exit_code, 1) << v.All();
  auto j = nlohmann::json::parse(v.out);
  EXPECT_EQ(j["files"], 3);
  EXPECT_EQ(j["passed"], 2);
  EXPECT_EQ(j["results"][2]["result"], "PASS");
  EXPECT_TRUE(Exists(j["results_file"].get<std::string>()));
  auto both = lake->Run({"validate", lake->uri(), "--continue", "--stop-on-error"});
  EXPECT_EQ(both.exit_code, 2) << both.All();
}

TEST(Validate, BadArgumentsExitTwo) {
  ScratchDir dir;
  auto missing = Lakepack({"validate", dir / "nothing.parquet"});
  EXPECT_EQ(missing.exit_code, 2) << missing.All();
  EXPECT_NE(missing.err.find("nothing.parquet: no such file"), std::string::npos) << missing.err;
  auto none = Lakepack({"validate"}, {{"FILES_LIST", ""}});
  EXPECT_EQ(none.exit_code, 2) << none.All();
  auto empty = Lakepack({"validate", dir.path()});
  EXPECT_EQ(empty.exit_code, 2) << empty.All();
}

}  // namespace
}  // namespace lakepack::e2e
