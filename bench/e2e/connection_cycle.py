#!/usr/bin/env python3
"""One client, one connection at a time, to a redis-compatible loopback port: connect, PING, read +PONG, close;
prints the p50/p90/p99 of the whole cycle in microseconds. What redis-benchmark -k 0 pays per request, without
its concurrency. Only 127.0.0.0/8 targets.

    python3 bench/e2e/connection_cycle.py PORT [COUNT]
"""
import socket
import sys
import time

port = int(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
times = []
for _ in range(n):
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"PING\r\n")
    assert s.recv(64) == b"+PONG\r\n"
    s.close()
    times.append((time.perf_counter() - t) * 1e6)
times.sort()
print(f"port {port}: p50 {times[n // 2]:.0f} us, p90 {times[int(n * .9)]:.0f}, p99 {times[int(n * .99)]:.0f} ({n} cycles)")
