// Flag text to typed options (see flags.h).
#include "cli/flags.h"

#include <fmt/format.h>

#include <cstdio>

#include "common/strings.h"

namespace lakepack::cli {

namespace {
Status FlagError(std::string_view flag, const std::string& message) {
  return Status::InvalidArgument(std::string(flag) + ": " + message);
}
}  // namespace

Result<Grouping> ParseGroupingFlag(std::string_view flag, std::string_view text) {
  for (Grouping g : {Grouping::kHour, Grouping::kDay, Grouping::kMonth, Grouping::kYear}) {
    if (GroupingName(g) == text) return g;
  }
  if (text == "minute") {
    return Status::InvalidArgument(std::string(flag) + " minute: nothing is finer than a minute");
  }
  return FlagError(
      flag, "unknown grouping '" + std::string(text) + "' (expected hour, day, month or year)");
}

Result<Compression> ParseCompressionFlag(std::string_view flag, std::string_view text) {
  auto c = ParseCompression(text);
  if (!c.ok()) return c.status().WithContext(flag);
  return *c;
}

Result<ExportLayout> ParseExportLayoutFlag(std::string_view flag, std::string_view text) {
  for (ExportLayout l :
       {ExportLayout::kHiveDate, ExportLayout::kByPartition, ExportLayout::kFlat}) {
    if (ExportLayoutName(l) == text) return l;
  }
  return FlagError(flag,
                   "expected hive-date, by-partition or flat, got '" + std::string(text) + "'");
}

Result<PackFormat> ParsePackFormatFlag(std::string_view flag, std::string_view text) {
  const std::string lower = Lower(text);
  for (PackFormat f : {PackFormat::kSnappyParquet, PackFormat::kParquet, PackFormat::kCsv,
                       PackFormat::kJsonLines}) {
    if (PackFormatName(f) == lower) return f;
  }
  return FlagError(
      flag, "expected parquet, snappy.parquet, csv or jsonl, got '" + std::string(text) + "'");
}

Result<ByteSize> ParseByteSizeFlag(std::string_view flag, std::string_view text, bool positive) {
  auto size = ParseByteSize(text);
  if (!size.ok()) return size.status().WithContext(flag);
  if (positive && size->bytes() <= 0) {
    return FlagError(flag, "bad size '" + std::string(text) + "': must be more than 0 bytes");
  }
  return *size;
}

Result<FileFormat> FormatFromFlagOrPath(std::string_view flag, std::string_view text,
                                        const std::string& path, std::string_view what) {
  if (!text.empty()) {
    auto f = ParseFormat(text);
    if (!f.ok()) return f.status().WithContext(flag);
    return *f;
  }
  FileFormat f = FormatFromPath(path);
  if (f == FileFormat::kUnknown) {
    return Status::InvalidArgument(path + ": cannot tell the " + std::string(what) +
                                   " from the name; give " + std::string(flag) +
                                   " csv|jsonl|parquet|avro");
  }
  return f;
}

Result<Shard> ParseShardFlag(std::string_view flag, std::string_view text) {
  Shard shard;
  if (text.empty()) return shard;  // not given: the whole plan
  char tail = 0;
  std::string t(text);
  if (std::sscanf(t.c_str(), "%d/%d%c", &shard.index, &shard.count, &tail) != 2 ||
      shard.count < 1 || shard.index < 0 || shard.index >= shard.count) {
    return Status::InvalidArgument(
        fmt::format("{}: expected i/N with 0 <= i < N, got '{}'", flag, text));
  }
  return shard;
}

}  // namespace lakepack::cli
