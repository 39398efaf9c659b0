// Recovery before a run (see recovery.h), and `lakepack recover`.
#include "exec/recovery.h"

#include <fmt/format.h>

#include "lakepack/rollup.h"
#include "lakepack/uri.h"

namespace lakepack {

Result<int> RecoverAndReport(Committer& committer, ProgressSink& progress) {
  LP_ASSIGN_OR_RETURN(auto report, committer.Recover());
  int n = report.rolled_back + report.rolled_forward;
  if (n > 0) {
    progress.Log(
        fmt::format("recovered {} unfinished task(s) from the journal: {} finished, {} "
                    "rolled back",
                    n, report.rolled_forward, report.rolled_back));
  }
  return n;
}

Result<int> Recover(const std::string& uri, ProgressSink& progress) {
  LP_ASSIGN_OR_RETURN(auto store, OpenStore(uri));
  Committer committer(store, store);
  return RecoverAndReport(committer, progress);
}

}  // namespace lakepack
