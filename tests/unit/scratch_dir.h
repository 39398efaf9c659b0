// ScratchDir: a private directory under /tmp for one unit test, removed with it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace lakepack::test_util {

class ScratchDir {
 public:
  ScratchDir() {
    char t[] = "/tmp/lakepack-unit-XXXXXX";
    path_ = ::mkdtemp(t);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  //! Writes `data` to path()/name (its directory must exist) and returns the full path.
  std::string File(const std::string& name, const std::string& data) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << data;
    return p;
  }

 private:
  std::string path_;
};

}  // namespace lakepack::test_util
