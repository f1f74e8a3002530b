#!/bin/bash
# Routers, external networks and floating IPs on backend ovn, proven with
# packets: two networks talk through a router and not without it, the
# gateway answers ping, a container reaches the outside world (namespace
# $P-out behind the provider bridge br-ex) through SNAT with the router's
# external address, the outside reaches a container at its floating IP;
# and what must be refused is, with nothing half-made.
KURYR_CONF_EXTRA=$'[ovs]\nbridge_mappings = physnet1:br-ex'
. "$(dirname "$0")/lib.sh"
env_up

check_eq "kuryrd made the provider bridge and mapped physnet1 onto it" "br-ex physnet1:br-ex" \
	"$(vsctl list-br | grep -x br-ex) $(vsctl get Open_vSwitch . external_ids:ovn-bridge-mappings | tr -d '"')"
check "the outside world is behind br-ex" outside_up 172.24.0.1/24

declare -A IP PORT
# add NAME NET: container NAME on network NET.
add() {
	pod "$1"
	cni ADD "$P-$1" eth0 "$NSPATH" "$(netconf "$2")"
	check_eq "ADD $1 on $2" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	PORT[$1]=$(vsctl get Interface "$(jget '["interfaces"][0]["name"]')" external_ids:iface-id | tr -d '"')
}
rjson() { ctl -o json router show "$1" | python3 -c "import json,sys; r=json.load(sys.stdin); print($2)"; }
nat_rows() { nbctl --bare --columns=type,external_ip,logical_ip list NAT | paste -sd' ' | sed 's/  */ /g'; }

ctl network create neta --subnet 10.41.0.0/24 >/dev/null
ctl network create netb --subnet 10.42.0.0/24 >/dev/null
add a neta
add b netb

# ---- two networks, with and without a router ----
check_eq "without a router: no way to the other network, nothing answers on the gateway" \
	"drop drop" "$(ping1 "$P-a" "${IP[b]}") $(ping1 "$P-a" 10.41.0.1)"
check "router create r1" ctl router create r1
check "router add-subnet r1 neta" ctl router add-subnet r1 neta
check "router add-subnet r1 netb" ctl router add-subnet r1 netb
LR=$(nbctl --bare --columns=name find Logical_Router "external_ids:\"kuryr:router_name\"=r1")
check_eq "OVN NB: the router's ports hold the subnets' gateway addresses" "10.41.0.1/24 10.42.0.1/24" \
	"$(for p in $(nbctl --bare --columns=ports list Logical_Router "$LR"); do nbctl --bare get Logical_Router_Port "$p" networks; done | tr -d '[]"' | sort | paste -sd' ')"
check_eq "router show r1 lists both subnets" "neta:10.41.0.0/24:10.41.0.1 netb:10.42.0.0/24:10.42.0.1" \
	"$(rjson r1 '" ".join(sorted("%s:%s:%s" % (i["network"], i["subnet"], i["ip"]) for i in r["interfaces"]))')"
check_eq "the gateway answers ping" "pass" "$(eventually pass ping1 "$P-a" 10.41.0.1)"
check_eq "through the router, a and b reach each other" "pass pass" \
	"$(eventually pass ping1 "$P-a" "${IP[b]}") $(ping1 "$P-b" "${IP[a]}")"
serve "$P-b" 8080
check_eq "... over TCP too, from a's own address" "open ${IP[a]}" \
	"$(tcp "$P-a" "${IP[b]}" 8080) $(last_peer "$P-b")"

# ---- what a router refuses ----
ctl router create r2 >/dev/null
n_lsp=$(nbctl --bare --columns=ports list Logical_Switch neta | wc -w)
check_eq "a subnet another router has: refused, one line" "1 1" "$(refused ctl router add-subnet r2 neta)"
check "... saying so" grep -q 'already on a router' "$T/ctl.err"
check_eq "... and nothing is made: r2 has no port, neta no new one" "0 $n_lsp" \
	"$(nbctl --bare --columns=ports find Logical_Router "external_ids:\"kuryr:router_name\"=r2" | wc -w) $(nbctl --bare --columns=ports list Logical_Switch neta | wc -w)"
check_eq "deleting a router with subnets: refused" "1 1" "$(refused ctl router delete r1)"
check_eq "a router name taken: refused" "1 1" "$(refused ctl router create r1)"
check_eq "an unknown network: refused" "1 1" "$(refused ctl router add-subnet r1 no-such-net)"
check_eq "removing a subnet the router does not have: refused" "1 1" \
	"$(refused ctl router remove-subnet r2 netb)"

# ---- the way out ----
check "network create ext --external --physical-network physnet1" \
	ctl network create ext --subnet 172.24.0.0/24 --gateway 172.24.0.1 --external \
	--physical-network physnet1
check_eq "OVN NB: ext has a localnet port onto physnet1" "localnet physnet1" \
	"$(nbctl --bare --columns=type,options find Logical_Switch_Port type=localnet | paste -sd' ' | sed 's/network_name=//')"
check_eq "network show ext says it is external" "True physnet1 0" \
	"$(ctl -o json network show ext | python3 -c 'import json,sys; n=json.load(sys.stdin); print(n.get("external"), n.get("physical_network"), n["ports"])')"
check "router set r1 --external-gateway ext" ctl router set r1 --external-gateway ext
GW=$(rjson r1 'r["external_gateway"]["ip"]')
check_eq "the router has an address on ext, SNAT on" "172.24.0.2 True" \
	"$GW $(rjson r1 'r["external_gateway"]["snat"]')"
check_eq "OVN NB: its gateway port is scheduled on this node" "$KURYR_HOST" \
	"$(nbctl --bare --columns=chassis_name list Gateway_Chassis)"
check_eq "OVN NB: SNAT of both subnets to it, a default route to ext's gateway" \
	"snat $GW 10.41.0.0/24 snat $GW 10.42.0.0/24 | 0.0.0.0/0 172.24.0.1" \
	"$(nbctl --bare --columns=type,external_ip,logical_ip list NAT | paste -sd' ' | sed 's/  */ /g' | tr ' ' '\n' | paste -d' ' - - - | sort | paste -sd' ') | $(nbctl --bare --columns=ip_prefix,nexthop list Logical_Router_Static_Route | paste -sd' ')"
check_eq "OVN NB: ext's IPAM will not hand out the router's address" "172.24.0.1 $GW" \
	"$(nbctl get Logical_Switch ext other_config:exclude_ips | tr -d '"')"
check_eq "the outside pings the router's external address" "pass" \
	"$(eventually pass ping1 "$P-out" "$GW")"
serve "$P-out" 9000
check_eq "a container reaches the outside, which sees the router's address" "open $GW" \
	"$(eventually open tcp "$P-a" 172.24.0.1 9000) $(last_peer "$P-out")"
check_eq "... from the other network too" "open $GW" \
	"$(tcp "$P-b" 172.24.0.1 9000) $(last_peer "$P-out")"

# ---- floating IPs ----
serve "$P-a" 8080
check "the outside cannot reach a container without a floating IP" \
	test "$(tcp "$P-out" "${IP[a]}" 8080)" != open
# The default group lets in its own members only: open 8080 to the outside.
check "security-group rule-add default tcp 8080 from the outside" \
	ctl security-group rule-add default --protocol tcp --port 8080 --remote-ip 172.24.0.0/24
OUT=$(ctl -o json floating-ip create ext --port "${PORT[a]}")
check_eq "floating-ip create ext --port a's port" "172.24.0.3 ${IP[a]} ${PORT[a]}" \
	"$(jget '["ip"]') $(jget '["fixed_ip"]') $(jget '["port"]')"
FIP=$(jget '["ip"]')
FIP_ID=$(jget '["id"]')
check_eq "OVN NB: a dnat_and_snat row on r1" "dnat_and_snat $FIP ${IP[a]}" \
	"$(nbctl --bare --columns=type,external_ip,logical_ip find NAT type=dnat_and_snat | paste -sd' ')"
check_eq "the outside reaches a at its floating IP, and a sees the outside's address" \
	"open 172.24.0.1" "$(eventually open tcp "$P-out" "$FIP" 8080) $(last_peer "$P-a")"
check_eq "a now leaves by its floating IP" "open $FIP" \
	"$(tcp "$P-a" 172.24.0.1 9000) $(last_peer "$P-out")"
check "floating-ip list shows it" grep -q "$FIP_ID" <<<"$(ctl floating-ip list)"

# ---- what floating IPs refuse ----
nats=$(nat_rows)
check_eq "a floating IP on a network that is not external: refused" "1 1" \
	"$(refused ctl floating-ip create neta --port "${PORT[b]}")"
check "... saying so" grep -q 'not external' "$T/ctl.err"
check_eq "an address in use: refused" "1 1" \
	"$(refused ctl floating-ip create ext --port "${PORT[b]}" --ip "$FIP")"
check_eq "an address outside ext: refused" "1 1" \
	"$(refused ctl floating-ip create ext --port "${PORT[b]}" --ip 10.9.9.9)"
check_eq "a second floating IP for the same port: refused" "1 1" \
	"$(refused ctl floating-ip create ext --port "${PORT[a]}")"
check_eq "an unknown port: refused" "1 1" "$(refused ctl floating-ip create ext --port no-such-port)"
check_eq "taking the gateway away under a floating IP: refused" "1 1" \
	"$(refused ctl router set r1 --no-external-gateway)"
check_eq "taking a's subnet off the router under its floating IP: refused" "1 1" \
	"$(refused ctl router remove-subnet r1 neta)"
check_eq "... and NB's NAT rows are as they were" "$nats" "$(nat_rows)"
check "floating-ip delete" ctl floating-ip delete "$FIP"
check_eq "OVN NB: its NAT row is gone and its address free again" "0 172.24.0.1 $GW" \
	"$(nbctl --bare --columns=_uuid find NAT type=dnat_and_snat | grep -c .) $(nbctl get Logical_Switch ext other_config:exclude_ips | tr -d '"')"
check_eq "the outside no longer reaches a there" "timeout" "$(eventually timeout tcp "$P-out" "$FIP" 8080)"
check_eq "deleting it again: refused" "1 1" "$(refused ctl floating-ip delete "$FIP")"
OUT=$(ctl -o json floating-ip create ext --port "${PORT[b]}" --ip 172.24.0.77)
check_eq "a floating IP at a chosen address" "172.24.0.77" "$(jget '["ip"]')"
cni DEL "$P-b" eth0 "/run/netns/$P-b" "$(netconf netb)"
check_eq "DEL of its container drops the floating IP" "0 172.24.0.1 $GW" \
	"$(nbctl --bare --columns=_uuid find NAT type=dnat_and_snat | grep -c .) $(nbctl get Logical_Switch ext other_config:exclude_ips | tr -d '"')"

# ---- without SNAT, and without a gateway ----
check "router set r1 --external-gateway ext --no-snat" ctl router set r1 --external-gateway ext --no-snat
check_eq "no SNAT rows; the router keeps an address on ext" "0 False" \
	"$(nbctl --bare --columns=_uuid find NAT type=snat | grep -c .) $(rjson r1 'r["external_gateway"]["snat"]')"
check_eq "a's packets reach the outside unchanged, and no reply finds its way back" "timeout" \
	"$(eventually timeout tcp "$P-a" 172.24.0.1 9000)"
check "router set r1 --no-external-gateway" ctl router set r1 --no-external-gateway
check_eq "the gateway's port, route and address are gone" "None 0 0 172.24.0.1" \
	"$(rjson r1 'r["external_gateway"]') $(nbctl --bare --columns=_uuid list Gateway_Chassis | grep -c .) $(nbctl --bare --columns=_uuid list Logical_Router_Static_Route | grep -c .) $(nbctl get Logical_Switch ext other_config:exclude_ips | tr -d '"')"

# ---- tear down ----
cni DEL "$P-a" eth0 "/run/netns/$P-a" "$(netconf neta)"
check "router remove-subnet r1 neta" ctl router remove-subnet r1 neta
check "router remove-subnet r1 netb" ctl router remove-subnet r1 netb
check "router delete r1" ctl router delete r1
check "router delete r2" ctl router delete r2
check "network delete ext (its localnet port goes with it)" ctl network delete ext
for n in neta netb; do ctl network delete "$n" >/dev/null; done
check_eq "OVN NB: no router, router port, NAT or switch left" "0 0 0 0" \
	"$(nbctl --bare --columns=_uuid list Logical_Router | grep -c .) $(nbctl --bare --columns=_uuid list Logical_Router_Port | grep -c .) $(nbctl --bare --columns=_uuid list NAT | grep -c .) $(nbctl --bare --columns=_uuid list Logical_Switch | grep -c .)"
vsctl del-port br-ex "$P-up" && ip -n "$HOSTNS" link del "$P-up"
check_eq "ovn-controller takes br-int's patch to the provider bridge away" "" \
	"$(eventually "" vsctl list-ports br-int)"
assert_clean "after DEL"
