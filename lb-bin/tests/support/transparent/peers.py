# Servers and clients of the transparent-proxying rig, run in its namespaces. Every address
# may be IPv4 or IPv6. Servers print "listening" once bound and "accepted IP PORT" per
# connection (the peer they see); clients print one line per result.
#
# tcp-server HOST PORT
#     per connection: sends "IP\n" (the peer's address), reads until the peer's end of stream
#     (a half-close), then sends "got N bytes\n" and closes.
# http-server HOST PORT
#     HTTP/1.1 with keep-alive: every request gets 200 with the body "IP PORT" (the peer of
#     the TCP connection that carried it).
# tcp-clients HOST PORT BYTES COUNT SRC...
#     COUNT connections, from each SRC in turn: reads the greeting, sends BYTES bytes, shuts
#     its side down, reads the rest; prints "conn SRC GREETING REST" (REST with "_" for
#     spaces), or "conn SRC closed" when the connection ended before a greeting.
# http-clients HOST PORT ROUNDS SRC...
#     one keep-alive connection per SRC; ROUNDS rounds, each a request on every connection
#     in turn (interleaved); prints "resp SRC ROUND STATUS BODY".
# proxied-get HOST PORT CLAIMED
#     one request behind a PROXY v1 header naming CLAIMED as the client; prints
#     "resp CLAIMED STATUS BODY".
import http.client, http.server, socket, socketserver, sys, threading

lock = threading.Lock()

def say(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET

class Tcp(socketserver.BaseRequestHandler):
    def handle(self):
        ip, port = self.client_address[:2]
        say("accepted %s %d" % (ip, port))
        try:
            self.request.sendall(("%s\n" % ip).encode())
            total = 0
            while True:
                data = self.request.recv(65536)
                if not data:
                    break
                total += len(data)
            self.request.sendall(("got %d bytes\n" % total).encode())
        except OSError:
            pass

class Http(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        say("accepted %s %d" % self.client_address[:2])

    def do_GET(self):
        body = ("%s %d" % self.client_address[:2]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

def serve(handler, host, port):
    class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
        address_family = family(host)
        allow_reuse_address = True
        daemon_threads = True
    server = Server((host, port), handler)
    say("listening")
    server.serve_forever()

def tcp_clients(host, port, size, count, sources):
    for index in range(count):
        source = sources[index % len(sources)]
        conn = socket.create_connection((host, port), timeout=10, source_address=(source, 0))
        reader = conn.makefile("rb")
        greeting = reader.readline().decode().strip()
        if not greeting:
            say("conn %s closed" % source)
            conn.close()
            continue
        conn.sendall(b"x" * size)
        conn.shutdown(socket.SHUT_WR)
        rest = reader.read().decode().strip().replace(" ", "_")
        say("conn %s %s %s" % (source, greeting, rest))
        conn.close()

def http_clients(host, port, rounds, sources):
    conns = [(source, http.client.HTTPConnection(host, port, timeout=10, source_address=(source, 0)))
             for source in sources]
    for round in range(rounds):
        for source, conn in conns:
            conn.request("GET", "/%s/%d" % (source, round))
            response = conn.getresponse()
            say("resp %s %d %d %s" % (source, round, response.status, response.read().decode()))

def proxied_get(host, port, claimed):
    conn = socket.create_connection((host, port), timeout=10)
    family = "TCP6" if ":" in claimed else "TCP4"
    conn.sendall(("PROXY %s %s %s 40000 %d\r\n" % (family, claimed, host, port)).encode()
                 + b"GET / HTTP/1.1\r\nHost: rig\r\nConnection: close\r\n\r\n")
    answer = b""
    while True:
        data = conn.recv(65536)
        if not data:
            break
        answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode() if head else "none"
    say("resp %s %s %s" % (claimed, status, body.decode()))

mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "tcp-server":
    serve(Tcp, host, port)
elif mode == "http-server":
    serve(Http, host, port)
elif mode == "tcp-clients":
    tcp_clients(host, port, int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])
elif mode == "http-clients":
    http_clients(host, port, int(sys.argv[4]), sys.argv[5:])
elif mode == "proxied-get":
    proxied_get(host, port, sys.argv[4])
else:
    sys.exit("unknown mode " + mode)
