// Acceptance tests of `lakepack watch` (issue 11; the contract is docs/watch.md), on a local
// destination, moto and Ceph RGW (skipped, saying why, when the fixture does not export it):
//
//   WatchOnce    --once --settle 0 over nested CSVs into a bucket (a directory) that does not
//                exist yet: keys mirror the relative names, rows read back by independent
//                readers, ignored names stay out; a rerun, an identical file dropped again and
//                a changed file; a bad CSV among good ones.
//   WatchEnv     the seed's environment variables alone, run as a daemon until SIGTERM.
//   WatchLog     the rotating log with small sizes.
//   WatchDaemon  a daemon taking files written by rename, and a file written piece by piece
//                between scans (the scan gate): never half a file.
//   WatchUsage   bad usage: exit 2, the error names the flag and the value, nothing written.
//
// What the destination holds is seen from outside lakepack (boto3 for S3, the filesystem for
// a local directory) and rows are read back by tests/xread (hyparquet, parquet-wasm). Every
// wait is bounded polling on what the daemon prints or on the store, never a fixed sleep.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "e2e/watch_util.h"

namespace lakepack::e2e::watch {
namespace {

namespace fs = std::filesystem;

const std::chrono::seconds kRunCap{300};

std::string BackendName(const ::testing::TestParamInfo<std::string>& i) { return i.param; }

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int v = 0;
      if (std::sscanf(s.substr(i + 1, 2).c_str(), "%2x", &v) == 1) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// One test's world: DIR (scratch/in, made), a destination that does not exist yet, the
// lakepack TMPDIR (scratch/tmp, to see that no temporary file is left behind).
struct World {
  World(const std::string& backend, const std::string& slug) : dst(Dst::Fresh(backend, slug)) {
    fs::create_directories(dir());
    fs::create_directories(tmp());
  }
  std::string dir() const { return scratch / "in"; }
  std::string tmp() const { return scratch / "tmp"; }
  std::string default_checkpoint() const { return dir() + "/.lakepack-checkpoint.txt"; }
  std::map<std::string, std::string> Env(const std::map<std::string, std::string>& extra = {}) {
    auto env = dst->LakepackEnv();
    env["TMPDIR"] = tmp();
    for (auto& [k, v] : extra) env[k] = v;
    return env;
  }
  //! `lakepack watch DIR DST --once --settle 0 --json EXTRA...`, to its end.
  RunResult Once(const std::vector<std::string>& extra = {},
                 const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> args = {dir(), dst->uri(), "--once", "--settle", "0", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    Daemon d(WatchArgv(args), Env(env));
    return d.Finish(kRunCap);
  }
  ScratchDir scratch;
  std::unique_ptr<Dst> dst;
};

// Stderr holds one INFO line per ingested file, in the documented form:
// "2026-12-01 16:55:36,123 - INFO - ingested a/b.csv: 10 rows, 2049 bytes, 0.03 s -> URI".
void ExpectIngestLines(const std::string& err, const std::vector<CsvSpec>& specs, const Dst& dst) {
  for (const auto& s : specs) {
    std::string rel_re = std::regex_replace(s.rel, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
    std::string key_re =
        std::regex_replace(ParquetKey(s.rel), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
    std::regex line("(^|\n)\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d,\\d{3} - INFO - ingested " +
                    rel_re + ": " + std::to_string(s.rows) +
                    " rows, \\d+ bytes, [0-9.]+ s -> \\S*" + key_re + "(\n|$)");
    EXPECT_TRUE(std::regex_search(err, line))
        << "no INFO line 'ingested " << s.rel << ": " << s.rows << " rows, N bytes, S s -> "
        << (dst.s3() ? dst.uri() + "/" : "") << ParquetKey(s.rel) << "' on stderr:\n"
        << Tail(err);
  }
}

std::vector<std::string> TmpLeftovers(const std::string& tmp) { return ListFiles(tmp); }

// ---------------------------------------------------------------------------------------------
// WatchHarness: the tests' own expectations, checked against `lakepack convert`
// ---------------------------------------------------------------------------------------------

// The multisets the watch tests expect of an object (from JSON lines of the CSV's rows) are the
// ones both Parquet readers give of that CSV converted by `lakepack convert`: a mismatch in a
// watch test is the watcher's, not the harness's.
TEST(WatchHarness, ExpectedRowsAreWhatConvertWrites) {
  ScratchDir s;
  auto specs = NestedSpecs(3);
  specs.push_back({"c/UP.CSV", 900, 7});
  specs.push_back({"sp ace/caf\xc3\xa9 %.csv", 50, 4, "v2"});
  std::vector<std::string> parquets;
  std::map<std::string, std::string> key_of;
  for (const auto& spec : specs) {
    Drop(s / "in", spec);
    std::string out = s / ("out/" + ParquetKey(spec.rel));
    fs::create_directories(fs::path(out).parent_path());
    auto r = Lakepack({"convert", s / ("in/" + spec.rel), out, "--input-format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << r.All();
    parquets.push_back(out);
    key_of[out] = ParquetKey(spec.rel);
  }
  auto expected = ExpectedMultisets(specs, s.path());
  for (const std::string reader : {"hyparquet", "parquet-wasm"}) {
    std::string error;
    auto got = MultisetsOf(parquets, reader, &error);
    ASSERT_EQ(error, "");
    for (auto& [path, m] : got) EXPECT_EQ(m, expected[key_of[path]]) << reader << " " << path;
  }
  EXPECT_EQ(ParquetKey("a/b.csv"), "a/b.parquet");
  EXPECT_EQ(ParquetKey("c/UP.CSV"), "c/UP.parquet");
  EXPECT_EQ(PercentDecode("a%2Fb%20c"), "a/b c");
}

// The tests' view of a bucket (boto3) on each server: a fresh bucket is not there; made and
// written from outside, it lists with its ETag (the MD5 of a single PUT), fetches the bytes
// and gives the user metadata.
class WatchHarnessDst : public ::testing::TestWithParam<std::string> {};

TEST_P(WatchHarnessDst, SeesABucketFromOutside) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  auto dst = Dst::Fresh(backend, "harness");
  std::string error;
  EXPECT_FALSE(dst->Exists(&error));
  ASSERT_EQ(error, "");
  ASSERT_FALSE(dst->BotoForTest({"mb"}, &error).is_discarded()) << error;
  EXPECT_TRUE(dst->Exists(&error)) << error;
  const std::string path = dst->scratch() / "x.csv";
  WriteFile(path, CsvText({"x.csv", 1, 5}));
  ASSERT_FALSE(dst->BotoForTest({"put", "a/x.parquet", path, "lakepack-source-md5=abc"}, &error)
                   .is_discarded())
      << error;
  auto objects = dst->Objects(&error);
  ASSERT_EQ(error, "");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects["a/x.parquet"].etag, Md5Hex(path));
  auto fetched = dst->Fetch({"a/x.parquet"}, &error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(ReadFile(fetched["a/x.parquet"]), ReadFile(path));
  auto meta = dst->Metadata({"a/x.parquet"}, &error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(meta["a/x.parquet"]["lakepack-source-md5"], "abc");
  EXPECT_EQ(dst->KeyOf(dst->uri() + "/a/x.parquet"), "a/x.parquet");
}

INSTANTIATE_TEST_SUITE_P(Watch, WatchHarnessDst, ::testing::Values("moto", "rgw"), BackendName);

// ---------------------------------------------------------------------------------------------
// WatchOnce
// ---------------------------------------------------------------------------------------------

class WatchOnce : public ::testing::TestWithParam<std::string> {};

// Names the watcher must leave alone (docs/watch.md, "Only whole CSVs"); each holds a valid CSV
// so that taking it would show.
const std::vector<std::string> kIgnored = {".hidden.csv",        "x.csv.tmp",        "a/~lock.csv",
                                           "a/y.csv.part",       "a/b/z.csv.swp",    "w.csv~",
                                           "c/q.csv.crdownload", "c/r.csv.filepart", ".git/h.csv",
                                           "a/.cache/i.csv",     "notes.txt",        "a/data.json"};

TEST_P(WatchOnce, MirrorsTheTreeIntoANewBucket) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "mirror-" + backend);
  auto specs = NestedSpecs(10);
  specs.push_back({"c/UP.CSV", 900, 7});
  for (const auto& s : specs) Drop(w.dir(), s);
  for (const auto& name : kIgnored) Drop(w.dir(), {name, 5000, 3});
  std::string error;
  ASSERT_FALSE(w.dst->Exists(&error)) << w.dst->uri() << " exists before the run " << error;

  auto r = w.Once();
  ASSERT_EQ(r.exit_code, 0) << r.All();

  ExpectMirrors(*w.dst, specs, w.scratch.path(), {"hyparquet", "parquet-wasm"});
  ExpectCheckpoint(w.default_checkpoint(), w.dir(), specs, *w.dst);
  ExpectIngestLines(r.err, specs, *w.dst);
  EXPECT_TRUE(TmpLeftovers(w.tmp()).empty())
      << "left in lakepack's TMPDIR: " << Join(TmpLeftovers(w.tmp()));
  // DIR is as it was: nothing deleted, nothing added but the checkpoint.
  auto in_dir = ListFiles(w.dir());
  std::vector<std::string> want_dir = Rels(specs);
  for (const auto& n : kIgnored) want_dir.push_back(n);
  want_dir.push_back(".lakepack-checkpoint.txt");
  // The checkpoint's lock file may stay beside it (docs/watch.md: an exclusive lock on the
  // checkpoint); nothing else may be added.
  in_dir.erase(std::remove(in_dir.begin(), in_dir.end(), ".lakepack-checkpoint.txt.lock"),
               in_dir.end());
  EXPECT_EQ(in_dir, Sorted(want_dir));

  // The events: every stdout line is one, start first, one ingested per file, stop last.
  std::vector<std::string> not_events;
  auto events = ParseEvents(r.out, &not_events);
  EXPECT_TRUE(not_events.empty()) << "stdout lines that are not JSON events:\n"
                                  << Join(not_events, "\n");
  ASSERT_FALSE(events.empty()) << r.All();
  EXPECT_EQ(events.front().value("event", ""), "start") << events.front().dump();
  EXPECT_EQ(events.back().value("event", ""), "stop") << events.back().dump();
  const json start = events.front();
  for (const char* f : {"dir", "dst", "checkpoint", "once", "inotify"}) {
    EXPECT_TRUE(start.contains(f)) << "start event without '" << f << "': " << start.dump();
  }
  EXPECT_EQ(start.value("once", false), true) << start.dump();
  EXPECT_EQ(start.value("checkpoint", ""), w.default_checkpoint()) << start.dump();
  EXPECT_EQ(Sorted(FilesOf(events, "ingested")), Rels(specs));
  auto objects = w.dst->Objects(&error);
  for (const auto& e : Named(events, "ingested")) {
    std::string file = e.value("file", "");
    auto spec = std::find_if(specs.begin(), specs.end(), [&](auto& s) { return s.rel == file; });
    if (spec == specs.end()) continue;
    for (const char* f : {"md5", "rows", "bytes", "seconds", "object", "etag", "replaced"}) {
      EXPECT_TRUE(e.contains(f)) << "ingested event without '" << f << "': " << e.dump();
    }
    EXPECT_EQ(e.value("md5", ""), Md5Hex(w.dir() + "/" + file)) << e.dump();
    EXPECT_EQ(e.value("rows", int64_t{-1}), spec->rows) << e.dump();
    EXPECT_EQ(e.value("replaced", true), false) << e.dump();
    EXPECT_EQ(w.dst->KeyOf(e.value("object", "")), ParquetKey(file)) << e.dump();
    if (w.dst->s3()) {
      EXPECT_EQ(StripQuotes(e.value("etag", "")), objects[ParquetKey(file)].etag) << e.dump();
      EXPECT_EQ(e.value("object", ""), w.dst->uri() + "/" + ParquetKey(file)) << e.dump();
    }
  }
  const json stop = events.back();
  EXPECT_EQ(stop.value("reason", ""), "once") << stop.dump();
  EXPECT_EQ(stop.value("ingested", -1), static_cast<int>(specs.size())) << stop.dump();
  EXPECT_EQ(stop.value("failed", -1), 0) << stop.dump();
  EXPECT_EQ(stop.value("pending", -1), 0) << stop.dump();
  EXPECT_FALSE(Named(events, "scan").empty()) << "no scan event";
  // The ignored names are not even seen: no event names one, and the scans count only CSVs.
  for (const auto& e : events) {
    std::string file = e.value("file", "");
    EXPECT_TRUE(file.empty() ||
                std::find_if(specs.begin(), specs.end(),
                             [&](const CsvSpec& s) { return s.rel == file; }) != specs.end())
        << "an event names a file that must be ignored: " << e.dump();
  }
  json last_scan = Last(events, "scan");
  if (!last_scan.is_discarded()) {
    EXPECT_EQ(last_scan.value("seen", -1), static_cast<int>(specs.size())) << last_scan.dump();
    EXPECT_EQ(last_scan.value("done", -1), static_cast<int>(specs.size())) << last_scan.dump();
  }
}

// The upload carries the source's name and MD5 (S3 metadata; local xattrs).
TEST_P(WatchOnce, ObjectsCarryTheSourceNameAndMd5) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "meta-" + backend);
  auto specs = NestedSpecs(4);
  specs.push_back({"sp ace/caf\xc3\xa9 %.csv", 50, 4});
  for (const auto& s : specs) Drop(w.dir(), s);
  auto r = w.Once();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  ExpectMirrors(*w.dst, specs, w.scratch.path());
  std::string error;
  auto meta = w.dst->Metadata(ExpectedKeys(specs), &error);
  ASSERT_EQ(error, "");
  for (const auto& s : specs) {
    auto& m = meta[ParquetKey(s.rel)];
    std::string all;
    for (auto& [k, v] : m) all += " " + k + "=" + v;
    EXPECT_EQ(PercentDecode(m["lakepack.source-name"] + m["lakepack-source-name"]), s.rel)
        << ParquetKey(s.rel) << " metadata:" << all;
    EXPECT_EQ(m["lakepack.source-md5"] + m["lakepack-source-md5"], Md5Hex(w.dir() + "/" + s.rel))
        << ParquetKey(s.rel) << " metadata:" << all;
  }
}

TEST_P(WatchOnce, RerunWithNothingNewChangesNothing) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "rerun-" + backend);
  auto specs = NestedSpecs(6);
  for (const auto& s : specs) Drop(w.dir(), s);
  auto first = w.Once();
  ASSERT_EQ(first.exit_code, 0) << first.All();
  auto before = Etags(*w.dst);
  std::string checkpoint_before = ReadFile(w.default_checkpoint());

  auto again = w.Once();
  ASSERT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(Etags(*w.dst), before) << "a rerun with nothing new changed the destination";
  auto events = ParseEvents(again.out);
  EXPECT_TRUE(FilesOf(events, "ingested").empty())
      << "ingested again: " << Join(FilesOf(events, "ingested"));
  json stop = Last(events, "stop");
  EXPECT_EQ(stop.is_discarded() ? -1 : stop.value("ingested", -1), 0) << again.out;
  ExpectMirrors(*w.dst, specs, w.scratch.path());
  ExpectCheckpoint(w.default_checkpoint(), w.dir(), specs, *w.dst);
}

TEST_P(WatchOnce, IdenticalFileDroppedAgainChangesNothing) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "redrop-" + backend);
  auto specs = NestedSpecs(6);
  for (const auto& s : specs) Drop(w.dir(), s);
  auto first = w.Once();
  ASSERT_EQ(first.exit_code, 0) << first.All();
  auto before = Etags(*w.dst);

  // The same bytes again, as a copy dropped anew: a new file (new inode), a new mtime.
  const std::string path = w.dir() + "/" + specs[2].rel;
  struct stat old_st {};
  ASSERT_EQ(::stat(path.c_str(), &old_st), 0);
  fs::remove(path);
  Drop(w.dir(), specs[2]);
  struct timespec times[2] = {{old_st.st_atim.tv_sec + 7, 0}, {old_st.st_mtim.tv_sec + 7, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0);

  auto again = w.Once();
  ASSERT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(Etags(*w.dst), before) << "an identical file dropped again changed the destination";
  auto events = ParseEvents(again.out);
  EXPECT_TRUE(FilesOf(events, "ingested").empty())
      << "ingested again: " << Join(FilesOf(events, "ingested"));
  auto unchanged = Named(events, "unchanged");
  bool seen = false;
  for (const auto& e : unchanged) {
    if (e.value("file", "") != specs[2].rel) continue;
    seen = true;
    EXPECT_EQ(e.value("md5", ""), Md5Hex(path)) << e.dump();
  }
  EXPECT_TRUE(seen) << "no 'unchanged' event for " << specs[2].rel << ":\n" << again.out;
  ExpectMirrors(*w.dst, specs, w.scratch.path());
  ExpectCheckpoint(w.default_checkpoint(), w.dir(), specs, *w.dst);
}

TEST_P(WatchOnce, ChangedContentReplacesItsObject) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "change-" + backend);
  auto specs = NestedSpecs(6);
  for (const auto& s : specs) Drop(w.dir(), s);
  auto first = w.Once();
  ASSERT_EQ(first.exit_code, 0) << first.All();
  auto before = Etags(*w.dst);

  // New rows under the same name: other ids, another tag, another row count.
  CsvSpec& changed = specs[1];
  changed.first = 70000;
  changed.rows += 5;
  changed.tag = "v2";
  Drop(w.dir(), changed);
  auto again = w.Once();
  ASSERT_EQ(again.exit_code, 0) << again.All();

  auto after = Etags(*w.dst);
  const std::string key = ParquetKey(changed.rel);
  EXPECT_NE(after[key], before[key]) << key << " was not rewritten";
  for (auto& [k, etag] : before) {
    if (k == key) continue;
    EXPECT_EQ(after[k], etag) << k << " changed, but its CSV did not";
  }
  auto events = ParseEvents(again.out);
  EXPECT_EQ(FilesOf(events, "ingested"), std::vector<std::string>{changed.rel}) << again.out;
  for (const auto& e : Named(events, "ingested")) {
    EXPECT_EQ(e.value("replaced", false), true) << e.dump();
    EXPECT_EQ(e.value("rows", int64_t{-1}), changed.rows) << e.dump();
  }
  // The new rows, and none of the old.
  ExpectMirrors(*w.dst, specs, w.scratch.path(), {"hyparquet", "parquet-wasm"});
  ExpectCheckpoint(w.default_checkpoint(), w.dir(), specs, *w.dst);
}

TEST_P(WatchOnce, BadCsvFailsAloneAndNamesItsLine) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "bad-" + backend);
  auto good = NestedSpecs(6);
  for (const auto& s : good) Drop(w.dir(), s);
  // Line 7 has 3 fields where the header has 4.
  CsvSpec bad{"sub/bad.csv", 500, 5};
  WriteFile(w.dir() + "/" + bad.rel, CsvText(bad) + "99,n99,99.5\n" + "100,n100,100.5,x\n");

  auto r = w.Once();
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find("sub/bad.csv"), std::string::npos) << "stderr does not name the file:\n"
                                                          << Tail(r.err);
  EXPECT_NE(r.err.find("line 7"), std::string::npos) << "stderr does not name the line:\n"
                                                     << Tail(r.err);
  auto events = ParseEvents(r.out);
  auto failed = Named(events, "failed");
  ASSERT_EQ(FilesOf(events, "failed"), std::vector<std::string>{bad.rel}) << r.out;
  EXPECT_NE(failed[0].value("error", "").find("line 7"), std::string::npos) << failed[0].dump();
  EXPECT_EQ(failed[0].value("final", false), true)
      << "a bad CSV is tried again only when it changes: " << failed[0].dump();
  json stop = Last(events, "stop");
  EXPECT_FALSE(stop.is_discarded()) << r.out;
  if (!stop.is_discarded()) {
    EXPECT_EQ(stop.value("failed", -1), 1) << stop.dump();
    EXPECT_EQ(stop.value("ingested", -1), static_cast<int>(good.size())) << stop.dump();
  }
  // The good ones are in DST and in the checkpoint; the bad one in neither.
  ExpectMirrors(*w.dst, good, w.scratch.path());
  ExpectCheckpoint(w.default_checkpoint(), w.dir(), good, *w.dst);

  // Unchanged, it is still not in DST: --once cannot say 0.
  auto again = w.Once();
  EXPECT_EQ(again.exit_code, 1) << again.All();
  ExpectMirrors(*w.dst, good, w.scratch.path());

  // Mended, it goes in.
  Drop(w.dir(), bad);
  auto mended = w.Once();
  EXPECT_EQ(mended.exit_code, 0) << mended.All();
  auto all = good;
  all.push_back(bad);
  ExpectMirrors(*w.dst, all, w.scratch.path());
  ExpectCheckpoint(w.default_checkpoint(), w.dir(), all, *w.dst);
}

// "A deleted CSV leaves its Parquet in place. The watcher never deletes anything in DST or DIR."
TEST_P(WatchOnce, DeletedCsvLeavesItsParquet) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "deleted-" + backend);
  auto specs = NestedSpecs(4);
  for (const auto& s : specs) Drop(w.dir(), s);
  auto first = w.Once();
  ASSERT_EQ(first.exit_code, 0) << first.All();
  auto before = Etags(*w.dst);
  fs::remove(w.dir() + "/" + specs[1].rel);
  auto again = w.Once();
  EXPECT_EQ(again.exit_code, 0) << again.All();
  EXPECT_EQ(Etags(*w.dst), before) << "deleting a CSV changed the destination";
  ExpectMirrors(*w.dst, specs, w.scratch.path());
}

// --format jsonl: DIR/a/b.csv becomes DST/a/b.jsonl, with the same rows.
TEST_P(WatchOnce, FormatJsonlWritesJsonLines) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "jsonl-" + backend);
  auto specs = NestedSpecs(3);
  for (const auto& s : specs) Drop(w.dir(), s);
  auto r = w.Once({"--format", "jsonl"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  std::string error;
  auto keys = w.dst->Keys(&error);
  std::vector<std::string> want;
  for (const auto& s : specs) want.push_back(s.rel.substr(0, s.rel.size() - 4) + ".jsonl");
  EXPECT_EQ(keys, Sorted(want));
  auto expected = ExpectedMultisets(specs, w.scratch.path());
  auto got = w.dst->Multisets(keys, "jsonl", &error);
  ASSERT_EQ(error, "");
  for (const auto& s : specs) {
    const std::string key = s.rel.substr(0, s.rel.size() - 4) + ".jsonl";
    EXPECT_EQ(got[key], expected[ParquetKey(s.rel)]) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(Watch, WatchOnce, ::testing::Values("local", "moto", "rgw"), BackendName);

// "Oldest first: ready files are converted in order of their change time": with one worker,
// the ingested events come in the order the files were written, not in the order of names.
TEST(WatchOrder, OldestFirst) {
  World w("local", "order");
  std::vector<CsvSpec> specs = {
      {"z.csv", 1, 3}, {"a/m.csv", 10, 3}, {"b.csv", 20, 3}, {"a/a.csv", 30, 3}, {"y.csv", 40, 3}};
  int64_t last_ctime = 0;
  for (const auto& s : specs) {
    // Each one written after the one before has a later ctime: wait (bounded) for the clock to
    // move on, so that two files never share one.
    for (int i = 0; i < 1000; i++) {
      Drop(w.dir(), s);
      struct stat st {};
      ::stat((w.dir() + "/" + s.rel).c_str(), &st);
      int64_t ctime = st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
      if (ctime > last_ctime) {
        last_ctime = ctime;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  auto r = w.Once({"--workers", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  std::vector<std::string> written;
  for (const auto& s : specs) written.push_back(s.rel);
  EXPECT_EQ(FilesOf(ParseEvents(r.out), "ingested"), written) << r.out;
}

// ---------------------------------------------------------------------------------------------
// WatchCheckpoint: compaction, the seed's lines, the lock
// ---------------------------------------------------------------------------------------------

// "When the file holds more than twice as many lines as files, it is compacted."
TEST(WatchCheckpoint, CompactedWhenTwiceAsManyLinesAsFiles) {
  World w("local", "compact");
  std::vector<CsvSpec> specs = {{"a.csv", 1, 5}, {"b/b.csv", 100, 5}};
  for (const auto& s : specs) Drop(w.dir(), s);
  auto r = w.Once();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  for (int version = 2; version <= 4; version++) {
    specs[0].first = version * 1000;
    specs[0].tag = "v" + std::to_string(version);
    Drop(w.dir(), specs[0]);
    r = w.Once();
    ASSERT_EQ(r.exit_code, 0) << r.All();
    Checkpoint c = ReadCheckpoint(w.default_checkpoint());
    EXPECT_LE(c.lines, 2 * static_cast<int>(specs.size()) + 1)
        << "after version " << version << ": " << c.Describe();
  }
  r = w.Once();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  Checkpoint c = ReadCheckpoint(w.default_checkpoint());
  EXPECT_LE(c.lines, 2 * static_cast<int>(specs.size()))
      << "5 lines for 2 files, never compacted: " << c.Describe();
  ExpectCheckpoint(w.default_checkpoint(), w.dir(), specs, *w.dst);
  ExpectMirrors(*w.dst, specs, w.scratch.path());
  // No temporary file of the compaction is left beside the checkpoint.
  for (const auto& f : ListFiles(w.dir())) {
    if (f.rfind(".lakepack-checkpoint", 0) == 0) {
      EXPECT_TRUE(f == ".lakepack-checkpoint.txt" || f == ".lakepack-checkpoint.txt.lock") << f;
    }
  }
}

// "Lines of the seed's own checkpoint (/data/csv/a/b.csv:<md5>) are read too, so a seed's
// checkpoint can be taken over": a file the seed uploaded with that content is not uploaded
// again; one whose content changed since, and one the seed never saw, are.
TEST(WatchCheckpoint, SeedCheckpointIsTakenOver) {
  World w("local", "seedckpt");
  std::vector<CsvSpec> specs = {{"a/done.csv", 1, 5}, {"changed.csv", 100, 5}, {"new.csv", 200, 5}};
  for (const auto& s : specs) Drop(w.dir(), s);
  const std::string checkpoint = w.scratch / "checkpoint.txt";
  WriteFile(checkpoint, w.dir() + "/a/done.csv:" + Md5Hex(w.dir() + "/a/done.csv") + "\n" +
                            w.dir() + "/changed.csv:0123456789abcdef0123456789abcdef\n");
  auto r = w.Once({"--checkpoint", checkpoint});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  auto events = ParseEvents(r.out);
  EXPECT_EQ(Sorted(FilesOf(events, "ingested")), Sorted({"changed.csv", "new.csv"})) << r.out;
  std::string error;
  EXPECT_EQ(w.dst->Keys(&error), Sorted({"changed.parquet", "new.parquet"}));
  Checkpoint c = ReadCheckpoint(checkpoint);
  EXPECT_EQ(c.entries.count("changed.csv"), 1u) << c.Describe();
  EXPECT_EQ(c.entries.count("new.csv"), 1u) << c.Describe();
}

// "A torn last line (a crash mid-append) is ignored": the files before it stay done, and the
// next line appended after it is whole (not glued to the torn one).
TEST(WatchCheckpoint, TornLastLineIsIgnored) {
  World w("local", "torn");
  std::vector<CsvSpec> specs = {{"a.csv", 1, 5}, {"b/b.csv", 100, 5}};
  for (const auto& s : specs) Drop(w.dir(), s);
  auto r = w.Once();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto before = Etags(*w.dst);
  {
    std::ofstream f(w.default_checkpoint(), std::ios::app | std::ios::binary);
    f << "{\"file\":\"c.csv\",\"md5\":\"0123";  // no end, no newline
  }
  r = w.Once();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_TRUE(FilesOf(ParseEvents(r.out), "ingested").empty()) << r.out;
  EXPECT_EQ(Etags(*w.dst), before);
  specs.push_back({"c.csv", 200, 5});
  Drop(w.dir(), specs.back());
  r = w.Once();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(FilesOf(ParseEvents(r.out), "ingested"), std::vector<std::string>{"c.csv"}) << r.out;
  // Its line reads back: a rerun does nothing.
  r = w.Once();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_TRUE(FilesOf(ParseEvents(r.out), "ingested").empty()) << r.out;
  Checkpoint c = ReadCheckpoint(w.default_checkpoint());
  EXPECT_TRUE(c.bad_lines.empty()) << "a line glued to the torn one: " << Join(c.bad_lines, "\n");
  ExpectCheckpoint(w.default_checkpoint(), w.dir(), specs, *w.dst);
  ExpectMirrors(*w.dst, specs, w.scratch.path());
}

// "The watcher holds an exclusive lock on the checkpoint, so a second watcher of the same
// checkpoint stops with an error at once."
TEST(WatchCheckpoint, SecondWatcherOfTheCheckpointStopsAtOnce) {
  World w("local", "lock");
  Drop(w.dir(), {"a.csv", 1, 5});
  const std::string checkpoint = w.scratch / "checkpoint.txt";
  Daemon first(
      WatchArgv({w.dir(), w.dst->uri(), "--json", "--poll", "1", "--checkpoint", checkpoint}),
      w.Env());
  std::string why;
  ASSERT_TRUE(first.WaitEvents("scan", 1, kCap, &why)) << why << "\n" << Tail(first.Err());
  Daemon second(WatchArgv({w.dir(), w.scratch / "other-dst", "--once", "--settle", "0",
                           "--checkpoint", checkpoint}),
                w.Env());
  auto r = second.Finish(std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find(checkpoint), std::string::npos) << "the error should name the checkpoint:\n"
                                                       << r.err;
  EXPECT_FALSE(Exists(w.scratch / "other-dst/a.parquet")) << "the second watcher wrote";
  EXPECT_TRUE(first.Alive()) << "the first watcher ended:\n" << Tail(first.Err());
  first.Signal(SIGTERM);
  auto f = first.Finish(std::chrono::seconds(60));
  EXPECT_EQ(f.exit_code, 0) << Tail(f.All());
}

// ---------------------------------------------------------------------------------------------
// WatchEnv: the seed's variables alone
// ---------------------------------------------------------------------------------------------

class WatchEnv : public ::testing::TestWithParam<std::string> {};

TEST_P(WatchEnv, SeedVariablesAloneRunTheDaemon) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "env-" + backend);
  auto specs = NestedSpecs(5);
  for (const auto& s : specs) Drop(w.dir(), s);
  const std::string checkpoint = w.scratch / "state/checkpoint.txt";
  fs::create_directories(w.scratch / "state");
  const S3Server& server = w.dst->server();
  // moto accepts any secret: a distinctive one proves it never shows. RGW needs its own.
  const std::string secret = backend == "moto" ? "watch-env-secret-Zq8v" : server.secret;

  // Only the seed's names: no AWS_* variable, no argument, no flag.
  std::vector<std::string> argv = {"env",
                                   "-u",
                                   "AWS_ENDPOINT_URL",
                                   "-u",
                                   "AWS_ACCESS_KEY_ID",
                                   "-u",
                                   "AWS_SECRET_ACCESS_KEY",
                                   "-u",
                                   "AWS_REGION",
                                   "-u",
                                   "AWS_DEFAULT_REGION",
                                   "-u",
                                   "AWS_PROFILE",
                                   "-u",
                                   "AWS_SESSION_TOKEN",
                                   LAKEPACK_BIN,
                                   "watch"};
  Daemon d(argv, {{"CSV_DIRECTORY_PATH", w.dir()},
                  {"CHECKPOINT_FILE", checkpoint},
                  {"MINIO_SERVER", server.HostPort()},
                  {"MINIO_ACCESS_KEY", server.key_id},
                  {"MINIO_SECRET_KEY", secret},
                  {"MINIO_BUCKET", w.dst->bucket()},
                  {"LOG_LEVEL", "WARNING"},
                  {"TMPDIR", w.tmp()}});
  ASSERT_EQ(d.spawn_error(), "");
  const auto want = ExpectedKeys(specs);
  std::string why;
  bool landed = d.WaitUntil(
      [&] {
        std::string error;
        if (!w.dst->Exists(&error)) return false;
        return w.dst->Keys(&error) == want &&
               ReadCheckpoint(checkpoint).entries.size() == specs.size();
      },
      kCap, &why);
  EXPECT_TRUE(landed) << "the objects and the checkpoint did not come: " << why << "\n"
                      << Tail(d.Err());
  d.Signal(SIGTERM);
  auto r = d.Finish(std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << "after SIGTERM:\n" << r.All();
  ExpectMirrors(*w.dst, specs, w.scratch.path());
  ExpectCheckpoint(checkpoint, w.dir(), specs, *w.dst);
  EXPECT_FALSE(Exists(w.default_checkpoint())) << "CHECKPOINT_FILE was not used";
  EXPECT_EQ(r.err.find(" - INFO - "), std::string::npos) << "LOG_LEVEL=WARNING, yet INFO lines:\n"
                                                         << Tail(r.err);
  EXPECT_EQ(r.All().find(secret), std::string::npos) << "the secret shows in the output";
  EXPECT_EQ(ReadFile(checkpoint).find(secret), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Watch, WatchEnv, ::testing::Values("moto", "rgw"), BackendName);

// ---------------------------------------------------------------------------------------------
// WatchLog: rotation
// ---------------------------------------------------------------------------------------------

TEST(WatchLog, RotatesWithSmallSizes) {
  World w("local", "log");
  auto specs = NestedSpecs(60, 3);
  for (const auto& s : specs) Drop(w.dir(), s);
  const std::string log = w.scratch / "logs/watch.log";
  fs::create_directories(w.scratch / "logs");
  auto r = w.Once({"--log-file", log, "--log-max-bytes", "2000", "--log-max-files", "3",
                   "--log-level", "DEBUG"});
  ASSERT_EQ(r.exit_code, 0) << Tail(r.All());
  ExpectMirrors(*w.dst, specs, w.scratch.path());

  EXPECT_TRUE(Exists(log)) << log;
  EXPECT_TRUE(Exists(log + ".1")) << log << ".1";
  EXPECT_TRUE(Exists(log + ".2")) << log << ".2";
  EXPECT_FALSE(Exists(log + ".3")) << "--log-max-files 3 keeps FILE, FILE.1 and FILE.2 only";
  std::vector<std::string> in_logs = ListFiles(w.scratch / "logs");
  EXPECT_EQ(in_logs, (std::vector<std::string>{"watch.log", "watch.log.1", "watch.log.2"}));
  const std::regex form(
      R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (DEBUG|INFO|WARNING|ERROR|CRITICAL) - .*)");
  for (const std::string& name : {log, log + ".1", log + ".2"}) {
    if (!Exists(name)) continue;
    std::string text = ReadFile(name);
    size_t longest = 0;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      longest = std::max(longest, line.size() + 1);
      EXPECT_TRUE(std::regex_match(line, form)) << name << ": not a log line: " << line;
      EXPECT_NE(r.err.find(line), std::string::npos)
          << name << " holds a line that stderr does not: " << line;
    }
    EXPECT_GT(text.size(), 0u) << name;
    // At most one line past the limit: a rotating log starts a new file before a line that
    // would not fit.
    EXPECT_LE(text.size(), 2000u + longest) << name << " is " << text.size() << " bytes";
    EXPECT_LE(text.size(), 2000u) << name << " is " << text.size() << " bytes, over 2000";
  }
  // The newest file holds the last file's line.
  auto ingested = FilesOf(ParseEvents(r.out), "ingested");
  ASSERT_FALSE(ingested.empty());
  EXPECT_NE(ReadFile(log).find("ingested " + ingested.back() + ":"), std::string::npos)
      << "the last ingested file (" << ingested.back() << ") is not in " << log;
}

// ---------------------------------------------------------------------------------------------
// WatchDaemon
// ---------------------------------------------------------------------------------------------

class WatchDaemon : public ::testing::TestWithParam<std::string> {};

TEST_P(WatchDaemon, TakesFilesWrittenByRename) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "rename-" + backend);
  const std::string checkpoint = w.scratch / "checkpoint.txt";
  Daemon d(WatchArgv({w.dir(), w.dst->uri(), "--json", "--poll", "1", "--checkpoint", checkpoint}),
           w.Env());
  std::string why;
  ASSERT_TRUE(d.WaitEvents("scan", 1, kCap, &why)) << why << "\n" << Tail(d.Err());

  // A writer's temporary name, half written, in a folder made after the start; the daemon
  // scans it (and must leave it alone) before the rest comes and it is renamed.
  CsvSpec x{"new/sub/x.csv", 1, 400};
  CsvSpec y{"y.csv", 1000, 30};
  const std::string x_text = CsvText(x);
  const std::string x_tmp = w.dir() + "/new/sub/.x.csv.tmp";
  WriteFile(x_tmp, x_text.substr(0, x_text.size() / 2));
  WriteFile(w.dir() + "/.y.csv.tmp", CsvText(y).substr(0, 100));
  size_t scans = Named(d.Events(), "scan").size();
  ASSERT_TRUE(d.WaitEvents("scan", scans + 2, kCap, &why)) << why << "\n" << Tail(d.Err());
  EXPECT_TRUE(FilesOf(d.Events(), "ingested").empty()) << d.Out();
  {
    std::ofstream f(x_tmp, std::ios::app | std::ios::binary);
    f << x_text.substr(x_text.size() / 2);
  }
  fs::rename(x_tmp, w.dir() + "/" + x.rel);
  WriteFile(w.dir() + "/.y.csv.tmp", CsvText(y));
  fs::rename(w.dir() + "/.y.csv.tmp", w.dir() + "/" + y.rel);

  EXPECT_TRUE(d.WaitUntil(
      [&] {
        auto files = FilesOf(d.Events(), "ingested");
        return std::count(files.begin(), files.end(), x.rel) &&
               std::count(files.begin(), files.end(), y.rel);
      },
      kCap, &why))
      << "x.csv and y.csv were not both ingested: " << why << "\n"
      << d.Out() << Tail(d.Err());
  d.Signal(SIGTERM);
  auto r = d.Finish(std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << "after SIGTERM:\n" << Tail(r.All());
  auto events = ParseEvents(r.out);
  EXPECT_EQ(Sorted(FilesOf(events, "ingested")), Sorted({x.rel, y.rel})) << r.out;
  // The temporary names were never taken, not even tried.
  EXPECT_TRUE(FilesOf(events, "failed").empty()) << r.out;
  EXPECT_TRUE(FilesOf(events, "skipped").empty()) << r.out;
  json stop = Last(events, "stop");
  EXPECT_EQ(stop.is_discarded() ? "" : stop.value("reason", ""), "signal") << r.out;
  ExpectMirrors(*w.dst, {x, y}, w.scratch.path());
  ExpectCheckpoint(checkpoint, w.dir(), {x, y}, *w.dst);
}

// A file written piece by piece, one piece between two scans (the scan gate), some pieces
// ending mid-line: with --settle 0 it is ready only once two scans saw it the same, so it is
// taken once, whole.
TEST_P(WatchDaemon, SlowWriterNeverGivesHalfAFile) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "slow-" + backend);
  const std::string checkpoint = w.scratch / "checkpoint.txt";
  ScanGate gate(w.scratch / "gate.fifo");
  ASSERT_TRUE(gate.ok());
  Daemon d(WatchArgv({w.dir(), w.dst->uri(), "--json", "--settle", "0", "--poll", "1",
                      "--checkpoint", checkpoint}),
           w.Env({{"LAKEPACK_WATCH_SCAN_GATE", gate.path()}}));
  std::string why;
  size_t scans = 0;
  auto scan = [&] {
    gate.Release();
    scans++;
    return d.WaitEvents("scan", scans, kCap, &why);
  };
  ASSERT_TRUE(scan()) << why << "\n" << Tail(d.Err());

  CsvSpec s{"slow/s.csv", 1, 300};
  const std::string text = CsvText(s);
  const std::string path = w.dir() + "/" + s.rel;
  fs::create_directories(fs::path(path).parent_path());
  // Cut points: mid-line on purpose (a piece never ends where a line does, but for the last).
  const std::vector<double> cuts = {0.07, 0.21, 0.38, 0.55, 0.71, 0.9, 1.0};
  size_t from = 0;
  for (double c : cuts) {
    size_t to = static_cast<size_t>(c * static_cast<double>(text.size()));
    if (c < 1.0 && text[to - 1] == '\n') to++;
    {
      std::ofstream f(path, std::ios::app | std::ios::binary);
      f << text.substr(from, to - from);
    }
    from = to;
    ASSERT_TRUE(scan()) << why << "\n" << Tail(d.Err());
    // Taken early, it would be ingested (half a file), failed (a cut last line), or skipped
    // (changed while converted): none of these may happen before it is whole.
    for (const char* what : {"ingested", "failed", "skipped"}) {
      auto taken = FilesOf(d.Events(), what);
      ASSERT_EQ(std::count(taken.begin(), taken.end(), s.rel), 0)
          << s.rel << " was taken (" << what << ") with " << to << " of its " << text.size()
          << " bytes written:\n"
          << d.Out();
    }
  }
  // Two scans have now seen it the same only after one more.
  ASSERT_TRUE(scan()) << why << "\n" << Tail(d.Err());
  EXPECT_TRUE(d.WaitUntil(
      [&] {
        auto files = FilesOf(d.Events(), "ingested");
        return std::count(files.begin(), files.end(), s.rel) > 0;
      },
      kCap, &why))
      << s.rel << " was not ingested after two scans saw it the same: " << why << "\n"
      << d.Out() << Tail(d.Err());
  gate.Close();  // EOF: scans run on their own again
  d.Signal(SIGTERM);
  auto r = d.Finish(std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << "after SIGTERM:\n" << Tail(r.All());
  auto events = ParseEvents(r.out);
  EXPECT_EQ(FilesOf(events, "ingested"), std::vector<std::string>{s.rel}) << r.out;
  EXPECT_TRUE(FilesOf(events, "failed").empty()) << r.out;
  EXPECT_TRUE(FilesOf(events, "skipped").empty()) << r.out;
  for (const auto& e : Named(events, "ingested")) {
    EXPECT_EQ(e.value("rows", int64_t{-1}), s.rows) << e.dump();
    EXPECT_EQ(e.value("md5", ""), Md5Hex(path)) << e.dump();
  }
  ExpectMirrors(*w.dst, {s}, w.scratch.path(), {"hyparquet", "parquet-wasm"});
  ExpectCheckpoint(checkpoint, w.dir(), {s}, *w.dst);
}

// "A bad CSV ... is reported with its name and line, not uploaded, not checkpointed, and tried
// again only when it changes": the daemon reports it once over several scans, and takes it
// once mended.
TEST_P(WatchDaemon, BadCsvTriedAgainOnlyWhenItChanges) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "dbad-" + backend);
  CsvSpec bad{"bad.csv", 1, 5};
  const std::string path = w.dir() + "/" + bad.rel;
  WriteFile(path, CsvText(bad) + "6,n6\n");
  const std::string checkpoint = w.scratch / "checkpoint.txt";
  Daemon d(WatchArgv({w.dir(), w.dst->uri(), "--json", "--settle", "0", "--poll", "1",
                      "--checkpoint", checkpoint}),
           w.Env());
  std::string why;
  ASSERT_TRUE(d.WaitEvents("failed", 1, kCap, &why)) << why << "\n" << Tail(d.Err());
  size_t scans = Named(d.Events(), "scan").size();
  ASSERT_TRUE(d.WaitEvents("scan", scans + 3, kCap, &why)) << why << "\n" << Tail(d.Err());
  EXPECT_EQ(FilesOf(d.Events(), "failed"), std::vector<std::string>{bad.rel})
      << "tried again though it did not change:\n"
      << d.Out();
  // Mended (new content, new size): taken.
  Drop(w.dir(), bad);
  EXPECT_TRUE(d.WaitUntil([&] { return !FilesOf(d.Events(), "ingested").empty(); }, kCap, &why))
      << "the mended file was not taken: " << why << "\n"
      << d.Out();
  d.Signal(SIGTERM);
  auto r = d.Finish(std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 0) << Tail(r.All());
  EXPECT_EQ(FilesOf(ParseEvents(r.out), "ingested"), std::vector<std::string>{bad.rel});
  ExpectMirrors(*w.dst, {bad}, w.scratch.path());
  ExpectCheckpoint(checkpoint, w.dir(), {bad}, *w.dst);
}

INSTANTIATE_TEST_SUITE_P(Watch, WatchDaemon, ::testing::Values("local", "moto", "rgw"),
                         BackendName);

// ---------------------------------------------------------------------------------------------
// WatchTwo: two watchers of one DIR and one DST (each its own checkpoint)
// ---------------------------------------------------------------------------------------------

// "Under a lease on the key, so two watchers (or a watcher and a rerun) never write one key at
// once", and "a file whose Parquet is in DST with its MD5 in the metadata but not yet in the
// checkpoint is recorded without a second upload": two --once runs started together upload each
// file once between them (the other records it), both exit 0, and both checkpoints have every
// file.
class WatchTwo : public ::testing::TestWithParam<std::string> {};

TEST_P(WatchTwo, TwoWatchersUploadEachFileOnce) {
  const std::string backend = GetParam();
  WATCH_SKIP_UNLESS_AVAILABLE(backend);
  World w(backend, "two-" + backend);
  auto specs = NestedSpecs(16);
  for (const auto& s : specs) Drop(w.dir(), s);
  std::vector<Launch> launches;
  for (int i = 0; i < 2; i++) {
    launches.push_back({WatchArgv({w.dir(), w.dst->uri(), "--once", "--settle", "0", "--json",
                                   "--checkpoint", w.scratch / ("ck" + std::to_string(i))}),
                        w.Env(), 0});
  }
  auto runs = RunTogether(launches);
  std::map<std::string, int> uploads;
  for (size_t i = 0; i < runs.size(); i++) {
    EXPECT_EQ(runs[i].exit_code, 0) << "run " << i << ":\n" << Tail(runs[i].All());
    for (const auto& f : FilesOf(ParseEvents(runs[i].out), "ingested")) uploads[f]++;
    ExpectCheckpoint(w.scratch / ("ck" + std::to_string(i)), w.dir(), specs, *w.dst);
  }
  for (const auto& s : specs) {
    EXPECT_EQ(uploads[s.rel], 1) << s.rel << " was uploaded " << uploads[s.rel]
                                 << " time(s) by the two watchers";
  }
  ExpectMirrors(*w.dst, specs, w.scratch.path());
}

INSTANTIATE_TEST_SUITE_P(Watch, WatchTwo, ::testing::Values("local", "moto", "rgw"), BackendName);

// ---------------------------------------------------------------------------------------------
// WatchUsage
// ---------------------------------------------------------------------------------------------

struct UsageCase {
  const char* name;
  friend void PrintTo(const UsageCase& c, std::ostream* os) { *os << c.name; }
  std::vector<std::string> args;  // after "watch DIR DST --once"; "{dir}" is the scratch dir
  std::vector<std::string> says;  // each must be on stderr ("a|b": one of them)
  bool no_dst = false;            // no DST argument (and no MINIO_BUCKET)
};

class WatchUsage : public ::testing::TestWithParam<UsageCase> {};

TEST_P(WatchUsage, ExitsTwoAndNamesTheFlag) {
  const UsageCase& c = GetParam();
  ScratchDir scratch;
  const std::string dir = scratch / "in";
  const std::string dst = scratch / "dst";
  Drop(dir, {"a.csv", 1, 3});
  std::vector<std::string> args = {dir};
  if (!c.no_dst) args.push_back(dst);
  args.push_back("--once");
  for (auto a : c.args) {
    if (auto at = a.find("{dir}"); at != std::string::npos) a.replace(at, 5, scratch.path());
    args.push_back(a);
  }
  std::vector<std::string> argv = {
      "env", "-u",       "MINIO_BUCKET", "-u", "CSV_DIRECTORY_PATH", "-u", "CHECKPOINT_FILE",
      "-u",  "LOG_LEVEL"};
  for (const auto& a : WatchArgv(args)) argv.push_back(a);
  Daemon d(argv, {{"TMPDIR", scratch.path()}});
  auto r = d.Finish(std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 2) << r.All();
  for (const auto& s : c.says) {
    bool found = false;
    std::istringstream any(s);
    for (std::string one; std::getline(any, one, '|');)
      found = found || r.err.find(one) != std::string::npos;
    EXPECT_TRUE(found) << "stderr should say '" << s << "':\n" << r.err;
  }
  EXPECT_EQ(r.out, "") << "bad usage prints no event";
  EXPECT_FALSE(Exists(dst)) << "bad usage created the destination";
  EXPECT_EQ(ListFiles(dir), std::vector<std::string>{"a.csv"}) << "bad usage wrote into DIR";
}

const UsageCase kUsage[] = {
    {"UnknownFlag", {"--bogus"}, {"--bogus"}},
    {"UnknownFormat", {"--format", "xml"}, {"--format", "xml"}},
    {"UnknownCompression", {"--compression", "lzma"}, {"--compression", "lzma"}},
    {"WorkersNotANumber", {"--workers", "many"}, {"--workers", "many"}},
    {"WorkersNegative", {"--workers", "-2"}, {"--workers", "-2"}},
    {"RetriesNotANumber", {"--retries", "lots"}, {"--retries", "lots"}},
    {"RetryDelayNotANumber", {"--retry-delay", "soon"}, {"--retry-delay", "soon"}},
    {"SettleNegative", {"--settle", "-1"}, {"--settle", "-1"}},
    {"PollNotANumber", {"--poll", "often"}, {"--poll", "often"}},
    {"UnknownLogLevel", {"--log-level", "LOUD"}, {"--log-level", "LOUD"}},
    {"LogMaxBytesNotASize", {"--log-max-bytes", "big"}, {"--log-max-bytes", "big"}},
    {"LogMaxFilesNotANumber", {"--log-max-files", "all"}, {"--log-max-files", "all"}},
    {"TooManyArguments", {"{dir}/extra"}, {"extra"}},
    {"NoDestination", {}, {"DST|MINIO_BUCKET"}, true},
};

INSTANTIATE_TEST_SUITE_P(Watch, WatchUsage, ::testing::ValuesIn(kUsage),
                         [](const ::testing::TestParamInfo<UsageCase>& i) {
                           return std::string(i.param.name);
                         });

}  // namespace
}  // namespace lakepack::e2e::watch
