#!/usr/bin/env python3
"""Send IPv6 neighbour advertisements as raw frames, for the end-to-end tests.

  nd-spoof.py IFACE SRC_MAC DST_MAC SRC_IP DST_IP TARGET [COUNT]

sends COUNT (default 3) neighbour advertisements out of IFACE (an
AF_PACKET socket: the kernel's neighbour discovery is not asked), from
SRC_MAC/SRC_IP to DST_MAC/DST_IP, claiming that TARGET is at SRC_MAC
(override flag set, a target link-layer address option). With TARGET an
address that is not the sender's own, that is neighbour-discovery
spoofing, which port security must drop.
"""
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(s):
    return bytes(int(x, 16) for x in s.split(":"))


def main(argv):
    if len(argv) not in (7, 8):
        sys.exit(__doc__)
    iface, smac, dmac, sip, dip, target = argv[1:7]
    count = int(argv[7]) if len(argv) == 8 else 3
    src = socket.inet_pton(socket.AF_INET6, sip)
    dst = socket.inet_pton(socket.AF_INET6, dip)
    # ICMPv6 type 136, code 0; flags: override (the router and solicited
    # bits clear); the target; option 2 (target link-layer address).
    body = struct.pack("!I", 0x20000000) + socket.inet_pton(socket.AF_INET6, target)
    body += struct.pack("!BB", 2, 1) + mac(smac)
    icmp = struct.pack("!BBH", 136, 0, 0) + body
    pseudo = src + dst + struct.pack("!I", len(icmp)) + b"\0\0\0" + bytes([58])
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    # IPv6: version 6, payload length, next header 58, hop limit 255.
    ip6 = struct.pack("!IHBB", 6 << 28, len(icmp), 58, 255) + src + dst
    frame = mac(dmac) + mac(smac) + struct.pack("!H", 0x86DD) + ip6 + icmp
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for _ in range(count):
        s.send(frame)
        time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv)
