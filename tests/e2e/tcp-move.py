#!/usr/bin/env python3
# An established TCP connection moved from one network namespace to
# another with the kernel's TCP repair mode, as CRIU does when it restores
# a checkpointed container elsewhere (podman container restore
# --tcp-established): the test's stand-in for a workload moved between
# nodes with its connections.
#
#   tcp-move.py serve PORT STATE      echo lines; on SIGUSR1 freeze the
#                                     connection into STATE (JSON) and exit
#   tcp-move.py restore STATE         (in the new netns, which has the
#                                     address) take it up and echo on
#   tcp-move.py client HOST PORT SECS send a numbered line every 10 ms and
#                                     read its echo; prints "ok SENT LONGEST_STALL_MS"
#                                     or "broken AFTER_N: ERROR"
#
# The frozen socket is closed in repair mode, which sends nothing: the peer
# sees no FIN or RST, only a pause.
import json
import signal
import socket
import struct
import sys
import time

TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_REPAIR_OPTIONS = 19, 20, 21, 22
TCP_TIMESTAMP = 24
TCP_RECV_QUEUE, TCP_SEND_QUEUE = 1, 2
TCPOPT_MSS, TCPOPT_WINDOW, TCPOPT_SACK_PERM, TCPOPT_TIMESTAMP = 2, 3, 4, 8
TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE = 1, 2, 4


def queue(s, which):
    """The sequence number and bytes of queue @which (repair mode on)."""
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, which)
    seq = struct.unpack("I", s.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
    try:
        data = s.recv(1 << 20, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        data = b""
    return seq, data


def freeze(c, path):
    info = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    opts, wscale = info[5], info[6]
    mss = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    sseq, sdata = queue(c, TCP_SEND_QUEUE)
    rseq, rdata = queue(c, TCP_RECV_QUEUE)
    ts = struct.unpack("I", c.getsockopt(socket.IPPROTO_TCP, TCP_TIMESTAMP, 4))[0]
    state = {
        "local": c.getsockname(), "peer": c.getpeername(), "mss": mss,
        "snd_wscale": wscale & 15, "rcv_wscale": wscale >> 4,
        "timestamps": bool(opts & TCPI_OPT_TIMESTAMPS), "sack": bool(opts & TCPI_OPT_SACK),
        "wscale": bool(opts & TCPI_OPT_WSCALE), "ts": ts,
        # The kernel's sequence numbers are past the queued bytes: the
        # restored queues start where these bytes do.
        "send_seq": (sseq - len(sdata)) & 0xFFFFFFFF, "send": sdata.hex(),
        "recv_seq": (rseq - len(rdata)) & 0xFFFFFFFF, "recv": rdata.hex(),
    }
    with open(path, "w") as f:
        json.dump(state, f)
    c.close()  # in repair mode: nothing goes out


def echo(c, pending=b""):
    buf = pending
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            c.sendall(line + b"\n")
        b = c.recv(4096)
        if not b:
            return
        buf += b


def serve(port, path):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(1)
    print("listening", flush=True)
    c, _ = ls.accept()
    ls.close()

    def on_usr1(*_):
        freeze(c, path)
        sys.exit(0)

    signal.signal(signal.SIGUSR1, on_usr1)
    echo(c)


def restore(path):
    with open(path) as f:
        st = json.load(f)
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(tuple(st["local"]))
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
    s.setsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, struct.pack("I", st["send_seq"]))
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)
    s.setsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, struct.pack("I", st["recv_seq"]))
    s.connect(tuple(st["peer"]))  # repair mode: established, no SYN
    opts = [(TCPOPT_MSS, st["mss"])]
    if st["wscale"]:
        opts.append((TCPOPT_WINDOW, st["snd_wscale"] | st["rcv_wscale"] << 16))
    if st["sack"]:
        opts.append((TCPOPT_SACK_PERM, 0))
    if st["timestamps"]:
        opts.append((TCPOPT_TIMESTAMP, 0))
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_OPTIONS,
                 b"".join(struct.pack("II", k, v) for k, v in opts))
    if st["timestamps"]:
        s.setsockopt(socket.IPPROTO_TCP, TCP_TIMESTAMP, struct.pack("I", st["ts"]))
    for which, data in ((TCP_RECV_QUEUE, st["recv"]), (TCP_SEND_QUEUE, st["send"])):
        if data:
            s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, which)
            s.sendall(bytes.fromhex(data))
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)  # a window probe goes out
    print("restored", flush=True)
    # What was received and not yet echoed is in the receive queue again.
    echo(s)


def client(host, port, secs):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("connected", flush=True)
    n, stall, end = 0, 0.0, time.time() + secs
    f = s.makefile("rb")
    try:
        while time.time() < end:
            t = time.time()
            s.sendall(b"%d\n" % n)
            line = f.readline()
            if line != b"%d\n" % n:
                raise OSError(f"echo {line!r} for {n}")
            stall = max(stall, time.time() - t)
            n += 1
            time.sleep(0.01)
    except OSError as e:
        print(f"broken {n}: {e}", flush=True)
        return
    print(f"ok {n} {stall * 1000:.0f}", flush=True)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "serve":
        serve(int(sys.argv[2]), sys.argv[3])
    elif cmd == "restore":
        restore(sys.argv[2])
    else:
        client(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
