#!/usr/bin/env bash
# Sets everything up (packages, npm test readers, build) and runs every test with CTest.
# The last line is CTest's summary ("100% tests passed, 0 tests failed out of N").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
BUILD_DIR=${LAKEPACK_BUILD_DIR:-$PWD/build}
# Plain-HTTP loopback servers need no CA bundle; some clients fail to load the machine's.
export LAKEPACK_SOURCE_DIR=$PWD
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$(nproc)" "$@"
