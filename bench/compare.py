#!/usr/bin/env python3
"""Side-by-side comparison of lb, HAProxy and nginx on this machine.

Starts two nginx backends, an iperf3 server, and each proxy on loopback with equivalent
settings (same timeouts, one worker/thread each, no access log, and in HTTP mode the same four
forwarding headers set for the client). The proxy under test is pinned to core 0; the load
generator and the backends run on core 1. Measurements are interleaved (lb, haproxy, nginx,
direct, and the reverse order every other round) so that drift cancels, and every run is
bounded in time. Prints a table of medians over the rounds, with lb's ratios to the others
taken round by round (the median of lb's figure over the other's in the same round), and
writes JSON.

`tls_new` measures new TLS connections per second: every proxy terminates TLS with the same
self-signed ECDSA P-256 certificate (made per run), TLS 1.2/1.3 with the same suites and groups,
ALPN http/1.1, in HTTP mode in front of the same backends; wrk sends one request per connection
(`Connection: close`). wrk would resume the previous TLS session on every reconnection, so it
runs with a small preloaded shim (built per run with cc) that drops the session before each
handshake: every connection is a full handshake, whatever the proxy's session cache or tickets.

    bench/run                 # installs what is missing, builds lb --release, runs this
    bench/compare.py --lb target/release/lb --rounds 8 --seconds 2 --json bench/latest.json
    bench/compare.py --lb new/lb --baseline old/lb --tests tcp_keepalive,tcp_bulk   # A/B two builds
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"
BACKENDS = [18081, 18082]
IPERF_PORT = 18090
PORTS = {  # (http, tcp, tcp-bulk, https) listen ports per proxy
    "lb": (18301, 18302, 18303, 18304),
    "haproxy": (18101, 18102, 18103, 18104),
    "nginx": (18201, 18202, 18203, 18204),
    "lb-base": (18401, 18402, 18403, 18404),  # --baseline: a second lb build, for A/B runs
}
HTTP, TCP, BULK, HTTPS = range(4)  # indexes into a PORTS entry
OTHERS = ["haproxy", "nginx", "direct"]
PROXIES = ["haproxy", "nginx"]
TESTS = ["http_keepalive", "http_close", "tcp_keepalive", "tls_new", "tcp_bulk", "idle_memory"]
PROXY_CORE = "0"
LOAD_CORE = "1"
TIMEOUT_CONNECT, TIMEOUT_IDLE = "10s", "2m"
# Connection caps: HAProxy reserves two descriptors per connection up front, and the hard
# descriptor limit here can be as low as 20000.
MAX_CONNECTIONS = 8000
# The suites and groups rustls (lb) offers, strongest first; the server's order wins everywhere.
TLS13_SUITES = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
TLS12_SUITES = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"
TLS_GROUPS = "X25519:P-256:P-384"
# Preloaded into wrk: drops the session wrk keeps from the previous connection (SSL_clear keeps
# it, and wrk's next SSL_connect would resume it) before each handshake starts.
FRESH_HANDSHAKE_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
int SSL_connect(void *ssl) {
    static int (*handshake)(void *), (*in_before)(const void *), (*set_session)(void *, void *);
    if (handshake == NULL) {
        handshake = (int (*)(void *))dlsym(RTLD_NEXT, "SSL_connect");
        in_before = (int (*)(const void *))dlsym(RTLD_NEXT, "SSL_in_before");
        set_session = (int (*)(void *, void *))dlsym(RTLD_NEXT, "SSL_set_session");
    }
    if (in_before(ssl))
        set_session(ssl, NULL);
    return handshake(ssl);
}
"""


def backend_nginx_conf(tmp):
    servers = "\n".join(
        f"server {{ listen {HOST}:{p} reuseport backlog=4096; keepalive_requests 100000;"
        f' location / {{ return 200 "hello from {p}\\n"; }} }}'
        for p in BACKENDS
    )
    return f"""
worker_processes 1;
pid {tmp}/backend.pid;
error_log {tmp}/backend-error.log warn;
events {{ worker_connections 20000; }}
http {{ access_log off; {servers} }}
"""


def tls_files(tmp):
    """Paths of the run's certificate, its key, and both in one file (for HAProxy)."""
    return {kind: os.path.join(tmp, f"tls-{kind}.pem") for kind in ("cert", "key", "combined")}


def make_certificate(tmp):
    """A self-signed ECDSA P-256 certificate for 127.0.0.1, made once per run."""
    files = tls_files(tmp)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", files["key"], "-out", files["cert"]], check=True, capture_output=True)
    with open(files["combined"], "w") as combined:
        for kind in ("cert", "key"):
            with open(files[kind]) as f:
                combined.write(f.read())


def build_fresh_handshake_shim(tmp):
    """Compiles FRESH_HANDSHAKE_SHIM; returns the library's path."""
    source, library = os.path.join(tmp, "fresh-handshake.c"), os.path.join(tmp, "fresh-handshake.so")
    with open(source, "w") as f:
        f.write(FRESH_HANDSHAKE_SHIM)
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", library, source, "-ldl"], check=True)
    return library


def haproxy_conf(tmp):
    http, tcp, bulk, https = PORTS["haproxy"]
    servers = "\n".join(f"  server s{p} {HOST}:{p}" for p in BACKENDS)

    def forwarding(proto):
        # The four forwarding headers lb sets for a client it does not trust, replacing the
        # client's: every proxy does the same work and the backends read the same requests.
        return "\n".join([
            "  http-request set-header X-Forwarded-For %[src]",
            f"  http-request set-header X-Forwarded-Proto {proto}",
            "  http-request set-header X-Forwarded-Port %[dst_port]",
            f"  http-request set-header Forwarded for=%[src];proto={proto}",
        ])
    return f"""
global
  nbthread 1
  maxconn {MAX_CONNECTIONS}
  pidfile {tmp}/haproxy.pid
  ssl-default-bind-options ssl-min-ver TLSv1.2
  ssl-default-bind-ciphers {TLS12_SUITES}
  ssl-default-bind-ciphersuites {TLS13_SUITES}
defaults
  timeout connect {TIMEOUT_CONNECT}
  timeout client {TIMEOUT_IDLE}
  timeout server {TIMEOUT_IDLE}
  maxconn {MAX_CONNECTIONS}
listen http
  mode http
  bind {HOST}:{http}
  balance roundrobin
{forwarding("http")}
{servers}
listen https
  mode http
  bind {HOST}:{https} ssl crt {tls_files(tmp)["combined"]} alpn http/1.1 curves {TLS_GROUPS}
  balance roundrobin
{forwarding("https")}
{servers}
listen tcp
  mode tcp
  bind {HOST}:{tcp}
  balance roundrobin
{servers}
listen bulk
  mode tcp
  bind {HOST}:{bulk}
  server iperf {HOST}:{IPERF_PORT}
"""


def nginx_conf(tmp):
    http, tcp, bulk, https = PORTS["nginx"]
    upstream = " ".join(f"server {HOST}:{p};" for p in BACKENDS)
    files = tls_files(tmp)
    proxy = f"""keepalive_requests 100000;
    location / {{ proxy_pass http://backends; proxy_http_version 1.1;
      proxy_set_header Connection ""; proxy_connect_timeout {TIMEOUT_CONNECT};
      proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header Forwarded "for=$remote_addr;proto=$scheme";
      proxy_read_timeout {TIMEOUT_IDLE}; proxy_send_timeout {TIMEOUT_IDLE}; }}"""
    return f"""
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections {2 * MAX_CONNECTIONS}; }}
http {{
  access_log off;
  upstream backends {{ {upstream} keepalive 64; }}
  server {{
    listen {HOST}:{http} backlog=4096;
    {proxy}
  }}
  server {{
    listen {HOST}:{https} ssl backlog=4096;
    ssl_certificate {files["cert"]}; ssl_certificate_key {files["key"]};
    ssl_protocols TLSv1.2 TLSv1.3; ssl_prefer_server_ciphers on; ssl_ciphers {TLS12_SUITES};
    ssl_conf_command Ciphersuites {TLS13_SUITES}; ssl_ecdh_curve {TLS_GROUPS}; ssl_session_cache off;
    {proxy}
  }}
}}
stream {{
  upstream tcp_backends {{ {upstream} }}
  server {{ listen {HOST}:{tcp} backlog=4096; proxy_pass tcp_backends;
    proxy_connect_timeout {TIMEOUT_CONNECT}; proxy_timeout {TIMEOUT_IDLE}; }}
  server {{ listen {HOST}:{bulk}; proxy_pass {HOST}:{IPERF_PORT}; }}
}}
"""


def lb_conf(http_mode, tls=None, name="lb"):
    """lb's configuration; `tls`, the run's tls_files(), adds the https VIP."""
    http, tcp, bulk, https = PORTS[name]
    servers = ", ".join(f'{{ name = "s{p}", address = "{HOST}:{p}" }}' for p in BACKENDS)
    vips = [
        ("tcp", tcp, "tcp", servers, ""),
        ("bulk", bulk, "tcp", f'{{ name = "iperf", address = "{HOST}:{IPERF_PORT}" }}', ""),
    ]
    if http_mode:
        vips.append(("http", http, "http", servers, ""))
    if tls:
        certificate = f'{{ cert = "{tls["cert"]}", key = "{tls["key"]}" }}'
        vips.append(("https", https, "http", servers,
                     f'tls = {{ certificates = [ {certificate} ], alpn = ["http/1.1"] }}\n'))
    blocks = "".join(
        f"""
[[vip]]
name = "{name}"
listen = ["{HOST}:{port}"]
mode = "{mode}"
servers = [ {srv} ]
{extra}"""
        for name, port, mode, srv, extra in vips
    )
    return f"""
[global]
max_connections = {MAX_CONNECTIONS}
[defaults]
connect_timeout = "{TIMEOUT_CONNECT}"
client_timeout = "{TIMEOUT_IDLE}"
server_timeout = "{TIMEOUT_IDLE}"
max_connections = {MAX_CONNECTIONS}
{blocks}"""


class Proc:
    """A started process, pinned to a core, stopped on exit."""

    def __init__(self, name, argv, core, log, env=None):
        self.name = name
        self.popen = subprocess.Popen(
            ["taskset", "-c", core, *argv], stdout=log, stderr=subprocess.STDOUT, env=env
        )

    def pid(self):
        return self.popen.pid

    def stop(self):
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                self.popen.kill()


def worker(master):
    """The pid of nginx's worker, which does the work, given its master's; else the master's."""
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return int(children[0]) if children else master


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def cpu_times(pid):
    """(user, system) CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def switches(pid, kinds=("voluntary_ctxt_switches:",)):
    """Context switches of every thread of a process so far; by default the voluntary ones,
    the times it blocked."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                total += sum(int(line.split()[1]) for line in f if line.startswith(kinds))
        except FileNotFoundError:
            pass
    return total


def sleeps(pid):
    """Times any thread of a process has blocked so far."""
    return switches(pid)


def all_switches(pid):
    """Context switches of a process so far, when it blocked and when it was preempted."""
    return switches(pid, ("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"))


def children_switches():
    """Context switches of this script's finished children so far (wrk's, once it has run)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_nvcsw + usage.ru_nivcsw


def cpu_seconds(pid):
    return sum(cpu_times(pid))


def core_ticks(core):
    """(busy, total) scheduler ticks of one core so far."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                ticks = [int(t) for t in line.split()[1:]]
                return sum(ticks) - ticks[3] - ticks[4], sum(ticks)
    return 0, 0


def wake_ipis():
    """Wake-up interrupts each core has taken so far, by core: the function-call and
    rescheduling IPIs another core sends to wake a task on an idle core or to preempt one."""
    with open("/proc/interrupts") as f:
        cores = [cpu.removeprefix("CPU") for cpu in f.readline().split()]
        counts = dict.fromkeys(cores, 0)
        for line in f:
            fields = line.split()
            if fields and fields[0] in ("CAL:", "RES:"):
                for core, count in zip(cores, fields[1:]):
                    counts[core] += int(count)
    return counts


def tcp_segments_sent():
    """TCP segments this machine has sent so far (`OutSegs`), over loopback here: a proxied
    request and its response take four (client to proxy to server and back), plus any
    segment that carries only an acknowledgement."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    names, values = rows[0], rows[1]
    return int(values[names.index("OutSegs")])


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_sockets(pid):
    """The sockets a process holds open now, by inode."""
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if link.startswith("socket:"):
            held.add(link)
    return held


def await_new_sockets(pid, before, wanted, timeout=30.0):
    """Waits until a process holds `wanted` sockets that are not among `before` (sockets it
    held before, which may close meanwhile: pooled server connections time out). A proxy in
    TCP mode holds two per client connection once it has accepted it and connected it to a
    server."""
    deadline = time.monotonic() + timeout
    while len(new := open_sockets(pid) - before) < wanted:
        if time.monotonic() > deadline:
            raise RuntimeError(f"pid {pid} holds {len(new)} new sockets after {timeout} s, not {wanted}")
        time.sleep(0.01)


def parse_latency(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(port, seconds, connections, close=False, shim=None):
    """wrk's figures; with `shim` (build_fresh_handshake_shim()), over TLS, never resumed."""
    argv = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s"]
    argv += ["--latency", "--timeout", "5s"]
    if close:
        argv += ["-H", "Connection: close"]
    url = f"{'https' if shim else 'http'}://{HOST}:{port}/"
    env = dict(os.environ, LD_PRELOAD=shim) if shim else None
    switches0 = children_switches()
    out = subprocess.run(
        argv + [url], capture_output=True, text=True, timeout=seconds + 30, env=env
    ).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    result["wrk_switches"] = children_switches() - switches0
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        result[f"p{pct}_ms"] = parse_latency(m.group(1)) if m else None
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["errors"] = (sum(map(int, errors.groups())) if errors else 0) + (
        int(non2xx.group(1)) if non2xx else 0
    )
    return result


def counters(pid, backend):
    """The counters a wrk run is measured by, read now: the load core's ticks, the switches of
    the backend on it, wake-up IPIs by core, TCP segments sent and, with a proxy's `pid`, its
    CPU times and sleeps."""
    now = {"load": core_ticks(LOAD_CORE), "backend": all_switches(backend), "ipis": wake_ipis(),
           "segments": tcp_segments_sent()}
    if pid is not None:
        now["cpu"], now["sleeps"] = cpu_times(pid), sleeps(pid)
    return now


def measured_wrk(port, pid, backend, args, options):
    """One wrk run through `port`, with what it cost per request: on the load core, in the
    kernel's TCP segments and wake-ups, and, with a proxy's `pid` (none for direct), in the
    proxy's CPU time and sleeps."""
    before = counters(pid, backend)
    run = wrk(port, args.seconds, args.connections, **options)
    after = counters(pid, backend)
    requests = max(run["requests"], 1)
    # The kernel's TCP work is per segment: a proxy that sends as many as another leaves the
    # kernel the same work per request.
    run["segments_per_req"] = (after["segments"] - before["segments"]) / requests
    # A core that sleeps is woken by the other with an interrupt, which costs both cores time:
    # a proxy that blocks often makes the load core send more.
    for core, key in ((PROXY_CORE, "proxy_core_ipis_per_req"), (LOAD_CORE, "load_core_ipis_per_req")):
        run[key] = (after["ipis"].get(core, 0) - before["ipis"].get(core, 0)) / requests
    # Near 100 %, the load generator's core and not the proxy bounds req/s.
    (busy0, total0), (busy1, total1) = before["load"], after["load"]
    run["load_core_busy_pct"] = 100 * (busy1 - busy0) / max(total1 - total0, 1)
    # What wrk and the backends spend per request, kernel included, and the rate at which
    # their core would be full: no proxy can be faster than that.
    run["load_core_us_per_req"] = (busy1 - busy0) / os.sysconf("SC_CLK_TCK") * 1e6 / requests
    run["load_core_full_rps"] = 1e6 / max(run["load_core_us_per_req"], 1e-9)
    # wrk and the backend share that core: each switch between them (one blocks or is
    # preempted as a proxy's send wakes the other) costs it time.
    load_switches = run.pop("wrk_switches") + after["backend"] - before["backend"]
    run["load_core_switches_per_req"] = load_switches / requests
    if pid is not None:
        # User time is the proxy's own code; system time is mostly the kernel's TCP stack,
        # which every proxy pays alike for the same system calls.
        run["cpu_user_us_per_req"] = (after["cpu"][0] - before["cpu"][0]) * 1e6 / requests
        run["cpu_sys_us_per_req"] = (after["cpu"][1] - before["cpu"][1]) * 1e6 / requests
        run["cpu_us_per_req"] = run["cpu_user_us_per_req"] + run["cpu_sys_us_per_req"]
        # A proxy that blocks waits to be woken by the next packet: each wake-up costs system
        # time on both cores; a busy one takes events in batches.
        run["sleeps_per_1k_req"] = (after["sleeps"] - before["sleeps"]) * 1000 / requests
    return run


def tls_negotiated(port):
    """The protocol, suite and key exchange group a default OpenSSL client gets on `port`."""
    out = subprocess.run(["openssl", "s_client", "-brief", "-alpn", "http/1.1", "-connect", f"{HOST}:{port}"],
                         input="", capture_output=True, text=True, timeout=10).stderr
    fields = dict(re.findall(r"^(Protocol version|Ciphersuite|Server Temp Key): (.*)$", out, re.M))
    group = fields.get("Server Temp Key", "?").split(",")[0]
    return f"{fields.get('Protocol version', '?')} {fields.get('Ciphersuite', '?')} {group}"


def iperf(port, seconds, attempts=20):
    """One iperf3 run through `port`. The iperf3 server takes one test at a time and may still
    be closing the previous one (its control connection closes through a proxy): it then
    answers busy, and the run is tried again."""
    for _ in range(attempts):
        out = subprocess.run(
            ["taskset", "-c", LOAD_CORE, "iperf3", "-c", HOST, "-p", str(port), "-t", str(seconds), "-J"],
            capture_output=True, text=True, timeout=seconds + 30,
        ).stdout
        data = json.loads(out)
        if "busy" not in data.get("error", ""):
            break
        time.sleep(0.1)
    if "error" in data:
        raise RuntimeError(f"iperf3 through port {port}: {data['error']}")
    return {"gbps": data["end"]["sum_received"]["bits_per_second"] / 1e9}


def idle_memory(pid, port, count):
    """RSS growth per idle connection, in KiB, with `count` idle client connections."""
    before, held = rss_kib(pid), open_sockets(pid)
    sockets = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection((HOST, port), timeout=5))
        await_new_sockets(pid, held, 2 * count)
        after = rss_kib(pid)
    finally:
        for s in sockets:
            s.close()
    return {"kib_per_conn": (after - before) / count, "rss_before_kib": before, "rss_after_kib": after}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lb", default="target/release/lb", help="the lb binary")
    # Eight short rounds rather than a few long ones: on a shared machine the median of
    # per-round ratios steadies with the number of rounds, not their length. About 5.5
    # minutes, so that bench/run stays under 10 with lb's release build from scratch (3.3).
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=2, help="length of each wrk/iperf3 run")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--idle", type=int, default=5000, help="idle connections for memory")
    parser.add_argument("--json", default="bench/latest.json")
    parser.add_argument("--baseline", help="a second lb binary measured alongside as lb-base")
    parser.add_argument("--tests", default=",".join(TESTS), help="comma-separated subset of: " + " ".join(TESTS))
    parser.add_argument("--against", default=",".join(OTHERS), help="comma-separated subset of: " + " ".join(OTHERS))
    args = parser.parse_args()
    selected, against = args.tests.split(","), args.against.split(",")
    if unknown := set(selected) - set(TESTS) | set(against) - set(OTHERS):
        sys.exit(f"bench: unknown tests or proxies {sorted(unknown)}")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    tmp = tempfile.mkdtemp(prefix="lb-bench-")
    log = open(os.path.join(tmp, "procs.log"), "w")
    procs = []

    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    make_certificate(tmp)
    tls = tls_files(tmp)

    def lb_modes(binary, name):
        """Whether `binary` takes an http VIP, and then an https one (older builds may not)."""
        def accepts(conf):
            return subprocess.run([binary, "check", "-c", write(f"{name}-probe.toml", conf)],
                                  capture_output=True).returncode == 0
        http = accepts(lb_conf(True, name=name))
        return http, http and accepts(lb_conf(True, tls, name=name))

    lbs = {"lb": args.lb, **({"lb-base": args.baseline} if args.baseline else {})}
    modes = {name: lb_modes(binary, name) for name, binary in lbs.items()}
    try:
        procs.append(Proc("backend", ["nginx", "-c", write("backend.conf", backend_nginx_conf(tmp)),
                                      "-g", "daemon off;"], LOAD_CORE, log))
        procs.append(Proc("iperf3", ["iperf3", "-s", "-B", HOST, "-p", str(IPERF_PORT)], LOAD_CORE, log))
        commands = {
            name: [binary, "run", "-c", write(f"{name}.toml", lb_conf(modes[name][0], modes[name][1] and tls, name))]
            for name, binary in lbs.items()
        }
        commands["haproxy"] = ["haproxy", "-db", "-f", write("haproxy.cfg", haproxy_conf(tmp))]
        commands["nginx"] = ["nginx", "-c", write("nginx.conf", nginx_conf(tmp)), "-g", "daemon off;"]
        # HAProxy has no `log` line and nginx `access_log off`: lb's access log is off too.
        quiet = dict(os.environ, RUST_LOG="info,lb::access=off")
        proxies = {name: Proc(name, argv, PROXY_CORE, log, quiet if name.startswith("lb") else None)
                   for name, argv in commands.items()
                   if name not in OTHERS or name in against}
        procs += proxies.values()
        # A port is None where that proxy cannot be measured: an lb build without the mode, or
        # HTTPS straight to the backends.
        targets = {name: PORTS[name] for name in proxies}
        for name, (http, https) in modes.items():
            http_port, tcp_port, bulk_port, https_port = PORTS[name]
            targets[name] = (http_port if http else None, tcp_port, bulk_port, https_port if https else None)
        if "direct" in against:
            targets["direct"] = (BACKENDS[0], BACKENDS[0], IPERF_PORT, None)
        # The iperf3 server takes any connection for a test: the bulk ports are not probed.
        for port in BACKENDS + [p for ports in targets.values() for i, p in enumerate(ports) if i != BULK and p]:
            if not wait_port(port):
                sys.exit(f"bench: nothing listens on {port}; see {tmp}/procs.log")
        # nginx's master forks a worker: measure the worker, which does the work.
        time.sleep(0.5)
        pids = {name: p.pid() for name, p in proxies.items()}
        if "nginx" in pids:
            pids["nginx"] = worker(pids["nginx"])
        backend = worker(procs[0].pid())

        tests = [("http_keepalive", HTTP, {}), ("http_close", HTTP, {"close": True}), ("tcp_keepalive", TCP, {})]
        if "tls_new" in selected:
            tests.append(("tls_new", HTTPS, {"close": True, "shim": build_fresh_handshake_shim(tmp)}))
            negotiated = {name: tls_negotiated(ports[HTTPS]) for name, ports in targets.items() if ports[HTTPS]}
        tests = [test for test in tests if test[0] in selected]
        results = {t: {n: [] for n in targets} for t, _, _ in tests}
        if "tcp_bulk" in selected:
            results["tcp_bulk"] = {n: [] for n in targets}
        for round_number in range(args.rounds):
            # Every other round runs the targets in reverse order (lb, haproxy, nginx, direct,
            # then direct, nginx, haproxy, lb): none always runs first, just after another
            # test, and drift over a round cancels over two.
            order = list(targets.items())
            if round_number % 2:
                order.reverse()
            for test, index, options in tests:
                for name, ports in order:
                    if ports[index] is None:
                        continue
                    run = measured_wrk(ports[index], pids.get(name), backend, args, options)
                    results[test][name].append(run)
            for name, ports in order:
                if "tcp_bulk" not in selected:
                    break
                cpu0 = cpu_seconds(pids[name]) if name in pids else None
                run = iperf(ports[BULK], args.seconds)
                if cpu0 is not None:
                    gigabytes = run["gbps"] * args.seconds / 8
                    run["cpu_s_per_gb"] = (cpu_seconds(pids[name]) - cpu0) / max(gigabytes, 1e-9)
                results["tcp_bulk"][name].append(run)
        if "idle_memory" in selected:
            results["idle_memory"] = {name: idle_memory(pids[name], PORTS[name][TCP], args.idle) for name in proxies}
    finally:
        for p in reversed(procs):
            p.stop()
        log.close()

    report = summarize(results)
    if "tls_new" in selected:
        report["tls_negotiated"] = negotiated
    report["machine"] = machine()
    os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
    with open(args.json, "w") as f:
        json.dump({"summary": report, "runs": results}, f, indent=2)
    print_table(report)
    print(f"\nJSON: {args.json}   logs: {tmp}")


def summarize(results):
    summary = {}
    for test, by_name in results.items():
        if test == "idle_memory":
            summary[test] = {n: {"kib_per_conn": r["kib_per_conn"]} for n, r in by_name.items()}
            continue
        summary[test] = {}
        for name, runs in by_name.items():
            if runs:
                keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float))]
                summary[test][name] = {k: statistics.median(r[k] for r in runs) for k in keys}
        summary[test]["paired"] = paired_ratios(by_name)
    return summary


def paired_ratios(by_name):
    """lb's figure over each other target's in the same round, median over the rounds: runs
    next to each other in time share the machine's state, so a slow spell on a shared host
    moves both sides of a ratio."""
    lb_runs = by_name.get("lb", [])
    paired = {}
    for other, runs in by_name.items():
        if other == "lb" or len(runs) != len(lb_runs):
            continue
        keys = [k for k in runs[0] if isinstance(runs[0][k], (int, float))] if runs else []
        paired[other] = {
            k: statistics.median(mine[k] / theirs[k] for mine, theirs in zip(lb_runs, runs))
            for k in keys
            if all(isinstance(mine.get(k), (int, float)) and theirs.get(k) for mine, theirs in zip(lb_runs, runs))
        }
        for bound, (source, mine_key, theirs_key) in BOUNDS.items():
            rounds = list(zip(by_name.get(source, []), runs))
            if other in PROXIES and len(rounds) == len(runs) and all(
                    mine.get(mine_key) and theirs.get(theirs_key) for mine, theirs in rounds):
                paired[other][bound] = statistics.median(mine[mine_key] / theirs[theirs_key] for mine, theirs in rounds)
    return paired


# Limits of lb's ratios to another proxy that lb's own code cannot move, per round: the req/s
# ratio lb would reach if its load core (wrk and the backends, which no proxy can outrun) were
# full; the req/s ratio with no proxy at all (wrk straight to the backends, which leaves the
# load core less to do than any proxy can); and the CPU ratio lb would reach if its user time
# were nil (its system time is the kernel's TCP work for its system calls, the same calls as
# HAProxy's).
BOUNDS = {
    "rps_ceiling": ("lb", "load_core_full_rps", "rps"),
    "rps_direct": ("direct", "rps", "rps"),
    "cpu_floor": ("lb", "cpu_sys_us_per_req", "cpu_us_per_req"),
}


def keepalive_rows(test, title):
    """The rows of a keep-alive test: req/s, latency, the proxy's CPU per request and what it
    is made of, and what bounds lb's ratios (see measured_wrk and BOUNDS)."""
    return [
        (test, "rps", f"{title} req/s"),
        (test, "p99_ms", f"{title} p99 ms"),
        (test, "cpu_us_per_req", f"{title} CPU us/req"),
        (test, "cpu_user_us_per_req", "  of which user us/req"),
        (test, "cpu_sys_us_per_req", "  of which system us/req"),
        (test, "sleeps_per_1k_req", "  proxy sleeps per 1k req"),
        (test, "segments_per_req", "  TCP segments per req"),
        (test, "load_core_busy_pct", f"{title} load core %"),
        (test, "load_core_us_per_req", "  load core us/req"),
        (test, "load_core_switches_per_req", "  load core switches per req"),
        (test, "proxy_core_ipis_per_req", "  wake-up IPIs to proxy core/req"),
        (test, "load_core_ipis_per_req", "  wake-up IPIs to load core/req"),
        (test, "load_core_full_rps", "  req/s at a full load core"),
        (test, "rps_ceiling", "  req/s ratio ceiling"),
        (test, "rps_direct", "  req/s ratio with no proxy"),
        (test, "cpu_floor", "  CPU ratio floor"),
    ]


# The table's rows: test, the figure's key in its runs, label.
METRICS = [
    *keepalive_rows("http_keepalive", "HTTP keep-alive"),
    ("http_close", "rps", "HTTP close req/s"),
    ("http_close", "p99_ms", "HTTP close p99 ms"),
    ("http_close", "cpu_us_per_req", "HTTP close CPU us/req"),
    *keepalive_rows("tcp_keepalive", "TCP mode"),
    ("tls_new", "rps", "New TLS conn/s"),
    ("tls_new", "p50_ms", "New TLS p50 ms"),
    ("tls_new", "p99_ms", "New TLS p99 ms"),
    ("tls_new", "cpu_us_per_req", "New TLS CPU us/conn"),
    ("tls_new", "load_core_busy_pct", "New TLS load core %"),
    ("tcp_bulk", "gbps", "TCP bulk Gbit/s"),
    ("tcp_bulk", "cpu_s_per_gb", "TCP bulk CPU s/GB"),
    ("idle_memory", "kib_per_conn", "Idle KiB per TCP conn"),
]


def print_table(summary):
    names = ["lb", "haproxy", "nginx", "direct"]
    if any("lb-base" in row for row in summary.values() if isinstance(row, dict)):
        names.append("lb-base")
    against = ["haproxy"] + names[4:]
    print(f"{'metric':30}" + "".join(f"{n:>12}" for n in names) + "".join(f"{'lb/' + n:>12}" for n in against))
    for test, key, label in METRICS:
        row = summary.get(test, {})
        cells = [row.get(n, {}).get(key) for n in names]
        ratios = []
        for other in against:
            paired = row.get("paired", {}).get(other, {}).get(key)
            lb, base = cells[0], cells[names.index(other)]
            if paired is not None:
                ratios.append(f"{paired:.2f}")
            else:
                ratios.append(f"{lb / base:.2f}" if lb is not None and base else "n/a")
        print(f"{label:30}" + "".join(f"{c:>12.2f}" if c is not None else f"{'n/a':>12}" for c in cells)
              + "".join(f"{r:>12}" for r in ratios))
    for name, handshake in summary.get("tls_negotiated", {}).items():
        print(f"TLS negotiated by {name}: {handshake}")


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": os.uname().release,
            "haproxy": subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.split("\n")[0],
            "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()}


if __name__ == "__main__":
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing (run bench/run, which installs it)")
    main()
