#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster (Debian's) for the export tests: initdb as the
# postgres user into a fresh temp directory, listening on 127.0.0.1 only, trust auth for
# local connections but one role. Writes DIR/pg.env (PGHOST, PGPORT, PGUSER, PGDATABASE,
# LAKEPACK_TEST_PG_URI, and LAKEPACK_TEST_PG_PASSWORD_ROLE: a role that must give a password)
# and records the cluster's data directory for postgres_stop.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"
if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
BIN=${LAKEPACK_PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x $BIN/initdb ]] || { echo "postgres_start.sh: no $BIN/initdb (apt-get install postgresql-15)" >&2; exit 1; }
"$HERE/postgres_stop.sh" "$DIR" >/dev/null 2>&1 || true

# The cluster lives outside the build tree: its parents must be searchable by postgres.
CLUSTER=$(mktemp -d /tmp/lakepack-pg-XXXXXX)
chmod 755 "$CLUSTER"
echo "$CLUSTER" >"$DIR/pg.cluster"
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [[ $(id -u) -eq 0 ]]; then chown postgres:postgres "$CLUSTER"; fi
as_pg "$BIN/initdb" -D "$CLUSTER/data" -U postgres --auth=trust --locale=C.UTF-8 \
  --encoding=UTF8 >"$CLUSTER/initdb.log" 2>&1 || { cat "$CLUSTER/initdb.log" >&2; exit 1; }
# One role that must give a password (every other role is trusted), for the tests of a wrong
# password: its own password is random and never used.
as_pg sh -c "{ echo 'host all lakepack_pw 127.0.0.1/32 scram-sha-256'; cat '$CLUSTER/data/pg_hba.conf'; } >'$CLUSTER/data/pg_hba.new' && mv '$CLUSTER/data/pg_hba.new' '$CLUSTER/data/pg_hba.conf'"
for attempt in 1 2 3 4 5; do
  PORT=$(lp_free_port)
  if as_pg "$BIN/pg_ctl" -D "$CLUSTER/data" -l "$CLUSTER/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $CLUSTER -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    >/dev/null 2>&1; then
    break
  fi
  PORT=""
done
[[ -n $PORT ]] || { echo "postgres_start.sh: cannot start; see $CLUSTER/server.log" >&2; tail -5 "$CLUSTER/server.log" >&2; exit 1; }
as_pg "$BIN/psql" -h "$CLUSTER" -p "$PORT" -U postgres -d postgres -qAtX -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE lakepack_pw LOGIN PASSWORD '$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')'" >/dev/null
cat >"$DIR/pg.env.tmp" <<ENV
PGHOST=127.0.0.1
PGPORT=$PORT
PGUSER=postgres
PGDATABASE=postgres
LAKEPACK_TEST_PG_URI=postgres://postgres@127.0.0.1:$PORT/postgres
LAKEPACK_TEST_PG_PASSWORD_ROLE=lakepack_pw
ENV
mv "$DIR/pg.env.tmp" "$DIR/pg.env"
echo "postgres_start.sh: PostgreSQL on 127.0.0.1:$PORT ($CLUSTER)"
