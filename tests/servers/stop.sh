#!/usr/bin/env bash
# Stops the servers tests/servers/start.sh DIR started (by their recorded PID and start time,
# never by name) and removes what they kept in DIR: data, PID files, servers.env. The logs stay
# in DIR/logs for a look after a failure; the next start.sh overwrites them.
# Safe to run twice, or on a DIR where nothing runs.
set -euo pipefail
set +m
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
[[ -d $1 ]] || exit 0
DIR=$(cd "$1" && pwd)

stopped=0
# The Ceph daemons in order, the gateway before the OSD before the monitor they both need.
for name in rgw-gateway rgw-osd rgw-mon; do
  if [[ -e $DIR/pids/$name.pid ]]; then
    lp_stop "$DIR/pids/$name.pid"
    stopped=$((stopped + 1))
  fi
done
for pidfile in "$DIR"/pids/*.pid; do
  [[ -e $pidfile ]] || continue
  lp_stop "$pidfile"
  stopped=$((stopped + 1))
done
rm -rf "$DIR/pids" "$DIR/s3rver-data" "$DIR/rgw"
rm -f "$DIR/servers.env" "$DIR/servers.env.tmp"
echo "stop.sh: stopped $stopped server(s) in $DIR"
