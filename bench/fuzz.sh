#!/usr/bin/env bash
# Scenario 10 of the reliability plan, for real: every Jazzer fuzz target fuzzed for its maxDuration (2 min).
#
#   bench/fuzz.sh                one round: the five targets, 2 min each (10 min of fuzzing, about 12 min)
#   ROUNDS=15 bench/fuzz.sh      a long run; each round goes on from the corpus the last one kept
#
# The corpus each target builds is kept in <module>/.cifuzz-corpus/ (ignored by git). A crashing input makes
# the run fail; Jazzer writes it beside the target's seed inputs (src/test/resources/.../*Inputs/), where it is
# a regression test once committed. Prints one summary line per target and "fuzz: ..." at the end; exit status
# non-zero when a target found a crash or did not run.
set -uo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-1}
TARGETS=(
  "portcullis-core ProxyHeaderFuzzTest#peekEndsInATypedOutcome"
  "portcullis-core ClientHelloFuzzTest#parsesOrRejects"
  "policy-rules RulesFileFuzzTest#rulesFileLoadsOrFailsTyped"
  "policy-rules ListFileFuzzTest#listFileLoadsOrFailsTyped"
  "policy-rules GeneratedRulesFuzzTest#generatedRulesLoadOrFailTyped"
)
LOG=${FUZZ_LOG:-target/fuzz}
mkdir -p "$LOG"
start=$(date +%s)
failed=()
for round in $(seq "$ROUNDS"); do
  for t in "${TARGETS[@]}"; do
    module=${t%% *}; test=${t#* }
    log="$LOG/${test%%#*}-$round.log"
    t0=$(date +%s)
    JAZZER_FUZZ=1 mvn -B -pl "$module" -am test -Dsurefire.failIfNoSpecifiedTests=false -Dtest="$test" \
        >"$log" 2>&1
    rc=$?
    # libFuzzer's last status line: executions and coverage reached.
    stat=$(grep -aE '#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 | sed -E 's/^.*(#[0-9]+).*cov: ([0-9]+).*corp: ([0-9]+).*/\1 execs, cov \2, corpus \3/')
    if [ $rc -ne 0 ] || ! grep -q 'Tests run: [1-9]' "$log"; then
      failed+=("$test (round $round, exit $rc, $log)")
      echo "fuzz: FAIL $test round $round after $(( $(date +%s) - t0 )) s, exit $rc; see $log"
      grep -aE '== Java Exception|FuzzerSecurityIssue|crash-|Tests run:.*Fail' "$log" | head -5
    else
      echo "fuzz: ok $test round $round, $(( $(date +%s) - t0 )) s, ${stat:-no libFuzzer status line}"
    fi
  done
done
secs=$(( $(date +%s) - start ))
if [ ${#failed[@]} -eq 0 ]; then
  echo "fuzz: ${#TARGETS[@]} targets x $ROUNDS round(s), 2 min each, in $secs s: 0 crashes"
else
  echo "fuzz: ${#failed[@]} of $(( ${#TARGETS[@]} * ROUNDS )) runs failed in $secs s: ${failed[*]}"
  exit 1
fi
