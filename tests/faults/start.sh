#!/usr/bin/env bash
# Starts the fault-injecting proxy (fault_proxy.py) in front of an S3 server on 127.0.0.1:
#   tests/faults/start.sh DIR UPSTREAM_PORT [fault_proxy.py options: --rate 0.2 --seed 7 ...]
# and writes DIR/fault_proxy.env:  export LAKEPACK_FAULT_PROXY_ENDPOINT='http://127.0.0.1:PORT'
# tests/faults/stop.sh DIR stops it. Running start.sh again on DIR replaces the earlier proxy.
# Settings can also change while it runs: POST JSON to $LAKEPACK_FAULT_PROXY_ENDPOINT/__fault_proxy/config.
set -euo pipefail
set +m
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../servers/lib.sh
source "$HERE/../servers/lib.sh"

if [[ $# -lt 2 ]]; then
  echo "usage: $0 DIR UPSTREAM_PORT [fault_proxy.py options]" >&2
  exit 2
fi
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
UPSTREAM=$2
shift 2
"$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
mkdir -p "$DIR/pids" "$DIR/logs"
rm -f "$DIR/fault_proxy.port"
lp_spawn "$DIR/pids/fault-proxy.pid" "$DIR/logs/fault-proxy.log" \
  python3 -u "$HERE/fault_proxy.py" --upstream "$LP_HOST:$UPSTREAM" --port 0 \
  --port-file "$DIR/fault_proxy.port" "$@"
if ! lp_wait_file "$DIR/fault_proxy.port" "$DIR/pids/fault-proxy.pid" \
  "$DIR/logs/fault-proxy.log"; then
  echo "fault proxy did not start" >&2
  lp_stop "$DIR/pids/fault-proxy.pid"
  exit 1
fi
read -r PORT <"$DIR/fault_proxy.port" || { echo "fault proxy did not start" >&2; exit 1; }
lp_wait_http "http://$LP_HOST:$PORT/__fault_proxy/stats" "$DIR/pids/fault-proxy.pid" \
  "$DIR/logs/fault-proxy.log"
printf "export LAKEPACK_FAULT_PROXY_ENDPOINT='http://%s:%s'\n" "$LP_HOST" "$PORT" \
  >"$DIR/fault_proxy.env"
echo "http://$LP_HOST:$PORT"
