#!/usr/bin/env python3
# 802.1Q frames by hand, for tests on a kernel without the 8021q module (no
# VLAN sub-interfaces): a raw AF_PACKET socket sends an Ethernet frame with
# a VLAN header built here, and reads frames back with the tag the kernel
# took off into the packet's metadata (PACKET_AUXDATA) put back in place,
# so a frame prints as it was on the wire.
#
#   vlan-frames.py ping IFACE VLAN SRC_MAC SRC_IP DST_MAC DST_IP TIMEOUT
#       send an ICMP echo request tagged VLAN (0: untagged) from IFACE;
#       answer ARP requests for SRC_IP the same way (as the nested
#       container SRC would); print "reply vlan=N src=IP" for the first
#       echo reply to SRC_IP received within TIMEOUT seconds and exit 0;
#       exit 1 if none came.
#   vlan-frames.py listen IFACE TIMEOUT
#       print "listening" once the socket is open, then "echo vlan=N
#       src=IP dst=IP" for every ICMP echo request of ours seen on IFACE
#       within TIMEOUT seconds.
#   vlan-frames.py frames IFACE TIMEOUT
#       print "listening", then for every IPv4 frame IFACE receives within
#       TIMEOUT seconds "ip tags=N vlan=V proto=P src=IP dst=IP udp=PORT
#       tos=T" (N: how many 802.1Q headers it had on the wire, V the outer
#       one's id, PORT the UDP destination port or 0: a tunnel shows as
#       4789, VXLAN, or 6081, Geneve; T the IPv4 TOS byte).
#
# Only to addresses inside the test's own namespaces.
import ctypes
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
ECHO_ID = 0x4B43  # "KC": replies to other pings are not ours


class AuxData(ctypes.Structure):
    # struct tpacket_auxdata (linux/if_packet.h)
    _fields_ = [
        ("tp_status", ctypes.c_uint32),
        ("tp_len", ctypes.c_uint32),
        ("tp_snaplen", ctypes.c_uint32),
        ("tp_mac", ctypes.c_uint16),
        ("tp_net", ctypes.c_uint16),
        ("tp_vlan_tci", ctypes.c_uint16),
        ("tp_vlan_tpid", ctypes.c_uint16),
    ]


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ether(dst, src, vlan, ethertype, payload):
    hdr = mac_bytes(dst) + mac_bytes(src)
    if vlan:
        hdr += struct.pack("!HH", ETH_P_8021Q, vlan & 0x0FFF)
    return hdr + struct.pack("!H", ethertype) + payload


def ipv4_icmp_echo(src, dst, seq):
    body = b"kuryr-c vlan test"
    icmp = struct.pack("!BBHHH", 8, 0, 0, ECHO_ID, seq) + body
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + icmp


def open_raw(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    s.bind((iface, 0))
    return s


def receive(s, deadline):
    """Frames as on the wire until @deadline: (vlan or 0, ethertype, src
    MAC bytes, payload after the Ethernet/VLAN header)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if not select.select([s], [], [], left)[0]:
            continue
        data, anc, _, addr = s.recvmsg(65535, socket.CMSG_SPACE(ctypes.sizeof(AuxData)))
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        vlan = 0
        for level, kind, cdata in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA:
                aux = AuxData.from_buffer_copy(cdata.ljust(ctypes.sizeof(AuxData), b"\0"))
                if aux.tp_status & TP_STATUS_VLAN_VALID:
                    vlan = aux.tp_vlan_tci & 0x0FFF
        if len(data) < 14:
            continue
        ethertype = struct.unpack("!H", data[12:14])[0]
        payload = data[14:]
        if ethertype == ETH_P_8021Q and len(payload) >= 4:
            vlan = struct.unpack("!H", payload[:2])[0] & 0x0FFF
            ethertype = struct.unpack("!H", payload[2:4])[0]
            payload = payload[4:]
        yield vlan, ethertype, data[6:12], payload


def icmp_of(payload):
    """(type, id, src, dst) of an IPv4 ICMP packet, or None."""
    if len(payload) < 28 or payload[0] >> 4 != 4 or payload[9] != 1:
        return None
    ihl = (payload[0] & 0x0F) * 4
    t = payload[ihl]
    ident = struct.unpack("!H", payload[ihl + 4:ihl + 6])[0]
    return t, ident, socket.inet_ntoa(payload[12:16]), socket.inet_ntoa(payload[16:20])


def ping(iface, vlan, src_mac, src_ip, dst_mac, dst_ip, timeout):
    s = open_raw(iface)
    vlan = int(vlan)
    s.send(ether(dst_mac, src_mac, vlan, ETH_P_IP, ipv4_icmp_echo(src_ip, dst_ip, 1)))
    for fvlan, ethertype, fsrc, payload in receive(s, time.monotonic() + float(timeout)):
        if ethertype == ETH_P_ARP and len(payload) >= 28 and payload[7] == 1 \
                and socket.inet_ntoa(payload[24:28]) == src_ip:
            # Who has SRC_IP: the nested container answers, on its VLAN.
            arp = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 2) + mac_bytes(src_mac) \
                + socket.inet_aton(src_ip) + payload[8:18]
            s.send(ether(":".join("%02x" % b for b in fsrc), src_mac, fvlan, ETH_P_ARP, arp))
            continue
        icmp = icmp_of(payload) if ethertype == ETH_P_IP else None
        if icmp and icmp[0] == 0 and icmp[1] == ECHO_ID and icmp[3] == src_ip:
            print("reply vlan=%d src=%s" % (fvlan, icmp[2]), flush=True)
            return 0
    return 1


def listen(iface, timeout):
    s = open_raw(iface)
    print("listening", flush=True)
    for fvlan, ethertype, _, payload in receive(s, time.monotonic() + float(timeout)):
        icmp = icmp_of(payload) if ethertype == ETH_P_IP else None
        if icmp and icmp[0] == 8 and icmp[1] == ECHO_ID:
            print("echo vlan=%d src=%s dst=%s" % (fvlan, icmp[2], icmp[3]), flush=True)
    return 0


def frames(iface, timeout):
    s = open_raw(iface)
    print("listening", flush=True)
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        if not select.select([s], [], [], max(0, deadline - time.monotonic()))[0]:
            continue
        data, anc, _, addr = s.recvmsg(65535, socket.CMSG_SPACE(ctypes.sizeof(AuxData)))
        if addr[2] == socket.PACKET_OUTGOING or len(data) < 14:
            continue
        tags, vlan = 0, 0
        for level, kind, cdata in anc:
            if level == SOL_PACKET and kind == PACKET_AUXDATA:
                aux = AuxData.from_buffer_copy(cdata.ljust(ctypes.sizeof(AuxData), b"\0"))
                if aux.tp_status & TP_STATUS_VLAN_VALID:
                    tags, vlan = 1, aux.tp_vlan_tci & 0x0FFF
        off = 12
        while len(data) >= off + 6 and struct.unpack("!H", data[off:off + 2])[0] == ETH_P_8021Q:
            if not tags:
                vlan = struct.unpack("!H", data[off + 2:off + 4])[0] & 0x0FFF
            tags += 1
            off += 4
        if struct.unpack("!H", data[off:off + 2])[0] != ETH_P_IP:
            continue
        ip = data[off + 2:]
        if len(ip) < 20:
            continue
        ihl = (ip[0] & 0x0F) * 4
        udp = struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] if ip[9] == 17 and len(ip) >= ihl + 4 else 0
        print("ip tags=%d vlan=%d proto=%d src=%s dst=%s udp=%d tos=%d"
              % (tags, vlan, ip[9], socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20]), udp,
                 ip[1]), flush=True)
    return 0


if __name__ == "__main__":
    cmds = {"ping": (ping, 7), "listen": (listen, 2), "frames": (frames, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) - 2 != cmds[sys.argv[1]][1]:
        sys.exit("usage: %s ping IFACE VLAN SRC_MAC SRC_IP DST_MAC DST_IP TIMEOUT"
                 " | listen IFACE TIMEOUT | frames IFACE TIMEOUT" % sys.argv[0])
    sys.exit(cmds[sys.argv[1]][0](*sys.argv[2:]))
