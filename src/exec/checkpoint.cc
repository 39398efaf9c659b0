#include "exec/checkpoint.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace lakepack {

namespace fs = std::filesystem;

namespace {

Status Errno(const std::string& what, int err) {
  return Status::IOError(fmt::format("{}: {}", what, strerror(err)));
}

Status WriteAllFd(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::write(fd, data.data() + done, data.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("write " + path, errno);
    }
    done += static_cast<size_t>(w);
  }
  return Status::OK();
}

bool IsMd5Hex(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

}  // namespace

std::string CheckpointLine(const CheckpointEntry& e) {
  nlohmann::ordered_json j;
  j["file"] = e.file;
  j["md5"] = e.md5;
  j["size"] = e.size;
  j["mtime_ns"] = e.mtime_ns;
  j["object"] = e.object;
  j["etag"] = e.etag;
  j["rows"] = e.rows;
  j["time"] = e.time;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::unique_ptr<Checkpoint>> Checkpoint::Open(const std::string& path,
                                                     const std::string& dir) {
  std::error_code ec;
  fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec)
    return Status::IOError(fmt::format("{}: cannot create its directory: {}", path, ec.message()));
  std::unique_ptr<Checkpoint> cp(new Checkpoint(path));
  // The lock is on a file of its own: compaction renames a new checkpoint over the old one,
  // and a lock on the old inode would no longer keep anyone out.
  std::string lock_path = path + ".lock";
  cp->lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (cp->lock_fd_ < 0) return Errno("open " + lock_path, errno);
  if (::flock(cp->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status::FailedPrecondition(
          path + ": the checkpoint is in use by another lakepack watch (it holds " + lock_path +
          "); one watcher per checkpoint");
    }
    return Errno("lock " + lock_path, errno);
  }
  LP_RETURN_IF_ERROR(cp->Load(dir));
  cp->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (cp->fd_ < 0) return Errno("open " + path, errno);
  if (cp->lines_ > 2 * static_cast<int64_t>(cp->entries_.size()) || cp->ignored_lines_ > 0) {
    std::lock_guard<std::mutex> lock(cp->mu_);
    LP_RETURN_IF_ERROR(cp->Compact());
  }
  return cp;
}

Checkpoint::~Checkpoint() {
  if (fd_ >= 0) ::close(fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status Checkpoint::Load(const std::string& dir) {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return Status::OK();  // a new checkpoint
  std::string root = dir;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    lines_++;
    CheckpointEntry e;
    if (line[0] == '{') {
      // A torn last line (a crash mid-append) does not parse: it is ignored, and the file it
      // was about is converted again (its object, if written, is then found and recorded).
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object() || !j.contains("file") || !j.contains("md5") ||
          !j["file"].is_string() || !j["md5"].is_string()) {
        ignored_lines_++;
        continue;
      }
      e.file = j["file"].get<std::string>();
      e.md5 = Lower(j["md5"].get<std::string>());
      e.size = j.value("size", int64_t{-1});
      e.mtime_ns = j.value("mtime_ns", int64_t{-1});
      e.object = j.value("object", std::string());
      e.etag = j.value("etag", std::string());
      e.rows = j.value("rows", int64_t{-1});
      e.time = j.value("time", std::string());
    } else {
      // The seed's line: "<csv path>:<md5>".
      size_t colon = line.rfind(':');
      if (colon == std::string::npos || !IsMd5Hex(line.substr(colon + 1))) {
        ignored_lines_++;
        continue;
      }
      e.file = line.substr(0, colon);
      e.md5 = Lower(line.substr(colon + 1));
      if (e.file.rfind(root + "/", 0) == 0) e.file = e.file.substr(root.size() + 1);
    }
    entries_[e.file] = std::move(e);
  }
  return Status::OK();
}

std::optional<CheckpointEntry> Checkpoint::Find(const std::string& file) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(file);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

size_t Checkpoint::files() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

Status Checkpoint::Append(CheckpointEntry entry) {
  std::string line = CheckpointLine(entry) + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  LP_RETURN_IF_ERROR(WriteAllFd(fd_, line, path_));
  if (::fsync(fd_) != 0) return Errno("fsync " + path_, errno);
  lines_++;
  entries_[entry.file] = std::move(entry);
  if (lines_ > 2 * static_cast<int64_t>(entries_.size()) + 1000) return Compact();
  return Status::OK();
}

Status Checkpoint::Compact() {
  // temp file, fsync, rename over, fsync the directory: the checkpoint is the old one or the
  // new one whatever the moment of a crash.
  std::string tmp = path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open " + tmp, errno);
  std::string all;
  for (const auto& [name, e] : entries_) {
    if (e.size < 0 && e.object.empty()) {
      // A seed line: kept as the seed wrote it.
      all += e.file + ":" + e.md5 + "\n";
    } else {
      all += CheckpointLine(e) + "\n";
    }
  }
  Status st = WriteAllFd(fd, all, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno("fsync " + tmp, errno);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path_.c_str()) != 0) st = Errno("rename " + tmp, errno);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  fs::path parent = fs::path(path_).parent_path();
  if (parent.empty()) parent = fs::current_path();
  int dfd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  int nfd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (nfd < 0) return Errno("open " + path_, errno);
  ::close(fd_);
  fd_ = nfd;
  lines_ = static_cast<int64_t>(entries_.size());
  return Status::OK();
}

}  // namespace lakepack
