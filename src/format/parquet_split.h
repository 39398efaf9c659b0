// Cutting a local Parquet file into files of its row groups without decoding a page: the column
// chunks (and their bloom filters) are copied byte for byte and each new file gets a footer of
// its own, the old one with the byte offsets moved, its row groups only and the given key-value
// metadata. Pack lays its inputs into one Parquet file and cuts its outputs from it so: one
// encoding of the rows instead of one per output (docs/performance.md, "Packing").
//
// The footer is Thrift's compact protocol; it is read and written here as a generic tree of
// fields, so that every field the writer put there (statistics, encodings, column orders, ...)
// is carried over unchanged, and only the few fields that hold offsets or counts are edited.
//
// Thread-safety: a ParquetSplitter is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lakepack/status.h"

namespace lakepack {

//! One row group of the file being cut: its rows and the bytes it takes in any file it moves
//! to (column chunks and bloom filters; the footer's share not included).
struct ParquetRowGroupSpan {
  int64_t rows = 0;
  int64_t bytes = 0;
};

class ParquetSplitter {
 public:
  //! Reads the footer of the local Parquet file `path`. A file it cannot cut safely (encrypted,
  //! with page indexes, whose chunks leave their row group's span) is FailedPrecondition, the
  //! reason named: the caller then writes the rows some other way.
  static Result<std::unique_ptr<ParquetSplitter>> Open(const std::string& path);
  ~ParquetSplitter();

  const std::vector<ParquetRowGroupSpan>& row_groups() const { return spans_; }
  //! The footer's bytes per row group, to estimate a new file's size before it is written.
  double footer_bytes_per_row_group() const;

  //! Writes row groups [first, first + count) as the Parquet file `out`, with `metadata` as
  //! its key-value metadata (replacing the source's). Returns the file's size in bytes.
  Result<int64_t> Write(size_t first, size_t count,
                        const std::vector<std::pair<std::string, std::string>>& metadata,
                        const std::string& out);

  struct Footer;  // the parsed footer; defined in the .cc

 private:
  ParquetSplitter() = default;
  std::string path_;
  int fd_ = -1;
  int64_t footer_size_ = 0;
  std::vector<ParquetRowGroupSpan> spans_;
  std::unique_ptr<Footer> footer_;
};

}  // namespace lakepack
