#!/usr/bin/env bash
# Stops the cluster tests/servers/postgres_start.sh DIR started (pg_ctl stop on its own data
# directory) and removes it and DIR/pg.env. Safe to run twice.
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
[[ -d $1 ]] || exit 0
DIR=$(cd "$1" && pwd)
BIN=${LAKEPACK_PG_BIN:-/usr/lib/postgresql/15/bin}
rm -f "$DIR/pg.env"
[[ -f $DIR/pg.cluster ]] || exit 0
CLUSTER=$(cat "$DIR/pg.cluster")
case $CLUSTER in /tmp/lakepack-pg-*) ;; *) echo "postgres_stop.sh: odd cluster path $CLUSTER" >&2; exit 1 ;; esac
if [[ -f $CLUSTER/data/postmaster.pid ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$BIN/pg_ctl" -D "$CLUSTER/data" -m fast -w stop >/dev/null 2>&1 || true
  else
    "$BIN/pg_ctl" -D "$CLUSTER/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
fi
rm -rf "$CLUSTER" "$DIR/pg.cluster"
echo "postgres_stop.sh: stopped $CLUSTER"
