#!/usr/bin/env bash
# Self-test of the fault proxy: starts a moto_server (signature checking off) and the proxy in
# front of it, on 127.0.0.1, then checks each fault kind with curl and a 100 MB round trip with
# the aws cli through 30% faults. Needs moto_server, curl, the aws cli. Prints one line per
# check and "N passed, N failed" last; exits non-zero when a check failed.
#   tests/faults/selftest.sh [WORKDIR]     (default: a temp dir, removed at the end)
set -uo pipefail
set +m
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/../servers/lib.sh
source "$HERE/../servers/lib.sh"

KEEP=1
if [[ $# -ge 1 ]]; then
  mkdir -p "$1" && W=$(cd "$1" && pwd)
else
  W=$(mktemp -d "${TMPDIR:-/tmp}/lakepack-faults-XXXXXX")
  KEEP=0
fi
cleanup() {
  "$HERE/stop.sh" "$W" >/dev/null 2>&1
  "$HERE/stop.sh" "$W/echo" >/dev/null 2>&1
  lp_stop "$W/pids/moto.pid"
  lp_stop "$W/pids/echo.pid"
  [[ $KEEP == 1 ]] || rm -rf "$W"
}
trap cleanup EXIT

unset AWS_CA_BUNDLE  # plain-HTTP loopback
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN

passed=0 failed=0
check() {  # check NAME COMMAND...: passes when COMMAND succeeds
  local name=$1
  shift
  if "$@" >"$W/check.out" 2>&1; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    sed 's/^/    /' "$W/check.out" | tail -n 15
    failed=$((failed + 1))
  fi
}

lp_start_moto moto "$W" || exit 1
MOTO=http://$LP_HOST:$LP_PORT
curl -sf -X PUT "$MOTO/bkt" >/dev/null || { echo "cannot create bucket" >&2; exit 1; }
EP=$("$HERE/start.sh" "$W" "$LP_PORT" --rate 0 --stall-seconds 2) || exit 1
# moto stores chunked uploads as empty objects and never answers chunked, so chunked bodies are
# checked against an echo server behind a second proxy.
lp_spawn "$W/pids/echo.pid" "$W/logs/echo.log" python3 "$HERE/echo_upstream.py" "$W/echo.port"
lp_wait_file "$W/echo.port" "$W/pids/echo.pid" "$W/logs/echo.log" || exit 1
EEP=$("$HERE/start.sh" "$W/echo" "$(cat "$W/echo.port")" --rate 0) || exit 1
echo "moto $MOTO, proxy $EP; echo server behind proxy $EEP"

# moto reads a body sent as a form (curl's default Content-Type for --data) as a form and then
# waits forever for the bytes it swallowed: uploads here say application/octet-stream.
PUT=(curl -s -X PUT -H 'Content-Type: application/octet-stream')
# moto refuses anonymous reads and writes of objects (403), so every curl call signs (SigV4,
# for the Host it talks to: the proxy's; moto's check is off, so any key does).
curl() { command curl --aws-sigv4 "aws:amz:us-east-1:s3" --user testing:testing "$@"; }

configure() {  # configure JSON [ENDPOINT]: new settings, fails when the proxy refuses them
  curl -sf -X POST --data "$1" "${2:-$EP}/__fault_proxy/config" >/dev/null
}
faults_total() {
  curl -sf "$EP/__fault_proxy/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["faults_total"])'
}

head -c 1000000 /dev/urandom >"$W/small"
SMALL_MD5=$(md5sum <"$W/small" | cut -d' ' -f1)
"${PUT[@]}" -f --data-binary @"$W/small" "$MOTO/bkt/small" >/dev/null
md5_of() { md5sum <"$1" | cut -d' ' -f1; }

# Pass-through: bytes intact both ways, HEAD.
t_passthrough() {
  configure '{"rate": 0}' &&
    curl -sf -o "$W/got" "$EP/bkt/small" && [[ $(md5_of "$W/got") == "$SMALL_MD5" ]] &&
    "${PUT[@]}" -f --data-binary @"$W/small" "$EP/bkt/put" &&
    curl -sf -o "$W/got" "$MOTO/bkt/put" && [[ $(md5_of "$W/got") == "$SMALL_MD5" ]] &&
    [[ $(curl -s -I -o /dev/null -w '%{http_code}' "$EP/bkt/small") == 200 ]] &&
    [[ $(curl -s -I -o /dev/null -w '%{http_code}' "$EP/bkt/missing") == 404 ]]
}
check "pass-through to moto (GET, PUT, HEAD)" t_passthrough

# Chunked request and response bodies, relayed byte for byte.
t_chunked() {
  configure '{"rate": 0}' "$EEP" &&
    "${PUT[@]}" -f -H 'Transfer-Encoding: chunked' --data-binary @"$W/small" -o "$W/got" "$EEP/x?chunked" &&
    [[ $(md5_of "$W/got") == "$SMALL_MD5" ]] &&
    "${PUT[@]}" -f -H 'Transfer-Encoding: chunked' --data-binary @"$W/small" -o "$W/got" "$EEP/x" &&
    [[ $(md5_of "$W/got") == "$SMALL_MD5" ]] &&
    "${PUT[@]}" -f --data-binary @"$W/small" -o "$W/got" "$EEP/x?chunked" &&
    [[ $(md5_of "$W/got") == "$SMALL_MD5" ]]
}
check "chunked request and response bodies (echo server)" t_chunked

t_chunked_truncate() {
  configure '{"rate": 1, "kinds": ["truncate"]}' "$EEP" || return 1
  local rc
  "${PUT[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$W/small" -o "$W/got" "$EEP/x?chunked"
  rc=$?
  echo "curl exit code $rc, got $(stat -c %s "$W/got" 2>/dev/null || echo 0) bytes"
  [[ $rc =~ ^(18|56)$ ]]
}
check "truncated chunked answer (curl 18/56)" t_chunked_truncate

# Keep-alive: curl reuses one connection for several URLs.
t_keepalive() {
  configure '{"rate": 0}' &&
    curl -sv -o /dev/null -o /dev/null -o /dev/null "$EP/bkt/small" "$EP/bkt/missing" "$EP/bkt/small" 2>&1 |
    grep -c 'Re-using existing connection' | grep -qx 2
}
check "keep-alive across requests (also after a 404)" t_keepalive

# Expect: 100-continue: the proxy says Continue itself; the upload arrives whole.
t_expect() {
  configure '{"rate": 0}' &&
    "${PUT[@]}" -f -H 'Expect: 100-continue' --data-binary @"$W/small" "$EP/bkt/expect" &&
    curl -sf -o "$W/got" "$MOTO/bkt/expect" && [[ $(md5_of "$W/got") == "$SMALL_MD5" ]]
}
check "Expect: 100-continue upload" t_expect

t_status() {  # t_status KIND CODE XMLCODE
  configure "{\"rate\": 1, \"kinds\": [\"$1\"]}" &&
    [[ $(curl -s -o "$W/err" -w '%{http_code}' "$EP/bkt/small") == "$2" ]] &&
    grep -q "<Code>$3</Code>" "$W/err" &&
    # The request body is drained, so the connection stays usable after an error.
    [[ $("${PUT[@]}" -o /dev/null -w '%{http_code}' --data-binary @"$W/small" "$EP/bkt/x") == "$2" ]] &&
    # With Expect: 100-continue the error comes before the body, and the connection closes.
    [[ $("${PUT[@]}" -o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' \
      --data-binary @"$W/small" "$EP/bkt/x") == "$2" ]]
}
check "500 InternalError" t_status 500 500 InternalError
check "503 ServiceUnavailable" t_status 503 503 ServiceUnavailable
check "503 SlowDown" t_status slowdown 503 SlowDown

t_curl_exit() {  # t_curl_exit KIND EXPECTED_CURL_EXIT_CODES_REGEX
  configure "{\"rate\": 1, \"kinds\": [\"$1\"]}" || return 1
  local rc
  # A cap well above --stall-seconds: a stall must end by the proxy closing, even when loaded.
  curl -s -o "$W/got" --max-time 60 "$EP/bkt/small"
  rc=$?
  echo "curl exit code $rc, got $(stat -c %s "$W/got" 2>/dev/null || echo 0) bytes"
  [[ $rc =~ ^($2)$ ]]
}
# 52 empty reply, 56 recv failure (reset); 18 partial file (fewer bytes than Content-Length).
check "reset before any response (curl 52/56)" t_curl_exit reset '52|56'
check "reset in the middle of the body (curl 18/56)" t_curl_exit reset-body '18|56'
check "truncated body (curl 18)" t_curl_exit truncate '18'
check "stall, then close (curl 52 after --stall-seconds)" t_curl_exit stall '52'

# A truncated answer keeps fewer bytes than announced, never all of them.
t_truncate_short() {
  configure '{"rate": 1, "kinds": ["truncate"], "seed": 3}' || return 1
  for _ in 1 2 3 4 5; do
    curl -s -o "$W/got" "$EP/bkt/small"
    (($(stat -c %s "$W/got") < 1000000)) || return 1
  done
}
check "truncation always short" t_truncate_short

# --match and max_faults limit which and how many requests fail.
t_match() {
  configure '{"rate": 1, "kinds": ["500"], "match": "^PUT "}' &&
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$EP/bkt/small") == 200 ]] &&
    [[ $("${PUT[@]}" -o /dev/null -w '%{http_code}' --data-binary x "$EP/bkt/m") == 500 ]] &&
    configure '{"rate": 1, "kinds": ["503"], "match": "", "max_faults": 2}' &&
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$EP/bkt/small") == 503 ]] &&
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$EP/bkt/small") == 503 ]] &&
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$EP/bkt/small") == 200 ]] &&
    configure '{"max_faults": null}'
}
check "match filter and max_faults" t_match

t_bad_config() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{"kinds": ["nope"]}' \
    "$EP/__fault_proxy/config") == 400 ]]
}
check "unknown fault kind refused (400)" t_bad_config

# Same seed, same sequence of faults.
t_seed() {
  local a b
  configure '{"rate": 0.5, "kinds": ["500", "503"], "seed": 9}' || return 1
  a=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{http_code} ' "$EP/bkt/small"; done)
  configure '{"rate": 0.5, "kinds": ["500", "503"], "seed": 9}' || return 1
  b=$(for _ in $(seq 20); do curl -s -o /dev/null -w '%{http_code} ' "$EP/bkt/small"; done)
  echo "$a / $b"
  [[ $a == "$b" && $a == *200* && $a == *50* ]]
}
check "seeded: the same seed gives the same faults" t_seed

# 100 MB through 30% faults of every kind: the aws cli retries its way through, bytes intact.
head -c 100000000 /dev/urandom >"$W/big"
BIG_MD5=$(md5_of "$W/big")
t_aws_roundtrip() {
  configure '{"rate": 0.3, "kinds": ["500", "503", "slowdown", "reset", "reset-body", "truncate"], "seed": 42}' || return 1
  AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=20 aws --endpoint-url "$EP" s3 cp "$W/big" s3://bkt/big \
    --only-show-errors || return 1
  AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=20 aws --endpoint-url "$EP" s3 cp s3://bkt/big "$W/big.back" \
    --only-show-errors || return 1
  echo "faults injected: $(faults_total)"
  [[ $(md5_of "$W/big.back") == "$BIG_MD5" ]] && (($(faults_total) > 0))
}
check "100 MB aws cli round trip through 30% faults, md5 intact" t_aws_roundtrip

# Faults that never stop: the client gives up with an error.
t_forever() {
  configure '{"rate": 1, "kinds": ["503", "reset"]}' || return 1
  ! AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=3 aws --endpoint-url "$EP" s3 cp s3://bkt/small \
    "$W/never" --only-show-errors
}
check "rate 1: every request fails, the aws cli gives up" t_forever

echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
