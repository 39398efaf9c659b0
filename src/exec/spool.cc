// Spool directories (see spool.h).
#include "exec/spool.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace lakepack {

namespace fs = std::filesystem;

// Each spool holds this file locked for its run's life; the kernel drops the lock when the
// process dies, however it dies, so a lock that can be taken marks a dead run's spool.
constexpr const char* kLockName = ".lakepack-spool.lock";

// Removes the spools of dead runs beside a new one: a killed run cannot remove its own.
void SweepDeadSpools(const std::string& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("lakepack-", 0) != 0 || !it->is_directory(ec)) continue;
    std::string lock = it->path().string() + "/" + kLockName;
    int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;  // no lock file: not a spool of this version, or just being made
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      std::error_code rm;
      fs::remove_all(it->path(), rm);
    }
    ::close(fd);
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
  if (spool->lock_fd_ < 0 || ::flock(spool->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
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
