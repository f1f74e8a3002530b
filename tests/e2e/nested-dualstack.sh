#!/bin/bash
# IPv6 for nested containers and for a VM beside containers, on backend
# ovn, in one real VM (QEMU). The VM's port is on a dual-stack network with
# a router: the guest's eth0 takes the port's IPv4 address statically and
# its IPv6 one by SLAAC from the router's advertisements (the guest
# kernel's own), and talks to a bare-metal container over IPv6, ping and
# TCP both ways. kuryrd in the guest, first with binding driver
# nested-vlan: a nested container on the dual-stack network has both
# addresses on its VLAN sub-interface, a default route per family, nothing
# tentative, and reaches another nested container, a bare-metal one and
# the VM itself over IPv6 (ping, TCP); one on an IPv6-only network has its
# IPv6 address only and reaches a bare-metal container there. Then with
# nested-macvlan: each container's addresses become allowed address pairs
# of the VM's port, one per family (OVN NB: one port_security entry with
# both), its own port is external behind the VM's, and nested containers
# reach others over IPv6; one on an IPv6-only network (the VM's VLAN
# interface on a subport there as the NIC) gets one IPv6 pair. A
# container whose second pair would not fit on the VM's port gets neither,
# and nothing of it is left. DEL leaves no device in the guest, no child
# port, no pair.
. "$(dirname "$0")/lib.sh"
env_up
PROBE=$SRC/tests/e2e/tcp-probe.py
_servers=()
trap 'for p in "${_servers[@]}"; do kill "$p" 2>/dev/null; done; env_down' EXIT

# gcni COMMAND CONTAINERID NETNS CONF: kuryr-cni in the guest on pod netns
# NETNS (ifname eth0); sets OUT and RC.
gcni() {
	OUT=$(gx "printf '%s' '$4' | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/$3 CNI_PATH=/usr/bin kuryr-cni")
	RC=$?
}
# ips4 / ips6: the CNI result's ($OUT) address of that family, no length.
ips4() { pyj '" ".join(i["address"].split("/")[0] for i in d["ips"] if ":" not in i["address"])' <<<"$OUT"; }
ips6() { pyj '" ".join(i["address"].split("/")[0] for i in d["ips"] if ":" in i["address"])' <<<"$OUT"; }
# eui64 PREFIX MAC: the address OVN's IPAM (and SLAAC) makes for MAC in /64 PREFIX.
eui64() {
	python3 -c 'import ipaddress,sys
m = bytes(int(x, 16) for x in sys.argv[2].split(":"))
iid = bytes([m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
print(ipaddress.IPv6Address(ipaddress.IPv6Network(sys.argv[1]).network_address.packed[:8] + iid))' "$1" "$2"
}
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | paste -sd'|'; }
# gstate NS: in guest netns NS, eth0's kind and MAC, its global addresses
# (sorted), the gateways of its default routes per family (those kuryrd
# made: not a router advertisement's), and the addresses still
# tentative: "KIND MAC|ADDRS|GW4|GW6|TENTATIVE".
gstate() {
	gx "ip -n $1 -d -o link show eth0; echo =; ip -n $1 -o addr show dev eth0 scope global; echo =
		ip -n $1 -4 route show default; echo =; ip -n $1 -6 route show default | grep -v 'proto ra'
		echo =; ip -n $1 -o -6 addr show | grep tentative" | python3 -c '
import re, sys
parts = sys.stdin.read().split("=\n")
link = parts[0]
kind = "vlan" if " vlan protocol " in link else "macvlan" if " macvlan " in link else "?"
mac = re.search(r"link/ether (\S+)", link)
addrs = sorted(l.split()[3] for l in parts[1].splitlines() if l.strip())
gw = lambda t: " ".join(sorted(l.split()[2] for l in t.splitlines() if l.startswith("default via")))
print("%s %s|%s|%s|%s|%s" % (kind, mac.group(1) if mac else "-", " ".join(addrs), gw(parts[2]),
                            gw(parts[3]), parts[4].strip()))'
}
glinks() { gx "ip -n $1 -o link show" | awk -F': ' '{print $2}' | cut -d@ -f1 | paste -sd' '; }
gport() { nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$1\""; }
# lsp COLUMN PORT: a set column of the port's row, its values sorted, "|" between.
lsp() {
	nbctl --format=json --columns="$1" list Logical_Switch_Port "$2" | python3 -c '
import json,sys
v = json.load(sys.stdin)["data"][0][0]
v = v[1] if isinstance(v, list) and v[0] == "set" else [v]
print("|".join(sorted(v)))'
}
# pairs PORT: its allowed address pairs as kuryrctl shows them, "IP,MAC" sorted.
pairs() {
	ctl -o json port show "$1" | pyj '"|".join(sorted(x["ip_address"] + "," + x["mac_address"] for x in d["allowed_address_pairs"]))'
}
serve() {
	ip netns exec "$P-$1" python3 "$PROBE" serve "$2" >"$T/serve-$1" 2>&1 &
	_servers+=($!)
	for _ in $(seq 50); do grep -q ready "$T/serve-$1" && return; sleep 0.05; done
}
last_peer() { grep '^peer' "$T/serve-$1" | tail -n 1 | cut -d' ' -f2; }
# gserve NS PORT: an echo server on PORT in guest netns NS ("": the guest's own).
gserve() {
	gx "${1:+ip netns exec $1} timeout 150 nc -ll -p $2 -e /tmp/echo.sh </dev/null >/dev/null 2>&1 3>&- &"
}
# gtcp NS IP PORT: from guest netns NS ("": the guest's own), a line to IP PORT and the answer.
gtcp() { gx "echo hello | ${1:+ip netns exec $1} nc -w 5 $2 $3" | tr -d '\r'; }
gping6() { gx "${1:+ip netns exec $1} ping -6 -c 1 -W 5 $2" >/dev/null 2>&1 && echo pass || echo drop; }
ping6() { ip netns exec "$P-$1" busybox ping -6 -c 1 -W 5 "$2" >/dev/null 2>&1 && echo pass || echo drop; }
tcp() { ip netns exec "$P-$1" python3 "$PROBE" connect "$2" "$3" 5; }

check "network create ds (dual stack)" ctl network create ds --subnet 10.97.0.0/24 --subnet fd00:97::/64
check "network create v6 (IPv6 only)" ctl network create v6 --subnet fd00:98::/64
check "a router on ds (its IPv6 port advertises the prefix)" \
	bash -c "$CTL_BIN --socket $SOCK router create r1 >/dev/null && $CTL_BIN --socket $SOCK router add-subnet r1 ds >/dev/null"

# ---- the VM beside containers ----
OUT=$(ctl -o json port create --network ds --name vm1 --device-id vm-one); RC=$?
check_eq "kuryrctl port create for the VM on ds" 0 "$RC"
VM_MAC=$(jget '["mac"]')
VM_IP=$(jget '["ip"]')
VM_IP6=$(jget '["ip6"]')
check_eq "... gives it both addresses, its IPv6 one the EUI-64 of its MAC" \
	"10.97.0 $(eui64 fd00:97::/64 "$VM_MAC")" "${VM_IP%.*} $VM_IP6"
vm_boot "$VM_MAC" "6641=unix:$RUN/ovn/nb.sock"
check "kuryrctl vm plug the VM's tap" ctl vm plug "$TAP" vm1
check "kuryrctl trunk create on the VM's port" ctl trunk create vm1 --name vmtrunk
check_eq "the guest kernel has IPv6, and its eth0 takes RAs and autoconfigures (accept_ra, autoconf)" \
	"1 1" "$(gx 'cat /proc/sys/net/ipv6/conf/eth0/accept_ra /proc/sys/net/ipv6/conf/eth0/autoconf' | paste -sd' ')"
check "the guest takes its port's IPv4 address on eth0" \
	gx "ip link set eth0 up && ip addr add $VM_IP/24 dev eth0"
# The router's IPv6 port on ds: its link-local address, the RAs' source.
RTR_LLA=$(eui64 fe80::/64 "$(nbctl --bare --columns=mac find Logical_Router_Port 'networks="fd00:97::1/64"')")
want="$VM_IP6/64 dynamic|via $RTR_LLA dev eth0 proto ra"
for _ in $(seq 60); do
	got=$(guest_slaac)
	[ "$got" = "$want" ] && break
	sleep 0.25
done
check_eq "the guest took its port's IPv6 address by SLAAC from the router's RA (dynamic, not tentative), and a default route via the router's IPv6 port" \
	"$want" "$got"
check_eq "... and the management NIC gives the guest no IPv6 address" "" \
	"$(gx 'ip -o -6 addr show dev eth1 scope global')"

pod c1
cni ADD "$P-c1" eth0 "$NSPATH" "$(netconf ds)"
check_eq "a bare-metal container joins ds" 0 "$RC"
C1_IP6=$(ips6)
pod c6
cni ADD "$P-c6" eth0 "$NSPATH" "$(netconf v6)"
check_eq "a bare-metal container joins v6" 0 "$RC"
C6_IP6=$(ips6)
serve c1 8080
serve c6 8080
gx "printf '#!/bin/sh\nread l; echo echo:\$l\n' >/tmp/echo.sh && chmod +x /tmp/echo.sh"
gserve "" 8081
check_eq "the bare-metal container and the VM ping each other over IPv6" "pass pass" \
	"$(ping6 c1 "$VM_IP6") $(gping6 "" "$C1_IP6")"
check_eq "the bare-metal container reaches the VM over TCP/IPv6" open "$(tcp c1 "$VM_IP6" 8081)"
check_eq "the VM reaches the bare-metal container over TCP/IPv6, from its SLAAC address" \
	"echo:hello $VM_IP6" "$(gtcp "" "$C1_IP6" 8080) $(last_peer c1)"

# ---- nested-vlan ----
GUEST_CONF=$(guest_conf_ovn nested-vlan "$P-guest" debug 20)
check "kuryrd starts in the guest (nested-vlan)" guest_kuryrd "$VMDIR" "$GUEST_CONF"
gx "for n in n1 n2 n6 m1 m2 m3 m6; do ip netns add \$n && ip -n \$n link set lo up; done"
declare -A IP4 IP6 MAC
for n in n1 n2 n6; do
	net=ds
	[ "$n" = n6 ] && net=v6
	gcni ADD "$P-$n" "$n" "$(gnetconf $net)"
	check_eq "nested-vlan ADD $n on $net" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
	IP4[$n]=$(ips4)
	IP6[$n]=$(ips6)
	MAC[$n]=$(jget '["interfaces"][1]["mac"]')
done
check_eq "n1's CNI result: an address of each family on ds" "10.97.0 fd00:97:" \
	"${IP4[n1]%.*} ${IP6[n1]:0:8}"
check_eq "in the guest: n1's eth0 is a VLAN sub-interface with both addresses, a default route per family, nothing tentative" \
	"vlan ${MAC[n1]}|$(printf '%s\n' "${IP4[n1]}/24" "${IP6[n1]}/64" | sort | paste -sd' ')|10.97.0.1|fd00:97::1|" \
	"$(gstate n1)"
check_eq "OVN NB: n1's child port of vm1 has port_security with both addresses" \
	"vm1|${MAC[n1]} ${IP4[n1]} ${IP6[n1]}" \
	"$(nbctl get Logical_Switch_Port "$(gport "$P-n1")" parent_name | tr -d '"')|$(lsp port_security "$(gport "$P-n1")")"
check_eq "in the guest: n6 (IPv6-only network) has its IPv6 address only, its default route, nothing tentative" \
	"vlan ${MAC[n6]}|${IP6[n6]}/64||fd00:98::1|" "$(gstate n6)"
check_eq "in the guest: n6 has no IPv4 address" "" "$(gx "ip -n n6 -o -4 addr show dev eth0")"

gserve n2 8080
check_eq "nested n1 pings nested n2, the bare-metal container and the VM over IPv6" "pass pass pass" \
	"$(gping6 n1 "${IP6[n2]}") $(gping6 n1 "$C1_IP6") $(gping6 n1 "$VM_IP6")"
check_eq "the bare-metal container and the VM ping nested n2 over IPv6" "pass pass" \
	"$(ping6 c1 "${IP6[n2]}") $(gping6 "" "${IP6[n2]}")"
check_eq "nested n1 reaches nested n2 over TCP/IPv6" "echo:hello" "$(gtcp n1 "${IP6[n2]}" 8080)"
check_eq "nested n1 reaches the bare-metal container over TCP/IPv6, from its own address" \
	"echo:hello ${IP6[n1]}" "$(gtcp n1 "$C1_IP6" 8080) $(last_peer c1)"
check_eq "nested n1 reaches the VM over TCP/IPv6" "echo:hello" "$(gtcp n1 "$VM_IP6" 8081)"
check_eq "the bare-metal container reaches nested n2 over TCP/IPv6" open "$(tcp c1 "${IP6[n2]}" 8080)"
check_eq "nested n6 and the bare-metal container on v6 ping each other" "pass pass" \
	"$(gping6 n6 "$C6_IP6") $(ping6 c6 "${IP6[n6]}")"
check_eq "nested n6 reaches the bare-metal container on v6 over TCP" \
	"echo:hello ${IP6[n6]}" "$(gtcp n6 "$C6_IP6" 8080) $(last_peer c6)"

for n in n1 n2 n6; do
	net=ds
	[ "$n" = n6 ] && net=v6
	gcni DEL "$P-$n" "$n" "$(gnetconf $net)"
	check_eq "nested-vlan DEL $n" 0 "$RC"
done
# shellcheck disable=SC2016 # expanded in the guest
check_eq "after DEL: no VLAN device anywhere in the guest" "" \
	"$(gx 'ip -o link show type vlan; for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type vlan; done')"
check_eq "... no child port of vm1 in OVN NB, and the trunk has no subport" "|0" \
	"$(nbctl --bare --columns=name find Logical_Switch_Port parent_name=vm1 | grep .)|$(ctl -o json trunk show vmtrunk | pyj 'len(d["subports"])')"
# shellcheck disable=SC2016 # expanded in the guest
check_eq "... no IPv6 address left in the pods" "" \
	"$(gx 'for n in n1 n2 n6; do ip -n $n -o -6 addr show | grep -v " lo "; done')"
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"

# ---- nested-macvlan ----
GUEST_CONF=$(guest_conf_ovn nested-macvlan "$P-guest" debug 20)
check "kuryrd restarts in the guest with nested-macvlan" guest_kuryrd "$VMDIR" "$GUEST_CONF"
VM_OWN=$(lsp addresses vm1)
for n in m1 m2; do
	gcni ADD "$P-$n" "$n" "$(gnetconf ds)"
	check_eq "nested-macvlan ADD $n on ds" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
	IP4[$n]=$(ips4)
	IP6[$n]=$(ips6)
	MAC[$n]=$(jget '["interfaces"][1]["mac"]')
done
check_eq "the VM's port has a pair per container and family (kuryrctl port show)" \
	"$(sorted "${IP4[m1]},${MAC[m1]}" "${IP6[m1]},${MAC[m1]}" "${IP4[m2]},${MAC[m2]}" "${IP6[m2]},${MAC[m2]}")" \
	"$(pairs vm1)"
check_eq "OVN NB: the VM's port_security: its own entry, and one per container with both its addresses" \
	"$(sorted "$VM_MAC $VM_IP $VM_IP6" "${MAC[m1]} ${IP4[m1]} ${IP6[m1]}" "${MAC[m2]} ${IP4[m2]} ${IP6[m2]}")" \
	"$(lsp port_security vm1)"
check_eq "OVN NB: m1's own port is external, behind vm1" "external vm1" \
	"$(nbctl get Logical_Switch_Port "$(gport "$P-m1")" type) $(nbctl get Logical_Switch_Port "$(gport "$P-m1")" external_ids:\"kuryr:behind\")"
check_eq "in the guest: m1's eth0 is a macvlan with both addresses, a default route per family, nothing tentative" \
	"macvlan ${MAC[m1]}|$(printf '%s\n' "${IP4[m1]}/24" "${IP6[m1]}/64" | sort | paste -sd' ')|10.97.0.1|fd00:97::1|" \
	"$(gstate m1)"
gserve m2 8080
check_eq "nested m1 pings nested m2 and the bare-metal container over IPv6" "pass pass" \
	"$(gping6 m1 "${IP6[m2]}") $(gping6 m1 "$C1_IP6")"
check_eq "the bare-metal container pings nested m2 over IPv6" pass "$(ping6 c1 "${IP6[m2]}")"
check_eq "nested m1 reaches nested m2 over TCP/IPv6" "echo:hello" "$(gtcp m1 "${IP6[m2]}" 8080)"
check_eq "nested m1 reaches the bare-metal container over TCP/IPv6, from its own address" \
	"echo:hello ${IP6[m1]}" "$(gtcp m1 "$C1_IP6" 8080) $(last_peer c1)"
check_eq "the bare-metal container reaches nested m2 over TCP/IPv6" open "$(tcp c1 "${IP6[m2]}" 8080)"
check_eq "... and over IPv4 still" open "$(tcp c1 "${IP4[m2]}" 8080)"

# ---- all or nothing: room for one pair, a dual-stack container needs two ----
OP=()
for i in 1 2 3 4 5; do OP+=(--allowed-address "10.97.0.24$i"); done
check "an operator's five pairs on the VM's port: nine, one short of the most" ctl port set vm1 "${OP[@]}"
before=$(pairs vm1)
gcni ADD "$P-m3" m3 "$(gnetconf ds)"
check_eq "nested-macvlan ADD m3 fails: its second pair would not fit" 1 "$RC"
check "... saying so" grep -q "more than 10 allowed address pairs" <<<"$OUT"
check_eq "... and neither of its pairs is on the VM's port" "$before" "$(pairs vm1)"
check_eq "... nor its port in OVN NB, nor a device in its pod" "|lo" "$(gport "$P-m3")|$(glinks m3)"
check "the operator's pairs taken off again" ctl port set vm1 --no-allowed-address \
	--allowed-address "${IP4[m1]},${MAC[m1]}" --allowed-address "${IP6[m1]},${MAC[m1]}" \
	--allowed-address "${IP4[m2]},${MAC[m2]}" --allowed-address "${IP6[m2]},${MAC[m2]}"
gcni DEL "$P-m3" m3 "$(gnetconf ds)"
check_eq "... and the runtime's DEL of m3 succeeds" 0 "$RC"

gcni DEL "$P-m1" m1 "$(gnetconf ds)"
check_eq "nested-macvlan DEL m1" 0 "$RC"
check_eq "the VM's port keeps m2's two pairs only" \
	"$(sorted "${IP4[m2]},${MAC[m2]}" "${IP6[m2]},${MAC[m2]}")" "$(pairs vm1)"
gcni DEL "$P-m2" m2 "$(gnetconf ds)"
check_eq "nested-macvlan DEL m2" 0 "$RC"
check_eq "after DEL: no pair, port_security and addresses of the VM's port its own again" \
	"|$VM_MAC $VM_IP $VM_IP6|$VM_OWN" "$(pairs vm1)|$(lsp port_security vm1)|$(lsp addresses vm1)"
check_eq "... and no port of m1 or m2 in OVN NB" "" "$(gport "$P-m1")$(gport "$P-m2")"
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"

# ---- nested-macvlan on an IPv6-only network ----
# The VM's NIC there is a VLAN interface of eth0 on a subport of the VM's
# trunk on v6 (its port): the containers' pairs go on that port.
OUT=$(ctl -o json port create --network v6 --name vmv6 --device-id vm-one-v6)
V6_MAC=$(jget '["mac"]')
V6_IP6=$(jget '["ip6"]')
check "the subport on v6 joins the VM's trunk, VLAN 300" ctl trunk add-subport vmtrunk vmv6 300
check "the guest takes it as eth0.300" gx "ip link add link eth0 name eth0.300 address $V6_MAC type vlan id 300 &&
	ip link set eth0.300 up && ip addr add $V6_IP6/64 dev eth0.300 nodad"
check "kuryrd restarts in the guest with nested-macvlan on eth0.300" \
	guest_kuryrd "$VMDIR" "${GUEST_CONF/link_iface = eth0/link_iface = eth0.300}"
gcni ADD "$P-m6" m6 "$(gnetconf v6)"
check_eq "nested-macvlan ADD m6 on v6" 0 "$RC"
[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
IP6[m6]=$(ips6)
MAC[m6]=$(jget '["interfaces"][1]["mac"]')
check_eq "the subport has one pair: m6's IPv6 address" "${IP6[m6]},${MAC[m6]}" "$(pairs vmv6)"
check_eq "OVN NB: its port_security has m6's entry with that address" \
	"$(sorted "$V6_MAC $V6_IP6" "${MAC[m6]} ${IP6[m6]}")" "$(lsp port_security vmv6)"
check_eq "OVN NB: m6's own port is external, behind vmv6" "external vmv6" \
	"$(nbctl get Logical_Switch_Port "$(gport "$P-m6")" type) $(nbctl get Logical_Switch_Port "$(gport "$P-m6")" external_ids:\"kuryr:behind\")"
check_eq "in the guest: m6 has its IPv6 address only, nothing tentative" \
	"macvlan ${MAC[m6]}|${IP6[m6]}/64||fd00:98::1|" "$(gstate m6)"
check_eq "nested m6 and the bare-metal container on v6 ping each other" "pass pass" \
	"$(gping6 m6 "$C6_IP6") $(ping6 c6 "${IP6[m6]}")"
check_eq "nested m6 reaches the bare-metal container on v6 over TCP" \
	"echo:hello ${IP6[m6]}" "$(gtcp m6 "$C6_IP6" 8080) $(last_peer c6)"
gcni DEL "$P-m6" m6 "$(gnetconf v6)"
check_eq "nested-macvlan DEL m6" 0 "$RC"
check_eq "after DEL: no pair on the subport, its port_security its own" "|$V6_MAC $V6_IP6" \
	"$(pairs vmv6)|$(lsp port_security vmv6)"
# shellcheck disable=SC2016 # expanded in the guest
check_eq "in the guest: no macvlan anywhere" "" \
	"$(gx 'ip -o link show type macvlan; for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type macvlan; done')"
check_eq "... and only lo in each pod" "lo lo lo lo lo lo lo" \
	"$(for n in n1 n2 n6 m1 m2 m3 m6; do glinks $n; done | paste -sd' ')"
check "the guest's kuryrd exits cleanly on SIGTERM" guest_kuryrd_stop "$VMDIR"

# ---- all gone ----
gx "ip link del eth0.300"
{ ctl trunk remove-subport vmtrunk vmv6 && ctl port delete vmv6 && ctl trunk delete vmtrunk; } >/dev/null
{ ctl router remove-subnet r1 ds && ctl router delete r1; } >/dev/null
cni DEL "$P-c1" eth0 "/run/netns/$P-c1" "$(netconf ds)"
cni DEL "$P-c6" eth0 "/run/netns/$P-c6" "$(netconf v6)"
ctl vm unplug "$TAP" >/dev/null
"$SRC/scripts/vm.sh" stop "$VMDIR" >/dev/null
ctl port delete vm1 >/dev/null
assert_clean "end"
check "the networks can be deleted" bash -c "$CTL_BIN --socket $SOCK network delete ds && $CTL_BIN --socket $SOCK network delete v6"
