#!/bin/bash
# Nesting against an overlay built inside the VMs (issue 10): the claim
# that nested containers avoid double encapsulation, measured. Two VMs
# (scripts/vm.sh, QEMU under TCG), each on its own tap and port of one OVN
# network, one container in each, and between the two containers:
#   nested   kuryr-cni with binding driver nested-vlan in each guest (each
#            VM's port a trunk's parent, kuryrd in each guest over its
#            management NIC): each container's device a VLAN
#            sub-interface of the guest's eth0, on the network's MTU;
#   overlay  what flannel's vxlan backend builds over the VMs' own network:
#            in each guest vxlan0 (VNI 42, remote the other VM, dstport
#            4789, dev eth0), a veth into the container netns, the guest
#            routing between them (ip_forward), the other guest's
#            container subnet routed via its vxlan0 address; every MTU on
#            the path is eth0's less the 50 bytes of VXLAN's headers.
# In one run, ROUNDS rounds, each measuring nested then overlay
# (interleaved, so the machine's load falls on both alike): TCP throughput
# over one connection (bench/tcp-pump.c send/sink, MB MiB from A's
# container to B's), TCP request/response round trips of one byte
# (tcp-pump rr/echo, RR of them), and ICMP round trips (busybox ping -c
# PINGS). Printed: the MTU each container is left with, medians over the
# rounds and the ratios nested / overlay. The VXLAN device's counters
# show the overlay's traffic took it and the nested traffic did not.
#
#   bench/nested-vs-overlay.sh [ROUNDS] [MB] [RR] [PINGS]   (default 3 20 300 20)
#
# Both VMs are on one host and one OVN chassis: between them OVN adds no
# tunnel of its own, so this compares one encapsulation (VXLAN in the
# guests) with none; across hypervisors the overlay's frames would be
# carried in Geneve as well, the nested ones in Geneve only.
#
# Needs root, OVS, OVN, qemu-system-x86, linux-image-amd64,
# busybox-static, socat; a build in ./build (or KURYR_BUILD) with
# bench/tcp-pump. Nothing touches the root namespace: OVS, OVN, the taps
# and the VMs' traffic stay in lib.sh's private namespaces and the guests.
ROUNDS=${1:-3}
MB=${2:-20}
RR=${3:-300}
PINGS=${4:-20}
. "$(dirname "$0")/../tests/e2e/lib.sh"
[ -x "$BUILD/bench/tcp-pump" ] || skip_all "bench helpers not built in $BUILD/bench"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86 is not installed (scripts/deps.sh)"
ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || skip_all "no Debian kernel to boot (linux-image-amd64)"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report
REPORT_FD=3
env_up
# lib.sh's env_down stops the VM in $T/vm; the second one is ours.
bench_down() {
	local rc=$?
	[ -d "$T/vm2" ] && "$SRC/scripts/vm.sh" stop "$T/vm2" >/dev/null 2>&1
	(exit "$rc")
	env_down
}
trap bench_down EXIT
NET=bench-nvo
export VM_EXEC_TIMEOUT=120
# gx A|B CMD: shell text run in VM A ($T/vm) or B ($T/vm2).
gx() {
	local dir=$T/vm
	[ "$1" = B ] && dir=$T/vm2
	"$SRC/scripts/vm.sh" exec "$dir" "$2"
}
fail() {
	echo "nested-vs-overlay: $*" >&3
	exit 1
}

ctl network create "$NET" --subnet 10.96.0.0/16 >/dev/null || fail "cannot create network $NET"
MTU=$(ctl -o json network show "$NET" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mtu"])')
declare -A VM_IP OVL_IP
for v in A B; do
	OUT=$(ctl -o json port create --network "$NET" --name "vm$v" --device-id "vm-$v") ||
		fail "cannot create VM $v's port"
	VM_IP[$v]=$(jget '["ip"]')
	mac=$(jget '["mac"]')
	ctl trunk create "vm$v" --name "trunk$v" >/dev/null || fail "cannot make VM $v's port a trunk"
	dir=$T/vm
	[ "$v" = B ] && dir=$T/vm2
	KURYR_BUILD=$BUILD VM_BINS="$BUILD/bench/tcp-pump=/usr/bin/tcp-pump" VM_MODULES="vxlan veth" \
		VM_FORWARD="6641=unix:$RUN/ovn/nb.sock" \
		"$SRC/scripts/vm.sh" start "$dir" "$P-tap$v" "$mac" "$HOSTNS" >"$T/vm-start.log" 2>&1 || {
		cat "$T/vm-start.log" >&3
		fail "VM $v did not boot"
	}
	ctl vm plug "$P-tap$v" "vm$v" >/dev/null || fail "kuryrctl vm plug failed for VM $v"
	gx $v "ip link set eth0 mtu $MTU up && ip addr add ${VM_IP[$v]}/16 dev eth0" ||
		fail "guest $v cannot take its address"
	guest_kuryrd "$dir" "$(guest_conf_ovn nested-vlan "$P-guest$v" info 60)" || fail "kuryrd did not start in guest $v"
done

# ---- nested: one container (netns n) per guest through kuryr-cni ----
declare -A NEST_IP
KC=$(printf '{"cniVersion":"1.0.0","name":"%s","type":"kuryr-cni","network":"%s","daemon_socket":"%s"}' \
	"$NET" "$NET" "$GSOCK")
for v in A B; do
	OUT=$(gx $v "ip netns add n && ip -n n link set lo up && printf '%s' '$KC' |
		CNI_COMMAND=ADD CNI_CONTAINERID=nest$v CNI_IFNAME=eth0 CNI_NETNS=/run/netns/n \
		CNI_PATH=/usr/bin kuryr-cni") || fail "nested ADD in guest $v: $OUT"
	NEST_IP[$v]=$(jget '["ips"][0]["address"]')
	NEST_IP[$v]=${NEST_IP[$v]%/*}
	gx $v "ip -n n -d -o link show eth0" | grep -q "vlan protocol 802.1Q" ||
		fail "guest $v: the nested container's device is no VLAN"
done

# ---- overlay: vxlan0 between the guests, a veth into netns o ----
# Overlay subnets as flannel hands them out: 10.250.0.0/24 for the
# vxlan0 addresses, 10.251.N.0/24 for the containers of node N.
declare -A N=([A]=1 [B]=2) OTHER=([A]=B [B]=A)
for v in A B; do
	o=${OTHER[$v]}
	OVL_IP[$v]=10.251.${N[$v]}.2
	gx $v "echo 1 >/proc/sys/net/ipv4/ip_forward &&
		ip link add vxlan0 type vxlan id 42 remote ${VM_IP[$o]} dstport 4789 dev eth0 &&
		ip addr add 10.250.0.${N[$v]}/24 dev vxlan0 && ip link set vxlan0 up &&
		mtu=\$(cat /sys/class/net/vxlan0/mtu) &&
		ip netns add o && ip -n o link set lo up &&
		ip link add vo type veth peer name oc netns o &&
		ip link set vo mtu \$mtu up && ip addr add 10.251.${N[$v]}.1/24 dev vo &&
		ip -n o link set oc name eth0 && ip -n o link set eth0 mtu \$mtu up &&
		ip -n o addr add ${OVL_IP[$v]}/24 dev eth0 &&
		ip -n o route add default via 10.251.${N[$v]}.1 &&
		ip route add 10.251.${N[$o]}.0/24 via 10.250.0.${N[$o]} dev vxlan0" >"$T/ovl.out" 2>&1 || {
		cat "$T/ovl.out" >&3
		fail "cannot build the overlay in guest $v"
	}
done

mtu_of() { gx "$1" "cat /sys/class/net/eth0/mtu; ip netns exec $2 cat /sys/class/net/eth0/mtu" | tail -n 1; }
MTU_NEST=$(mtu_of A n)
MTU_OVL=$(mtu_of A o)
vx_tx() { gx A "cat /sys/class/net/vxlan0/statistics/tx_bytes" | tr -d '\r\n'; }
# Both paths answer before anything is timed (ARP, OVN's flows).
gx A "ip netns exec n ping -c 2 -W 5 ${NEST_IP[B]}" >/dev/null || fail "nested A cannot reach nested B"
gx A "ip netns exec o ping -c 2 -W 5 ${OVL_IP[B]}" >/dev/null || fail "overlay A cannot reach overlay B"

# measure CASE NS PEER_IP: one round's figures for one case, appended to
# $T/results as "CASE bytes_per_s rr_median_us rr_p99_us ping_avg_ms vx_tx_delta".
port=5100
measure() {
	local c=$1 ns=$2 ip=$3 tx0 out out2 rr ping
	tx0=$(vx_tx)
	port=$((port + 1))
	out=$(gx B "ip netns exec $ns tcp-pump sink $port >/tmp/sink.out 2>&1 </dev/null 3>&- &" 2>&1) ||
		{ echo "starting the sink ($c): $out" >&3; return 1; }
	out=$(VM_EXEC_TIMEOUT=600 gx A "ip netns exec $ns tcp-pump send $ip $port $MB" 2>&1) ||
		{ echo "send ($c): $out" >&3; return 1; }
	port=$((port + 1))
	rr=$(gx B "ip netns exec $ns tcp-pump echo $port >/tmp/echo.out 2>&1 </dev/null 3>&- &" 2>&1) ||
		{ echo "starting the echo server ($c): $rr" >&3; return 1; }
	rr=$(VM_EXEC_TIMEOUT=600 gx A "ip netns exec $ns tcp-pump rr $ip $port $RR" 2>&1) ||
		{ echo "rr ($c): $rr" >&3; return 1; }
	out2=$(gx A "ip netns exec $ns ping -c $PINGS $ip" 2>&1)
	ping=$(sed -n 's#.*min/avg/max = [^/]*/\([^/]*\)/.*#\1#p' <<<"$out2")
	[ -n "$ping" ] || { echo "ping ($c) failed: $out2" >&3; return 1; }
	echo "$c $(cut -d' ' -f3 <<<"$out") $(cut -d' ' -f2,3 <<<"$rr") $ping $(($(vx_tx) - tx0))" >>"$T/results"
}
# crashes: how many times ovs-vswitchd has crashed and been restarted
# (3.1.0's userspace conntrack has been seen to abort here after a few
# minutes on an assertion in conn_update_state(); scripts/ovn.sh runs it
# under --monitor).
crashes() { grep -c 'crashes: pid' "$RUN/ovs/ovs-vswitchd.log" 2>/dev/null || true; }
# debug NS: what the guests know when a round fails.
debug() {
	[ "$(crashes)" = 0 ] ||
		echo "--- ovs-vswitchd crashed: $(grep -m1 -E 'EMER' "$RUN/ovs/ovs-vswitchd.log")" >&3
	for v in A B; do
		echo "--- guest $v: ip neigh in $1; ip link in $1; the end of kuryrd's log"
		gx $v "ip -n $1 neigh; ip -n $1 -s -o link show eth0; tail -n 5 /tmp/kuryrd.log"
	done >&3 2>&1
	{
		echo "--- NB: the nested ports"
		nbctl --columns=name,parent_name,tag,up,addresses find Logical_Switch_Port 'parent_name!=[]'
	} >&3 2>&1
}
start=$SECONDS
# A round during which ovs-vswitchd crashed measured its restart, not a
# path: it is dropped and run again (at most ROUNDS times in all).
dropped=0
for ((r = 1; r <= ROUNDS; r++)); do
	c0=$(crashes)
	cp "$T/results" "$T/results.before" 2>/dev/null || : >"$T/results.before"
	failed=
	measure nested n "${NEST_IP[B]}" || failed=nested
	[ -n "$failed" ] || measure overlay o "${OVL_IP[B]}" || failed=overlay
	if [ "$(crashes)" != "$c0" ]; then
		echo "round $r: ovs-vswitchd crashed and was restarted during it; dropped" \
			"${failed:+(the $failed case failed)}" >&3
		mv "$T/results.before" "$T/results"
		dropped=$((dropped + 1))
		[ "$dropped" -le "$ROUNDS" ] || fail "ovs-vswitchd crashed in $dropped rounds"
		r=$((r - 1))
		# Established connections die with the lost conntrack state.
		sleep 2
	elif [ -n "$failed" ]; then
		debug "${failed:0:1}"
		fail "round $r: $failed failed"
	fi
done
wall=$((SECONDS - start))

echo "$(date -u +%F) commit $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)," \
	"backend ovn, two QEMU guests (TCG) on one OVN network (MTU $MTU), $ROUNDS rounds ($wall s; $dropped dropped for an ovs-vswitchd crash)" \
	"interleaved nested/overlay; per round: $MB MiB over one TCP connection, $RR TCP round trips," \
	"ping -c $PINGS" >&3
python3 - "$T/results" "$MTU_NEST" "$MTU_OVL" "$MB" >&3 <<'PY'
import sys, statistics
med = statistics.median
res, mtu_n, mtu_o, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rows = {"nested": [], "overlay": []}
for l in open(res):
    c, *v = l.split()
    rows[c].append(list(map(float, v)))
def m(c, i): return med(r[i] for r in rows[c])
print(f"{'':34}{'nested':>12}{'overlay':>12}{'nested/overlay':>16}")
print(f"{'container MTU (bytes)':34}{mtu_n:12d}{mtu_o:12d}{mtu_n / mtu_o:16.3f}")
thr = [(c, m(c, 0) * 8 / 1e6) for c in rows]
print(f"{'TCP throughput (Mbit/s, median)':34}{thr[0][1]:12.1f}{thr[1][1]:12.1f}{thr[0][1] / thr[1][1]:16.2f}")
for label, i in (("TCP 1-byte round trip (us, median)", 1), ("  its p99 (us, median of rounds)", 2),
                 ("ping round trip (ms, median avg)", 3)):
    a, b = m("nested", i), m("overlay", i)
    print(f"{label:34}{a:12.1f}{b:12.1f}{a / b:16.2f}" if i < 3 else f"{label:34}{a:12.3f}{b:12.3f}{a / b:16.2f}")
print("per round, Mbit/s: nested " + ", ".join(f"{r[0] * 8 / 1e6:.1f}" for r in rows["nested"]) +
      "; overlay " + ", ".join(f"{r[0] * 8 / 1e6:.1f}" for r in rows["overlay"]))
print(f"vxlan0 tx bytes in guest A per round: nested {', '.join(str(int(r[4])) for r in rows['nested'])};"
      f" overlay {', '.join(str(int(r[4])) for r in rows['overlay'])} (each transfer {mb} MiB = {mb << 20} bytes)")
PY

for v in A B; do
	gx $v "printf '%s' '$KC' | CNI_COMMAND=DEL CNI_CONTAINERID=nest$v CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/n CNI_PATH=/usr/bin kuryr-cni" >/dev/null || fail "nested DEL in guest $v"
	dir=$T/vm
	[ "$v" = B ] && dir=$T/vm2
	guest_kuryrd_stop "$dir" >/dev/null
	ctl vm unplug "$P-tap$v" >/dev/null
	"$SRC/scripts/vm.sh" stop "$dir" >/dev/null 2>&1
done
