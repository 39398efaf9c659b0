#include "common/file_range.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace lakepack {

Status ForEachChunkOfFileRange(int fd, const std::string& path, int64_t offset, int64_t length,
                               const std::function<void(std::string_view)>& chunk) {
  constexpr int64_t kChunk = int64_t{1} << 20;
  std::vector<char> buffer(static_cast<size_t>(std::min(kChunk, std::max<int64_t>(length, 1))));
  int64_t done = 0;
  while (done < length) {
    const size_t want = static_cast<size_t>(std::min<int64_t>(buffer.size(), length - done));
    ssize_t n = ::pread(fd, buffer.data(), want, offset + done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read " + path, errno);
    }
    if (n == 0) {
      return Status::IOError(path + ": file ended at byte " + std::to_string(offset + done) +
                             ", expected " + std::to_string(offset + length) +
                             " (was it changed while being uploaded?)");
    }
    chunk(std::string_view(buffer.data(), static_cast<size_t>(n)));
    done += n;
  }
  return Status::OK();
}

}  // namespace lakepack
