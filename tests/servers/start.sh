#!/usr/bin/env bash
# Starts the S3 servers the tests run against, each on 127.0.0.1 and a free port:
#   moto      moto_server, signature checking off (any key works): the bulk of the S3 tests
#   moto-auth moto_server, signature checking on (INITIAL_NO_AUTH_ACTION_COUNT=3 and an IAM user
#             with an allow-all policy): right-key / wrong-secret tests only, because moto's own
#             check wrongly refuses correctly signed requests whose query or key needs
#             percent-encoding (delimiter=/, prefix=a/, keys with spaces; docs/testing.md)
#   s3rver    s3rver from the npm registry (tests/servers/package.json): a second dialect that
#             checks the access key id but not the signature, ignores If-None-Match, has no
#             ListParts, and leaves out of '/' listings the prefixes that hold only prefixes
#   rgw       Ceph RGW 16.2 (Debian's ceph-mon, ceph-osd, radosgw; tests/servers/rgw_start.sh):
#             a real S3 server, SigV4 enforced; If-Match only in the unquoted form, and
#             If-None-Match ignored on CompleteMultipartUpload
# and writes DIR/servers.env, shell exports that describe them (see docs/testing.md).
#   tests/servers/start.sh DIR      DIR is created; tests/servers/stop.sh DIR undoes it all.
# Running it again first stops whatever an earlier run left in DIR.
set -euo pipefail
set +m
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
mkdir -p "$1"
DIR=$(cd "$1" && pwd)

# Plain-HTTP loopback endpoints: the machine's CA bundle is irrelevant and breaks some clients.
unset AWS_CA_BUNDLE

"$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
mkdir -p "$DIR/pids" "$DIR/logs"

fail() {
  echo "start.sh: $*" >&2
  "$HERE/stop.sh" "$DIR" >/dev/null 2>&1 || true
  exit 1
}

BUCKET=lakepack-test
AUTH_BUCKET=lakepack-auth-test
S3RVER_BUCKET=lakepack-s3rver-test
RGW_BUCKET=lakepack-rgw-test
RGW_KEY=LPRGWTESTKEY0001
RGW_SECRET=lprgwtestsecretlprgwtestsecret0001
REGION=us-east-1
S3RVER_VERSION=$(sed -n 's/.*"s3rver": *"\([^"]*\)".*/\1/p' "$HERE/package.json")
RUN=$DIR/pids   # ports and keys handed back by the starters below; removed by stop.sh

# The three starters run at once (each takes a second or two); each writes what it learnt to
# $RUN/NAME.out and returns non-zero with a message on stderr when it fails.

# (a) moto, signature checking off.
start_moto_plain() {
  lp_start_moto moto "$DIR" || return 1
  local code
  code=$(curl -s -o "$DIR/logs/moto.create" -w '%{http_code}' -X PUT \
    "http://$LP_HOST:$LP_PORT/$BUCKET") || code=000
  if [[ $code != 200 ]]; then
    echo "creating bucket $BUCKET on moto gave HTTP $code: $(cat "$DIR/logs/moto.create")" >&2
    return 1
  fi
  rm -f "$DIR/logs/moto.create"
  echo "$LP_PORT" >"$RUN/moto.out"
}

# (b) moto, signature checking on after three unauthenticated IAM calls.
start_moto_auth() {
  lp_start_moto moto-auth "$DIR" INITIAL_NO_AUTH_ACTION_COUNT=3 || return 1
  local keys
  if ! keys=$(python3 "$HERE/moto_auth_setup.py" "http://$LP_HOST:$LP_PORT" "$AUTH_BUCKET" \
    2>"$DIR/logs/moto-auth.setup"); then
    echo "IAM setup on moto-auth failed: $(tail -n 5 "$DIR/logs/moto-auth.setup")" >&2
    return 1
  fi
  rm -f "$DIR/logs/moto-auth.setup"
  echo "$LP_PORT $keys" >"$RUN/moto-auth.out"
}

# (c) s3rver. Port 0 lets it pick a free port itself, which it then prints.
start_s3rver() {
  local bin=$HERE/node_modules/.bin/s3rver port=""
  if [[ ! -x $bin ]]; then
    if ! (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >"$DIR/logs/npm.log" 2>&1); then
      echo "npm ci in $HERE failed: $(tail -n 5 "$DIR/logs/npm.log")" >&2
      return 1
    fi
  fi
  mkdir -p "$DIR/s3rver-data"
  lp_spawn "$DIR/pids/s3rver.pid" "$DIR/logs/s3rver.log" \
    node --openssl-legacy-provider --require "$HERE/s3rver_no_prune.js" "$bin" --directory "$DIR/s3rver-data" \
    --address "$LP_HOST" --port 0 --no-vhost-buckets --configure-bucket "$S3RVER_BUCKET"
  # shellcheck disable=SC2317  # called through lp_wait_until
  s3rver_port() {
    port=$(sed -n 's/.*S3rver listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
      "$DIR/logs/s3rver.log" | head -n 1)
    [[ -n $port ]]
  }
  if ! lp_wait_until "$DIR/pids/s3rver.pid" "$DIR/logs/s3rver.log" "s3rver listening" s3rver_port; then
    echo "s3rver did not start" >&2
    return 1
  fi
  lp_wait_http "http://$LP_HOST:$port/" "$DIR/pids/s3rver.pid" "$DIR/logs/s3rver.log" || return 1
  echo "$port" >"$RUN/s3rver.out"
}

# (d) Ceph RGW: a monitor, a memstore OSD and the gateway (the slowest, 10-20 s).
start_rgw() {
  "$HERE/rgw_start.sh" "$DIR" "$RUN/rgw.out" "$RGW_BUCKET" "$RGW_KEY" "$RGW_SECRET"
}

start_moto_plain & p1=$!
start_moto_auth & p2=$!
start_s3rver & p3=$!
start_rgw & p4=$!
ok=1
wait $p1 || ok=0
wait $p2 || ok=0
wait $p3 || ok=0
wait $p4 || ok=0
[[ $ok == 1 ]] || fail "a server did not start (messages above; logs in $DIR/logs)"
read -r MOTO_PORT <"$RUN/moto.out"
read -r AUTH_PORT AUTH_KEY AUTH_SECRET <"$RUN/moto-auth.out"
read -r S3RVER_PORT <"$RUN/s3rver.out"
read -r RGW_PORT <"$RUN/rgw.out"
rm -f "$RUN"/*.out

MOTO_EP=http://$LP_HOST:$MOTO_PORT
AUTH_EP=http://$LP_HOST:$AUTH_PORT
S3RVER_EP=http://$LP_HOST:$S3RVER_PORT
RGW_EP=http://$LP_HOST:$RGW_PORT
# Written to a temp name and renamed, so a reader never sees half a file. One
# "export NAME='VALUE'" per line: bash sources it, and the C++ tests read it with a parser this
# simple (tests/servers/servers_env.cc), so no value may hold a quote or a newline.
env_line() {
  [[ $2 != *"'"* && $2 != *$'\n'* ]] || fail "value of $1 holds a quote or newline"
  printf "export %s='%s'\n" "$1" "$2"
}
{
  echo "# Written by tests/servers/start.sh; removed by tests/servers/stop.sh $DIR"
  echo "# moto_server, signature checking off: any key is accepted."
  env_line LAKEPACK_TEST_S3_ENDPOINT "$MOTO_EP"
  env_line LAKEPACK_TEST_S3_BUCKET "$BUCKET"
  env_line LAKEPACK_TEST_S3_REGION "$REGION"
  env_line LAKEPACK_TEST_S3_ACCESS_KEY_ID testing
  env_line LAKEPACK_TEST_S3_SECRET_ACCESS_KEY testing
  env_line LAKEPACK_TEST_S3_PORT "$MOTO_PORT"
  echo "# The fault-injecting proxy a test may start in front of it (tests/faults/)."
  env_line LAKEPACK_TEST_FAULT_PROXY "$(cd "$HERE/../faults" && pwd)/fault_proxy.py"
  echo "# moto_server, signature checking on (IAM user lakepack-test, allow-all). Signature tests"
  echo "# only: moto refuses correctly signed requests whose path or query needs percent-encoding."
  env_line LAKEPACK_TEST_S3_AUTH_ENDPOINT "$AUTH_EP"
  env_line LAKEPACK_TEST_S3_AUTH_BUCKET "$AUTH_BUCKET"
  env_line LAKEPACK_TEST_S3_AUTH_REGION "$REGION"
  env_line LAKEPACK_TEST_S3_AUTH_ACCESS_KEY_ID "$AUTH_KEY"
  env_line LAKEPACK_TEST_S3_AUTH_SECRET_ACCESS_KEY "$AUTH_SECRET"
  echo "# The same two under the names src/store/s3/s3_store_test.cc reads."
  env_line LAKEPACK_TEST_S3_AUTH_KEY_ID "$AUTH_KEY"
  env_line LAKEPACK_TEST_S3_AUTH_SECRET "$AUTH_SECRET"
  echo "# s3rver: checks the key id (S3RVER), not the signature; ignores If-None-Match."
  env_line LAKEPACK_TEST_S3RVER_ENDPOINT "$S3RVER_EP"
  env_line LAKEPACK_TEST_S3RVER_BUCKET "$S3RVER_BUCKET"
  env_line LAKEPACK_TEST_S3RVER_REGION "$REGION"
  env_line LAKEPACK_TEST_S3RVER_ACCESS_KEY_ID S3RVER
  env_line LAKEPACK_TEST_S3RVER_SECRET_ACCESS_KEY S3RVER
  echo "# The store conformance suite: NAME=URI per remote store; the endpoint, keys and region of"
  echo "# store NAME are in LAKEPACK_TEST_STORE_<NAME>_* (NAME upper-cased)."
  env_line LAKEPACK_TEST_STORES \
    "moto=s3://$BUCKET/conf;s3rver=s3://$S3RVER_BUCKET/conf;rgw=s3://$RGW_BUCKET/conf"
  for store in MOTO S3RVER RGW; do
    case $store in
      MOTO) ep=$MOTO_EP key=testing secret=testing ;;
      S3RVER) ep=$S3RVER_EP key=S3RVER secret=S3RVER ;;
      RGW) ep=$RGW_EP key=$RGW_KEY secret=$RGW_SECRET ;;
    esac
    env_line "LAKEPACK_TEST_STORE_${store}_ENDPOINT" "$ep"
    env_line "LAKEPACK_TEST_STORE_${store}_ACCESS_KEY_ID" "$key"
    env_line "LAKEPACK_TEST_STORE_${store}_SECRET_ACCESS_KEY" "$secret"
    env_line "LAKEPACK_TEST_STORE_${store}_REGION" "$REGION"
  done
  echo "# How s3rver departs from S3 (checked against s3rver $S3RVER_VERSION; names from"
  echo "# tests/store/store_backends.h): listings in its own order, common prefixes not counted"
  echo "# towards max-keys, a broken answer to a Range GET of an empty object, no"
  echo "# ListMultipartUploads."
  env_line LAKEPACK_TEST_STORE_S3RVER_DEVIATIONS \
    unordered_listing,max_keys_ignores_prefixes,broken_range_on_empty,no_list_uploads
} >"$DIR/servers.env.tmp"
mv "$DIR/servers.env.tmp" "$DIR/servers.env"
echo "start.sh: moto $MOTO_EP, moto-auth $AUTH_EP, s3rver $S3RVER_EP, rgw $RGW_EP;" \
  "env in $DIR/servers.env"
