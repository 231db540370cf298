#!/usr/bin/env bash
# Allocation profile of the connection path: the gateway jar under a connection-per-request load (wrk, 32
# connections, "Connection: close") through one inspecting listener (audit on, to a file; a 10,000-CIDR
# deny list), recorded with JDK Flight Recorder's allocation sampling (jdk.ObjectAllocationSample, settings
# "profile"). Reports the sampled bytes per connection by the top Portcullis frame of each stack, and the
# top frames overall, so an allocation on the hot path shows up with its place in the code.
#
#   bench/alloc-profile.sh                 20 s of load after 5 s of warm-up (about a minute)
#   SECONDS_LOAD=60 TRANSPORT=epoll bench/alloc-profile.sh
#
# Loopback only; ports 27930-27932 must be free. Writes bench/results/alloc-profile-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

SECONDS_LOAD=${SECONDS_LOAD:-20}
TRANSPORT=${TRANSPORT:-auto}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
WORK=$RESULTS/tmp/alloc-profile
OUT=$RESULTS/alloc-profile-$DATE.md
PORT=27930 HTTP=27931 BACK=27932
ensure_jar
for tool in wrk nginx jfr; do command -v $tool >/dev/null || die "$tool is needed"; done
rm -rf "$WORK" && mkdir -p "$WORK"
start_backend "$WORK/nginx" "$BACK"
write_deny_policy "$WORK"
start_bg "portcullis ($TRANSPORT)" "$WORK/gateway.log" java -Dlogging.config="$E2E_DIR/logback-audit.xml" \
  -Daudit.file="$WORK/audit.log" -jar "$JAR" --server.port=$HTTP --portcullis.worker-threads=1 \
  --portcullis.transport="$TRANSPORT" --portcullis.rules="file:$WORK/rules.yaml" \
  --portcullis.listeners[0].name=bench --portcullis.listeners[0].bind=127.0.0.1:$PORT \
  --portcullis.listeners[0].backends[0]=127.0.0.1:$BACK --portcullis.listeners[0].health-check.enabled=false
gw=$LAST_PID
for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$HTTP/actuator/health/liveness" >/dev/null 2>&1 && break; sleep 0.1; done
wrk -t1 -c32 -d5s -H "Connection: close" "http://127.0.0.1:$PORT/" >/dev/null
before=$(curl -s "http://127.0.0.1:$HTTP/actuator/prometheus" | awk '/^portcullis_connections_total/{s+=$2} END{printf "%d", s}')
jcmd "$gw" JFR.start name=alloc settings=profile filename="$WORK/alloc.jfr" >/dev/null
wrk -t1 -c32 -d"${SECONDS_LOAD}s" -H "Connection: close" "http://127.0.0.1:$PORT/" >"$WORK/wrk.txt"
jcmd "$gw" JFR.stop name=alloc >/dev/null
after=$(curl -s "http://127.0.0.1:$HTTP/actuator/prometheus" | awk '/^portcullis_connections_total/{s+=$2} END{printf "%d", s}')
transport=$(grep -o 'Transport: [a-z_]*' "$WORK/gateway.log" | head -1 | cut -d' ' -f2)
jfr print --json --events jdk.ObjectAllocationSample "$WORK/alloc.jfr" >"$WORK/alloc.json"

python3 - "$WORK/alloc.json" "$((after - before))" "$OUT" "$DATE" "$transport" "$SECONDS_LOAD" <<'PY'
import json, sys, collections
path, conns, out, date, transport, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
events = json.load(open(path))["recording"]["events"]
by_ours = collections.Counter()
by_top = collections.Counter()
by_class = collections.Counter()
by_thread = collections.Counter()
total = 0
for e in events:
    v = e["values"]
    w = v.get("weight", 0)
    total += w
    frames = (v.get("stackTrace") or {}).get("frames") or []
    def name(f):
        m = f["method"]
        return f'{m["type"]["name"].replace("/", ".")}.{m["name"]}'
    if frames:
        by_top[name(frames[0])] += w
    ours = next((name(f) for f in frames if name(f).startswith("io.portcullis.")), "(no Portcullis frame)")
    by_ours[ours] += w
    by_class[v["objectClass"]["name"].replace("/", ".")] += w
    thread = (v.get("eventThread") or {}).get("javaName") or "?"
    by_thread[thread.rstrip("0123456789-")] += w
per = lambda b: b / max(conns, 1)
lines = [f"# Allocation profile of the connection path ({date})", "",
         f"bench/alloc-profile.sh: wrk -t1 -c32 -d{seconds}s, a connection per request, through one inspecting listener",
         f"(10,000-CIDR deny list, audit on), transport {transport}, 1 I/O thread. JFR allocation sampling (weights are",
         f"estimates of the bytes allocated). {conns:,} connections inspected in the recording: "
         f"{per(total):,.0f} bytes a connection in all.", "",
         "## By the innermost Portcullis frame", "", "| frame | bytes a connection | share |", "|---|--:|--:|"]
for k, w in by_ours.most_common(25):
    lines.append(f"| `{k}` | {per(w):,.0f} | {100 * w / max(total, 1):.1f} % |")
lines += ["", "## By the allocating frame (top of the stack)", "", "| frame | bytes a connection |", "|---|--:|"]
for k, w in by_top.most_common(20):
    lines.append(f"| `{k}` | {per(w):,.0f} |")
lines += ["", "## By thread (numbers dropped from the names)", "", "| thread | bytes a connection |", "|---|--:|"]
for k, w in by_thread.most_common(10):
    lines.append(f"| {k} | {per(w):,.0f} |")
lines += ["", "## By class", "", "| class | bytes a connection |", "|---|--:|"]
for k, w in by_class.most_common(15):
    lines.append(f"| `{k}` | {per(w):,.0f} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines[:40]))
PY
echo "wrote $OUT"
