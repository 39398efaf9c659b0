// lakepack watch: every CSV under a directory lands in DST as Parquet exactly once. The loop
// (scan, settle, inotify as a wake-up) lives here; each batch of ready files runs as one
// RunJob of the watch Job, so commits, leases and recovery are the engine's. docs/watch.md.
#pragma once

#include <atomic>
#include <string>

#include "common/logger.h"
#include "lakepack/format.h"
#include "lakepack/status.h"

namespace lakepack {

struct WatchOptions {
  std::string dir;  // the watched directory (local)
  std::string dst;  // a URI: s3://bucket[/prefix], file://…, or a local directory
  std::string checkpoint;
  bool once = false;
  int retries = 3;           // attempts in all per file
  double retry_delay_s = 5;  // before the 2nd attempt, doubled after each
  int workers = 1;           // files converted at once
  double settle_s = 2;       // a file must look the same at two scans this far apart
  double poll_s = 5;         // rescan period
  bool inotify = true;
  FileFormat format = FileFormat::kParquet;
  Compression compression = Compression::kSnappy;
  EngineOptions engine;
  std::string spool_dir;
};

//! Runs the watcher until `stop` is set (a signal; `wake_fd`, when >= 0, becomes readable then)
//! or, with options.once, until every file present is in DST or failed. Returns the exit code
//! (0, or 1 when some file failed for good); an error before the first scan is a Status.
Result<int> RunWatch(const WatchOptions& options, Logger& log, const std::atomic<bool>& stop,
                     int wake_fd);

//! "a/b.csv" → "a/b.parquet" (the extension in any case); "" when `rel` is not a CSV name.
std::string WatchOutputKey(const std::string& rel, FileFormat format);
//! Whether a file or directory name is one watch never takes (hidden, temporary, partial).
bool WatchIgnoresName(std::string_view name);

}  // namespace lakepack
