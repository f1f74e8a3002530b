#!/bin/bash
# IPv6 on backend ovn: a dual-stack network (an IPv4
# subnet and an IPv6 /64) and an IPv6-only one, two containers on each
# through the real kuryr-cni and kuryrd. The CNI result lists one address
# per family; netlink has them, none tentative (no duplicate-address
# detection: OVN's IPAM makes the addresses unique); the switch has
# other_config:ipv6_prefix, the ports port_security "MAC IPv4 IPv6" and
# the addresses OVN's IPAM made (the prefix and the MAC's EUI-64); each
# family has its gateway (the subnet's first address) and default route.
# ICMPv6 and TCP over IPv6 pass both ways on each network; a packet from an
# IPv6 address that is not the port's is dropped, and passes with port
# security off; a neighbour advertisement for an address that is not the
# port's is dropped as ARP spoofing is. runtimeConfig.ips may ask for an
# IPv6 address (alone or beside an IPv4 one); one in use, outside the
# prefix or the gateway is error 104, nothing left. A prefix longer than
# /64 is refused, nothing made. DEL leaves nothing, no IPv6 address
# either. A pool's entries, pre-wired ones too, hold both families.
#
# The containers are in group "open" (the node's pod_security_groups),
# which lets everything in, so only port security decides what is dropped.
KURYR_CONF_EXTRA="[neutron_defaults]
pod_security_groups = open"
. "$(dirname "$0")/lib.sh"
env_up

_servers=()
trap 'for p in "${_servers[@]}"; do kill "$p" 2>/dev/null; done; env_down' EXIT

# addrs NS FAMILY: the global addresses of eth0 in NS, "ADDR/LEN" sorted.
addrs() { ip -n "$1" -o "-$2" addr show dev eth0 scope global | awk '{print $4}' | sort | tr '\n' ' ' | sed 's/ $//'; }
# echos NS: the ICMPv6 echo requests NS has received.
echos() { ip netns exec "$1" awk '$1 == "Icmp6InEchos" {print $2}' /proc/net/snmp6; }

check "security-group create open" ctl security-group create open
check "rule-add open: any IPv4 in" ctl security-group rule-add open
check "rule-add open: any IPv6 in" ctl security-group rule-add open --ethertype IPv6

# ---- bad input first: nothing may be left of it ----
OUT=$(ctl network create bad --subnet 10.62.0.0/24 --subnet fd00:62::/80 2>&1); RC=$?
check_eq "a /80 IPv6 subnet is refused" 1 "$RC"
check "... saying OVN needs a /64" grep -q '/64' <<<"$OUT"
check_eq "... and OVN NB has no switch" "" "$(nbctl --bare --columns=name list Logical_Switch)"
OUT=$(ctl network create bad --subnet fd00:62::/64 --subnet fd00:63::/64 2>&1); RC=$?
check_eq "two IPv6 subnets are refused" "1 " "$RC $(nbctl --bare --columns=name list Logical_Switch)"
OUT=$(ctl network create bad --subnet fd00:62::5/64 2>&1); RC=$?
check_eq "an IPv6 subnet with host bits is refused" "1 " "$RC $(nbctl --bare --columns=name list Logical_Switch)"
OUT=$(ctl network create bad --subnet 10.62.0.0/24 --subnet fd00:62::/64 --gateway fd00:63::1 2>&1); RC=$?
check_eq "an IPv6 gateway outside the prefix is refused, nothing made" "1 " \
	"$RC $(nbctl --bare --columns=name list Logical_Switch)"
check "... saying which prefix" grep -q 'not a host address of fd00:62::/64' <<<"$OUT"
OUT=$(ctl network create bad --subnet 10.62.0.0/24 --gateway fd00:62::1 2>&1); RC=$?
check_eq "an IPv6 gateway on a network without IPv6 is refused" "1 " \
	"$RC $(nbctl --bare --columns=name list Logical_Switch)"
check "... saying so" grep -q 'no IPv6 subnet' <<<"$OUT"

# ---- the networks ----
check "kuryrctl creates a dual-stack network" \
	ctl network create ds --subnet 10.61.0.0/24 --subnet fd00:61::/64
check "kuryrctl creates an IPv6-only network" ctl network create v6 --subnet fd00:71::/64
check_eq "OVN NB: ds has the IPv4 subnet and the IPv6 prefix" "10.61.0.0/24 fd00:61::" \
	"$(nbctl get Logical_Switch ds other_config:subnet | tr -d '"') $(nbctl get Logical_Switch ds other_config:ipv6_prefix | tr -d '"')"
check_eq "OVN NB: v6 has the IPv6 prefix and no IPv4 subnet" "fd00:71:: none" \
	"$(nbctl get Logical_Switch v6 other_config:ipv6_prefix | tr -d '"') $(nbctl get Logical_Switch v6 other_config:subnet 2>/dev/null || echo none)"
check_eq "network show ds: both subnets, each with its first address as gateway" \
	"10.61.0.0/24 10.61.0.1 fd00:61::/64 fd00:61::1" \
	"$(ctl -o json network show ds | pyj '" ".join((d["subnet"], d["gateway"], d["subnet6"], d["gateway6"] or "-"))')"
check_eq "network list: both networks with their subnets" "ds 10.61.0.0/24 fd00:61::/64;v6 - fd00:71::/64" \
	"$(ctl -o json network list | pyj '";".join(" ".join((n["name"], n["subnet"] or "-", n["subnet6"])) for n in sorted(d, key=lambda n: n["name"]))')"
check "network list (table) has a SUBNET6 column with fd00:71::/64" \
	bash -c "$CTL_BIN --socket $SOCK network list | grep -q 'SUBNET6' && $CTL_BIN --socket $SOCK network list | grep -q 'fd00:71::/64'"

# add NET NAME [VERSION]: container NAME on NET in netns $P-NAME; IP4, IP6,
# MAC, PORT of it.
declare -A IP4 IP6 MAC PORT
add() {
	pod "$2"
	cni ADD "$P-$2" eth0 "$NSPATH" "$(netconf "$1" "${3:-1.1.0}")"
	check_eq "ADD $2 on $1" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	MAC[$2]=$(jget '["interfaces"][1]["mac"]')
	IP4[$2]=$(pyj '" ".join(i["address"] for i in d["ips"] if ":" not in i["address"])' <<<"$OUT")
	IP6[$2]=$(pyj '" ".join(i["address"] for i in d["ips"] if ":" in i["address"])' <<<"$OUT")
	PORT[$2]=$(vsctl get Interface "$(jget '["interfaces"][0]["name"]')" external_ids:iface-id | tr -d '"')
}
ping6() { ip netns exec "$P-$1" busybox ping -6 -c 1 -W 2 "${IP6[$2]%/*}" >/dev/null 2>&1; }

# ---- dual stack ----
add ds a
check_eq "result a: two ips, both on the container interface, IPv4 first" "2 1 1 4 6" \
	"$(pyj '" ".join([str(len(d["ips"]))] + [str(i["interface"]) for i in d["ips"]] + ["6" if ":" in i["address"] else "4" for i in d["ips"]])' <<<"$OUT")"
check_eq "result a: both gateways; a default route per family" \
	"10.61.0.1 fd00:61::1 0.0.0.0/0 ::/0" \
	"$(pyj '" ".join([d["ips"][0].get("gateway", "-"), d["ips"][1].get("gateway", "-")] + [r["dst"] for r in d["routes"]])' <<<"$OUT")"
check_eq "result a: the IPv6 address is OVN's: the prefix and the MAC's EUI-64, a /64" \
	"$(eui64 fd00:61::/64 "${MAC[a]}")/64" "${IP6[a]}"
add ds b
check_eq "netlink a: eth0 has both addresses of the result" "${IP4[a]} ${IP6[a]}" \
	"$(addrs "$P-a" 4) $(addrs "$P-a" 6)"
check_eq "netlink b: eth0 has both addresses of the result" "${IP4[b]} ${IP6[b]}" \
	"$(addrs "$P-b" 4) $(addrs "$P-b" 6)"
check_eq "netlink a: no IPv6 address is tentative, the link-local one neither" "" \
	"$(ip -n "$P-a" -6 addr show | grep -E 'tentative|dadfailed')"
check_eq "netlink a: eth0 has the MAC's EUI-64 link-local address" \
	"$(eui64 fe80::/64 "${MAC[a]}")/64" \
	"$(ip -n "$P-a" -o -6 addr show dev eth0 scope link | awk '{print $4}')"
check_eq "netlink a: the IPv6 prefix on-link, the IPv6 default route via the gateway" \
	"fd00:61::/64 dev eth0|default via fd00:61::1 dev eth0" \
	"$(ip -n "$P-a" -6 route show dev eth0 | awk '$1 ~ /^fd00/ {print $1, "dev eth0"}')|$(ip -n "$P-a" -6 route show default | awk '{print $1, $2, $3, $4, $5}')"
check_eq "netlink a: IPv4 default route via the gateway" "default via 10.61.0.1" \
	"$(ip -n "$P-a" -4 route show default | awk '{print $1, $2, $3}')"
check_eq "OVN NB a: port security is MAC IPv4 IPv6" "${MAC[a]} ${IP4[a]%/*} ${IP6[a]%/*}" \
	"$(nbctl get Logical_Switch_Port "${PORT[a]}" port_security | tr -d '[]"')"
check_eq "OVN NB a: dynamic_addresses has both" "${MAC[a]} ${IP4[a]%/*} ${IP6[a]%/*}" \
	"$(nbctl get Logical_Switch_Port "${PORT[a]}" dynamic_addresses | tr -d '"')"
check_eq "port show a: ip and ip6" "${IP4[a]%/*} ${IP6[a]%/*}" \
	"$(ctl -o json port show "${PORT[a]}" | pyj '" ".join((d["ip"], d["ip6"]))')"
check_eq "store a: the attachment has both addresses" "${IP4[a]} ${IP6[a]}" \
	"$(store_sql "select address, address6 from attachments where container_id='$P-a'" | tr '|' ' ')"

check "ping IPv4 a -> b" ip netns exec "$P-a" busybox ping -c 1 -W 2 "${IP4[b]%/*}"
check "ping IPv6 a -> b" ping6 a b
check "ping IPv6 b -> a" ping6 b a

# TCP over IPv6, both ways.
tcp6() {
	ip netns exec "$P-$2" timeout 10 python3 -c 'import socket,sys
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 5556)); s.listen(1); print("ready", flush=True)
c, _ = s.accept(); print(c.recv(100).decode(), flush=True)' >"$T/tcp6.out" 2>&1 &
	local srv=$!
	for _ in $(seq 50); do grep -q ready "$T/tcp6.out" && break; sleep 0.05; done
	ip netns exec "$P-$1" timeout 5 python3 -c 'import socket,sys
s = socket.create_connection((sys.argv[1], 5556), timeout=3); s.sendall(sys.argv[2].encode())' \
		"${IP6[$2]%/*}" "v6-$1-$2" 2>/dev/null
	wait "$srv"
	sed -n 2p "$T/tcp6.out"
}
check_eq "TCP over IPv6 a -> b" "v6-a-b" "$(tcp6 a b)"
check_eq "TCP over IPv6 b -> a" "v6-b-a" "$(tcp6 b a)"

# A source address that is not the port's. A knows B's MAC for good, so
# nothing depends on neighbour discovery from the foreign address; B
# counts the echo requests it gets.
SPOOF=fd00:61::dead
ip -n "$P-a" -6 addr add "$SPOOF/64" dev eth0 nodad
ip -n "$P-a" -6 neigh replace "${IP6[b]%/*}" lladdr "${MAC[b]}" dev eth0 nud permanent
spoof() {
	local before after
	before=$(echos "$P-b")
	ip netns exec "$P-a" busybox ping -6 -c 2 -W 1 -I "$SPOOF" "${IP6[b]%/*}" >/dev/null 2>&1
	after=$(echos "$P-b")
	[ "$after" -gt "$before" ] && echo arrived || echo dropped
}
check_eq "a ping from a foreign IPv6 source is dropped (port security)" dropped "$(spoof)"
# (From a's own address by name: with two addresses in the prefix the
# kernel may pick either as the source.)
check "... one from a's own IPv6 address arrives (same path)" \
	ip netns exec "$P-a" busybox ping -6 -c 1 -W 2 -I "${IP6[a]%/*}" "${IP6[b]%/*}"
check "port set a --no-port-security" ctl port set "${PORT[a]}" --no-port-security
arrived=dropped
for _ in $(seq 20); do
	arrived=$(spoof)
	[ "$arrived" = arrived ] && break
	sleep 0.25
done
check_eq "... then the foreign source gets through" arrived "$arrived"
check "port set a --port-security" ctl port set "${PORT[a]}" --port-security
check_eq "... port security is MAC IPv4 IPv6 again" "${MAC[a]} ${IP4[a]%/*} ${IP6[a]%/*}" \
	"$(nbctl get Logical_Switch_Port "${PORT[a]}" port_security | tr -d '[]"')"
dropped=arrived
for _ in $(seq 20); do
	dropped=$(spoof)
	[ "$dropped" = dropped ] && break
	sleep 0.25
done
check_eq "... and the foreign source is dropped again" dropped "$dropped"
ip -n "$P-a" -6 addr del "$SPOOF/64" dev eth0

# Neighbour-discovery spoofing: a advertises that another address is at
# its MAC. Neither side needs neighbour discovery meanwhile (both know the
# other's MAC for good), so b counts only what a sends.
ip -n "$P-b" -6 neigh replace "${IP6[a]%/*}" lladdr "${MAC[a]}" dev eth0 nud permanent
nas() { ip netns exec "$P-b" awk '$1 == "Icmp6InNeighborAdvertisements" {print $2}' /proc/net/snmp6; }
na_from_a() { # TARGET: "arrived" or "dropped"
	local before after
	before=$(nas)
	ip netns exec "$P-a" python3 "$SRC/tests/e2e/nd-spoof.py" eth0 "${MAC[a]}" "${MAC[b]}" \
		"${IP6[a]%/*}" "${IP6[b]%/*}" "$1"
	sleep 0.3
	after=$(nas)
	[ "$after" -gt "$before" ] && echo arrived || echo dropped
}
check_eq "a neighbour advertisement for an address that is not a's is dropped" dropped \
	"$(na_from_a fd00:61::beef)"
check_eq "... one claiming b's own address too" dropped "$(na_from_a "${IP6[b]%/*}")"
check_eq "... one for a's own address arrives (same path)" arrived "$(na_from_a "${IP6[a]%/*}")"
ctl port set "${PORT[a]}" --no-port-security >/dev/null
got=dropped
for _ in $(seq 20); do
	got=$(na_from_a fd00:61::beef)
	[ "$got" = arrived ] && break
done
check_eq "... and with a's port security off, the foreign one arrives too" arrived "$got"
ctl port set "${PORT[a]}" --port-security >/dev/null
check_eq "... port security back on: dropped again" dropped \
	"$(for _ in $(seq 20); do g=$(na_from_a fd00:61::beef); [ "$g" = dropped ] && break; done; echo "$g")"

# CHECK looks at both families.
cni CHECK "$P-a" eth0 "/run/netns/$P-a" "$(netconf ds 1.1.0 "\"prevResult\":{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"${IP4[a]}\"},{\"address\":\"${IP6[a]}\"}]}")"
check_eq "CHECK of the dual-stack attachment succeeds" 0 "$RC"
ip -n "$P-a" -6 addr del "${IP6[a]}" dev eth0
cni CHECK "$P-a" eth0 "/run/netns/$P-a" "$(netconf ds)"
check_eq "CHECK notices the IPv6 address removed" 1 "$RC"

# Older CNI versions: each ips entry says its family. And c announces its
# IPv6 address as it does its IPv4 one: an unsolicited neighbour
# advertisement to all nodes reaches b (nothing else on ds sends any now).
na_before=$(nas)
add ds c 0.4.0
na_seen=no
for _ in $(seq 20); do
	[ "$(nas)" -gt "$na_before" ] && { na_seen=yes; break; }
	sleep 0.1
done
check_eq "ADD c: b receives c's unsolicited neighbour advertisement" yes "$na_seen"
check_eq "ADD with cniVersion 0.4.0: ips versions 4 and 6" "0.4.0 4 6" \
	"$(jget '["cniVersion"]') $(jget '["ips"][0]["version"]') $(jget '["ips"][1]["version"]')"
# A fixed IPv4 address on a dual-stack network: ovn-northd assigns
# nothing then; kuryrd writes the IPv6 address it would have made.
pod d
cni ADD "$P-d" eth0 "$NSPATH" "$(netconf ds 1.1.0 '"runtimeConfig":{"ips":["10.61.0.50/24"]}')"
check_eq "ADD with a fixed IPv4 address gets it, and the EUI-64 IPv6 address" \
	"0 10.61.0.50/24 $(eui64 fd00:61::/64 "$(jget '["interfaces"][1]["mac"]' 2>/dev/null)")/64" \
	"$RC $(jget '["ips"][0]["address"]') $(jget '["ips"][1]["address"]')"
check "... and d reaches b over IPv6" \
	ip netns exec "$P-d" busybox ping -6 -c 1 -W 2 "${IP6[b]%/*}"

# runtimeConfig.ips asking for an IPv6 address (CNI conventions: one per
# family at most). With IPv6 alone on a dual-stack network, ovn-northd
# still picks the IPv4 address (addresses "dynamic IPv6").
pod i
cni ADD "$P-i" eth0 "$NSPATH" "$(netconf ds 1.1.0 '"runtimeConfig":{"ips":["fd00:61::50/64"]}')"
check_eq "ADD asking for fd00:61::50 gets it, and an IPv4 address from OVN" "0 fd00:61::50/64 yes" \
	"$RC $(jget '["ips"][1]["address"]' 2>/dev/null) $(jget '["ips"][0]["address"]' 2>/dev/null | grep -q '^10\.61\.0\.' && echo yes)"
check_eq "netlink i: eth0 has fd00:61::50/64, not tentative" "fd00:61::50/64|" \
	"$(addrs "$P-i" 6)|$(ip -n "$P-i" -6 addr show | grep -E 'tentative|dadfailed')"
PORT[i]=$(vsctl get Interface "$(jget '["interfaces"][0]["name"]')" external_ids:iface-id | tr -d '"')
check_eq "OVN NB i: port security is the MAC OVN made, its IPv4 address and fd00:61::50" \
	"$(jget '["interfaces"][1]["mac"]') $(jget '["ips"][0]["address"]' | cut -d/ -f1) fd00:61::50" \
	"$(nbctl get Logical_Switch_Port "${PORT[i]}" port_security | tr -d '[]"')"
check "... and i reaches b over IPv6" ip netns exec "$P-i" busybox ping -6 -c 1 -W 2 "${IP6[b]%/*}"
pod j
cni ADD "$P-j" eth0 "$NSPATH" "$(netconf ds 1.1.0 '"runtimeConfig":{"ips":["10.61.0.60/24","fd00:61::60/64"]}')"
check_eq "ADD asking for an address of each family gets both" "0 10.61.0.60/24 fd00:61::60/64" \
	"$RC $(jget '["ips"][0]["address"]' 2>/dev/null) $(jget '["ips"][1]["address"]' 2>/dev/null)"
check "... and j reaches i over IPv6" ip netns exec "$P-j" busybox ping -6 -c 1 -W 2 fd00:61::50

# Refused, each with nothing left: no port, no device in the pod.
n_lsp=$(nbctl --bare --columns=name list Logical_Switch_Port | grep -c .)
pod k
refuse() { # WHAT CODE RUNTIMECONFIG
	cni ADD "$P-k" eth0 "$NSPATH" "$(netconf ds 1.1.0 "\"runtimeConfig\":$3")"
	check_eq "$1: error $2 with a message" "1 $2 yes" \
		"$RC $(jget '["code"]' 2>/dev/null) $(test -n "$(jget '["msg"]' 2>/dev/null)" && echo yes)"
	check_eq "$1: nothing left (ports, devices, addresses)" "$n_lsp lo" \
		"$(nbctl --bare --columns=name list Logical_Switch_Port | grep -c .) $(ip -n "$P-k" -o link show | awk -F': ' '{print $2}' | paste -sd' ')"
}
refuse "an IPv6 address in use by a container (OVN made it from b's MAC)" 104 "{\"ips\":[\"${IP6[b]}\"]}"
refuse "an IPv6 address asked for by another container" 104 '{"ips":["fd00:61::50/64"]}'
refuse "the IPv6 gateway" 104 '{"ips":["fd00:61::1/64"]}'
refuse "an IPv6 address outside the network's prefix" 104 '{"ips":["fd00:99::5/64"]}'
refuse "two IPv6 addresses" 7 '{"ips":["fd00:61::70/64","fd00:61::71/64"]}'
refuse "a fixed IPv6 address with a fixed MAC and no IPv4 one" 104 \
	'{"ips":["fd00:61::72/64"],"mac":"0a:58:00:00:00:72"}'
check_eq "the store has no row of k" 0 "$(store_sql "select count(*) from attachments where container_id='$P-k'")"

# ---- IPv6 only ----
add v6 e
check_eq "result e: one ip, IPv6, its gateway, one default route" "1 6 fd00:71::1 ::/0" \
	"$(pyj '" ".join([str(len(d["ips"])), "6" if ":" in d["ips"][0]["address"] else "4", d["ips"][0].get("gateway", "-")] + [r["dst"] for r in d["routes"]])' <<<"$OUT")"
check_eq "result e: the address is OVN's EUI-64 one in fd00:71::/64" \
	"$(eui64 fd00:71::/64 "${MAC[e]}")/64" "${IP6[e]}"
add v6 f
check_eq "netlink e: eth0 has the IPv6 address and no IPv4 one" "${IP6[e]}|" \
	"$(addrs "$P-e" 6)|$(addrs "$P-e" 4)"
check_eq "netlink f: eth0 has the IPv6 address" "${IP6[f]}" "$(addrs "$P-f" 6)"
check_eq "netlink e, f: nothing tentative" "" \
	"$(ip -n "$P-e" -6 addr show | grep -E 'tentative|dadfailed')$(ip -n "$P-f" -6 addr show | grep -E 'tentative|dadfailed')"
check_eq "OVN NB e: port security is MAC IPv6" "${MAC[e]} ${IP6[e]%/*}" \
	"$(nbctl get Logical_Switch_Port "${PORT[e]}" port_security | tr -d '[]"')"
check "ping IPv6 e -> f" ping6 e f
check "ping IPv6 f -> e" ping6 f e
check_eq "TCP over IPv6 e -> f" "v6-e-f" "$(tcp6 e f)"
check_eq "TCP over IPv6 f -> e" "v6-f-e" "$(tcp6 f e)"
pod l
cni ADD "$P-l" eth0 "$NSPATH" "$(netconf v6 1.1.0 '"runtimeConfig":{"ips":["fd00:71::70/64"]}')"
check_eq "ADD on the IPv6-only network asking for fd00:71::70 gets it, alone" "0 1 fd00:71::70/64" \
	"$RC $(pyj 'str(len(d["ips"]))' <<<"$OUT" 2>/dev/null) $(jget '["ips"][0]["address"]' 2>/dev/null)"
check "... and l reaches e" ip netns exec "$P-l" busybox ping -6 -c 1 -W 2 "${IP6[e]%/*}"
check "the networks are apart: a cannot reach e" bash -c "! ip netns exec $P-a busybox ping -6 -c 1 -W 1 ${IP6[e]%/*} >/dev/null 2>&1"
cni CHECK "$P-e" eth0 "/run/netns/$P-e" "$(netconf v6 1.1.0 "\"prevResult\":{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"${IP6[e]}\"}]}")"
check_eq "CHECK of the IPv6-only attachment succeeds" 0 "$RC"

# ---- DEL ----
for c in a b c d i j; do
	cni DEL "$P-$c" eth0 "/run/netns/$P-$c" "$(netconf ds)"
	check_eq "DEL $c succeeds" "0 " "$RC $OUT"
done
for c in e f l; do
	cni DEL "$P-$c" eth0 "/run/netns/$P-$c" "$(netconf v6)"
	check_eq "DEL $c succeeds" "0 " "$RC $OUT"
done
assert_clean "after DEL"

# ---- a pre-wired pool on the dual-stack network ----
# Its entries hold both addresses (made in bulk, port_security with both);
# a hit gets both on the passthru macvlan, none tentative.
stop_kuryrd
printf '[vif_pool]\nenabled = true\nprewire = true\nports_pool_min = 2\nports_pool_batch = 2\n' \
	>>"$T/kuryr.conf"
start_kuryrd
check "kuryrctl pool populate ds" ctl pool populate ds
ready=
for _ in $(seq 100); do
	ready=$(ctl -o json pool list --network ds 2>/dev/null | pyj 'd[0]["ready"] if d else ""' 2>/dev/null)
	[ "$ready" = 2 ] && break
	sleep 0.1
done
check_eq "the pool of ds is warm" 2 "$ready"
lsp=$(nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_owner\"=pool" | grep . | head -1)
dyn=$(nbctl get Logical_Switch_Port "$lsp" dynamic_addresses | tr -d '"')
check_eq "OVN NB: a pool port's port security has both addresses" "$dyn" \
	"$(nbctl get Logical_Switch_Port "$lsp" port_security | tr -d '[]"')"
add ds g
add ds h
check_eq "both were pool hits" 2 "$(ctl -o json pool list --network ds | pyj 'd[0]["hits"]')"
check_eq "netlink g: a passthru macvlan with both addresses of the result" \
	"macvlan ${IP4[g]} ${IP6[g]}" \
	"$(ip -n "$P-g" -d -j link show eth0 | pyj 'd[0]["linkinfo"]["info_kind"]') $(addrs "$P-g" 4) $(addrs "$P-g" 6)"
check_eq "netlink g, h: nothing tentative" "" \
	"$(ip -n "$P-g" -6 addr show | grep -E 'tentative|dadfailed')$(ip -n "$P-h" -6 addr show | grep -E 'tentative|dadfailed')"
check "ping IPv6 g -> h" ping6 g h
check "ping IPv6 h -> g" ping6 h g
for c in g h; do
	cni DEL "$P-$c" eth0 "/run/netns/$P-$c" "$(netconf ds)"
	check_eq "DEL $c succeeds" "0 " "$RC $OUT"
	check_eq "DEL $c: no global IPv6 address left in the pod (a draining device's gone too)" "" \
		"$(ip -n "$P-$c" -o -6 addr show scope global | awk '{print $2, $4}')"
done
# An entry handed back is ready again once its pod device is drained
# (in the background): free and delete until the network has no port.
deleted=no
for _ in $(seq 50); do
	ctl pool free ds >/dev/null 2>&1
	ctl network delete ds >/dev/null 2>&1 && { deleted=yes; break; }
	sleep 0.1
done
check_eq "pool free and delete network ds" yes "$deleted"
check "delete network v6" ctl network delete v6
check_eq "OVN NB has no logical switch" "" "$(nbctl --bare --columns=name list Logical_Switch)"

