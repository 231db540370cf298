#!/usr/bin/env python3
"""Opens N idle connections from SUBNET.1-254 to a loopback target, prints 'ready', then waits until stdin closes
or the deadline passes, and prints how many of them were reset meanwhile. Only 127.0.0.0/8 targets."""
import errno
import select
import socket
import sys
import time

host, port, n, subnet, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
assert host.startswith("127."), "loopback targets only"
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((f"{subnet}.{i % 254 + 1}", 0))
    s.setblocking(False)
    s.connect_ex((host, port))
    socks.append(s)
    if len(socks) % 2000 == 0:
        time.sleep(0.05)  # let the gateway accept and inspect them
time.sleep(2)
connected = 0
for s in socks:
    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
        connected += 1
print(f"ready {connected}", flush=True)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    r, _, _ = select.select([sys.stdin], [], [], 0.2)
    if r and not sys.stdin.readline():
        break
reset = 0
for s in socks:
    try:
        if s.recv(1) == b"":
            pass
    except BlockingIOError:
        continue
    except ConnectionResetError:
        reset += 1
    except OSError as e:
        if e.errno == errno.ECONNRESET:
            reset += 1
print(f"reset {reset}", flush=True)
for s in socks:
    s.close()
