#!/usr/bin/env python3
"""Turns the raw outputs of bench/run-e2e.sh into the results: JSON, a Markdown table and a PNG chart.

Reads RAW/machine.txt, settings.txt, paths.tsv, skipped.txt and the runs r<round>-<workload>-<path>.txt
(wrk with bench/e2e/wrk-report.lua) or .json (iperf3 -J). Every figure is the median over the rounds; every
ratio is the median over the rounds of (path / HAProxy in the same round), so slow drifts of a shared
machine cancel out between neighbouring runs.

usage: report.py --raw DIR --name NAME --json OUT --markdown OUT --png OUT
"""
import argparse
import json
import re
import statistics
import sys
from pathlib import Path

REFERENCE = "haproxy"
SUBJECT = "portcullis-on"

# metric: (workload, label, unit, higher_is_better, extractor name)
METRICS = [
    ("keepalive_rps", "keepalive", "keep-alive req/s", "req/s", True),
    ("keepalive_p50_ms", "keepalive", "keep-alive p50", "ms", False),
    ("keepalive_p99_ms", "keepalive", "keep-alive p99", "ms", False),
    ("close_cps", "close", "connections/s", "conn/s", True),
    ("bulk_gbps", "bulk", "bulk", "Gbit/s", True),
    ("latency1_p50_ms", "latency1", "1-conn p50", "ms", False),
    ("latency1_p99_ms", "latency1", "1-conn p99", "ms", False),
]

# Issue 15: out of the box (transport auto: io_uring where the kernel allows it) and forced epoll (the container
# case, where seccomp forbids io_uring), each held to its own targets; audit on in both.
EPOLL = "portcullis-epoll"
SUBJECTS = [SUBJECT, EPOLL]
RATIO_TARGETS = {
    # subject: [(id, text, metric, comparison, bound)], numerator the subject, denominator HAProxy
    SUBJECT: [
        ("keepalive", "keep-alive req/s ≥ 1.0 × HAProxy", "keepalive_rps", ">=", 1.0),
        ("connections", "connections/s ≥ 0.9 × HAProxy", "close_cps", ">=", 0.9),
        ("bulk", "bulk throughput ≥ 1.1 × HAProxy", "bulk_gbps", ">=", 1.1),
        ("p99", "keep-alive p99 latency ≤ 1.1 × HAProxy", "keepalive_p99_ms", "<=", 1.1),
    ],
    EPOLL: [
        ("keepalive", "keep-alive req/s ≥ 0.95 × HAProxy", "keepalive_rps", ">=", 0.95),
        ("connections", "connections/s ≥ 0.80 × HAProxy", "close_cps", ">=", 0.80),
        ("bulk", "bulk throughput ≥ 1.05 × HAProxy", "bulk_gbps", ">=", 1.05),
    ],
}
TARGETS = [
    # (id, text, metric, comparison, bound): numerator each subject, denominator HAProxy
    ("keepalive", "keep-alive req/s ≥ 0.90 × HAProxy", "keepalive_rps", ">=", 0.90),
    ("connections", "connections/s ≥ 0.80 × HAProxy", "close_cps", ">=", 0.80),
    ("bulk", "bulk throughput ≥ 1.00 × HAProxy", "bulk_gbps", ">=", 1.00),
    ("p99", "keep-alive p99 latency ≤ 1.25 × HAProxy", "keepalive_p99_ms", "<=", 1.25),
]
TARGETS = [
    # (id, text, metric, numerator path, denominator path, comparison, bound)
    *[(tid if subj == SUBJECT else f"{tid}-{subj}", text, metric, subj, REFERENCE, op, bound)
      for subj in SUBJECTS for tid, text, metric, op, bound in RATIO_TARGETS[subj]],
    ("policy-cost", "10k-CIDR policy costs < 5 % of the connection rate (on / off > 0.95)",
     "close_cps", SUBJECT, "portcullis-off", ">", 0.95),
]

# Comparisons that say where time goes (not targets).
INSIGHTS = [
    ("100 rules instead of one list (100rules / on)", "close_cps", "portcullis-100rules", SUBJECT),
    ("audit log to a file (on / noaudit)", "close_cps", SUBJECT, "portcullis-noaudit"),
    ("conditional accept + policy (on / off)", "close_cps", SUBJECT, "portcullis-off"),
    ("Spring gateway vs bare listener, both accepting (off / embedded-accept)", "close_cps", "portcullis-off", "embedded-accept"),
    ("pend + completion from another thread (embedded-pend / embedded-accept)", "close_cps", "embedded-pend", "embedded-accept"),
    ("pend + loopback HTTP decision (decision / on)", "close_cps", "portcullis-decision", SUBJECT),
    ("nginx stream vs HAProxy, connections (nginx / haproxy)", "close_cps", "nginx", REFERENCE),
]


def read_kv(path, sep):
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if sep in line:
                k, v = line.split(sep, 1)
                out[k.strip()] = v.strip()
    return out


def read_machine(path):
    lines = path.read_text().splitlines() if path.exists() else []
    out = {}
    for line in lines:
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        out[k] = (out[k] + " | " + v) if k in out else v
    return out


def parse_wrk(path):
    text = path.read_text(errors="replace")
    m = re.search(r"^WRKJSON (\{.*\})$", text, re.M)
    if not m:
        return None, text.strip().splitlines()[-1] if text.strip() else "no output"
    d = json.loads(m.group(1))
    secs = d["duration_us"] / 1e6
    errors = sum(d["errors"].values())
    return {
        "requests": d["requests"],
        "seconds": round(secs, 3),
        "per_s": d["requests"] / secs if secs else 0.0,
        "errors": errors,
        "error_detail": d["errors"],
        "p50_ms": d["latency_us"]["p50"] / 1000,
        "p90_ms": d["latency_us"]["p90"] / 1000,
        "p99_ms": d["latency_us"]["p99"] / 1000,
        "p999_ms": d["latency_us"]["p999"] / 1000,
        "mean_ms": d["latency_us"]["mean"] / 1000,
    }, None


def parse_iperf(path):
    text = path.read_text(errors="replace")
    try:
        d = json.loads(text)
    except json.JSONDecodeError:
        return None, (text.strip().splitlines() or ["no output"])[-1]
    if "error" in d:
        return None, d["error"]
    end = d.get("end", {})
    recv = end.get("sum_received", {})
    if not recv.get("bits_per_second"):
        return None, "no sum_received in iperf3 output"
    return {"gbps": recv["bits_per_second"] / 1e9, "seconds": recv.get("seconds"),
            "retransmits": end.get("sum_sent", {}).get("retransmits")}, None


def metric_values(run):
    """The metrics one raw run yields."""
    w, r = run["workload"], run["result"]
    if w == "keepalive":
        return {"keepalive_rps": r["per_s"], "keepalive_p50_ms": r["p50_ms"], "keepalive_p99_ms": r["p99_ms"]}
    if w == "close":
        return {"close_cps": r["per_s"]}
    if w == "latency1":
        return {"latency1_p50_ms": r["p50_ms"], "latency1_p99_ms": r["p99_ms"]}
    if w == "bulk":
        return {"bulk_gbps": r["gbps"]}
    return {}


def fmt(value, unit):
    if value is None:
        return "–"
    if unit in ("req/s", "conn/s"):
        return f"{value:,.0f}"
    if unit == "Gbit/s":
        return f"{value:.2f}"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--png", required=True)
    a = ap.parse_args()
    raw = Path(a.raw)

    machine = read_machine(raw / "machine.txt")
    settings = read_kv(raw / "settings.txt", "=")
    paths, descriptions, path_workloads = [], {}, {}
    for line in (raw / "paths.tsv").read_text().splitlines():
        name, workloads, desc = line.split("\t", 2)
        paths.append(name)
        descriptions[name] = desc
        path_workloads[name] = workloads.split()
    skipped = []
    if (raw / "skipped.txt").exists():
        for line in (raw / "skipped.txt").read_text().splitlines():
            if line.strip():
                p, _, reason = line.partition("\t")
                skipped.append({"path": p, "reason": reason})

    runs, failures = [], []
    for f in sorted(raw.glob("r*-*")):
        m = re.match(r"r(\d+)-(keepalive|close|latency1|bulk)-(.+)\.(txt|json)$", f.name)
        if not m:
            continue
        rnd, workload, path = int(m.group(1)), m.group(2), m.group(3)
        result, error = (parse_iperf(f) if workload == "bulk" else parse_wrk(f))
        if result is None:
            failures.append({"round": rnd, "workload": workload, "path": path, "error": error})
            continue
        runs.append({"round": rnd, "workload": workload, "path": path, "result": result})

    if failures:
        print(f"report: {len(failures)} run(s) without a result, e.g. {failures[0]}", file=sys.stderr)
    if not runs:
        raise SystemExit("report: no run gave a result (see the raw outputs in %s)" % raw)

    # values[metric][path][round] = value
    values = {m[0]: {} for m in METRICS}
    errors = {}
    for run in runs:
        for metric, v in metric_values(run).items():
            values[metric].setdefault(run["path"], {})[run["round"]] = v
        if "errors" in run["result"]:
            e = errors.setdefault((run["workload"], run["path"]), [0, 0])
            e[0] += run["result"]["errors"]
            e[1] += run["result"]["requests"]

    def ratio_rounds(metric, num, den):
        a_, b_ = values[metric].get(num, {}), values[metric].get(den, {})
        return [a_[r] / b_[r] for r in sorted(a_) if r in b_ and b_[r]]

    summary = {}
    for metric, workload, label, unit, higher in METRICS:
        summary[metric] = {}
        for p in paths:
            per_round = values[metric].get(p, {})
            if not per_round:
                continue
            ratios = ratio_rounds(metric, p, REFERENCE)
            summary[metric][p] = {
                "median": statistics.median(per_round.values()),
                "rounds": [per_round[r] for r in sorted(per_round)],
                "ratio_to_haproxy": statistics.median(ratios) if ratios else None,
                "ratio_rounds": ratios,
            }

    target_results = []
    for tid, text, metric, num, den, op, bound in TARGETS:
        if num not in paths:
            continue
        ratios = ratio_rounds(metric, num, den)
        measured = statistics.median(ratios) if ratios else None
        met = None
        if measured is not None:
            met = {">=": measured >= bound, "<=": measured <= bound, ">": measured > bound}[op]
        target_results.append({"id": tid, "target": text, "metric": metric, "numerator": num,
                               "denominator": den, "bound": bound, "comparison": op,
                               "measured_ratio": measured, "ratio_rounds": ratios, "met": met})
    insight_results = []
    for text, metric, num, den in INSIGHTS:
        ratios = ratio_rounds(metric, num, den)
        if ratios:
            insight_results.append({"comparison": text, "metric": metric, "ratio": statistics.median(ratios),
                                    "ratio_rounds": ratios})

    doc = {
        "name": a.name,
        "machine": machine,
        "settings": settings,
        "paths": [{"name": p, "description": descriptions[p], "workloads": path_workloads[p]} for p in paths],
        "skipped": skipped,
        "metrics": [{"id": m[0], "workload": m[1], "label": m[2], "unit": m[3], "higher_is_better": m[4]}
                    for m in METRICS],
        "summary": summary,
        "targets": target_results,
        "comparisons": insight_results,
        "errors": [{"workload": w, "path": p, "errors": e[0], "requests": e[1]} for (w, p), e in sorted(errors.items())],
        "failed_runs": failures,
        "runs": runs,
    }
    Path(a.json).write_text(json.dumps(doc, indent=2) + "\n")
    write_markdown(Path(a.markdown), doc, paths, Path(a.png).name, errors)
    write_chart(Path(a.png), doc, paths)


def write_markdown(out, doc, paths, png_name, errors):
    s = doc["settings"]
    mach = doc["machine"]
    rounds = s.get("repeats", "?")
    lines = [f"# End-to-end benchmark {doc['name']}", ""]
    lines += [
        f"Profile **{s.get('profile')}**: {rounds} interleaved round(s), medians over the rounds; each ratio is the "
        "median over the rounds of (path ÷ HAProxy in the same round). Higher is better for rates and throughput, "
        "lower for latencies (a latency ratio above 1 means slower than HAProxy).",
        "",
        f"**Indicative figures**: a {mach.get('nproc', '?')}-core machine shared by load generator, backend and proxy"
        f" (load average {mach.get('load average at start', '?')} at the start, "
        f"{mach.get('load average at end', '?')} at the end). Compare ratios, not absolute numbers.",
        "",
        *(["**QUICK profile: a smoke test** (one round of short runs, little warm-up): it proves the set-up works; "
            "its figures are not for comparison.", ""] if s.get("profile") == "quick" else []),
        f"![ratios to HAProxy]({png_name})",
        "",
    ]
    header = "| path | " + " | ".join(f"{m[2]} ({m[3]})" for m in METRICS) + " |"
    lines += [header, "|---|" + "--:|" * len(METRICS)]
    for p in paths:
        cells = []
        for metric, workload, label, unit, higher in METRICS:
            e = doc["summary"][metric].get(p)
            if not e:
                cells.append("")
                continue
            ratio = e["ratio_to_haproxy"]
            err = errors.get((workload, p))
            flag = " ⚠" if err and err[1] and err[0] > 0.01 * err[1] else ""
            cells.append(fmt(e["median"], unit) + (f" ({ratio:.2f}×)" if ratio is not None else "") + flag)
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    lines.append("")
    if any(e[1] and e[0] > 0.01 * e[1] for e in errors.values()):
        lines += ["⚠: more than 1 % of the requests of these runs ended in a wrk error (see the JSON, `errors`).", ""]

    lines += ["## Targets (issue 15: 1 worker thread, policy on, audit on, ratios to HAProxy)", "",
              "| path | target | measured | per round | met |", "|---|---|--:|---|---|"]
    for t in doc["targets"]:
        m = t["measured_ratio"]
        met = "–" if t["met"] is None else ("**met**" if t["met"] else "**missed**")
        rounds_txt = ", ".join(f"{r:.2f}" for r in t["ratio_rounds"])
        lines.append(f"| {t['numerator']} | {t['target']} | {'' if m is None else f'{m:.2f}'} | {rounds_txt} | {met} |")
    if s.get("workers") != "1":
        lines += ["", f"(This run used WORKERS={s.get('workers')}; the targets are defined for 1 worker thread.)"]
    lines += ["", "## Where the time goes (connections/s ratios)", "", "| comparison | ratio |", "|---|--:|"]
    for c in doc["comparisons"]:
        lines.append(f"| {c['comparison']} | {c['ratio']:.2f} |")

    lines += ["", "## Paths", "", "| path | what | workloads |", "|---|---|---|"]
    for p in doc["paths"]:
        lines.append(f"| {p['name']} | {p['description']} | {', '.join(p['workloads'])} |")
    if doc["skipped"]:
        lines += ["", "Skipped:", ""]
        lines += [f"- skipped: {x['path']}: {x['reason']}" for x in doc["skipped"]]
    if doc["failed_runs"]:
        lines += ["", "Runs without a result:", ""]
        lines += [f"- round {x['round']} {x['workload']} {x['path']}: {x['error']}" for x in doc["failed_runs"]]

    lines += ["", "## Set-up", ""]
    lines += [
        f"- Workers: {s.get('workers')} thread(s) per proxy (HAProxy `nbthread`, nginx `worker_processes`, Portcullis "
        "`portcullis.worker-threads`; Portcullis also has JIT and GC threads; its I/O thread accepts); backend: nginx "
        f"with {s.get('backend_workers')} worker processes answering {s.get('body_bytes')} bytes, keep-alive, sharing the cores.",
        f"- Pinning: {s.get('pinning')}.",
        f"- Portcullis JVM: `{s.get('jvm_options')}`; listeners configured with command-line Spring properties, health "
        "checks off, " + ("audit log to a file per process (bench/e2e/logback-audit.xml; portcullis-noaudit has it off)."
                          if s.get("audit") == "file" else "audit log off."),
        f"- Runs: wrk {s.get('duration_s')} s per run, {s.get('connections')} connections, 1 thread; iperf3 "
        f"{s.get('bulk_seconds')} s (+1 s omitted), one stream; 1-connection latency {s.get('latency1_seconds')} s; "
        f"warm-up before round 1 (not recorded): {s.get('warmup')}.",
        "",
        "Commands (PORT is each path's port):",
        "",
        "```",
        s.get("command_keepalive", ""),
        s.get("command_close", ""),
        s.get("command_latency1", ""),
        s.get("command_bulk", ""),
        "```",
        "",
        "## Machine",
        "",
        "```",
    ]
    lines += [f"{k}: {v}" for k, v in doc["machine"].items()]
    lines += ["```", ""]
    out.write_text("\n".join(lines))


def write_chart(out, doc, paths):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [
        ("higher is better", [m for m in METRICS if m[4]]),
        ("lower is better (latency)", [m for m in METRICS if not m[4]]),
    ]
    shown = [p for p in paths if p != REFERENCE]
    color = {p: plt.get_cmap("tab10")(i % 10) for i, p in enumerate(shown)}
    bounds = {"keepalive_rps": 0.90, "close_cps": 0.80, "bulk_gbps": 1.00, "keepalive_p99_ms": 1.25}
    fig, axes = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [3, 4]})
    for ax, (title, metrics) in zip(axes, groups):
        for j, m in enumerate(metrics):
            bars = [(p, doc["summary"][m[0]][p]["ratio_to_haproxy"]) for p in shown
                    if doc["summary"][m[0]].get(p) and doc["summary"][m[0]][p]["ratio_to_haproxy"] is not None]
            if not bars:
                continue
            width = 0.84 / len(bars)
            for i, (p, r) in enumerate(bars):
                x = j - 0.42 + width * (i + 0.5)
                ax.bar(x, r, width * 0.95, color=color[p], hatch="//" if p == "direct" else None,
                       edgecolor="white" if p == "direct" else None)
                ax.text(x, r, f"{r:.2f}", ha="center", va="bottom", fontsize=6.5, rotation=90)
            if m[0] in bounds:
                ax.hlines(bounds[m[0]], j - 0.45, j + 0.45, colors="red", linestyles="dashed", linewidth=1.5)
        ax.axhline(1.0, color="black", linewidth=1)
        ax.set_xticks(range(len(metrics)))
        ax.set_xticklabels([m[2] for m in metrics])
        ax.set_title(title)
        ax.set_ylabel("ratio to HAProxy (same round)")
        ax.margins(y=0.12)
    handles = [plt.Rectangle((0, 0), 1, 1, color=color[p], hatch="//" if p == "direct" else None) for p in shown]
    handles.append(plt.Line2D([], [], color="red", linestyle="dashed"))
    fig.legend(handles, shown + ["target (portcullis-on, portcullis-epoll)"], loc="lower center", ncol=5, fontsize=9)
    fig.suptitle(f"{doc['name']}: ratios to HAProxy = 1.0 "
                 f"({doc['settings'].get('workers')} worker thread(s), median of {doc['settings'].get('repeats')} round(s))")
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
