#!/bin/bash
# Containers nested in a real VM (QEMU) with binding driver nested-macvlan,
# on backend ovn: no trunk, no VLAN. kuryrd and kuryr-cni run in the guest
# and reach OVN Northbound over the VM's management NIC (scripts/vm.sh
# VM_FORWARD). Each nested container gets a port of its own on the VM's
# network (its address and MAC), a macvlan (bridge mode) of the guest's
# eth0 with that MAC in its netns, and its IP and MAC as an allowed address
# pair of the VM's port, which port security then lets through. Proven
# with packets: nested containers reach each other, a bare-metal container
# and the VM; one that sends from an address or a MAC not its own gets
# nothing through (seen at the receiver); DEL takes its pair only; another
# network than the VM's and an MTU above the NIC's are refused with
# nothing left.
. "$(dirname "$0")/lib.sh"
env_up
_servers=()
trap 'for p in "${_servers[@]}"; do kill "$p" 2>/dev/null; done; env_down' EXIT

# gcni COMMAND CONTAINERID NETNS CONF: kuryr-cni in the guest; sets OUT and RC.
gcni() {
	OUT=$(gx "printf '%s' '$4' | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/$3 CNI_PATH=/usr/bin kuryr-cni")
	RC=$?
}
glinks() { gx "ip -n $1 -o link show" | awk -F': ' '{print $2}' | cut -d@ -f1 | tr '\n' ' ' | sed 's/ $//'; }
ports() { nbctl --bare --columns=name list Logical_Switch_Port | grep . | sort; }
# vm_pairs: the VM's port's allowed address pairs as kuryrctl shows them, sorted.
vm_pairs() {
	ctl -o json port show vm1 | python3 -c '
import json,sys; p=json.load(sys.stdin)
print(" ".join(sorted(x["ip_address"] + "," + x["mac_address"] for x in p["allowed_address_pairs"])))'
}
# lsp COLUMN PORT: a set column of the port's row, its values sorted, "|" between.
lsp() {
	nbctl --format=json --columns="$1" list Logical_Switch_Port "$2" | python3 -c '
import json,sys
v = json.load(sys.stdin)["data"][0][0]
v = v[1] if isinstance(v, list) and v[0] == "set" else [v]
print("|".join(sorted(v)))'
}
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | paste -sd'|'; }

for n in "net1 10.95.0.0/24" "net2 10.95.1.0/24"; do
	read -r net cidr <<<"$n"
	ctl network create "$net" --subnet "$cidr" >/dev/null || not_ok "kuryrctl network create $net"
done
ctl network create big --subnet 10.95.9.0/24 --mtu 9000 >/dev/null || not_ok "kuryrctl network create big"

# ---- the VM, on net1, and kuryrd in its guest ----
OUT=$(ctl -o json port create --network net1 --name vm1 --device-id vm-one); RC=$?
check_eq "kuryrctl port create for the VM" 0 "$RC"
VM_MAC=$(jget '["mac"]')
VM_IP=$(jget '["ip"]')
vm_boot "$VM_MAC" "6641=unix:$RUN/ovn/nb.sock"
check "kuryrctl vm plug the VM's tap" ctl vm plug "$TAP" vm1
VM_OWN=$(lsp addresses vm1) # "MAC dynamic"
check "the guest takes its port's address on eth0" gx "ip link set eth0 up && ip addr add $VM_IP/24 dev eth0"
GUEST_CONF=$(guest_conf_ovn nested-macvlan "$P-guest" debug 20)
check "kuryrd starts in the guest (nested-macvlan, NB over the management NIC)" \
	guest_kuryrd "$VMDIR" "$GUEST_CONF"

# ---- a bare-metal container on the VM's network ----
pod c1
cni ADD "$P-c1" eth0 "$NSPATH" "$(netconf net1)"
check_eq "a bare-metal container joins net1" 0 "$RC"
C1_IP=$(jget '["ips"][0]["address"]')
C1_IP=${C1_IP%/*}
C1_MAC=$(jget '["interfaces"][1]["mac"]')

# ---- two nested containers on net1 ----
gx "for n in n1 n2 nx nb; do ip netns add \$n && ip -n \$n link set lo up; done"
declare -A IP MAC
for n in n1 n2; do
	gcni ADD "$P-$n" "$n" "$(gnetconf net1)"
	check_eq "nested ADD $n succeeds" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
	IP[$n]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	MAC[$n]=$(jget '["interfaces"][1]["mac"]')
done
check_eq "the VM's port lists both containers as allowed address pairs (kuryrctl port show)" \
	"$(printf '%s\n' "${IP[n1]},${MAC[n1]}" "${IP[n2]},${MAC[n2]}" | sort | paste -sd' ')" "$(vm_pairs)"
check_eq "OVN NB: the VM's port_security lets each container's MAC and IP through" \
	"$(sorted "$VM_MAC $VM_IP" "${MAC[n1]} ${IP[n1]}" "${MAC[n2]} ${IP[n2]}")" "$(lsp port_security vm1)"
check_eq "OVN NB: the VM's addresses hold the containers' MACs" \
	"$(sorted "$VM_OWN" "${MAC[n1]}" "${MAC[n2]}")" "$(lsp addresses vm1)"
declare -A LSP
for n in n1 n2; do
	LSP[$n]=$(nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-$n\"")
	check_eq "OVN NB: $n's own port, reached only through the VM's, is type external, behind vm1" \
		"external vm1" "$(nbctl get Logical_Switch_Port "${LSP[$n]}" type) $(nbctl get Logical_Switch_Port "${LSP[$n]}" external_ids:\"kuryr:behind\")"
	check_eq "... and keeps its address" "\"${MAC[$n]} ${IP[$n]}\"" "$(nbctl get Logical_Switch_Port "${LSP[$n]}" dynamic_addresses)"
done
check_eq "OVN SB: only the VM's port takes frames for n1's MAC (one L2 lookup)" "outport = \"vm1\"; output;" \
	"$(ovn-sbctl --db="unix:$RUN/ovn/sb.sock" lflow-list net1 | grep ls_in_l2_lkup | grep "eth.dst == ${MAC[n1]})" | sed 's/.*action=(\(.*\))$/\1/')"
DEV=$(gx "ip -n n1 -d -o link show eth0")
check "in the guest: n1's eth0 is a bridge-mode macvlan of the NIC with its port's MAC" \
	grep -Eq "link/ether ${MAC[n1]} .*macvlan mode bridge " <<<"$DEV"
check_eq "in the guest: no macvlan in the guest's own netns" "" "$(gx "ip -o link show type macvlan")"
check_eq "OVN NB: no port is a child of the VM's (no trunk)" "" \
	"$(nbctl --bare --columns=name find Logical_Switch_Port parent_name=vm1)"

# ---- packets ----
check "nested n1 reaches nested n2" gx "ip netns exec n1 ping -c 2 -W 5 ${IP[n2]}"
check "nested n1 reaches the bare-metal container" gx "ip netns exec n1 ping -c 2 -W 5 $C1_IP"
check "the bare-metal container reaches nested n2" ip netns exec "$P-c1" busybox ping -c 2 -W 5 "${IP[n2]}"
# The NIC and its macvlans never talk: the kernel keeps the NIC out of its
# macvlans' bridge, and the frames would have to come back through the
# VM's port, which OVN never does (not where they came in).
check "the VM on its NIC's address does not reach nested n2 (macvlan)" \
	bash -c "! '$SRC/scripts/vm.sh' exec '$VMDIR' 'ping -c 1 -W 2 ${IP[n2]}'"
check "nested n1 does not reach the VM's NIC address" \
	bash -c "! '$SRC/scripts/vm.sh' exec '$VMDIR' 'ip netns exec n1 ping -c 1 -W 2 $VM_IP'"
# As macvlans always need: the VM talks to its containers from a macvlan
# of its own, in the same bridge.
VM_SHIM=10.95.0.241
gx "ip link add link eth0 name mvhost type macvlan mode bridge && ip addr add $VM_SHIM/32 dev mvhost &&
	ip link set mvhost up && ip route add ${IP[n1]}/32 dev mvhost && ip route add ${IP[n2]}/32 dev mvhost"
check "the VM reaches nested n2 from an address on a macvlan of its own" gx "ping -c 2 -W 5 ${IP[n2]}"
check "nested n1 reaches the VM there" gx "ip netns exec n1 ping -c 2 -W 5 $VM_SHIM"
check "the bare-metal container reaches the VM on its NIC" ip netns exec "$P-c1" busybox ping -c 2 -W 5 "$VM_IP"

# ---- anti-spoofing, seen at the receiver ----
# c1 logs the source of every ICMP echo request it gets.
ip netns exec "$P-c1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
print("ready", flush=True)
while True:
    d = s.recv(2048)
    ihl = (d[0] & 15) * 4
    if d[ihl] == 8:
        print(socket.inet_ntoa(d[12:16]), d[ihl + 4:ihl + 8].hex(), flush=True)' >"$T/icmp.log" 2>&1 &
_servers+=($!)
for _ in $(seq 50); do grep -q ready "$T/icmp.log" && break; sleep 0.05; done
# n1 knows c1's MAC for good: a drop is port security's check of the IP
# header, not of an ARP.
gx "ip -n n1 neigh replace $C1_IP lladdr $C1_MAC dev eth0 nud permanent"
# seen SRC: whether c1 got an echo request from SRC.
seen() { grep -q "^$1 " "$T/icmp.log" && echo arrived || echo dropped; }
gx "ip netns exec n1 ping -c 2 -W 2 $C1_IP" >/dev/null
check_eq "c1 gets n1's echo requests from n1's own address" arrived "$(seen "${IP[n1]}")"
SPOOF=10.95.0.250
gx "ip -n n1 addr add $SPOOF/32 dev eth0; ip netns exec n1 ping -c 3 -W 1 -I $SPOOF $C1_IP" >/dev/null
check_eq "n1 sending from a foreign address ($SPOOF): nothing reaches c1" dropped "$(seen "$SPOOF")"
gx "ip -n n1 addr del $SPOOF/32 dev eth0; ip -n n1 addr add ${IP[n2]}/32 dev eth0
	ip netns exec n1 ping -c 3 -W 1 -I ${IP[n2]} $C1_IP" >/dev/null
check_eq "n1 sending from n2's address with its own MAC: nothing reaches c1" dropped "$(seen "${IP[n2]}")"
gx "ip -n n1 addr del ${IP[n2]}/32 dev eth0"
: >"$T/icmp.log.mark"
before=$(grep -c "^${IP[n1]} " "$T/icmp.log")
gx "ip -n n1 link set eth0 address 02:00:5e:95:00:01
	ip netns exec n1 ping -c 3 -W 1 $C1_IP
	ip -n n1 link set eth0 address ${MAC[n1]}" >/dev/null
check_eq "n1 sending from its own address under another MAC: nothing reaches c1" "$before" \
	"$(grep -c "^${IP[n1]} " "$T/icmp.log")"
check "... and with its MAC back it reaches c1 again" gx "ip netns exec n1 ping -c 2 -W 5 $C1_IP"

# ---- refused: another network than the VM's; an MTU above the NIC's ----
before=$(ports)
pairs_before=$(vm_pairs)
gcni ADD "$P-nx" nx "$(gnetconf net2)"
check_eq "nested ADD on another network than the VM's is CNI error 7" 7 "$(jget '["code"]' 2>/dev/null)"
check "... saying the network is not the VM's" grep -q "network net2 is not the VM's" <<<"$OUT"
check_eq "... in one line" 1 "$(jget '["details"]' | grep -c .)"
check_eq "... and nothing is left in NB" "$before" "$(ports)"
check_eq "... nor in the VM's pairs" "$pairs_before" "$(vm_pairs)"
check_eq "... nor in the pod netns" "lo" "$(glinks nx)"
gcni ADD "$P-nb" nb "$(gnetconf big)"
check_eq "a network MTU above the VM's NIC is CNI error 7" 7 "$(jget '["code"]' 2>/dev/null)"
check "... naming the NIC and both MTUs" grep -q "9000 is above eth0" <<<"$OUT"
check_eq "... and nothing is left in NB" "$before" "$(ports)"
check_eq "... nor in the pod netns" "lo" "$(glinks nb)"

# ---- DEL takes its pair only ----
ctl port set vm1 --allowed-address 10.95.0.240 >/dev/null
check_eq "an operator's pair joins the containers'" \
	"$(printf '%s\n' "${IP[n1]},${MAC[n1]}" "${IP[n2]},${MAC[n2]}" "10.95.0.240,$VM_MAC" | sort | paste -sd' ')" \
	"$(vm_pairs)"
gcni DEL "$P-n1" n1 "$(gnetconf net1)"
check_eq "nested DEL n1 succeeds" 0 "$RC"
check_eq "the VM's port keeps n2's pair and the operator's" \
	"$(printf '%s\n' "${IP[n2]},${MAC[n2]}" "10.95.0.240,$VM_MAC" | sort | paste -sd' ')" "$(vm_pairs)"
check_eq "OVN NB: n1's MAC is out of the VM's addresses" "$(sorted "$VM_OWN" "${MAC[n2]}")" \
	"$(lsp addresses vm1)"
check_eq "in the guest: n1 has only lo" "lo" "$(glinks n1)"
check "nested n2 still reaches the bare-metal container" gx "ip netns exec n2 ping -c 2 -W 5 $C1_IP"
ctl port set vm1 --no-allowed-address --allowed-address 10.95.0.240 >/dev/null
check_eq "n2's pair taken off the VM's port (kuryrctl port set): n2's port is plain again" '"" none' \
	"$(nbctl get Logical_Switch_Port "${LSP[n2]}" type) $(nbctl get Logical_Switch_Port "${LSP[n2]}" external_ids:\"kuryr:behind\" 2>/dev/null || echo none)"
ctl port set vm1 --allowed-address "${IP[n2]},${MAC[n2]}" >/dev/null
check_eq "... and put back: external again" external "$(nbctl get Logical_Switch_Port "${LSP[n2]}" type)"
gcni DEL "$P-n2" n2 "$(gnetconf net1)"
check_eq "nested DEL n2 succeeds" 0 "$RC"
check_eq "the VM's port keeps the operator's pair only" "10.95.0.240,$VM_MAC" "$(vm_pairs)"
ctl port set vm1 --no-allowed-address >/dev/null
check_eq "OVN NB: the VM's port_security is its own MAC and IP again" "$VM_MAC $VM_IP" \
	"$(lsp port_security vm1)"
gx "ip link del mvhost"
check_eq "in the guest: no macvlan anywhere" "" \
	"$(gx 'ip -o link show type macvlan; for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type macvlan; done')"

# ---- all gone ----
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
cni DEL "$P-c1" eth0 /run/netns/$P-c1 "$(netconf net1)"
ctl vm unplug "$TAP"
"$SRC/scripts/vm.sh" stop "$VMDIR"
ctl port delete vm1
assert_clean "end"
