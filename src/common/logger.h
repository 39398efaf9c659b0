// Logger: levelled log lines in the format of Python's logging ("2026-12-01 16:55:36,123 -
// INFO - message"), the seed watcher's, to stderr and optionally a rotating file; and, for
// machines, JSON events one per line on stdout. Thread-safe.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include "lakepack/status.h"

namespace lakepack {

enum class LogLevel { kDebug = 10, kInfo = 20, kWarning = 30, kError = 40, kCritical = 50 };

//! DEBUG, INFO, WARNING (or WARN), ERROR, CRITICAL, in any case.
Result<LogLevel> ParseLogLevel(std::string_view text);
std::string_view LogLevelName(LogLevel level);

//! A log file that rotates like Python's RotatingFileHandler: before a line would make FILE
//! longer than max_bytes, FILE.(n-1) is dropped, FILE.k becomes FILE.(k+1) and FILE starts
//! anew; at most max_files files (FILE and FILE.1 … FILE.(max_files-1)) are kept.
class RotatingFile {
 public:
  static Result<std::unique_ptr<RotatingFile>> Open(const std::string& path, int64_t max_bytes,
                                                    int max_files);
  ~RotatingFile();
  //! Appends `line` (with its newline). Not thread-safe: Logger serialises calls.
  Status Write(std::string_view line);

 private:
  RotatingFile(std::string path, int64_t max_bytes, int max_files);
  Status Rotate();

  std::string path_;
  int64_t max_bytes_;
  int max_files_;
  int fd_ = -1;
  int64_t size_ = 0;
};

class Logger {
 public:
  //! Lines below `level` are dropped. `to_stderr`: also print them on stderr.
  Logger(LogLevel level, bool to_stderr) : level_(level), to_stderr_(to_stderr) {}

  //! Also write lines to a rotating file.
  Status OpenFile(const std::string& path, int64_t max_bytes, int max_files);
  //! A status line (a daemon's progress bar): on a terminal's stderr, `status()` is redrawn in
  //! place below the log lines, cleared before each line and by ClearStatus. Ignored when the
  //! logger does not print on stderr or stderr is not a terminal.
  void set_status(std::function<std::string()> status);
  //! Draws the status line again (something it counts changed).
  void ShowStatus();
  void ClearStatus();
  //! Print JSON events (Event) on stdout.
  void set_events(bool on) { events_ = on; }
  bool events() const { return events_; }

  bool Enabled(LogLevel level) const { return level >= level_; }
  void Log(LogLevel level, std::string_view message);
  void Debug(std::string_view m) { Log(LogLevel::kDebug, m); }
  void Info(std::string_view m) { Log(LogLevel::kInfo, m); }
  void Warning(std::string_view m) { Log(LogLevel::kWarning, m); }
  void Error(std::string_view m) { Log(LogLevel::kError, m); }
  //! One JSON object (already serialised) as a line on stdout, flushed; when events are on.
  void Event(std::string_view json);

 private:
  LogLevel level_;
  bool to_stderr_;
  bool events_ = false;
  std::mutex mu_;
  std::unique_ptr<RotatingFile> file_;
  std::function<std::string()> status_;
  bool status_drawn_ = false;
  bool file_failed_ = false;
};

}  // namespace lakepack
