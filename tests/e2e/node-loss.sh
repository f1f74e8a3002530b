#!/bin/bash
# One node of three lost and back, over the clustered OVN of
# scripts/multinode.sh with a kuryrd per node, pools on (port-only
# entries). Proven with packets and OVSDB rows:
#   - containers c1, c2, c3 on nodes 1, 2, 3 of one network reach each
#     other across the tunnels;
#   - security groups across nodes: group web takes TCP 8080 in only from
#     members of group client (a remote group, through client's address
#     set) and ICMP from anyone; server c2 (web, node 2) is reached on
#     8080 by c1 (client, node 1) and not by c3 (default only, node 3);
#   - node 2 lost (its Open vSwitch and ovn-controller SIGKILLed, its
#     kuryrd SIGKILLed with them): c1 and c3 go on talking (ICMP, TCP);
#     c2 is unreachable; once SB no longer binds node 2's ports (its
#     Chassis is gone: no ovn-controller deletes it when killed, so the
#     operator does, as for a dead node), NB and kuryrctl port list on
#     node 1 report each of them down;
#   - node 2 back (its daemons started on their conf.db, kuryrd restarted
#     on its state): c2, whose veth and netns survived, is bound again and
#     reached by c1 and c3, through web's rules as before; node 2's pools
#     are as they were, its pool ports in NB exactly the entries its pools
#     hold (none adopted twice, none left over), and not one of node 1's or
#     node 3's ports changed;
#   - node 2 lost again, its kuryrd stopped by SIGTERM (it exits 0 with
#     its Open vSwitch gone), its chassis left in SB: back, the same;
#   - DEL of each container on its node leaves no container port, and each
#     kuryrd exits 0 on SIGTERM.
. "$(dirname "$0")/lib.sh"

mn_up

# Port-only pool entries: a veth per ADD.
MN_POOL=true MN_PREWIRE=false
for i in 1 2 3; do
	check "kuryrd starts on node $i (pools on, port-only entries)" mn_kuryrd_start "$i"
done
N1=$NODE_CHASSIS_1 N2=$NODE_CHASSIS_2 N3=$NODE_CHASSIS_3
check "network create" mctl 1 network create nlnet --subnet 10.95.0.0/24

# ---- the groups, made on node 1, used on all three ----
check "security-group create client" mctl 1 security-group create client
check "security-group create web" mctl 1 security-group create web
check "rule-add web tcp 8080 --remote-group client" \
	mctl 1 security-group rule-add web --protocol tcp --port 8080 --remote-group client
check "rule-add web icmp (from anyone)" mctl 1 security-group rule-add web --protocol icmp
sg_id() { mctl 1 -o json security-group show "$1" | pyj 'd["id"]'; }
pg_of() { echo "pg_$(sg_id "$1" | tr - _)"; }
CPG=$(pg_of client) WPG=$(pg_of web)
check_eq "NB: web's 8080 rule matches client's address set" 1 \
	"$(mnb --bare --columns=match find ACL direction=to-lport | grep -c "ip4.src == \$${CPG}_ip4 && tcp && tcp.dst == 8080")"

# add NAME NODE [SG_JSON_LIST]: container NAME through node NODE's
# kuryr-cni; IP[NAME], PORT[NAME].
declare -A IP PORT
add() {
	pod "$1"
	SOCK=$T/k$2.sock cni ADD "$P-$1" eth0 "$NSPATH" \
		"$(SOCK=$T/k$2.sock netconf nlnet 1.1.0 "${3:+\"security_groups\":$3}")"
	check_eq "ADD $1 on node $2${3:+ in $3}" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; return; }
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	PORT[$1]=$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-$1\"")
}
del() { # NAME NODE [SG_JSON_LIST]
	SOCK=$T/k$2.sock cni DEL "$P-$1" eth0 "/run/netns/$P-$1" \
		"$(SOCK=$T/k$2.sock netconf nlnet 1.1.0 "${3:+\"security_groups\":$3}")"
	check_eq "DEL $1 on node $2" 0 "$RC"
	[ "$RC" = 0 ] || diag <<<"$OUT"
}
# c1 is also in default, so that c3 (default alone) reaches it.
add c1 1 '["client","default"]'
add c2 2 '["web"]'
add c3 3
for c in c1 c2 c3; do
	if [ -z "${IP[$c]:-}" ] || [ -z "${PORT[$c]:-}" ]; then
		echo "Bail out! $c has no address or port"
		exit 1
	fi
done
check_eq "SB: each container's port is bound on its node's chassis" "$N1 $N2 $N3" \
	"$(for c in c1 c2 c3; do msb --bare --columns=name list Chassis "$(msb --bare --columns=chassis find Port_Binding logical_port="${PORT[$c]}")"; done | paste -sd' ')"
lsp_uuid() { mnb get Logical_Switch_Port "$1" _uuid; }
in_pg() { mnb --bare --columns=ports find Port_Group name="$1" | grep -q "$(lsp_uuid "$2")" && echo yes || echo no; }
check_eq "NB: c1 in client, c2 in web, c3 in neither" "yes yes no no" \
	"$(in_pg "$CPG" "${PORT[c1]}") $(in_pg "$WPG" "${PORT[c2]}") $(in_pg "$CPG" "${PORT[c3]}") $(in_pg "$WPG" "${PORT[c3]}")"
# client's members: c1 and node 1's pool entries made for its key.
as_has() { msb --bare --columns=addresses find Address_Set name="$1" | tr ' ' '\n' | grep -qx "$2" && echo yes || echo no; }
check_eq "SB: client's address set holds c1's address, not c3's" "yes no" \
	"$(eventually yes as_has "${CPG}_ip4" "${IP[c1]}") $(as_has "${CPG}_ip4" "${IP[c3]}")"
check_eq "ICMP across the tunnels: c1 to c2 and c3, c3 to c1 and c2" "pass pass pass pass" \
	"$(eventually pass ping1 "$P-c1" "${IP[c2]}") $(eventually pass ping1 "$P-c1" "${IP[c3]}") $(eventually pass ping1 "$P-c3" "${IP[c1]}") $(ping1 "$P-c3" "${IP[c2]}")"

serve "$P-c1" 7000
serve "$P-c2" 8080 8081
serve "$P-c3" 7000
check_eq "TCP 8080 from c1 (client, node 1) to c2 (web, node 2): open, from c1's own address" \
	"open ${IP[c1]}" "$(eventually open tcp "$P-c1" "${IP[c2]}" 8080) $(last_peer "$P-c2")"
check_eq "... from c3 (not in client, node 3): dropped" timeout "$(tcp "$P-c3" "${IP[c2]}" 8080)"
check_eq "... and c1 to a port web does not open: dropped" timeout "$(tcp "$P-c1" "${IP[c2]}" 8081)"
check_eq "TCP between c1 and c3 (both in default): open both ways" "open open" \
	"$(tcp "$P-c1" "${IP[c3]}" 7000) $(tcp "$P-c3" "${IP[c1]}" 7000)"

# ---- what nodes 1 and 3 have, and node 2's pools, before the loss ----
host_ports() { # NODE: its ports, one line each (name, external_ids), sorted
	mnb --format=csv --no-headings --columns=name,external_ids find Logical_Switch_Port \
		"external_ids:\"kuryr:host\"=\"$(nsv NODE_CHASSIS "$1")\"" | sort
}
host_names() { host_ports "$1" | cut -d, -f1 | tr -d '"' | paste -sd' '; } # NODE
pool_state() { # NODE: each pool's key ready in_use, sorted
	mctl "$1" -o json pool list | pyj '" ".join(sorted("%s:%d:%d" % (p["key"], p["ready"], p["in_use"]) for p in d))'
}
# NODE: the entries its pools hold, ready and in use
pool_entries() { mctl "$1" -o json pool list | pyj 'sum(p["ready"] + p["in_use"] for p in d)'; }
# NODE: its pool ports in NB
pool_lsps() {
	mnb --bare --columns=name find Logical_Switch_Port \
		"external_ids:\"kuryr:host\"=\"$(nsv NODE_CHASSIS "$1")\"" \
		"external_ids:\"kuryr:device_owner\"=pool" | grep -c .
}
# Until the refills after the ADDs are done (creating 0).
settled() { mctl "$1" -o json pool list | pyj 'all(p["creating"] == 0 for p in d) and len(d) > 0'; }
for i in 1 2 3; do eventually True settled "$i" >/dev/null; done
B1=$(host_ports 1) B3=$(host_ports 3) B2=$(host_names 2)
POOL2=$(pool_state 2) E2=$(pool_entries 2)
check "nodes 1, 2 and 3 have ports in NB ($(grep -c . <<<"$B1"), $(wc -w <<<"$B2"), $(grep -c . <<<"$B3"))" \
	test -n "$B1" -a -n "$B2" -a -n "$B3"
check "node 2 has pools with entries ($POOL2)" test -n "$POOL2" -a "$E2" -gt 1
check_eq "node 2's pool ports in NB are the entries its pools hold" "$E2" "$(pool_lsps 2)"
up_ports() { # NODE: the names of its ports NB has up
	mnb --bare --columns=name find Logical_Switch_Port \
		"external_ids:\"kuryr:host\"=\"$(nsv NODE_CHASSIS "$1")\"" up=true | grep . | sort | paste -sd' '
}
check_eq "NB: of node 2's ports, c2's is up (pool entries are not plugged)" "${PORT[c2]}" "$(up_ports 2)"

# ---- node 2 is lost ----
check "kill node 2 (ovn-controller, ovs-vswitchd, ovsdb-server)" \
	"$SRC/scripts/multinode.sh" kill-node "$MN" 2
kill -9 "${_kpids[2]}"
wait "${_kpids[2]}" 2>/dev/null
check_eq "node 2's kuryrd is killed with it" 137 "$?"
check_eq "c2 is unreachable from c1 and c3" "drop drop" \
	"$(eventually drop ping1 "$P-c1" "${IP[c2]}") $(eventually drop ping1 "$P-c3" "${IP[c2]}")"
check_eq "c1 and c3 go on: ICMP both ways" "pass pass" \
	"$(ping1 "$P-c1" "${IP[c3]}") $(ping1 "$P-c3" "${IP[c1]}")"
check_eq "... and TCP both ways" "open open" \
	"$(tcp "$P-c1" "${IP[c3]}" 7000) $(tcp "$P-c3" "${IP[c1]}" 7000)"
# OVN has no liveness of its own: a killed ovn-controller leaves its
# Chassis, and the bindings and up it set. The operator deletes a dead
# node's chassis; then SB binds none of node 2's ports and NB, and
# kuryrctl, report them down.
check "delete node 2's chassis from SB (a dead node's)" msb chassis-del "$N2"
check_eq "SB: c2's port is bound on no chassis" "" \
	"$(eventually "" msb --bare --columns=chassis find Port_Binding logical_port="${PORT[c2]}")"
check_eq "NB: c2's port is down" false "$(eventually false mnb get Logical_Switch_Port "${PORT[c2]}" up)"
port_up() { # NODE PORT: up as kuryrctl port list on NODE has it
	mctl "$1" -o json port list --network nlnet | pyj "[p['up'] for p in d if p['name'] == '$2']"
}
check_eq "kuryrctl port list on node 1: c2's port is down, c1's and c3's up" \
	"[False] [True] [True]" \
	"$(port_up 1 "${PORT[c2]}") $(port_up 1 "${PORT[c1]}") $(port_up 1 "${PORT[c3]}")"
check_eq "NB: no port of node 2 is up" "" "$(up_ports 2)"
check_eq "c1 and c3 still talk (ICMP, TCP)" "pass open" \
	"$(ping1 "$P-c3" "${IP[c1]}") $(tcp "$P-c1" "${IP[c3]}" 7000)"

# ---- node 2 is back ----
check "start node 2 (ovsdb-server, ovs-vswitchd, ovn-controller on its conf.db)" \
	"$SRC/scripts/multinode.sh" start-node "$MN" 2
check "node 2's kuryrd restarts on its state" mn_kuryrd_start 2
check_eq "node 2's OVS still has c2's interface" 1 \
	"$(ovs-vsctl --db="$NODE_OVS_DB_2" --timeout=10 --bare --columns=name find Interface external_ids:iface-id="${PORT[c2]}" | grep -c .)"
check_eq "SB: c2's port is bound on node 2's chassis again" "$N2" \
	"$(eventually "$N2" sh -c "u=\$(ovn-sbctl --db='$SB_SOCKETS' --timeout=10 --bare --columns=chassis find Port_Binding logical_port='${PORT[c2]}'); [ -n \"\$u\" ] && ovn-sbctl --db='$SB_SOCKETS' --timeout=10 --bare --columns=name list Chassis \$u")"
check_eq "NB: c2's port is up again" true "$(eventually true mnb get Logical_Switch_Port "${PORT[c2]}" up)"
check_eq "kuryrctl port list on node 1: c2's port is up" "[True]" "$(eventually "[True]" port_up 1 "${PORT[c2]}")"
check_eq "c1 and c3 reach c2 again (ICMP)" "pass pass" \
	"$(eventually pass ping1 "$P-c1" "${IP[c2]}") $(eventually pass ping1 "$P-c3" "${IP[c2]}")"
check_eq "TCP 8080 to c2: open from c1 (client), dropped from c3" "open ${IP[c1]} timeout" \
	"$(eventually open tcp "$P-c1" "${IP[c2]}" 8080) $(last_peer "$P-c2") $(tcp "$P-c3" "${IP[c2]}" 8080)"
check_eq "node 2's pools are as before the loss" "$POOL2" "$(eventually "$POOL2" pool_state 2)"
check_eq "node 2's pool ports in NB are the entries its pools hold (none twice)" \
	"$(pool_entries 2)" "$(pool_lsps 2)"
check_eq "node 2's ports in NB are the ones it had (adopted, none made anew)" \
	"$B2" "$(host_names 2)"
check_eq "not one of node 1's ports changed" "$B1" "$(host_ports 1)"
check_eq "not one of node 3's ports changed" "$B3" "$(host_ports 3)"

# ---- lost again, its kuryrd stopped cleanly; its chassis left in SB ----
check "kill node 2 again" "$SRC/scripts/multinode.sh" kill-node "$MN" 2
mn_kuryrd_stop 2
check_eq "node 2's kuryrd exits 0 on SIGTERM with its Open vSwitch gone" 0 "$?"
check_eq "c2 is unreachable, c1 and c3 go on (ICMP, TCP)" "drop pass open" \
	"$(eventually drop ping1 "$P-c1" "${IP[c2]}") $(ping1 "$P-c3" "${IP[c1]}") $(tcp "$P-c1" "${IP[c3]}" 7000)"
check "start node 2" "$SRC/scripts/multinode.sh" start-node "$MN" 2
check "node 2's kuryrd starts" mn_kuryrd_start 2
check_eq "c1 and c3 reach c2 (ICMP), c1 on 8080" "pass pass open" \
	"$(eventually pass ping1 "$P-c1" "${IP[c2]}") $(eventually pass ping1 "$P-c3" "${IP[c2]}") $(eventually open tcp "$P-c1" "${IP[c2]}" 8080)"
check_eq "node 2's pools and ports are as before" "$POOL2|$B2" \
	"$(eventually "$POOL2" pool_state 2)|$(host_names 2)"
check_eq "NB: c2's port is up, node 2's only" "${PORT[c2]}" "$(eventually "${PORT[c2]}" up_ports 2)"
check_eq "nodes 1 and 3: not one port changed" "$B1|$B3" "$(host_ports 1)|$(host_ports 3)"

# ---- DEL, each on its node ----
del c1 1 '["client","default"]'
del c2 2 '["web"]'
del c3 3
check_eq "NB: no container port left" "" \
	"$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_owner\"=container")"
for i in 1 2 3; do
	check_eq "node $i: no attachment row left" 0 \
		"$(sqlite3 -cmd '.timeout 5000' "$T/state$i/kuryr.db" 'select count(*) from attachments')"
done
for i in 1 2 3; do
	mn_kuryrd_stop "$i"
	check_eq "node $i's kuryrd exits cleanly on SIGTERM" 0 "$?"
done
_kpids=()
