// Footer-only inspection of Parquet objects (see parquet_footer.h).
#include "format/parquet_footer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "common/strings.h"

namespace lakepack {

namespace {
constexpr int64_t kFooterTail = 8;  // 4-byte footer length + "PAR1"
}

namespace {
// Inspects the local file `path` (the object itself, or its footer laid into a sparse file).
Result<FileInfo> InspectFooter(FormatEngine& engine, const std::string& path, bool with_metadata) {
  LP_ASSIGN_OR_RETURN(FileInfo info, engine.Inspect(path, FileFormat::kParquet));
  if (with_metadata) {
    LP_ASSIGN_OR_RETURN(info.metadata, engine.ParquetMetadata(path));
  }
  return info;
}
}  // namespace

Result<FileInfo> InspectParquetObject(ObjectStore& store, const ObjectInfo& object,
                                      FormatEngine& engine, const std::string& spool_dir,
                                      bool with_metadata) {
  if (auto local = store.LocalPath(object.key)) {
    return InspectFooter(engine, *local, with_metadata);
  }
  std::string uri = store.UriOf(object.key);
  if (object.size < 12)
    return Status::Corruption(uri + ": not a Parquet file or truncated (too small)");
  LP_ASSIGN_OR_RETURN(std::string tail,
                      store.Read(object.key, {object.size - kFooterTail, kFooterTail}));
  if (tail.size() != kFooterTail || tail.compare(4, 4, "PAR1") != 0) {
    return Status::Corruption(uri +
                              ": not a Parquet file or truncated (no magic bytes at the end)");
  }
  uint32_t len;
  std::memcpy(&len, tail.data(), 4);  // little-endian, as the format says and x86 is
  if (static_cast<int64_t>(len) + kFooterTail + 4 > object.size) {
    return Status::Corruption(uri + ": not a Parquet file or truncated (footer length too large)");
  }
  LP_ASSIGN_OR_RETURN(std::string footer,
                      store.Read(object.key, {object.size - kFooterTail - len, len}));
  // A sparse file of the object's size: magic, a hole where the data is, then the footer.
  static std::atomic<int> counter{0};
  std::string path = spool_dir + "/footer" + std::to_string(counter++) + ".parquet";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return PosixError(path, errno);
  bool ok = ::pwrite(fd, "PAR1", 4, 0) == 4 &&
            ::pwrite(fd, footer.data(), footer.size(), object.size - kFooterTail - len) ==
                static_cast<ssize_t>(footer.size()) &&
            ::pwrite(fd, tail.data(), tail.size(), object.size - kFooterTail) == kFooterTail;
  int err = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return PosixError(path, err);
  }
  auto info = InspectFooter(engine, path, with_metadata);
  ::unlink(path.c_str());
  if (!info.ok()) return ShowPathAs(info.status(), path, uri);
  info->size_bytes = object.size;
  return info;
}

}  // namespace lakepack
