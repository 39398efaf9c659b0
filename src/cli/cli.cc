// Error printing and spool directories for the command-line front end.
#include "cli/cli.h"

#include "common/strings.h"

#include <errno.h>
#include <stdlib.h>

#include <fmt/format.h>
#include <filesystem>

#include <iostream>
#include <nlohmann/json.hpp>

#include "lakepack/uri.h"

namespace lakepack::cli {

namespace {
CLI::Validator WholeNumberAtLeast(long long min, const std::string& what) {
  return CLI::Validator(
      [min, what](std::string& value) -> std::string {
        char* end = nullptr;
        errno = 0;
        long long v = std::strtoll(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || errno == ERANGE || v < min) {
          return "must be " + what + ", got '" + value + "'";
        }
        return "";
      },
      "");
}
}  // namespace

const CLI::Validator kPositive = WholeNumberAtLeast(1, "a whole number of at least 1");
const CLI::Validator kNonNegative = WholeNumberAtLeast(0, "a whole number of at least 0");

EngineOptions EngineOptionsFrom(const GlobalOptions& global) {
  EngineOptions eo;
  if (!global.memory_limit.empty()) eo.memory_limit = global.memory_limit;
  eo.threads = global.threads;
  return eo;
}

Status NoSuchInput(const std::string& uri) {
  auto loc = ParseLocation(uri);
  std::error_code ec;
  if (loc.ok() && loc->kind == StoreKind::kLocal &&
      std::filesystem::is_directory("/" + loc->path, ec)) {
    return Status::FailedPrecondition(uri + ": is a directory, not a file");
  }
  return Status::NotFound(uri + ": no such file or object");
}

void PrintError(std::string_view command, const Status& status) {
  std::string msg = NameOnce(status.message());
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

nlohmann::json SummaryJson(const RunSummary& s) {
  return nlohmann::json{{"command", s.command},
                        {"tasks", s.tasks},
                        {"tasks_failed", s.tasks_failed},
                        {"tasks_skipped", s.tasks_skipped},
                        {"files_in", s.files_in},
                        {"files_out", s.files_out},
                        {"bytes_in", s.bytes_in},
                        {"bytes_out", s.bytes_out},
                        {"rows", s.rows},
                        {"seconds", s.seconds},
                        {"recovered", s.recovered},
                        {"requests", s.requests},
                        {"stray", s.stray},
                        {"errors", s.errors},
                        {"skipped", s.skipped},
                        {"warnings", s.warnings}};
}

void PrintSummary(const RunSummary& s, bool json, bool quiet) {
  if (json) {
    std::cout << SummaryJson(s).dump() << std::endl;
    return;
  }
  // What went wrong shows even with --quiet: a warning names data left as it was (an input
  // changed after its commit), which must never pass without a word.
  auto problems = [&s] {
    for (const auto& w : s.warnings)
      std::cerr << "lakepack " << s.command << ": warning: " << NameOnce(w) << std::endl;
    for (const auto& e : s.errors)
      std::cerr << "lakepack " << s.command << ": error: " << NameOnce(e) << std::endl;
  };
  if (quiet) return problems();
  int64_t requests = 0;
  for (auto& [k, v] : s.requests) {
    if (k == "GET" || k == "PUT" || k == "LIST" || k == "HEAD" || k == "COPY" || k == "DELETE" ||
        k == "MULTIPART_PART") {
      requests += v;
    }
  }
  if (s.command == "export") {
    // Export reads tables, not files: its tasks are tables, and it only writes files.
    std::cout << fmt::format(
                     "export: {} table(s), {} failed; {} file(s) written ({} bytes), {} rows; {} "
                     "request(s); {:.1f}s",
                     s.tasks, s.tasks_failed, s.files_out, s.bytes_out, s.rows, requests, s.seconds)
              << std::endl;
  } else {
    std::cout << fmt::format(
                     "{}: {} task(s), {} failed; {} file(s) in ({} bytes), {} file(s) out ({} "
                     "bytes), {} rows; {} request(s); {:.1f}s",
                     s.command, s.tasks, s.tasks_failed, s.files_in, s.bytes_in, s.files_out,
                     s.bytes_out, s.rows, requests, s.seconds)
              << std::endl;
  }
  if (!s.stray.empty()) {
    std::cout << fmt::format("{} file(s) left alone: they do not fit the layout", s.stray.size())
              << std::endl;
  }
  if (s.tasks_skipped > 0) {
    std::cout << fmt::format("{} task(s) skipped (another run has or had them):", s.tasks_skipped)
              << std::endl;
    for (const auto& l : s.skipped) std::cout << "  " << l << std::endl;
  }
  problems();
}

}  // namespace lakepack::cli
