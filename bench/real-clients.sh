#!/usr/bin/env bash
# Real clients through the gateway: pgbench (PostgreSQL) and redis-benchmark (Redis) through Portcullis as deployed
# (defaults: transport auto, conditional accept with the 10,000-CIDR policy, audit log on), through Portcullis on
# forced epoll (the container case) and through HAProxy (mode tcp), each proxy with WORKERS threads, the paths
# interleaved round by round, medians and ratios to HAProxy.
#
#   bench/real-clients.sh             3 rounds, 8 s per run (about 6 minutes)
#   QUICK=1 bench/real-clients.sh     1 round, 3 s per run
#
# Workloads: pgbench -S (select-only, scale 10) with 8 persistent clients, and with -C (a new connection per
# transaction: the connection path, PostgreSQL's start-up included); redis-benchmark GET and SET, 50 persistent
# clients; redis-benchmark GET with -k 0 (a new connection per request).
# Writes bench/results/real-clients-<date>[-quick].md; raw outputs in bench/results/tmp/.
set -euo pipefail
# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then REPEATS=${REPEATS:-1} DURATION=${DURATION:-3} PROFILE=quick
else REPEATS=${REPEATS:-3} DURATION=${DURATION:-8} PROFILE=default; fi
DATE=${DATE:-$(date -u +%Y-%m-%d)}
NAME=real-clients-$DATE
[ "$PROFILE" = quick ] && NAME=$NAME-quick
WORK=$RESULTS/tmp/$NAME
RAW=$WORK/raw
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

command -v java >/dev/null || die "java not found (Java 17+ needed)"
ensure_packages redis-server
command -v redis-benchmark >/dev/null || ensure_packages redis-tools
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/pgbench" ]; then
    ensure_packages postgresql
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
ensure_jar
setup_pinning
watchdog $((600 + REPEATS * 12 * (DURATION + 5)))

rm -rf "$WORK"
mkdir -p "$RAW"
write_machine "$RAW/machine.txt"
"$PY" "$E2E_DIR/gen_rules.py" "$WORK/rules"

alloc_port PG_PORT; alloc_port REDIS_PORT
alloc_port HA_PG; alloc_port HA_REDIS
alloc_port PC_PG; alloc_port PC_REDIS; alloc_port PC_MGMT
alloc_port EP_PG; alloc_port EP_REDIS; alloc_port EP_MGMT

# ---------------------------------------------------------------- the servers

# PostgreSQL in a directory of its own, as an unprivileged user (postgres refuses root), fsync off, trust on loopback.
PGUSER_OS=postgres
id "$PGUSER_OS" >/dev/null 2>&1 || die "no '$PGUSER_OS' user (the postgresql package makes it)"
mkdir -p "$WORK/pg" && chown "$PGUSER_OS" "$WORK/pg"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u "$PGUSER_OS" -- "$@"; else "$@"; fi; }
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U bench >"$RAW/initdb.log" 2>&1 || die "initdb failed: $(tail -3 "$RAW/initdb.log")"
start_bg "postgres (:$PG_PORT)" "$RAW/postgres.log" \
    runuser -u "$PGUSER_OS" -- "$PGBIN/postgres" -D "$WORK/pg/data" -p "$PG_PORT" -k "$WORK/pg" \
    -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c shared_buffers=256MB
wait_listen "$PG_PORT" "$LAST_PID" 30 || die "postgres did not start: $(tail -3 "$RAW/postgres.log")"
for _ in $(seq 50); do "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.2; done
"$PGBIN/pgbench" -i -q -s 10 -h 127.0.0.1 -p "$PG_PORT" -U bench postgres >"$RAW/pgbench-init.log" 2>&1 \
    || die "pgbench -i failed: $(tail -3 "$RAW/pgbench-init.log")"

start_bg "redis-server (:$REDIS_PORT)" "$RAW/redis.log" \
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --maxclients 10000 --protected-mode no
wait_listen "$REDIS_PORT" "$LAST_PID" 20 || die "redis-server did not start"

# ---------------------------------------------------------------- the proxies

# Its two frontends are named bench and iperf (lib.sh): here PostgreSQL and Redis.
start_haproxy "$WORK/haproxy" "$PG_PORT" "$HA_PG" "$REDIS_PORT" "$HA_REDIS"

RULES_LIST=$WORK/rules/rules-list.yaml
mapfile -t PC_ARGS < <(listener_args 0 bench "$PC_PG" "$PG_PORT" true; listener_args 1 iperf "$PC_REDIS" "$REDIS_PORT" true)
launch_portcullis default "$WORK/portcullis-default" "$PC_MGMT" "$PC_PG $PC_REDIS" --portcullis.rules="file:$RULES_LIST" "${PC_ARGS[@]}"
mapfile -t EP_ARGS < <(listener_args 0 bench "$EP_PG" "$PG_PORT" true; listener_args 1 iperf "$EP_REDIS" "$REDIS_PORT" true)
launch_portcullis epoll "$WORK/portcullis-epoll" "$EP_MGMT" "$EP_PG $EP_REDIS" --portcullis.rules="file:$RULES_LIST" \
    --portcullis.transport=epoll "${EP_ARGS[@]}"
await_portcullis default || die "portcullis (default) did not start: $START_ERROR"
DEFAULT_TRANSPORT=$(grep -o 'Transport: [a-z_]*' "$WORK/portcullis-default/portcullis.log" | head -1 | cut -d' ' -f2)
await_portcullis epoll || die "portcullis (epoll) did not start: $START_ERROR"

declare -A PGP RDP
PATHS=(direct haproxy portcullis epoll)
PGP[direct]=$PG_PORT RDP[direct]=$REDIS_PORT
PGP[haproxy]=$HA_PG RDP[haproxy]=$HA_REDIS
PGP[portcullis]=$PC_PG RDP[portcullis]=$PC_REDIS
PGP[epoll]=$EP_PG RDP[epoll]=$EP_REDIS

# ---------------------------------------------------------------- the runs

CLIENT=(${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"})
# run PATH WORKLOAD ROUND: one measurement, its rate (per second) on stdout.
run() {
    local p=$1 w=$2 r=$3 out="$RAW/$1-$2-$3.txt" n
    case $w in
        pg-select)   run_fg timeout $((DURATION + 30)) "${CLIENT[@]}" "$PGBIN/pgbench" -n -S -c 8 -j 1 -T "$DURATION" \
                        -h 127.0.0.1 -p "${PGP[$p]}" -U bench postgres >"$out" 2>&1 || true
                     grep -m1 -oE 'tps = [0-9.]+' "$out" | awk '{print $3}' ;;
        pg-connect)  run_fg timeout $((DURATION + 30)) "${CLIENT[@]}" "$PGBIN/pgbench" -n -S -C -c 8 -j 1 -T "$DURATION" \
                        -h 127.0.0.1 -p "${PGP[$p]}" -U bench postgres >"$out" 2>&1 || true
                     grep -m1 -oE 'tps = [0-9.]+' "$out" | awk '{print $3}' ;;
        redis-get|redis-set)
                     n=$((DURATION * 40000))
                     run_fg timeout $((DURATION * 4 + 30)) "${CLIENT[@]}" redis-benchmark -h 127.0.0.1 -p "${RDP[$p]}" \
                        -c 50 -n "$n" -t "${w#redis-}" --csv >"$out" 2>&1 || true
                     grep -m1 -i "\"${w#redis-}\"" "$out" | cut -d, -f2 | tr -d '"' ;;
        redis-connect)
                     n=$((DURATION * 2000))
                     run_fg timeout $((DURATION * 4 + 30)) "${CLIENT[@]}" redis-benchmark -h 127.0.0.1 -p "${RDP[$p]}" \
                        -c 10 -k 0 -n "$n" -t get --csv >"$out" 2>&1 || true
                     grep -m1 -i '"get"' "$out" | cut -d, -f2 | tr -d '"' ;;
    esac
}

WORKLOADS=(pg-select pg-connect redis-get redis-set redis-connect)
for p in "${PATHS[@]}"; do  # a warm-up per path (the JIT), not measured
    for w in "${WORKLOADS[@]}"; do DURATION=2 run "$p" "$w" 0 >/dev/null; done
done
RESULTS_TSV=$RAW/results.tsv
: >"$RESULTS_TSV"
for r in $(seq "$REPEATS"); do
    for w in "${WORKLOADS[@]}"; do
        for p in "${PATHS[@]}"; do
            v=$(run "$p" "$w" "$r")
            log "round $r $w $p: ${v:-FAILED}/s"
            printf '%s\t%s\t%s\t%s\n' "$r" "$w" "$p" "${v:-}" >>"$RESULTS_TSV"
        done
    done
done

"$PY" - "$RESULTS_TSV" "$RAW/machine.txt" "$REPEATS" "$DURATION" "$DEFAULT_TRANSPORT" "$WORKERS" \
    >"$RESULTS/$NAME.md" <<'EOF'
import statistics, sys
tsv, machine, repeats, duration, transport, workers = sys.argv[1:]
rows = [l.rstrip('\n').split('\t') for l in open(tsv) if l.strip()]
val = {}
for r, w, p, v in rows:
    val.setdefault((w, p), {})[r] = float(v) if v else None
names = {'pg-select': 'pgbench -S, 8 clients (transactions/s)',
         'pg-connect': 'pgbench -S -C, 8 clients, a connection per transaction (transactions/s)',
         'redis-get': 'redis-benchmark GET, 50 clients (requests/s)',
         'redis-set': 'redis-benchmark SET, 50 clients (requests/s)',
         'redis-connect': 'redis-benchmark GET -k 0, 10 clients, a connection per request (requests/s)'}
print('# Real clients through the gateway')
print()
print('Medians of %s interleaved rounds of %s s; in brackets the median over the rounds of the ratio to HAProxy in '
      'the same round. Every proxy with %s worker thread(s). Portcullis: conditional accept, the 10,000-CIDR '
      'policy, audit log on (to a file); "default" is `transport: auto` (here: %s), "epoll" forced.' %
      (repeats, duration, workers, transport))
print()
print('| workload | direct | HAProxy | Portcullis default | Portcullis epoll |')
print('|---|--:|--:|--:|--:|')
for w in names:
    cells = []
    for p in ('direct', 'haproxy', 'portcullis', 'epoll'):
        vs = [v for v in val.get((w, p), {}).values() if v is not None]
        med = statistics.median(vs) if vs else None
        text = '-' if med is None else '{:,.0f}'.format(med)
        if p in ('portcullis', 'epoll') and med is not None:
            ratios = [val[(w, p)][r] / val[(w, 'haproxy')][r] for r in val[(w, p)]
                      if val[(w, p)][r] and val.get((w, 'haproxy'), {}).get(r)]
            if ratios:
                text += ' (**%.2f**)' % statistics.median(ratios)
        cells.append(text)
    print('| %s | %s |' % (names[w], ' | '.join(cells)))
print()
print('Machine:')
print()
for line in open(machine):
    print('    ' + line.rstrip())
EOF
cat "$RESULTS/$NAME.md"
log "wrote $RESULTS/$NAME.md"
