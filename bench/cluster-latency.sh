#!/usr/bin/env bash
# What a scope: cluster limiter adds to a connection: one client, one connection at a time (connect, PING, +PONG,
# close: bench/e2e/connection_cycle.py) through listeners that differ only in their limiter, against a redis-server
# backend, with the cluster's Redis a second redis-server on loopback. Prints and writes p50/p90/p99 per path and the
# added latency against the same limiter with scope: local.
#
#   bench/cluster-latency.sh              3 rounds of 3,000 cycles a path (about 2 minutes)
#   COUNT=20000 ROUNDS=5 bench/cluster-latency.sh
#
# Everything listens on 127.0.0.1 (ports 27930-27937); every process started here is stopped on exit.
# Writes bench/results/cluster-latency-<date>.md.
set -euo pipefail
# shellcheck source=bench/e2e/lib.sh
source "$(dirname "$0")/e2e/lib.sh"

ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-3000}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
WORK=$RESULTS/tmp/cluster-latency
OUT=$RESULTS/cluster-latency-$DATE.md
LOCAL=27930 RATE=27931 CONC=27932 BOTH=27933 HTTP=27935 BACK=27936 STORE=27937
command -v redis-server >/dev/null || die "redis-server is needed (apt-get install redis-server)"
ensure_jar
watchdog $(( 300 + ROUNDS * COUNT / 50 ))
rm -rf "$WORK" && mkdir -p "$WORK"

start_bg "backend redis-server" "$WORK/backend.log" redis-server --port "$BACK" --bind 127.0.0.1 --save '' --appendonly no
wait_listen "$BACK" "$LAST_PID" 10 || die "the backend redis-server did not start: $WORK/backend.log"
start_bg "cluster redis-server" "$WORK/store.log" redis-server --port "$STORE" --bind 127.0.0.1 --save '' --appendonly no
wait_listen "$STORE" "$LAST_PID" 10 || die "the cluster's redis-server did not start: $WORK/store.log"

listener() { # listener NAME PORT
  printf '    - { name: %s, bind: "127.0.0.1:%s", backends: ["127.0.0.1:%s"], health-check: { enabled: false } }\n' "$1" "$2" "$BACK"
}
{
  echo "server: { port: $HTTP, address: 127.0.0.1 }"
  echo "logging.level.io.portcullis.audit: off"
  echo "portcullis:"
  echo "  rules: file:$WORK/rules.yaml"
  echo "  cluster: { redis: { url: \"redis://127.0.0.1:$STORE\", timeout: 100ms } }"
  echo "  listeners:"
  listener local "$LOCAL"; listener rate "$RATE"; listener conc "$CONC"; listener both "$BOTH"
} > "$WORK/app.yml"
rate='rate-limit: { key: source-ip, rate: 100000/s, burst: 100000'
conc='concurrency-limit: { key: source-ip, max: 1000'
cat > "$WORK/rules.yaml" <<YAML
listeners:
  local:
    rules:
      - { name: rate, $rate } }
      - { name: ok, source: [127.0.0.0/8], action: accept }
    default: reject
  rate:
    rules:
      - { name: rate, $rate, scope: cluster } }
      - { name: ok, source: [127.0.0.0/8], action: accept }
    default: reject
  conc:
    rules:
      - { name: conc, $conc, scope: cluster } }
      - { name: ok, source: [127.0.0.0/8], action: accept }
    default: reject
  both:
    rules:
      - { name: rate, $rate, scope: cluster } }
      - { name: conc, $conc, scope: cluster } }
      - { name: ok, source: [127.0.0.0/8], action: accept }
    default: reject
YAML
start_bg portcullis "$WORK/gateway.log" java -jar "$JAR" --spring.config.additional-location="file:$WORK/app.yml"
gw=$LAST_PID
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$HTTP/actuator/health/readiness" >/dev/null 2>&1 && break
  kill -0 "$gw" 2>/dev/null || die "the gateway ended: $WORK/gateway.log"
  sleep 0.1
done
grep -q "shares state through Redis" "$WORK/gateway.log" || die "the gateway did not start with the cluster: $WORK/gateway.log"

PY=${PY:-python3}
# Warm-up: the JIT and every connection path.
for port in $LOCAL $RATE $CONC $BOTH $BACK; do "$PY" "$E2E_DIR/connection_cycle.py" "$port" 2000 >/dev/null; done
declare -a ROWS
for round in $(seq 1 "$ROUNDS"); do
  for path in direct:$BACK local:$LOCAL rate:$RATE conc:$CONC both:$BOTH; do
    line=$("$PY" "$E2E_DIR/connection_cycle.py" "${path#*:}" "$COUNT")
    echo "round $round ${path%%:*}: $line"
    ROWS+=("${path%%:*} $line")
  done
done
stats=$(curl -s "http://127.0.0.1:$HTTP/actuator/prometheus" | grep -E '^portcullis_cluster_(store_failures_total|limit_fallbacks_total)' | awk '$2 != 0' || true)
{
  echo "# Latency a scope: cluster limiter adds ($DATE)"
  echo
  echo "Machine: $(nproc) cores, $(uname -r), redis-server $(redis-server --version | awk '{print $3}' | sed 's/^v=//'). bench/cluster-latency.sh:"
  echo "one connection at a time (connect, PING, +PONG, close) to a redis-server backend, $COUNT cycles a path, $ROUNDS"
  echo "rounds; the cluster's Redis a second redis-server on loopback. Paths: direct (no proxy); local (a rate-limit"
  echo "with scope: local); rate (the same with scope: cluster: Bucket4j, two round trips); conc (a concurrency-limit"
  echo "with scope: cluster: a lease, one round trip, and its release); both (rate then conc: two waits)."
  echo
  echo "| path | p50 µs (per round) | p90 µs | p99 µs |"
  echo "|---|---|---|---|"
  for p in direct local rate conc both; do
    printf '%s\n' "${ROWS[@]}" | awk -v p="$p" '$1 == p {
      gsub(",", ""); p50 = p50 sep $5; p90 = p90 sep $8; p99 = p99 sep $10; sep = ", " }
      END { printf "| %s | %s | %s | %s |\n", p, p50, p90, p99 }'
  done
  echo
  echo "Store failures or fallbacks during the run (none expected): ${stats:-none}"
} > "$OUT"
cat "$OUT"
