#!/usr/bin/env bash
# Packing benchmark: a few uneven CSV files (PACK_BENCH_MB in all, default 2000) become snappy
# Parquet files of PACK_BENCH_TARGET (default 256MB), by `lakepack pack` and by DuckDB alone
# (COPY ... FILE_SIZE_BYTES, bench/pack_duckdb.mjs) in the same run on the same files. Reports
# wall time of each and their ratio, peak RSS of each (/usr/bin/time -v), and how far each
# one's files stray from the target (every file but the last).
#
#   bench/pack.sh [WORK_DIR]        (default /tmp/lakepack-pack-bench; needs ~3x the input free)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/lakepack-pack-bench}
MB=${PACK_BENCH_MB:-2000}
TARGET=${PACK_BENCH_TARGET:-256MB}
LAKEPACK=${LAKEPACK:-$ROOT/build/lakepack}
target_bytes=$(python3 -c "
import re,sys; m=re.fullmatch(r'([0-9.]+)\s*([KMG]?B)','$TARGET'.upper())
print(int(float(m[1])*{'B':1,'KB':1e3,'MB':1e6,'GB':1e9}[m[2]]))")

if [ ! -d "$ROOT/bench/node_modules/@duckdb/node-api" ]; then
  (cd "$ROOT/bench" && npm ci --no-audit --no-fund >/dev/null)
fi
mkdir -p "$WORK"
LAND="$WORK/land/table"
if [ ! -f "$WORK/land.done.$MB" ]; then
  rm -rf "$WORK/land" "$WORK/gen"
  mkdir -p "$LAND" "$WORK/gen"
  # Bytes per CSV row (bench/pack_duckdb.mjs gen), then three uneven files: 50%, 30%, 20%.
  node "$ROOT/bench/pack_duckdb.mjs" gen "$WORK/gen/probe.csv" 100000 0
  bpr=$(( $(stat -c %s "$WORK/gen/probe.csv") / 100000 ))
  total=$(( MB * 1000000 / bpr ))
  i=0
  for pct in 50 30 20; do
    node "$ROOT/bench/pack_duckdb.mjs" gen "$LAND/part_$i.csv" $(( total * pct / 100 )) $((i + 1))
    i=$((i + 1))
  done
  rm -rf "$WORK/gen"
  touch "$WORK/land.done.$MB"
fi
in_bytes=$(du -cb "$LAND"/*.csv | tail -1 | cut -f1)

rm -rf "$WORK/out-lakepack" "$WORK/out-duckdb" "$WORK/spool"
mkdir -p "$WORK/out-duckdb" "$WORK/spool"
/usr/bin/time -v -o "$WORK/lakepack.time" "$LAKEPACK" pack "$WORK/land" "$WORK/out-lakepack" \
  --table table --target-size "$TARGET" --format snappy.parquet --spool-dir "$WORK/spool" \
  --json >"$WORK/lakepack.json"
/usr/bin/time -v -o "$WORK/duckdb.time" node "$ROOT/bench/pack_duckdb.mjs" "$LAND" \
  "$WORK/out-duckdb" "$TARGET" >"$WORK/duckdb.json"

wall() { # seconds from /usr/bin/time -v's "h:mm:ss" or "m:ss.ss"
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1"
}
rss() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$1"; }
stray() { # files, then max and mean |size - target| / target over all files but the last
  python3 - "$1" "$target_bytes" <<'PY'
import os, re, sys
d, t = sys.argv[1], int(sys.argv[2])
files = []
for root, _, names in os.walk(d):
    if '_lakepack' in root: continue
    for n in names:
        if n.endswith('.parquet'):
            m = re.search(r'_(\d+)\.(snappy\.)?parquet$', n)
            files.append((int(m[1]) if m else 0, os.path.getsize(os.path.join(root, n))))
files.sort()
sizes = [s for _, s in files]
full = sizes[:-1] if len(sizes) > 1 else sizes
dev = [abs(s - t) / t * 100 for s in full]
print(f"{len(sizes)} files, MB: {' '.join(f'{s/1e6:.1f}' for s in sizes)}; all but last: "
      f"max {max(dev):.1f}%, mean {sum(dev)/len(dev):.1f}% from target")
PY
}
lp_s=$(wall "$WORK/lakepack.time"); dd_s=$(wall "$WORK/duckdb.time")
echo "input: $(ls "$LAND" | wc -l) CSV files, $((in_bytes / 1000000)) MB; target $TARGET; $(nproc) cores"
echo "lakepack pack : ${lp_s}s, peak RSS $(rss "$WORK/lakepack.time") MB; $(stray "$WORK/out-lakepack")"
echo "DuckDB COPY   : ${dd_s}s, peak RSS $(rss "$WORK/duckdb.time") MB; $(stray "$WORK/out-duckdb")"
python3 -c "print(f'time ratio lakepack/DuckDB: {$lp_s/$dd_s:.2f}')"
echo "lakepack rows: $(python3 -c "import json;print(json.load(open('$WORK/lakepack.json'))['rows'])"), DuckDB rows: $(python3 -c "import json;print(json.load(open('$WORK/duckdb.json'))['rows'])")"
# One write per output: what lakepack wrote to the store against the outputs' own bytes (the
# journal record, leases and manifest add a few KB; a staging copy would double it).
python3 - "$WORK/lakepack.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
w, out = d["requests"].get("bytes_written", 0), d["bytes_out"]
print(f"bytes written to the store: {w} for {out} bytes of outputs ({w / max(out, 1):.3f} copies); "
      f"COPY requests: {d['requests'].get('COPY', 0)}")
PY
