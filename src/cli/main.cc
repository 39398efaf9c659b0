// lakepack's entry point: global flags, the subcommands, and the exit code.
#include <fmt/format.h>

#include <signal.h>
#include <stdlib.h>

#include <iostream>
#include <vector>

#include "cli/cli.h"
#include "cli/plan.h"
#include "lakepack/format.h"

#ifndef LAKEPACK_VERSION
#define LAKEPACK_VERSION "0.0.0"
#endif

namespace {

// The one parser of every command. `plan` (under `lakepack plan`) makes the command show its
// dry run's tasks instead of its own output.
int RunCli(int argc, char** argv, lakepack::cli::PlanPrinter* plan) {
  using namespace lakepack::cli;
  CLI::App app{
      "lakepack keeps the files of a data lake in shape: converts, packs and rolls up CSV, JSON "
      "lines and Parquet on local disk and S3.",
      "lakepack"};
  app.require_subcommand(0, 1);
  // A callback: asking DuckDB its version loads it, which only --version should cost.
  app.set_version_flag("--version,-V", [] {
    return fmt::format("lakepack {} (DuckDB {})", LAKEPACK_VERSION,
                       lakepack::FormatEngine::LibraryVersion());
  });
  GlobalOptions global;
  global.plan = plan;
  app.add_flag("--json", global.json, "Print a machine-readable JSON summary")->configurable(true);
  app.add_flag("--quiet,-q", global.quiet, "Print nothing but errors");
  app.add_option("--spool-dir", global.spool_dir,
                 "Directory for staged downloads and outputs (default: $TMPDIR or /tmp)");
  app.add_option("--memory-limit", global.memory_limit,
                 "Format engine memory limit (default 2GB; pack 1GB, where DuckDB's ordered copy "
                 "holds less with a tighter limit at the same speed)");
  app.add_option("--threads", global.threads, "Format engine threads (0: one per core)")
      ->check(kNonNegative);
  int concurrency = 0;
  app.add_option("--concurrency", concurrency,
                 "Concurrent S3 requests per store (default 16; LAKEPACK_S3_CONCURRENCY)")
      ->check(kPositive);
  // Global flags are accepted after the subcommand too ("lakepack inspect x --json").
  app.fallthrough();
  app.footer(
      "Run 'lakepack COMMAND --help' for a command's options and an example.\n"
      "Run 'lakepack plan COMMAND ARGS...' for the tasks a rollup, pack or repartition would run\n"
      "and how --shard i/N splits them ('lakepack plan --help').");
  // Usage errors look like every other error: one line naming the command and the flag.
  app.failure_message([](const CLI::App* a, const CLI::Error& e) {
    auto parsed = a->get_subcommands();
    std::string cmd = parsed.empty() ? "" : " " + parsed.front()->get_name();
    return fmt::format("lakepack{}: error: {} (see 'lakepack{} --help')\n", cmd, e.what(), cmd);
  });
  // Past a file size limit (ulimit -f) a write fails with EFBIG and is reported like a full
  // disk; by default SIGXFSZ would kill the process without a word.
  ::signal(SIGXFSZ, SIG_IGN);

  std::vector<Command> commands = {
      AddConvertCommand(app, global),     AddInspectCommand(app, global),
      AddLsCommand(app, global),          AddSampleCommand(app, global),
      AddRollupCommand(app, global),      AddRecoverCommand(app, global),
      AddPackCommand(app, global),        AddExportCommand(app, global),
      AddValidateCommand(app, global),    AddWatchCommand(app, global),
      AddRepartitionCommand(app, global), AddReferenceCommand(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  // The S3 store reads its settings from the environment when it opens.
  if (concurrency > 0) ::setenv("LAKEPACK_S3_CONCURRENCY", std::to_string(concurrency).c_str(), 1);
  for (auto& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  std::cerr << app.help() << std::endl;
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lakepack::cli;
  if (argc >= 2 && std::string_view(argv[1]) == "plan") {
    return RunPlan(argc, argv, [&](std::vector<std::string> args, PlanPrinter* printer) {
      std::vector<char*> av = {argv[0]};
      for (auto& a : args) av.push_back(a.data());
      return RunCli(static_cast<int>(av.size()), av.data(), printer);
    });
  }
  return RunCli(argc, argv, nullptr);
}
