#!/usr/bin/env bash
# End-to-end benchmark (issue 7): Portcullis beside HAProxy (mode tcp) and nginx stream, through loopback,
# the same worker threads for every proxy, the paths interleaved round by round, medians and ratios to HAProxy.
#
#   bench/run-e2e.sh                  default profile: 3 rounds, 8 s wrk runs (about 14 minutes)
#   QUICK=1 bench/run-e2e.sh          smoke test: 1 round, 3 s runs (about 4 minutes)
#   REPEATS=5 WORKERS=2 bench/run-e2e.sh
#   AUDIT=off bench/run-e2e.sh        every Portcullis process with its audit log off
#   EXTRA=0 bench/run-e2e.sh          without bench/real-clients.sh (pgbench, redis-benchmark) and
#                                     bench/startup.sh (launch to ready), which it runs at its end
#
# Writes bench/results/e2e-<date>.json, .md (table, targets, machine) and .png (ratios to HAProxy);
# QUICK=1 writes e2e-<date>-quick.*. Raw outputs and logs stay in bench/results/tmp/e2e-<date>[-quick]/.
#
# Settings (environment): REPEATS (rounds), DURATION (s per wrk run), BULK_SECONDS (iperf3 -t),
# LAT_SECONDS (1-connection latency run), WARMUP (s per path and workload before round 1; the Spring gateways then
# go on until their JIT compiler is idle: JIT_IDLE_PERCENT, JIT_SETTLE_MAX, see bench/e2e/lib.sh), CONNS (wrk -c),
# WORKERS (1 or 2: threads of every proxy), BACKEND_WORKERS (nginx backend processes), PIN (auto|0|1),
# JVM_HEAP, JVM_GC, JAR (default gateway-app/target/portcullis.jar, built when missing), BASE_PORT, DATE,
# AUDIT (file, the default: every Portcullis process writes its audit lines to a file, as deployed, and the path
# portcullis-noaudit, as portcullis-on with the audit log off, measures what that costs; off: no audit log).
#
# Everything listens on 127.0.0.1 only; every process started here is stopped on exit, error or Ctrl-C, and a
# watchdog ends the script after MAX_SECONDS whatever happens.
set -euo pipefail
# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    REPEATS=${REPEATS:-1} DURATION=${DURATION:-3} BULK_SECONDS=${BULK_SECONDS:-3} LAT_SECONDS=${LAT_SECONDS:-3}
    WARMUP=${WARMUP:-2} PROFILE=quick
else
    REPEATS=${REPEATS:-3} DURATION=${DURATION:-8} BULK_SECONDS=${BULK_SECONDS:-4} LAT_SECONDS=${LAT_SECONDS:-3}
    WARMUP=${WARMUP:-5} PROFILE=default
fi
CONNS=${CONNS:-50}
GAP=${GAP:-0.5}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
NAME=e2e-$DATE
[ "$PROFILE" = quick ] && NAME=$NAME-quick
WORK=$RESULTS/tmp/$NAME
RAW=$WORK/raw
# Budget: start-up, warm-up, then per round 29 runs plus their gaps; the watchdog allows twice that.
PER_ROUND=$((17 * (DURATION + 2) + 6 * (BULK_SECONDS + 4) + 6 * (LAT_SECONDS + 2)))
MAX_SECONDS=${MAX_SECONDS:-$((2 * (240 + 40 * WARMUP + 6 * ${JIT_SETTLE_MAX:-150} + REPEATS * PER_ROUND)))}

command -v java >/dev/null || die "java not found (Java 17+ needed)"
ensure_packages
ensure_jar
setup_pinning
watchdog "$MAX_SECONDS"

rm -rf "$WORK"
mkdir -p "$RAW"
write_machine "$RAW/machine.txt"
cat "$RAW/machine.txt" >&2

# ---------------------------------------------------------------- the peers and the paths

"$PY" "$E2E_DIR/gen_rules.py" "$WORK/rules"

alloc_port BACKEND_PORT; alloc_port DECIDE_PORT; alloc_port IPERF_PORT
alloc_port HAPROXY_PORT; alloc_port HAPROXY_IPERF
alloc_port NGINX_PORT; alloc_port NGINX_IPERF
alloc_port OFF_PORT; alloc_port OFF_IPERF; alloc_port OFF_MGMT
alloc_port ON_PORT; alloc_port ON_IPERF; alloc_port ON_MGMT
alloc_port URING_PORT; alloc_port URING_IPERF; alloc_port URING_MGMT
alloc_port NOAUDIT_PORT; alloc_port NOAUDIT_MGMT
alloc_port RULES100_PORT; alloc_port RULES100_MGMT
alloc_port DECISION_PORT; alloc_port DECISION_MGMT
alloc_port EMB_ACCEPT_PORT; alloc_port EMB_PEND_PORT

start_backend "$WORK/backend" "$BACKEND_PORT" "$DECIDE_PORT"
start_iperf_server "$WORK" "$IPERF_PORT"
start_haproxy "$WORK/haproxy" "$BACKEND_PORT" "$HAPROXY_PORT" "$IPERF_PORT" "$HAPROXY_IPERF"
start_nginx_stream "$WORK/nginx-stream" "$BACKEND_PORT" "$NGINX_PORT" "$IPERF_PORT" "$NGINX_IPERF"

declare -A PORT IPERF DESC WORKLOADS
: >"$RAW/skipped.txt"
skip() { # skip PATH REASON
    log "skipped: $1: $2"
    printf '%s\t%s\n' "$1" "$2" >>"$RAW/skipped.txt"
}
ALL_WORKLOADS="keepalive close bulk latency1"
add_path() { # add_path NAME PORT IPERF_PORT WORKLOADS DESCRIPTION
    PORT[$1]=$2 IPERF[$1]=$3 WORKLOADS[$1]=$4 DESC[$1]=$5
    PATHS+=("$1")
}
PATHS=()
add_path direct "$BACKEND_PORT" "$IPERF_PORT" "$ALL_WORKLOADS" "no proxy: wrk to the nginx backend, iperf3 to its server"
add_path haproxy "$HAPROXY_PORT" "$HAPROXY_IPERF" "$ALL_WORKLOADS" "HAProxy mode tcp, nbthread $WORKERS"
add_path nginx "$NGINX_PORT" "$NGINX_IPERF" "$ALL_WORKLOADS" "nginx stream, worker_processes $WORKERS"

# The Portcullis processes and the embedded harness start side by side, then each is awaited.
RULES_LIST=$WORK/rules/rules-list.yaml
mapfile -t OFF_ARGS < <(listener_args 0 bench "$OFF_PORT" "$BACKEND_PORT" false; listener_args 1 iperf "$OFF_IPERF" "$IPERF_PORT" false)
launch_portcullis off "$WORK/portcullis-off" "$OFF_MGMT" "$OFF_PORT $OFF_IPERF" --portcullis.rules="file:$RULES_LIST" "${OFF_ARGS[@]}"
mapfile -t ON_ARGS < <(listener_args 0 bench "$ON_PORT" "$BACKEND_PORT" true; listener_args 1 iperf "$ON_IPERF" "$IPERF_PORT" true)
launch_portcullis on "$WORK/portcullis-on" "$ON_MGMT" "$ON_PORT $ON_IPERF" --portcullis.rules="file:$RULES_LIST" "${ON_ARGS[@]}"
# The same as 'on' on epoll: the container case, where the default seccomp profile forbids io_uring and 'auto'
# (which 'on' runs with: io_uring where the kernel allows it) is epoll.
mapfile -t URING_ARGS < <(listener_args 0 bench "$URING_PORT" "$BACKEND_PORT" true; listener_args 1 iperf "$URING_IPERF" "$IPERF_PORT" true)
launch_portcullis epoll "$WORK/portcullis-epoll" "$URING_MGMT" "$URING_PORT $URING_IPERF" --portcullis.rules="file:$RULES_LIST" \
    --portcullis.transport=epoll "${URING_ARGS[@]}"
# The same as 'on' with its audit log off: on / noaudit is what the audit log costs (AUDIT=file only).
if [ "$AUDIT" = file ]; then
    mapfile -t NOAUDIT_ARGS < <(listener_args 0 bench "$NOAUDIT_PORT" "$BACKEND_PORT" true)
    launch_portcullis noaudit "$WORK/portcullis-noaudit" "$NOAUDIT_MGMT" "$NOAUDIT_PORT" --portcullis.rules="file:$RULES_LIST" \
        --logging.level.io.portcullis.audit=off "${NOAUDIT_ARGS[@]}"
fi
mapfile -t R100_ARGS < <(listener_args 0 bench "$RULES100_PORT" "$BACKEND_PORT" true)
launch_portcullis 100rules "$WORK/portcullis-100rules" "$RULES100_MGMT" "$RULES100_PORT" \
    --portcullis.rules="file:$WORK/rules/rules-100rules.yaml" "${R100_ARGS[@]}"
mapfile -t DEC_ARGS < <(listener_args 0 bench "$DECISION_PORT" "$BACKEND_PORT" true)
launch_portcullis decision "$WORK/portcullis-decision" "$DECISION_MGMT" "$DECISION_PORT" \
    --portcullis.rules="file:$WORK/rules/rules-decision.yaml" "${DEC_ARGS[@]}" \
    --portcullis.decision-services.authz.type=http \
    --portcullis.decision-services.authz.url="http://127.0.0.1:$DECIDE_PORT/decide" \
    --portcullis.decision-services.authz.timeout=300ms \
    --portcullis.decision-services.authz.on-failure=reject
HARNESS_OK=0
if compile_harness "$WORK/harness"; then
    launch_harness "$WORK/harness" "$EMB_ACCEPT_PORT" "$EMB_PEND_PORT" "$BACKEND_PORT" "$MAX_SECONDS"
    HARNESS_OK=1
fi

if await_portcullis off; then
    add_path portcullis-off "$OFF_PORT" "$OFF_IPERF" "$ALL_WORKLOADS" "Portcullis, conditional-accept: false"
else
    skip portcullis-off "did not start: $START_ERROR"
fi
if await_portcullis on; then
    add_path portcullis-on "$ON_PORT" "$ON_IPERF" "$ALL_WORKLOADS" "Portcullis as it starts out of the box (transport auto: $(grep -o 'Transport: [a-z_]*' "$WORK/portcullis-on/portcullis.log" | head -1 | cut -d' ' -f2)), conditional accept, 10,000 CIDRs in one list (reject), last rule accepts"
else
    skip portcullis-on "did not start: $START_ERROR"
fi
if await_portcullis epoll; then
    add_path portcullis-epoll "$URING_PORT" "$URING_IPERF" "$ALL_WORKLOADS" "As portcullis-on, with transport: epoll (the container case)"
else
    skip portcullis-epoll "did not start: $START_ERROR"
fi
if [ "$AUDIT" = file ]; then
    if await_portcullis noaudit; then
        add_path portcullis-noaudit "$NOAUDIT_PORT" "" close "As portcullis-on, with its audit log off (logging.level.io.portcullis.audit=off)"
    else
        skip portcullis-noaudit "did not start: $START_ERROR"
    fi
fi
if await_portcullis 100rules; then
    add_path portcullis-100rules "$RULES100_PORT" "" close "Portcullis, conditional accept, the 10,000 CIDRs over 100 reject rules, last rule accepts"
else
    skip portcullis-100rules "did not start: $START_ERROR"
fi
if [ $HARNESS_OK = 1 ] && await_harness "$WORK/harness" "$EMB_ACCEPT_PORT" "$EMB_PEND_PORT"; then
    add_path embedded-accept "$EMB_ACCEPT_PORT" "" close "Listener builder (no Spring, no policy, no meters): inspect answers ACCEPT"
    add_path embedded-pend "$EMB_PEND_PORT" "" close "Listener builder: inspect answers PEND, another thread calls inspectComplete(ACCEPT) at once"
else
    skip embedded-accept "$HARNESS_ERROR"
    skip embedded-pend "$HARNESS_ERROR"
fi
if await_portcullis decision; then
    add_path portcullis-decision "$DECISION_PORT" "" close "Portcullis, every connection pended and accepted by a loopback HTTP decision service (nginx, no cache)"
elif grep -qiE 'decision' "$WORK/portcullis-decision/portcullis.log"; then
    skip portcullis-decision "this jar does not accept the decision service configuration yet: $START_ERROR"
else
    skip portcullis-decision "did not start: $START_ERROR"
fi

# One request through each path must come back with the backend's body.
AVAILABLE=()
for p in "${PATHS[@]}"; do
    if check_http "${PORT[$p]}"; then AVAILABLE+=("$p"); else skip "$p" "a request through 127.0.0.1:${PORT[$p]} did not return the backend's body"; fi
done
PATHS=("${AVAILABLE[@]}")
for p in "${PATHS[@]}"; do printf '%s\t%s\t%s\n' "$p" "${WORKLOADS[$p]}" "${DESC[$p]}"; done >"$RAW/paths.tsv"

WRK=(wrk -t 1 -s "$E2E_DIR/wrk-report.lua" --latency)
{
    echo "profile=$PROFILE"
    echo "repeats=$REPEATS"
    echo "duration_s=$DURATION"
    echo "bulk_seconds=$BULK_SECONDS"
    echo "latency1_seconds=$LAT_SECONDS"
    echo "warmup=keep-alive and Connection: close, 2 s each through HAProxy, nginx and direct, $((2 * WARMUP)) s each through the JVM paths, $((6 * WARMUP)) s through the decision path, then each Spring gateway until its JIT compiler is idle (JIT_IDLE_PERCENT ${JIT_IDLE_PERCENT:-3}, at most JIT_SETTLE_MAX ${JIT_SETTLE_MAX:-150} s; not with QUICK=1)"
    echo "connections=$CONNS"
    echo "workers=$WORKERS"
    echo "backend_workers=$BACKEND_WORKERS"
    echo "pinning=$PIN_NOTE"
    echo "audit=$AUDIT"
    jvm_opts
    echo "jvm_options=${JVM_OPTS[*]}"
    echo "jar=$JAR"
    echo "body_bytes=${#BODY}"
    echo "command_keepalive=${WRK[*]} -c $CONNS -d ${DURATION}s http://127.0.0.1:PORT/"
    echo "command_close=${WRK[*]} -c $CONNS -d ${DURATION}s -H 'Connection: close' http://127.0.0.1:PORT/"
    echo "command_latency1=${WRK[*]} -c 1 -d ${LAT_SECONDS}s http://127.0.0.1:PORT/"
    echo "command_bulk=iperf3 -c 127.0.0.1 -p PORT -t $BULK_SECONDS -O 1 -J"
} >"$RAW/settings.txt"

# ---------------------------------------------------------------- runs

has_workload() { [[ " ${WORKLOADS[$1]} " == *" $2 "* ]]; }

run_wrk() { # run_wrk OUT PORT CONNECTIONS SECONDS [wrk options]
    local out=$1 port=$2 c=$3 d=$4
    shift 4
    run_fg timeout $((d + 30)) ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "${WRK[@]}" -c "$c" -d "${d}s" "$@" "http://127.0.0.1:$port/" >"$out" 2>&1 \
        || echo "wrk exit status $?" >>"$out"
}

run_iperf() { # run_iperf OUT PORT SECONDS
    local out=$1 port=$2 t=$3 attempt
    for attempt in 1 2 3; do
        run_fg timeout $((t + 30)) ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} iperf3 -c 127.0.0.1 -p "$port" -t "$t" -O 1 -J >"$out" 2>&1 || true
        grep -q 'busy' "$out" || return 0
        sleep 2   # the iperf3 server still ends the previous test
    done
}

run_case() { # run_case ROUND WORKLOAD PATH [SECONDS]
    local round=$1 w=$2 p=$3 d=${4:-}
    case $w in
        keepalive) run_wrk "$RAW/r$round-$w-$p.txt" "${PORT[$p]}" "$CONNS" "${d:-$DURATION}" ;;
        close) run_wrk "$RAW/r$round-$w-$p.txt" "${PORT[$p]}" "$CONNS" "${d:-$DURATION}" -H 'Connection: close' ;;
        latency1) run_wrk "$RAW/r$round-$w-$p.txt" "${PORT[$p]}" 1 "${d:-$LAT_SECONDS}" ;;
        bulk) run_iperf "$RAW/r$round-$w-$p.json" "${IPERF[$p]}" "${d:-$BULK_SECONDS}" ;;
    esac
    sleep "$GAP"
}

# Warm-up, not recorded: the JVM paths need their code compiled before they are measured (their rate still
# climbs for 10-20 s after a start; the decision path, with Reactor Netty and Resilience4j, for longer).
log "warm-up: 2 s per workload for HAProxy, nginx and direct; $((2 * WARMUP)) s for the JVM paths, $((6 * WARMUP)) s for the decision path; the Spring gateways then until their JIT is idle"
for p in "${PATHS[@]}"; do
    secs=2
    [[ $p == portcullis-* || $p == embedded-* ]] && secs=$((2 * WARMUP))
    [ "$p" = portcullis-decision ] && secs=$((6 * WARMUP))
    has_workload "$p" keepalive && run_case 0 keepalive "$p" "$secs"
    run_case 0 close "$p" "$secs"
    # The Spring gateways: on until their JIT compiler is idle (bench/e2e/lib.sh, warm_until_jit_idle).
    if [[ $p == portcullis-* ]] && [ "$PROFILE" != quick ] && [ -n "${PC_PID[${p#portcullis-}]:-}" ]; then
        warm_until_jit_idle "${PC_PID[${p#portcullis-}]}" 5 run_case 0 close "$p" 5
    fi
done
rm -f "$RAW"/r0-*

for round in $(seq 1 "$REPEATS"); do
    for w in $ALL_WORKLOADS; do
        for p in "${PATHS[@]}"; do
            has_workload "$p" "$w" || continue
            log "round $round/$REPEATS: $w through $p"
            run_case "$round" "$w" "$p"
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW/machine.txt"
# Whether each audit log kept up: lines dropped rather than written (0 expected), read before the processes stop.
for name in "${!PC_MGMT[@]}"; do
    printf '%s\t%s\n' "$name" "$(curl -s --max-time 5 "http://127.0.0.1:${PC_MGMT[$name]}/actuator/prometheus" \
        | grep '^portcullis_audit_dropped_total' | tr '\n' ' ')"
done >"$RAW/audit-dropped.txt"

# ---------------------------------------------------------------- report

"$PY" "$E2E_DIR/report.py" --raw "$RAW" --name "$NAME" \
    --json "$RESULTS/$NAME.json" --markdown "$RESULTS/$NAME.md" --png "$RESULTS/$NAME.png"
log "wrote $RESULTS/$NAME.json, $RESULTS/$NAME.md and $RESULTS/$NAME.png (raw outputs and logs in $WORK)"

# ---------------------------------------------------------------- real clients and start-up

# pgbench and redis-benchmark through each proxy, and launch to ready: scripts of their own (they can run alone),
# run here once this script's processes are stopped. EXTRA=0 skips them.
if [ "${EXTRA:-1}" = 1 ]; then
    stop_pids "${PIDS[@]}"
    PIDS=()
    QUICK=$QUICK DATE=$DATE WORKERS=$WORKERS bash "$BENCH_DIR/real-clients.sh" || log "bench/real-clients.sh failed"
    if [ "$QUICK" = 1 ]; then ROUNDS=2; else ROUNDS=5; fi
    ROUNDS=$ROUNDS DATE=$DATE bash "$BENCH_DIR/startup.sh" || log "bench/startup.sh failed"
fi
