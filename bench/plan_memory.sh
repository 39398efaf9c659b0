#!/usr/bin/env bash
# Plan-memory benchmark (issue 13: "memory bounded by a page, not by the prefix"): peak RSS and
# seconds of `lakepack rollup --grouping hour`, dry run and real run, on lakes of 2,000 and of
# 20,000 minute files (made once with `lakepack sample`), on local disk and on a local
# moto_server (signature checking off, started and stopped here), with the ratio 20k / 2k of
# each; then the peak of planning a synthetic listing of 10,080,000 keys (the test binary
# build/tests/lakepack_memory_tests, whose store generates its pages: tests/memory/).
#
#   bench/plan_memory.sh [--small 2000] [--large 20000] [--rows 100] [--workdir DIR] [--bin DIR]
#                        [--targets local,moto] [--no-synthetic]
#
# Peak RSS is "Maximum resident set size" of /usr/bin/time -v. The real run works on a fresh
# copy of the lake each time (a local copy, or an upload to a fresh prefix, not timed); its
# result is checked: one hour file per hour of input, holding every input row (lakepack
# inspect). Exit code 1 when a step failed or a check mismatched.
set -euo pipefail
set +m
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/servers/lib.sh
source "$ROOT/tests/servers/lib.sh"
# shellcheck source=SCRIPTDIR/lib.sh
source "$ROOT/bench/lib.sh"

SMALL=2000
LARGE=20000
ROWS=100
WORKDIR=""
BUILD=${LAKEPACK_BENCH_BUILD:-$ROOT/build}
TARGETS=local,moto
SYNTHETIC=1
START_TS=2025-01-01T00:00
while [[ $# -gt 0 ]]; do
  case $1 in
    --small) SMALL=$2; shift 2 ;;
    --large) LARGE=$2; shift 2 ;;
    --rows) ROWS=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --bin) BUILD=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --no-synthetic) SYNTHETIC=0; shift ;;
    -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "plan_memory.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
LAKEPACK=$BUILD/lakepack
MEMTEST=$BUILD/tests/lakepack_memory_tests
[[ -x $LAKEPACK ]] || { echo "plan_memory.sh: $LAKEPACK not built" >&2; exit 2; }
if ((SYNTHETIC)) && [[ ! -x $MEMTEST ]]; then
  echo "plan_memory.sh: $MEMTEST not built (ninja -C build lakepack_memory_tests)" >&2
  exit 2
fi
want() { [[ ",$TARGETS," == *",$1,"* ]]; }
if want moto; then
  for tool in aws moto_server; do
    command -v "$tool" >/dev/null || { echo "plan_memory.sh: $tool not found" >&2; exit 2; }
  done
fi
bench_need_gnu_time
bench_workdir plan-memory
mkdir -p "$SCRATCH/logs"
LOGS=$SCRATCH/logs
bench_s3_env 16

declare -A SECS RSS CHECK
status=0
timed() { bench_timed "$@"; }
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }

# The lakes, made once (kept in WORKDIR with --workdir for the same parameters).
make_lake() {  # make_lake N: WORKDIR/lake-N
  local n=$1 dir=$WORKDIR/lake-$1
  local stamp="minutes=$n rows=$ROWS start=$START_TS lakepack=$("$LAKEPACK" --version 2>&1 | head -n 1)"
  if [[ ! -f $dir.stamp || $(cat "$dir.stamp") != "$stamp" ]]; then
    echo "making $n minute files of $ROWS rows in $dir"
    rm -rf "$dir" "$dir.stamp"
    "$LAKEPACK" --quiet sample "$dir" --minutes "$n" --rows-per-file "$ROWS" --start "$START_TS"
    echo "$stamp" >"$dir.stamp"
  fi
}
end_day() { date -u -d "${START_TS%T*} ${START_TS#*T} UTC + $(($1 - 1)) minutes" +%F; }
hours_of() { find "$WORKDIR/lake-$1" -name '*.parquet' -printf '%h\n' | sort -u | wc -l; }
rows_of() { echo $(($1 * ROWS)); }

# check NAME N LISTING: LISTING (one key per line) holds one hour file per input hour, no
# minute file, and the hour files hold every row (INSPECT is how to inspect a key).
check_outputs() {
  local name=$1 n=$2 base=$3 keys rows=0 k r
  shift 3
  mapfile -t keys < <("$@" | grep '\.parquet$' | sort)
  if ((${#keys[@]} != $(hours_of "$n"))); then
    CHECK[$name]="${#keys[@]} objects left, expected $(hours_of "$n")"; status=1; return
  fi
  for k in "${keys[@]}"; do
    [[ $k =~ _[0-9]{8}T[0-9]{2}\.parquet$ ]] || { CHECK[$name]="unexpected $k"; status=1; return; }
    "$LAKEPACK" --json inspect "$base/$k" >"$LOGS/$name.inspect"
    r=$(json "$LOGS/$name.inspect" 'd["rows"]')
    rows=$((rows + r))
  done
  if ((rows == $(rows_of "$n"))); then CHECK[$name]=ok; else CHECK[$name]="$rows rows"; status=1; fi
}

SIZES=("$SMALL" "$LARGE")
for n in "${SIZES[@]}"; do make_lake "$n"; done

if want local; then
  for n in "${SIZES[@]}"; do
    e=$(end_day "$n")
    echo "local $n: dry run, real run"
    timed "local-dry-$n" "$LAKEPACK" --json rollup "$WORKDIR/lake-$n" --start 2025-01-01 --end "$e" \
      --grouping hour --dry-run || { CHECK[local-dry-$n]=FAILED; status=1; }
    if [[ -z ${CHECK[local-dry-$n]:-} ]]; then
      got=$(json "$LOGS/local-dry-$n.log" 'sum(len(p["inputs"]) for p in d["plan"])')
      if ((got == n)); then CHECK[local-dry-$n]=ok; else CHECK[local-dry-$n]="plan of $got inputs"; status=1; fi
    fi
    rm -rf "$SCRATCH/copy"
    cp -r "$WORKDIR/lake-$n" "$SCRATCH/copy"
    if timed "local-run-$n" "$LAKEPACK" --json rollup "$SCRATCH/copy" --start 2025-01-01 --end "$e" \
      --grouping hour; then
      check_outputs "local-run-$n" "$n" "$SCRATCH/copy" bash -c 'cd "$1" && find . -type f | sed "s|^\./||"' _ "$SCRATCH/copy"
    else
      CHECK[local-run-$n]=FAILED; status=1
    fi
    rm -rf "$SCRATCH/copy"
  done
fi

if want moto; then
  lp_start_moto moto "$SERVERS" || { echo "plan_memory.sh: moto did not start" >&2; exit 1; }
  export AWS_ENDPOINT_URL=http://$LP_HOST:$LP_PORT
  BUCKET=lakepack-plan-bench
  aws s3api create-bucket --bucket "$BUCKET" >/dev/null
  for n in "${SIZES[@]}"; do
    e=$(end_day "$n")
    S3=s3://$BUCKET/lake-$n
    echo "moto $n: upload (not timed), dry run, real run"
    aws s3 cp --recursive --only-show-errors "$WORKDIR/lake-$n/" "$S3/"
    timed "moto-dry-$n" "$LAKEPACK" --json rollup "$S3" --start 2025-01-01 --end "$e" \
      --grouping hour --dry-run || { CHECK[moto-dry-$n]=FAILED; status=1; }
    if [[ -z ${CHECK[moto-dry-$n]:-} ]]; then
      got=$(json "$LOGS/moto-dry-$n.log" 'sum(len(p["inputs"]) for p in d["plan"])')
      if ((got == n)); then CHECK[moto-dry-$n]=ok; else CHECK[moto-dry-$n]="plan of $got inputs"; status=1; fi
    fi
    if timed "moto-run-$n" "$LAKEPACK" --json rollup "$S3" --start 2025-01-01 --end "$e" \
      --grouping hour; then
      check_outputs "moto-run-$n" "$n" "$S3" bash -c \
        'aws s3 ls --recursive "$1/" | awk "{ print \$4 }" | sed "s|^lake-$2/||"' _ "s3://$BUCKET/lake-$n" "$n"
    else
      CHECK[moto-run-$n]=FAILED; status=1
    fi
    aws s3 rm --recursive --only-show-errors "$S3/" >/dev/null 2>&1 || true
  done
fi

if ((SYNTHETIC)); then
  echo "synthetic: planning 10,080,000 keys (lakepack_memory_tests)"
  if timed synthetic "$MEMTEST" --gtest_filter=PlanMemory.TenMillionKeysArePlannedUnder256MB; then
    CHECK[synthetic]=$(grep -o 'plan_memory: .*' "$LOGS/synthetic.log" || echo "?")
  else
    CHECK[synthetic]=FAILED; status=1
  fi
fi

echo
echo "plan-memory benchmark: lakepack rollup --grouping hour of $SMALL and $LARGE minute files x $ROWS rows"
echo "  $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo) RAM;" \
  "$("$LAKEPACK" --version 2>&1 | head -n 1)${TARGETS/*moto*/; moto_server $(python3 -c 'import moto; print(moto.__version__)' 2>/dev/null)}"
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
printf '%-16s %10s %8s %10s %8s %10s %9s  %s\n' run "s ($SMALL)" "MB" "s ($LARGE)" "MB" "RSS ratio" "s ratio" check
for t in local moto; do
  want "$t" || continue
  for mode in dry run; do
    a=$t-$mode-$SMALL b=$t-$mode-$LARGE
    printf '%-16s %10s %8s %10s %8s %10s %9s  %s\n' "$t $mode" "${SECS[$a]:--}" "${RSS[$a]:--}" \
      "${SECS[$b]:--}" "${RSS[$b]:--}" "$(ratio "${RSS[$b]:-}" "${RSS[$a]:-}")" \
      "$(ratio "${SECS[$b]:-}" "${SECS[$a]:-}")" "${CHECK[$a]:-} / ${CHECK[$b]:-}"
  done
done
if ((SYNTHETIC)); then
  printf '%-16s %10s %8s  %s\n' "synthetic 10M" "${SECS[synthetic]:--}" "${RSS[synthetic]:--}" "${CHECK[synthetic]:-}"
fi
exit $status
