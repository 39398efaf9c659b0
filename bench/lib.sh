# Shared set-up of the benches that start moto and measure peak memory (rollup.sh, watch.sh,
# repartition.sh). Source it after tests/servers/lib.sh, with ROOT set to the repository.

# GNU time (/usr/bin/time -v) for peak RSS, installed when missing.
bench_need_gnu_time() {
  if [[ ! -x /usr/bin/time ]]; then
    echo "installing GNU time (peak memory)"
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends time; } >/dev/null
  fi
}

# DuckDB for node (row checksums, the DuckDB baselines), at the version pinned in
# bench/package-lock.json; sets DUCK to the command running bench/rollup_duckdb.mjs.
bench_need_duckdb_node() {
  local pinned installed
  pinned=$(node -p "require('$ROOT/bench/package-lock.json').packages['node_modules/@duckdb/node-api'].version")
  installed=$(node -p "try { require('$ROOT/bench/node_modules/@duckdb/node-api/package.json').version } catch { '' }")
  if [[ $pinned != "$installed" ]]; then
    echo "npm ci in bench/ (@duckdb/node-api $pinned)"
    (cd "$ROOT/bench" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  DUCK=(node "$ROOT/bench/rollup_duckdb.mjs")
}

# The bench's directories: WORKDIR (the one given, kept; else a temp dir named after $1,
# removed at exit), SERVERS for moto, and SCRATCH, the run's own files, made empty now and
# removed at exit with the servers it started (SERVERS/pids/*.pid) stopped.
bench_workdir() {
  KEEP_WORKDIR=1
  if [[ -z $WORKDIR ]]; then
    WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/lakepack-$1-XXXXXX")
    KEEP_WORKDIR=0
  fi
  mkdir -p "$WORKDIR"
  WORKDIR=$(cd "$WORKDIR" && pwd)
  SERVERS=$WORKDIR/servers
  SCRATCH=$WORKDIR/run
  trap bench_cleanup EXIT
  rm -rf "$SCRATCH"
}

bench_cleanup() {
  local pid
  for pid in "$SERVERS"/pids/*.pid; do [[ -e $pid ]] && lp_stop "$pid"; done
  rm -rf "$SCRATCH"
  [[ $KEEP_WORKDIR == 1 ]] || rm -rf "$WORKDIR"
}

# bench_s3_env CONCURRENCY [default-parts]: the environment every S3 client gets: a plain-HTTP
# loopback endpoint (no CA bundle), fixed keys (moto's check is off), nothing from the user's
# own AWS setup; the aws cli's config in SCRATCH/aws-config, with 64 MB / 16 MB multipart
# cut-offs unless default-parts keeps the cli's own.
bench_s3_env() {
  unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE LAKEPACK_S3_CONCURRENCY
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
  export AWS_DEFAULT_REGION=us-east-1 AWS_SHARED_CREDENTIALS_FILE=/dev/null
  export AWS_CONFIG_FILE=$SCRATCH/aws-config
  printf '[default]\ns3 =\n  max_concurrent_requests = %s\n' "$1" >"$AWS_CONFIG_FILE"
  if [[ ${2:-} != default-parts ]]; then
    printf '  multipart_threshold = 64MB\n  multipart_chunksize = 16MB\n' >>"$AWS_CONFIG_FILE"
  fi
}

# bench_timed NAME CMD...: runs CMD under /usr/bin/time -v, its output in LOGS/NAME.log and
# LOGS/NAME.err; records SECS[NAME] (wall seconds) and RSS[NAME] (peak resident set, MB), two
# associative arrays the caller declares. A failure prints the command's last lines.
bench_timed() {
  local name=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  if ! /usr/bin/time -v -o "$LOGS/$name.time" "$@" >"$LOGS/$name.log" 2>"$LOGS/$name.err"; then
    echo "$(basename "$0"): $name failed:" >&2
    tail -n 15 "$LOGS/$name.err" "$LOGS/$name.log" >&2
    return 1
  fi
  t1=$(date +%s.%N)
  SECS[$name]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  RSS[$name]=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$LOGS/$name.time")
}
