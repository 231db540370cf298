#!/usr/bin/env python3
"""Prints a seccomp profile that is BASE (a container runtime's default profile, in the Docker/OCI JSON format)
with io_uring allowed: io_uring_setup, io_uring_enter and io_uring_register move from wherever BASE denies them
to its allow list. Nothing else changes.

    python3 docker/seccomp-io_uring.py /usr/share/containers/seccomp.json > seccomp-io_uring.json   # podman, CRI-O
    python3 docker/seccomp-io_uring.py moby-default.json > seccomp-io_uring.json                     # Docker's profile

The trade-off (README, "Deploy"): io_uring is a large kernel interface that has had privilege-escalation bugs, which
is why runtimes deny it by default; allow it only for Portcullis, on kernels kept up to date.
"""
import json
import sys

CALLS = ["io_uring_setup", "io_uring_enter", "io_uring_register"]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: seccomp-io_uring.py BASE_PROFILE.json")
    with open(sys.argv[1]) as f:
        profile = json.load(f)
    rules = profile.get("syscalls")
    if not isinstance(rules, list) or "defaultAction" not in profile:
        sys.exit(f"{sys.argv[1]}: not a seccomp profile (no defaultAction and syscalls list)")
    for rule in rules:
        names = rule.get("names", [])
        if rule.get("action") != "SCMP_ACT_ALLOW":
            rule["names"] = [n for n in names if n not in CALLS]
    rules[:] = [r for r in rules if r.get("names") or "name" in r]
    rules.append({"names": CALLS, "action": "SCMP_ACT_ALLOW", "args": [],
                  "comment": "Portcullis: io_uring transport (docker/seccomp-io_uring.py)"})
    json.dump(profile, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
