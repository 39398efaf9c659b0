#!/usr/bin/env bash
# Roll-up benchmark: one day of minute files (1,440 files of 5,000 rows, the seeds' Data Schema,
# made once with `lakepack sample`) rolled up to 24 hour files and then to one day file on a
# local moto_server (signature checking off, started and stopped here), against, in the same run:
#
#   cascade   lakepack rollup --grouping day --cascade: the minute files straight into the day
#             file, one task per day (no hour file written or read back);
#   floor     the transfers the roll-up cannot avoid, through lakepack's own store
#             (build/bench/lakepack_bench_transfer): download every minute file, upload the hour
#             files lakepack wrote, download them again, upload the day file. The cascade's own
#             floor ("floor, direct") is the first and the last of these: every input read
#             once, the output written once;
#   local     (for reference) the same lakepack commands on a local copy: the merge without S3;
#   duckdb    a DuckDB-only pipeline: `aws s3 cp --recursive` down, DuckDB (node, @duckdb/node-api)
#             COPY of each hour's minute files into an hour file and of the hours into the day
#             file, `aws s3 cp` up of the day file, `aws s3 rm --recursive` of the inputs.
#
# Each contender gets the same files uploaded to a fresh prefix (`aws s3 cp --recursive`, not
# timed) and its prefix is removed after its check, so moto holds one set at a time. Peak memory
# is the largest "Maximum resident set size" that /usr/bin/time -v reports for a timed command.
# lakepack's and the DuckDB pipeline's result is checked: one file per day, row count (lakepack
# inspect) and an order-independent row checksum (DuckDB, same engine for inputs and outputs)
# equal to the inputs'. Exit code 1 when a step failed or a check mismatched.
#
#   bench/rollup.sh [--minutes 1440] [--rows 5000] [--concurrency 16] [--parallel N]
#                   [--workdir DIR] [--bin DIR] [--contenders cascade,lakepack,local,floor,duckdb]
#
# --concurrency N is every client's S3 concurrency: lakepack's --concurrency (its default, 16),
# lakepack_bench_transfer's --threads and the aws cli's s3.max_concurrent_requests.
# --parallel N is passed to `lakepack rollup --parallel` (default: lakepack's own, 4).
# --workdir DIR keeps the generated minute files in DIR/src for the next run with the same
# --minutes/--rows; otherwise a temp dir is used and removed. --bin DIR is the build tree
# holding lakepack and bench/lakepack_bench_transfer (default build/).
set -euo pipefail
set +m
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/servers/lib.sh
source "$ROOT/tests/servers/lib.sh"
# shellcheck source=SCRIPTDIR/lib.sh
source "$ROOT/bench/lib.sh"

MINUTES=1440
ROWS=5000
CONC=16
PARALLEL=""
WORKDIR=""
BUILD=${LAKEPACK_BENCH_BUILD:-$ROOT/build}
CONTENDERS=cascade,lakepack,local,floor,duckdb
START_TS=2025-01-01T00:00
while [[ $# -gt 0 ]]; do
  case $1 in
    --minutes) MINUTES=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --concurrency) CONC=$2; shift 2 ;;
    --parallel) PARALLEL=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --bin) BUILD=$2; shift 2 ;;
    --contenders) CONTENDERS=$2; shift 2 ;;
    -h | --help) sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "rollup.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
LAKEPACK=$BUILD/lakepack
XFER=$BUILD/bench/lakepack_bench_transfer
IFS=, read -r -a contenders <<<"$CONTENDERS"
want() { [[ ",$CONTENDERS," == *",$1,"* ]]; }
for c in "${contenders[@]}"; do
  case $c in cascade | lakepack | local | floor | duckdb) ;; *) echo "rollup.sh: unknown contender $c" >&2; exit 2 ;; esac
done
if want floor && ! want lakepack; then
  echo "rollup.sh: the floor uploads the files lakepack wrote: --contenders floor needs lakepack" >&2
  exit 2
fi
[[ -x $LAKEPACK ]] || { echo "rollup.sh: $LAKEPACK not built (ninja -C build lakepack)" >&2; exit 2; }
if want floor && [[ ! -x $XFER ]]; then
  echo "rollup.sh: $XFER not built (ninja -C build lakepack_bench_transfer)" >&2
  exit 2
fi
for tool in aws moto_server node npm python3; do
  command -v "$tool" >/dev/null || { echo "rollup.sh: $tool not found" >&2; exit 2; }
done
bench_need_gnu_time
bench_need_duckdb_node

bench_workdir rollup
mkdir -p "$SCRATCH/logs"
LOGS=$SCRATCH/logs

bench_s3_env "$CONC"

# The minute files, made once (kept in WORKDIR/src with --workdir for the same parameters).
SRC=$WORKDIR/src
STAMP="minutes=$MINUTES rows=$ROWS start=$START_TS lakepack=$("$LAKEPACK" --version 2>&1 | head -n 1)"
if [[ ! -f $WORKDIR/src.stamp || $(cat "$WORKDIR/src.stamp") != "$STAMP" ]]; then
  echo "making $MINUTES minute files of $ROWS rows in $SRC"
  rm -rf "$SRC" "$WORKDIR/src.stamp" "$WORKDIR/src.digest"
  "$LAKEPACK" --quiet sample "$SRC" --minutes "$MINUTES" --rows-per-file "$ROWS" --start "$START_TS"
  echo "$STAMP" >"$WORKDIR/src.stamp"
fi
# What the roll-up must end with: one file per day, holding every input row.
mapfile -t HOUR_DIRS < <(cd "$SRC" && find . -name '*.parquet' -printf '%h\n' | sort -u)
mapfile -t DAY_DIRS < <(printf '%s\n' "${HOUR_DIRS[@]}" | sed 's|/[^/]*$||' | sort -u)
N_FILES=$(find "$SRC" -name '*.parquet' | wc -l)
IN_BYTES=$(find "$SRC" -name '*.parquet' -printf '%s\n' | awk '{ s += $1 } END { print s }')
N_HOURS=${#HOUR_DIRS[@]}
N_DAYS=${#DAY_DIRS[@]}
START_DAY=${START_TS%T*}
END_DAY=$(date -u -d "$START_DAY ${START_TS#*T} UTC + $((MINUTES - 1)) minutes" +%F)
if [[ ! -f $WORKDIR/src.digest ]]; then
  "${DUCK[@]}" digest "$SRC" >"$WORKDIR/src.digest"
fi
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }
EXP_ROWS=$(json "$WORKDIR/src.digest" 'd["rows"]')
EXP_SUM=$(json "$WORKDIR/src.digest" 'd["checksum"]')
echo "input: $N_FILES files in $N_HOURS hours of $N_DAYS day(s), $EXP_ROWS rows, $IN_BYTES bytes"

lp_start_moto moto "$SERVERS" || { echo "rollup.sh: moto did not start" >&2; exit 1; }
EP=http://$LP_HOST:$LP_PORT
BUCKET=lakepack-bench
export AWS_ENDPOINT_URL=$EP
aws s3api create-bucket --bucket "$BUCKET" >/dev/null
S3=s3://$BUCKET

now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
declare -A SECS RSS LOAD CHECK BIN BOUT REQ
status=0
timed() { bench_timed "$@"; }
# total NAME PARTS...: SECS = sum of the parts', RSS = max of the parts'.
total() {
  local name=$1 s=0 r=0 p
  shift
  for p in "$@"; do
    s=$(awk -v a="$s" -v b="${SECS[$p]}" 'BEGIN { printf "%.2f", a + b }')
    ((${RSS[$p]} > r)) && r=${RSS[$p]}
  done
  SECS[$name]=$s
  RSS[$name]=$r
}
upload_set() {  # upload_set PREFIX: the minute files to S3/PREFIX/, not timed
  aws s3 cp --recursive --only-show-errors "$SRC/" "$S3/$1/"
}
keys() { aws s3 ls --recursive "$S3/$1/" | awk '{ print $4 }' | sort; }
remove_prefix() { aws s3 rm --recursive --only-show-errors "$S3/$1/" >/dev/null 2>&1 || true; }
# check NAME DIR: DIR (local copies of the outputs) holds the input's rows, checksum equal.
check_rows() {
  local name=$1 dir=$2 got
  got=$("${DUCK[@]}" digest "$dir")
  echo "$got" >"$LOGS/$name.digest"
  if [[ $(json "$LOGS/$name.digest" 'd["rows"]') == "$EXP_ROWS" &&
    $(json "$LOGS/$name.digest" 'd["checksum"]') == "$EXP_SUM" ]]; then
    CHECK[$name]="ok"
  else
    CHECK[$name]="MISMATCH ($got)"; status=1
  fi
}
# check_layout NAME PREFIX: PREFIX holds exactly one object per day, named <…>/YYYY/MM/<file>.
check_layout() {
  local name=$1 prefix=$2 k n=0 rows=0 r
  mapfile -t found < <(keys "$prefix")
  if ((${#found[@]} != N_DAYS)); then
    CHECK[$name]="$((${#found[@]})) objects left, expected $N_DAYS"; status=1; return 1
  fi
  for k in "${found[@]}"; do
    [[ $k =~ /[0-9]{4}/[0-9]{2}/[^/]+\.parquet$ ]] || { CHECK[$name]="unexpected key $k"; status=1; return 1; }
    "$LAKEPACK" --json inspect "$S3/$k" >"$LOGS/$name.inspect.$n"
    r=$(json "$LOGS/$name.inspect.$n" 'd["rows"]')
    rows=$((rows + r)); n=$((n + 1))
  done
  if ((rows != EXP_ROWS)); then
    CHECK[$name]="inspect: $rows rows, expected $EXP_ROWS"; status=1; return 1
  fi
}
sumsize() { find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

echo "load average at start: $(loadavg)"
HOURS_DIR=$SCRATCH/hours    # lakepack's hour files (flat), for the floor
DAYS_DIR=$SCRATCH/days      # lakepack's day files (flat), for the check and the floor

# --- lakepack: rollup --grouping day --cascade (minutes straight into the day) ----------------
if want cascade; then
  upload_set cascade
  LOAD[cascade]=$(loadavg)
  echo "lakepack: rollup --grouping day --cascade (load $(loadavg))"
  extra=(--concurrency "$CONC")
  [[ -n $PARALLEL ]] && extra+=(--parallel "$PARALLEL")
  if timed cascade "$LAKEPACK" --json "${extra[@]}" rollup "$S3/cascade" \
    --start "$START_DAY" --end "$END_DAY" --grouping day --cascade; then
    if check_layout cascade cascade; then
      aws s3 cp --recursive --only-show-errors "$S3/cascade/" "$SCRATCH/c-days/"
      check_rows cascade "$SCRATCH/c-days"
    fi
    BIN[cascade]=$(json "$LOGS/cascade.log" 'd["bytes_in"]')
    BOUT[cascade]=$(json "$LOGS/cascade.log" 'd["bytes_out"]')
    REQ[cascade]=$(json "$LOGS/cascade.log" '" ".join(f"{k}={v}" for k, v in d["requests"].items() if not k.startswith("bytes") and v)')
  else
    CHECK[cascade]=FAILED; status=1
  fi
  rm -rf "$SCRATCH/c-days"
  remove_prefix cascade
fi

# --- lakepack: rollup --grouping hour, then --grouping day ------------------------------------
if want lakepack; then
  upload_set lakepack
  LOAD[lakepack]=$(loadavg)
  echo "lakepack: rollup hour + day (load $(loadavg))"
  extra=(--concurrency "$CONC")
  [[ -n $PARALLEL ]] && extra+=(--parallel "$PARALLEL")
  if timed lp-hour "$LAKEPACK" --json "${extra[@]}" rollup "$S3/lakepack" \
    --start "$START_DAY" --end "$END_DAY" --grouping hour; then
    # Not timed: keep the hour files for the floor's uploads (the day step deletes them).
    mkdir -p "$HOURS_DIR"
    aws s3 cp --recursive --only-show-errors "$S3/lakepack/" "$SCRATCH/lp-hours/"
    find "$SCRATCH/lp-hours" -type f -exec mv -t "$HOURS_DIR" {} +
    n=$(find "$HOURS_DIR" -type f | wc -l)
    ((n == N_HOURS)) || { CHECK[lakepack]="$n objects after the hour step, expected $N_HOURS"; status=1; }
    if timed lp-day "$LAKEPACK" --json "${extra[@]}" rollup "$S3/lakepack" \
      --start "$START_DAY" --end "$END_DAY" --grouping day; then
      total lakepack lp-hour lp-day
      if check_layout lakepack lakepack; then
        aws s3 cp --recursive --only-show-errors "$S3/lakepack/" "$SCRATCH/lp-days/"
        mkdir -p "$DAYS_DIR"
        find "$SCRATCH/lp-days" -type f -exec mv -t "$DAYS_DIR" {} +
        [[ -n ${CHECK[lakepack]:-} ]] || check_rows lakepack "$DAYS_DIR"
      fi
      for p in lp-hour lp-day; do
        BIN[$p]=$(json "$LOGS/$p.log" 'd["bytes_in"]')
        BOUT[$p]=$(json "$LOGS/$p.log" 'd["bytes_out"]')
        REQ[$p]=$(json "$LOGS/$p.log" '" ".join(f"{k}={v}" for k, v in d["requests"].items() if not k.startswith("bytes") and v)')
      done
      BIN[lakepack]=$((${BIN[lp-hour]} + ${BIN[lp-day]}))
      BOUT[lakepack]=$((${BOUT[lp-hour]} + ${BOUT[lp-day]}))
      REQ[lakepack]=$(python3 -c '
import json, sys, collections
c = collections.Counter()
for f in sys.argv[1:]:
    for k, v in json.load(open(f))["requests"].items():
        if not k.startswith("bytes"): c[k] += v
print(" ".join(f"{k}={v}" for k, v in sorted(c.items()) if v))' "$LOGS/lp-hour.log" "$LOGS/lp-day.log")
    else
      CHECK[lakepack]=FAILED; status=1
    fi
  else
    CHECK[lakepack]=FAILED; status=1
  fi
  rm -rf "$SCRATCH/lp-hours" "$SCRATCH/lp-days"
  remove_prefix lakepack
fi

# --- lakepack on local disk: the same two commands without S3 (what the merging itself costs) --
if want local; then
  rm -rf "$SCRATCH/local"
  cp -r "$SRC" "$SCRATCH/local"
  LOAD[local]=$(loadavg)
  echo "lakepack on local disk: rollup hour + day (load $(loadavg))"
  extra=()
  [[ -n $PARALLEL ]] && extra+=(--parallel "$PARALLEL")
  cp -r "$SRC" "$SCRATCH/local-cascade"
  if timed lo-cascade "$LAKEPACK" --json "${extra[@]}" rollup "$SCRATCH/local-cascade" \
    --start "$START_DAY" --end "$END_DAY" --grouping day --cascade; then
    n=$(find "$SCRATCH/local-cascade" -type f -name '*.parquet' | wc -l)
    if ((n == N_DAYS)); then check_rows lo-cascade "$SCRATCH/local-cascade"; else CHECK[lo-cascade]="$n files left"; status=1; fi
  else
    CHECK[lo-cascade]=FAILED; status=1
  fi
  rm -rf "$SCRATCH/local-cascade"
  if timed lo-hour "$LAKEPACK" --json "${extra[@]}" rollup "$SCRATCH/local" \
    --start "$START_DAY" --end "$END_DAY" --grouping hour &&
    timed lo-day "$LAKEPACK" --json "${extra[@]}" rollup "$SCRATCH/local" \
      --start "$START_DAY" --end "$END_DAY" --grouping day; then
    total local lo-hour lo-day
    n=$(find "$SCRATCH/local" -type f -name '*.parquet' | wc -l)
    if ((n == N_DAYS)); then check_rows local "$SCRATCH/local"; else CHECK[local]="$n files left"; status=1; fi
  else
    CHECK[local]=FAILED; status=1
  fi
  rm -rf "$SCRATCH/local"
fi

# --- the floor: the same transfers through lakepack's store ----------------------------------
if want floor && [[ ${CHECK[lakepack]:-} == ok ]]; then
  upload_set floor/in
  LOAD[floor]=$(loadavg)
  echo "floor: down $N_FILES, up $N_HOURS, down $N_HOURS, up $N_DAYS (load $(loadavg))"
  X=("$XFER" --threads "$CONC")
  # The inputs are removed once downloaded (not timed), as the roll-up removes them, so moto
  # holds the same objects during the uploads as it did for lakepack (its speed depends on it).
  if timed fl-down-min "${X[@]}" down "$SCRATCH/fl-min" "$S3/floor/in" &&
    remove_prefix floor/in &&
    timed fl-up-hour "${X[@]}" up "$HOURS_DIR" "$S3/floor/hours" &&
    timed fl-down-hour "${X[@]}" down "$SCRATCH/fl-hours" "$S3/floor/hours" &&
    timed fl-up-day "${X[@]}" up "$DAYS_DIR" "$S3/floor/days"; then
    total floor fl-down-min fl-up-hour fl-down-hour fl-up-day
    total floor-direct fl-down-min fl-up-day
    BIN[floor]=$(($(sumsize "$SCRATCH/fl-min") + $(sumsize "$SCRATCH/fl-hours")))
    BOUT[floor]=$(($(sumsize "$HOURS_DIR") + $(sumsize "$DAYS_DIR")))
    BIN[floor-direct]=$(sumsize "$SCRATCH/fl-min"); BOUT[floor-direct]=$(sumsize "$DAYS_DIR")
    CHECK[floor-direct]="down + up of the floor"
    BIN[fl-down-min]=$(sumsize "$SCRATCH/fl-min"); BOUT[fl-up-hour]=$(sumsize "$HOURS_DIR")
    BIN[fl-down-hour]=$(sumsize "$SCRATCH/fl-hours"); BOUT[fl-up-day]=$(sumsize "$DAYS_DIR")
    if [[ ${BIN[fl-down-min]} == "$IN_BYTES" && $(find "$SCRATCH/fl-min" -type f | wc -l) == "$N_FILES" ]]; then
      CHECK[floor]="ok (bytes)"
    else
      CHECK[floor]="MISMATCH: downloaded ${BIN[fl-down-min]} bytes"; status=1
    fi
    REQ[floor]="GET=$((N_FILES + N_HOURS)) PUT=$((N_HOURS + N_DAYS)) (+LIST)"
  else
    CHECK[floor]=FAILED; status=1
  fi
  rm -rf "$SCRATCH/fl-min" "$SCRATCH/fl-hours"
  remove_prefix floor
elif want floor; then
  CHECK[floor]="skipped (lakepack failed)"
fi

# --- DuckDB only: aws s3 cp down, DuckDB COPY per hour and day, aws s3 cp up, aws s3 rm -------
if want duckdb; then
  upload_set duckdb
  LOAD[duckdb]=$(loadavg)
  echo "duckdb: aws cp down, COPY x $N_HOURS + $N_DAYS, aws cp up, aws rm (load $(loadavg))"
  D=$SCRATCH/dd
  rm_prefixes=()  # the minute files, by day prefix (the day files sit one level up)
  for d in "${DAY_DIRS[@]}"; do rm_prefixes+=("$S3/duckdb/${d#./}/"); done
  if timed dd-down aws s3 cp --recursive --only-show-errors "$S3/duckdb/" "$D/in/" &&
    timed dd-copy "${DUCK[@]}" pipeline "$D/in" "$D/hours" "$D/out" &&
    timed dd-up aws s3 cp --recursive --only-show-errors "$D/out/" "$S3/duckdb/" &&
    timed dd-rm bash -c 'for p; do aws s3 rm --recursive --only-show-errors "$p" || exit 1; done' \
      rm "${rm_prefixes[@]}"; then
    total duckdb dd-down dd-copy dd-up dd-rm
    BIN[duckdb]=$(sumsize "$D/in"); BOUT[duckdb]=$(sumsize "$D/out")
    BIN[dd-down]=${BIN[duckdb]}; BOUT[dd-up]=${BOUT[duckdb]}
    REQ[duckdb]="-"
    check_layout duckdb duckdb && check_rows duckdb "$D/out"
  else
    CHECK[duckdb]=FAILED; status=1
  fi
  rm -rf "$D"
  remove_prefix duckdb
fi
END_LOAD=$(loadavg)

# --- the table -----------------------------------------------------------------------------
mb() { [[ -n ${1:-} ]] && awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }' || echo -; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() {  # row KEY LABEL [main]
  local k=$1 label=$2 xf=- xd=-
  [[ -n ${SECS[$k]:-} ]] || { printf '%-34s %8s %7s %7s %7s %9s %9s  %s\n' "$label" - - - - - - "${CHECK[$k]:-}"; return; }
  if [[ ${3:-} == main ]]; then
    xf=$(ratio "${SECS[$k]}" "${SECS[floor]:-}")
    xd=$(ratio "${SECS[$k]}" "${SECS[duckdb]:-}")
  elif [[ ${3:-} == direct ]]; then  # against the direct floor: each input once, output once
    xf=$(ratio "${SECS[$k]}" "${SECS[floor-direct]:-}")
    xd=$(ratio "${SECS[$k]}" "${SECS[duckdb]:-}")
  fi
  printf '%-34s %8s %7s %7s %7s %9s %9s  %s\n' "$label" "${SECS[$k]}" "${RSS[$k]}" "$xf" "$xd" \
    "$(mb "${BIN[$k]:-}")" "$(mb "${BOUT[$k]:-}")" "${CHECK[$k]:-}"
}
echo
echo "roll-up benchmark: $N_FILES minute files x $ROWS rows ($EXP_ROWS rows, $(mb "$IN_BYTES") MB)" \
  "-> $N_HOURS hour files -> $N_DAYS day file(s); S3 concurrency $CONC${PARALLEL:+, rollup --parallel $PARALLEL}"
echo "  moto_server $(python3 -c 'import moto; print(moto.__version__)') on $EP, $(nproc) CPUs;" \
  "$("$LAKEPACK" --version 2>&1 | head -n 1); $(aws --version 2>&1 | cut -d' ' -f1);" \
  "@duckdb/node-api $(node -p "require('$ROOT/bench/package-lock.json').packages['node_modules/@duckdb/node-api'].version"), node $(node --version)"
echo "  load average (1/5/15 min): start of cascade ${LOAD[cascade]:--}, lakepack ${LOAD[lakepack]:--}, floor ${LOAD[floor]:--}," \
  "duckdb ${LOAD[duckdb]:--}, end $END_LOAD"
echo "  x floor / x duckdb: seconds relative to the floor / the DuckDB pipeline (1.00 = as fast, 2.00 = twice as slow);"
echo "  the --cascade rows against the direct floor (each input read once, the output written once)"
printf '%-34s %8s %7s %7s %7s %9s %9s  %s\n' contender seconds "RSS MB" "x floor" "x duckdb" "MB in" "MB out" check
for c in "${contenders[@]}"; do
  case $c in
    cascade)
      row cascade "lakepack rollup day --cascade" direct
      ;;
    lakepack)
      row lakepack "lakepack rollup (hour + day)" main
      row lp-hour "  rollup --grouping hour"
      row lp-day "  rollup --grouping day"
      ;;
    local)
      row lo-cascade "local disk: day --cascade" direct
      row local "lakepack on local disk (no S3)" main
      row lo-hour "  rollup --grouping hour"
      row lo-day "  rollup --grouping day"
      ;;
    floor)
      row floor-direct "floor, direct (down min, up day)" direct
      row floor "floor (lakepack store transfers)" main
      row fl-down-min "  down $N_FILES minute files"
      row fl-up-hour "  up $N_HOURS hour files"
      row fl-down-hour "  down $N_HOURS hour files"
      row fl-up-day "  up $N_DAYS day file(s)"
      ;;
    duckdb)
      row duckdb "duckdb pipeline (aws cli + DuckDB)" main
      row dd-down "  aws s3 cp --recursive down"
      row dd-copy "  node DuckDB COPY (hours, day)"
      [[ -f $LOGS/dd-copy.log ]] && printf '%-34s %8s\n' "    of which hours / day" \
        "$(json "$LOGS/dd-copy.log" 'str(d["hours_seconds"]) + " / " + str(d["day_seconds"])')"
      row dd-up "  aws s3 cp up"
      row dd-rm "  aws s3 rm --recursive inputs"
      ;;
  esac
done
if want cascade && [[ -n ${REQ[cascade]:-} ]]; then
  echo
  echo "lakepack --cascade requests: ${REQ[cascade]}; --json seconds $(json "$LOGS/cascade.log" 'd["seconds"]')"
fi
if want lakepack && [[ -n ${REQ[lakepack]:-} ]]; then
  echo
  echo "lakepack requests: hour: ${REQ[lp-hour]}; day: ${REQ[lp-day]}; total: ${REQ[lakepack]}"
  echo "lakepack --json seconds: hour $(json "$LOGS/lp-hour.log" 'd["seconds"]'), day $(json "$LOGS/lp-day.log" 'd["seconds"]')"
  # One write per output: bytes PUT to the store against the outputs' bytes (a staging copy
  # would show COPY requests and twice the bytes on a local store).
  for p in lp-hour lp-day; do
    echo "lakepack $p: $(json "$LOGS/$p.log" '"%d bytes written for %d bytes of outputs (%.3f copies), COPY=%d" % (d["requests"].get("bytes_written", 0), d["bytes_out"], d["requests"].get("bytes_written", 0) / max(d["bytes_out"], 1), d["requests"].get("COPY", 0))')"
  done
fi
exit $status
