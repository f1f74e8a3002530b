#!/bin/bash
# IPv6 routers on backend ovn, proven with packets: a dual-stack network
# and an IPv6-only one on one router, a router port per family (both
# subnets' gateways answer, IPv6 is routed between the networks,
# over TCP too); the IPv6 router ports send router advertisements, from
# which a host that configures itself (a port made with kuryrctl, its
# netns plugged by hand with the kernel's own SLAAC) takes OVN's address
# for it and its default route; an external gateway SNATs IPv4 only (IPv6
# is routed, not NATed) and floating IPs stay IPv4 (an IPv6 one, or one for
# an IPv6-only port, is refused); remove-subnet takes both ports away;
# what must be refused is, with nothing half-made.
KURYR_CONF_EXTRA=$'[ovs]\nbridge_mappings = physnet1:br-ex'
. "$(dirname "$0")/lib.sh"
env_up

trap 'ip netns del "$P-s" 2>/dev/null || :; env_down' EXIT

declare -A IP4 IP6
# add NAME NET: container NAME on network NET.
add() {
	pod "$1"
	cni ADD "$P-$1" eth0 "$NSPATH" "$(netconf "$2")"
	check_eq "ADD $1 on $2" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	IP4[$1]=$(pyj '" ".join(i["address"].split("/")[0] for i in d["ips"] if ":" not in i["address"])' <<<"$OUT")
	IP6[$1]=$(pyj '" ".join(i["address"].split("/")[0] for i in d["ips"] if ":" in i["address"])' <<<"$OUT")
}
patches() { vsctl list-ports br-int | grep patch-; }
rjson() { ctl -o json router show "$1" | pyj "$2"; }
lrp_nets() { # ROUTER: each router port's networks, sorted
	local lr
	lr=$(nbctl --bare --columns=name find Logical_Router "external_ids:\"kuryr:router_name\"=$1")
	for p in $(nbctl --bare --columns=ports list Logical_Router "$lr"); do
		nbctl --bare get Logical_Router_Port "$p" networks
	done | tr -d '[]"' | sort | paste -sd' '
}

check "network create ds (dual stack)" ctl network create ds --subnet 10.81.0.0/24 --subnet fd00:81::/64
check "network create v6 (IPv6 only)" ctl network create v6 --subnet fd00:82::/64
add a ds
add b v6

check_eq "without a router: v6 is out of a's reach" "drop" "$(ping1 "$P-a" "${IP6[b]}")"
check "router create r1" ctl router create r1
check "router add-subnet r1 ds" ctl router add-subnet r1 ds
check "router add-subnet r1 v6" ctl router add-subnet r1 v6
check_eq "OVN NB: a router port per subnet, each holding its gateway" \
	"10.81.0.1/24 fd00:81::1/64 fd00:82::1/64" "$(lrp_nets r1)"
check_eq "OVN NB: ds's switch has a router port per family" 2 \
	"$(for p in $(nbctl --bare --columns=ports list Logical_Switch ds); do nbctl --bare get Logical_Switch_Port "$p" type; done | grep -c router)"
check_eq "OVN NB: the IPv6 router ports advertise SLAAC, the IPv4 one nothing" \
	"slaac slaac -" \
	"$(for n in fd00:81::1/64 fd00:82::1/64 10.81.0.1/24; do nbctl --bare --columns=ipv6_ra_configs find Logical_Router_Port "networks=\"$n\"" | grep -o 'address_mode=[a-z_]*' | cut -d= -f2 | grep . || echo -; done | paste -sd' ')"
check_eq "router show r1: three interfaces, one per subnet" \
	"ds:10.81.0.0/24:10.81.0.1 ds:fd00:81::/64:fd00:81::1 v6:fd00:82::/64:fd00:82::1" \
	"$(rjson r1 '" ".join(sorted("%s:%s:%s" % (i["network"], i["subnet"], i["ip"]) for i in d["interfaces"]))')"

check_eq "both gateways of ds answer ping from a" "pass pass" \
	"$(eventually pass ping1 "$P-a" 10.81.0.1) $(eventually pass ping1 "$P-a" fd00:81::1)"
check_eq "through the router, a and b reach each other over IPv6" "pass pass" \
	"$(eventually pass ping1 "$P-a" "${IP6[b]}") $(ping1 "$P-b" "${IP6[a]}")"
serve "$P-b" 8080
check_eq "... over TCP too, b sees a's own IPv6 address (routed, not NATed)" "open ${IP6[a]}" \
	"$(tcp "$P-a" "${IP6[b]}" 8080) $(last_peer "$P-b")"
serve "$P-a" 8080
check_eq "... and the other way" "open ${IP6[b]}" \
	"$(tcp "$P-b" "${IP6[a]}" 8080) $(last_peer "$P-a")"

# ---- a host that configures itself: SLAAC from the router's RAs ----
# A port made with kuryrctl (as for a VM), its netns plugged onto br-int
# by hand; the kernel there does what any host does: it solicits, takes
# the advertised prefix, makes its EUI-64 address and a default route
# via the router's link-local address. Its port is in the default group:
# router advertisements pass security groups, as neighbour discovery does.
PJ=$(ctl -o json port create --network ds --name "$P-s" --device-id "$P-s")
check_eq "port create on ds gets both addresses" "yes yes" \
	"$(pyj '"yes" if d["ip"] else "no"' <<<"$PJ") $(pyj '"yes" if d["ip6"] else "no"' <<<"$PJ")"
SMAC=$(pyj 'd["mac"]' <<<"$PJ")
SIP6=$(pyj 'd["ip6"]' <<<"$PJ")
ip netns add "$P-s"
ip -n "$P-s" link set lo up
ip -n "$HOSTNS" link add "$P-s" type veth peer name eth0 netns "$P-s"
ip netns exec "$P-s" sysctl -qw net.ipv6.conf.eth0.accept_ra=2 net.ipv6.conf.eth0.autoconf=1 \
	net.ipv6.conf.eth0.addr_gen_mode=0
ip -n "$P-s" link set eth0 address "$SMAC"
ip -n "$HOSTNS" link set "$P-s" up
check "kuryrctl vm plug the host's veth" ctl vm plug "$P-s" "$P-s"
ip -n "$P-s" link set eth0 up
slaac_state() {
	echo "$(ip -n "$P-s" -o -6 addr show dev eth0 scope global | awk '{print $4}' | paste -sd' ')|$(ip -n "$P-s" -6 route show default | awk '{print $1, $2, substr($3, 1, 5)}' | head -1)"
}
got=
for _ in $(seq 60); do
	got=$(slaac_state)
	case $got in ?*"|default via fe80:"*) break ;; esac
	sleep 0.25
done
check_eq "the host's port is in the drop group (its default group lets in only its members)" yes \
	"$(grep -q "$(nbctl --bare --columns=_uuid find Logical_Switch_Port name="$P-s")" <<<"$(nbctl --bare --columns=ports find Port_Group name=kuryr_pg_drop)" && echo yes || echo no)"
check_eq "the host took OVN's address for it from the advertised prefix, and a default route via the router" \
	"$SIP6/64|default via fe80:" "$got"
check_eq "... the route came from an RA" "ra" \
	"$(ip -n "$P-s" -6 route show default | grep -o 'proto [a-z]*' | head -1 | cut -d' ' -f2)"
check_eq "... its MTU is the network's" "$(ctl -o json network show ds | pyj 'str(d["mtu"])')" \
	"$(ip netns exec "$P-s" cat /proc/sys/net/ipv6/conf/eth0/mtu)"
check_eq "the self-configured host reaches b across the router" "pass" \
	"$(eventually pass ping1 "$P-s" "${IP6[b]}")"

# ---- the way out: IPv4 is NATed, IPv6 is not ----
check "network create ext --external" \
	ctl network create ext --subnet 172.25.0.0/24 --gateway 172.25.0.1 --external \
	--physical-network physnet1
check "router set r1 --external-gateway ext" ctl router set r1 --external-gateway ext
check_eq "OVN NB: one SNAT row, for ds's IPv4 subnet only" "snat 10.81.0.0/24" \
	"$(nbctl --bare --columns=type,logical_ip list NAT | paste -sd' ' | sed 's/  */ /g')"
check_eq "... still routed: b sees a's own IPv6 address" "open ${IP6[a]}" \
	"$(tcp "$P-a" "${IP6[b]}" 8080) $(last_peer "$P-b")"
# Floating IPs stay IPv4: an IPv6 one, or one for a port with only IPv6,
# is refused, nothing made.
PORT_A=$(nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-a\"")
PORT_B=$(nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-b\"")
check_eq "floating-ip create ext --port a --ip fd00:99::5 (an IPv6 one): refused, one line" "1 1" \
	"$(refused ctl floating-ip create ext --port "$PORT_A" --ip fd00:99::5)"
check "... saying floating IPs are IPv4" grep -q 'floating IPs are IPv4' "$T/ctl.err"
check_eq "floating-ip create ext --port b (IPv6 only): refused, one line" "1 1" \
	"$(refused ctl floating-ip create ext --port "$PORT_B")"
check "... saying b has no IPv4 address" grep -q 'no IPv4 address' "$T/ctl.err"
check_eq "... and no NAT row but the SNAT one" "snat" "$(nbctl --bare --columns=type list NAT | grep . | paste -sd' ')"
check "router set r1 --no-external-gateway" ctl router set r1 --no-external-gateway
check "delete network ext" ctl network delete ext
check_eq "ovn-controller takes br-int's patch to the provider bridge away" "" \
	"$(eventually "" patches)"

# ---- refused, nothing half-made ----
ctl router create r2 >/dev/null
n_lsp=$(nbctl --bare --columns=ports list Logical_Switch ds | wc -w)
check_eq "a dual-stack network another router has: refused, one line" "1 1" \
	"$(refused ctl router add-subnet r2 ds)"
check_eq "... and nothing is made: r2 has no port, ds no new one" "0 $n_lsp" \
	"$(nbctl --bare --columns=ports find Logical_Router "external_ids:\"kuryr:router_name\"=r2" | wc -w) $(nbctl --bare --columns=ports list Logical_Switch ds | wc -w)"
check "network create nogw (IPv6, no gateway)" ctl network create nogw --subnet fd00:83::/64 --gateway none
check_eq "network show nogw: no gateway" "-" "$(ctl -o json network show nogw | pyj 'd["gateway6"] or "-"')"
check_eq "a network without a gateway on a router: refused, one line" "1 1" \
	"$(refused ctl router add-subnet r2 nogw)"
check "... saying which family lacks it" grep -q 'no IPv6 gateway' "$T/ctl.err"
check_eq "... and r2 has no port" 0 \
	"$(nbctl --bare --columns=ports find Logical_Router "external_ids:\"kuryr:router_name\"=r2" | wc -w)"
check "delete network nogw" ctl network delete nogw
check "router delete r2" ctl router delete r2

# ---- remove-subnet takes both ports of ds ----
check "router remove-subnet r1 ds" ctl router remove-subnet r1 ds
check_eq "OVN NB: only v6's router port is left" "fd00:82::1/64" "$(lrp_nets r1)"
check_eq "OVN NB: ds's switch has no router port" "" \
	"$(for p in $(nbctl --bare --columns=ports list Logical_Switch ds); do nbctl --bare get Logical_Switch_Port "$p" type; done | grep router)"
check_eq "a no longer reaches b" "drop" "$(eventually drop ping1 "$P-a" "${IP6[b]}")"
check "router remove-subnet r1 v6" ctl router remove-subnet r1 v6
check "router delete r1" ctl router delete r1
check_eq "OVN NB: no router, no router port, no NAT row" "||" \
	"$(nbctl --bare --columns=name list Logical_Router)|$(nbctl --bare --columns=name list Logical_Router_Port)|$(nbctl --bare --columns=_uuid list NAT)"

# ---- tear down ----
check "kuryrctl vm unplug the host's veth" ctl vm unplug "$P-s"
check "port delete the host's port" ctl port delete "$P-s"
ip netns del "$P-s" # and its veth with it
cni DEL "$P-a" eth0 "/run/netns/$P-a" "$(netconf ds)"
check_eq "DEL a" 0 "$RC"
cni DEL "$P-b" eth0 "/run/netns/$P-b" "$(netconf v6)"
check_eq "DEL b" 0 "$RC"
check "delete network ds" ctl network delete ds
check "delete network v6" ctl network delete v6
assert_clean "at the end"
