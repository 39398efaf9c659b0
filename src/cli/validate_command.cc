// `lakepack validate PATH_OR_PREFIX…`: export files against their names and checksums.
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/flags.h"
#include "lakepack/validate.h"

namespace lakepack::cli {

namespace {

struct ValidateFlags {
  ValidateOptions o;
  std::vector<std::string> against;
  std::string files_list;
  std::string order_by;
  std::string shard;
};

// Lines of results go to stdout as they are decided (unless --quiet/--json).
class LineSink final : public ProgressSink {
 public:
  explicit LineSink(bool quiet) : quiet_(quiet) {}
  void Planned(int64_t, int64_t, int64_t) override {}
  void TaskDone(bool, int64_t, int64_t, int64_t) override {}
  void Log(const std::string& line) override {
    if (quiet_) return;
    std::lock_guard<std::mutex> lock(mu_);
    std::cout << line << std::endl;
  }

 private:
  bool quiet_;
  std::mutex mu_;
};

int RunValidate(ValidateFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "validate";
  ValidateOptions& o = f.o;
  o.spool_dir = g.spool_dir;
  o.engine = EngineOptionsFrom(g);
  auto shard = ParseShardFlag("--shard", f.shard);
  if (!shard.ok()) return Fail(kCmd, shard.status(), true);
  o.shard = *shard;
  if (!f.files_list.empty()) {
    std::ifstream in(f.files_list);
    if (!in) return Fail(kCmd, Status::InvalidArgument(f.files_list + ": cannot read"), true);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty() && line[0] != '#') o.inputs.push_back(line);
    }
  }
  if (o.inputs.empty()) return Fail(kCmd, Status::InvalidArgument("no files or prefixes"), true);
  if (!f.against.empty()) {
    if (f.against.size() != 2) {
      return Fail(kCmd, Status::InvalidArgument("--against: expected CONNINFO TABLE"), true);
    }
    o.against_conninfo = f.against[0];
    o.against_table = f.against[1];
  }
  if (!f.order_by.empty()) {
    auto c = f.order_by.find(',');
    if (c == std::string::npos) {
      return Fail(kCmd, Status::InvalidArgument("--order-by: expected TS_COL,ID_COL"), true);
    }
    o.ts_column = f.order_by.substr(0, c);
    o.id_column = f.order_by.substr(c + 1);
  }
  LineSink sink(g.quiet || g.json);
  if (!g.quiet && !g.json && !o.results_file.empty()) {
    std::cout << "results: " << o.results_file << std::endl;
  }
  auto res = Validate(o, sink);
  if (!res.ok()) {
    // A missing file or prefix is bad input, like the reference's exit 2.
    return Fail(kCmd, res.status(), true);
  }
  int64_t total = static_cast<int64_t>(res->lines.size());
  if (g.json) {
    nlohmann::json j = {
        {"command", "validate"}, {"files", total},    {"passed", total - res->failed},
        {"failed", res->failed}, {"rows", res->rows}, {"results_file", res->results_file}};
    std::cout << j.dump() << std::endl;
  } else if (!g.quiet) {
    std::cout << fmt::format("validate: {} checked, {} passed, {} failed; results in {}", total,
                             total - res->failed, res->failed, res->results_file)
              << std::endl;
  }
  return res->failed > 0 ? kExitFailed : kExitOk;
}

}  // namespace

Command AddValidateCommand(CLI::App& app, const GlobalOptions& global) {
  auto flags = std::make_shared<ValidateFlags>();
  ValidateOptions& o = flags->o;
  CLI::App* sub =
      app.add_subcommand("validate",
                         "Check export files against their names (rows, first/last ts and id) and "
                         "checksums");
  sub->add_option("PATH_OR_PREFIX", o.inputs, "Files or prefixes, local or s3://");
  sub->add_option("--parallel", o.parallel, "Files at once")
      ->envname("MAX_PARALLEL")
      ->check(kPositive)
      ->capture_default_str();
  sub->add_option("--results", o.results_file,
                  "Where PASS|path / FAIL|path|reason lines go (default: a new "
                  "$TMPDIR/validation_results.XXXXXX.txt)");
  sub->add_option("--against", flags->against,
                  "postgres://… TABLE: also compare the table's row count with its files' total")
      ->expected(2);
  sub->add_option("--order-by", flags->order_by,
                  "TS_COL,ID_COL for files without lakepack metadata (default "
                  "uploaded_date,data_item_id)");
  sub->add_option("--files-list", flags->files_list, "File of paths or prefixes, one a line")
      ->envname("FILES_LIST");
  sub->add_option("--shard", flags->shard,
                  "Check only the files that fall in shard i of N (i/N; auto[/N] inside a Slurm, "
                  "Kubernetes or AWS Batch array job); not with --against");
  sub->footer(
      "Example:\n  lakepack validate --parallel 4 s3://archive/perm_items/year=2024/\n"
      "Exit 0 when every file passes, 1 when any fails, 2 on bad arguments or a missing path.");
  return {sub, [flags, &global] { return RunValidate(*flags, global); }};
}

}  // namespace lakepack::cli
