#!/usr/bin/env bash
# Recheck on reload under load: LIVE idle relayed connections (from 127.0.3.1-254) are all rejected by a reload
# (their range joins the deny list, recheck-on-reload: close) while wrk runs a keep-alive benchmark through the same
# listener. Compares wrk's latency in a run without the reload and in one with it, and times the recheck.
#
#   bench/recheck.sh                  8,000 live connections, 2 rounds (about 2 minutes)
#   LIVE=100000 bench/recheck.sh      the issue's case: needs a hard open-files limit of about 210,000 (the gateway
#                                     holds two sockets a connection, nginx one); the script raises the soft limit
#                                     to the hard one. Where the hard limit is 20,000 (this machine kind) 8,000 is
#                                     about the most.
#
# nginx (bench/e2e/lib.sh's backend) answers wrk on 127.0.0.1:27912 behind the gateway's listener 127.0.0.1:27910 (admin/metrics :27911).
# Loopback only. Writes bench/results/recheck-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."

LIVE=${LIVE:-8000}
# The nginx backend (bench/e2e/lib.sh) takes 10,000 connections a worker: enough workers for every live relay.
BACKEND_WORKERS=${BACKEND_WORKERS:-$(( LIVE / 9000 + 1 ))}
# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"
ROUNDS=${ROUNDS:-2}
RUN=${RUN:-12}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
WORK=$RESULTS/tmp/recheck
OUT=$RESULTS/recheck-$DATE.md
PORT=27910 HTTP=27911 BACK=27912
ulimit -n "$(ulimit -Hn)"
ensure_jar
command -v wrk >/dev/null || die "wrk is needed"
rm -rf "$WORK" && mkdir -p "$WORK"
start_backend "$WORK/nginx" "$BACK"

cat > "$WORK/app.yml" <<YAML
server: { port: $HTTP, address: 127.0.0.1 }
portcullis:
  rules: file:$WORK/rules.yaml
  listeners:
    - name: bench
      bind: 127.0.0.1:$PORT
      backends: [127.0.0.1:$BACK]
      health-check: { enabled: false }
      idle-timeout: 10m
      recheck-on-reload: close
logging.level.io.portcullis.audit: off
YAML
rules() { # rules DENY...
  { echo "listeners:"; echo "  bench:"; echo "    rules:"; echo "      - name: deny-listed";
    echo "        source: [192.0.2.1$(printf ', %s' "$@")]"; echo "        action: reject";
    echo "      - name: local"; echo "        source: [127.0.0.0/8]"; echo "        action: accept";
    echo "    default: reject"; } > "$WORK/rules.yaml.new"
  mv "$WORK/rules.yaml.new" "$WORK/rules.yaml"
}

declare -a ROWS
for round in $(seq 1 "$ROUNDS"); do
  for mode in none reload; do
    rules
    start_bg "portcullis (round $round, $mode)" "$WORK/gateway-$mode-$round.log" \
      java -Xms1g -Xmx1g -jar "$JAR" --spring.config.additional-location="file:$WORK/app.yml"
    gw=$LAST_PID
    for _ in $(seq 1 300); do curl -fs "http://127.0.0.1:$HTTP/actuator/health/liveness" >/dev/null 2>&1 && break; sleep 0.1; done
    coproc HOLD { python3 bench/e2e/hold_connections.py 127.0.0.1 "$PORT" "$LIVE" 127.0.3 $(( RUN + 30 )); }
    read -r _ _ <&"${HOLD[0]}"
    held=$(curl -s "http://127.0.0.1:$HTTP/actuator/prometheus" | awk '/^portcullis_connections_active/{printf "%d", $2}')
    wrk -t1 -c32 -d"${RUN}s" --latency "http://127.0.0.1:$PORT/" >"$WORK/wrk-$mode-$round.txt" &
    WRK=$!
    sleep 4
    t0=$(date +%s%3N)
    [ "$mode" = reload ] && rules 127.0.3.0/24
    wait "$WRK"
    echo >&"${HOLD[1]}"
    read -r _ reset <&"${HOLD[0]}"
    wait "$HOLD_PID" 2>/dev/null || true
    p99=$(awk '/ 99%/{print $2}' "$WORK/wrk-$mode-$round.txt")
    p50=$(awk '/ 50%/{print $2}' "$WORK/wrk-$mode-$round.txt")
    max=$(awk '/Latency/{print $4; exit}' "$WORK/wrk-$mode-$round.txt")
    rps=$(awk '/Requests\/sec/{print $2}' "$WORK/wrk-$mode-$round.txt")
    took=""
    if [ "$mode" = reload ]; then
      done_line=$(grep -m1 "recheck (reload, close)" "$WORK/gateway-$mode-$round.log" || true)
      took=$(python3 - "$t0" "$done_line" <<'PY'
import sys, datetime, re
t0 = int(sys.argv[1]); line = sys.argv[2]
m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)", line)
if not m: print("?"); sys.exit()
t = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
print(f"{t - t0:.0f} ms after the file was written (reload check included)")
PY
)
    fi
    ROWS+=("| $round | $mode | $held | $reset | $rps | $p50 | $p99 | $max | $took |")
    echo "round $round $mode: held $held, reset $reset, $rps req/s, p50 $p50, p99 $p99, max $max ${took}"
    stop_pids "$gw"; forget_pid "$gw"
  done
done

{
  echo "# Recheck on reload under load ($DATE)"
  echo
  echo "Machine: $(nproc) cores, $(uname -r). bench/recheck.sh: $LIVE idle relayed connections from 127.0.3.1-254;"
  echo "wrk -t1 -c32 -d${RUN}s keep-alive through the same listener to nginx; in the 'reload' runs the deny list"
  echo "takes 127.0.3.0/24 4 s into wrk's run (recheck-on-reload: close resets every held connection)."
  echo
  echo "| round | reload | relays open before | reset by the recheck | wrk requests/s | p50 | p99 | max | recheck done |"
  echo "|---|---|--:|--:|--:|--:|--:|--:|---|"
  printf '%s\n' "${ROWS[@]}"
} > "$OUT"
echo "wrote $OUT"
