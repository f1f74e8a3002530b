#!/bin/bash
# A real VM (QEMU) on one node of a clustered OVN and containers on the
# others (scripts/multinode.sh: three-member RAFT NB and SB, two northd,
# three nodes with a userspace Open vSwitch and ovn-controller each, Geneve
# between them), backend ovn. The VM's port is made with kuryrctl port
# create and its tap put on node 2's br-int with kuryrctl vm plug against
# node 2's kuryrd; a bare-metal container is on node 1, another on node 3.
# Proven with packets, NB, SB and OVSDB rows:
#   - the VM's port is node 2's (kuryr:host), bound on node 2's chassis in
#     SB, its tap on node 2's bridge and no other;
#   - the VM and the container on node 1 reach each other across the
#     tunnel (ping both ways, Geneve between the two nodes' underlay
#     addresses on the wire, TCP with data both ways);
#   - the VM's port becomes a trunk's parent and a kuryrd in the guest
#     (binding driver nested-vlan, NB over the VM's management NIC, all
#     three members) attaches a nested container: its subport is a child
#     of the VM's port, bound with it on node 2's chassis, and it reaches
#     the bare-metal containers on node 1 and node 3 (ping both ways, TCP
#     with data from node 3) and they it;
#   - everything is undone: the nested DEL, the trunk, vm unplug, the
#     VM's port, the containers' DELs, the VM stopped, each kuryrd exiting
#     cleanly on SIGTERM; no port left in NB nor binding in SB.
. "$(dirname "$0")/lib.sh"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86 is not installed (scripts/deps.sh)"

FRAMES=$SRC/tests/e2e/vlan-frames.py
# Before the nodes go: the guest's kuryrd log on a failure, and the VM.
xnode_down() {
	for p in "${_bg[@]}"; do kill "$p" 2>/dev/null; done
	if [ "$_failed" -gt 0 ] && [ -S "$VMDIR/ctl.sock" ]; then
		echo "# kuryrd in the guest, last lines:"
		VM_EXEC_TIMEOUT=10 gx "tail -n 20 /tmp/kuryrd.log" 2>&1 | diag
	fi
	[ -d "$VMDIR" ] && "$SRC/scripts/vm.sh" stop "$VMDIR" >/dev/null 2>&1
	if [ "$_failed" -gt 0 ] && [ -f "$T/vm-start.log" ]; then
		echo "# vm.sh start:"
		tail -n 15 "$T/vm-start.log" | diag
	fi
}
MN_DOWN_HOOK=xnode_down
mn_up

N1=$NODE_CHASSIS_1 N2=$NODE_CHASSIS_2 N3=$NODE_CHASSIS_3
for i in 1 2 3; do
	check "kuryrd starts on node $i (nb_connection: three members)" mn_kuryrd_start "$i"
done
check "network create (on node 1)" mctl 1 network create xnet --subnet 10.97.0.0/24

# lsp_ext PORT KEY: external_ids:KEY of NB port PORT ("" if none).
lsp_ext() { mnb --if-exists get Logical_Switch_Port "$1" external_ids:"\"$2\"" 2>/dev/null | tr -d '"'; }
# sb_chassis PORT: the name of the chassis binding PORT in SB ("" if none).
sb_chassis() {
	local c
	c=$(msb --bare --columns=chassis find Port_Binding logical_port="$1")
	[ -n "$c" ] && msb --bare --columns=name list Chassis "$c"
}
# ifaces I NAME: node I's OVS interfaces whose iface-id is NAME.
ifaces() {
	ovs-vsctl --db="$(nsv NODE_OVS_DB "$1")" --timeout=10 --bare --columns=name \
		find Interface external_ids:iface-id="$2" | grep .
}
# add NAME NODE: container NAME through node NODE's kuryr-cni; IP[NAME],
# PORT[NAME].
declare -A IP PORT
add() {
	pod "$1"
	SOCK=$T/k$2.sock cni ADD "$P-$1" eth0 "$NSPATH" "$(SOCK=$T/k$2.sock netconf xnet)"
	check_eq "ADD $1 on node $2" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; return 1; }
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	PORT[$1]=$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-$1\"")
}
del() { # NAME NODE
	SOCK=$T/k$2.sock cni DEL "$P-$1" eth0 "/run/netns/$P-$1" "$(SOCK=$T/k$2.sock netconf xnet)"
	check_eq "DEL $1 on node $2: its port gone from NB, only lo in its netns" "0  lo" \
		"$RC $(mnb --bare --columns=name find Logical_Switch_Port name="${PORT[$1]}") $(ip -n "$P-$1" -o link show | awk -F': ' '{print $2}' | paste -sd' ')"
}
# alive_pid PID: running and not a zombie.
alive_pid() { [ -n "$1" ] && [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
# gcni COMMAND CONTAINERID NETNS CONF: kuryr-cni in the guest on its netns
# NETNS (ifname eth0); sets OUT and RC.
gcni() {
	OUT=$(gx "printf '%s' '$4' | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/$3 CNI_PATH=/usr/bin kuryr-cni")
	RC=$?
}
# underlay NODE SECONDS: vlan-frames.py's account of what node NODE's
# underlay veth (ul0) receives for SECONDS, in $T/ulNODE.out, in the
# background (its pid appended to caps); returns once it listens.
caps=()
underlay() {
	ip netns exec "$(nsv NODE_NS "$1")" python3 "$FRAMES" frames ul0 "$2" >"$T/ul$1.out" 2>&1 &
	caps+=($!)
	_bg+=($!)
	for _ in $(seq 50); do grep -q listening "$T/ul$1.out" && break; sleep 0.1; done
}
# geneve FROM TO: "yes" if node TO's underlay received Geneve from node FROM.
geneve() {
	grep -q "src=$(nsv NODE_IP "$1") dst=$(nsv NODE_IP "$2") udp=6081 " "$T/ul$2.out" && echo yes || echo no
}

# send NS IP PORT TEXT: TEXT over TCP from netns NS to IP:PORT, tried again
# while refused (a listener in the guest takes a moment to start).
send() {
	for _ in 1 2 3 4 5; do
		ip netns exec "$1" sh -c "echo $4 | busybox nc -w 5 $2 $3" && return 0
		sleep 1
	done
	return 1
}

# ---- the VM's port, and the VM booting on node 2 ----
VP=vm-$P
OUT=$(mctl 2 -o json port create --network xnet --name "$VP" --device-id "$VP"); RC=$?
check_eq "kuryrctl port create --network xnet (on node 2)" 0 "$RC"
VM_MAC=$(jget '["mac"]' 2>/dev/null)
VM_IP=$(jget '["ip"]' 2>/dev/null)
[ -n "$VM_MAC" ] && [ -n "$VM_IP" ] || { echo "Bail out! the VM's port has no MAC or address: $OUT"; exit 1; }
# The guest's 10.0.2.100:6641, 6643 and 6645 are the three NB members
# (their unix sockets: the members' TCP addresses exist only in the
# namespaces).
IFS=, read -r -a nbsocks <<<"$NB_SOCKETS"
fwd="" gnb=""
for m in 0 1 2; do
	fwd+="$((6641 + 2 * m))=${nbsocks[m]} "
	gnb+=${gnb:+,}tcp:10.0.2.100:$((6641 + 2 * m))
done
VM_FORWARD=$fwd KURYR_BUILD=$BUILD "$SRC/scripts/vm.sh" start "$VMDIR" "$TAP" "$VM_MAC" "$NODE_NS_2" \
	>"$T/vm-start.log" 2>&1 &
vmstart=$!
_bg+=("$vmstart")

# ---- the bare-metal containers: node 1 and node 3 ----
add c1 1 || { echo "Bail out! no container on node 1"; exit 1; }
add c3 3 || { echo "Bail out! no container on node 3"; exit 1; }

wait "$vmstart"
vmrc=$?
_bg=()
check_eq "the VM boots on node 2 (its tap in node 2's namespace)" "0 $TAP" \
	"$vmrc $(ip -n "$NODE_NS_2" -o link show "$TAP" 2>/dev/null | awk -F': ' '{print $2}')"
[ "$vmrc" = 0 ] || exit 1
QEMU_PID=$(cat "$VMDIR/qemu.pid")

# ---- vm plug on node 2 ----
OUT=$(mctl 2 -o json vm plug "$TAP" "$VP"); RC=$?
check_eq "kuryrctl vm plug TAP PORT on node 2: the port up" "0 True" "$RC $(jget '["up"]' 2>/dev/null)"
[ "$RC" = 0 ] || diag <<<"$OUT"
check_eq "NB: the VM's port is node 2's, owned by a vm" "$N2 vm" \
	"$(lsp_ext "$VP" kuryr:host) $(lsp_ext "$VP" kuryr:device_owner)"
check_eq "SB: the VM's port is bound on node 2's chassis" "$N2" "$(eventually "$N2" sb_chassis "$VP")"
check_eq "OVSDB: the tap is on node 2's br-int for the port, on no other node's" "$TAP  " \
	"$(ifaces 2 "$VP") $(ifaces 1 "$VP") $(ifaces 3 "$VP")"
check_eq "SB: c1 and c3 are bound on nodes 1 and 3" "$N1 $N3" \
	"$(sb_chassis "${PORT[c1]}") $(sb_chassis "${PORT[c3]}")"

# ---- the VM and the container on node 1 ----
MTU=$(mctl 2 -o json network show xnet | pyj 'd.get("mtu", 1500)')
check "the guest takes its port's address on eth0 (MTU $MTU)" \
	gx "ip link set eth0 mtu $MTU up && ip addr add $VM_IP/24 dev eth0"
underlay 1 8
underlay 2 8
check_eq "c1 (node 1) reaches the VM (node 2)" pass "$(eventually pass ping1 "$P-c1" "$VM_IP")"
check "the VM reaches c1" gx "ping -c 2 -W 5 ${IP[c1]}"
wait "${caps[@]}"
_bg=() caps=()
check_eq "on the underlay: Geneve from node 1 to node 2 and back, and no packet of the VM's address outside it" \
	"yes yes 0" "$(geneve 1 2) $(geneve 2 1) $(cat "$T/ul1.out" "$T/ul2.out" | grep -cE "(src|dst)=$VM_IP ")"
# TCP, with data, the VM to c1 and c1 to the VM (the guest's NIC and the
# containers' veths fill in their checksums: QEMU's csum=off, and the
# binding's transmit checksum offload off on a netdev bridge).
ip netns exec "$P-c1" timeout 20 busybox nc -l -p 5559 >"$T/c1tcp.out" 2>/dev/null &
ncpid=$!
for _ in $(seq 50); do ip netns exec "$P-c1" ss -Hltn "sport = :5559" | grep -q . && break; sleep 0.1; done
check "TCP: the VM sends to c1" gx "echo from-the-vm-$P | nc -w 5 ${IP[c1]} 5559"
wait "$ncpid"
check_eq "... and c1 receives it" "from-the-vm-$P" "$(cat "$T/c1tcp.out")"
gx "rm -f /tmp/vmtcp.out; (timeout 20 nc -l -p 5560 >/tmp/vmtcp.out 2>/dev/null) </dev/null >/dev/null 2>&1 3>&- &" >/dev/null
check "TCP: c1 sends to the VM" send "$P-c1" "$VM_IP" 5560 "from-c1-$P"
check_eq "... and the VM receives it" "from-c1-$P" "$(eventually "from-c1-$P" gx "cat /tmp/vmtcp.out")"

# ---- a nested container in the VM: the VM's port a trunk's parent ----
check "kuryrctl trunk create on the VM's port (node 2)" mctl 2 trunk create "$VP" --name "trunk-$P"
GUEST_CONF=$(guest_conf_ovn nested-vlan "$P-guest" debug 30)
GUEST_CONF=${GUEST_CONF/tcp:10.0.2.100:6641/$gnb}
check "kuryrd starts in the guest (nested-vlan, the three NB members over the management NIC)" \
	guest_kuryrd "$VMDIR" "$GUEST_CONF"
gx "ip netns add n1 && ip -n n1 link set lo up" >/dev/null
gcni ADD "$P-n1" n1 "$(gnetconf xnet)"
check_eq "nested ADD n1 in the guest" 0 "$RC"
[ "$RC" = 0 ] || diag <<<"$OUT"
N1_IP=$(jget '["ips"][0]["address"]' 2>/dev/null | cut -d/ -f1)
NP=$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-n1\"")
[ -n "$NP" ] && [ -n "$N1_IP" ] || { echo "Bail out! the nested container has no port or address: $OUT"; exit 1; }
TAG=$(mnb get Logical_Switch_Port "$NP" tag)
check_eq "NB: n1's port is a child of the VM's port, with a VLAN id" "$VP yes" \
	"$(mnb get Logical_Switch_Port "$NP" parent_name | tr -d '"') $([[ $TAG =~ ^[0-9]+$ ]] && echo yes || echo "no ($TAG)")"
check_eq "the trunk lists it" "$NP:$TAG" \
	"$(mctl 2 -o json trunk show "trunk-$P" | pyj '" ".join("%s:%d" % (s["port"], s["vlan"]) for s in d["subports"])')"
check_eq "SB: n1's subport is bound with the VM, on node 2's chassis" "$N2 $N2" \
	"$(eventually "$N2" sb_chassis "$NP") $(sb_chassis "$VP")"
check_eq "in the guest: n1's eth0 is VLAN $TAG of the VM's NIC" "1" \
	"$(gx "ip -n n1 -d -o link show eth0" | grep -c "vlan protocol 802.1Q id $TAG ")"
check_eq "no OVS interface for n1's subport on any node (it rides the VM's tap)" "" \
	"$(ifaces 1 "$NP")$(ifaces 2 "$NP")$(ifaces 3 "$NP")"
check "nested n1 reaches c3 (node 3)" gx "ip netns exec n1 ping -c 2 -W 5 ${IP[c3]}"
check_eq "c3 reaches nested n1" pass "$(eventually pass ping1 "$P-c3" "$N1_IP")"
check "nested n1 reaches c1 (node 1)" gx "ip netns exec n1 ping -c 2 -W 5 ${IP[c1]}"
check_eq "c1 reaches nested n1" pass "$(eventually pass ping1 "$P-c1" "$N1_IP")"
gx "rm -f /tmp/n1tcp.out; (ip netns exec n1 timeout 20 nc -l -p 5561 >/tmp/n1tcp.out 2>/dev/null) </dev/null >/dev/null 2>&1 3>&- &" >/dev/null
check "TCP: c3 sends to nested n1" send "$P-c3" "$N1_IP" 5561 "from-c3-$P"
check_eq "... and n1 receives it" "from-c3-$P" "$(eventually "from-c3-$P" gx "cat /tmp/n1tcp.out")"

# ---- the end: everything undone ----
gcni DEL "$P-n1" n1 "$(gnetconf xnet)"
check_eq "nested DEL n1: its port gone from NB, only lo in its netns" "0  lo" \
	"$RC $(mnb --bare --columns=name find Logical_Switch_Port name="$NP") $(gx "ip -n n1 -o link show" | awk -F': ' '{print $2}' | paste -sd' ')"
check_eq "... the trunk has no subport left" "subports: " \
	"$(mctl 2 -o json trunk show "trunk-$P" | pyj '"subports: " + " ".join(s["port"] for s in d["subports"])')"
check "the guest's kuryrd exits cleanly on SIGTERM" guest_kuryrd_stop "$VMDIR"
check "kuryrctl trunk delete" mctl 2 trunk delete "trunk-$P"
check "kuryrctl vm unplug on node 2" mctl 2 vm unplug "$TAP"
check_eq "... the tap off node 2's br-int" "br-int: ok" \
	"$(ovs-vsctl --db="$NODE_OVS_DB_2" --timeout=10 br-exists br-int && echo br-int:) $(ovs-vsctl --db="$NODE_OVS_DB_2" --timeout=10 list-ports br-int | grep -qx "$TAP" && echo "still there" || echo ok)$(ifaces 2 "$VP")"
check "kuryrctl port delete the VM's port" mctl 2 port delete "$VP"
check_eq "NB: the VM's port is gone" "" "$(mnb --bare --columns=name find Logical_Switch_Port name="$VP")"
check "the VM stops" "$SRC/scripts/vm.sh" stop "$VMDIR"
check_eq "... qemu gone, its tap gone from node 2's namespace" "gone 0" \
	"$(alive_pid "$QEMU_PID" && echo "running ($QEMU_PID)" || echo gone) $(ip -n "$NODE_NS_2" -o link show "$TAP" 2>/dev/null | grep -c .)"
del c1 1
del c3 3
check_eq "NB: the network's switch, no Logical_Switch_Port left" "1 switch, ports: " \
	"$(mnb --bare --columns=name list Logical_Switch | grep -c .) switch, ports: $(mnb --bare --columns=name list Logical_Switch_Port)"
sb_left() { echo "$(msb --bare --columns=name list Chassis | grep -c .) chassis, bindings: $(msb --bare --columns=logical_port find Port_Binding type='""')"; }
check_eq "SB: the three chassis, no port binding left (none of a VM, container or subport)" "3 chassis, bindings: " \
	"$(eventually "3 chassis, bindings: " sb_left)"
for i in 1 2 3; do
	mn_kuryrd_stop "$i"
	check_eq "node $i's kuryrd exits cleanly on SIGTERM" 0 "$?"
done
_kpids=()
