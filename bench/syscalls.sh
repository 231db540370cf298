#!/usr/bin/env bash
# System calls per connection: strace -c -f on HAProxy, nginx stream and Portcullis on epoll (conditional accept off, and
# on with the 10,000-CIDR policy of bench/run-e2e.sh) during a short wrk run with 'Connection: close'
# (one connection per request), each proxy 1 worker thread, through loopback to an nginx backend; Portcullis on
# io_uring beside them where it starts.
#
#   bench/syscalls.sh                 5 s traced per proxy (about 2 minutes with start-up and warm-up)
#   SECONDS_TRACED=10 CONNS=20 bench/syscalls.sh
#
# Writes bench/results/syscalls-<date>.txt: per proxy the connections (wrk's completed requests), the system
# calls counted while loaded minus those of an idle period as long (timers, the JVM's housekeeping), their
# ratio, and the calls per connection by system call; raw strace tables stay in bench/results/tmp/.
# strace slows every traced thread a lot: rates under strace mean nothing, the counts per connection do.
set -euo pipefail
# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

TRACED=${SECONDS_TRACED:-5}
CONNS=${CONNS:-10}
JVM_WARMUP=${JVM_WARMUP:-20}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
WORK=$RESULTS/tmp/syscalls-$DATE
OUT=$RESULTS/syscalls-$DATE.txt
WORKERS=1

command -v java >/dev/null || die "java not found (Java 17+ needed)"
ensure_packages strace
ensure_jar
setup_pinning
watchdog 600
rm -rf "$WORK"
mkdir -p "$WORK/raw"
write_machine "$WORK/raw/machine.txt"

"$PY" "$E2E_DIR/gen_rules.py" "$WORK/rules"
alloc_port BACKEND_PORT; alloc_port HAPROXY_PORT; alloc_port NGINX_PORT
alloc_port OFF_PORT; alloc_port OFF_MGMT; alloc_port ON_PORT; alloc_port ON_MGMT; alloc_port URING_PORT; alloc_port URING_MGMT
start_backend "$WORK/backend" "$BACKEND_PORT"
start_haproxy "$WORK/haproxy" "$BACKEND_PORT" "$HAPROXY_PORT"
start_nginx_stream "$WORK/nginx-stream" "$BACKEND_PORT" "$NGINX_PORT"
mapfile -t OFF_ARGS < <(listener_args 0 bench "$OFF_PORT" "$BACKEND_PORT" false)
# epoll by name for off and on: what auto picks in a container; on this host auto may pick io_uring.
launch_portcullis off "$WORK/portcullis-off" "$OFF_MGMT" "$OFF_PORT" --portcullis.rules="file:$WORK/rules/rules-list.yaml" \
    --portcullis.transport=epoll "${OFF_ARGS[@]}"
mapfile -t ON_ARGS < <(listener_args 0 bench "$ON_PORT" "$BACKEND_PORT" true)
launch_portcullis on "$WORK/portcullis-on" "$ON_MGMT" "$ON_PORT" --portcullis.rules="file:$WORK/rules/rules-list.yaml" \
    --portcullis.transport=epoll "${ON_ARGS[@]}"
mapfile -t URING_ARGS < <(listener_args 0 bench "$URING_PORT" "$BACKEND_PORT" true)
launch_portcullis uring "$WORK/portcullis-uring" "$URING_MGMT" "$URING_PORT" --portcullis.rules="file:$WORK/rules/rules-list.yaml" \
    --portcullis.transport=io_uring "${URING_ARGS[@]}"
await_portcullis off || die "portcullis (off) did not start: $START_ERROR"
check_transport off epoll
OFF_PID=$PORTCULLIS_PID
await_portcullis on || die "portcullis (on) did not start: $START_ERROR"
check_transport on epoll
ON_PID=$PORTCULLIS_PID
URING_PID=
if await_portcullis uring; then check_transport uring io_uring; URING_PID=$PORTCULLIS_PID; else log "portcullis-uring skipped (io_uring unavailable here?): $START_ERROR"; fi

WRK=(wrk -t 1 -c "$CONNS" -s "$E2E_DIR/wrk-report.lua" -H 'Connection: close')

# trace NAME PORT PID WARMUP: warm-up unstraced, then an idle period and a loaded period under strace -c -f.
trace() {
    local name=$1 port=$2 pid=$3 warm=$4 phase
    check_http "$port" || die "$name: a request through 127.0.0.1:$port did not return the backend's body"
    log "$name: warm-up ${warm} s"
    run_fg timeout $((warm + 30)) ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "${WRK[@]}" -d "${warm}s" "http://127.0.0.1:$port/" >"$WORK/raw/$name-warmup.txt" 2>&1
    for phase in idle loaded; do
        start_bg "strace ($name, $phase)" "$WORK/raw/$name-$phase.strace-log" \
            strace -c -f -p "$pid" -o "$WORK/raw/$name-$phase.strace"
        local spid=$LAST_PID
        sleep 1   # strace attaches to every thread
        if [ $phase = idle ]; then
            run_fg sleep "$TRACED"
        else
            run_fg timeout $((TRACED + 30)) ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "${WRK[@]}" -d "${TRACED}s" "http://127.0.0.1:$port/" \
                >"$WORK/raw/$name-wrk.txt" 2>&1 || true
        fi
        kill -INT "$spid" 2>/dev/null || true
        wait "$spid" 2>/dev/null || true
        forget_pid "$spid"
    done
    log "$name: $(grep -m1 'requests in' "$WORK/raw/$name-wrk.txt" | sed 's/^ *//')"
}

trace haproxy "$HAPROXY_PORT" "$HAPROXY_PID" 2
trace nginx "$NGINX_PORT" "$(pgrep -P "$NGINX_STREAM_PID" | head -1)" 2
trace portcullis-off "$OFF_PORT" "$OFF_PID" "$JVM_WARMUP"
trace portcullis-on "$ON_PORT" "$ON_PID" "$JVM_WARMUP"
NAMES=(haproxy nginx portcullis-off portcullis-on)
if [ -n "$URING_PID" ]; then
    trace portcullis-uring "$URING_PORT" "$URING_PID" "$JVM_WARMUP"
    NAMES+=(portcullis-uring)
fi

"$PY" "$E2E_DIR/syscalls_report.py" --raw "$WORK/raw" --seconds "$TRACED" --connections "$CONNS" \
    "${NAMES[@]}" >"$OUT"
cat "$OUT"
log "wrote $OUT (raw strace tables in $WORK/raw)"
