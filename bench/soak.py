#!/usr/bin/env python3
"""The soak behind `bench/soak` (see its header for usage): one `lb run` under mixed traffic and
churn for a chosen time, sampled every few seconds, judged at the end. Python 3 stdlib only.
The run works from copies of lb and of this script in its directory (target/soak/soak-DATE/),
so a rebuild or an edit during a run changes nothing in it; the copy of lb is removed at the end
(the summary gives its sha256).

    python3 bench/soak.py run --lb target/release/lb --minutes 10     # what bench/soak runs
    python3 bench/soak.py echo-server PORT | ws-server PORT           # backends (started by run)
    python3 bench/soak.py client tcp|ws PORT DEADLINE                 # loads (started by run)

Everything listens on 127.0.0.1 from --base-port on (default 19600):

    +0 admin   +1 VIP tcp   +2 VIP http   +3 VIP tls (lb terminates TLS, mode http)
    +10..12 nginx-a/b/c (200 on /, /ws proxied to ws-a or ws-b)   +20..22 echo-a/b/c   +30..31 ws-a/b

Traffic, every loop bounded by the deadline and stopping by itself:
  - VIP tcp: Python echo clients (6 threads): short exchanges of 1 B-32 KiB, every 10th one
    reset by the client (SO_LINGER 0) before reading; long sessions of 5-20 s, one message a second;
  - VIP http: wrk keep-alive (16 connections) and wrk `Connection: close` (4), back to back
    runs of at most 10 s; WebSocket clients (3 threads): the Upgrade handshake, 1-20 binary
    messages up to 64 KiB echoed, a close handshake, every 10th one reset mid-tunnel instead;
  - VIP tls: wrk keep-alive (4) and wrk `Connection: close` (2, a full handshake each).
Churn: every --reload-seconds the file alternates between configuration A and B (B: one more
server on every VIP, nginx-a at weight 50, other schedulers), applied by SIGHUP and `lb ctl
reload` in turn; every --restart-seconds one backend (in turn nginx-a, echo-a, ws-a, nginx-b,
echo-b, ws-b, nginx-c, echo-c) is SIGKILLed and started again.

Verdict (exit 1 on any failure, 0 otherwise; 2 when the run itself could not be carried out):
  - growth: least-squares slope over the second half of the traffic phase: RSS (VmRSS) above
    RSS_SLOPE_MIB_PER_MIN, or open fds above FD_SLOPE_PER_MIN, each only when the fitted growth
    over that half also exceeds a floor (RSS_GROWTH_FLOOR_MIB, FD_GROWTH_FLOOR) so that sampling
    noise in a one-minute run does not fail it;
  - after the traffic: every VIP's and server's active connections back to 0 within 30 s; and,
    REST_AFTER_S (40 s) after the traffic, past lb's 30 s idle limit for pooled server
    connections, lb's fds classified (fds-at-rest.txt): client sockets, server sockets other
    than to nginx, listeners and the rest no more than before the traffic (+FD_REST_TOLERANCE,
    for a health check in flight); idle pooled connections to nginx within lb's bound (128 per
    server and VIP) and cached splice pipes within theirs (64 per thread, two fds each), both
    counted and reported rather than required to be gone;
  - counters against the clients' own counts: VIP tcp accepted exactly the connections the
    echo clients opened; HTTP responses counted on VIP http and VIP tls are at least what the
    clients received and at most that plus what wrk may have abandoned (its connections, at the
    end of each run) plus the clients' socket errors; 1xx on VIP http between the WebSocket
    upgrades received and those plus the upgrades that failed before an answer; failed TLS
    handshakes at most one per wrk run (its probe connection) plus its connections;
  - client errors not explained by churn: an error is explained when it happened within
    CHURN_WINDOW_S after a restart of a backend that client's VIP uses (for wrk, which gives no
    times: at most its connections per such restart during the run); echoed bytes that differ
    are never explained;
  - every reload applied (SIGHUP: the new server list shows in the API within 5 s; `lb ctl
    reload`: exit 0), lb alive to the end, exit 0 on SIGTERM, no panic in its log.
"""

import argparse
import base64
import concurrent.futures
import ctypes
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.request

HOST = "127.0.0.1"
RSS_SLOPE_MIB_PER_MIN = 1.0
RSS_GROWTH_FLOOR_MIB = 2.0
FD_SLOPE_PER_MIN = 1.0
FD_GROWTH_FLOOR = 8
FD_REST_TOLERANCE = 4
CHURN_WINDOW_S = 5.0
REST_AFTER_S = 40  # the fds are classified this long after the traffic: past lb's 30 s idle limit
IDLE_POOL_BOUND = 128 * 3 * 2  # lb keeps at most 128 idle connections per server (3) and HTTP VIP (2)
PIPES_PER_THREAD = 64  # lb caches at most 64 splice pipes (two fds each) per thread
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC11B65"
RESTART_ORDER = ["nginx-a", "echo-a", "ws-a", "nginx-b", "echo-b", "ws-b", "nginx-c", "echo-c"]
# Which backends each client's traffic goes through (for the attribution of errors to churn).
AFFECTS = {
    "tcp": {"echo-a", "echo-b", "echo-c"},
    "ws": {"nginx-a", "nginx-b", "nginx-c", "ws-a", "ws-b"},
    "http": {"nginx-a", "nginx-b", "nginx-c"},
    "tls": {"nginx-a", "nginx-b", "nginx-c"},
}
WRK_LOADS = [  # (name, VIP, connections, keep-alive)
    ("http-keepalive", "http", 16, True),
    ("http-close", "http", 4, False),
    ("tls-keepalive", "tls", 4, True),
    ("tls-close", "tls", 2, False),
]


def ports(base):
    p = {"admin": base, "tcp": base + 1, "http": base + 2, "tls": base + 3}
    for i, x in enumerate("abc"):
        p[f"nginx-{x}"] = base + 10 + i
        p[f"echo-{x}"] = base + 20 + i
    p["ws-a"], p["ws-b"] = base + 30, base + 31
    return p


def now():
    return time.time()


# ---------------------------------------------------------------- backends (own processes)

def watch_parent():
    """Exits this process once its parent is gone (a backstop to PR_SET_PDEATHSIG)."""
    parent = os.getppid()

    def loop():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)
    threading.Thread(target=loop, daemon=True).start()


def echo_server(port):
    import asyncio

    async def handle(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, HOST, port, backlog=1024, reuse_address=True)
        print("listening", flush=True)
        async with server:
            await server.serve_forever()
    watch_parent()
    asyncio.run(main())


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def unmask(payload, mask):
    n = len(payload)
    if n == 0:
        return payload
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def ws_frame(opcode, payload, mask=None):
    n = len(payload)
    head = bytes([0x80 | opcode])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask:
        return head + mask + unmask(payload, mask)
    return head + payload


def ws_server(port):
    """A WebSocket echo server (RFC 6455, no extensions): binary and text frames echoed, pings
    answered, the close handshake returned."""
    import asyncio

    async def handle(reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            fields = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
            key = fields.get("sec-websocket-key")
            if not lines[0].startswith("GET /ws ") or not key or "websocket" not in fields.get("upgrade", "").lower():
                writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            writer.write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Accept: {ws_accept(key)}\r\n\r\n").encode())
            await writer.drain()
            while True:
                b0, b1 = await reader.readexactly(2)
                opcode, n = b0 & 0x0F, b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", await reader.readexactly(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", await reader.readexactly(8))[0]
                mask = await reader.readexactly(4) if b1 & 0x80 else None
                payload = await reader.readexactly(n)
                if mask:
                    payload = unmask(payload, mask)
                if opcode == 8:
                    writer.write(ws_frame(8, payload[:2]))
                    await writer.drain()
                    return
                writer.write(ws_frame(10 if opcode == 9 else opcode, payload))
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    async def main():
        server = await asyncio.start_server(handle, HOST, port, backlog=1024, reuse_address=True)
        print("listening", flush=True)
        async with server:
            await server.serve_forever()
    watch_parent()
    asyncio.run(main())


# ---------------------------------------------------------------- clients (own processes)

class Tally:
    """A client process's own counts, shared by its threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.errors = {}
        self.events = []  # (time, kind) of each error, the first 20,000

    def add(self, name, n=1):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def error(self, kind):
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if len(self.events) < 20000:
                self.events.append((now(), kind))


def error_kind(exc):
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if isinstance(exc, BrokenPipeError):
        return "broken-pipe"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, EOFError):
        return "eof"
    return type(exc).__name__


def recv_exactly(sock, n):
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 262144))
        if not chunk:
            raise EOFError("closed early")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def reset_close(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class Mismatch(Exception):
    pass


def tcp_short(port, deadline, tally, seed):
    rng = random.Random(seed)
    n = 0
    while now() < deadline:
        n += 1
        try:
            sock = socket.create_connection((HOST, port), timeout=10)
        except OSError as exc:
            tally.error("connect-" + error_kind(exc))
            time.sleep(0.1)
            continue
        tally.add("connections")
        try:
            payload = rng.randbytes(rng.randint(1, 32768))
            sock.sendall(payload)
            if n % 10 == 0:
                reset_close(sock)
                tally.add("aborted")
                continue
            if recv_exactly(sock, len(payload)) != payload:
                raise Mismatch()
            tally.add("exchanges")
            tally.add("bytes", len(payload))
        except Mismatch:
            tally.error("mismatch")
        except (OSError, EOFError) as exc:
            tally.error(error_kind(exc))
        finally:
            sock.close()


def tcp_long(port, deadline, tally, seed):
    rng = random.Random(seed)
    while now() < deadline - 1:
        try:
            sock = socket.create_connection((HOST, port), timeout=10)
        except OSError as exc:
            tally.error("connect-" + error_kind(exc))
            time.sleep(0.1)
            continue
        tally.add("connections")
        end = min(deadline, now() + rng.uniform(5, 20))
        try:
            while now() < end:
                payload = rng.randbytes(100)
                sock.sendall(payload)
                if recv_exactly(sock, len(payload)) != payload:
                    raise Mismatch()
                tally.add("messages")
                time.sleep(1)
            tally.add("long_sessions")
        except Mismatch:
            tally.error("mismatch")
        except (OSError, EOFError) as exc:
            tally.error(error_kind(exc))
        finally:
            sock.close()


def ws_read_frame(sock):
    b0, b1 = recv_exactly(sock, 2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", recv_exactly(sock, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exactly(sock, 8))[0]
    return b0 & 0x0F, recv_exactly(sock, n)


def ws_client(port, deadline, tally, seed):
    rng = random.Random(seed)
    n = 0
    while now() < deadline:
        n += 1
        try:
            sock = socket.create_connection((HOST, port), timeout=10)
        except OSError as exc:
            tally.error("connect-" + error_kind(exc))
            time.sleep(0.1)
            continue
        tally.add("connections")
        answered = False
        try:
            key = base64.b64encode(rng.randbytes(16)).decode()
            sock.sendall((f"GET /ws HTTP/1.1\r\nHost: soak\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(4096)
                if not chunk:
                    raise EOFError("closed before the answer")
                head += chunk
            answered = True
            head, _, rest = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = lines[0].split(" ")[1] if " " in lines[0] else "?"
            if status != "101":
                tally.error(f"status-{status}")
                tally.add("non_101")
                continue
            tally.add("upgrades")
            if rest:
                tally.error("early-bytes")
                continue
            fields = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
            if fields.get("sec-websocket-accept") != ws_accept(key):
                tally.error("bad-accept")
                continue
            for i in range(rng.randint(1, 20)):
                payload = rng.randbytes(rng.choice([rng.randint(0, 125), rng.randint(126, 65535), 65536 + rng.randint(0, 4096)]))
                sock.sendall(ws_frame(2, payload, rng.randbytes(4)))
                opcode, echoed = ws_read_frame(sock)
                if opcode != 2 or echoed != payload:
                    raise Mismatch()
                tally.add("messages")
                if i % 4 == 3:
                    time.sleep(0.05)
            if n % 10 == 0:
                reset_close(sock)
                tally.add("aborted")
                continue
            sock.sendall(ws_frame(8, struct.pack("!H", 1000), rng.randbytes(4)))
            opcode, _ = ws_read_frame(sock)
            if opcode != 8:
                raise Mismatch()
            tally.add("closed_cleanly")
        except Mismatch:
            tally.error("mismatch")
        except (OSError, EOFError, ValueError) as exc:
            tally.error(error_kind(exc) + ("" if answered else "-before-answer"))
        finally:
            sock.close()


def client(kind, port, deadline):
    watch_parent()
    tally = Tally()
    if kind == "tcp":
        workers = [(tcp_short, i) for i in range(4)] + [(tcp_long, 10 + i) for i in range(2)]
    else:
        workers = [(ws_client, i) for i in range(3)]
    threads = [threading.Thread(target=f, args=(port, deadline, tally, seed + os.getpid())) for f, seed in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump({"counts": tally.counts, "errors": tally.errors, "events": tally.events}, sys.stdout)


# ---------------------------------------------------------------- the run

class Children:
    """Every process this run starts, started from one long-lived thread (PR_SET_PDEATHSIG
    follows the thread that forked), and stopped by pid at the end."""

    def __init__(self):
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.procs = []
        self.lock = threading.Lock()

    def _preexec(self):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        os.setpgid(0, 0)  # Ctrl-C in the terminal reaches only this script, which stops them

    def spawn(self, argv, **kw):
        proc = self.pool.submit(subprocess.Popen, argv, preexec_fn=self._preexec, **kw).result()
        with self.lock:
            self.procs.append(proc)
        return proc

    def stop_all(self):
        with self.lock:
            procs = list(self.procs)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        end = now() + 5
        for p in procs:
            try:
                p.wait(max(0.1, end - now()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.pool.shutdown(wait=False)


def wait_port(port, timeout=10.0):
    end = now() + timeout
    while now() < end:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT leftovers do not count
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def nginx_conf(d, name, port, ws_port):
    root = os.path.join(d, name)
    os.makedirs(root, exist_ok=True)
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}; proxy_temp_path {root}; fastcgi_temp_path {root};
  uwsgi_temp_path {root}; scgi_temp_path {root};
  keepalive_requests 10000; keepalive_timeout 20s;
  server {{
    listen {HOST}:{port} backlog=1024;
    location / {{ return 200 "{name}\\n"; }}
    location /ws {{
      proxy_pass http://{HOST}:{ws_port}; proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";
      proxy_read_timeout 60s;
    }}
  }}
}}
""")
    return root, conf


def lb_conf(d, p, variant):
    b = variant == "B"
    cert = f'{{ cert = "{d}/tls-cert.pem", key = "{d}/tls-key.pem" }}'

    def servers(kind, names):
        return ", ".join(
            f'{{ name = "{n}", address = "{HOST}:{p[n]}"'
            + (', weight = 50' if b and n == "nginx-a" and kind == "http" else "") + " }"
            for n in names)
    extra = ["c"] if b else []
    nginx = [f"nginx-{x}" for x in ["a", "b", *extra]]
    echo = [f"echo-{x}" for x in ["a", "b", *extra]]
    return f"""# soak configuration {variant}
[global]
max_connections = 4096
shutdown_timeout = "10s"
[admin]
listen = "{HOST}:{p['admin']}"
token_file = "{d}/admin.token"
[defaults]
connect_timeout = "2s"
client_timeout = "60s"
server_timeout = "60s"
http_request_timeout = "10s"
max_connections = 2048
check = {{ interval = "1s", rise = 2, fall = 2, timeout = "1s" }}

[[vip]]
name = "tcp"
listen = ["{HOST}:{p['tcp']}"]
mode = "tcp"
scheduler = "{'least-connections' if b else 'round-robin'}"
check = {{ kind = "tcp", observe_failures = 1 }}
servers = [ {servers("tcp", echo)} ]

[[vip]]
name = "http"
listen = ["{HOST}:{p['http']}"]
mode = "http"
scheduler = "round-robin"
check = {{ kind = "http", path = "/", expect = "200", observe_failures = 2 }}
servers = [ {servers("http", nginx)} ]

[[vip]]
name = "tls"
listen = ["{HOST}:{p['tls']}"]
mode = "http"
scheduler = "{'two-choices' if b else 'least-connections'}"
tls = {{ certificates = [ {cert} ], alpn = ["http/1.1"] }}
check = {{ kind = "http", path = "/", expect = "200" }}
servers = [ {servers("tls", nginx)} ]
"""


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "Threads"):
                out[key] = int(value.split()[0])
    out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def slope(points):
    """Least-squares slope of (x, y) points, per unit of x; 0 with fewer than 3 points."""
    if len(points) < 3:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


WRK_RE = {
    "requests": re.compile(r"(\d+) requests in"),
    "errors": re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"),
    "non2xx": re.compile(r"Non-2xx or 3xx responses: (\d+)"),
}


class Soak:
    def __init__(self, args):
        self.args = args
        self.p = ports(args.base_port)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.dir = os.path.abspath(os.path.join(args.out, f"soak-{stamp}"))
        os.makedirs(self.dir)
        self.children = Children()
        self.backends = {}
        self.lb = None
        self.bin = None
        self.sha = "?"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.samples = []
        self.reloads = []      # (time, how, ok, detail)
        self.restarts = []     # (killed at, up at, name, ok)
        self.wrk_runs = []     # dicts
        self.variant = "A"
        self.admin_errors = 0
        self.phase = "setup"
        self.t0 = now()
        self.lb_died = None

    def log(self, msg):
        print(f"[{now() - self.t0:7.1f}s] {msg}", flush=True)

    # -- processes
    def start_backend(self, name):
        port = self.p[name]
        logf = open(os.path.join(self.dir, f"{name}.log"), "ab")
        if name.startswith("nginx"):
            ws = self.p["ws-a" if name in ("nginx-a", "nginx-c") else "ws-b"]
            root, conf = nginx_conf(self.dir, name, port, ws)
            argv = ["nginx", "-p", root, "-c", conf, "-e", os.path.join(root, "error.log")]
        else:
            argv = [sys.executable, self.script, "echo-server" if name.startswith("echo") else "ws-server", str(port)]
        proc = self.children.spawn(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        logf.close()
        if not wait_port(port):
            raise RuntimeError(f"{name} did not listen on {port}")
        self.backends[name] = proc

    def write_conf(self, variant):
        tmp = os.path.join(self.dir, "lb.toml.tmp")
        with open(tmp, "w") as f:
            f.write(lb_conf(self.dir, self.p, variant))
        os.replace(tmp, os.path.join(self.dir, "lb.toml"))

    def vips(self):
        return {v["name"]: v for v in get_json(f"http://{HOST}:{self.p['admin']}/api/vips")["vips"]}

    def counters(self):
        out = {}
        for name, v in self.vips().items():
            out[name] = {
                "accepted": v["connections"]["total"], "active": v["connections"]["active"],
                "queued": v["queued"], "errors": dict(v["errors"]), "responses": dict(v.get("http_responses") or {}),
                "server_active": sum(s["connections"]["active"] for s in v["servers"]),
                "servers": [s["name"] for s in v["servers"]],
                "health": {s["name"]: s["health"] for s in v["servers"]},
            }
        return out

    def lb_alive(self):
        if self.lb.poll() is not None:
            if self.lb_died is None:
                self.lb_died = (now() - self.t0, self.lb.returncode)
            return False
        return True

    # -- threads
    def sampler(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.args.sample_seconds)

    def sample(self):
        if not self.lb_alive():
            return None
        try:
            st = proc_status(self.lb.pid)
        except (FileNotFoundError, ProcessLookupError):
            return None
        row = {"t_s": round(now() - self.t0, 2), "phase": self.phase, "rss_kib": st.get("VmRSS", 0),
               "rss_anon_kib": st.get("RssAnon", 0), "fds": st["fds"], "threads": st.get("Threads", 0)}
        try:
            c = self.counters()
            for v in ("tcp", "http", "tls"):
                row[f"active_{v}"] = c[v]["active"]
                row[f"accepted_{v}"] = c[v]["accepted"]
            row["server_active"] = sum(x["server_active"] for x in c.values())
            row["queued"] = sum(x["queued"] for x in c.values())
            row["responses_http"] = sum(c["http"]["responses"].values())
            row["responses_tls"] = sum(c["tls"]["responses"].values())
        except (OSError, ValueError, KeyError):
            with self.lock:
                self.admin_errors += 1
        with self.lock:
            row["reloads"] = len(self.reloads)
            row["restarts"] = len(self.restarts)
            self.samples.append(row)
        return row

    def reloader(self, deadline):
        i = 0
        while not self.stop.wait(self.args.reload_seconds) and now() < deadline:
            self.reload("sighup" if i % 2 == 0 else "ctl")
            i += 1

    def reload(self, how):
        variant = "B" if self.variant == "A" else "A"
        self.write_conf(variant)
        t = now()
        ok, detail = False, ""
        want = 3 if variant == "B" else 2
        if how == "sighup":
            self.lb.send_signal(signal.SIGHUP)
            end = t + 5
            while now() < end:
                try:
                    if len(self.vips()["http"]["servers"]) == want:
                        ok = True
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(0.05)
            detail = "applied" if ok else "server list unchanged after 5 s"
        else:
            r = subprocess.run([self.bin, "ctl", "--admin", f"{HOST}:{self.p['admin']}", "--token-file",
                                os.path.join(self.dir, "admin.token"), "reload"], capture_output=True, text=True, timeout=30)
            ok = r.returncode == 0 and "changed" in r.stdout
            detail = (r.stdout + r.stderr).strip().replace("\n", " ")[:300]
        self.variant = variant
        with self.lock:
            self.reloads.append((t - self.t0, how, ok, detail))
        if not ok:
            self.log(f"reload {how} to {variant} FAILED: {detail}")

    def restarter(self, deadline):
        i = 0
        if self.stop.wait(self.args.restart_seconds / 2):
            return
        while now() < deadline and not self.stop.is_set():
            name = RESTART_ORDER[i % len(RESTART_ORDER)]
            i += 1
            proc = self.backends[name]
            t = now()
            proc.kill()
            proc.wait()
            ok = True
            try:
                self.start_backend(name)
            except RuntimeError as exc:
                ok = False
                self.log(f"restart of {name} failed: {exc}")
            with self.lock:
                self.restarts.append((t - self.t0, now() - self.t0, name, ok))
            if self.stop.wait(self.args.restart_seconds):
                return

    def wrk_loop(self, name, vip, conns, keepalive, deadline):
        scheme = "https" if vip == "tls" else "http"
        while True:
            left = deadline - now()
            if left < 1:
                return
            secs = int(min(10, left))
            argv = ["wrk", "-t1", f"-c{conns}", f"-d{secs}s", "--timeout", "10s"]
            if not keepalive:
                argv += ["-H", "Connection: close"]
            argv.append(f"{scheme}://{HOST}:{self.p[vip]}/")
            start = now()
            proc = self.children.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
            out, _ = proc.communicate()
            run = {"load": name, "vip": vip, "conns": conns, "start": start - self.t0, "end": now() - self.t0,
                   "rc": proc.returncode, "requests": 0, "connect": 0, "read": 0, "write": 0, "timeout": 0, "non2xx": 0}
            m = WRK_RE["requests"].search(out)
            if m:
                run["requests"] = int(m.group(1))
            else:
                run["unparsed"] = out[-500:]
            m = WRK_RE["errors"].search(out)
            if m:
                run["connect"], run["read"], run["write"], run["timeout"] = map(int, m.groups())
            m = WRK_RE["non2xx"].search(out)
            if m:
                run["non2xx"] = int(m.group(1))
            with self.lock:
                self.wrk_runs.append(run)

    # -- the run
    def run(self):
        a = self.args
        self.log(f"lb: {a.lb} ({a.build}); output in {self.dir}")
        # A copy, so that a rebuild of the original during the run changes nothing.
        self.bin = os.path.join(self.dir, "lb")
        shutil.copy2(a.lb, self.bin)
        with open(self.bin, "rb") as f:
            self.sha = hashlib.file_digest(f, "sha256").hexdigest()[:16] if hasattr(hashlib, "file_digest") \
                else hashlib.sha256(f.read()).hexdigest()[:16]
        self.script = os.path.join(self.dir, "soak.py")  # backends and clients run from a copy too
        shutil.copy2(os.path.abspath(__file__), self.script)
        busy = [f"{n}={port}" for n, port in self.p.items() if not port_free(port)]
        if busy:
            raise RuntimeError(f"ports in use: {', '.join(busy)} (choose another --base-port)")
        with open(os.path.join(self.dir, "admin.token"), "w") as f:
            f.write(base64.b16encode(os.urandom(16)).decode() + "\n")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", os.path.join(self.dir, "tls-key.pem"),
                        "-out", os.path.join(self.dir, "tls-cert.pem")], check=True, capture_output=True)
        for v in ("A", "B"):
            path = os.path.join(self.dir, f"lb-{v}.toml")
            with open(path, "w") as f:
                f.write(lb_conf(self.dir, self.p, v))
            r = subprocess.run([self.bin, "check", "-c", path], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"lb check {path}: {r.stdout}{r.stderr}")
        for name in ["ws-a", "ws-b", "nginx-a", "nginx-b", "nginx-c", "echo-a", "echo-b", "echo-c"]:
            self.start_backend(name)
        self.write_conf("A")
        env = dict(os.environ, RUST_LOG="info,lb::access=off")
        self.lb_log = os.path.join(self.dir, "lb.log")
        with open(self.lb_log, "wb") as logf:
            self.lb = self.children.spawn([self.bin, "run", "-c", os.path.join(self.dir, "lb.toml")],
                                          stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        end = now() + 30
        while True:
            if not self.lb_alive():
                raise RuntimeError(f"lb exited at start ({self.lb.returncode}); see {self.lb_log}")
            try:
                c = self.counters()
                if all(h == "up" for v in c.values() for h in v["health"].values()):
                    break
            except (OSError, ValueError):
                pass
            if now() > end:
                raise RuntimeError("lb's servers not all up within 30 s")
            time.sleep(0.2)
        time.sleep(2)
        base = []
        for _ in range(3):
            time.sleep(0.5)
            base.append(proc_status(self.lb.pid))
        self.base_fds = sorted(b["fds"] for b in base)[1]
        self.base = self.classify_fds("fds-before-traffic")
        self.start_counters = self.counters()
        self.log(f"lb pid {self.lb.pid} ready: RSS {base[-1]['VmRSS'] / 1024:.1f} MiB, {self.base_fds} fds, "
                 f"{base[-1]['Threads']} threads; traffic for {a.minutes:g} min")

        # Traffic and churn.
        self.phase = "traffic"
        self.traffic_start = now()
        deadline = self.traffic_start + a.minutes * 60
        self.deadline = deadline
        threads = [threading.Thread(target=self.sampler, daemon=True)]
        clients = {}
        for kind, vip in (("tcp", "tcp"), ("ws", "http")):
            clients[kind] = self.children.spawn(
                [sys.executable, self.script, "client", kind, str(self.p[vip]), str(deadline)],
                stdout=subprocess.PIPE, stderr=open(os.path.join(self.dir, f"client-{kind}.err"), "wb"),
                stdin=subprocess.DEVNULL, text=True)
        workers = [threading.Thread(target=self.wrk_loop, args=(*load, deadline)) for load in WRK_LOADS]
        workers += [threading.Thread(target=self.reloader, args=(deadline,)),
                    threading.Thread(target=self.restarter, args=(deadline,))]
        for t in threads + workers:
            t.start()
        last_report = now()
        while now() < deadline:
            time.sleep(min(1, max(0, deadline - now())))
            if not self.lb_alive():
                self.log(f"lb exited during the run with {self.lb.returncode}")
                break
            if now() - last_report >= a.report_seconds:
                last_report = now()
                s = self.samples[-1] if self.samples else {}
                self.log(f"RSS {s.get('rss_kib', 0) / 1024:.1f} MiB, {s.get('fds')} fds, {s.get('threads')} threads, "
                         f"active tcp/http/tls {s.get('active_tcp')}/{s.get('active_http')}/{s.get('active_tls')}, "
                         f"reloads {len(self.reloads)}, restarts {len(self.restarts)}")
        self.phase = "drain"
        self.traffic_end = now()
        self.stop.set()  # the sampler; the drain below samples every second
        for t in workers:
            t.join()
        self.client_results = {}
        for kind, proc in clients.items():
            try:
                out, _ = proc.communicate(timeout=60)
                self.client_results[kind] = json.loads(out)
            except (subprocess.TimeoutExpired, ValueError) as exc:
                proc.kill()
                self.client_results[kind] = {"counts": {}, "errors": {f"client-{type(exc).__name__}": 1}, "events": []}
        self.log("traffic stopped")
        if not self.lb_alive():
            return self.finish()
        if self.variant != "A":
            self.reload("ctl")
        # Active connections back to 0, then lb's fds against their count before the traffic
        # once idle pooled server connections are past their limit (30 s).
        self.drained_after = None
        end = now() + 30
        while now() < end:
            try:
                c = self.counters()
                if all(v["active"] == 0 and v["server_active"] == 0 and v["queued"] == 0 for v in c.values()):
                    self.drained_after = now() - self.traffic_end
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.25)
        self.end_counters = self.counters()
        while now() < self.traffic_end + REST_AFTER_S:
            self.sample()
            time.sleep(1)
        self.sample()
        self.rest = self.classify_fds("fds-at-rest")
        return self.finish()

    def classify_fds(self, name):
        """lb's open fds by what they are, from /proc/PID/fd and /proc/net/tcp{,6}; also written
        to NAME.txt."""
        states = {"01": "ESTABLISHED", "02": "SYN_SENT", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
                  "09": "LAST_ACK", "0A": "LISTEN", "04": "FIN_WAIT1", "05": "FIN_WAIT2", "0B": "CLOSING"}
        inodes = {}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    x = line.split()
                    inodes[x[9]] = (int(x[1].rsplit(":", 1)[1], 16), int(x[2].rsplit(":", 1)[1], 16), states.get(x[3], x[3]))
        names = {port: name for name, port in self.p.items()}
        rows, out = [], {"fds": 0, "pool": 0, "pool_close_wait": 0, "client": 0, "other_server": 0, "pipes": 0, "rest": 0}
        for fd in os.listdir(f"/proc/{self.lb.pid}/fd"):
            try:
                link = os.readlink(f"/proc/{self.lb.pid}/fd/{fd}")
            except FileNotFoundError:
                continue
            out["fds"] += 1
            m = re.match(r"socket:\[(\d+)\]", link)
            sock = inodes.get(m.group(1)) if m else None
            what = link
            if sock:
                local, remote, state = sock
                what = f"tcp {names.get(local, local)} -> {names.get(remote, remote)} {state}"
                if state != "LISTEN" and local in (self.p["tcp"], self.p["http"], self.p["tls"]):
                    out["client"] += 1
                elif names.get(remote, "").startswith("nginx"):
                    out["pool"] += 1
                    out["pool_close_wait"] += state == "CLOSE_WAIT"
                elif remote in names:
                    out["other_server"] += 1
                else:
                    out["rest"] += 1
            elif link.startswith("pipe:"):
                out["pipes"] += 1
            else:
                out["rest"] += 1
            rows.append(f"{fd}\t{what}")
        with open(os.path.join(self.dir, f"{name}.txt"), "w") as f:
            f.write("\n".join(sorted(rows, key=lambda r: int(r.split("\t")[0]))) + "\n")
        return out

    def finish(self):
        self.stop.set()
        self.phase = "stopped"
        t = now()
        if self.lb.poll() is None:
            self.lb.send_signal(signal.SIGTERM)
            try:
                self.lb.wait(20)
            except subprocess.TimeoutExpired:
                self.lb.kill()
                self.lb.wait()
                self.lb_exit = "killed after 20 s"
            else:
                self.lb_exit = self.lb.returncode
        else:
            self.lb_exit = f"died during the run: {self.lb_died}"
        self.stop_seconds = now() - t
        return self.verdict()

    # -- the verdict
    def verdict(self):
        a = self.args
        fails, lines = [], []
        traffic = [s for s in self.samples if s["phase"] == "traffic"]
        half = self.traffic_start - self.t0 + a.minutes * 30  # the traffic's midpoint, seconds into the run
        second = [s for s in traffic if s["t_s"] >= half]
        rss_slope = slope([(s["t_s"] / 60, s["rss_kib"] / 1024) for s in second])
        fd_slope = slope([(s["t_s"] / 60, s["fds"]) for s in second])
        span_min = (second[-1]["t_s"] - second[0]["t_s"]) / 60 if len(second) > 1 else 0
        rss = [s["rss_kib"] / 1024 for s in self.samples]
        fds = [s["fds"] for s in self.samples]
        thr = [s["threads"] for s in self.samples]
        with open(os.path.join(self.dir, "samples.csv"), "w") as f:
            cols = ["t_s", "phase", "rss_kib", "rss_anon_kib", "fds", "threads", "active_tcp", "active_http",
                    "active_tls", "server_active", "queued", "accepted_tcp", "accepted_http", "accepted_tls",
                    "responses_http", "responses_tls", "reloads", "restarts"]
            f.write(",".join(cols) + "\n")
            for s in self.samples:
                f.write(",".join(str(s.get(c, "")) for c in cols) + "\n")
        lines.append(f"lb {a.lb} ({a.build}, sha256 {self.sha}...), {a.minutes:g} min of traffic, samples every {a.sample_seconds:g} s: "
                     f"{os.path.join(self.dir, 'samples.csv')}")
        if rss:
            lines.append(f"RSS MiB: start {rss[0]:.1f}, end of traffic {traffic[-1]['rss_kib'] / 1024 if traffic else 0:.1f}, "
                         f"at rest {rss[-1]:.1f}, max {max(rss):.1f}; slope over the second half "
                         f"{rss_slope:+.3f} MiB/min ({len(second)} samples, {span_min:.1f} min)")
            lines.append(f"fds: before traffic {self.base_fds}, end of traffic {traffic[-1]['fds'] if traffic else None}, "
                         f"max {max(fds)}, at rest {fds[-1]}; slope over the second half {fd_slope:+.2f} fds/min; "
                         f"threads {min(thr)}-{max(thr)}")
        step = 5 if a.minutes >= 10 else 1 if a.minutes >= 2 else a.minutes / 2
        marks, m = [], 0.0
        while m <= a.minutes + 1e-9:
            marks.append(m)
            m += step
        if marks[-1] < a.minutes:
            marks.append(a.minutes)
        curve = []
        for m in marks:
            t = self.traffic_start - self.t0 + m * 60
            if traffic:
                s = min(traffic, key=lambda x: abs(x["t_s"] - t))
                curve.append(f"{m:g} min {s['rss_kib'] / 1024:.1f} MiB {s['fds']} fds")
        lines.append("curve (traffic minute: RSS, fds): " + "; ".join(curve))
        if rss_slope > RSS_SLOPE_MIB_PER_MIN and rss_slope * span_min > RSS_GROWTH_FLOOR_MIB:
            fails.append(f"RSS grows {rss_slope:.2f} MiB/min over the second half (> {RSS_SLOPE_MIB_PER_MIN})")
        if fd_slope > FD_SLOPE_PER_MIN and fd_slope * span_min > FD_GROWTH_FLOOR:
            fails.append(f"fds grow {fd_slope:.2f}/min over the second half (> {FD_SLOPE_PER_MIN})")
        if self.lb_died:
            fails.append(f"lb exited during the run (at {self.lb_died[0]:.0f} s, code {self.lb_died[1]})")
            lines.append("VERDICT: FAIL\n  - " + "\n  - ".join(fails))
            return self.write_summary(lines, fails)

        # Counters at rest.
        if self.drained_after is None:
            fails.append("active connections not back to 0 within 30 s: " + json.dumps(
                {k: (v["active"], v["server_active"], v["queued"]) for k, v in self.end_counters.items()}))
        r = self.rest
        lines.append(f"fds at rest ({REST_AFTER_S} s after the traffic, fds-at-rest.txt): {r['fds']} = "
                     f"{r['pool']} idle pooled connections to nginx ({r['pool_close_wait']} of them CLOSE_WAIT: "
                     f"closed by nginx, not yet by lb) + {r['pipes']} cached splice pipe ends + {r['client']} client "
                     f"+ {r['other_server']} other server + {r['rest']} other (listeners, epoll, logs; "
                     f"{self.base['rest']} before the traffic)")
        if r["pool"]:
            lines.append(f"note: lb keeps idle server connections past its 30 s idle limit once a VIP is quiet "
                         f"(expired ones are dropped only when the stack is next used; bounded by {IDLE_POOL_BOUND} here)")
        held = r["client"] + r["other_server"] + r["rest"]
        if held > self.base["client"] + self.base["other_server"] + self.base["rest"] + FD_REST_TOLERANCE:
            fails.append(f"fds at rest other than idle pooled server connections and cached pipes: {held} > "
                         f"{self.base['rest']} before the traffic + {FD_REST_TOLERANCE}")
        if r["pool"] > IDLE_POOL_BOUND:
            fails.append(f"{r['pool']} idle pooled server connections at rest > the bound {IDLE_POOL_BOUND}")
        pipe_bound = 2 * PIPES_PER_THREAD * max(thr)
        if r["pipes"] > pipe_bound:
            fails.append(f"{r['pipes']} pipe ends at rest > the bound of lb's splice pipe caches, {pipe_bound}")
        delta = {}
        for vip in ("tcp", "http", "tls"):
            s0, s1 = self.start_counters[vip], self.end_counters[vip]
            delta[vip] = {
                "accepted": s1["accepted"] - s0["accepted"],
                "responses": {k: s1["responses"].get(k, 0) - s0["responses"].get(k, 0) for k in s1["responses"]},
                "errors": {k: s1["errors"][k] - s0["errors"].get(k, 0) for k in s1["errors"] if s1["errors"][k] - s0["errors"].get(k, 0)},
            }
        tcp, ws = self.client_results.get("tcp", {}), self.client_results.get("ws", {})
        tc, wc = tcp.get("counts", {}), ws.get("counts", {})
        runs = {vip: [r for r in self.wrk_runs if r["vip"] == vip] for vip in ("http", "tls")}
        wrk_req = {vip: sum(r["requests"] for r in rs) for vip, rs in runs.items()}
        wrk_err = {vip: sum(r["connect"] + r["read"] + r["write"] + r["timeout"] for r in rs) for vip, rs in runs.items()}
        wrk_non2xx = {vip: sum(r["non2xx"] for r in rs) for vip, rs in runs.items()}
        wrk_slack = {vip: sum(r["conns"] for r in rs) for vip, rs in runs.items()}
        bad_runs = [r for rs in runs.values() for r in rs if r["rc"] != 0 or "unparsed" in r]
        if bad_runs:
            fails.append(f"{len(bad_runs)} wrk runs failed or printed no report, e.g. {bad_runs[0]}")

        if delta["tcp"]["accepted"] != tc.get("connections", 0):
            fails.append(f"VIP tcp accepted {delta['tcp']['accepted']} connections, the echo clients opened {tc.get('connections', 0)}")
        ws_before = sum(n for k, n in ws.get("errors", {}).items() if k.endswith("-before-answer"))
        one = delta["http"]["responses"].get("1xx", 0)
        upgrades = wc.get("upgrades", 0)
        if not upgrades <= one <= upgrades + ws_before:
            fails.append(f"VIP http counted {one} 1xx responses, the WebSocket clients got {upgrades} upgrades "
                         f"({ws_before} failed before an answer)")
        ws_errors = sum(ws.get("errors", {}).values())
        for vip in ("http", "tls"):
            lb_resp = sum(n for k, n in delta[vip]["responses"].items() if k != "1xx")
            got = wrk_req[vip] + (wc.get("non_101", 0) if vip == "http" else 0)
            slack = wrk_slack[vip] + wrk_err[vip] + (ws_errors if vip == "http" else 0)
            lines.append(f"VIP {vip}: lb counted {lb_resp} non-1xx responses; clients received {got} "
                         f"(allowed excess {slack}: wrk connections per run + socket errors)")
            if not got <= lb_resp <= got + slack:
                fails.append(f"VIP {vip}: lb counted {lb_resp} responses, clients received {got} (allowed up to {got + slack})")

        handshakes = delta["tls"]["errors"].get("tls_handshake", 0)
        bound = sum(1 + r["conns"] for r in runs["tls"])
        lines.append(f"VIP tls: lb counted {handshakes} failed TLS handshakes (allowed {bound}: wrk's probe connection "
                     f"at the start of each run, closed before any handshake, and its connections at the end)")
        if handshakes > bound:
            fails.append(f"VIP tls: {handshakes} failed TLS handshakes, more than wrk's runs explain ({bound})")

        # Errors against the churn.
        restarts = [(k, name) for k, _, name, _ in self.restarts]
        unexplained = {}

        def explained(t_rel, kind):
            return any(name in AFFECTS[kind] and k - 0.5 <= t_rel <= k + CHURN_WINDOW_S for k, name in restarts)
        for kind, res in (("tcp", tcp), ("ws", ws)):
            for t, ek in res.get("events", []):
                if ek == "mismatch" or not explained(t - self.t0, kind):
                    unexplained[f"{kind}:{ek}"] = unexplained.get(f"{kind}:{ek}", 0) + 1
            if sum(res.get("errors", {}).values()) > len(res.get("events", [])):
                lines.append(f"note: {kind} errors beyond the first 20,000 not attributed")
        for vip, rs in runs.items():
            for r in rs:
                errs = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["non2xx"]
                hits = sum(1 for k, name in restarts if name in AFFECTS[vip] and r["start"] - CHURN_WINDOW_S <= k <= r["end"])
                if errs > hits * r["conns"]:
                    key = f"wrk-{r['load']}"
                    unexplained[key] = unexplained.get(key, 0) + errs - hits * r["conns"]
        if unexplained:
            fails.append(f"client errors not explained by restarts: {unexplained}")

        failed_reloads = [r for r in self.reloads if not r[2]]
        if failed_reloads:
            fails.append(f"{len(failed_reloads)} reloads not applied, e.g. {failed_reloads[0]}")
        failed_restarts = [r for r in self.restarts if not r[3]]
        if failed_restarts:
            fails.append(f"{len(failed_restarts)} backend restarts failed (the soak's, not lb's), e.g. {failed_restarts[0]}")
        if self.lb_exit != 0:
            fails.append(f"lb exit on SIGTERM: {self.lb_exit}")
        log_lines = {}
        panics = 0
        with open(self.lb_log, errors="replace") as f:
            for line in f:
                if "panicked" in line:
                    panics += 1
                m = re.search(r"\b(WARN|ERROR)\s+\S+: (.*)", line)
                if m:
                    msg = re.split(r" \w+=", m.group(2), maxsplit=1)[0]
                    key = f"{m.group(1)} {msg[:80]}"
                    log_lines[key] = log_lines.get(key, 0) + 1
        if panics:
            fails.append(f"{panics} panics in lb's log")
        if self.admin_errors:
            lines.append(f"note: {self.admin_errors} samples could not read the admin API")

        lines.append(f"sessions (lb's accepted connections): " + ", ".join(f"{v} {d['accepted']}" for v, d in delta.items())
                     + f"; active back to 0 {'after %.1f s' % self.drained_after if self.drained_after is not None else 'NEVER'}")
        lines.append(f"lb's error counters: " + json.dumps({v: d["errors"] for v, d in delta.items()}))
        lines.append(f"lb's HTTP responses: " + json.dumps({v: delta[v]["responses"] for v in ("http", "tls")}))
        lines.append(f"clients, VIP tcp: {tc.get('connections', 0)} connections, {tc.get('exchanges', 0)} echoed exchanges, "
                     f"{tc.get('long_sessions', 0)} long sessions ({tc.get('messages', 0)} messages), {tc.get('aborted', 0)} reset on purpose; "
                     f"errors {tcp.get('errors', {})}")
        lines.append(f"clients, WebSocket via VIP http: {wc.get('connections', 0)} connections, {upgrades} upgrades, "
                     f"{wc.get('messages', 0)} messages, {wc.get('closed_cleanly', 0)} close handshakes, {wc.get('aborted', 0)} reset on purpose; "
                     f"errors {ws.get('errors', {})}")
        for vip in ("http", "tls"):
            lines.append(f"clients, wrk via VIP {vip}: {len(runs[vip])} runs, {wrk_req[vip]} responses ({wrk_non2xx[vip]} non-2xx), "
                         f"socket errors " + json.dumps({k: sum(r[k] for r in runs[vip]) for k in ("connect", "read", "write", "timeout")}))
        lines.append(f"churn: {len(self.reloads)} reloads ({sum(1 for r in self.reloads if r[1] == 'sighup')} SIGHUP, "
                     f"{sum(1 for r in self.reloads if r[1] == 'ctl')} lb ctl reload; {len(failed_reloads)} failed), "
                     f"{len(self.restarts)} backend restarts (SIGKILL + start)")
        lines.append(f"lb's warnings and errors in its log: " + (json.dumps(log_lines) if log_lines else "none")
                     + f"; SIGTERM: exit {self.lb_exit} after {self.stop_seconds:.1f} s")
        lines.append("VERDICT: " + ("PASS" if not fails else "FAIL\n  - " + "\n  - ".join(fails)))
        self.delta = delta
        return self.write_summary(lines, fails)

    def write_summary(self, lines, fails):
        text = "\n".join(lines)
        with open(os.path.join(self.dir, "summary.txt"), "w") as f:
            f.write(text + "\n")
        with open(os.path.join(self.dir, "run.json"), "w") as f:
            json.dump({"reloads": self.reloads, "restarts": self.restarts, "wrk_runs": self.wrk_runs,
                       "clients": {k: {"counts": v.get("counts"), "errors": v.get("errors")} for k, v in getattr(self, "client_results", {}).items()},
                       "start_counters": getattr(self, "start_counters", None), "end_counters": getattr(self, "end_counters", None),
                       "fails": fails}, f, indent=1)
        print("\n" + text, flush=True)
        return 1 if fails else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "echo-server":
        return echo_server(int(sys.argv[2]))
    if len(sys.argv) >= 3 and sys.argv[1] == "ws-server":
        return ws_server(int(sys.argv[2]))
    if len(sys.argv) >= 5 and sys.argv[1] == "client":
        return client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    ap = argparse.ArgumentParser(description="lb soak (see bench/soak)")
    ap.add_argument("command", choices=["run"])
    ap.add_argument("--lb", required=True)
    ap.add_argument("--build", default="?", help="release or debug, for the report")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--reload-seconds", type=float, default=10)
    ap.add_argument("--restart-seconds", type=float, default=15)
    ap.add_argument("--sample-seconds", type=float, default=None, help="default 2 under 5 minutes, else 5")
    ap.add_argument("--report-seconds", type=float, default=60)
    ap.add_argument("--base-port", type=int, default=19600)
    ap.add_argument("--out", default="target/soak")
    args = ap.parse_args()
    if args.sample_seconds is None:
        args.sample_seconds = 2 if args.minutes < 5 else 5
    args.lb = os.path.abspath(args.lb)
    soak = Soak(args)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return soak.run()
    except KeyboardInterrupt as exc:
        soak.log(f"interrupted ({exc}); stopping everything")
        return 2
    except RuntimeError as exc:
        soak.log(f"error: {exc}")
        return 2
    finally:
        soak.stop.set()
        soak.children.stop_all()
        if soak.bin and os.path.exists(soak.bin):
            os.remove(soak.bin)  # the copy of lb (45 MB release, 140 MB debug); its sha256 is in the summary


if __name__ == "__main__":
    sys.exit(main())
