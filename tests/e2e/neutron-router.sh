#!/bin/bash
# Routers, external networks and floating IPs on backend "neutron", against
# a real neutron-server whose ML2/OVN programs the same OVN, proven with
# packets: an external network is a flat provider network on physnet1,
# which kuryrd's [ovs] bridge_mappings put on br-ex, where the outside
# world ($P-out, 172.24.0.1) is plugged. Two networks reach each other only
# through a router; its gateway on the external network SNATs them to the
# router's address there (scheduled on this chassis, enable-chassis-as-gw);
# a floating IP lets the outside reach a container, whose own traffic out
# then leaves from that address. Bad requests are refused with one clear
# line and leave Neutron as it was.
NEUTRON=true
BACKEND=neutron
KURYR_CONF_EXTRA="[ovs]
bridge_mappings = physnet1:br-ex
[neutron_defaults]
resource_tags = kuryr-e2e,node-$$"
TAGS='["kuryr-e2e", "node-'$$'"]'
. "$(dirname "$0")/lib.sh"
env_up
outside_up 172.24.0.1/24 || { echo "Bail out! the outside world did not come up"; exit 1; }

PROBE=$SRC/tests/e2e/tcp-probe.py

sbctl() { ovn-sbctl --db="unix:$RUN/ovn/sb.sock" --timeout=10 "$@"; }
# peer SERVER CLIENT IP PORT: TCP from netns CLIENT to IP:PORT, which netns
# SERVER serves: the source address the server saw (what NAT made of the
# client's), or "timeout"/"refused".
peer() {
	local got
	got=$(ip netns exec "$2" python3 "$PROBE" connect "$3" "$4" 1.5)
	[ "$got" = open ] || { echo "$got"; return; }
	grep '^peer' "$T/serve-$1" | tail -n 1 | cut -d' ' -f2
}
n_of() { nq GET "$1" | jq1 "[\"$2\"].__len__()"; }
# nbcsv ARGS...: OVN NB rows, one "a,b,c" per row, sorted, on one line.
nbcsv() { nbctl --format=csv --data=bare --no-headings "$@" | sort | paste -sd' '; }

# The external network: flat on physnet1, the outside's router its gateway.
check "network create ext --external --physical-network physnet1" \
	ctl network create ext --subnet 172.24.0.0/24 --gateway 172.24.0.1 --external \
	--physical-network physnet1
ext=$(nq GET "/networks?name=ext" | jq1 '["networks"][0]')
ext_id=$(jq1 '["id"]' <<<"$ext")
check_eq "Neutron: ext is router:external, flat on physnet1, with resource_tags" \
	"True flat physnet1 $TAGS" \
	"$(jq1 '["router:external"]' <<<"$ext") $(jq1 '["provider:network_type"]' <<<"$ext") $(jq1 '["provider:physical_network"]' <<<"$ext") $(jq1 '["tags"]' <<<"$ext")"
check_eq "Neutron: its subnet 172.24.0.0/24, gateway 172.24.0.1" "172.24.0.0/24 172.24.0.1" \
	"$(nq GET "/subnets?network_id=$ext_id" | jq1 '["subnets"][0]["cidr"]') $(nq GET "/subnets?network_id=$ext_id" | jq1 '["subnets"][0]["gateway_ip"]')"
check_eq "network show ext: external, physnet1" "True physnet1" \
	"$(ctl -o json network show ext | jq1 '["external"]') $(ctl -o json network show ext | jq1 '["physical_network"]')"
check_eq "OVN NB: ML2/OVN's localnet port for ext, on physnet1" "neutron-$ext_id physnet1" \
	"$(nbctl --bare --columns=name find Logical_Switch "ports{>=}$(nbctl --bare --columns=_uuid find Logical_Switch_Port type=localnet)") $(nbctl get Logical_Switch_Port "$(nbctl --bare --columns=name find Logical_Switch_Port type=localnet)" options:network_name | tr -d '"')"
check "network create na" ctl network create na --subnet 10.81.0.0/24
check "network create nb" ctl network create nb --subnet 10.82.0.0/24
check_eq "network list: ext is external, na and nb are not" "ext" \
	"$(ctl -o json network list | python3 -c 'import json,sys; print(" ".join(n["name"] for n in json.load(sys.stdin) if n.get("external")))')"

# Two containers, one on each network (in Neutron's default group).
declare -A IP PORT
i=0
for net in na nb; do
	i=$((i + 1))
	pod c$i
	cni ADD "$P-ctr$i" eth0 "$NSPATH" "$(netconf $net)"
	check_eq "ADD container $i on $net" 0 "$RC"
	IP[$i]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	PORT[$i]=$(nq GET "/ports?device_id=$P-ctr$i" | jq1 '["ports"][0]["id"]')
done
check_eq "without a router the containers do not reach each other" "drop drop" \
	"$(ping1 "$P-c1" "${IP[2]}") $(ping1 "$P-c1" 10.81.0.1)"

# A router between them.
OUT=$(ctl -o json router create r1); RC=$?
check_eq "router create r1" 0 "$RC"
r1=$(jget '["id"]')
check_eq "Neutron: router r1 in project kuryr-e2e, with resource_tags" "r1 kuryr-e2e $TAGS" \
	"$(nq GET "/routers/$r1" | jq1 '["router"]["name"]') $(nq GET "/routers/$r1" | jq1 '["router"]["project_id"]') $(nq GET "/routers/$r1" | jq1 '["router"]["tags"]')"
check "router add-subnet r1 na" ctl router add-subnet r1 na
check "router add-subnet r1 nb (by the network's id)" \
	ctl router add-subnet "$r1" "$(nq GET "/networks?name=nb" | jq1 '["networks"][0]["id"]')"
check_eq "router show r1: an interface on each network's subnet at its gateway address" \
	"na 10.81.0.0/24 10.81.0.1 nb 10.82.0.0/24 10.82.0.1" \
	"$(ctl -o json router show r1 | python3 -c 'import json,sys; print(" ".join(" ".join((i["network"], i["subnet"], i["ip"])) for i in sorted(json.load(sys.stdin)["interfaces"], key=lambda i: i["network"])))')"
check_eq "Neutron: r1 has two network:router_interface ports" 2 \
	"$(n_of "/ports?device_id=$r1&device_owner=network:router_interface" ports)"
check_eq "OVN NB: ML2/OVN made Logical_Router neutron-$r1 with both addresses" \
	"neutron-$r1 10.81.0.1/24 10.82.0.1/24" \
	"$(nbcsv --columns=name list Logical_Router) $(nbcsv --columns=networks list Logical_Router_Port)"
check_eq "container 1 reaches container 2 and its gateway through the router" "pass pass" \
	"$(eventually pass ping1 "$P-c1" "${IP[2]}") $(ping1 "$P-c1" 10.81.0.1)"
check_eq "container 2 reaches container 1 and its gateway" "pass pass" \
	"$(ping1 "$P-c2" "${IP[1]}") $(ping1 "$P-c2" 10.82.0.1)"
serve "$P-out" 8080
check_eq "without a gateway the outside is out of reach" timeout "$(peer "$P-out" "$P-c1" 172.24.0.1 8080)"

# Its gateway on the external network: SNAT to the router's address there.
OUT=$(ctl -o json router set r1 --external-gateway ext); RC=$?
check_eq "router set r1 --external-gateway ext" 0 "$RC"
gw_ip=$(jget '["external_gateway"]["ip"]')
check_eq "router show: the gateway on ext at an address of 172.24.0.0/24, SNAT on" \
	"ext 172.24.0. True" \
	"$(jget '["external_gateway"]["network"]') ${gw_ip%.*}. $(jget '["external_gateway"]["snat"]')"
gwport=$(nq GET "/ports?device_id=$r1&device_owner=network:router_gateway" | jq1 '["ports"][0]["id"]')
chassis=$(sbctl --bare --columns=name list Chassis)
check_eq "OVN NB: ML2/OVN scheduled the gateway port on this chassis (enable-chassis-as-gw, physnet1 mapped)" \
	"lrp-${gwport}_$chassis,$chassis" "$(nbcsv --columns=name,chassis_name list Gateway_Chassis)"
check_eq "OVN SB: ovn-controller claimed the gateway (cr-lrp-$gwport) on it" \
	"$(sbctl --bare --columns=_uuid find Chassis name="$chassis")" \
	"$(eventually "$(sbctl --bare --columns=_uuid find Chassis name="$chassis")" sbctl --bare --columns=chassis find Port_Binding logical_port=cr-lrp-"$gwport")"
check_eq "OVN NB: SNAT of both subnets to $gw_ip" "snat,$gw_ip,10.81.0.0/24 snat,$gw_ip,10.82.0.0/24" \
	"$(nbcsv --columns=type,external_ip,logical_ip list NAT)"
check_eq "container 1 reaches the outside (ICMP)" pass "$(eventually pass ping1 "$P-c1" 172.24.0.1)"
check_eq "container 1 reaches the outside over TCP, seen from the router's external address" \
	"$gw_ip" "$(peer "$P-out" "$P-c1" 172.24.0.1 8080)"
check_eq "... so does container 2" "$gw_ip" "$(peer "$P-out" "$P-c2" 172.24.0.1 8080)"

# A floating IP for container 1: the outside reaches it there.
serve "$P-c1" 8080
OUT=$(ctl -o json floating-ip create ext --port "${PORT[1]}"); RC=$?
check_eq "floating-ip create ext --port <container 1's port>" 0 "$RC"
fip=$(jget '["ip"]')
check_eq "... on ext, for container 1's port and address, through r1" \
	"ext ${PORT[1]} ${IP[1]} $r1 172.24.0." \
	"$(jget '["network"]') $(jget '["port"]') $(jget '["fixed_ip"]') $(jget '["router"]') ${fip%.*}."
check_eq "Neutron: the floating IP with its port and resource_tags" "${PORT[1]} $TAGS" \
	"$(nq GET "/floatingips?floating_ip_address=$fip" | jq1 '["floatingips"][0]["port_id"]') $(nq GET "/floatingips?floating_ip_address=$fip" | jq1 '["floatingips"][0]["tags"]')"
check_eq "OVN NB: ML2/OVN's dnat_and_snat $fip -> ${IP[1]}" "dnat_and_snat,$fip,${IP[1]}" \
	"$(nbcsv --columns=type,external_ip,logical_ip find NAT type=dnat_and_snat)"
check_eq "floating-ip list shows it" "$fip ${IP[1]}" \
	"$(ctl -o json floating-ip list | python3 -c 'import json,sys; print(" ".join(f["ip"] + " " + f["fixed_ip"] for f in json.load(sys.stdin)))')"
check_eq "the default group keeps the outside out of the container" timeout \
	"$(peer "$P-c1" "$P-out" "$fip" 8080)"
check "security-group rule-add default: TCP 8080 from the outside" \
	ctl security-group rule-add default --protocol tcp --port 8080 --remote-ip 172.24.0.0/24
check_eq "the outside reaches container 1 over TCP at its floating IP, as itself (no SNAT)" \
	172.24.0.1 "$(eventually 172.24.0.1 peer "$P-c1" "$P-out" "$fip" 8080)"
check_eq "container 1's own traffic out now leaves from its floating IP" "$fip" \
	"$(peer "$P-out" "$P-c1" 172.24.0.1 8080)"
check_eq "... container 2's still from the router's address" "$gw_ip" \
	"$(peer "$P-out" "$P-c2" 172.24.0.1 8080)"

# Bad requests: one line, status 1, nothing made or changed in Neutron.
check "router create r2" ctl router create r2
r2=$(nq GET "/routers?name=r2" | jq1 '["routers"][0]["id"]')
check_eq "router add-subnet r2 na (na is r1's): refused" "1 1" "$(refused ctl router add-subnet r2 na)"
check "... saying it is routed by r1" grep -q 'routed by another router, "r1"' "$T/ctl.err"
check_eq "... and r2 has no port, r1 keeps its two" "0 2" \
	"$(n_of "/ports?device_id=$r2" ports) $(n_of "/ports?device_id=$r1&device_owner=network:router_interface" ports)"
check_eq "floating-ip create na (not external): refused" "1 1" \
	"$(refused ctl floating-ip create na --port "${PORT[2]}")"
check "... saying na is not external" grep -q '"na" is not external' "$T/ctl.err"
check_eq "router set r2 --external-gateway nb (not external): refused" "1 1" \
	"$(refused ctl router set r2 --external-gateway nb)"
check "... saying nb is not external" grep -q '"nb" is not external' "$T/ctl.err"
check_eq "router add-subnet r2 ext (external): refused" "1 1" "$(refused ctl router add-subnet r2 ext)"
check "... saying a router reaches it through its gateway" grep -q 'through its gateway' "$T/ctl.err"
check "network create nc --gateway none" ctl network create nc --subnet 10.83.0.0/24 --gateway none
check_eq "router add-subnet r2 nc (no gateway address): refused" "1 1" "$(refused ctl router add-subnet r2 nc)"
check "... saying nc has no gateway address" grep -q '"nc" has no IPv4 gateway address' "$T/ctl.err"
check "port create on nc, a network no router reaches" ctl port create --network nc --name lonely
check_eq "floating-ip create ext --port lonely (no router on its way): refused" "1 1" \
	"$(refused ctl floating-ip create ext --port lonely)"
check "... saying its network reaches no router" grep -q 'reaches no router with a gateway on network "ext"' "$T/ctl.err"
check_eq "floating-ip create ext --port <container 1's> again: refused" "1 1" \
	"$(refused ctl floating-ip create ext --port "${PORT[1]}")"
check "... naming the floating IP it has" grep -q "has floating IP $fip" "$T/ctl.err"
check_eq "floating-ip create ext --ip 172.24.0.1 (the outside's router): refused" "1 1" \
	"$(refused ctl floating-ip create ext --port "${PORT[2]}" --ip 172.24.0.1)"
check_eq "... and Neutron still has the one floating IP" 1 "$(n_of /floatingips floatingips)"
check_eq "router delete r1 (it has interfaces): refused" "1 1" "$(refused ctl router delete r1)"
check "... saying it still has interfaces" grep -q 'still has interfaces' "$T/ctl.err"
check_eq "router remove-subnet r1 na (container 1's floating IP goes through it): refused" "1 1" \
	"$(refused ctl router remove-subnet r1 na)"
check_eq "router set r1 --no-external-gateway (the floating IP needs it): refused" "1 1" \
	"$(refused ctl router set r1 --no-external-gateway)"
check "... saying floating IPs go through it" grep -q 'floating IPs go through the gateway' "$T/ctl.err"
check_eq "router remove-subnet r2 na (not on r2): refused" "1 1" "$(refused ctl router remove-subnet r2 na)"
check_eq "router show nosuch: refused" "1 1" "$(refused ctl router show nosuch)"
check_eq "router create r1 again: refused" "1 1" "$(refused ctl router create r1)"
check_eq "... r1 and r2 are all Neutron has; r1 has both interfaces and its gateway" \
	"2 2 ext" \
	"$(n_of /routers routers) $(n_of "/ports?device_id=$r1&device_owner=network:router_interface" ports) $(ctl -o json router show r1 | jq1 '["external_gateway"]["network"]')"
check "... and the floating IP still works" test "$(peer "$P-c1" "$P-out" "$fip" 8080)" = 172.24.0.1

# Taking it all down, in order.
check "floating-ip delete by address" ctl floating-ip delete "$fip"
check_eq "... gone from Neutron and OVN NB; the outside no longer reaches container 1" \
	"0  timeout" \
	"$(n_of /floatingips floatingips) $(nbcsv --columns=_uuid find NAT type=dnat_and_snat) $(peer "$P-c1" "$P-out" "$fip" 8080)"
check_eq "floating-ip delete of one that is gone: refused" "1 1" \
	"$(refused ctl floating-ip delete "$fip")"
check "router set r1 --no-external-gateway" ctl router set r1 --no-external-gateway
check_eq "... no gateway, no SNAT left; the outside is out of reach again" "None  timeout" \
	"$(ctl -o json router show r1 | jq1 '["external_gateway"]') $(nbcsv --columns=_uuid list NAT) $(peer "$P-out" "$P-c1" 172.24.0.1 8080)"
check "router remove-subnet r1 na" ctl router remove-subnet r1 na
check "router remove-subnet r1 nb" ctl router remove-subnet r1 nb
check_eq "... the containers are cut off again" drop "$(eventually drop ping1 "$P-c1" "${IP[2]}")"
check "router delete r1" ctl router delete r1
check "router delete r2 (by id)" ctl router delete "$r2"
check_eq "Neutron: no router left, OVN NB: no Logical_Router" "0 " \
	"$(n_of /routers routers) $(nbcsv --columns=_uuid list Logical_Router)"
check_eq "router list is empty" "[]" "$(ctl -o json router list | tr -d ' \n')"
ctl port delete lonely >/dev/null
i=0
for net in na nb; do
	i=$((i + 1))
	cni DEL "$P-ctr$i" eth0 "/run/netns/$P-c$i" "$(netconf $net)"
	check_eq "DEL container $i" 0 "$RC"
done
for net in na nb nc ext; do check "network delete $net" ctl network delete $net; done
check_eq "Neutron: no network left" 0 "$(n_of /networks networks)"
