// Flag text to the library's typed options (lakepack/options.h, lakepack/format.h): one parse
// function per type. Every error is InvalidArgument and names its flag, so that the command
// prints it as a usage error (exit 2).
#pragma once

#include <string>
#include <string_view>

#include "lakepack/format.h"
#include "lakepack/options.h"
#include "lakepack/status.h"

namespace lakepack::cli {

//! hour, day, month or year.
Result<Grouping> ParseGroupingFlag(std::string_view flag, std::string_view text);

//! snappy, zstd, gzip, uncompressed (or none), any case.
Result<Compression> ParseCompressionFlag(std::string_view flag, std::string_view text);

//! hive-date, by-partition or flat.
Result<ExportLayout> ParseExportLayoutFlag(std::string_view flag, std::string_view text);

//! snappy.parquet, parquet, csv or jsonl, any case.
Result<PackFormat> ParsePackFormatFlag(std::string_view flag, std::string_view text);

//! "i/N" with 0 <= i < N; empty (the flag not given): shard 0 of 1, the whole plan.
//! "auto/N": i from the array job's element index (SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX
//! or AWS_BATCH_JOB_ARRAY_INDEX, the first set). "auto": the same, N from
//! SLURM_ARRAY_TASK_COUNT and i counted from SLURM_ARRAY_TASK_MIN (Slurm only; refused for
//! an array of one, which is what a resubmitted element is).
Result<Shard> ParseShardFlag(std::string_view flag, std::string_view text);

//! A size (ParseByteSize); with `positive`, zero is refused too.
Result<ByteSize> ParseByteSizeFlag(std::string_view flag, std::string_view text,
                                   bool positive = false);

//! The format a file is read or written in: the flag's when it is given (parquet, csv, jsonl,
//! ...), else what the path's extension says. Neither: "PATH: cannot tell the WHAT from the
//! name; give FLAG csv|jsonl|parquet|avro".
Result<FileFormat> FormatFromFlagOrPath(std::string_view flag, std::string_view text,
                                        const std::string& path, std::string_view what);

}  // namespace lakepack::cli
