// End-to-end: the bad-input corpus (issue 9, item 5; docs/testing.md). One table of cases, one
// CTest test per case, grouped by command (BadInput/ConvertCases.Case/FooterCut, ...). Every case
// pins the exit code (0 ok, 1 the work failed, 2 bad usage), the one line that names the file,
// object or flag and the cause, and that nothing it was not asked to change has changed: every
// file of the case's scratch directory (inputs, destinations, and TMPDIR, where spool files
// would be left) and every object of its S3 prefix is compared before and after the run.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <regex>
#include <sstream>

#include "e2e/lake.h"

namespace lakepack::e2e {

// From export_test.cc.
std::map<std::string, std::string> PgEnv();
std::string PgUri();
void SeedTable(const std::string& table, int64_t rows, int64_t same);

namespace {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// What a case needs besides local disk.
enum class Needs { kLocal, kMoto, kMotoAuth, kPostgres };

// Where the case's one line is: an error line on stderr, or a result line (validate's FAIL).
enum class Line { kError, kAny };

// What one case runs against.
struct World {
  ScratchDir dir;
  std::unique_ptr<TestLake> lake;               // Needs::kMoto: a fresh prefix in moto
  std::map<std::string, std::string> env;       // the run's environment
  std::vector<std::string> wrap;                // argv before the binary (prlimit, setpriv)
  std::vector<std::string> secrets;             // must appear in no output
  std::string skip;                             // set by a setup that cannot run here
  std::string auth;                             // Needs::kMotoAuth: s3://bucket/prefix
  std::map<std::string, std::string> auth_env;  // ... with the right key
  std::string operator/(const std::string& name) const { return dir / name; }
};

struct Case {
  std::string group;  // the command
  std::string name;
  //! Makes the inputs and returns lakepack's arguments.
  std::function<std::vector<std::string>(World&)> setup;
  int exit_code = 1;
  //! The line must hold both ({dir}, {lake} and {auth} are filled in). For exit 0, stdout must.
  std::string names;
  std::string cause;
  Needs needs = Needs::kLocal;
  Line line = Line::kError;
  //! Paths ("local:REL" or "s3:KEY") that the run may change: the parts that succeed.
  std::string changes;
  //! A reason to skip: the fix belongs to a file another change owns.
  std::string skip;
  //! Further checks after the run.
  std::function<void(World&, const RunResult&)> also;
  //! How many error lines the run prints (one per failed task).
  int error_lines = 1;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.group << "/" << c.name; }

// ---- making inputs -------------------------------------------------------------------------

// A sample lake of minute files under w/sub, `minutes` files from `start`; returns the files.
std::vector<std::string> Sample(World& w, const std::string& sub, int minutes,
                                const std::string& start = "2025-01-01T00:00") {
  auto r = Lakepack({"sample", w / sub, "--minutes", std::to_string(minutes), "--rows-per-file",
                     "200", "--start", start, "--quiet"});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  std::vector<std::string> files;
  for (auto& f : ListFiles(w / sub)) files.push_back(w / (sub + "/" + f));
  return files;
}

// One good, snappy-compressed Parquet file of 200 rows at w/name.
std::string GoodParquet(World& w, const std::string& name) {
  std::string path = w / name;
  fs::create_directories(fs::path(path).parent_path());
  fs::copy_file(Sample(w, "sample-src", 1).at(0), path);
  fs::remove_all(w / "sample-src");
  return path;
}

std::string Conformance(const std::string& name) { return ConformanceDir() + "/" + name; }

// The ways a Parquet file is broken, each applied to the bytes of a good one.
std::string FooterCut(std::string d) {
  // The tail (footer length, PAR1) stays; half of the footer before it is gone.
  uint32_t len;
  std::memcpy(&len, d.data() + d.size() - 8, 4);
  return d.substr(0, d.size() - 8 - len / 2) + d.substr(d.size() - 8);
}
std::string BadMagicAtEnd(std::string d) { return d.replace(d.size() - 4, 4, "PARX"); }
std::string BadMagicAtStart(std::string d) { return d.replace(0, 4, "XXXX"); }
std::string TruncatedMidFile(std::string d) { return d.substr(0, d.size() / 2); }
std::string FooterLengthTooLarge(std::string d) {
  return d.replace(d.size() - 8, 4, "\xff\xff\xff\x7f");
}
std::string FlippedPageBytes(std::string d) {
  // Inside the first column chunk's (snappy) pages; the footer still parses.
  for (size_t i = 200; i < 600; i++) d[i] = static_cast<char>(d[i] ^ 0xff);
  return d;
}

// Writes `broken(good)` to w/name; `good` is a sample file unless a conformance file is named.
std::string Broken(World& w, const std::string& name, std::string (*broken)(std::string),
                   const std::string& conformance = "") {
  std::string good =
      conformance.empty() ? GoodParquet(w, "good/" + name) : Conformance(conformance);
  std::string path = w / name;
  WriteFile(path, broken(ReadFile(good)));
  if (conformance.empty()) fs::remove_all(w / "good");
  return path;
}

// The lake of rollup cases: hour 00 (3 minute files) and hour 01 (2) of 2025-01-01. Returns
// the files of hour 00; hour 01 is the group that must still succeed.
std::vector<std::string> RollupLake(World& w) {
  Sample(w, "lake", 3);
  Sample(w, "lake", 2, "2025-01-01T01:00");
  std::vector<std::string> hour0;
  for (auto& f : ListFiles(w / "lake")) {
    if (f.find("/2025/01/01/00/") != std::string::npos) hour0.push_back(w / ("lake/" + f));
  }
  return hour0;
}
const char* kHour1Changes = "^local:lake/.*/2025/01/01/(01/|permanent_data_items_20250101T01)";

const char* kTable = "demo/lake/permanent_data_items/2025/01/01/00/";

// A journal record in w/lake, with two real data files the record names as inputs.
std::vector<std::string> TamperedJournal(World& w, const std::string& record) {
  RollupLake(w);
  WriteFile(w / "lake/_lakepack/journal/t1.json", record);
  return {};
}
std::string Record(const std::string& state, const std::string& inputs, const std::string& outputs,
                   const std::string& task = "t1") {
  return R"({"task_id":")" + task + R"(","command":"rollup","input_root":"","state":")" + state +
         R"(","inputs":)" + inputs + R"(,"outputs":)" + outputs + "}";
}
const std::string kRealInput =
    std::string(R"([{"key":")") + kTable +
    R"(permanent_data_items_20250101T0000_s1.parquet","size":1,"etag":""}])";

// When the tests run as root, chmod does not stop the binary: it then runs as nobody, and the
// scratch directory is opened up so that nobody can reach the case's files.
bool DropPrivileges(World& w) {
  if (::geteuid() != 0) return true;
  if (Run({"setpriv", "--version"}).exit_code != 0) {
    w.skip = "running as root without setpriv: chmod cannot make a file unreadable";
    return false;
  }
  w.wrap = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
  fs::permissions(w.dir.path(),
                  fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
  for (auto& e : fs::recursive_directory_iterator(w.dir.path())) {
    if (e.is_directory() && e.path().filename() != "tmp") {
      fs::permissions(e.path(), fs::perms::others_read | fs::perms::others_exec,
                      fs::perm_options::add);
    }
  }
  return true;
}

// A prefix of the auth-on moto, and the right key for it (to prepare and to check).
void AuthWorld(World& w) {
  // Plain characters only (moto's signature check; docs/testing.md), one prefix per case.
  static int cases = 0;
  w.auth = "s3://" + Env("LAKEPACK_TEST_S3_AUTH_BUCKET") + "/bad-input-" +
           std::to_string(::getpid()) + "-" + std::to_string(++cases);
  w.auth_env = {{"AWS_ENDPOINT_URL", Env("LAKEPACK_TEST_S3_AUTH_ENDPOINT")},
                {"AWS_ACCESS_KEY_ID", Env("LAKEPACK_TEST_S3_AUTH_ACCESS_KEY_ID")},
                {"AWS_SECRET_ACCESS_KEY", Env("LAKEPACK_TEST_S3_AUTH_SECRET_ACCESS_KEY")},
                {"AWS_REGION", "us-east-1"},
                {"AWS_PROFILE", ""},
                {"AWS_SESSION_TOKEN", ""}};
  w.env.insert(w.auth_env.begin(), w.auth_env.end());
  w.secrets.push_back(Env("LAKEPACK_TEST_S3_AUTH_SECRET_ACCESS_KEY"));
}

// An object that no run must have written: checked with the right key (moto-auth cannot list
// a prefix with its signature check on; docs/testing.md).
std::function<void(World&, const RunResult&)> AuthObjectAbsent(const std::string& name) {
  return [name](World& w, const RunResult&) {
    auto r = Lakepack({"inspect", w.auth + "/" + name}, w.auth_env);
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_NE(r.err.find("no such file or object"), std::string::npos) << r.err;
  };
}

// One table per test process: CTest runs cases in parallel processes, and two seeding the same
// table at once would drop it under each other.
const std::string& ExportTable() {
  static const std::string table = [] {
    std::string name = "public.bad_input_export_" + std::to_string(::getpid());
    SeedTable(name, 300, 10);
    return name;
  }();
  return table;
}

// Exports ExportTable() flat into w/export; returns its one file.
std::string ExportFile(World& w) {
  auto r = Lakepack({"export", PgUri(), ExportTable(), w / "export", "--layout", "flat"}, PgEnv());
  EXPECT_EQ(r.exit_code, 0) << r.All();
  auto files = ListFiles(w / "export");
  EXPECT_EQ(files.size(), 1u);
  return files.empty() ? "" : w / ("export/" + files[0]);
}

// Renames `path` (same directory) to `name_from(name)`; returns the new path.
std::string Rename(const std::string& path, const std::string& from, const std::string& to) {
  fs::path p(path);
  std::string name = std::regex_replace(p.filename().string(), std::regex(from), to);
  fs::rename(p, p.parent_path() / name);
  return (p.parent_path() / name).string();
}

using Args = std::vector<std::string>;

// A setup that writes `content` to w/in/NAME and converts it to w/OUT, or (no OUT) inspects it.
std::function<Args(World&)> WithFile(const std::string& name, const std::string& content,
                                     const std::string& out = "") {
  return [=](World& w) -> Args {
    WriteFile(w / ("in/" + name), content);
    if (out.empty()) return {"inspect", w / ("in/" + name)};
    return {"convert", w / ("in/" + name), w / out};
  };
}

// A usage error: extra arguments, and what the line must name and say.
struct UsageCase {
  const char* name;
  Args args;
  const char* names;
  const char* cause;
};

// ---- the corpus -----------------------------------------------------------------------------

const std::string kNeedsEngine = "needs src/format/duckdb_engine.cc: ";

std::string Fill(std::string s, World& w);

std::vector<Case> AllCases() {
  std::vector<Case> c;
  auto add = [&](Case x) { c.push_back(std::move(x)); };
  // Usage errors (exit 2): `base` makes the world and the arguments before each case's own
  // (in which {dir} is filled in).
  auto add_usage = [&](const std::string& group, const std::vector<UsageCase>& cases,
                       std::function<Args(World&)> base, Needs needs = Needs::kLocal) {
    for (const auto& u : cases) {
      Args extra = u.args;
      add({group, u.name,
           [base, extra](World& w) -> Args {
             Args a = base(w);
             for (const auto& x : extra) a.push_back(Fill(x, w));
             return a;
           },
           2, u.names, u.cause, needs});
    }
  };

  // convert: Parquet broken in every way, paths, formats, flags.
  struct Breakage {
    const char* name;
    std::string (*fn)(std::string);
    const char* cause;
  };
  const Breakage kBroken[] = {
      {"FooterCut", FooterCut, "not a Parquet file or truncated"},
      {"BadMagicAtEnd", BadMagicAtEnd, "not a Parquet file or truncated"},
      {"TruncatedMidFile", TruncatedMidFile, "not a Parquet file or truncated"},
      {"FooterLengthTooLarge", FooterLengthTooLarge, "Footer length error"},
      {"FlippedPageBytes", FlippedPageBytes, "decompression"},
  };
  for (const auto& b : kBroken) {
    add({"convert", b.name,
         [b](World& w) -> Args {
           return {"convert", Broken(w, "in/bad.parquet", b.fn), w / "out/x.csv"};
         },
         1, "{dir}/in/bad.parquet: ", b.cause, Needs::kLocal, Line::kError, "", ""});
  }
  add({"convert", "ConformanceFileFooterCut",
       [](World& w) -> Args {
         return {"convert",
                 Broken(w, "in/alltypes_plain.parquet", FooterCut, "alltypes_plain.parquet"),
                 w / "out/x.parquet"};
       },
       1, "{dir}/in/alltypes_plain.parquet: ", "not a Parquet file or truncated", Needs::kLocal,
       Line::kError, "", ""});
  add({"convert", "ConformanceFileTruncated",
       [](World& w) -> Args {
         return {"convert",
                 Broken(w, "in/alltypes_plain.parquet", TruncatedMidFile,
                        "alltypes_plain.snappy.parquet"),
                 w / "out/x.parquet"};
       },
       1, "{dir}/in/alltypes_plain.parquet: ", "not a Parquet file or truncated"});
  add({"convert", "BadMagicAtStart",
       [](World& w) -> Args {
         return {"convert", Broken(w, "in/bad.parquet", BadMagicAtStart), w / "out/x.csv"};
       },
       1, "{dir}/in/bad.parquet: ", "no magic bytes at the start"});
  add({"convert", "CorruptPageChecksum",
       [](World& w) -> Args {
         fs::create_directories(w / "in");
         fs::copy_file(Conformance("datapage_v1-corrupt-checksum.parquet"), w / "in/crc.parquet");
         return {"convert", w / "in/crc.parquet", w / "out/x.csv"};
       },
       1, "{dir}/in/crc.parquet: ", "checksum", Needs::kLocal, Line::kError, "",
       kNeedsEngine + "DuckDB does not verify page CRCs, so the corrupt pages are read as data"});
  add({"convert", "ZeroBytes", WithFile("empty.parquet", "", "out/x.csv"), 1,
       "{dir}/in/empty.parquet: ", "empty file (0 bytes)"});
  add({"convert", "OnlyMagicBytes", WithFile("tiny.parquet", "PAR1PAR1", "out/x.csv"), 1,
       "{dir}/in/tiny.parquet: ", "not a Parquet file or truncated"});
  add({"convert", "CsvNamedParquet", WithFile("text.parquet", "a,b\n1,2\n", "out/x.csv"), 1,
       "{dir}/in/text.parquet: ", "not a Parquet file or truncated"});
  add({"convert", "MissingInput",
       [](World& w) -> Args {
         return {"convert", w / "in/nope.parquet", w / "out/x.csv"};
       },
       1, "{dir}/in/nope.parquet: ", "no such file or object"});
  add({"convert", "DirectoryAsInput",
       [](World& w) -> Args {
         fs::create_directories(w / "in/dir.parquet");
         return {"convert", w / "in/dir.parquet", w / "out/x.csv"};
       },
       1, "{dir}/in/dir.parquet", "is a directory"});
  add({"convert", "DirectoryAsOutput",
       [](World& w) -> Args {
         fs::create_directories(w / "out/x.csv");
         return {"convert", GoodParquet(w, "in/good.parquet"), w / "out/x.csv"};
       },
       1, "{dir}/out/x.csv", "directory"});
  add({"convert", "OutputParentIsAFile",
       [](World& w) -> Args {
         WriteFile(w / "out/blocker", "x");
         return {"convert", GoodParquet(w, "in/good.parquet"), w / "out/blocker/x.csv"};
       },
       1, "{dir}/out/blocker", "not a directory"});
  add({"convert", "ReadOnlyDestination",
       [](World& w) -> Args {
         std::string in = GoodParquet(w, "in/good.parquet");
         fs::create_directories(w / "out");
         if (!DropPrivileges(w)) return {};
         fs::permissions(w / "out", fs::perms::owner_read | fs::perms::owner_exec |
                                        fs::perms::others_read | fs::perms::others_exec);
         return {"convert", in, w / "out/x.csv"};
       },
       1, "{dir}/out/x.csv", "Permission denied"});
  add({"convert", "UnreadableInput",
       [](World& w) -> Args {
         std::string in = GoodParquet(w, "in/good.parquet");
         fs::create_directories(w / "out");
         if (!DropPrivileges(w)) return {};
         fs::permissions(in, fs::perms::none);
         fs::permissions(w / "out", fs::perms::all);  // only the input is out of reach
         return {"convert", in, w / "out/x.csv"};
       },
       1, "{dir}/in/good.parquet", "Permission denied"});
  add({"convert", "FullDestination",
       [](World& w) -> Args {
         // A file size limit (RLIMIT_FSIZE) far below the CSV's size: writes fail with EFBIG
         // exactly as on a full disk, without root or a small file system.
         w.wrap = {"prlimit", "--fsize=16384"};
         return {"convert", GoodParquet(w, "in/good.parquet"), w / "out/x.csv"};
       },
       1, "{dir}/out/x.csv: ", "File too large"});
  add({"convert", "UnknownInputFormat", WithFile("data.bin", "1,2\n", "out/x.parquet"), 2,
       "{dir}/in/data.bin: ", "cannot tell the input format"});
  // Usage errors of convert on a good input.
  const std::vector<UsageCase> kConvertUsage = {
      {"UnknownInputFormatFlag",
       {"--input-format", "orc"},
       "--input-format",
       "unknown format 'orc'"},
      {"UnknownOutputFormat", {"--format", "xml"}, "--format", "unknown format 'xml'"},
      {"UnknownCodec", {"--compression", "lzma"}, "--compression", "unknown compression 'lzma'"},
      {"RowGroupRowsZero", {"--row-group-rows", "0"}, "--row-group-rows", "at least 1, got '0'"},
      {"RowGroupRowsNotANumber", {"--row-group-rows", "many"}, "--row-group-rows", "got 'many'"},
      {"UnknownFlag", {"--bogus"}, "--bogus", "not expected"},
  };
  add_usage("convert", kConvertUsage, [](World& w) -> Args {
    return {"convert", GoodParquet(w, "in/good.parquet"), w / "out/x.parquet"};
  });
  add({"convert", "MissingOut",
       [](World& w) -> Args {
         return {"convert", GoodParquet(w, "in/good.parquet")};
       },
       2, "OUT", "required"});
  add({"convert", "DotDotInLocalPathWorks",
       [](World& w) -> Args {
         fs::create_directories(w / "out");
         return {"convert", GoodParquet(w, "in/good.parquet"), w / "out/../out2/x.parquet"};
       },
       0, "200 rows", "", Needs::kLocal, Line::kError, "^local:out2/x\\.parquet$", "",
       [](World& w, const RunResult&) { EXPECT_TRUE(Exists(w / "out2/x.parquet")); }});

  // inspect: the footer only, so broken pages pass and a broken footer does not.
  for (const auto& b : kBroken) {
    bool pages = std::string(b.name) == "FlippedPageBytes";
    add({"inspect", b.name,
         [b](World& w) -> Args {
           return {"inspect", Broken(w, "in/bad.parquet", b.fn)};
         },
         pages ? 0 : 1, pages ? "rows:        200" : "{dir}/in/bad.parquet: ", b.cause,
         Needs::kLocal, Line::kError, "", ""});
  }
  add({"inspect", "ZeroBytes", WithFile("empty.parquet", ""), 1,
       "{dir}/in/empty.parquet: ", "empty file (0 bytes)"});
  add({"inspect", "MissingInput",
       [](World& w) -> Args {
         return {"inspect", w / "in/nope.parquet"};
       },
       1, "{dir}/in/nope.parquet: ", "no such file or object"});
  add({"inspect", "DirectoryAsInput",
       [](World& w) -> Args {
         fs::create_directories(w / "in/dir.parquet");
         return {"inspect", w / "in/dir.parquet"};
       },
       1, "{dir}/in/dir.parquet", "directory"});
  add({"inspect", "UnknownFormat",
       [](World& w) -> Args {
         return {"inspect", GoodParquet(w, "in/good.parquet"), "--input-format", "xml"};
       },
       2, "--input-format", "unknown format 'xml'"});
  add({"inspect", "UnreadableInput",
       [](World& w) -> Args {
         std::string in = GoodParquet(w, "in/good.parquet");
         if (!DropPrivileges(w)) return {};
         fs::permissions(in, fs::perms::none);
         return {"inspect", in};
       },
       1, "{dir}/in/good.parquet", "Permission denied"});

  // rollup: a broken input fails its own group only; usage errors name their flag.
  // One day's arguments and `extra`.
  auto Day = [](Args extra) {
    Args a = {"--start", "2025-01-01", "--end", "2025-01-01"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  const Args kDay = Day({"--grouping", "hour"});
  auto rollup = [kDay](const std::string& src, Args extra = {}) {
    Args a = {"rollup", src};
    a.insert(a.end(), kDay.begin(), kDay.end());
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  for (const auto& b : kBroken) {
    add({"rollup", b.name,
         [b, rollup](World& w) -> Args {
           std::string victim = RollupLake(w).at(1);
           WriteFile(victim, b.fn(ReadFile(victim)));
           return rollup(w / "lake");
         },
         // The file is named in the line, followed by ": " or by a quote (DuckDB's own text).
         1, std::string("{dir}/lake/") + kTable + "permanent_data_items_20250101T0001_s1.parquet",
         b.cause, Needs::kLocal, Line::kError, kHour1Changes, ""});
  }
  add({"rollup", "ZeroByteInput",
       [rollup](World& w) -> Args {
         WriteFile(RollupLake(w).at(2), "");
         return rollup(w / "lake");
       },
       1, std::string("{dir}/lake/") + kTable + "permanent_data_items_20250101T0002_s1.parquet: ",
       "empty file (0 bytes)", Needs::kLocal, Line::kError, kHour1Changes});
  add({"rollup", "CorruptObjectOnS3",
       [rollup](World& w) -> Args {
         auto hour0 = RollupLake(w);
         WriteFile(hour0.at(0), TruncatedMidFile(ReadFile(hour0.at(0))));
         for (auto& f : ListFiles(w / "lake")) w.lake->Put(f, w / ("lake/" + f));
         fs::remove_all(w / "lake");
         return rollup(w.lake->uri());
       },
       1, std::string("{lake}/") + kTable + "permanent_data_items_20250101T0000_s1.parquet: ",
       "not a Parquet file or truncated", Needs::kMoto, Line::kError,
       "^s3:.*/2025/01/01/(01/|permanent_data_items_20250101T01)"});
  const std::vector<UsageCase> kRollupUsage = {
      {"StartMonth13",
       {"--start", "2025-13-01", "--end", "2025-12-31"},
       "--start",
       "invalid month"},
      {"StartNotADate", {"--start", "yesterday", "--end", "2025-01-01"}, "--start", "not a date"},
      {"EndNotADate", {"--start", "2025-01-01", "--end", "2025-02-30"}, "--end", "2025-02-30"},
      {"EndBeforeStart",
       {"--start", "2025-01-02", "--end", "2025-01-01"},
       "--end 2025-01-01",
       "is before --start 2025-01-02"},
      {"GroupingWeek", Day({"--grouping", "week"}), "--grouping", "unknown grouping 'week'"},
      {"GroupingMinute", Day({"--grouping", "minute"}), "--grouping minute", "nothing is finer"},
      {"ParallelZero", Day({"--parallel", "0"}), "--parallel", "at least 1, got '0'"},
      {"ParallelNotANumber", Day({"--parallel", "four"}), "--parallel", "got 'four'"},
      {"ShardOutOfRange", Day({"--shard", "3/2"}), "--shard", "0 <= i < N"},
      {"UnknownCodec", Day({"--compression", "lzma"}), "lzma", "unknown compression"},
      {"MissingEnd", {"--start", "2025-01-01"}, "--end", "required"},
  };
  add_usage("rollup", kRollupUsage, [](World& w) -> Args {
    RollupLake(w);
    return {"rollup", w / "lake"};
  });
  add({"rollup", "MissingSource", [rollup](World& w) -> Args { return rollup(w / "nope"); }, 1,
       "{dir}/nope: ", "No such file or directory"});
  add({"rollup", "SourceIsAFile",
       [rollup](World& w) -> Args { return rollup(GoodParquet(w, "in/good.parquet")); }, 1,
       "{dir}/in/good.parquet: ", "store root is not a directory"});
  add({"rollup", "ReadOnlyLake",
       [rollup](World& w) -> Args {
         RollupLake(w);
         if (!DropPrivileges(w)) return {};
         for (auto& e : fs::recursive_directory_iterator(w / "lake")) {
           if (e.is_directory()) {
             fs::permissions(e.path(), fs::perms::owner_write | fs::perms::group_write,
                             fs::perm_options::remove);
           }
         }
         fs::permissions(w / "lake", fs::perms::owner_write, fs::perm_options::remove);
         return rollup(w / "lake");
       },
       1, "{dir}/lake/", "Permission denied", Needs::kLocal, Line::kError, "", "", nullptr,
       /*error_lines=*/2});
  add({"rollup", "MissingBucket",
       [rollup](World& w) -> Args { return rollup("s3://no-such-bucket-lakepack/lake"); }, 1,
       "s3://no-such-bucket-lakepack", "bucket 'no-such-bucket-lakepack' does not exist",
       Needs::kMoto});
  add({"rollup", "TamperedJournalNotJson",
       [rollup](World& w) -> Args {
         TamperedJournal(w, "{\"task_id\": \"t1\", \"state\": ");
         return rollup(w / "lake");
       },
       1, "{dir}/lake/_lakepack/journal/t1.json: ", "journal record is not JSON"});
  add({"rollup", "TamperedJournalNoOutputs",
       [rollup](World& w) -> Args {
         // Read as it stands, this committed record would delete a data file and publish nothing.
         TamperedJournal(w, Record("committed", kRealInput, "[]"));
         return rollup(w / "lake");
       },
       1, "{dir}/lake/_lakepack/journal/t1.json: ", "lists no outputs"});

  // recover: a record that cannot be trusted stops recovery with nothing deleted.
  const struct {
    const char* name;
    std::string record;
    const char* cause;
  } kRecords[] = {
      {"NotJson", "{\"task_id\": \"t1\",", "journal record is not JSON"},
      {"NotAnObject", "[1, 2]", "journal record is not a JSON object"},
      {"UnknownState", Record("done", kRealInput, "[]"), "state 'done' is neither"},
      {"NoTaskId", R"({"state":"intent","inputs":[],"outputs":[]})", "lacks 'task_id'"},
      {"InputsNotAList", Record("committed", "\"all\"", "[]"), "field 'inputs' is not a list"},
      {"SizeNotANumber",
       Record("committed", std::string(R"([{"key":")") + kTable + R"(x.parquet","size":"big"}])",
              "[]"),
       "field 'size' is not a whole number"},
      {"NoOutputs", Record("committed", kRealInput, "[]"), "lists no outputs"},
      {"StagingOutsideItsTask",
       // Publishing this would copy a data file over another and then delete it as "staged".
       Record("committed", "[]",
              std::string(R"([{"final_key":")") + kTable +
                  R"(permanent_data_items_20250101T0001_s1.parquet","staging_key":")" + kTable +
                  R"(permanent_data_items_20250101T0000_s1.parquet","rows":200,"size":1}])"),
       "is not under _lakepack/staging/t1/"},
      {"TaskIdNotItsName",
       Record("intent", "[]",
              R"([{"final_key":"x.parquet","staging_key":"_lakepack/staging/t2/x.parquet"}])",
              "t2"),
       "journal record is for task 't2'"},
  };
  for (const auto& rec : kRecords) {
    std::string record = rec.record;
    add({"recover", rec.name,
         [record](World& w) -> Args {
           TamperedJournal(w, record);
           return {"recover", w / "lake"};
         },
         1, "{dir}/lake/_lakepack/journal/t1.json: ", rec.cause});
  }
  add({"recover", "TamperedJournalOnS3",
       [](World& w) -> Args {
         TamperedJournal(w, Record("committed", kRealInput, "[]"));
         for (auto& f : ListFiles(w / "lake")) w.lake->Put(f, w / ("lake/" + f));
         fs::remove_all(w / "lake");
         return {"recover", w.lake->uri()};
       },
       1, "{lake}/_lakepack/journal/t1.json: ", "lists no outputs", Needs::kMoto});
  add({"recover", "MissingDestination",
       [](World& w) -> Args {
         return {"recover", w / "nope"};
       },
       1, "{dir}/nope: ", "No such file or directory"});
  add({"recover", "DestinationIsAFile",
       [](World& w) -> Args {
         return {"recover", GoodParquet(w, "in/good.parquet")};
       },
       1, "{dir}/in/good.parquet: ", "store root is not a directory"});

  // S3 keys and credentials.
  add({"store", "UnicodeKeysWork",
       [](World& w) -> Args {
         return {"convert", GoodParquet(w, "in/good.parquet"),
                 w.lake->uri() + "/dañé/日本 x.parquet"};
       },
       0, "200 rows", "", Needs::kMoto, Line::kError, "^s3:dañé/日本 x\\.parquet$", "",
       [](World& w, const RunResult&) {
         // Read back: the same 200 rows under the same name.
         EXPECT_EQ(w.lake->DataKeys(), std::vector<std::string>{"dañé/日本 x.parquet"});
         auto back =
             w.lake->Run({"convert", w.lake->uri() + "/dañé/日本 x.parquet", w / "back/x.jsonl"});
         EXPECT_EQ(back.exit_code, 0) << back.All();
         EXPECT_NE(back.out.find("200 rows"), std::string::npos) << back.out;
         auto i = w.lake->Run({"inspect", w.lake->uri() + "/dañé/日本 x.parquet"});
         EXPECT_NE(i.out.find("rows:        200"), std::string::npos) << i.All();
       }});
  add({"store", "DotsInsideANameWork",
       [](World& w) -> Args {
         return {"convert", GoodParquet(w, "in/good.parquet"), w.lake->uri() + "/a..b/c..parquet"};
       },
       0, "200 rows", "", Needs::kMoto, Line::kError, "^s3:a\\.\\.b/c\\.\\.parquet$", "",
       [](World& w, const RunResult&) { EXPECT_EQ(w.lake->Rows("a..b/c..parquet"), 200); }});
  add({"store", "DotDotSegmentRefused",
       [](World& w) -> Args {
         return {"convert", GoodParquet(w, "in/good.parquet"), w.lake->uri() + "/a/../b.parquet"};
       },
       2, "{lake}/a/../b.parquet: ", "must not contain a '..' segment", Needs::kMoto});
  add({"store", "LeadingSlashRefused",
       [](World& w) -> Args {
         return {"convert", GoodParquet(w, "in/good.parquet"),
                 "s3://" + Env("LAKEPACK_TEST_S3_BUCKET") + "//b.parquet"};
       },
       2, "//b.parquet: ", "must not start with '/'", Needs::kMoto});
  add({"store", "KeyOver1024BytesRefusedBeforeSending",
       [](World& w) -> Args {
         // No server listens on port 1: a request would fail with a connection error instead.
         w.env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:1";
         return {
             "convert", GoodParquet(w, "in/good.parquet"),
             "s3://" + Env("LAKEPACK_TEST_S3_BUCKET") + "/" + std::string(1017, 'k') + ".parquet"};
       },
       2, "kkk.parquet: ", "the key is 1025 bytes long; S3 allows at most 1024", Needs::kMoto});
  add({"store", "KeyOf1024BytesWorks",
       [](World& w) -> Args {
         std::string prefix = w.lake->uri().substr(w.lake->uri().find('/', 5) + 1) + "/";
         std::string name = std::string(1024 - prefix.size() - 8, 'k') + ".parquet";
         return {"convert", GoodParquet(w, "in/good.parquet"), w.lake->uri() + "/" + name};
       },
       0, "200 rows", "", Needs::kMoto, Line::kError, "^s3:k+\\.parquet$"});
  add({"store", "MissingBucket",
       [](World& w) -> Args {
         return {"convert", GoodParquet(w, "in/good.parquet"),
                 "s3://no-such-bucket-lakepack/x.parquet"};
       },
       1, "s3://no-such-bucket-lakepack/x.parquet: ",
       "bucket 'no-such-bucket-lakepack' does not exist", Needs::kMoto});
  add({"store", "MissingObject",
       [](World& w) -> Args {
         return {"convert", w.lake->uri() + "/nope.parquet", w / "out/x.csv"};
       },
       1, "{lake}/nope.parquet: ", "no such file or object", Needs::kMoto});
  add({"store", "PrefixGivenAsObject",
       [](World& w) -> Args {
         return {"inspect", w.lake->uri() + "/dir/", "--input-format", "parquet"};
       },
       2, "{lake}/dir/: ", "names a directory, not an object", Needs::kMoto});
  add({"store", "BucketGivenAsObject",
       [](World& w) -> Args {
         return {"inspect", "s3://" + Env("LAKEPACK_TEST_S3_BUCKET"), "--input-format", "parquet"};
       },
       2, "s3://", "names a bucket, not an object", Needs::kMoto});
  add({"store", "UnknownScheme",
       [](World& w) -> Args {
         return {"inspect", "gs://bucket/x.parquet"};
       },
       2, "gs://bucket/x.parquet: ", "unsupported location scheme 'gs'"});
  add({"store", "WrongSecret",
       [](World& w) -> Args {
         std::string wrong = "WrongSecretQ7vX2mN8pL4kR9tB3wZ6";
         w.env["AWS_SECRET_ACCESS_KEY"] = wrong;
         w.secrets.push_back(wrong);
         return {"convert", GoodParquet(w, "in/good.parquet"), w.auth + "/x.parquet"};
       },
       1, "{auth}/x.parquet: ", "SignatureDoesNotMatch", Needs::kMotoAuth, Line::kError, "", "",
       AuthObjectAbsent("x.parquet")});
  add({"store", "GarbageSessionTokenOnHead",
       [](World& w) -> Args {
         auto up = Lakepack({"convert", GoodParquet(w, "in/good.parquet"), w.auth + "/x.parquet"},
                            w.auth_env);
         EXPECT_EQ(up.exit_code, 0) << up.All();
         w.env["AWS_SESSION_TOKEN"] = "garbage";
         return {"inspect", w.auth + "/x.parquet"};
       },
       1, "{auth}/x.parquet: HEAD refused", "session token (AWS_SESSION_TOKEN)", Needs::kMotoAuth});
  add({"store", "GarbageSessionTokenOnPut",
       [](World& w) -> Args {
         w.env["AWS_SESSION_TOKEN"] = "garbage";
         return {"convert", GoodParquet(w, "in/good.parquet"), w.auth + "/x.parquet"};
       },
       1, "{auth}/x.parquet: ", "InvalidToken", Needs::kMotoAuth, Line::kError, "", "",
       AuthObjectAbsent("x.parquet")});
  add({"store", "NoCredentials",
       [](World& w) -> Args {
         // moto refuses unsigned object requests with 403 even with its signature check off
         // (moto-auth answers them with 500 and would only be retried).
         w.env["AWS_ACCESS_KEY_ID"] = "";
         w.env["AWS_SECRET_ACCESS_KEY"] = "";
         w.env["HOME"] = w / "home";  // no ~/.aws either
         w.lake->Put("x.parquet", GoodParquet(w, "in/good.parquet"));
         return {"inspect", w.lake->uri() + "/x.parquet"};
       },
       1, "{lake}/x.parquet: ", "no credentials were found", Needs::kMoto});

  // export: connections, tables, flags.
  auto pg_uri_for = [](const std::string& user_pass) {
    return "postgres://" + user_pass + "@127.0.0.1:" + PgEnv()["PGPORT"] + "/postgres";
  };
  add({"export", "MissingTable",
       [](World& w) -> Args {
         return {"export", PgUri(), "public.no_such_table", w / "out", "--retries", "1"};
       },
       1, "public.no_such_table", "does not exist", Needs::kPostgres});
  add({"export", "WrongPassword",
       [pg_uri_for](World& w) -> Args {
         std::string pw = "WrongPw9Zx4Qv7Lm2";
         w.secrets.push_back(pw);
         return {"export",      pg_uri_for(PgEnv()["LAKEPACK_TEST_PG_PASSWORD_ROLE"] + ":" + pw),
                 ExportTable(), w / "out",
                 "--retries",   "1"};
       },
       1, "postgres://lakepack_pw:***@", "password authentication failed", Needs::kPostgres});
  add({"export", "UnknownRole",
       [pg_uri_for](World& w) -> Args {
         return {"export", pg_uri_for("nobody_here"), ExportTable(), w / "out", "--retries", "1"};
       },
       1, "postgres://nobody_here@", "role \"nobody_here\" does not exist", Needs::kPostgres});
  add({"export", "NoServer",
       [](World& w) -> Args {
         return {"export",    "postgres://postgres@127.0.0.1:1/postgres",
                 "public.t",  w / "out",
                 "--retries", "1"};
       },
       1, "postgres://postgres@127.0.0.1:1/postgres", "cannot connect", Needs::kPostgres});
  add({"export", "MalformedUri",
       [](World& w) -> Args {
         return {"export", "postgres://[::1/postgres", "public.t", w / "out", "--retries", "1"};
       },
       2, "postgres://[::1/postgres", "IPv6", Needs::kPostgres});
  add({"export", "DestinationIsAFile",
       [](World& w) -> Args {
         WriteFile(w / "out", "x");
         return {"export", PgUri(), ExportTable(), w / "out", "--retries", "1"};
       },
       1, "{dir}/out", "not a directory", Needs::kPostgres});
  const std::vector<UsageCase> kExportUsage = {
      {"ChunkRowsZero", {"--chunk-rows", "0"}, "--chunk-rows", "at least 1, got '0'"},
      {"FlushRowsZero", {"--flush-rows", "0"}, "--flush-rows", "at least 1, got '0'"},
      {"ParallelZero", {"--parallel", "0"}, "--parallel", "at least 1, got '0'"},
      {"RetriesZero", {"--retries", "0"}, "--retries", "at least 1, got '0'"},
      {"ChunkRowsNotANumber", {"--chunk-rows", "10k"}, "--chunk-rows", "got '10k'"},
      {"BadBackoff", {"--retry-backoff", "soon"}, "--retry-backoff", "got 'soon'"},
      {"BadOrderBy", {"--order-by", "uploaded_date"}, "--order-by", "TS_COL,ID_COL"},
  };
  add_usage(
      "export", kExportUsage,
      [](World& w) -> Args {
        return {"export", PgUri(), "public.t", w / "out"};
      },
      Needs::kPostgres);
  add({"export", "ChunkSizeVariableZero",
       [](World& w) -> Args {
         w.env["CHUNK_SIZE"] = "0";
         return {"export", PgUri(), "public.t", w / "out"};
       },
       2, "--chunk-rows", "at least 1, got '0'", Needs::kPostgres});
  add({"export", "NoTables",
       [](World& w) -> Args {
         w.env["PARTITIONS"] = "";
         return {"export", PgUri(), w / "out"};
       },
       2, "no tables given", "", Needs::kPostgres});

  // validate: files that are not what their names say, names that are not export names.
  auto validate = [](World& w, const std::string& path) -> Args {
    return {"validate", path, "--results", w / "results.txt"};
  };
  const char* kResults = "^local:results\\.txt$";
  add({"validate", "NameDoesNotMatchRows",
       [validate](World& w) -> Args {
         return validate(w, Rename(ExportFile(w), "_rows-300", "_rows-299"));
       },
       1, "_rows-299.parquet|", "rows: name says 299, file has 300", Needs::kPostgres, Line::kAny,
       kResults});
  add({"validate", "NameDoesNotMatchFirstId",
       [validate](World& w) -> Args {
         return validate(w, Rename(ExportFile(w), "(Z_)[0-9A-Za-z]{8}-",
                                   "$1"
                                   "AAAAAAAA-"));
       },
       1, "FAIL|file://{dir}/export/", "start id: name says AAAAAAAA", Needs::kPostgres, Line::kAny,
       kResults});
  add({"validate", "TruncatedExportFile",
       [validate](World& w) -> Args {
         std::string f = ExportFile(w);
         WriteFile(f, TruncatedMidFile(ReadFile(f)));
         return validate(w, f);
       },
       1, "FAIL|file://{dir}/export/", "not a Parquet file or truncated", Needs::kPostgres,
       Line::kAny, kResults});
  add({"validate", "ZeroByteExportFile",
       [validate](World& w) -> Args {
         std::string f = ExportFile(w);
         WriteFile(f, "");
         return validate(w, f);
       },
       1, "FAIL|file://{dir}/export/", "empty file (0 bytes)", Needs::kPostgres, Line::kAny,
       kResults});
  add({"validate", "NotAnExportName",
       [validate](World& w) -> Args { return validate(w, GoodParquet(w, "in/good.parquet")); }, 1,
       "FAIL|file://{dir}/in/good.parquet|", "the name does not follow", Needs::kLocal, Line::kAny,
       kResults});
  add({"validate", "MissingPrefix",
       [validate](World& w) -> Args { return validate(w, w / "nope/"); }, 2, "{dir}/nope",
       "No such file or directory"});
  add({"validate", "MissingFile",
       [validate](World& w) -> Args { return validate(w, w / "nope.parquet"); }, 2,
       "{dir}/nope.parquet", "no such file"});
  add({"validate", "MissingS3Prefix",
       [validate](World& w) -> Args { return validate(w, w.lake->uri() + "/nope/"); }, 2,
       "{lake}/nope", "no .parquet files there", Needs::kMoto});
  add({"validate", "ParallelZero",
       [validate](World& w) -> Args {
         Args a = validate(w, w / "x.parquet");
         a.insert(a.end(), {"--parallel", "0"});
         return a;
       },
       2, "--parallel", "at least 1, got '0'"});
  add({"validate", "NoInputs", [](World& w) -> Args { return {"validate"}; }, 2,
       "no files or prefixes", ""});
  add({"validate", "AgainstWithoutTable",
       [validate](World& w) -> Args {
         Args a = validate(w, w / "x.parquet");
         a.insert(a.end(), {"--against", "postgres://x@127.0.0.1:1/db"});
         return a;
       },
       2, "--against", ""});

  // usage: commands and global flags.
  const std::vector<UsageCase> kUsage = {
      {"UnknownCommand", {"shrink", "x"}, "shrink", "not expected"},
      {"UnknownGlobalFlag", {"--colour", "inspect", "{dir}/x.parquet"}, "--colour", "not expected"},
      {"ThreadsNegative",
       {"--threads", "-3", "inspect", "{dir}/x.parquet"},
       "--threads",
       "at least 0, got '-3'"},
      {"ThreadsNotANumber",
       {"inspect", "{dir}/x.parquet", "--threads", "all"},
       "--threads",
       "got 'all'"},
      {"ConcurrencyZero",
       {"--concurrency", "0", "inspect", "{dir}/x.parquet"},
       "--concurrency",
       "at least 1, got '0'"},
      {"SampleMinutesZero",
       {"sample", "{dir}/lake", "--minutes", "0"},
       "--minutes",
       "at least 1, got '0'"},
      {"SampleUnknownFormat",
       {"sample", "{dir}/lake", "--format", "xml"},
       "--format",
       "unknown format 'xml'"},
      {"SampleBadStart", {"sample", "{dir}/lake", "--start", "noon"}, "--start", "got 'noon'"},
      {"PackTargetSizeZero",
       {"pack", "{dir}/in", "{dir}/out", "--table", "t", "--target-size", "0"},
       "--target-size",
       "bad size '0'"},
      {"PackTargetSizeNotASize",
       {"pack", "{dir}/in", "{dir}/out", "--table", "t", "--target-size", "big"},
       "--target-size",
       "bad size 'big'"},
      {"PackMissingTable", {"pack", "{dir}/in", "{dir}/out"}, "--table", "required"},
  };
  add_usage("usage", kUsage, [](World&) -> Args { return {}; });

  // csv: the strict CSV and JSON-lines readers (docs/formats.md), through convert and inspect.
  // Every case names the file and the line; nothing is written.
  auto rows = [](int first, int n) {
    std::string out;
    for (int i = first; i < first + n; i++)
      out += std::to_string(i) + ",n" + std::to_string(i) + ",1.5\n";
    return out;
  };
  const std::string kHeader = "id,name,amount\n";
  struct TextCase {
    const char* name;
    std::string file;
    std::string content;
    std::string cause;
  };
  const std::vector<TextCase> kText = {
      {"RaggedFirstDataLine", "a.csv", kHeader + "1,n1\n" + rows(2, 50),
       "line 2: 2 fields, but the header has 3"},
      {"RaggedMiddleLine", "a.csv", kHeader + rows(1, 500) + "x,y,z,w\n" + rows(501, 500),
       "line 502: 4 fields, but the header has 3"},
      {"RaggedLastLine", "a.csv", kHeader + rows(1, 999) + "1000,n,1.5,EXTRA\n",
       "line 1001: 4 fields, but the header has 3"},
      {"RaggedPastTheSniffSample", "a.csv", kHeader + rows(1, 25000) + "1,2\n",
       "line 25002: 2 fields, but the header has 3"},
      {"ShortHeader", "a.csv", "id,name\n" + rows(1, 999),
       "line 2: 3 fields, but the header has 2"},
      {"LongHeader", "a.csv", "id,name,amount,extra\n" + rows(1, 10),
       "line 2: 3 fields, but the header has 4"},
      {"ThreeLinesThreeShapes", "a.csv", "a,b,c\n1,2\n1,2,3,4\n",
       "line 2: 2 fields, but the header has 3"},
      {"UnterminatedQuote", "a.csv", kHeader + rows(1, 5) + "6,\"open,1.5\n7,n7,1.5\n",
       "line 7: a quoted field opened on line 7 is never closed"},
      {"TextAfterClosingQuote", "a.csv", kHeader + "1,\"n\"x,1.5\n",
       "line 2: unexpected text after a closing quote"},
      {"InvalidUtf8", "a.csv", kHeader + "1,n\xc3\x28,1.5\n", "line 2: not valid UTF-8"},
      {"Latin1Text", "a.csv", kHeader + "1,caf\xe9,1.5\n", "line 2: not valid UTF-8 (byte 0xE9"},
      {"FieldOverTheLineLimit", "a.csv", kHeader + "1," + std::string(9 << 20, 'x') + ",1.5\n",
       "line 2: the record is"},
      {"EmptyHeaderLine", "a.csv", "\n" + rows(1, 3), "line 1: the header line is empty"},
      {"BomThenRagged", "a.csv", "\xEF\xBB\xBF" + kHeader + "1,2\n",
       "line 2: 2 fields, but the header has 3"},
      {"ValueThatBreaksItsType", "a.csv", kHeader + rows(1, 30000) + "x,n,1.5\n", "line 30002"},
      {"JsonNotAnObject", "a.jsonl", "{\"a\":1}\n[1,2]\n", "line 2: not a JSON object"},
      {"JsonScalarLine", "a.jsonl", "{\"a\":1}\n42\n", "line 2: not a JSON object"},
      {"JsonCutLine", "a.jsonl", "{\"a\":1}\n{\"a\":\n{\"a\":3}\n", "line 2: not valid JSON"},
      {"JsonTrailingGarbage", "a.jsonl", "{\"a\":1} x\n", "line 1: not valid JSON"},
      {"JsonInvalidUtf8", "a.jsonl", "{\"a\":\"\xff\"}\n", "line 1: not valid JSON"},
  };
  for (const auto& t : kText) {
    add({"csv", std::string("Convert") + t.name, WithFile(t.file, t.content, "out/x.parquet"), 1,
         "{dir}/in/" + t.file + ": ", t.cause});
  }
  for (const char* name :
       {"RaggedLastLine", "ShortHeader", "UnterminatedQuote", "InvalidUtf8", "JsonNotAnObject"}) {
    for (const auto& t : kText) {
      if (t.name != std::string(name)) continue;
      add({"csv", std::string("Inspect") + t.name, WithFile(t.file, t.content), 1,
           "{dir}/in/" + t.file + ": ", t.cause});
    }
  }
  add({"csv", "ConvertEmptyCsv", WithFile("e.csv", "", "out/x.parquet"), 1,
       "{dir}/in/e.csv: ", "empty file (0 bytes): no header"});
  add({"csv", "ConvertEmptyJsonLines", WithFile("e.jsonl", "", "out/x.parquet"), 1,
       "{dir}/in/e.jsonl: ", "empty file (0 bytes)"});
  // Well-formed variants convert, every row arriving.
  add({"csv", "HeaderOnlyConverts", WithFile("h.csv", kHeader, "out/x.parquet"), 0, "0 rows", "",
       Needs::kLocal, Line::kError, "^local:out/x\\.parquet$"});
  add({"csv", "BomConverts",
       WithFile("b.csv", "\xEF\xBB\xBF" + kHeader + rows(1, 3), "out/x.parquet"), 0, "3 rows", "",
       Needs::kLocal, Line::kError, "^local:out/x\\.parquet$"});
  add({"csv", "RejectsTakeTheBadLines",
       [=](World& w) -> Args {
         WriteFile(w / "in/a.csv", kHeader + rows(1, 10) + "11,n\n" + rows(12, 10));
         return {"convert", w / "in/a.csv", w / "out/x.parquet", "--rejects", w / "out/bad.jsonl"};
       },
       0, "20 rows, ", "", Needs::kLocal, Line::kError, "^local:out/(x\\.parquet|bad\\.jsonl)$", "",
       [](World& w, const RunResult& r) {
         EXPECT_NE(r.out.find("1 record(s) rejected"), std::string::npos) << r.out;
         EXPECT_NE(ReadFile(w / "out/bad.jsonl").find("\"line\":12"), std::string::npos);
       }});

  // pack: a bad input stops the run before anything is written or deleted; conflicts name the
  // column and both files.
  auto pack_of = [](std::vector<std::pair<std::string, std::string>> files,
                    std::vector<std::string> extra) {
    return [=](World& w) -> Args {
      for (const auto& [name, content] : files) WriteFile(w / ("land/T/" + name), content);
      Args a = {"pack", w / "land", w / "db", "--table", "T"};
      a.insert(a.end(), extra.begin(), extra.end());
      return a;
    };
  };
  add({"pack", "RaggedCsvWithDeleteInputs",
       pack_of({{"a.csv", kHeader + rows(1, 100)}, {"b.csv", kHeader + rows(1, 9) + "1,2\n"}},
               {"--delete-inputs"}),
       1, "{dir}/land/T/b.csv: ", "line 11: 2 fields, but the header has 3"});
  add({"pack", "BrokenJsonLinesWithDeleteInputs",
       pack_of({{"a.csv", kHeader + rows(1, 10)}, {"b.jsonl", "{\"id\":1}\n{\"id\":\n"}},
               {"--delete-inputs"}),
       1, "{dir}/land/T/b.jsonl: ", "line 2: not valid JSON"});
  add({"pack", "TextThatIsNotTheStoredType",
       [](World& w) -> Args {
         WriteFile(w / "src/n.csv", "id\n1\n2\n");
         EXPECT_EQ(Lakepack({"convert", w / "src/n.csv", w / "land/T/a.parquet"}).exit_code, 0);
         fs::remove_all(w / "src");
         WriteFile(w / "land/T/b.csv", "id\n007\n");
         return {"pack", w / "land", w / "db", "--table", "T"};
       },
       1, "land/T/b.csv whose value '007' is not a BIGINT", "column 'id' has type BIGINT"});
  add({"pack", "StoredTypesThatDoNotUnite",
       [](World& w) -> Args {
         WriteFile(w / "src/n.csv", "id\n1\n");
         WriteFile(w / "src/s.csv", "id\nx\n");
         EXPECT_EQ(Lakepack({"convert", w / "src/n.csv", w / "land/T/a.parquet"}).exit_code, 0);
         EXPECT_EQ(Lakepack({"convert", w / "src/s.csv", w / "land/T/b.parquet"}).exit_code, 0);
         fs::remove_all(w / "src");
         return {"pack", w / "land", w / "db", "--table", "T"};
       },
       1, "land/T/a.parquet but VARCHAR in ", "column 'id' has type BIGINT"});
  add({"pack", "CorruptParquetInput",
       [](World& w) -> Args {
         Broken(w, "land/T/b.parquet", FlippedPageBytes);
         WriteFile(w / "land/T/a.csv", "id\n1\n");
         return {"pack", w / "land", w / "db", "--table", "T", "--delete-inputs"};
       },
       1, "{dir}/land/T/b.parquet", ""});
  add({"pack", "ChangedInput",
       [=](World& w) -> Args {
         WriteFile(w / "land/T/a.csv", kHeader + rows(1, 10));
         EXPECT_EQ(Lakepack({"pack", w / "land", w / "db", "--table", "T", "--quiet"}).exit_code,
                   0);
         WriteFile(w / "land/T/a.csv", kHeader + rows(1, 11));
         return {"pack", w / "land", w / "db", "--table", "T"};
       },
       1, "{dir}/land/T/a.csv: changed since it was packed into ", "--replace-changed"});
  add({"pack", "StaleManifestOfCsvOutputs",
       [=](World& w) -> Args {
         WriteFile(w / "land/T/a.csv", kHeader + rows(1, 10));
         EXPECT_EQ(
             Lakepack({"pack", w / "land", w / "db", "--table", "T", "--format", "csv", "--quiet"})
                 .exit_code,
             0);
         fs::remove_all(w / "db/T/_lakepack");
         WriteFile(w / "land/T/b.csv", kHeader + rows(11, 5));
         return {"pack", w / "land", w / "db", "--table", "T", "--format", "csv"};
       },
       1, "{dir}/db/T/T_0.csv: no record of the inputs", "could be packed twice"});
  add({"pack", "UnwritableRejectsFile",
       pack_of({{"a.csv", kHeader + rows(1, 10)}}, {"--rejects", "/proc/no/such/dir/r.jsonl"}), 1,
       "--rejects /proc/no/such/dir/r.jsonl", "No such file"});
  add({"pack", "EmptyCsvIsNoInputAtAll", pack_of({{"a.csv", ""}}, {}), 0, "0 file(s) out", "",
       Needs::kLocal, Line::kError, "^local:db/"});
  return c;
}

// ---- running a case -------------------------------------------------------------------------

// A content hash of every file in the world and every object of its lake.
std::map<std::string, std::string> Snapshot(World& w) {
  std::map<std::string, std::string> snap;
  for (auto& e : fs::recursive_directory_iterator(w.dir.path(),
                                                  fs::directory_options::skip_permission_denied)) {
    std::string rel = fs::relative(e.path(), w.dir.path()).string();
    if (e.is_symlink() || !e.is_regular_file()) continue;
    std::error_code ec;
    auto perms = fs::status(e.path(), ec).permissions();
    // An unreadable input is read by us (root or its owner) through a copy of its mode.
    fs::permissions(e.path(), fs::perms::owner_read, fs::perm_options::add, ec);
    snap["local:" + rel] = std::to_string(std::hash<std::string>{}(ReadFile(e.path())));
    fs::permissions(e.path(), perms, fs::perm_options::replace, ec);
  }
  if (w.lake) {
    auto all = w.lake->store().ListAll("");
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    if (all.ok()) {
      for (auto& o : *all) snap["s3:" + o.key] = o.etag + "/" + std::to_string(o.size);
    }
  }
  return snap;
}

std::string Fill(std::string s, World& w) {
  auto put = [&](const std::string& from, const std::string& to) {
    for (size_t at; (at = s.find(from)) != std::string::npos;) s.replace(at, from.size(), to);
  };
  put("{dir}", w.dir.path());
  if (w.lake) put("{lake}", w.lake->uri());
  put("{auth}", w.auth);
  return s;
}

std::vector<std::string> LinesOf(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class BadInputCase : public ::testing::TestWithParam<Case> {
 protected:
  void RunCase() {
    const Case& c = GetParam();
    if (!c.skip.empty()) GTEST_SKIP() << c.skip;
    World w;
    if (c.needs == Needs::kMoto || c.needs == Needs::kMotoAuth) {
      ASSERT_NE(Env("LAKEPACK_TEST_S3_ENDPOINT"), "")
          << "run through ctest: the s3servers fixture provides the S3 servers";
    }
    if (c.needs == Needs::kPostgres) {
      ASSERT_FALSE(PgEnv().empty()) << "run through ctest: the servers.pg fixture";
    }
    if (c.needs == Needs::kMoto) {
      w.lake = TestLake::Open("moto", "bad-input");
      w.env = w.lake->env();
    }
    if (c.needs == Needs::kMotoAuth) AuthWorld(w);
    if (c.needs == Needs::kPostgres) {
      for (auto& [k, v] : PgEnv()) w.env[k] = v;
    }
    // The run's temporary files go to w/tmp: a leftover one shows in the snapshot.
    fs::create_directories(w / "tmp");
    fs::permissions(w / "tmp", fs::perms::all | fs::perms::sticky_bit);
    w.env["TMPDIR"] = w / "tmp";
    Args args = c.setup(w);
    if (!w.skip.empty()) GTEST_SKIP() << w.skip;
    ASSERT_FALSE(HasFailure()) << "the case's setup failed";

    auto before = Snapshot(w);
    Args argv = w.wrap;
    argv.push_back(LAKEPACK_BIN);
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = e2e::Run(argv, w.env);
    auto after = Snapshot(w);

    EXPECT_EQ(r.exit_code, c.exit_code) << r.All();
    std::string names = Fill(c.names, w), cause = Fill(c.cause, w);
    if (c.exit_code == 0) {
      EXPECT_NE(r.out.find(names), std::string::npos) << r.All();
    } else {
      // The error lines: "lakepack CMD: error: ..." (validate's FAIL lines go to stdout).
      std::vector<std::string> errors, matching;
      for (auto& line : LinesOf(r.err)) {
        if (line.rfind("lakepack", 0) == 0 && line.find(": error: ") != std::string::npos) {
          errors.push_back(line);
        }
      }
      const auto& pool = c.line == Line::kError ? errors : LinesOf(r.All());
      for (auto& line : pool) {
        if (line.find(names) != std::string::npos && line.find(cause) != std::string::npos) {
          matching.push_back(line);
        }
      }
      if (c.line == Line::kError) {
        EXPECT_EQ(errors.size(), static_cast<size_t>(c.error_lines)) << r.err;
      }
      EXPECT_FALSE(matching.empty())
          << "no line names '" << names << "' and says '" << cause << "':\n"
          << r.All();
      // An error line names the file once ("x.parquet: too small", not "x.parquet: File
      // 'x.parquet' too small").
      std::string path = names;
      while (!path.empty() && (path.back() == ' ' || path.back() == ':')) path.pop_back();
      // A folder named as a prefix may stand in several paths of the line.
      if (!path.empty() && path.back() == '/') path.clear();
      for (const auto& line : matching) {
        size_t n = 0;
        for (size_t at = 0; !path.empty() && (at = line.find(path, at)) != std::string::npos;
             at += path.size()) {
          n++;
        }
        EXPECT_LE(n, 1u) << "the line names " << path << " " << n << " times: " << line;
      }
      EXPECT_EQ(r.err.find("terminate called"), std::string::npos) << r.err;
    }
    for (auto& s : w.secrets) {
      EXPECT_EQ(r.All().find(s), std::string::npos) << "a secret was printed:\n" << r.All();
    }
    // Nothing changed but what the case allows: inputs intact, no partial output, no temp file.
    std::regex allowed(c.changes.empty() ? "$^" : c.changes);
    for (auto& [path, hash] : after) {
      auto was = before.find(path);
      if (was == before.end() && !std::regex_search(path, allowed)) {
        ADD_FAILURE() << path << " appeared";
      } else if (was != before.end() && was->second != hash && !std::regex_search(path, allowed)) {
        ADD_FAILURE() << path << " changed";
      }
    }
    for (auto& [path, hash] : before) {
      if (!after.count(path) && !std::regex_search(path, allowed)) {
        ADD_FAILURE() << path << " disappeared";
      }
    }
    if (c.also) c.also(w, r);
    // Give the scratch directory back to its owner's cleanup (a read-only one would stay).
    for (auto& e : fs::recursive_directory_iterator(
             w.dir.path(), fs::directory_options::skip_permission_denied)) {
      std::error_code ec;
      fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    }
  }
};

std::vector<Case> CasesOf(const std::string& group) {
  std::vector<Case> out;
  for (auto& c : AllCases()) {
    if (c.group == group) out.push_back(c);
  }
  return out;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

// One suite per command: BadInput/ConvertCases.Case/FooterCut is one CTest test.
#define LAKEPACK_BAD_INPUT_GROUP(Suite, group) \
  class Suite : public BadInputCase {};        \
  TEST_P(Suite, Case) { RunCase(); }           \
  INSTANTIATE_TEST_SUITE_P(BadInput, Suite, ::testing::ValuesIn(CasesOf(group)), CaseName)

LAKEPACK_BAD_INPUT_GROUP(ConvertCases, "convert");
LAKEPACK_BAD_INPUT_GROUP(InspectCases, "inspect");
LAKEPACK_BAD_INPUT_GROUP(RollupCases, "rollup");
LAKEPACK_BAD_INPUT_GROUP(RecoverCases, "recover");
LAKEPACK_BAD_INPUT_GROUP(StoreCases, "store");
LAKEPACK_BAD_INPUT_GROUP(ExportCases, "export");
LAKEPACK_BAD_INPUT_GROUP(ValidateCases, "validate");
LAKEPACK_BAD_INPUT_GROUP(UsageCases, "usage");
LAKEPACK_BAD_INPUT_GROUP(CsvCases, "csv");
LAKEPACK_BAD_INPUT_GROUP(PackCases, "pack");

}  // namespace
}  // namespace lakepack::e2e
