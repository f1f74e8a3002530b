#!/bin/bash
# Across nodes over a clustered OVN (scripts/multinode.sh, three nodes, a
# kuryrd on each with nb_connection naming the three Northbound members):
# how long an ADD takes through the real kuryr-cni, and how long after it
# returns the new container first answers a ping from a container on
# another node, beside the same for one on the pinger's own node, in the
# same run. Then 3 x BURST containers at once, all on one node and then
# BURST on each of the three: the wall time, each ADD's median and p99,
# and the Northbound transactions per ADD (kuryrd's writes and reads, from
# its /metrics; every writer's commits, from the RAFT log).
#
#   bench/cross-node.sh [ITERATIONS] [BURST]   (default 30 and 100 per node)
#
# The pinger is a warm python3 in the anchor container's netns sending an
# ICMP echo every 2 ms until one is answered (raw socket; the first answer
# also needs ARP, as any first packet does). Pools are off: every ADD makes
# its port, so this is the miss path, where OVN's work across nodes shows.
# Needs a build in ./build (or KURYR_BUILD). Nothing touches the root
# namespace.
ITER=${1:-30}
BURST=${2:-100}
. "$(dirname "$0")/../tests/e2e/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
MN=$T/mn
_kpids=()
finish() {
	for p in "${_kpids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_kpids[@]}"; do wait "$p" 2>/dev/null; done
	for ns in $(ip netns list | awk -v p="$P-" 'index($1, p) == 1 {print $1}'); do
		case $ns in "$P"-central | "$P"-node*) ;; *) ip netns del "$ns" ;; esac
	done
	"$SRC/scripts/multinode.sh" down "$MN" "$P" >/dev/null 2>&1
	rm -rf "$T"
}
trap finish EXIT
"$SRC/scripts/multinode.sh" up "$MN" "$P" 3 >"$T/up.log" 2>&1 || { cat "$T/up.log"; exit 1; }
# shellcheck source=/dev/null
. "$MN/env"
MN_LOG_LEVEL=info MN_METRICS=127.0.0.1:9655
for i in 1 2 3; do mn_kuryrd_start "$i" || exit 1; done
"$CTL_BIN" --socket "$T/k1.sock" network create xnet --subnet 10.97.0.0/16 >/dev/null || exit 1
conf() { printf '{"cniVersion":"1.1.0","name":"xnet","type":"kuryr-cni","network":"xnet","daemon_socket":"%s"}' "$T/k$1.sock"; }
add() { # NAME NODE: prints the ADD's seconds and the address
	local t0 t1 out
	ip netns add "$P-$1"
	t0=$EPOCHREALTIME
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=$P-$1 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-$1 \
		CNI_PATH=$BUILD/src "$CNI_BIN" <<<"$(conf "$2")") || { echo "ADD $1 failed: $out" >&2; return 1; }
	t1=$EPOCHREALTIME
	echo "$t0 $t1 $(python3 -c 'import json,sys; print(json.load(sys.stdin)["ips"][0]["address"].split("/")[0])' <<<"$out")"
}
del() { CNI_COMMAND=DEL CNI_CONTAINERID=$P-$1 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-$1 \
	CNI_PATH=$BUILD/src "$CNI_BIN" <<<"$(conf "$2")" >/dev/null; ip netns del "$P-$1"; }
read -r _ _ ANCHOR < <(add anchor 1) || exit 1

# The pinger: reads "IP" lines, answers with the seconds from the line's
# arrival to the first echo reply from IP.
cat >"$T/pinger.py" <<'PY'
import os, select, socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF
ident = os.getpid() & 0xFFFF
for line in sys.stdin:
    ip = line.strip(); t0 = time.monotonic(); seq = 0; got = None
    while got is None and time.monotonic() - t0 < 10:
        seq += 1
        h = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        s.sendto(struct.pack("!BBHHH", 8, 0, csum(h), ident, seq), (ip, 0))
        end = time.monotonic() + 0.002
        while got is None and (w := end - time.monotonic()) > 0:
            if select.select([s], [], [], w)[0]:
                b, a = s.recvfrom(2048)
                if a[0] == ip and b[20] == 0 and struct.unpack("!H", b[24:26])[0] == ident:
                    got = time.monotonic() - t0
    print("%.6f" % (got if got is not None else -1), flush=True)
PY
coproc PINGER { ip netns exec "$P-anchor" python3 "$T/pinger.py"; }

run() { # LABEL NODE: ITER containers on NODE, one at a time
	local i t0 t1 ip first
	for ((i = 1; i <= ITER; i++)); do
		read -r t0 t1 ip < <(add "$1$i" "$2") || exit 1
		echo "$ip" >&"${PINGER[1]}"
		read -r first <&"${PINGER[0]}"
		echo "$t0 $t1 $first" >>"$T/times-$1"
		del "$1$i" "$2"
	done
}
run same 1
run cross 2

# Northbound transactions: kuryrd's own (its /metrics, every node's) and
# every writer's commits (the RAFT log's last index: kuryrd, ovn-northd's
# addresses and up flags).
kuryr_txns() { # kind: the sum over the nodes
	local i
	for i in 1 2 3; do
		ip netns exec "$(nsv NODE_NS "$i")" python3 -c 'import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9655/metrics").read().decode())'
	done | awk -v k="$1" '$1 == "kuryr_ovn_transactions_total{kind=\"" k "\"}" {s += $2} END {print s + 0}'
}
raft_index() {
	local m
	for m in 1 2 3; do
		ovs-appctl -t "$(nsv NB_CTL "$m")" cluster/status OVN_Northbound 2>/dev/null |
			sed -n 's/^Log: \[[0-9]*, \([0-9]*\)\]/\1/p'
	done | sort -n | tail -n1
}
# burst LABEL NODES...: BURST containers at once on each NODE; then their DELs
burst() {
	local label=$1 n k g pids=() w0 r0 t0 nodes
	shift
	nodes=("$@")
	w0=$(kuryr_txns write) r0=$(kuryr_txns read) t0=$(raft_index)
	local b0=$EPOCHREALTIME
	for g in "${!nodes[@]}"; do
		n=${nodes[$g]}
		for ((k = 1; k <= BURST; k++)); do
			(add "$label$g-$k" "$n" >>"$T/$label-adds" || echo "fail" >>"$T/$label-fail") &
			pids+=($!)
		done
	done
	wait "${pids[@]}"
	echo "$b0 $EPOCHREALTIME $(($(kuryr_txns write) - w0)) $(($(kuryr_txns read) - r0)) $(($(raft_index) - t0))" >"$T/$label-wall"
	pids=()
	for g in "${!nodes[@]}"; do
		n=${nodes[$g]}
		for ((k = 1; k <= BURST; k++)); do
			[ -e "/run/netns/$P-$label$g-$k" ] && { del "$label$g-$k" "$n" & pids+=($!); }
		done
	done
	wait "${pids[@]}"
}
burst one 1 1 1
burst three 1 2 3

python3 - "$T" "$ITER" "$BURST" <<'PY'
import statistics, sys, os
T, it, burst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def q(v, p): v = sorted(v); return v[min(len(v) - 1, int(p * len(v)))]
print("mode    ADD med   p99    first reply after ADD: med   p99   (ms, %d each)" % it)
for m in ("same", "cross"):
    rows = [list(map(float, l.split())) for l in open(os.path.join(T, "times-" + m))]
    add = [(r[1] - r[0]) * 1000 for r in rows]; first = [r[2] * 1000 for r in rows if r[2] >= 0]
    lost = sum(1 for r in rows if r[2] < 0)
    print("%-6s %8.2f %6.2f %12.2f %6.2f%s" % (m, statistics.median(add), q(add, .99),
          statistics.median(first), q(first, .99), "  (%d never answered)" % lost if lost else ""))
print("burst: %d ADDs at once            wall (s)  per ADD med  p99 (ms)  failed  NB txns per ADD: kuryrd writes reads, all commits" % (3 * burst))
for label, what in (("one", "on one node"), ("three", "over three nodes, %d each" % burst)):
    adds = [(float(l.split()[1]) - float(l.split()[0])) * 1000 for l in open(os.path.join(T, label + "-adds"))]
    fp = os.path.join(T, label + "-fail")
    fails = sum(1 for _ in open(fp)) if os.path.exists(fp) else 0
    b0, b1, w, r, c = open(os.path.join(T, label + "-wall")).read().split()
    n = 3 * burst
    print("  %-30s %8.2f %12.1f %9.1f %7d %13.2f %6.2f %6.2f" % (what, float(b1) - float(b0), statistics.median(adds),
          q(adds, .99), fails, int(w) / n, int(r) / n, int(c) / n))
PY
