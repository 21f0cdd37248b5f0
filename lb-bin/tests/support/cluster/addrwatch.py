# Prints "TIME add ADDRESS" / "TIME del ADDRESS" for every IPv4 address added to or removed
# from an interface of this namespace (rtnetlink RTMGRP_IPV4_IFADDR), TIME in seconds since
# the epoch when the event was read; "watching" once subscribed. Exits after LIFETIME seconds.
# usage: addrwatch.py LIFETIME
import socket, struct, sys, time

lifetime = float(sys.argv[1])
RTMGRP_IPV4_IFADDR = 0x10
RTM_NEWADDR, RTM_DELADDR = 20, 21
IFA_ADDRESS, IFA_LOCAL = 1, 2
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
sock.bind((0, RTMGRP_IPV4_IFADDR))
print("watching", flush=True)
end = time.monotonic() + lifetime
while time.monotonic() < end:
    sock.settimeout(max(0.01, end - time.monotonic()))
    try:
        data = sock.recv(65536)
    except socket.timeout:
        break
    now = time.time()
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            break
        if kind in (RTM_NEWADDR, RTM_DELADDR):
            address = None
            attr = offset + 16 + 8  # nlmsghdr, ifaddrmsg
            while attr + 4 <= offset + length:
                attr_len, attr_type = struct.unpack_from("=HH", data, attr)
                if attr_len < 4:
                    break
                if attr_type in (IFA_LOCAL, IFA_ADDRESS) and attr_len == 8:
                    address = socket.inet_ntoa(data[attr + 4:attr + 8])
                    if attr_type == IFA_LOCAL:
                        break
                attr += (attr_len + 3) & ~3
            if address:
                print("%.6f %s %s" % (now, "add" if kind == RTM_NEWADDR else "del", address), flush=True)
        offset += (length + 3) & ~3
print("watch over", flush=True)
