#!/bin/bash
# Security groups on backend ovn, proven with packets: a Port_Group per
# group with stateful ACLs per rule, the drop group for every port with
# groups, the "default" group for ports that name none (all egress, ingress
# from its own members), remote groups through the group's address set,
# rule changes reaching running containers, [neutron_defaults]
# pod_security_groups, and bad input refused with nothing made.
. "$(dirname "$0")/lib.sh"
env_up

PROBE=$SRC/tests/e2e/tcp-probe.py
_servers=()
trap 'for p in "${_servers[@]}"; do kill "$p" 2>/dev/null; done; env_down' EXIT

check "network create" ctl network create net1 --subnet 10.31.0.0/24

# add NAME [EXTRA_NETCONF]: container NAME in netns $P-NAME; IP[NAME], PORT[NAME].
declare -A IP PORT
add() {
	pod "$1"
	cni ADD "$P-$1" eth0 "$NSPATH" "$(netconf net1 1.1.0 "${2:-}")"
	check_eq "ADD $1 ${2:-}" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	PORT[$1]=$(vsctl get Interface "$(jget '["interfaces"][0]["name"]')" external_ids:iface-id | tr -d '"')
}
del() { cni DEL "$P-$1" eth0 "/run/netns/$P-$1" "$(netconf net1 1.1.0 "${2:-}")"; }
# serve NAME PORT...: a TCP server in container NAME.
serve() {
	local name=$1
	shift
	ip netns exec "$P-$name" python3 "$PROBE" serve "$@" >"$T/serve-$name" 2>&1 &
	_servers+=($!)
	for _ in $(seq 50); do grep -q ready "$T/serve-$name" && return; sleep 0.05; done
}
# tcp FROM TO PORT: open, refused or timeout.
tcp() { ip netns exec "$P-$1" python3 "$PROBE" connect "${IP[$2]}" "$3" 1.5; }
ping1() { ip netns exec "$P-$1" busybox ping -c 1 -W 1 "${IP[$2]}" >/dev/null 2>&1 && echo pass || echo drop; }
sg_id() { ctl -o json security-group show "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
pg_of() { echo "pg_$(sg_id "$1" | tr - _)"; }
pg_ports() { nbctl --bare --columns=ports find Port_Group name="$1" | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//'; }
lsp_uuid() { nbctl get Logical_Switch_Port "$1" _uuid; }
n_acls() { nbctl --bare --columns=_uuid list ACL | grep -c .; }

# ---- the default group ----
add a
add b
check_eq "kuryrctl security-group list: the default group made on first use" "default" \
	"$(ctl -o json security-group list | python3 -c 'import json,sys; print(" ".join(g["name"] for g in json.load(sys.stdin)))')"
DPG=$(pg_of default)
check_eq "OVN NB: Port_Group $DPG holds both ports" \
	"$(printf '%s\n' "$(lsp_uuid "${PORT[a]}")" "$(lsp_uuid "${PORT[b]}")" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(pg_ports "$DPG")"
check_eq "OVN NB: and so does the drop group" "$(pg_ports "$DPG")" "$(pg_ports kuryr_pg_drop)"
check_eq "OVN NB: the drop group's ACLs drop IP both ways at priority 1001" \
	"drop from-lport inport == @kuryr_pg_drop && ip 1001|drop to-lport outport == @kuryr_pg_drop && ip 1001" \
	"$(for a in $(nbctl --bare --columns=acls find Port_Group name=kuryr_pg_drop); do nbctl --bare --columns=action,direction,match,priority list ACL "$a" | tr '\n' ' ' | sed 's/ *$//'; echo; done | sed 's/  */ /g' | sort | paste -sd'|')"
check_eq "the default group: egress any, ingress from its own members (IPv4 and IPv6)" \
	"egress IPv4 - - egress IPv6 - - ingress IPv4 - $(sg_id default) ingress IPv6 - $(sg_id default)" \
	"$(ctl -o json security-group rule-list default | python3 -c '
import json,sys
rs = json.load(sys.stdin)
print(" ".join("%s %s %s %s" % (r["direction"], r["ethertype"], r["protocol"] or "-", r["remote_group"] or "-")
               for r in sorted(rs, key=lambda r: (r["direction"], r["ethertype"]))))')"
check_eq "the ingress rule matches the group's address set" 1 \
	"$(nbctl --bare --columns=match find ACL direction=to-lport | grep -c "ip4.src == \$${DPG}_ip4")"
check_eq "ICMP between two members of default passes" "pass pass" "$(ping1 a b) $(ping1 b a)"
serve a 8080
check_eq "TCP between two members of default passes" "open" "$(tcp b a 8080)"

# ---- a group of our own: TCP 8080 in ----
check "security-group create web" ctl security-group create web
check_eq "a new group allows all egress and nothing in" "egress egress" \
	"$(ctl -o json security-group rule-list web | python3 -c 'import json,sys; print(" ".join(sorted(r["direction"] for r in json.load(sys.stdin))))')"
OUT=$(ctl -o json security-group rule-add web --protocol tcp --port 8080)
check_eq "rule-add web tcp 8080 prints the rule" "ingress IPv4 tcp 8080 8080" \
	"$(jget '["direction"]') $(jget '["ethertype"]') $(jget '["protocol"]') $(jget '["port_min"]') $(jget '["port_max"]')"
R8080=$(jget '["id"]')
check_eq "OVN NB: the rule is an allow-related ACL on the group, priority 1002" \
	"allow-related to-lport outport == @$(pg_of web) && ip4 && tcp && tcp.dst == 8080 1002" \
	"$(nbctl --bare --columns=action,direction,match,priority find ACL "external_ids:\"kuryr:rule_id\"=$R8080" | paste -sd' ')"
add w '"security_groups":["web"]'
WPG=$(pg_of web)
check_eq "OVN NB: w's port is in web and in the drop group, not in default" "yes yes no" \
	"$(for g in "$WPG" kuryr_pg_drop "$DPG"; do grep -q "$(lsp_uuid "${PORT[w]}")" <<<"$(pg_ports "$g")" && echo yes || echo no; done | paste -sd' ')"
serve w 8080 8081
check_eq "TCP to the allowed port 8080 passes" "open" "$(tcp a w 8080)"
check_eq "TCP to port 8081 is dropped" "timeout" "$(tcp a w 8081)"
check_eq "ICMP to w is dropped (no rule)" "drop" "$(ping1 a w)"
check_eq "w's egress is allowed, but default takes ingress from members only" "timeout drop" \
	"$(tcp w a 8080) $(ping1 w a)"

# ---- rules change what passes while the containers run ----
OUT=$(ctl -o json security-group rule-add web --protocol icmp)
RICMP=$(jget '["id"]')
check_eq "after rule-add icmp, ICMP to w passes" "pass" "$(eventually pass ping1 a w)"
check "rule-list shows the ICMP rule by its id" grep -q "$RICMP" <<<"$(ctl security-group rule-list web)"
check "rule-delete removes it" ctl security-group rule-delete "$RICMP"
check_eq "OVN NB: its ACL is gone" "" "$(nbctl --bare --columns=_uuid find ACL "external_ids:\"kuryr:rule_id\"=$RICMP")"
check_eq "after rule-delete, ICMP to w is dropped again" "drop" "$(eventually drop ping1 a w)"
check "rule-add a port range 8081:8082" ctl security-group rule-add web --protocol tcp --port 8081:8082
check_eq "after it, TCP to 8081 passes" "open" "$(eventually open tcp a w 8081)"
check "rule-add from one address only" ctl security-group rule-add web --protocol tcp --port 9000 --remote-ip "${IP[b]}"
serve w 9000
check_eq "TCP 9000 from that address passes, from another is dropped" "open timeout" \
	"$(eventually open tcp b w 9000) $(tcp a w 9000)"
check_eq "the remote address is kept as a prefix" "${IP[b]}/32" \
	"$(ctl -o json security-group rule-list web | python3 -c 'import json,sys; print(" ".join(r["remote_ip_prefix"] for r in json.load(sys.stdin) if r["remote_ip_prefix"]))')"

# ---- remote groups: members of web may reach db's 5432 ----
check "security-group create db" ctl security-group create db
check "rule-add db tcp 5432 --remote-group web" \
	ctl security-group rule-add db --protocol tcp --port 5432 --remote-group web
add d '"security_groups":["db"]'
DBPG=$(pg_of db)
serve d 5432
check_eq "a member of web reaches db's port" "open" "$(tcp w d 5432)"
check_eq "a non-member does not" "timeout" "$(tcp a d 5432)"
check_eq "OVN NB: the rule matches web's address set" 1 \
	"$(nbctl --bare --columns=match find ACL direction=to-lport | grep -c "ip4.src == \$${WPG}_ip4 && tcp && tcp.dst == 5432")"
check_eq "OVN SB: the address set ovn-northd makes of web holds w's address" "${IP[w]}" \
	"$(ovn-sbctl --db="unix:$RUN/ovn/sb.sock" --timeout=10 --bare --columns=addresses find Address_Set name="${WPG}_ip4")"

# ---- bad input: clear errors, nothing made ----
before=$(n_acls)
check_eq "a port range on ICMP: refused, one line" "1 1" \
	"$(refused ctl security-group rule-add web --protocol icmp --port 80)"
check "... saying why" grep -q -- '--port needs --protocol tcp or udp' "$T/ctl.err"
check_eq "an unknown remote group: refused" "1 1" \
	"$(refused ctl security-group rule-add web --protocol tcp --remote-group no-such-group)"
check "... naming it" grep -q 'no-such-group' "$T/ctl.err"
check_eq "an unknown protocol: refused" "1 1" "$(refused ctl security-group rule-add web --protocol gre)"
check_eq "a bad remote IP: refused" "1 1" \
	"$(refused ctl security-group rule-add web --protocol tcp --remote-ip 10.1.2.300)"
check_eq "... and no ACL was made by any of them" "$before" "$(n_acls)"
check_eq "rule-delete of an unknown rule: refused" "1 1" \
	"$(refused ctl security-group rule-delete 00000000-0000-4000-8000-000000000000)"
check_eq "deleting a group its ports use: refused" "1 1" "$(refused ctl security-group delete web)"
check "... saying so" grep -q 'in use' "$T/ctl.err"
check_eq "creating a group whose name is taken: refused" "1 1" "$(refused ctl security-group create web)"
check_eq "... and there is still one web, with its Port_Group" "1 $WPG" \
	"$(ctl -o json security-group list | python3 -c 'import json,sys; print(sum(g["name"] == "web" for g in json.load(sys.stdin)))') $(nbctl --bare get Port_Group "$WPG" name)"
pod x
cni ADD "$P-x" eth0 "$NSPATH" "$(netconf net1 1.1.0 '"security_groups":["no-such-group"]')"
check_eq "ADD naming an unknown group: CNI error 7" "1 7" "$RC $(jget '["code"]')"
check "... naming it" grep -q 'no-such-group' <<<"$(jget '["details"]')"
check_eq "... and no port, veth or row is left" "  0" \
	"$(nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=$P-x") $(ip -n "$P-x" -o link show type veth) $(store_sql "select count(*) from attachments where container_id='$P-x'")"

# ---- the node's default groups ----
stop_kuryrd
printf '[neutron_defaults]\npod_security_groups = web\n' >>"$T/kuryr.conf"
start_kuryrd
add e
check_eq "[neutron_defaults] pod_security_groups = web: a port naming none joins web" "yes no" \
	"$(for g in "$WPG" "$DPG"; do grep -q "$(lsp_uuid "${PORT[e]}")" <<<"$(pg_ports "$g")" && echo yes || echo no; done | paste -sd' ')"
serve e 8080 8083
check_eq "... and web's rules apply to it" "open timeout" "$(tcp a e 8080) $(tcp a e 8083)"

# ---- tear down ----
for c in a b w d e; do
	del "$c"
	check_eq "DEL $c" 0 "$RC"
done
check_eq "web, still db's remote group, cannot go" "1 1" "$(refused ctl security-group delete web)"
check "delete db" ctl security-group delete db
check "then web" ctl security-group delete web
check_eq "OVN NB: their Port_Groups and ACLs are gone" "0 0" \
	"$(nbctl --bare --columns=name list Port_Group | grep -c -e "$WPG" -e "$DBPG") $(nbctl --bare --columns=match list ACL | grep -c -e "$WPG" -e "$DBPG")"
assert_clean "after DEL"
