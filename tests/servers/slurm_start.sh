#!/usr/bin/env bash
# Starts a one-node Slurm cluster on 127.0.0.1 for the tests (Debian 12's slurmctld, slurmd,
# slurm-client and munge: Slurm 22.05), self-contained in DIR:
#   DIR/munge/   its own munged: key, socket, pid, log and seed file (a system munged, if one
#                runs, is neither used nor disturbed: slurm.conf points at this socket)
#   DIR/slurm.conf, DIR/state, DIR/spool, DIR/log, DIR/pids (PID + start time, tests/servers/
#                lib.sh), DIR/watcher.* (see LAKEPACK_SLURM_OWNER_PID)
# The node is the short host name (Slurm matches NodeName against it) with CPUs=4, so four array
# elements run at once even on a 2-core machine (the tests' work is I/O-bound); its two ports
# are free ports of 127.0.0.1. When `sinfo` shows the node idle, the path of slurm.conf (the
# SLURM_CONF of every Slurm command) is written to OUT.
#   tests/servers/slurm_start.sh DIR OUT
#   tests/servers/slurm_stop.sh DIR          cancels every job and stops every daemon started here
# LAKEPACK_SLURM_OWNER_PID=PID: also start a watcher that runs slurm_stop.sh DIR once process PID
# has exited, so that a test binary killed by a timeout does not leave the daemons running.
# Exit codes: 0 up; 3 Slurm or munge is not installed (the message says what is missing; the
# tests skip with it); 1 it did not start (messages and log tails on stderr; nothing left
# running).
set -euo pipefail
set +m
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"

if [[ $# -ne 2 ]]; then
  echo "usage: $0 DIR OUT" >&2
  exit 2
fi
missing=()
for bin in munged slurmctld slurmd sinfo sbatch squeue scancel scontrol; do
  command -v "$bin" >/dev/null || missing+=("$bin")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "slurm: ${missing[*]} not installed (scripts/setup.sh --tests installs slurmctld slurmd" \
    "slurm-client munge)" >&2
  exit 3
fi

mkdir -p "$1"
DIR=$(cd "$1" && pwd)
OUT=$2
PIDS=$DIR/pids
LOGS=$DIR/log
MUNGE=$DIR/munge
CONF=$DIR/slurm.conf
NODE=$(hostname -s)
"$HERE/slurm_stop.sh" "$DIR" >/dev/null 2>&1 || true
mkdir -p "$PIDS" "$LOGS" "$DIR/state" "$DIR/spool"
# munged refuses a key, socket or log in a directory that others may write to.
mkdir -p "$MUNGE"
chmod 0700 "$MUNGE"

fail() {
  echo "slurm: $*" >&2
  "$HERE/slurm_stop.sh" "$DIR" >/dev/null 2>&1 || true
  exit 1
}

# Unix sockets hold at most 107 bytes of path: munged's, and slurmd's per-step sockets in the
# spool directory.
[[ ${#MUNGE} -lt 80 ]] || fail "$DIR is too long a path for munged's socket; use a shorter DIR"

start_munge() {
  rm -f "$MUNGE"/munge.*
  mungekey --create --bits=1024 --keyfile="$MUNGE/munge.key" >"$LOGS/mungekey.log" 2>&1 ||
    fail "mungekey: $(tail -n 3 "$LOGS/mungekey.log")"
  chmod 0400 "$MUNGE/munge.key"
  lp_spawn "$PIDS/munged.pid" "$LOGS/munged.out" munged --foreground --force \
    --socket="$MUNGE/munge.socket" --key-file="$MUNGE/munge.key" \
    --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" \
    --seed-file="$MUNGE/munged.seed"
  # munge (the client) encodes a credential once the daemon serves its socket.
  munge_ready() { munge --socket="$MUNGE/munge.socket" -n >/dev/null 2>&1; }
  lp_wait_until "$PIDS/munged.pid" "$LOGS/munged.out" "munged on $MUNGE/munge.socket" \
    munge_ready || fail "munged did not start ($(tail -n 3 "$MUNGE/munged.log" 2>/dev/null))"
}

write_conf() {
  local ctld_port=$1 slurmd_port=$2
  # MinJobAge=5: `sbatch --wait`, which polls, keeps to its 2 s period instead of backing off
  # to 32 s (it backs off while the period is below MinJobAge/2), and a finished element's
  # record outlives one such period. Records of finished jobs go within a minute, then (the
  # purge runs about every minute): the tests read each element's end from DIR/log/jobcomp.txt
  # (jobcomp/filetxt, one line per job with ArrayJobId, ArrayTaskId, JobState and ExitCode).
  # KillWait=5: scancel's SIGTERM is followed by SIGKILL after 5 s, not 30.
  # SlurmdParameters=config_overrides: the node may claim more CPUs than the machine has.
  # CommunicationParameters: bind the node's address (127.0.0.1), not every address.
  cat >"$CONF.tmp" <<CONF
# Written by tests/servers/slurm_start.sh; stopped by tests/servers/slurm_stop.sh $DIR
ClusterName=lakepacktest
SlurmctldHost=$NODE($LP_HOST)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOGS/jobcomp.txt
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
MinJobAge=5
KillWait=5
NodeName=$NODE NodeAddr=$LP_HOST CPUs=4 RealMemory=1000 State=UNKNOWN
PartitionName=lakepack Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF
  mv "$CONF.tmp" "$CONF"
}

ctld_ready() { scontrol ping 2>/dev/null | grep -q "is UP"; }
node_idle() { [[ $(sinfo -h -n "$NODE" -o %t 2>/dev/null) == idle ]]; }

# True when a daemon's log says that its port was taken between lp_free_port and its bind.
port_taken() { grep -qi "address already in use" "$@" 2>/dev/null; }

# One attempt on two fresh ports; returns 2 when a port was taken (worth another try).
attempt() {
  lp_stop "$PIDS/slurmd.pid"
  lp_stop "$PIDS/slurmctld.pid"
  rm -rf "$DIR/state" "$DIR/spool"
  mkdir -p "$DIR/state" "$DIR/spool"
  write_conf "$(lp_free_port)" "$(lp_free_port)"
  lp_spawn "$PIDS/slurmctld.pid" "$LOGS/slurmctld.out" slurmctld -D -i -f "$CONF"
  if ! lp_wait_until "$PIDS/slurmctld.pid" "$LOGS/slurmctld.out" "slurmctld answering" \
    ctld_ready; then
    port_taken "$LOGS/slurmctld.out" "$LOGS/slurmctld.log" && return 2
    tail -n 20 "$LOGS/slurmctld.log" >&2 2>/dev/null || true
    return 1
  fi
  lp_spawn "$PIDS/slurmd.pid" "$LOGS/slurmd.out" slurmd -D -f "$CONF"
  if ! lp_wait_until "$PIDS/slurmd.pid" "$LOGS/slurmd.out" "node $NODE idle in sinfo" \
    node_idle; then
    port_taken "$LOGS/slurmd.out" "$LOGS/slurmd.log" && return 2
    sinfo -R >&2 2>/dev/null || true
    tail -n 20 "$LOGS/slurmd.log" >&2 2>/dev/null || true
    return 1
  fi
}

# The watcher: polls (1 s) whether the owner still runs; when it is gone, stops the cluster.
start_watcher() {
  local owner=$1 owner_start
  owner_start=$(lp_start_time "$owner") || fail "LAKEPACK_SLURM_OWNER_PID=$owner does not run"
  # shellcheck disable=SC2016  # expanded by the watcher's shell, from its arguments
  lp_spawn "$DIR/watcher.pid" "$DIR/watcher.log" bash -c '
    source "$1/lib.sh"
    while [[ $(lp_start_time "$2" 2>/dev/null) == "$3" ]]; do sleep 1; done
    exec "$1/slurm_stop.sh" "$4"' watcher "$HERE" "$owner" "$owner_start" "$DIR"
}

export SLURM_CONF=$CONF
start_munge
lp_attempts attempt || fail "Slurm did not start (logs in $LOGS)"
if [[ -n ${LAKEPACK_SLURM_OWNER_PID:-} ]]; then
  start_watcher "$LAKEPACK_SLURM_OWNER_PID"
fi
echo "$CONF" >"$OUT"
echo "slurm_start.sh: node $NODE idle (CPUs=4); SLURM_CONF=$CONF"
