// Spool directories (see spool.h).
#include "exec/spool.h"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>

namespace lakepack {

namespace fs = std::filesystem;

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
    return PosixError("cannot create spool directory in " + dir, errno);
  }
  return std::unique_ptr<Spool>(new Spool(templ));
}

Spool::~Spool() {
  std::error_code ec;
  fs::remove_all(path_, ec);
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
