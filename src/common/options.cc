// The typed option values of lakepack/options.h: names, and the one parser of byte sizes.
#include "lakepack/options.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "common/strings.h"

namespace lakepack {

std::string_view GroupingName(Grouping g) {
  switch (g) {
    case Grouping::kHour:
      return "hour";
    case Grouping::kDay:
      return "day";
    case Grouping::kMonth:
      return "month";
    case Grouping::kYear:
      return "year";
  }
  return "?";
}

std::string_view ExportLayoutName(ExportLayout layout) {
  switch (layout) {
    case ExportLayout::kHiveDate:
      return "hive-date";
    case ExportLayout::kByPartition:
      return "by-partition";
    case ExportLayout::kFlat:
      return "flat";
  }
  return "?";
}

std::string_view PackFormatName(PackFormat format) {
  switch (format) {
    case PackFormat::kSnappyParquet:
      return "snappy.parquet";
    case PackFormat::kParquet:
      return "parquet";
    case PackFormat::kCsv:
      return "csv";
    case PackFormat::kJsonLines:
      return "jsonl";
  }
  return "?";
}

namespace {

// The multiplier of a unit (lower case, without surrounding spaces); 0 when it is none.
double UnitBytes(std::string_view unit) {
  struct Unit {
    std::string_view name;
    double bytes;
  };
  static constexpr double kKi = 1024.0;
  static constexpr Unit kUnits[] = {
      {"", 1},
      {"b", 1},
      {"kb", 1e3},
      {"mb", 1e6},
      {"gb", 1e9},
      {"tb", 1e12},
      {"kib", kKi},
      {"mib", kKi * kKi},
      {"gib", kKi * kKi * kKi},
      {"tib", kKi * kKi * kKi * kKi},
      {"k", kKi},
      {"m", kKi * kKi},
      {"g", kKi * kKi * kKi},
      {"t", kKi * kKi * kKi * kKi},
  };
  for (const auto& u : kUnits) {
    if (u.name == unit) return u.bytes;
  }
  return 0;
}

}  // namespace

Result<ByteSize> ParseByteSize(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument("bad size '" + std::string(text) +
                                   "' (e.g. 256MB, 64MiB or 1000000)");
  };
  const std::string t = Lower(text);
  size_t i = 0;
  bool dot = false;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) {
    if (t[i] == '.') {
      if (dot) return bad();
      dot = true;
    }
    i++;
  }
  // At least one digit: "." and ".MB" are not sizes.
  if (i == 0 || (i == 1 && dot)) return bad();
  const double number = std::strtod(t.substr(0, i).c_str(), nullptr);
  std::string_view unit = std::string_view(t).substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  const double mul = UnitBytes(unit);
  if (mul == 0) return bad();
  const double bytes = std::round(number * mul);
  if (!std::isfinite(bytes) || bytes > static_cast<double>(int64_t{1} << 62)) return bad();
  return ByteSize::Bytes(static_cast<int64_t>(bytes));
}

}  // namespace lakepack
