#!/usr/bin/env python3
"""UDP from a chosen source address, for the end-to-end tests of port
security: what a receiver got says what the network let through.

  udp-probe.py recv PORT          print "SRC PAYLOAD" for every datagram
                                  received on PORT (any address), until
                                  killed; "ready" first
  udp-probe.py send SRC DST PORT PAYLOAD [DEVICE]
                                  send PAYLOAD three times, 0.1 s apart,
                                  from address SRC (bound to DEVICE if
                                  given: a second interface on the same
                                  subnet); sending never fails for want
                                  of an answer
"""
import socket
import sys
import time


def recv(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    print("ready", flush=True)
    while True:
        data, (src, _) = s.recvfrom(2048)
        print(src, data.decode(errors="replace"), flush=True)


def send(src, dst, port, payload, device=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if device:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
    s.bind((src, 0))
    for _ in range(3):
        try:
            s.sendto(payload.encode(), (dst, int(port)))
        except OSError:
            pass  # an unresolved neighbour, for one
        time.sleep(0.1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "recv":
        recv(sys.argv[2])
    elif len(sys.argv) in (6, 7) and sys.argv[1] == "send":
        send(*sys.argv[2:])
    else:
        sys.exit(__doc__)
