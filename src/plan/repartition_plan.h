// The repartition planner (lakepack repartition, docs/repartition.md): SiteWise cold-tier keys
// parsed from the right, and for one day, which raw objects are new to its day file. Pure: no
// I/O, deterministic for a given listing and day file, so --dry-run shows what a run does.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/object_store.h"
#include "lakepack/status.h"
#include "layout/period.h"

namespace lakepack {

//! raw/startYear=Y/startMonth=M/startDay=D/seriesBucket=XX/raw_{id}_{startTimestamp}_{quality}.avro
struct RawKey {
  Period day;  // granularity day
  std::string series_bucket;
  std::string series_id;  // may contain '_' (assetId_propertyId)
  int64_t start_timestamp = 0;
  std::string quality;
};

//! Parses a key relative to the cold tier's root; std::nullopt when it does not fit the layout
//! (month and day unpadded as SiteWise writes them; padded ones are accepted too).
std::optional<RawKey> ParseRawKey(std::string_view key);

//! "raw/startYear=2023/startMonth=1/startDay=25/": the one prefix a day's listing needs.
std::string RawDayPrefix(const Period& day);
//! "startYear=2023/startMonth=1/startDay=25/": the day's partition in DST.
std::string DayPartition(const Period& day);
inline constexpr std::string_view kDayFileName = "merged.avro";
inline constexpr std::string_view kSeriesIndexName = "timeseries.txt";
//! The Avro metadata key of a day file that lists the raw objects merged into it.
inline constexpr std::string_view kSourcesMetadataKey = "lakepack.sources";

//! One raw object merged into a day file: what identifies it is its key and ETag.
struct MergedSource {
  std::string key;
  std::string etag;
  int64_t size = 0;
  bool operator<(const MergedSource& o) const { return key < o.key; }
};
//! The kSourcesMetadataKey value: a JSON array of [key, etag, size], sorted by key.
std::string EncodeSources(const std::vector<MergedSource>& sources);
Result<std::vector<MergedSource>> DecodeSources(std::string_view json);

struct DayPlanInput {
  Period day;
  //! The listing of RawDayPrefix(day), keys relative to the cold tier's root.
  std::vector<ObjectInfo> listing;
  //! The day file in DST now, and the sources its metadata lists.
  std::optional<ObjectInfo> existing;
  std::vector<MergedSource> merged;
  //! --series-list: only these series (nullptr: all).
  const std::set<std::string>* series = nullptr;
};

struct DayPlan {
  Period day;
  std::string output_key;  // DayPartition(day) + kDayFileName
  std::string index_key;   // DayPartition(day) + kSeriesIndexName
  std::optional<ObjectInfo> existing;
  //! Raw objects to merge, ordered by (series, start timestamp, key).
  std::vector<ObjectInfo> inputs;
  //! Every source the new day file lists (the merged ones kept, and `inputs`), sorted by key.
  std::vector<MergedSource> sources;
  //! Every series of the new day file, sorted (timeseries.txt).
  std::vector<std::string> series;
  int64_t new_series = 0;  // series not in the day file before
  int64_t input_bytes = 0;
  //! A merged source whose ETag changed: the day file is rebuilt from the listing alone
  //! (its old rows are not kept). `changed` names the keys.
  bool rebuild = false;
  std::vector<std::string> changed;
  //! Why the day cannot be planned (a changed source whose siblings are gone from the cold
  //! tier, so a rebuild would lose rows); empty when it can.
  std::string error;
  //! Keys under the day's prefix that do not fit the layout (reported, left alone), and keys
  //! of series not in --series-list (counted).
  std::vector<std::string> stray;
  int64_t filtered_out = 0;

  bool nothing_new() const { return inputs.empty() && error.empty(); }
};

DayPlan PlanDay(const DayPlanInput& in);

//! --series-list: plain lines (one id each; blanks and '#' comments skipped), or the JSON that
//! `aws iotsitewise list-time-series` prints ({"TimeSeriesSummaries": [...]}), where each
//! summary contributes its timeSeriesId and, for a series associated with an asset property,
//! "assetId_propertyId" (the id the cold tier's file names carry). `name` is for messages.
Result<std::set<std::string>> ParseSeriesList(const std::string& text, const std::string& name);

}  // namespace lakepack
