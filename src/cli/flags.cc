// Flag text to typed options (see flags.h).
#include "cli/flags.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

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

namespace {

Result<int> EnvInt(const char* name, const char* value, std::string_view flag) {
  int v = 0;
  char tail = 0;
  if (std::sscanf(value, "%d%c", &v, &tail) != 1 || v < 0) {
    return Status::InvalidArgument(
        fmt::format("{} auto: {}='{}' is not an array index", flag, name, value));
  }
  return v;
}

// --shard auto[/N]: the element index of an array job, from the first of the schedulers'
// variables that is set (Slurm, a Kubernetes Indexed Job, an AWS Batch array job).
Result<Shard> AutoShard(std::string_view flag, std::string_view text) {
  static constexpr const char* kIndexVariables[] = {"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX",
                                                    "AWS_BATCH_JOB_ARRAY_INDEX"};
  Shard shard;
  std::string variable;
  for (const char* name : kIndexVariables) {
    if (const char* v = std::getenv(name); v != nullptr && *v != '\0') {
      LP_ASSIGN_OR_RETURN(shard.index, EnvInt(name, v, flag));
      variable = name;
      break;
    }
  }
  if (variable.empty()) {
    return Status::InvalidArgument(fmt::format(
        "{} {}: not inside an array job (none of SLURM_ARRAY_TASK_ID, JOB_COMPLETION_INDEX, "
        "AWS_BATCH_JOB_ARRAY_INDEX is set); give --shard i/N",
        flag, text));
  }
  if (text.size() > 5) {  // auto/N
    char tail = 0;
    std::string n(text.substr(5));
    if (std::sscanf(n.c_str(), "%d%c", &shard.count, &tail) != 1 || shard.count < 1) {
      return Status::InvalidArgument(
          fmt::format("{}: expected auto or auto/N with N >= 1, got '{}'", flag, text));
    }
  } else if (variable == "SLURM_ARRAY_TASK_ID") {
    // The count of this array; its first index may not be 0 (--array=1-4).
    const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT");
    if (count == nullptr) {
      return Status::InvalidArgument(
          fmt::format("{} auto: SLURM_ARRAY_TASK_COUNT is not set; give --shard auto/N", flag));
    }
    LP_ASSIGN_OR_RETURN(shard.count, EnvInt("SLURM_ARRAY_TASK_COUNT", count, flag));
    // A resubmitted element is an array of one: it would take the whole plan.
    if (shard.count < 2) {
      return Status::InvalidArgument(fmt::format(
          "{} auto: SLURM_ARRAY_TASK_COUNT is {} (a resubmitted element?); give --shard "
          "auto/N with the N of the whole array",
          flag, count));
    }
    if (const char* min = std::getenv("SLURM_ARRAY_TASK_MIN"); min != nullptr) {
      LP_ASSIGN_OR_RETURN(int first, EnvInt("SLURM_ARRAY_TASK_MIN", min, flag));
      shard.index -= first;
    }
  } else {
    return Status::InvalidArgument(fmt::format(
        "{} auto: {} gives the index but not the count; give --shard auto/N", flag, variable));
  }
  if (shard.index < 0 || shard.index >= shard.count) {
    return Status::InvalidArgument(fmt::format("{} {}: index {} (from {}) is not below N = {}",
                                               flag, text, shard.index, variable, shard.count));
  }
  return shard;
}

}  // namespace

Result<Shard> ParseShardFlag(std::string_view flag, std::string_view text) {
  Shard shard;
  if (text.empty()) return shard;  // not given: the whole plan
  if (text == "auto" || text.substr(0, 5) == "auto/") return AutoShard(flag, text);
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
