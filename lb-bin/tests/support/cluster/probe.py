# A client for the cluster rig, run in the client namespace: every PERIOD seconds it opens a
# new TCP connection to HOST:PORT, whatever the earlier ones are doing (a connection that
# hangs does not hold up the next: they run side by side, at most 500 at once), waits
# CONNECT_TIMEOUT for the handshake, then READ_TIMEOUT for the server's greeting line, and
# closes. Starts attempts for DURATION seconds, then waits for the last ones and exits.
# One line per attempt, printed when it ends (so not always in start order):
#   START END ok GREETING...      (the greeting: "NAME CLIENT-ADDRESS-THE-SERVER-SAW")
#   START END err REASON          (ECONNREFUSED, ECONNRESET, timeout: no handshake within
#                                  CONNECT_TIMEOUT, read-timeout: no greeting, closed: EOF)
# START and END: seconds since the epoch. SOURCE, when not "-", is the local address to use.
# usage: probe.py HOST PORT PERIOD CONNECT_TIMEOUT READ_TIMEOUT DURATION SOURCE
import errno, selectors, socket, sys, time

host, port = sys.argv[1], int(sys.argv[2])
period, connect_timeout, read_timeout, duration = (float(a) for a in sys.argv[3:7])
source = sys.argv[7]
MAX_OPEN = 500


class Attempt:
    def __init__(self, sock):
        self.sock = sock
        self.start = time.time()
        self.deadline = time.monotonic() + connect_timeout
        self.connected = False
        self.data = b""


selector = selectors.DefaultSelector()
open_attempts = set()


def finish(attempt, result):
    selector.unregister(attempt.sock)
    attempt.sock.close()
    open_attempts.discard(attempt)
    print("%.6f %.6f %s" % (attempt.start, time.time(), result), flush=True)


def error_name(number):
    return errno.errorcode.get(number, str(number))


def begin():
    sock = socket.socket()
    sock.setblocking(False)
    attempt = Attempt(sock)
    try:
        if source != "-":
            sock.bind((source, 0))
        code = sock.connect_ex((host, port))
    except OSError as e:
        code = e.errno or errno.EIO
    if code not in (0, errno.EINPROGRESS):
        sock.close()
        print("%.6f %.6f err %s" % (attempt.start, time.time(), error_name(code)), flush=True)
        return
    selector.register(sock, selectors.EVENT_WRITE, attempt)
    open_attempts.add(attempt)


def on_event(attempt):
    if not attempt.connected:
        code = attempt.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            finish(attempt, "err " + error_name(code))
            return
        attempt.connected = True
        attempt.deadline = time.monotonic() + read_timeout
        selector.modify(attempt.sock, selectors.EVENT_READ, attempt)
        return
    try:
        chunk = attempt.sock.recv(256)
    except BlockingIOError:
        return
    except OSError as e:
        finish(attempt, "err " + error_name(e.errno))
        return
    if not chunk:
        finish(attempt, "err closed")
        return
    attempt.data += chunk
    if attempt.data.endswith(b"\n"):
        finish(attempt, "ok " + attempt.data.decode(errors="replace").strip())
    elif len(attempt.data) > 256:
        finish(attempt, "err garbled")


print("probing", flush=True)
stop_starting = time.monotonic() + duration
give_up = stop_starting + connect_timeout + read_timeout + 1
due = time.monotonic()
while True:
    now = time.monotonic()
    if now >= give_up or (now >= stop_starting and not open_attempts):
        break
    if now >= due and now < stop_starting:
        if len(open_attempts) < MAX_OPEN:
            begin()
        due += period
        if due < now:
            due = now + period
    for attempt in [a for a in open_attempts if a.deadline <= now]:
        finish(attempt, "err " + ("read-timeout" if attempt.connected else "timeout"))
    wake = min([due] + [a.deadline for a in open_attempts])
    timeout = max(0.0, min(wake - time.monotonic(), 0.1))
    if open_attempts:
        for key, _ in selector.select(timeout):
            on_event(key.data)
    else:
        time.sleep(timeout)
print("probe done", flush=True)
