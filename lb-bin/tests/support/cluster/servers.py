# Identity servers for the cluster rig, run in the server namespace: for each NAME=ADDRESS
# argument, a TCP server on ADDRESS:PORT that sends "NAME CLIENT-ADDRESS\n" on every
# connection and then echoes lines, and a clustercheck-style HTTP server on ADDRESS:CHECK_PORT
# answering 200, or 503 while the file DIR/NAME.down exists. Prints "TIME conn NAME CLIENT"
# per connection (TIME: seconds since the epoch) and "ready" once listening; exits by itself
# after LIFETIME seconds.
# usage: servers.py DIR PORT CHECK_PORT LIFETIME NAME=ADDRESS...
import os, socket, sys, threading, time

directory, port, check_port, lifetime = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
lock = threading.Lock()

def say(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

def listen(address, port):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((address, port))
    sock.listen(1024)
    return sock

def serve(name, sock):
    while True:
        conn, peer = sock.accept()
        say("%.6f conn %s %s" % (time.time(), name, peer[0]))
        threading.Thread(target=greet_and_echo, args=(conn, name, peer[0]), daemon=True).start()

def greet_and_echo(conn, name, client):
    try:
        conn.sendall(("%s %s\n" % (name, client)).encode())
        conn.settimeout(lifetime)
        reader = conn.makefile("rb")
        for line in reader:
            conn.sendall(line)
    except OSError:
        pass
    finally:
        conn.close()

def check(name, sock):
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=answer_check, args=(conn, name), daemon=True).start()

def answer_check(conn, name):
    try:
        conn.settimeout(2)
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 8192:
            chunk = conn.recv(4096)
            if not chunk:
                break
            request += chunk
        down = os.path.exists(os.path.join(directory, name + ".down"))
        status, body = ("503 Service Unavailable", "down") if down else ("200 OK", "up")
        conn.sendall(("HTTP/1.1 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (status, len(body), body)).encode())
    except OSError:
        pass
    finally:
        conn.close()

for spec in sys.argv[5:]:
    name, address = spec.split("=", 1)
    threading.Thread(target=serve, args=(name, listen(address, port)), daemon=True).start()
    threading.Thread(target=check, args=(name, listen(address, check_port)), daemon=True).start()
say("ready")
time.sleep(lifetime)
say("lifetime over")
os._exit(0)
