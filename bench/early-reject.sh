#!/usr/bin/env bash
# Early reject in the kernel: what a SYN flood from denied sources costs the gateway with `early-reject: kernel`
# and with `off`, and how long a reload of a 50,000-range deny list takes (parse, compile, attach).
#
#   bench/early-reject.sh              2 rounds of each mode, 5 s of flood each (about a minute)
#   ROUNDS=3 SECONDS_EACH=10 bench/early-reject.sh
#
# The gateway jar runs one listener on 127.0.0.1 whose first rule rejects list:abuse (127.0.1.0/24 and 50,000
# ranges in 10.0.0.0/8); bench/e2e/syn_flood.py connects from 127.0.1.1-254, non-blocking, 2,000 at once. The
# gateway's CPU (utime + stime from /proc) over the flood is the figure. Loopback only. Ports 27900-27902 must be
# free. Writes bench/results/early-reject-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-2}
SECONDS_EACH=${SECONDS_EACH:-5}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
JAR=gateway-app/target/portcullis.jar
WORK=bench/results/tmp/early-reject
OUT=bench/results/early-reject-$DATE.md
PORT=27900 HTTP=27901 BACKEND=27902
TOKEN=bench-early-reject-token-0123456789
[ -f "$JAR" ] || mvn -q -B -DskipTests package
rm -rf "$WORK" && mkdir -p "$WORK"
TICK=$(getconf CLK_TCK)

python3 - "$WORK/abuse.txt" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("127.0.1.0/24\n")
    for i in range(50_000):
        f.write(f"10.{i // 256 % 256}.{i % 256}.{(i * 7) % 256}\n")
PY
cat > "$WORK/rules.yaml" <<YAML
lists:
  abuse: { file: ./abuse.txt }
listeners:
  flood:
    rules:
      - name: deny-abuse
        source: [list:abuse]
        action: reject
      - name: local
        source: [127.0.0.0/8]
        action: accept
    default: reject
YAML

gw_pid=""
stop_gw() { [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null; gw_pid=""; }
trap stop_gw EXIT

start_gw() { # start_gw MODE
  cat > "$WORK/app-$1.yml" <<YAML
server: { port: $HTTP, address: 127.0.0.1 }
portcullis:
  rules: file:$PWD/$WORK/rules.yaml
  admin: { token: $TOKEN }
  listeners:
    - name: flood
      bind: 127.0.0.1:$PORT
      backends: [127.0.0.1:$BACKEND]
      health-check: { enabled: false }
      early-reject: $1
YAML
  java -jar "$JAR" --spring.config.additional-location="file:$WORK/app-$1.yml" >"$WORK/gateway-$1.log" 2>&1 &
  gw_pid=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$HTTP/actuator/health/liveness" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "gateway ($1) did not start; see $WORK/gateway-$1.log" >&2; exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$gw_pid/stat"; }

declare -A CPU ATTEMPTS
for round in $(seq 1 "$ROUNDS"); do
  for mode in kernel off; do
    start_gw "$mode"
    sleep 1
    before=$(cpu_ticks)
    attempts=$(python3 bench/e2e/syn_flood.py 127.0.0.1 "$PORT" "$SECONDS_EACH" 127.0.1)
    sleep 0.5
    after=$(cpu_ticks)
    ms=$(( (after - before) * 1000 / TICK ))
    CPU[$mode]+="$ms "
    ATTEMPTS[$mode]+="$attempts "
    echo "round $round, early-reject $mode: $attempts attempts, gateway CPU $ms ms"
    if [ "$mode" = kernel ] && [ "$round" = 1 ]; then
      reload=$( { touch "$WORK/abuse.txt"; curl -s -o "$WORK/reload.json" -w '%{time_total}' -X POST \
        -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP/admin/rules/reload"; } )
      listeners=$(curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$HTTP/admin/listeners")
      echo "reload of 50,001 entries: ${reload}s; $listeners"
    fi
    stop_gw
  done
done

{
  echo "# Early reject: a SYN flood from denied sources ($DATE)"
  echo
  echo "Machine: $(nproc) cores, $(uname -r), $(java -version 2>&1 | head -1). bench/early-reject.sh, $ROUNDS rounds,"
  echo "$SECONDS_EACH s of flood each from 127.0.1.1-254 (non-blocking connects, 2,000 at once), gateway transport auto."
  echo
  echo "| early-reject | connection attempts per round | gateway CPU per round (ms) |"
  echo "|---|---|---|"
  echo "| kernel | ${ATTEMPTS[kernel]} | ${CPU[kernel]} |"
  echo "| off | ${ATTEMPTS[off]} | ${CPU[off]} |"
  echo
  echo "Reload of the policy with its 50,001-entry list (parse, compile, attach; POST /admin/rules/reload): ${reload} s."
  echo
  echo "GET /admin/listeners after it: \`$listeners\`"
} > "$OUT"
echo "wrote $OUT"
