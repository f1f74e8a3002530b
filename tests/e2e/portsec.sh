#!/bin/bash
# Port security and allowed address pairs on backend ovn, proven with
# packets: a container that sends from an address or a MAC that is not its
# port's gets nothing through; an allowed address pair (with the port's MAC
# or another, as a macvlan inside the container has) lets exactly that
# through; with port security off anything passes, the port in no
# Port_Group; turned on again it is blocked and back in its groups. The NB
# rows are ML2/OVN's: port_security "MAC IP PAIR-IP" and "MAC2 IP2", the
# other MAC bare in addresses, "unknown" without port security. Bad input
# is refused in one line and changes nothing.
#
# Both containers are in group "open" (the node's pod_security_groups),
# which lets everything in, so only port security decides.
KURYR_CONF_EXTRA="[neutron_defaults]
pod_security_groups = open"
. "$(dirname "$0")/lib.sh"
env_up

PROBE=$SRC/tests/e2e/udp-probe.py
_servers=()
trap 'for p in "${_servers[@]}"; do kill "$p" 2>/dev/null; done; env_down' EXIT

check "network create" ctl network create net1 --subnet 10.33.0.0/24
check "security-group create open" ctl security-group create open
check "rule-add open: any IPv4 in" ctl security-group rule-add open

# add NAME: container NAME in netns $P-NAME; IP[NAME], MAC[NAME], PORT[NAME].
declare -A IP MAC PORT
add() {
	pod "$1"
	cni ADD "$P-$1" eth0 "$NSPATH" "$(netconf net1 1.1.0)"
	check_eq "ADD $1" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	MAC[$1]=$(jget '["interfaces"][1]["mac"]')
	PORT[$1]=$(vsctl get Interface "$(jget '["interfaces"][0]["name"]')" external_ids:iface-id | tr -d '"')
}
del() { cni DEL "$P-$1" eth0 "/run/netns/$P-$1" "$(netconf net1 1.1.0)"; }
in_a() { ip netns exec "$P-a" "$@"; }

add a
add b
# B records every datagram it gets on UDP 7000: what arrived, from where.
ip netns exec "$P-b" python3 "$PROBE" recv 7000 >"$T/recv" 2>&1 &
_servers+=($!)
for _ in $(seq 50); do grep -q ready "$T/recv" && break; sleep 0.05; done
# A knows B's MAC for good: its IP packets leave without an ARP first, so
# a drop is port security's check of the IP header, not of ARP. A answers
# ARP only on the device that has the address (the macvlan below).
in_a ip neigh replace "${IP[b]}" lladdr "${MAC[b]}" dev eth0 nud permanent
in_a sysctl -qw net.ipv4.conf.all.arp_ignore=1
EXTRA=10.33.0.200 # an address of A's that is not its port's
MAC2=02:00:5e:aa:bb:01
EXTRA2=10.33.0.201 # the address of a macvlan in A with MAC2
in_a ip addr add "$EXTRA/24" dev eth0
in_a ip link add link eth0 name mv0 address "$MAC2" type macvlan mode bridge
in_a ip addr add "$EXTRA2/24" dev mv0
in_a ip link set mv0 up
in_a ip neigh replace "${IP[b]}" lladdr "${MAC[b]}" dev mv0 nud permanent

# udp TAG SRC [DEV]: A sends datagrams tagged TAG (made unique: this runs
# in $(...)) from SRC to B; "arrived" when B got one from SRC, else
# "dropped" (after a second's wait).
udp() {
	local tag="$1-$EPOCHREALTIME-$RANDOM"
	ip -n "$P-b" neigh flush all
	in_a python3 "$PROBE" send "$2" "${IP[b]}" 7000 "$tag" ${3:+"$3"}
	for _ in $(seq 10); do
		grep -q "^$2 $tag\$" "$T/recv" && { echo arrived; return; }
		sleep 0.1
	done
	echo dropped
}
# ping1 SRC-IP|DEV: A pings B from it (both ways must pass).
ping1() {
	ip -n "$P-b" neigh flush all
	in_a busybox ping -c 1 -W 1 -I "$1" "${IP[b]}" >/dev/null 2>&1 && echo pass || echo drop
}
# lsp COLUMN PORT: a set column of the port's row, its values sorted, "|" between.
lsp() {
	nbctl --format=json --columns="$1" list Logical_Switch_Port "$2" | python3 -c '
import json,sys
v = json.load(sys.stdin)["data"][0][0]
v = v[1] if isinstance(v, list) and v[0] == "set" else [v]
print("|".join(sorted(v)))'
}
ext_pairs() { nbctl get Logical_Switch_Port "$1" external_ids | python3 -c '
import re,sys; m = re.search(r"\"kuryr:allowed_address_pairs\"=\"([^\"]*)\"", sys.stdin.read()); print(m.group(1) if m else "")'; }
lsp_uuid() { nbctl get Logical_Switch_Port "$1" _uuid; }
sg_id() { ctl -o json security-group show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
OPEN_PG="pg_$(sg_id open | tr - _)"
# groups PORT: the Port_Groups that hold it, sorted.
groups() { nbctl --bare --columns=name find Port_Group "ports{>=}$(lsp_uuid "$1")" | grep . | sort | paste -sd' '; }
row() { nbctl --bare --columns=addresses,port_security,external_ids list Logical_Switch_Port "$1"; }
# port_json PORT EXPR: EXPR (a string, of port show's JSON p) printed.
port_json() { ctl -o json port show "$1" | python3 -c "import json,sys; p=json.load(sys.stdin); print($2)"; }
pairs_of() { port_json "$1" '" ".join(x["ip_address"] + "," + x["mac_address"] for x in p["allowed_address_pairs"])'; }
# sorted VALUE...: as lsp prints a set.
sorted() { printf '%s\n' "$@" | LC_ALL=C sort | paste -sd'|'; }
A=${PORT[a]}

# ---- port security by default ----
check_eq "OVN NB: A's port_security is its MAC and IP" "${MAC[a]} ${IP[a]}" "$(lsp port_security "$A")"
check_eq "port show: port security on, no pairs" "True []" \
	"$(port_json "$A" '"%s %s" % (p["port_security"], p["allowed_address_pairs"])')"
check_eq "A's own address reaches B (UDP, ping)" "arrived pass" "$(udp own "${IP[a]}") $(ping1 "${IP[a]}")"
check_eq "(1) from an address not its port's: nothing arrives at B, ping fails" "dropped drop" \
	"$(udp foreign "$EXTRA") $(ping1 "$EXTRA")"
check_eq "(2) from a foreign MAC (a macvlan in A): nothing arrives, ping fails" "dropped drop" \
	"$(udp mac2 "$EXTRA2" mv0) $(ping1 mv0)"
in_a ip link set eth0 address 02:00:5e:dd:ee:01
check_eq "(2) A's eth0 with a foreign MAC, from its own IP: nothing arrives" "dropped" \
	"$(udp ownip-mac "${IP[a]}")"
in_a ip link set eth0 address "${MAC[a]}"
check_eq "... and with its MAC back, it does" "arrived" "$(eventually arrived udp own "${IP[a]}")"

# ---- allowed address pairs ----
OUT=$(ctl -o json port set "$A" --allowed-address "$EXTRA"); RC=$?
check_eq "(3) port set --allowed-address $EXTRA" 0 "$RC"
check_eq "... prints the pair with the port's MAC" "$EXTRA ${MAC[a]}" \
	"$(jget '["allowed_address_pairs"][0]["ip_address"]') $(jget '["allowed_address_pairs"][0]["mac_address"]')"
check_eq "OVN NB: the pair's IP joins the port's own entry" "${MAC[a]} ${IP[a]} $EXTRA" \
	"$(lsp port_security "$A")"
check_eq "OVN NB: external_ids keeps the pair" "$EXTRA,${MAC[a]}" "$(ext_pairs "$A")"
check_eq "(3) from $EXTRA: it arrives, ping passes" "arrived pass" \
	"$(eventually arrived udp pair "$EXTRA") $(ping1 "$EXTRA")"
check_eq "... the foreign MAC still gets nothing through" "dropped" "$(udp mac2 "$EXTRA2" mv0)"

OUT=$(ctl -o json port set "$A" --allowed-address "$EXTRA2,${MAC2^^}"); RC=$?
check_eq "(4) port set --allowed-address $EXTRA2,MAC2 adds a second pair" "0 2" \
	"$RC $(jget '["allowed_address_pairs"].__len__()')"
check_eq "OVN NB: port_security has an entry for the other MAC" \
	"$(sorted "${MAC[a]} ${IP[a]} $EXTRA" "$MAC2 $EXTRA2")" "$(lsp port_security "$A")"
check_eq "OVN NB: the other MAC is in addresses, so frames for it reach the port" \
	"$(sorted "${MAC[a]} dynamic" "$MAC2")" "$(lsp addresses "$A")"
check_eq "(4) the macvlan with MAC2 and $EXTRA2: it arrives, ping passes" "arrived pass" \
	"$(eventually arrived udp mac2 "$EXTRA2" mv0) $(ping1 mv0)"
check_eq "... and $EXTRA still does" "arrived" "$(udp pair "$EXTRA")"
check_eq "port show lists both pairs" "$EXTRA,${MAC[a]} $EXTRA2,$MAC2" "$(pairs_of "$A")"
check_eq "giving a pair again adds nothing" "2" \
	"$(ctl -o json port set "$A" --allowed-address "$EXTRA" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["allowed_address_pairs"]))')"

# ---- bad input: one line, nothing changed ----
before=$(row "$A")
check_eq "a malformed address: refused, one line" "1 1" \
	"$(refused ctl port set "$A" --allowed-address 10.33.0.300)"
check "... naming it" grep -q '"10.33.0.300" is not an IP address' "$T/ctl.err"
check_eq "a CIDR with host bits: refused" "1 1" "$(refused ctl port set "$A" --allowed-address 10.33.0.7/24)"
check_eq "a malformed MAC: refused, one line" "1 1" \
	"$(refused ctl port set "$A" --allowed-address 10.33.0.7,02:zz:00:00:00:01)"
check "... naming it" grep -q '"02:zz:00:00:00:01" is not a unicast MAC' "$T/ctl.err"
check_eq "a multicast MAC: refused" "1 1" \
	"$(refused ctl port set "$A" --allowed-address 10.33.0.7,01:00:5e:00:00:01)"
check_eq "port security off while the port has pairs: refused (Neutron's 409 too)" "1 1" \
	"$(refused ctl port set "$A" --no-port-security)"
check "... saying pairs need port security" grep -q 'allowed address pairs need port security' "$T/ctl.err"
check_eq "port set with nothing to set: refused" "1 1" "$(refused ctl port set "$A")"
check_eq "port set on an unknown port: refused" "1 1" \
	"$(refused ctl port set no-such-port --allowed-address 10.33.0.7)"
check "... saying it does not exist" grep -q 'port "no-such-port" does not exist' "$T/ctl.err"
check_eq "OVN NB: A's row is unchanged by all of them" "$before" "$(row "$A")"
check_eq "... and it is still in its groups" "kuryr_pg_drop $OPEN_PG" "$(groups "$A")"

OUT=$(ctl -o json port set "$A" --no-allowed-address); RC=$?
check_eq "(5) port set --no-allowed-address" "0 0" "$RC $(jget '["allowed_address_pairs"].__len__()')"
check_eq "OVN NB: port_security, addresses and external_ids as before the pairs" \
	"${MAC[a]} ${IP[a]}/${MAC[a]} dynamic/" \
	"$(lsp port_security "$A")/$(lsp addresses "$A")/$(ext_pairs "$A")"
check_eq "(5) $EXTRA and the foreign MAC are dropped again" "dropped dropped" \
	"$(eventually dropped udp foreign "$EXTRA") $(eventually dropped udp mac2 "$EXTRA2" mv0)"
check "port set --allowed-address $EXTRA again" ctl port set "$A" --allowed-address "$EXTRA"
check "--no-allowed-address --allowed-address $EXTRA2" \
	ctl port set "$A" --no-allowed-address --allowed-address "$EXTRA2"
check_eq "... replaces the pairs with that one" "$EXTRA2,${MAC[a]}" "$(ext_pairs "$A")"
check "clear them" ctl port set "$A" --no-allowed-address

# ---- no port security ----
OUT=$(ctl -o json port set "$A" --no-port-security); RC=$?
check_eq "(6) port set --no-port-security" "0 False" "$RC $(jget '["port_security"]')"
check_eq "OVN NB: port_security empty, \"unknown\" in addresses" "/$(sorted "${MAC[a]} dynamic" unknown)" \
	"$(lsp port_security "$A")/$(lsp addresses "$A")"
check_eq "OVN NB: the port is in no Port_Group (not the drop group, not open)" "" "$(groups "$A")"
check_eq "(6) from $EXTRA: it arrives, ping passes" "arrived pass" \
	"$(eventually arrived udp nops "$EXTRA") $(ping1 "$EXTRA")"
check_eq "(6) the foreign MAC too (frames for it reach the port through \"unknown\")" "arrived pass" \
	"$(eventually arrived udp nops-mac2 "$EXTRA2" mv0) $(ping1 mv0)"
before=$(row "$A")
check_eq "a pair on a port without port security: refused" "1 1" \
	"$(refused ctl port set "$A" --allowed-address "$EXTRA")"
check "... saying pairs need port security" grep -q 'allowed address pairs need port security' "$T/ctl.err"
check_eq "... and nothing changed" "$before" "$(row "$A")"

OUT=$(ctl -o json port set "$A" --port-security); RC=$?
check_eq "port set --port-security" "0 True" "$RC $(jget '["port_security"]')"
check_eq "OVN NB: port_security is MAC and IP again, no \"unknown\"" "${MAC[a]} ${IP[a]}/${MAC[a]} dynamic" \
	"$(lsp port_security "$A")/$(lsp addresses "$A")"
check_eq "OVN NB: back in the node's group and the drop group" "kuryr_pg_drop $OPEN_PG" "$(groups "$A")"
check_eq "from $EXTRA and the foreign MAC: dropped again" "dropped dropped" \
	"$(eventually dropped udp ps-again "$EXTRA") $(eventually dropped udp ps-again-mac2 "$EXTRA2" mv0)"
check_eq "... its own address still reaches B" "arrived pass" "$(udp own "${IP[a]}") $(ping1 "${IP[a]}")"
check "port security on and pairs in one request" ctl port set "$A" --port-security --allowed-address "$EXTRA"
check_eq "... gives the pair" "$EXTRA,${MAC[a]}" "$(ext_pairs "$A")"
check "... and --no-port-security --no-allowed-address takes both away at once" \
	ctl port set "$A" --no-port-security --no-allowed-address
check_eq "OVN NB: no port_security, no pairs" "/" "$(lsp port_security "$A")/$(ext_pairs "$A")"
check "port set --port-security" ctl port set "$A" --port-security

# ---- port create ----
OUT=$(ctl -o json port create --network net1 --name ps1 --allowed-address 10.33.0.0/28 \
	--allowed-address 10.33.0.50,02:00:5e:aa:00:01); RC=$?
check_eq "port create --allowed-address (two)" 0 "$RC"
PS1_MAC=$(jget '["mac"]') PS1_IP=$(jget '["ip"]')
check_eq "OVN NB: its port_security and addresses" \
	"$(sorted "$PS1_MAC $PS1_IP 10.33.0.0/28" "02:00:5e:aa:00:01 10.33.0.50") # $(sorted "$PS1_MAC dynamic" 02:00:5e:aa:00:01)" \
	"$(lsp port_security ps1) # $(lsp addresses ps1)"
check_eq "port show: the pairs, port security on" "10.33.0.0/28,$PS1_MAC 10.33.0.50,02:00:5e:aa:00:01 True" \
	"$(pairs_of ps1) $(port_json ps1 'p["port_security"]')"
check_eq "port list -o json shows them too" "2" \
	"$(ctl -o json port list --network net1 | python3 -c 'import json,sys; print(sum(len(p["allowed_address_pairs"]) for p in json.load(sys.stdin) if p["name"] == "ps1"))')"
OUT=$(ctl -o json port create --network net1 --name ps2 --ip 10.33.0.60 --no-port-security); RC=$?
check_eq "port create --no-port-security" "0 False" "$RC $(jget '["port_security"]')"
check_eq "OVN NB: no port_security, \"unknown\" in addresses, in no Port_Group" \
	"/$(sorted "$(jget '["mac"]') 10.33.0.60" unknown)/" "$(lsp port_security ps2)/$(lsp addresses ps2)/$(groups ps2)"
n_lsp=$(nbctl --bare --columns=name list Logical_Switch_Port | grep -c .)
check_eq "port create --allowed-address --no-port-security: refused" "1 1" \
	"$(refused ctl port create --network net1 --name ps3 --allowed-address 10.33.0.9 --no-port-security)"
check_eq "port create with a malformed address: refused" "1 1" \
	"$(refused ctl port create --network net1 --name ps3 --allowed-address 10.33.0.9/33)"
check_eq "... and no port was made" "$n_lsp" "$(nbctl --bare --columns=name list Logical_Switch_Port | grep -c .)"
check "port delete ps1" ctl port delete ps1
check "port delete ps2" ctl port delete ps2

# ---- tear down ----
for c in a b; do
	del "$c"
	check_eq "DEL $c" 0 "$RC"
done
check "delete open" ctl security-group delete open
assert_clean "after DEL"
