// lakepack repartition: SiteWise cold-tier Avro into one Avro file per day, incrementally and
// exactly once (docs/repartition.md).
#pragma once

#include <string>
#include <vector>

#include "lakepack/options.h"
#include "lakepack/run.h"
#include "lakepack/status.h"

namespace lakepack {

struct RepartitionOptions {
  std::string src;          // the cold tier: s3://bucket[/keyPrefix] or a directory (holding raw/)
  std::string dst;          // where day files go
  std::string start;        // YYYY-MM-DD, inclusive
  std::string end;          // YYYY-MM-DD, inclusive
  std::string series_list;  // a file of series ids to include; empty: all
  bool dry_run = false;
  int parallel = 4;  // days at once
  std::string spool_dir;
  Shard shard;
};

//! One day as planned (dry runs) or done.
struct RepartitionDay {
  std::string day;     // "2023-1-25", the seed's way
  std::string output;  // URI of the day file
  bool merges_existing = false;
  bool rebuild = false;  // a merged source changed: rebuilt from the cold tier
  int64_t new_files = 0;
  int64_t new_series = 0;
  int64_t series = 0;  // in the day file after
  int64_t bytes = 0;   // of the new files
  std::string error;   // why the day cannot be done
};

struct RepartitionResult {
  RunSummary summary;
  std::vector<RepartitionDay> days;  // every day of the range that has something new
  int64_t days_reviewed = 0;
  int64_t days_unchanged = 0;
};

Result<RepartitionResult> Repartition(const RepartitionOptions& options, ProgressSink& progress);

}  // namespace lakepack
