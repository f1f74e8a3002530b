#!/bin/bash
# Security groups over IPv6 on backend ovn, proven with packets on a
# dual-stack network: the default group lets its members talk over both
# families; a rule with --ethertype IPv6 opens one TCP port over IPv6 only
# (another port, and the same port over IPv4, stay dropped); icmpv6 opens
# ping over IPv6 only; a remote group's rule matches the group's IPv6
# address set. Neighbour discovery is never dropped (TCP over IPv6 works
# between ports whose groups allow no ICMPv6). Bad rules are refused.
. "$(dirname "$0")/lib.sh"
env_up

check "network create ds" ctl network create ds --subnet 10.91.0.0/24 --subnet fd00:91::/64

declare -A IP4 IP6
add() { # NAME [EXTRA_NETCONF]
	pod "$1"
	cni ADD "$P-$1" eth0 "$NSPATH" "$(netconf ds 1.1.0 "${2:-}")"
	check_eq "ADD $1 ${2:-}" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	IP4[$1]=$(pyj '" ".join(i["address"].split("/")[0] for i in d["ips"] if ":" not in i["address"])' <<<"$OUT")
	IP6[$1]=$(pyj '" ".join(i["address"].split("/")[0] for i in d["ips"] if ":" in i["address"])' <<<"$OUT")
}
pg_of() { ctl -o json security-group show "$1" | pyj '"pg_" + d["id"].replace("-", "_")'; }

# ---- the default group, both families ----
add a
add b
serve "$P-a" 8080
check_eq "default: ping over IPv6 between its members passes" "pass pass" \
	"$(ping1 "$P-a" "${IP6[b]}") $(ping1 "$P-b" "${IP6[a]}")"
check_eq "default: TCP over IPv6 and IPv4 between its members passes" "open open" \
	"$(tcp "$P-b" "${IP6[a]}" 8080) $(tcp "$P-b" "${IP4[a]}" 8080)"
DPG=$(pg_of default)
check_eq "OVN NB: default's IPv6 ingress rule matches its IPv6 address set" 1 \
	"$(nbctl --bare --columns=match find ACL direction=to-lport | grep -c "ip6.src == \$${DPG}_ip6")"
check_eq "OVN SB: that address set (ovn-northd's) holds both members' IPv6 addresses" \
	"$(printf '%s\n' "${IP6[a]}" "${IP6[b]}" | sort | paste -sd' ')" \
	"$(ovn-sbctl --db=unix:"$RUN/ovn/sb.sock" --timeout=10 --bare --columns=addresses find Address_Set "name=${DPG}_ip6" | tr ' ' '\n' | tr -d '"' | grep . | sort | paste -sd' ')"

# ---- a group of our own: TCP 8080 in, over IPv6 only ----
check "security-group create web6" ctl security-group create web6
OUT=$(ctl -o json security-group rule-add web6 --ethertype IPv6 --protocol tcp --port 8080)
check_eq "rule-add web6 --ethertype IPv6 tcp 8080 prints the rule" "ingress IPv6 tcp 8080" \
	"$(jget '["direction"]') $(jget '["ethertype"]') $(jget '["protocol"]') $(jget '["port_min"]')"
check_eq "OVN NB: the rule's ACL matches ip6" \
	"to-lport outport == @$(pg_of web6) && ip6 && tcp && tcp.dst == 8080" \
	"$(nbctl --bare --columns=direction,match find ACL "external_ids:\"kuryr:rule_id\"=$(jget '["id"]')" | paste -sd' ')"
add w '"security_groups":["web6"]'
serve "$P-w" 8080 8081
check_eq "TCP over IPv6 to 8080 passes (neighbour discovery is not dropped)" "open" \
	"$(eventually open tcp "$P-a" "${IP6[w]}" 8080)"
check_eq "TCP over IPv6 to 8081 is dropped" "timeout" "$(tcp "$P-a" "${IP6[w]}" 8081)"
check_eq "TCP over IPv4 to 8080 is dropped (the rule is IPv6's)" "timeout" \
	"$(tcp "$P-a" "${IP4[w]}" 8080)"
check_eq "ping over IPv6 to w is dropped (no icmpv6 rule)" "drop" "$(ping1 "$P-a" "${IP6[w]}")"

OUT=$(ctl -o json security-group rule-add web6 --ethertype IPv6 --protocol icmpv6)
RICMP6=$(jget '["id"]')
check_eq "OVN NB: the icmpv6 rule's ACL matches icmp6" 1 \
	"$(nbctl --bare --columns=match find ACL "external_ids:\"kuryr:rule_id\"=$RICMP6" | grep -c 'ip6 && icmp6$')"
check_eq "rule-add icmpv6: ping over IPv6 to w passes" "pass" "$(eventually pass ping1 "$P-a" "${IP6[w]}")"
check_eq "... over IPv4 it stays dropped" "drop" "$(ping1 "$P-a" "${IP4[w]}")"
check "rule-delete the icmpv6 rule" ctl security-group rule-delete "$RICMP6"
check_eq "... and ping over IPv6 is dropped again" "drop" "$(eventually drop ping1 "$P-a" "${IP6[w]}")"

# ---- a remote group, per family ----
check "security-group create peers" ctl security-group create peers
add p '"security_groups":["peers"]'
check "rule-add web6 IPv6 tcp 8081 from group peers" \
	ctl security-group rule-add web6 --ethertype IPv6 --protocol tcp --port 8081 --remote-group peers
check_eq "OVN NB: it matches peers' IPv6 address set" 1 \
	"$(nbctl --bare --columns=match find ACL | grep -c "ip6.src == \$$(pg_of peers)_ip6 && tcp && tcp.dst == 8081")"
check_eq "a member of peers reaches w's 8081 over IPv6" "open" \
	"$(eventually open tcp "$P-p" "${IP6[w]}" 8081)"
check_eq "... not over IPv4" "timeout" "$(tcp "$P-p" "${IP4[w]}" 8081)"
check_eq "a non-member (a) does not reach 8081 over IPv6" "timeout" "$(tcp "$P-a" "${IP6[w]}" 8081)"

# ---- refused ----
check_eq "icmpv6 with a port: refused, one line" "1 1" \
	"$(refused ctl security-group rule-add web6 --ethertype IPv6 --protocol icmpv6 --port 80)"
check_eq "icmp (IPv4's) with --ethertype IPv6: refused, one line" "1 1" \
	"$(refused ctl security-group rule-add web6 --ethertype IPv6 --protocol icmp)"
check "... saying what it needs" grep -q 'needs --ethertype IPv4' "$T/ctl.err"
check_eq "an IPv4 remote prefix on an IPv6 rule: refused, one line" "1 1" \
	"$(refused ctl security-group rule-add web6 --ethertype IPv6 --protocol tcp --port 22 --remote-ip 10.0.0.0/8)"
check_eq "an unknown ethertype: refused" "1 1" \
	"$(refused ctl security-group rule-add web6 --ethertype IPX)"
check_eq "... and web6 still has its four rules (two egress, 8080, 8081)" 4 \
	"$(ctl -o json security-group rule-list web6 | pyj 'len(d)')"

# ---- tear down ----
for c in a b w p; do
	cni DEL "$P-$c" eth0 "/run/netns/$P-$c" "$(netconf ds)"
	check_eq "DEL $c" 0 "$RC"
done
check "delete web6" ctl security-group delete web6
check "delete peers" ctl security-group delete peers
check "delete network ds" ctl network delete ds
assert_clean "at the end"
