#!/usr/bin/env bash
# Sets everything up (packages, npm test readers and servers, build) and runs every test with
# CTest. The last line printed is CTest's summary ("100% tests passed, 0 tests failed out of N").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
BUILD_DIR=${LAKEPACK_BUILD_DIR:-$PWD/build}
LOG=$BUILD_DIR/ctest-output.log
set +e
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
# CTest prints skipped tests and timings after its summary; repeat the summary as the last line.
grep -E "tests passed|tests failed" "$LOG" | tail -1
exit "$rc"
