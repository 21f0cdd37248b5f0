# Many clients for the cluster rig, run once in the client namespace: from each source address
# 10.77.1.1 to 10.77.1.COUNT in turn (from the last one down with ORDER "reverse"), one TCP
# connection to HOST:PORT, reading the server's greeting ("NAME CLIENT-ADDRESS"). Prints
# "SOURCE NAME" per client, or "SOURCE err REASON", then "done". Every connection has TIMEOUT
# seconds for its handshake and greeting.
# usage: clients.py HOST PORT COUNT TIMEOUT ORDER
import socket, sys

host, port, count, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
order = range(count, 0, -1) if sys.argv[5] == "reverse" else range(1, count + 1)
for n in order:
    source = "10.77.1.%d" % n
    try:
        with socket.create_connection((host, port), timeout=timeout, source_address=(source, 0)) as sock:
            greeting = sock.makefile("rb").readline().decode().split()
            print("%s %s" % (source, greeting[0] if greeting else "err closed"), flush=True)
    except OSError as error:
        print("%s err %s" % (source, type(error).__name__), flush=True)
print("done", flush=True)
