#!/bin/sh
# Quick start from a fresh clone: installs the build dependencies with apt-get
# when run as root and something is missing, then configures, builds and runs
# the demo.  Extra arguments go to ./configure (CI passes --enable-werror).
set -e
cd "$(dirname "$0")"
need=""
command -v autoreconf >/dev/null 2>&1 || need="$need autoconf"
command -v automake >/dev/null 2>&1 || need="$need automake"
command -v libtoolize >/dev/null 2>&1 || need="$need libtool"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
pkg-config --exists check 2>/dev/null || need="$need check"
if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "quickstart: installing$need"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
    else
        echo "quickstart: missing$need; install them (as root: apt-get install$need)" >&2
        exit 1
    fi
fi
./autogen.sh
./configure "$@"
make -j"$(nproc 2>/dev/null || echo 2)"
make demo
