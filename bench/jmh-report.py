#!/usr/bin/env python3
"""Merges JMH JSON results and writes them as a Markdown table with the machine and the targets.

Used by bench/run-jmh.sh:
  jmh-report.py --machine M.txt --commands C.txt --json OUT.json --markdown OUT.md RESULT.json...
"""
import argparse
import json
import math

# time unit of a score -> nanoseconds
NANOS = {"ns/op": 1.0, "us/op": 1e3, "µs/op": 1e3, "ms/op": 1e6, "s/op": 1e9}

LIST_LOAD_TARGET_MS = 2000.0  # 1,000,000 list entries load in under 2 s
MATCH_TARGET_NS = 1000.0      # a match (rule evaluation, CIDR lookup) in well under 1 µs


def number(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value


def fmt(value, digits=3):
    if math.isnan(value):
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:,.1f}"
    return f"{value:,.{digits}f}"


def short_name(benchmark):
    parts = benchmark.split(".")
    return f"{parts[-2].removesuffix('Benchmark')}.{parts[-1]}"


def params_text(params):
    return ", ".join(f"{k}={v}" for k, v in (params or {}).items())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--machine", required=True)
    parser.add_argument("--commands", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--markdown", required=True)
    parser.add_argument("results", nargs="+")
    args = parser.parse_args()

    results = []
    for path in args.results:
        with open(path, encoding="utf-8") as f:
            results.extend(json.load(f))
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
        f.write("\n")

    machine = {}
    with open(args.machine, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(": ")
            machine.setdefault(key, []).append(value)
    with open(args.commands, encoding="utf-8") as f:
        commands = [line.rstrip("\n") for line in f if line.strip()]

    rows = []
    for r in results:
        metric = r["primaryMetric"]
        unit = metric["scoreUnit"]
        scale = NANOS.get(unit, math.nan)
        score, error = number(metric["score"]), number(metric["scoreError"])
        samples = sum(len(fork) for fork in metric.get("rawData", []))
        rows.append({
            "name": short_name(r["benchmark"]), "benchmark": r["benchmark"], "params": r.get("params") or {},
            "mode": r["mode"], "score": score, "error": error, "unit": unit, "samples": samples,
            "forks": r.get("forks"), "ns": score * scale, "error_ns": error * scale,
        })

    date = machine.get("date", ["?"])[0]
    profile = machine.get("profile", ["?"])[0]
    out = []
    out.append(f"# JMH results, {date[:10]} ({profile} profile)")
    out.append("")
    out.append("Indicative figures: a small machine shared with other builds, "
               + ("one fork and short iterations" if profile == "short" else "three forks")
               + ". Compare runs from the same machine, not absolute numbers across machines.")
    out.append("")
    out.append("## Machine")
    out.append("")
    for key in ("cpu", "nproc", "memory", "kernel", "load average at start", "load average at end", "commit"):
        if key in machine:
            out.append(f"- {key}: {machine[key][0]}")
    if "java" in machine:
        out.append("- java -version:")
        out.append("")
        out.append("  ```")
        out.extend(f"  {line}" for line in machine["java"])
        out.append("  ```")
    out.append("")
    out.append("## Results")
    out.append("")
    out.append("`avgt`: average time per operation; `ss`: single shot, one load per sample. "
               "± is JMH's 99.9 % confidence half-width (– with too few samples).")
    out.append("")
    out.append("| benchmark | parameters | mode | samples | score | ± | unit | µs/op | ns/op |")
    out.append("|---|---|---|--:|--:|--:|---|--:|--:|")
    for row in rows:
        out.append(f"| {row['name']} | {params_text(row['params'])} | {row['mode']} | {row['samples']} | "
                   f"{fmt(row['score'])} | {fmt(row['error'])} | {row['unit']} | {fmt(row['ns'] / 1e3)} | "
                   f"{fmt(row['ns'])} |")
    out.append("")

    out.append("## Targets")
    out.append("")
    out.append("| target | measured | met |")
    out.append("|---|---|---|")
    for row in rows:
        if row["name"].startswith("ListFileLoad."):
            ms = row["ns"] / 1e6
            kind = "first load in a fresh JVM (start)" if row["name"].endswith("coldLoad") else "load after warm-up (reload)"
            out.append(f"| {int(row['params'].get('entries', 0)):,} list entries ({row['params'].get('content')}) load in "
                       f"under 2 s: {kind} | {fmt(ms)} ms | {'yes' if ms < LIST_LOAD_TARGET_MS else '**no**'} |")
    for row in rows:
        if row["name"].startswith(("CidrSetLookup.", "PolicyEvaluation.")):
            ns = row["ns"]
            out.append(f"| a match well under 1 µs: {row['name']} ({params_text(row['params'])}) | {fmt(ns)} ns | "
                       f"{'yes' if ns < MATCH_TARGET_NS else '**no**'} |")
    out.append("")
    out.append("## Commands")
    out.append("")
    out.append("```sh")
    out.extend(commands)
    out.append("```")
    out.append("")
    with open(args.markdown, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
