#!/usr/bin/env bash
# Memory of pended connections (issue 7: 50,000 pended connections held at once in at most 256 MiB of heap).
#
# Starts Portcullis with a 256 MiB heap and one listener whose policy pends every connection (inspect timeout
# 10 min, max-pending 60,000), opens CONNECTIONS client connections from 127.0.0.2..127.0.0.200 (a Python
# asyncio client, stdlib only) in two halves, and after each half, once the gateway reports them all pended,
# forces a full GC (jcmd GC.run) and reads the heap in use (jcmd GC.heap_info) and the resident set size.
#
#   bench/pend-memory.sh                      50,000 connections (or as many as the open-files limit allows)
#   CONNECTIONS=20000 bench/pend-memory.sh
#   TRANSPORT=io_uring bench/pend-memory.sh   the same on another transport (writes pend-memory-<date>-io_uring.txt)
#
# Each process needs one descriptor per connection. When the hard limit of open files (ulimit -Hn) is below
# CONNECTIONS + 1,500 and cannot be raised (raising it needs CAP_SYS_RESOURCE), the run holds as many as the
# limit allows and projects the heap at CONNECTIONS from the measured bytes per pended connection (the slope
# between the two halves); the report says so. Writes bench/results/pend-memory-<date>.txt.
set -euo pipefail
# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

WANTED=${CONNECTIONS:-50000}
HEAP=${PEND_HEAP:-256m}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
WORK=$RESULTS/tmp/pend-memory-$DATE
TRANSPORT=${TRANSPORT:-auto}
SUFFIX=; [ "$TRANSPORT" = auto ] || SUFFIX=-$TRANSPORT
WORK=$WORK$SUFFIX
OUT=$RESULTS/pend-memory-$DATE$SUFFIX.txt

command -v java >/dev/null || die "java not found (Java 17+ needed)"
ensure_packages
ensure_jar
watchdog 900
rm -rf "$WORK"
mkdir -p "$WORK"

# Descriptors: the gateway and the client each hold one per connection, plus their own files.
need=$((WANTED + 1500))
if ! ulimit -n "$need" 2>/dev/null; then
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && hard=$need
    ulimit -n "$hard"
fi
LIMIT=$(ulimit -n)
HELD=$WANTED
if [ "$LIMIT" -lt "$need" ]; then
    HELD=$(((LIMIT - 1500) / 1000 * 1000))
    log "open files limited to $LIMIT (hard limit; raising it needs CAP_SYS_RESOURCE): holding $HELD connections, projecting $WANTED"
fi
[ "$HELD" -ge 2000 ] || die "open-files limit $LIMIT is too low for this measurement"
HALF=$((HELD / 2))

cat >"$WORK/rules.yaml" <<'EOF'
# Every connection is pended, for 10 minutes: nothing completes them during the measurement.
listeners:
  hold:
    rules:
      - name: hold-all
        action: pend
        timeout: 10m
    default: reject
EOF
alloc_port PORT; alloc_port MGMT; alloc_port UNUSED_BACKEND
JVM_HEAP=$HEAP
PIN=0
setup_pinning
launch_portcullis hold "$WORK/portcullis" "$MGMT" "$PORT" --portcullis.rules="file:$WORK/rules.yaml" \
    $(listener_args 0 hold "$PORT" "$UNUSED_BACKEND" true) \
    --portcullis.listeners[0].inspect.timeout=10m \
    --portcullis.listeners[0].inspect.max-pending=60000 \
    --portcullis.listeners[0].inspect.on-timeout=reject \
    --portcullis.transport="$TRANSPORT"
await_portcullis hold || die "portcullis did not start: $START_ERROR"
PID=$PORTCULLIS_PID

pending() { # pended inspections the gateway reports (its gauge), else established server-side sockets
    local v
    v=$(curl -s -m 5 "http://127.0.0.1:$MGMT/actuator/prometheus" | awk '/^portcullis_pending_inspections\{.*listener="hold"/ {print $2}')
    if [[ $v =~ ^[0-9.]+$ ]]; then printf '%.0f\n' "$v"; else echo "ss:$(ss -Htn state established "( sport = :$PORT )" | wc -l)"; fi
}

heap_used_kib() { # full GC, then the heap in use, in KiB (ParallelGC, G1 and Serial report formats)
    jcmd "$PID" GC.run >/dev/null
    jcmd "$PID" GC.heap_info | awk '
        /(PSYoungGen|ParOldGen|def new generation|tenured generation) +total/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K.*/, "", v); s += v } }
        /garbage-first heap +total/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i + 1); sub(/K.*/, "", v); s += v } }
        END { print s + 0 }'
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }

measure() { # measure LABEL: a line "LABEL pended heap_kib rss_kib"
    sleep 1
    local h r
    h=$(heap_used_kib)
    h=$(heap_used_kib)   # twice: the first full GC may leave a little behind
    r=$(rss_kib)
    echo "$1 $(pending) $h $r" | tee -a "$WORK/measurements.txt" >&2
}

# Baseline: started and idle. The slope between the two halves leaves out what the first connections load once.
: >"$WORK/measurements.txt"
measure baseline

coproc CLIENT { "$PY" "$E2E_DIR/pend_client.py" --port "$PORT" --stages "$HALF,$HELD" --deadline 800 2>"$WORK/client.log"; }
PIDS+=("$CLIENT_PID")
CLIENT_OUT=${CLIENT[0]}
CLIENT_IN=${CLIENT[1]}

await_pended() { # await_pended N: until the gateway holds N pended inspections (up to 180 s)
    local deadline=$((SECONDS + 180)) p
    while [ $SECONDS -lt $deadline ]; do
        p=$(pending)
        [ "${p#ss:}" -ge "$1" ] && return 0
        sleep 1
    done
    log "only $(pending) of $1 connections pended after 180 s"
}

for stage in half full; do
    read -r -t 300 -u "$CLIENT_OUT" line || die "the client did not report (see $WORK/client.log)"
    log "client: $line"
    echo "$stage-client $line" >>"$WORK/measurements.txt"
    await_pended "$(echo "$line" | awk '{print $2}')"
    measure "$stage"
    [ $stage = half ] && echo next >&"$CLIENT_IN"
done
echo quit >&"$CLIENT_IN"
read -r -t 120 -u "$CLIENT_OUT" line || true
log "client: $line"
sleep 2
curl -s -m 5 "http://127.0.0.1:$MGMT/actuator/prometheus" | grep -E '^portcullis_pended_outcomes_total\{.*listener="hold"' \
    >"$WORK/outcomes.txt" || true

"$PY" - "$WORK/measurements.txt" "$WANTED" "$HELD" "$HEAP" "$LIMIT" "$WORK/outcomes.txt" >"$OUT" <<'EOF'
import sys
meas, wanted, held, heap, limit, outcomes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
rows, clients = {}, {}
for line in open(meas):
    parts = line.split()
    if parts[0].endswith("-client"):
        clients[parts[0][:-7]] = " ".join(parts[1:])
    else:
        rows[parts[0]] = (parts[1], int(parts[2]), int(parts[3]))
heap_mib = int(heap[:-1]) if heap.endswith("m") else None
base, half, full = rows["baseline"], rows["half"], rows["full"]
n_half, n_full = held // 2, held
per_full = (full[1] - base[1]) * 1024 / n_full
slope = (full[1] - half[1]) * 1024 / (n_full - n_half)
rss_per = (full[2] - base[2]) * 1024 / n_full
projected = base[1] * 1024 + wanted * max(per_full, slope)
print(f"Pended connections and heap (bench/pend-memory.sh), -Xmx{heap}, ParallelGC, after a full GC (jcmd GC.run)")
print()
print("pended: the gateway's portcullis_pending_inspections gauge; 'ss:N' when the gauge did not give a number")
print("(then N counts established server-side sockets of the listener instead)")
print()
print(f"{'point':<10}{'pended':>10}{'heap used':>14}{'RSS':>14}")
for name, (p, h, r) in rows.items():
    print(f"{name:<10}{p:>10}{h / 1024:>11.1f} MiB{r / 1024:>11.1f} MiB")
print()
print(f"client: half: {clients.get('half')}; full: {clients.get('full')}")
print(f"heap per pended connection: {per_full:,.0f} bytes (baseline to {n_full:,}); {slope:,.0f} bytes (between {n_half:,} and {n_full:,})")
print(f"resident memory per pended connection outside the heap (the heap is pre-touched, so RSS grows only by native"
      f" memory: Netty, NIO, malloc; kernel socket buffers are not in RSS): {rss_per:,.0f} bytes")
if held < wanted:
    print(f"held {held:,} instead of {wanted:,}: the open-files limit here is {limit} (raising it needs CAP_SYS_RESOURCE)")
    print(f"projected heap at {wanted:,} pended: {projected / 2**20:,.1f} MiB (baseline + {wanted:,} x the larger of the two figures)")
    verdict_heap = projected
else:
    verdict_heap = full[1] * 1024
if heap_mib:
    ok = verdict_heap <= 256 * 2**20
    print(f"target: {wanted:,} pended connections in at most 256 MiB of heap: {'met' if ok else 'missed'}"
          f" ({verdict_heap / 2**20:,.1f} MiB{' projected' if held < wanted else ''})")
print()
print("outcomes after the client left (abort = client gone while pended):")
for line in open(outcomes):
    print("  " + line.strip())
EOF
echo "transport: $TRANSPORT ($(grep -o 'Transport: [a-z_]*' "$WORK/portcullis/portcullis.log" | head -n 1))" >>"$OUT"
cat "$OUT"
log "wrote $OUT (logs in $WORK)"
