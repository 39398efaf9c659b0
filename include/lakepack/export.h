// `lakepack export`: PostgreSQL tables to Parquet files named after their rows, in key order,
// resumable after a crash with no row skipped or written twice (docs/export.md).
#pragma once

#include <string>
#include <vector>

#include "lakepack/format.h"
#include "lakepack/options.h"
#include "lakepack/run.h"
#include "lakepack/status.h"

namespace lakepack {

struct ExportOptions {
  //! A postgres:// URI or libpq "key=value" string; empty: the PG* environment variables.
  std::string conninfo;
  std::vector<std::string> tables;  // "schema.table" (schema defaults to public)
  std::string dst;                  // a directory, file:// or s3:// URI
  int64_t chunk_rows = 10000;       // rows per pull from PostgreSQL (CHUNK_SIZE)
  int64_t flush_rows = 20000;       // rows per Parquet file (FLUSH_THRESHOLD)
  std::string ts_column = "uploaded_date";
  std::string id_column = "data_item_id";
  std::string prefix = "perm_items";              // PARQUET_PREFIX
  ExportLayout layout = ExportLayout::kHiveDate;  // S3_LAYOUT
  Compression compression = Compression::kZstd;
  int parallel = 1;                  // tables at once
  int retries = 2;                   // attempts per table (RETRIES)
  double retry_backoff_seconds = 5;  // RETRY_BACKOFF_SEC
  std::string spool_dir;
  Shard shard;  // --shard i/N: the tables whose hash falls in this shard             // empty:
                // $TMPDIR or /tmp
  EngineOptions engine;
};

//! Exports every table; a failed table is retried, then reported in summary.errors (the run
//! goes on with the others). An error Result only for bad options or an unreachable DST.
Result<RunSummary> Export(const ExportOptions& options, ProgressSink& progress);

//! The file name of rows [first, last] of a table: {prefix}_{schema}.{table}_{start_ts}_
//! {start_id8}-{end_ts}_{end_id8}_rows-{count}.parquet (timestamps as YYYYMMDDTHHMMSSZ).
std::string ExportFileName(const std::string& prefix, const std::string& table, int64_t first_ts_us,
                           const std::string& first_id, int64_t last_ts_us,
                           const std::string& last_id, int64_t rows);

//! What an export file name says; std::nullopt-like `ok == false` when it is not one.
struct ExportName {
  bool ok = false;
  std::string source;  // "{prefix}_{schema}.{table}"
  std::string start_ts, start_id8, end_ts, end_id8;
  int64_t rows = 0;
};
ExportName ParseExportFileName(const std::string& file_name);

//! "20230101T000000Z" for microseconds since the epoch (UTC).
std::string CompactTimestamp(int64_t micros);

}  // namespace lakepack
