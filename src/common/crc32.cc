#include "common/crc32.h"

#include <libdeflate.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace lakepack {

uint32_t Crc32(std::string_view bytes, uint32_t crc) {
  return libdeflate_crc32(crc, bytes.data(), bytes.size());
}

Result<uint32_t> Crc32OfFileRange(int fd, const std::string& path, int64_t offset, int64_t length) {
  constexpr size_t kChunk = size_t{1} << 20;
  std::vector<char> buf(kChunk);
  uint32_t crc = 0;
  while (length > 0) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(length, kChunk));
    ssize_t got = ::pread(fd, buf.data(), want, offset);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(path + ": read: " + std::strerror(errno));
    }
    if (got == 0) {
      return Status::IOError(path + ": ends " + std::to_string(length) +
                             " bytes before the range read");
    }
    crc = Crc32(std::string_view(buf.data(), static_cast<size_t>(got)), crc);
    offset += got;
    length -= got;
  }
  return crc;
}

}  // namespace lakepack
