#!/bin/bash
# IPv6 on backend "neutron", against a real neutron-server (ML2/OVN): a
# dual-stack network (an IPv4 subnet and an IPv6 /64 in mode slaac) and an
# IPv6-only one in mode dhcpv6-stateful (a /80: Neutron's own IPAM), made
# with kuryrctl; containers take the ports' fixed IPs whatever the mode
# (both families, both default routes, nothing tentative) and talk over
# IPv6 (ping, TCP); a neighbour advertisement for another's address is
# dropped; runtimeConfig.ips asks for an IPv6 address on the
# stateful network, one in use is CNI error 104 with nothing left, as is
# one on the SLAAC subnet (Neutron makes those addresses itself) or
# outside the prefix; a security group rule with --ethertype IPv6 opens one
# port over IPv6 only; a router gets an interface per subnet and routes
# IPv6 between the networks; a pool's entries hold both families. Bad
# network requests are refused before anything is made.
NEUTRON=true
BACKEND=neutron
KURYR_CONF_EXTRA="[neutron_defaults]
resource_tags = kuryr-e2e,node-$$"
TAGS='["kuryr-e2e", "node-'$$'"]'
. "$(dirname "$0")/lib.sh"
env_up


addrs() { ip -n "$1" -o "-$2" addr show dev eth0 scope global | awk '{print $4}' | sort | paste -sd' '; }
nets_named() { nq GET "/networks?name=$1" | jq1 '["networks"].__len__()'; }
subnet_of() { # NETWORK_ID VERSION: its subnet of that IP version, as JSON
	nq GET "/subnets?network_id=$1&ip_version=$2" | jq1 '["subnets"][0]'
}

# ---- bad network requests: refused, nothing made in Neutron ----
check_eq "a /80 IPv6 subnet in mode slaac: refused, one line" "1 1" \
	"$(refused ctl network create bad --subnet 10.64.9.0/24 --subnet fd00:69::/80)"
check "... saying SLAAC needs a /64" grep -q '/64' "$T/ctl.err"
check_eq "an unknown IPv6 mode: refused, one line" "1 1" \
	"$(refused ctl network create bad --subnet fd00:69::/64 --ipv6-mode dhcpv6-stateless)"
check_eq "--ipv6-mode without an IPv6 subnet: refused, one line" "1 1" \
	"$(refused ctl network create bad --subnet 10.64.9.0/24 --ipv6-mode slaac)"
check_eq "an IPv6 gateway outside the IPv6 subnet: refused" 1 \
	"$(refused ctl network create bad --subnet fd00:69::/64 --gateway fd00:70::1 | cut -d' ' -f1)"
check_eq "... and Neutron has no network bad" 0 "$(nets_named bad)"

# ---- the networks ----
check "network create ds (IPv4 + IPv6 slaac)" \
	ctl network create ds --subnet 10.64.0.0/24 --subnet fd00:64::/64
check "network create st (IPv6 only, dhcpv6-stateful, a /80)" \
	ctl network create st --subnet fd00:65::/80 --ipv6-mode dhcpv6-stateful
DS=$(nq GET "/networks?name=ds" | jq1 '["networks"][0]["id"]')
ST=$(nq GET "/networks?name=st" | jq1 '["networks"][0]["id"]')
S6=$(subnet_of "$DS" 6)
check_eq "Neutron: ds's IPv6 subnet, slaac both ways, gateway ::1, resource_tags" \
	"fd00:64::/64 slaac slaac fd00:64::1 $TAGS" \
	"$(jq1 '["cidr"]' <<<"$S6") $(jq1 '["ipv6_address_mode"]' <<<"$S6") $(jq1 '["ipv6_ra_mode"]' <<<"$S6") $(jq1 '["gateway_ip"]' <<<"$S6") $(jq1 '["tags"]' <<<"$S6")"
check_eq "Neutron: ds's IPv4 subnet too" "10.64.0.0/24" "$(subnet_of "$DS" 4 | jq1 '["cidr"]')"
S6=$(subnet_of "$ST" 6)
check_eq "Neutron: st has one subnet, IPv6, dhcpv6-stateful" "1 fd00:65::/80 dhcpv6-stateful" \
	"$(nq GET "/subnets?network_id=$ST" | jq1 '["subnets"].__len__()') $(jq1 '["cidr"]' <<<"$S6") $(jq1 '["ipv6_address_mode"]' <<<"$S6")"
check_eq "network show ds: both subnets, their gateways, the IPv6 mode" \
	"10.64.0.0/24 10.64.0.1 fd00:64::/64 fd00:64::1 slaac" \
	"$(ctl -o json network show ds | pyj '" ".join((d["subnet"], d["gateway"], d["subnet6"], d["gateway6"], d["ipv6_mode"]))')"

declare -A IP4 IP6 MAC
add() { # NET NAME [RUNTIMECONFIG]
	pod "$2"
	cni ADD "$P-$2" eth0 "$NSPATH" "$(netconf "$1" 1.1.0 ${3:+"\"runtimeConfig\":$3"})"
	check_eq "ADD $2 on $1${3:+ $3}" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	MAC[$2]=$(jget '["interfaces"][1]["mac"]')
	IP4[$2]=$(pyj '" ".join(i["address"] for i in d["ips"] if ":" not in i["address"])' <<<"$OUT")
	IP6[$2]=$(pyj '" ".join(i["address"] for i in d["ips"] if ":" in i["address"])' <<<"$OUT")
}
fixed_ips() { # CONTAINER: its Neutron port's fixed IPs, sorted
	nq GET "/ports?device_id=$1" | pyj '" ".join(sorted(f["ip_address"] for f in d["ports"][0]["fixed_ips"]))'
}

add ds a
check_eq "result a: an IPv4 and an IPv6 address with their gateways; a default route per family" \
	"4 10.64.0.1 6 fd00:64::1 0.0.0.0/0 ::/0" \
	"$(pyj '" ".join(sum([["6" if ":" in i["address"] else "4", i.get("gateway", "-")] for i in d["ips"]], []) + sorted(r["dst"] for r in d["routes"]))' <<<"$OUT")"
check_eq "result a: the IPv6 address is the SLAAC one Neutron made (prefix + EUI-64), a /64" \
	"$(eui64 fd00:64::/64 "${MAC[a]}")/64" "${IP6[a]}"
check_eq "Neutron port a: both fixed IPs, the container's" \
	"$(printf '%s\n' "${IP4[a]%/*}" "${IP6[a]%/*}" | sort | paste -sd' ')" "$(fixed_ips "$P-a")"
add ds b
check_eq "netlink a: both addresses, nothing tentative" "${IP4[a]} ${IP6[a]}|" \
	"$(addrs "$P-a" 4) $(addrs "$P-a" 6)|$(ip -n "$P-a" -6 addr show | grep -E 'tentative|dadfailed')"
check_eq "netlink a: the IPv6 default route via the gateway" "default via fd00:64::1" \
	"$(ip -n "$P-a" -6 route show default | awk '{print $1, $2, $3}')"
check "ping IPv6 a -> b through ML2/OVN" ip netns exec "$P-a" busybox ping -6 -c 1 -W 2 "${IP6[b]%/*}"
serve "$P-b" 8080
check_eq "TCP over IPv6 a -> b" "open" "$(tcp "$P-a" "${IP6[b]%/*}" 8080)"
# Neighbour-discovery spoofing through ML2/OVN's port security: a
# advertises an address that is not its own; neither side needs neighbour
# discovery meanwhile, so b counts only what a sends.
ip -n "$P-a" -6 neigh replace "${IP6[b]%/*}" lladdr "${MAC[b]}" dev eth0 nud permanent
ip -n "$P-b" -6 neigh replace "${IP6[a]%/*}" lladdr "${MAC[a]}" dev eth0 nud permanent
nas() { ip netns exec "$P-b" awk '$1 == "Icmp6InNeighborAdvertisements" {print $2}' /proc/net/snmp6; }
na_from_a() { # TARGET: "arrived" or "dropped"
	local before
	before=$(nas)
	ip netns exec "$P-a" python3 "$SRC/tests/e2e/nd-spoof.py" eth0 "${MAC[a]}" "${MAC[b]}" \
		"${IP6[a]%/*}" "${IP6[b]%/*}" "$1"
	sleep 0.3
	[ "$(nas)" -gt "$before" ] && echo arrived || echo dropped
}
check_eq "a neighbour advertisement for an address that is not a's is dropped" dropped \
	"$(na_from_a fd00:64::beef)"
check_eq "... one for a's own address arrives (same path)" arrived "$(na_from_a "${IP6[a]%/*}")"

# A security group rule over IPv6 only: one TCP port in.
check "security-group create web6" ctl security-group create web6
check "rule-add web6 --ethertype IPv6 tcp 8080" \
	ctl security-group rule-add web6 --ethertype IPv6 --protocol tcp --port 8080
check_eq "Neutron: the rule is IPv6's" "IPv6 tcp 8080" \
	"$(nq GET "/security-group-rules?direction=ingress&protocol=tcp&port_range_min=8080" | pyj '" ".join(str(d["security_group_rules"][0][k]) for k in ("ethertype", "protocol", "port_range_min"))')"
pod w
cni ADD "$P-w" eth0 "$NSPATH" "$(netconf ds 1.1.0 '"security_groups":["web6"]')"
check_eq "ADD w in group web6" 0 "$RC"
IP4[w]=$(pyj '" ".join(i["address"] for i in d["ips"] if ":" not in i["address"])' <<<"$OUT")
IP6[w]=$(pyj '" ".join(i["address"] for i in d["ips"] if ":" in i["address"])' <<<"$OUT")
serve "$P-w" 8080 8081
check_eq "TCP over IPv6 to w's 8080 passes" "open" "$(eventually open tcp "$P-a" "${IP6[w]%/*}" 8080)"
check_eq "TCP over IPv6 to w's 8081 is dropped" "timeout" "$(tcp "$P-a" "${IP6[w]%/*}" 8081)"
check_eq "TCP over IPv4 to w's 8080 is dropped (the rule is IPv6's)" "timeout" \
	"$(tcp "$P-a" "${IP4[w]%/*}" 8080)"
cni DEL "$P-w" eth0 "/run/netns/$P-w" "$(netconf ds)"
check_eq "DEL w" 0 "$RC"
check "security-group delete web6" ctl security-group delete web6

add st c
check_eq "result c: one address, IPv6 from Neutron's stateful pool, a /80, with its gateway" \
	"1 fd00:65::1 80" \
	"$(pyj '" ".join([str(len(d["ips"])), d["ips"][0].get("gateway", "-"), d["ips"][0]["address"].split("/")[1]])' <<<"$OUT")"
check_eq "Neutron port c: that fixed IP" "${IP6[c]%/*}" "$(fixed_ips "$P-c")"
add st d '{"ips":["fd00:65::99/80"]}'
check_eq "runtimeConfig on the stateful network: d gets fd00:65::99/80, Neutron's port has it" \
	"fd00:65::99/80 fd00:65::99" "${IP6[d]} $(fixed_ips "$P-d")"
check_eq "netlink d: fd00:65::99/80, nothing tentative" "fd00:65::99/80|" \
	"$(addrs "$P-d" 6)|$(ip -n "$P-d" -6 addr show | grep -E 'tentative|dadfailed')"
check "ping IPv6 c -> d" ip netns exec "$P-c" busybox ping -6 -c 1 -W 2 fd00:65::99

# Refused, each with nothing left: no Neutron port, no device, no row.
before=$(all_ports)
pod k
refuse() { # NET WHAT CODE RUNTIMECONFIG
	cni ADD "$P-k" eth0 "$NSPATH" "$(netconf "$1" 1.1.0 "\"runtimeConfig\":$4")"
	check_eq "$2: error $3 with a message" "1 $3 yes" \
		"$RC $(jget '["code"]' 2>/dev/null) $(test -n "$(jget '["msg"]' 2>/dev/null)" && echo yes)"
	check_eq "$2: nothing left (Neutron ports, devices, store rows)" "$before|lo|0" \
		"$(all_ports)|$(ip -n "$P-k" -o link show | awk -F': ' '{print $2}' | paste -sd' ')|$(store_sql "select count(*) from attachments where container_id='$P-k'")"
}
refuse st "an IPv6 address in use" 104 '{"ips":["fd00:65::99/80"]}'
refuse st "an IPv6 address outside the prefix" 104 '{"ips":["fd00:99::5/80"]}'
refuse ds "an IPv6 address on a SLAAC subnet (Neutron makes those)" 104 '{"ips":["fd00:64::99/64"]}'
refuse st "two IPv6 addresses" 7 '{"ips":["fd00:65::7/80","fd00:65::8/80"]}'

# ---- a router between the two: an interface per subnet, IPv6 routed ----
check_eq "without a router: st is out of a's reach" "drop" "$(ping1 "$P-a" "${IP6[c]%/*}")"
check "router create r6" ctl router create r6
check "router add-subnet r6 ds (both families)" ctl router add-subnet r6 ds
check "router add-subnet r6 st" ctl router add-subnet r6 st
RID=$(nq GET "/routers?name=r6" | jq1 '["routers"][0]["id"]')
check_eq "Neutron: the router has an interface per subnet, each holding its gateway" \
	"10.64.0.1 fd00:64::1 fd00:65::1" \
	"$(nq GET "/ports?device_id=$RID&device_owner=network:router_interface" | pyj '" ".join(sorted(f["ip_address"] for p in d["ports"] for f in p["fixed_ips"]))')"
check_eq "router show r6: three interfaces" 3 "$(ctl -o json router show r6 | pyj 'len(d["interfaces"])')"
check_eq "a reaches c across the router over IPv6" "pass" "$(eventually pass ping1 "$P-a" "${IP6[c]%/*}")"
serve "$P-c" 8080
check_eq "... over TCP too, c sees a's own address (routed, not NATed)" "open ${IP6[a]%/*}" \
	"$(tcp "$P-a" "${IP6[c]%/*}" 8080) $(last_peer "$P-c")"
check_eq "a network on r6 already: refused, one line" "1 1" "$(refused ctl router add-subnet r6 st)"
check "router remove-subnet r6 ds" ctl router remove-subnet r6 ds
check_eq "Neutron: only st's interface is left" "fd00:65::1" \
	"$(nq GET "/ports?device_id=$RID&device_owner=network:router_interface" | pyj '" ".join(sorted(f["ip_address"] for p in d["ports"] for f in p["fixed_ips"]))')"
check "router remove-subnet r6 st" ctl router remove-subnet r6 st
check "router delete r6" ctl router delete r6

for c in a b; do
	cni DEL "$P-$c" eth0 "/run/netns/$P-$c" "$(netconf ds)"
	check_eq "DEL $c" 0 "$RC"
done
for c in c d; do
	cni DEL "$P-$c" eth0 "/run/netns/$P-$c" "$(netconf st)"
	check_eq "DEL $c" 0 "$RC"
done
check_eq "Neutron: no port of a container left" 0 \
	"$(nq GET "/ports?device_owner=compute:kuryr" | jq1 '["ports"].__len__()')"

# ---- a pool on the dual-stack network ----
stop_kuryrd
printf '[vif_pool]\nenabled = true\nports_pool_min = 2\nports_pool_batch = 2\n' >>"$T/kuryr.conf"
start_kuryrd
check "kuryrctl pool populate ds" ctl pool populate ds
ready=
for _ in $(seq 150); do
	ready=$(ctl -o json pool list --network ds 2>/dev/null | pyj 'd[0]["ready"] if d else ""' 2>/dev/null)
	[ "$ready" = 2 ] && break
	sleep 0.2
done
check_eq "the pool of ds is warm" 2 "$ready"
add ds g
check_eq "a pool hit" 1 "$(ctl -o json pool list --network ds | pyj 'd[0]["hits"]')"
check_eq "netlink g: both addresses of the result, nothing tentative" "${IP4[g]} ${IP6[g]}|" \
	"$(addrs "$P-g" 4) $(addrs "$P-g" 6)|$(ip -n "$P-g" -6 addr show | grep -E 'tentative|dadfailed')"
check_eq "Neutron port g: both fixed IPs" \
	"$(printf '%s\n' "${IP4[g]%/*}" "${IP6[g]%/*}" | sort | paste -sd' ')" \
	"$(nq GET "/ports?mac_address=${MAC[g]}" | pyj '" ".join(sorted(f["ip_address"] for f in d["ports"][0]["fixed_ips"]))')"
cni DEL "$P-g" eth0 "/run/netns/$P-g" "$(netconf ds)"
check_eq "DEL g" 0 "$RC"
deleted=no
for _ in $(seq 50); do
	ctl pool free ds >/dev/null 2>&1
	ctl network delete ds >/dev/null 2>&1 && { deleted=yes; break; }
	sleep 0.2
done
check_eq "pool free and delete network ds" yes "$deleted"
check "delete network st" ctl network delete st
check_eq "Neutron has neither network" "0 0" "$(nets_named ds) $(nets_named st)"
assert_clean "at the end"
