#!/bin/bash
# The main job, on the embedded default (local OVS + OVN, no OpenStack):
# install what is needed, build, start Open vSwitch (userspace datapath),
# OVN and kuryrd, create a network, attach three containers (network
# namespaces) through the real kuryr-cni from a pool of pre-wired ports, boot
# a real VM (QEMU) whose tap is plugged for a port on the same network, with
# a container nested inside it (kuryrd in the guest, binding nested-vlan:
# a VLAN subport of the VM's trunk), and prove the containers, the VM and
# the nested container reach each other; then a security group
# keeps a container's port closed, and a router takes a container out to
# an "outside world" (netns kc-demo-out behind the provider bridge br-ex).
#
#   scripts/demo.sh         set everything up and run the checks (re-runnable)
#   scripts/demo.sh down    remove everything the demo made
#
# Runs as root. Everything it makes is named kc-demo*; services live in
# /run/kuryr-c and are stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
RUN=/run/kuryr-c
SOCK=/run/kuryr/kuryr.sock
NET=demo
SUBNET=10.88.0.0/24
B=$SRC/build/src
. scripts/lib.sh

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }

down() {
	if [ -S "$SOCK" ] && [ -x "$B/kuryrctl" ]; then
		for i in 1 2 3; do
			CNI_COMMAND=DEL CNI_CONTAINERID=kc-demo-$i CNI_IFNAME=eth0 \
				CNI_NETNS=/run/netns/kc-demo-$i "$B/kuryr-cni" <<<"$(conf)" >/dev/null 2>&1 || true
		done
		CNI_COMMAND=DEL CNI_CONTAINERID=kc-demo-web CNI_IFNAME=eth0 \
			CNI_NETNS=/run/netns/kc-demo-web "$B/kuryr-cni" <<<"$(conf)" >/dev/null 2>&1 || true
		"$B/kuryrctl" router set demo-router --no-external-gateway >/dev/null 2>&1 || true
		"$B/kuryrctl" router remove-subnet demo-router "$NET" >/dev/null 2>&1 || true
		"$B/kuryrctl" router delete demo-router >/dev/null 2>&1 || true
		"$B/kuryrctl" network delete demo-ext >/dev/null 2>&1 || true
		"$B/kuryrctl" vm unplug kc-demo-vm >/dev/null 2>&1 || true
		"$B/kuryrctl" port delete demo-vm >/dev/null 2>&1 || true
		"$B/kuryrctl" pool free >/dev/null 2>&1 || true
		"$B/kuryrctl" security-group delete demo-web >/dev/null 2>&1 || true
		"$B/kuryrctl" network delete "$NET" >/dev/null 2>&1 || true
	fi
	stop_pid "$RUN/kuryrd.pid"
	if [ -d "$RUN/vm" ]; then scripts/vm.sh stop "$RUN/vm"; fi
	[ -n "${TCP_PID:-}" ] && kill "$TCP_PID" 2>/dev/null
	ip link del kc-demo-vm 2>/dev/null || true
	ip link del kc-demo-up 2>/dev/null || true
	for ns in kc-demo-hold kc-demo-1 kc-demo-2 kc-demo-3 kc-demo-web kc-demo-out; do
		[ -e "/run/netns/$ns" ] || continue
		ip netns del "$ns" || echo "demo: netns $ns is left behind" >&2
	done
	[ -d "$RUN" ] && scripts/ovn.sh down "$RUN" || true
}

conf() { printf '{"cniVersion":"1.1.0","name":"%s","type":"kuryr-cni","network":"%s"}' "$NET" "$NET"; }

if [ "${1:-up}" = down ]; then
	down
	say "demo removed"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "run as root"

say "installing dependencies (Debian packages) and building"
deps_and_build

down
say "starting Open vSwitch (userspace datapath) and OVN in $RUN"
scripts/ovn.sh up "$RUN" 2>/dev/null
cat >"$RUN/kuryr.conf" <<CONF
[DEFAULT]
backend = ovn
[ovn]
nb_connection = unix:$RUN/ovn/nb.sock
[ovs]
db_connection = unix:$RUN/ovs/db.sock
bridge = br-int
bridge_mappings = physnet1:br-ex
[daemon]
socket = $SOCK
state_dir = $RUN/state
metrics_address = 127.0.0.1:9655
[vif_pool]
enabled = true
prewire = true
ports_pool_min = 5
ports_pool_batch = 5
holding_netns = kc-demo-hold
CONF
say "starting kuryrd (log: $RUN/kuryrd.log)"
"$B/kuryrd" -c "$RUN/kuryr.conf" >"$RUN/kuryrd.log" 2>&1 &
echo $! >"$RUN/kuryrd.pid"
for _ in $(seq 100); do "$B/kuryrctl" status >/dev/null 2>&1 && break; sleep 0.05; done
"$B/kuryrctl" status >/dev/null || die "kuryrd did not start: $(tail -3 "$RUN/kuryrd.log")"

say "creating network $NET ($SUBNET)"
"$B/kuryrctl" network create "$NET" --subnet "$SUBNET"
say "filling its port pool: OVN ports pre-wired to stubs parked in netns kc-demo-hold"
"$B/kuryrctl" pool populate "$NET"

declare -A IP
for i in 1 2 3; do
	ip netns add kc-demo-$i
	ip -n kc-demo-$i link set lo up
	out=$(CNI_COMMAND=ADD CNI_CONTAINERID=kc-demo-$i CNI_IFNAME=eth0 CNI_NETNS=/run/netns/kc-demo-$i \
		CNI_PATH=$B "$B/kuryr-cni" <<<"$(conf)") || die "ADD of container $i failed: $out"
	IP[$i]=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ips"][0]["address"])' <<<"$out")
	kind=$(ip -n kc-demo-$i -d -j link show eth0 | python3 -c 'import json,sys; l=json.load(sys.stdin)[0]["linkinfo"]; print(l["info_kind"], l.get("info_data", {}).get("mode", ""))')
	say "container kc-demo-$i attached through kuryr-cni: eth0 ${IP[$i]} ($kind)"
done

say "VM: create its port (a trunk's parent), boot it (QEMU) on tap kc-demo-vm, plug the tap"
vm=$("$B/kuryrctl" -o json port create --network "$NET" --name demo-vm --device-id demo-vm)
VM_IP=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ip"])' <<<"$vm")
"$B/kuryrctl" trunk create demo-vm --name demo-trunk >/dev/null
# The guest carries kuryrd; its management NIC reaches OVN NB, nothing else.
KURYR_BUILD=$SRC/build VM_FORWARD="6641=unix:$RUN/ovn/nb.sock" scripts/vm.sh start "$RUN/vm" kc-demo-vm \
	"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["mac"])' <<<"$vm")" || die "the VM did not boot"
"$B/kuryrctl" vm plug kc-demo-vm demo-vm
scripts/vm.sh exec "$RUN/vm" "ip link set eth0 up && ip addr add $VM_IP/${SUBNET#*/} dev eth0"
up=$(ovn-nbctl --db=unix:$RUN/ovn/nb.sock get Logical_Switch_Port demo-vm up)
[ "$up" = true ] || die "OVN does not show the VM port up"
say "OVN shows the VM port bound and up: $(ovn-sbctl --db=unix:$RUN/ovn/sb.sock --bare --columns=logical_port,chassis find Port_Binding logical_port=demo-vm | tr '\n' ' ')"

say "inside the VM: kuryrd (binding nested-vlan, OVN NB over the management NIC) attaches container nested-1"
scripts/vm.sh exec "$RUN/vm" "mkdir -p /etc/kuryr && printf '%s\n' '[DEFAULT]' 'backend = ovn' '[ovn]' \
	'nb_connection = tcp:10.0.2.100:6641' '[binding]' 'driver = nested-vlan' 'link_iface = eth0' \
	'[daemon]' 'state_dir = /run/kuryr-state' '[vif_pool]' 'enabled = false' >/etc/kuryr/kuryr.conf
	(kuryrd -c /etc/kuryr/kuryr.conf </dev/null >/tmp/kuryrd.log 2>&1 3>&- &)
	for i in \$(seq 100); do kuryrctl status >/dev/null 2>&1 && exit 0; sleep 0.1; done
	tail -n 5 /tmp/kuryrd.log; exit 1" || die "kuryrd did not start in the VM"
out=$(scripts/vm.sh exec "$RUN/vm" "ip netns add nested-1 && ip -n nested-1 link set lo up && printf '%s' '$(conf)' |
	CNI_COMMAND=ADD CNI_CONTAINERID=nested-1 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/nested-1 CNI_PATH=/usr/bin kuryr-cni") ||
	die "nested ADD failed: $out"
NESTED=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ips"][0]["address"].split("/")[0])' <<<"$out")
vlan=$("$B/kuryrctl" -o json trunk show demo-trunk | python3 -c 'import json,sys; print(json.load(sys.stdin)["subports"][0]["vlan"])')
echo "    nested-1: eth0 $NESTED, a VLAN $vlan sub-interface of the VM's eth0 (subport of demo-trunk)"

say "ping between every pair of containers"
for a in 1 2 3; do
	for b in 1 2 3; do
		[ "$a" = "$b" ] && continue
		ip netns exec kc-demo-$a busybox ping -c 1 -W 2 "${IP[$b]%/*}" >/dev/null ||
			die "container $a cannot reach container $b"
		echo "    kc-demo-$a -> kc-demo-$b (${IP[$b]%/*}): ok"
	done
done
say "containers and the VM ($VM_IP)"
for a in 1 2 3; do
	ip netns exec kc-demo-$a busybox ping -c 1 -W 5 "$VM_IP" >/dev/null ||
		die "container $a cannot reach the VM"
	echo "    kc-demo-$a -> VM ($VM_IP): ok"
done
scripts/vm.sh exec "$RUN/vm" "ping -c 1 -W 5 ${IP[1]%/*}" >/dev/null || die "the VM cannot reach container 1"
echo "    VM -> kc-demo-1 (${IP[1]%/*}): ok"
for dst in "${IP[1]%/*}" "$VM_IP"; do
	scripts/vm.sh exec "$RUN/vm" "ip netns exec nested-1 ping -c 1 -W 5 $dst" >/dev/null ||
		die "nested-1 cannot reach $dst"
	echo "    nested-1 (in the VM) -> $dst: ok"
done
ip netns exec kc-demo-2 busybox ping -c 1 -W 5 "$NESTED" >/dev/null || die "container 2 cannot reach nested-1"
echo "    kc-demo-2 -> nested-1 ($NESTED): ok"
say "TCP from kc-demo-2 to kc-demo-1"
ip netns exec kc-demo-1 timeout 10 busybox nc -l -p 8080 >"$RUN/tcp.out" &
ncpid=$!
sleep 0.2
echo "hello from kc-demo-2" | ip netns exec kc-demo-2 busybox nc -w 2 "${IP[1]%/*}" 8080
wait "$ncpid" || true
[ "$(cat "$RUN/tcp.out")" = "hello from kc-demo-2" ] || die "TCP did not get through"
echo "    received: $(cat "$RUN/tcp.out")"

# tcp NS IP PORT: open, refused or timeout (dropped).
tcp() { ip netns exec "$1" python3 tests/e2e/tcp-probe.py connect "$2" "$3" 1.5; }

say "security group demo-web lets TCP 8080 in, nothing else; container kc-demo-web has it"
"$B/kuryrctl" security-group create demo-web >/dev/null
"$B/kuryrctl" security-group rule-add demo-web --protocol tcp --port 8080 >/dev/null
ip netns add kc-demo-web
ip -n kc-demo-web link set lo up
out=$(CNI_COMMAND=ADD CNI_CONTAINERID=kc-demo-web CNI_IFNAME=eth0 CNI_NETNS=/run/netns/kc-demo-web \
	CNI_PATH=$B "$B/kuryr-cni" <<<"$(conf | sed 's/}$/,"security_groups":["demo-web"]}/')") ||
	die "ADD of kc-demo-web failed: $out"
WEB=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ips"][0]["address"].split("/")[0])' <<<"$out")
ip netns exec kc-demo-web python3 tests/e2e/tcp-probe.py serve 8080 9090 >/dev/null 2>&1 &
TCP_PID=$!
sleep 0.3
r8080=$(tcp kc-demo-1 "$WEB" 8080) r9090=$(tcp kc-demo-1 "$WEB" 9090)
[ "$r8080" = open ] && [ "$r9090" = timeout ] || die "security group: 8080 $r8080, 9090 $r9090"
echo "    kc-demo-1 -> kc-demo-web ($WEB) TCP 8080: open; TCP 9090 (listening too): dropped"
kill "$TCP_PID"

say "router demo-router: network $NET out to external network demo-ext (netns kc-demo-out, 172.24.0.1)"
ip netns add kc-demo-out
ip link add kc-demo-up type veth peer name uplink netns kc-demo-out
ip link set kc-demo-up up
ip -n kc-demo-out addr add 172.24.0.1/24 dev uplink
ip -n kc-demo-out link set uplink up
ovs-vsctl --db=unix:$RUN/ovs/db.sock add-port br-ex kc-demo-up
"$B/kuryrctl" network create demo-ext --subnet 172.24.0.0/24 --gateway 172.24.0.1 --external \
	--physical-network physnet1 >/dev/null
"$B/kuryrctl" router create demo-router >/dev/null
"$B/kuryrctl" router add-subnet demo-router "$NET" >/dev/null
"$B/kuryrctl" router set demo-router --external-gateway demo-ext >/dev/null
GW=$("$B/kuryrctl" -o json router show demo-router | python3 -c 'import json,sys; print(json.load(sys.stdin)["external_gateway"]["ip"])')
ip netns exec kc-demo-out python3 tests/e2e/tcp-probe.py serve 80 >"$RUN/outside.log" 2>&1 &
TCP_PID=$!
for _ in $(seq 20); do [ "$(tcp kc-demo-1 172.24.0.1 80)" = open ] && break; sleep 0.5; done
[ "$(tcp kc-demo-1 172.24.0.1 80)" = open ] || die "kc-demo-1 cannot reach the outside"
seen=$(grep '^peer' "$RUN/outside.log" | tail -n 1 | cut -d' ' -f2)
echo "    kc-demo-1 (${IP[1]%/*}) -> outside 172.24.0.1 TCP 80: open; the outside saw $seen (the router's SNAT address $GW)"
kill "$TCP_PID"
TCP_PID=

say "what kuryrd knows"
"$B/kuryrctl" attachment list
echo
"$B/kuryrctl" port list --network "$NET"
echo
"$B/kuryrctl" pool list
echo
"$B/kuryrctl" router show demo-router
say "done: containers, a VM and a container nested in it on one OVN network, a security group, a router to the outside. Remove with: scripts/demo.sh down"
