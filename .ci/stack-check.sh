#!/usr/bin/env bash
# The compose example (docker/compose.yaml) run for real without containers: the gateway jar with
# docker/config/application.yml and rules.yaml, the decision service docker/decision/decide.py, an echo
# backend and Debian's Prometheus with docker/prometheus/prometheus.yml and alerts.yml, all inside a private
# network and mount namespace (unshare) where the compose service names resolve to 127.0.0.1 and nothing
# collides with the host's ports.
#
# Checks the contract end to end: the compose configuration starts; a client is pended and the decision
# service's "accept" lets it through to the echo; its "reject", a blocked list and a shadow rule behave;
# the admin API wants its token, on its own port 9902 and not on 9901; a broken rules.yaml is refused and
# counted; a dead backend and a dead decision service show in portcullis_backend_up,
# portcullis_decision_requests_total and the circuit breaker; Prometheus scrapes the gateway, loads the alert
# rules, and the alerts that should be pending or firing are; every dashboard query runs; promtool check
# metrics accepts the exposition.
#
# Needs root (unshare), java and the jar (built when missing), python3, prometheus (installed when missing).
# About 90 s. Prints "stack-check: N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JAR=$ROOT/gateway-app/target/portcullis.jar

if [ "${1:-}" != --inside ]; then
  need=()
  command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
  command -v unshare >/dev/null 2>&1 || need+=(util-linux)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  /usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3 python3-yaml)
  if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  [ -s "$JAR" ] || mvn -B -q -Dstyle.color=never -DskipTests package
  exec unshare --net --mount --propagation private --fork "$0" --inside
fi

# ---- inside the namespaces ------------------------------------------------------------------------------
OUT=$(mktemp -d /tmp/portcullis-stack-check.XXXXXX)
PY=/usr/bin/python3
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "${KEEP_OUTPUT:-0}" = 1 ] && echo "output kept in $OUT" || rm -rf "$OUT"
}
trap cleanup EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local what=$1; shift; if "$@" >"$OUT/last.log" 2>&1; then ok "$what $(tail -1 "$OUT/last.log")"; else bad "$what"; sed 's/^/       /' "$OUT/last.log" | tail -20; fi; }
step() { printf '\n== stack-check: %s (at %ss)\n' "$1" "$SECONDS"; }
metric() { curl -s http://127.0.0.1:9901/actuator/prometheus | awk -v m="$1" 'index($0, m) == 1 {print $NF; exit}'; }
wait_for() { # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  local start=$SECONDS
  until "$@" >/dev/null 2>&1; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then bad "$what (not within ${limit}s)"; return 1; fi
    sleep 0.5
  done
  ok "$what ($((SECONDS - start))s)"
}

step "network namespace: compose names on 127.0.0.1"
ip link set lo up
ip addr add 203.0.113.5/32 dev lo     # in docker/config/rules.yaml's blocked list
ip addr add 198.51.100.7/32 dev lo    # in the shadow rule's range
echo "127.0.0.1 localhost portcullis echo authz prometheus" >"$OUT/hosts"
mount --bind "$OUT/hosts" /etc/hosts

step "start echo backend, decision service, gateway, Prometheus"
"$PY" - >"$OUT/echo.log" 2>&1 <<'EOF' &
import socketserver
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", 9000), Echo).serve_forever()
EOF
echo_pid=$!; pids+=("$echo_pid")
DENY=127.0.0.2/32 "$PY" -u docker/decision/decide.py >"$OUT/authz.log" 2>&1 &
authz_pid=$!; pids+=("$authz_pid")
mkdir -p "$OUT/rules"
cp docker/config/rules.yaml "$OUT/rules/rules.yaml"
PORTCULLIS_ADMIN_TOKEN=stack-check-admin-token java -XX:MaxRAMPercentage=25 -jar "$JAR" \
  --spring.config.additional-location=file:"$ROOT"/docker/config/ \
  --portcullis.rules=file:"$OUT"/rules/rules.yaml  \
  >"$OUT/gateway.log" 2>&1 &
gw_pid=$!; pids+=("$gw_pid")
sed "s|/etc/prometheus/alerts.yml|$ROOT/docker/prometheus/alerts.yml|" docker/prometheus/prometheus.yml >"$OUT/prometheus.yml"
prometheus --config.file="$OUT/prometheus.yml" --storage.tsdb.path="$OUT/tsdb" \
  --web.listen-address=127.0.0.1:9090 >"$OUT/prometheus.log" 2>&1 &
pids+=("$!")
liveness() {
  kill -0 "$gw_pid" 2>/dev/null || return 0   # exited: stop waiting, the check below fails
  [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9901/actuator/health/liveness)" = 200 ]
}
if ! wait_for 120 "gateway up with docker/config/application.yml" liveness || ! kill -0 "$gw_pid" 2>/dev/null; then
  bad "the gateway did not start with docker/config/application.yml"
  tail -40 "$OUT/gateway.log"
  echo "stack-check: $passed passed, $failed failed"
  exit 1
fi

step "verdicts through the compose policy"
probe() { # probe SOURCE EXPECT(echo|reset)
  "$PY" - "$@" <<'EOF'
import socket, sys, time
source, expect = sys.argv[1], sys.argv[2]
s = socket.socket(); s.settimeout(15); s.bind((source, 0))
started = time.monotonic()
payload = b"stack check\n"
try:
    # A reset can arrive before connect() returns on loopback: that is a reset too.
    s.connect(("127.0.0.1", 7000))
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.recv(4096)
        if not chunk:
            break
        got += chunk
    result = "echo" if got == payload else f"got {got!r}"
except (ConnectionResetError, BrokenPipeError):
    result = "reset"
print(f"{source}: {result} after {time.monotonic() - started:.2f}s")
sys.exit(0 if result == expect else 1)
EOF
}
check "127.0.0.1 pended, authz accepts, echoed:" probe 127.0.0.1 echo
check "127.0.0.2 pended, authz rejects (DENY), reset:" probe 127.0.0.2 reset
check "203.0.113.5 in list blocked, reset:" probe 203.0.113.5 reset
check "198.51.100.7 shadow rule, then authz rejects:" probe 198.51.100.7 reset
check "127.0.0.1 again (cached answer):" probe 127.0.0.1 echo
counts() {
  local m; m=$(curl -s http://127.0.0.1:9901/actuator/prometheus)
  grep -q 'portcullis_decision_requests_total{outcome="accept",service="authz"} 1' <<<"$m" &&
  grep -q 'portcullis_decision_requests_total{outcome="reject",service="authz"} 2' <<<"$m" &&
  grep -q 'portcullis_decision_requests_total{outcome="cached",service="authz"} 1' <<<"$m" &&
  grep -qE 'portcullis_shadow_verdicts_total\{.*rule="try-reject-docs-net".*\} 1' <<<"$m" &&
  grep -qE 'portcullis_verdicts_total\{action="reject",listener="echo",rule="deny-blocked"\} 1' <<<"$m" &&
  grep -qE 'portcullis_pended_outcomes_total\{listener="echo",outcome="accept"\} 2' <<<"$m" &&
  echo "decision accept 1, reject 2, cached 1; shadow 1; deny-blocked 1; pended accepts 2"
}
check "meters count them:" counts

step "admin API"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
bearer='Authorization: Bearer stack-check-admin-token'
check "GET /admin/pending without token is 401:" test "$(code http://127.0.0.1:9902/admin/pending)" = 401
check "GET /%61dmin/pending without token is 401:" test "$(code http://127.0.0.1:9902/%61dmin/pending)" = 401
check "GET /admin/pending with the token is 200:" test "$(code -H "$bearer" http://127.0.0.1:9902/admin/pending)" = 200
check "the admin API is not on the management port 9901 (404 with the token):" \
  test "$(code -H "$bearer" http://127.0.0.1:9901/admin/pending)" = 404

step "a broken rules.yaml is refused and counted"
# Prometheus must have seen the failure counter at 0 first: increase() needs two samples.
seen_zero() { curl -s 'http://127.0.0.1:9090/api/v1/query?query=portcullis_policy_reloads_total%7Bresult%3D%22failure%22%7D%3D%3D0' | grep '"value"' >/dev/null; }
wait_for 30 "Prometheus scraped the gateway before the reload" seen_zero
reload_failures() { [ "$(metric 'portcullis_policy_reloads_total{result="failure"')" != 0.0 ]; }
printf 'listeners:\n  echo:\n    rules:\n      - name: x\n        action: acept\n    default: reject\n' >"$OUT/rules/rules.yaml.new"
mv "$OUT/rules/rules.yaml.new" "$OUT/rules/rules.yaml"
wait_for 20 "portcullis_policy_reloads_total{result=\"failure\"} counts the refused file" reload_failures
check "the running policy stays (127.0.0.1 still echoed):" probe 127.0.0.1 echo

step "dead backend and dead decision service"
kill "$echo_pid"
backend_down() { [ "$(metric 'portcullis_backend_up{backend="echo:9000",listener="echo"')" = 0.0 ]; }
wait_for 40 "portcullis_backend_up{backend=\"echo:9000\"} drops to 0 (health check: 3 x 5s)" backend_down
kill "$authz_pid"
fails=0
for i in $(seq 10 29); do probe "127.0.0.$i" reset >"$OUT/probe.log" 2>&1 || { fails=$((fails + 1)); cat "$OUT/probe.log"; }; done
check "20 new clients without a decision service are rejected (on-failure: reject):" test "$fails" = 0
# grep without -q reads all of curl's output: with -q, curl could die of SIGPIPE and fail the pipe (pipefail).
circuit_open() { curl -s http://127.0.0.1:9901/actuator/prometheus | grep -E 'resilience4j_circuitbreaker_state\{.*name="authz".*state="open".*\} 1.0' >/dev/null; }
wait_for 5 "resilience4j_circuitbreaker_state{name=\"authz\",state=\"open\"} is 1" circuit_open

step "Prometheus: scrape, rules, alerts, dashboard queries"
scraped() { curl -s 'http://127.0.0.1:9090/api/v1/query?query=portcullis_decision_requests_total%7Boutcome%3D%22circuit_open%22%7D%3E0' | grep '"value"' >/dev/null; }
wait_for 30 "Prometheus scraped the gateway after the failures" scraped
curl -s http://127.0.0.1:9901/actuator/prometheus >"$OUT/exposition.txt"
promtool_metrics() { promtool check metrics <"$OUT/exposition.txt" >"$OUT/promtool-metrics.log" 2>&1; rc=$?; [ "$rc" = 0 ] || [ "$rc" = 3 ]; }
check "promtool check metrics parses /actuator/prometheus (lint notes allowed):" promtool_metrics
sleep 6   # one more rule evaluation (evaluation_interval 5s)
check "alerts loaded and in the expected state:" "$PY" - "$ROOT/docker/grafana/portcullis-dashboard.json" \
    "$ROOT/docker/prometheus/alerts.yml" <<'EOF'
import json, re, sys, urllib.parse, urllib.request
api = "http://127.0.0.1:9090/api/v1/"
get = lambda path: json.load(urllib.request.urlopen(api + path, timeout=10))
rules = [r for g in get("rules")["data"]["groups"] for r in g["rules"] if r["type"] == "alerting"]
problems = [f"rule {r['name']}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
# Every rule in the rule file must be loaded (a rule Prometheus drops would never fire).
in_file = len(re.findall(r"^\s*- alert:", open(sys.argv[2]).read(), re.M))
if len(rules) != in_file:
    problems.append(f"{len(rules)} alert rules loaded, {in_file} in alerts.yml")
state = {a["labels"]["alertname"]: a["state"] for a in get("alerts")["data"]["alerts"]}
expected = {"PortcullisPolicyReloadFailed": {"firing"}, "PortcullisAllBackendsDown": {"pending", "firing"},
            "PortcullisDecisionFailures": {"pending", "firing"}, "PortcullisDecisionCircuitOpen": {"pending", "firing"}}
for name, states in expected.items():
    if state.get(name) not in states:
        problems.append(f"{name} is {state.get(name, 'inactive')}, expected {'/'.join(sorted(states))}")
for name in ("PortcullisPendingNearMax", "PortcullisPendOverflow", "PortcullisAuditLinesDropped",
             "PortcullisUntrustedProxyHeaders", "PortcullisClusterStoreDown"):
    if name in state:
        problems.append(f"{name} is {state[name]}, expected inactive")
# Every dashboard query runs; the panels whose meters have data by now must return something.
d = json.load(open(sys.argv[1]))
subst = lambda e: (e.replace("$__rate_interval", "1m").replace("$__range", "5m").replace('"$listener"', '".*"')
                   .replace('"$instance"', '".*"').replace('"$service"', '".*"'))
empty = []
def panels(ps):
    for p in ps:
        yield p
        yield from panels(p.get("panels", []))
n = 0
for p in panels(d["panels"]):
    for t in p.get("targets", []):
        n += 1
        r = get("query?" + urllib.parse.urlencode({"query": subst(t["expr"])}))
        if r["status"] != "success":
            problems.append(f"panel {p['title']}: {r}")
        elif not r["data"]["result"]:
            empty.append(p["title"])
must_have_data = {"Verdicts by action", "Verdicts by rule", "Shadow verdicts", "Pending now", "Pend outcomes",
                  "Decision latency", "Decisions by outcome", "Circuit breaker", "Connections", "Bytes relayed",
                  "Backend health", "Policy reloads", "Failed reloads", "Backends down",
                  "Audit and shadow lines dropped", "Peek resets by reason"}
problems += [f"panel '{t}' shows no data" for t in sorted(must_have_data & set(empty))]
if problems:
    sys.exit("\n".join(problems))
print(f"{len(rules)} rules ok; {', '.join(f'{k}={v}' for k, v in sorted(state.items()))}; {n} dashboard queries ran"
      + (f" (no data yet, expected: {', '.join(sorted(set(empty)))})" if empty else ""))
EOF

step "stop the gateway with SIGTERM"
kill -TERM "$gw_pid"
stopped() { ! kill -0 "$gw_pid" 2>/dev/null; }
wait_for 30 "the gateway exits on SIGTERM" stopped

echo
echo "stack-check took ${SECONDS}s"
echo "stack-check: $passed passed, $failed failed"
[ "$failed" = 0 ]
