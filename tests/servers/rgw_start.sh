#!/usr/bin/env bash
# Starts a one-node Ceph RGW (Reef's predecessor 16.2, Debian 12's ceph-mon, ceph-osd, radosgw)
# on 127.0.0.1 for the tests: a monitor, one memstore OSD (data in memory, nothing on disk but
# the monitor's small store) and the gateway, with cephx off. Then a user with a fixed test key
# and one bucket. Writes "PORT" to OUT when the gateway answers signed requests.
#   tests/servers/rgw_start.sh DIR OUT BUCKET KEY SECRET
# Daemons are recorded in DIR/pids/rgw-*.pid (stop.sh stops them); data in DIR/rgw; logs in
# DIR/logs/rgw-*. Called by start.sh, in parallel with the other servers.
set -euo pipefail
set +m
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$HERE/lib.sh"

DIR=$1 OUT=$2 BUCKET=$3 KEY=$4 SECRET=$5
for bin in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph uuidgen; do
  if ! command -v "$bin" >/dev/null; then
    echo "rgw: $bin is missing (scripts/setup.sh --tests installs ceph-mon ceph-osd radosgw)" >&2
    exit 1
  fi
done
D=$DIR/rgw
LOGS=$DIR/logs
PIDS=$DIR/pids
mkdir -p "$LOGS" "$PIDS"

stop_all() {
  lp_stop "$PIDS/rgw-gateway.pid"
  lp_stop "$PIDS/rgw-osd.pid"
  lp_stop "$PIDS/rgw-mon.pid"
}

# The gateway answers GET / with 200 once it serves S3.
rgw_ready() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$LP_HOST:$RGW_PORT/") ||
    code=000
  [[ $code == 200 ]]
}

mon_ready() {
  ceph -c "$D/ceph.conf" --connect-timeout 5 mon stat >/dev/null 2>&1
}

# One attempt on three fresh ports; returns 2 when a port was taken (worth another try).
attempt() {
  stop_all
  rm -rf "$D"
  mkdir -p "$D/run" "$D/mon" "$D/osd"
  local fsid mon_v2 mon_v1 uuid id
  fsid=$(uuidgen)
  mon_v2=$(lp_free_port)
  mon_v1=$(lp_free_port)
  RGW_PORT=$(lp_free_port)
  local mon_host="[v2:$LP_HOST:$mon_v2,v1:$LP_HOST:$mon_v1]"
  # ms mon client mode = crc: without it radosgw loops on "get_initial_auth_request returned
  # -13" under auth none (docs/testing.md).
  cat >"$D/ceph.conf" <<CONF
[global]
fsid = $fsid
mon host = $mon_host
public addr = $LP_HOST
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $LOGS/rgw-\$name.log
mon data = $D/mon/\$cluster-\$id
osd data = $D/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = 2147483648
[client.rgw.t]
rgw frontends = beast endpoint=$LP_HOST:$RGW_PORT
rgw dns name = $LP_HOST
CONF
  monmaptool --create --addv a "$mon_host" --fsid "$fsid" "$D/monmap" >/dev/null
  ceph-mon -c "$D/ceph.conf" --mkfs -i a --monmap "$D/monmap" >"$LOGS/rgw-mkfs.log" 2>&1
  lp_spawn "$PIDS/rgw-mon.pid" "$LOGS/rgw-mon.out" ceph-mon -c "$D/ceph.conf" -i a -f
  if ! lp_wait_until "$PIDS/rgw-mon.pid" "$LOGS/rgw-mon.out" "Ceph monitor quorum" mon_ready; then
    grep -qi "address already in use" "$LOGS/rgw-mon.out" "$LOGS/rgw-mon.a.log" 2>/dev/null &&
      return 2
    return 1
  fi
  uuid=$(uuidgen)
  id=$(ceph -c "$D/ceph.conf" --connect-timeout 60 osd new "$uuid")
  mkdir -p "$D/osd/ceph-$id"
  ceph-osd -c "$D/ceph.conf" -i "$id" --mkfs --osd-uuid "$uuid" >"$LOGS/rgw-osd-mkfs.log" 2>&1
  lp_spawn "$PIDS/rgw-osd.pid" "$LOGS/rgw-osd.out" ceph-osd -c "$D/ceph.conf" -i "$id" -f
  lp_spawn "$PIDS/rgw-gateway.pid" "$LOGS/rgw-gateway.out" \
    radosgw -c "$D/ceph.conf" -n client.rgw.t -f
  if ! lp_wait_until "$PIDS/rgw-gateway.pid" "$LOGS/rgw-gateway.out" \
    "answer from the gateway on $LP_HOST:$RGW_PORT" rgw_ready; then
    grep -qi "address already in use" "$LOGS/rgw-gateway.out" "$LOGS/rgw-client.rgw.t.log" \
      2>/dev/null && return 2
    return 1
  fi
  return 0
}

if ! lp_attempts attempt; then
  echo "rgw: Ceph RGW did not start (logs in $LOGS/rgw-*)" >&2
  stop_all
  exit 1
fi

if ! radosgw-admin -c "$D/ceph.conf" user create --uid=lakepack --display-name=lakepack \
  --access-key="$KEY" --secret="$SECRET" >"$LOGS/rgw-user.log" 2>&1; then
  echo "rgw: creating the test user failed: $(tail -n 5 "$LOGS/rgw-user.log")" >&2
  stop_all
  exit 1
fi
# The bucket, with a signed request (RGW enforces SigV4): also proves the key works.
code=$(curl -s -o "$LOGS/rgw-bucket.log" -w '%{http_code}' -X PUT \
  --aws-sigv4 "aws:amz:us-east-1:s3" --user "$KEY:$SECRET" \
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "http://$LP_HOST:$RGW_PORT/$BUCKET") || code=000
if [[ $code != 200 ]]; then
  echo "rgw: creating bucket $BUCKET gave HTTP $code: $(cat "$LOGS/rgw-bucket.log")" >&2
  stop_all
  exit 1
fi
rm -f "$LOGS/rgw-bucket.log"
echo "$RGW_PORT" >"$OUT"
