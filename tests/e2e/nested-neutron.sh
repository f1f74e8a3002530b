#!/bin/bash
# Containers nested in a real VM (QEMU), on backend neutron: a real
# neutron-server (ML2/OVN) and its trunk plugin. The VM's port, bound to
# this node by kuryrctl vm plug as Nova would bind it, is a trunk's parent; kuryrd and
# kuryr-cni run in the guest with binding driver nested-vlan and reach
# Neutron's API over the VM's management NIC (scripts/vm.sh VM_FORWARD),
# never over the trunk. Each nested container gets a Neutron port, made
# unbound (the guest is no host Neutron knows), that becomes a subport of
# the trunk under a VLAN id of its own: ML2/OVN binds it, makes its
# Logical_Switch_Port a child of the VM's (parent_name, tag) and reports it
# ACTIVE. Proven with packets: nested containers reach each other, a
# bare-metal container and the VM, their frames leaving the guest with one
# 802.1Q header; an id taken behind kuryrd's back is skipped (Neutron's
# 409); DEL takes the subport off the trunk and deletes the port; a
# Neutron router takes a nested container to another network; a VM port
# without a trunk, a network MTU above the guest NIC's and an unreachable
# Neutron fail ADD and leave nothing behind, in Neutron or in the guest;
# the guest's kuryrd SIGKILLed in the middle of an ADD leaves nothing on
# the trunk once it is back. A load balancer on Octavia (provider ovn) on
# the VM's network, its pool's members a bare-metal container, the VM's
# own port (the trunk's parent) and a nested container (a subport): a
# client container's 30 connections to the VIP are answered by all three,
# Octavia has the three addresses, and once it is deleted no load balancer
# is left and the VIP answers no more.
NEUTRON=true
OCTAVIA=true
BACKEND=neutron
. "$(dirname "$0")/lib.sh"
env_up
FRAMES=$SRC/tests/e2e/vlan-frames.py
# What ovn-controller registered this node's chassis as: ML2/OVN binds
# ports to it.
HOST=$(vsctl get Open_vSwitch . external_ids:hostname | tr -d '"')

# gcni COMMAND NAME NETWORK: kuryr-cni in the guest for container $P-NAME
# in the guest's netns $P-NAME (ifname eth0); sets OUT and RC.
gcni() {
	OUT=$(gx "printf '%s' '$(gnetconf "$3")' | CNI_COMMAND=$1 CNI_CONTAINERID=$P-$2 CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/$P-$2 CNI_PATH=/usr/bin kuryr-cni")
	RC=$?
}
# glinks NAME: the links of the guest's netns $P-NAME.
glinks() { gx "ip -n $P-$1 -o link show" | awk -F': ' '{print $2}' | cut -d@ -f1 | tr '\n' ' ' | sed 's/ $//'; }
# nport MAC: Neutron's port with MAC (a nested port has no device_id:
# Neutron takes no port in use by a device as a subport), or "".
nport() { nq GET "/ports?mac_address=$1" | jq1 '["ports"][0]' 2>/dev/null; }
# subports: "PORT:VLAN ..." of the trunk as Neutron has it, every one a
# vlan subport (else "!type").
subports() {
	nq GET "/trunks/$TRUNK" | python3 -c '
import json, sys
sp = json.load(sys.stdin)["trunk"]["sub_ports"]
print(" ".join(sorted("%s:%d" % (s["port_id"], s["segmentation_id"]) if s["segmentation_type"] == "vlan"
                      else "!type" for s in sp)))'
}
# child PORT: "parent tag" of port PORT's Logical_Switch_Port in NB.
child() {
	echo "$(nbctl get Logical_Switch_Port "$1" parent_name | tr -d '"') $(nbctl get Logical_Switch_Port "$1" tag)"
}

for n in "net1 10.94.0.0/24" "net2 10.94.1.0/24"; do
	read -r net cidr <<<"$n"
	check "kuryrctl network create $P-$net in Neutron" ctl network create "$P-$net" --subnet "$cidr"
done
NET1=$P-net1 NET2=$P-net2

# ---- the VM: its port, bound to this node by vm plug (Nova's part), its tap plugged ----
OUT=$(ctl -o json port create --network "$NET1" --name "$P-vm1" --device-id "$P-vm-one"); RC=$?
check_eq "kuryrctl port create for the VM" 0 "$RC"
VM_PORT=$(jget '["name"]')
VM_MAC=$(jget '["mac"]')
VM_IP=$(jget '["ip"]')
# binding:host_id and binding:vif_type of port $1.
binding() { nq GET "/ports/$1" | pyj 'd["port"]["binding:host_id"] + " " + d["port"]["binding:vif_type"]'; }
check_eq "Neutron: the VM's port is made unbound (whoever runs the VM binds it)" " unbound" \
	"$(binding "$VM_PORT")"
vm_boot "$VM_MAC" "9696=tcp:127.0.0.1:19696"
# An unbound port never goes ACTIVE (ML2 ends provisioning only for a
# bound one), and a subport takes its parent's status: vm plug binds it
# here first, as Nova does before os-vif plugs.
check "kuryrctl vm plug the VM's tap" ctl vm plug "$TAP" "$VM_PORT"
check_eq "Neutron: vm plug bound the VM's port to this node, for ovs" "$HOST ovs" "$(binding "$VM_PORT")"
check_eq "Neutron: the VM's port is ACTIVE" ACTIVE "$(nq GET "/ports/$VM_PORT" | jq1 '["port"]["status"]')"
# A VM's port bound to another node: vm plug refuses it and leaves its tap
# off the bridge and its binding as it was.
OUT=$(ctl -o json port create --network "$NET1" --name "$P-vmx" --device-id "$P-vm-x")
VMX=$(jget '["name"]')
nq PUT "/ports/$VMX" '{"port":{"binding:host_id":"another-node"}}' >/dev/null
ip -n "$HOSTNS" tuntap add "$P-tapx" mode tap
ctl vm plug "$P-tapx" "$VMX" >/dev/null 2>"$T/plug.err"
check "kuryrctl vm plug of a port bound to another node fails, saying where it is bound" \
	grep -q "bound to host another-node" "$T/plug.err"
check_eq "... a 409 on kuryrd's socket" 409 "$(ctl_code vm.plug "{\"tap\":\"$P-tapx\",\"port\":\"$VMX\"}")"
check_eq "... the tap is not on br-int" "" "$(vsctl list-ports br-int | grep -x "$P-tapx")"
check_eq "... and the port is still bound there" "another-node" "$(binding "$VMX" | cut -d' ' -f1)"
ip -n "$HOSTNS" link del "$P-tapx"
ctl port delete "$VMX" >/dev/null
check "the guest takes its port's address on eth0" gx "ip link set eth0 up && ip addr add $VM_IP/24 dev eth0"

# ---- kuryrd in the guest, Neutron over the management NIC ----
guest_conf() {
	cat <<-CONF
		[DEFAULT]
		backend = neutron
		host = $P-guest
		log_level = debug
		[neutron]
		auth_type = none
		endpoint_override = http://10.0.2.100:$1
		timeout = 5
		[neutron_defaults]
		project = kuryr-e2e
		[binding]
		driver = nested-vlan
		link_iface = eth0
		[daemon]
		socket = $GSOCK
		state_dir = /run/kuryr-state
		port_up_timeout = 20
		[vif_pool]
		enabled = false
	CONF
}
check "kuryrd starts in the guest (backend neutron, nested-vlan)" guest_kuryrd "$VMDIR" "$(guest_conf 9696)"

# ---- the VM's port is no trunk yet: a clear error, nothing left ----
gpod n0
before=$(all_ports)
gcni ADD n0 "$NET1"
check_eq "nested ADD before the VM's port is a trunk fails" 1 "$RC"
check "... saying the VM's port is not a trunk's parent" \
	grep -q "port $VM_PORT (MAC $VM_MAC) is not the parent of a trunk" <<<"$OUT"
check_eq "... and leaves no port in Neutron" "$before" "$(all_ports)"
check_eq "... nor a device in the pod netns" "lo" "$(glinks n0)"
OUT=$(ctl -o json trunk create "$P-vm1" --name "$P-trunk"); RC=$?
check_eq "kuryrctl trunk create on the VM's port" 0 "$RC"
TRUNK=$(jget '["id"]')

# ---- a bare-metal container on the VM's network ----
pod c1
cni ADD "$P-c1" eth0 "$NSPATH" "$(netconf "$NET1")"
check_eq "a bare-metal container joins $NET1" 0 "$RC"
C1_IP=$(jget '["ips"][0]["address"]')
C1_IP=${C1_IP%/*}

# ---- a network MTU above the guest NIC's: CNI error 7, nothing left ----
# Neutron caps a network's MTU at what its underlay carries (1442 for
# geneve on a 1500 physnet), under the guest NIC's 1500: the NIC goes
# below the network instead, the same refusal.
NET1_MTU=$(nq GET "/networks?name=$NET1" | jq1 '["networks"][0]["mtu"]')
NIC_MTU=$(gx "cat /sys/class/net/eth0/mtu")
LOW_MTU=$((NET1_MTU - 42))
gpod nm
gx "ip link set eth0 mtu $LOW_MTU"
before=$(all_ports) trunk_before=$(subports)
gcni ADD nm "$NET1"
check_eq "nested ADD on a network whose MTU ($NET1_MTU) is above the guest NIC's ($LOW_MTU) is CNI error 7" \
	"1 7" "$RC $(jget '["code"]' 2>/dev/null)"
check "... naming the NIC and both MTUs" grep -q "MTU $NET1_MTU is above eth0's $LOW_MTU" <<<"$OUT"
check_eq "... and leaves no port in Neutron" "$before" "$(all_ports)"
check_eq "... nor a subport on the trunk" "$trunk_before" "$(subports)"
check_eq "... nor a device in the pod netns" "lo" "$(glinks nm)"
check_eq "... nor a row in the guest's store" "" "$(gx "kuryrctl -o json attachment list" | grep -o "$P-nm")"
gx "ip link set eth0 mtu $NIC_MTU"

# ---- two nested containers ----
declare -A PORT TAG IPS MAC
for n in n1 n2; do
	gpod $n
	gcni ADD $n "$NET1"
	check_eq "nested ADD $n succeeds" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
	IPS[$n]=$(jget '["ips"][0]["address"]')
	IPS[$n]=${IPS[$n]%/*}
	MAC[$n]=$(jget '["interfaces"][1]["mac"]')
	# Right after ADD: ADD waited for it.
	port=$(nport "${MAC[$n]}")
	PORT[$n]=$(jq1 '["id"]' <<<"$port")
	check_eq "Neutron: $n's port is ACTIVE, a trunk subport bound for ovs, with the container's IP" \
		"ACTIVE trunk:subport ovs ${IPS[$n]}" \
		"$(jq1 '["status"]' <<<"$port") $(jq1 '["device_owner"]' <<<"$port") $(jq1 '["binding:vif_type"]' <<<"$port") $(jq1 '["fixed_ips"][0]["ip_address"]' <<<"$port")"
	# Zed's trunk driver leaves the host empty (newer ones copy the
	# parent's); never the guest's, which no chassis has.
	h=$(jq1 '["binding:host_id"]' <<<"$port")
	check "Neutron: $n's port is not bound to the guest (host \"$h\")" test "$h" = "" -o "$h" = "$HOST"
	read -r parent TAG[$n] <<<"$(child "${PORT[$n]}")"
	check_eq "OVN NB (ML2/OVN's row): $n's port is a child of the VM's port" "$VM_PORT" "$parent"
	# Zed's trunk driver hands a new subport its parent's status at once;
	# ovn-controller's claim of the child port follows (seen within 1 s).
	for _ in $(seq 50); do
		[ "$(nbctl get Logical_Switch_Port "${PORT[$n]}" up)" = true ] && break
		sleep 0.1
	done
	check_eq "OVN NB: $n's child port is up (claimed on this chassis)" true \
		"$(nbctl get Logical_Switch_Port "${PORT[$n]}" up)"
done
t1=${TAG[n1]} t2=${TAG[n2]}
check "n1 and n2 have different VLAN ids ($t1, $t2)" test -n "$t1" -a -n "$t2" -a "$t1" != "$t2"
check_eq "Neutron: the trunk has both as vlan subports under NB's tags" \
	"$(printf '%s\n' "${PORT[n1]}:$t1" "${PORT[n2]}:$t2" | sort | tr '\n' ' ' | sed 's/ $//')" "$(subports)"
DEV=$(gx "ip -n $P-n1 -d -o link show eth0")
check "in the guest: n1's eth0 is a VLAN $t1 of the NIC with the port's MAC" \
	grep -Eq "link/ether ${MAC[n1]} .*vlan protocol 802.1Q id $t1 " <<<"$DEV"
check_eq "in the guest: no VLAN device in the guest's own netns" "" "$(gx "ip -o link show type vlan")"

# ---- packets ----
hostns python3 "$FRAMES" frames "$TAP" 8 >"$T/frames.out" 2>&1 &
cap=$!
for _ in $(seq 50); do grep -q listening "$T/frames.out" && break; sleep 0.1; done
check "nested n1 reaches nested n2" gx "ip netns exec $P-n1 ping -c 2 -W 5 ${IPS[n2]}"
check "nested n1 reaches the bare-metal container" gx "ip netns exec $P-n1 ping -c 2 -W 5 $C1_IP"
check "the bare-metal container reaches nested n2" ip netns exec "$P-c1" busybox ping -c 2 -W 5 "${IPS[n2]}"
check "nested n1 reaches the VM itself" gx "ip netns exec $P-n1 ping -c 2 -W 5 $VM_IP"
wait "$cap"
check "on the tap: n1's frames to n2 left the guest with exactly one 802.1Q header, VLAN $t1" \
	grep -q "ip tags=1 vlan=$t1 proto=1 src=${IPS[n1]} dst=${IPS[n2]} udp=0" "$T/frames.out"
check_eq "on the tap: no frame of n1 untagged or double-tagged" "" \
	"$(grep "src=${IPS[n1]} " "$T/frames.out" | grep -v "tags=1 vlan=$t1 ")"
check "a VM-less port on $NET1, plugged into a host netns" vmless_port "$NET1" vl
check "nested n1 reaches the VM-less port" gx "ip netns exec $P-n1 ping -c 2 -W 5 $VMLESS_IP"
check "the VM-less port reaches nested n2" ip netns exec "$P-vl" busybox ping -c 2 -W 5 "${IPS[n2]}"
check "kuryrctl vm unplug the VM-less port" ctl vm unplug "$P-vl"
check "kuryrctl port delete the VM-less port" ctl port delete "$P-vl"
ip netns del "$P-vl" # and its veth with it

# ---- DEL: off the trunk, then deleted ----
gcni DEL n1 "$NET1"
check_eq "nested DEL n1 succeeds" 0 "$RC"
check_eq "Neutron: n1's port is gone" "" "$(nq GET "/ports?id=${PORT[n1]}" | jq1 '["ports"]' | tr -d '[]')"
check_eq "Neutron: the trunk keeps n2 only" "${PORT[n2]}:$t2" "$(subports)"
check_eq "OVN NB: n1's Logical_Switch_Port is gone" "" \
	"$(nbctl --bare --columns=name find Logical_Switch_Port name="${PORT[n1]}")"
check_eq "in the guest: n1 has only lo" "lo" "$(glinks n1)"

# ---- VLAN ids: one taken behind kuryrd's back is skipped ----
check "an operator makes a port on the host" ctl port create --network "$NET2" --name "$P-op1"
check "... and adds it to the trunk under n1's freed VLAN $t1" ctl trunk add-subport "$P-trunk" "$P-op1" "$t1"
OP1=$(nq GET "/ports?name=$P-op1" | jq1 '["ports"][0]["id"]')
gpod n3
gcni ADD n3 "$NET1"
check_eq "nested ADD n3 succeeds (Neutron refused the taken id)" 0 "$RC"
IPS[n3]=$(jget '["ips"][0]["address"]')
IPS[n3]=${IPS[n3]%/*}
PORT[n3]=$(jq1 '["id"]' <<<"$(nport "$(jget '["interfaces"][1]["mac"]')")")
t3=$(subports | tr ' ' '\n' | sed -n "s/^${PORT[n3]}://p")
check "n3's VLAN ($t3) is neither the operator's ($t1) nor n2's ($t2)" test -n "$t3" -a "$t3" != "$t1" -a "$t3" != "$t2"
check_eq "OVN NB: n3's child port has that tag" "$VM_PORT $t3" "$(child "${PORT[n3]}")"
check "nested n3 reaches the bare-metal container" gx "ip netns exec $P-n3 ping -c 2 -W 5 $C1_IP"

# ---- ADDs at once never share an id ----
gx "for i in 4 5 6 7; do ip netns add $P-n\$i; done
	for i in 4 5 6 7; do
		(printf '%s' '$(gnetconf "$NET2")' | CNI_COMMAND=ADD CNI_CONTAINERID=$P-n\$i CNI_IFNAME=eth0 \
			CNI_NETNS=/run/netns/$P-n\$i CNI_PATH=/usr/bin kuryr-cni >/tmp/add\$i.out; echo \$? >/tmp/add\$i.rc) &
	done
	wait"
# ML2/OVN (Zed) fails some concurrent port creates and trunk updates with
# HTTP 500 under load (an IntegrityError on ovn_revision_numbers; a
# RowNotFound for a Logical_Switch_Port it has not seen yet): what failed
# is told, must have left nothing behind in the pod, and succeeds when
# retried once, as a runtime retries a failed ADD.
rcs=$(gx 'cat /tmp/add4.rc /tmp/add5.rc /tmp/add6.rc /tmp/add7.rc' | tr '\n' ' ' | sed 's/ $//')
k=0
for rc in $rcs; do
	i=$((4 + k)) k=$((k + 1))
	[ "$rc" = 0 ] && continue
	gx "cat /tmp/add$i.out" | diag
	check_eq "a failed ADD n$i left nothing in its pod" "lo" "$(glinks n$i)"
	gcni ADD n$i "$NET2"
	check_eq "... and succeeds when retried" 0 "$RC"
done
check_eq "four ADDs at once all succeed (each at the latest when retried once)" "4" \
	"$(gx 'for i in 4 5 6 7; do ip -n '"$P"'-n$i -o link show | grep -c "eth0"; done' | awk '{n += $1} END {print n}')"
ids=$(subports | tr ' ' '\n' | cut -d: -f2)
check_eq "Neutron: every subport of the trunk has its own VLAN id ($(echo $ids))" "$(grep -c . <<<"$ids")" "$(sort -u <<<"$ids" | grep -c .)"
for i in 4 5 6 7; do
	gcni DEL n$i "$NET2"
	check_eq "nested DEL n$i" 0 "$RC"
done

# ---- a security group on a nested container ----
check "kuryrctl security-group create $P-web (Neutron)" ctl security-group create "$P-web"
check "... rule-add tcp 8080 in" ctl security-group rule-add "$P-web" --protocol tcp --port 8080
gpod n8
OUT=$(gx "printf '%s' '$(gnetconf "$NET1" | sed "s/}\$/,\"security_groups\":[\"$P-web\"]}/")' | \
	CNI_COMMAND=ADD CNI_CONTAINERID=$P-n8 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-n8 CNI_PATH=/usr/bin kuryr-cni")
check_eq "nested ADD with security group $P-web" 0 "$?"
N8_IP=$(jget '["ips"][0]["address"]')
N8_IP=${N8_IP%/*}
N8_PORT=$(jq1 '["id"]' <<<"$(nport "$(jget '["interfaces"][1]["mac"]')")")
WEB_ID=$(nq GET "/security-groups?name=$P-web" | jq1 '["security_groups"][0]["id"]')
check_eq "Neutron: n8's port has exactly that group" "[\"$WEB_ID\"]" \
	"$(nq GET "/ports/$N8_PORT" | jq1 '["port"]["security_groups"]' | tr -d ' ')"
gx "printf '#!/bin/sh\nread l; echo echo:\$l\n' >/tmp/echo.sh && chmod +x /tmp/echo.sh
	for p in 8080 9090; do ip netns exec $P-n8 timeout 20 nc -ll -p \$p -e /tmp/echo.sh >/dev/null 2>&1 </dev/null & done"
sleep 1
check_eq "TCP to the nested container's 8080 passes (the group's rule)" open \
	"$(ip netns exec "$P-c1" python3 "$SRC/tests/e2e/tcp-probe.py" connect "$N8_IP" 8080 5)"
check_eq "TCP to its 9090 is dropped" timeout \
	"$(ip netns exec "$P-c1" python3 "$SRC/tests/e2e/tcp-probe.py" connect "$N8_IP" 9090 2)"
gcni DEL n8 "$NET1"
check_eq "nested DEL n8" 0 "$RC"
check "kuryrctl security-group delete $P-web" ctl security-group delete "$P-web"

# ---- through a Neutron router, to another network ----
pod c2
cni ADD "$P-c2" eth0 "$NSPATH" "$(netconf "$NET2")"
check_eq "a bare-metal container joins $NET2" 0 "$RC"
C2_IP=$(jget '["ips"][0]["address"]')
C2_IP=${C2_IP%/*}
check "nested n3 cannot reach $NET2 without a router" \
	bash -c "! '$SRC/scripts/vm.sh' exec '$VMDIR' 'ip netns exec $P-n3 ping -c 1 -W 2 $C2_IP'"
OUT=$(ctl -o json router create "$P-r1"); RC=$?
check_eq "kuryrctl router create $P-r1 (Neutron, no external gateway)" 0 "$RC"
R1=$(jget '["id"]')
check "kuryrctl router add-subnet $P-r1 $NET1" ctl router add-subnet "$P-r1" "$NET1"
check "kuryrctl router add-subnet $P-r1 $NET2" ctl router add-subnet "$P-r1" "$NET2"
check_eq "Neutron: the router has an interface port at each subnet's gateway" "10.94.0.1 10.94.1.1" \
	"$(nq GET "/ports?device_id=$R1&device_owner=network:router_interface" | pyj '" ".join(sorted(p["fixed_ips"][0]["ip_address"] for p in d["ports"]))')"
check_eq "OVN NB (ML2/OVN's rows): Logical_Router neutron-$R1 with both addresses" \
	"neutron-$R1 10.94.0.1/24 10.94.1.1/24" \
	"$(nbctl --bare --columns=name find Logical_Router name="neutron-$R1") $(nbctl --bare --columns=networks list Logical_Router_Port | grep . | sort | paste -sd' ')"
# ovn-northd and ovn-controller take a moment to program the router.
check "nested n3 ($NET1) reaches the bare-metal container on $NET2 through the router" \
	gx "for i in 1 2 3 4 5; do ip netns exec $P-n3 ping -c 1 -W 2 $C2_IP && exit 0; done; exit 1"
check "the bare-metal container on $NET2 reaches nested n3 back" \
	ip netns exec "$P-c2" busybox ping -c 2 -W 5 "${IPS[n3]}"

# ---- pools per trunk: entries are subports ahead of time ----
# npool: the guest's pool ports in Neutron ("ID:OWNER" sorted): their
# description is the pool's key and the guest's name.
npool() {
	nq GET "/ports?fields=id&fields=description&fields=device_owner" | python3 -c '
import json, sys
print(" ".join(sorted("%s:%s" % (p["id"], p["device_owner"]) for p in json.load(sys.stdin)["ports"]
                      if p["description"].endswith(" @ " + sys.argv[1]))))' "$P-guest"
}
POOL_CONF=$(guest_conf 9696 | sed 's/^enabled = false$/enabled = true\nports_pool_min = 2\nports_pool_batch = 2/')
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd restarts in the guest with pools" guest_kuryrd "$VMDIR" "$POOL_CONF"
# The trunk's revision_number: Neutron bumps it once per write of the
# trunk (an add_subports, then ML2/OVN's status ACTIVE).
trunk_rev() { nq GET "/trunks/$TRUNK" | pyj 'd["trunk"]["revision_number"]'; }
rev0=$(trunk_rev)
gx "kuryrctl pool populate $NET1" >/dev/null
for _ in $(seq 100); do [ "$(npool | tr ' ' '\n' | grep -c ':trunk:subport$')" -ge 2 ] && break; sleep 0.3; done
check_eq "Neutron: the pool's two entries are subports of the trunk" 2 "$(npool | tr ' ' '\n' | grep -c ':trunk:subport$')"
# One add_subports for the batch: at most 2 writes; one each would be 3
# by now (add, ACTIVE, add) and 4 in the end.
check "... added in one add_subports (trunk revision $rev0 -> $(trunk_rev))" test $(($(trunk_rev) - rev0)) -le 2
pool_ids=$(npool | tr ' ' '\n' | cut -d: -f1)
check "... each under a VLAN id of its own on the trunk" \
	test "$(for id in $pool_ids; do subports | tr ' ' '\n' | grep "^$id:"; done | cut -d: -f2 | sort -u | grep -c .)" = 2
# Neutron adds an add_subports' list all or none (one DB transaction),
# which a failed batch's cleanup relies on: with its second id taken, the
# list's first port is not left on the trunk either.
net1_id=$(nq GET "/networks?name=$NET1" | pyj 'd["networks"][0]["id"]')
read -r aon1 aon2 <<<"$(for i in 1 2; do
	nq POST /ports "{\"port\":{\"network_id\":\"$net1_id\",\"name\":\"$P-aon$i\"}}" | pyj 'd["port"]["id"]'
done | tr '\n' ' ')"
sub() { printf '{"port_id":"%s","segmentation_type":"vlan","segmentation_id":%s}' "$1" "$2"; }
nq PUT "/trunks/$TRUNK/add_subports" \
	"{\"sub_ports\":[$(sub "$aon1" 4000),$(sub "$aon2" "$(subports | tr ' ' '\n' | head -1 | cut -d: -f2)")]}" >/dev/null 2>&1
check_eq "Neutron refuses an add_subports whose second VLAN id is taken" 1 "$?"
check_eq "... and leaves its first port off the trunk: all or none" "" "$(subports | tr ' ' '\n' | grep "^$aon1:")"
for id in $aon1 $aon2; do nq DELETE "/ports/$id" >/dev/null; done
gpod np
gcni ADD np "$NET1"
check_eq "nested ADD from the pool" 0 "$RC"
NP_PORT=$(jq1 '["id"]' <<<"$(nport "$(jget '["interfaces"][1]["mac"]')")")
check "the container got one of the pool's subports" grep -qw "$NP_PORT" <<<"$pool_ids"
check "the pooled nested container reaches the VM" gx "ip netns exec $P-np ping -c 2 -W 5 $VM_IP"
for _ in $(seq 30); do
	dev=$(nq GET "/ports/$NP_PORT" | jq1 '["port"]["device_id"]')
	[ -n "$dev" ] && break
	sleep 0.2
done
check_eq "Neutron: the pooled subport records its container (device_id)" "$P-np" "$dev"
gcni DEL np "$NET1"
check_eq "nested DEL of the pooled container" 0 "$RC"
check "... its subport stays on the trunk for the pool" grep -q "^$NP_PORT:" <<<"$(subports | tr ' ' '\n')"
for _ in $(seq 100); do
	[ "$(gx "kuryrctl -o json pool list" | python3 -c 'import json,sys; print(sum(p["creating"] for p in json.load(sys.stdin)))')" = 0 ] && break
	sleep 0.3
done
before=$(npool)
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd restarts in the guest with pools" guest_kuryrd "$VMDIR" "$POOL_CONF"
check_eq "after the restart the pool is rebuilt from the trunk's subports" \
	"$(wc -w <<<"$before") ready" \
	"$(gx "kuryrctl -o json pool list" | python3 -c 'import json,sys; print(sum(p["ready"] for p in json.load(sys.stdin)), "ready")')"
check_eq "... with the same ports" "$before" "$(npool)"
gx "kuryrctl pool free $NET1" >/dev/null
for _ in $(seq 50); do [ -z "$(npool)" ] && break; sleep 0.3; done
check_eq "pool free deletes the pool's subports and ports" "" "$(npool)"
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd restarts in the guest without pools" guest_kuryrd "$VMDIR" "$(guest_conf 9696)"

# ---- Neutron unreachable from the guest: error 11, nothing left ----
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd starts in the guest with Neutron where nothing forwards" \
	guest_kuryrd "$VMDIR" "$(guest_conf 9697)"
gpod n9
before=$(all_ports)
gcni ADD n9 "$NET1"
check_eq "nested ADD without Neutron: CNI error 11" "1 11" "$RC $(jget '["code"]' 2>/dev/null)"
check_eq "... nothing in the pod netns" "lo" "$(glinks n9)"
check_eq "... no VLAN device anywhere in the guest but n2's and n3's" "$P-n2 $P-n3" \
	"$(gx 'for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type vlan | grep -q . && echo $n; done; ip -o link show type vlan' | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "... and no new port in Neutron" "$before" "$(all_ports)"
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd starts in the guest with Neutron again" guest_kuryrd "$VMDIR" "$(guest_conf 9696)"

# ---- the guest's kuryrd SIGKILLed in the middle of an ADD ----
# With the VM's tap off the bridge its port goes DOWN, and a new subport
# takes its parent's status: the ADD waits for ACTIVE, with its subport
# and its device made, and is killed there.
vm_status() { nq GET "/ports/$VM_PORT" | jq1 '["port"]["status"]'; }
ctl vm unplug "$TAP" >/dev/null
for _ in $(seq 50); do [ "$(vm_status)" = DOWN ] && break; sleep 0.2; done
check_eq "Neutron: with its tap unplugged the VM's port is DOWN" DOWN "$(vm_status)"
before=$(all_ports) trunk_before=$(subports)
gpod nk
gx "(printf '%s' '$(gnetconf "$NET1")' | CNI_COMMAND=ADD CNI_CONTAINERID=$P-nk CNI_IFNAME=eth0 \
	CNI_NETNS=/run/netns/$P-nk CNI_PATH=/usr/bin kuryr-cni >/tmp/addk.out 2>&1; echo \$? >/tmp/addk.rc) \
	</dev/null >/dev/null 2>&1 3>&- &"
for _ in $(seq 100); do [ "$(subports)" != "$trunk_before" ] && break; sleep 0.2; done
NK_PORT=$(LC_ALL=C comm -13 <(tr ' ' '\n' <<<"$trunk_before") <(subports | tr ' ' '\n') | cut -d: -f1)
check "the ADD got as far as its subport on the trunk ($NK_PORT)" test -n "$NK_PORT"
for _ in $(seq 50); do gx "ip -n $P-nk -o link show type vlan" | grep -q . && break; sleep 0.2; done
check "... and its VLAN device in the pod" gx "ip -n $P-nk -o link show type vlan | grep -q ."
check_eq "... its port waiting DOWN" DOWN "$(nq GET "/ports/$NK_PORT" | jq1 '["port"]["status"]')"
gx 'kill -KILL $(cat /run/kuryrd.pid)' >/dev/null
for _ in $(seq 50); do gx "test -f /tmp/addk.rc" && break; sleep 0.2; done
check "kuryr-cni fails when the guest's kuryrd dies under it" gx 'test "$(cat /tmp/addk.rc)" != 0'
check "kuryrd restarts in the guest after SIGKILL" guest_kuryrd "$VMDIR" "$(guest_conf 9696)"
check_eq "the half-done ADD is rolled back: its port is gone from Neutron" "$before" "$(all_ports)"
check_eq "... and nothing of it is left on the trunk" "$trunk_before" "$(subports)"
gcni DEL nk "$NET1"
check_eq "the runtime's DEL after the failed ADD succeeds" 0 "$RC"
check_eq "... and takes the VLAN device out of the pod" "lo" "$(glinks nk)"
check_eq "... and the guest's store has no row of it" "" "$(gx "kuryrctl -o json attachment list" | grep -o "$P-nk")"
check_eq "... and Neutron and the trunk are as before the ADD" "$before $trunk_before" "$(all_ports) $(subports)"
check "kuryrctl vm plug the VM's tap again" ctl vm plug "$TAP" "$VM_PORT"
check "after the restarts nested n3 still reaches the bare-metal container" \
	gx "for i in 1 2 3; do ip netns exec $P-n3 ping -c 1 -W 3 $C1_IP && exit 0; done; exit 1"

# ---- one service on Octavia: a container, the VM and a nested container behind one VIP ----
# Octavia's OVN provider; NET1 is on router $P-r1 already (a router's port
# answers ARP for the VIP).
check "loadbalancer create lb1 --network $NET1 (Octavia, provider ovn)" ctl loadbalancer create lb1 --network "$NET1"
VIP=$(lbj lb1 'd["vip"]')
LB_ID=$(lbj lb1 'd["id"]')
check_eq "Octavia: lb1, provider ovn, ACTIVE, its VIP on $NET1's subnet" \
	"lb1 ovn ACTIVE 10.94.0" \
	"$(oq "/loadbalancers/$LB_ID" | pyj '" ".join(d["loadbalancer"][k] for k in ("name", "provider", "provisioning_status"))') ${VIP%.*}"
check "pool-create lb1 web --protocol tcp --port 8080" \
	ctl loadbalancer pool-create lb1 web --protocol tcp --port 8080
POOL_ID=$(ctl -o json loadbalancer pool-show web | pyj 'd["id"]')
lbserve c1 tcp 8080
gx "printf '#!/bin/sh\nread l; echo vm\n' >/tmp/vm.sh && printf '#!/bin/sh\nread l; echo n3\n' >/tmp/n3.sh &&
	chmod +x /tmp/vm.sh /tmp/n3.sh
	timeout 300 nc -ll -p 8080 -e /tmp/vm.sh >/dev/null 2>&1 </dev/null &
	ip netns exec $P-n3 timeout 300 nc -ll -p 8080 -e /tmp/n3.sh >/dev/null 2>&1 </dev/null &"
check "member-add web --container $P-c1 (bare metal)" ctl loadbalancer member-add web --container "$P-c1"
check "member-add web --port $P-vm1 (the VM, a trunk's parent)" ctl loadbalancer member-add web --port "$P-vm1"
check "member-add web --address ${IPS[n3]} (the nested container, a subport)" \
	ctl loadbalancer member-add web --address "${IPS[n3]}"
NET1_SUBNET=$(nq GET "/subnets?network_id=$net1_id" | pyj 'd["subnets"][0]["id"]')
check_eq "Octavia: the pool has three members, the container's, the VM's and the nested container's addresses, on port 8080 of $NET1's subnet" \
	"$(printf '%s:8080\n' "$C1_IP" "$VM_IP" "${IPS[n3]}" | LC_ALL=C sort | paste -sd' ') $NET1_SUBNET" \
	"$(oq "/pools/$POOL_ID/members" | pyj '" ".join(sorted("%s:%d" % (m["address"], m["protocol_port"]) for m in d["members"])) + " " + " ".join(sorted(set(m["subnet_id"] for m in d["members"])))')"
pod c3
cni ADD "$P-c3" eth0 "$NSPATH" "$(netconf "$NET1")"
check_eq "a client container joins $NET1" 0 "$RC"
# A veth left to offload its TCP checksums would have the userspace
# datapath NAT them into wrong ones, which the VM's NIC drops.
check_eq "the client's eth0 does not offload transmit checksums" off \
	"$(ip netns exec "$P-c3" python3 "$SRC/tests/e2e/lb-probe.py" txcsum eth0)"
# The provider programs OVN after Octavia's ACTIVE: a moment more.
until_eq "c1 n3 vm" 60 who c3 tcp "$VIP" 8080 10 1 >/dev/null
got=$(hits c3 tcp "$VIP" 8080 30 2)
check_eq "30 connections from a client to VIP:8080: the container, the VM and the nested container all answer" \
	"c1 n3 vm" "$(spread "$got")"
diag <<<"spread: $got"
check "loadbalancer delete lb1" ctl loadbalancer delete lb1
check_eq "Octavia: no load balancer left" "0" "$(oq /loadbalancers | pyj 'len(d["loadbalancers"])')"
check_eq "the VIP answers no more" "none:3" "$(hits c3 tcp "$VIP" 8080 3 0.5)"
lbstop c1 tcp
cni DEL "$P-c3" eth0 "/run/netns/$P-c3" "$(netconf "$NET1")" >/dev/null
check_eq "DEL of the client container" 0 "$RC"

# ---- all gone ----
for n in n2 n3; do
	gcni DEL $n "$NET1"
	check_eq "nested DEL $n" 0 "$RC"
	check_eq "Neutron: $n's port is gone" "" "$(nq GET "/ports?id=${PORT[$n]}" | jq1 '["ports"]' | tr -d '[]')"
done
check_eq "Neutron: the trunk keeps the operator's subport only" "$OP1:$t1" "$(subports)"
check_eq "in the guest: no VLAN device anywhere" "" \
	"$(gx 'ip -o link show type vlan; for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type vlan; done')"
check "the guest's kuryrd exits cleanly on SIGTERM" guest_kuryrd_stop "$VMDIR"
ctl trunk remove-subport "$P-trunk" "$P-op1" >/dev/null
ctl port delete "$P-op1" >/dev/null
cni DEL "$P-c1" eth0 "/run/netns/$P-c1" "$(netconf "$NET1")" >/dev/null
check_eq "DEL of the bare-metal container" 0 "$RC"
router_down() { ctl router remove-subnet "$P-r1" "$NET1" && ctl router remove-subnet "$P-r1" "$NET2" && ctl router delete "$P-r1"; }
check "kuryrctl router remove-subnet (both) and delete" router_down
cni DEL "$P-c2" eth0 "/run/netns/$P-c2" "$(netconf "$NET2")" >/dev/null
check_eq "DEL of the bare-metal container on $NET2" 0 "$RC"
ctl vm unplug "$TAP" >/dev/null
"$SRC/scripts/vm.sh" stop "$VMDIR" >/dev/null
check "kuryrctl trunk delete" ctl trunk delete "$P-trunk"
check "kuryrctl port delete of the VM's port" ctl port delete "$P-vm1"
for net in "$NET1" "$NET2"; do ctl network delete "$net" >/dev/null; done
check_eq "Neutron: no port, trunk, router or network of the test left" "0 0 0 0" \
	"$(nq GET /ports | pyj 'len(d["ports"])') $(nq GET /trunks | pyj 'len(d["trunks"])') $(nq GET /routers | pyj 'len(d["routers"])') $(nq GET /networks | pyj "len([n for n in d['networks'] if n['name'].startswith('$P-')])")"
assert_clean "end"
