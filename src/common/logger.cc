#include "common/logger.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>

#include "common/strings.h"

namespace lakepack {

Result<LogLevel> ParseLogLevel(std::string_view text) {
  std::string t = Lower(text);
  if (t == "debug") return LogLevel::kDebug;
  if (t == "info") return LogLevel::kInfo;
  if (t == "warning" || t == "warn") return LogLevel::kWarning;
  if (t == "error") return LogLevel::kError;
  if (t == "critical") return LogLevel::kCritical;
  return Status::InvalidArgument(fmt::format(
      "log level '{}': expected DEBUG, INFO, WARNING, ERROR or CRITICAL", std::string(text)));
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kCritical:
      return "CRITICAL";
  }
  return "INFO";
}

RotatingFile::RotatingFile(std::string path, int64_t max_bytes, int max_files)
    : path_(std::move(path)), max_bytes_(max_bytes), max_files_(max_files) {}

RotatingFile::~RotatingFile() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<RotatingFile>> RotatingFile::Open(const std::string& path, int64_t max_bytes,
                                                         int max_files) {
  if (max_bytes < 1 || max_files < 1) {
    return Status::InvalidArgument(path +
                                   ": a rotating log needs a size and a count of at least 1");
  }
  std::unique_ptr<RotatingFile> f(new RotatingFile(path, max_bytes, max_files));
  f->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (f->fd_ < 0) {
    return Status::IOError(fmt::format("{}: cannot open the log file: {}", path, strerror(errno)));
  }
  struct stat st;
  if (::fstat(f->fd_, &st) == 0) f->size_ = st.st_size;
  return f;
}

Status RotatingFile::Rotate() {
  ::close(fd_);
  fd_ = -1;
  // FILE.(n-1) goes, FILE.k → FILE.(k+1), FILE → FILE.1.
  for (int k = max_files_ - 1; k >= 1; k--) {
    std::string from = k == 1 ? path_ : fmt::format("{}.{}", path_, k - 1);
    std::string to = fmt::format("{}.{}", path_, k);
    if (::rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
      return Status::IOError(fmt::format("{}: cannot rotate to {}: {}", from, to, strerror(errno)));
    }
  }
  if (max_files_ == 1) ::unlink(path_.c_str());
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return Status::IOError(fmt::format("{}: cannot open the log file: {}", path_, strerror(errno)));
  }
  size_ = 0;
  return Status::OK();
}

Status RotatingFile::Write(std::string_view line) {
  const int64_t n = static_cast<int64_t>(line.size()) + 1;
  if (size_ > 0 && size_ + n > max_bytes_) LP_RETURN_IF_ERROR(Rotate());
  std::string buf(line);
  buf += '\n';
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t w = ::write(fd_, buf.data() + done, buf.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(fmt::format("{}: cannot write the log: {}", path_, strerror(errno)));
    }
    done += static_cast<size_t>(w);
  }
  size_ += n;
  return Status::OK();
}

Status Logger::OpenFile(const std::string& path, int64_t max_bytes, int max_files) {
  LP_ASSIGN_OR_RETURN(auto f, RotatingFile::Open(path, max_bytes, max_files));
  std::lock_guard<std::mutex> lock(mu_);
  file_ = std::move(f);
  return Status::OK();
}

namespace {

// "2026-12-01 16:55:36,123" in local time, as Python's logging prints asctime.
std::string AscTime() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return fmt::format("{},{:03d}", buf, ms);
}

}  // namespace

void Logger::Log(LogLevel level, std::string_view message) {
  if (!Enabled(level)) return;
  std::string line = fmt::format("{} - {} - {}", AscTime(), LogLevelName(level), message);
  std::lock_guard<std::mutex> lock(mu_);
  if (to_stderr_) {
    if (status_drawn_) std::cerr << "\r\033[K";
    std::cerr << line << std::endl;
    if (status_) std::cerr << status_() << std::flush;
    status_drawn_ = static_cast<bool>(status_);
  }
  if (file_ && !file_failed_) {
    Status st = file_->Write(line);
    if (!st.ok()) {
      // Said once; the run goes on logging to stderr.
      file_failed_ = true;
      std::cerr << st.message() << std::endl;
    }
  }
}

void Logger::set_status(std::function<std::string()> status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (to_stderr_ && ::isatty(2)) status_ = std::move(status);
}

void Logger::ShowStatus() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!status_) return;
  std::cerr << "\r\033[K" << status_() << std::flush;
  status_drawn_ = true;
}

void Logger::ClearStatus() {
  std::lock_guard<std::mutex> lock(mu_);
  if (status_drawn_) std::cerr << "\r\033[K" << std::flush;
  status_drawn_ = false;
  status_ = nullptr;
}

void Logger::Event(std::string_view json) {
  if (!events_) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::cout << json << std::endl;
}

}  // namespace lakepack
