#!/bin/bash
# ADD and DEL latency through the real kuryr-cni binary, in three modes,
# each interleaved with the reference "bridge" + "host-local" plugins in the
# same run on the same kind of namespace (this machine is noisy: compare
# the ratios):
#   prewired  pool hit on a pre-wired entry (macvlan on a parked stub)
#   portonly  pool hit on a port-only entry (veth created, OVN wait)
#   miss      no pool: OVN port created, veth, OVN wait
#
#   bench/add-del-latency.sh [ITERATIONS] [MODES]   (default 200 "prewired portonly miss")
#   BACKEND=neutron bench/add-del-latency.sh ...      the same on a real neutron-server
#
# Needs a build in ./build. Everything runs inside a private "host"
# namespace (tests/e2e/lib.sh); nothing touches the root namespace.
ITER=${1:-200}
MODES=${2:-prewired portonly miss}
# Neutron creates ports one after another (~0.4 s each here): smaller
# batches keep its single API worker answering the benchmark's own calls.
BATCH=20
[ "${BACKEND:-ovn}" = neutron ] && NEUTRON=true BATCH=5
. "$(dirname "$0")/../tests/e2e/lib.sh"
[ -x /usr/lib/cni/bridge ] || skip_all "reference plugins missing (containernetworking-plugins)"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report
REPORT_FD=3
env_up

# restart_with CONF_LINES: kuryrd again, with these lines appended.
restart_with() {
	stop_kuryrd
	printf '%s\n' "$1" >>"$T/kuryr.conf"
	start_kuryrd || { echo "kuryrd did not restart" >&3; exit 1; }
}

run_mode() { # MODE INDEX
	local mode=$1 n=$2 net=bench-$1 t0 t1 t2 t3 t4
	case "$mode" in
	prewired) restart_with $'[vif_pool]\nenabled = true\nprewire = true\nports_pool_min = 20\nports_pool_update_frequency = 1\nports_pool_batch = '"$BATCH" ;;
	portonly) restart_with $'[vif_pool]\nenabled = true\nprewire = false\nports_pool_min = 20\nports_pool_update_frequency = 1\nports_pool_batch = '"$BATCH" ;;
	miss) restart_with $'[vif_pool]\nenabled = false' ;;
	*) echo "unknown mode $mode" >&3; exit 2 ;;
	esac
	ctl network create "$net" --subnet "10.$((100 + n)).0.0/16" >/dev/null
	[ "$mode" = miss ] || ctl pool populate "$net" >/dev/null
	local KC REF
	KC=$(netconf "$net" 1.0.0)
	REF=$(printf '{"cniVersion":"1.0.0","name":"ref","type":"bridge","bridge":"kcbr%s","isGateway":true,"ipam":{"type":"host-local","subnet":"10.%s.0.0/16","dataDir":"%s/ipam-%s"}}' "$n" "$((110 + n))" "$T" "$mode")
	: >"$T/times-$mode"
	for i in $(seq "$ITER"); do
		ip netns add "$P-k$i"
		ip netns add "$P-r$i"
		t0=$EPOCHREALTIME
		CNI_COMMAND=ADD CNI_CONTAINERID=$P-k$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-k$i \
			"$CNI_BIN" <<<"$KC" >/dev/null || { echo "kuryr ADD failed ($mode)" >&3; exit 1; }
		t1=$EPOCHREALTIME
		hostns env CNI_COMMAND=ADD CNI_CONTAINERID=$P-r$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-r$i \
			CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$REF" >/dev/null || { echo "bridge ADD failed" >&3; exit 1; }
		t2=$EPOCHREALTIME
		CNI_COMMAND=DEL CNI_CONTAINERID=$P-k$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-k$i \
			"$CNI_BIN" <<<"$KC" >/dev/null || { echo "kuryr DEL failed ($mode)" >&3; exit 1; }
		t3=$EPOCHREALTIME
		hostns env CNI_COMMAND=DEL CNI_CONTAINERID=$P-r$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-r$i \
			CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$REF" >/dev/null || { echo "bridge DEL failed" >&3; exit 1; }
		t4=$EPOCHREALTIME
		echo "$t0 $t1 $t2 $t3 $t4" >>"$T/times-$mode"
		ip netns del "$P-k$i"
		ip netns del "$P-r$i"
	done
	[ "$mode" = miss ] || echo "# $mode pool: $(ctl -o json pool list --network "$net" | tr -d '\n ')" >>"$T/pools"
	[ "$mode" = miss ] || ctl pool free "$net" >/dev/null
}

n=0
for mode in $MODES; do
	n=$((n + 1))
	run_mode "$mode" "$n"
done

echo "$(date -u +%F) backend ${BACKEND:-ovn}, iterations: $ITER per mode, each interleaved with the reference in the same run" >&3
python3 - "$T" $MODES >&3 <<'PY'
import sys, statistics
d = sys.argv[1]
def p99(v): return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]
print(f"{'mode':10}{'op':5}{'kuryr med':>11}{'p99':>8}{'bridge med':>12}{'p99':>8}{'ratio':>8}   (ms)")
for mode in sys.argv[2:]:
    rows = [list(map(float, l.split())) for l in open(f"{d}/times-{mode}")]
    col = lambda a, b: sorted((r[b] - r[a]) * 1000 for r in rows)
    for op, k, r in (("ADD", col(0, 1), col(1, 2)), ("DEL", col(2, 3), col(3, 4))):
        km, rm = statistics.median(k), statistics.median(r)
        print(f"{mode:10}{op:5}{km:11.2f}{p99(k):8.2f}{rm:12.2f}{p99(r):8.2f}{km / rm:8.2f}")
PY
cat "$T/pools" >&3 2>/dev/null
