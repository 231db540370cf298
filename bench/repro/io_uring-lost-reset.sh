#!/usr/bin/env bash
# Reproduces, with plain Netty at the version the gateway builds with, an io_uring defect (see bench/README.md):
# resets that come right after a client's bytes are sometimes never reported while Netty waits with its
# multishot poll (the default). Prints one line per transport, auto-read setting and poll; on a kernel with
# io_uring, the multishot lines count fewer channels that saw the reset than clients, the single-shot lines
# (-Dio.netty.iouring.pollAddMultishotEnabled=false, what Portcullis sets) all of them. About 45 s.
set -euo pipefail
cd "$(dirname "$0")/../.."
CP_FILE=$(mktemp)
trap 'rm -f "$CP_FILE"' EXIT
mvn -B -q -pl gateway-app dependency:build-classpath -Dmdep.outputFile="$CP_FILE" >/dev/null
for auto in false true; do
    java -cp "$(cat "$CP_FILE")" bench/repro/IoUringLostReset.java epoll "$auto"
    for multishot in true false; do
        echo -n "(poll multishot $multishot) "
        java -Dio.netty.iouring.pollAddMultishotEnabled=$multishot -cp "$(cat "$CP_FILE")" \
            bench/repro/IoUringLostReset.java io_uring "$auto"
    done
done
