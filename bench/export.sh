#!/usr/bin/env bash
# Export benchmark: ROWS rows of the export reference's Data Schema (tests/servers/
# postgres_seed.sh: bytea ids, numeric(20,0), uuid, timestamps, nullable columns, bytea[],
# partitioned by month) in a throwaway PostgreSQL 15 on 127.0.0.1, exported to local ZSTD
# Parquet by, in one run:
#
#   floor     psql -c "COPY (SELECT … ORDER BY uploaded_date, data_item_id) TO STDOUT
#             (FORMAT binary)" > /dev/null: reading the rows in key order, nothing written;
#   lakepack  lakepack export (keyset pages of --chunk-rows, binary results, Parquet every
#             --flush-rows rows);
#   duckdb    the reference's method (bench/export_duckdb.mjs): psql pulls CHUNK rows at a time
#             as CSV into a DuckDB buffer (node, @duckdb/node-api), DuckDB writes each FLUSH rows
#             as a Parquet file.
#
# Peak memory is "Maximum resident set size" from /usr/bin/time -v of the client process
# (PostgreSQL's own backends are not counted for anyone). CPU seconds are the client's user+sys
# (/usr/bin/time -v) and the server's: the user+sys of the postmaster's reaped children
# (/proc/PID/stat cutime+cstime), i.e. the backend that served the run; on 2 shared cores the
# sum of the two bounds the wall time when the machine is loaded. lakepack's output is checked with
# `lakepack validate --against` (every file PASS, the table's count equals the files' total).
#
#   bench/export.sh [--rows 5000000] [--chunk 10000] [--flush 20000] [--bin DIR] [--keep DIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROWS=5000000 CHUNK=10000 FLUSH=20000 BIN="$ROOT/build" KEEP=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) ROWS=$2; shift 2 ;;
    --chunk) CHUNK=$2; shift 2 ;;
    --flush) FLUSH=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    *) echo "usage: $0 [--rows N] [--chunk N] [--flush N] [--bin DIR] [--keep DIR]" >&2; exit 2 ;;
  esac
done
LAKEPACK="$BIN/lakepack"
[[ -x $LAKEPACK ]] || { echo "export.sh: no $LAKEPACK (build first)" >&2; exit 2; }
[[ -d $HERE/node_modules/@duckdb/node-api ]] || (cd "$HERE" && npm ci --silent)
WORK=${KEEP:-$(mktemp -d /tmp/lakepack-bench-export-XXXXXX)}
mkdir -p "$WORK"
cleanup() {
  "$ROOT/tests/servers/postgres_stop.sh" "$WORK/pg" >/dev/null 2>&1 || true
  [[ -n $KEEP ]] || rm -rf "$WORK"
}
trap cleanup EXIT
"$ROOT/tests/servers/postgres_start.sh" "$WORK/pg" >/dev/null
set -a
# shellcheck source=/dev/null
source "$WORK/pg/pg.env"
set +a
TABLE=public.permanent_data_items
echo "seeding $ROWS rows ..." >&2
"$ROOT/tests/servers/postgres_seed.sh" "$ROWS" "$TABLE" 30000 >&2
psql -qAtX -c "VACUUM ANALYZE $TABLE" >/dev/null

POSTMASTER=$(head -1 "$(cat "$WORK/pg/pg.cluster")/data/postmaster.pid")
# CPU seconds of the postmaster's exited children (the backends), from /proc/PID/stat.
server_cpu() {
  python3 -c "import os,sys; f=open(f'/proc/{sys.argv[1]}/stat').read().rsplit(')',1)[1].split(); print((int(f[13])+int(f[14]))/os.sysconf('SC_CLK_TCK'))" "$POSTMASTER"
}

# Runs a command under /usr/bin/time -v; prints "seconds peak_kb client_cpu_s server_cpu_s".
timed() {
  local log="$WORK/time.log" before after
  before=$(server_cpu)
  /usr/bin/time -v "$@" >"$WORK/out.log" 2>"$log" || { cat "$WORK/out.log" "$log" >&2; return 1; }
  sleep 0.2  # the backend exits (and is reaped) just after the client
  after=$(server_cpu)
  local wall kb user sys
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  user=$(awk -F': ' '/User time/ {print $2}' "$log")
  sys=$(awk -F': ' '/System time/ {print $2}' "$log")
  python3 -c "import sys; p=sys.argv[1].split(':'); s=sum(float(x)*60**i for i,x in enumerate(reversed(p))); print(f'{s:.2f} {sys.argv[2]} {float(sys.argv[3])+float(sys.argv[4]):.2f} {float(sys.argv[6])-float(sys.argv[5]):.2f}')" "$wall" "$kb" "$user" "$sys" "$before" "$after"
}

read -r floor_s floor_kb floor_cc floor_sc < <(timed psql -qAtX -o /dev/null -c \
  "COPY (SELECT * FROM $TABLE ORDER BY uploaded_date, data_item_id) TO STDOUT (FORMAT binary)")
rm -rf "$WORK/lakepack"
read -r lp_s lp_kb lp_cc lp_sc < <(timed "$LAKEPACK" export "$TABLE" "$WORK/lakepack" --chunk-rows "$CHUNK" \
  --flush-rows "$FLUSH" --layout flat --quiet)
"$LAKEPACK" validate "$WORK/lakepack" --against "$LAKEPACK_TEST_PG_URI" "$TABLE" --quiet \
  --results "$WORK/validate.txt" --parallel 2 \
  || { echo "export.sh: lakepack's files do not validate:" >&2; grep -m5 FAIL "$WORK/validate.txt" >&2; exit 1; }
lp_files=$(find "$WORK/lakepack" -name '*.parquet' | wc -l)
lp_bytes=$(du -sb "$WORK/lakepack" | cut -f1)
rm -rf "$WORK/duckdb"
read -r dd_s dd_kb dd_cc dd_sc < <(cd "$HERE" && timed node export_duckdb.mjs "$TABLE" "$WORK/duckdb" "$CHUNK" "$FLUSH")
dd_files=$(find "$WORK/duckdb" -name '*.parquet' | wc -l)
dd_bytes=$(du -sb "$WORK/duckdb" | cut -f1)

printf '\nexport of %s rows (%s), chunk %s, flush %s, %s core(s), load %s\n' "$ROWS" "$TABLE" \
  "$CHUNK" "$FLUSH" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s %9s %10s %12s %7s %12s %8s %11s %11s %9s\n' contender seconds rows/s "peak RSS MB" files bytes "vs floor" "client CPU" "server CPU" "CPU x"
row() {
  python3 -c "import sys; n,s,kb,f,b,fl,cc,sc,fcpu=sys.argv[1:]; s=float(s); c=float(cc)+float(sc); print(f'{n:<10} {s:9.2f} {int($ROWS)/s:10.0f} {int(kb)/1024:12.1f} {f:>7} {b:>12} {s/float(fl):8.2f}x {float(cc):10.2f}s {float(sc):10.2f}s {c/float(fcpu):8.2f}x')" "$@"
}
floor_cpu=$(python3 -c "import sys; print(float(sys.argv[1])+float(sys.argv[2]))" "$floor_cc" "$floor_sc")
row floor "$floor_s" "$floor_kb" - - "$floor_s" "$floor_cc" "$floor_sc" "$floor_cpu"
row lakepack "$lp_s" "$lp_kb" "$lp_files" "$lp_bytes" "$floor_s" "$lp_cc" "$lp_sc" "$floor_cpu"
row duckdb "$dd_s" "$dd_kb" "$dd_files" "$dd_bytes" "$floor_s" "$dd_cc" "$dd_sc" "$floor_cpu"
python3 -c "import sys; print(f'lakepack is {float(sys.argv[2])/float(sys.argv[1]):.2f}x faster than the reference method')" "$lp_s" "$dd_s"
