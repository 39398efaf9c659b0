#!/usr/bin/env bash
# Transfer benchmark: uploads and downloads 1 GiB as 64 objects of 16 MiB (random data, made
# once) through a local S3 server with lakepack's store (build/bench/lakepack_bench_transfer),
# `aws s3 cp --recursive` and rclone, all in the same run, plus a plain local copy (cp) as the
# floor. The server (--server): moto (moto_server, signature checking off), rgw (a one-node
# Ceph RGW with a memstore OSD, tests/servers/rgw_start.sh, SigV4 enforced), or both, one after
# the other; each is started and stopped here. Every download is checked byte for byte (md5sum
# of every file). Prints a table per server: seconds, MB/s, and throughput relative to the aws
# cli and to rclone.
#
#   bench/transfer.sh [--server moto|rgw|both] [--objects 64] [--size-mib 16] [--threads 16]
#                     [--workdir DIR] [--bin PATH] [--tools lakepack,aws,rclone,curl] [--runs 1]
#
# curl is the zero-work client, the floor the server allows: THREADS curl processes at a time,
# one object each, UNSIGNED-PAYLOAD, no Content-MD5, no digest of any kind.
#
# --runs N repeats each tool's upload and download N times (interleaved tool by tool, so a
# burst of load elsewhere hits all of them) and reports the median; every download is checked.
# --threads N is every tool's concurrency: lakepack's --threads and LAKEPACK_S3_CONCURRENCY,
# the aws cli's s3.max_concurrent_requests, rclone's --transfers. All three send each object in
# one PUT and fetch it in one GET (aws multipart_threshold raised to 64 MiB, lakepack's
# default; rclone's cutoffs are above that already). The source files stay in
# WORKDIR/src for the next run when --workdir is given; otherwise WORKDIR is a temp dir,
# removed at the end. Both servers keep objects in memory: each tool's objects are deleted
# after its check (on RGW with its garbage collection run at once), so a server holds at most
# one set. Exit code 1 when a tool failed or a check mismatched.
set -euo pipefail
set +m
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/servers/lib.sh
source "$ROOT/tests/servers/lib.sh"
# shellcheck source=SCRIPTDIR/lib.sh
source "$ROOT/bench/lib.sh"

SERVER=moto
OBJECTS=64
SIZE_MIB=16
THREADS=16
WORKDIR=""
BIN=${LAKEPACK_BENCH_BIN:-}
TOOLS=lakepack,aws,rclone,curl
RUNS=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --server) SERVER=$2; shift 2 ;;
    --objects) OBJECTS=$2; shift 2 ;;
    --size-mib) SIZE_MIB=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --bin) BIN=$2; shift 2 ;;
    --tools) TOOLS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    -h | --help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "transfer.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case $SERVER in
  moto | rgw) SERVERS_TO_RUN=("$SERVER") ;;
  both) SERVERS_TO_RUN=(moto rgw) ;;
  *) echo "transfer.sh: --server is moto, rgw or both, not $SERVER" >&2; exit 2 ;;
esac
if [[ " ${SERVERS_TO_RUN[*]} " == *" rgw "* ]] && ! command -v radosgw >/dev/null; then
  echo "transfer.sh: radosgw not installed (scripts/setup.sh --tests installs it)" >&2
  exit 2
fi
if [[ -z $BIN ]]; then
  for b in "$ROOT/build/bench/lakepack_bench_transfer" "$ROOT"/build*/bench/lakepack_bench_transfer; do
    [[ -x $b ]] && { BIN=$b; break; }
  done
fi

bench_workdir transfer
mkdir -p "$SCRATCH"
LOGS=$SCRATCH/logs
mkdir -p "$LOGS"
# The aws cli's config (THREADS requests, 64 MB / 16 MB multipart cut-offs) and the rest of
# the environment; rclone's remote comes from RCLONE_CONFIG_BENCH_* (set per server below).
bench_s3_env "$THREADS"
export RCLONE_CONFIG=$SCRATCH/rclone.conf
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
(cd "$SRC" && md5sum -- * | sort -k2) >"$SCRATCH/expected.md5"
DL=$SCRATCH/dl
BUCKET=lakepack-bench

# start_server NAME: starts moto or RGW, makes BUCKET, and points every client at it (sets EP
# and SERVER_DESC).
start_server() {
  case $1 in
    moto)
      lp_start_moto moto "$SERVERS" || { echo "transfer.sh: moto did not start" >&2; exit 1; }
      EP=http://$LP_HOST:$LP_PORT
      export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench
      aws s3api create-bucket --bucket "$BUCKET" --endpoint-url "$EP" >/dev/null
      SERVER_DESC="moto_server $(python3 -c 'import moto; print(moto.__version__)')"
      ;;
    rgw)
      # One monitor, one memstore OSD and the gateway (stopped by stop_server, or at exit by
      # bench_cleanup); rgw_start.sh makes the bucket.
      mkdir -p "$SERVERS"
      export AWS_ACCESS_KEY_ID=lpbenchrgwkey00001 AWS_SECRET_ACCESS_KEY=lpbenchrgwsecretlpbenchrgwsecret01
      "$ROOT/tests/servers/rgw_start.sh" "$SERVERS" "$SCRATCH/rgw.port" "$BUCKET" \
        "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$LOGS/rgw-start.log" 2>&1 ||
        { echo "transfer.sh: RGW did not start ($LOGS/rgw-start.log)" >&2; exit 1; }
      EP=http://$LP_HOST:$(cat "$SCRATCH/rgw.port")
      SERVER_DESC="Ceph RGW $(radosgw --version | awk '{ print $3 }') (memstore OSD)"
      ;;
  esac
  export AWS_ENDPOINT_URL=$EP
  # RGW makes its data pool on the first object written (a second or two): not the first
  # tool's time to pay.
  : >"$SCRATCH/warm-up"
  aws s3api put-object --bucket "$BUCKET" --key warm-up --body "$SCRATCH/warm-up" >/dev/null
  aws s3api delete-object --bucket "$BUCKET" --key warm-up >/dev/null
  export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other
  export RCLONE_CONFIG_BENCH_ENDPOINT=$EP RCLONE_CONFIG_BENCH_REGION=us-east-1
  export RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
  export RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
  export RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true
}
stop_server() {
  local pid
  for pid in "$SERVERS"/pids/*.pid; do [[ -e $pid ]] && lp_stop "$pid"; done
  rm -rf "$SERVERS/rgw"
}
# free_deleted: makes the server give back the memory of deleted objects. RGW hands the
# tails of deleted objects to its garbage collector, which waits two hours by default; the
# 2 GiB memstore would fill on the second tool.
free_deleted() {
  [[ $1 == rgw ]] || return 0
  radosgw-admin -c "$SERVERS/rgw/ceph.conf" gc process --include-all >>"$LOGS/rgw-gc.log" 2>&1 || true
}

now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# timed NAME CMD...: runs CMD with its output in LOGS/NAME.log; sets ELAPSED (seconds).
timed() {
  local name=$1 t0 t1
  shift
  t0=$(now)
  if ! "$@" >"$LOGS/$name.log" 2>&1; then
    echo "transfer.sh: $name failed:" >&2
    tail -n 15 "$LOGS/$name.log" >&2
    return 1
  fi
  t1=$(now)
  ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}
# verify DIR: the md5 sums of DIR's files equal those of the source.
verify() {
  local got
  got=$(cd "$1" && find . -type f | sed 's|^\./||' | sort | xargs -r md5sum -- | sort -k2)
  [[ $got == "$(cat "$SCRATCH/expected.md5")" ]]
}

# UP, DOWN, CHECK are keyed SERVER:TOOL (cp, the floor, under every server).
declare -A UP DOWN CHECK LOAD
status=0

IFS=, read -r -a tools <<<"$TOOLS"
for tool in "${tools[@]}"; do
  case $tool in
    lakepack)
      if [[ -z $BIN || ! -x $BIN ]]; then
        echo "transfer.sh: lakepack_bench_transfer not built (ninja -C build lakepack_bench_transfer); skipping lakepack" >&2
      fi
      ;;
    aws | rclone | curl) ;;
    *) echo "transfer.sh: unknown tool $tool" >&2; exit 2 ;;
  esac
done

# The floor: a local copy of the same bytes (page cache warm), both ways the same.
floor() {
  local k=$1:cp
  rm -rf "$SCRATCH/floor"
  if timed "$1-cp-up" cp -r "$SRC" "$SCRATCH/floor"; then
    UP[$k]=$ELAPSED
    DOWN[$k]=$ELAPSED
    if verify "$SCRATCH/floor"; then CHECK[$k]=ok; else CHECK[$k]=MISMATCH; status=1; fi
  fi
  rm -rf "$SCRATCH/floor"
}

run_tool() {  # run_tool SERVER NAME UP_CMD... -- DOWN_CMD...: one upload, download and check
  local k=$1:$2 server=$1 name=$2 up=() down=()
  shift 2
  while [[ $1 != -- ]]; do up+=("$1"); shift; done
  shift
  down=("$@")
  rm -rf "$DL"
  mkdir -p "$DL"
  if timed "$server-$name-up" "${up[@]}"; then
    UP[$k]+="$ELAPSED "
    if timed "$server-$name-down" "${down[@]}"; then
      DOWN[$k]+="$ELAPSED "
      if verify "$DL"; then
        [[ ${CHECK[$k]:-ok} == ok ]] && CHECK[$k]=ok
      else
        CHECK[$k]=MISMATCH; status=1
      fi
    else
      CHECK[$k]=FAILED; status=1
    fi
  else
    CHECK[$k]=FAILED; status=1
  fi
  rm -rf "$DL"
  aws s3 rm --recursive --only-show-errors "s3://$BUCKET/$name/" >/dev/null 2>&1 || true
  free_deleted "$server"
}

# curl_objects up|down: the zero-work client, a floor for what the server allows: THREADS
# curl processes at a time, one object each, signed with an UNSIGNED-PAYLOAD (no digest of the
# body on this side, no Content-MD5, nothing checked); the keys are the source's names, so
# the download lists nothing.
curl_objects() {
  local -a sign=(-sSf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
    -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
  if [[ $1 == up ]]; then
    find "$SRC" -maxdepth 1 -type f -print0 |
      xargs -0 -P "$THREADS" -I{} curl "${sign[@]}" -o /dev/null -T {} "$EP/$BUCKET/curl/"
  else
    find "$SRC" -maxdepth 1 -type f -printf '%f\0' |
      xargs -0 -P "$THREADS" -I{} curl "${sign[@]}" -o "$DL/{}" "$EP/$BUCKET/curl/{}"
  fi
}

# The median of a list of seconds ("" when there is none).
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mbps() { awk -v b="$BYTES" -v s="$1" 'BEGIN { if (s > 0) printf "%.1f", b / 1e6 / s; else print "-" }'; }
ratio() { awk -v a="$1" -v s="$2" 'BEGIN { if (a > 0 && s > 0) printf "%.2f", a / s; else print "-" }'; }

# The table of one server. "x aws" / "x rclone" are throughput relative to the aws cli and to
# rclone: 2.00 = twice as fast.
table() {
  local server=$1 t k u d label
  echo
  echo "transfer benchmark on $server: $OBJECTS objects x $SIZE_MIB MiB = $((BYTES / 1048576)) MiB," \
    "concurrency $THREADS, $([[ $RUNS == 1 ]] && echo "1 run" || echo "median of $RUNS runs"),"
  echo "  ${SERVER_DESC} on $EP, $(nproc) CPUs;" \
    "$(aws --version 2>&1 | cut -d' ' -f1); $(rclone version 2>/dev/null | head -n 1)"
  echo "  load average (1/5/15 min): ${LOAD[$server:start]} at start, ${LOAD[$server:end]} at end"
  printf '%-12s %8s %8s %6s %8s %8s %8s %6s %8s  %s\n' tool "up s" "up MB/s" "x aws" "x rclone" \
    "down s" "down MB/s" "x aws" "x rclone" md5
  local runs=""
  for t in "${tools[@]}"; do
    [[ -n ${UP[$server:$t]:-} ]] && runs+="  $t up: ${UP[$server:$t]}down: ${DOWN[$server:$t]:-}"$'\n'
  done
  for t in cp "${tools[@]}"; do
    k=$server:$t
    u=$(median "${UP[$k]:-}") d=$(median "${DOWN[$k]:-}")
    UP[$k]=$u DOWN[$k]=$d
    label=$t
    [[ $t == cp ]] && label="cp (floor)"
    [[ $t == aws ]] && label="aws cli"
    printf '%-12s %8s %8s %6s %8s %8s %8s %6s %8s  %s\n' "$label" "${u:--}" "$(mbps "${u:-0}")" \
      "$(ratio "$(median "${UP[$server:aws]:-}")" "${u:-0}")" \
      "$(ratio "$(median "${UP[$server:rclone]:-}")" "${u:-0}")" \
      "${d:--}" "$(mbps "${d:-0}")" \
      "$(ratio "$(median "${DOWN[$server:aws]:-}")" "${d:-0}")" \
      "$(ratio "$(median "${DOWN[$server:rclone]:-}")" "${d:-0}")" \
      "${CHECK[$k]:-$([[ $t == lakepack ]] && echo "not built")}"
  done
  ((RUNS == 1)) || printf 'seconds of each run:\n%s' "$runs"
}

for server in "${SERVERS_TO_RUN[@]}"; do
  start_server "$server"
  echo "$server: $SERVER_DESC on $EP"
  LOAD[$server:start]=$(loadavg)
  floor "$server"
  for run in $(seq "$RUNS"); do
    ((RUNS == 1)) || echo "$server: run $run of $RUNS"
    for tool in "${tools[@]}"; do
      case $tool in
        lakepack)
          [[ -n $BIN && -x $BIN ]] || continue
          run_tool "$server" lakepack env LAKEPACK_S3_CONCURRENCY="$THREADS" \
            "$BIN" --threads "$THREADS" up "$SRC" "s3://$BUCKET/lakepack" -- \
            env LAKEPACK_S3_CONCURRENCY="$THREADS" \
            "$BIN" --threads "$THREADS" down "$DL" "s3://$BUCKET/lakepack"
          ;;
        aws)
          run_tool "$server" aws aws s3 cp --recursive --only-show-errors "$SRC" "s3://$BUCKET/aws/" -- \
            aws s3 cp --recursive --only-show-errors "s3://$BUCKET/aws/" "$DL"
          ;;
        rclone)
          run_tool "$server" rclone rclone copy --transfers "$THREADS" --checkers "$THREADS" "$SRC" \
            "bench:$BUCKET/rclone" -- \
            rclone copy --transfers "$THREADS" --checkers "$THREADS" "bench:$BUCKET/rclone" "$DL"
          ;;
        curl)
          run_tool "$server" curl curl_objects up -- curl_objects down
          ;;
      esac
    done
  done
  LOAD[$server:end]=$(loadavg)
  table "$server"
  stop_server
done
exit $status
