// End-to-end test helpers: run the built lakepack binary, capture what a user sees (stdout,
// stderr, exit code), make scratch directories, and ask the independent Parquet readers.
#pragma once

#include <gtest/gtest.h>

#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lakepack::e2e {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::string All() const { return out + err; }
};

//! Runs the lakepack binary with `args` and optional extra environment variables.
//! To kill it part-way, use a crash point (LAKEPACK_CRASH_AT, see src/common/crash_point.h
//! and KillAtRandomOp in lake.h), never a timer: a kill keyed to the run's own progress lands
//! inside the run on a fast machine and a loaded one alike.
RunResult Lakepack(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env = {});

//! Runs any program (argv[0] looked up in PATH) to its end.
RunResult Run(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {});

//! A process started by Spawn and not waited for yet: its output goes to two temporary files.
struct Spawned {
  pid_t pid = -1;
  std::string out_path, err_path;
  std::string spawn_error;  // set when it could not start
};

//! Starts `argv` (argv[0] looked up in PATH) with `env` added to this process's environment.
Spawned Spawn(const std::vector<std::string>& argv,
              const std::map<std::string, std::string>& env = {});

//! Waits for a spawned process (waitpid, polled) and returns what it printed and its exit code
//! (128 + the signal when a signal ended it: 137 for SIGKILL). A process still running after
//! `cap` is a hung run: it is killed (SIGKILL, by its pid) and the result says so, with
//! exit_code -1, so that one hang fails one test instead of the whole binary's timeout.
RunResult Wait(Spawned& process, std::chrono::seconds cap = std::chrono::seconds(600));

//! The lakepack binary's argv for `args`, for Spawn and RunTogether.
std::vector<std::string> LakepackArgv(const std::vector<std::string>& args);

//! Runs lakepack with a terminal (a pseudo-terminal made by script -qec) as its stdin, stdout
//! and stderr, `env` set: out holds everything it printed, with the terminal's \r\n.
RunResult OnTerminal(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env = {});
//! Every progress bar drawn on a terminal ("\r\033[K[" … up to the next \r or \n), in order,
//! from the '['.
std::vector<std::string> Bars(const std::string& out);

//! One process of a group that RunTogether starts.
struct Launch {
  std::vector<std::string> argv;  // argv[0] looked up in PATH (LakepackArgv for lakepack)
  std::map<std::string, std::string> env;
  //! Seconds after the group's start at which it starts. A delay only shapes the schedule
  //! (who starts first, by how much): nothing waits for it to have any effect.
  double delay_s = 0;
};

//! Starts every launch at its delay after the first start and waits for every one of them
//! (waitpid; see Wait). Results come in the launches' order.
std::vector<RunResult> RunTogether(const std::vector<Launch>& launches);

//! The JSON summary a --json run printed: the last line of its stdout that is a JSON object
//! (a discarded value when there is none).
nlohmann::json SummaryJson(const RunResult& run);

//! A fresh directory, removed with its contents at the end of the test.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);
bool Exists(const std::string& path);
//! Every regular file under `dir`, recursively, as paths relative to it, sorted.
std::vector<std::string> ListFiles(const std::string& dir);
//! The same files as paths ("dir/relative").
std::vector<std::string> ListFilePaths(const std::string& dir);

//! What one independent reader says of a file (tests/xread/xread.mjs).
struct ReaderView {
  std::string reader;
  int64_t rows = -1;
  std::vector<std::string> columns;
  std::string checksum;  // of the canonical rows, in order
  std::string multiset;  // of the canonical rows, order-independent
  std::string error;
};

//! Reads `path` with every independent reader that handles it (Parquet: parquet-wasm and
//! hyparquet; JSON lines: a plain JSON parser).
//! `exclude` drops columns (in every reader) that a reader cannot represent.
std::vector<ReaderView> CrossRead(const std::string& path, const std::string& reader = "all",
                                  const std::vector<std::string>& exclude = {});

//! Asserts that both Parquet readers read `parquet` and agree with each other and with the
//! JSON lines that lakepack makes of it: same rows, same columns, same values.
//! `wasm_exclude`: columns parquet-wasm cannot represent (see tests/xread/README.md); they
//! are still checked by hyparquet.
void ExpectReadersAgree(const std::string& parquet, int64_t expected_rows,
                        const std::vector<std::string>& wasm_exclude = {});

//! The order-independent multiset digest of the rows of all `paths` together, by one reader
//! of tests/xread/xread.mjs ("hyparquet", "parquet-wasm" or "jsonl"): the sum mod 2^64 of the
//! files' multisets, as 16 hex digits. Empty, with `error` set, when the reader fails on one.
std::string MultisetOf(const std::vector<std::string>& paths, const std::string& reader,
                       std::string* error);

//! The entries of `dir` named "lakepack-*" (the spool directories of lakepack runs, which
//! live at DIR/lakepack-<tag>-XXXXXX), sorted.
std::vector<std::string> SpoolDirs(const std::string& dir);

//! The Apache Parquet test corpus (../shared/conformance/parquet-testing).
std::string ConformanceDir();

}  // namespace lakepack::e2e
