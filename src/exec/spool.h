// Spool directories: private local scratch space for a run (downloads, engine output, engine
// spills), removed with everything in it when the run ends. A spool is locked (flock) while its
// run lives; creating a spool removes the spools of dead runs beside it, so a killed run's
// downloads do not stay behind.
// Thread-safety: Sub() and NewFile() may be called from many threads.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "lakepack/status.h"

namespace lakepack {

class Spool {
 public:
  //! Creates "<base or $TMPDIR or /tmp>/lakepack-<tag>-XXXXXX".
  static Result<std::unique_ptr<Spool>> Create(const std::string& base,
                                               std::string_view tag = "run");
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  const std::string& path() const { return path_; }
  //! A subdirectory, created if needed.
  std::string Sub(const std::string& name) const;
  //! A fresh file name in the spool (not created).
  std::string NewFile(std::string_view suffix);

 private:
  explicit Spool(std::string path) : path_(std::move(path)) {}
  std::string path_;
  int lock_fd_ = -1;
  std::atomic<int> counter_{0};
};

}  // namespace lakepack
