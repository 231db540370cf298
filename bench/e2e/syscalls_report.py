#!/usr/bin/env python3
"""The table of bench/syscalls.sh: system calls per connection, from strace -c tables and wrk's request count.

usage: syscalls_report.py --raw DIR --seconds N --connections C NAME...
   (reads DIR/NAME-idle.strace, DIR/NAME-loaded.strace, DIR/NAME-wrk.txt and DIR/machine.txt)
"""
import argparse
import json
import re
from pathlib import Path


def strace_table(path):
    """{syscall: (calls, errors)} from an strace -c summary."""
    out = {}
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) < 5 or not re.match(r"^\d+\.\d+$", parts[0]):
            continue
        name = parts[-1]
        if name == "total":
            continue
        # % time, seconds, usecs/call, calls, [errors], syscall
        calls = int(parts[3])
        errors = int(parts[4]) if len(parts) == 6 else 0
        out[name] = (calls, errors)
    return out


def connections(path):
    text = path.read_text(errors="replace")
    m = re.search(r"^WRKJSON (\{.*\})$", text, re.M)
    if m:
        return json.loads(m.group(1))["requests"]
    m = re.search(r"(\d+) requests in", text)
    return int(m.group(1)) if m else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--seconds", required=True)
    ap.add_argument("--connections", required=True)
    ap.add_argument("names", nargs="+")
    a = ap.parse_args()
    raw = Path(a.raw)

    rows = {}
    for name in a.names:
        loaded = strace_table(raw / f"{name}-loaded.strace")
        idle = strace_table(raw / f"{name}-idle.strace")
        conns = connections(raw / f"{name}-wrk.txt")
        per = {}
        for sc in set(loaded) | set(idle):
            calls = loaded.get(sc, (0, 0))[0] - idle.get(sc, (0, 0))[0]
            per[sc] = calls / conns if conns else 0.0
        rows[name] = {
            "connections": conns,
            "loaded": sum(c for c, _ in loaded.values()),
            "idle": sum(c for c, _ in idle.values()),
            "errors": sum(e for _, e in loaded.values()),
            "per": per,
        }

    print("System calls per connection (wrk -t 1 -c %s -H 'Connection: close', %s s traced per proxy, 1 worker thread)"
          % (a.connections, a.seconds))
    print("strace -c -f on every thread of the proxy process (nginx: its worker); 'idle' is the same time without")
    print("load, subtracted. Rates under strace mean nothing; counts per connection do.")
    print()
    machine = (raw / "machine.txt").read_text() if (raw / "machine.txt").exists() else ""
    for line in machine.splitlines():
        if line.split(":")[0] in ("date", "cpu", "nproc", "kernel", "load average at start", "commit", "java", "haproxy", "nginx"):
            print("  " + line)
    print()
    w = max(len(n) for n in a.names) + 2
    print(f"{'proxy':<{w}}{'connections':>12}{'calls loaded':>14}{'calls idle':>12}{'per connection':>16}{'failed calls/conn':>19}")
    for name, r in rows.items():
        per = (r["loaded"] - r["idle"]) / r["connections"] if r["connections"] else float("nan")
        errs = r["errors"] / r["connections"] if r["connections"] else float("nan")
        print(f"{name:<{w}}{r['connections']:>12,}{r['loaded']:>14,}{r['idle']:>12,}{per:>16.1f}{errs:>19.1f}")
    print()
    print("By system call (calls per connection, loaded minus idle; rows below 0.05 everywhere left out):")
    print()
    syscalls = sorted({sc for r in rows.values() for sc in r["per"]},
                      key=lambda sc: -max(r["per"].get(sc, 0) for r in rows.values()))
    print(f"{'syscall':<20}" + "".join(f"{n:>{max(len(n) + 2, 10)}}" for n in a.names))
    for sc in syscalls:
        vals = [rows[n]["per"].get(sc, 0.0) for n in a.names]
        if max(abs(v) for v in vals) < 0.05:
            continue
        print(f"{sc:<20}" + "".join(f"{v:>{max(len(n) + 2, 10)}.2f}" for n, v in zip(a.names, vals)))
    print()
    print("JVM threads are traced too: gettid comes from the JIT compiler (HotSpot's ciEnv, still compiling after")
    print("the warm-up), futex from JVM-internal hand-offs; neither is the connection path itself.")


if __name__ == "__main__":
    main()
