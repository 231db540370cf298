#!/usr/bin/env python3
"""Connection attempts from many loopback sources for a while: non-blocking connects, at most WINDOW open at once,
the oldest closed to make room. Only 127.0.0.0/8 targets. Prints the attempts made."""
import errno
import socket
import sys
import time
from collections import deque

host, port, seconds, subnet = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
assert host.startswith("127."), "loopback targets only"
WINDOW = 2000
open_socks = deque()
attempts = 0
deadline = time.monotonic() + seconds
source = 0
while time.monotonic() < deadline:
    source = source % 254 + 1
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.bind((f"{subnet}.{source}", 0))
        err = s.connect_ex((host, port))
    except OSError:
        s.close()
        continue
    if err not in (0, errno.EINPROGRESS):
        s.close()
        continue
    attempts += 1
    open_socks.append(s)
    if len(open_socks) > WINDOW:
        open_socks.popleft().close()
for s in open_socks:
    s.close()
print(attempts)
