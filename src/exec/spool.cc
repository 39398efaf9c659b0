// Spool directories (see spool.h).
#include "exec/spool.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>

namespace lakepack {

namespace fs = std::filesystem;

// Each spool holds this file locked for its run's life; the kernel drops the lock when the
// process dies, however it dies. The owner writes kLiveMark into it once it holds the lock, so
// a lock that can be taken over the mark is a dead run's; one that can be taken over an empty
// file is a spool being made (between its open and its flock), which must be left alone.
constexpr const char* kLockName = ".lakepack-spool.lock";
constexpr std::string_view kLiveMark = "lakepack spool\n";
// A creator killed between the open and the mark leaves an empty lock file: swept when older.
constexpr auto kUnmarkedAge = std::chrono::hours(1);

// Removes the spools of dead runs beside a new one: a killed run cannot remove its own.
void SweepDeadSpools(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("lakepack-", 0) != 0 || !it->is_directory(ec)) continue;
    std::string lock = it->path().string() + "/" + kLockName;
    int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;  // no lock file: not a spool of this version, or just being made
    struct stat st;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0 && ::fstat(fd, &st) == 0) {
      const bool marked = st.st_size > 0;
      const auto age =
          std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime);
      if (marked || age > kUnmarkedAge) {
        std::error_code rm;
        fs::remove_all(it->path(), rm);
      }
    }
    ::close(fd);  // drops the lock: a creator waiting in flock goes on
  }
}

Result<std::unique_ptr<Spool>> Spool::Create(const std::string& base, std::string_view tag) {
  std::string dir = base;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = (t && *t) ? t : "/tmp";
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string templ = dir + "/lakepack-" + std::string(tag) + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return PosixError(dir + ": cannot create a spool directory", errno);
  }
  std::unique_ptr<Spool> spool(new Spool(templ));
  std::string lock = templ + "/" + kLockName;
  spool->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  // Blocking: a sweep beside may hold the lock for a moment (it sees the empty file and lets go).
  int locked;
  do {
    locked = spool->lock_fd_ < 0 ? -1 : ::flock(spool->lock_fd_, LOCK_EX);
  } while (locked != 0 && errno == EINTR);
  if (locked != 0 || ::write(spool->lock_fd_, kLiveMark.data(), kLiveMark.size()) !=
                         static_cast<ssize_t>(kLiveMark.size())) {
    return PosixError(lock + ": cannot lock the spool directory", errno);
  }
  SweepDeadSpools(dir);
  return spool;
}

Spool::~Spool() {
  std::error_code ec;
  fs::remove_all(path_, ec);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string Spool::Sub(const std::string& name) const {
  std::string p = path_ + "/" + name;
  std::error_code ec;
  fs::create_directories(p, ec);
  return p;
}

std::string Spool::NewFile(std::string_view suffix) {
  return path_ + "/f" + std::to_string(counter_++) + std::string(suffix);
}

}  // namespace lakepack
