// Parquet facts of stored objects without downloading them: the footer is fetched with two
// ranged reads and laid into a sparse local file that the format engine can inspect.
#pragma once

#include <string>

#include "lakepack/format.h"
#include "lakepack/object_store.h"

namespace lakepack {

//! Rows, columns and row groups of a Parquet object, reading only its footer; with
//! `with_metadata` also the footer's key-value metadata (FileInfo::metadata).
Result<FileInfo> InspectParquetObject(ObjectStore& store, const ObjectInfo& object,
                                      FormatEngine& engine, const std::string& spool_dir,
                                      bool with_metadata = false);

}  // namespace lakepack
