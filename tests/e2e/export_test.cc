// End-to-end: `lakepack export` from a real PostgreSQL 15 (the servers.pg CTest fixture) to a
// local folder and to moto, in every layout. The rows of the files are compared with the
// table's by a row checksum computed on both sides: psql on the table, DuckDB (node, an
// independent build) on the files.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include <fmt/format.h>

#include <sstream>

#include "e2e/lake.h"

namespace lakepack::e2e {

struct Checksum {
  int64_t rows = -1;
  std::string sum;
};

#define REQUIRE_PG()                                                                 \
  if (PgEnv().empty()) {                                                             \
    GTEST_SKIP() << "no PostgreSQL: run under ctest (servers.pg fixture, pgserver)"; \
  }

// Helpers shared with validate_test.cc (declared there).
std::map<std::string, std::string> PgEnv() {
  static std::map<std::string, std::string> env = [] {
    std::map<std::string, std::string> m;
    // LAKEPACK_TEST_PG_ENV, or pg.env beside the S3 servers' env file (the CTest fixture).
    std::string path;
    if (const char* p = std::getenv("LAKEPACK_TEST_PG_ENV"); p && *p) {
      path = p;
    } else if (const char* s = std::getenv("LAKEPACK_TEST_SERVERS_ENV"); s && *s) {
      path = std::filesystem::path(s).parent_path() / "pg.env";
    }
    if (path.empty()) return m;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      auto eq = line.find('=');
      if (eq != std::string::npos) m[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return m;
  }();
  return env;
}

std::string PgUri() { return PgEnv()["LAKEPACK_TEST_PG_URI"]; }

std::string RunPsql(const std::string& sql) {
  auto r = Run({"psql", "-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql}, PgEnv());
  EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.All();
  return r.out;
}

void SeedTable(const std::string& table, int64_t rows, int64_t same) {
  auto r = Run({std::string(LAKEPACK_SOURCE_DIR) + "/tests/servers/postgres_seed.sh",
                std::to_string(rows), table, std::to_string(same)},
               PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
}

// One canonical text per row, the same on both sides: ids and blobs as lower-case hex,
// timestamps as epoch microseconds, NULL as N, lists as [a,b] with n for a NULL element.
const char* kPgCanonical =
    "encode(data_item_id,'hex')||'|'||encode(owner_public_address,'hex')||'|'||byte_count||'|'"
    "||(extract(epoch from uploaded_date)*1000000)::bigint||'|'||assessed_winston_price::text"
    "||'|'||plan_id::text||'|'||(extract(epoch from planned_date)*1000000)::bigint||'|'||"
    "coalesce(encode(bundle_id,'hex'),'N')||'|'||coalesce(((extract(epoch from "
    "permanent_date)*1000000)::bigint)::text,'N')||'|'||block_height||'|'||"
    "coalesce(data_start::text,'N')||'|'||coalesce(signature_type::text,'N')||'|'||CASE WHEN "
    "failed_bundles IS NULL THEN 'N' ELSE '['||coalesce((SELECT string_agg(coalesce(encode(x,"
    "'hex'),'n'),',' ORDER BY o) FROM unnest(failed_bundles) WITH ORDINALITY AS u(x,o)),'')"
    "||']' END||'|'||coalesce(content_type,'N')||'|'||coalesce(premium_feature_type,'N')||'|'"
    "||coalesce(deadline_height::text,'N')";
const char* kDuckCanonical =
    "lower(hex(data_item_id))||'|'||lower(hex(owner_public_address))||'|'||byte_count::VARCHAR"
    "||'|'||epoch_us(uploaded_date)::VARCHAR||'|'||assessed_winston_price::VARCHAR||'|'||"
    "plan_id::VARCHAR||'|'||epoch_us(planned_date)::VARCHAR||'|'||coalesce(lower(hex("
    "bundle_id)),'N')||'|'||coalesce(epoch_us(permanent_date)::VARCHAR,'N')||'|'||"
    "block_height::VARCHAR||'|'||coalesce(data_start::VARCHAR,'N')||'|'||coalesce("
    "signature_type::VARCHAR,'N')||'|'||CASE WHEN failed_bundles IS NULL THEN 'N' ELSE '['||"
    "array_to_string(list_transform(failed_bundles, x -> coalesce(lower(hex(x)),'n')),',')||"
    "']' END||'|'||coalesce(content_type,'N')||'|'||coalesce(premium_feature_type,'N')||'|'||"
    "coalesce(deadline_height::VARCHAR,'N')";

Checksum PgChecksum(const std::string& table) {
  std::string out = RunPsql(fmt::format(
      "SELECT count(*) || ' ' || coalesce(sum(('x'||substr(md5({}),1,15))::bit(60)::bigint::"
      "numeric),0) FROM {}",
      kPgCanonical, table));
  Checksum c;
  std::istringstream in(out);
  in >> c.rows >> c.sum;
  return c;
}

// Runs one DuckDB query in node (@duckdb/node-api from tests/xread, a build independent of
// lakepack's); rows as lines of '|'-joined values.
std::string NodeQuery(const std::string& sql) {
  ScratchDir d;
  std::string script = d / "q.mjs";
  WriteFile(
      script,
      fmt::format(
          R"(import {{ DuckDBInstance }} from '{}/tests/xread/node_modules/@duckdb/node-api/lib/index.js';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const r = await c.runAndReadAll(process.argv[2]);
for (const row of r.getRows()) console.log(row.map(v => v === null ? 'NULL' : String(v)).join('|'));
)",
          LAKEPACK_SOURCE_DIR));
  auto r = Run({"node", script, sql});
  EXPECT_EQ(r.exit_code, 0) << sql << "\n" << r.All();
  return r.out;
}

Checksum FilesChecksum(const std::string& dir) {
  std::string out = NodeQuery(fmt::format(
      "SELECT count(*)::VARCHAR, coalesce(sum(('0x'||substr(md5({}),1,15))::BIGINT::HUGEINT),0)"
      "::VARCHAR FROM read_parquet('{}/**/*.parquet', hive_partitioning=false)",
      kDuckCanonical, dir));
  Checksum c;
  auto bar = out.find('|');
  if (bar == std::string::npos) return c;
  c.rows = std::stoll(out.substr(0, bar));
  c.sum = out.substr(bar + 1);
  while (!c.sum.empty() && c.sum.back() == '\n') c.sum.pop_back();
  return c;
}

void FetchAll(TestLake& lake, const std::string& local_dir) {
  for (const auto& k : lake.DataKeys()) {
    std::string to = local_dir + "/" + k;
    std::filesystem::create_directories(std::filesystem::path(to).parent_path());
    std::filesystem::copy_file(lake.Fetch(k), to,
                               std::filesystem::copy_options::overwrite_existing);
  }
}

namespace {

const std::vector<std::string> kLayouts = {"hive-date", "by-partition", "flat"};

// Keys of a layout look like their layout.
void ExpectLayout(const std::vector<std::string>& keys, const std::string& layout,
                  const std::string& table) {
  std::regex re = layout == "hive-date"
                      ? std::regex(R"(year=\d{4}/month=\d\d/half=0[12]/perm_items_.*\.parquet)")
                  : layout == "by-partition" ? std::regex(table + R"(/perm_items_.*\.parquet)")
                                             : std::regex(R"([^/]*\.parquet)");
  for (const auto& k : keys) EXPECT_TRUE(std::regex_match(k, re)) << layout << ": " << k;
}

class Export : public ::testing::TestWithParam<std::string> {};

TEST_P(Export, EveryLayoutValidatesAndHoldsTheTablesRows) {
  REQUIRE_PG();
  const std::string table = "public.pdi_" + GetParam();
  SeedTable(table, 200000, 30000);
  Checksum want = PgChecksum(table);
  ASSERT_EQ(want.rows, 200000);
  for (const auto& layout : kLayouts) {
    SCOPED_TRACE(layout);
    auto lake = TestLake::Open(GetParam(), "export-" + layout);
    auto r =
        lake->Run({"export", PgUri(), table, lake->uri(), "--layout", layout, "--json"}, PgEnv());
    ASSERT_EQ(r.exit_code, 0) << r.All();
    auto s = nlohmann::json::parse(r.out);
    EXPECT_EQ(s["rows"], 200000);
    EXPECT_EQ(s["tasks_failed"], 0);
    auto keys = lake->DataKeys();
    ASSERT_GE(keys.size(), 10u);
    ExpectLayout(keys, layout, table);
    for (const auto& k : keys) {
      if (layout == "hive-date") continue;
      // Every file but the last holds --flush-rows rows (hive-date also cuts at half-months).
      EXPECT_TRUE(k.find("_rows-20000.parquet") != std::string::npos || k == keys.back() ||
                  layout != "flat")
          << k;
    }
    // Every file validates, and the table's count equals the files' total.
    std::string results = lake->scratch() / ("results-" + layout + ".txt");
    auto v = lake->Run({"validate", lake->uri(), "--parallel", "2", "--results", results,
                        "--against", PgUri(), table},
                       PgEnv());
    EXPECT_EQ(v.exit_code, 0) << v.All();
    std::string lines = ReadFile(results);
    EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), static_cast<long>(keys.size() + 1));
    EXPECT_EQ(lines.find("FAIL|"), std::string::npos) << lines;
    // The multiset of rows equals the table's.
    std::string local = lake->scratch() / ("files-" + layout);
    FetchAll(*lake, local);
    Checksum got = FilesChecksum(local);
    EXPECT_EQ(got.rows, want.rows);
    EXPECT_EQ(got.sum, want.sum);
    // A second run finds everything written and adds nothing.
    auto again =
        lake->Run({"export", PgUri(), table, lake->uri(), "--layout", layout, "--json"}, PgEnv());
    ASSERT_EQ(again.exit_code, 0) << again.All();
    EXPECT_EQ(nlohmann::json::parse(again.out)["rows"], 0);
    EXPECT_EQ(lake->DataKeys(), keys);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, Export, ::testing::Values("local", "moto"),
                         [](const auto& info) { return info.param; });

// SIGKILL at random operations of the run, then reruns: rows equal the table's, once each,
// also where 30,000 rows (more than one file) share one timestamp.
class ExportCrash : public ::testing::TestWithParam<std::string> {};

TEST_P(ExportCrash, KillThenRerunGivesEveryRowOnce) {
  REQUIRE_PG();
  const std::string table = "public.pdi_kill_" + GetParam();
  SeedTable(table, 200000, 30000);
  Checksum want = PgChecksum(table);
  auto lake = TestLake::Open(GetParam(), "export-crash");
  auto args = [&](const TestLake& on) -> std::vector<std::string> {
    return {"export",       PgUri(), table,      on.uri(),    "--flush-rows", "7000",
            "--chunk-rows", "3000",  "--layout", "hive-date", "--quiet"};
  };
  // Each kill at a random store request of the run it interrupts (the second kills the
  // resumed run), never after a number of milliseconds: see KillAtRandomOp.
  std::mt19937 rng(7);
  for (int kill = 1; kill <= 2; kill++) {
    auto k = KillAtRandomOp(*lake, args, PgEnv(), rng);
    std::cout << GetParam() << ": kill " << kill << " at " << k.Where() << std::endl;
    ASSERT_EQ(k.run.exit_code, 137) << "expected SIGKILL at " << k.Where() << "\n" << k.run.All();
  }
  auto r = lake->Run(args(*lake), PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  // Every file passes, and the files hold the table's count.
  std::string res = lake->scratch() / "res.txt";
  auto v =
      lake->Run({"validate", lake->uri(), "--against", PgUri(), table, "--results", res}, PgEnv());
  EXPECT_EQ(v.exit_code, 0) << v.All() << ReadFile(res);
  std::string local = lake->scratch() / "files";
  FetchAll(*lake, local);
  Checksum got = FilesChecksum(local);
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.sum, want.sum);
}

INSTANTIATE_TEST_SUITE_P(Stores, ExportCrash, ::testing::Values("local", "moto"),
                         [](const auto& info) { return info.param; });

// Resume across layouts (issue 9): a table's files are found wherever they sit in the
// destination, and a run under another layout than theirs refuses instead of writing the
// table again.
class ExportLayoutChange : public ::testing::TestWithParam<std::string> {
 protected:
  // ROWS rows, of which the last `held_back` by (ts, id) wait in TABLE_later, so that the
  // table can grow after the last key as it does in production.
  void SeedHeldBack(const std::string& table, int64_t rows, int64_t held_back) {
    SeedTable(table, rows, 100);
    RunPsql(fmt::format(
        "DROP TABLE IF EXISTS {0}_later; CREATE TABLE {0}_later AS SELECT * FROM {0} ORDER BY "
        "uploaded_date DESC, data_item_id DESC LIMIT {1}; DELETE FROM {0} WHERE (uploaded_date, "
        "data_item_id) IN (SELECT uploaded_date, data_item_id FROM {0}_later);",
        table, held_back));
  }
  void Grow(const std::string& table) {
    RunPsql(fmt::format("INSERT INTO {0} SELECT * FROM {0}_later", table));
  }

  // The destination holds the table's rows, each exactly once: same count, same row
  // checksum, and the same multiset of ids read back from the files.
  void ExpectEveryRowOnce(TestLake& lake, const std::string& table, const std::string& tag) {
    SCOPED_TRACE(tag);
    std::string local = lake.scratch() / ("rows-" + tag);
    FetchAll(lake, local);
    Checksum want = PgChecksum(table), got = FilesChecksum(local);
    EXPECT_EQ(got.rows, want.rows);
    EXPECT_EQ(got.sum, want.sum);
    auto lines = [](const std::string& text) {
      std::vector<std::string> v;
      std::istringstream in(text);
      for (std::string l; std::getline(in, l);) v.push_back(l);
      std::sort(v.begin(), v.end());
      return v;
    };
    auto pg_ids = lines(RunPsql("SELECT encode(data_item_id,'hex') FROM " + table));
    auto file_ids = lines(NodeQuery("SELECT lower(hex(data_item_id)) FROM read_parquet('" + local +
                                    "/**/*.parquet', hive_partitioning=false)"));
    EXPECT_EQ(file_ids.size(), pg_ids.size());
    EXPECT_TRUE(file_ids == pg_ids) << "the ids in the files differ from the table's";
    EXPECT_EQ(std::adjacent_find(file_ids.begin(), file_ids.end()), file_ids.end())
        << "an id is in the destination twice";
  }

  // The summary's error for a table refused because its files are in layout `found`; stderr
  // shows it after "lakepack export: error: ", --json in "errors".
  std::string Refusal(TestLake& lake, const std::string& table, size_t files,
                      const std::string& found, const std::string& asked,
                      const std::string& example) {
    return fmt::format(
        "{}: {}: {} file(s) of this table are in layout {}, not {} (e.g. {}); rerun with "
        "--layout {} to resume there; nothing was written",
        table, lake.store().Uri(), files, found, asked, example, found);
  }

  std::map<std::string, std::string> With(const std::map<std::string, std::string>& extra) {
    auto env = PgEnv();
    for (const auto& [k, v] : extra) env[k] = v;
    return env;
  }
};

// The issue's repro: hive-date, then the same command with S3_LAYOUT=flat. It wrote the table
// a second time (1,000 rows became 2,000); now it refuses, and the found layout resumes.
TEST_P(ExportLayoutChange, AnotherLayoutIsRefusedAndTheFoundOneResumes) {
  REQUIRE_PG();
  const std::string table = "public.pdi_relayout_" + GetParam();
  SeedHeldBack(table, 1250, 250);
  ASSERT_EQ(PgChecksum(table).rows, 1000);
  auto lake = TestLake::Open(GetParam(), "export-relayout");
  std::vector<std::string> args = {"export", PgUri(), table, lake->uri(), "--flush-rows", "300"};
  auto first = lake->Run(args, PgEnv());
  ASSERT_EQ(first.exit_code, 0) << first.All();
  auto keys = lake->DataKeys();
  ASSERT_EQ(keys.size(), 4u);
  ExpectLayout(keys, "hive-date", table);

  auto via_env = lake->Run(args, With({{"S3_LAYOUT", "flat"}}));
  EXPECT_EQ(via_env.exit_code, 1) << via_env.All();
  EXPECT_NE(via_env.err.find("lakepack export: error: " +
                             Refusal(*lake, table, 4, "hive-date", "flat", keys.front()) + "\n"),
            std::string::npos)
      << via_env.err;
  auto args_flat = args;
  args_flat.insert(args_flat.end(), {"--layout", "flat", "--json"});
  auto via_flag = lake->Run(args_flat, PgEnv());
  EXPECT_EQ(via_flag.exit_code, 1) << via_flag.All();
  auto refused = nlohmann::json::parse(via_flag.out);
  EXPECT_EQ(refused["rows"], 0);
  EXPECT_EQ(refused["errors"],
            nlohmann::json::array({Refusal(*lake, table, 4, "hive-date", "flat", keys.front())}));
  EXPECT_EQ(lake->DataKeys(), keys);  // no object written, none removed
  ExpectEveryRowOnce(*lake, table, "refused");

  // The way on that the message gives: --layout overrides S3_LAYOUT and finds it all written.
  auto args_found = args;
  args_found.insert(args_found.end(), {"--layout", "hive-date", "--json"});
  auto resumed = lake->Run(args_found, With({{"S3_LAYOUT", "flat"}}));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.All();
  EXPECT_EQ(nlohmann::json::parse(resumed.out)["rows"], 0);
  EXPECT_EQ(lake->DataKeys(), keys);

  // The table grows: the wrong layout still refuses, the found one writes the new rows only.
  Grow(table);
  auto grown_flat = lake->Run(args_flat, PgEnv());
  EXPECT_EQ(grown_flat.exit_code, 1) << grown_flat.All();
  EXPECT_EQ(lake->DataKeys(), keys);
  auto grown = lake->Run(args_found, PgEnv());
  ASSERT_EQ(grown.exit_code, 0) << grown.All();
  EXPECT_EQ(nlohmann::json::parse(grown.out)["rows"], 250);
  auto after = lake->DataKeys();
  EXPECT_GT(after.size(), keys.size());
  ExpectLayout(after, "hive-date", table);
  ExpectEveryRowOnce(*lake, table, "grown");
}

// by-partition and hive-date, each way round: refused, then resumed in the found layout.
TEST_P(ExportLayoutChange, ByPartitionAndHiveDateRefuseEachOther) {
  REQUIRE_PG();
  const std::string table = "public.pdi_bp_hive_" + GetParam();
  SeedTable(table, 1000, 100);
  for (auto [found, asked] : {std::pair<std::string, std::string>{"by-partition", "hive-date"},
                              {"hive-date", "by-partition"}}) {
    SCOPED_TRACE(found + " then " + asked);
    auto lake = TestLake::Open(GetParam(), "export-" + found);
    auto run = [&](const std::string& layout) {
      return lake->Run({"export", PgUri(), table, lake->uri(), "--flush-rows", "300", "--layout",
                        layout, "--json"},
                       PgEnv());
    };
    auto first = run(found);
    ASSERT_EQ(first.exit_code, 0) << first.All();
    auto keys = lake->DataKeys();
    ExpectLayout(keys, found, table);
    auto refused = run(asked);
    EXPECT_EQ(refused.exit_code, 1) << refused.All();
    EXPECT_EQ(
        nlohmann::json::parse(refused.out)["errors"],
        nlohmann::json::array({Refusal(*lake, table, keys.size(), found, asked, keys.front())}))
        << refused.out;
    EXPECT_EQ(lake->DataKeys(), keys);
    auto again = run(found);
    ASSERT_EQ(again.exit_code, 0) << again.All();
    EXPECT_EQ(nlohmann::json::parse(again.out)["rows"], 0);
    EXPECT_EQ(lake->DataKeys(), keys);
    ExpectEveryRowOnce(*lake, table, found);
  }
}

// Files of the table in two layouts at once: no layout can resume without writing some rows
// again, so every layout refuses and names both.
TEST_P(ExportLayoutChange, FilesInTwoLayoutsAreAnError) {
  REQUIRE_PG();
  const std::string table = "public.pdi_two_layouts_" + GetParam();
  SeedTable(table, 1000, 100);
  auto lake = TestLake::Open(GetParam(), "export-two-layouts");
  auto first = lake->Run(
      {"export", PgUri(), table, lake->uri(), "--flush-rows", "300", "--layout", "flat"}, PgEnv());
  ASSERT_EQ(first.exit_code, 0) << first.All();
  auto flat = lake->DataKeys();
  ASSERT_EQ(flat.size(), 4u);
  // A copy of the first file where hive-date would have put it.
  std::string hive = "year=2024/month=01/half=01/" + flat.front();
  lake->Put(hive, lake->Fetch(flat.front()));
  auto keys = lake->DataKeys();
  for (const auto& layout : kLayouts) {
    SCOPED_TRACE(layout);
    auto r = lake->Run({"export", PgUri(), table, lake->uri(), "--layout", layout}, PgEnv());
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_NE(r.err.find(fmt::format(
                  "lakepack export: error: {}: {}: this table's files are in 2 places, layout "
                  "flat (e.g. {}) and layout hive-date (e.g. {}); resume cannot tell which to "
                  "continue: keep them in one layout and rerun with it; nothing was written\n",
                  table, lake->store().Uri(), flat.front(), hive)),
              std::string::npos)
        << r.err;
    EXPECT_EQ(lake->DataKeys(), keys);
  }
  // A file in a folder no layout of this table uses holds rows all the same.
  ASSERT_TRUE(lake->store().Delete({hive}).ok());
  lake->Put("public.other/" + flat.front(), lake->Fetch(flat.front()));
  ASSERT_TRUE(lake->store().Delete(flat).ok());
  auto stray = lake->Run({"export", PgUri(), table, lake->uri(), "--layout", "flat"}, PgEnv());
  EXPECT_EQ(stray.exit_code, 1) << stray.All();
  EXPECT_NE(stray.err.find(fmt::format(
                "lakepack export: error: {}: {}: 1 file(s) of this table are in no layout's "
                "folder (e.g. public.other/{}); move them to where --layout flat puts them, or out "
                "of the destination; nothing was written\n",
                table, lake->store().Uri(), flat.front())),
            std::string::npos)
      << stray.err;
  EXPECT_EQ(lake->DataKeys(), std::vector<std::string>{"public.other/" + flat.front()});
}

// The prefix is part of the name: another prefix's files of the same table are not ours,
// even one that ends in ours. Two tables cost one listing of the destination.
TEST_P(ExportLayoutChange, AnotherPrefixIsNotOursAndOneListingServesEveryTable) {
  REQUIRE_PG();
  const std::string a = "public.pdi_prefix_a_" + GetParam(),
                    b = "public.pdi_prefix_b_" + GetParam();
  SeedTable(a, 1000, 100);
  SeedTable(b, 500, 100);
  auto lake = TestLake::Open(GetParam(), "export-prefix");
  auto other = lake->Run(
      {"export", PgUri(), a, lake->uri(), "--prefix", "archive_perm_items", "--layout", "flat"},
      PgEnv());
  ASSERT_EQ(other.exit_code, 0) << other.All();
  auto theirs = lake->DataKeys();
  ASSERT_EQ(theirs.size(), 1u);
  auto ours = lake->Run({"export", PgUri(), a, b, lake->uri(), "--json"}, PgEnv());
  ASSERT_EQ(ours.exit_code, 0) << ours.All();
  auto s = nlohmann::json::parse(ours.out);
  EXPECT_EQ(s["rows"], 1500);
  // One listing of the destination serves every table; one more of _lakepack/ is recovery's,
  // and on S3 one more the capability probe's ('/' listings complete?).
  const int lists = GetParam() == "local" ? 2 : 3;
  EXPECT_EQ(s["requests"]["LIST"], lists);
  auto keys = lake->DataKeys();
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_NE(std::find(keys.begin(), keys.end(), theirs.front()), keys.end());
  auto again = lake->Run({"export", PgUri(), a, b, lake->uri(), "--json"}, PgEnv());
  ASSERT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(nlohmann::json::parse(again.out)["rows"], 0);
  EXPECT_EQ(nlohmann::json::parse(again.out)["requests"]["LIST"], lists);
  EXPECT_EQ(lake->DataKeys(), keys);
  // Each resume line counts that table's own files: a's one, not the archive prefix's too.
  auto lines = lake->Run({"export", PgUri(), a, b, lake->uri()}, PgEnv());
  ASSERT_EQ(lines.exit_code, 0) << lines.All();
  for (const auto& t : {a, b}) {
    EXPECT_TRUE(std::regex_search(
        lines.err, std::regex(t + R"(: resuming after \d{8}T\d{6}Z \(1 file\(s\) already in the )"
                                  R"(destination\))")))
        << lines.err;
  }
  EXPECT_NE(lines.out.find("export: 2 table(s), 0 failed; 0 file(s) written (0 bytes), 0 rows"),
            std::string::npos)
      << lines.out;
}

INSTANTIATE_TEST_SUITE_P(Stores, ExportLayoutChange, ::testing::Values("local", "moto"),
                         [](const auto& info) { return info.param; });

// The listing is paginated: a table's files on the second page of a destination with 1,005
// other objects are still found, in one listing of two pages (beside recovery's one LIST).
TEST(ExportLayoutChangeLocal, FilesOnALaterListingPageAreFound) {
  REQUIRE_PG();
  const std::string table = "public.pdi_pages";
  SeedTable(table, 1000, 100);
  auto lake = TestLake::Open("local", "export-pages");
  std::string junk = lake->scratch() / "junk.txt";
  WriteFile(junk, "x");
  for (int i = 0; i < 1005; i++) lake->Put(fmt::format("junk/{:04}.txt", i), junk);
  auto first = lake->Run({"export", PgUri(), table, lake->uri(), "--layout", "flat"}, PgEnv());
  ASSERT_EQ(first.exit_code, 0) << first.All();
  auto keys = lake->DataKeys();
  auto hive = lake->Run({"export", PgUri(), table, lake->uri(), "--json"}, PgEnv());
  EXPECT_EQ(hive.exit_code, 1) << hive.All();
  auto s = nlohmann::json::parse(hive.out);
  ASSERT_EQ(s["errors"].size(), 1u) << hive.out;
  EXPECT_NE(s["errors"][0].get<std::string>().find("are in layout flat, not hive-date"),
            std::string::npos)
      << hive.out;
  EXPECT_EQ(s["rows"], 0);
  // Two pages of the destination, and one of its _lakepack/ prefix for recovery.
  EXPECT_EQ(s["requests"]["LIST"], 3);
  EXPECT_EQ(lake->DataKeys(), keys);
}

// Types beyond the Data Schema map faithfully; NULLs stay NULL.
TEST(ExportTypes, MapFaithfully) {
  REQUIRE_PG();
  RunPsql(R"(DROP TABLE IF EXISTS public.type_zoo;
CREATE TABLE public.type_zoo (ts timestamptz NOT NULL, id bigint NOT NULL, b boolean, f4 real,
  f8 double precision, n numeric(10,2), nu numeric, d date, j json, jb jsonb, t text,
  ia int[], ta text[], u uuid, iv interval, PRIMARY KEY (ts, id));
INSERT INTO public.type_zoo VALUES
 ('2024-05-01 10:00:00+00', 1, true, 1.5, 2.25, -12345678.91, 3.14159265358979323846, '2024-05-01',
  '{"a": 1}', '{"b": [1, 2]}', 'héllo', '{1,NULL,3}', '{x,y}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day'),
 ('2024-05-01 10:00:00.000001+00', 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL);)");
  ScratchDir dir;
  auto r = Lakepack({"export", PgUri(), "public.type_zoo", dir / "out", "--layout", "flat",
                     "--order-by", "ts,id"},
                    PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto files = ListFiles(dir / "out");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].find("_1-20240501T100000Z_2_rows-2.parquet") != std::string::npos)
      << files[0];
  std::string f = dir / ("out/" + files[0]);
  auto i = Lakepack({"inspect", f, "--json"});
  ASSERT_EQ(i.exit_code, 0) << i.All();
  auto cols = nlohmann::json::parse(i.out)["columns"];
  std::map<std::string, std::string> types;
  for (auto& c : cols) types[c["name"]] = c["type"];
  EXPECT_EQ(types["ts"], "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(types["id"], "BIGINT");
  EXPECT_EQ(types["b"], "BOOLEAN");
  EXPECT_EQ(types["f4"], "FLOAT");
  EXPECT_EQ(types["f8"], "DOUBLE");
  EXPECT_EQ(types["n"], "DECIMAL(10,2)");
  EXPECT_EQ(types["nu"], "VARCHAR");  // unconstrained numeric: exact, as text
  EXPECT_EQ(types["d"], "DATE");
  EXPECT_EQ(types["j"], "JSON");
  EXPECT_EQ(types["t"], "VARCHAR");
  EXPECT_EQ(types["ia"], "BIGINT[]");
  EXPECT_EQ(types["ta"], "VARCHAR[]");
  EXPECT_EQ(types["u"], "UUID");
  EXPECT_EQ(types["iv"], "VARCHAR");
  std::string rows = NodeQuery(
      "SELECT epoch_us(ts)::VARCHAR, b, f4, f8, n::VARCHAR, nu, d::VARCHAR, j::VARCHAR, "
      "jb::VARCHAR, t, ia::VARCHAR, ta::VARCHAR, u::VARCHAR, iv FROM read_parquet('" +
      f + "') ORDER BY id");
  EXPECT_EQ(rows,
            "1714557600000000|true|1.5|2.25|-12345678.91|3.14159265358979323846|2024-05-01|"
            "{\"a\": 1}|{\"b\": [1, 2]}|héllo|[1, NULL, 3]|[x, y]|"
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|1 day\n"
            "1714557600000001|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL\n");
}

// --column-type COL=TYPE reads a column as another PostgreSQL type: an unconstrained numeric
// becomes DECIMAL(38,10) instead of its text; a value the cast would round fails the table
// naming it; a column the table lacks, an unknown type and the key columns are errors.
TEST(ExportTypes, ColumnTypeOverridesTheMapping) {
  REQUIRE_PG();
  RunPsql(R"(DROP TABLE IF EXISTS public.type_cast;
CREATE TABLE public.type_cast (ts timestamptz NOT NULL, id bigint NOT NULL, nu numeric, k text,
  PRIMARY KEY (ts, id));
INSERT INTO public.type_cast VALUES ('2024-05-01 10:00:00+00', 1, 3.25, 'a'),
 ('2024-05-01 10:00:01+00', 2, -12345678901234567890.5, 'b'), ('2024-05-01 10:00:02+00', 3, NULL, 'c');)");
  ScratchDir dir;
  auto base = [&](const std::string& out) -> std::vector<std::string> {
    return {"export",   PgUri(), "public.type_cast", dir / out,
            "--layout", "flat",  "--order-by",       "ts,id"};
  };
  auto args = base("out");
  args.insert(args.end(), {"--column-type", "nu=numeric(38,10)", "--column-type", "k=varchar(5)"});
  auto r = Lakepack(args, PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto files = ListFilePaths(dir / "out");
  ASSERT_EQ(files.size(), 1u);
  auto i = Lakepack({"inspect", files[0], "--json"});
  std::map<std::string, std::string> types;
  auto info = nlohmann::json::parse(i.out);
  for (auto& c : info["columns"]) types[c["name"]] = c["type"];
  EXPECT_EQ(types["nu"], "DECIMAL(38,10)");
  EXPECT_EQ(types["k"], "VARCHAR");
  EXPECT_EQ(NodeQuery("SELECT nu::VARCHAR FROM read_parquet('" + files[0] + "') ORDER BY id"),
            "3.2500000000\n-12345678901234567890.5000000000\nNULL\n");

  // numeric(10,2) cannot hold the second value; numeric(38,0) would round the first.
  for (const std::string type : {"numeric(38,0)", "numeric(10,2)"}) {
    auto a = base("lossy");
    a.insert(a.end(), {"--column-type", "nu=" + type, "--retries", "1"});
    auto bad = Lakepack(a, PgEnv());
    EXPECT_EQ(bad.exit_code, 1) << bad.All();
    EXPECT_NE(bad.err.find("--column-type nu=" + type + ": "), std::string::npos) << bad.err;
    EXPECT_TRUE(ListFiles(dir / "lossy").empty());
  }
  auto a = base("lossy");
  a.insert(a.end(), {"--column-type", "nu=numeric(38,0)", "--retries", "1"});
  EXPECT_NE(Lakepack(a, PgEnv()).err.find("public.type_cast value 3.25 would be rounded"),
            std::string::npos);
  for (const auto& [flag, why] : std::vector<std::pair<std::string, std::string>>{
           {"nope=text", "table public.type_cast has no column nope"},
           {"nu=no_such_type", "type \"no_such_type\" does not exist"},
           {"id=text", "ts and id order the table; their type cannot change"}}) {
    auto b = base("bad");
    b.insert(b.end(), {"--column-type", flag, "--retries", "1"});
    auto e = Lakepack(b, PgEnv());
    EXPECT_EQ(e.exit_code, 1) << flag << ": " << e.All();
    EXPECT_NE(e.err.find(why), std::string::npos) << flag << ": " << e.err;
  }
  auto b = base("bad");
  b.insert(b.end(), {"--column-type", "nu"});
  auto usage = Lakepack(b, PgEnv());
  EXPECT_EQ(usage.exit_code, 2) << usage.All();
  EXPECT_NE(usage.err.find("--column-type: expected COL=TYPE, got 'nu'"), std::string::npos);
}

// Names: a text id with '/', '?', '*' or ':' is written as '_' in file names (validate compares
// the same way); mixed-case and quoted table names are PostgreSQL's ("Odd"."My Table" keeps its
// case, public.MixedCase folds to mixedcase).
TEST(ExportNames, OddIdsAndQuotedTableNames) {
  REQUIRE_PG();
  RunPsql(R"(DROP SCHEMA IF EXISTS "Odd" CASCADE; CREATE SCHEMA "Odd";
CREATE TABLE "Odd"."My Table" (uploaded_date timestamp NOT NULL, data_item_id text NOT NULL,
  v int, PRIMARY KEY (uploaded_date, data_item_id));
INSERT INTO "Odd"."My Table" VALUES ('2024-03-01 00:00:00', 'a/b?c*d:e', 1),
  ('2024-03-01 00:00:01', 'zz/yy', 2), ('2024-03-02 00:00:00', 'plain', 3);
DROP TABLE IF EXISTS public.mixedcase; CREATE TABLE public.mixedcase (uploaded_date timestamp
  NOT NULL, data_item_id bigint NOT NULL, PRIMARY KEY (uploaded_date, data_item_id));
INSERT INTO public.mixedcase VALUES ('2024-03-01', 1), ('2024-03-01', 2);)");
  ScratchDir dir;
  auto r = Lakepack({"export", PgUri(), R"("Odd"."My Table")", "public.MixedCase", dir / "out",
                     "--flush-rows", "2", "--layout", "by-partition", "--json"},
                    PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows"], 5);
  auto files = ListFiles(dir / "out");
  ASSERT_EQ(files.size(), 3u) << r.All();
  EXPECT_EQ(files[0],
            "Odd.My Table/perm_items_Odd.My Table_20240301T000000Z_a_b_c_d_-20240301T000001Z_zz_yy_"
            "rows-2.parquet");
  EXPECT_EQ(files[1].substr(0, 32), "Odd.My Table/perm_items_Odd.My T");
  EXPECT_EQ(files[2].substr(0, 34), "public.mixedcase/perm_items_public");
  // validate passes them, and counts against the table by its quoted name.
  auto v =
      Lakepack({"validate", dir / "out", "--against", PgUri(), R"("Odd"."My Table")"}, PgEnv());
  EXPECT_EQ(v.exit_code, 0) << v.All();
  // A rerun resumes: nothing new.
  r = Lakepack({"export", PgUri(), R"("Odd"."My Table")", "public.MixedCase", dir / "out",
                "--flush-rows", "2", "--layout", "by-partition", "--json"},
               PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows"], 0);
  auto bad = Lakepack({"export", PgUri(), R"("Odd"."My Table)", dir / "out"}, PgEnv());
  EXPECT_EQ(bad.exit_code, 2) << bad.All();
  EXPECT_NE(bad.err.find("unterminated quote"), std::string::npos) << bad.err;
}

// The controller: tables from --partitions-file run two at once; a missing table fails alone
// (exit 1, named in the summary) and is not retried; PARTITIONS works as an alias.
TEST(ExportController, ParallelTablesFromAPartitionsFile) {
  REQUIRE_PG();
  SeedTable("public.pdi_p1", 30000, 5000);
  SeedTable("public.pdi_p2", 25000, 5000);
  ScratchDir dir;
  WriteFile(dir / "parts.txt", "public.pdi_p1\npublic.pdi_missing\n\npublic.pdi_p2\n");
  auto r = Lakepack(
      {"export", PgUri(), dir / "out", "--partitions-file", dir / "parts.txt", "--parallel", "2",
       "--retry-backoff", "100ms", "--layout", "by-partition", "--json"},
      PgEnv());
  EXPECT_EQ(r.exit_code, 1) << r.All();
  auto s = nlohmann::json::parse(r.out);
  EXPECT_EQ(s["tasks"], 3);
  EXPECT_EQ(s["tasks_failed"], 1);
  EXPECT_EQ(s["rows"], 55000);
  ASSERT_EQ(s["errors"].size(), 1u);
  EXPECT_NE(s["errors"][0].get<std::string>().find("pdi_missing"), std::string::npos);
  EXPECT_EQ(r.err.find("retrying"), std::string::npos) << r.err;
  for (const auto& t : {"pdi_p1", "pdi_p2"}) {
    auto v = Lakepack({"validate", dir / ("out/public." + std::string(t)), "--results",
                       dir / "res.txt", "--against", PgUri(), std::string("public.") + t},
                      PgEnv());
    EXPECT_EQ(v.exit_code, 0) << v.All();
  }
  auto env = PgEnv();
  env["PARTITIONS"] = "public.pdi_p1,public.pdi_p2";
  auto viaenv = Lakepack({"export", PgUri(), dir / "out2", "--json"}, env);
  EXPECT_EQ(viaenv.exit_code, 0) << viaenv.All();
  EXPECT_EQ(nlohmann::json::parse(viaenv.out)["rows"], 55000);
}

// A connection that fails is retried --retries times in total, --retry-backoff apart.
TEST(ExportController, RetriesWithBackoff) {
  ScratchDir dir;
  auto start = std::chrono::steady_clock::now();
  auto r =
      Lakepack({"export", "public.t", dir / "out", "--retries", "3", "--retry-backoff", "300ms"},
               {{"PGHOST", "127.0.0.1"}, {"PGPORT", "1"}, {"PGUSER", "postgres"}});
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find("attempt 1 of 3 failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("attempt 2 of 3 failed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("attempt 3 of 3 failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("lakepack export: error: public.t: postgres (PG* variables): cannot "
                       "connect"),
            std::string::npos)
      << r.err;
  EXPECT_GE(secs, 0.6);
}

// --quiet: nothing on either stream when all went well; an error still says what and where.
TEST(ExportQuiet, PrintsOnlyWhatWentWrong) {
  REQUIRE_PG();
  const std::string table = "public.pdi_quiet";
  SeedTable(table, 3000, 1000);
  auto lake = TestLake::Open("local", "export-quiet");
  auto r = lake->Run({"export", PgUri(), table, lake->uri(), "--quiet"}, PgEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(lake->DataKeys().empty());
  auto missing = lake->Run(
      {"export", PgUri(), "public.no_such_table", lake->uri(), "--retries", "1", "--quiet"},
      PgEnv());
  EXPECT_EQ(missing.exit_code, 1) << missing.All();
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("no_such_table"), std::string::npos) << missing.err;
}

// The seed's `pg_to_parquet_etl.sh TABLE`: with no DST, files go to PARQUET_DIR, in the
// hive-date layout (HIVE_SPLIT=0: year=/month=/ only), every row once.
TEST(ExportSeedForm, NoDstWritesToParquetDir) {
  REQUIRE_PG();
  const std::string table = "public.pdi_seedform";
  SeedTable(table, 9000, 100);
  Checksum want = PgChecksum(table);
  ScratchDir d;
  auto env = PgEnv();
  env["PARQUET_DIR"] = d / "pq";
  auto r = Lakepack({"export", PgUri(), table, "--flush-rows", "4000", "--json"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(nlohmann::json::parse(r.out)["rows"], 9000);
  auto files = ListFiles(d / "pq");
  ASSERT_EQ(files.size(), 3u);
  ExpectLayout(files, "hive-date", table);
  Checksum got = FilesChecksum(d / "pq");
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.sum, want.sum);

  env["PARQUET_DIR"] = d / "flat_months";
  env["HIVE_SPLIT"] = "0";
  r = Lakepack({"export", PgUri(), table, "--flush-rows", "4000", "--quiet"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  files = ListFiles(d / "flat_months");
  ASSERT_EQ(files.size(), 3u);
  for (const auto& f : files) {
    EXPECT_TRUE(std::regex_match(f, std::regex(R"(year=\d{4}/month=\d\d/perm_items_.*\.parquet)")))
        << f;
  }
  // A rerun resumes in the same folders: nothing new.
  r = Lakepack({"export", PgUri(), table, "--flush-rows", "4000"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("resuming after"), std::string::npos) << r.err;
  EXPECT_EQ(ListFiles(d / "flat_months"), files);

  // --no-resume (S3_RESUME=0) starts at the first row: the same files again, each kept as it
  // is (this run wrote it before), and it says so.
  env["S3_RESUME"] = "0";
  r = Lakepack({"export", PgUri(), table, "--flush-rows", "4000"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find(table + ": not resuming (S3_RESUME=0 / --no-resume): from the first row; "
                               "3 file(s) of this table already in the destination are kept"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(ListFiles(d / "flat_months"), files);
  got = FilesChecksum(d / "flat_months");
  EXPECT_EQ(got.rows, want.rows);
  // A DST given beside S3_BUCKET is bad usage.
  auto both = Lakepack({"export", PgUri(), table, d / "x"}, {{"S3_BUCKET", "b"}});
  EXPECT_EQ(both.exit_code, 2) << both.All();
  EXPECT_NE(both.err.find("give one of them"), std::string::npos) << both.err;
}

// S3_BUCKET/S3_PREFIX: each file is written to PARQUET_DIR, uploaded, and removed locally only
// once the upload is verified. A run killed between the two leaves the file in PARQUET_DIR; the
// next run uploads it before reading new rows, and the bucket ends with every row once.
TEST(ExportSeedForm, S3BucketUploadsAndKeepsFilesUntilVerified) {
  REQUIRE_PG();
  const std::string table = "public.pdi_seedupload";
  SeedTable(table, 12000, 100);
  Checksum want = PgChecksum(table);
  auto lake = TestLake::Open("moto", "export-seed-upload");
  ScratchDir d;
  auto env = PgEnv();
  env["PARQUET_DIR"] = d / "pq";
  env["S3_BUCKET"] = lake->bucket();
  env["S3_PREFIX"] = lake->prefix();
  const std::vector<std::string> args = {"export", PgUri(), table, "--flush-rows", "4000"};
  // Killed after the second file is in PARQUET_DIR, before its upload.
  env["LAKEPACK_CRASH_AT"] = "export-outbox-written:2";
  auto r = lake->Run(args, env);
  ASSERT_EQ(r.exit_code, 137) << r.All();
  auto local = ListFiles(d / "pq");
  ASSERT_EQ(local.size(), 1u);
  EXPECT_EQ(lake->DataKeys().size(), 1u);
  // Killed after that file's upload, before it is removed: the rerun finds it uploaded.
  env["LAKEPACK_CRASH_AT"] = "export-uploaded:1";
  r = lake->Run(args, env);
  ASSERT_EQ(r.exit_code, 137) << r.All();
  EXPECT_EQ(ListFiles(d / "pq"), local);
  EXPECT_EQ(lake->DataKeys().size(), 2u);
  env.erase("LAKEPACK_CRASH_AT");
  env["S3_MAX_KEYS"] = "1";  // the resume reads the listing a key per page
  r = lake->Run(args, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find(fmt::format("{}: uploaded s3://{}/{}/{} left by an earlier run", table,
                                   lake->bucket(), lake->prefix(), local[0])),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("resuming after"), std::string::npos) << r.err;
  EXPECT_TRUE(ListFiles(d / "pq").empty());
  auto keys = lake->DataKeys();
  EXPECT_EQ(keys.size(), 3u);
  ExpectLayout(keys, "hive-date", table);
  std::string fetched = lake->scratch() / "files";
  FetchAll(*lake, fetched);
  Checksum got = FilesChecksum(fetched);
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.sum, want.sum);
  // S3_MAX_KEYS is the page size of the destination's listing: a key a page takes a LIST
  // request per file where the default takes one.
  auto lists = [&](const std::string& max_keys) {
    auto e = env;
    e["S3_MAX_KEYS"] = max_keys;
    std::vector<std::string> a = args;
    a.push_back("--json");
    auto run = lake->Run(a, e);
    EXPECT_EQ(run.exit_code, 0) << run.All();
    return SummaryJson(run)["requests"].value("LIST", 0);
  };
  const int by_default = lists("1000"), one_a_page = lists("1");
  EXPECT_GE(one_a_page, by_default + 2) << by_default << " vs " << one_a_page;
  env["S3_MAX_KEYS"] = "0";
  r = lake->Run(args, env);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  // --no-resume: the flag does what S3_RESUME=0 does.
  env.erase("S3_MAX_KEYS");
  auto again = args;
  again.push_back("--no-resume");
  r = lake->Run(again, env);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.err.find("not resuming (S3_RESUME=0 / --no-resume): from the first row; 3 file(s)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(lake->DataKeys(), keys);
  EXPECT_TRUE(ListFiles(d / "pq").empty());
}

TEST(ExportUsage, ExitCodes) {
  ScratchDir dir;
  auto none = Lakepack({"export", dir / "out"}, {{"PARTITIONS", ""}});
  EXPECT_EQ(none.exit_code, 2) << none.All();
  EXPECT_NE(none.err.find("no tables given"), std::string::npos) << none.err;
  auto layout = Lakepack({"export", "t", dir / "out", "--layout", "weird"});
  EXPECT_EQ(layout.exit_code, 2) << layout.All();
  if (PgEnv().empty()) return;
  auto missing =
      Lakepack({"export", PgUri(), "public.no_such_table", dir / "out", "--retries", "1"}, PgEnv());
  EXPECT_EQ(missing.exit_code, 1) << missing.All();
  EXPECT_NE(missing.All().find("no_such_table"), std::string::npos) << missing.All();
}

}  // namespace
}  // namespace lakepack::e2e
