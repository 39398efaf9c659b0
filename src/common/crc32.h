// CRC-32 (the gzip/zlib polynomial) through libdeflate, the one file that includes it: several
// times zlib's speed where the CPU has carry-less multiplication, cheap enough to check bytes
// that are read again anyway.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lakepack/status.h"

namespace lakepack {

//! The CRC-32 of `bytes`, continuing from `crc` (0 to start).
uint32_t Crc32(std::string_view bytes, uint32_t crc = 0);

//! The CRC-32 of `length` bytes of the open file `fd` from `offset`, read with pread. `path`
//! is for messages. IOError when the file is shorter.
Result<uint32_t> Crc32OfFileRange(int fd, const std::string& path, int64_t offset, int64_t length);

}  // namespace lakepack
