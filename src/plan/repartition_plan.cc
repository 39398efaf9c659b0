#include "plan/repartition_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace lakepack {

namespace {

// "name=<digits>" → the number, or -1.
int PartitionNumber(std::string_view part, std::string_view name) {
  if (part.size() <= name.size() + 1 || part.substr(0, name.size()) != name ||
      part[name.size()] != '=') {
    return -1;
  }
  std::string_view digits = part.substr(name.size() + 1);
  int v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size() || digits.size() > 4) return -1;
  return v;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::optional<RawKey> ParseRawKey(std::string_view key) {
  std::vector<std::string_view> parts;
  size_t at = 0;
  while (at <= key.size()) {
    size_t slash = key.find('/', at);
    if (slash == std::string_view::npos) slash = key.size();
    parts.push_back(key.substr(at, slash - at));
    at = slash + 1;
  }
  if (parts.size() != 6 || parts[0] != "raw") return std::nullopt;
  RawKey r;
  r.day.granularity = Granularity::kDay;
  r.day.year = PartitionNumber(parts[1], "startYear");
  r.day.month = PartitionNumber(parts[2], "startMonth");
  r.day.day = PartitionNumber(parts[3], "startDay");
  if (r.day.year < 1970 || r.day.month < 1 || r.day.day < 1 || !r.day.Validate().ok()) {
    return std::nullopt;
  }
  constexpr std::string_view kBucket = "seriesBucket=";
  if (parts[4].substr(0, kBucket.size()) != kBucket) return std::nullopt;
  r.series_bucket = std::string(parts[4].substr(kBucket.size()));
  if (r.series_bucket.empty()) return std::nullopt;
  // raw_{id}_{startTimestamp}_{quality}.avro: parsed from the right, as the id holds '_'.
  std::string_view name = parts[5];
  constexpr std::string_view kPrefix = "raw_", kSuffix = ".avro";
  if (name.size() <= kPrefix.size() + kSuffix.size() || name.substr(0, kPrefix.size()) != kPrefix ||
      name.substr(name.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  std::string_view stem =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  size_t q = stem.rfind('_');
  if (q == std::string_view::npos || q == 0) return std::nullopt;
  r.quality = std::string(stem.substr(q + 1));
  std::string_view rest = stem.substr(0, q);
  size_t t = rest.rfind('_');
  if (t == std::string_view::npos || t == 0) return std::nullopt;
  std::string_view ts = rest.substr(t + 1);
  if (!AllDigits(ts) || ts.size() > 18 || r.quality.empty()) return std::nullopt;
  r.start_timestamp = std::stoll(std::string(ts));
  r.series_id = std::string(rest.substr(0, t));
  return r;
}

std::string RawDayPrefix(const Period& day) { return "raw/" + DayPartition(day); }

std::string DayPartition(const Period& day) {
  return fmt::format("startYear={}/startMonth={}/startDay={}/", day.year, day.month, day.day);
}

namespace {

// A JSON string: printable ASCII without quotes or backslashes (S3 keys and ETags, nearly
// always) is copied as it is; anything else goes through nlohmann (escapes; invalid UTF-8
// throws, as it did when the whole array went through it).
void AppendJsonString(std::string* out, const std::string& s) {
  const bool plain = std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    *out += nlohmann::json(s).dump();
    return;
  }
  out->push_back('"');
  *out += s;
  out->push_back('"');
}

}  // namespace

// Written by hand: a day of thousands of sources took nlohmann 10 ms to build and dump.
std::string EncodeSources(const std::vector<MergedSource>& sources) {
  std::vector<const MergedSource*> sorted;
  sorted.reserve(sources.size());
  for (const auto& s : sources) sorted.push_back(&s);
  std::sort(sorted.begin(), sorted.end(),
            [](const MergedSource* a, const MergedSource* b) { return *a < *b; });
  std::string out = "[";
  for (const auto* s : sorted) {
    if (out.size() > 1) out.push_back(',');
    out.push_back('[');
    AppendJsonString(&out, s->key);
    out.push_back(',');
    AppendJsonString(&out, s->etag);
    out += fmt::format(",{}]", s->size);
  }
  out.push_back(']');
  return out;
}

Result<std::vector<MergedSource>> DecodeSources(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return Status::Corruption(std::string(kSourcesMetadataKey) + " is not a JSON array");
  }
  std::vector<MergedSource> out;
  for (const auto& e : j) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_string() || !e[1].is_string() ||
        !e[2].is_number_integer()) {
      return Status::Corruption(std::string(kSourcesMetadataKey) +
                                " holds an entry that is not [key, etag, size]");
    }
    out.push_back({e[0].get<std::string>(), e[1].get<std::string>(), e[2].get<int64_t>()});
  }
  return out;
}

namespace {

// A key for a message: its bytes that are not UTF-8 as \xNN.
std::string QuoteNonUtf8(std::string_view key) {
  std::string out;
  for (size_t i = 0; i < key.size();) {
    size_t n = Utf8SequenceLength(key, i);
    if (n == 0) {
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(key[i]));
      i++;
    } else {
      out.append(key.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

DayPlan PlanDay(const DayPlanInput& in) {
  DayPlan plan;
  plan.day = in.day;
  plan.output_key = DayPartition(in.day) + std::string(kDayFileName);
  plan.index_key = DayPartition(in.day) + std::string(kSeriesIndexName);
  plan.existing = in.existing;

  std::map<std::string, const MergedSource*> merged;
  for (const auto& m : in.merged) merged[m.key] = &m;
  struct Listed {
    RawKey raw;
    const ObjectInfo* info;
  };
  std::vector<Listed> listed;
  for (const auto& o : in.listing) {
    auto raw = ParseRawKey(o.key);
    if (!raw || !(raw->day == in.day)) {
      plan.stray.push_back(o.key);
      continue;
    }
    if (in.series && !in.series->count(raw->series_id)) {
      plan.filtered_out++;
      continue;
    }
    if (!IsValidUtf8(o.key)) {
      // lakepack.sources is JSON, which holds text only: such a source could not be listed.
      plan.error = fmt::format(
          "{}: the key is not valid UTF-8, so the day file's list of sources cannot name it; "
          "rename it",
          QuoteNonUtf8(o.key));
      return plan;
    }
    listed.push_back({std::move(*raw), &o});
  }
  std::string first_change;
  for (const auto& l : listed) {
    auto m = merged.find(l.info->key);
    if (m != merged.end() && m->second->etag != l.info->etag) {
      if (plan.changed.empty()) {
        first_change = fmt::format("{} (merged with ETag {}, now {})", l.info->key, m->second->etag,
                                   l.info->etag);
      }
      plan.changed.push_back(l.info->key);
    }
  }
  plan.rebuild = !plan.changed.empty();
  if (plan.rebuild) {
    // Rebuilding from the listing drops the day file's rows: only safe when every source it
    // lists is still there to be read again.
    std::set<std::string> now;
    for (const auto& l : listed) now.insert(l.info->key);
    for (const auto& m : in.merged) {
      if (!now.count(m.key)) {
        plan.error = fmt::format(
            "{} changed since it was merged, and rebuilding the day would lose the rows of {}, "
            "which the cold tier no longer holds",
            first_change, m.key);
        return plan;
      }
    }
  }
  std::set<std::string> old_series;
  if (!plan.rebuild) {
    for (const auto& m : in.merged) {
      plan.sources.push_back(m);
      if (auto raw = ParseRawKey(m.key)) old_series.insert(raw->series_id);
    }
  }
  std::vector<const Listed*> take;
  for (const auto& l : listed) {
    if (!plan.rebuild && merged.count(l.info->key)) continue;  // merged before, same ETag
    take.push_back(&l);
  }
  std::sort(take.begin(), take.end(), [](const Listed* a, const Listed* b) {
    return std::tie(a->raw.series_id, a->raw.start_timestamp, a->info->key) <
           std::tie(b->raw.series_id, b->raw.start_timestamp, b->info->key);
  });
  std::set<std::string> all_series = old_series;
  for (const Listed* l : take) {
    plan.inputs.push_back(*l->info);
    plan.sources.push_back({l->info->key, l->info->etag, l->info->size});
    plan.input_bytes += l->info->size;
    all_series.insert(l->raw.series_id);
  }
  std::sort(plan.sources.begin(), plan.sources.end());
  plan.series.assign(all_series.begin(), all_series.end());
  for (const auto& s : plan.series) plan.new_series += !old_series.count(s);
  return plan;
}

Result<std::set<std::string>> ParseSeriesList(const std::string& text, const std::string& name) {
  std::set<std::string> ids;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.contains("TimeSeriesSummaries") ||
        !j["TimeSeriesSummaries"].is_array()) {
      return Status::InvalidArgument(
          name +
          ": JSON, but not `aws iotsitewise list-time-series` output (no "
          "TimeSeriesSummaries array)");
    }
    for (const auto& s : j["TimeSeriesSummaries"]) {
      if (!s.is_object()) continue;
      if (s.contains("timeSeriesId") && s["timeSeriesId"].is_string()) {
        ids.insert(s["timeSeriesId"].get<std::string>());
      }
      if (s.contains("assetId") && s.contains("propertyId") && s["assetId"].is_string() &&
          s["propertyId"].is_string()) {
        ids.insert(s["assetId"].get<std::string>() + "_" + s["propertyId"].get<std::string>());
      }
    }
    return ids;
  }
  size_t at = 0;
  while (at < text.size()) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(at, nl - at);
    at = nl + 1;
    size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos || line[b] == '#') continue;
    size_t e = line.find_last_not_of(" \t\r");
    ids.insert(line.substr(b, e - b + 1));
  }
  return ids;
}

}  // namespace lakepack
