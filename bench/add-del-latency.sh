#!/bin/bash
# ADD and DEL latency through the real kuryr-cni binary, in three modes,
# each interleaved with the reference "bridge" + "host-local" plugins in the
# same run on the same kind of namespace (this machine is noisy: compare
# the ratios):
#   prewired  pool hit on a pre-wired entry (macvlan on a parked stub)
#   portonly  pool hit on a port-only entry (veth created, OVN wait)
#   miss      no pool: OVN port created, veth, OVN wait
#   MODE-policy  the same with a security group (TCP 8080 in) and a QoS
#             policy (2000 kbps egress) on every port: the node's
#             [neutron_defaults] pod_security_groups / pod_qos_policy, so
#             pool ports are made with them too
#   MODE-ds   the same on a dual-stack network (an IPv4 /16 and an IPv6
#             /64; backend ovn), the reference configured dual-stack too
#             (host-local with an IPv4 and an IPv6 range)
#
#   bench/add-del-latency.sh [ITERATIONS] [MODES]   (default 200 "prewired portonly miss")
#   BACKEND=neutron bench/add-del-latency.sh ...      the same on a real neutron-server
#
# Every plugin is invoked the same way: a plain fork+exec from one bash,
# the same CNI_* variables as assignments in front of the command, the
# netconf as a here-string on stdin, stdout to /dev/null, and nothing but
# the plugin between the two $EPOCHREALTIME stamps. That bash runs inside
# the private "host" namespace (tests/e2e/lib.sh, entered once with
# nsenter for the whole loop, not per call): the bridge plugin creates its
# bridge and gateway address in the netns it runs in, and there they are
# harmless and go with the namespace; kuryr-cni only connects to kuryrd's
# unix socket by path, so its netns does not matter to it. No wrapper
# (nsenter, env) sits in front of any plugin, so none pays for one.
#
# In the same run, the physical floor of a pre-wired ADD (mode prewired):
#   noop   bench/noop.c, a plugin that reads stdin and exits, exec'd exactly
#          like the plugins: what any plugin pays before doing anything;
#   floor  bench/floor.c, a warm process making the pod's device as kuryrd
#          does (passthru macvlan on a parked stub, born in a fresh netns,
#          MAC, MTU, IPv4 address, up, default route), driven once per
#          iteration over a netns the loop made.
# floor = median(noop) + median(floor); kuryr's pre-wired ADD median is
# printed as a multiple of it beside the ratio to the reference. The noop
# is linked as kuryr-cni is: bench/noop dynamically, bench/noop-static
# (exec'd too where a static libc exists) when the build linked kuryr-cni
# statically, so a faster exec of our own never counts as less work.
#
# Needs a build in ./build (or KURYR_BUILD). Nothing touches the root namespace.
ITER=${1:-200}
MODES=${2:-prewired portonly miss}
# Neutron creates ports one after another (~0.4 s each here): smaller
# batches keep its single API worker answering the benchmark's own calls.
BATCH=20
[ "${BACKEND:-ovn}" = neutron ] && NEUTRON=true BATCH=5
. "$(dirname "$0")/../tests/e2e/lib.sh"
[ -x /usr/lib/cni/bridge ] || skip_all "reference plugins missing (containernetworking-plugins)"
NOOP_BIN=$BUILD/bench/noop
FLOOR_BIN=$BUILD/bench/floor
if [ ! -x "$NOOP_BIN" ] || [ ! -x "$FLOOR_BIN" ]; then skip_all "bench helpers not built in $BUILD/bench"; fi
# Which noop the floor takes: the one linked as kuryr-cni is.
CNI_LINK=dynamic
ldd "$CNI_BIN" >/dev/null 2>&1 || CNI_LINK=static
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report
REPORT_FD=3
env_up

# restart_with CONF_LINES: kuryrd again, with these lines appended.
restart_with() {
	stop_kuryrd
	printf '%s\n' "$1" >>"$T/kuryr.conf"
	start_kuryrd || { echo "kuryrd did not restart" >&3; exit 1; }
}

# timed_loop MODE ITER P T CNI_BIN NOOP NOOP_STATIC FLOOR KC REF: the
# timed iterations, run by a bash of their own inside the host netns (see
# the header). Appends one line per iteration to $T/times-MODE of
# $EPOCHREALTIME stamps: two around noop, two around noop-static (0 0 if
# none or not prewired), then five around kuryr ADD, bridge ADD, kuryr DEL
# and bridge DEL back to back; then (prewired) floor's line.
timed_loop() {
	set -u
	local mode=$1 iter=$2 P=$3 T=$4 kc_bin=$5 noop=$6 noop_static=$7 floor=$8 KC=$9 REF=${10}
	local i f n0 n1 s0 s1 t1 t2 t3 t4 t5 cp=/usr/lib/cni with_floor=false
	if [ "$mode" = prewired ]; then
		coproc FLOOR { exec "$floor" -; }
		with_floor=true
	fi
	for ((i = 1; i <= iter; i++)); do
		ip netns add "$P-k$i" && ip netns add "$P-r$i" || exit 1
		if $with_floor; then ip netns add "$P-f$i" || exit 1; fi
		n0=$EPOCHREALTIME
		CNI_COMMAND=ADD CNI_CONTAINERID=$P-n$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-k$i CNI_PATH=$cp \
			"$noop" <<<"$KC" >/dev/null || { echo "noop failed" >&3; exit 1; }
		n1=$EPOCHREALTIME
		s0=0 s1=0
		if $with_floor && [ -x "$noop_static" ]; then
			s0=$EPOCHREALTIME
			CNI_COMMAND=ADD CNI_CONTAINERID=$P-s$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-k$i CNI_PATH=$cp \
				"$noop_static" <<<"$KC" >/dev/null || { echo "noop-static failed" >&3; exit 1; }
			s1=$EPOCHREALTIME
		fi
		t1=$EPOCHREALTIME
		CNI_COMMAND=ADD CNI_CONTAINERID=$P-k$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-k$i CNI_PATH=$cp \
			"$kc_bin" <<<"$KC" >/dev/null || { echo "kuryr ADD failed ($mode)" >&3; exit 1; }
		t2=$EPOCHREALTIME
		CNI_COMMAND=ADD CNI_CONTAINERID=$P-r$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-r$i CNI_PATH=$cp \
			/usr/lib/cni/bridge <<<"$REF" >/dev/null || { echo "bridge ADD failed" >&3; exit 1; }
		t3=$EPOCHREALTIME
		CNI_COMMAND=DEL CNI_CONTAINERID=$P-k$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-k$i CNI_PATH=$cp \
			"$kc_bin" <<<"$KC" >/dev/null || { echo "kuryr DEL failed ($mode)" >&3; exit 1; }
		t4=$EPOCHREALTIME
		CNI_COMMAND=DEL CNI_CONTAINERID=$P-r$mode$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-r$i CNI_PATH=$cp \
			/usr/lib/cni/bridge <<<"$REF" >/dev/null || { echo "bridge DEL failed" >&3; exit 1; }
		t5=$EPOCHREALTIME
		f=
		if $with_floor; then
			echo "/run/netns/$P-f$i" >&"${FLOOR[1]}"
			read -r -t 10 f <&"${FLOOR[0]}" || { echo "floor failed" >&3; exit 1; }
			ip netns del "$P-f$i"
		fi
		echo "$n0 $n1 $s0 $s1 $t1 $t2 $t3 $t4 $t5 $f" >>"$T/times-$mode"
		ip netns del "$P-k$i"
		ip netns del "$P-r$i"
	done
	if $with_floor; then
		local wfd=${FLOOR[1]}
		exec {wfd}>&- # EOF: floor removes its holding netns and exits
		wait "$FLOOR_PID" || { echo "floor failed" >&3; exit 1; }
	fi
	return 0
}

run_mode() { # MODE INDEX
	local mode=$1 n=$2 net=bench-$1 defaults base=${1%-ds} ds=false
	[ "$base" != "$mode" ] && ds=true
	# Policies on every port (MODE-policy), or none.
	defaults=$'[neutron_defaults]\npod_security_groups =\npod_qos_policy ='
	if [[ $base == *-policy ]]; then
		defaults=$'[neutron_defaults]\npod_security_groups = bench-web\npod_qos_policy = bench-slow'
		ctl security-group show bench-web >/dev/null 2>&1 || {
			ctl security-group create bench-web >/dev/null &&
				ctl security-group rule-add bench-web --protocol tcp --port 8080 >/dev/null &&
				ctl qos create bench-slow --max-kbps 2000 --max-burst-kbps 200 >/dev/null
		} || { echo "cannot make the policies" >&3; exit 1; }
	fi
	case "${base%-policy}" in
	prewired) restart_with $'[vif_pool]\nenabled = true\nprewire = true\nports_pool_min = 20\nports_pool_update_frequency = 1\nports_pool_batch = '"$BATCH"$'\n'"$defaults" ;;
	portonly) restart_with $'[vif_pool]\nenabled = true\nprewire = false\nports_pool_min = 20\nports_pool_update_frequency = 1\nports_pool_batch = '"$BATCH"$'\n'"$defaults" ;;
	miss) restart_with $'[vif_pool]\nenabled = false\n'"$defaults" ;;
	*) echo "unknown mode $mode" >&3; exit 2 ;;
	esac
	local KC REF v6=() ranges
	$ds && v6=(--subnet "fd00:$((100 + n))::/64")
	ctl network create "$net" --subnet "10.$((100 + n)).0.0/16" "${v6[@]}" >/dev/null ||
		{ echo "cannot create network $net" >&3; exit 1; }
	[ "${base%-policy}" = miss ] || ctl pool populate "$net" >/dev/null
	KC=$(netconf "$net" 1.0.0)
	ranges=$(printf '[[{"subnet":"10.%s.0.0/16"}]' "$((110 + n))")
	$ds && ranges+=$(printf ',[{"subnet":"fd00:%s::/64"}]' "$((110 + n))")
	REF=$(printf '{"cniVersion":"1.0.0","name":"ref","type":"bridge","bridge":"kcbr%s","isGateway":true,"ipam":{"type":"host-local","ranges":%s],"dataDir":"%s/ipam-%s"}}' "$n" "$ranges" "$T" "$mode")
	: >"$T/times-$mode"
	hostns bash -c "$(declare -f timed_loop); timed_loop \"\$@\"" timed_loop \
		"$mode" "$ITER" "$P" "$T" "$CNI_BIN" "$NOOP_BIN" "$BUILD/bench/noop-static" "$FLOOR_BIN" "$KC" "$REF" || exit 1
	[ "${base%-policy}" = miss ] || echo "# $mode pool: $(ctl -o json pool list --network "$net" | tr -d '\n ')" >>"$T/pools"
	[ "${base%-policy}" = miss ] || ctl pool free "$net" >/dev/null
}

n=0
for mode in $MODES; do
	n=$((n + 1))
	run_mode "$mode" "$n"
done

echo "$(date -u +%F) commit $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)," \
	"backend ${BACKEND:-ovn}, iterations: $ITER per mode, every plugin exec'd alike, interleaved in one run" >&3
python3 - "$T" "$CNI_LINK" $MODES >&3 <<'PY'
import sys, statistics
d, link = sys.argv[1], sys.argv[2]
del sys.argv[2]
med = statistics.median
def p99(v): return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]
floor = None
if "prewired" in sys.argv[2:]:
    rows = [l.split() for l in open(f"{d}/times-prewired")]
    noop = sorted((float(r[1]) - float(r[0])) * 1000 for r in rows)
    static = sorted((float(r[3]) - float(r[2])) * 1000 for r in rows if float(r[2]) > 0)
    steps = [sorted(float(r[9 + i]) / 1000 for r in rows) for i in range(7)]
    if link == "static" and not static:
        sys.exit("kuryr-cni is linked statically but bench/noop-static was not built")
    exec_ms = med(static) if link == "static" else med(noop)
    floor = exec_ms + med(steps[0])
print(f"{'mode':17}{'op':5}{'kuryr med':>11}{'p99':>8}{'bridge med':>12}{'p99':>8}{'ratio':>8}"
      f"{'x floor':>9}{'noop med':>10}   (ms)")
for mode in sys.argv[2:]:
    rows = [list(map(float, l.split()[:9])) for l in open(f"{d}/times-{mode}")]
    col = lambda a, b: sorted((r[b] - r[a]) * 1000 for r in rows)
    nm = med(col(0, 1))
    for op, k, r in (("ADD", col(4, 5), col(5, 6)), ("DEL", col(6, 7), col(7, 8))):
        km, rm = med(k), med(r)
        xf = f"{km / floor:9.2f}" if floor and mode == "prewired" and op == "ADD" else f"{'-':>9}"
        print(f"{mode:17}{op:5}{km:11.2f}{p99(k):8.2f}{rm:12.2f}{p99(r):8.2f}{km / rm:8.2f}{xf}{nm:10.2f}")
if floor:
    ex, name = (static, "noop-static") if link == "static" else (noop, "noop")
    print(f"floor of a pre-wired ADD = {name} exec {med(ex):.2f} (p99 {p99(ex):.2f}; kuryr-cni is linked {link})"
          f" + macvlan setup in a warm process {med(steps[0]):.2f} (p99 {p99(steps[0]):.2f})"
          f" = {floor:.2f} ms; target: kuryr <= 1.30 x floor")
    if static:
        print(f"  (noop exec {med(noop):.2f} ms dynamic, {med(static):.2f} ms static)")
    names = ("create", "socket", "getlink", "addr", "up", "route")
    print("  macvlan setup steps, median us: " +
          ", ".join(f"{n} {med(steps[1 + i]) * 1000:.0f}" for i, n in enumerate(names)))
PY
cat "$T/pools" >&3 2>/dev/null
