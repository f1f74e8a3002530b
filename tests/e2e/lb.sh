#!/bin/bash
# Load balancers on backend ovn (OVN's own Load_Balancer), proven with
# packets: a client container's 20 connections to VIP:port are spread over
# the members (each answers with its name), a member removed gets no more,
# a health check takes a member whose server stopped out and brings it back,
# containers with "lb_pools" join on ADD and leave on DEL (also across a
# SIGKILL of kuryrd), UDP as well as TCP, a member behind the router, a
# network the router takes on later reaching the VIP, the VIP from outside
# through a floating IP; and bad input refused with nothing half-made.
KURYR_CONF_EXTRA=$'[ovs]\nbridge_mappings = physnet1:br-ex'
. "$(dirname "$0")/lib.sh"
env_up

declare -A IP
# healths POOL: a's and b's health in POOL.
healths() { echo "$(health "$1" "${IP[a]}") $(health "$1" "${IP[b]}")"; }
nb_lbs() { nbctl --bare --columns=name list Load_Balancer | grep . | sort | paste -sd' '; }

ctl network create web --subnet 10.51.0.0/24 >/dev/null
ctl router create r1 >/dev/null
ctl router add-subnet r1 web >/dev/null
lb_add a web
lb_add b web
lb_add client web

# ---- a VIP, a pool, two members ----
check "loadbalancer create lb1 --network web" ctl loadbalancer create lb1 --network web
VIP=$(lbj lb1 'd["vip"]')
check_eq "its VIP is web's last free address (ovn-northd's IPAM hands out the first)" \
	"10.51.0.254" "$VIP"
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

# ---- a member removed gets no more traffic ----
check "member-remove http ${IP[b]}" ctl loadbalancer member-remove http "${IP[b]}"
check_eq "member-list http: a alone" "${IP[a]}:8080" "$(members http)"
check_eq "20 connections: all to a" "a:20" "$(hits client tcp "$VIP" 80)"

# ---- a health check takes a stopped member out, and back ----
check "pool-create lb1 checked --protocol tcp --port 81 --member-port 8080 --health-check tcp --delay 1 --timeout 1 --max-retries 2" \
	ctl loadbalancer pool-create lb1 checked --protocol tcp --port 81 --member-port 8080 \
	--health-check tcp --delay 1 --timeout 1 --max-retries 2
check "member-add checked --container $P-a" ctl loadbalancer member-add checked --container "$P-a"
check "member-add checked --container $P-b" ctl loadbalancer member-add checked --container "$P-b"
HC_SRC=$(nbctl get Logical_Switch web 'external_ids:"kuryr:lb_probe_ip"' | tr -d '"')
check_eq "OVN NB: a health check row on VIP:81, members mapped to their ports and a probe address of web" \
	"$VIP:81 2" "$(nbctl --bare --columns=vip list Load_Balancer_Health_Check) $(nbctl get Load_Balancer checked ip_port_mappings | grep -o ":$HC_SRC" | wc -l)"
check_eq "both members are probed online" "online online" "$(eventually "online online" healths checked)"
check_eq "20 connections to VIP:81: both answer" "a b" "$(who client tcp "$VIP" 81)"
lbstop b tcp
t0=$(date +%s.%N)
check_eq "b's server stopped: the check takes it out (offline)" "online offline" "$(eventually "online offline" healths checked)"
t1=$(date +%s.%N)
check "... within 3 x delay (+1 s for the poll): $(awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.1f", a - b}') s" \
	awk -v a="$t1" -v b="$t0" 'BEGIN {exit !(a - b <= 4)}'
check_eq "20 connections to VIP:81: all to a" "a:20" "$(hits client tcp "$VIP" 81)"
lbserve b tcp 8080
check_eq "b's server back: online again" "online online" "$(eventually "online online" healths checked)"
check_eq "... and it answers again" "a b" "$(eventually "a b" who client tcp "$VIP" 81)"

# ---- a network the router takes on after the pools ----
# lbs_on SWITCH: the names of the Load_Balancer rows on SWITCH.
lbs_on() {
	local u
	for u in $(nbctl get Logical_Switch "$1" load_balancer | tr -d '[],'); do
		nbctl get Load_Balancer "$u" name | tr -d '"'
	done | sort | paste -sd' '
}
ctl network create late --subnet 10.52.0.0/24 >/dev/null
check "router add-subnet r1 late, after the pools were made" ctl router add-subnet r1 late
lb_add e late
check_eq "OVN NB: late's switch has r1's pools, as web's has" "$(lbs_on web)" "$(lbs_on late)"
check_eq "a client on late: 20 connections to VIP:81, both members answer" "a b" \
	"$(eventually "a b" who e tcp "$VIP" 81)"
got=$(refused ctl router remove-subnet r1 web)
check_eq "router remove-subnet r1 web, where lb1's VIP is: refused with one line" "1 1" \
	"$([ "${got% *}" != 0 ] && echo 1) ${got#* }"
check "... which names the load balancer" grep -q "load balancer lb1" "$T/ctl.err"
check_eq "... and web's clients still reach the VIP" "a b" "$(who client tcp "$VIP" 81)"
check "router remove-subnet r1 late" ctl router remove-subnet r1 late
check_eq "OVN NB: late's switch has no pool any more" "" "$(lbs_on late)"
cni DEL "$P-e" eth0 "/run/netns/$P-e" "$(netconf late)"
ctl network delete late >/dev/null

# ---- containers that follow a pool: lb_pools ----
check "pool-create lb1 app --protocol tcp --port 8000 --member-port 8080" \
	ctl loadbalancer pool-create lb1 app --protocol tcp --port 8000 --member-port 8080
lb_add c web '"lb_pools":["app"]'
lbserve c tcp 8080
check_eq "ADD with lb_pools [app]: c is app's member when ADD returns, owned by its attachment" \
	"${IP[c]}:8080 $KURYR_HOST/$P-c/eth0" \
	"$(members app) $(ctl -o json loadbalancer member-list app | pyj 'd[0]["owner"]')"
check_eq "... and the VIP sends it traffic" "c:20" "$(hits client tcp "$VIP" 8000)"
lb_add d web '"lb_pools":["app", "http"]'
lbserve d tcp 8080
check_eq "d in two pools" "$(printf '%s\n' "${IP[c]}:8080" "${IP[d]}:8080" | sort | paste -sd' ') $(printf '%s\n' "${IP[a]}:8080" "${IP[d]}:8080" | sort | paste -sd' ')" \
	"$(members app) $(members http)"
check_eq "app's traffic goes to c and d" "c d" "$(who client tcp "$VIP" 8000)"
cni DEL "$P-c" eth0 "/run/netns/$P-c" "$(netconf web 1.1.0 '"lb_pools":["app"]')"
check_eq "DEL c: out of app, no traffic to it" "${IP[d]}:8080 d:20" "$(members app) $(hits client tcp "$VIP" 8000)"

stop_kuryrd KILL
start_kuryrd
cni DEL "$P-d" eth0 "/run/netns/$P-d" "$(netconf web 1.1.0 '"lb_pools":["app","http"]')"
check_eq "kuryrd SIGKILLed between ADD and DEL: DEL takes d out of both pools" " ${IP[a]}:8080" \
	"$(members app) $(members http)"
check_eq "... and no record is left" "0" "$(store_sql "select count(*) from records where kind='lb_member'")"

# ---- UDP ----
check "pool-create lb1 dns --protocol udp --port 53 --member-port 5353" \
	ctl loadbalancer pool-create lb1 dns --protocol udp --port 53 --member-port 5353
lbserve a udp 5353
lbserve b udp 5353
ctl loadbalancer member-add dns --container "$P-a" >/dev/null
ctl loadbalancer member-add dns --container "$P-b" >/dev/null
check_eq "OVN NB: dns is a udp Load_Balancer" "udp" "$(nbctl --bare --columns=protocol find Load_Balancer name=dns)"
check_eq "20 datagrams to VIP:53: both members answer" "a b" "$(eventually "a b" who client udp "$VIP" 53)"

# ---- from outside, through a floating IP on the VIP ----
check "the outside world is behind br-ex" outside_up 172.24.0.1/24
ctl network create ext --subnet 172.24.0.0/24 --gateway 172.24.0.1 --external --physical-network physnet1 >/dev/null
ctl router set r1 --external-gateway ext >/dev/null
ctl security-group rule-add default --protocol tcp --port 8080 --remote-ip 172.24.0.0/24 >/dev/null
VIP_PORT=$(lbj lb1 'd["vip_port"]')
check "floating-ip create ext --port the VIP's port" ctl floating-ip create ext --port "$VIP_PORT"
FIP=$(ctl -o json floating-ip list | pyj '[f["ip"] for f in d if f["port"] == "'"$VIP_PORT"'"][0]')
check_eq "floating-ip list: the VIP's floating IP, to the VIP" "172.24.0 $VIP" \
	"${FIP%.*} $(ctl -o json floating-ip list | pyj '[f["fixed_ip"] for f in d if f["port"] == "'"$VIP_PORT"'"][0]')"
check_eq "OVN NB: each pool balances FIP:port too" "yes yes" \
	"$(nbctl get Load_Balancer checked vips | grep -q "\"$FIP:81\"" && echo yes) $(nbctl get Load_Balancer dns vips | grep -q "\"$FIP:53\"" && echo yes)"
check_eq "20 connections from outside to FIP:81: both members answer" "a b" \
	"$(eventually "a b" who out tcp "$FIP" 81)"
check "floating-ip delete" ctl floating-ip delete "$FIP"
check_eq "OVN NB: no pool balances the floating IP any more" "0" \
	"$(nbctl --bare --columns=vips list Load_Balancer | grep -c "$FIP")"
check_eq "... and the outside gets no answer" "none:3" "$(hits out tcp "$FIP" 81 3)"

# ---- what is refused, with nothing half-made ----
lsps() { nbctl --bare --columns=ports list Logical_Switch web | wc -w; }
n_lsp=$(lsps) n_links=$(ip -o link | wc -l) n_rows=$(store_sql "select count(*) from attachments")
pod e
cni ADD "$P-e" eth0 "$NSPATH" "$(netconf web 1.1.0 '"lb_pools":["no-such-pool"]')"
check_eq "ADD with an unknown pool in lb_pools: a CNI error" "1 7" "$RC $(jget '["code"]')"
check "... saying which" grep -q 'no-such-pool' <<<"$OUT"
check_eq "... and nothing is left: no port, device, row or record" "$n_lsp $n_links $n_rows 0" \
	"$(lsps) $(ip -o link | wc -l) $(store_sql "select count(*) from attachments") $(store_sql "select count(*) from records where kind='lb_member'")"
cni ADD "$P-e" eth0 "$NSPATH" "$(netconf web 1.1.0 '"lb_pools":"app"')"
check_eq "lb_pools not a list: a CNI error, nothing made" "1 7 $n_lsp" "$RC $(jget '["code"]') $(lsps)"

n_nb=$(nb_lbs)
check_eq "pool on an unknown load balancer: refused, one line" "1 1" \
	"$(refused ctl loadbalancer pool-create no-such-lb p --protocol tcp --port 80)"
check_eq "a port out of range: refused" "1 1" \
	"$(refused ctl loadbalancer pool-create lb1 p --protocol tcp --port 70000)"
check_eq "protocol http: refused (OVN's is layer 4)" "1 1" \
	"$(refused ctl loadbalancer pool-create lb1 p --protocol http --port 80)"
check "... saying so" grep -q 'layer 4' "$T/ctl.err"
check_eq "algorithm round-robin: refused" "1 1" \
	"$(refused ctl loadbalancer pool-create lb1 p --protocol tcp --port 82 --algorithm round-robin)"
check_eq "a udp-connect check on a tcp pool: refused" "1 1" \
	"$(refused ctl loadbalancer pool-create lb1 p --protocol tcp --port 82 --health-check udp-connect)"
check_eq "the same port and protocol twice: refused" "1 1" \
	"$(refused ctl loadbalancer pool-create lb1 p --protocol tcp --port 80)"
check_eq "a pool name taken: refused" "1 1" \
	"$(refused ctl loadbalancer pool-create lb1 http --protocol tcp --port 83)"
ctl network create island --subnet 10.59.0.0/24 >/dev/null
check_eq "a member on a network no router joins to web: refused" "1 1" \
	"$(refused ctl loadbalancer member-add http --address 10.59.0.7)"
check "... saying so" grep -q 'no router connects' "$T/ctl.err"
check_eq "a member on none of the networks: refused" "1 1" \
	"$(refused ctl loadbalancer member-add http --address 192.0.2.7)"
check_eq "a load balancer on a network without a router: refused" "1 1" \
	"$(refused ctl loadbalancer create lb-island --network island)"
check_eq "a VIP outside the network: refused" "1 1" \
	"$(refused ctl loadbalancer create lb2 --network web --vip 10.59.0.9)"
check_eq "a VIP in use (a's address): refused" "1 1" \
	"$(refused ctl loadbalancer create lb2 --network web --vip "${IP[a]}")"
check_eq "a port with the VIP as its fixed address: refused" "1 1" \
	"$(refused ctl port create --network web --name vipthief --ip "$VIP")"
check_eq "a port with the health checks' source address as its fixed address: refused" "1 1" \
	"$(refused ctl port create --network web --name probethief --ip "$HC_SRC")"
check "... saying it is in use" grep -q "in use" "$T/ctl.err"
check_eq "a load balancer name taken: refused" "1 1" \
	"$(refused ctl loadbalancer create lb1 --network web)"
check_eq "... and nothing was made: the same Load_Balancer rows, http's members" \
	"$n_nb ${IP[a]}:8080" "$(nb_lbs) $(members http)"
check_eq "... nor a port" "" "$(nbctl --bare --columns=name find Logical_Switch_Port name=vipthief; nbctl --bare --columns=name find Logical_Switch_Port name=probethief)"

# ---- delete cascades ----
check "loadbalancer delete lb1" ctl loadbalancer delete lb1
check_eq "OVN NB: no Load_Balancer, health check or VIP port is left; the VIP is free" "0 0 0 no" \
	"$(nbctl --bare --columns=_uuid list Load_Balancer | grep -c .) $(nbctl --bare --columns=_uuid list Load_Balancer_Health_Check | grep -c .) $(nbctl --bare --columns=name list Logical_Switch_Port | grep -c '^lb-vip-') $(nbctl get Logical_Switch web other_config:exclude_ips | tr -d '"' | tr ' ' '\n' | grep -qx "$VIP" && echo yes || echo no)"
check_eq "OVN NB: no switch or router holds a load balancer" "" \
	"$(nbctl --bare --columns=load_balancer list Logical_Switch; nbctl --bare --columns=load_balancer list Logical_Router)"
check_eq "loadbalancer list is empty" "[]" "$(ctl -o json loadbalancer list | tr -d ' \n')"
