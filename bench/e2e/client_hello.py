#!/usr/bin/env python3
"""Fixed TLS ClientHellos for bench/peek-tls.sh, and a check that one path answers them.

  client_hello.py write DIR        writes DIR/hello-x25519.bin (one X25519 key share: 564 bytes) and
                                   DIR/hello-mlkem.bin (X25519MLKEM768, 1216 bytes, plus X25519: 1,786 bytes)
  client_hello.py check PORT FILE  connects to 127.0.0.1:PORT, writes FILE, reads until EOF (5 s at most);
                                   exit 0 when the answer is the loopback backend's "HTTP/1.1 400"

Both hellos offer SNI bench.example.com, ALPN h2 and http/1.1, TLS 1.3 and 1.2, and carry a GREASE ECH
extension, as a browser does; random, session id, key shares and ECH payload are fixed bytes (a proxy that peeks never checks them), so every run sends the same
bytes. Each is one TLS record; the larger one needs two TCP reads or more at most proxies' first read size.
"""
import socket
import struct
import sys
from pathlib import Path

SNI = b"bench.example.com"


def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def ext(kind, body):
    return u16(kind) + vec16(body)


def client_hello(post_quantum):
    ciphers = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C,
               0x009D, 0x002F, 0x0035]
    groups = ([0x11EC] if post_quantum else []) + [0x001D, 0x0017, 0x0018]
    sigalgs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]
    shares = b""
    if post_quantum:
        shares += u16(0x11EC) + vec16(bytes((i * 7 + 3) & 0xFF for i in range(1216)))
    shares += u16(0x001D) + vec16(bytes((i * 13 + 9) & 0xFF for i in range(32)))
    extensions = b"".join([
        ext(0x0000, vec16(u8(0) + vec16(SNI))),                                 # server_name
        ext(0x0017, b""),                                                      # extended_master_secret
        ext(0xFF01, u8(0)),                                                    # renegotiation_info
        ext(0x000A, vec16(b"".join(u16(g) for g in groups))),                  # supported_groups
        ext(0x000B, vec8(u8(0))),                                              # ec_point_formats
        ext(0x0023, b""),                                                      # session_ticket
        ext(0x0010, vec16(vec8(b"h2") + vec8(b"http/1.1"))),                   # ALPN
        ext(0x0005, u8(1) + u16(0) + u16(0)),                                  # status_request
        ext(0x000D, vec16(b"".join(u16(s) for s in sigalgs))),                 # signature_algorithms
        ext(0x0033, vec16(shares)),                                            # key_share
        ext(0x002D, vec8(u8(1))),                                              # psk_key_exchange_modes
        ext(0x002B, vec8(u16(0x0304) + u16(0x0303))),                          # supported_versions
        ext(0xFE0D, u8(0) + u16(1) + u16(1) + u8(0x2A)                         # encrypted_client_hello, as the
            + vec16(bytes(range(100, 132))) + vec16(bytes(range(240)))),       # GREASE browsers send
    ])
    body = (u16(0x0303) + bytes(range(32)) + vec8(bytes(range(32, 64)))
            + vec16(b"".join(u16(c) for c in ciphers)) + vec8(u8(0)) + vec16(extensions))
    handshake = u8(1) + struct.pack("!I", len(body))[1:] + body
    return u8(0x16) + u16(0x0301) + vec16(handshake)


def check(port, hello):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(hello)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return got.startswith(b"HTTP/1.1 400"), got[:60]


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        out = Path(sys.argv[2])
        out.mkdir(parents=True, exist_ok=True)
        for name, pq in (("x25519", False), ("mlkem", True)):
            data = client_hello(pq)
            (out / f"hello-{name}.bin").write_bytes(data)
            print(f"hello-{name}.bin {len(data)} bytes")
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        try:
            ok, head = check(int(sys.argv[2]), Path(sys.argv[3]).read_bytes())
        except OSError as e:
            print(f"no answer: {e}")
            return 1
        print("ok" if ok else f"unexpected answer: {head!r}")
        return 0 if ok else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
