// Typed values shared by the option structs of the commands (rollup.h, pack.h, export.h):
// the library takes these, never flag text. The command line turns flags into them
// (src/cli/flags.h), naming the flag in every usage error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lakepack/status.h"

namespace lakepack {

//! The period a roll-up merges files into.
enum class Grouping { kHour, kDay, kMonth, kYear };

//! "hour", "day", "month", "year".
std::string_view GroupingName(Grouping g);

//! Where `export` puts a table's files in DST (docs/export.md):
//!   kHiveDate     year=YYYY/month=MM/half=01|02/ (a file never straddles two halves);
//!   kByPartition  SCHEMA.TABLE/;
//!   kFlat         DST itself.
enum class ExportLayout { kHiveDate, kByPartition, kFlat };

//! "hive-date", "by-partition", "flat".
std::string_view ExportLayoutName(ExportLayout layout);

//! What `pack` writes, which is also the outputs' extension: T_N.snappy.parquet (Parquet,
//! snappy), T_N.parquet (Parquet, any codec), T_N.csv, T_N.jsonl.
enum class PackFormat { kSnappyParquet, kParquet, kCsv, kJsonLines };

//! The extension: "snappy.parquet", "parquet", "csv", "jsonl".
std::string_view PackFormatName(PackFormat format);

//! Which part of a plan a run takes (--shard i/N): the tasks whose stable hash is i mod N.
struct Shard {
  int index = 0;
  int count = 1;
};

//! A number of bytes.
class ByteSize {
 public:
  constexpr ByteSize() = default;
  static constexpr ByteSize Bytes(int64_t n) { return ByteSize(n); }
  constexpr int64_t bytes() const { return bytes_; }
  constexpr bool operator==(const ByteSize&) const = default;

 private:
  constexpr explicit ByteSize(int64_t n) : bytes_(n) {}
  int64_t bytes_ = 0;
};

//! The one parser of sizes in lakepack. A number (decimals allowed: "1.5GB") and an optional
//! unit, case-insensitive, with or without a space between:
//!   none, B                 bytes
//!   KB, MB, GB, TB          powers of 1000 ("256MB" = 256 * 10^6)
//!   KiB, MiB, GiB, TiB      powers of 1024 ("256MiB" = 256 * 2^20)
//!   K, M, G, T              powers of 1024, as in GNU tools (dd, sort -S)
//! The result is rounded to a whole number of bytes. Anything else (no number, an unknown
//! unit, a negative number, more than 2^62 bytes) is InvalidArgument:
//! "bad size 'TEXT' (e.g. 256MB, 64MiB or 1000000)". Zero is a valid size; callers that need a
//! positive one check it.
Result<ByteSize> ParseByteSize(std::string_view text);

}  // namespace lakepack
