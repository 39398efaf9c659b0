#!/usr/bin/env bash
# Stops the cluster tests/servers/slurm_start.sh DIR started: cancels every job it still has
# (and waits, bounded, until none runs), then stops slurmd, slurmctld and munged by their
# recorded PID and start time (never by name), and removes the state and spool directories.
# The logs stay in DIR/log and DIR/munge/munged.log. Safe to run twice, or on a DIR where
# nothing runs.
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
PIDS=$DIR/pids
export SLURM_CONF=$DIR/slurm.conf

# The watcher of the owner process (slurm_start.sh), unless this is the watcher itself.
if [[ -f $DIR/watcher.pid ]]; then
  read -r wpid _ <"$DIR/watcher.pid" || wpid=""
  if [[ $wpid != "$$" ]]; then
    lp_stop "$DIR/watcher.pid"
  else
    rm -f "$DIR/watcher.pid"
  fi
fi

# Jobs first, while the controller runs: their processes belong to slurmstepd, not to the
# daemons' sessions. Every job of this cluster, whoever submitted it.
no_jobs_left() { [[ -z $(squeue -h -o %A 2>/dev/null) ]]; }
if lp_alive "$PIDS/slurmctld.pid" && [[ -f $SLURM_CONF ]]; then
  mapfile -t jobs < <(squeue -h -o %A 2>/dev/null || true)
  if [[ ${#jobs[@]} -gt 0 ]]; then
    scancel --full "${jobs[@]}" 2>/dev/null || true
    LP_WAIT_SECONDS=30 lp_wait_until "$PIDS/slurmctld.pid" "$DIR/log/slurmctld.log" \
      "the cancelled jobs to end" no_jobs_left ||
      echo "slurm_stop.sh: jobs still listed after scancel: $(squeue -h 2>/dev/null)" >&2
  fi
fi

stopped=0
for name in slurmd slurmctld munged; do
  if [[ -e $PIDS/$name.pid ]]; then
    lp_stop "$PIDS/$name.pid"
    stopped=$((stopped + 1))
  fi
done
rm -rf "$DIR/state" "$DIR/spool" "$PIDS"
rm -f "$DIR/munge/munge.socket" "$DIR/munge/munge.socket.lock"
echo "slurm_stop.sh: stopped $stopped daemon(s) in $DIR"
