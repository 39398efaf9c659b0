// End-to-end test helpers: run the built lakepack binary, capture what a user sees (stdout,
// stderr, exit code), make scratch directories, and ask the independent Parquet readers.
#pragma once

#include <gtest/gtest.h>

#include <map>
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

//! The Apache Parquet test corpus (../shared/conformance/parquet-testing).
std::string ConformanceDir();

}  // namespace lakepack::e2e
