// `lakepack validate PATH_OR_PREFIX…`: export files against their names and checksums.
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/flags.h"
#include "cli/progress.h"
#include "lakepack/validate.h"

namespace lakepack::cli {

namespace {

struct ValidateFlags {
  ValidateOptions o;
  std::vector<std::string> against;
  std::string files_list;
  std::string order_by;
  std::string shard;
  bool continue_on_error = true;  // CONTINUE_ON_ERROR
  bool keep_going = false;        // --continue
  bool stop_on_error = false;     // --stop-on-error
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
  if (f.keep_going && f.stop_on_error) {
    return Fail(kCmd, Status::InvalidArgument("--continue and --stop-on-error: give one"), true);
  }
  // The flags win over CONTINUE_ON_ERROR.
  o.stop_on_error = f.stop_on_error || (!f.keep_going && !f.continue_on_error);
  // Lines of results go to stdout as they are decided (unless --quiet/--json), the bar to a
  // terminal's stderr.
  TerminalProgress sink(g.quiet || g.json, &std::cout, "file");
  if (o.results_file.empty()) {
    auto made = NewResultsFile();
    if (!made.ok()) return Fail(kCmd, made.status());
    o.results_file = *made;
  }
  // The seed prints where the results go at the start and at the end of the run.
  if (!g.quiet && !g.json) std::cout << "results: " << o.results_file << std::endl;
  auto res = Validate(o, sink);
  sink.Finish();
  if (!res.ok()) {
    // A missing file or prefix, or a bad argument, is exit 2 like the reference's; a store
    // that refuses (credentials, network) is a failure of the work, exit 1.
    const StatusCode c = res.status().code();
    return Fail(kCmd, res.status(),
                c == StatusCode::kInvalidArgument || c == StatusCode::kNotFound);
  }
  const int64_t checked = static_cast<int64_t>(res->lines.size()) - res->not_checked;
  if (g.json) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& l : res->lines) {
      nlohmann::json one = {{"path", l.path},
                            {"result", !l.checked ? "not checked"
                                       : l.pass   ? "PASS"
                                                  : "FAIL"}};
      if (l.checked && !l.pass) one["reason"] = l.reason;
      files.push_back(std::move(one));
    }
    nlohmann::json j = {{"command", "validate"},
                        {"files", checked},
                        {"passed", checked - res->failed},
                        {"failed", res->failed},
                        {"not_checked", res->not_checked},
                        {"rows", res->rows},
                        {"results_file", res->results_file},
                        {"results", files}};
    std::cout << j.dump() << std::endl;
  } else if (!g.quiet) {
    std::string stopped =
        res->not_checked > 0
            ? fmt::format(", {} not checked (stopped at the first failure)", res->not_checked)
            : "";
    std::cout << fmt::format("validate: {} checked, {} passed, {} failed{}; results in {}", checked,
                             checked - res->failed, res->failed, stopped, res->results_file)
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
  sub->add_flag("--continue", flags->keep_going,
                "Check every file whatever fails (the default; CONTINUE_ON_ERROR=0 changes it)");
  sub->add_flag("--stop-on-error", flags->stop_on_error, "Start no file after the first failure");
  sub->add_option("--continue-on-error", flags->continue_on_error,
                  "1: check every file; 0: as --stop-on-error")
      ->envname("CONTINUE_ON_ERROR")
      ->capture_default_str();
  sub->add_option("--temp-dir", o.temp_dir,
                  "Keep S3 downloads here (DIR/bucket/key) and reuse them while the object is "
                  "unchanged (default: no cache, downloads are removed)")
      ->envname("TEMP_DIR");
  sub->add_flag("--force,--force-download", o.force_download,
                "Download every S3 object again, replacing a kept copy")
      ->envname("FORCE_DOWNLOAD");
  sub->add_option("--shard", flags->shard,
                  "Check only the files that fall in shard i of N (i/N; auto[/N] inside a Slurm, "
                  "Kubernetes or AWS Batch array job); not with --against");
  sub->footer(
      "Examples:\n"
      "  lakepack validate --parallel 4 s3://archive/perm_items/year=2024/\n"
      "  lakepack validate ./parquet_out/perm_items_public.t_…_rows-20000.parquet\n"
      "  FILES_LIST=files.txt TEMP_DIR=./temp lakepack validate --stop-on-error\n"
      "  lakepack validate s3://archive/perm_items/ --against postgres://etl@db/app public.t\n"
      "Exit 0 when every file passes, 1 when any fails, 2 on bad arguments or a missing path.");
  return {sub, [flags, &global] { return RunValidate(*flags, global); }};
}

}  // namespace lakepack::cli
