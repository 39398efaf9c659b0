// The plan of `lakepack pack`, without I/O: which keys are inputs, which existing output is
// the latest of its series, where the manifest of packed inputs lives, and how many rows each
// output gets for a measured size per row.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

//! "T_N.ext" or "T_S_N.ext" for the series (table, suffix).
std::string PackOutputName(const std::string& table, const std::string& suffix, int64_t number,
                           const std::string& ext);

//! The number and extension of a file name of the series, or nullopt when it is not one.
struct PackOutputId {
  int64_t number = 0;
  std::string ext;
};
std::optional<PackOutputId> ParsePackOutputName(const std::string& name, const std::string& table,
                                                const std::string& suffix);

//! The existing outputs of one series in one directory.
struct PackSeries {
  std::optional<ObjectInfo> latest;  // the highest number
  int64_t next_number = 0;           // the number of the next new output
  int64_t outputs = 0;
  std::vector<ObjectInfo> all;  // every output of the series, by number
};

//! Looks at the objects directly inside `dir` (a key prefix ending in '/'). A file of the
//! series with another extension than `ext` is FailedPrecondition, naming it.
Result<PackSeries> FindPackSeries(const std::vector<ObjectInfo>& listing, const std::string& dir,
                                  const std::string& table, const std::string& suffix,
                                  const std::string& ext);

//! The inputs under `dir` (recursive), in key order: lakepack's own `_lakepack/` objects are
//! never inputs, nor are files whose format is unknown; with `ext` only names ending ".ext"
//! ("parquet" takes ".snappy.parquet" too). `skipped` gets keys left out for an
//! unknown format.
std::vector<ObjectInfo> SelectPackInputs(const std::vector<ObjectInfo>& listing,
                                         const std::string& dir, const std::string& ext,
                                         std::vector<std::string>* skipped);

//! Where the manifest of one series lives: "<dir>_lakepack/pack-<name>.json" under the table
//! directory.
std::string PackManifestKey(const std::string& table, const std::string& partition,
                            const std::string& suffix, const std::string& ext);

//! One run of rows of one input inside an output: rows [first, first + rows) of the input, in
//! the input's own order. An output's provenance lists its segments in its row order, so the
//! segments' rows add up to the output's rows.
struct ProvenanceSegment {
  std::string uri;  // the input; empty for rows of unknown origin (written before provenance)
  std::string etag;
  int64_t size = 0;  // the input's bytes when it was packed
  int64_t first = 0;
  int64_t rows = 0;
  //! Packed with --delete-inputs: the input is deleted once the outputs are committed, so a
  //! later object at the same key is a new input, not a changed one.
  bool consumed = false;
  bool operator==(const ProvenanceSegment&) const = default;
};
using Provenance = std::vector<ProvenanceSegment>;

//! The key of the provenance in a Parquet output's key-value metadata.
inline constexpr const char* kProvenanceKey = "lakepack.provenance";

std::string ProvenanceToJson(const Provenance& p);
Result<Provenance> ProvenanceFromJson(std::string_view json);
int64_t ProvenanceRows(const Provenance& p);
//! The segments (cut where needed) that rows [start, start + n) of `stream` hold.
Provenance SliceProvenance(const Provenance& stream, int64_t start, int64_t n);
//! `p` without the segments `drop` picks; `kept` gets the output's row ranges that remain, as
//! (first row, count) in the output, adjacent ranges merged.
Provenance RemoveSegments(const Provenance& p,
                          const std::function<bool(const ProvenanceSegment&)>& drop,
                          std::vector<std::pair<int64_t, int64_t>>* kept);

//! The manifest of a series: a cache of each output's provenance, keyed by the output's key and
//! ETag. The outputs themselves are the truth (their footers); an entry whose ETag no longer
//! matches is ignored. Version 1 manifests (a list of packed inputs) are still read.
struct PackManifest {
  struct Output {
    std::string key, etag;  // etag empty: not known when the manifest was committed
    int64_t size = 0;
    Provenance provenance;
  };
  std::vector<Output> outputs;
  std::vector<std::pair<std::string, std::string>> legacy;  // version 1: (uri, etag) packed
  //! The entry for `object`: same key and ETag; or, with `by_size` (CSV and JSON-lines
  //! outputs, which cannot carry their own provenance), same key and size.
  const Output* Find(const ObjectInfo& object, bool by_size) const;
};
std::string PackManifestToJson(const PackManifest& m);
Result<PackManifest> PackManifestFromJson(const std::string& json);

//! What the outputs of a series say about one input.
enum class InputState { kNew, kPacked, kChanged };
struct InputVerdict {
  InputState state = InputState::kNew;
  // kChanged: what was packed then.
  std::string output;  // key of an output holding the old rows
  std::string etag;
  int64_t size = 0;
};

//! Every input the outputs of a series hold, from their provenance.
class PackedIndex {
 public:
  void Add(const std::string& output_key, const Provenance& p);
  void AddLegacy(const std::string& uri, const std::string& etag);
  //! kPacked when an output holds `uri` at `etag`; kChanged when outputs hold another version
  //! of it that was not consumed; else kNew.
  InputVerdict Classify(const std::string& uri, const std::string& etag) const;

 private:
  struct Held {
    std::string etag;
    int64_t size = 0;
    bool consumed = false;
    std::string output;
  };
  std::map<std::string, std::vector<Held>> held_;
};

//! Outputs cut at row-group boundaries, as (first group, groups) each: the groups of `bytes`
//! (their rows in `rows`) taken in order, each output as close to `target` bytes as whole
//! groups bring it, counting `overhead` bytes per file and `per_group` per group besides the
//! groups' own; the first output holds at least `first_min_rows` rows. nullopt when the groups
//! are too coarse for that: an output but the last further than `tolerance` from the target,
//! or the last above it by more.
std::optional<std::vector<std::pair<size_t, size_t>>> CutRowGroups(
    const std::vector<int64_t>& bytes, const std::vector<int64_t>& rows, int64_t target,
    double tolerance, int64_t first_min_rows, double overhead, double per_group);

//! Rows for an output to reach `target` bytes at `bytes_per_row`, at least 1.
int64_t RowsForBytes(int64_t target, double bytes_per_row);

}  // namespace lakepack
