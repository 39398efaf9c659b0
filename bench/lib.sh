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
