#include "common/crc32.h"

#include <libdeflate.h>

#include "common/file_range.h"

namespace lakepack {

uint32_t Crc32(std::string_view bytes, uint32_t crc) {
  return libdeflate_crc32(crc, bytes.data(), bytes.size());
}

Result<uint32_t> Crc32OfFileRange(int fd, const std::string& path, int64_t offset, int64_t length) {
  uint32_t crc = 0;
  LP_RETURN_IF_ERROR(ForEachChunkOfFileRange(
      fd, path, offset, length, [&](std::string_view bytes) { crc = Crc32(bytes, crc); }));
  return crc;
}

}  // namespace lakepack
