#!/usr/bin/env python3
"""Turns the raw outputs of bench/peek-tls.sh into the results: JSON and a Markdown table.

Reads RAW/machine.txt, settings.txt, paths.tsv, skipped.txt, other-name.txt, meters.txt and the runs
r<round>-<hello>-<path>.txt (wrk with bench/e2e/wrk-raw.lua). Each wrk request is one connection (the backend
answers the hello with 400 and closes), so connections/s = requests / duration. Every figure is the median over
the rounds; every ratio is the median over the rounds of (path / reference in the same round). A run's line
CPUTICKS (the proxy's user and system ticks before and after it) gives its CPU time per connection.

usage: peek_report.py --raw DIR --name NAME --json OUT --markdown OUT
"""
import argparse
import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import fmt, parse_wrk, read_kv, read_machine  # noqa: E402  (the e2e report's readers)

HELLOS = [("x25519", "X25519 key share"), ("mlkem", "X25519MLKEM768 key share")]
REFERENCES = ["haproxy", "nginx"]
SUBJECTS = ["portcullis-peek", "portcullis-peek-uring"]
TARGET = 1.0
LABELS = {
    "direct": "direct (no proxy)",
    "haproxy": "HAProxy, req.ssl_sni",
    "nginx": "nginx stream, ssl_preread",
    "portcullis-peek": "Portcullis, peek.tls on epoll (the container default)",
    "portcullis-nopeek": "Portcullis, no peek (epoll)",
    "portcullis-peek-uring": "Portcullis, peek.tls on io_uring",
}
# (label, numerator, denominator): where the time goes, not targets
INSIGHTS = [
    ("the peek's own cost (peek / nopeek)", "portcullis-peek", "portcullis-nopeek"),
    ("io_uring instead of epoll, both peeking (peek-uring / peek)", "portcullis-peek-uring", "portcullis-peek"),
    ("nginx ssl_preread vs HAProxy req.ssl_sni (nginx / haproxy)", "nginx", "haproxy"),
]


def cpu_per_connection(text, connections):
    """The proxy's CPU time per connection (µs, user and system) from the line CPUTICKS u0 s0 u1 s1 hz."""
    m = re.search(r"^CPUTICKS (\d+) (\d+) (\d+) (\d+) (\d+)$", text, re.M)
    if not m or not connections:
        return None
    u0, s0, u1, s1, hz = map(int, m.groups())
    return {"cpu_user_us": round((u1 - u0) / hz / connections * 1e6, 1),
            "cpu_sys_us": round((s1 - s0) / hz / connections * 1e6, 1)}


def median(xs):
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--markdown", required=True)
    a = ap.parse_args()
    raw = Path(a.raw)

    paths = [line.split("\t", 1)[0] for line in (raw / "paths.tsv").read_text().splitlines() if line]
    descs = dict(line.split("\t", 1) for line in (raw / "paths.tsv").read_text().splitlines() if line)
    skipped = [line.split("\t", 1) for line in (raw / "skipped.txt").read_text().splitlines() if line] \
        if (raw / "skipped.txt").exists() else []
    other = dict(line.split("\t", 1) for line in (raw / "other-name.txt").read_text().splitlines() if line) \
        if (raw / "other-name.txt").exists() else {}
    settings = read_kv(raw / "settings.txt", "=")
    machine = read_machine(raw / "machine.txt")

    runs, failures = [], []
    cps = {}  # (hello, path) -> {round: conn/s}
    cpu_us = {}  # (hello, path) -> {round: {"cpu_user_us": .., "cpu_sys_us": ..}}
    for f in sorted(raw.glob("r*-*-*.txt")):
        rnd, hello, path = f.stem.split("-", 2)
        rnd = int(rnd[1:])
        result, error = parse_wrk(f)
        if result is None:
            failures.append(f"{f.name}: {error}")
            continue
        d = result["error_detail"]
        # The backend's 400 is the expected answer (wrk counts it as a status error); the rest are failures.
        failed = d["connect"] + d["read"] + d["write"] + d["timeout"]
        run = {"round": rnd, "hello": hello, "path": path, "connections_per_s": round(result["per_s"], 1),
               "requests": result["requests"], "seconds": result["seconds"], "failed": failed,
               "errors": d, "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"]}
        cpu = cpu_per_connection(f.read_text(errors="replace"), result["requests"])
        if cpu:
            run.update(cpu)
            cpu_us.setdefault((hello, path), {})[rnd] = cpu
        runs.append(run)
        if failed:
            failures.append(f"{f.name}: {failed} failed connections ({d})")
        cps.setdefault((hello, path), {})[rnd] = result["per_s"]

    def ratios(hello, num, den):
        a_, b_ = cps.get((hello, num), {}), cps.get((hello, den), {})
        return [a_[r] / b_[r] for r in sorted(a_) if r in b_ and b_[r]]

    table = {}
    for hello, _ in HELLOS:
        for p in paths:
            vals = list(cps.get((hello, p), {}).values())
            cpus = list(cpu_us.get((hello, p), {}).values())
            table.setdefault(p, {})[hello] = {
                "connections_per_s": median(vals),
                "cpu_user_us": median([c["cpu_user_us"] for c in cpus]),
                "cpu_sys_us": median([c["cpu_sys_us"] for c in cpus]),
                "cpu_us": median([c["cpu_user_us"] + c["cpu_sys_us"] for c in cpus]),
                **{f"ratio_to_{ref}": median(ratios(hello, p, ref)) for ref in REFERENCES},
                **{f"ratios_to_{ref}_per_round": [round(x, 3) for x in ratios(hello, p, ref)] for ref in REFERENCES},
            }
    targets = []
    for subj in SUBJECTS:
        if subj not in paths:
            continue
        for hello, hello_label in HELLOS:
            for ref in REFERENCES:
                rs = ratios(hello, subj, ref)
                m = median(rs)
                targets.append({"subject": subj, "hello": hello, "reference": ref, "ratio": m,
                                "per_round": [round(x, 3) for x in rs],
                                "met": None if m is None else m >= TARGET})
    insights = []
    for label, num, den in INSIGHTS:
        for hello, _ in HELLOS:
            rs = ratios(hello, num, den)
            if rs:
                insights.append({"what": label, "hello": hello, "ratio": median(rs), "per_round": [round(x, 3) for x in rs]})

    doc = {"name": a.name, "settings": settings, "machine": machine, "paths": descs, "skipped": skipped,
           "other_name": other, "table": table, "targets": targets, "insights": insights, "runs": runs,
           "failures": failures,
           "meters": (raw / "meters.txt").read_text() if (raw / "meters.txt").exists() else ""}
    Path(a.json).write_text(json.dumps(doc, indent=1) + "\n")
    write_markdown(Path(a.markdown), doc, paths)


def r2(x):
    return "–" if x is None else f"{x:.2f}"


def write_markdown(out, doc, paths):
    s, m = doc["settings"], doc["machine"]
    w = []
    w.append(f"# Peeking at the TLS ClientHello: {doc['name']}\n")
    w.append("Connections/s through each path, one fixed ClientHello per connection (the backend answers it with 400 "
             "and closes). Medians of the rounds; in brackets the median over the rounds of the ratio to HAProxy "
             "/ to nginx in the same round.\n")
    sni = s.get("sni_extracted")
    if sni == "no":
        w.append("**This jar does not extract the SNI yet**: the `sni` rule rejected the hello, so the Portcullis "
                 "peek paths ran on a second listener that peeks the same way with an accept-all rule. They measure "
                 "the ClientHello's reassembly and replay, not the name's parsing nor the rule.\n")
    elif sni == "yes":
        w.append("The SNI was extracted: Portcullis routed by the rule `sni: [bench.example.com]` (accept), "
                 "default reject, as HAProxy and nginx route by the name.\n")
    head = "| path | " + " | ".join(f"{lbl} ({s.get(f'hello_{h}_bytes', '?')} B), conn/s" for h, lbl in HELLOS) + " |"
    w.append(head)
    w.append("|---|" + "--:|" * len(HELLOS))
    for p in paths:
        cells = []
        for h, _ in HELLOS:
            t = doc["table"][p][h]
            v = t["connections_per_s"]
            if v is None:
                cells.append("–")
            elif p in REFERENCES:
                other_ref = [r for r in REFERENCES if r != p][0]
                cells.append(f"{fmt(v, 'conn/s')} ({r2(t[f'ratio_to_{other_ref}'])} × {other_ref})")
            else:
                cells.append(f"{fmt(v, 'conn/s')} ({r2(t['ratio_to_haproxy'])} / {r2(t['ratio_to_nginx'])})")
        name = f"**{LABELS.get(p, p)}**" if p in SUBJECTS else LABELS.get(p, p)
        w.append(f"| {name} | " + " | ".join(cells) + " |")
    w.append("")
    w.append("CPU time of each proxy per connection (µs, user + system; every thread of the process, JIT and GC "
             "included; from /proc over each run, median of the rounds). This does not depend on how much of the "
             "shared core the proxy got, so it is steadier than the rates:\n")
    w.append("| path | " + " | ".join(f"{lbl}: user + sys = µs" for _, lbl in HELLOS) + " |")
    w.append("|---|" + "--:|" * len(HELLOS))
    for p in paths:
        cells = []
        for h, _ in HELLOS:
            t = doc["table"][p][h]
            cells.append("–" if t["cpu_us"] is None else f"{t['cpu_user_us']:.0f} + {t['cpu_sys_us']:.0f} = {t['cpu_us']:.0f}")
        if any(c != "–" for c in cells):
            w.append(f"| {LABELS.get(p, p)} | " + " | ".join(cells) + " |")
    w.append("")
    w.append(f"## Target: Portcullis peek ≥ {TARGET:.1f} × HAProxy and × nginx in connections/s\n")
    w.append("| subject | hello | reference | ratio (median) | per round | |")
    w.append("|---|---|---|--:|---|---|")
    for t in doc["targets"]:
        met = "–" if t["met"] is None else ("**met**" if t["met"] else "missed")
        w.append(f"| {t['subject']} | {t['hello']} | {t['reference']} | {r2(t['ratio'])} | "
                 f"{', '.join(f'{x:.2f}' for x in t['per_round'])} | {met} |")
    w.append("")
    w.append("## Comparisons\n")
    w.append("| comparison | hello | ratio (median) | per round |")
    w.append("|---|---|--:|---|")
    for i in doc["insights"]:
        w.append(f"| {i['what']} | {i['hello']} | {r2(i['ratio'])} | {', '.join(f'{x:.2f}' for x in i['per_round'])} |")
    w.append("")
    if doc["other_name"]:
        w.append("A hello for `other.example.com` (the same bytes, another name) through each proxy: "
                 + ", ".join(f"{p} {r}" for p, r in doc["other_name"].items()) + ".\n")
    if doc["failures"]:
        w.append("## Failed runs or connections\n")
        w.extend(f"- {x}" for x in doc["failures"])
        w.append("")
    if doc["skipped"]:
        w.append("## Skipped\n")
        w.extend(f"- {p}: {why}" for p, why in doc["skipped"])
        w.append("")
    w.append("## Set-up\n")
    w.extend(f"- `{p}`: {d}" for p, d in doc["paths"].items())
    w.append("")
    for k in ("profile", "repeats", "duration_s", "warmup", "connections", "workers", "backend_workers", "pinning",
              "audit", "jvm_options", "jar", "sni_extracted", "command"):
        if k in s:
            w.append(f"- {k}: `{s[k]}`")
    if doc["meters"].strip():
        w.append("\nMeters that were not 0 at the end of the rounds (peek rejects, audit lines dropped):\n")
        w.append("```\n" + doc["meters"].strip() + "\n```")
    w.append("\n## Machine\n")
    w.extend(f"- {k}: {v}" for k, v in m.items())
    w.append("")
    out.write_text("\n".join(w) + "\n")


if __name__ == "__main__":
    main()
