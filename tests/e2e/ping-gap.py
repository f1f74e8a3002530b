#!/usr/bin/env python3
# ping-gap.py IP SECS [INTERVAL [TIMES]]: an ICMP echo to IP every INTERVAL
# seconds (0.01) for SECS, from a warm process (raw socket); with TIMES,
# each reply's wall-clock time goes there, a line each. Prints one line:
#   "SENT RECEIVED LONGEST_GAP_MS FIRST LAST" - the longest time between
#   two replies, and the first and last reply's wall-clock time, in s.
import os
import select
import socket
import struct
import sys
import time


def checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    return ~(s + (s >> 16)) & 0xFFFF


def main():
    ip, secs = sys.argv[1], float(sys.argv[2])
    every = float(sys.argv[3]) if len(sys.argv) > 3 else 0.01
    times = open(sys.argv[4], "w") if len(sys.argv) > 4 else None
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    replies, sent, seq = [], 0, 0
    end = time.time() + secs
    nxt = time.time()
    while time.time() < end:
        now = time.time()
        if now >= nxt:
            hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            pkt = struct.pack("!BBHHH", 8, 0, checksum(hdr + b"kuryr-c!"), ident, seq)
            s.sendto(pkt + b"kuryr-c!", (ip, 0))
            sent += 1
            seq = (seq + 1) & 0xFFFF
            nxt += every
        r, _, _ = select.select([s], [], [], max(0.0, min(nxt, end) - time.time()))
        if r:
            data = s.recv(2048)
            ihl = (data[0] & 15) * 4
            typ, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ == 0 and rid == ident:
                replies.append(time.time())
                if times:
                    times.write("%.6f\n" % replies[-1])
    if times:
        times.close()
    gap = max((b - a for a, b in zip(replies, replies[1:])), default=secs)
    print(f"{sent} {len(replies)} {gap * 1000:.0f} "
          f"{replies[0] if replies else 0:.3f} {replies[-1] if replies else 0:.3f}")


main()
