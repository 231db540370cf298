#!/usr/bin/env bash
# Builds the Portcullis container image on this machine and checks it the way it runs in production.
#
# No Docker engine and no image registry here: podman/buildah build docker/Dockerfile on a base image
# made with debootstrap (Debian bookworm minbase + openjdk-17-jre-headless). The base is cached as a
# tarball under $PORTCULLIS_CI_CACHE (default /var/cache/portcullis-ci, outside the repository) and in
# podman's own storage, so only the first run pays for it.
#
# The container runs with --network=host --read-only, a tmpfs on /tmp, as its non-root image user and
# with a memory limit. Checked: image metadata (numeric non-root user, STOPSIGNAL, HEALTHCHECK, ports),
# JVM heap sized from the limit, /actuator/health/liveness 200, the demo listener on 127.0.0.1:7000
# echoing through the gateway for 127.0.0.1 and resetting 127.0.0.2, the image's HEALTHCHECK, a
# read-only root, and a SIGTERM stop that ends well within the grace period.
# Then the Helm chart's own Deployment, ConfigMaps and admin token (helm template) run in the image with
# `podman kube play` (host network): application.yml read from the config ConfigMap, rules.yaml from the
# rules ConfigMap directory, a pended client decided by docker/decision/decide.py and echoed, a blocked one
# reset, the admin API behind the generated token on its own loopback port 9902 (not on 9901), the security
# context applied.
#
# Idempotent; installs what it needs (podman, buildah, runc, debootstrap, python3 with PyYAML, helm via
# .ci/install-helm.sh). Needs root, and the host ports 7000, 7001, 9901, 9902, 17100, 17101 and 18181
# free. Builds the jar when gateway-app/target/portcullis.jar is missing.
# Environment: PORTCULLIS_CI_CACHE, DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, STOP_GRACE (s, default 30),
# REBUILD_BASE=1 (make the base again), KEEP_IMAGE=1 (keep localhost/portcullis:ci after the run).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${PORTCULLIS_CI_CACHE:-/var/cache/portcullis-ci}
# The Debian mirrors this machine's apt already uses (deb822 .sources or sources.list), unless given.
apt_uris() {
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } | grep -i debian || true
}
MIRROR=${DEBIAN_MIRROR:-$(apt_uris | grep -v -- '-security' | sed -n 1p)}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-$(apt_uris | grep -- '-security' | sed -n 1p)}
[ -n "$MIRROR" ] || { echo "image-check: no Debian mirror found in the apt sources; set DEBIAN_MIRROR" >&2; exit 1; }
SECURITY_MIRROR=${SECURITY_MIRROR:-$MIRROR}
BASE_IMAGE=localhost/portcullis-base:ci
BASE_TAR=$CACHE/base-bookworm-openjdk17-v1.tar
IMAGE=localhost/portcullis:ci
NAME=portcullis-image-check
GRACE=${STOP_GRACE:-30}
MEMORY=512m
JAR=gateway-app/target/portcullis.jar

step() { printf '\n== image-check: %s (at %ss)\n' "$1" "$SECONDS"; }
passed=0
fail() { echo "image-check: FAIL: $*" >&2; echo "image-check: $passed passed, 1 failed"; exit 1; }
ok() { passed=$((passed + 1)); echo "image-check: ok: $*"; }

step "tools"
need=()
for tool in podman buildah runc debootstrap; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
command -v python3 >/dev/null 2>&1 || need+=(python3)
command -v curl >/dev/null 2>&1 || need+=(curl)
/usr/bin/python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -f /etc/containers/containers.conf ]; then
  # No systemd, no crun here: runc, and bounded ulimits (the host's are huge).
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<'EOF'
[engine]
runtime = "runc"
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
EOF
fi
podman --version
mkdir -p "$CACHE/bin"
bash .ci/install-helm.sh "$CACHE/bin" >/dev/null

step "base image $BASE_IMAGE"
if [ "${REBUILD_BASE:-0}" = 1 ]; then
  rm -f "$BASE_TAR"
  podman rmi -f "$BASE_IMAGE" >/dev/null 2>&1 || true
fi
if ! podman image exists "$BASE_IMAGE"; then
  if [ ! -s "$BASE_TAR" ]; then
    echo "Making the base with debootstrap into $CACHE (once; cached for later runs)"
    mkdir -p "$CACHE"
    rootfs=$CACHE/rootfs.tmp
    if mountpoint -q "$rootfs/proc" 2>/dev/null; then umount "$rootfs/proc"; fi
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$CACHE/debootstrap.log"; fail "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    cat > "$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY_MIRROR bookworm-security main
EOF
    # No documentation, man pages or translations in the image.
    cat > "$rootfs/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    mount -t proc proc "$rootfs/proc"
    trap 'umount "$rootfs/proc" 2>/dev/null || true' EXIT
    chroot "$rootfs" /bin/bash -c 'export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null \
      && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log' \
      || fail "installing openjdk-17-jre-headless into the base failed"
    umount "$rootfs/proc"
    trap - EXIT
    tar -C "$rootfs" --numeric-owner -cf "$BASE_TAR.tmp" . && mv "$BASE_TAR.tmp" "$BASE_TAR"
    rm -rf "$rootfs"
  fi
  podman import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' "$BASE_TAR" "$BASE_IMAGE" >/dev/null
fi
podman run --rm --network=none "$BASE_IMAGE" java -version 2>&1 | sed -n 1p

step "jar"
if [ ! -s "$JAR" ]; then
  mvn -B -q -Dstyle.color=never -DskipTests package
fi
ls -l "$JAR"

step "build $IMAGE from docker/Dockerfile"
# docker format keeps HEALTHCHECK (the OCI image format has no field for it).
podman build --quiet --isolation=chroot --format docker --build-arg "BASE=$BASE_IMAGE" \
  -f docker/Dockerfile -t "$IMAGE" . >/dev/null
podman image inspect "$IMAGE" --format 'size {{.Size}} bytes, user {{.Config.User}}'

step "image metadata"
user=$(podman image inspect "$IMAGE" --format '{{.Config.User}}')
[[ $user =~ ^[0-9]+(:[0-9]+)?$ ]] && [ "${user%%:*}" != 0 ] || fail "USER is '$user', expected a numeric non-root uid"
ok "USER $user"
signal=$(podman image inspect "$IMAGE" --format '{{.Config.StopSignal}}')
[ "$signal" = SIGTERM ] || fail "STOPSIGNAL is '$signal'"
ok "STOPSIGNAL $signal"
health=$(podman image inspect "$IMAGE" --format '{{if .Config.Healthcheck}}{{join .Config.Healthcheck.Test " "}}{{end}}')
[[ $health == *"/actuator/health/liveness"* ]] || fail "HEALTHCHECK missing or not on liveness: '$health'"
ok "HEALTHCHECK on /actuator/health/liveness"
ports=$(podman image inspect "$IMAGE" --format '{{range $p, $_ := .Config.ExposedPorts}}{{$p}} {{end}}')
[[ $ports == *9901/tcp* && $ports == *7000/tcp* ]] || fail "EXPOSE is '$ports', expected 9901 and 7000"
ok "EXPOSE $ports"
entrypoint=$(podman image inspect "$IMAGE" --format '{{join .Config.Entrypoint " "}}')
[ "$entrypoint" = "java -XX:SharedArchiveFile=/app/portcullis.jsa -Xlog:cds=off -Xlog:cds+dynamic=off -jar /app/portcullis.jar" ] \
  || fail "ENTRYPOINT is '$entrypoint'"
ok "ENTRYPOINT $entrypoint"
# The class-data sharing archive must map for this JVM and class path (-Xshare:on fails the start otherwise) and
# hold the application's classes, not only the JDK's: a training start of the context, classes counted by source.
shared=$(podman run --rm --network=none --read-only --tmpfs /tmp:rw,exec --entrypoint java "$IMAGE" \
  -Xshare:on -XX:SharedArchiveFile=/app/portcullis.jsa -Xlog:class+load=info -Dspring.context.exit=onRefresh \
  -jar /app/portcullis.jar 2>&1 | grep -c 'io.portcullis.*source: shared objects file (top)' || true)
[ "$shared" -ge 50 ] || fail "the CDS archive holds $shared Portcullis classes (expected the application's)"
ok "CDS archive maps (-Xshare:on) and serves $shared Portcullis classes"

step "run (host network, read-only root, tmpfs /tmp, memory $MEMORY)"
for port in 7000 7001 9901 9902 17100 17101 18181; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port is in use on this host; stop what listens there"; fi
done
# A run cut off earlier (a killed CI job) can leave its pod, or its container's storage, behind: remove them.
podman rm -f "$NAME" >/dev/null 2>&1 || true
podman pod rm -f image-check-portcullis-pod-0 >/dev/null 2>&1 || true
podman rm --storage image-check-portcullis-pod-0-portcullis >/dev/null 2>&1 || true
KUBE=$(mktemp -d /tmp/portcullis-image-check.XXXXXX)
helpers=()
cleanup() {
  podman logs "$NAME" >"$CACHE/last-run.log" 2>&1 || true
  podman rm -f "$NAME" "$NAME-uring" >/dev/null 2>&1 || true
  if [ -f "$KUBE/play.yaml" ]; then timeout --kill-after=10 60 podman kube down "$KUBE/play.yaml" >/dev/null 2>&1 || true; fi
  for pid in "${helpers[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$KUBE"
  [ "${KEEP_IMAGE:-0}" = 1 ] || podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT
mkdir -p "$CACHE"
podman run -d --name "$NAME" --network=host --read-only --read-only-tmpfs=false \
  --tmpfs /tmp:rw,exec,nosuid,nodev,size=64m --memory "$MEMORY" \
  --health-interval=disable "$IMAGE" >/dev/null 2>"$CACHE/podman-run.err" \
  || { cat "$CACHE/podman-run.err"; fail "podman run failed"; }  # stderr: systemd timer noise; the check runs by hand below
started=$SECONDS
until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9901/actuator/health/liveness)" = 200 ]; do
  [ "$(podman inspect "$NAME" --format '{{.State.Running}}')" = true ] \
    || { podman logs "$NAME" | tail -40; fail "the container exited"; }
  [ $((SECONDS - started)) -lt 90 ] || { podman logs "$NAME" | tail -40; fail "liveness not 200 after 90 s"; }
  sleep 1
done
ok "GET /actuator/health/liveness 200 after $((SECONDS - started)) s (bench/startup.sh measures it finer)"
readiness=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9901/actuator/health/readiness)
[ "$readiness" = 200 ] || fail "readiness is $readiness"
ok "GET /actuator/health/readiness 200"

uid=$(podman exec "$NAME" id -u)
[ "$uid" != 0 ] || fail "the process runs as root"
ok "runs as uid $uid"
if podman exec "$NAME" touch /app/written 2>/dev/null || podman exec "$NAME" touch /written 2>/dev/null; then
  fail "the root file system is writable"
fi
podman exec "$NAME" touch /tmp/written || fail "/tmp is not writable"
ok "root file system read-only, /tmp writable"
heap=$(podman exec "$NAME" java -XX:+PrintFlagsFinal -version 2>/dev/null | awk '$2 == "MaxHeapSize" {print $4}')
# 50 % of 512 MiB is 256 MiB; a JVM that ignored the limit would take a quarter of the host's memory.
[ -n "$heap" ] && [ "$heap" -le $((300 * 1024 * 1024)) ] && [ "$heap" -ge $((200 * 1024 * 1024)) ] \
  || fail "MaxHeapSize is '$heap' bytes, expected about half of $MEMORY"
ok "MaxHeapSize $((heap / 1024 / 1024)) MiB from the $MEMORY limit"
# Read once into a variable: `podman logs | grep -q` under pipefail fails at random when grep exits at its
# match and podman, still writing, dies of SIGPIPE.
logs=$(podman logs "$NAME" 2>&1)
transport=$(grep -o 'Transport: [a-zA-Z_]*' <<<"$logs" | sed -n 1p || true)
echo "image-check: $transport"
if [ "$transport" = "Transport: epoll" ]; then
  # The runtime's default seccomp profile denies io_uring: auto falls back, and says why.
  grep -q 'Transport auto: not io_uring (' <<<"$logs" \
    || fail "auto chose epoll without saying why io_uring was passed over"
  ok "auto: epoll under the default seccomp profile, with the reason io_uring was passed over"
fi
grep 'Transport:' <<<"$logs" | sed -n 1p | python3 -c 'import json, sys; line = json.loads(sys.stdin.read()); assert "@timestamp" in line and line["log"]["level"], line' \
  || fail "logs are not structured JSON (ECS) lines"
ok "logs are structured JSON (ECS)"

# Demo policy: 127.0.0.1 is accepted and relayed to the built-in echo backend, 127.0.0.2 is reset.
/usr/bin/env python3 - <<'EOF' || fail "demo listener checks failed"
import socket, sys

def connect(source):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", 7000))
    return s

s = connect("127.0.0.1")
payload = b"portcullis image check\n"
s.sendall(payload)
got = b""
while len(got) < len(payload):
    chunk = s.recv(4096)
    if not chunk:
        break
    got += chunk
s.close()
if got != payload:
    sys.exit(f"127.0.0.1: expected the echo {payload!r}, got {got!r}")
print("image-check: ok: 127.0.0.1 -> 7000 echoed through the gateway")

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(10)
s.bind(("127.0.0.2", 0))
try:
    # Inside the try: a rejection can reset the connection before connect() has returned.
    s.connect(("127.0.0.1", 7000))
    s.sendall(b"x")
    data = s.recv(4096)
    sys.exit(f"127.0.0.2: expected a reset, got {data!r}")
except (ConnectionResetError, BrokenPipeError):
    print("image-check: ok: 127.0.0.2 -> 7000 reset")
finally:
    s.close()
EOF
passed=$((passed + 2))
verdicts=$(curl -s http://127.0.0.1:9901/actuator/prometheus | grep '^portcullis_verdicts_total' || true)
grep -q 'action="reject"' <<<"$verdicts" && grep -q 'action="accept"' <<<"$verdicts" \
  || fail "portcullis_verdicts_total does not show the accept and the reject: $verdicts"
ok "portcullis_verdicts_total counted both"

if podman healthcheck run "$NAME" >/dev/null 2>&1; then
  ok "the image's HEALTHCHECK passes"
else
  fail "the image's HEALTHCHECK fails: $(podman healthcheck run "$NAME" 2>&1 | tail -1)"
fi

step "io_uring opt-in: the image under docker/seccomp-io_uring.py's profile"
# The profile operators make from their runtime's default; here from podman's (containers-common).
BASE_PROFILE=/usr/share/containers/seccomp.json
if [ -f "$BASE_PROFILE" ]; then
  python3 docker/seccomp-io_uring.py "$BASE_PROFILE" >"$KUBE/seccomp-io_uring.json" || fail "seccomp-io_uring.py failed"
  podman rm -f "$NAME-uring" >/dev/null 2>&1 || true
  podman run -d --name "$NAME-uring" --network=none --read-only --read-only-tmpfs=false \
    --tmpfs /tmp:rw,exec,nosuid,nodev,size=64m --memory "$MEMORY" --health-interval=disable \
    --security-opt seccomp="$KUBE/seccomp-io_uring.json" "$IMAGE" >/dev/null 2>>"$CACHE/podman-run.err" \
    || fail "podman run with the io_uring profile failed"
  uring=""
  for _ in $(seq 1 90); do
    uring=$(podman logs "$NAME-uring" 2>&1 | grep -o 'Transport: [a-zA-Z_]*' | sed -n 1p || true)
    [ -n "$uring" ] && break
    sleep 1
  done
  podman logs "$NAME-uring" >"$CACHE/uring-run.log" 2>&1 || true
  podman rm -f "$NAME-uring" >/dev/null 2>&1 || true
  [ "$uring" = "Transport: io_uring" ] || fail "under the io_uring profile: '${uring:-no Transport line}' (log: $CACHE/uring-run.log)"
  ok "auto: io_uring under the profile docker/seccomp-io_uring.py makes"
else
  echo "image-check: $BASE_PROFILE missing; io_uring opt-in not checked"
fi

step "stop with SIGTERM (grace $GRACE s)"
stop_started=$(date +%s%N)
podman stop -t "$GRACE" "$NAME" >/dev/null 2>&1  # stderr: systemd timer noise
stop_ms=$((($(date +%s%N) - stop_started) / 1000000))
code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
# 143 = ended by SIGTERM after the JVM's shutdown hooks ran; 137 would be the SIGKILL after the grace.
[ "$code" = 143 ] || [ "$code" = 0 ] || fail "exit status $code after SIGTERM (137: killed after the grace period)"
[ "$stop_ms" -lt $((GRACE * 1000)) ] || fail "stopping took $stop_ms ms, not within $GRACE s"
podman logs "$NAME" 2>&1 | tail -3
ok "stopped by SIGTERM in $stop_ms ms, exit status $code"

step "the Helm chart's Deployment in the image (podman kube play)"
cat >"$KUBE/values.yaml" <<VALUES
image: {repository: ${IMAGE%:*}, tag: ${IMAGE##*:}, pullPolicy: IfNotPresent}
replicaCount: 1
config:
  portcullis:
    listeners:
      - name: echo
        bind: 0.0.0.0:17100
        backends: [127.0.0.1:17101]
        inspect: {timeout: 5s, on-timeout: reject, max-pending: 100}
    decision-services:
      authz: {type: http, url: "http://127.0.0.1:18181/v1/decide", timeout: 500ms, on-failure: reject}
rules: |
  lists:
    blocked: [127.0.0.2]
  listeners:
    echo:
      rules:
        - name: deny-blocked
          source: [list:blocked]
          action: reject
        - name: ask-authz
          action: pend
          decision: authz
      default: reject
VALUES
"$CACHE/bin/helm" template image-check helm/portcullis -f "$KUBE/values.yaml" >"$KUBE/rendered.yaml"
# podman kube play has no Services, runs pods on the host network only without port mappings, and its
# Secret support differs by version: drop the ports (probes use 9901 by number) and pass the token that
# the chart generated as a plain value. The rest (security context, volumes, env, probes) is as rendered.
token=$(/usr/bin/python3 - "$KUBE/rendered.yaml" "$KUBE/play.yaml" <<'PY'
import base64, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
secret = next(d for d in docs if d["kind"] == "Secret")
token = base64.b64decode(next(iter(secret["data"].values()))).decode()
for d in docs:
    if d["kind"] == "Deployment":
        for c in d["spec"]["template"]["spec"]["containers"]:
            c.pop("ports", None)
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                if probe in c:
                    c[probe]["httpGet"]["port"] = 9901
            for e in c["env"]:
                if e["name"] == "PORTCULLIS_ADMIN_TOKEN":
                    e.pop("valueFrom")
                    e["value"] = token
yaml.safe_dump_all([d for d in docs if d["kind"] in ("Deployment", "ConfigMap")], open(sys.argv[2], "w"))
print(token)
PY
)
/usr/bin/python3 - >"$KUBE/echo.log" 2>&1 <<'PY' &
import socketserver
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", 17101), Echo).serve_forever()
PY
helpers+=("$!")
PORT=18181 /usr/bin/python3 -u docker/decision/decide.py >"$KUBE/authz.log" 2>&1 &
helpers+=("$!")
# Bounded: a podman whose locks a killed process left held waits for ever (`podman system renumber` frees them).
timeout --kill-after=10 180 podman kube play --network host "$KUBE/play.yaml" >"$KUBE/play.log" 2>&1 \
  || { cat "$KUBE/play.log"; fail "podman kube play failed or hung (if it hung: podman system renumber)"; }
pod_container=$(podman ps --format '{{.Names}}' | grep -- '-portcullis$' | sed -n 1p)
[ -n "$pod_container" ] || { cat "$KUBE/play.log"; fail "no container of the chart's pod runs"; }
started=$SECONDS
until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9901/actuator/health/readiness)" = 200 ]; do
  [ $((SECONDS - started)) -lt 90 ] || { podman logs "$pod_container" 2>&1 | tail -40; fail "the chart's pod is not ready after 90 s"; }
  sleep 1
done
ok "the chart's pod is ready after $((SECONDS - started)) s"
health=$(curl -s http://127.0.0.1:9901/actuator/health)
grep -q '"policy":"/etc/portcullis/rules/rules.yaml"' <<<"$health" || fail "policy not read from the rules ConfigMap: $health"
ok "application.yml from the config ConfigMap, policy from /etc/portcullis/rules/rules.yaml"
/usr/bin/python3 - <<'PY' || fail "the chart's listener checks failed"
import socket, sys
def talk(source):
    s = socket.socket(); s.settimeout(10); s.bind((source, 0))
    try:
        # Inside the try: a rejection can reset the connection before connect() has returned.
        s.connect(("127.0.0.1", 17100))
        s.sendall(b"through the chart\n")
        return s.recv(100)
    except ConnectionResetError:
        return "reset"
    finally:
        s.close()
got = talk("127.0.0.1")
if got != b"through the chart\n":
    sys.exit(f"127.0.0.1: expected the echo, got {got!r}")
print("image-check: ok: 127.0.0.1 -> 17100 pended, decide.py accepted, echoed")
got = talk("127.0.0.2")
if got != "reset":
    sys.exit(f"127.0.0.2: expected a reset, got {got!r}")
print("image-check: ok: 127.0.0.2 -> 17100 reset by the rules ConfigMap's blocked list")
PY
passed=$((passed + 2))
grep -q 'rule=ask-authz -> accept' "$KUBE/authz.log" || fail "decide.py was not asked"
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9902/admin/pending)" = 401 ] || fail "admin API without token is not 401"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" http://127.0.0.1:9902/admin/pending)" = 200 ] \
  || fail "admin API with the chart's token is not 200"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" http://127.0.0.1:9901/admin/pending)" = 404 ] \
  || fail "the admin API answers on the management port 9901"
# Bound to 127.0.0.1 only: the same port on another loopback address refuses the connection.
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.2:9902/admin/pending)" = 000 ] \
  || fail "the chart's admin port answers on 127.0.0.2: it binds more than 127.0.0.1"
ok "admin API on 127.0.0.1:9902 only: 401 without, 200 with the chart's generated token; not on 9901"
sec=$(podman inspect "$pod_container" --format '{{.HostConfig.ReadonlyRootfs}} {{len .HostConfig.CapAdd}} {{.HostConfig.SecurityOpt}}')
[[ $sec == "true 0 "*no-new-privileges* ]] || fail "security context not applied: $sec"
[ "$(podman exec "$pod_container" id -u)" = 10001 ] || fail "the chart's pod does not run as 10001"
ok "chart security context applied: read-only root, no capabilities added, no-new-privileges, uid 10001"
podman kube down "$KUBE/play.yaml" >/dev/null 2>&1
rm -f "$KUBE/play.yaml"

echo
echo "image-check took ${SECONDS}s"
echo "image-check: $passed passed, 0 failed"
