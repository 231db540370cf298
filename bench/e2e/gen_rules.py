#!/usr/bin/env python3
"""Writes the policies of the end-to-end benchmark into a directory (fixed seed: every run is the same).

  blocked-10k.txt        10,000 distinct /24 CIDRs in 10.0.0.0/8 and 172.16.0.0/12; none holds 127.0.0.1
  rules-list.yaml        listeners bench and iperf: reject list:blocked (the 10,000 CIDRs in one list), then accept
  rules-100rules.yaml    listener bench: the same 10,000 CIDRs spread over 100 reject rules of 100 each, then accept
  rules-decision.yaml    listener bench: pend every connection and ask the decision service 'authz'

usage: gen_rules.py DIR
"""
import ipaddress
import random
import sys
from pathlib import Path

COUNT = 10_000
RULES = 100
SEED = 7


def cidrs():
    rnd = random.Random(SEED)
    seen = set()
    out = []
    while len(out) < COUNT:
        if rnd.random() < 0.5:
            net = f"10.{rnd.randrange(256)}.{rnd.randrange(256)}.0/24"
        else:
            net = f"172.{rnd.randrange(16, 32)}.{rnd.randrange(256)}.0/24"
        if net not in seen:
            seen.add(net)
            out.append(net)
    loopback = ipaddress.ip_address("127.0.0.1")
    assert not any(loopback in ipaddress.ip_network(c) for c in out)
    return out


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    nets = cidrs()
    (out / "blocked-10k.txt").write_text(
        "# 10,000 random /24 networks (seed %d); none matches the benchmark's client 127.0.0.1\n" % SEED
        + "\n".join(nets) + "\n")

    listener = """  {name}:
    rules:
      - name: deny-blocked
        source: [list:blocked]
        action: reject
      - name: accept-rest
        action: accept
    default: reject
"""
    (out / "rules-list.yaml").write_text(
        "# 10,000 CIDRs in one list behind one reject rule; the last rule accepts.\n"
        "lists:\n  blocked: { file: ./blocked-10k.txt }\nlisteners:\n"
        + listener.format(name="bench") + listener.format(name="iperf"))

    per = COUNT // RULES
    lines = ["# The same 10,000 CIDRs spread over 100 reject rules (100 each); the last rule accepts.",
             "listeners:", "  bench:", "    rules:"]
    for r in range(RULES):
        chunk = nets[r * per:(r + 1) * per]
        lines.append(f"      - name: deny-blocked-{r:03d}")
        lines.append("        source: [" + ", ".join(chunk) + "]")
        lines.append("        action: reject")
    lines += ["      - name: accept-rest", "        action: accept", "    default: reject", ""]
    (out / "rules-100rules.yaml").write_text("\n".join(lines))

    (out / "rules-decision.yaml").write_text(
        "# Every connection is pended and decided by the decision service 'authz' (it answers accept).\n"
        "listeners:\n  bench:\n    rules:\n      - name: ask-authz\n        action: pend\n"
        "        decision: authz\n    default: reject\n")


if __name__ == "__main__":
    main()
