# Shared by bench/run-e2e.sh, bench/peek-tls.sh, bench/syscalls.sh and bench/pend-memory.sh; sourced, not run.
#
# Starts the loopback peers (an nginx HTTP backend, an iperf3 server, HAProxy, nginx stream, Portcullis)
# in a work directory, remembers every process it starts and stops them all on exit, Ctrl-C or error.
# Only loopback addresses (127.0.0.0/8) are used. Ports come from BASE_PORT (default 27100) upwards,
# skipping ports already listening; that range is below Linux's ephemeral ports (32768-60999).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
E2E_DIR=$BENCH_DIR/e2e
RESULTS=$BENCH_DIR/results

# Debian's python3 has python3-matplotlib; a pyenv or venv python3 earlier on PATH would not see it.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

WORKERS=${WORKERS:-1}             # worker threads of every proxy (HAProxy nbthread, nginx workers, Portcullis I/O)
BACKEND_WORKERS=${BACKEND_WORKERS:-2}
PIN=${PIN:-auto}                  # 1: proxies on CPUs 0..WORKERS-1, clients on the next; 0: no pinning
JVM_HEAP=${JVM_HEAP:-512m}
JVM_GC=${JVM_GC:--XX:+UseParallelGC}
# file: every Portcullis process writes its audit and shadow lines to DIR/audit.log (bench/e2e/logback-audit.xml),
# as deployed; off: the audit log is off (-Dlogging.level.io.portcullis.audit=off), to compare.
AUDIT=${AUDIT:-file}
case $AUDIT in file|off) ;; *) echo "AUDIT must be file or off, not '$AUDIT'" >&2; exit 2 ;; esac

# Messages go to the script's own stderr (fd LOG_FD), also from a trap that runs while a run's output is redirected.
exec {LOG_FD}>&2
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&"$LOG_FD"; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- processes and clean-up

PIDS=()
LAST_PID=

# start_bg NAME LOGFILE CMD... : runs CMD in the background, output to LOGFILE; its pid in LAST_PID.
start_bg() {
    local name=$1 logfile=$2
    shift 2
    "$@" >"$logfile" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    log "started $name (pid $LAST_PID)"
}

# run_fg CMD... : runs CMD as a child the clean-up knows and waits for it. Ctrl-C then ends the script at once:
# bash runs an INT trap during the wait builtin, whereas a foreground child that handles SIGINT itself (wrk) or
# runs in its own process group (timeout) would make bash ignore the signal.
run_fg() {
    "$@" &
    local pid=$! rc=0
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget_pid "$pid"
    return $rc
}

descendants() { # every process below $1, deepest last
    local child
    for child in $(pgrep -P "$1" 2>/dev/null); do
        echo "$child"
        descendants "$child"
    done
}

# stop_pid PID... : TERM, up to 10 s, then KILL; children (nginx workers, a watchdog's sleep) included.
stop_pids() {
    local all=() pid i alive
    for pid in "$@"; do
        [ -n "$pid" ] || continue
        all+=("$pid")
        # shellcheck disable=SC2207
        all+=($(descendants "$pid"))
    done
    [ ${#all[@]} -gt 0 ] || return 0
    kill -TERM "${all[@]}" 2>/dev/null || true
    for i in $(seq 1 50); do
        alive=0
        for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1 && break; done
        [ $alive = 0 ] && break
        sleep 0.2
    done
    kill -KILL "${all[@]}" 2>/dev/null || true
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

# Removes PID from the list that clean-up stops (after the caller stopped it).
forget_pid() {
    local keep=() pid
    for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || keep+=("$pid"); done
    PIDS=(${keep[@]+"${keep[@]}"})
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ ${#PIDS[@]} -gt 0 ]; then
        log "stopping ${#PIDS[@]} processes"
        stop_pids "${PIDS[@]}"
    fi
    [ "$(type -t on_cleanup)" = function ] && on_cleanup
    exit $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# watchdog SECONDS: the whole script ends by itself after SECONDS, whatever happens.
watchdog() {
    local me=$$
    ( sleep "$1"; echo "watchdog: $1 s passed, stopping" >&2; kill -TERM "$me" ) &
    PIDS+=("$!")
}

# ---------------------------------------------------------------- ports

NEXT_PORT=${BASE_PORT:-27100}
port_in_use() { ss -Htan "( sport = :$1 )" 2>/dev/null | grep -q .; }

# alloc_port VAR: the next free port into VAR.
alloc_port() {
    while port_in_use "$NEXT_PORT"; do NEXT_PORT=$((NEXT_PORT + 1)); done
    printf -v "$1" '%s' "$NEXT_PORT"
    NEXT_PORT=$((NEXT_PORT + 1))
}

# wait_listen PORT PID SECONDS: until 127.0.0.1:PORT listens; fails when PID exits or time runs out.
wait_listen() {
    local port=$1 pid=$2 deadline=$((SECONDS + $3))
    while [ $SECONDS -lt "$deadline" ]; do
        ss -Htln "( sport = :$port )" 2>/dev/null | grep -q . && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# ---------------------------------------------------------------- CPU pinning

# With 1 worker thread: each proxy on CPU 0, the load generator (wrk, iperf3 -c) on CPU 1; the backend
# nginx and the iperf3 server are not pinned (the scheduler puts them where there is room).
setup_pinning() {
    local ncpu
    ncpu=$(nproc)
    PROXY_PIN=()
    CLIENT_PIN=()
    PIN_NOTE="none"
    if [ "$PIN" = auto ]; then
        if [ "$ncpu" -gt "$WORKERS" ]; then PIN=1; else PIN=0; fi
    fi
    if [ "$PIN" = 1 ] && [ "$ncpu" -gt "$WORKERS" ] && command -v taskset >/dev/null; then
        local proxy_cpus="0-$((WORKERS - 1))" client_cpu=$WORKERS
        [ "$WORKERS" = 1 ] && proxy_cpus=0
        PROXY_PIN=(taskset -c "$proxy_cpus")
        CLIENT_PIN=(taskset -c "$client_cpu")
        PROXY_CPUS_LIST=$proxy_cpus
        PIN_NOTE="proxies (every thread) on CPU $proxy_cpus, wrk/iperf3 client on CPU $client_cpu, backend nginx and iperf3 server unpinned"
    else
        PIN=0
        PROXY_CPUS_LIST=
        PIN_NOTE="none (WORKERS=$WORKERS leaves no CPU for the load generator on $ncpu CPUs, or PIN=0)"
    fi
}

# pin_all_threads PID: moves every thread of a running process (a JVM started unpinned) onto the proxy CPUs.
pin_all_threads() {
    [ -n "$PROXY_CPUS_LIST" ] || return 0
    taskset -a -p -c "$PROXY_CPUS_LIST" "$1" >/dev/null
}

# ---------------------------------------------------------------- dependencies and build

# ensure_packages [strace]: installs from Debian what is missing (apt-get update first).
ensure_packages() {
    local need=() extra
    command -v haproxy >/dev/null || need+=(haproxy)
    command -v nginx >/dev/null || need+=(nginx)
    [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need+=(libnginx-mod-stream)
    command -v wrk >/dev/null || need+=(wrk)
    command -v iperf3 >/dev/null || need+=(iperf3)
    /usr/bin/python3 -c 'import matplotlib' 2>/dev/null || need+=(python3-matplotlib)
    command -v ss >/dev/null || need+=(iproute2)
    command -v taskset >/dev/null || need+=(util-linux)
    command -v curl >/dev/null || need+=(curl)
    for extra in "$@"; do command -v "$extra" >/dev/null || need+=("$extra"); done
    command -v jcmd >/dev/null || need+=(openjdk-17-jdk-headless)
    [ ${#need[@]} -eq 0 ] && return 0
    log "installing from Debian: ${need[*]}"
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo -n)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
        || die "apt-get install ${need[*]} failed"
    [ -x /usr/bin/python3 ] && PY=/usr/bin/python3
}

# ensure_jar: JAR (default gateway-app/target/portcullis.jar of this repository), built when missing.
ensure_jar() {
    JAR=${JAR:-$REPO_DIR/gateway-app/target/portcullis.jar}
    if [ ! -f "$JAR" ]; then
        log "building the gateway: mvn -B -q -DskipTests package (in $REPO_DIR)"
        (cd "$REPO_DIR" && mvn -B -q -DskipTests package) || die "the build failed"
    fi
    [ -f "$JAR" ] || die "no $JAR after the build"
    JAR=$(realpath "$JAR")
}

# compile_harness DIR: bench/e2e/PendHarness.java compiled against the classes of JAR (unpacked into DIR).
# Sets HARNESS_CP; returns 1 with the reason in HARNESS_ERROR when the API it uses has changed.
compile_harness() {
    local dir=$1
    rm -rf "$dir/jar" "$dir/classes"
    mkdir -p "$dir/jar" "$dir/classes"
    (cd "$dir/jar" && jar xf "$JAR") || { HARNESS_ERROR="cannot unpack $JAR"; return 1; }
    HARNESS_CP="$dir/classes:$dir/jar/BOOT-INF/classes:$dir/jar/BOOT-INF/lib/*"
    if ! javac -nowarn -d "$dir/classes" -cp "$HARNESS_CP" "$E2E_DIR/PendHarness.java" >"$dir/javac.log" 2>&1; then
        HARNESS_ERROR="PendHarness.java does not compile against this jar: $(grep -m1 'error:' "$dir/javac.log")"
        return 1
    fi
    printf '%s\n' '<configuration>' \
        '  <appender name="out" class="ch.qos.logback.core.ConsoleAppender"><encoder><pattern>%d %-5level %logger{20} %msg%n</pattern></encoder></appender>' \
        '  <root level="INFO"><appender-ref ref="out"/></root>' '</configuration>' >"$dir/logback.xml"
}

# launch_harness DIR ACCEPT_PORT PEND_PORT BACKEND_PORT MAX_SECONDS: the embedded listeners (see PendHarness);
# await_harness DIR ACCEPT_PORT PEND_PORT: until both listen (1 with HARNESS_ERROR when not).
launch_harness() {
    local dir=$1
    jvm_opts
    start_bg "embedded harness (:$2 accept, :$3 pend)" "$dir/harness.log" \
        java "${JVM_OPTS[@]}" -Dlogback.configurationFile="$dir/logback.xml" -cp "$HARNESS_CP" PendHarness "$2" "$3" "$4" "$WORKERS" "$5"
    HARNESS_PID=$LAST_PID
}

await_harness() {
    if wait_listen "$2" "$HARNESS_PID" 180 && wait_listen "$3" "$HARNESS_PID" 10; then
        pin_all_threads "$HARNESS_PID"
        return 0
    fi
    HARNESS_ERROR="the harness did not start: $(grep -m1 -E 'Exception|Error' "$1/harness.log")"
    return 1
}

# ---------------------------------------------------------------- machine

write_machine() { # write_machine FILE
    {
        echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
        echo "nproc: $(nproc)"
        echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
        echo "kernel: $(uname -sr)"
        echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "commit: $(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO_DIR" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
        java -version 2>&1 | sed 's/^/java: /'
        echo "haproxy: $(haproxy -v 2>&1 | head -1)"
        echo "nginx: $(nginx -v 2>&1 | head -1)"
        echo "wrk: $(wrk -v 2>&1 | head -1)"
        echo "iperf3: $(iperf3 -v 2>&1 | head -1)"
    } >"$1"
}

# ---------------------------------------------------------------- peers

BODY=portcullis-bench-response-0123456789abcdef0123456789abcdef012345 # 64 bytes

# start_backend DIR HTTP_PORT [DECIDE_PORT]: nginx answering every request with BODY (keep-alive) on
# HTTP_PORT, and {"action":"accept"} on DECIDE_PORT (the loopback decision service).
start_backend() {
    local dir=$1 port=$2 decide=${3:-}
    mkdir -p "$dir/tmp"
    {
        echo "worker_processes $BACKEND_WORKERS;"
        echo "daemon off;"
        echo "pid $dir/nginx.pid;"
        echo "error_log $dir/error.log warn;"
        echo "worker_rlimit_nofile 20000;"
        echo "events { worker_connections 10000; multi_accept on; }"
        echo "http {"
        echo "  access_log off;"
        echo "  keepalive_requests 100000000;"
        echo "  keepalive_timeout 300s;"
        echo "  client_body_temp_path $dir/tmp/body; proxy_temp_path $dir/tmp/proxy;"
        echo "  fastcgi_temp_path $dir/tmp/fastcgi; uwsgi_temp_path $dir/tmp/uwsgi; scgi_temp_path $dir/tmp/scgi;"
        echo "  server { listen 127.0.0.1:$port backlog=4096;"
        echo "    location / { default_type text/plain; return 200 '$BODY'; } }"
        if [ -n "$decide" ]; then
            echo "  server { listen 127.0.0.1:$decide backlog=4096;"
            echo "    location / { default_type application/json; return 200 '{\"action\":\"accept\"}'; } }"
        fi
        echo "}"
    } >"$dir/nginx.conf"
    start_bg "backend nginx (:$port${decide:+, decision :$decide})" "$dir/stdout.log" \
        nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    BACKEND_PID=$LAST_PID
    wait_listen "$port" "$BACKEND_PID" 20 || die "backend nginx did not start: $(tail -3 "$dir/error.log")"
}

start_iperf_server() { # start_iperf_server DIR PORT
    start_bg "iperf3 server (:$2)" "$1/iperf3-server.log" iperf3 -s -B 127.0.0.1 -p "$2"
    IPERF_PID=$LAST_PID
    wait_listen "$2" "$IPERF_PID" 20 || die "iperf3 -s did not start: $(tail -3 "$1/iperf3-server.log")"
}

# start_haproxy DIR BACKEND_PORT HTTP_PORT [IPERF_TARGET IPERF_PORT]: mode tcp, nbthread WORKERS.
start_haproxy() {
    local dir=$1 backend=$2 port=$3 iperf_target=${4:-} iperf_port=${5:-}
    mkdir -p "$dir"
    {
        echo "global"
        echo "  nbthread $WORKERS"
        echo "  maxconn 8000"
        echo "defaults"
        echo "  mode tcp"
        echo "  timeout connect 2s"
        echo "  timeout client 1h"
        echo "  timeout server 1h"
        echo "frontend bench"
        echo "  bind 127.0.0.1:$port"
        echo "  default_backend bench"
        echo "backend bench"
        echo "  server backend 127.0.0.1:$backend"
        if [ -n "$iperf_port" ]; then
            echo "frontend iperf"
            echo "  bind 127.0.0.1:$iperf_port"
            echo "  default_backend iperf"
            echo "backend iperf"
            echo "  server iperf 127.0.0.1:$iperf_target"
        fi
    } >"$dir/haproxy.cfg"
    start_bg "haproxy (:$port${iperf_port:+, iperf :$iperf_port})" "$dir/haproxy.log" \
        ${PROXY_PIN[@]+"${PROXY_PIN[@]}"} haproxy -db -f "$dir/haproxy.cfg"
    HAPROXY_PID=$LAST_PID
    wait_listen "$port" "$HAPROXY_PID" 20 || die "haproxy did not start: $(tail -3 "$dir/haproxy.log")"
}

# start_nginx_stream DIR BACKEND_PORT HTTP_PORT [IPERF_TARGET IPERF_PORT]: stream proxy, worker_processes WORKERS.
start_nginx_stream() {
    local dir=$1 backend=$2 port=$3 iperf_target=${4:-} iperf_port=${5:-}
    mkdir -p "$dir"
    {
        echo "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
        echo "worker_processes $WORKERS;"
        echo "daemon off;"
        echo "pid $dir/nginx.pid;"
        echo "error_log $dir/error.log warn;"
        echo "worker_rlimit_nofile 20000;"
        echo "events { worker_connections 10000; }"
        echo "stream {"
        echo "  server { listen 127.0.0.1:$port; proxy_pass 127.0.0.1:$backend; proxy_connect_timeout 2s; proxy_timeout 1h; }"
        if [ -n "$iperf_port" ]; then
            echo "  server { listen 127.0.0.1:$iperf_port; proxy_pass 127.0.0.1:$iperf_target; proxy_timeout 1h; }"
        fi
        echo "}"
    } >"$dir/nginx.conf"
    start_bg "nginx stream (:$port${iperf_port:+, iperf :$iperf_port})" "$dir/stdout.log" \
        ${PROXY_PIN[@]+"${PROXY_PIN[@]}"} nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    NGINX_STREAM_PID=$LAST_PID
    wait_listen "$port" "$NGINX_STREAM_PID" 20 || die "nginx stream did not start: $(tail -3 "$dir/error.log")"
}

# start_haproxy_sni DIR BACKEND_PORT PORT NAME: routes a TLS ClientHello by its SNI, as HAProxy documents it:
# waits (inspect-delay) for a complete ClientHello, then the backend for SNI NAME; anything else has no backend
# and is closed. mode tcp, nbthread WORKERS.
start_haproxy_sni() {
    local dir=$1 backend=$2 port=$3 name=$4
    mkdir -p "$dir"
    {
        echo "global"
        echo "  nbthread $WORKERS"
        echo "  maxconn 8000"
        echo "defaults"
        echo "  mode tcp"
        echo "  timeout connect 2s"
        echo "  timeout client 1h"
        echo "  timeout server 1h"
        echo "frontend tls"
        echo "  bind 127.0.0.1:$port"
        echo "  tcp-request inspect-delay 5s"
        echo "  tcp-request content accept if { req.ssl_hello_type 1 }"
        echo "  use_backend bench if { req.ssl_sni -i $name }"
        echo "backend bench"
        echo "  server backend 127.0.0.1:$backend"
    } >"$dir/haproxy.cfg"
    start_bg "haproxy, SNI routing (:$port)" "$dir/haproxy.log" \
        ${PROXY_PIN[@]+"${PROXY_PIN[@]}"} haproxy -db -f "$dir/haproxy.cfg"
    HAPROXY_PID=$LAST_PID
    wait_listen "$port" "$HAPROXY_PID" 20 || die "haproxy did not start: $(tail -3 "$dir/haproxy.log")"
}

# start_nginx_preread DIR BACKEND_PORT PORT NAME: nginx stream with ssl_preread; a map of
# $ssl_preread_server_name sends SNI NAME to the backend and anything else to a server that closes at once.
start_nginx_preread() {
    local dir=$1 backend=$2 port=$3 name=$4
    mkdir -p "$dir"
    {
        echo "load_module /usr/lib/nginx/modules/ngx_stream_module.so;"
        echo "worker_processes $WORKERS;"
        echo "daemon off;"
        echo "pid $dir/nginx.pid;"
        echo "error_log $dir/error.log warn;"
        echo "worker_rlimit_nofile 20000;"
        echo "events { worker_connections 10000; }"
        echo "stream {"
        echo "  map \$ssl_preread_server_name \$by_name { $name 127.0.0.1:$backend; default unix:$dir/reject.sock; }"
        echo "  server { listen 127.0.0.1:$port; ssl_preread on; preread_timeout 5s; proxy_pass \$by_name;"
        echo "           proxy_connect_timeout 2s; proxy_timeout 1h; }"
        echo "  server { listen unix:$dir/reject.sock; return ''; }"
        echo "}"
    } >"$dir/nginx.conf"
    rm -f "$dir/reject.sock"
    start_bg "nginx stream, ssl_preread (:$port)" "$dir/stdout.log" \
        ${PROXY_PIN[@]+"${PROXY_PIN[@]}"} nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    NGINX_STREAM_PID=$LAST_PID
    wait_listen "$port" "$NGINX_STREAM_PID" 20 || die "nginx stream did not start: $(tail -3 "$dir/error.log")"
}

# JVM options of every Portcullis process (the same for all, recorded in the results).
jvm_opts() {
    local cpus=$WORKERS
    [ "$PIN" = 1 ] || cpus=$(nproc)
    JVM_OPTS=("-Xms$JVM_HEAP" "-Xmx$JVM_HEAP" $JVM_GC -XX:+AlwaysPreTouch "-XX:ActiveProcessorCount=$cpus")
    if [ "$AUDIT" = file ]; then
        JVM_OPTS+=("-Dlogging.config=$E2E_DIR/logback-audit.xml")
    else
        JVM_OPTS+=(-Dlogging.level.io.portcullis.audit=off)
    fi
}

# launch_portcullis NAME DIR MGMT_PORT WAIT_PORTS ARGS... : starts java -jar JAR ARGS with the common options
# and returns at once (several can start side by side); await_portcullis NAME then waits until it listens on
# every port of WAIT_PORTS. Started unpinned (Spring's start-up uses every core), pinned to the proxy CPUs once
# it listens. start_portcullis does both.
declare -A PC_PID PC_DIR PC_PORTS PC_MGMT
launch_portcullis() {
    local name=$1 dir=$2 mgmt=$3 ports=$4
    shift 4
    mkdir -p "$dir"
    printf '%s\n' "$@" >"$dir/args"
    PC_DIR[$name]=$dir PC_PORTS[$name]=$ports PC_MGMT[$name]=$mgmt
    jvm_opts
    if [ "$AUDIT" = file ]; then JVM_OPTS+=("-Daudit.file=$dir/audit.log"); fi
    start_bg "portcullis $name (${ports// /, })" "$dir/portcullis.log" \
        java "${JVM_OPTS[@]}" -jar "$JAR" --server.port="$mgmt" --portcullis.worker-threads="$WORKERS" "$@"
    PC_PID[$name]=$LAST_PID
}

# check_transport NAME EXPECTED: stops the script unless the Portcullis process NAME's log says it runs on EXPECTED;
# a label must not claim what the process did not do (auto picks io_uring on a host that allows it).
check_transport() {
    local got
    got=$(grep -o 'Transport: [a-z_]*' "${PC_DIR[$1]}/portcullis.log" | sed -n 1p | cut -d' ' -f2)
    [ "$got" = "$2" ] || die "portcullis $1 runs on '$got', not $2"
}

# await_portcullis NAME: 0 when it listens (its pid in PORTCULLIS_PID); 1 with the reason in START_ERROR.
# When the jar refuses the health-check keys (an older build) they are dropped and it is started once more.
await_portcullis() {
    local name=$1 attempt p ok
    local dir=${PC_DIR[$name]} ports=${PC_PORTS[$name]}
    for attempt in 1 2; do
        local pid=${PC_PID[$name]}
        ok=1
        for p in $ports; do
            wait_listen "$p" "$pid" 180 || { ok=0; break; }
        done
        if [ $ok = 1 ]; then
            pin_all_threads "$pid"
            PORTCULLIS_PID=$pid
            return 0
        fi
        stop_pids "$pid"
        forget_pid "$pid"
        cp "$dir/portcullis.log" "$dir/portcullis-failed-$attempt.log"
        START_ERROR=$(grep -A3 -m1 -E '^Description:' "$dir/portcullis.log" | grep -v '^\s*$' | tr -s ' \n' ' ' | cut -c1-300)
        [ -n "$START_ERROR" ] || START_ERROR=$(grep -m1 -E 'Exception|ERROR' "$dir/portcullis.log" | cut -c1-300)
        [ -n "$START_ERROR" ] || START_ERROR="no listener within 180 s (see $dir/portcullis.log)"
        if [ $attempt = 1 ] && grep -q 'health-check' "$dir/portcullis.log"; then
            log "portcullis $name: the jar does not take health-check keys; starting it again without them"
            local args=() a
            while IFS= read -r a; do [[ $a == *health-check* ]] || args+=("$a"); done <"$dir/args"
            launch_portcullis "$name" "$dir" "${PC_MGMT[$name]}" "$ports" "${args[@]}"
            continue
        fi
        return 1
    done
    return 1
}

start_portcullis() {
    launch_portcullis "$@"
    await_portcullis "$1"
}

# listener_args INDEX NAME PORT BACKEND_PORT CONDITIONAL_ACCEPT: Spring properties of one listener.
listener_args() {
    local i=$1
    echo "--portcullis.listeners[$i].name=$2"
    echo "--portcullis.listeners[$i].bind=127.0.0.1:$3"
    echo "--portcullis.listeners[$i].backends[0]=127.0.0.1:$4"
    echo "--portcullis.listeners[$i].conditional-accept=$5"
    echo "--portcullis.listeners[$i].health-check.enabled=false"
}

# jit_ticks PID: the CPU ticks (user + system) the JVM's JIT compiler threads have used so far.
jit_ticks() {
    local t sum=0 v
    for t in /proc/"$1"/task/*; do
        case "$(cat "$t/comm" 2>/dev/null)" in
            "C1 Compiler"*|"C2 Compiler"*)
                v=$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null) || v=0
                sum=$((sum + ${v:-0})) ;;
        esac
    done
    echo "$sum"
}

# warm_until_jit_idle PID SECONDS CMD...: runs CMD (SECONDS of load through a path of the JVM PID) again until
# its JIT compiler threads used less than JIT_IDLE_PERCENT (default 3) % of a core during a run, or JIT_SETTLE_MAX
# seconds (default 150) have passed. With the JVM on one core, C2 keeps compiling large inlined methods (0.7 s
# each) for a minute or two under load, and a short warm-up would charge that to the measured rounds; a gateway
# in service pays it once. Logs how long it took and whether it settled.
warm_until_jit_idle() {
    local pid=$1 secs=$2 start=$SECONDS before used tck
    shift 2
    tck=$(getconf CLK_TCK)
    while :; do
        before=$(jit_ticks "$pid")
        "$@" || true
        used=$(( $(jit_ticks "$pid") - before ))
        if [ $((used * 100)) -lt $(( ${JIT_IDLE_PERCENT:-3} * secs * tck )) ]; then
            log "JIT of pid $pid idle after $((SECONDS - start)) s of extra warm-up ($used ticks in the last ${secs} s)"
            return 0
        fi
        if [ $((SECONDS - start)) -ge "${JIT_SETTLE_MAX:-150}" ]; then
            log "JIT of pid $pid still compiling after $((SECONDS - start)) s ($used ticks in the last ${secs} s): measuring anyway"
            return 0
        fi
    done
}

# write_deny_policy DIR: DIR/deny.txt (10,000 /24s in 10.0.0.0/8) and DIR/rules.yaml, listener "bench":
# the deny list rejects, 127.0.0.0/8 is accepted, the rest rejected. The policy of the profiling scripts.
write_deny_policy() {
    "$PY" - "$1/deny.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(10_000):
        f.write(f"10.{i // 256 % 256}.{i % 256}.0/24\n")
PY
    cat >"$1/rules.yaml" <<YAML
lists:
  deny: { file: ./deny.txt }
listeners:
  bench:
    rules:
      - name: deny-listed
        source: [list:deny]
        action: reject
      - name: local
        source: [127.0.0.0/8]
        action: accept
    default: reject
YAML
}

# check_http PORT: a request through a path answers BODY (a proxy misconfigured fails here, not in a run).
# Three tries, a second apart: a cold JVM's first pend + decision call can miss its 300 ms timeout.
check_http() {
    local got attempt
    for attempt in 1 2 3; do
        got=$(curl -s -m 5 "http://127.0.0.1:$1/" 2>/dev/null) || true
        [ "$got" = "$BODY" ] && return 0
        sleep 1
    done
    return 1
}
