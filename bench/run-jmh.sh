#!/usr/bin/env bash
# JMH benchmarks of the policy code paths (bench/jmh): rule evaluation, CIDR set lookups, list-file loading.
# Builds the benchmarks jar (Maven profile "bench"), runs every benchmark, and writes
#   bench/results/jmh-<date>.json   JMH's JSON results (all runs, one array)
#   bench/results/jmh-<date>.md     a table of the figures, the targets, the machine and the commands
#
#   bench/run-jmh.sh                 short profile (about 5 minutes): indicative figures
#   LONG=1 bench/run-jmh.sh          long profile (about 45 minutes): 3 forks, longer warm-up and measurement
#   SKIP_BUILD=1 bench/run-jmh.sh    reuse bench/jmh/target/benchmarks.jar
#   JMH_ARGS='-p size=1000' ...      extra JMH options for every run (e.g. -p to pick parameters, -prof gc)
#   DATE=2025-01-31 ...              the date in the file names (default: today, UTC)
#
# Figures from a shared or small machine are indicative only; compare runs from the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v java >/dev/null || { echo "java not found (Java 17+ needed)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found (it writes the Markdown table)" >&2; exit 1; }

DATE=${DATE:-$(date -u +%Y-%m-%d)}
RESULTS=bench/results
TMP=$RESULTS/tmp/jmh-$DATE
JAR=bench/jmh/target/benchmarks.jar
mkdir -p "$RESULTS" "$TMP"
rm -f "$TMP"/*.json

if [ "${LONG:-0}" = 1 ]; then
  PROFILE=long
  LOOKUPS=(-f 3 -wi 5 -i 10 -w 2s -r 2s)   # per parameter set: 3 JVMs x (5 x 2 s warm-up + 10 x 2 s measured)
  WARM_LOADS=(-f 3 -wi 5 -i 20)            # 3 JVMs x (5 loads warm-up + 20 loads measured)
  COLD_LOADS=(-f 10 -wi 0 -i 1)            # 10 fresh JVMs, the first load of each
else
  PROFILE=short
  LOOKUPS=(-f 1 -wi 2 -i 3 -w 1s -r 1s)
  WARM_LOADS=(-f 1 -wi 2 -i 5)
  COLD_LOADS=(-f 3 -wi 0 -i 1)
fi
# shellcheck disable=SC2206
EXTRA=(${JMH_ARGS:-})

BUILD="mvn -B -q -Pbench -pl bench/jmh -am package -DskipTests"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== build: $BUILD"
  $BUILD
fi

# The machine, recorded before the runs (load average: other work on the machine skews the figures).
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "profile: $PROFILE"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "nproc: $(nproc)"
  echo "memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  java -version 2>&1 | sed 's/^/java: /'
} > "$TMP/machine.txt"
cat "$TMP/machine.txt"

COMMANDS=()
run() { # run NAME ARGS...: one JMH invocation, its JSON in $TMP/NAME.json
  local name=$1; shift
  local cmd=(java -jar "$JAR" "$@" ${EXTRA[@]+"${EXTRA[@]}"} -rf json -rff "$TMP/$name.json")
  COMMANDS+=("${cmd[*]}")
  echo "== $name: ${cmd[*]}"
  "${cmd[@]}"
}

run lookups 'io.portcullis.bench.(PolicyEvaluationBenchmark|CidrSetLookupBenchmark).*' "${LOOKUPS[@]}"
run warm-loads 'io.portcullis.bench.ListFileLoadBenchmark.warmLoad' "${WARM_LOADS[@]}"
run cold-loads 'io.portcullis.bench.ListFileLoadBenchmark.coldLoad' "${COLD_LOADS[@]}"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$TMP/machine.txt"

printf '%s\n' "$BUILD" "${COMMANDS[@]}" > "$TMP/commands.txt"
python3 bench/jmh-report.py --machine "$TMP/machine.txt" --commands "$TMP/commands.txt" \
  --json "$RESULTS/jmh-$DATE.json" --markdown "$RESULTS/jmh-$DATE.md" \
  "$TMP/lookups.json" "$TMP/warm-loads.json" "$TMP/cold-loads.json"
echo "== wrote $RESULTS/jmh-$DATE.json and $RESULTS/jmh-$DATE.md"
