#!/usr/bin/env python3
"""TCP for the end-to-end tests, where busybox nc is not enough.

  tcp-probe.py serve PORT...      accept on every PORT (any address of
                                  either family) and
                                  answer each connection's first line
                                  with "echo:" and that line, until killed;
                                  prints "peer ADDR" for each connection
  tcp-probe.py connect IP PORT [TIMEOUT]
                                  print "open" when the server answered,
                                  "refused" on a reset (the SYN arrived and
                                  nothing listens), or "timeout" (dropped)
"""
import selectors
import socket
import sys


def serve(ports):
    sel = selectors.DefaultSelector()
    for p in ports:
        # Both families on one socket; IPv4 peers come as ::ffff:a.b.c.d.
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", int(p)))
        s.listen(16)
        sel.register(s, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            conn, peer = key.fileobj.accept()
            print("peer", peer[0].removeprefix("::ffff:"), flush=True)
            conn.settimeout(5)
            try:
                line = conn.recv(4096)
                conn.sendall(b"echo:" + line)
            except OSError:
                pass
            conn.close()


def connect(ip, port, timeout):
    try:
        with socket.create_connection((ip, int(port)), timeout=timeout) as s:
            s.sendall(b"hello\n")
            got = s.recv(4096)
            print("open" if got == b"echo:hello\n" else "garbled")
    except ConnectionRefusedError:
        print("refused")
    except (socket.timeout, TimeoutError):
        print("timeout")
    except OSError as e:
        print("error", e)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "connect":
        connect(sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) == 5 else 2.0)
    else:
        sys.exit(__doc__)
