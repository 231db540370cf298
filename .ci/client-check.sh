#!/usr/bin/env bash
# Real clients through the gateway jar: OpenBSD netcat and socat, the way users try it.
#
# A listener pends 127.0.0.3 (deadline 1 s, on-timeout accept) and accepts the rest, in front of a socat echo
# backend. Checked: a one-shot client that sends its request and half-closes while pended (`printf | nc -N`,
# socat with stdin at EOF) gets its echo after the deadline (the half-close is no departure); the same from an
# accepted source at once; a rejected source is reset without a byte; a pended client that leaves before sending
# anything is counted as an abort.
#
# Installs netcat-openbsd and socat when missing (needs root then). Uses 127.0.0.1 ports 17300 (listener),
# 17301 (echo backend) and 17302 (management). Builds the jar when gateway-app/target/portcullis.jar is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN=17300
ECHO=17301
MGMT=17302
JAR=gateway-app/target/portcullis.jar

passed=0
fail() { echo "client-check: FAIL: $*" >&2; echo "client-check: $passed passed, 1 failed"; exit 1; }
ok() { passed=$((passed + 1)); echo "client-check: ok: $*"; }

need=()
command -v nc.openbsd >/dev/null 2>&1 || need+=(netcat-openbsd)
command -v socat >/dev/null 2>&1 || need+=(socat)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -f "$JAR" ] || mvn -B -q -DskipTests package

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/application.yml" <<EOF
server:
  port: $MGMT
  address: 127.0.0.1
portcullis:
  rules: file:$work/rules.yaml
  listeners:
    - name: front
      bind: 127.0.0.1:$LISTEN
      backends: [127.0.0.1:$ECHO]
      health-check: { enabled: false }
      inspect: { timeout: 1s, on-timeout: accept }
EOF
cat > "$work/rules.yaml" <<'EOF'
listeners:
  front:
    rules:
      - name: deny
        source: [127.0.0.2]
        action: reject
      - name: hold
        source: [127.0.0.3]
        action: pend
    default: accept
EOF

# Echo backend: socat answers what it reads and closes its side after the client's FIN.
socat TCP-LISTEN:$ECHO,bind=127.0.0.1,reuseaddr,fork PIPE &
pids+=($!)
java -jar "$JAR" --spring.config.additional-location="file:$work/" > "$work/gateway.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$MGMT/actuator/health/readiness" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$MGMT/actuator/health/readiness" >/dev/null || { tail -50 "$work/gateway.log"; fail "gateway not ready"; }

counter() {
  curl -fs "http://127.0.0.1:$MGMT/actuator/prometheus" \
    | awk -v m="$1" '$1 == m { print int($2) }'
}

out=$(printf 'one-shot\n' | timeout 10 nc.openbsd -N -s 127.0.0.3 127.0.0.1 $LISTEN || true)
[ "$out" = "one-shot" ] || fail "nc -N from a pended source: expected the echo after the deadline, got '$out'"
ok "printf | nc -N, pended then accepted by the deadline: request kept through the half-close, echo received"

# -t 5: after its stdin's EOF socat waits 5 s (default 0.5 s) for the answer, longer than the 1 s pend.
out=$(printf 'socat-eof\n' | timeout 10 socat -t 5 - TCP:127.0.0.1:$LISTEN,bind=127.0.0.3 || true)
[ "$out" = "socat-eof" ] || fail "socat with stdin at EOF from a pended source: got '$out'"
ok "socat with stdin at EOF, pended: echo received"

out=$(printf 'at-once\n' | timeout 10 nc.openbsd -N -s 127.0.0.1 127.0.0.1 $LISTEN || true)
[ "$out" = "at-once" ] || fail "nc -N from an accepted source: got '$out'"
ok "printf | nc -N, accepted at once: echo received"

if err=$(printf 'x' | timeout 10 socat -d - TCP:127.0.0.1:$LISTEN,bind=127.0.0.2 2>&1); then
  case "$err" in *"reset by peer"*) ;; *) fail "rejected source: socat ended cleanly without a reset ($err)";; esac
fi
case "$err" in *"reset by peer"*) ok "rejected source reset (socat: connection reset by peer)";; *) fail "rejected source: no reset seen ($err)";; esac

aborts=$(counter 'portcullis_pended_outcomes_total{listener="front",outcome="abort"}')
timeout 10 nc.openbsd -N -s 127.0.0.3 127.0.0.1 $LISTEN < /dev/null || true
for _ in $(seq 1 40); do
  [ "$(counter 'portcullis_pended_outcomes_total{listener="front",outcome="abort"}')" -gt "$aborts" ] && break
  sleep 0.1
done
[ "$(counter 'portcullis_pended_outcomes_total{listener="front",outcome="abort"}')" -eq $((aborts + 1)) ] \
  || fail "a pended client that leaves before any byte: expected one abort"
ok "nc -N with nothing to send, pended: counted as one abort"

echo "client-check: $passed passed"
