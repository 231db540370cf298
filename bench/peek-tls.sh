#!/usr/bin/env bash
# What peeking at the TLS ClientHello costs: connections/s through Portcullis with peek.tls and an sni rule,
# beside HAProxy (inspect-delay + req.ssl_sni) and nginx stream (ssl_preread + a map of the server name), the
# same worker threads for every proxy, the paths interleaved round by round, medians and ratios.
#
#   bench/peek-tls.sh                 default profile: 3 rounds, 8 s wrk runs (about 7 minutes)
#   QUICK=1 bench/peek-tls.sh         smoke test: 1 round, 3 s runs (about 3 minutes)
#
# Each connection writes one fixed ClientHello (bench/e2e/client_hello.py: SNI bench.example.com, ALPN h2 and
# http/1.1; a 561-byte one with an X25519 key share, a 1,783-byte one with X25519MLKEM768 as well) through
# wrk (bench/e2e/wrk-raw.lua); the loopback nginx backend answers those bytes with 400 and closes, so each
# request wrk counts is one connection: proxy accept, peek, decision, backend connect, relay, close.
#
# Writes bench/results/peek-tls-<date>.json and .md; QUICK=1 writes peek-tls-<date>-quick.*. Raw outputs and
# logs stay in bench/results/tmp/peek-tls-<date>[-quick]/.
#
# Settings (environment): REPEATS, DURATION (s per wrk run), WARMUP (then each JVM path until its JIT compiler is
# idle: JIT_IDLE_PERCENT, JIT_SETTLE_MAX, see bench/e2e/lib.sh), CONNS (wrk -c), WORKERS, BACKEND_WORKERS,
# PIN, JVM_HEAP, JVM_GC, JAR, BASE_PORT, DATE, AUDIT (as for bench/run-e2e.sh), URING (auto: the io_uring path
# when the transport starts here; 0: none).
#
# Everything listens on 127.0.0.1 only; every process started here is stopped on exit, error or Ctrl-C, and a
# watchdog ends the script after MAX_SECONDS whatever happens.
set -euo pipefail
# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    REPEATS=${REPEATS:-1} DURATION=${DURATION:-3} WARMUP=${WARMUP:-2} PROFILE=quick
else
    REPEATS=${REPEATS:-3} DURATION=${DURATION:-8} WARMUP=${WARMUP:-5} PROFILE=default
fi
CONNS=${CONNS:-50}
GAP=${GAP:-0.5}
URING=${URING:-auto}
SNI_NAME=bench.example.com
DATE=${DATE:-$(date -u +%Y-%m-%d)}
NAME=peek-tls-$DATE
[ "$PROFILE" = quick ] && NAME=$NAME-quick
WORK=$RESULTS/tmp/$NAME
RAW=$WORK/raw
WORKLOADS="x25519 mlkem"
# Budget: start-up, warm-up, then per round 6 paths x 2 hellos; the watchdog allows twice that.
MAX_SECONDS=${MAX_SECONDS:-$((2 * (240 + 30 * WARMUP + 3 * ${JIT_SETTLE_MAX:-150} + REPEATS * 12 * (DURATION + 3))))}

command -v java >/dev/null || die "java not found (Java 17+ needed)"
ensure_packages
ensure_jar
setup_pinning
watchdog "$MAX_SECONDS"

rm -rf "$WORK"
mkdir -p "$RAW"
write_machine "$RAW/machine.txt"
cat "$RAW/machine.txt" >&2
"$PY" "$E2E_DIR/client_hello.py" write "$WORK/hello" >&2

# ---------------------------------------------------------------- rules

mkdir -p "$WORK/rules"
# bench: accept the name, reject the rest, as deployed. peekany: the same peek, every connection accepted; used
# when this jar does not extract the SNI yet (the sni rule would reject every connection).
cat >"$WORK/rules/rules-peek.yaml" <<EOF
listeners:
  bench:
    rules:
      - name: by-name
        sni: [$SNI_NAME]
        action: accept
    default: reject
  peekany:
    rules:
      - name: accept-all
        action: accept
    default: reject
EOF
cat >"$WORK/rules/rules-nopeek.yaml" <<EOF
listeners:
  bench:
    rules:
      - name: accept-all
        action: accept
    default: reject
EOF

# ---------------------------------------------------------------- the peers and the paths

alloc_port BACKEND_PORT; alloc_port HAPROXY_PORT; alloc_port NGINX_PORT
alloc_port PEEK_PORT; alloc_port PEEKANY_PORT; alloc_port PEEK_MGMT
alloc_port NOPEEK_PORT; alloc_port NOPEEK_MGMT
alloc_port URING_PORT; alloc_port URINGANY_PORT; alloc_port URING_MGMT

start_backend "$WORK/backend" "$BACKEND_PORT"
start_haproxy_sni "$WORK/haproxy" "$BACKEND_PORT" "$HAPROXY_PORT" "$SNI_NAME"
start_nginx_preread "$WORK/nginx-stream" "$BACKEND_PORT" "$NGINX_PORT" "$SNI_NAME"

declare -A PORT DESC PROC
: >"$RAW/skipped.txt"
skip() { # skip PATH REASON
    log "skipped: $1: $2"
    printf '%s\t%s\n' "$1" "$2" >>"$RAW/skipped.txt"
}
PATHS=()
add_path() { # add_path NAME PORT DESCRIPTION
    PORT[$1]=$2 DESC[$1]=$3
    PATHS+=("$1")
}
add_path direct "$BACKEND_PORT" "no proxy: the hello straight to the nginx backend"
PROC[haproxy]=$HAPROXY_PID PROC[nginx]=$NGINX_STREAM_PID
add_path haproxy "$HAPROXY_PORT" "HAProxy mode tcp, nbthread $WORKERS, inspect-delay + req.ssl_hello_type 1, use_backend if req.ssl_sni -i $SNI_NAME, no default backend"
add_path nginx "$NGINX_PORT" "nginx stream, worker_processes $WORKERS, ssl_preread on, proxy_pass by a map of \$ssl_preread_server_name (default: a server that closes)"

peek_args() { # peek_args INDEX NAME PORT: a listener that peeks at TLS, conditional accept
    listener_args "$1" "$2" "$3" "$BACKEND_PORT" true
    echo "--portcullis.listeners[$1].peek.tls=true"
}
mapfile -t PEEK_ARGS < <(peek_args 0 bench "$PEEK_PORT"; peek_args 1 peekany "$PEEKANY_PORT")
# epoll by name: what auto picks in a container (the default seccomp profile forbids io_uring); on this host
# auto would pick io_uring, so the path that matters most would not be measured.
launch_portcullis peek "$WORK/portcullis-peek" "$PEEK_MGMT" "$PEEK_PORT $PEEKANY_PORT" \
    --portcullis.rules="file:$WORK/rules/rules-peek.yaml" --portcullis.transport=epoll "${PEEK_ARGS[@]}"
mapfile -t NOPEEK_ARGS < <(listener_args 0 bench "$NOPEEK_PORT" "$BACKEND_PORT" true)
launch_portcullis nopeek "$WORK/portcullis-nopeek" "$NOPEEK_MGMT" "$NOPEEK_PORT" \
    --portcullis.rules="file:$WORK/rules/rules-nopeek.yaml" --portcullis.transport=epoll "${NOPEEK_ARGS[@]}"
if [ "$URING" != 0 ]; then
    mapfile -t URING_ARGS < <(peek_args 0 bench "$URING_PORT"; peek_args 1 peekany "$URINGANY_PORT")
    launch_portcullis uring "$WORK/portcullis-peek-uring" "$URING_MGMT" "$URING_PORT $URINGANY_PORT" \
        --portcullis.rules="file:$WORK/rules/rules-peek.yaml" --portcullis.transport=io_uring "${URING_ARGS[@]}"
fi

# The hello must come back as the backend's 400 through every path: a proxy that does not route by the name
# fails here, not in a run.
HELLO=$WORK/hello/hello-x25519.bin
answers() { "$PY" "$E2E_DIR/client_hello.py" check "$1" "$HELLO" >/dev/null; }
# answers_retry PORT: three tries, a second apart (a JVM's first connections after its start).
answers_retry() {
    local attempt
    for attempt in 1 2 3; do answers "$1" && return 0; sleep 1; done
    return 1
}
SNI_EXTRACTED=unknown
add_peek_path() { # add_peek_path PATH SNI_PORT ANY_PORT DESCRIPTION
    if answers_retry "$2"; then
        SNI_EXTRACTED=yes
        add_path "$1" "$2" "$4; rule sni: [$SNI_NAME] accept, default reject"
    elif answers_retry "$3"; then
        SNI_EXTRACTED=no
        log "$1: the sni rule rejects the hello (this jar does not extract the SNI yet); measuring the peek with an accept-all rule"
        add_path "$1" "$3" "$4; this jar does not extract the SNI (the sni rule rejected the hello), so the listener peeks with an accept-all rule"
    else
        skip "$1" "the hello got no 400 from the backend through either listener"
    fi
}
if await_portcullis peek; then
    check_transport peek epoll
    PROC[portcullis-peek]=$PORTCULLIS_PID
    add_peek_path portcullis-peek "$PEEK_PORT" "$PEEKANY_PORT" "Portcullis, peek.tls: true, transport: epoll (what auto picks in a container)"
else
    skip portcullis-peek "did not start: $START_ERROR"
fi
if await_portcullis nopeek; then
    check_transport nopeek epoll
    PROC[portcullis-nopeek]=$PORTCULLIS_PID
    add_path portcullis-nopeek "$NOPEEK_PORT" "Portcullis, the same listener without peek (epoll), conditional accept, rule accept-all"
else
    skip portcullis-nopeek "did not start: $START_ERROR"
fi
if [ "$URING" != 0 ]; then
    if await_portcullis uring; then
        check_transport uring io_uring
        PROC[portcullis-peek-uring]=$PORTCULLIS_PID
        add_peek_path portcullis-peek-uring "$URING_PORT" "$URINGANY_PORT" "As portcullis-peek, with transport: io_uring"
    else
        skip portcullis-peek-uring "did not start (io_uring unavailable here?): $START_ERROR"
    fi
fi

AVAILABLE=()
for p in "${PATHS[@]}"; do
    if answers_retry "${PORT[$p]}"; then AVAILABLE+=("$p"); else skip "$p" "the hello through 127.0.0.1:${PORT[$p]} got no 400 from the backend"; fi
done
PATHS=("${AVAILABLE[@]}")
# A name the rules do not know must be refused by every proxy that routes by name (when the SNI is read).
mkdir -p "$WORK/hello-other"
"$PY" -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d.replace(b"bench.", b"other."))' \
    "$WORK/hello/hello-x25519.bin" "$WORK/hello-other/hello.bin"
: >"$RAW/other-name.txt"
for p in "${PATHS[@]}"; do
    [ "$p" = direct ] && continue
    if HELLO=$WORK/hello-other/hello.bin answers "${PORT[$p]}"; then r=relayed; else r=refused; fi
    printf '%s\t%s\n' "$p" "$r" >>"$RAW/other-name.txt"
done
for p in "${PATHS[@]}"; do printf '%s\t%s\n' "$p" "${DESC[$p]}"; done >"$RAW/paths.tsv"

WRK=(wrk -t 1 -s "$E2E_DIR/wrk-raw.lua" --latency)
{
    echo "profile=$PROFILE"
    echo "repeats=$REPEATS"
    echo "duration_s=$DURATION"
    echo "warmup=each hello, 2 s through HAProxy, nginx and direct, $((2 * WARMUP)) s through the JVM paths, then until their JIT compiler is idle (JIT_IDLE_PERCENT ${JIT_IDLE_PERCENT:-3}, at most JIT_SETTLE_MAX ${JIT_SETTLE_MAX:-150} s; not with QUICK=1)"
    echo "connections=$CONNS"
    echo "workers=$WORKERS"
    echo "backend_workers=$BACKEND_WORKERS"
    echo "pinning=$PIN_NOTE"
    echo "audit=$AUDIT"
    jvm_opts
    echo "jvm_options=${JVM_OPTS[*]}"
    echo "jar=$JAR"
    echo "sni_extracted=$SNI_EXTRACTED"
    for w in $WORKLOADS; do echo "hello_${w}_bytes=$(stat -c %s "$WORK/hello/hello-$w.bin")"; done
    echo "command=WRK_RAW_FILE=hello-<x25519|mlkem>.bin ${WRK[*]} -c $CONNS -d ${DURATION}s http://127.0.0.1:PORT/"
} >"$RAW/settings.txt"

# ---------------------------------------------------------------- runs

# cpu_ticks PID: user and system clock ticks of PID and its children (every thread: nginx's worker, the JVM's
# JIT and GC threads), from /proc.
cpu_ticks() {
    local pid u=0 s=0 stat
    for pid in "$1" $(descendants "$1"); do
        stat=$(cut -d')' -f2- "/proc/$pid/stat" 2>/dev/null) || continue
        read -r -a f <<<"$stat"
        u=$((u + f[11])) s=$((s + f[12]))
    done
    echo "$u $s"
}

run_case() { # run_case ROUND WORKLOAD PATH [SECONDS]
    local round=$1 w=$2 p=$3 d=${4:-$DURATION} out=$RAW/r$1-$2-$3.txt before=
    [ -n "${PROC[$p]:-}" ] && before=$(cpu_ticks "${PROC[$p]}")
    WRK_RAW_FILE=$WORK/hello/hello-$w.bin run_fg timeout $((d + 30)) ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} \
        "${WRK[@]}" -c "$CONNS" -d "${d}s" "http://127.0.0.1:${PORT[$p]}/" >"$out" 2>&1 || echo "wrk exit status $?" >>"$out"
    # The proxy's CPU time over the run (its share of the core, whatever the load generator got).
    [ -n "$before" ] && echo "CPUTICKS $before $(cpu_ticks "${PROC[$p]}") $(getconf CLK_TCK)" >>"$out"
    sleep "$GAP"
}

log "warm-up: 2 s per hello for HAProxy, nginx and direct; $((2 * WARMUP)) s for the JVM paths, then until their JIT is idle"
for p in "${PATHS[@]}"; do
    secs=2
    [[ $p == portcullis-* ]] && secs=$((2 * WARMUP))
    for w in $WORKLOADS; do run_case 0 "$w" "$p" "$secs"; done
    if [[ $p == portcullis-* ]] && [ "$PROFILE" != quick ]; then
        warm_until_jit_idle "${PROC[$p]}" 5 run_case 0 x25519 "$p" 5
    fi
done
rm -f "$RAW"/r0-*

for round in $(seq 1 "$REPEATS"); do
    for w in $WORKLOADS; do
        for p in "${PATHS[@]}"; do
            log "round $round/$REPEATS: $w hello through $p"
            run_case "$round" "$w" "$p"
        done
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RAW/machine.txt"
for name in "${!PC_MGMT[@]}"; do
    printf '%s\t%s\n' "$name" "$(curl -s --max-time 5 "http://127.0.0.1:${PC_MGMT[$name]}/actuator/prometheus" \
        | grep -E '^portcullis_(peek_rejects_total|audit_dropped_total)' | grep -v ' 0\.0$' | tr '\n' ' ')"
done >"$RAW/meters.txt"

# ---------------------------------------------------------------- report

"$PY" "$E2E_DIR/peek_report.py" --raw "$RAW" --name "$NAME" --json "$RESULTS/$NAME.json" --markdown "$RESULTS/$NAME.md"
log "wrote $RESULTS/$NAME.json and $RESULTS/$NAME.md (raw outputs and logs in $WORK)"
