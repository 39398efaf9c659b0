// Recovery before a run: finish or roll back what earlier runs left in a destination's
// journal, and tell the user when there was anything.
#pragma once

#include "commit/commit.h"
#include "lakepack/run.h"

namespace lakepack {

//! Runs committer.Recover() and logs a line when it resolved any task. Returns how many.
Result<int> RecoverAndReport(Committer& committer, ProgressSink& progress);

}  // namespace lakepack
