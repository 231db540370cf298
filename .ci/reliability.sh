#!/usr/bin/env bash
# The reliability suite, short profile: the gateway jar as a child process on loopback, attacked by
# io.portcullis.reliability.Suite (reliability/): scenarios 1-9 of the README's "Reliability" section.
# About 5 minutes alone on a 2-core machine (-Dreliability.only=N runs scenario N alone).
#
# Needs only a JDK (java; jcmd for the leak check). Builds the jar and the suite when missing. Uses free
# 127.0.0.1 ports from 27500 up (-Dreliability.basePort moves them) and source addresses
# 127.0.0.2..127.0.0.101. Prints the table; writes target/reliability/results.{md,json} and the gateways'
# logs there. Exit status non-zero when a scenario fails.
set -euo pipefail
cd "$(dirname "$0")/.."

JAR=gateway-app/target/portcullis.jar
OUT=target/reliability
if [ ! -f "$JAR" ] || [ ! -d reliability/target/classes/io ]; then
  echo "reliability: building the jar and the suite"
  mvn -q -B -DskipTests package
fi
rc=0
java -cp reliability/target/classes io.portcullis.reliability.Suite --profile short --jar "$JAR" --out "$OUT" || rc=$?
[ -f "$OUT/results.md" ] && cat "$OUT/results.md"
exit $rc
