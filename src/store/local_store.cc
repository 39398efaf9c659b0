// LocalStore: the ObjectStore over a local directory (see local_store.h for its guarantees).
// Every errno is turned into a Status by PosixError, with the full path in the message.
#include "store/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <memory>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/crash_point.h"
#include "common/process_tag.h"
#include "common/strings.h"
#include "store/store_util.h"

namespace lakepack {

namespace {

constexpr size_t kCopyBufferSize = size_t{1} << 20;
// How often a write retries when a concurrent Delete prunes the directory it just created.
constexpr int kMaxDirectoryRaceRetries = 16;

// Owns a file descriptor; Close() reports the error that a destructor would have to swallow.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  Status Close(const std::string& path) {
    int fd = std::exchange(fd_, -1);
    if (fd >= 0 && ::close(fd) != 0) return PosixError("close " + path, errno);
    return Status::OK();
  }

 private:
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

// Removes a temp file when a write fails part-way, so no debris is left behind.
class TempFileGuard {
 public:
  explicit TempFileGuard(std::string path) : path_(std::move(path)) {}
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;
  ~TempFileGuard() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  //! The file was renamed away: nothing to remove.
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

std::string JoinPath(const std::string& dir, std::string_view rel) {
  std::string out = dir;
  if (out.empty() || out.back() != '/') out += '/';
  out += rel;
  return out;
}

std::string ParentPath(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
  return buf;
}

ObjectInfo InfoFromStat(std::string key, const struct stat& st) {
  ObjectInfo info;
  info.key = std::move(key);
  info.size = st.st_size;
  info.mtime_ns = MtimeNs(st);
  // The inode separates two versions written within one clock tick: a new version is
  // created while the old one still exists, so the two never share an inode number.
  info.etag = Hex(static_cast<uint64_t>(st.st_size)) + "-" +
              Hex(static_cast<uint64_t>(info.mtime_ns)) + "-" + Hex(st.st_ino);
  return info;
}

// The time stamped on every write: the real-time clock in nanoseconds, and strictly
// increasing within the process, so two writes never share an mtime even when the
// filesystem's own clock ticks coarsely.
struct timespec NextWriteTime() {
  static std::atomic<int64_t> last{0};
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  int64_t ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
  int64_t prev = last.load();
  int64_t next;
  do {
    next = std::max(ns, prev + 1);
  } while (!last.compare_exchange_weak(prev, next));
  struct timespec ts;
  ts.tv_sec = next / 1000000000;
  ts.tv_nsec = next % 1000000000;
  return ts;
}

Status StampWriteTime(int fd, const std::string& path) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;  // leave atime alone
  times[1] = NextWriteTime();
  if (::futimens(fd, times) != 0) return PosixError("set modification time of " + path, errno);
  return Status::OK();
}

std::string RandomSuffix() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{
        rd(),
        rd(),
        rd(),
        rd(),
        static_cast<unsigned>(std::hash<std::thread::id>()(std::this_thread::get_id())),
        static_cast<unsigned>(::getpid())};
    return std::mt19937_64(seq);
  }());
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

// A temp file's name: the prefix, the writing process, and a random suffix.
std::string TempName() {
  return std::string(kLocalTempPrefix) + ThisProcessTag() + "-" + RandomSuffix();
}

// The mode a new file gets (0666 less the umask). umask(2) cannot be read without setting
// it, which would race with other threads, so it is read from /proc once.
mode_t NewFileMode() {
  static const mode_t mode = [] {
    mode_t mask = 022;
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Umask:", 0) == 0) {
        mask = static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
        break;
      }
    }
    return static_cast<mode_t>(0666 & ~mask);
  }();
  return mode;
}

bool IsTempName(std::string_view name) {
  return name.substr(0, kLocalTempPrefix.size()) == kLocalTempPrefix;
}

// The extended attribute that holds PutOptions::tag.
constexpr const char* kTagXattr = "user.lakepack.tag";

// The tag of an open file: "" when it has none. Errors other than "no such attribute" or
// "not supported" are reported.
Result<std::string> ReadTag(int fd, const std::string& path) {
  std::string value(256, '\0');
  for (int attempt = 0; attempt < 4; ++attempt) {
    ssize_t n = ::fgetxattr(fd, kTagXattr, value.data(), value.size());
    if (n >= 0) {
      value.resize(static_cast<size_t>(n));
      return value;
    }
    int err = errno;
    if (err == ENODATA || err == ENOTSUP) return std::string();
    if (err != ERANGE) return PosixError("read tag of " + path, err);
    ssize_t need = ::fgetxattr(fd, kTagXattr, nullptr, 0);
    if (need < 0) {
      if (errno == ENODATA) return std::string();
      return PosixError("read tag of " + path, errno);
    }
    value.assign(static_cast<size_t>(need), '\0');
  }
  return Status::IOError(path + ": its tag keeps changing size while being read");
}

// Sets (or, for an empty tag, removes) the tag of an open file.
Status WriteTag(int fd, const std::string& path, std::string_view tag) {
  if (tag.empty()) {
    if (::fremovexattr(fd, kTagXattr) != 0 && errno != ENODATA) {
      return PosixError("remove tag of " + path, errno);
    }
    return Status::OK();
  }
  if (::fsetxattr(fd, kTagXattr, tag.data(), tag.size(), 0) != 0) {
    return PosixError("set tag of " + path, errno);
  }
  return Status::OK();
}

// PutOptions::metadata name N is the xattr kMetadataXattrPrefix + N.
constexpr std::string_view kMetadataXattrPrefix = "user.";

// The metadata of an open file (its user.* xattrs but the tag).
Result<std::vector<std::pair<std::string, std::string>>> ReadMetadata(int fd,
                                                                      const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t need = ::flistxattr(fd, nullptr, 0);
  if (need < 0) {
    if (errno == ENOTSUP) return out;
    return PosixError("list attributes of " + path, errno);
  }
  std::string names(static_cast<size_t>(need), '\0');
  ssize_t n = ::flistxattr(fd, names.data(), names.size());
  if (n < 0) return PosixError("list attributes of " + path, errno);
  names.resize(static_cast<size_t>(n));
  for (size_t at = 0; at < names.size();) {
    std::string name = names.c_str() + at;
    at += name.size() + 1;
    if (name.rfind(kMetadataXattrPrefix, 0) != 0 || name == kTagXattr) continue;
    std::string value(1024, '\0');
    ssize_t len = ::fgetxattr(fd, name.c_str(), value.data(), value.size());
    if (len < 0) continue;  // removed meanwhile, or not ours and too long
    value.resize(static_cast<size_t>(len));
    out.emplace_back(name.substr(kMetadataXattrPrefix.size()), std::move(value));
  }
  return out;
}

// Sets the tag (removing an old one when it is empty) and the metadata of an open file.
Status WriteAttributes(int fd, const std::string& path, const PutOptions& options) {
  LP_RETURN_IF_ERROR(WriteTag(fd, path, options.tag));
  for (const auto& [name, value] : options.metadata) {
    std::string attr = std::string(kMetadataXattrPrefix) + name;
    if (::fsetxattr(fd, attr.c_str(), value.data(), value.size(), 0) != 0) {
      return PosixError("set " + attr + " of " + path, errno);
    }
  }
  return Status::OK();
}

// An open file, locked exclusively with flock(2), that `path` still names: the one version
// a compare-and-swap or a pinned delete may act on. Other lakepack writers that use if_match
// or DeletePinned take the same lock first, so whoever holds it decides alone.
struct LockedTarget {
  FileDescriptor fd;
  struct stat st {};
};

// Opens and locks `path`. std::nullopt when it is absent (or not a regular file, which is
// no object).
Result<std::optional<LockedTarget>> LockTarget(const std::string& path) {
  for (int attempt = 0; attempt < kMaxDirectoryRaceRetries; ++attempt) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<LockedTarget>();
      return PosixError("open " + path, errno);
    }
    LockedTarget target;
    target.fd = FileDescriptor(fd);
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) return PosixError("lock " + path, errno);
    }
    if (::fstat(fd, &target.st) != 0) return PosixError("stat " + path, errno);
    if (!S_ISREG(target.st.st_mode)) return std::optional<LockedTarget>();
    struct stat now;
    if (::stat(path.c_str(), &now) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return std::optional<LockedTarget>();
      return PosixError("stat " + path, errno);
    }
    // Replaced while we waited for the lock: lock the version the path names now.
    if (now.st_dev == target.st.st_dev && now.st_ino == target.st.st_ino) {
      return std::optional<LockedTarget>(std::move(target));
    }
  }
  return Status::IOError(path + ": replaced again and again while waiting for its lock");
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("write " + path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::OK();
}

// Copies `length` bytes from `in` at `offset` (length < 0: to end of file) to the current
// position of `out`. copy_file_range lets the kernel (or a reflink) do the work; plain
// read/write covers filesystems and kernels that refuse it.
Status CopyRange(int in, const std::string& in_path, int64_t offset, int64_t length, int out,
                 const std::string& out_path) {
  int64_t remaining = length;
  loff_t in_off = offset;
  bool kernel_copy = true;
  while (kernel_copy && remaining != 0) {
    size_t chunk = remaining < 0 ? (size_t{1} << 30) : static_cast<size_t>(remaining);
    ssize_t n = ::copy_file_range(in, &in_off, out, nullptr, chunk, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP ||
          errno == EBADF || errno == EPERM) {
        kernel_copy = false;  // fall back below, from where the kernel stopped
        break;
      }
      return PosixError("copy " + in_path + " to " + out_path, errno);
    }
    if (n == 0) break;
    if (remaining > 0) remaining -= n;
  }
  if (kernel_copy) {
    if (remaining > 0) {
      return Status::IOError(in_path + ": file ended " + std::to_string(remaining) +
                             " bytes early while copying to " + out_path);
    }
    return Status::OK();
  }
  std::vector<char> buffer(kCopyBufferSize);
  while (remaining != 0) {
    size_t want = buffer.size();
    if (remaining > 0) want = std::min<int64_t>(want, remaining);
    ssize_t n = ::pread(in, buffer.data(), want, in_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read " + in_path, errno);
    }
    if (n == 0) {
      if (remaining > 0) {
        return Status::IOError(in_path + ": file ended " + std::to_string(remaining) +
                               " bytes early while copying to " + out_path);
      }
      break;
    }
    LP_RETURN_IF_ERROR(WriteAll(out, buffer.data(), static_cast<size_t>(n), out_path));
    in_off += n;
    if (remaining > 0) remaining -= n;
  }
  return Status::OK();
}

Status FsyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PosixError("open directory " + dir, errno);
  FileDescriptor guard(fd);
  if (::fsync(fd) != 0) return PosixError("fsync directory " + dir, errno);
  return Status::OK();
}

// Creates `dir` and its missing parents. `stop_at` (an existing ancestor) is never created.
// Each new directory entry is fsync'ed into its parent, so a crash cannot lose the path to
// a file that was reported written.
Status MakeDirectories(const std::string& dir, const std::string& stop_at) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::OK();
    return Status::FailedPrecondition(dir + ": exists and is not a directory");
  }
  if (dir == stop_at || dir == "/" || dir.size() <= stop_at.size()) {
    return PosixError("stat " + dir, errno);
  }
  std::string parent = ParentPath(dir);
  LP_RETURN_IF_ERROR(MakeDirectories(parent, stop_at));
  if (::mkdir(dir.c_str(), 0777) != 0) {
    int err = errno;
    if (err == EEXIST) {
      if (::stat(dir.c_str(), &st) == 0) {
        if (S_ISDIR(st.st_mode)) return Status::OK();  // another thread made it first
        return Status::FailedPrecondition(dir + ": exists and is not a directory");
      }
      // Made by another thread and pruned again by a concurrent Delete between our mkdir and
      // stat: NotFound, which callers retry like any other pruned parent.
      if (errno == ENOENT) err = ENOENT;
    }
    return PosixError("create directory " + dir, err);
  }
  return FsyncDirectory(parent);
}

// What a range means for an object of `size` bytes: S3's rules (see object_store.h).
Result<std::pair<int64_t, int64_t>> ResolveRange(const std::string& path, int64_t size,
                                                 const ByteRange& range) {
  if (range.whole()) return std::make_pair(int64_t{0}, size);
  if (range.offset < 0) {
    return Status::InvalidArgument(path + ": byte range offset " + std::to_string(range.offset) +
                                   " is negative");
  }
  if (range.offset >= size) {
    return Status::InvalidArgument(path + ": byte range starts at " + std::to_string(range.offset) +
                                   ", past the end of the " + std::to_string(size) +
                                   "-byte object");
  }
  int64_t available = size - range.offset;
  int64_t length = range.length < 0 ? available : std::min(range.length, available);
  return std::make_pair(range.offset, length);
}

class LocalStore final : public ObjectStore {
 public:
  explicit LocalStore(std::string root) : root_(std::move(root)) {}

  std::string Uri() const override { return "file://" + root_; }

  StoreCapabilities Capabilities() const override {
    StoreCapabilities caps;
    caps.atomic_write = true;
    caps.create_only_reliable = true;
    caps.consistent_listing = true;
    caps.if_match_reliable = true;
    caps.create_only_multipart_reliable = true;  // no parts: every write is one rename
    caps.tags = TagsSupported();
    return caps;
  }

  Result<ListPage> List(const ListOptions& options) override;
  Result<std::optional<ObjectInfo>> Stat(std::string_view key) override;
  Result<std::optional<std::string>> CurrentEtag(std::string_view key) override;
  Result<std::string> Read(std::string_view key, ByteRange range) override;
  Status ReadToFile(std::string_view key, const std::string& local_path, ByteRange range) override;
  Result<ObjectInfo> WriteFromFile(std::string_view key, const std::string& local_path,
                                   const PutOptions& options) override;
  Result<ObjectInfo> Write(std::string_view key, std::string_view data,
                           const PutOptions& options) override;
  Status Copy(std::string_view from_key, std::string_view to_key) override;
  Status Delete(const std::vector<std::string>& keys) override;
  Result<std::string> ReadPinned(std::string_view key, std::string_view etag,
                                 ByteRange range) override;
  Status ReadToFilePinned(std::string_view key, std::string_view etag,
                          const std::string& local_path) override;
  Result<std::vector<std::string>> DeletePinned(
      const std::vector<std::pair<std::string, std::string>>& keys_and_etags) override;

  std::map<std::string, int64_t> Counters() const override {
    std::map<std::string, int64_t> out;
    for (size_t i = 0; i < kCounterNames.size(); ++i) out[kCounterNames[i]] = counters_[i].load();
    return out;
  }

  std::optional<std::string> LocalPath(std::string_view key) const override {
    if (!CheckKey(key).ok()) return std::nullopt;
    return PathOf(key);
  }

 private:
  // Fills the temp file, given its descriptor and path.
  using Filler = std::function<Status(int fd, const std::string& tmp_path)>;

  friend class Lister;

  Status CheckKey(std::string_view key) const;
  // stat(2) of the object `key` at `path` (a HEAD): false when it is missing or not a file.
  Result<bool> StatObject(std::string_view key, const std::string& path, struct stat* st);
  std::string PathOf(std::string_view key) const { return JoinPath(root_, key); }

  // Opens an object for reading. Missing, or a directory: NotFound.
  Result<FileDescriptor> OpenForRead(std::string_view key, const std::string& path,
                                     struct stat* st) const;

  // Writes through a temp file in the key's directory (tagged with options.tag), then
  // publishes it under the key as options.if_none_match / if_match ask.
  Result<ObjectInfo> WriteAtomically(std::string_view key, const PutOptions& options,
                                     const Filler& fill);

  // Compare-and-swap: renames `tmp` over `path` only while `path` is the version `if_match`
  // names, holding that version's flock(2) lock across the check and the rename. Sets
  // *tmp_gone when the rename happened and *cross_device (changing nothing) when `tmp` lies
  // on another filesystem.
  Status PublishIfMatch(std::string_view key, const std::string& tmp, const std::string& path,
                        std::string_view if_match, bool* tmp_gone, bool* cross_device) const;

  // The bytes of `range` of an open object.
  Result<std::string> ReadOpen(const FileDescriptor& file, const std::string& path,
                               const struct stat& st, ByteRange range);
  // Copies `range` of an open object to local_path (see ReadToFile).
  Status ReadOpenToFile(const FileDescriptor& in, const std::string& path, const struct stat& st,
                        const std::string& local_path, ByteRange range);
  // FailedPrecondition unless the open object `st` has ETag `etag`.
  Status CheckPinned(std::string_view key, std::string_view etag, const struct stat& st) const;

  // Whether the root's filesystem keeps user xattrs: probed once, on first use.
  bool TagsSupported() const {
    std::call_once(tags_probe_, [this] { tags_supported_ = ProbeUserXattrs(); });
    return tags_supported_;
  }
  bool ProbeUserXattrs() const;

  // Moves `tmp` to `path`: rename, or for create-only a no-replace rename / link. Returns 0
  // or the errno. Sets *tmp_gone when `tmp` no longer exists under its own name.
  int Publish(const std::string& tmp, const std::string& path, bool if_none_match,
              bool* tmp_gone) const;

  // consume_source: renames the caller's file into place. std::nullopt when it must be
  // copied instead (another filesystem, not ours to modify, not a plain regular file).
  Result<std::optional<ObjectInfo>> MoveIntoPlace(std::string_view key, const std::string& source,
                                                  const PutOptions& options);

  Status ConflictError(std::string_view key, const std::string& path, int err,
                       bool if_none_match) const;

  // Removes the now-empty directories above a deleted key, up to but not including root.
  void PruneEmptyParents(std::string_view key) const;

  // Operations by kind, with the names S3Store uses, so run summaries read the same.
  enum Counter {
    kList,
    kHead,
    kGet,
    kPut,
    kCopy,
    kDelete,
    kBytesRead,
    kBytesWritten,
    kNumCounters
  };
  static constexpr std::array<const char*, kNumCounters> kCounterNames = {
      "LIST", "HEAD", "GET", "PUT", "COPY", "DELETE", "bytes_read", "bytes_written"};
  void Count(Counter counter, int64_t n = 1) {
    counters_[counter].fetch_add(n, std::memory_order_relaxed);
  }
  Result<ObjectInfo> CountPut(Result<ObjectInfo> written) {
    if (written.ok()) {
      Count(kPut);
      Count(kBytesWritten, written->size);
    }
    return written;
  }

  const std::string root_;
  std::array<std::atomic<int64_t>, kNumCounters> counters_{};
  mutable std::once_flag tags_probe_;
  mutable bool tags_supported_ = false;
};

bool LocalStore::ProbeUserXattrs() const {
  std::string probe = JoinPath(root_, TempName());
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    // A root we may not write to: ask the root itself. A filesystem without user xattrs
    // answers ENOTSUP; one with them, ENODATA (or the value).
    char byte;
    return ::getxattr(root_.c_str(), kTagXattr, &byte, 0) >= 0 || errno == ENODATA;
  }
  bool ok = ::fsetxattr(fd, kTagXattr, "probe", 5, 0) == 0;
  ::close(fd);
  ::unlink(probe.c_str());
  return ok;
}

Status LocalStore::CheckPinned(std::string_view key, std::string_view etag,
                               const struct stat& st) const {
  std::string now = InfoFromStat(std::string(key), st).etag;
  if (now != etag) return ChangedSincePlanned(*this, key, etag, now);
  return Status::OK();
}

Status LocalStore::PublishIfMatch(std::string_view key, const std::string& tmp,
                                  const std::string& path, std::string_view if_match,
                                  bool* tmp_gone, bool* cross_device) const {
  *tmp_gone = false;
  *cross_device = false;
  LP_ASSIGN_OR_RETURN(std::optional<LockedTarget> target, LockTarget(path));
  if (!target) return ChangedSincePlanned(*this, key, if_match, "");
  LP_RETURN_IF_ERROR(CheckPinned(key, if_match, target->st));
  // The lock stays held (target is still open) until the new version has its name: a CAS
  // waiting for it then finds the path naming another inode, with another ETag.
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    if (err == EXDEV) {
      *cross_device = true;
      return Status::OK();
    }
    return ConflictError(key, path, err, false);
  }
  *tmp_gone = true;
  return Status::OK();
}

Status LocalStore::CheckKey(std::string_view key) const {
  LP_RETURN_IF_ERROR(ValidateKey(key));
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    if (IsTempName(key.substr(start, end - start))) {
      return Status::InvalidArgument("invalid key '" + std::string(key) +
                                     "': segments starting with '" + std::string(kLocalTempPrefix) +
                                     "' are reserved for the local store's temp files");
    }
    start = end + 1;
  }
  return Status::OK();
}

Result<FileDescriptor> LocalStore::OpenForRead(std::string_view key, const std::string& path,
                                               struct stat* st) const {
  LP_RETURN_IF_ERROR(CheckKey(key));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError("open " + path, errno);
  FileDescriptor file(fd);
  if (::fstat(fd, st) != 0) return PosixError("stat " + path, errno);
  if (!S_ISREG(st->st_mode)) {
    return Status::NotFound(path + ": is a directory or special file, not an object");
  }
  return file;
}

Result<bool> LocalStore::StatObject(std::string_view key, const std::string& path,
                                    struct stat* st) {
  CrashPoint(kStoreRequestStep);
  LP_RETURN_IF_ERROR(CheckKey(key));
  Count(kHead);
  if (::stat(path.c_str(), st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return PosixError("stat " + path, errno);
  }
  // A directory is where keys below it live, not an object (S3 has no directories).
  return S_ISREG(st->st_mode);
}

Result<std::optional<ObjectInfo>> LocalStore::Stat(std::string_view key) {
  std::string path = PathOf(key);
  struct stat st;
  LP_ASSIGN_OR_RETURN(bool found, StatObject(key, path, &st));
  if (!found) return std::optional<ObjectInfo>();
  if (!TagsSupported()) return std::optional<ObjectInfo>(InfoFromStat(std::string(key), st));
  // The ETag and the tag must describe one version: both come from one open file.
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<ObjectInfo>();  // just deleted
    // Unreadable (not ours): what stat saw, and the tag by path.
    ObjectInfo info = InfoFromStat(std::string(key), st);
    std::string value(256, '\0');
    ssize_t n = ::getxattr(path.c_str(), kTagXattr, value.data(), value.size());
    if (n > 0) info.tag = value.substr(0, static_cast<size_t>(n));
    return std::optional<ObjectInfo>(std::move(info));
  }
  FileDescriptor file(fd);
  if (::fstat(fd, &st) != 0) return PosixError("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return std::optional<ObjectInfo>();
  ObjectInfo info = InfoFromStat(std::string(key), st);
  LP_ASSIGN_OR_RETURN(info.tag, ReadTag(fd, path));
  LP_ASSIGN_OR_RETURN(info.metadata, ReadMetadata(fd, path));
  return std::optional<ObjectInfo>(std::move(info));
}

Result<std::optional<std::string>> LocalStore::CurrentEtag(std::string_view key) {
  std::string path = PathOf(key);
  struct stat st;
  LP_ASSIGN_OR_RETURN(bool found, StatObject(key, path, &st));
  if (!found) return std::optional<std::string>();
  return std::optional<std::string>(InfoFromStat(std::string(key), st).etag);
}

Result<std::string> LocalStore::Read(std::string_view key, ByteRange range) {
  CrashPoint(kStoreRequestStep);
  std::string path = PathOf(key);
  struct stat st;
  LP_ASSIGN_OR_RETURN(FileDescriptor file, OpenForRead(key, path, &st));
  return ReadOpen(file, path, st, range);
}

Result<std::string> LocalStore::ReadPinned(std::string_view key, std::string_view etag,
                                           ByteRange range) {
  CrashPoint(kStoreRequestStep);
  std::string path = PathOf(key);
  struct stat st;
  LP_ASSIGN_OR_RETURN(FileDescriptor file, OpenForRead(key, path, &st));
  // The descriptor holds the version it opened: if that is the pinned one, so are its bytes.
  LP_RETURN_IF_ERROR(CheckPinned(key, etag, st));
  return ReadOpen(file, path, st, range);
}

Result<std::string> LocalStore::ReadOpen(const FileDescriptor& file, const std::string& path,
                                         const struct stat& st, ByteRange range) {
  LP_ASSIGN_OR_RETURN(auto span, ResolveRange(path, st.st_size, range));
  Count(kGet);
  Count(kBytesRead, span.second);
  std::string data(static_cast<size_t>(span.second), '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(file.get(), data.data() + done, data.size() - done,
                        span.first + static_cast<int64_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return PosixError("read " + path, errno);
    }
    if (n == 0) {
      // Only another program truncating the file in place gets here: lakepack replaces.
      return Status::IOError(path + ": file shrank while being read");
    }
    done += static_cast<size_t>(n);
  }
  return data;
}

Status LocalStore::ReadToFile(std::string_view key, const std::string& local_path,
                              ByteRange range) {
  CrashPoint(kStoreRequestStep);
  std::string path = PathOf(key);
  struct stat st;
  // The source is opened and the range checked before the target is touched, so a missing
  // object leaves whatever the caller had at local_path alone.
  LP_ASSIGN_OR_RETURN(FileDescriptor in, OpenForRead(key, path, &st));
  return ReadOpenToFile(in, path, st, local_path, range);
}

Status LocalStore::ReadToFilePinned(std::string_view key, std::string_view etag,
                                    const std::string& local_path) {
  CrashPoint(kStoreRequestStep);
  std::string path = PathOf(key);
  struct stat st;
  LP_ASSIGN_OR_RETURN(FileDescriptor in, OpenForRead(key, path, &st));
  LP_RETURN_IF_ERROR(CheckPinned(key, etag, st));
  return ReadOpenToFile(in, path, st, local_path, ByteRange{});
}

Status LocalStore::ReadOpenToFile(const FileDescriptor& in, const std::string& path,
                                  const struct stat& st, const std::string& local_path,
                                  ByteRange range) {
  LP_ASSIGN_OR_RETURN(auto span, ResolveRange(path, st.st_size, range));
  Count(kGet);
  Count(kBytesRead, span.second);
  struct stat target;
  if (::stat(local_path.c_str(), &target) == 0 && target.st_dev == st.st_dev &&
      target.st_ino == st.st_ino) {
    // Truncating the target would destroy the very object being read.
    return Status::InvalidArgument(local_path + ": is the object " + path + " itself");
  }
  int fd = ::open(local_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    Status st = PosixError("create " + local_path, errno);
    // NotFound from ReadToFile means the object is missing, not the target's directory.
    return st.IsNotFound() ? Status::IOError(st.message()) : st;
  }
  FileDescriptor out(fd);
  Status status = CopyRange(in.get(), path, span.first, span.second, out.get(), local_path);
  Status closed = out.Close(local_path);
  if (status.ok()) status = closed;
  if (!status.ok()) ::unlink(local_path.c_str());
  return status;
}

Status LocalStore::ConflictError(std::string_view key, const std::string& path, int err,
                                 bool if_none_match) const {
  struct stat st;
  if ((err == EISDIR || err == ENOTEMPTY || err == EEXIST) && ::lstat(path.c_str(), &st) == 0 &&
      S_ISDIR(st.st_mode)) {
    // S3 lets "a" and "a/b" coexist; a directory tree cannot.
    return Status::FailedPrecondition(PosixError("write " + path, err).message() +
                                      " (a directory holds keys below '" + std::string(key) + "')");
  }
  if (err == EEXIST && if_none_match) {
    return Status::AlreadyExists(path + ": key '" + std::string(key) +
                                 "' already exists (create-only write)");
  }
  return PosixError("write " + path, err);
}

int LocalStore::Publish(const std::string& tmp, const std::string& path, bool if_none_match,
                        bool* tmp_gone) const {
  *tmp_gone = false;
  if (!if_none_match) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) return errno;
    *tmp_gone = true;
    return 0;
  }
  // Create-only must not race with another writer: the kernel checks and creates in one step.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
    *tmp_gone = true;
    return 0;
  }
  int err = errno;
  if (err != EINVAL && err != ENOSYS && err != EOPNOTSUPP) return err;
  // Filesystems without RENAME_NOREPLACE: link(2) fails with EEXIST just as atomically.
  if (::link(tmp.c_str(), path.c_str()) != 0) return errno;
  return 0;  // the caller unlinks tmp, still there under its own name
}

Result<ObjectInfo> LocalStore::WriteAtomically(std::string_view key, const PutOptions& options,
                                               const Filler& fill) {
  const bool if_none_match = options.if_none_match;
  const bool tagged = (!options.tag.empty() || !options.metadata.empty()) && TagsSupported();
  std::string path = PathOf(key);
  std::string dir = ParentPath(path);
  if (!options.if_match.empty()) {
    // Refused at once when there is nothing to swap, before directories are made for it (the
    // real check is under the lock, in PublishIfMatch).
    struct stat target;
    if (::stat(path.c_str(), &target) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
      return ChangedSincePlanned(*this, key, options.if_match, "");
    }
  }
  std::string tmp;
  FileDescriptor file;
  for (int attempt = 0;; ++attempt) {
    Status made = MakeDirectories(dir, root_);
    if (!made.ok()) {
      // NotFound: a concurrent Delete pruned a parent between two mkdir calls.
      if (made.IsNotFound() && attempt < kMaxDirectoryRaceRetries) continue;
      return made;
    }
    tmp = JoinPath(dir, TempName());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      file = FileDescriptor(fd);
      break;
    }
    int err = errno;
    // ENOENT: a concurrent Delete pruned the directory just made; EEXIST: a name collision.
    if ((err == ENOENT || err == EEXIST) && attempt < kMaxDirectoryRaceRetries) continue;
    return PosixError("create temp file " + tmp, err);
  }
  TempFileGuard guard(tmp);
  LP_RETURN_IF_ERROR(fill(file.get(), tmp));
  // Set before the rename, so that the tag appears together with the content.
  if (tagged) {
    LP_RETURN_IF_ERROR(WriteAttributes(file.get(), tmp, options));
  }
  LP_RETURN_IF_ERROR(StampWriteTime(file.get(), tmp));
  if (::fsync(file.get()) != 0) return PosixError("fsync " + tmp, errno);
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return PosixError("stat " + tmp, errno);
  LP_RETURN_IF_ERROR(file.Close(tmp));
  bool tmp_gone = false;
  if (!options.if_match.empty()) {
    bool cross_device = false;  // impossible: tmp lies in the target's directory
    Status published = PublishIfMatch(key, tmp, path, options.if_match, &tmp_gone, &cross_device);
    if (tmp_gone) guard.Release();
    LP_RETURN_IF_ERROR(published);
    if (!tmp_gone) return PosixError("rename " + tmp + " to " + path, EXDEV);
  } else {
    int err = Publish(tmp, path, if_none_match, &tmp_gone);
    if (tmp_gone) guard.Release();
    if (err != 0) return ConflictError(key, path, err, if_none_match);
  }
  LP_RETURN_IF_ERROR(FsyncDirectory(dir));
  ObjectInfo info = InfoFromStat(std::string(key), st);
  if (tagged) info.tag = options.tag, info.metadata = options.metadata;
  return info;
}

Result<ObjectInfo> LocalStore::Write(std::string_view key, std::string_view data,
                                     const PutOptions& options) {
  CrashPoint(kStoreRequestStep);
  LP_RETURN_IF_ERROR(CheckKey(key));
  LP_RETURN_IF_ERROR(CheckPutConditions(*this, key, options));
  return CountPut(WriteAtomically(key, options, [&](int fd, const std::string& tmp) {
    return WriteAll(fd, data.data(), data.size(), tmp);
  }));
}

Result<std::optional<ObjectInfo>> LocalStore::MoveIntoPlace(std::string_view key,
                                                            const std::string& source,
                                                            const PutOptions& options) {
  const bool if_none_match = options.if_none_match;
  const bool tagged = TagsSupported();
  struct stat st;
  if (::lstat(source.c_str(), &st) != 0) return PosixError("stat " + source, errno);
  // A symlink would be moved as a link, and a file with other names would stay writable
  // through them: copy those.
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1) return std::optional<ObjectInfo>();
  int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError("open " + source, errno);
  FileDescriptor file(fd);
  // The object must look like any other (write time now, default mode); a file we may not
  // change that way is copied.
  if (::fchmod(fd, NewFileMode()) != 0) return std::optional<ObjectInfo>();
  // Its tag is the write's (a source that carries one of its own loses it).
  if (tagged && !WriteAttributes(fd, source, options).ok()) return std::optional<ObjectInfo>();
  if (!StampWriteTime(fd, source).ok()) return std::optional<ObjectInfo>();
  // The caller may never have synced it; the rename must not publish data still in flight.
  if (::fsync(fd) != 0) return PosixError("fsync " + source, errno);
  std::string path = PathOf(key);
  std::string dir = ParentPath(path);
  if (!options.if_match.empty()) {
    bool moved = false, cross_device = false;
    LP_RETURN_IF_ERROR(PublishIfMatch(key, source, path, options.if_match, &moved, &cross_device));
    if (cross_device) return std::optional<ObjectInfo>();  // another filesystem: copy
  }
  for (int attempt = 0; options.if_match.empty(); ++attempt) {
    Status made = MakeDirectories(dir, root_);
    if (!made.ok()) {
      if (made.IsNotFound() && attempt < kMaxDirectoryRaceRetries) continue;
      return made;
    }
    bool source_gone = false;
    int err = Publish(source, path, if_none_match, &source_gone);
    if (err == 0) {
      if (!source_gone) ::unlink(source.c_str());  // linked into place: drop the old name
      break;
    }
    if (err == EXDEV) return std::optional<ObjectInfo>();  // another filesystem: copy
    // ENOENT with the source still present: a concurrent Delete pruned the directory.
    if (err == ENOENT && attempt < kMaxDirectoryRaceRetries &&
        ::access(source.c_str(), F_OK) == 0) {
      continue;
    }
    return ConflictError(key, path, err, if_none_match);
  }
  if (::fstat(fd, &st) != 0) return PosixError("stat " + path, errno);
  LP_RETURN_IF_ERROR(FsyncDirectory(dir));
  ObjectInfo info = InfoFromStat(std::string(key), st);
  if (tagged) info.tag = options.tag, info.metadata = options.metadata;
  return std::optional<ObjectInfo>(std::move(info));
}

Result<ObjectInfo> LocalStore::WriteFromFile(std::string_view key, const std::string& local_path,
                                             const PutOptions& options) {
  CrashPoint(kStoreRequestStep);
  LP_RETURN_IF_ERROR(CheckKey(key));
  LP_RETURN_IF_ERROR(CheckPutConditions(*this, key, options));
  if (options.consume_source) {
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> moved, MoveIntoPlace(key, local_path, options));
    if (moved) return CountPut(std::move(*moved));
  }
  int fd = ::open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError("open " + local_path, errno);
  FileDescriptor in(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError("stat " + local_path, errno);
  if (S_ISDIR(st.st_mode)) return PosixError("read " + local_path, EISDIR);
  Result<ObjectInfo> written = WriteAtomically(key, options, [&](int out, const std::string& tmp) {
    return CopyRange(in.get(), local_path, 0, -1, out, tmp);
  });
  // Consumed but copied (another filesystem): the source is gone either way.
  if (written.ok() && options.consume_source) ::unlink(local_path.c_str());
  return CountPut(std::move(written));
}

Status LocalStore::Copy(std::string_view from_key, std::string_view to_key) {
  CrashPoint(kStoreRequestStep);
  LP_RETURN_IF_ERROR(CheckKey(from_key));
  LP_RETURN_IF_ERROR(CheckKey(to_key));
  std::string from_path = PathOf(from_key);
  struct stat st;
  LP_ASSIGN_OR_RETURN(FileDescriptor in, OpenForRead(from_key, from_path, &st));
  Count(kCopy);
  // The copy keeps the source's tag, as S3's CopyObject keeps its metadata.
  PutOptions options;
  if (TagsSupported()) {
    LP_ASSIGN_OR_RETURN(options.tag, ReadTag(in.get(), from_path));
    LP_ASSIGN_OR_RETURN(options.metadata, ReadMetadata(in.get(), from_path));
  }
  // The open descriptor pins one version of the source even if it is replaced meanwhile.
  Result<ObjectInfo> written =
      WriteAtomically(to_key, options, [&](int out, const std::string& tmp) {
        return CopyRange(in.get(), from_path, 0, st.st_size, out, tmp);
      });
  return written.status();
}

void LocalStore::PruneEmptyParents(std::string_view key) const {
  std::string_view rel = key;
  while (true) {
    size_t slash = rel.rfind('/');
    if (slash == std::string_view::npos) return;
    rel = rel.substr(0, slash);
    // Fails (ENOTEMPTY) as soon as a directory still holds something, which ends the walk;
    // a writer that loses its fresh directory to this retries (see WriteAtomically).
    if (::rmdir(PathOf(rel).c_str()) != 0) return;
  }
}

Status LocalStore::Delete(const std::vector<std::string>& keys) {
  // Reject the whole batch before deleting anything when one key is malformed.
  for (const std::string& key : keys) LP_RETURN_IF_ERROR(CheckKey(key));
  if (keys.empty()) return Status::OK();
  CrashPoint(kStoreRequestStep);
  Count(kDelete);
  for (const std::string& key : keys) {
    std::string path = PathOf(key);
    if (::unlink(path.c_str()) != 0) {
      int err = errno;
      if (err == ENOENT || err == ENOTDIR) continue;  // already gone: not an error
      struct stat st;
      // A directory is not an object, so there is nothing to delete under this key.
      if ((err == EISDIR || err == EPERM) && ::lstat(path.c_str(), &st) == 0 &&
          S_ISDIR(st.st_mode)) {
        continue;
      }
      return PosixError("delete " + path, err);
    }
    PruneEmptyParents(key);
  }
  return Status::OK();
}

Result<std::vector<std::string>> LocalStore::DeletePinned(
    const std::vector<std::pair<std::string, std::string>>& keys_and_etags) {
  for (const auto& entry : keys_and_etags) LP_RETURN_IF_ERROR(CheckKey(entry.first));
  std::vector<std::string> changed;
  if (keys_and_etags.empty()) return changed;
  CrashPoint(kStoreRequestStep);
  Count(kDelete);
  for (const auto& [key, etag] : keys_and_etags) {
    std::string path = PathOf(key);
    // Under the version's lock, as a compare-and-swap takes it: no CAS can replace the
    // object between the check and the unlink.
    LP_ASSIGN_OR_RETURN(std::optional<LockedTarget> target, LockTarget(path));
    if (!target) continue;  // missing: nothing to delete, nothing changed
    if (InfoFromStat(key, target->st).etag != etag) {
      changed.push_back(key);
      continue;
    }
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return PosixError("delete " + path, errno);
    }
    target.reset();
    PruneEmptyParents(key);
  }
  return changed;
}

// One listing page: a depth-first walk that visits keys in ascending byte order and stops
// once the page is full. Within a directory, children are visited in the order of their name,
// with '/' appended to directories: every key below directory "d" starts with "d/", so that
// order is exactly the byte order of the keys ("a-c" < "a/b" < "a0").
class Lister {
 public:
  Lister(const LocalStore& store, const ListOptions& options, ListPage* page)
      : store_(store), options_(options), page_(page), bound_(options.continuation_token) {
    // A token that is itself a common prefix: everything rolling up into it was returned.
    if (IsCommonPrefix(bound_)) last_prefix_ = bound_;
  }

  //! Walks directory `rel` ("" or ending in '/'), only children whose name starts with
  //! `name_prefix`.
  Status Walk(const std::string& rel, std::string_view name_prefix) {
    std::string dir_path = store_.PathOf(rel);
    DIR* dir = ::opendir(dir_path.c_str());
    if (dir == nullptr) {
      // Missing (the prefix names nothing, or a delete pruned it meanwhile): no keys.
      if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
      return PosixError("list " + dir_path, errno);
    }
    struct Child {
      std::string order;  // name, plus '/' for a directory
      bool is_dir;
    };
    std::vector<Child> children;
    errno = 0;
    while (struct dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name == "." || name == ".." || IsTempName(name)) continue;
      if (name.substr(0, name_prefix.size()) != name_prefix) continue;
      bool is_dir = entry->d_type == DT_DIR;
      bool is_file = entry->d_type == DT_REG;
      if (entry->d_type == DT_UNKNOWN || entry->d_type == DT_LNK) {
        struct stat st;
        std::string child_path = JoinPath(dir_path, name);
        if (::lstat(child_path.c_str(), &st) != 0) continue;  // vanished meanwhile
        if (S_ISLNK(st.st_mode)) {
          // Symlinks to files are objects; symlinked directories are not walked (loops).
          is_file = ::stat(child_path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
        } else {
          is_dir = S_ISDIR(st.st_mode);
          is_file = S_ISREG(st.st_mode);
        }
      }
      if (is_dir) {
        children.push_back({std::string(name) + "/", true});
      } else if (is_file) {
        children.push_back({std::string(name), false});
      }
      errno = 0;
    }
    int read_err = errno;
    // Kept open while its children are visited: files are stat'ed relative to it, which
    // spares the kernel a walk of the whole path per file.
    std::unique_ptr<DIR, int (*)(DIR*)> open_dir(dir, ::closedir);
    if (read_err != 0) return PosixError("list " + dir_path, read_err);
    std::sort(children.begin(), children.end(),
              [](const Child& a, const Child& b) { return a.order < b.order; });

    for (const Child& child : children) {
      if (done_) break;
      std::string key = rel + child.order;
      if (child.is_dir) {
        if (SkipSubtree(key)) continue;
        LP_RETURN_IF_ERROR(Walk(key, ""));
      } else {
        LP_RETURN_IF_ERROR(Visit(key, ::dirfd(dir), child.order));
      }
    }
    return Status::OK();
  }

 private:
  // The common prefix `key` rolls up into (it holds the delimiter after the prefix), or
  // std::nullopt when the key is listed as itself. A key ending in the delimiter rolls up into
  // a prefix equal to itself, as in S3.
  std::optional<std::string> RollUp(const std::string& key) const {
    if (options_.delimiter.empty() ||
        key.compare(0, options_.prefix.size(), options_.prefix) != 0) {
      return std::nullopt;
    }
    size_t pos = key.find(options_.delimiter, options_.prefix.size());
    if (pos == std::string::npos) return std::nullopt;
    return key.substr(0, pos + options_.delimiter.size());
  }

  // True when `s` is a common prefix RollUp can produce.
  bool IsCommonPrefix(const std::string& s) const {
    if (options_.delimiter.empty() || s.compare(0, options_.prefix.size(), options_.prefix) != 0) {
      return false;
    }
    size_t pos = s.find(options_.delimiter, options_.prefix.size());
    return pos != std::string::npos && pos + options_.delimiter.size() == s.size();
  }

  // True when every key below `dir_key` ("x/y/") was returned already or rolls up into a
  // common prefix that was.
  bool SkipSubtree(const std::string& dir_key) const {
    if (!last_prefix_.empty() && dir_key.compare(0, last_prefix_.size(), last_prefix_) == 0) {
      return true;
    }
    // All keys below start with dir_key: if dir_key sorts before the bound and the bound does
    // not lie inside the subtree, all of them do.
    return !bound_.empty() && dir_key < bound_ && bound_.compare(0, dir_key.size(), dir_key) != 0;
  }

  // `key` is the file `name` in the directory open as `dir_fd`.
  Status Visit(const std::string& key, int dir_fd, const std::string& name) {
    if (!bound_.empty() && key <= bound_) return Status::OK();
    if (!last_prefix_.empty() && key.compare(0, last_prefix_.size(), last_prefix_) == 0) {
      return Status::OK();
    }
    std::optional<std::string> rolled = RollUp(key);
    bool is_prefix = rolled.has_value();
    std::string entry = is_prefix ? std::move(*rolled) : key;
    std::optional<ObjectInfo> info;
    if (!is_prefix) {
      struct stat st;
      if (::fstatat(dir_fd, name.c_str(), &st, 0) != 0) {
        if (errno == ENOENT) return Status::OK();  // deleted since the directory was read
        return PosixError("stat " + store_.PathOf(key), errno);
      }
      info = InfoFromStat(key, st);
    }
    if (emitted_ == options_.max_keys) {
      // One more entry exists: the page is full, and the next one resumes after the last.
      page_->next_token = last_entry_;
      done_ = true;
      return Status::OK();
    }
    ++emitted_;
    last_entry_ = entry;
    if (is_prefix) {
      page_->common_prefixes.push_back(entry);
      last_prefix_ = std::move(entry);
    } else {
      page_->objects.push_back(std::move(*info));
    }
    return Status::OK();
  }

  const LocalStore& store_;
  const ListOptions& options_;
  ListPage* page_;
  const std::string bound_;  // entries up to and including this were on earlier pages
  std::string last_prefix_;  // keys below this common prefix are rolled up already
  std::string last_entry_;
  int emitted_ = 0;
  bool done_ = false;
};

Result<ListPage> LocalStore::List(const ListOptions& options) {
  if (options.max_keys < 1) {
    return Status::InvalidArgument(Uri() + ": max_keys must be at least 1, not " +
                                   std::to_string(options.max_keys));
  }
  CrashPoint(kStoreRequestStep);
  Count(kList);
  ListPage page;
  const std::string& prefix = options.prefix;
  // The walk starts in the directory the prefix names up to its last '/'; the rest filters
  // that directory's children.
  const std::string rel = DirOf(prefix);
  std::string_view name_prefix = std::string_view(prefix).substr(rel.size());
  // A prefix whose directory part breaks the key rules (or names a temp file's directory)
  // cannot match any key; S3 answers such a listing with an empty page, and so do we. This
  // also keeps a prefix such as "../" from walking outside the root.
  if (!rel.empty() && !CheckKey(std::string_view(rel).substr(0, rel.size() - 1)).ok()) {
    return page;
  }
  if (name_prefix.find('\0') != std::string_view::npos) return page;
  Lister lister(*this, options, &page);
  LP_RETURN_IF_ERROR(lister.Walk(rel, name_prefix));
  return page;
}

}  // namespace

Result<std::string> AbsoluteLocalPath(std::string_view path) {
  if (path.empty()) return Status::InvalidArgument("empty local path");
  if (path.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("local path holds a NUL byte");
  }
  std::string full;
  if (path.front() != '/') {
    std::vector<char> buf(4096);
    while (::getcwd(buf.data(), buf.size()) == nullptr) {
      if (errno != ERANGE) return PosixError("get working directory", errno);
      buf.resize(buf.size() * 2);
    }
    full = buf.data();
    full += '/';
  }
  full += path;
  std::vector<std::string_view> parts;
  std::string_view rest = full;
  while (!rest.empty()) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();  // "/.." is "/"
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  if (out.empty()) out = "/";
  return out;
}

Result<std::shared_ptr<ObjectStore>> OpenLocalStore(const std::string& root_dir, bool create_root) {
  LP_ASSIGN_OR_RETURN(std::string root, AbsoluteLocalPath(root_dir));
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    int err = errno;
    if (err != ENOENT || !create_root) return PosixError(root, err);
    LP_RETURN_IF_ERROR(MakeDirectories(root, "/"));
    if (::stat(root.c_str(), &st) != 0) return PosixError(root, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::FailedPrecondition(root + ": store root is not a directory");
  }
  return std::shared_ptr<ObjectStore>(std::make_shared<LocalStore>(std::move(root)));
}

int SweepDeadTempFiles(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(kLocalTempPrefix, 0) != 0) continue;
    std::string_view rest = std::string_view(name).substr(kLocalTempPrefix.size());
    size_t dash = rest.rfind('-');
    if (dash == std::string_view::npos || !IsDeadProcessHere(rest.substr(0, dash))) continue;
    std::error_code rm;
    if (std::filesystem::remove(it->path(), rm)) removed++;
  }
  return removed;
}

}  // namespace lakepack
