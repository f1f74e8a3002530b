#!/bin/bash
# Containers nested in a real VM (QEMU) with binding driver nested-macvlan,
# on backend neutron: a real neutron-server (ML2/OVN). The VM's port is
# bound to this node by kuryrctl vm plug, as Nova would bind it; kuryrd and
# kuryr-cni run in the guest and reach Neutron's API over the VM's
# management NIC (scripts/vm.sh VM_FORWARD). Each nested container gets a Neutron port of its own that
# only reserves its address (made with no binding:host_id; it never turns
# ACTIVE, and ADD does not wait for it), a macvlan (bridge mode) of the
# guest's eth0 in its netns, and its IP and the macvlan's MAC as an
# allowed address pair of the VM's port (a PUT with If-Match on the
# port's revision_number). ML2/OVN writes the NB rows: the pairs go into
# the VM's port_security and their MACs into its addresses, and the
# container's own port, its IP now in another port's pairs, becomes a
# virtual port behind the VM's (type virtual, virtual-parents) that keeps
# its MAC in its addresses. Two ports would then claim one MAC, and
# frames for it would go to either: so the macvlan's MAC is not the
# port's but one derived from it (first octet ^ 4), which only the VM's
# port claims. Proven with packets: nested containers reach each other
# and a bare-metal container, which reaches them; one that sends from an
# address or a MAC not its own gets nothing through (seen at the
# receiver); DEL takes its pair only, and its port; another network than
# the VM's is refused (CNI error 7) with nothing left in Neutron.
NEUTRON=true
BACKEND=neutron
. "$(dirname "$0")/lib.sh"
env_up
_servers=()
trap 'for p in "${_servers[@]}"; do kill "$p" 2>/dev/null; done; env_down' EXIT
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
glinks() { gx "ip -n $P-$1 -o link show" | awk -F': ' '{print $2}' | cut -d@ -f1 | tr '\n' ' ' | sed 's/ $//'; }
# nport CONTAINER: Neutron's port of the container (its device_id), or "".
nport() { nq GET "/ports?device_id=$1" | jq1 '["ports"][0]' 2>/dev/null; }
# apart MAC: MAC with bit 2 of its first octet flipped.
apart() { printf '%02x:%s' $((0x${1%%:*} ^ 4)) "${1#*:}"; }
sbctl() { ovn-sbctl --db="unix:$RUN/ovn/sb.sock" --timeout=10 "$@"; }
# vm_pairs: the VM's port's allowed address pairs in Neutron, "IP,MAC" sorted.
vm_pairs() {
	nq GET "/ports/$VM_PORT" | pyj '" ".join(sorted(x["ip_address"] + "," + x["mac_address"] for x in d["port"]["allowed_address_pairs"]))'
}
# lsp COLUMN PORT: a set column of the port's NB row, its values sorted, "|" between.
lsp() {
	nbctl --format=json --columns="$1" list Logical_Switch_Port "$2" | python3 -c '
import json,sys
v = json.load(sys.stdin)["data"][0][0]
v = v[1] if isinstance(v, list) and v[0] == "set" else [v]
print("|".join(sorted(v)))'
}
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | paste -sd'|'; }

for n in "net1 10.93.0.0/24" "net2 10.93.1.0/24"; do
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
vm_boot "$VM_MAC" "9696=tcp:127.0.0.1:19696"
# vm plug binds the port here first, as Nova does before os-vif plugs.
check "kuryrctl vm plug the VM's tap" ctl vm plug "$TAP" "$VM_PORT"
check_eq "Neutron: vm plug bound the VM's port to this node, for ovs" "$HOST ovs" \
	"$(nq GET "/ports/$VM_PORT" | pyj 'd["port"]["binding:host_id"] + " " + d["port"]["binding:vif_type"]')"
check_eq "Neutron: the VM's port is ACTIVE" ACTIVE "$(nq GET "/ports/$VM_PORT" | jq1 '["port"]["status"]')"
check "the guest takes its port's address on eth0" gx "ip link set eth0 up && ip addr add $VM_IP/24 dev eth0"
GUEST_CONF="[DEFAULT]
backend = neutron
host = $P-guest
log_level = debug
[neutron]
auth_type = none
endpoint_override = http://10.0.2.100:9696
timeout = 5
[neutron_defaults]
project = kuryr-e2e
[binding]
driver = nested-macvlan
link_iface = eth0
[daemon]
socket = $GSOCK
state_dir = /run/kuryr-state
port_up_timeout = 20
[vif_pool]
enabled = false"
check "kuryrd starts in the guest (backend neutron, nested-macvlan)" guest_kuryrd "$VMDIR" "$GUEST_CONF"

# ---- a bare-metal container on the VM's network ----
pod c1
cni ADD "$P-c1" eth0 "$NSPATH" "$(netconf "$NET1")"
check_eq "a bare-metal container joins $NET1" 0 "$RC"
C1_IP=$(jget '["ips"][0]["address"]')
C1_IP=${C1_IP%/*}
C1_MAC=$(jget '["interfaces"][1]["mac"]')

# ---- two nested containers ----
declare -A PORT IPS MAC PMAC LSP_ROW
for n in n1 n2; do
	gpod $n
	t0=$(date +%s%N)
	gcni ADD $n "$NET1"
	ms=$((($(date +%s%N) - t0) / 1000000))
	check_eq "nested ADD $n succeeds" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
	check "... at once: not waiting for a port that is bound nowhere to become ACTIVE (${ms} ms)" \
		test "$ms" -lt 10000
	IPS[$n]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	MAC[$n]=$(jget '["interfaces"][1]["mac"]')
	port=$(nport "$P-$n")
	PORT[$n]=$(jq1 '["id"]' <<<"$port")
	PMAC[$n]=$(jq1 '["mac_address"]' <<<"$port")
	check_eq "Neutron: $n's port has the container's IP and is not bound (vif_type unbound, DOWN)" \
		"${IPS[$n]} unbound DOWN" \
		"$(jq1 '["fixed_ips"][0]["ip_address"]' <<<"$port") $(jq1 '["binding:vif_type"]' <<<"$port") $(jq1 '["status"]' <<<"$port")"
	# ML2/OVN writes the chassis that claimed the virtual port (the VM's)
	# as its host; never the guest's, which no chassis has.
	h=$(jq1 '["binding:host_id"]' <<<"$port")
	check "Neutron: $n's port is not bound to the guest (host \"$h\")" test "$h" = "" -o "$h" = "$HOST"
	check_eq "the CNI result's MAC is the port's with its first octet ^ 4" "$(apart "${PMAC[$n]}")" "${MAC[$n]}"
done
check_eq "Neutron: the VM's port has both containers as allowed address pairs (IP, the macvlan's MAC)" \
	"$(printf '%s\n' "${IPS[n1]},${MAC[n1]}" "${IPS[n2]},${MAC[n2]}" | sort | paste -sd' ')" "$(vm_pairs)"
check_eq "OVN NB (ML2/OVN's row): the VM's port_security lets each container's MAC and IP through" \
	"$(sorted "$VM_MAC $VM_IP" "${MAC[n1]} ${IPS[n1]}" "${MAC[n2]} ${IPS[n2]}")" "$(lsp port_security "$VM_PORT")"
check_eq "OVN NB: the VM's addresses hold the containers' MACs" \
	"$(sorted "$VM_MAC $VM_IP" "${MAC[n1]}" "${MAC[n2]}")" "$(lsp addresses "$VM_PORT")"
for n in n1 n2; do
	check_eq "OVN NB: $n's port is ML2/OVN's virtual port for its IP behind the VM's" \
		"virtual ${IPS[$n]} $VM_PORT" \
		"$(nbctl get Logical_Switch_Port "${PORT[$n]}" type) $(nbctl get Logical_Switch_Port "${PORT[$n]}" options:virtual-ip | tr -d '"') $(nbctl get Logical_Switch_Port "${PORT[$n]}" options:virtual-parents | tr -d '"')"
	check_eq "... and keeps its own MAC, not the container's, in its addresses" "${PMAC[$n]} ${IPS[$n]}" \
		"$(lsp addresses "${PORT[$n]}")"
done
check_eq "OVN SB: only the VM's port takes frames for n1's MAC (one L2 lookup)" "outport = \"$VM_PORT\"; output;" \
	"$(sbctl lflow-list "$NET1" | grep ls_in_l2_lkup | grep "eth.dst == ${MAC[n1]})" | sed 's/.*action=(\(.*\))$/\1/')"
DEV=$(gx "ip -n $P-n1 -d -o link show eth0")
check "in the guest: n1's eth0 is a bridge-mode macvlan of the NIC with the container's MAC" \
	grep -Eq "link/ether ${MAC[n1]} .*macvlan mode bridge " <<<"$DEV"
check_eq "in the guest: no macvlan in the guest's own netns" "" "$(gx "ip -o link show type macvlan")"

# ---- packets ----
check "nested n1 reaches nested n2" gx "ip netns exec $P-n1 ping -c 2 -W 5 ${IPS[n2]}"
check "nested n1 reaches the bare-metal container" gx "ip netns exec $P-n1 ping -c 2 -W 5 $C1_IP"
check "the bare-metal container reaches nested n2" ip netns exec "$P-c1" busybox ping -c 2 -W 5 "${IPS[n2]}"
check_eq "... having learnt n2's address at the container's MAC" "${MAC[n2]}" \
	"$(ip -n "$P-c1" neigh show "${IPS[n2]}" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}')"
check "the bare-metal container reaches the VM on its NIC" ip netns exec "$P-c1" busybox ping -c 2 -W 5 "$VM_IP"
check_eq "OVN SB: ML2/OVN's virtual port of n2 is claimed behind the VM's port" "$VM_PORT" \
	"$(sbctl get Port_Binding "${PORT[n2]}" virtual_parent | tr -d '"')"

# ---- anti-spoofing, seen at the receiver ----
ip netns exec "$P-c1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print("ready", flush=True)
while True:
    d = s.recv(2048)
    ihl = (d[0] & 15) * 4
    if d[ihl] == 8:
        print(socket.inet_ntoa(d[12:16]), flush=True)' >"$T/icmp.log" 2>&1 &
_servers+=($!)
for _ in $(seq 50); do grep -q ready "$T/icmp.log" && break; sleep 0.05; done
gx "ip -n $P-n1 neigh replace $C1_IP lladdr $C1_MAC dev eth0 nud permanent"
seen() { grep -q "^$1\$" "$T/icmp.log" && echo arrived || echo dropped; }
gx "ip netns exec $P-n1 ping -c 2 -W 2 $C1_IP" >/dev/null
check_eq "c1 gets n1's echo requests from n1's own address" arrived "$(seen "${IPS[n1]}")"
SPOOF=10.93.0.250
gx "ip -n $P-n1 addr add $SPOOF/32 dev eth0; ip netns exec $P-n1 ping -c 3 -W 1 -I $SPOOF $C1_IP" >/dev/null
check_eq "n1 sending from a foreign address ($SPOOF): nothing reaches c1" dropped "$(seen "$SPOOF")"
gx "ip -n $P-n1 addr del $SPOOF/32 dev eth0; ip -n $P-n1 addr add ${IPS[n2]}/32 dev eth0
	ip netns exec $P-n1 ping -c 3 -W 1 -I ${IPS[n2]} $C1_IP" >/dev/null
check_eq "n1 sending from n2's address with its own MAC: nothing reaches c1" dropped "$(seen "${IPS[n2]}")"
gx "ip -n $P-n1 addr del ${IPS[n2]}/32 dev eth0"
before=$(grep -c "^${IPS[n1]}\$" "$T/icmp.log")
# Under its port's MAC, which is not in the VM's pairs.
gx "ip -n $P-n1 link set eth0 address ${PMAC[n1]}
	ip netns exec $P-n1 ping -c 3 -W 1 $C1_IP
	ip -n $P-n1 link set eth0 address ${MAC[n1]}" >/dev/null
check_eq "n1 sending from its own address under its Neutron port's MAC: nothing reaches c1" "$before" \
	"$(grep -c "^${IPS[n1]}\$" "$T/icmp.log")"
check "... and with the container's MAC back it reaches c1 again" gx "ip netns exec $P-n1 ping -c 2 -W 5 $C1_IP"

# ---- refused: another network than the VM's ----
gpod nx
before=$(all_ports)
pairs_before=$(vm_pairs)
gcni ADD nx "$NET2"
check_eq "nested ADD on another network than the VM's is CNI error 7" 7 "$(jget '["code"]' 2>/dev/null)"
check "... saying the network is not the VM's" grep -q "network $NET2 is not the VM's" <<<"$OUT"
check_eq "... and nothing is left in Neutron" "$before" "$(all_ports)"
check_eq "... nor in the VM's pairs" "$pairs_before" "$(vm_pairs)"
check_eq "... nor in the pod netns" "lo" "$(glinks nx)"

# ---- DEL takes its pair only, and its port ----
ctl port set "$VM_PORT" --allowed-address 10.93.0.240 >/dev/null
check_eq "an operator's pair joins the containers'" \
	"$(printf '%s\n' "${IPS[n1]},${MAC[n1]}" "${IPS[n2]},${MAC[n2]}" "10.93.0.240,$VM_MAC" | sort | paste -sd' ')" \
	"$(vm_pairs)"
gcni DEL n1 "$NET1"
check_eq "nested DEL n1 succeeds" 0 "$RC"
check_eq "Neutron: the VM's port keeps n2's pair and the operator's" \
	"$(printf '%s\n' "${IPS[n2]},${MAC[n2]}" "10.93.0.240,$VM_MAC" | sort | paste -sd' ')" "$(vm_pairs)"
check_eq "Neutron: n1's port is gone" "" "$(nq GET "/ports?id=${PORT[n1]}" | jq1 '["ports"]' | tr -d '[]')"
check_eq "OVN NB: n1's MAC is out of the VM's addresses" "$(sorted "$VM_MAC $VM_IP" "${MAC[n2]}")" \
	"$(lsp addresses "$VM_PORT")"
check_eq "in the guest: n1 has only lo" "lo" "$(glinks n1)"
check "nested n2 still reaches the bare-metal container" gx "ip netns exec $P-n2 ping -c 2 -W 5 $C1_IP"
gcni DEL n2 "$NET1"
check_eq "nested DEL n2 succeeds" 0 "$RC"
check_eq "Neutron: the VM's port keeps the operator's pair only" "10.93.0.240,$VM_MAC" "$(vm_pairs)"
check_eq "in the guest: no macvlan anywhere" "" \
	"$(gx 'ip -o link show type macvlan; for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type macvlan; done')"

# ---- all gone ----
check "the guest's kuryrd exits cleanly on SIGTERM" guest_kuryrd_stop "$VMDIR"
cni DEL "$P-c1" eth0 "/run/netns/$P-c1" "$(netconf "$NET1")" >/dev/null
check_eq "DEL of the bare-metal container" 0 "$RC"
ctl vm unplug "$TAP" >/dev/null
"$SRC/scripts/vm.sh" stop "$VMDIR" >/dev/null
check "kuryrctl port delete of the VM's port" ctl port delete "$VM_PORT"
for net in "$NET1" "$NET2"; do ctl network delete "$net" >/dev/null; done
check_eq "Neutron: no port or network of the test left" "0 0" \
	"$(nq GET /ports | pyj 'len(d["ports"])') $(nq GET /networks | pyj "len([n for n in d['networks'] if n['name'].startswith('$P-')])")"
assert_clean "end"
