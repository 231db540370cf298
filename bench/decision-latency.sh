#!/usr/bin/env bash
# Added latency of a pend + decision service call, uncached and cached, against a plain accept.
#
# Starts, all on 127.0.0.1 (loopback only, every process stopped on exit):
#   - a TCP echo backend (python asyncio),
#   - a decision service (python ThreadingHTTPServer): POST /uncached answers {"action":"accept"},
#     POST /cached answers {"action":"accept","ttl":"60s"}; GET /stats gives its call counters,
#   - Portcullis (-Xmx256m, one worker thread) with three listeners in front of the echo:
#       plain     rule action: accept
#       uncached  rule action: pend, decision: uncached (no cache; clients from 127.0.0.2..127.0.0.250)
#       cached    rule action: pend, decision: cached   (cache ttl 60s; clients all from 127.0.0.2)
# First 500 warm-up connections on each listener (JIT), then per listener: 500 warm-up connections, then N sequential connections from one client (connect, send 16
# bytes, read the 16-byte echo, close; latency = connect start to echo received), then a rate run
# (THREADS client threads for RATE_SECONDS) giving connections/s. Checks that the cached listener's pends
# were cache hits (portcullis_decision_requests_total{outcome="cached",service="cached"} > 0 and the
# service's own /cached counter stays small).
#
#   bench/decision-latency.sh                 N=3000
#   N=10000 bench/decision-latency.sh
#   JAR=/path/to/portcullis.jar bench/decision-latency.sh
#
# Writes bench/results/decision-latency-<date>.md and .json.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
N=${N:-3000}
WARMUP=${WARMUP:-500}
THREADS=${THREADS:-8}
RATE_SECONDS=${RATE_SECONDS:-5}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
RESULTS=$ROOT/bench/results
OUT_MD=$RESULTS/decision-latency-$DATE.md
OUT_JSON=$RESULTS/decision-latency-$DATE.json
JAR=${JAR:-$ROOT/gateway-app/target/portcullis.jar}
LIFETIME=900   # every helper process ends by itself after this many seconds, whatever happens to this script

log() { echo "[decision-latency] $*" >&2; }
die() { log "error: $*"; exit 1; }

command -v java >/dev/null || die "java not found (Java 17+ needed)"
command -v python3 >/dev/null || die "python3 not found"
command -v curl >/dev/null || die "curl not found"
if [ ! -f "$JAR" ]; then
    log "$JAR missing: building a private copy in /tmp/declat"
    rsync -a --exclude target --exclude .git "$ROOT/" /tmp/declat/
    (cd /tmp/declat && mvn -B -q -o -DskipTests package)
    JAR=/tmp/declat/gateway-app/target/portcullis.jar
fi

WORK=$(mktemp -d /tmp/decision-latency.XXXXXX)
PIDS=()
OK=0
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ $OK = 1 ]; then rm -rf "$WORK"; else log "logs kept in $WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------------
cat >"$WORK/declat.py" <<'PYEOF'
import asyncio, json, socket, sys, threading, time

def free_ports(k):
    socks, ports = [], []
    for _ in range(k):
        s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s); ports.append(s.getsockname()[1])
    for s in socks: s.close()
    print(" ".join(map(str, ports)))

def lifetime_guard(seconds):
    t = threading.Timer(seconds, lambda: __import__("os")._exit(0)); t.daemon = True; t.start()

def echo(port, lifetime):
    lifetime_guard(lifetime)
    async def handle(r, w):
        try:
            while True:
                data = await r.read(65536)
                if not data: break
                w.write(data); await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()
    async def main():
        srv = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
        async with srv: await srv.serve_forever()
    asyncio.run(main())

def decide(port, lifetime):
    from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
    lifetime_guard(lifetime)
    counts, lock = {"/uncached": 0, "/cached": 0, "other": 0, "connections": 0}, threading.Lock()
    bodies = {"/uncached": b'{"action":"accept"}', "/cached": b'{"action":"accept","ttl":"60s"}'}
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else header and body writes meet delayed ACK: ~40 ms per keep-alive call
        def log_message(self, *a): pass
        def setup(self):
            super().setup()
            with lock: counts["connections"] += 1
        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""): pass
                        return
                    self.rfile.read(size); self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            if n: self.rfile.read(n)
        def reply(self, code, body):
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self._headers_buffer.append(b"\r\n" + body)  # headers and body in one write
            self.flush_headers()
        def do_POST(self):
            self.read_body()
            path = self.path.split("?")[0]
            with lock: counts[path if path in bodies else "other"] += 1
            if path in bodies: self.reply(200, bodies[path])
            else: self.reply(404, b'{}')
        def do_GET(self):
            with lock: body = json.dumps(counts).encode()
            self.reply(200, body)
    class S(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256
    S(("127.0.0.1", port), H).serve_forever()

PAYLOAD = bytes(range(65, 81))  # 16 bytes

def one(port, src):
    """connect from src, send 16 bytes, read 16 back, close; seconds from connect start to echo received"""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT: the port is picked at connect, by 4-tuple
    s.settimeout(5)
    try:
        s.bind((src, 0))
        t0 = time.perf_counter()
        s.connect(("127.0.0.1", port))
        s.sendall(PAYLOAD)
        got = b""
        while len(got) < 16:
            chunk = s.recv(16 - len(got))
            if not chunk: raise ConnectionError("closed after %d bytes" % len(got))
            got += chunk
        dt = time.perf_counter() - t0
        if got != PAYLOAD: raise ValueError("echo mismatch")
        return dt
    finally:
        s.close()

def sources(mode):
    if mode == "vary":
        i = 0
        while True:
            yield "127.0.0.%d" % (2 + i % 249); i += 1
    while True: yield "127.0.0.2" if mode == "fixed" else "127.0.0.1"

def pct(sorted_ms, p):
    if not sorted_ms: return None
    k = (len(sorted_ms) - 1) * p / 100.0
    f = int(k); c = min(f + 1, len(sorted_ms) - 1)
    return sorted_ms[f] + (sorted_ms[c] - sorted_ms[f]) * (k - f)

def client(port, mode, warmup, n, threads, seconds):
    src = sources(mode)
    errors = {"warmup": 0, "seq": 0, "rate": 0}
    for _ in range(warmup):
        try: one(port, next(src))
        except Exception: errors["warmup"] += 1
    lat = []
    t_seq = time.perf_counter()
    for _ in range(n):
        try: lat.append(one(port, next(src)) * 1000.0)
        except Exception: errors["seq"] += 1
    t_seq = time.perf_counter() - t_seq
    lat.sort()
    # rate run: THREADS threads, each with its own source sequence, for SECONDS
    done, lock, stop = [0] * threads, threading.Lock(), time.perf_counter() + seconds
    def worker(i):
        g = sources(mode)
        for _ in range(i * 31): next(g)
        c = e = 0
        while time.perf_counter() < stop:
            try: one(port, next(g)); c += 1
            except Exception: e += 1
        done[i] = c
        with lock: errors["rate"] += e
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in ts: t.start()
    for t in ts: t.join()
    elapsed = time.perf_counter() - t0
    res = {
        "n": n, "ok": len(lat), "warmup": warmup, "errors": errors, "source_mode": mode,
        "seq_seconds": round(t_seq, 3),
        "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99),
        "mean_ms": sum(lat) / len(lat) if lat else None, "min_ms": lat[0] if lat else None,
        "max_ms": lat[-1] if lat else None,
        "rate_threads": threads, "rate_seconds": round(elapsed, 3), "rate_connections": sum(done),
        "conn_per_s": sum(done) / elapsed,
    }
    print(json.dumps(res))

if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "ports": free_ports(int(args[0]))
    elif cmd == "echo": echo(int(args[0]), float(args[1]))
    elif cmd == "decide": decide(int(args[0]), float(args[1]))
    elif cmd == "client": client(int(args[0]), args[1], int(args[2]), int(args[3]), int(args[4]), float(args[5]))
    else: sys.exit("unknown command " + cmd)
PYEOF
PY="python3 $WORK/declat.py"

read -r ECHO_PORT DECIDE_PORT MGMT P_PLAIN P_UNCACHED P_CACHED <<<"$($PY ports 6)"
log "ports: echo $ECHO_PORT decide $DECIDE_PORT mgmt $MGMT plain $P_PLAIN uncached $P_UNCACHED cached $P_CACHED"

$PY echo "$ECHO_PORT" "$LIFETIME" >"$WORK/echo.log" 2>&1 &
PIDS+=($!)
$PY decide "$DECIDE_PORT" "$LIFETIME" >"$WORK/decide.log" 2>&1 &
PIDS+=($!)

cat >"$WORK/rules.yaml" <<'EOF'
listeners:
  plain:
    rules:
      - name: accept-all
        action: accept
    default: accept
  uncached:
    rules:
      - name: ask-uncached
        action: pend
        decision: uncached
    default: reject
  cached:
    rules:
      - name: ask-cached
        action: pend
        decision: cached
    default: reject
EOF

LARGS=()
i=0
for spec in "plain:$P_PLAIN" "uncached:$P_UNCACHED" "cached:$P_CACHED"; do
    LARGS+=("--portcullis.listeners[$i].name=${spec%%:*}"
        "--portcullis.listeners[$i].bind=127.0.0.1:${spec##*:}"
        "--portcullis.listeners[$i].backends[0]=127.0.0.1:$ECHO_PORT"
        "--portcullis.listeners[$i].conditional-accept=true"
        "--portcullis.listeners[$i].health-check.enabled=false"
        "--portcullis.listeners[$i].inspect.timeout=5s"
        "--portcullis.listeners[$i].inspect.on-timeout=reject")
    i=$((i + 1))
done

timeout "$LIFETIME" java -Xms256m -Xmx256m -Dlogging.level.io.portcullis.audit=off -jar "$JAR" \
    --server.port="$MGMT" --portcullis.worker-threads=1 --portcullis.rules="file:$WORK/rules.yaml" \
    "${LARGS[@]}" \
    --portcullis.decision-services.uncached.url="http://127.0.0.1:$DECIDE_PORT/uncached" \
    --portcullis.decision-services.uncached.timeout=500ms \
    --portcullis.decision-services.cached.url="http://127.0.0.1:$DECIDE_PORT/cached" \
    --portcullis.decision-services.cached.cache.ttl=60s \
    --portcullis.decision-services.cached.cache.max-entries=1000 \
    >"$WORK/portcullis.log" 2>&1 &
PIDS+=($!)
JPID=$!

deadline=$((SECONDS + 90))
until [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$MGMT/actuator/health/readiness" || true)" = 200 ]; do
    kill -0 "$JPID" 2>/dev/null || { tail -30 "$WORK/portcullis.log" >&2; die "portcullis exited during start"; }
    [ $SECONDS -lt $deadline ] || { tail -30 "$WORK/portcullis.log" >&2; die "portcullis not ready after 90 s"; }
    sleep 0.5
done
log "portcullis ready ($JAR)"

stats() { curl -s -m 5 "http://127.0.0.1:$DECIDE_PORT/stats"; }
prom() { curl -s -m 5 "http://127.0.0.1:$MGMT/actuator/prometheus"; }

# JIT warm-up of all three paths before any measurement (each measurement below has its own warm-up too)
for spec in "plain:$P_PLAIN:local" "uncached:$P_UNCACHED:vary" "cached:$P_CACHED:fixed"; do
    IFS=: read -r name port mode <<<"$spec"
    timeout 300 $PY client "$port" "$mode" "$WARMUP" 0 0 0 >/dev/null 2>"$WORK/prewarm-$name.log" \
        || die "warm-up of $name failed (see $WORK/prewarm-$name.log)"
done
log "warm-up of all listeners done"

stats >"$WORK/stats-start.json"
for spec in "plain:$P_PLAIN:local" "uncached:$P_UNCACHED:vary" "cached:$P_CACHED:fixed"; do
    IFS=: read -r name port mode <<<"$spec"
    log "$name: $WARMUP warm-up, $N sequential, $THREADS threads x ${RATE_SECONDS}s"
    timeout 300 $PY client "$port" "$mode" "$WARMUP" "$N" "$THREADS" "$RATE_SECONDS" >"$WORK/client-$name.json" \
        2>"$WORK/client-$name.log" || die "client for $name failed (see $WORK/client-$name.log)"
    stats >"$WORK/stats-after-$name.json"
    log "$name: $(cat "$WORK/client-$name.json")"
done
prom >"$WORK/prometheus.txt"

# machine
{
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel=$(uname -r)"
} >"$WORK/machine.txt"
java -version 2>"$WORK/java-version.txt" || true

mkdir -p "$RESULTS"
python3 - "$WORK" "$OUT_MD" "$OUT_JSON" "$N" "$WARMUP" "$THREADS" "$RATE_SECONDS" "$JAR" "$DATE" <<'PYEOF'
import json, re, sys
work, out_md, out_json, n, warmup, threads, secs, jar, date = sys.argv[1:]
names = ["plain", "uncached", "cached"]
res = {k: json.load(open(f"{work}/client-{k}.json")) for k in names}
st = {"start": json.load(open(f"{work}/stats-start.json"))}
for k in names: st[k] = json.load(open(f"{work}/stats-after-{k}.json"))
prev = {"plain": "start", "uncached": "plain", "cached": "uncached"}
calls = {k: {p: st[k][p] - st[prev[k]][p] for p in ("/uncached", "/cached", "connections")} for k in names}

prom = open(f"{work}/prometheus.txt").read()
def metric(name, **labels):
    tot, found = 0.0, False
    for line in prom.splitlines():
        if not line.startswith(name + "{"): continue
        lab = dict(re.findall(r'(\w+)="([^"]*)"', line[line.index("{"):line.rindex("}")]))
        if all(lab.get(a) == b for a, b in labels.items()):
            tot += float(line.rsplit(" ", 1)[1]); found = True
    return tot if found else None
dec = {s: {o: metric("portcullis_decision_requests_total", service=s, outcome=o)
           for o in ("accept", "reject", "failure", "cached", "circuit_open")} for s in ("uncached", "cached")}
pended = {l: {o: metric("portcullis_pended_outcomes_total", listener=l, outcome=o)
              for o in ("accept", "reject", "timeout", "abort", "overflow", "failure")} for l in ("uncached", "cached")}
conns = {l: metric("portcullis_connections_total", listener=l) for l in names}
machine = dict(l.strip().split("=", 1) for l in open(f"{work}/machine.txt") if "=" in l)
javav = open(f"{work}/java-version.txt").read().strip()

cached_hits = dec["cached"]["cached"] or 0
cached_calls = st["cached"]["/cached"]
checks = {
    "cached_hits_gt_0": cached_hits > 0,
    "cached_service_calls_small": cached_calls <= 10,
    "uncached_one_call_per_connection": calls["uncached"]["/uncached"] >= res["uncached"]["warmup"] + res["uncached"]["ok"],
    "no_client_errors": all(sum(r["errors"].values()) == 0 for r in res.values()),
}
doc = {"date": date, "n": int(n), "warmup": int(warmup), "rate_threads": int(threads), "rate_seconds": float(secs),
       "jar": jar, "listeners": res, "decision_service_calls_by_phase": calls, "decision_service_calls_total": st["cached"],
       "portcullis_decision_requests_total": dec, "portcullis_pended_outcomes_total": pended,
       "portcullis_connections_total": conns, "machine": machine, "java_version": javav, "checks": checks}
for k in ("uncached", "cached"):
    doc.setdefault("added_ms", {})[k] = {p: res[k][p + "_ms"] - res["plain"][p + "_ms"] for p in ("p50", "p90", "p99")}
json.dump(doc, open(out_json, "w"), indent=2)

f = lambda v: "n/a" if v is None else f"{v:.3f}"
L = []
L.append(f"# Decision latency ({date})\n")
L.append("`bench/decision-latency.sh` — pend + decision service (HTTP, loopback) against a plain accept, one Portcullis "
         "(`-Xmx256m`, `worker-threads=1`, audit log off) with three listeners in front of one python asyncio echo backend; "
         "decision service: python `ThreadingHTTPServer` on loopback.\n")
L.append(f"First {warmup} warm-up connections on each listener in turn (JIT), then per listener: {warmup} warm-up connections, then {n} sequential connections from one client (connect, send 16 B, "
         f"read the 16 B echo, close; latency = connect start to echo received), then {threads} client threads for {secs} s "
         "(connections/s). Sources: plain 127.0.0.1; uncached 127.0.0.2..127.0.0.250 round-robin (no cache configured "
         "anyway); cached 127.0.0.2 only (one miss, then cache hits).\n")
L.append("| listener | rule | p50 ms | p90 ms | p99 ms | mean ms | connections/s | errors |")
L.append("|---|---|---:|---:|---:|---:|---:|---:|")
rule = {"plain": "accept", "uncached": "pend, decision `uncached` (no cache)", "cached": "pend, decision `cached` (ttl 60s)"}
for k in names:
    r = res[k]
    L.append(f"| {k} | {rule[k]} | {f(r['p50_ms'])} | {f(r['p90_ms'])} | {f(r['p99_ms'])} | {f(r['mean_ms'])} | "
             f"{r['conn_per_s']:,.0f} | {sum(r['errors'].values())} |")
L.append("")
L.append("Added latency of pend + decision vs plain:\n")
L.append("| listener | Δp50 ms | Δp90 ms | Δp99 ms | connections/s vs plain |")
L.append("|---|---:|---:|---:|---:|")
for k in ("uncached", "cached"):
    a = doc["added_ms"][k]
    L.append(f"| {k} | {a['p50']:+.3f} | {a['p90']:+.3f} | {a['p99']:+.3f} | {res[k]['conn_per_s'] / res['plain']['conn_per_s']:.2f}× |")
L.append("")
L.append("Decision service calls (the service's own counter, per phase = warm-up + sequential + rate run):\n")
L.append("| phase | connections made | POST /uncached | POST /cached | TCP connections to the service |")
L.append("|---|---:|---:|---:|---:|")
for k in names:
    r = res[k]
    made = r["warmup"] + r["n"] + r["rate_connections"]
    L.append(f"| {k} | {made:,} | {calls[k]['/uncached']:,} | {calls[k]['/cached']:,} | {calls[k]['connections']:,} |")
L.append("")
L.append("Gateway meters at the end (`/actuator/prometheus`):\n")
for s in ("uncached", "cached"):
    L.append(f"- `portcullis_decision_requests_total{{service=\"{s}\"}}`: " +
             ", ".join(f"{o}={int(v)}" for o, v in dec[s].items() if v is not None))
for l in ("uncached", "cached"):
    L.append(f"- `portcullis_pended_outcomes_total{{listener=\"{l}\"}}`: " +
             ", ".join(f"{o}={int(v)}" for o, v in pended[l].items() if v is not None))
L.append("")
L.append("Checks: " + ", ".join(f"{k}: {'ok' if v else 'FAILED'}" for k, v in checks.items()) +
         f" (cache hits {int(cached_hits):,}; /cached called {cached_calls} times in all).\n")
L.append("Machine: " + f"nproc {machine.get('nproc')}, CPU {machine.get('cpu')}, kernel {machine.get('kernel')}; "
         + "java: " + javav.splitlines()[0] + (" / " + javav.splitlines()[1] if len(javav.splitlines()) > 1 else "") + ".\n")
L.append("Note: a 2-core machine that may be shared with other work, running client, echo backend, decision service and "
         "gateway at once; the python client itself costs a large part of each connection, so the figures are indicative "
         "(differences between listeners more than absolute values). The listeners are measured one after another, not "
         "interleaved, so a change in the machine's load between phases shows up as a difference; a negative Δ means the "
         "cost is below this machine's noise.\n")
L.append(f"Reproduce: `bench/decision-latency.sh` (N={n}; `N=` overrides). Raw figures: `{out_json.split('/bench/')[-1] and 'bench/' + out_json.split('/bench/')[-1]}`.")
open(out_md, "w").write("\n".join(L) + "\n")
print("\n".join(L))
bad = [k for k, v in checks.items() if not v]
if bad: sys.exit("checks failed: " + ", ".join(bad))
PYEOF
OK=1
log "wrote $OUT_MD and $OUT_JSON"
