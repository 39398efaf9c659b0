// The watch checkpoint: which CSVs are in DST, by relative name and MD5 (the seed's rule: the
// same name and MD5 is never uploaded twice). JSON lines, appended and fsynced one per file,
// compacted through a temp file; an exclusive lock on FILE.lock keeps a second watcher out.
// See docs/watch.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lakepack/status.h"

namespace lakepack {

struct CheckpointEntry {
  std::string file;  // relative to the watched directory
  std::string md5;   // lower-case hex of the CSV's MD5
  //! What the CSV looked like when hashed: an unchanged size and mtime skip the hashing.
  int64_t size = -1;
  int64_t mtime_ns = -1;
  std::string object;  // the URI written
  std::string etag;
  int64_t rows = -1;
  std::string time;  // UTC, ISO 8601
};

class Checkpoint {
 public:
  //! Opens (creating it and its directory) the checkpoint at `path` and loads it. `dir`, the
  //! watched directory, turns the absolute names of the seed's lines ("/data/csv/a.csv:<md5>")
  //! into relative ones. FailedPrecondition when another process holds it.
  static Result<std::unique_ptr<Checkpoint>> Open(const std::string& path, const std::string& dir);
  ~Checkpoint();

  std::optional<CheckpointEntry> Find(const std::string& file) const;
  //! Appends one line and fsyncs it; thread-safe. Compacts when the file holds over a thousand
  //! lines more than twice its files (Open compacts past twice as many lines as files).
  Status Append(CheckpointEntry entry);
  size_t files() const;
  const std::string& path() const { return path_; }
  //! Lines ignored when loading (a torn last line, or lines that do not parse); compaction
  //! at open drops them from the file.
  int ignored_lines() const { return ignored_lines_; }

 private:
  Checkpoint(std::string path) : path_(std::move(path)) {}
  Status Load(const std::string& dir);
  Status Compact();  // REQUIRES: mu_ held

  std::string path_;
  int lock_fd_ = -1;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::map<std::string, CheckpointEntry> entries_;
  int64_t lines_ = 0;
  int ignored_lines_ = 0;
};

//! The compact JSON line of an entry (no newline).
std::string CheckpointLine(const CheckpointEntry& entry);

}  // namespace lakepack
