#!/usr/bin/env bash
# The main job on an embedded default: builds lakepack, makes a sample lake of minute files in
# a local directory, and rolls it up to days, checking that every row is still there.
#   scripts/demo.sh [DIR]      (default DIR: ./lakepack-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
LP=${LAKEPACK_BUILD_DIR:-$PWD/build}/lakepack
DIR=${1:-$PWD/lakepack-demo}
rm -rf "$DIR"
mkdir -p "$DIR"
LAKE=$DIR/lake

echo "== 1. a sample lake: 6 hours of minute files (the Data Schema), 1,000 rows each"
"$LP" sample "$LAKE" --minutes 360 --rows-per-file 1000 --start 2025-01-01T00:00
echo "   $(find "$LAKE" -name '*.parquet' | wc -l) files"
echo "== 2. the plan: minute files → hours → a day (--dry-run changes nothing)"
"$LP" rollup "$LAKE" --start 2025-01-01 --end 2025-01-01 --grouping day --cascade --dry-run | tail -3
echo "== 3. roll up"
"$LP" rollup "$LAKE" --start 2025-01-01 --end 2025-01-01 --grouping day --cascade
echo "== 4. what is left: one day file with every row"
find "$LAKE" -type f | sed "s|$LAKE/||"
DAY=$(find "$LAKE" -name '*_20250101.parquet')
"$LP" inspect "$DAY" | head -7
ROWS=$("$LP" inspect "$DAY" --json | sed -E 's/.*"rows":([0-9]+).*/\1/')
if [[ "$ROWS" != "360000" ]]; then
  echo "demo: expected 360000 rows, found $ROWS" >&2
  exit 1
fi
echo "== 5. a second run finds nothing to do"
"$LP" rollup "$LAKE" --start 2025-01-01 --end 2025-01-01 --grouping day --cascade
echo "demo: done; the lake is in $LAKE"
