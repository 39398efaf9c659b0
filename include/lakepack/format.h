// The format engine: reads CSV, JSON lines and Parquet, writes Parquet, CSV and JSON lines,
// and reads Parquet footers. It works on local files only; callers bring remote objects to a
// spool directory first.
//
// Thread-safety: one FormatEngine may be used by one thread at a time. Open one per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/status.h"

namespace lakepack {

enum class FileFormat { kUnknown, kParquet, kCsv, kJsonLines };
enum class Compression { kSnappy, kZstd, kGzip, kUncompressed };

//! "parquet", "csv", "jsonl".
std::string_view FormatName(FileFormat format);
//! Accepts parquet, snappy.parquet, csv, jsonl, ndjson, json. Others: InvalidArgument.
Result<FileFormat> ParseFormat(std::string_view name);
//! From a file name's extension (".parquet", ".snappy.parquet", ".csv", ".jsonl", ".ndjson",
//! ".json"); kUnknown when it says nothing.
FileFormat FormatFromPath(std::string_view path);

std::string_view CompressionName(Compression c);
//! Accepts snappy, zstd, gzip, uncompressed (and "none"). Others: InvalidArgument.
Result<Compression> ParseCompression(std::string_view name);

//! What to read: one or more local files of one format. Columns of many files are united by
//! name (a column missing from a file reads as NULL there).
struct ReadSpec {
  std::vector<std::string> paths;
  FileFormat format = FileFormat::kUnknown;  // kUnknown: from each path's extension
  //! CSV only: the field delimiter; empty means detect it (see FormatEngine::Copy).
  std::string csv_delimiter;
};

struct WriteSpec {
  std::string path;  // the local file to create; overwritten if present
  FileFormat format = FileFormat::kParquet;
  Compression compression = Compression::kSnappy;  // Parquet only
  int64_t row_group_rows = 0;                      // Parquet only; 0: the engine's default
};

struct ColumnInfo {
  std::string name;
  std::string type;  // DuckDB's name of the logical type ("BIGINT", "VARCHAR", ...)
  bool operator==(const ColumnInfo&) const = default;
};

struct FileInfo {
  FileFormat format = FileFormat::kUnknown;
  int64_t rows = 0;
  int64_t size_bytes = 0;
  std::vector<ColumnInfo> columns;
  // Parquet only:
  int64_t row_groups = 0;
  std::vector<std::string> compressions;  // distinct codecs of the column chunks
  std::string created_by;
};

//! An order-independent digest of a multiset of rows: equal digests mean (with overwhelming
//! probability) the same rows, whatever their order.
struct RowDigest {
  int64_t rows = 0;
  std::string checksum;  // hex
  bool operator==(const RowDigest&) const = default;
};

//! Sample rows for demos, tests and benchmarks: row i is uploaded at start_us + i * step_us.
struct SampleSpec {
  int64_t rows = 1000;
  int64_t seed = 1;
  int64_t start_us = 1735689600000000;  // 2025-01-01T00:00:00Z
  int64_t step_us = 1000000;
};

struct EngineOptions {
  //! DuckDB's memory_limit ("1GB"); empty: DuckDB's default (80% of RAM).
  std::string memory_limit = "2GB";
  //! Worker threads; 0: as many as cores.
  int threads = 0;
  //! Where the engine may spill; empty: the system temp directory.
  std::string temp_dir;
};

class FormatEngine {
 public:
  static Result<std::unique_ptr<FormatEngine>> Open(const EngineOptions& options = {});
  ~FormatEngine();
  FormatEngine(const FormatEngine&) = delete;
  FormatEngine& operator=(const FormatEngine&) = delete;

  //! Reads `in` and writes `out`, streaming (memory does not grow with the input).
  //! Returns the number of rows written. On failure `out.path` does not exist.
  Result<int64_t> Copy(const ReadSpec& in, const WriteSpec& out);

  //! Describes a file. For Parquet only the footer is read (rows, schema, row groups).
  Result<FileInfo> Inspect(const std::string& path, FileFormat format = FileFormat::kUnknown);

  //! The united schema of the inputs, as Copy would write it.
  Result<std::vector<ColumnInfo>> Schema(const ReadSpec& in);

  //! Row count and order-independent checksum of every row of the inputs.
  Result<RowDigest> Digest(const ReadSpec& in);

  //! Writes `rows` deterministic sample rows of the seeds' Data Schema (see SampleSpec).
  Result<int64_t> WriteSample(const SampleSpec& sample, const WriteSpec& out);

  //! The version string of the engine library ("v1.4.4").
  static std::string LibraryVersion();

 private:
  class Impl;
  explicit FormatEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lakepack
