#!/usr/bin/env bash
# Installs what lakepack needs on a fresh Debian 12 machine and builds it.
#   scripts/setup.sh            build dependencies + build
#   scripts/setup.sh --tests    also the test servers' and cross-readers' packages
# Idempotent: packages already present are not reinstalled; rebuilds are incremental (ccache).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${LAKEPACK_BUILD_DIR:-$ROOT/build}
WITH_TESTS=0
[[ "${1:-}" == "--tests" ]] && WITH_TESTS=1

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

# Debian packages: the toolchain, and one package per outside library.
PKGS=(build-essential cmake ninja-build ccache pkg-config curl ca-certificates
      libcurl4-openssl-dev libssl-dev libpugixml-dev libcli11-dev nlohmann-json3-dev
      libfmt-dev libspdlog-dev libpq-dev libavro-dev libsnappy-dev zlib1g-dev libdeflate-dev libgtest-dev libgmock-dev
      libbenchmark-dev clang-format)
# Node.js may come from elsewhere than Debian (this machine image has its own build with npm):
# ask for Debian's only when the commands are missing.
command -v node >/dev/null || PKGS+=(nodejs)
command -v npm >/dev/null || PKGS+=(npm)
if [[ $WITH_TESTS -eq 1 ]]; then
  # Ceph RGW, the real S3 server of the tests (tests/servers/rgw_start.sh): monitor, OSD,
  # gateway; uuid-runtime for uuidgen. python3-avro (+ python3-snappy for its snappy codec): the
  # independent Avro reader of the tests (src/format/avro_codec_test.cc). Slurm 22.05 and munge:
  # the one-node cluster of the Slurm array tests (tests/servers/slurm_start.sh).
  PKGS+=(postgresql rclone ceph-mon ceph-osd radosgw uuid-runtime python3-avro python3-snappy
         slurmctld slurmd slurm-client munge)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages for the tests: independent Parquet readers, the Avro reader avsc, and the s3rver
# test server.
if [[ $WITH_TESTS -eq 1 ]]; then
  for dir in tests/xread tests/servers; do
    if [[ -f $dir/package-lock.json && ( ! -d $dir/node_modules || $dir/package-lock.json -nt $dir/node_modules ) ]]; then
      echo "setup: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && touch node_modules)
    fi
  done
fi

# Build. DuckDB is fetched by CMake at a pinned version with a checked hash (cmake/DuckDB.cmake).
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths relative to the clone, so that another clone of the same commit hits the same cache.
# Debug info would otherwise put the build directory in the hash (a miss in every new clone).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$ROOT} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
if [[ ! -f $BUILD_DIR/build.ninja ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j "$(nproc)"
