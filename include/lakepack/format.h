// The format engine: reads CSV, JSON lines and Parquet, writes Parquet, CSV and JSON lines,
// and reads Parquet footers. It works on local files only; callers bring remote objects to a
// spool directory first.
//
// Thread-safety: one FormatEngine may be used by one thread at a time. Open one per worker.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/status.h"

namespace lakepack {

//! kAvro (container files) is read and written by the Avro layer (src/format/avro_codec.h), not
//! by FormatEngine: the engine refuses it; convert and inspect route it.
enum class FileFormat { kUnknown, kParquet, kCsv, kJsonLines, kAvro };
enum class Compression { kSnappy, kZstd, kGzip, kUncompressed };

//! "parquet", "csv", "jsonl", "avro".
std::string_view FormatName(FileFormat format);
//! Accepts parquet, snappy.parquet, csv, jsonl, ndjson, json, avro. Others: InvalidArgument.
Result<FileFormat> ParseFormat(std::string_view name);
//! From a file name's extension (".parquet", ".snappy.parquet", ".csv", ".jsonl", ".ndjson",
//! ".json", ".avro"); kUnknown when it says nothing.
FileFormat FormatFromPath(std::string_view path);

std::string_view CompressionName(Compression c);
//! Accepts snappy, zstd, gzip, uncompressed (and "none"). Others: InvalidArgument.
Result<Compression> ParseCompression(std::string_view name);

//! Where unreadable CSV records and JSON lines go when the user opts in (`--rejects FILE`).
//! Without one, such a record fails the read. Called from the engine's thread.
class RejectSink {
 public:
  virtual ~RejectSink() = default;
  //! `file` is the local path read, `line` the record's first line (1-based), `text` its bytes.
  virtual void Reject(const std::string& file, int64_t line, std::string_view reason,
                      std::string_view text) = 0;
};

struct ColumnInfo {
  std::string name;
  std::string type;  // DuckDB's name of the logical type ("BIGINT", "VARCHAR", ...)
  bool operator==(const ColumnInfo&) const = default;
};

//! What to read: one or more local files. Columns of many files are united by name (a column
//! missing from a file reads as NULL there).
//!
//! CSV and JSON lines are read strictly (docs/formats.md): a CSV's first line is its header,
//! no line is skipped, every record has the header's number of fields, every byte is UTF-8;
//! a JSON-lines file holds one object per non-blank line. The rows the engine returns are
//! checked against lakepack's own count of the file's records. A record that breaks a rule
//! fails the read with "FILE: line N: reason", unless `rejects` takes it. An empty (0-byte)
//! CSV has no columns and no rows.
struct ReadSpec {
  std::vector<std::string> paths;
  FileFormat format = FileFormat::kUnknown;  // kUnknown: from each path's extension
  //! CSV only: the field delimiter; empty means lakepack decides it from the header.
  std::string csv_delimiter;
  //! Not owned; may be null.
  RejectSink* rejects = nullptr;
  //! JSON lines only: read exactly these columns with these types instead of detecting them
  //! (detection types a column whose sampled values are all null as JSON, and a JSON string
  //! cast to VARCHAR keeps its quotes). Empty: detect.
  std::vector<ColumnInfo> json_columns;
};

struct WriteSpec {
  std::string path;  // the local file to create; overwritten if present
  FileFormat format = FileFormat::kParquet;
  Compression compression = Compression::kSnappy;  // Parquet only
  int64_t row_group_rows = 0;                      // Parquet only; 0: the engine's default
  //! Parquet only: key-value metadata for the file's footer (provenance, for one).
  std::vector<std::pair<std::string, std::string>> metadata;
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
  //! The footer's key-value pairs, when asked for (FormatEngine::Inspect leaves it empty:
  //! ParquetMetadata reads it).
  std::vector<std::pair<std::string, std::string>> metadata;
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

//! Column types a RowBuffer accepts (what a source such as PostgreSQL maps its types to).
enum class ColumnKind {
  kBoolean,
  kSmallInt,
  kInteger,
  kBigInt,
  kFloat,
  kDouble,
  kDecimal,
  kVarchar,
  kJson,
  kBlob,
  kUuid,
  kDate,
  kTimestamp,
  kTimestampTz,
  kList
};

struct ColumnType {
  ColumnKind kind = ColumnKind::kVarchar;
  int width = 18;  // kDecimal only (at most 38)
  int scale = 0;   // kDecimal only
  //! kList only: the element kind (kBlob, kVarchar, kBigInt, kDouble or kBoolean).
  ColumnKind element = ColumnKind::kVarchar;
};

struct BufferColumn {
  std::string name;
  ColumnType type;
};

//! One list element for RowBuffer::List: text (or bytes for kBlob elements); nullopt is NULL.
using ListElement = std::optional<std::string>;

//! Rows fed one value at a time, in column order, then written as Parquet. Values are held by
//! the engine (it may spill), so a buffer grows with the rows fed since the last Flush only.
//! Not thread-safe; belongs to the engine that made it and must not outlive it.
class RowBuffer {
 public:
  virtual ~RowBuffer() = default;
  virtual void Null() = 0;
  virtual void Bool(bool v) = 0;
  virtual void Int(int64_t v) = 0;  // kSmallInt, kInteger, kBigInt
  virtual void Double(double v) = 0;
  //! kDecimal: the unscaled value (123.45 at scale 2 is 12345) as a 128-bit integer.
  virtual void Decimal(__int128 unscaled) = 0;
  virtual void String(std::string_view v) = 0;  // kVarchar, kJson, kBlob (bytes)
  virtual void Uuid(const uint8_t bytes[16]) = 0;
  virtual void Date(int32_t days_since_epoch) = 0;
  virtual void Timestamp(int64_t micros_since_epoch) = 0;  // kTimestamp and kTimestampTz
  virtual void List(const std::vector<ListElement>& elements) = 0;
  //! Ends a row; returns an error if a value was rejected (wrong kind, count).
  virtual Status EndRow() = 0;
  virtual int64_t rows() const = 0;
  //! Order-independent digest of the buffered rows, as FormatEngine::Digest computes it for a
  //! file holding them.
  virtual Result<RowDigest> Digest() = 0;
  //! Writes the buffered rows, in the order fed, to `out` (Parquet), with `metadata` as the
  //! file's key-value metadata, and empties the buffer. Returns the rows written.
  virtual Result<int64_t> Flush(
      const WriteSpec& out, const std::vector<std::pair<std::string, std::string>>& metadata) = 0;
};

//! First and last row of a Parquet file in (ts, id) order, for checking export file names.
struct KeyRange {
  int64_t rows = 0;
  int64_t first_ts_us = 0, last_ts_us = 0;  // microseconds since the epoch
  //! The ids: base64 of the bytes for a BLOB column, the text form otherwise.
  std::string first_id, last_id;
  bool id_is_blob = false;
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

  //! Like Copy, but writes exactly `columns`, in that order, each cast to its type; a column
  //! the input lacks reads as NULL. A value that does not cast fails with a message naming the
  //! file and the column. Streams like Copy.
  Result<int64_t> CopyAs(const ReadSpec& in, const std::vector<ColumnInfo>& columns,
                         const WriteSpec& out);

  //! Like CopyAs for several inputs laid end to end in the order given, in one write: the rows
  //! of inputs[0] first, then those of inputs[1], and so on, each input read as its ReadSpec
  //! says. Returns each input's rows (lakepack's count of a text file's records, a Parquet
  //! file's footer), their sum checked against the rows written. A value that does not cast
  //! names its input and column. Streams like Copy.
  Result<std::vector<int64_t>> CopyAsInOrder(const std::vector<ReadSpec>& inputs,
                                             const std::vector<ColumnInfo>& columns,
                                             const WriteSpec& out);

  //! The DuckDB type a --schema names, which may be DuckDB's own ("BIGINT", "DECIMAL(18,2)")
  //! or an arrow/pandas name ("int64", "float64", "string", "bool", "date32",
  //! "timestamp[ms]", "timestamp(us, tz=UTC)", "datetime64[ns]", "decimal128(18, 2)"):
  //! InvalidArgument "unknown type '...'" when DuckDB knows neither.
  Result<std::string> SchemaType(const std::string& name);

  //! The rows of the inputs without reading them through the engine: a text file's records
  //! from lakepack's own pass over it (made once per engine and remembered for the reads that
  //! follow), a Parquet file's from its footer.
  Result<int64_t> CountRows(const ReadSpec& in);

  //! Writes rows [first, first + count) of the local Parquet file `parquet`, in file order,
  //! to `out`. Streams; row groups outside the range are skipped by their statistics.
  Result<int64_t> CopyRowRange(const std::string& parquet, int64_t first, int64_t count,
                               const WriteSpec& out);
  //! Like CopyRowRange for several (first, count) ranges at once, in file order.
  Result<int64_t> CopyRowRanges(const std::string& parquet,
                                const std::vector<std::pair<int64_t, int64_t>>& ranges,
                                const WriteSpec& out);

  //! Describes a file. For Parquet only the footer is read (rows, schema, row groups).
  Result<FileInfo> Inspect(const std::string& path, FileFormat format = FileFormat::kUnknown);
  //! Rows, row groups and columns of many local Parquet files (FileInfo::compressions and
  //! created_by left empty), in the order given: one query over all their footers, and one
  //! DESCRIBE per distinct footer schema rather than four queries per file (a day of 1,440
  //! minute files: seconds). A footer that cannot be read fails as Inspect of that file does.
  Result<std::vector<FileInfo>> InspectParquetFiles(const std::vector<std::string>& paths);

  //! The united schema of the inputs, as Copy would write it.
  Result<std::vector<ColumnInfo>> Schema(const ReadSpec& in);

  //! The first non-NULL value of `column` that does not become `type` and then the same text
  //! again ("007" as BIGINT is 7: it does not); nullopt when every value does.
  Result<std::optional<std::string>> FirstMisfit(const ReadSpec& in, const std::string& column,
                                                 const std::string& type);

  //! Row count and order-independent checksum of every row of the inputs.
  Result<RowDigest> Digest(const ReadSpec& in);

  //! Writes `rows` deterministic sample rows of the seeds' Data Schema (see SampleSpec).
  Result<int64_t> WriteSample(const SampleSpec& sample, const WriteSpec& out);

  //! A buffer for rows of `columns` (see RowBuffer).
  Result<std::unique_ptr<RowBuffer>> NewRowBuffer(const std::vector<BufferColumn>& columns);

  //! Rows and first/last (ts, id) of a Parquet file, ordered by ts then id. Reads the data.
  Result<KeyRange> ReadKeyRange(const std::string& path, const std::string& ts_column,
                                const std::string& id_column);

  //! A Parquet file's key-value metadata (footer only).
  Result<std::vector<std::pair<std::string, std::string>>> ParquetMetadata(const std::string& path);

  //! The version string of the engine library ("v1.4.4").
  static std::string LibraryVersion();

  class Impl;  // opaque; public so that the engine's helpers in its .cc can name it

 private:
  explicit FormatEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lakepack
