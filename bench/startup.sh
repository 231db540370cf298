#!/usr/bin/env bash
# Launch to ready: milliseconds from starting the gateway on its embedded demo default until its readiness is UP
# and the demo listener (127.0.0.1:7000) accepts, polled every 20 ms.
#
#   bench/startup.sh                   5 rounds of each way, interleaved (about a minute)
#   ROUNDS=10 bench/startup.sh
#   IMAGE=localhost/portcullis:ci bench/startup.sh   the container image too (podman, host network, read-only)
#
# Ways: 'jar' is the README's `java -jar gateway-app/target/portcullis.jar`; 'jar + CDS' is what the image
# runs: the jar unpacked by Spring Boot's tools jar mode and a class-data sharing archive from a training start
# (docker/Dockerfile), made here once under bench/results/tmp/startup/. Ports 7000 and 9901 must be free.
# Writes bench/results/startup-<date>.md.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DATE=${DATE:-$(date -u +%Y-%m-%d)}
JAR=gateway-app/target/portcullis.jar
WORK=bench/results/tmp/startup
OUT=bench/results/startup-$DATE.md
[ -f "$JAR" ] || mvn -q -B -DskipTests package
for port in 7000 9901; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "port $port is in use" >&2; exit 1; fi
done
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

rm -rf "$WORK" && mkdir -p "$WORK"
java -Djarmode=tools -jar "$JAR" extract --destination "$WORK/app" >/dev/null
java -XX:ArchiveClassesAtExit="$WORK/app/portcullis.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off \
  -Dspring.context.exit=onRefresh -jar "$WORK/app/portcullis.jar" >"$WORK/training.log" 2>&1
CDS=(java "-XX:SharedArchiveFile=$WORK/app/portcullis.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off -jar "$WORK/app/portcullis.jar")
PLAIN=(java -jar "$JAR")
NAMES=("jar" "jar + CDS")
if [ -n "${IMAGE:-}" ]; then
  command -v podman >/dev/null || { echo "IMAGE given but no podman" >&2; exit 1; }
  NAMES+=("image")
fi

# ready NAME: starts one way, prints the milliseconds to ready (or FAIL after 60 s), stops it.
ready() {
  local name=$1 pid t0 t1 ms=FAIL
  t0=$(date +%s%N)
  case $name in
    "jar") "${PLAIN[@]}" >"$WORK/run.log" 2>&1 & pid=$! ;;
    "jar + CDS") "${CDS[@]}" >"$WORK/run.log" 2>&1 & pid=$! ;;
    "image") podman run --rm --name portcullis-startup --network=host --read-only \
               --tmpfs /tmp:rw,exec,nosuid,nodev,size=64m "$IMAGE" >"$WORK/run.log" 2>&1 & pid=$! ;;
  esac
  for _ in $(seq 3000); do
    if curl -sf -m 1 http://127.0.0.1:9901/actuator/health/readiness 2>/dev/null | grep -q '"UP"' \
       && (exec 3<>/dev/tcp/127.0.0.1/7000) 2>/dev/null; then
      t1=$(date +%s%N); ms=$(( (t1 - t0) / 1000000 )); break
    fi
    kill -0 "$pid" 2>/dev/null || break
    [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 60000 ] || break
    sleep 0.02
  done
  if [ "$name" = image ]; then podman stop -t 10 portcullis-startup >/dev/null 2>&1 || true; else kill "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  # the next start needs the ports back
  for _ in $(seq 200); do
    (exec 3<>/dev/tcp/127.0.0.1/9901) 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/7000) 2>/dev/null || break
    sleep 0.05
  done
  echo "$ms"
}

declare -A TIMES
for r in $(seq "$ROUNDS"); do
  for n in "${NAMES[@]}"; do
    ms=$(ready "$n")
    echo "startup: round $r, $n: $ms ms" >&2
    TIMES[$n]="${TIMES[$n]:-} $ms"
  done
done

stats() { # min / median / max of numbers (FAIL counted apart)
  tr ' ' '\n' | grep -E '^[0-9]+$' | sort -n | awk '{a[NR]=$1} END {if (NR==0) {print "- | - | -"; exit}
    m = (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2); print a[1] " | " m " | " a[NR]}'
}
{
  echo "# Launch to ready, $DATE"
  echo
  echo "Machine: $(nproc) cores, $(uname -sr), $(java -version 2>&1 | head -1). Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). $ROUNDS rounds, interleaved; the embedded demo default."
  echo
  echo "| way | min ms | median ms | max ms | failed |"
  echo "|---|--:|--:|--:|--:|"
  for n in "${NAMES[@]}"; do
    fails=$(tr ' ' '\n' <<<"${TIMES[$n]}" | grep -c FAIL || true)
    echo "| $n | $(stats <<<"${TIMES[$n]}") | $fails |"
  done
} >"$OUT"
cat "$OUT"
