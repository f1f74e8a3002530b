#!/bin/bash
# IPv6 for nested containers and for a VM beside containers, on backend
# neutron: a real neutron-server (ML2/OVN), one real VM (QEMU). The VM's
# port, made by kuryrctl on a dual-stack network (an IPv4 subnet and an
# IPv6 /64 in mode slaac) with a Neutron router on both subnets, has a
# fixed IP of each family; the guest's eth0 takes the IPv4 one statically
# and the IPv6 one by SLAAC from the router's advertisements (ML2/OVN's
# ipv6_ra_configs), and talks to a bare-metal container over IPv6 (ping,
# TCP both ways). kuryrd in the guest, first with binding driver
# nested-vlan: a nested container on the dual-stack network has both
# addresses, a default route per family and nothing tentative, its
# Neutron port both fixed IPs and a place on the VM's trunk; it reaches
# another nested container, the bare-metal one and the VM over IPv6. One
# on an IPv6-only network in mode dhcpv6-stateful has the address Neutron
# chose and reaches a bare-metal container there. Then with
# nested-macvlan: the VM's port has an allowed address pair per family for
# each container, which reaches the bare-metal one over IPv6, from its own
# address only; DEL takes the pairs. Nothing is left in the guest or in
# Neutron.
NEUTRON=true
BACKEND=neutron
. "$(dirname "$0")/lib.sh"
env_up
PROBE=$SRC/tests/e2e/tcp-probe.py
_servers=()
trap 'for p in "${_servers[@]}"; do kill "$p" 2>/dev/null; done; env_down' EXIT

# gcni COMMAND NAME NETWORK: kuryr-cni in the guest for container $P-NAME
# in the guest's netns $P-NAME (ifname eth0); sets OUT and RC.
gcni() {
	OUT=$(gx "printf '%s' '$(gnetconf "$3")' | CNI_COMMAND=$1 CNI_CONTAINERID=$P-$2 CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/$P-$2 CNI_PATH=/usr/bin kuryr-cni")
	RC=$?
}
# ips4 / ips6: the CNI result's ($OUT) addresses of that family, no length.
ips4() { pyj '" ".join(i["address"].split("/")[0] for i in d["ips"] if ":" not in i["address"])' <<<"$OUT"; }
ips6() { pyj '" ".join(i["address"].split("/")[0] for i in d["ips"] if ":" in i["address"])' <<<"$OUT"; }
# eui64 PREFIX MAC: the SLAAC address of MAC in /64 PREFIX.
eui64() {
	python3 -c 'import ipaddress,sys
m = bytes(int(x, 16) for x in sys.argv[2].split(":"))
iid = bytes([m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
print(ipaddress.IPv6Address(ipaddress.IPv6Network(sys.argv[1]).network_address.packed[:8] + iid))' "$1" "$2"
}
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | paste -sd' '; }
# fixed PORT_JSON: the port's fixed IPs, sorted.
fixed() { pyj '" ".join(sorted(f["ip_address"] for f in (d.get("port") or d)["fixed_ips"]))'; }
# nport_mac MAC / nport_dev DEVICE_ID: Neutron's port, as JSON ("" if none).
nport_mac() { nq GET "/ports?mac_address=$1" | jq1 '["ports"][0]' 2>/dev/null; }
nport_dev() { nq GET "/ports?device_id=$1" | jq1 '["ports"][0]' 2>/dev/null; }
# subports: "PORT:VLAN ..." of the VM's trunk as Neutron has it, sorted.
subports() {
	nq GET "/trunks/$TRUNK" | pyj '" ".join(sorted("%s:%d" % (s["port_id"], s["segmentation_id"]) for s in d["trunk"]["sub_ports"]))'
}
# vm_pairs: the VM's port's allowed address pairs in Neutron, "IP,MAC" sorted.
vm_pairs() {
	nq GET "/ports/$VM_PORT" | pyj '" ".join(sorted(x["ip_address"] + "," + x["mac_address"] for x in d["port"]["allowed_address_pairs"]))'
}
# gstate NAME: in guest netns $P-NAME, eth0's kind and MAC, its global
# addresses (sorted), the gateways of its default routes per family (not
# a router advertisement's), and the addresses still tentative:
# "KIND MAC|ADDRS|GW4|GW6|TENTATIVE".
gstate() {
	gx "ip -n $P-$1 -d -o link show eth0; echo =; ip -n $P-$1 -o addr show dev eth0 scope global; echo =
		ip -n $P-$1 -4 route show default; echo =; ip -n $P-$1 -6 route show default | grep -v 'proto ra'
		echo =; ip -n $P-$1 -o -6 addr show | grep tentative" | python3 -c '
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
glinks() { gx "ip -n $P-$1 -o link show" | awk -F': ' '{print $2}' | cut -d@ -f1 | paste -sd' '; }
serve() {
	ip netns exec "$P-$1" python3 "$PROBE" serve "$2" >"$T/serve-$1" 2>&1 &
	_servers+=($!)
	for _ in $(seq 50); do grep -q ready "$T/serve-$1" && return; sleep 0.05; done
}
last_peer() { grep '^peer' "$T/serve-$1" | tail -n 1 | cut -d' ' -f2; }
# gserve NAME PORT: an echo server on PORT in guest netns $P-NAME ("": the guest's own).
gserve() {
	gx "${1:+ip netns exec $P-$1} timeout 150 nc -ll -p $2 -e /tmp/echo.sh </dev/null >/dev/null 2>&1 3>&- &"
}
# gtcp NAME IP PORT: from guest netns $P-NAME ("": the guest's own), a line to IP PORT and the answer.
gtcp() { gx "echo hello | ${1:+ip netns exec $P-$1} nc -w 5 $2 $3" | tr -d '\r'; }
gping6() { gx "${1:+ip netns exec $P-$1} ping -6 -c 1 -W 5 $2" >/dev/null 2>&1 && echo pass || echo drop; }
ping6() { ip netns exec "$P-$1" busybox ping -6 -c 1 -W 5 "$2" >/dev/null 2>&1 && echo pass || echo drop; }
tcp() { ip netns exec "$P-$1" python3 "$PROBE" connect "$2" "$3" 5; }

DS=$P-ds ST=$P-st
check "kuryrctl network create $DS (IPv4 + IPv6 slaac) in Neutron" \
	ctl network create "$DS" --subnet 10.95.0.0/24 --subnet fd00:95::/64
check "kuryrctl network create $ST (IPv6 only, dhcpv6-stateful)" \
	ctl network create "$ST" --subnet fd00:96::/64 --ipv6-mode dhcpv6-stateful
OUT=$(ctl -o json router create "$P-r1"); RC=$?
check_eq "kuryrctl router create $P-r1 (Neutron)" 0 "$RC"
R1=$(jget '["id"]')
check "kuryrctl router add-subnet $P-r1 $DS (an interface per subnet)" ctl router add-subnet "$P-r1" "$DS"
RTR6=$(nq GET "/ports?device_id=$R1&device_owner=network:router_interface" |
	pyj '" ".join(p["mac_address"] for p in d["ports"] if any(":" in f["ip_address"] for f in p["fixed_ips"]))')
RA=$(nbctl --bare --columns=ipv6_ra_configs find Logical_Router_Port "mac=\"$RTR6\"")
check "OVN NB (ML2/OVN's row): the router's IPv6 port advertises for slaac ($RA)" \
	grep -q 'address_mode=slaac' <<<"$RA"

# ---- the VM beside containers: its port has both fixed IPs ----
OUT=$(ctl -o json port create --network "$DS" --name "$P-vm1" --device-id "$P-vm-one"); RC=$?
check_eq "kuryrctl port create for the VM on $DS" 0 "$RC"
VM_PORT=$(jget '["name"]')
VM_MAC=$(jget '["mac"]')
VM_IP=$(jget '["ip"]')
VM_IP6=$(jget '["ip6"]')
check_eq "Neutron: the VM's port has both fixed IPs, its IPv6 one the EUI-64 of its MAC" \
	"$(sorted "$VM_IP" "$(eui64 fd00:95::/64 "$VM_MAC")")" "$(nq GET "/ports/$VM_PORT" | fixed)"
OUT=$(ctl -o json trunk create "$P-vm1" --name "$P-trunk"); RC=$?
check_eq "kuryrctl trunk create on the VM's port" 0 "$RC"
TRUNK=$(jget '["id"]')
vm_boot "$VM_MAC" "9696=tcp:127.0.0.1:19696"
check "kuryrctl vm plug the VM's tap" ctl vm plug "$TAP" "$VM_PORT"
check "the guest takes its port's IPv4 address on eth0" \
	gx "ip link set eth0 up && ip addr add $VM_IP/24 dev eth0"
RTR_LLA=$(eui64 fe80::/64 "$RTR6")
want="$VM_IP6/64 dynamic|via $RTR_LLA dev eth0 proto ra"
for _ in $(seq 80); do
	got=$(guest_slaac)
	[ "$got" = "$want" ] && break
	sleep 0.25
done
check_eq "the guest took its port's IPv6 address by SLAAC from the Neutron router's RA (not tentative), and a default route via the router" \
	"$want" "$got"

pod c1
cni ADD "$P-c1" eth0 "$NSPATH" "$(netconf "$DS")"
check_eq "a bare-metal container joins $DS" 0 "$RC"
C1_IP6=$(ips6)
C1_PORT=$(nport_dev "$P-c1")
check_eq "Neutron: the bare-metal container's port has both its addresses" \
	"$(sorted "$(ips4)" "$C1_IP6")" "$(fixed <<<"$C1_PORT")"
pod c6
cni ADD "$P-c6" eth0 "$NSPATH" "$(netconf "$ST")"
check_eq "a bare-metal container joins $ST" 0 "$RC"
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

# ---- kuryrd in the guest, Neutron over the management NIC ----
guest_conf() {
	cat <<-CONF
		[DEFAULT]
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
		driver = $1
		link_iface = eth0
		[daemon]
		socket = $GSOCK
		state_dir = /run/kuryr-state
		port_up_timeout = 20
		[vif_pool]
		enabled = false
	CONF
}
BEFORE=$(all_ports)
check "kuryrd starts in the guest (backend neutron, nested-vlan)" guest_kuryrd "$VMDIR" "$(guest_conf nested-vlan)"

# ---- nested-vlan ----
declare -A IP4 IP6 MAC PORT
for n in n1 n2 s1; do
	net=$DS
	[ "$n" = s1 ] && net=$ST
	gpod $n
	gcni ADD $n "$net"
	check_eq "nested-vlan ADD $n on $net" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
	IP4[$n]=$(ips4)
	IP6[$n]=$(ips6)
	MAC[$n]=$(jget '["interfaces"][1]["mac"]')
	port=$(nport_mac "${MAC[$n]}")
	PORT[$n]=$(jq1 '["id"]' <<<"$port")
	# shellcheck disable=SC2086 # s1 has no IPv4 address
	check_eq "Neutron: $n's port is an ACTIVE trunk subport with the result's addresses as its fixed IPs" \
		"ACTIVE trunk:subport $(sorted ${IP4[$n]} ${IP6[$n]})" \
		"$(jq1 '["status"]' <<<"$port") $(jq1 '["device_owner"]' <<<"$port") $(fixed <<<"$port")"
done
check_eq "n1's CNI result: an IPv4 and an IPv6 address on $DS, the IPv6 one Neutron's SLAAC address" \
	"10.95.0 $(eui64 fd00:95::/64 "${MAC[n1]}")" "${IP4[n1]%.*} ${IP6[n1]}"
for n in n1 n2; do
	check_eq "in the guest: $n's eth0 is a VLAN sub-interface with both addresses, a default route per family, nothing tentative" \
		"vlan ${MAC[$n]}|$(sorted "${IP4[$n]}/24" "${IP6[$n]}/64")|10.95.0.1|fd00:95::1|" "$(gstate $n)"
done
check_eq "in the guest: n1's and n2's eth0 take no router advertisements (accept_ra)" "0 0" \
	"$(gx "for n in n1 n2; do ip netns exec $P-\$n cat /proc/sys/net/ipv6/conf/eth0/accept_ra; done" | paste -sd' ')"
S6=$(nq GET "/subnets?network_id=$(nq GET "/networks?name=$ST" | jq1 '["networks"][0]["id"]')" | jq1 '["subnets"][0]')
check_eq "s1 ($ST, IPv6 only, dhcpv6-stateful): one address, in the prefix, as Neutron chose it" \
	"1 fd00:96: dhcpv6-stateful ${IP6[s1]}" \
	"$(pyj 'len(d["ips"])' <<<"$OUT") ${IP6[s1]:0:8} $(jq1 '["ipv6_address_mode"]' <<<"$S6") $(nq GET "/ports/${PORT[s1]}" | fixed)"
check_eq "in the guest: s1 has that address only, its default route, nothing tentative" \
	"vlan ${MAC[s1]}|${IP6[s1]}/64||fd00:96::1|" "$(gstate s1)"
check_eq "Neutron: the trunk has the three as subports" \
	"$(sorted "${PORT[n1]}" "${PORT[n2]}" "${PORT[s1]}")" "$(subports | tr ' ' '\n' | cut -d: -f1 | sort | paste -sd' ')"

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
check_eq "nested s1 and the bare-metal container on $ST ping each other" "pass pass" \
	"$(gping6 s1 "$C6_IP6") $(ping6 c6 "${IP6[s1]}")"
check_eq "nested s1 reaches the bare-metal container on $ST over TCP, from its own address" \
	"echo:hello ${IP6[s1]}" "$(gtcp s1 "$C6_IP6" 8080) $(last_peer c6)"

for n in n1 n2 s1; do
	net=$DS
	[ "$n" = s1 ] && net=$ST
	gcni DEL $n "$net"
	check_eq "nested-vlan DEL $n" 0 "$RC"
done
check_eq "after DEL: the trunk has no subport, and Neutron no port of theirs" "|$BEFORE" \
	"$(subports)|$(all_ports)"
# shellcheck disable=SC2016 # expanded in the guest
check_eq "... and no VLAN device nor IPv6 address anywhere in the guest's pods" "" \
	"$(gx 'ip -o link show type vlan; for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type vlan; ip -n $n -o -6 addr show | grep -v " lo "; done')"
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"

# ---- nested-macvlan ----
check "kuryrd restarts in the guest with nested-macvlan" guest_kuryrd "$VMDIR" "$(guest_conf nested-macvlan)"
for n in m1 m2; do
	gpod $n
	gcni ADD $n "$DS"
	check_eq "nested-macvlan ADD $n on $DS" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
	IP4[$n]=$(ips4)
	IP6[$n]=$(ips6)
	MAC[$n]=$(jget '["interfaces"][1]["mac"]')
	port=$(nport_dev "$P-$n")
	PORT[$n]=$(jq1 '["id"]' <<<"$port")
	check_eq "Neutron: $n's port has the result's addresses as its fixed IPs" \
		"$(sorted "${IP4[$n]}" "${IP6[$n]}")" "$(fixed <<<"$port")"
done
check_eq "Neutron: the VM's port has an allowed address pair per container and family" \
	"$(sorted "${IP4[m1]},${MAC[m1]}" "${IP6[m1]},${MAC[m1]}" "${IP4[m2]},${MAC[m2]}" "${IP6[m2]},${MAC[m2]}")" \
	"$(vm_pairs)"
# A router advertisement would make m1 a SLAAC address of the macvlan's
# MAC, not its port's (none that the VM's pairs let through), and a
# default route that, in before kuryrd's, fails ADD: the pods take none.
check_eq "in the guest: m1's and m2's eth0 take no router advertisements (accept_ra)" "0 0" \
	"$(gx "for n in m1 m2; do ip netns exec $P-\$n cat /proc/sys/net/ipv6/conf/eth0/accept_ra; done" | paste -sd' ')"
for n in m1 m2; do
	check_eq "in the guest: $n's eth0 is a macvlan with both addresses (its port's only), a default route per family, nothing tentative" \
		"macvlan ${MAC[$n]}|$(sorted "${IP4[$n]}/24" "${IP6[$n]}/64")|10.95.0.1|fd00:95::1|" "$(gstate $n)"
done
gserve m2 8080
check_eq "nested m1 pings nested m2 and the bare-metal container over IPv6" "pass pass" \
	"$(gping6 m1 "${IP6[m2]}") $(gping6 m1 "$C1_IP6")"
check_eq "the bare-metal container pings nested m2 over IPv6" pass "$(ping6 c1 "${IP6[m2]}")"
check_eq "nested m1 reaches the bare-metal container over TCP/IPv6, from its own address" \
	"echo:hello ${IP6[m1]}" "$(gtcp m1 "$C1_IP6" 8080) $(last_peer c1)"
check_eq "the bare-metal container reaches nested m2 over TCP/IPv6, and over IPv4 still" "open open" \
	"$(tcp c1 "${IP6[m2]}" 8080) $(tcp c1 "${IP4[m2]}" 8080)"
gcni DEL m1 "$DS"
check_eq "nested-macvlan DEL m1" 0 "$RC"
check_eq "Neutron: the VM's port keeps m2's two pairs only" \
	"$(sorted "${IP4[m2]},${MAC[m2]}" "${IP6[m2]},${MAC[m2]}")" "$(vm_pairs)"
gcni DEL m2 "$DS"
check_eq "nested-macvlan DEL m2" 0 "$RC"
check_eq "Neutron: after DEL the VM's port has no pair, and no port of m1 or m2 is left" "|$BEFORE" \
	"$(vm_pairs)|$(all_ports)"
# shellcheck disable=SC2016 # expanded in the guest
check_eq "in the guest: no macvlan anywhere, only lo in each pod" "lo lo lo lo lo" \
	"$(gx 'ip -o link show type macvlan; for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type macvlan; done')$(for n in n1 n2 s1 m1 m2; do glinks $n; done | paste -sd' ')"
check "the guest's kuryrd exits cleanly on SIGTERM" guest_kuryrd_stop "$VMDIR"

# ---- all gone ----
for c in "c1 $DS" "c6 $ST"; do
	read -r c net <<<"$c"
	cni DEL "$P-$c" eth0 "/run/netns/$P-$c" "$(netconf "$net")"
	check_eq "DEL of the bare-metal container $c" 0 "$RC"
done
ctl vm unplug "$TAP" >/dev/null
"$SRC/scripts/vm.sh" stop "$VMDIR" >/dev/null
check "kuryrctl trunk delete" ctl trunk delete "$P-trunk"
check "kuryrctl port delete of the VM's port" ctl port delete "$P-vm1"
check "kuryrctl router remove-subnet and delete" \
	bash -c "$CTL_BIN --socket $SOCK router remove-subnet $P-r1 $DS && $CTL_BIN --socket $SOCK router delete $P-r1"
for net in "$DS" "$ST"; do ctl network delete "$net" >/dev/null; done
check_eq "Neutron: no port, trunk, router or network of the test left" "0 0 0 0" \
	"$(nq GET /ports | pyj 'len(d["ports"])') $(nq GET /trunks | pyj 'len(d["trunks"])') $(nq GET /routers | pyj 'len(d["routers"])') $(nq GET /networks | pyj "len([n for n in d['networks'] if n['name'].startswith('$P-')])")"
assert_clean "end"
