// Reading a byte range of an open file in chunks, for the checksums computed over files (MD5
// and SHA-256 for S3, CRC-32): one pread loop for all of them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "lakepack/status.h"

namespace lakepack {

//! Calls `chunk` with the `length` bytes of the open file `fd` from `offset`, in order, a
//! megabyte or less at a time, read with pread. `path` is for messages. IOError when the file
//! ends before the range does.
Status ForEachChunkOfFileRange(int fd, const std::string& path, int64_t offset, int64_t length,
                               const std::function<void(std::string_view)>& chunk);

}  // namespace lakepack
