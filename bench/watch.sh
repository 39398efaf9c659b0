#!/usr/bin/env bash
# Watch benchmark: a folder of CSV files (200 files, about 1 GB in all, made once by
# bench/watch_gen.py: three schemas of ints, floats, strings, timestamps, uneven sizes, in 8
# subfolders) ingested to S3 on a local moto_server (signature checking off, started and
# stopped here), in the same run, by:
#
#   watch      `lakepack watch --once --settle 0 CSV_DIR s3://bucket` (a fresh checkpoint; the
#              bucket does not exist beforehand, watch creates it);
#   rerun      the same command again with the same checkpoint: every file is done, nothing is
#              written (what a restart of the daemon costs);
#   convert    the baseline: `lakepack convert CSV_DIR/a/b.csv s3://bucket2/a/b.parquet` for
#              every file, one after another.
#
# Reported: wall seconds and peak RSS (/usr/bin/time -v; for convert, the largest of its
# processes), the ratio convert/watch, bytes in (CSV) and out (Parquet objects). Checked: every
# CSV has exactly one object at its mirrored key; watch's objects carry the source MD5 and name
# in their metadata and the checkpoint lists every file with its MD5; the objects of both hold
# every CSV row, with the same row checksum (bench/rollup_duckdb.mjs digest, on local copies);
# the rerun ingests nothing; the CSV folder is left as it was. Exit code 1 when a step failed or
# a check mismatched.
#
#   bench/watch.sh [--files 200] [--total-bytes 1GB] [--workers N] [--workdir DIR] [--bin DIR]
#
# --workers N is passed to `lakepack watch --workers` (default: lakepack's, the number of
# cores). --workdir DIR keeps the generated CSV files in DIR/csv for the next run with the same
# --files/--total-bytes; otherwise a temp dir is used and removed. --bin DIR is the build tree
# holding lakepack (default build/). A quick check: bench/watch.sh --files 20 --total-bytes 50MB
set -euo pipefail
set +m
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../tests/servers/lib.sh
source "$ROOT/tests/servers/lib.sh"
# shellcheck source=SCRIPTDIR/lib.sh
source "$ROOT/bench/lib.sh"

FILES=200
TOTAL=1GB
WORKERS=""
WORKDIR=""
BUILD=${LAKEPACK_BENCH_BUILD:-$ROOT/build}
while [[ $# -gt 0 ]]; do
  case $1 in
    --files) FILES=$2; shift 2 ;;
    --total-bytes) TOTAL=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --workdir) WORKDIR=$2; shift 2 ;;
    --bin) BUILD=$2; shift 2 ;;
    -h | --help) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "watch.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
LAKEPACK=$BUILD/lakepack
[[ -x $LAKEPACK ]] || { echo "watch.sh: $LAKEPACK not built (ninja -C build lakepack)" >&2; exit 2; }
"$LAKEPACK" watch --help >/dev/null 2>&1 || { echo "watch.sh: $LAKEPACK has no watch command" >&2; exit 2; }
for tool in aws moto_server node npm python3; do
  command -v "$tool" >/dev/null || { echo "watch.sh: $tool not found" >&2; exit 2; }
done
python3 -c 'import boto3' 2>/dev/null || { echo "watch.sh: python3 has no boto3 (moto brings it)" >&2; exit 2; }
bench_need_gnu_time
bench_need_duckdb_node

bench_workdir watch
mkdir -p "$SCRATCH/logs" "$SCRATCH/spool"
LOGS=$SCRATCH/logs

# The environment every client gets: a plain-HTTP loopback endpoint (no CA bundle), fixed keys
# (moto's check is off), nothing from the user's own AWS setup or a watcher's settings.
bench_s3_env 16 default-parts
unset CSV_DIRECTORY_PATH CHECKPOINT_FILE MINIO_SERVER MINIO_ACCESS_KEY MINIO_SECRET_KEY
unset MINIO_BUCKET LOG_LEVEL
export TMPDIR=$SCRATCH/spool  # where lakepack stages outputs, removed with SCRATCH

# The CSV files, made once (kept in WORKDIR/csv with --workdir for the same parameters).
CSV=$WORKDIR/csv
MANIFEST=$WORKDIR/csv.manifest
STAMP="files=$FILES total=$TOTAL gen=$(md5sum "$ROOT/bench/watch_gen.py" | cut -c1-12)"
if [[ ! -f $WORKDIR/csv.stamp || $(cat "$WORKDIR/csv.stamp") != "$STAMP" ]]; then
  echo "making $FILES CSV files of $TOTAL in all in $CSV"
  rm -rf "$CSV" "$MANIFEST" "$WORKDIR/csv.stamp" "$WORKDIR/csv.digest"
  python3 "$ROOT/bench/watch_gen.py" "$CSV" "$FILES" "$TOTAL" >"$MANIFEST.part"
  mv "$MANIFEST.part" "$MANIFEST"
  echo "$STAMP" >"$WORKDIR/csv.stamp"
fi
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$@"; }
N_FILES=$(wc -l <"$MANIFEST")
IN_BYTES=$(python3 -c 'import json,sys; print(sum(json.loads(l)["bytes"] for l in open(sys.argv[1])))' "$MANIFEST")
EXP_ROWS=$(python3 -c 'import json,sys; print(sum(json.loads(l)["rows"] for l in open(sys.argv[1])))' "$MANIFEST")
# The CSV folder as it is (every name; each file's size and mtime): the watcher must leave it
# so. Directory mtimes are left out: lakepack's local store probes a directory for xattrs with
# a temp file (created, then removed) the first time it opens one.
csv_state() { (cd "$CSV" && find . \( -type f -printf '%p %s %T@\n' \) -o -printf '%p\n' | sort); }
csv_state >"$SCRATCH/csv.before"
echo "input: $N_FILES CSV files, $EXP_ROWS rows, $IN_BYTES bytes"

lp_start_moto moto "$SERVERS" || { echo "watch.sh: moto did not start" >&2; exit 1; }
EP=http://$LP_HOST:$LP_PORT
export AWS_ENDPOINT_URL=$EP
B_WATCH=lakepack-watch     # not created here: watch creates it
B_CONV=lakepack-convert
aws s3api create-bucket --bucket "$B_CONV" >/dev/null

now() { date +%s.%N; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
declare -A SECS RSS LOAD CHECK BOUT
status=0
fail() {  # fail NAME PROBLEM: adds PROBLEM to NAME's check
  if [[ -n ${CHECK[$1]:-} ]]; then CHECK[$1]="${CHECK[$1]}; $2"; else CHECK[$1]=$2; fi
  status=1
}
# timed NAME CMD...: runs CMD under /usr/bin/time -v, output in LOGS/NAME.log (stdout) and
# LOGS/NAME.err; records SECS[NAME] (wall seconds) and RSS[NAME] (peak resident set, MB).
timed() {
  local name=$1 t0 t1
  shift
  t0=$(now)
  if ! /usr/bin/time -v -o "$LOGS/$name.time" "$@" >"$LOGS/$name.log" 2>"$LOGS/$name.err"; then
    echo "watch.sh: $name failed (exit $(awk -F': ' '/Exit status/ { print $2 }' "$LOGS/$name.time")):" >&2
    tail -n 15 "$LOGS/$name.err" "$LOGS/$name.log" >&2
    return 1
  fi
  t1=$(now)
  SECS[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  RSS[$name]=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$LOGS/$name.time")
}
# check_bucket NAME BUCKET [meta]: one object per CSV at its mirrored key (a/b.csv ->
# a/b.parquet) and nothing else; with meta, each object's x-amz-meta-lakepack-source-md5 /
# -source-name are its CSV's. Sets BOUT[NAME] (bytes of the objects). Prints problems.
check_bucket() {
  python3 - "$MANIFEST" "$2" "${3:-}" >"$LOGS/$1.bucket" <<'PY'
import json, sys, urllib.parse
import boto3
manifest, bucket, meta = sys.argv[1], sys.argv[2], sys.argv[3] == "meta"
want = {}
for line in open(manifest):
    m = json.loads(line)
    want[m["file"][: -len(".csv")] + ".parquet"] = m
s3 = boto3.client("s3")
got, problems = {}, []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    for o in page.get("Contents", []):
        got[o["Key"]] = o["Size"]
missing = sorted(set(want) - set(got))
extra = sorted(set(got) - set(want))
if missing: problems.append(f"{len(missing)} missing (first {missing[0]})")
if extra: problems.append(f"{len(extra)} unexpected objects (first {extra[0]})")
if meta:
    bad = 0
    for key in sorted(set(want) & set(got)):
        md = s3.head_object(Bucket=bucket, Key=key).get("Metadata", {})
        name = urllib.parse.unquote(md.get("lakepack-source-name", ""))
        if md.get("lakepack-source-md5") != want[key]["md5"] or name != want[key]["file"]:
            if not bad: problems.append(f"metadata of {key}: {md}")
            bad += 1
    if bad: problems.append(f"{bad} objects with wrong source metadata")
print(json.dumps({"objects": len(got), "bytes": sum(got.values()), "problems": problems}))
PY
  BOUT[$1]=$(json "$LOGS/$1.bucket" 'd["bytes"]')
  local p
  p=$(json "$LOGS/$1.bucket" '"; ".join(d["problems"])')
  [[ -z $p ]] || fail "$1" "$p"
}
# check_rows NAME BUCKET: the objects, downloaded, hold the CSVs' rows; their row checksum is
# kept in LOGS/NAME.digest to compare watch's with convert's.
check_rows() {
  rm -rf "$SCRATCH/dl"
  aws s3 cp --recursive --only-show-errors "s3://$2/" "$SCRATCH/dl/"
  "${DUCK[@]}" digest "$SCRATCH/dl" >"$LOGS/$1.digest" || { fail "$1" "digest failed"; return; }
  rm -rf "$SCRATCH/dl"
  local rows
  rows=$(json "$LOGS/$1.digest" 'd["rows"]')
  [[ $rows == "$EXP_ROWS" ]] || fail "$1" "$rows rows in the objects, expected $EXP_ROWS"
}
empty_bucket() { aws s3 rm --recursive --only-show-errors "s3://$1/" >/dev/null 2>&1 || true; }
# Every contender reads the CSV files from the page cache.
warm() { find "$CSV" -type f -exec cat {} + >/dev/null; }

echo "load average at start: $(loadavg)"
CKPT=$SCRATCH/checkpoint.jsonl
WATCH=("$LAKEPACK" watch --once --settle 0 --checkpoint "$CKPT" --json)
[[ -n $WORKERS ]] && WATCH+=(--workers "$WORKERS")

# --- watch --once: every CSV of the folder to a bucket that does not exist yet ---------------
warm
LOAD[watch]=$(loadavg)
echo "watch: lakepack watch --once --settle 0 (load $(loadavg))"
if timed watch "${WATCH[@]}" "$CSV" "s3://$B_WATCH"; then
  # The events (--json): one ingested per file, rows adding up, a stop event saying once.
  python3 - "$LOGS/watch.log" "$MANIFEST" "$CKPT" >"$LOGS/watch.events" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
want = {json.loads(l)["file"]: json.loads(l) for l in open(sys.argv[2])}
ing = [e for e in events if e.get("event") == "ingested"]
stop = [e for e in events if e.get("event") == "stop"]
problems = []
names = sorted(e.get("file") for e in ing)
if names != sorted(want):
    problems.append(f"ingested {len(ing)} files ({len(set(names))} distinct), expected {len(want)}")
bad = [e["file"] for e in ing if e["file"] in want and
       (e.get("md5") != want[e["file"]]["md5"] or e.get("rows") != want[e["file"]]["rows"])]
if bad: problems.append(f"{len(bad)} ingested events with a wrong md5 or row count (first {bad[0]})")
if not stop or stop[-1].get("reason") != "once" or stop[-1].get("ingested") != len(want) or stop[-1].get("failed"):
    problems.append(f"stop event: {stop[-1] if stop else None}")
others = sorted({e.get("event") for e in events} - {"start", "scan", "ingested", "stop"})
if others: problems.append(f"other events: {others}")
# The checkpoint: the last line of each name wins; every CSV with its MD5.
ck = {}
for l in open(sys.argv[3]):
    try: r = json.loads(l)
    except ValueError: continue
    ck[r.get("file")] = r
if sorted(ck) != sorted(want) or any(ck[f].get("md5") != want[f]["md5"] for f in want if f in ck):
    problems.append(f"checkpoint: {len(ck)} files, not the {len(want)} CSVs with their MD5s")
print(json.dumps({"rows": sum(e.get("rows", 0) for e in ing),
                  "seconds_per_file": sum(e.get("seconds", 0) for e in ing) / max(len(ing), 1),
                  "stop": stop[-1] if stop else None, "problems": problems}))
PY
  p=$(json "$LOGS/watch.events" '"; ".join(d["problems"])')
  [[ -z $p ]] || fail watch "$p"
  check_bucket watch "$B_WATCH" meta
  check_rows watch "$B_WATCH"

  # --- rerun: the same folder and checkpoint; nothing to do ---------------------------------
  warm
  LOAD[rerun]=$(loadavg)
  echo "rerun: the same command, the same checkpoint (load $(loadavg))"
  etags() { aws s3api list-objects-v2 --bucket "$B_WATCH" --query 'Contents[].[Key,ETag,LastModified]' --output text | sort; }
  etags >"$LOGS/rerun.before"
  if timed rerun "${WATCH[@]}" "$CSV" "s3://$B_WATCH"; then
    n=$(python3 -c 'import json,sys; print(sum(json.loads(l).get("event") == "ingested" for l in open(sys.argv[1]) if l.strip()))' "$LOGS/rerun.log")
    ((n == 0)) || fail rerun "$n files ingested again"
    etags >"$LOGS/rerun.after"
    cmp -s "$LOGS/rerun.before" "$LOGS/rerun.after" || fail rerun "objects changed"
    [[ -n ${CHECK[rerun]:-} ]] || CHECK[rerun]=ok
    BOUT[rerun]=0
  else
    fail rerun FAILED
  fi
  [[ -n ${CHECK[watch]:-} ]] || CHECK[watch]=ok
else
  fail watch FAILED
fi
csv_state >"$SCRATCH/csv.after"
cmp -s "$SCRATCH/csv.before" "$SCRATCH/csv.after" ||
  fail watch "the CSV folder changed: $(diff "$SCRATCH/csv.before" "$SCRATCH/csv.after" | grep '^[<>]' | head -3 | tr '\n' ' ')"
empty_bucket "$B_WATCH"

# --- the baseline: lakepack convert, file after file ------------------------------------------
warm
LOAD[convert]=$(loadavg)
echo "convert: lakepack convert of each file, one after another (load $(loadavg))"
mkdir -p "$LOGS/convert"
mapfile -t RELS < <(python3 -c 'import json,sys; [print(json.loads(l)["file"]) for l in open(sys.argv[1])]' "$MANIFEST")
t0=$(now)
conv_ok=1
for rel in "${RELS[@]}"; do
  k=${rel//\//_}
  if ! /usr/bin/time -v -o "$LOGS/convert/$k.time" "$LAKEPACK" --json convert "$CSV/$rel" \
    "s3://$B_CONV/${rel%.csv}.parquet" >"$LOGS/convert/$k.log" 2>"$LOGS/convert/$k.err"; then
    echo "watch.sh: convert $rel failed:" >&2
    tail -n 5 "$LOGS/convert/$k.err" >&2
    conv_ok=0
    break
  fi
done
t1=$(now)
if ((conv_ok)); then
  SECS[convert]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  RSS[convert]=$(cat "$LOGS"/convert/*.time | awk -F': ' '/Maximum resident set size/ { if ($2 > m) m = $2 } END { printf "%.0f", m / 1024 }')
  check_bucket convert "$B_CONV"
  check_rows convert "$B_CONV"
  [[ -n ${CHECK[convert]:-} ]] || CHECK[convert]=ok
else
  fail convert FAILED
fi
empty_bucket "$B_CONV"

# The same rows and content in watch's objects as in convert's.
if [[ -f $LOGS/watch.digest && -f $LOGS/convert.digest ]] &&
  [[ $(json "$LOGS/watch.digest" 'd["checksum"]') != $(json "$LOGS/convert.digest" 'd["checksum"]') ]]; then
  fail watch "row checksum differs from convert's"
fi
END_LOAD=$(loadavg)

# --- the table -----------------------------------------------------------------------------
mb() { [[ -n ${1:-} ]] && awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }' || echo -; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
row() {  # row KEY LABEL [BYTES_IN]
  local k=$1
  printf '%-40s %8s %7s %8s %9s %9s  %s\n' "$2" "${SECS[$k]:--}" "${RSS[$k]:--}" \
    "$(ratio "${SECS[$k]:-}" "${SECS[watch]:-}")" "$(mb "${3:-}")" "$(mb "${BOUT[$k]:-}")" "${CHECK[$k]:-}"
}
echo
echo "watch benchmark: $N_FILES CSV files ($EXP_ROWS rows, $(mb "$IN_BYTES") MB) -> Parquet on S3" \
  "(moto_server $(python3 -c 'import moto; print(moto.__version__)') on $EP), $(nproc) CPUs;" \
  "$("$LAKEPACK" --version 2>&1 | head -n 1)${WORKERS:+; watch --workers $WORKERS}"
echo "  load average (1/5/15 min): watch ${LOAD[watch]:--}, rerun ${LOAD[rerun]:--}," \
  "convert ${LOAD[convert]:--}, end $END_LOAD"
echo "  x watch: seconds relative to watch (2.00 = twice as slow)"
printf '%-40s %8s %7s %8s %9s %9s  %s\n' contender seconds "RSS MB" "x watch" "MB in" "MB out" check
row watch "lakepack watch --once --settle 0" "$IN_BYTES"
row rerun "  rerun, every file in the checkpoint"
row convert "lakepack convert x $N_FILES, one by one" "$IN_BYTES"
echo
if [[ -n ${SECS[watch]:-} && -n ${SECS[convert]:-} ]]; then
  echo "ratio baseline/watch (convert seconds / watch seconds): $(ratio "${SECS[convert]}" "${SECS[watch]}")"
  echo "peak RSS: watch ${RSS[watch]} MB, convert ${RSS[convert]} MB (largest of $N_FILES processes)"
  echo "bytes: in $IN_BYTES (CSV); out $(mb "${BOUT[watch]:-}") MB by watch, $(mb "${BOUT[convert]:-}") MB by convert (Parquet)"
fi
if [[ -f $LOGS/watch.events ]]; then
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print("watch --json: %s rows ingested, %.2f s per file (mean of its ingested events); stop event %s"
      % (d["rows"], d["seconds_per_file"], json.dumps(d["stop"])))' "$LOGS/watch.events"
fi
exit $status
