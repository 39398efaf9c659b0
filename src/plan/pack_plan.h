// The plan of `lakepack pack`, without I/O: which keys are inputs, which existing output is
// the latest of its series, where the manifest of packed inputs lives, and how many rows each
// output gets for a measured size per row.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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

//! The manifest: the inputs already packed into the series, by URI and ETag.
struct PackManifest {
  std::vector<std::pair<std::string, std::string>> packed;  // (uri, etag), in packing order
  bool Contains(const std::string& uri, const std::string& etag) const;
};
std::string PackManifestToJson(const PackManifest& m);
Result<PackManifest> PackManifestFromJson(const std::string& json);

//! Rows for an output to reach `target` bytes at `bytes_per_row`, at least 1.
int64_t RowsForBytes(int64_t target, double bytes_per_row);

}  // namespace lakepack
