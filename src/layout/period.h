// Periods of time at the granularities lakepack rolls data up to (minute … year), in UTC.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lakepack/options.h"
#include "lakepack/status.h"

namespace lakepack {

enum class Granularity { kMinute = 0, kHour = 1, kDay = 2, kMonth = 3, kYear = 4 };

std::string_view GranularityName(Granularity g);
//! "minute", "hour", "day", "month", "year".
Result<Granularity> ParseGranularity(std::string_view name);
//! The granularity of a roll-up's grouping: the one place the public enum meets this one.
Granularity GranularityOf(Grouping g);
//! The next coarser granularity (hour → day). REQUIRES: g != kYear.
Granularity Coarser(Granularity g);
//! The next finer granularity (day → hour). REQUIRES: g != kMinute.
Granularity Finer(Granularity g);

//! One period: the fields finer than `granularity` are zero (month/day are 1-based, and 0
//! when not part of the period).
struct Period {
  Granularity granularity = Granularity::kYear;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0;

  //! The enclosing period at a coarser (or equal) granularity.
  Period Truncate(Granularity g) const;
  //! First instant, seconds since the epoch (UTC).
  int64_t StartSeconds() const;
  //! First instant of the next period.
  int64_t EndSeconds() const;
  //! Compact name used in merged file names: 2025, 202501, 20250102, 20250102T03,
  //! 20250102T0304.
  std::string Compact() const;
  //! Human form: 2025-01-02T03:04 truncated to the granularity.
  std::string ToString() const;
  //! Checks ranges (month 1-12, day valid for the month, ...).
  Status Validate() const;

  auto Tuple() const { return std::tuple(year, month, day, hour, minute, int(granularity)); }
  bool operator==(const Period& o) const { return Tuple() == o.Tuple(); }
  bool operator<(const Period& o) const { return Tuple() < o.Tuple(); }
};

//! Parses "YYYY-MM-DD" (a day).
Result<Period> ParseDay(std::string_view text);

}  // namespace lakepack
