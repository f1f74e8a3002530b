#!/bin/bash
# Load balancers on backend ovn (OVN's own Load_Balancer), proven with
# packets: a client container's 20 connections to VIP:port are spread over
# the members (each answers with its name), a member removed gets no more,
# a health check takes a member whose server stopped out and brings it back,
# containers with "lb_pools" join on ADD and leave on DEL (also across a
# SIGKILL of kuryrd), UDP as well as TCP, a member behind the router, the
# VIP from outside through a floating IP; and bad input refused with
# nothing half-made.
KURYR_CONF_EXTRA=$'[ovs]\nbridge_mappings = physnet1:br-ex'
. "$(dirname "$0")/lib.sh"
env_up

declare -A IP PORT
# add NAME NET [EXTRA_NETCONF]: container NAME on network NET.
add() {
	pod "$1"
	cni ADD "$P-$1" eth0 "$NSPATH" "$(netconf "$2" 1.1.0 "${3:-}")"
	check_eq "ADD $1 on $2" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
}
# lbserve NAME PROTO PORT: NAME's server answering with its name.
declare -A SRV
lbserve() {
	ip netns exec "$P-$1" python3 "$SRC/tests/e2e/lb-probe.py" serve "$2" "$3" "$1" \
		>"$T/lbserve-$1-$2" 2>&1 &
	SRV[$1-$2]=$!
	_probe_servers+=($!)
	for _ in $(seq 50); do grep -q ready "$T/lbserve-$1-$2" && return; sleep 0.05; done
}
lbstop() { kill "${SRV[$1-$2]}" 2>/dev/null; wait "${SRV[$1-$2]}" 2>/dev/null; }
# hits FROM PROTO IP PORT [N]: who answered N (20) connections.
hits() { ip netns exec "$P-$1" python3 "$SRC/tests/e2e/lb-probe.py" hits "$2" "$3" "$4" "${5:-20}"; }
# spread "a:9 b:11": "a b" if each answered at least once and nobody failed.
spread() { tr ' ' '\n' <<<"$1" | grep -v '^none:' | cut -d: -f1 | paste -sd' '; }
# who FROM PROTO IP PORT: the names that answered 20 connections.
who() { spread "$(hits "$@")"; }
lbj() { ctl -o json loadbalancer show "$1" | pyj "$2"; }
members() { ctl -o json loadbalancer member-list "$1" | pyj '" ".join(sorted("%s:%s" % (m["address"], m["port"]) for m in d))'; }
health() { ctl -o json loadbalancer member-list "$1" | pyj '" ".join(m["health"] for m in sorted(d, key=lambda m: m["address"]) if m["address"] == "'"$2"'")'; }
nb_lbs() { nbctl --bare --columns=name list Load_Balancer | grep . | sort | paste -sd' '; }

ctl network create web --subnet 10.51.0.0/24 >/dev/null
ctl router create r1 >/dev/null
ctl router add-subnet r1 web >/dev/null
add a web
add b web
add client web

# ---- a VIP, a pool, two members ----
check "loadbalancer create lb1 --network web" ctl loadbalancer create lb1 --network web
VIP=$(lbj lb1 'd["vip"]')
check_eq "its VIP is an address of web" "10.51.0" "${VIP%.*}"
check_eq "OVN NB: the VIP is held off the switch's IPAM" "yes" \
	"$(nbctl get Logical_Switch web other_config:exclude_ips | tr -d '"' | tr ' ' '\n' | grep -qx "$VIP" && echo yes)"
check "pool-create lb1 http --protocol tcp --port 80 --member-port 8080" \
	ctl loadbalancer pool-create lb1 http --protocol tcp --port 80 --member-port 8080
lbserve a tcp 8080
lbserve b tcp 8080
check "member-add http --container $P-a" ctl loadbalancer member-add http --container "$P-a"
check "member-add http --address ${IP[b]}" ctl loadbalancer member-add http --address "${IP[b]}"
check_eq "member-list http: both, on port 8080" "$(printf '%s\n' "${IP[a]}:8080" "${IP[b]}:8080" | sort | paste -sd' ')" \
	"$(members http)"
check_eq "OVN NB: the pool's row: VIP:80 to both members, tcp, Octavia's SOURCE_IP_PORT hash" \
	"tcp ip_dst ip_src tp_dst tp_src $(printf '%s\n' "${IP[a]}:8080" "${IP[b]}:8080" | sort | paste -sd,)" \
	"$(nbctl --bare --columns=protocol,selection_fields find Load_Balancer name=http | paste -sd' ') $(nbctl get Load_Balancer http vips | python3 -c 'import sys,re; v=sys.stdin.read(); m=re.search(r"\"'"$VIP"':80\"=\"([^\"]*)\"", v); print(",".join(sorted(m.group(1).split(","))) if m else v)')"
check_eq "OVN NB: on the switch and on the router" "yes yes" \
	"$(nbctl get Logical_Switch web load_balancer | grep -q "$(nbctl --bare --columns=_uuid find Load_Balancer name=http)" && echo yes) $(nbctl --bare --columns=load_balancer list Logical_Router | grep -q "$(nbctl --bare --columns=_uuid find Load_Balancer name=http)" && echo yes)"
eventually "a b" who client tcp "$VIP" 80 >/dev/null
got=$(hits client tcp "$VIP" 80)
check_eq "20 connections from the client to VIP:80: both members answer, none fails" "a b" "$(spread "$got")"
diag <<<"spread: $got"
