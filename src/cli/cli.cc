// Error printing and spool directories for the command-line front end.
#include "cli/cli.h"

#include <stdlib.h>

#include <filesystem>
#include <iostream>

namespace lakepack::cli {

void PrintError(std::string_view command, const Status& status) {
  std::string msg = status.message();
  // Errors are one line: a multi-line message from a library is folded.
  for (auto& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::cerr << "lakepack " << command << ": error: " << msg << std::endl;
}

int Fail(std::string_view command, const Status& status, bool usage) {
  PrintError(command, status);
  return usage ? kExitUsage : kExitFailed;
}

Result<std::unique_ptr<SpoolDir>> SpoolDir::Create(const std::string& base) {
  std::string dir = base;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = (t && *t) ? t : "/tmp";
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string templ = dir + "/lakepack-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    return PosixError("cannot create spool directory in " + dir, errno);
  }
  return std::unique_ptr<SpoolDir>(new SpoolDir(templ));
}

SpoolDir::~SpoolDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SpoolDir::NewFile(std::string_view suffix) {
  return path_ + "/f" + std::to_string(counter_++) + std::string(suffix);
}

}  // namespace lakepack::cli
