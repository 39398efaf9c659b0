// Periods of time (see period.h).
#include "layout/period.h"

#include <fmt/format.h>

#include <ctime>

namespace lakepack {

std::string_view GranularityName(Granularity g) {
  switch (g) {
    case Granularity::kMinute:
      return "minute";
    case Granularity::kHour:
      return "hour";
    case Granularity::kDay:
      return "day";
    case Granularity::kMonth:
      return "month";
    case Granularity::kYear:
      return "year";
  }
  return "?";
}

Result<Granularity> ParseGranularity(std::string_view name) {
  for (int i = 0; i <= 4; i++) {
    auto g = static_cast<Granularity>(i);
    if (GranularityName(g) == name) return g;
  }
  return Status::InvalidArgument("unknown grouping '" + std::string(name) +
                                 "' (expected hour, day, month or year)");
}

Granularity GranularityOf(Grouping g) {
  switch (g) {
    case Grouping::kHour:
      return Granularity::kHour;
    case Grouping::kDay:
      return Granularity::kDay;
    case Grouping::kMonth:
      return Granularity::kMonth;
    case Grouping::kYear:
      return Granularity::kYear;
  }
  return Granularity::kDay;
}

Granularity Coarser(Granularity g) { return static_cast<Granularity>(static_cast<int>(g) + 1); }
Granularity Finer(Granularity g) { return static_cast<Granularity>(static_cast<int>(g) - 1); }

Period Period::Truncate(Granularity g) const {
  Period p = *this;
  if (g < granularity) return p;  // cannot make a period finer
  p.granularity = g;
  if (g >= Granularity::kHour) p.minute = 0;
  if (g >= Granularity::kDay) p.hour = 0;
  if (g >= Granularity::kMonth) p.day = 0;
  if (g >= Granularity::kYear) p.month = 0;
  return p;
}

namespace {
std::tm StartTm(const Period& p) {
  std::tm tm{};
  tm.tm_year = p.year - 1900;
  tm.tm_mon = (p.month ? p.month : 1) - 1;
  tm.tm_mday = p.day ? p.day : 1;
  tm.tm_hour = p.hour;
  tm.tm_min = p.minute;
  return tm;
}
}  // namespace

int64_t Period::StartSeconds() const {
  std::tm tm = StartTm(*this);
  return static_cast<int64_t>(timegm(&tm));
}

int64_t Period::EndSeconds() const {
  std::tm tm = StartTm(*this);
  // timegm normalises the overflowing field (month 13 → January of the next year).
  switch (granularity) {
    case Granularity::kMinute:
      tm.tm_min += 1;
      break;
    case Granularity::kHour:
      tm.tm_hour += 1;
      break;
    case Granularity::kDay:
      tm.tm_mday += 1;
      break;
    case Granularity::kMonth:
      tm.tm_mon += 1;
      break;
    case Granularity::kYear:
      tm.tm_year += 1;
      break;
  }
  return static_cast<int64_t>(timegm(&tm));
}

std::string Period::Compact() const {
  switch (granularity) {
    case Granularity::kYear:
      return fmt::format("{:04}", year);
    case Granularity::kMonth:
      return fmt::format("{:04}{:02}", year, month);
    case Granularity::kDay:
      return fmt::format("{:04}{:02}{:02}", year, month, day);
    case Granularity::kHour:
      return fmt::format("{:04}{:02}{:02}T{:02}", year, month, day, hour);
    case Granularity::kMinute:
      return fmt::format("{:04}{:02}{:02}T{:02}{:02}", year, month, day, hour, minute);
  }
  return "";
}

std::string Period::ToString() const {
  switch (granularity) {
    case Granularity::kYear:
      return fmt::format("{:04}", year);
    case Granularity::kMonth:
      return fmt::format("{:04}-{:02}", year, month);
    case Granularity::kDay:
      return fmt::format("{:04}-{:02}-{:02}", year, month, day);
    case Granularity::kHour:
      return fmt::format("{:04}-{:02}-{:02}T{:02}", year, month, day, hour);
    case Granularity::kMinute:
      return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}", year, month, day, hour, minute);
  }
  return "";
}

Status Period::Validate() const {
  auto bad = [&](const char* what) {
    return Status::InvalidArgument(fmt::format("invalid {} in period {}", what, ToString()));
  };
  if (year < 1 || year > 9999) return bad("year");
  if (granularity <= Granularity::kMonth && (month < 1 || month > 12)) return bad("month");
  if (granularity <= Granularity::kDay) {
    static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int max = month == 2 ? (leap ? 29 : 28) : kDays[month - 1];
    if (day < 1 || day > max) return bad("day");
  }
  if (granularity <= Granularity::kHour && (hour < 0 || hour > 23)) return bad("hour");
  if (granularity <= Granularity::kMinute && (minute < 0 || minute > 59)) return bad("minute");
  return Status::OK();
}

Result<Period> ParseDay(std::string_view text) {
  Period p;
  p.granularity = Granularity::kDay;
  char tail = 0;
  std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &p.year, &p.month, &p.day, &tail) != 3 ||
      s.size() != 10) {
    return Status::InvalidArgument("'" + s + "' is not a date in YYYY-MM-DD form");
  }
  LP_RETURN_IF_ERROR(p.Validate().WithContext("'" + s + "'"));
  return p;
}

}  // namespace lakepack
