// The plan of `lakepack pack` (see pack_plan.h).
#include "plan/pack_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "lakepack/format.h"

namespace lakepack {

namespace {

bool EndsWith(const std::string& s, const std::string& t) {
  return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

std::string BaseName(const std::string& key) {
  auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

}  // namespace

std::string PackOutputName(const std::string& table, const std::string& suffix, int64_t number,
                           const std::string& ext) {
  if (suffix.empty()) return fmt::format("{}_{}.{}", table, number, ext);
  return fmt::format("{}_{}_{}.{}", table, suffix, number, ext);
}

std::optional<PackOutputId> ParsePackOutputName(const std::string& name, const std::string& table,
                                                const std::string& suffix) {
  std::string head = suffix.empty() ? table + "_" : table + "_" + suffix + "_";
  if (name.rfind(head, 0) != 0) return std::nullopt;
  size_t i = head.size(), j = i;
  while (j < name.size() && name[j] >= '0' && name[j] <= '9') j++;
  if (j == i || j - i > 15 || j >= name.size() || name[j] != '.') return std::nullopt;
  if (j - i > 1 && name[i] == '0') return std::nullopt;  // "07" is not ours
  PackOutputId id;
  id.number = std::stoll(name.substr(i, j - i));
  id.ext = name.substr(j + 1);
  if (id.ext.empty()) return std::nullopt;
  return id;
}

Result<PackSeries> FindPackSeries(const std::vector<ObjectInfo>& listing, const std::string& dir,
                                  const std::string& table, const std::string& suffix,
                                  const std::string& ext) {
  PackSeries s;
  for (const auto& o : listing) {
    if (o.key.rfind(dir, 0) != 0) continue;
    std::string rest = o.key.substr(dir.size());
    if (rest.find('/') != std::string::npos) continue;  // other partitions, _lakepack/
    auto id = ParsePackOutputName(rest, table, suffix);
    if (!id) continue;
    if (id->ext != ext) {
      return Status::FailedPrecondition(
          fmt::format("{}: an existing output is .{}, but --format asks for .{}; nothing was "
                      "written (pack into another table, suffix or partition, or use --format {})",
                      o.key, id->ext, ext, id->ext));
    }
    s.outputs++;
    if (!s.latest || id->number >= s.next_number) {
      s.latest = o;
      s.next_number = id->number + 1;
    }
  }
  return s;
}

std::vector<ObjectInfo> SelectPackInputs(const std::vector<ObjectInfo>& listing,
                                         const std::string& dir, const std::string& ext,
                                         std::vector<std::string>* skipped) {
  std::vector<ObjectInfo> out;
  for (const auto& o : listing) {
    if (o.key.rfind(dir, 0) != 0) continue;
    if (o.key.find("_lakepack/") != std::string::npos) continue;
    std::string name = BaseName(o.key);
    // "parquet" also matches ".snappy.parquet": both are Parquet files.
    if (!ext.empty() && !EndsWith(name, "." + ext)) continue;
    if (name.empty() || name[0] == '.' || FormatFromPath(name) == FileFormat::kUnknown) {
      if (skipped) skipped->push_back(o.key);
      continue;
    }
    out.push_back(o);
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

std::string PackManifestKey(const std::string& table, const std::string& partition,
                            const std::string& suffix, const std::string& ext) {
  std::string dir = table + "/" + (partition.empty() ? "" : partition + "/");
  (void)ext;  // a series has one extension: another one is refused before the manifest counts
  return dir + "_lakepack/pack-" + table + (suffix.empty() ? "" : "_" + suffix) + ".manifest.json";
}

bool PackManifest::Contains(const std::string& uri, const std::string& etag) const {
  return std::any_of(packed.begin(), packed.end(),
                     [&](const auto& p) { return p.first == uri && p.second == etag; });
}

std::string PackManifestToJson(const PackManifest& m) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& [uri, etag] : m.packed) arr.push_back({{"uri", uri}, {"etag", etag}});
  return nlohmann::json{{"version", 1}, {"packed", arr}}.dump(1);
}

Result<PackManifest> PackManifestFromJson(const std::string& json) {
  PackManifest m;
  try {
    auto j = nlohmann::json::parse(json);
    for (const auto& e : j.at("packed")) {
      m.packed.emplace_back(e.at("uri").get<std::string>(), e.at("etag").get<std::string>());
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("pack manifest: ") + e.what());
  }
  return m;
}

int64_t RowsForBytes(int64_t target, double bytes_per_row) {
  if (bytes_per_row <= 0) return 1;
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(target / bytes_per_row)));
}

}  // namespace lakepack
