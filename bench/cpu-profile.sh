#!/usr/bin/env bash
# Where the CPU of a connection goes: HAProxy and Portcullis (conditional accept, a 10,000-CIDR deny list, the
# audit log to a file) side by side under the same connection-per-request load (wrk -t1 -c32 "Connection:
# close" to the loopback nginx backend), each with one worker thread, proxies pinned to CPU 0 and wrk to CPU 1.
# For each: CPU µs per connection by thread (user and system, from /proc over the run), and, with perf, a
# sampled profile (perf record -g) reported per connection: user space against kernel, each system call
# (with what it runs in the kernel: the loopback delivery to the peer and its wake-up), the JVM's own code
# and the hottest Java frames (-XX:+PreserveFramePointer, perf map from jcmd Compiler.perfmap).
#
#   bench/cpu-profile.sh                       2 rounds of 8 s per proxy after 20 s of warm-up (about 2 minutes)
#   SECONDS_LOAD=20 ROUNDS=3 TRANSPORT=io_uring bench/cpu-profile.sh
#
# The per-thread figures need no perf; the profile is skipped when perf is missing or not allowed. A rate
# measured here is not for comparison (perf slows what it samples); bench/run-e2e.sh measures rates.
# Loopback only. Writes bench/results/cpu-profile-<date>.md; raw files in bench/results/tmp/cpu-profile/.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

SECONDS_LOAD=${SECONDS_LOAD:-8}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-20}
TRANSPORT=${TRANSPORT:-epoll}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
WORK=$RESULTS/tmp/cpu-profile
OUT=$RESULTS/cpu-profile-$DATE.md
ensure_jar
for tool in wrk nginx haproxy; do command -v $tool >/dev/null || die "$tool is needed (bench/run-e2e.sh installs it)"; done
PERF=1
if ! command -v perf >/dev/null || ! perf record -o /dev/null -- true >/dev/null 2>&1; then
    PERF=0
    log "perf missing or not allowed: per-thread CPU only"
fi
setup_pinning
watchdog 900
rm -rf "$WORK" && mkdir -p "$WORK"
alloc_port BACK; alloc_port HAP; alloc_port GW; alloc_port MGMT
start_backend "$WORK/nginx" "$BACK"
start_haproxy "$WORK/haproxy" "$BACK" "$HAP"
write_deny_policy "$WORK"
JVM_GC=${JVM_GC:-"-XX:+UseParallelGC"}
# Frame pointers let perf walk Java stacks; they cost a register, so the figures are for finding, not quoting.
JVM_GC="$JVM_GC -XX:+PreserveFramePointer"
start_portcullis portcullis "$WORK/portcullis" "$MGMT" "$GW" --portcullis.rules="file:$WORK/rules.yaml" \
    --portcullis.transport="$TRANSPORT" $(listener_args 0 bench "$GW" "$BACK" true)
GW_PID=$PORTCULLIS_PID

WRK=(wrk -t1 -c32 -H "Connection: close")
# Warm-up long enough for the JIT compiler to settle: its threads would otherwise show in the profile.
for port in "$GW" "$HAP"; do
    run_fg ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "${WRK[@]}" -d"${WARMUP}s" "http://127.0.0.1:$port/" >/dev/null
done

# threads PID: "tid utime stime name" per thread, clock ticks.
threads() {
    local t
    for t in /proc/"$1"/task/*; do
        printf '%s %s %s\n' "${t##*/}" "$(awk '{print $14, $15}' "$t/stat" 2>/dev/null || echo '0 0')" \
            "$(tr ' ' _ <"$t/comm" 2>/dev/null || echo gone)"
    done
}

for round in $(seq 1 "$ROUNDS"); do
    for name in portcullis haproxy; do
        if [ $name = portcullis ]; then pid=$GW_PID port=$GW; else pid=$HAPROXY_PID port=$HAP; fi
        base=$WORK/$name-$round
        threads "$pid" >"$base.before"
        if [ "$PERF" = 1 ]; then
            perf record -q -F 999 -g -p "$pid" -o "$base.perf" -- sleep "$SECONDS_LOAD" >/dev/null 2>&1 &
            perf_pid=$!
        fi
        log "round $round: $name under wrk for ${SECONDS_LOAD}s"
        run_fg ${CLIENT_PIN[@]+"${CLIENT_PIN[@]}"} "${WRK[@]}" -d"${SECONDS_LOAD}s" "http://127.0.0.1:$port/" >"$base.wrk"
        threads "$pid" >"$base.after"
        if [ "$PERF" = 1 ]; then
            wait "$perf_pid" || true
            [ $name = portcullis ] && jcmd "$pid" Compiler.perfmap >/dev/null 2>&1 || true
            perf script -i "$base.perf" -F comm,tid,ip,sym,dso 2>/dev/null | gzip >"$base.stacks.gz" || true
            rm -f "$base.perf"
        fi
    done
done

"$PY" - "$WORK" "$ROUNDS" "$OUT" "$DATE" "$TRANSPORT" "$SECONDS_LOAD" "$(getconf CLK_TCK)" "$PERF" "$WARMUP" <<'PY'
import collections, gzip, os, re, statistics, sys
work, rounds, out, date, transport, seconds, tck, perf, warmup = sys.argv[1:10]
rounds, tck, perf = int(rounds), int(tck), perf == "1"

def conns(path):
    m = re.search(r"(\d+) requests in", open(path).read())
    return int(m.group(1)) if m else 0

def thread_cpu(base):
    def read(p):
        d = {}
        for line in open(p):
            tid, u, s, name = line.split()
            d[tid] = (int(u), int(s), re.sub(r"[#\d-]+$", "", name))
        return d
    a, b = read(base + ".before"), read(base + ".after")
    res = collections.defaultdict(lambda: [0, 0])
    for tid, (u, s, name) in b.items():
        u0, s0, _ = a.get(tid, (0, 0, name))
        res[name][0] += u - u0
        res[name][1] += s - s0
    return res

# perf script: a header line per sample, then its frames, innermost first.
SYSCALL = re.compile(r"^__x64_sys_(\w+)$")
def profile(base, n):
    p = base + ".stacks.gz"
    if not os.path.exists(p):
        return None
    total = kernel = 0
    by_syscall = collections.Counter()
    wake = deliver = 0
    java = collections.Counter()
    jvm = 0
    frames, period, head = [], 0, None
    others = collections.Counter()
    def flush():
        nonlocal total, kernel, wake, deliver, jvm
        if head is None:
            return
        if not head.startswith(("portcullis-io", "haproxy")):
            others[re.sub(r"[#\d-]+$", "", head)] += period
            return
        total += period
        leaf = frames[0] if frames else ("", "")
        if leaf[1] == "k":
            kernel += period
        names = [f[0] for f in frames]
        for f in names:
            m = SYSCALL.match(f)
            if m:
                by_syscall[m.group(1)] += period
                break
        if "sock_def_readable" in names or "try_to_wake_up" in names:
            wake += period
        if "net_rx_action" in names:
            deliver += period
        if leaf[1] == "u":
            if "perf-" in leaf[2] or "JIT" in leaf[2]:
                name = leaf[0].split("(")[0].split(" ")[-1] if "(" in leaf[0] else leaf[0]
                java[name if name.strip() else "(unnamed: stubs, interpreter)"] += period
            elif "libjvm" in leaf[2]:
                jvm += period
    with gzip.open(p, "rt", errors="replace") as f:
        for line in f:
            if not line.strip():
                flush(); frames, head = [], None
                continue
            if not line.startswith(("\t", " ")):
                flush(); frames = []
                parts = line.split()
                head = re.sub(r"\s+\d+\s*$", "", line)  # the thread's name (may hold spaces), without its id
                period = 1e6 / 999  # µs of CPU a sample stands for (-F 999)
                continue
            parts = line.strip().split(None, 1)
            sym = parts[1] if len(parts) > 1 else "?"
            dso = sym[sym.rfind("(") + 1:-1] if sym.endswith(")") else ""
            sym = re.sub(r"\+0x[0-9a-f]+", "", sym[:sym.rfind(" (")] if " (" in sym else sym)
            frames.append((sym, "k" if "kernel" in dso else "u", dso))
    flush()
    us = lambda v: v / max(n, 1)
    return dict(total=us(total), kernel=us(kernel), user=us(total - kernel), wake=us(wake), deliver=us(deliver),
                jvm=us(jvm), others={k: us(v) for k, v in others.most_common(5)}, syscalls={k: us(v) for k, v in by_syscall.most_common(14)},
                java={k: us(v) for k, v in java.most_common(15)})

rows, profs = collections.defaultdict(list), collections.defaultdict(list)
for name in ("portcullis", "haproxy"):
    for r in range(1, rounds + 1):
        base = f"{work}/{name}-{r}"
        n = conns(base + ".wrk")
        cpu = thread_cpu(base)
        rows[name].append((n, {t: (u * 1e6 / tck / max(n, 1), s * 1e6 / tck / max(n, 1)) for t, (u, s) in cpu.items()}))
        if perf:
            pr = profile(base, n)
            if pr:
                profs[name].append(pr)

med = lambda xs: statistics.median(xs) if xs else 0
L = [f"# Where the CPU of a connection goes ({date})", "",
     f"bench/cpu-profile.sh: wrk -t1 -c32 -d{seconds}s with \"Connection: close\" (a connection per request) to the",
     "loopback nginx backend, through HAProxy (mode tcp) and Portcullis (conditional accept, 10,000-CIDR deny list, audit",
     f"log to a file, transport {transport}), each with 1 worker thread, proxies on CPU 0 and wrk on CPU 1; "
     f"{rounds} round(s) after {warmup} s of warm-up per proxy, medians. Rates under perf are not for comparison.", "",
     "## CPU per connection by thread (µs, user + system, from /proc)", "",
     "| proxy | thread | user | system | total |", "|---|---|--:|--:|--:|"]
for name in ("portcullis", "haproxy"):
    names = collections.Counter()
    for _, d in rows[name]:
        for t, (u, s) in d.items():
            names[t] += u + s
    tot_u = tot_s = 0
    for t, _ in names.most_common():
        u = med([d.get(t, (0, 0))[0] for _, d in rows[name]])
        s = med([d.get(t, (0, 0))[1] for _, d in rows[name]])
        if u + s < 0.5:
            continue
        tot_u += u; tot_s += s
        L.append(f"| {name} | {t} | {u:.1f} | {s:.1f} | {u + s:.1f} |")
    L.append(f"| **{name}** | all | **{tot_u:.1f}** | **{tot_s:.1f}** | **{tot_u + tot_s:.1f}** |")
L += ["", "Connections per second in those runs (under perf): " + ", ".join(
    f"{name} {med([n for n, _ in rows[name]]) / float(seconds):,.0f}" for name in ("portcullis", "haproxy"))]
if profs:
    L += ["", "## Sampled profile per connection (µs of CPU, perf record -g at 999 Hz)", "",
          "The worker thread (Portcullis: its I/O thread; HAProxy: its one thread):", "",
          "| | portcullis | haproxy |", "|---|--:|--:|"]
    def m(name, key):
        return med([p[key] for p in profs.get(name, [])])
    for key, label in (("total", "all"), ("user", "user space"), ("jvm", "of which the JVM's own code (libjvm)"),
                       ("kernel", "kernel"), ("deliver", "of which loopback delivery to the peer (net_rx_action)"),
                       ("wake", "of which waking a peer (sock_def_readable, try_to_wake_up)")):
        L.append(f"| {label} | {m('portcullis', key):.1f} | {m('haproxy', key):.1f} |")
    oc = collections.Counter()
    for p in profs.get("portcullis", []):
        for k, v in p["others"].items():
            oc[k] += v / len(profs["portcullis"])
    L += ["", "Portcullis's other threads: " + (", ".join(f"{k} {v:.1f}" for k, v in oc.most_common(5)) or "none")]
    calls = collections.Counter()
    for name in profs:
        for p in profs[name]:
            for k, v in p["syscalls"].items():
                calls[k] += v
    L += ["", "By system call (everything the kernel runs inside it):", "", "| system call | portcullis | haproxy |",
          "|---|--:|--:|"]
    for k, _ in calls.most_common(14):
        L.append(f"| {k} | {med([p['syscalls'].get(k, 0) for p in profs.get('portcullis', [])]):.1f} | "
                 f"{med([p['syscalls'].get(k, 0) for p in profs.get('haproxy', [])]):.1f} |")
    jc = collections.Counter()
    for p in profs.get("portcullis", []):
        for k, v in p["java"].items():
            jc[k] += v / len(profs["portcullis"])
    L += ["", "Hottest Java frames of Portcullis (self time):", "", "| frame | µs |", "|---|--:|"]
    for k, v in jc.most_common(15):
        L.append(f"| `{k}` | {v:.2f} |")
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
log "wrote $OUT"
