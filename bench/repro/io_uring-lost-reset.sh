#!/usr/bin/env bash
# Reproduces, with plain Netty at the version the gateway builds with, the io_uring defect that keeps io_uring
# from being Portcullis's default transport (see README "Speed"): resets that come right after a client's bytes
# are sometimes never reported. Prints one line per transport and auto-read setting; on a kernel with io_uring,
# the io_uring lines count fewer channels that saw the reset than clients. About 30 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
CP_FILE=$(mktemp)
trap 'rm -f "$CP_FILE"' EXIT
mvn -B -q -pl gateway-app dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >/dev/null
for transport in epoll io_uring; do
    for auto in false true; do
        java -cp "$(cat "$CP_FILE")" bench/repro/IoUringLostReset.java "$transport" "$auto"
    done
done
