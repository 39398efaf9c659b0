#!/usr/bin/env bash
# Transfer benchmark: uploads and downloads 1 GiB as 64 objects of 16 MiB (random data, made
# once) through a local moto_server (signature checking off) with lakepack's store
# (build/bench/lakepack_bench_transfer), `aws s3 cp --recursive` and rclone, all in the same
# run, plus a plain local copy (cp) as the floor. Every download is checked byte for byte
# (md5sum of every file). Prints a table: seconds, MB/s, and throughput relative to the aws cli.
#
#   bench/transfer.sh [--objects 64] [--size-mib 16] [--threads 16] [--workdir DIR]
#                     [--bin PATH] [--tools lakepack,aws,rclone] [--runs 1]
#
# --runs N repeats each tool's upload and download N times (interleaved tool by tool, so a
# burst of load elsewhere hits all of them) and reports the median; every download is checked.
# --threads N is every tool's concurrency: lakepack's --threads and LAKEPACK_S3_CONCURRENCY,
# the aws cli's s3.max_concurrent_requests, rclone's --transfers. All three send each object in
# one PUT and fetch it in one GET (aws multipart_threshold raised to 64 MiB, lakepack's
# default; rclone's cutoffs are above that already). The source files stay in
# WORKDIR/src for the next run when --workdir is given; otherwise WORKDIR is a temp dir,
# removed at the end. moto keeps objects in memory: each tool's objects are deleted after its
# check, so moto holds at most one set. Exit code 1 when a tool failed or a check mismatched.
set -euo pipefail
set +m
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/servers/lib.sh
source "$ROOT/tests/servers/lib.sh"

OBJECTS=64
SIZE_MIB=16
THREADS=16
WORKDIR=""
BIN=${LAKEPACK_BENCH_BIN:-}
TOOLS=lakepack,aws,rclone
RUNS=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --objects) OBJECTS=$2; shift 2 ;;
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "transfer.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ -z $BIN ]]; then
  for b in "$ROOT/build/bench/lakepack_bench_transfer" "$ROOT"/build*/bench/lakepack_bench_transfer; do
    [[ -x $b ]] && { BIN=$b; break; }
  done
fi

KEEP_WORKDIR=1
if [[ -z $WORKDIR ]]; then
  WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/lakepack-bench-XXXXXX")
  KEEP_WORKDIR=0
fi
mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
SERVERS=$WORKDIR/servers
cleanup() {
  lp_stop "$SERVERS/pids/moto.pid"
  rm -rf "$WORKDIR/dl" "$WORKDIR/floor"
  [[ $KEEP_WORKDIR == 1 ]] || rm -rf "$WORKDIR"
}
trap cleanup EXIT

# The environment every client gets: a plain-HTTP loopback endpoint (no CA bundle), fixed
# keys (moto's check is off), nothing from the user's own AWS or rclone setup.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_CONFIG_FILE=$WORKDIR/aws-config
cat >"$AWS_CONFIG_FILE" <<EOF
[default]
s3 =
  max_concurrent_requests = $THREADS
  multipart_threshold = 64MB
  multipart_chunksize = 16MB
EOF
export RCLONE_CONFIG=$WORKDIR/rclone.conf
: >"$RCLONE_CONFIG"

# The data, made once: OBJECTS files of SIZE_MIB MiB of random bytes, and their md5 sums.
SRC=$WORKDIR/src
BYTES=$((OBJECTS * SIZE_MIB * 1048576))
count_files() { { find "$SRC" -maxdepth 1 -type f "$@" 2>/dev/null || true; } | wc -l; }
if [[ $(count_files -size "$((SIZE_MIB * 1024))k") != "$OBJECTS" || $(count_files) != "$OBJECTS" ]]; then
  echo "making $OBJECTS files of $SIZE_MIB MiB in $SRC"
  rm -rf "$SRC"
  mkdir -p "$SRC"
  for i in $(seq -w 0 $((OBJECTS - 1))); do
    head -c $((SIZE_MIB * 1048576)) /dev/urandom >"$SRC/part-$i.bin"
  done
fi
(cd "$SRC" && md5sum -- * | sort -k2) >"$WORKDIR/expected.md5"

lp_start_moto moto "$SERVERS" || { echo "transfer.sh: moto did not start" >&2; exit 1; }
EP=http://$LP_HOST:$LP_PORT
BUCKET=lakepack-bench
export AWS_ENDPOINT_URL=$EP LAKEPACK_S3_CONCURRENCY=$THREADS
aws s3api create-bucket --bucket "$BUCKET" --endpoint-url "$EP" >/dev/null
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other
export RCLONE_CONFIG_BENCH_ENDPOINT=$EP RCLONE_CONFIG_BENCH_REGION=us-east-1
export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=bench RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=bench
export RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true

now() { date +%s.%N; }
# timed NAME CMD...: runs CMD with its output in WORKDIR/NAME.log; sets ELAPSED (seconds).
timed() {
  local name=$1 t0 t1
  shift
  t0=$(now)
  if ! "$@" >"$WORKDIR/$name.log" 2>&1; then
    echo "transfer.sh: $name failed:" >&2
    tail -n 15 "$WORKDIR/$name.log" >&2
    return 1
  fi
  t1=$(now)
  ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}
# verify DIR: the md5 sums of DIR's files equal those of the source.
verify() {
  local got
  got=$(cd "$1" && find . -type f | sed 's|^\./||' | sort | xargs -r md5sum -- | sort -k2)
  [[ $got == "$(cat "$WORKDIR/expected.md5")" ]]
}

declare -A UP DOWN CHECK
ORDER=()
status=0

# The floor: a local copy of the same bytes (page cache warm), both ways the same.
rm -rf "$WORKDIR/floor"
if timed cp-up cp -r "$SRC" "$WORKDIR/floor"; then
  UP[cp]=$ELAPSED
  DOWN[cp]=$ELAPSED
  if verify "$WORKDIR/floor"; then CHECK[cp]=ok; else CHECK[cp]=MISMATCH; status=1; fi
fi
rm -rf "$WORKDIR/floor"
ORDER+=(cp)

run_tool() {  # run_tool NAME UP_CMD... -- DOWN_CMD...: one upload, download and check
  local name=$1 up=() down=()
  shift
  while [[ $1 != -- ]]; do up+=("$1"); shift; done
  shift
  down=("$@")
  rm -rf "$WORKDIR/dl"
  mkdir -p "$WORKDIR/dl"
  if timed "$name-up" "${up[@]}"; then
    UP[$name]+="$ELAPSED "
    if timed "$name-down" "${down[@]}"; then
      DOWN[$name]+="$ELAPSED "
      if verify "$WORKDIR/dl"; then
        [[ ${CHECK[$name]:-ok} == ok ]] && CHECK[$name]=ok
      else
        CHECK[$name]=MISMATCH; status=1
      fi
    else
      CHECK[$name]=FAILED; status=1
    fi
  else
    CHECK[$name]=FAILED; status=1
  fi
  rm -rf "$WORKDIR/dl"
  aws s3 rm --recursive --only-show-errors "s3://$BUCKET/$name/" >/dev/null 2>&1 || true
}

IFS=, read -r -a tools <<<"$TOOLS"
for tool in "${tools[@]}"; do
  case $tool in
    lakepack)
      if [[ -z $BIN || ! -x $BIN ]]; then
        echo "transfer.sh: lakepack_bench_transfer not built (ninja -C build lakepack_bench_transfer); skipping lakepack" >&2
        CHECK[lakepack]="not built"
      fi
      ;;
    aws | rclone) ;;
    *) echo "transfer.sh: unknown tool $tool" >&2; exit 2 ;;
  esac
  ORDER+=("$tool")
done
for run in $(seq "$RUNS"); do
  ((RUNS == 1)) || echo "run $run of $RUNS"
  for tool in "${tools[@]}"; do
    case $tool in
      lakepack)
        [[ ${CHECK[lakepack]:-} == "not built" ]] && continue
        run_tool lakepack "$BIN" --threads "$THREADS" up "$SRC" "s3://$BUCKET/lakepack" -- \
          "$BIN" --threads "$THREADS" down "$WORKDIR/dl" "s3://$BUCKET/lakepack"
        ;;
      aws)
        run_tool aws aws s3 cp --recursive --only-show-errors "$SRC" "s3://$BUCKET/aws/" -- \
          aws s3 cp --recursive --only-show-errors "s3://$BUCKET/aws/" "$WORKDIR/dl"
        ;;
      rclone)
        run_tool rclone rclone copy --transfers "$THREADS" --checkers "$THREADS" "$SRC" \
          "bench:$BUCKET/rclone" -- \
          rclone copy --transfers "$THREADS" --checkers "$THREADS" "bench:$BUCKET/rclone" "$WORKDIR/dl"
        ;;
    esac
  done
done

# The median of a list of seconds ("" when there is none).
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for t in "${!UP[@]}"; do UP[$t]=$(median "${UP[$t]}"); done
for t in "${!DOWN[@]}"; do DOWN[$t]=$(median "${DOWN[$t]}"); done

# The table. "x aws" is throughput relative to the aws cli: 2.00 = twice as fast.
mbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print "-" }'; }
ratio() { awk -v a="$1" -v s="$2" 'BEGIN { if (a > 0 && s > 0) printf "%.2f", a / s; else print "-" }'; }
echo
echo "transfer benchmark: $OBJECTS objects x $SIZE_MIB MiB = $((BYTES / 1048576)) MiB, concurrency $THREADS," \
  "$([[ $RUNS == 1 ]] && echo "1 run" || echo "median of $RUNS runs"),"
echo "  moto_server $(python3 -c 'import moto; print(moto.__version__)') on $EP, $(nproc) CPUs;" \
  "$(aws --version 2>&1 | cut -d' ' -f1); $(rclone version 2>/dev/null | head -n 1)"
printf '%-12s %9s %9s %7s %9s %9s %7s  %s\n' tool "up s" "up MB/s" "x aws" "down s" "down MB/s" "x aws" md5
for t in "${ORDER[@]}"; do
  u=${UP[$t]:-} d=${DOWN[$t]:-}
  label=$t
  [[ $t == cp ]] && label="cp (floor)"
  [[ $t == aws ]] && label="aws cli"
  printf '%-12s %9s %9s %7s %9s %9s %7s  %s\n' "$label" "${u:--}" "$(mbps "${u:-0}")" \
    "$(ratio "${UP[aws]:-0}" "${u:-0}")" "${d:--}" "$(mbps "${d:-0}")" \
    "$(ratio "${DOWN[aws]:-0}" "${d:-0}")" "${CHECK[$t]:-}"
done
exit $status
