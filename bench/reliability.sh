#!/usr/bin/env bash
# The reliability suite by hand (reliability/, io.portcullis.reliability.Suite).
#
#   bench/reliability.sh          short profile, as .ci/reliability.sh (about 5 min on 2 cores)
#   LONG=1 bench/reliability.sh   long profile: 2,000 connections from 100 sources, payloads up to 64 MiB
#                                 (about 14 GiB moved), 10,000 pended clients aborting, 10 SIGKILL rounds, a
#                                 30-minute soak (11), then scenario 10: bench/fuzz.sh (the five Jazzer targets,
#                                 2 min each); 3 h at most (watchdog)
#
# Builds the jar and the suite when missing. Writes bench/results/reliability-<date>[-short].md (the table
# and the machine) and .json; gateway logs go to bench/results/tmp/reliability-<date>/.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE=short; [ "${LONG:-0}" = 1 ] && PROFILE=long
DATE=${DATE:-$(date -u +%Y-%m-%d)}
SUFFIX=; [ "$PROFILE" = long ] || SUFFIX=-short
WORK=bench/results/tmp/reliability-$DATE$SUFFIX
OUT=bench/results/reliability-$DATE$SUFFIX
JAR=gateway-app/target/portcullis.jar
if [ ! -f "$JAR" ] || [ ! -d reliability/target/classes/io ]; then
  mvn -q -B -DskipTests package
fi
start=$(date +%s)
rc=0
java -cp reliability/target/classes io.portcullis.reliability.Suite --profile "$PROFILE" --jar "$JAR" --out "$WORK" || rc=$?
fuzz=
if [ "$PROFILE" = long ]; then
  f0=$(date +%s)
  frc=0
  FUZZ_LOG=$WORK/fuzz bash bench/fuzz.sh | tee "$WORK/fuzz.txt" || frc=$?
  [ $frc -eq 0 ] || rc=1
  verdict=pass; [ $frc -eq 0 ] || verdict=FAIL
  fuzz="| 10 fuzzing | 5 Jazzer targets (PROXY peek, ClientHello, rules.yaml, list file, generated policies), 2 min each, $(( $(date +%s) - f0 )) s in all | mutated inputs | **$verdict**: $(grep -c '^fuzz: ok' "$WORK/fuzz.txt") of 5 targets ran clean: $(grep '^fuzz: ok' "$WORK/fuzz.txt" | sed -E 's/^fuzz: ok ([A-Za-z]+)FuzzTest#[^ ]* round [0-9]+, [0-9]+ s, /\1: /' | paste -sd ';' | sed 's/;/; /g') | - | - |"
fi
secs=$(( $(date +%s) - start ))
{
  echo "# Reliability suite, $PROFILE profile, $DATE"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(java -version 2>&1 | head -1)."
  echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown). Whole run: ${secs} s. Exit status: $rc."
  echo
  cat "$WORK/results.md" 2>/dev/null || echo "(no table: the suite stopped before writing it; see $WORK)"
  [ -z "$fuzz" ] || echo "$fuzz"
} > "$OUT.md"
cp "$WORK/results.json" "$OUT.json" 2>/dev/null || true
cat "$OUT.md"
exit $rc
