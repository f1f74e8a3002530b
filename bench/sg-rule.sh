#!/bin/bash
# How long a security group rule takes to reach running containers, with
# the group's size as the variable: a group of SIZES ports (default "2
# 1000"), two of them containers (a server and a client) and the rest
# pool ports made with the group ([neutron_defaults] pod_security_groups,
# port-only pool entries: real Logical_Switch_Ports in the group, not bound
# on this node). For each size, ROUNDS times (default 5):
#   rule-add  kuryrctl security-group rule-add opens TCP 7000; the client
#             probes every 10 ms (a fresh connection each, 50 ms timeout)
#             until one is answered: "enforced" is when that probe started
#   rule-delete  the same for the rule's removal, until probes time out
# Printed: the medians of kuryrctl's own time, of the time until
# ovn-controller has the change in OpenFlow (ovn-nbctl --wait=hv sync), and
# of the time to enforced, per size, and the ratio between the largest and
# smallest size. (What lies between the last two is ovs-vswitchd: the
# userspace datapath keeps a cached flow until its revalidator runs, every
# 500 ms by default, other_config:max-revalidator.)
#
#   bench/sg-rule.sh [ROUNDS] [SIZES]
#
# Needs a build in ./build (or KURYR_BUILD). Nothing touches the root namespace.
ROUNDS=${1:-5}
SIZES=${2:-2 1000}
. "$(dirname "$0")/../tests/e2e/lib.sh"
exec 3>&1 1>"$T/tap.log"
REPORT_FD=3
env_up
PROBE=$SRC/tests/e2e/tcp-probe.py

# The client: "open" probes until STATE is seen (open or closed), timing
# from STAMP; prints milliseconds.
cat >"$T/until.py" <<'PY'
import socket, sys, time
ip, port, want, start = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline = time.time() + 30
while time.time() < deadline:
    t = time.time()
    try:
        with socket.create_connection((ip, port), timeout=0.05):
            state = "open"
    except OSError:
        state = "closed"
    if state == want:
        print(f"{(t - start) * 1000:.1f}")
        sys.exit(0)
    time.sleep(max(0, 0.01 - (time.time() - t)))
sys.exit("not %s within 30 s" % want)
PY

# measure OP STATE T0 T1: after kuryrctl (T0..T1), in parallel: how long
# until ovn-controller has the change in OpenFlow (ovn-nbctl --wait=hv
# sync), and until the client's probes see STATE. One line to times-SIZE.
measure() {
	local op=$1 state=$2 t0=$3 t1=$4 ms_enf hv
	ip netns exec "$P-cli$n" python3 "$T/until.py" "10.$((60 + n)).250.10" 7000 "$state" "$t0" \
		>"$T/enf" &
	local probe=$!
	nbctl --wait=hv sync
	hv=$EPOCHREALTIME
	wait "$probe" || { echo "rule-$op never enforced" >&3; exit 1; }
	ms_enf=$(cat "$T/enf")
	echo "$op $(python3 -c "print(f'{($t1 - $t0) * 1000:.1f} {($hv - $t0) * 1000:.1f}')") $ms_enf" \
		>>"$T/times-$size"
}

run_size() { # SIZE INDEX
	local size=$1 n=$2 net=sgb$2 sg=sgb$2-web i rid t0 t1 ms_ctl ms_enf
	stop_kuryrd
	printf '%s\n' "[neutron_defaults]" "pod_security_groups = $sg" "[vif_pool]" "enabled = true" \
		"prewire = false" "ports_pool_min = $((size - 2))" "ports_pool_batch = 100" \
		"ports_pool_update_frequency = 3600" >>"$T/kuryr.conf"
	start_kuryrd || exit 1
	ctl security-group create "$sg" >/dev/null || exit 1
	ctl network create "$net" --subnet "10.$((60 + n)).0.0/16" >/dev/null || exit 1
	# The two containers take no pool entry: they ask for their addresses.
	for c in srv cli; do
		pod "$c$n"
		cni ADD "$P-$c$n" eth0 "$NSPATH" \
			"$(netconf "$net" 1.1.0 "\"runtimeConfig\":{\"ips\":[\"10.$((60 + n)).250.$([ $c = srv ] && echo 10 || echo 11)/16\"]}")"
		[ "$RC" = 0 ] || { echo "ADD $c failed: $OUT" >&3; exit 1; }
	done
	if [ "$size" -gt 2 ]; then
		ctl pool populate "$net" >/dev/null || { echo "pool populate failed" >&3; exit 1; }
	fi
	local members
	members=$(nbctl --bare --columns=ports find Port_Group "name=pg_$(ctl -o json security-group show "$sg" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["id"].replace("-", "_"))')" | wc -w)
	ip netns exec "$P-srv$n" python3 "$PROBE" serve 7000 >/dev/null 2>&1 &
	local srv=$!
	sleep 0.3
	: >"$T/times-$size"
	for ((i = 1; i <= ROUNDS; i++)); do
		t0=$EPOCHREALTIME
		OUT=$(ctl -o json security-group rule-add "$sg" --protocol tcp --port 7000) || exit 1
		t1=$EPOCHREALTIME
		rid=$(jget '["id"]')
		measure add open "$t0" "$t1"
		t0=$EPOCHREALTIME
		ctl security-group rule-delete "$rid" || exit 1
		t1=$EPOCHREALTIME
		measure delete closed "$t0" "$t1"
	done
	echo "$size $members" >>"$T/sizes"
	kill "$srv" 2>/dev/null
	wait "$srv" 2>/dev/null
	for c in srv cli; do cni DEL "$P-$c$n" eth0 "/run/netns/$P-$c$n" "$(netconf "$net")"; done
	ctl pool free "$net" >/dev/null
}

n=0
for size in $SIZES; do
	n=$((n + 1))
	run_size "$size" "$n"
done

echo "$(date -u +%F) commit $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)," \
	"backend ovn, $ROUNDS rounds per size" >&3
python3 - "$T" >&3 <<'PY'
import sys, statistics
d = sys.argv[1]
med = statistics.median
sizes = [l.split() for l in open(f"{d}/sizes")]
print(f"{'ports in group':>15}{'op':>8}{'kuryrctl med':>14}{'in OpenFlow':>13}{'enforced med':>14}{'max':>8}   (ms)")
res = {}
for size, members in sizes:
    rows = [l.split() for l in open(f"{d}/times-{size}")]
    for op in ("add", "delete"):
        c = [float(r[1]) for r in rows if r[0] == op]
        h = [float(r[2]) for r in rows if r[0] == op]
        e = [float(r[3]) for r in rows if r[0] == op]
        res[(size, op)] = med(e)
        print(f"{members:>15}{op:>8}{med(c):14.1f}{med(h):13.1f}{med(e):14.1f}{max(e):8.1f}")
if len(sizes) > 1:
    lo, hi = sizes[0][0], sizes[-1][0]
    for op in ("add", "delete"):
        print(f"rule-{op}: enforced {res[(hi, op)] / res[(lo, op)]:.2f}x slower at {sizes[-1][1]} ports than at {sizes[0][1]}")
PY
