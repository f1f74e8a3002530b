#!/bin/bash
# ADD and DEL latency through the real kuryr-cni binary, side by side with
# the reference "bridge" + "host-local" plugins, interleaved in one run on
# the same kind of namespace (this machine is noisy: compare ratios).
#
#   bench/add-del-latency.sh [ITERATIONS]     (default 100; needs a build in ./build)
#
# Both run inside a private "host" namespace; kuryr-cni goes through
# kuryrd, OVN NB (port + IPAM), OVS and waits for ovn-installed.
ITER=${1:-100}
. "$(dirname "$0")/../tests/e2e/lib.sh"
[ -x /usr/lib/cni/bridge ] || skip_all "reference plugins missing (containernetworking-plugins)"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report
env_up
ctl network create bench --subnet 10.91.0.0/16 >/dev/null
KC=$(netconf bench 1.0.0)
REF=$(printf '{"cniVersion":"1.0.0","name":"ref","type":"bridge","bridge":"kcbench0","isGateway":true,"ipam":{"type":"host-local","subnet":"10.92.0.0/16","dataDir":"%s/ipam"}}' "$T")

ms() { python3 -c "print(f'{($2 - $1) * 1000:.3f}')" 2>/dev/null; }
declare -a kadd kdel radd rdel
for i in $(seq "$ITER"); do
	ip netns add "$P-k$i"; ip netns add "$P-r$i"
	t0=$EPOCHREALTIME
	CNI_COMMAND=ADD CNI_CONTAINERID=$P-k$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-k$i \
		"$CNI_BIN" <<<"$KC" >/dev/null || { echo "kuryr ADD failed" >&3; exit 1; }
	t1=$EPOCHREALTIME
	hostns env CNI_COMMAND=ADD CNI_CONTAINERID=$P-r$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-r$i \
		CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$REF" >/dev/null || { echo "bridge ADD failed" >&3; exit 1; }
	t2=$EPOCHREALTIME
	CNI_COMMAND=DEL CNI_CONTAINERID=$P-k$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-k$i \
		"$CNI_BIN" <<<"$KC" >/dev/null || { echo "kuryr DEL failed" >&3; exit 1; }
	t3=$EPOCHREALTIME
	hostns env CNI_COMMAND=DEL CNI_CONTAINERID=$P-r$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-r$i \
		CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$REF" >/dev/null || { echo "bridge DEL failed" >&3; exit 1; }
	t4=$EPOCHREALTIME
	echo "$t0 $t1 $t2 $t3 $t4" >>"$T/times"
	ip netns del "$P-k$i"; ip netns del "$P-r$i"
done
python3 - "$T/times" "$ITER" >&3 <<'PY'
import sys, statistics
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
def col(a, b): return sorted((r[b] - r[a]) * 1000 for r in rows)
def p99(v): return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]
k_add, r_add, k_del, r_del = col(0, 1), col(1, 2), col(2, 3), col(3, 4)
print(f"iterations: {sys.argv[2]} (interleaved, same run)")
print(f"{'':22}{'median ms':>10}{'p99 ms':>10}")
for name, v in (("kuryr-cni ADD", k_add), ("bridge+host-local ADD", r_add),
                ("kuryr-cni DEL", k_del), ("bridge+host-local DEL", r_del)):
    print(f"{name:22}{statistics.median(v):10.2f}{p99(v):10.2f}")
print(f"ratio ADD kuryr/bridge: {statistics.median(k_add) / statistics.median(r_add):.2f}")
print(f"ratio DEL kuryr/bridge: {statistics.median(k_del) / statistics.median(r_del):.2f}")
PY
