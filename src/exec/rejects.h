// The rejects file of `--rejects FILE`: records of CSV and JSON-lines inputs that cannot be
// read, diverted so that the readable rows go through. One JSON object per line:
//   {"file": "<uri of the input>", "line": N, "reason": "...", "text": "<the record>"}
// plus "bytes_base64" holding the record's exact bytes when they are not valid UTF-8 (then
// "text" has U+FFFD in their place). Nothing is lost: every rejected record is in the file.
#pragma once

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "lakepack/format.h"
#include "lakepack/status.h"

namespace lakepack {

class RejectsFile final : public RejectSink {
 public:
  //! Creates (truncates) the local file `path`.
  static Result<std::unique_ptr<RejectsFile>> Create(const std::string& path);
  ~RejectsFile() override;

  //! Records of `local` (a staged copy) are reported as records of `shown` (a URI).
  void ShowAs(const std::string& local, const std::string& shown);
  void Reject(const std::string& file, int64_t line, std::string_view reason,
              std::string_view text) override;
  int64_t count() const { return count_; }
  const std::string& path() const { return path_; }
  //! Flushes and fsyncs: after this the rejected records are durable (before inputs go).
  Status Sync();

 private:
  RejectsFile(std::string path, std::FILE* f) : path_(std::move(path)), f_(f) {}
  std::string path_;
  std::FILE* f_;
  std::map<std::string, std::string> shown_;
  std::mutex mu_;
  int64_t count_ = 0;
  bool write_failed_ = false;
};

}  // namespace lakepack
