#!/usr/bin/env python3
"""Who answers behind a load balancer, for the end-to-end tests.

  lb-probe.py serve tcp|udp PORT NAME
                             answer every TCP connection (its first line)
                             or UDP datagram on PORT with NAME, until
                             killed; "ready" first
  lb-probe.py hits tcp|udp IP PORT N [TIMEOUT]
                             N connections (datagrams), each from a new
                             source port; print how many each NAME
                             answered, sorted ("a:10 b:10"), and
                             "none:K" for those nobody answered
  lb-probe.py first tcp|udp IP PORT NAME DEADLINE
                             try every 5 ms until NAME ("*": anyone)
                             answers; print the seconds that took, or
                             "never" after DEADLINE
  lb-probe.py firstat tcp|udp IP PORT NAME DEADLINE
                             the same, started ahead: print the wall-clock
                             time (seconds since the epoch) NAME first
                             answered
  lb-probe.py txcsum DEVICE [on|off]
                             print DEVICE's transmit checksum offload
                             ("on" or "off"), or set it (SIOCETHTOOL; no
                             ethtool here); off, its packets leave with
                             their TCP/UDP checksum filled in
  lb-probe.py names tcp|udp IP PORT N DEADLINE
                             connect until N different NAMEs answered;
                             print the seconds that took, or "never"
"""
import array
import collections
import fcntl
import socket
import struct
import sys
import time


def serve(proto, port, name):
    reply = name.encode() + b"\n"
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", port))
        print("ready", flush=True)
        while True:
            _, peer = s.recvfrom(2048)
            s.sendto(reply, peer)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    print("ready", flush=True)
    while True:
        conn, _ = s.accept()
        conn.settimeout(2)
        try:
            conn.recv(4096)
            conn.sendall(reply)
        except OSError:
            pass
        conn.close()


def ask(proto, ip, port, timeout):
    """The NAME that answered one connection, or None."""
    try:
        if proto == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(b"who\n", (ip, port))
                data, _ = s.recvfrom(2048)
        else:
            with socket.create_connection((ip, port), timeout=timeout) as s:
                s.sendall(b"who\n")
                data = s.recv(4096)
        return data.decode(errors="replace").strip() or None
    except OSError:
        return None


def hits(proto, ip, port, n, timeout):
    got = collections.Counter(ask(proto, ip, port, timeout) or "none" for _ in range(n))
    print(" ".join("%s:%d" % kv for kv in sorted(got.items())))


def first(proto, ip, port, name, deadline, wall=False):
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        got = ask(proto, ip, port, 0.05)
        if got and (name == "*" or got == name):
            print("%.6f" % time.time() if wall else "%.3f" % (time.monotonic() - start))
            return
        time.sleep(0.005)
    print("never")


def txcsum(dev, want=None):
    ethtool_gtxcsum, ethtool_stxcsum, siocethtool = 0x16, 0x17, 0x8946
    cmd = ethtool_gtxcsum if want is None else ethtool_stxcsum
    value = array.array("B", struct.pack("II", cmd, want == "on"))
    ifr = struct.pack("16sP", dev.encode(), value.buffer_info()[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), siocethtool, ifr)
    if want is None:
        print("on" if struct.unpack("II", value.tobytes())[1] else "off")


def names(proto, ip, port, n, deadline):
    start, seen = time.monotonic(), set()
    while time.monotonic() - start < deadline:
        got = ask(proto, ip, port, 0.2)
        if got:
            seen.add(got)
        if len(seen) >= n:
            print("%.3f" % (time.monotonic() - start))
            return
    print("never")


if __name__ == "__main__":
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "serve":
        serve(a[1], int(a[2]), a[3])
    elif len(a) in (5, 6) and a[0] == "hits":
        hits(a[1], a[2], int(a[3]), int(a[4]), float(a[5]) if len(a) == 6 else 1.0)
    elif len(a) == 6 and a[0] == "first":
        first(a[1], a[2], int(a[3]), a[4], float(a[5]))
    elif len(a) == 6 and a[0] == "firstat":
        first(a[1], a[2], int(a[3]), a[4], float(a[5]), wall=True)
    elif len(a) == 2 and a[0] == "txcsum":
        txcsum(a[1])
    elif len(a) == 3 and a[0] == "txcsum" and a[2] in ("on", "off"):
        txcsum(a[1], a[2])
    elif len(a) == 6 and a[0] == "names":
        names(a[1], a[2], int(a[3]), int(a[4]), float(a[5]))
    else:
        sys.exit(__doc__)
