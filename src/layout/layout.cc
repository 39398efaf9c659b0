// Layout templates parsed both ways (see layout.h).
#include "layout/layout.h"

#include <fmt/format.h>

#include "common/strings.h"

namespace lakepack {

namespace {

// Name groups the --pattern may use, in order: index = field number.
constexpr std::string_view kPatternGroups[] = {"yyyy", "MM", "dd", "HH", "mm"};

// Merged names: "<table>_YYYY[MM[DD[THH[MM]]]].parquet".
const std::regex& MergedNameRegex() {
  static const std::regex re(R"(^(.+)_(\d{4})(\d{2})?(\d{2})?(?:T(\d{2})(\d{2})?)?\.parquet$)");
  return re;
}

}  // namespace

Result<Layout> Layout::Parse(std::string_view templ, std::string_view name_pattern) {
  Layout l;
  l.templ_ = std::string(templ);
  auto segs = Split(templ, '/');
  if (segs.empty() || segs.back() != "{name}") {
    return Status::InvalidArgument("--layout '" + l.templ_ + "': must end with /{name}");
  }
  segs.pop_back();
  static const std::pair<std::string_view, Field> kFields[] = {{"{yyyy}", Field::kYear},
                                                               {"{MM}", Field::kMonth},
                                                               {"{dd}", Field::kDay},
                                                               {"{HH}", Field::kHour}};
  for (auto seg : segs) {
    if (seg.empty()) return Status::InvalidArgument("--layout '" + l.templ_ + "': empty segment");
    bool is_time = false;
    for (auto& [ph, field] : kFields) {
      auto pos = seg.find(ph);
      if (pos == std::string_view::npos) continue;
      TimeSegment t{std::string(seg.substr(0, pos)), std::string(seg.substr(pos + ph.size())),
                    field};
      if (t.before.find('{') != std::string::npos || t.after.find('{') != std::string::npos) {
        return Status::InvalidArgument("--layout '" + l.templ_ + "': one placeholder per segment");
      }
      // Time directories go from coarse to fine, each one step finer than the last.
      Field expect =
          l.time_.empty() ? Field::kYear : static_cast<Field>(int(l.time_.back().field) + 1);
      if (field != expect) {
        return Status::InvalidArgument(
            "--layout '" + l.templ_ +
            "': time directories must run {yyyy}/{MM}/{dd}/{HH} in order");
      }
      l.time_.push_back(std::move(t));
      is_time = true;
      break;
    }
    if (is_time) continue;
    if (!l.time_.empty()) {
      return Status::InvalidArgument("--layout '" + l.templ_ +
                                     "': no other directory may follow the time directories");
    }
    IdentitySegment id;
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      id.placeholder = std::string(seg.substr(1, seg.size() - 2));
    } else {
      id.literal = std::string(seg);
    }
    l.identity_.push_back(std::move(id));
  }
  if (l.time_.empty() && name_pattern.empty()) {
    return Status::InvalidArgument("--layout '" + l.templ_ +
                                   "': holds no time directory ({yyyy}...); give --pattern");
  }
  if (!name_pattern.empty()) {
    // std::regex has no named groups: rewrite (?<name>...) as (...) and remember the index.
    std::string re;
    std::vector<int> fields;
    bool in_class = false;
    for (size_t i = 0; i < name_pattern.size(); i++) {
      char c = name_pattern[i];
      if (c == '\\' && i + 1 < name_pattern.size()) {
        re += c;
        re += name_pattern[++i];
        continue;
      }
      if (in_class) {
        in_class = c != ']';
        re += c;
        continue;
      }
      if (c == '[') in_class = true;
      if (c == '(') {
        std::string_view rest = name_pattern.substr(i + 1);
        if (rest.rfind("?<", 0) == 0 && rest.size() > 2 && rest[2] != '=' && rest[2] != '!') {
          auto close = rest.find('>');
          if (close == std::string_view::npos) {
            return Status::InvalidArgument("--pattern: unterminated group name");
          }
          std::string_view name = rest.substr(2, close - 2);
          int field = -1;
          for (int f = 0; f < 5; f++) {
            if (kPatternGroups[f] == name) field = f;
          }
          if (field < 0) {
            return Status::InvalidArgument("--pattern: unknown group '" + std::string(name) +
                                           "' (use yyyy, MM, dd, HH, mm)");
          }
          fields.push_back(field);
          re += '(';
          i += close + 1;
          continue;
        }
        if (rest.rfind("?", 0) != 0) fields.push_back(-1);  // a plain capturing group
      }
      re += c;
    }
    if (std::find(fields.begin(), fields.end(), 0) == fields.end()) {
      return Status::InvalidArgument("--pattern: needs at least the group (?<yyyy>...)");
    }
    try {
      l.name_regex_.emplace(re, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument(std::string("--pattern: ") + e.what());
    }
    l.group_fields_ = std::move(fields);
  }
  return l;
}

bool Layout::MatchTime(const TimeSegment& seg, std::string_view text, int* value) const {
  size_t width = seg.field == Field::kYear ? 4 : 2;
  if (text.size() != seg.before.size() + width + seg.after.size()) return false;
  if (text.substr(0, seg.before.size()) != seg.before) return false;
  if (text.substr(text.size() - seg.after.size()) != seg.after) return false;
  int v = 0;
  for (char c : text.substr(seg.before.size(), width)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *value = v;
  return true;
}

std::string Layout::FormatTime(const TimeSegment& seg, const Period& p) const {
  switch (seg.field) {
    case Field::kYear:
      return fmt::format("{}{:04}{}", seg.before, p.year, seg.after);
    case Field::kMonth:
      return fmt::format("{}{:02}{}", seg.before, p.month, seg.after);
    case Field::kDay:
      return fmt::format("{}{:02}{}", seg.before, p.day, seg.after);
    case Field::kHour:
      return fmt::format("{}{:02}{}", seg.before, p.hour, seg.after);
  }
  return "";
}

std::optional<LayoutMatch> Layout::Match(std::string_view key, std::string_view root_name) const {
  auto segs = Split(key, '/');
  std::string_view name = segs.back();
  segs.pop_back();
  int fields[5] = {0, 0, 0, 0, 0};  // year, month, day, hour, minute
  for (int k = static_cast<int>(std::min(time_.size(), segs.size())); k >= 0; k--) {
    size_t first = segs.size() - k;
    bool ok = true;
    for (int j = 0; j < k && ok; j++) ok = MatchTime(time_[j], segs[first + j], &fields[j]);
    if (!ok) continue;
    for (int j = k; j < 5; j++) fields[j] = 0;
    // The directory's granularity: k time directories give year (1) … hour (4).
    int dir_fields = k;
    int name_fields = 0;  // fields the file name carries, counted from the year
    int from_name[5] = {0, 0, 0, 0, 0};
    std::smatch m;
    std::string name_s(name);
    if (name_regex_ && std::regex_search(name_s, m, *name_regex_)) {
      for (size_t g = 0; g < group_fields_.size(); g++) {
        int f = group_fields_[g];
        if (f < 0 || !m[g + 1].matched) continue;
        from_name[f] = std::stoi(m[g + 1].str());
        name_fields = std::max(name_fields, f + 1);
      }
    } else if (name_s.find('_') != std::string::npos &&  // spares the regex most minute files
               std::regex_match(name_s, m, MergedNameRegex())) {
      from_name[0] = std::stoi(m[2].str());
      name_fields = 1;
      for (int g = 3; g <= 6 && m[g].matched; g++) {
        from_name[g - 2] = std::stoi(m[g].str());
        name_fields = g - 1;
      }
    } else if (!name_regex_ &&
               (name_s.size() <= 8 || name_s.compare(name_s.size() - 8, 8, ".parquet") != 0)) {
      return std::nullopt;  // only Parquet files take part
    }
    // What the name says must agree with the directories.
    bool agree = true;
    for (int j = 0; j < std::min(dir_fields, name_fields); j++) agree &= from_name[j] == fields[j];
    if (!agree) return std::nullopt;
    LayoutMatch out;
    if (dir_fields > 0) {
      // A file sits one level finer than its directory.
      out.level = static_cast<Granularity>(4 - dir_fields);
      int known = dir_fields;
      if (name_fields > dir_fields) {
        for (int j = dir_fields; j < name_fields; j++) fields[j] = from_name[j];
        known = std::min(name_fields, dir_fields + 1);
      }
      out.period.granularity = static_cast<Granularity>(5 - known);
    } else {
      if (name_fields == 0) return std::nullopt;  // nothing places this file in time
      for (int j = 0; j < name_fields; j++) fields[j] = from_name[j];
      out.level = static_cast<Granularity>(5 - name_fields);
      out.period.granularity = out.level;
      // Without --pattern only a year file may sit outside any time directory.
      if (!name_regex_ && out.level != Granularity::kYear) return std::nullopt;
    }
    out.period.year = fields[0];
    out.period.month = fields[1];
    out.period.day = fields[2];
    out.period.hour = fields[3];
    out.period.minute = fields[4];
    out.period = out.period.Truncate(out.period.granularity);
    if (!out.period.Validate().ok()) return std::nullopt;
    std::string prefix;
    for (size_t j = 0; j < first; j++) {
      if (j) prefix += '/';
      prefix += segs[j];
    }
    out.prefix = prefix;
    out.name = name_s;
    // The table: the {table} identity segment, aligned from the right end of the prefix.
    out.table.clear();
    for (size_t i = 0; i < identity_.size(); i++) {
      if (identity_[i].placeholder != "table") continue;
      ptrdiff_t idx = static_cast<ptrdiff_t>(first) - static_cast<ptrdiff_t>(identity_.size()) +
                      static_cast<ptrdiff_t>(i);
      if (idx >= 0 && idx < static_cast<ptrdiff_t>(first)) out.table = std::string(segs[idx]);
    }
    if (out.table.empty())
      out.table = first > 0 ? std::string(segs[first - 1]) : std::string(root_name);
    if (out.table.empty()) out.table = "data";
    return out;
  }
  return std::nullopt;
}

std::optional<Period> Layout::DirPeriod(std::string_view dir) const {
  if (!dir.empty() && dir.back() == '/') dir.remove_suffix(1);
  if (dir.empty()) return std::nullopt;
  auto segs = Split(dir, '/');
  for (size_t k = std::min(time_.size(), segs.size()); k >= 1; k--) {
    size_t first = segs.size() - k;
    int fields[4] = {0, 0, 0, 0};  // year, month, day, hour
    bool ok = true;
    for (size_t j = 0; j < k && ok; j++) ok = MatchTime(time_[j], segs[first + j], &fields[j]);
    if (!ok) continue;
    Period p;
    p.granularity = static_cast<Granularity>(5 - static_cast<int>(k));
    p.year = fields[0];
    p.month = fields[1];
    p.day = fields[2];
    p.hour = fields[3];
    return p;
  }
  return std::nullopt;
}

std::string Layout::MergedName(const std::string& table, const Period& period) {
  return table + "_" + period.Compact() + ".parquet";
}

std::string Layout::MergedKey(const std::string& prefix, const std::string& table,
                              const Period& period) const {
  std::string key = prefix;
  // The time directories coarser than the period: an hour file sits in its day's directory.
  for (const auto& seg : time_) {
    int field_gran = 4 - static_cast<int>(seg.field);  // year 4 … hour 1
    if (field_gran <= static_cast<int>(period.granularity)) continue;
    if (!key.empty()) key += '/';
    key += FormatTime(seg, period);
  }
  if (!key.empty()) key += '/';
  return key + MergedName(table, period);
}

}  // namespace lakepack
