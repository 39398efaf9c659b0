#!/usr/bin/env bash
# Stops the fault proxy tests/faults/start.sh DIR started (by its recorded PID and start time).
set -euo pipefail
set +m
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../servers/lib.sh
source "$HERE/../servers/lib.sh"
if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
[[ -d $1 ]] || exit 0
DIR=$(cd "$1" && pwd)
lp_stop "$DIR/pids/fault-proxy.pid"
rm -f "$DIR/fault_proxy.env" "$DIR/fault_proxy.port"
