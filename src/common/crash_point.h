// Crash points: places at which a test can make lakepack die with SIGKILL, to prove that a rerun
// recovers from a crash at any instant. They are the named steps of the commit protocol
// (commit.cc) and "store-request", reached before every store request (each S3 request before
// it is first sent, each LocalStore operation).
//   LAKEPACK_CRASH_AT=<step>[:<n>]  die the n-th time (default 1st) the step is reached.
//   LAKEPACK_CRASH_AT=op:<n>        die at the n-th crash point reached, whatever its name. This
//                                   operation counter moves with the run's own progress, not
//                                   with the clock, so op n is the same moment of a run on a
//                                   fast machine and on a loaded one.
//   LAKEPACK_COUNT_OPS=<file>       when the process exits normally, write the number of crash
//                                   points it reached to <file>: the range of n a run reaches.
//   LAKEPACK_PAUSE_AT=<step>:<file> the first time the step is reached, write <file>.reached
//                                   and wait until <file> exists (at most 10 minutes), then go
//                                   on: a test can act on the run at a known step (cancel its
//                                   Slurm job, say) without guessing when it gets there.
// Retries are not operations: an S3 request counts once however many attempts it takes, so the
// count of a run depends on what it does, not on how the servers answered.
// Unset (the normal case) the check is one load of an initialised static and a branch.
#pragma once

#include <string_view>

namespace lakepack {

//! Counts an operation, and dies with SIGKILL when LAKEPACK_CRASH_AT names `step` (or "op")
//! and its count is reached.
void CrashPoint(std::string_view step);

//! The crash point the stores reach before each request.
inline constexpr std::string_view kStoreRequestStep = "store-request";

}  // namespace lakepack
