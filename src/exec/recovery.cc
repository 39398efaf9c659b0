// `lakepack recover` (rollup.h's Recover), on the engine's recovery (exec/job.h).
#include "exec/job.h"
#include "lakepack/rollup.h"

namespace lakepack {

Result<int> Recover(const std::string& uri, ProgressSink& progress) {
  LP_ASSIGN_OR_RETURN(RecoveryReport report, RecoverStore(uri, progress));
  return report.rolled_back + report.rolled_forward;
}

}  // namespace lakepack
