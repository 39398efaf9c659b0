// `lakepack export`: PostgreSQL tables to Parquet files named after their rows, in key order,
// resumable after a crash with no row skipped or written twice (docs/export.md).
#pragma once

#include <map>
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
  //! The seed's S3_RESUME: false starts every table at its first row, whatever DST holds (a
  //! file of the same name that this run wrote before is kept; another is not overwritten).
  bool resume = true;
  //! The seed's HIVE_SPLIT: false puts hive-date files in year=/month=/ (no half=).
  bool hive_split = true;
  //! The seed's S3_MAX_KEYS: keys per page when DST is listed (S3 serves at most 1000).
  int list_max_keys = 1000;
  //! The seed's PARQUET_DIR when S3_BUCKET is set: each file is written here first, at the key
  //! it gets in DST, and removed once its upload to DST is verified; a file left here by an
  //! earlier run (an upload that failed) is uploaded before the table's new rows are read.
  //! Empty: files are written to DST directly.
  std::string outbox;
  //! --column-type COL=TYPE: the column is read as `COL::TYPE` (a PostgreSQL type) and written
  //! as what that type maps to, e.g. an unconstrained numeric as numeric(38,10) → DECIMAL(38,10)
  //! instead of its exact text. A numeric cast must keep every value exactly. Not the key columns.
  std::map<std::string, std::string> column_types;
  std::string spool_dir;  // empty: $TMPDIR or /tmp
  Shard shard;            // --shard i/N: the tables whose hash falls in this shard
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

//! `text` as it may stand in a file name and an object key: each character that a path, a URI
//! or a shell glob reads as syntax (/ \ ? * : " < > | # %) and each control byte becomes '_'.
//! Table names and id8s are written through it, and validate compares through it.
std::string ExportNameText(std::string_view text);

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
