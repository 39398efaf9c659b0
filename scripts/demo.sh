#!/usr/bin/env bash
# The main job on an embedded default: builds lakepack, makes a sample lake of minute files in
# a local directory, and runs lakepack on it.
#   scripts/demo.sh [DIR]      (default DIR: ./lakepack-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
LP=${LAKEPACK_BUILD_DIR:-$PWD/build}/lakepack
DIR=${1:-$PWD/lakepack-demo}
rm -rf "$DIR"
mkdir -p "$DIR"

echo "== 1. a sample lake: 60 minute files of the Data Schema, as CSV"
"$LP" sample "$DIR/lake" --minutes 60 --rows-per-file 1000 --format csv
FIRST=$(find "$DIR/lake" -name '*.csv' | sort | head -1)
echo "== 2. convert one minute file to ZSTD Parquet"
"$LP" convert "$FIRST" "$DIR/out/first_minute.parquet" --compression zstd
echo "== 3. inspect it (footer only)"
"$LP" inspect "$DIR/out/first_minute.parquet"
echo "== 4. and back to JSON lines"
"$LP" convert "$DIR/out/first_minute.parquet" "$DIR/out/first_minute.jsonl"
"$LP" inspect "$DIR/out/first_minute.jsonl" --json
echo "demo: done; files are under $DIR"
