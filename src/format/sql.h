// SQL text for the format engine: quoting and the read/write clauses for each file format.
// Kept apart from duckdb_engine.cc so that it can be unit-tested without a database.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lakepack/format.h"

namespace lakepack::sql {

//! A single-quoted SQL string literal ('it''s').
std::string Quote(std::string_view s);

//! A double-quoted SQL identifier ("my ""col""").
std::string QuoteIdentifier(std::string_view s);

//! One input file as the engine reads it: its format and, for CSV, the delimiter lakepack
//! decided (see text_scan.h).
struct ReadFile {
  std::string path;
  FileFormat format = FileFormat::kParquet;
  char delimiter = ',';
  //! JSON lines only: the columns to read, as ReadSpec::json_columns; empty: detected.
  std::vector<ColumnInfo> json_columns;
};

//! A SELECT over the inputs with columns united by name across files and formats. CSV is read
//! with lakepack's dialect: a header line, no skipped lines, RFC 4180 quotes, no comments.
std::string ReadExpression(const std::vector<ReadFile>& files);

//! The option list of COPY ... TO for `out` ("FORMAT parquet, COMPRESSION zstd").
std::string WriteOptions(const WriteSpec& out);

}  // namespace lakepack::sql

namespace lakepack::sql {

//! A SELECT producing `rows` deterministic rows of the seeds' Data Schema (002's
//! permanent_data_items: BLOB ids, DECIMAL(20,0), UUID, timestamps, nullable columns, BLOB[]).
//! Row i has uploaded_date = start_us + i * step_us (microseconds since the epoch, UTC).
std::string SampleQuery(int64_t rows, int64_t seed, int64_t start_us, int64_t step_us);

}  // namespace lakepack::sql
