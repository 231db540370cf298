"""A tiny decision service for Portcullis's `type: http` contract (standard library only).

POST /v1/decide with {"id", "listener", "source": {"ip", "port"}, "destination": {...}, "sni", "alpn",
"peer", "proxy", "tls", "rule", "receivedAt"} (README, "Decision services") answers {"action": "accept"|"reject", "reason": "...", "ttl": "30s"}.
GET /healthz answers 200.

The policy is two CIDR lists from the environment: DENY (checked first) and ALLOW; a source in neither
is rejected. DELAY_MS delays every answer (to watch timeouts, on-failure and the circuit breaker) and
FAIL=1 answers 503 (a failure). PORT (default 8181), TTL (default 30s).
"""
import ipaddress
import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def cidrs(name, default):
    text = os.environ.get(name, default)
    return [ipaddress.ip_network(c.strip(), strict=False) for c in text.split(",") if c.strip()]


ALLOW = cidrs("ALLOW", "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,::1/128,fc00::/7")
DENY = cidrs("DENY", "")
TTL = os.environ.get("TTL", "30s")
DELAY = int(os.environ.get("DELAY_MS", "0")) / 1000.0
FAIL = os.environ.get("FAIL", "0") == "1"
MAX_BODY = 64 * 1024


def decide(request):
    ip = ipaddress.ip_address(request["source"]["ip"])
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for net in DENY:
        if ip.version == net.version and ip in net:
            return {"action": "reject", "reason": f"source in DENY {net}", "ttl": TTL}
    for net in ALLOW:
        if ip.version == net.version and ip in net:
            return {"action": "accept", "reason": f"source in ALLOW {net}", "ttl": TTL}
    return {"action": "reject", "reason": "source in no ALLOW range", "ttl": TTL}


class Handler(BaseHTTPRequestHandler):
    server_version = "portcullis-example-authz/1"

    def do_GET(self):
        if self.path == "/healthz":
            self.answer(200, {"status": "ok"})
        else:
            self.answer(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/v1/decide":
            self.answer(404, {"error": "not found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self.answer(400, {"error": "body missing or too large"})
            return
        try:
            request = json.loads(self.rfile.read(length))
            answer = decide(request)
        except (ValueError, KeyError, TypeError) as e:
            self.answer(400, {"error": f"bad request: {e}"})
            return
        if DELAY:
            time.sleep(DELAY)
        if FAIL:
            self.answer(503, {"error": "FAIL=1"})
            return
        print(f"{request.get('listener')} {request['source']['ip']} rule={request.get('rule')} -> "
              f"{answer['action']} ({answer['reason']})", flush=True)
        self.answer(200, answer)

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass  # one line per decision is printed above


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8181"))
    server = ThreadingHTTPServer(("", port), Handler)
    print(f"authz example on :{port}, ALLOW={[str(n) for n in ALLOW]} DENY={[str(n) for n in DENY]}",
          flush=True)
    # PID 1 in a container: stop at once on SIGTERM (docker stop) and on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
