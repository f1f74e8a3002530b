#!/bin/bash
# A workload moved between two nodes keeping its port, over a three-node
# clustered OVN (scripts/multinode.sh, a kuryrd per node): how long a
# container on the third node, pinging it every 10 ms, gets no reply.
#
#   bench/migrate.sh [MOVES]   (default 20)
#
# Each move: the workload stops on its node (its link down), an ADD on the
# other node names its port (runtimeConfig "port": bound there too, plugged,
# a RARP, then that node's alone), then the old node's DEL. The gap is from
# the last reply before the stop to the first one after, the longest
# silence of the two seconds that follow the stop. Beside it, in the
# same run and with the same pinger, the same move by hand with OVN alone
# (a Logical_Switch_Port made once with a fixed MAC and address; a veth with
# its iface-id deleted on one node's br-int and made on the other's): the
# floor the datapath sets, with no kuryrd and no Northbound write at all.
# Needs a build in ./build (or KURYR_BUILD). Nothing touches the root
# namespace. KEEP_LOGS=DIR keeps a copy of the nodes' and databases' logs.
MOVES=${1:-20}
. "$(dirname "$0")/../tests/e2e/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root"
exec 3>&1 1>"$T/tap.log"
MN=$T/mn
_kpids=()
_bg=()
finish() {
	for p in "${_bg[@]}" "${_kpids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_bg[@]}" "${_kpids[@]}"; do wait "$p" 2>/dev/null; done
	for ns in $(ip netns list | awk -v p="$P-" 'index($1, p) == 1 {print $1}'); do
		case $ns in "$P"-central | "$P"-node*) ;; *) ip netns del "$ns" ;; esac
	done
	[ -z "${KEEP_LOGS:-}" ] || cp -r "$MN" "$KEEP_LOGS"
	"$SRC/scripts/multinode.sh" down "$MN" "$P" >/dev/null 2>&1
	rm -rf "$T"
}
trap finish EXIT
say() { echo "$*" >&3; }
"$SRC/scripts/multinode.sh" up "$MN" "$P" 3 >"$T/up.log" 2>&1 || { cat "$T/up.log" >&3; exit 1; }
# shellcheck source=/dev/null
. "$MN/env"
MN_LOG_LEVEL=info
for i in 1 2 3; do mn_kuryrd_start "$i" || { say "kuryrd $i did not start"; exit 1; }; done
mctl 1 network create mvnet --subnet 10.95.0.0/24 >/dev/null || exit 1
conf() { # NODE [EXTRA]
	printf '{"cniVersion":"1.1.0","name":"mvnet","type":"kuryr-cni","network":"mvnet","daemon_socket":"%s"%s}' \
		"$T/k$1.sock" "${2:+,$2}"
}
cnir() { # CMD NAME NODE [EXTRA]: kuryr-cni; its output
	CNI_COMMAND=$1 CNI_CONTAINERID=$P-$2 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-$2 \
		CNI_PATH=$BUILD/src "$CNI_BIN" <<<"$(conf "$3" "${4:-}")"
}
ip netns add "$P-obs"
out=$(cnir ADD obs 3) || { say "ADD obs failed: $out"; exit 1; }
ip netns add "$P-w0"
out=$(cnir ADD w0 1) || { say "ADD w0 failed: $out"; exit 1; }
WIP=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ips"][0]["address"].split("/")[0])' <<<"$out")
PORT=$(sqlite3 "$T/state1/kuryr.db" "select port from attachments where container_id = '$P-w0'")

# The same by hand: an LSP with a fixed MAC and address, a veth per move.
RMAC=0a:95:00:00:00:fe RIP=10.95.0.254
mnb lsp-add mvnet "raw-$P" -- lsp-set-addresses "raw-$P" "$RMAC $RIP"
raw_plug() { # NODE NETNS
	local ns h=rw$RANDOM
	ns=$(nsv NODE_NS "$1")
	ip link add "$h" netns "$ns" type veth peer name eth0 netns "$2"
	ip -n "$2" link set eth0 address "$RMAC"
	ip -n "$2" addr add "$RIP/24" dev eth0
	ip -n "$2" link set eth0 up
	ip -n "$ns" link set "$h" up
	ovs-vsctl --db="$(nsv NODE_OVS_DB "$1")" add-port br-int "$h" -- set Interface "$h" \
		external_ids:iface-id="raw-$P"
}
raw_unplug() { # NODE NETNS
	local h
	h=$(ovs-vsctl --db="$(nsv NODE_OVS_DB "$1")" --bare --columns=name find Interface external_ids:iface-id="raw-$P")
	ip -n "$2" link set eth0 down
	ovs-vsctl --db="$(nsv NODE_OVS_DB "$1")" del-port br-int "$h"
	ip -n "$(nsv NODE_NS "$1")" link del "$h" 2>/dev/null
}
ip netns add "$P-r0"
raw_plug 1 "$P-r0"
sleep 2

# One pinger per workload for the whole run, every 10 ms.
secs=$((MOVES * 5 + 10))
ip netns exec "$P-obs" python3 "$SRC/tests/e2e/ping-gap.py" "$WIP" "$secs" 0.01 "$T/replies-kuryr" >/dev/null &
_bg+=($!)
ip netns exec "$P-obs" python3 "$SRC/tests/e2e/ping-gap.py" "$RIP" "$secs" 0.01 "$T/replies-raw" >/dev/null &
_bg+=($!)
sleep 1
from=1 to=2
for ((i = 1; i <= MOVES; i++)); do
	ip netns add "$P-w$i"
	t0=$EPOCHREALTIME
	ip -n "$P-w$((i - 1))" link set eth0 down
	out=$(cnir ADD "w$i" "$to" "\"runtimeConfig\":{\"port\":\"$PORT\"}") || { say "move $i failed: $out"; exit 1; }
	t1=$EPOCHREALTIME
	cnir DEL "w$((i - 1))" "$from" >/dev/null
	ip netns del "$P-w$((i - 1))"
	echo "$t0 $t1" >>"$T/moves-kuryr"
	sleep 2
	ip netns add "$P-r$i"
	t0=$EPOCHREALTIME
	raw_unplug "$from" "$P-r$((i - 1))"
	raw_plug "$to" "$P-r$i"
	t1=$EPOCHREALTIME
	ip netns del "$P-r$((i - 1))"
	echo "$t0 $t1" >>"$T/moves-raw"
	sleep 2
	read -r from to <<<"$to $from"
done
sleep 1
kill "${_bg[@]}" 2>/dev/null
wait "${_bg[@]}" 2>/dev/null
_bg=()

python3 - "$T" "$MOVES" <<'PY' >&3
import statistics, sys, os
T, n = sys.argv[1], int(sys.argv[2])
def gaps(kind):
    rep = [float(l) for l in open(os.path.join(T, "replies-" + kind))]
    out = []
    for l in open(os.path.join(T, "moves-" + kind)):
        t0, t1 = map(float, l.split())
        # The longest silence from the last reply before the stop to
        # the first one of the second after it.
        w = [r for r in rep if r <= t0][-1:] + [r for r in rep if t0 < r <= t0 + 1.9]
        g = max((b - a for a, b in zip(w, w[1:])), default=float("inf"))
        if w and w[-1] < t0 + 1.4:
            g = max(g, t0 + 1.9 - w[-1])  # no reply in the last half second
        out.append((g * 1000, (t1 - t0) * 1000))
    return out
k, r = gaps("kuryr"), gaps("raw")
print("%d moves between two nodes, pinged every 10 ms from a third (ms):" % n)
print("                                         gap med   worst   step med")
for name, g in (("kuryr-c: ADD naming the port, old DEL", k), ("OVN alone: veth off one node, onto other", r)):
    gv = sorted(x[0] for x in g)
    print("%-40s %8.0f %7.0f %10.1f" % (name, statistics.median(gv), gv[-1], statistics.median(x[1] for x in g)))
print("per move:", " ".join("%.0f" % x[0] for x in k), "/", " ".join("%.0f" % x[0] for x in r))
print("ratio of the gaps' medians (kuryr-c / OVN alone): %.2f" % (statistics.median(x[0] for x in k) / statistics.median(x[0] for x in r)))
print("step: the ADD (kuryr-c), the unplug and plug (OVN alone); the gap includes OVN's own work after it")
PY
