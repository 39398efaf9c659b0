# shellcheck shell=bash
# Helpers shared by the scripts that start test servers (tests/servers, tests/faults, bench):
# free loopback ports, background processes recorded by PID + start time, readiness polls.
# Source it; it defines functions only. Every server binds 127.0.0.1, nothing else.

LP_HOST=127.0.0.1

# A TCP port on 127.0.0.1 that nothing listens on right now. There is a window between this
# and the server's bind; callers retry with a new port when the server cannot bind.
lp_free_port() {
  python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# Field 22 of /proc/PID/stat: the process start time in clock ticks. A PID together with its
# start time names one process for good, so a recycled PID is never mistaken for ours.
# A zombie (state Z: exited, not yet reaped by whoever inherited it) counts as gone.
lp_start_time() {
  local stat rest
  local -a f
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${stat##*) }              # drop "pid (comm) ", comm may hold spaces
  read -r -a f <<<"$rest"        # f[0] is field 3 (state), f[19] field 22 (start time)
  [[ ${f[0]} != Z && ${f[0]} != X ]] || return 1
  echo "${f[19]}"
}

# lp_spawn PIDFILE LOGFILE CMD...: runs CMD in the background in a session of its own (so a
# stop takes its children too), stdin closed, output to LOGFILE; writes "PID STARTTIME".
lp_spawn() {
  local pidfile=$1 log=$2
  shift 2
  # Emptied here, not by the background child's own redirection: that one runs whenever the
  # child gets to it, and a reader of the log could meanwhile see the last run's lines (an
  # old port).
  : >"$log"
  setsid "$@" </dev/null >>"$log" 2>&1 &
  local pid=$!
  local st=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    st=$(lp_start_time "$pid") && break
    sleep 0.05
  done
  echo "$pid ${st:-0}" >"$pidfile"
}

# True while the process recorded in PIDFILE is alive (and is still the one we started).
lp_alive() {
  local pidfile=$1 pid st now
  [[ -f $pidfile ]] || return 1
  read -r pid st <"$pidfile" || return 1
  now=$(lp_start_time "$pid") || return 1
  [[ $st == 0 || $now == "$st" ]]
}

# Stops the process recorded in PIDFILE and its session: TERM, up to 5 s, then KILL.
# A PID that now belongs to another process is left alone. Removes PIDFILE.
lp_stop() {
  local pidfile=$1 pid st
  [[ -f $pidfile ]] || return 0
  read -r pid st <"$pidfile" || { rm -f "$pidfile"; return 0; }
  if lp_alive "$pidfile"; then
    # setsid made the server a session and group leader: its PGID is its PID.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      lp_alive "$pidfile" || break
      sleep 0.1
    done
    if lp_alive "$pidfile"; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.1
    fi
  fi
  rm -f "$pidfile"
}

# Readiness polls end as soon as their condition holds; their cap is generous because a loaded
# machine (CI, parallel builds) can take many seconds to start a Python or Node server, and a
# server that died is noticed at once anyway.
LP_WAIT_SECONDS=${LP_WAIT_SECONDS:-120}

# lp_wait_until PIDFILE LOG WHAT CMD...: runs CMD until it succeeds, at most LP_WAIT_SECONDS,
# failing early (with LOG's tail and WHAT it waited for) when the process in PIDFILE has died.
lp_wait_until() {
  local pidfile=$1 log=$2 what=$3
  shift 3
  local deadline=$((SECONDS + LP_WAIT_SECONDS))
  while ((SECONDS < deadline)); do
    "$@" && return 0
    if ! lp_alive "$pidfile"; then
      "$@" && return 0  # it did its part, then exited
      echo "the server exited before $what; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.05
  done
  echo "no $what within ${LP_WAIT_SECONDS}s; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

# lp_attempts CMD...: runs CMD (an attempt to start servers on fresh free ports) up to three
# times while it returns 2, which says that another process took a port between lp_free_port
# and the bind; returns CMD's last status.
lp_attempts() {
  local rc=1
  for _ in 1 2 3; do
    rc=0
    "$@" || rc=$?
    [[ $rc == 2 ]] || break
  done
  return "$rc"
}

# lp_wait_file FILE PIDFILE LOG: waits until FILE is not empty (a server writes its port there
# once it listens).
lp_wait_file() {
  lp_wait_until "$2" "$3" "$1 written" test -s "$1"
}

# True when URL gives an HTTP answer, whatever its status.
lp_http_answers() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null) || code=000
  [[ $code != 000 ]]
}

# lp_wait_http URL PIDFILE LOG: waits until URL gives an HTTP answer.
lp_wait_http() {
  lp_wait_until "$2" "$3" "answer from $1" lp_http_answers "$1"
}

# lp_start_moto NAME DIR [ENV=VALUE...]: starts moto_server on a free port, retrying on a lost
# port race; sets LP_PORT. Pid in DIR/pids/NAME.pid, log in DIR/logs/NAME.log.
lp_start_moto() {
  local name=$1 dir=$2 port
  shift 2
  mkdir -p "$dir/pids" "$dir/logs"
  for _ in 1 2 3 4 5; do
    port=$(lp_free_port)
    lp_spawn "$dir/pids/$name.pid" "$dir/logs/$name.log" \
      env "$@" moto_server -H "$LP_HOST" -p "$port"
    # /moto-api/config answers without counting as an (unauthenticated) S3 or IAM action.
    if lp_wait_http "http://$LP_HOST:$port/moto-api/config" "$dir/pids/$name.pid" \
      "$dir/logs/$name.log" 2>"$dir/logs/$name.wait"; then
      # shellcheck disable=SC2034  # read by the caller
      LP_PORT=$port
      rm -f "$dir/logs/$name.wait"
      return 0
    fi
    lp_stop "$dir/pids/$name.pid"
    grep -qi "address already in use" "$dir/logs/$name.log" || break
  done
  cat "$dir/logs/$name.wait" >&2
  return 1
}
