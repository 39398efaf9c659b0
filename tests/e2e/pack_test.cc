// End-to-end: `lakepack pack` on a local lake and on moto, scaled down from the reference's
// scenarios (a 1 MB target). Row contents and order are checked by laying the inputs and the
// outputs end to end as canonical CSV (each file converted by lakepack, header dropped): the
// outputs in number order must hold exactly the old rows of a topped-up file, then the inputs'
// rows in key order, once.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "e2e/lake.h"

namespace lakepack::e2e {
namespace {

using nlohmann::json;

constexpr int64_t kTarget = 1000 * 1000;
constexpr double kTolerance = 0.10;

class PackLake {
 public:
  PackLake(const std::string& backend, const std::string& name)
      : lake_(TestLake::Open(backend, name)) {}
  TestLake& lake() { return *lake_; }
  std::string land() const { return lake_->uri() + "/land"; }
  std::string db() const { return lake_->uri() + "/db"; }

  // A sample file of `rows` rows in `format`, as a local path.
  std::string MakeFile(const std::string& format, int rows, int seed) {
    std::string dir = lake_->scratch() / ("sample" + std::to_string(counter_++));
    auto r = Lakepack({"sample", dir, "--minutes", "1", "--rows-per-file", std::to_string(rows),
                       "--format", format, "--seed", std::to_string(seed), "--quiet"});
    EXPECT_EQ(r.exit_code, 0) << r.All();
    auto files = ListFiles(dir);
    EXPECT_EQ(files.size(), 1u);
    return dir + "/" + files.at(0);
  }
  // Puts a sample file at land/table/<name>; returns its local path.
  std::string AddInput(const std::string& name, const std::string& format, int rows, int seed) {
    std::string local = MakeFile(format, rows, seed);
    lake_->Put("land/table/" + name, local);
    return local;
  }
  RunResult Pack(std::vector<std::string> extra, const std::map<std::string, std::string>& env = {},
                 const std::string& input = "", const std::string& output = "") {
    std::vector<std::string> args = {"pack", input.empty() ? land() : input,
                                     output.empty() ? db() : output, "--table", "table"};
    args.insert(args.end(), extra.begin(), extra.end());
    return lake_->Run(args, env);
  }
  // Output keys under `dir` ("db/table/") named table[_S]_N.ext, in number order.
  std::vector<std::string> Outputs(const std::string& dir, const std::string& ext,
                                   const std::string& suffix = "") {
    std::regex re(dir + "table_" + (suffix.empty() ? "" : suffix + "_") + "([0-9]+)\\." +
                  std::regex_replace(ext, std::regex("\\."), "\\.") + "$");
    std::vector<std::pair<int, std::string>> found;
    for (const auto& k : lake_->Keys()) {
      std::smatch m;
      if (std::regex_match(k, m, re)) found.emplace_back(std::stoi(m[1]), k);
    }
    std::sort(found.begin(), found.end());
    std::vector<std::string> out;
    for (int i = 0; i < static_cast<int>(found.size()); i++) {
      EXPECT_EQ(found[i].first, found[0].first + i) << "numbers must be contiguous";
      out.push_back(found[i].second);
    }
    return out;
  }
  int64_t Size(const std::string& key) {
    auto st = lake_->store().Stat(key);
    return st.ok() && *st ? (*st)->size : -1;
  }
  // The rows of a local file as canonical CSV lines, in order, without the header.
  std::string Canon(const std::string& local) {
    std::string csv = lake_->scratch() / ("canon" + std::to_string(counter_++) + ".csv");
    auto r = Lakepack({"convert", local, csv, "--format", "csv", "--quiet"});
    EXPECT_EQ(r.exit_code, 0) << local << ": " << r.All();
    std::string text = ReadFile(csv);
    auto nl = text.find('\n');
    return nl == std::string::npos ? "" : text.substr(nl + 1);
  }
  // A local copy of an object, named like it (the extension tells its format) in a directory
  // without "key=value" segments.
  std::string Fetch(const std::string& key) {
    std::string local = lake_->scratch() /
                        ("f" + std::to_string(counter_++) + "_" + key.substr(key.rfind('/') + 1));
    Status st = lake_->store().ReadToFile(key, local);
    EXPECT_TRUE(st.ok()) << st.message();
    return local;
  }
  std::string CanonKeys(const std::vector<std::string>& keys) {
    std::string all;
    for (const auto& k : keys) all += Canon(Fetch(k));
    return all;
  }
  // Every output but the last within the tolerance of the target; the last not above it.
  void ExpectEvenSizes(const std::vector<std::string>& keys, int64_t target = kTarget) {
    ASSERT_FALSE(keys.empty());
    for (size_t i = 0; i < keys.size(); i++) {
      int64_t s = Size(keys[i]);
      EXPECT_LE(s, target * (1 + kTolerance)) << keys[i];
      if (i + 1 < keys.size()) EXPECT_GE(s, target * (1 - kTolerance)) << keys[i];
    }
  }

 private:
  std::unique_ptr<TestLake> lake_;
  int counter_ = 0;
};

class Pack : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    p_ = std::make_unique<PackLake>(
        GetParam(),
        std::string("pack-") + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::unique_ptr<PackLake> p_;
};

// Reference scenario 1: no outputs yet; uneven CSV inputs become evenly sized snappy Parquet.
TEST_P(Pack, FreshOutputIsEvenlySizedAndARerunAddsNothing) {
  std::string a = p_->AddInput("table_data_final_NEW_1969.csv", "csv", 6000, 1);
  std::string b = p_->AddInput("table_data_new.csv", "csv", 2500, 2);
  auto r = p_->Pack({"--target-size", "1MB", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json s = json::parse(r.out);
  EXPECT_EQ(s["files_in"], 2);
  EXPECT_EQ(s["rows"], 8500);
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_GE(outs.size(), 2u);
  EXPECT_EQ(outs[0], "db/table/table_0.snappy.parquet");
  EXPECT_EQ(s["files_out"], static_cast<int>(outs.size()));
  p_->ExpectEvenSizes(outs);
  EXPECT_EQ(p_->CanonKeys(outs), p_->Canon(a) + p_->Canon(b));
  auto info = Lakepack({"inspect", p_->Fetch(outs[0]), "--json"});
  EXPECT_NE(info.out.find("SNAPPY"), std::string::npos) << info.out;
  ExpectReadersAgree(p_->Fetch(outs[0]), p_->lake().Rows(outs[0]));

  // A rerun over the same inputs adds nothing.
  auto keys = p_->lake().Keys();
  auto again = p_->Pack({"--target-size", "1MB", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(json::parse(again.out)["files_out"], 0);
  EXPECT_EQ(json::parse(again.out)["already_packed"], 2);
  EXPECT_EQ(p_->lake().Keys(), keys);
}

// Reference scenario 2: a half-full table_0 is topped up first, its own rows at its start.
TEST_P(Pack, HalfFullTable0IsToppedUpFirstWithItsRowsFirst) {
  p_->AddInput("first.csv", "csv", 1700, 3);
  ASSERT_EQ(p_->Pack({"--target-size", "1MB", "--quiet"}).exit_code, 0);
  auto before = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_EQ(before.size(), 1u);
  int64_t half = p_->Size(before[0]);
  EXPECT_LT(half, kTarget * 0.7);
  EXPECT_GT(half, kTarget * 0.3);
  std::string old_rows = p_->CanonKeys(before);

  std::string b = p_->AddInput("second.csv", "csv", 5000, 4);
  std::string c = p_->AddInput("third.jsonl", "jsonl", 2000, 5);
  auto r = p_->Pack({"--target-size", "1MB", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json s = json::parse(r.out);
  EXPECT_TRUE(s["tops_up"].get<bool>());
  EXPECT_EQ(s["files_in"], 2);  // first.csv is in the manifest
  EXPECT_TRUE(s["outputs"][0]["tops_up"].get<bool>());
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_GE(outs.size(), 3u);
  p_->ExpectEvenSizes(outs);
  std::string table0 = p_->Canon(p_->Fetch(outs[0]));
  EXPECT_EQ(table0.substr(0, old_rows.size()), old_rows) << "table_0 must start with its rows";
  EXPECT_GT(table0.size(), old_rows.size());
  EXPECT_EQ(p_->CanonKeys(outs), old_rows + p_->Canon(b) + p_->Canon(c));
}

// Reference scenario 3: an existing partition some_value=1649-01-30 is added to; outputs
// outside it do not count when finding the latest.
TEST_P(Pack, ExistingPartitionIsAddedTo) {
  const std::string part = "db/table/some_value=1649-01-30/";
  p_->AddInput("a.csv", "csv", 1500, 6);
  ASSERT_EQ(p_->Pack({"--target-size", "1MB", "--partition", "some_value=1649-01-30", "--quiet"})
                .exit_code,
            0);
  auto before = p_->Outputs(part, "snappy.parquet");
  ASSERT_EQ(before.size(), 1u);
  std::string old_rows = p_->CanonKeys(before);
  // An unpartitioned output with a higher number must not be taken for the latest.
  std::string other = p_->MakeFile("parquet", 100, 9);
  p_->lake().Put("db/table/table_7.snappy.parquet", other);

  std::string b = p_->AddInput("b.csv", "csv", 6000, 7);
  auto r = p_->Pack({"--target-size", "1MB", "--partition", "some_value=1649-01-30", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto outs = p_->Outputs(part, "snappy.parquet");
  ASSERT_GE(outs.size(), 2u);
  EXPECT_EQ(outs[0], part + "table_0.snappy.parquet");
  p_->ExpectEvenSizes(outs);
  EXPECT_EQ(p_->CanonKeys(outs), old_rows + p_->Canon(b));
  EXPECT_EQ(p_->lake().Rows("db/table/table_7.snappy.parquet"), 100);
}

// The seed's output_partition is a dict: several --partition nest in the order given, and a
// rerun tops up the same folder; a key given twice, or a part without '=', is bad usage.
TEST_P(Pack, SeveralPartitionsNestInTheOrderGiven) {
  const std::string part = "db/table/region=eu/day=2025-01-02/";
  std::string a = p_->AddInput("a.csv", "csv", 400, 1);
  auto r = p_->Pack({"--partition", "region=eu", "--partition", "day=2025-01-02", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(p_->Outputs(part, "snappy.parquet"),
            std::vector<std::string>{part + "table_0.snappy.parquet"});
  std::string b = p_->AddInput("b.csv", "csv", 300, 2);
  r = p_->Pack({"--partition", "region=eu", "--partition", "day=2025-01-02", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto outs = p_->Outputs(part, "snappy.parquet");
  EXPECT_EQ(p_->CanonKeys(outs), p_->Canon(a) + p_->Canon(b));
  auto keys = p_->lake().Keys();
  auto twice = p_->Pack({"--partition", "region=eu", "--partition", "region=us"});
  EXPECT_EQ(twice.exit_code, 2) << twice.All();
  EXPECT_NE(twice.err.find("--partition: key 'region' given twice"), std::string::npos)
      << twice.err;
  auto bad = p_->Pack({"--partition", "region=eu", "--partition", "novalue"});
  EXPECT_EQ(bad.exit_code, 2) << bad.All();
  EXPECT_NE(bad.err.find("--partition: expected key=value, got 'novalue'"), std::string::npos)
      << bad.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
}

TEST_P(Pack, SuffixNamesOutputs) {
  std::string a = p_->AddInput("a.jsonl", "jsonl", 3000, 8);
  auto r = p_->Pack({"--target-size", "300KB", "--suffix", "sfx", "--format", "jsonl", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto outs = p_->Outputs("db/table/", "jsonl", "sfx");
  ASSERT_GE(outs.size(), 2u);
  EXPECT_EQ(outs[0], "db/table/table_sfx_0.jsonl");
  p_->ExpectEvenSizes(outs, 300000);
  EXPECT_EQ(p_->CanonKeys(outs), p_->Canon(a));
}

TEST_P(Pack, OutputsOfAnotherFormatAreAnErrorAndNothingIsWritten) {
  p_->AddInput("a.csv", "csv", 500, 1);
  ASSERT_EQ(p_->Pack({"--format", "csv", "--quiet"}).exit_code, 0);
  p_->AddInput("b.csv", "csv", 500, 2);
  auto keys = p_->lake().Keys();
  auto r = p_->Pack({"--format", "snappy.parquet"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find("db/table/table_0.csv: an existing output is .csv, but --format asks for "
                       ".snappy.parquet; nothing was written"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
}

// Any data file of another format in the table's output folder stops the run, not only the
// T_N series ("if there are existing files in the output path of a different format, an error
// is raised"); files in other folders, and of the same format, do not.
TEST_P(Pack, AnyFileOfAnotherFormatInTheOutputFolderStopsTheRun) {
  p_->AddInput("a.csv", "csv", 200, 1);
  std::string other = p_->MakeFile("csv", 10, 2);
  p_->lake().Put("db/table/table_x_0.csv", other);
  p_->lake().Put("db/table/elsewhere/old.csv", other);
  auto keys = p_->lake().Keys();
  auto r = p_->Pack({});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find("db/table/table_x_0.csv: a csv file in the output folder, but --format "
                       "asks for .snappy.parquet; nothing was written"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
  // Parquet of another name is the same format: the run goes on.
  ASSERT_TRUE(p_->lake().store().Delete({"db/table/table_x_0.csv"}).ok());
  p_->lake().Put("db/table/legacy.parquet", p_->MakeFile("parquet", 10, 3));
  r = p_->Pack({"--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(p_->Outputs("db/table/", "snappy.parquet").size(), 1u);
}

TEST_P(Pack, SchemaCastsAndAFailedCastNamesFileAndColumn) {
  std::string good = p_->lake().scratch() / "good.csv";
  WriteFile(good, "id,amount,note\n1,10,x\n2,20,y\n");
  std::string good_json = p_->lake().scratch() / "more.jsonl";
  WriteFile(good_json, "{\"id\": \"3\", \"amount\": 30}\n");
  p_->lake().Put("land/table/good.csv", good);
  p_->lake().Put("land/table/more.jsonl", good_json);
  std::string schema = p_->lake().scratch() / "schema.json";
  WriteFile(schema, R"({"id": "BIGINT", "amount": "DOUBLE", "note": "VARCHAR"})");
  auto r = p_->Pack({"--schema", schema, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_EQ(outs.size(), 1u);
  auto info = Lakepack({"inspect", p_->Fetch(outs[0]), "--json"});
  json j = json::parse(info.out);
  EXPECT_EQ(j["rows"], 3);
  EXPECT_EQ(j["columns"][0]["type"], "BIGINT");
  EXPECT_EQ(j["columns"][1]["type"], "DOUBLE");
  EXPECT_EQ(j["columns"][2]["name"], "note");

  std::string bad = p_->lake().scratch() / "bad.csv";
  WriteFile(bad, "id,amount,note\n4,forty,z\n");
  p_->lake().Put("land/table/bad.csv", bad);
  auto keys = p_->lake().Keys();
  auto f = p_->Pack({"--schema", schema});
  EXPECT_EQ(f.exit_code, 1) << f.All();
  EXPECT_NE(
      f.err.find("land/table/bad.csv: column 'amount': value 'forty' does not cast to DOUBLE"),
      std::string::npos)
      << f.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
}

// The seed's metadata names arrow/pandas types: --schema takes them beside DuckDB's; a type
// neither knows is bad usage (exit 2) that names the schema file and the column, not an input.
TEST_P(Pack, SchemaTakesArrowAndPandasTypeNames) {
  std::string csv = p_->lake().scratch() / "a.csv";
  WriteFile(csv,
            "id,amount,name,ok,day,at\n"
            "1,1.5,x,true,2025-01-02,2025-01-02 03:04:05.678\n"
            "2,2.5,y,false,2025-01-03,2025-01-03 00:00:00\n");
  p_->lake().Put("land/table/a.csv", csv);
  std::string schema = p_->lake().scratch() / "schema.json";
  WriteFile(schema, R"({"id": "int64", "amount": "float64", "name": "string", "ok": "bool",
                        "day": "date32", "at": "timestamp[ms]"})");
  auto r = p_->Pack({"--schema", schema, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_EQ(outs.size(), 1u);
  json j = json::parse(Lakepack({"inspect", p_->Fetch(outs[0]), "--json"}).out);
  EXPECT_EQ(j["rows"], 2);
  std::vector<std::string> types;
  for (const auto& c : j["columns"]) types.push_back(c["type"]);
  // A millisecond timestamp is stored as such; DuckDB reads it back as TIMESTAMP.
  EXPECT_EQ(types, (std::vector<std::string>{"BIGINT", "DOUBLE", "VARCHAR", "BOOLEAN", "DATE",
                                             "TIMESTAMP"}));
  EXPECT_NE(p_->Canon(p_->Fetch(outs[0])).find("2025-01-02 03:04:05.678"), std::string::npos);

  p_->AddInput("b.csv", "csv", 10, 2);
  auto keys = p_->lake().Keys();
  WriteFile(schema, R"({"id": "int64", "amount": "money64"})");
  auto bad = p_->Pack({"--schema", schema});
  EXPECT_EQ(bad.exit_code, 2) << bad.All();
  EXPECT_NE(bad.err.find("--schema " + schema + ": column 'amount': unknown type 'money64'"),
            std::string::npos)
      << bad.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
}

// The seed's cast_parquet (default False): with --schema, a Parquet input is cast only with
// --cast-parquet; without it, one whose types differ stops the run naming file and column.
TEST_P(Pack, ParquetInputsAreCastOnlyWithCastParquet) {
  std::string csv = p_->lake().scratch() / "p.csv";
  WriteFile(csv, "id,amount\n1,10\n2,20\n");
  std::string parquet = p_->lake().scratch() / "p.parquet";
  ASSERT_EQ(Lakepack({"convert", csv, parquet, "--quiet"}).exit_code, 0);
  p_->lake().Put("land/table/p.parquet", parquet);
  std::string schema = p_->lake().scratch() / "schema.json";
  WriteFile(schema, R"({"id": "int64", "amount": "float64"})");
  auto keys = p_->lake().Keys();
  auto kept = p_->Pack({"--schema", schema});
  EXPECT_EQ(kept.exit_code, 1) << kept.All();
  EXPECT_NE(kept.err.find("land/table/p.parquet: column 'amount' is BIGINT in the file, DOUBLE in "
                          "the schema; Parquet inputs keep their types unless --cast-parquet"),
            std::string::npos)
      << kept.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
  auto cast = p_->Pack({"--schema", schema, "--cast-parquet", "--quiet"});
  ASSERT_EQ(cast.exit_code, 0) << cast.All();
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_EQ(outs.size(), 1u);
  json j = json::parse(Lakepack({"inspect", p_->Fetch(outs[0]), "--json"}).out);
  EXPECT_EQ(j["rows"], 2);
  EXPECT_EQ(j["columns"][1]["type"], "DOUBLE");
}

TEST_P(Pack, DeleteInputsRemovesThemOnceCommitted) {
  std::string a = p_->AddInput("a.csv", "csv", 1000, 1);
  std::string b = p_->AddInput("b.parquet", "parquet", 1000, 2);
  auto r = p_->Pack({"--delete-inputs", "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  for (const auto& k : p_->lake().Keys()) EXPECT_EQ(k.rfind("land/", 0), std::string::npos) << k;
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  EXPECT_EQ(p_->CanonKeys(outs), p_->Canon(a) + p_->Canon(b));
  for (const auto& k : p_->lake().Keys()) {
    EXPECT_EQ(k.find("_lakepack/journal"), std::string::npos) << k;
    EXPECT_EQ(k.find("_lakepack/staging"), std::string::npos) << k;
  }
}

TEST_P(Pack, DryRunPrintsThePlanAndWritesNothing) {
  p_->AddInput("a.csv", "csv", 3000, 1);
  auto keys = p_->lake().Keys();
  auto r = p_->Pack({"--target-size", "300KB", "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json j = json::parse(r.out);
  EXPECT_EQ(j["dry_run"], true);
  EXPECT_EQ(j["inputs"].size(), 1u);
  EXPECT_GE(j["outputs"].size(), 2u);
  EXPECT_NE(j["outputs"][0]["output"].get<std::string>().find("db/table/table_0.snappy.parquet"),
            std::string::npos);
  EXPECT_EQ(p_->lake().Keys(), keys);
  auto t = p_->Pack({"--target-size", "300KB", "--dry-run"});
  EXPECT_NE(t.out.find("nothing was changed (--dry-run)"), std::string::npos) << t.out;
}

TEST_P(Pack, BadUsageIsExitTwo) {
  EXPECT_EQ(p_->Pack({"--format", "avro"}).exit_code, 2);
  EXPECT_EQ(p_->Pack({"--target-size", "lots"}).exit_code, 2);
  EXPECT_EQ(p_->Pack({"--partition", "novalue"}).exit_code, 2);
  EXPECT_EQ(p_->Pack({"--format", "csv", "--compression", "zstd"}).exit_code, 2);
  EXPECT_EQ(Lakepack({"pack", p_->land()}).exit_code, 2);
}

// --table and --suffix are name parts: a '/' in either would put files in another folder.
TEST_P(Pack, SlashInTableOrSuffixIsBadUsageNamingIt) {
  p_->AddInput("a.csv", "csv", 50, 1);
  auto keys = p_->lake().Keys();
  auto r = p_->lake().Run({"pack", p_->land(), p_->db(), "--table", "table/x"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("--table 'table/x': a table name is one path segment, without '/'"),
            std::string::npos)
      << r.err;
  r = p_->Pack({"--suffix", "a/b"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("--suffix 'a/b': a name part, without '/'"), std::string::npos) << r.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
}

// --quiet: nothing on either stream when all went well.
TEST_P(Pack, QuietPrintsNothingWhenAllWentWell) {
  p_->AddInput("a.csv", "csv", 100, 1);
  auto r = p_->Pack({"--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(p_->Outputs("db/table/", "snappy.parquet").size(), 1u);
}

// --input-ext csv takes .CSV as well as .csv (the format is known whatever the case), and
// leaves files of other extensions where they are.
// The seed's table_log / get_files_from_table_log: `lakepack ls` lists a table's files with
// format, size and rows (Parquet from the footers; CSV only with --count-rows), partitions
// included, lakepack's own records not, and the latest file number of each folder's series.
TEST_P(Pack, LsListsTheTablesFilesRowsAndLatestNumber) {
  p_->AddInput("a.csv", "csv", 6000, 1);
  ASSERT_EQ(p_->Pack({"--target-size", "1MB", "--quiet"}).exit_code, 0);
  p_->AddInput("b.csv", "csv", 300, 2);
  // Another series: both inputs again, 6300 rows.
  ASSERT_EQ(p_->Pack({"--partition", "day=2025-01-02", "--quiet"}).exit_code, 0);
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_GE(outs.size(), 2u);
  p_->lake().Put("db/table/notes.csv", p_->MakeFile("csv", 7, 3));
  const int last = static_cast<int>(outs.size()) - 1;

  auto r = p_->lake().Run({"ls", p_->db(), "--table", "table"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("FILE"), std::string::npos) << r.out;
  std::regex first_row(R"(\n  table_0\.snappy\.parquet +parquet +[0-9]+ +[0-9]+\n)");
  EXPECT_TRUE(std::regex_search(r.out, first_row)) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  notes\.csv +csv +[0-9]+ +-\n)"))) << r.out;
  EXPECT_NE(r.out.find(fmt::format("{} file(s), ", outs.size() + 2)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", 12300 rows (1 csv/jsonl/avro file(s) not counted: --count-rows reads "
                       "them)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(fmt::format("latest file number: {} (table_{}.snappy.parquet)", last, last)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("latest file number in day=2025-01-02/: 0 "
                       "(day=2025-01-02/table_0.snappy.parquet)"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("_lakepack"), std::string::npos) << r.out;

  // --json: every file with its rows; --count-rows counts the CSV too.
  r = p_->lake().Run({"ls", p_->db() + "/table", "--count-rows", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json j = json::parse(r.out);
  EXPECT_EQ(j["table"], "table");
  EXPECT_EQ(j["file_count"], outs.size() + 2);
  EXPECT_EQ(j["rows"], 12307);
  EXPECT_EQ(j["rows_uncounted"], 0);
  int64_t bytes = 0;
  for (const auto& f : j["files"]) {
    bytes += f["size"].get<int64_t>();
    EXPECT_EQ(p_->Size("db/table/" + f["file"].get<std::string>()), f["size"]) << f.dump();
    if (f["format"] == "parquet") {
      EXPECT_EQ(f["rows"], p_->lake().Rows("db/table/" + f["file"].get<std::string>()));
    }
  }
  EXPECT_EQ(j["bytes"], bytes);
  ASSERT_EQ(j["latest"].size(), 2u);
  EXPECT_EQ(j["latest"][0]["folder"], "");
  EXPECT_EQ(j["latest"][0]["number"], last);
  EXPECT_EQ(j["latest"][1]["folder"], "day=2025-01-02/");

  // A Parquet file whose footer cannot be read: listed, named on stderr, exit 1.
  std::string bad = p_->lake().scratch() / "bad.parquet";
  WriteFile(bad, "PAR1 this is not a parquet file");
  p_->lake().Put("db/table/broken.parquet", bad);
  r = p_->lake().Run({"ls", p_->db(), "--table", "table"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex(R"(\n  broken\.parquet +parquet +[0-9]+ +\(error\)\n)")))
      << r.out;
  EXPECT_NE(r.err.find("broken.parquet"), std::string::npos) << r.err;

  // A prefix with no object has no files and no number (a missing local folder is an error
  // naming it); '/' in --table is bad usage.
  r = p_->lake().Run({"ls", p_->db(), "--table", "nothing"});
  if (GetParam() == "local") {
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_NE(r.err.find("db/nothing: No such file or directory"), std::string::npos) << r.err;
  } else {
    EXPECT_EQ(r.exit_code, 0) << r.All();
    EXPECT_NE(r.out.find("0 file(s), 0 bytes, 0 rows"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("latest file number: none (no nothing_N.ext file)"), std::string::npos)
        << r.out;
  }
  r = p_->lake().Run({"ls", p_->db(), "--table", "a/b"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
}

TEST_P(Pack, InputExtMatchesAnyCase) {
  std::string a = p_->AddInput("a.CSV", "csv", 300, 1);
  std::string b = p_->AddInput("b.csv", "csv", 200, 2);
  p_->AddInput("c.jsonl", "jsonl", 100, 3);
  auto r = p_->Pack({"--input-ext", "csv", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(p_->CanonKeys(outs), p_->Canon(a) + p_->Canon(b));
  EXPECT_EQ(json::parse(r.out)["rows"], 500);
}

// Issue 9: no row lost or doubled on bad or changed input.

// The input-side keys and their bytes, to prove that a failed run left every input as it was.
std::map<std::string, std::string> InputBytes(PackLake& p) {
  std::map<std::string, std::string> out;
  for (const auto& k : p.lake().Keys()) {
    if (k.rfind("land/", 0) == 0) out[k] = ReadFile(p.Fetch(k));
  }
  return out;
}

std::string CsvOf(int first, int rows, const std::string& extra_last = "") {
  std::string csv = "id,name,amount\n";
  for (int i = first; i < first + rows; i++) csv += fmt::format("{},n{},{}.5\n", i, i, i);
  return csv + extra_last;
}

// Sorted canonical rows: a multiset, to compare whatever the order.
std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST_P(Pack, MalformedCsvStopsTheRunAndDeletesNoInput) {
  std::string good = p_->lake().scratch() / "good.csv";
  WriteFile(good, CsvOf(0, 500));
  p_->lake().Put("land/table/good.csv", good);
  std::string bad = p_->lake().scratch() / "bad.csv";
  WriteFile(bad, CsvOf(1000, 999, "1999,n1999,1.5,EXTRA\n"));
  p_->lake().Put("land/table/bad.csv", bad);
  auto before = InputBytes(*p_);
  auto r = p_->Pack({"--delete-inputs"});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find("land/table/bad.csv: line 1001: 4 fields, but the header has 3"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(InputBytes(*p_), before);
  EXPECT_TRUE(p_->Outputs("db/table/", "snappy.parquet").empty());

  // With --rejects: every readable row is packed, the bad line is in the rejects file.
  std::string rejects = p_->lake().scratch() / "rejects.jsonl";
  std::string readable = p_->lake().scratch() / "readable.csv";
  WriteFile(readable, CsvOf(1000, 999));
  auto ok = p_->Pack({"--delete-inputs", "--rejects", rejects, "--json"});
  ASSERT_EQ(ok.exit_code, 0) << ok.All();
  EXPECT_EQ(nlohmann::json::parse(ok.out)["rejected"], 1);
  EXPECT_EQ(nlohmann::json::parse(ok.out)["rows"], 500 + 999);
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  EXPECT_EQ(SortedLines(p_->CanonKeys(outs)), SortedLines(p_->Canon(good) + p_->Canon(readable)))
      << "every readable row once";
  auto rej = nlohmann::json::parse(ReadFile(rejects));
  EXPECT_NE(rej["file"].get<std::string>().find("land/table/bad.csv"), std::string::npos);
  EXPECT_EQ(rej["line"], 1001);
  EXPECT_EQ(rej["text"], "1999,n1999,1.5,EXTRA");
  for (const auto& k : p_->lake().Keys()) EXPECT_NE(k.rfind("land/", 0), 0u) << k;
}

TEST_P(Pack, TypeConflictNamesTheColumnAndBothFiles) {
  std::string dir = p_->lake().scratch().path();
  WriteFile(dir + "/n.csv", "id\n1\n2\n");
  WriteFile(dir + "/s.csv", "id\nx\ny\n");
  ASSERT_EQ(Lakepack({"convert", dir + "/n.csv", dir + "/n.parquet"}).exit_code, 0);
  ASSERT_EQ(Lakepack({"convert", dir + "/s.csv", dir + "/s.parquet"}).exit_code, 0);
  p_->lake().Put("land/table/a.parquet", dir + "/n.parquet");
  p_->lake().Put("land/table/b.parquet", dir + "/s.parquet");
  auto keys = p_->lake().Keys();
  auto r = p_->Pack({});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("column 'id' has type BIGINT in \\S*land/table/a\\.parquet but VARCHAR "
                        "in \\S*land/table/b\\.parquet")))
      << r.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
  // --schema with --cast-parquet casts on purpose.
  WriteFile(dir + "/schema.json", R"({"id": "VARCHAR"})");
  auto cast = p_->Pack({"--schema", dir + "/schema.json", "--cast-parquet", "--json"});
  ASSERT_EQ(cast.exit_code, 0) << cast.All();
  EXPECT_EQ(nlohmann::json::parse(cast.out)["rows"], 4);
}

TEST_P(Pack, EmptyCsvAddsNoColumnAndNoRow) {
  std::string good = p_->lake().scratch() / "good.csv";
  WriteFile(good, CsvOf(0, 10));
  std::string empty = p_->lake().scratch() / "empty.csv";
  WriteFile(empty, "");
  p_->lake().Put("land/table/a.csv", good);
  p_->lake().Put("land/table/b.csv", empty);
  auto r = p_->Pack({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows"], 10);
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_EQ(outs.size(), 1u);
  auto info = nlohmann::json::parse(Lakepack({"inspect", p_->Fetch(outs[0]), "--json"}).out);
  ASSERT_EQ(info["columns"].size(), 3u) << info.dump();
  EXPECT_EQ(info["columns"][0]["name"], "id");
}

TEST_P(Pack, ChangedInputStopsTheRunUnlessReplaced) {
  std::string a = p_->lake().scratch() / "a.csv";
  WriteFile(a, CsvOf(0, 100));
  p_->lake().Put("land/table/a.csv", a);
  ASSERT_EQ(p_->Pack({"--quiet"}).exit_code, 0);
  WriteFile(a, CsvOf(0, 101));  // one line appended
  p_->lake().Put("land/table/a.csv", a);
  auto keys = p_->lake().Keys();
  auto r = p_->Pack({});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("land/table/a\\.csv: changed since it was packed into "
                        "\\S*db/table/table_0\\.snappy\\.parquet .*--replace-changed")))
      << r.err;
  EXPECT_EQ(p_->lake().Keys(), keys);
  auto plan = p_->Pack({"--dry-run"});
  EXPECT_NE(plan.out.find("changed "), std::string::npos) << plan.out;

  auto re = p_->Pack({"--replace-changed", "--json"});
  ASSERT_EQ(re.exit_code, 0) << re.All();
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  EXPECT_EQ(SortedLines(p_->CanonKeys(outs)), SortedLines(p_->Canon(a)))
      << "the outputs mirror the input: 101 rows, each once";
  auto again = p_->Pack({"--json"});
  ASSERT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(nlohmann::json::parse(again.out)["files_out"], 0);
}

TEST_P(Pack, ReplacedRowsLeaveAnEarlierOutputToo) {
  std::vector<std::string> locals;
  for (int i = 0; i < 4; i++) {
    locals.push_back(p_->AddInput(fmt::format("in{}.csv", i), "csv", 1500, i + 1));
  }
  ASSERT_EQ(p_->Pack({"--target-size", "300KB", "--quiet"}).exit_code, 0);
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_GE(outs.size(), 3u);
  // in0's rows sit in table_0; it gets new content.
  locals[0] = p_->AddInput("in0.csv", "csv", 700, 99);
  auto r = p_->Pack({"--target-size", "300KB", "--replace-changed", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_GE(nlohmann::json::parse(r.out)["rewritten"].size(), 1u) << r.out;
  auto rewritten = nlohmann::json::parse(r.out)["rewritten"].get<std::vector<std::string>>();
  EXPECT_EQ(std::set<std::string>(rewritten.begin(), rewritten.end()).size(), rewritten.size())
      << "each rewritten output named once: " << r.out;
  std::string want;
  for (const auto& l : locals) want += p_->Canon(l);
  EXPECT_EQ(SortedLines(p_->CanonKeys(p_->Outputs("db/table/", "snappy.parquet"))),
            SortedLines(want));
}

// CSV outputs hold no metadata: their rows are selected through Parquet, in their order.
TEST_P(Pack, ReplacedRowsLeaveCsvOutputsToo) {
  std::string a = p_->lake().scratch() / "a.csv", b = p_->lake().scratch() / "b.csv";
  WriteFile(a, CsvOf(0, 40));
  WriteFile(b, CsvOf(100, 20));
  p_->lake().Put("land/table/a.csv", a);
  p_->lake().Put("land/table/b.csv", b);
  ASSERT_EQ(p_->Pack({"--format", "csv", "--quiet"}).exit_code, 0);
  WriteFile(a, CsvOf(0, 45));
  p_->lake().Put("land/table/a.csv", a);
  auto r = p_->Pack({"--format", "csv", "--replace-changed", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(SortedLines(p_->CanonKeys(p_->Outputs("db/table/", "csv"))),
            SortedLines(p_->Canon(a) + p_->Canon(b)));
}

TEST_P(Pack, LosingTheManifestRepacksNothing) {
  p_->AddInput("a.csv", "csv", 800, 1);
  p_->AddInput("b.parquet", "parquet", 800, 2);
  ASSERT_EQ(p_->Pack({"--quiet"}).exit_code, 0);
  std::vector<std::string> cache;
  for (const auto& k : p_->lake().Keys()) {
    if (k.find("_lakepack/") != std::string::npos) cache.push_back(k);
  }
  ASSERT_FALSE(cache.empty());
  ASSERT_TRUE(p_->lake().store().Delete(cache).ok());
  auto data = p_->lake().DataKeys();
  auto r = p_->Pack({"--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(nlohmann::json::parse(r.out)["already_packed"], 2);
  EXPECT_EQ(nlohmann::json::parse(r.out)["files_out"], 0);
  EXPECT_EQ(p_->lake().DataKeys(), data);
}

TEST_P(Pack, DeletedInputArrivingAgainIsNew) {
  std::string a = p_->lake().scratch() / "a.csv";
  WriteFile(a, CsvOf(0, 50));
  p_->lake().Put("land/table/a.csv", a);
  ASSERT_EQ(p_->Pack({"--delete-inputs", "--quiet"}).exit_code, 0);
  std::string again = p_->lake().scratch() / "a2.csv";
  WriteFile(again, CsvOf(50, 30));
  p_->lake().Put("land/table/a.csv", again);
  auto r = p_->Pack({"--delete-inputs", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows"], 30);
  EXPECT_EQ(SortedLines(p_->CanonKeys(p_->Outputs("db/table/", "snappy.parquet"))),
            SortedLines(p_->Canon(a) + p_->Canon(again)));
}

// Issue 14: a latest output with no room for another row group (within 1/64 of the target)
// is full: it is left as it is, not rewritten byte for byte, and the new rows start the next.
TEST_P(Pack, FullLatestOutputIsLeftAsItIs) {
  std::string a = p_->AddInput("a.csv", "csv", 1500, 31);
  ASSERT_EQ(p_->Pack({"--target-size", "1MB", "--quiet"}).exit_code, 0);
  auto before = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_EQ(before.size(), 1u);
  auto latest = p_->lake().store().Stat(before[0]);
  ASSERT_TRUE(latest.ok() && *latest);
  std::string b = p_->AddInput("b.csv", "csv", 300, 32);
  // A target one byte over the latest's size: it used to be topped up with no row.
  auto r = p_->Pack({"--target-size", std::to_string((*latest)->size + 1), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  json s = json::parse(r.out);
  EXPECT_FALSE(s["tops_up"].get<bool>()) << r.out;
  auto now = p_->lake().store().Stat(before[0]);
  ASSERT_TRUE(now.ok() && *now);
  EXPECT_EQ((*now)->etag, (*latest)->etag);
  EXPECT_EQ((*now)->mtime_ns, (*latest)->mtime_ns);
  EXPECT_EQ((*now)->size, (*latest)->size);
  auto outs = p_->Outputs("db/table/", "snappy.parquet");
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(p_->CanonKeys(outs), p_->Canon(a) + p_->Canon(b));
  // Only the new output (and lakepack's few small documents) went to the store.
  int64_t written = s["requests"].value("bytes_written", int64_t{0});
  EXPECT_LT(written - p_->Size(outs[1]), 64 * 1024) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Stores, Pack, ::testing::Values("local", "moto", "s3rver"),
                         [](const auto& i) { return i.param; });

// Every input format × output format round-trips rows exactly, in order, evenly sized.
using FormatCase = std::tuple<std::string, std::string, std::string>;  // backend, in, out
class PackFormats : public ::testing::TestWithParam<FormatCase> {};

TEST_P(PackFormats, RowsRoundTripExactly) {
  auto [backend, in, out] = GetParam();
  std::string name = "packfmt-" + in + "-" + out;
  std::replace(name.begin(), name.end(), '.', '-');
  PackLake p(backend, name);
  std::string a = p.AddInput("a." + in, in, 1200, 11);
  std::string b = p.AddInput("b." + in, in, 800, 12);
  constexpr int64_t kSmall = 150000;
  auto r = p.Pack({"--target-size", "150KB", "--format", out, "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto outs = p.Outputs("db/table/", out);
  ASSERT_GE(outs.size(), 2u);
  p.ExpectEvenSizes(outs, kSmall);
  EXPECT_EQ(p.CanonKeys(outs), p.Canon(a) + p.Canon(b));
}

std::string FormatCaseName(const ::testing::TestParamInfo<FormatCase>& i) {
  std::string s = std::get<0>(i.param) + "_" + std::get<1>(i.param) + "_to_" + std::get<2>(i.param);
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

INSTANTIATE_TEST_SUITE_P(All, PackFormats,
                         ::testing::Combine(::testing::Values("local", "moto"),
                                            ::testing::Values("csv", "jsonl", "parquet"),
                                            ::testing::Values("csv", "jsonl", "parquet",
                                                              "snappy.parquet")),
                         FormatCaseName);

// SIGKILL during a top-up, at each step of the commit protocol; a rerun leaves the original
// rows plus the new ones, exactly once.
using CrashCase = std::tuple<std::string, std::string>;  // backend, step
class PackCrash : public ::testing::TestWithParam<CrashCase> {};

TEST_P(PackCrash, KilledTopUpThenRerunLeavesEveryRowOnce) {
  auto [backend, step] = GetParam();
  PackLake p(backend, "packcrash-" + step);
  p.AddInput("a.csv", "csv", 1500, 21);
  ASSERT_EQ(p.Pack({"--target-size", "1MB", "--quiet"}).exit_code, 0);
  std::string old_rows = p.CanonKeys(p.Outputs("db/table/", "snappy.parquet"));
  std::string b = p.AddInput("b.csv", "csv", 4000, 22);
  auto killed = p.Pack({"--target-size", "1MB", "--quiet"}, {{"LAKEPACK_CRASH_AT", step}});
  ASSERT_EQ(killed.exit_code, 137) << "expected SIGKILL at " << step << "\n" << killed.All();
  auto rerun = p.Pack({"--target-size", "1MB", "--json"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.All();
  auto outs = p.Outputs("db/table/", "snappy.parquet");
  ASSERT_GE(outs.size(), 2u);
  p.ExpectEvenSizes(outs);
  EXPECT_EQ(p.CanonKeys(outs), old_rows + p.Canon(b));
  for (const auto& k : p.lake().Keys()) {
    EXPECT_EQ(k.find("_lakepack/journal"), std::string::npos) << k;
    EXPECT_EQ(k.find("_lakepack/staging"), std::string::npos) << k;
    EXPECT_EQ(k.find("_lakepack/leases"), std::string::npos) << k;
  }
  // And one more run adds nothing.
  auto keys = p.lake().Keys();
  ASSERT_EQ(p.Pack({"--target-size", "1MB", "--quiet"}).exit_code, 0);
  EXPECT_EQ(p.lake().Keys(), keys);
}

std::string CrashCaseName(const ::testing::TestParamInfo<CrashCase>& i) {
  std::string s = std::get<0>(i.param) + "_" + std::get<1>(i.param);
  std::replace(s.begin(), s.end(), '-', '_');
  std::replace(s.begin(), s.end(), ':', '_');
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Steps, PackCrash,
    ::testing::Combine(::testing::Values("local", "moto"),
                       ::testing::Values("lease-claimed", "journal-intent", "output-written:1",
                                         "output-written:2", "committed", "ledger-written",
                                         "inputs-deleted", "journal-dropped", "lease-released")),
    CrashCaseName);

}  // namespace
}  // namespace lakepack::e2e
