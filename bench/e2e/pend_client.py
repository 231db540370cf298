#!/usr/bin/env python3
"""Opens many TCP connections to one loopback port and holds them, for bench/pend-memory.sh (stdlib only).

Source addresses rotate over 127.0.0.FIRST..127.0.0.LAST so that no one address runs out of ephemeral ports.
Connections are opened in stages; after each stage the client prints "HELD <open> failed=<n> closed=<n>" and
waits for a line on stdin: "next" opens the next stage, "quit" (or end of input) closes everything and exits.
Nothing is ever sent. The client ends by itself after --deadline seconds whatever happens.

usage: pend_client.py --port P --stages 25000,50000 [--first 2 --last 200 --parallel 200 --deadline 900]
"""
import argparse
import asyncio
import socket
import sys


async def main(a):
    loop = asyncio.get_running_loop()
    stages = [int(s) for s in a.stages.split(",")]
    sources = [f"127.0.0.{i}" for i in range(a.first, a.last + 1)]
    held = []
    failed = 0
    gate = asyncio.Semaphore(a.parallel)

    async def open_one(i):
        nonlocal failed
        async with gate:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            try:
                # the kernel picks the port at connect time, per destination: ports last longer
                sock.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24), 1)
                sock.bind((sources[i % len(sources)], 0))
                await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", a.port)), 10)
                held.append(sock)
            except (OSError, asyncio.TimeoutError) as e:
                failed += 1
                sock.close()
                if failed <= 3:
                    print(f"connect failed: {e!r}", file=sys.stderr, flush=True)

    def closed_by_peer():
        # a socket the gateway closed is readable (EOF or RST); count them without reading data
        n = 0
        for s in held:
            try:
                if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    n += 1
            except BlockingIOError:
                pass
            except OSError:
                n += 1
        return n

    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)

    done = 0
    for target in stages:
        await asyncio.gather(*(open_one(i) for i in range(done, target)))
        done = target
        print(f"HELD {len(held)} failed={failed} closed={closed_by_peer()}", flush=True)
        line = await commands.readline()
        if line.strip() != b"next":
            break
    for s in held:
        s.close()
    print(f"CLOSED {len(held)}", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--stages", required=True)
    ap.add_argument("--first", type=int, default=2)
    ap.add_argument("--last", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=200)
    ap.add_argument("--deadline", type=float, default=900)
    args = ap.parse_args()
    try:
        asyncio.run(asyncio.wait_for(main(args), args.deadline))
    except asyncio.TimeoutError:
        print("deadline reached, closing", file=sys.stderr, flush=True)
        sys.exit(1)
