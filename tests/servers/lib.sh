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
  setsid "$@" </dev/null >"$log" 2>&1 &
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

# lp_wait_http URL PIDFILE LOG [SECONDS]: polls URL until an HTTP answer comes (any status),
# failing early with the log's tail when the process has died.
lp_wait_http() {
  local url=$1 pidfile=$2 log=$3 secs=${4:-30} code
  local deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null) || code=000
    [[ $code != 000 ]] && return 0
    if ! lp_alive "$pidfile"; then
      echo "server for $url exited; last lines of $log:" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "server for $url did not answer within ${secs}s; last lines of $log:" >&2
  tail -n 20 "$log" >&2
  return 1
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
      "$dir/logs/$name.log" 30 2>"$dir/logs/$name.wait"; then
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
