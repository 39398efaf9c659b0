// The plan of `lakepack pack` (see pack_plan.h).
#include "plan/pack_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "lakepack/format.h"

namespace lakepack {

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
    s.all.push_back(o);
    if (!s.latest || id->number >= s.next_number) {
      s.latest = o;
      s.next_number = id->number + 1;
    }
  }
  std::sort(s.all.begin(), s.all.end(), [&](const ObjectInfo& a, const ObjectInfo& b) {
    return ParsePackOutputName(a.key.substr(dir.size()), table, suffix)->number <
           ParsePackOutputName(b.key.substr(dir.size()), table, suffix)->number;
  });
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
    // "parquet" also matches ".snappy.parquet": both are Parquet files. Case does not matter
    // ("csv" takes ".CSV"), as for the format itself.
    if (!ext.empty() && !EndsWith(Lower(name), "." + Lower(ext))) continue;
    // Pack reads CSV, JSON lines and Parquet; an Avro file is left alone like any other.
    const FileFormat f = FormatFromPath(name);
    if (name.empty() || name[0] == '.' || f == FileFormat::kUnknown || f == FileFormat::kAvro) {
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

namespace {

nlohmann::json SegmentsToJson(const Provenance& p) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& g : p) {
    nlohmann::json j = {
        {"uri", g.uri}, {"etag", g.etag}, {"size", g.size}, {"first", g.first}, {"rows", g.rows}};
    if (g.consumed) j["consumed"] = true;
    arr.push_back(std::move(j));
  }
  return arr;
}

Provenance SegmentsFromJson(const nlohmann::json& arr) {
  Provenance p;
  for (const auto& e : arr) {
    ProvenanceSegment g;
    g.uri = e.at("uri").get<std::string>();
    g.etag = e.at("etag").get<std::string>();
    g.size = e.at("size").get<int64_t>();
    g.first = e.at("first").get<int64_t>();
    g.rows = e.at("rows").get<int64_t>();
    g.consumed = e.value("consumed", false);
    if (g.rows < 0 || g.first < 0) throw std::out_of_range("negative row count");
    p.push_back(std::move(g));
  }
  return p;
}

}  // namespace

std::string ProvenanceToJson(const Provenance& p) {
  return nlohmann::json{{"version", 1}, {"inputs", SegmentsToJson(p)}}.dump();
}

Result<Provenance> ProvenanceFromJson(std::string_view json) {
  try {
    return SegmentsFromJson(nlohmann::json::parse(json).at("inputs"));
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("provenance: ") + e.what());
  }
}

int64_t ProvenanceRows(const Provenance& p) {
  int64_t n = 0;
  for (const auto& g : p) n += g.rows;
  return n;
}

Provenance SliceProvenance(const Provenance& stream, int64_t start, int64_t n) {
  Provenance out;
  int64_t pos = 0;
  const int64_t end = start + n;
  for (const auto& g : stream) {
    int64_t a = std::max(pos, start), b = std::min(pos + g.rows, end);
    if (a < b) {
      ProvenanceSegment cut = g;
      cut.first = g.first + (a - pos);
      cut.rows = b - a;
      out.push_back(std::move(cut));
    }
    pos += g.rows;
    if (pos >= end) break;
  }
  return out;
}

Provenance RemoveSegments(const Provenance& p,
                          const std::function<bool(const ProvenanceSegment&)>& drop,
                          std::vector<std::pair<int64_t, int64_t>>* kept) {
  Provenance out;
  int64_t pos = 0;
  for (const auto& g : p) {
    if (drop(g)) {
      pos += g.rows;
      continue;
    }
    if (kept) {
      if (!kept->empty() && kept->back().first + kept->back().second == pos) {
        kept->back().second += g.rows;
      } else if (g.rows > 0) {
        kept->emplace_back(pos, g.rows);
      }
    }
    out.push_back(g);
    pos += g.rows;
  }
  return out;
}

const PackManifest::Output* PackManifest::Find(const ObjectInfo& object, bool by_size) const {
  for (const auto& o : outputs) {
    if (o.key != object.key) continue;
    if (by_size ? o.size == object.size : (!o.etag.empty() && o.etag == object.etag)) return &o;
  }
  return nullptr;
}

std::string PackManifestToJson(const PackManifest& m) {
  nlohmann::json outs = nlohmann::json::array();
  for (const auto& o : m.outputs) {
    outs.push_back({{"key", o.key},
                    {"etag", o.etag},
                    {"size", o.size},
                    {"inputs", SegmentsToJson(o.provenance)}});
  }
  nlohmann::json j = {{"version", 2}, {"outputs", outs}};
  if (!m.legacy.empty()) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& [uri, etag] : m.legacy) arr.push_back({{"uri", uri}, {"etag", etag}});
    j["packed"] = arr;
  }
  return j.dump(1);
}

Result<PackManifest> PackManifestFromJson(const std::string& json) {
  PackManifest m;
  try {
    auto j = nlohmann::json::parse(json);
    if (j.contains("packed")) {
      for (const auto& e : j.at("packed")) {
        m.legacy.emplace_back(e.at("uri").get<std::string>(), e.at("etag").get<std::string>());
      }
    }
    if (j.contains("outputs")) {
      for (const auto& e : j.at("outputs")) {
        m.outputs.push_back({e.at("key").get<std::string>(), e.at("etag").get<std::string>(),
                             e.at("size").get<int64_t>(), SegmentsFromJson(e.at("inputs"))});
      }
    }
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("pack manifest: ") + e.what());
  }
  return m;
}

void PackedIndex::Add(const std::string& output_key, const Provenance& p) {
  for (const auto& g : p) {
    if (g.uri.empty()) continue;
    auto& v = held_[g.uri];
    bool seen = std::any_of(v.begin(), v.end(), [&](const Held& h) {
      return h.etag == g.etag && h.output == output_key;
    });
    if (!seen) v.push_back({g.etag, g.size, g.consumed, output_key});
  }
}

void PackedIndex::AddLegacy(const std::string& uri, const std::string& etag) {
  // Version 1 did not say whether the input was deleted: a later version at the same key is
  // taken as a change, the safe reading.
  held_[uri].push_back({etag, 0, false, ""});
}

InputVerdict PackedIndex::Classify(const std::string& uri, const std::string& etag) const {
  InputVerdict v;
  auto it = held_.find(uri);
  if (it == held_.end()) return v;
  for (const auto& h : it->second) {
    if (h.etag == etag) {
      v.state = InputState::kPacked;
      v.output = h.output;
      return v;
    }
  }
  for (const auto& h : it->second) {
    if (!h.consumed) {
      v.state = InputState::kChanged;
      v.output = h.output;
      v.etag = h.etag;
      v.size = h.size;
      return v;
    }
  }
  return v;
}

std::optional<std::vector<std::pair<size_t, size_t>>> CutRowGroups(
    const std::vector<int64_t>& bytes, const std::vector<int64_t>& rows, int64_t target,
    double tolerance, int64_t first_min_rows, double overhead, double per_group) {
  std::vector<std::pair<size_t, size_t>> cuts;
  const double t = static_cast<double>(target);
  size_t i = 0;
  while (i < bytes.size()) {
    double size = overhead;
    int64_t held = 0;
    size_t j = i;
    while (j < bytes.size()) {
      const double next = size + static_cast<double>(bytes[j]) + per_group;
      const bool needed = j == i || (cuts.empty() && held < first_min_rows);
      if (!needed && std::abs(next - t) > std::abs(size - t)) break;
      size = next;
      held += rows[j];
      j++;
    }
    const bool last = j == bytes.size();
    if (last ? size > t * (1 + tolerance) : std::abs(size - t) > t * tolerance) {
      return std::nullopt;
    }
    cuts.emplace_back(i, j - i);
    i = j;
  }
  return cuts;
}

int64_t RowsForBytes(int64_t target, double bytes_per_row) {
  if (bytes_per_row <= 0) return 1;
  return std::max<int64_t>(1, static_cast<int64_t>(std::llround(target / bytes_per_row)));
}

}  // namespace lakepack
