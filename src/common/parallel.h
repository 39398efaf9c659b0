// Bounded parallelism: run n jobs on at most `workers` threads (the executor, the format layer).
#pragma once

#include <functional>
#include <vector>

#include "lakepack/status.h"

namespace lakepack {

//! Runs fn(0..n-1) on up to `workers` threads; returns every job's Status, by index.
std::vector<Status> ParallelForAll(size_t n, int workers, const std::function<Status(size_t)>& fn);

//! Like ParallelForAll, but stops starting new jobs after the first failure and returns it.
Status ParallelFor(size_t n, int workers, const std::function<Status(size_t)>& fn);

}  // namespace lakepack
