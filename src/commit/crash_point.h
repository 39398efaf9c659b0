// Crash points: named steps of the commit protocol at which a test can make lakepack die with
// SIGKILL, to prove that a rerun recovers from a crash at any instant.
//   LAKEPACK_CRASH_AT=<step>[:<n>]   die the n-th time (default 1st) the step is reached.
// Unset (the normal case) the check is one relaxed atomic load.
#pragma once

#include <string_view>

namespace lakepack {

//! Dies with SIGKILL when LAKEPACK_CRASH_AT names `step` and its count is reached.
void CrashPoint(std::string_view step);

}  // namespace lakepack
