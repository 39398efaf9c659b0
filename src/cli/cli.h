// Shared pieces of the command-line front end: exit codes, error printing, spooling, and the
// registration function of each command. The CLI is thin: it parses flags, calls the library,
// maps Status to exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "exec/spool.h"
#include "lakepack/format.h"
#include "lakepack/run.h"
#include "lakepack/status.h"

namespace lakepack::cli {

//! Exit codes shared by every command (the seeds' convention).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // some work failed
inline constexpr int kExitUsage = 2;   // bad usage: flags, arguments

//! Flag validators: a whole number > 0, or >= 0. The error names the flag and the value.
extern const CLI::Validator kPositive;
extern const CLI::Validator kNonNegative;

class PlanPrinter;  // plan.h

//! Options every command takes.
struct GlobalOptions {
  bool json = false;
  bool quiet = false;
  //! Set under `lakepack plan`: the command runs its dry run and the printer shows the tasks.
  PlanPrinter* plan = nullptr;
  std::string spool_dir;     // where remote inputs and fresh outputs are staged
  std::string memory_limit;  // empty: the command's own (EngineOptions' 2GB; pack 1GB)
  int threads = 0;
};

//! The format engine's settings from the global flags.
EngineOptions EngineOptionsFrom(const GlobalOptions& global);

//! A registered command: the parsed flags live in captures of `run`.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

//! The error for an input object that is not there: "no such file or object", or, for a local
//! directory (which an object store does not see as an object), "is a directory, not a file".
Status NoSuchInput(const std::string& uri);

//! Prints "lakepack <cmd>: error: <message>" on stderr, one line.
void PrintError(std::string_view command, const Status& status);

//! Prints the error and returns the exit code for it (usage errors → 2, others → 1).
int Fail(std::string_view command, const Status& status, bool usage = false);

//! A run's summary as JSON (commands add their own fields).
nlohmann::json SummaryJson(const RunSummary& summary);

//! Prints a run's summary: a few lines of text, or one JSON object.
//! With `quiet`, only what went wrong (warnings and errors, on stderr): no summary line.
void PrintSummary(const RunSummary& summary, bool json, bool quiet);

Command AddConvertCommand(CLI::App& app, const GlobalOptions& global);
Command AddInspectCommand(CLI::App& app, const GlobalOptions& global);
Command AddLsCommand(CLI::App& app, const GlobalOptions& global);
//! Hidden: prints docs/commands.md, generated from `app`'s definitions (CommandsReference).
Command AddReferenceCommand(CLI::App& app);
std::string CommandsReference(const CLI::App& app);
Command AddRollupCommand(CLI::App& app, const GlobalOptions& global);
Command AddRecoverCommand(CLI::App& app, const GlobalOptions& global);
Command AddSampleCommand(CLI::App& app, const GlobalOptions& global);
Command AddExportCommand(CLI::App& app, const GlobalOptions& global);
Command AddValidateCommand(CLI::App& app, const GlobalOptions& global);
Command AddPackCommand(CLI::App& app, const GlobalOptions& global);
Command AddWatchCommand(CLI::App& app, const GlobalOptions& global);
Command AddRepartitionCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace lakepack::cli
