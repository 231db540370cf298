#!/usr/bin/env bash
# The reliability suite, short profile: the gateway jar as a child process on loopback, attacked by
# io.portcullis.reliability.Suite (reliability/). Scenario 1: 200 connections relayed losslessly (SHA-256
# checked at both ends); scenario 3: 2,000 pended clients leave at once by FIN or RST (each abort counted
# once, gauge back to 0, open files back, no Netty leak at paranoid); scenario 6: backends SIGKILLed under
# echo streams (cut streams must reset, new connections fail over) and a backend that never answers (idle
# timeout). About 60 s on a 2-core machine.
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
