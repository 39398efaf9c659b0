// Helpers of the `lakepack watch` acceptance tests (watch_test.cc, watch_faults_test.cc,
// watch_crash_test.cc; the contract is docs/watch.md): CSV files with known rows, destinations
// that do not exist yet (a fresh bucket on moto or RGW, a local directory not made yet), an
// independent view of them (boto3 for S3, the filesystem for a local directory; rows read back
// by tests/xread), the checkpoint and the --json events as the tests read them, and a daemon
// that runs while a test watches what it does.
//
// Every wait here is bounded polling on observable state (events on stdout, objects in the
// store, the checkpoint), never a sleep that decides a verdict.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "e2e/harness.h"

namespace lakepack::e2e::watch {

using json = nlohmann::json;

//! The generous cap of every bounded wait: a condition that holds ends the wait at once.
inline constexpr std::chrono::seconds kCap{120};

std::string Env(const char* name);

// ---------------------------------------------------------------------------------------------
// Test servers
// ---------------------------------------------------------------------------------------------

//! One S3 server of the CTest fixture, from LAKEPACK_TEST_STORE_<NAME>_* ("moto", "rgw").
struct S3Server {
  std::string backend;
  std::string endpoint;  // http://127.0.0.1:PORT
  std::string key_id, secret, region;
  //! "127.0.0.1:PORT", as MINIO_SERVER takes it.
  std::string HostPort() const;
  int Port() const;
};

//! Why `backend` cannot be used here ("" when it can): "local" always can; an S3 backend needs
//! the fixture's LAKEPACK_TEST_STORE_<NAME>_ENDPOINT.
std::string Unavailable(const std::string& backend);
S3Server ServerOf(const std::string& backend);

#define WATCH_SKIP_UNLESS_AVAILABLE(backend)                                   \
  do {                                                                         \
    if (auto why = ::lakepack::e2e::watch::Unavailable(backend); !why.empty()) \
      GTEST_SKIP() << why;                                                     \
  } while (0)

// ---------------------------------------------------------------------------------------------
// CSV files with known rows
// ---------------------------------------------------------------------------------------------

//! A CSV file: its name relative to DIR and its rows (ids first .. first + rows - 1). Every row
//! holds the file's name, so rows of two files never collide and a row in the wrong object or
//! twice shows in the multiset.
struct CsvSpec {
  std::string rel;
  int first = 1;
  int rows = 10;
  //! The value of the last column ("" = rel): a changed content keeps the name.
  std::string tag;
};

//! The header and one line per row: "id,name,amount,src".
std::string CsvText(const CsvSpec& spec);
//! The same rows as JSON lines whose values are strings in the canonical forms of
//! tests/xread (integers, x.5 doubles and text all canonicalise to their text), so that their
//! multiset is the one a Parquet reader must see.
std::string JsonlText(const CsvSpec& spec);
//! Writes DIR/rel (parents made).
void Drop(const std::string& dir, const CsvSpec& spec);
//! "a/b.csv" -> "a/b.parquet" (".csv" in any case).
std::string ParquetKey(const std::string& rel);
//! A set of CSVs spread over nested folders: n files, "f00.csv", "a/f01.csv", "a/b/f02.csv", ...
std::vector<CsvSpec> NestedSpecs(int n, int rows_base = 20, const std::string& stem = "f");

//! The hex MD5 of a file's bytes (lower case).
std::string Md5Hex(const std::string& path);

//! Per file, the order-independent multiset digest of its rows by one reader of
//! tests/xread/xread.mjs ("hyparquet", "parquet-wasm", "jsonl"): one node run for all files.
//! Empty with `error` set when a reader fails on one.
std::map<std::string, std::string> MultisetsOf(const std::vector<std::string>& paths,
                                               const std::string& reader, std::string* error);

//! The multisets the objects must hold: ParquetKey(rel) -> multiset of the spec's rows (by the
//! jsonl reader, from JSON lines written under `scratch`).
std::map<std::string, std::string> ExpectedMultisets(const std::vector<CsvSpec>& specs,
                                                     const std::string& scratch);

// ---------------------------------------------------------------------------------------------
// The checkpoint and the events
// ---------------------------------------------------------------------------------------------

//! docs/watch.md, "The checkpoint": JSON lines, the last line of a name wins, a torn last line
//! is ignored.
struct Checkpoint {
  bool exists = false;
  int lines = 0;
  bool torn_last = false;
  std::vector<std::string> bad_lines;   // unparsable lines that are not the last one
  std::map<std::string, json> entries;  // "file" -> its last line
  std::string Describe() const;
};
Checkpoint ReadCheckpoint(const std::string& path);

//! The --json events of a run's stdout, in order; lines that are not a JSON object with an
//! "event" go to `not_events`.
std::vector<json> ParseEvents(const std::string& out,
                              std::vector<std::string>* not_events = nullptr);
std::vector<json> Named(const std::vector<json>& events, const std::string& name);
//! The "file" of every event named `name`.
std::vector<std::string> FilesOf(const std::vector<json>& events, const std::string& name);
//! The last event named `name` (a discarded value when there is none).
json Last(const std::vector<json>& events, const std::string& name);

// ---------------------------------------------------------------------------------------------
// Destinations
// ---------------------------------------------------------------------------------------------

//! What the test sees of one object, from outside lakepack.
struct ObjectView {
  int64_t size = 0;
  std::string etag;         // S3: the ETag (no quotes); local: "<inode>:<mtime ns>:<size>"
  std::string content_md5;  // local only: the MD5 of the bytes
};

//! A destination that does not exist yet: a fresh bucket (S3) or a directory not made yet
//! (local). Seen from outside lakepack: boto3 for S3 (a separate process, its own S3 client),
//! the filesystem for a local directory. The destructor removes it.
class Dst {
 public:
  //! backend "local", "moto", "rgw". `endpoint` overrides the server's (the fault proxy) for
  //! env() only; the test's own view always goes straight to the server.
  static std::unique_ptr<Dst> Fresh(const std::string& backend, const std::string& slug);
  ~Dst();
  Dst(const Dst&) = delete;
  Dst& operator=(const Dst&) = delete;

  const std::string& backend() const { return backend_; }
  bool s3() const { return backend_ != "local"; }
  //! As lakepack takes it: "s3://BUCKET" or an absolute directory.
  const std::string& uri() const { return uri_; }
  const std::string& bucket() const { return bucket_; }
  const S3Server& server() const { return server_; }
  //! AWS_* for lakepack to reach it (S3), through `endpoint` when given (a fault proxy).
  std::map<std::string, std::string> LakepackEnv(const std::string& endpoint = "") const;

  //! Whether the bucket (the directory) exists.
  bool Exists(std::string* error);
  //! Every object, key -> view. Empty with `error` set when listing fails.
  std::map<std::string, ObjectView> Objects(std::string* error);
  std::vector<std::string> Keys(std::string* error);
  //! Local copies of objects, key -> path (one boto3 run for all).
  std::map<std::string, std::string> Fetch(const std::vector<std::string>& keys,
                                           std::string* error);
  //! The user metadata of objects (S3: x-amz-meta-*, without the prefix; local: the user.*
  //! xattrs, without "user."), key -> name -> value.
  std::map<std::string, std::map<std::string, std::string>> Metadata(
      const std::vector<std::string>& keys, std::string* error);
  //! Per key, the multiset of its rows by `reader`.
  std::map<std::string, std::string> Multisets(const std::vector<std::string>& keys,
                                               const std::string& reader, std::string* error);
  //! The key an object URI lakepack printed names ("s3://b/k", "file:///d/k", "/d/k" -> "k");
  //! a URI outside this destination comes back whole.
  std::string KeyOf(const std::string& object_uri) const;
  //! The boto3 helper's other operations, for the harness's own test: {"mb"} makes the bucket,
  //! {"put", KEY, PATH, "name=value"...} puts a file with user metadata.
  json BotoForTest(const std::vector<std::string>& args, std::string* error);
  //! A local directory of the test (removed with the destination).
  ScratchDir& scratch() { return scratch_; }

 private:
  Dst() = default;
  //! Runs the boto3 helper: `op` with `args`; its stdout parsed as JSON.
  json Boto(const std::vector<std::string>& args, std::string* error);

  std::string backend_, uri_, bucket_;
  S3Server server_;
  ScratchDir scratch_;
  int fetched_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A daemon, and the scan gate
// ---------------------------------------------------------------------------------------------

//! `lakepack watch ARGS...`: the argv for Spawn / Daemon.
std::vector<std::string> WatchArgv(const std::vector<std::string>& args);

//! A process started in the background whose stdout and stderr the test reads while it runs.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env);
  //! SIGKILLs it (by its pid) when it still runs.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& spawn_error() const { return spawn_error_; }
  //! Whether it still runs (reaps it when it ended).
  bool Alive();
  std::string Out() const;
  std::string Err() const;
  std::vector<json> Events() const { return ParseEvents(Out()); }
  //! Polls (every 20 ms) until `done` holds: true. False, with `why` set, when the process
  //! ended first or `cap` passed.
  bool WaitUntil(const std::function<bool()>& done, std::chrono::seconds cap, std::string* why);
  //! Waits until it has printed at least `n` events named `name`.
  bool WaitEvents(const std::string& name, size_t n, std::chrono::seconds cap, std::string* why);
  void Signal(int sig);
  //! Waits for it to end (SIGKILL at `cap`: exit_code -1 and a note) and returns what it printed
  //! and its exit code (128 + signal when a signal ended it).
  RunResult Finish(std::chrono::seconds cap = kCap);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
  std::string out_path_, err_path_, spawn_error_;
};

//! LAKEPACK_WATCH_SCAN_GATE: a FIFO from which the daemon reads one line before each scan. The
//! test holds it open (read-write, so that opening never blocks and a write never meets a
//! closed pipe); each Release() lets one scan happen; Close() is the EOF that ends the gate.
class ScanGate {
 public:
  explicit ScanGate(const std::string& path);
  ~ScanGate();
  const std::string& path() const { return path_; }
  bool ok() const { return fd_ >= 0; }
  void Release();
  void Close();

 private:
  std::string path_;
  int fd_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Checks shared by the watch tests
// ---------------------------------------------------------------------------------------------

std::string Join(const std::vector<std::string>& v, const std::string& sep = ", ");
std::string StripQuotes(std::string s);
//! The specs' relative names, sorted.
std::vector<std::string> Rels(const std::vector<CsvSpec>& specs);
//! The specs' object keys, sorted.
std::vector<std::string> ExpectedKeys(const std::vector<CsvSpec>& specs);
std::vector<std::string> Sorted(std::vector<std::string> v);

//! The destination holds one object per spec and nothing else (no key under _lakepack/
//! either), each with exactly its spec's rows (per object, by each reader of tests/xread).
void ExpectMirrors(Dst& dst, const std::vector<CsvSpec>& specs, const std::string& scratch,
                   const std::vector<std::string>& readers = {"hyparquet"});
//! As ExpectMirrors, with the expected multisets given (ExpectedMultisets), to spare the
//! reader runs when many trials hold the same files.
//! `allowed_leftovers`: a regex of keys under _lakepack/ that may stay (the fault tests let
//! dead leases stay, which docs/commit-protocol.md allows: "record dropped, leases left").
void ExpectMirrors(Dst& dst, const std::vector<CsvSpec>& specs,
                   const std::map<std::string, std::string>& expected,
                   const std::vector<std::string>& readers = {"hyparquet"},
                   const std::string& allowed_leftovers = "");

//! The checkpoint records exactly the files of `specs` (by name), each with its MD5 (of the
//! file under `dir`), size, rows, mtime_ns, time, its object and (S3) that object's ETag; no
//! line is torn or broken.
void ExpectCheckpoint(const std::string& path, const std::string& dir,
                      const std::vector<CsvSpec>& specs, Dst& dst);

//! key -> ETag (as ObjectView::etag) of every object of the destination.
std::map<std::string, std::string> Etags(Dst& dst);

//! The last `n` characters of a text, for failure messages.
std::string Tail(const std::string& s, size_t n = 3000);

}  // namespace lakepack::e2e::watch
