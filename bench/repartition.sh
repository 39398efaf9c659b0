#!/usr/bin/env bash
# Repartition benchmark (issue 12): one day of a synthetic SiteWise cold tier (1,200 series,
# four 6-hourly snappy Avro files each, tests/repartition/cold_tier_gen.py, made once into
# --workdir), merged into one day file, locally and on S3 (a local moto_server, signature
# checking off, and a one-node Ceph RGW, tests/servers/rgw_start.sh; both started and stopped
# here), in the same run, by:
#
#   lakepack   `lakepack repartition SRC DST --start D --end D` into a fresh DST (blocks copied:
#              every input has the same schema and codec);
#   sample     the AWS sample's method (bench/repartition_sample.py, as repartition_data.py
#              does): python3-avro reads every record of every file and appends it to one
#              DataFileWriter. On S3 with the sample's download and upload around it
#              (`aws s3 cp --recursive` of the day's raw prefix, the merge, `aws s3 cp` up);
#   copy       the floor, the same bytes moved without any Avro work: locally `cat` of every
#              input into one file; on S3 `aws s3 cp --recursive` of the day's prefix down
#              (16 concurrent requests, as lakepack's default --concurrency), `cat`, and one
#              `aws s3 cp` up.
#
# Reported: wall seconds, peak RSS (/usr/bin/time -v; for a pipeline, its largest process),
# sample/lakepack and lakepack/copy. Checked: each output holds the day's record multiset
# (python3-avro, tests/repartition/read_records.py, sorted lines compared by MD5). Exit 1 when
# a step failed or a check mismatched.
#
#   bench/repartition.sh [--series 1200] [--records 240] [--workdir DIR] [--bin DIR] [--no-s3]
#                        [--no-rgw]
#
# --records is per file (240: one a minute... of 4 hours; 1,152,000 records in the day by
# default). --workdir DIR keeps the generated cold tier in DIR/cold for the next run with the
# same parameters; otherwise a temp dir is used and removed. --bin DIR is the build tree holding
# lakepack (default build/). --no-rgw leaves RGW out, --no-s3 both servers. Locally lakepack
# and the copy run five times each, in turns, and their medians count.
# A quick check: bench/repartition.sh --series 50 --records 50
set -euo pipefail
set +m
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/servers/lib.sh
source "$ROOT/tests/servers/lib.sh"
# shellcheck source=SCRIPTDIR/lib.sh
source "$ROOT/bench/lib.sh"

SERIES=1200
RECORDS=240
WORKDIR=""
S3=1
RGW=1
BUILD=${LAKEPACK_BENCH_BUILD:-$ROOT/build}
while [[ $# -gt 0 ]]; do
  case $1 in
    --series) SERIES=$2; shift 2 ;;
    --records) RECORDS=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --bin) BUILD=$2; shift 2 ;;
    --no-s3) S3=0; RGW=0; shift ;;
    --no-rgw) RGW=0; shift ;;
    -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "repartition.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
LAKEPACK=$BUILD/lakepack
PY=/usr/bin/python3  # Debian's, with python3-avro
[[ -x $LAKEPACK ]] || { echo "repartition.sh: $LAKEPACK not built (ninja -C build lakepack)" >&2; exit 2; }
"$PY" -c 'import avro.datafile, snappy' 2>/dev/null ||
  { echo "repartition.sh: $PY has no python3-avro / python3-snappy (apt-get install python3-avro python3-snappy)" >&2; exit 2; }
if ((RGW)) && ! command -v radosgw >/dev/null; then
  echo "repartition.sh: radosgw not installed (scripts/setup.sh --tests installs it): no RGW round"
  RGW=0
fi
if ((S3 || RGW)); then
  for tool in aws moto_server; do
    command -v "$tool" >/dev/null || { echo "repartition.sh: $tool not found" >&2; exit 2; }
  done
fi
bench_need_gnu_time

bench_workdir repartition
mkdir -p "$SCRATCH/logs" "$SCRATCH/spool" "$SCRATCH/out"
LOGS=$SCRATCH/logs

bench_s3_env 16 default-parts
export TMPDIR=$SCRATCH/spool

# The cold tier, made once (kept in WORKDIR/cold with --workdir for the same parameters).
DAY=2023-01-25
COLD=$WORKDIR/cold
DAYREL=raw/startYear=2023/startMonth=1/startDay=25
PART=startYear=2023/startMonth=1/startDay=25
STAMP="series=$SERIES records=$RECORDS gen=$(md5sum "$ROOT/tests/repartition/cold_tier_gen.py" | cut -c1-12)"
if [[ ! -f $WORKDIR/cold.stamp || $(cat "$WORKDIR/cold.stamp") != "$STAMP" ]]; then
  echo "making one day of $SERIES series x 4 files x $RECORDS records in $COLD"
  rm -rf "$COLD" "$WORKDIR/cold.stamp" "$WORKDIR/cold.digest"
  "$PY" "$ROOT/tests/repartition/cold_tier_gen.py" "$COLD" --start "$DAY" --days 1 \
    --series "$SERIES" --exports 4 --records "$RECORDS" >/dev/null
  echo "$STAMP" >"$WORKDIR/cold.stamp"
fi
mapfile -t INPUTS < <(find "$COLD/$DAYREL" -name '*.avro' | sort)
N_FILES=${#INPUTS[@]}
IN_BYTES=$(cat "${INPUTS[@]}" | wc -c)
EXP_RECORDS=$((N_FILES * RECORDS))
# The day's record multiset: the MD5 of its sorted canonical lines.
digest() { "$PY" "$ROOT/tests/repartition/read_records.py" "$@" | LC_ALL=C sort | md5sum | cut -c1-32; }
if [[ ! -f $WORKDIR/cold.digest ]]; then
  echo "reading the inputs' records (python3-avro) for the checks"
  digest "${INPUTS[@]}" >"$WORKDIR/cold.digest"
fi
WANT=$(cat "$WORKDIR/cold.digest")
echo "input: $N_FILES files, $EXP_RECORDS records, $IN_BYTES bytes"

now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
declare -A SECS RSS CHECK LOAD
status=0
fail() {
  if [[ -n ${CHECK[$1]:-} ]]; then CHECK[$1]="${CHECK[$1]}; $2"; else CHECK[$1]=$2; fi
  status=1
}
# timed NAME CMD...: wall seconds and peak RSS (MB) of CMD; output in LOGS/NAME.{log,err}.
timed() {
  local name=$1 t0 t1
  shift
  LOAD[$name]=$(loadavg)
  t0=$(now)
  if ! /usr/bin/time -v -o "$LOGS/$name.time" "$@" >"$LOGS/$name.log" 2>"$LOGS/$name.err"; then
    echo "repartition.sh: $name failed:" >&2
    tail -n 15 "$LOGS/$name.err" "$LOGS/$name.log" >&2
    fail "$name" FAILED
    return 1
  fi
  t1=$(now)
  SECS[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  RSS[$name]=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$LOGS/$name.time")
}
# check NAME FILE: FILE holds the day's record multiset.
check() {
  local got
  got=$(digest "$2" 2>>"$LOGS/$1.err") || { fail "$1" "output does not read"; return; }
  [[ $got == "$WANT" ]] && CHECK[$1]=${CHECK[$1]:-ok} || fail "$1" "record multiset differs"
}
warm() { cat "${INPUTS[@]}" >/dev/null; }

echo "load average at start: $(loadavg)"
# --- local ---------------------------------------------------------------------------------
# lakepack and the copy take a fraction of a second here: each runs LOCAL_RUNS times, taking
# turns, and the median counts (peak RSS: the largest).
LOCAL_RUNS=5
for i in $(seq "$LOCAL_RUNS"); do
  warm
  rm -rf "$SCRATCH/out/lp"
  timed "l_lakepack_$i" "$LAKEPACK" repartition "$COLD" "$SCRATCH/out/lp" --start "$DAY" --end "$DAY" || break
  warm
  timed "l_copy_$i" sh -c 'cat "$@" >"$0"' "$SCRATCH/out/cat.bin" "${INPUTS[@]}" || break
  rm -f "$SCRATCH/out/cat.bin"
done
# median NAME: SECS[NAME] the median of NAME_1..NAME_LOCAL_RUNS, RSS[NAME] the largest.
median() {
  local i secs=() rss=0
  for i in $(seq "$LOCAL_RUNS"); do
    [[ -n ${SECS[${1}_$i]:-} ]] || { fail "$1" FAILED; return; }
    secs+=("${SECS[${1}_$i]}")
    ((RSS[${1}_$i] > rss)) && rss=${RSS[${1}_$i]}
  done
  SECS[$1]=$(printf '%s\n' "${secs[@]}" | sort -g | sed -n "$(((LOCAL_RUNS + 1) / 2))p")
  RSS[$1]=$rss
  LOAD[$1]=${LOAD[${1}_1]}
  echo "$1: $(printf '%s ' "${secs[@]}")s, median ${SECS[$1]} s"
}
median l_lakepack
median l_copy
[[ ${CHECK[l_copy]:-} == FAILED ]] || CHECK[l_copy]="floor (not Avro)"
[[ ${CHECK[l_lakepack]:-} == FAILED ]] || check l_lakepack "$SCRATCH/out/lp/$PART/merged.avro"
warm
echo "local sample: python3-avro read + DataFileWriter.append of every record"
if timed l_sample "$PY" "$ROOT/bench/repartition_sample.py" "$COLD/$DAYREL" "$SCRATCH/out/sample.avro"; then
  check l_sample "$SCRATCH/out/sample.avro"
fi
rm -rf "$SCRATCH/out"/*

# --- S3: moto, then Ceph RGW (a real server) ---------------------------------------------
# s3_round NAME: the three contenders against the endpoint in AWS_ENDPOINT_URL, whose buckets
# cold-tier, repartitioned, sample and copy exist.
s3_round() {
  local n=$1
  echo "uploading the day to s3://cold-tier on $n (not timed)"
  aws s3 cp --recursive --only-show-errors "$COLD/raw" "s3://cold-tier/raw"
  echo "$n lakepack: lakepack repartition s3://cold-tier s3://repartitioned"
  if timed "${n}_lakepack" "$LAKEPACK" repartition s3://cold-tier s3://repartitioned --start "$DAY" --end "$DAY"; then
    aws s3 cp --only-show-errors "s3://repartitioned/$PART/merged.avro" "$SCRATCH/out/s3lp.avro"
    check "${n}_lakepack" "$SCRATCH/out/s3lp.avro"
  fi
  echo "$n copy: aws s3 cp --recursive down, cat, aws s3 cp up"
  cat >"$SCRATCH/copy.sh" <<EOF
set -e
aws s3 cp --recursive --only-show-errors "s3://cold-tier/$DAYREL" "$SCRATCH/dl-copy"
find "$SCRATCH/dl-copy" -name '*.avro' -print0 | sort -z | xargs -0 cat >"$SCRATCH/copy.bin"
aws s3 cp --only-show-errors "$SCRATCH/copy.bin" "s3://copy/$PART/merged.bin"
EOF
  timed "${n}_copy" bash "$SCRATCH/copy.sh" && CHECK[${n}_copy]="floor (not Avro)"
  rm -rf "$SCRATCH/dl-copy" "$SCRATCH/copy.bin"
  echo "$n sample: aws s3 cp --recursive down, repartition_sample.py, aws s3 cp up"
  cat >"$SCRATCH/sample.sh" <<EOF
set -e
aws s3 cp --recursive --only-show-errors "s3://cold-tier/$DAYREL" "$SCRATCH/dl-sample"
"$PY" "$ROOT/bench/repartition_sample.py" "$SCRATCH/dl-sample" "$SCRATCH/sample.avro"
aws s3 cp --only-show-errors "$SCRATCH/sample.avro" "s3://sample/$PART/merged.avro"
EOF
  if timed "${n}_sample" bash "$SCRATCH/sample.sh"; then check "${n}_sample" "$SCRATCH/sample.avro"; fi
  rm -rf "$SCRATCH/dl-sample" "$SCRATCH/out"/*
}
ROUNDS=()
if ((S3)); then
  lp_start_moto moto "$SERVERS" || { echo "repartition.sh: moto did not start" >&2; exit 1; }
  export AWS_ENDPOINT_URL=http://$LP_HOST:$LP_PORT
  for b in cold-tier repartitioned sample copy; do aws s3api create-bucket --bucket "$b" >/dev/null; done
  s3_round moto
  ROUNDS+=(moto)
  lp_stop "$SERVERS/pids/moto.pid"
fi
if ((RGW)); then
  # tests/servers/rgw_start.sh: one monitor, one memstore OSD and the gateway (stopped at
  # exit by bench_cleanup); it makes the first bucket, the others are made here.
  RGW_KEY=lpbenchrgwkey00001 RGW_SECRET=lpbenchrgwsecretlpbenchrgwsecret01
  mkdir -p "$SERVERS"
  "$ROOT/tests/servers/rgw_start.sh" "$SERVERS" "$SCRATCH/rgw.out" cold-tier "$RGW_KEY" "$RGW_SECRET" \
    >"$LOGS/rgw-start.log" 2>&1 || { echo "repartition.sh: RGW did not start ($LOGS/rgw-start.log)" >&2; exit 1; }
  export AWS_ENDPOINT_URL=http://$LP_HOST:$(cat "$SCRATCH/rgw.out")
  export AWS_ACCESS_KEY_ID=$RGW_KEY AWS_SECRET_ACCESS_KEY=$RGW_SECRET
  for b in repartitioned sample copy; do aws s3api create-bucket --bucket "$b" >/dev/null; done
  s3_round rgw
  ROUNDS+=(rgw)
fi

# --- the table -----------------------------------------------------------------------------
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() { printf '%-58s %8s %7s  %s\n' "$2" "${SECS[$1]:--}" "${RSS[$1]:--}" "${CHECK[$1]:-}"; }
echo
echo "repartition benchmark: one day, $SERIES series x 4 snappy files = $N_FILES files," \
  "$EXP_RECORDS records, $(awk -v b="$IN_BYTES" 'BEGIN { printf "%.1f", b / 1e6 }') MB; $(nproc) CPUs;" \
  "$("$LAKEPACK" --version 2>&1 | head -n 1)"
printf '%-58s %8s %7s  %s\n' contender seconds "RSS MB" check
row l_lakepack "local: lakepack repartition (median of $LOCAL_RUNS)"
row l_sample "local: sample's method (python3-avro append)"
row l_copy "local: copy floor (cat of the inputs, median of $LOCAL_RUNS)"
for n in "${ROUNDS[@]}"; do
  row "${n}_lakepack" "$n: lakepack repartition"
  row "${n}_sample" "$n: sample's method (aws s3 cp down, merge, up)"
  row "${n}_copy" "$n: copy floor (aws s3 cp down, cat, aws s3 cp up)"
done
echo
echo "local: sample/lakepack $(ratio "${SECS[l_sample]:-}" "${SECS[l_lakepack]:-}")x (goal >= 50)," \
  "lakepack/copy $(ratio "${SECS[l_lakepack]:-}" "${SECS[l_copy]:-}")x (goal <= 1.5)"
for n in "${ROUNDS[@]}"; do
  echo "$n: sample/lakepack $(ratio "${SECS[${n}_sample]:-}" "${SECS[${n}_lakepack]:-}")x (goal >= 50)," \
    "lakepack/copy $(ratio "${SECS[${n}_lakepack]:-}" "${SECS[${n}_copy]:-}")x (goal <= 1.5)"
done
echo "load average (1/5/15 min): local lakepack ${LOAD[l_lakepack]:--}, end $(loadavg)"
exit $status
