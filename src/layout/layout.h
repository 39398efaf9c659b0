// Layout: how a dataset names its files by time. A template such as
// "{user}/{db}/{table}/{yyyy}/{MM}/{dd}/{HH}/{name}" or hive's
// "{table}/year={yyyy}/month={MM}/day={dd}/{name}" is parsed once and then used both ways:
// key → (table prefix, level, period) and (table prefix, level, period) → key.
//
// The template describes the finest files (minute files in hour directories for the default).
// A coarser file lives one time directory higher: an hour file in the day directory, a day
// file in the month directory, ..., a year file beside the year directories.
// Thread-safety: a Layout is immutable after Parse and may be shared.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "lakepack/status.h"
#include "layout/period.h"

namespace lakepack {

//! Where one file sits in the layout.
struct LayoutMatch {
  //! The directory segments before the time directories ("u/db/t"; may be empty).
  std::string prefix;
  //! The table name: the {table} segment of the prefix, or the prefix's last segment.
  std::string table;
  //! The file's own granularity (minute for a file in an hour directory).
  Granularity level = Granularity::kMinute;
  //! The file's period as far as it is known: at `level` when the name carries it (merged
  //! names, --pattern), else at the directory's granularity (Coarser(level)).
  Period period;
  //! The file name (last segment).
  std::string name;
};

class Layout {
 public:
  //! The seeds' layout: minute files at <user>/<db>/<table>/YYYY/MM/DD/HH/<file>.
  static constexpr std::string_view kDefaultTemplate =
      "{user}/{db}/{table}/{yyyy}/{MM}/{dd}/{HH}/{name}";

  //! Parses a template. `name_pattern`, when non-empty, is a regular expression over file
  //! names with named groups (?<yyyy>…)(?<MM>…)(?<dd>…)(?<HH>…)(?<mm>…) giving a file's time
  //! where the path does not carry it. InvalidArgument names what is wrong.
  static Result<Layout> Parse(std::string_view templ, std::string_view name_pattern = "");

  //! Places a key (relative to the dataset root). std::nullopt: the key does not fit the
  //! layout (a stray file, left alone). `root_name` names the table when the key has no
  //! prefix (the dataset root is the table itself).
  std::optional<LayoutMatch> Match(std::string_view key, std::string_view root_name = "") const;

  //! The key of the merged file of `period` (whose granularity is the file's level) for the
  //! table at `prefix`: "<prefix>/<time dirs above the period>/<table>_<compact>.parquet".
  std::string MergedKey(const std::string& prefix, const std::string& table,
                        const Period& period) const;

  //! The period a directory ("u/db/t/2025/01/", a common prefix) stands for when its last
  //! segments are the layout's first time directories in order (year, then month, ...):
  //! granularity year for one, month for two, ... hour for four; the most segments that match
  //! win, as in Match. std::nullopt: no time directory ends `dir`. The period may be invalid
  //! (month 13): check it with Validate.
  std::optional<Period> DirPeriod(std::string_view dir) const;
  //! Whether the template holds time directories (else only --pattern places files in time).
  bool HasTimeDirectories() const { return !time_.empty(); }
  //! Whether a --pattern places files by their names (perhaps beside the time directories).
  bool HasNamePattern() const { return name_regex_.has_value(); }

  //! The name MergedKey gives a file: "<table>_<compact period>.parquet".
  static std::string MergedName(const std::string& table, const Period& period);

  const std::string& templ() const { return templ_; }

 private:
  enum class Field { kYear, kMonth, kDay, kHour };
  struct TimeSegment {
    std::string before, after;  // literal text around the placeholder ("year=", "")
    Field field;
  };
  struct IdentitySegment {
    std::string literal;  // empty for a placeholder
    std::string placeholder;
  };
  bool MatchTime(const TimeSegment& seg, std::string_view text, int* value) const;
  std::string FormatTime(const TimeSegment& seg, const Period& p) const;

  std::string templ_;
  std::vector<IdentitySegment> identity_;
  std::vector<TimeSegment> time_;
  // --pattern: the regex and, for each capture group index, the field it fills (-1: none).
  std::optional<std::regex> name_regex_;
  std::vector<int> group_fields_;  // 0 yyyy, 1 MM, 2 dd, 3 HH, 4 mm
};

}  // namespace lakepack
