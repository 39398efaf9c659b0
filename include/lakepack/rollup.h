// lakepack rollup: merges the files of one time level into files one level coarser (minute →
// hour → day → month → year), through the commit protocol, on any ObjectStore.
#pragma once

#include <string>

#include "lakepack/format.h"
#include "lakepack/options.h"
#include "lakepack/run.h"
#include "lakepack/status.h"

namespace lakepack {

struct RollupOptions {
  std::string src;    // the lake: a directory or s3:// URI
  std::string start;  // YYYY-MM-DD, inclusive
  std::string end;    // YYYY-MM-DD, inclusive
  Grouping grouping = Grouping::kDay;
  bool cascade = false;  // merge every finer level too (minutes → hours → days ...)
  //! With cascade: commit each level before planning the next (hour files are written, then
  //! merged into days, ...). Without it a cascade plans every file straight into its final
  //! file, one task per output, and writes no intermediate file.
  bool by_level = false;
  std::string layout;   // template; empty: the seeds' default
  std::string pattern;  // regex with named time groups for file names
  bool dry_run = false;
  int parallel = 4;  // tasks at once
  //! Downloads at once within a task: the S3 store's own bound (--concurrency, 16) also caps
  //! them, so a single task (one day's --cascade) fetches as fast as the store allows.
  int io_parallel = 16;
  Compression compression = Compression::kSnappy;  // of merged files
  std::string spool_dir;                           // empty: $TMPDIR or /tmp
  EngineOptions engine;
  Shard shard;  // --shard i/N
};

//! The plan of a dry run, one entry per output.
struct PlannedOutput {
  std::string level;
  std::string output;  // URI
  bool merges_existing = false;
  std::vector<std::string> inputs;  // URIs
  int64_t bytes = 0;                // inputs plus the existing output, as rows
  int64_t rows = 0;                 // inputs plus the existing output
  //! Why a real run would fail this output (an input's footer cannot be read), naming the
  //! file; empty when it would not. The rest of the plan is shown all the same.
  std::string error;
};

struct RollupResult {
  RunSummary summary;
  std::vector<PlannedOutput> plan;  // filled by dry runs
};

//! Runs (or with dry_run, plans) a roll-up. Usage errors are InvalidArgument; failed tasks
//! are listed in summary.errors (their inputs stay in place) and do not fail the call.
Result<RollupResult> Rollup(const RollupOptions& options, ProgressSink& progress);

//! Finishes or rolls back what earlier runs left in the journal of the store at `uri`.
Result<int> Recover(const std::string& uri, ProgressSink& progress);

}  // namespace lakepack
