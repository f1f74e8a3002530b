#!/bin/bash
# Nested ADD and DEL latency inside a VM (issue 10): kuryr-cni with binding
# driver nested-vlan (the container's device a VLAN sub-interface of the
# guest's eth0, its port a subport of the VM's trunk; kuryrd in the guest
# reaching OVN Northbound over the VM's management NIC), beside the
# reference macvlan + host-local plugins on the same eth0, in the same
# guest, interleaved in one run.
#
#   bench/nested-add.sh [ITERATIONS] [MODE]   (default 30 miss: the guest is emulated)
#
# MODE miss: pools off, every nested ADD is a miss (a subport created in
# OVN NB, the VLAN device, the wait for ovn-controller to report it up)
# and every DEL deletes the subport. MODE hit: the guest's pool (pools per
# trunk: its entries are subports ahead of time) is filled first, every
# ADD takes an entry (no backend call: only the VLAN device) and every DEL
# gives it back.
#
# The VM is scripts/vm.sh's (QEMU under TCG, busybox, Debian's kernel),
# set up as tests/e2e/nested.sh does. Its image carries kuryrd, kuryr-cni
# and kuryrctl of the build, the reference plugins macvlan and host-local
# from /usr/lib/cni (Go binaries linked to libc alone), and bench/mono and
# bench/noop-static (VM_BINS). One busybox sh in the guest runs the loop:
# every plugin is a plain exec from it, the same CNI_* assignments in
# front, the netconf on stdin from a here-document, stdout to /dev/null,
# by its full path. busybox sh has no $EPOCHREALTIME and its date no %N:
# each stamp is t=$(mono) (bench/mono.c, CLOCK_MONOTONIC in µs). A stamp
# costs a fork of the shell and an exec of mono, and every timed interval
# holds exactly one such cost; the loop times an empty pair of stamps each
# iteration and the report prints that overhead, the raw medians and the
# medians less the overhead. In the same loop, noop-static (bench/noop.c
# linked statically) is exec'd alike: what any exec costs in this guest.
# One untimed ADD/DEL of each plugin comes first (kuryrd finds its trunk
# on its first plug).
#
# Needs root, OVS, OVN, qemu-system-x86, linux-image-amd64,
# busybox-static, socat and containernetworking-plugins; a build in
# ./build (or KURYR_BUILD). Nothing touches the root namespace: OVS, OVN,
# the host kuryrd and the VM's tap live in lib.sh's private namespaces.
ITER=${1:-30}
MODE=${2:-miss}
case $MODE in miss) POOLS=false ;; hit) POOLS=true ;; *)
	echo "usage: $0 [ITERATIONS] [miss|hit]" >&2
	exit 2
	;;
esac
. "$(dirname "$0")/../tests/e2e/lib.sh"
for b in macvlan host-local; do
	[ -x /usr/lib/cni/$b ] || skip_all "reference plugin $b missing (containernetworking-plugins)"
done
[ -x "$BUILD/bench/mono" ] || skip_all "bench helpers not built in $BUILD/bench"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86 is not installed (scripts/deps.sh)"
ls /boot/vmlinuz-*-amd64 >/dev/null 2>&1 || skip_all "no Debian kernel to boot (linux-image-amd64)"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report
REPORT_FD=3
env_up
NET=bench-nested
export VM_EXEC_TIMEOUT=120
fail() {
	echo "nested-add: $*" >&3
	exit 1
}

ctl network create "$NET" --subnet 10.97.0.0/16 >/dev/null || fail "cannot create network $NET"
MTU=$(ctl -o json network show "$NET" | python3 -c 'import json,sys; print(json.load(sys.stdin)["mtu"])')
OUT=$(ctl -o json port create --network "$NET" --name vm1 --device-id vm-one) || fail "cannot create the VM's port"
VM_MAC=$(jget '["mac"]')
VM_IP=$(jget '["ip"]')
ctl trunk create vm1 --name vmtrunk >/dev/null || fail "cannot make the VM's port a trunk"

bins="$BUILD/bench/mono=/usr/bin/mono /usr/lib/cni/macvlan=/usr/lib/cni/macvlan"
bins+=" /usr/lib/cni/host-local=/usr/lib/cni/host-local"
NOOP=
if [ -x "$BUILD/bench/noop-static" ]; then
	bins+=" $BUILD/bench/noop-static=/usr/bin/noop"
	NOOP=/usr/bin/noop
fi
KURYR_BUILD=$BUILD VM_BINS=$bins VM_FORWARD="6641=unix:$RUN/ovn/nb.sock" \
	"$SRC/scripts/vm.sh" start "$VMDIR" "$TAP" "$VM_MAC" "$HOSTNS" >"$T/vm-start.log" 2>&1 || {
	cat "$T/vm-start.log" >&3
	fail "the VM did not boot"
}
ctl vm plug "$TAP" vm1 >/dev/null || fail "kuryrctl vm plug failed"
gx "ip link set eth0 mtu $MTU up && ip addr add $VM_IP/16 dev eth0" || fail "the guest cannot take its address"
guest_kuryrd "$VMDIR" "$(guest_conf_ovn nested-vlan "$P-guest" info 60 "enabled = $POOLS" \
	"ports_pool_min = 3" "ports_pool_batch = 3")" || fail "kuryrd did not start in the guest"
if [ "$MODE" = hit ]; then
	gx "kuryrctl pool populate $NET" >/dev/null || fail "cannot fill the guest's pool"
	for _ in $(seq 300); do
		[ "$(nbctl --bare --columns=name find Logical_Switch_Port parent_name=vm1 | grep -c .)" -ge 3 ] && break
		sleep 0.2
	done
fi

KC=$(printf '{"cniVersion":"1.0.0","name":"%s","type":"kuryr-cni","network":"%s","daemon_socket":"%s"}' \
	"$NET" "$NET" "$GSOCK")
REF=$(printf '{"cniVersion":"1.0.0","name":"ref","type":"macvlan","master":"eth0","mode":"bridge","mtu":%s,"ipam":{"type":"host-local","subnet":"10.98.0.0/16","dataDir":"/tmp/ipam"}}' "$MTU")

# The guest's loop (busybox sh). One line per iteration in /tmp/times, µs:
# an empty stamp pair (o0 o1), noop (n0 n1, 0 0 without it), then kuryr
# ADD, macvlan ADD, kuryr DEL, macvlan DEL back to back (t1..t5).
# shellcheck disable=SC2016 # expanded in the guest
LOOP='
M=/usr/bin/mono CP=/usr/lib/cni KB=/usr/bin/kuryr-cni RB=/usr/lib/cni/macvlan
: >/tmp/times
# Untimed warm-up: kuryrd looks its trunk up on the first plug.
ip netns add kw && ip netns add rw || exit 1
CNI_COMMAND=ADD CNI_CONTAINERID=kw CNI_IFNAME=eth0 CNI_NETNS=/run/netns/kw CNI_PATH=$CP $KB <<EOF >/tmp/warm.out || { echo "warm-up kuryr ADD failed"; cat /tmp/warm.out; exit 1; }
$KC
EOF
ip -n kw -d -o link show eth0 | grep -q "vlan protocol 802.1Q" || { echo "the nested device is no VLAN"; exit 1; }
CNI_COMMAND=ADD CNI_CONTAINERID=rw CNI_IFNAME=eth0 CNI_NETNS=/run/netns/rw CNI_PATH=$CP $RB <<EOF >/tmp/warm.out || { echo "warm-up macvlan ADD failed"; cat /tmp/warm.out; exit 1; }
$REF
EOF
CNI_COMMAND=DEL CNI_CONTAINERID=kw CNI_IFNAME=eth0 CNI_NETNS=/run/netns/kw CNI_PATH=$CP $KB <<EOF >/dev/null || { echo "warm-up kuryr DEL failed"; exit 1; }
$KC
EOF
CNI_COMMAND=DEL CNI_CONTAINERID=rw CNI_IFNAME=eth0 CNI_NETNS=/run/netns/rw CNI_PATH=$CP $RB <<EOF >/dev/null || { echo "warm-up macvlan DEL failed"; exit 1; }
$REF
EOF
ip netns del kw; ip netns del rw
i=1
while [ $i -le $ITER ]; do
	ip netns add k$i && ip netns add r$i || exit 1
	o0=$($M)
	o1=$($M)
	n0=0 n1=0
	if [ -n "$NOOP" ]; then
		n0=$($M)
		CNI_COMMAND=ADD CNI_CONTAINERID=n$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/k$i CNI_PATH=$CP $NOOP <<EOF >/dev/null || { echo "noop failed"; exit 1; }
$KC
EOF
		n1=$($M)
	fi
	t1=$($M)
	CNI_COMMAND=ADD CNI_CONTAINERID=k$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/k$i CNI_PATH=$CP $KB <<EOF >/dev/null || { echo "kuryr ADD $i failed"; exit 1; }
$KC
EOF
	t2=$($M)
	CNI_COMMAND=ADD CNI_CONTAINERID=r$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/r$i CNI_PATH=$CP $RB <<EOF >/dev/null || { echo "macvlan ADD $i failed"; exit 1; }
$REF
EOF
	t3=$($M)
	CNI_COMMAND=DEL CNI_CONTAINERID=k$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/k$i CNI_PATH=$CP $KB <<EOF >/dev/null || { echo "kuryr DEL $i failed"; exit 1; }
$KC
EOF
	t4=$($M)
	CNI_COMMAND=DEL CNI_CONTAINERID=r$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/r$i CNI_PATH=$CP $RB <<EOF >/dev/null || { echo "macvlan DEL $i failed"; exit 1; }
$REF
EOF
	t5=$($M)
	echo "$o0 $o1 $n0 $n1 $t1 $t2 $t3 $t4 $t5" >>/tmp/times
	ip netns del k$i
	ip netns del r$i
	i=$((i + 1))
done'
start=$SECONDS
VM_EXEC_TIMEOUT=$((ITER * 60 + 300)) gx "ITER=$ITER NOOP='$NOOP' KC='$KC' REF='$REF'
$LOOP" >"$T/loop.out" 2>&1 || {
	cat "$T/loop.out" >&3
	gx "tail -n 20 /tmp/kuryrd.log" >&3 2>&1
	fail "the guest's loop failed"
}
wall=$((SECONDS - start))
gx "cat /tmp/times" >"$T/times" || fail "cannot read the guest's times"
POOL=
if [ "$MODE" = hit ]; then
	POOL=$(gx "kuryrctl -o json pool list" | python3 -c 'import json,sys; p=[x for x in json.load(sys.stdin) if x["network"] == sys.argv[1]][0]; print("hits %d, misses %d" % (p["hits"], p["misses"]))' "$NET")
	gx "kuryrctl pool free $NET" >/dev/null
	for _ in $(seq 100); do
		[ "$(nbctl --bare --columns=name find Logical_Switch_Port parent_name=vm1 | grep -c .)" = 0 ] && break
		sleep 0.2
	done
fi
left=$(nbctl --bare --columns=name find Logical_Switch_Port parent_name=vm1 | grep -c .)
[ "$left" = 0 ] || fail "$left subports left on the VM's trunk after the DELs"

CPU=$(gx "grep -m1 'model name' /proc/cpuinfo" | sed 's/.*: //')
echo "$(date -u +%F) commit $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)," \
	"backend ovn, nested-vlan in a QEMU guest (TCG, $CPU), network MTU $MTU," \
	"mode $MODE, iterations: $ITER ($wall s), every plugin exec'd alike from one guest sh, interleaved" >&3
python3 - "$T/times" >&3 <<'PY'
import sys, statistics
med = statistics.median
def p99(v): return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
col = lambda a, b: sorted((r[b] - r[a]) / 1000 for r in rows)
ov = col(0, 1)
o = med(ov)
print(f"stamp overhead (t=$(mono) twice, nothing between): median {o:.2f} ms, p99 {p99(ov):.2f} ms;"
      " every interval below holds one")
if rows[0][2]:
    nv = col(2, 3)
    print(f"noop-static exec (same way): median {med(nv):.2f} ms raw, {med(nv) - o:.2f} ms less the stamp")
print(f"{'op':5}{'kuryr med':>11}{'p99':>9}{'macvlan med':>13}{'p99':>9}{'ratio':>8}"
      f"{'kuryr net':>11}{'macvlan net':>13}{'ratio':>8}   (ms; net = less the stamp)")
for op, k, r in (("ADD", col(4, 5), col(5, 6)), ("DEL", col(6, 7), col(7, 8))):
    km, rm = med(k), med(r)
    print(f"{op:5}{km:11.2f}{p99(k):9.2f}{rm:13.2f}{p99(r):9.2f}{km / rm:8.2f}"
          f"{km - o:11.2f}{rm - o:13.2f}{(km - o) / (rm - o):8.2f}")
PY
if [ "$MODE" = hit ]; then
	echo "(pool hits: each ADD took a parked subport, each DEL gave it back; guest pool: $POOL, the warm-up included; no subport left after pool free)" >&3
else
	echo "(pools off: every nested ADD a miss, a subport created; no subport left after the DELs)" >&3
fi
guest_kuryrd_stop "$VMDIR" >/dev/null
ctl vm unplug "$TAP" >/dev/null
"$SRC/scripts/vm.sh" stop "$VMDIR" >/dev/null 2>&1
