#!/bin/bash
# A workload moved between nodes keeping its port (name, MAC, addresses),
# over the clustered OVN of scripts/multinode.sh with a kuryrd per node,
# pools on. Proven with packets, OVSDB rows and netlink dumps:
#   - an ADD on node 2 that names c1's port (runtimeConfig "port") moves it
#     there: the result has c1's MAC and address; the NB says node 2
#     (kuryr:host, requested-chassis), the SB binds it on node 2's chassis
#     alone; a container on node 3 pinging every 10 ms loses only the
#     move's gap, and its established TCP connection to the workload,
#     carried over with the kernel's TCP repair as CRIU would, goes on;
#   - the DEL of c1 on node 1 removes node 1's devices and row and leaves
#     the port, now node 2's; node 1's pool forgets it;
#   - an ADD that names a port it cannot take (no such port, another
#     network's, one already on this node, a VM's, one moving elsewhere)
#     fails with error 7 and leaves nothing; one whose plug fails gives
#     the port back to its node;
#   - kuryrctl port migrate binds a port on a second node (requested-chassis
#     both, activation-strategy rarp), --cancel takes it back, and an ADD
#     on the target finishes a move begun so;
#   - two nodes' pools never hold the same port or address;
#   - a container that follows a load balancer pool (lb_pools) and moves:
#     the new node takes its member over, the old node's DEL leaves it.
. "$(dirname "$0")/lib.sh"

mn_up

# Port-only pool entries: a veth per ADD.
MN_POOL=true MN_PREWIRE=false
for i in 1 2 3; do
	check "kuryrd starts on node $i (pools on, port-only entries)" mn_kuryrd_start "$i"
done
check "network create" mctl 1 network create mvnet --subnet 10.98.0.0/24
check "a second network" mctl 1 network create mvother --subnet 10.99.0.0/24
for i in 1 2 3; do mctl "$i" pool populate mvnet >/dev/null; done

N1=$NODE_CHASSIS_1 N2=$NODE_CHASSIS_2 N3=$NODE_CHASSIS_3
lsp_get() { mnb --bare --columns="$2" list Logical_Switch_Port "$1"; }
lsp_opt() { mnb --if-exists get Logical_Switch_Port "$1" options:"$2" 2>/dev/null | tr -d '"'; }
lsp_ext() { mnb --if-exists get Logical_Switch_Port "$1" external_ids:"\"$2\"" 2>/dev/null | tr -d '"'; }
sb_chassis() { # PORT: the names of the chassis binding it, main then additional
	local c a
	c=$(msb --bare --columns=chassis find Port_Binding logical_port="$1")
	a=$(msb --bare --columns=additional_chassis find Port_Binding logical_port="$1")
	for u in $c $a; do msb --bare --columns=name list Chassis "$u"; done | paste -sd' '
}
# ifaces I PORT: node I's OVS interfaces whose iface-id is PORT.
ifaces() {
	ovs-vsctl --db="$(nsv NODE_OVS_DB "$1")" --timeout=10 --bare --columns=name \
		find Interface external_ids:iface-id="$2"
}
rows() { sqlite3 -cmd '.timeout 5000' "$T/state$1/kuryr.db" "select count(*) from attachments"; }

# add NAME NODE [EXTRA_NETCONF_MEMBERS]: ADD through node NODE's kuryr-cni.
declare -A IP MAC PORT
add() {
	[ -e "/run/netns/$P-$1" ] || pod "$1"
	SOCK=$T/k$2.sock cni ADD "$P-$1" eth0 "/run/netns/$P-$1" "$(SOCK=$T/k$2.sock netconf "${4:-mvnet}" 1.1.0 "${3:-}")"
}
added() { # NAME NODE: record what the ADD gave
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	MAC[$1]=$(jget '["interfaces"][1]["mac"]')
	PORT[$1]=$(sqlite3 -cmd '.timeout 5000' "$T/state$2/kuryr.db" "select port from attachments where container_id = '$P-$1'")
}
add c1 1
check_eq "ADD c1 on node 1" 0 "$RC"
[ "$RC" = 0 ] || diag <<<"$OUT"
added c1 1
OUT1=$OUT
add c3 3
check_eq "ADD c3 on node 3 (the observer)" 0 "$RC"
[ "$RC" = 0 ] || diag <<<"$OUT"
added c3 3
[ -n "${IP[c1]}" ] && [ -n "${MAC[c1]}" ] && [ -n "${PORT[c1]}" ] || { echo "Bail out! c1 has no address, MAC or port: ${IP[c1]} ${MAC[c1]} ${PORT[c1]}"; diag <<<"$OUT1"; exit 1; }
check_eq "c3 reaches c1 across the tunnel" pass "$(eventually pass ping1 "$P-c3" "${IP[c1]}")"
check_eq "c1's port is a pool's, on node 1" "pool $N1" \
	"$(lsp_ext "${PORT[c1]}" kuryr:device_owner) $(lsp_ext "${PORT[c1]}" kuryr:host)"

# ---- the move: c1's workload goes to node 2 as c1b ----
ip netns exec "$P-c1" python3 "$SRC/tests/e2e/tcp-move.py" serve 7000 "$T/tcp.state" >"$T/srv.log" 2>&1 &
srv=$!
_bg+=($srv)
for _ in $(seq 50); do grep -q listening "$T/srv.log" && break; sleep 0.05; done
ip netns exec "$P-c3" python3 "$SRC/tests/e2e/tcp-move.py" client "${IP[c1]}" 7000 6 >"$T/cli.log" 2>&1 &
cli=$!
_bg+=($cli)
ip netns exec "$P-c3" python3 "$SRC/tests/e2e/ping-gap.py" "${IP[c1]}" 5 >"$T/ping.log" 2>&1 &
pinger=$!
_bg+=($pinger)
sleep 1.5
pod c1b
# The workload stops on node 1, its connection frozen, then starts on node
# 2, as CRIU moves a container: the network locked (its link down on node
# 1, TCP to it dropped on node 2) while no socket answers for it, so that
# neither end resets the connection.
ip netns exec "$P-c1b" iptables -A INPUT -p tcp --dport 7000 -j DROP
ip -n "$P-c1" link set eth0 down
kill -USR1 "$srv"
wait "$srv"
check_eq "the TCP connection is frozen on node 1" 0 "$?"
t0=$EPOCHREALTIME
add c1b 2 "\"runtimeConfig\":{\"port\":\"${PORT[c1]}\"}"
t1=$EPOCHREALTIME
check_eq "ADD c1b on node 2 naming c1's port" 0 "$RC"
[ "$RC" = 0 ] || diag <<<"$OUT"
ip netns exec "$P-c1b" python3 "$SRC/tests/e2e/tcp-move.py" restore "$T/tcp.state" >"$T/rst.log" 2>&1 &
_bg+=($!)
for _ in $(seq 100); do grep -q restored "$T/rst.log" && break; sleep 0.01; done
ip netns exec "$P-c1b" iptables -D INPUT -p tcp --dport 7000 -j DROP
echo "# ADD moving the port took $(python3 -c "print(f'{($t1 - $t0) * 1000:.1f}')") ms"
check_eq "c1b has c1's address and MAC" "${IP[c1]} ${MAC[c1]}" \
	"$(jget '["ips"][0]["address"]' | cut -d/ -f1) $(jget '["interfaces"][1]["mac"]')"
check_eq "... on its eth0 (netlink)" "${IP[c1]} ${MAC[c1]}" \
	"$(ip -n "$P-c1b" -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1) $(ip -n "$P-c1b" -o link show eth0 | grep -o 'link/ether [^ ]*' | cut -d' ' -f2)"
P1=${PORT[c1]}
check_eq "NB: one port, node 2's, c1b's, requested on node 2 alone" \
	"1 $N2 $P-c1b container $N2 -" \
	"$(mnb --bare --columns=name find Logical_Switch_Port name="$P1" | grep -c .) $(lsp_ext "$P1" kuryr:host) $(lsp_ext "$P1" kuryr:device_id) $(lsp_ext "$P1" kuryr:device_owner) $(lsp_opt "$P1" requested-chassis) $(lsp_opt "$P1" activation-strategy || true)-"
check_eq "... no longer in a pool, nor moving" "[] []" \
	"$(mnb get Logical_Switch_Port "$P1" external_ids | python3 -c 'import sys; s=sys.stdin.read(); print("[]" if "pool_key" not in s else "pool_key", "[]" if "migrating_to" not in s else "migrating_to")')"
check_eq "SB: bound on node 2's chassis alone" "$N2" "$(eventually "$N2" sb_chassis "$P1")"
wait "$pinger"
read -r sent got gap first last <"$T/ping.log"
echo "# 10 ms pings from node 3: $got of $sent answered, the longest gap without a reply $gap ms"
check "c3's pings are answered before and after the move" \
	python3 -c "import sys; sys.exit(not ($first < $t0 < $t1 < $last))"
wait "$cli"
read -r verdict sent stall < <(tail -n1 "$T/cli.log")
check_eq "c3's TCP connection to the workload survives the move" ok "$verdict"
[ "$verdict" = ok ] || diag <"$T/cli.log"
echo "# TCP: $sent round trips in 6 s, the longest $stall ms (the move, and TCP's retransmission timer)"
check_eq "node 2: c1b's port on br-int" 1 "$(ifaces 2 "$P1" | grep -c .)"

# ---- node 1 lets go ----
rows1=$(rows 1)
SOCK=$T/k1.sock cni DEL "$P-c1" eth0 "/run/netns/$P-c1" "$(SOCK=$T/k1.sock netconf mvnet)"
check_eq "DEL c1 on node 1" 0 "$RC"
check_eq "the port stays (node 2's)" "$N2" "$(lsp_ext "$P1" kuryr:host)"
check_eq "node 1: no interface for it on br-int, no row, only lo in c1" "0 $((rows1 - 1)) lo" \
	"$(ifaces 1 "$P1" | grep -c .) $(rows 1) $(ip -n "$P-c1" -o link show | awk -F': ' '{print $2}' | paste -sd' ')"
check_eq "node 1's pool has no entry in use or draining" "0 0" \
	"$(mctl 1 -o json pool list --network mvnet | pyj '" ".join(str(sum(p[k] for p in d)) for k in ("in_use", "draining"))')"
check_eq "c3 still reaches c1b" pass "$(ping1 "$P-c3" "${IP[c1]}")"

# ---- ADDs that name a port they cannot take: error 7, nothing left ----
mctl 1 port create --network mvnet --name "vm-$P" >/dev/null
pod c2
refuse() { # WHAT NODE EXTRA [NETWORK]
	local rows_before ifs_before
	rows_before=$(rows "$2")
	ifs_before=$(ifaces "$2" "$P1" | grep -c .)
	add c2 "$2" "$3" "${4:-}"
	check_eq "$1: error 7" "1 7" "$RC $(jget '["code"]' 2>/dev/null)"
	check_eq "$1: nothing left (row, device, interface)" "$rows_before lo $ifs_before" \
		"$(rows "$2") $(ip -n "$P-c2" -o link show | awk -F': ' '{print $2}' | paste -sd' ') $(ifaces "$2" "$P1" | grep -c .)"
}
refuse "no such port" 3 "\"runtimeConfig\":{\"port\":\"nonesuch-$P\"}"
refuse "a port of another network" 3 "\"runtimeConfig\":{\"port\":\"$P1\"}" mvother
refuse "a port already on this node" 2 "\"runtimeConfig\":{\"port\":\"$P1\"}"
refuse "a VM's port" 3 "\"runtimeConfig\":{\"port\":\"vm-$P\"}"
refuse "other addresses than the port's" 3 "\"runtimeConfig\":{\"port\":\"$P1\",\"ips\":[\"10.98.0.250/24\"]}"
check_eq "c1b's port untouched by all that" "$N2 $N2 $P-c1b" \
	"$(lsp_ext "$P1" kuryr:host) $(lsp_opt "$P1" requested-chassis) $(lsp_ext "$P1" kuryr:device_id)"

# A move whose plug fails (CNI_IFNAME taken in the target's netns) gives
# the port back to its node.
ip -n "$P-c2" link add eth0 type bridge
add c2 3 "\"runtimeConfig\":{\"port\":\"$P1\"}"
check_eq "a move whose plug fails: error 101 (interface name taken)" "1 101" "$RC $(jget '["code"]' 2>/dev/null)"
[ "$RC" = 1 ] || diag <<<"$OUT"
check_eq "... the port back on node 2 alone, moving nowhere" "$N2 $N2 - -" \
	"$(lsp_ext "$P1" kuryr:host) $(lsp_opt "$P1" requested-chassis) $(lsp_opt "$P1" activation-strategy)- $(lsp_ext "$P1" kuryr:migrating_to)-"
check_eq "... nothing of it on node 3" "0" "$(ifaces 3 "$P1" | grep -c .)"
check_eq "... and c1b still answers" pass "$(eventually pass ping1 "$P-c3" "${IP[c1]}")"
ip -n "$P-c2" link del eth0

# ---- kuryrctl port migrate ----
check "kuryrctl port migrate $P1 --to node 1 (on node 3)" mctl 3 port migrate "$P1" --to "$N1"
check_eq "NB: requested on both, activated by RARP, moving to node 1" "$N2,$N1 rarp $N1" \
	"$(lsp_opt "$P1" requested-chassis) $(lsp_opt "$P1" activation-strategy) $(lsp_ext "$P1" kuryr:migrating_to)"
check_eq "kuryrctl port show: where it is and where it goes" "$N2 $N1" \
	"$(mctl 1 -o json port show "$P1" | pyj 'd["host"] + " " + d["migrating_to"]')"
check_eq "c1b still answers while node 1 is only prepared" pass "$(ping1 "$P-c3" "${IP[c1]}")"
add c2 3 "\"runtimeConfig\":{\"port\":\"$P1\"}"
check_eq "an ADD on node 3 for a port moving to node 1: error 102 (the port is busy)" "1 102" "$RC $(jget '["code"]' 2>/dev/null)"
check_eq "... which stays moving to node 1" "$N2,$N1 $N1" "$(lsp_opt "$P1" requested-chassis) $(lsp_ext "$P1" kuryr:migrating_to)"
check "kuryrctl port migrate --cancel" mctl 2 port migrate "$P1" --cancel
check_eq "NB: back on node 2 alone" "$N2 -" "$(lsp_opt "$P1" requested-chassis) $(lsp_opt "$P1" activation-strategy)-"
check_eq "kuryrctl port migrate to its own node: refused" "1 1" "$(refused mctl 1 port migrate "$P1" --to "$N2")"
check "begun again" mctl 1 port migrate "$P1" --to "$N1"
check_eq "SB: bound on node 2, node 1 not yet plugged" "$N2" "$(sb_chassis "$P1")"
# node 2's workload stops; the ADD on node 1 finishes the move
ip -n "$P-c1b" link set eth0 down
pod c1c
add c1c 1 "\"runtimeConfig\":{\"port\":\"$P1\"}"
check_eq "ADD c1c on node 1 finishes the move" 0 "$RC"
check_eq "NB: node 1's alone" "$N1 $N1 - -" \
	"$(lsp_ext "$P1" kuryr:host) $(lsp_opt "$P1" requested-chassis) $(lsp_opt "$P1" activation-strategy)- $(lsp_ext "$P1" kuryr:migrating_to)-"
check_eq "SB: bound on node 1's chassis" "$N1" "$(eventually "$N1" sb_chassis "$P1")"
check_eq "c3 reaches the workload on node 1" pass "$(eventually pass ping1 "$P-c3" "${IP[c1]}")"
SOCK=$T/k2.sock cni DEL "$P-c1b" eth0 "/run/netns/$P-c1b" "$(SOCK=$T/k2.sock netconf mvnet)"
check_eq "DEL c1b on node 2: the port stays, node 2 clean" "0 $N1 0" "$RC $(lsp_ext "$P1" kuryr:host) $(ifaces 2 "$P1" | grep -c .)"

# ---- a VM's port: on the node that plugs it first, moved by a migration ----
VP=vm-$P
tap() { ip -n "$(nsv NODE_NS "$1")" tuntap add mode tap name "tap$1-${P#kct}"; echo "tap$1-${P#kct}"; }
T2=$(tap 2) T3=$(tap 3)
check "vm plug on node 2" mctl 2 vm plug "$T2" "$VP"
check_eq "NB: the VM's port is node 2's" "$N2" "$(lsp_ext "$VP" kuryr:host)"
check_eq "vm plug of it on node 3: refused (409)" "1 1" "$(refused mctl 3 vm plug "$T3" "$VP")"
check_eq "... and not on node 3's bridge" 0 "$(ifaces 3 "$VP" | grep -c .)"
check "port migrate --to node 3 (a live migration's start)" mctl 2 port migrate "$VP" --to "$N3"
check "vm plug on node 3 now (the migration's target)" mctl 3 vm plug "$T3" "$VP"
check_eq "SB: node 2 binds it, node 3 too (additional, until the RARP)" "$N2 $N3" "$(eventually "$N2 $N3" sb_chassis "$VP")"
check "port migrate --finish" mctl 3 port migrate "$VP" --to "$N3" --finish
check_eq "NB and SB: node 3's alone" "$N3 $N3 $N3" \
	"$(lsp_ext "$VP" kuryr:host) $(lsp_opt "$VP" requested-chassis) $(eventually "$N3" sb_chassis "$VP")"
check "vm unplug on node 2" mctl 2 vm unplug "$T2"
check "vm unplug on node 3" mctl 3 vm unplug "$T3"

# ---- pools on several nodes ----
check_eq "no two ports hold one address" "" \
	"$(mnb --bare --columns=dynamic_addresses find Logical_Switch_Port 'external_ids:"kuryr:network"=mvnet' | awk 'NF {print $2}' | sort | uniq -d)"
check_eq "each pool port is one node's, and that node's pool lists it" "ok" \
	"$(for i in 1 2 3; do mctl "$i" -o json port list --network mvnet; done | python3 -c '
import json, sys
dec, s, seen, bad = json.JSONDecoder(), sys.stdin.read(), {}, []
i = 0
while i < len(s):
    if s[i].isspace(): i += 1; continue
    d, i = dec.raw_decode(s, i)
    for p in d:
        if p["owner"] == "pool": seen.setdefault(p["name"], set()).add(p["host"])
print("ok" if seen and all(len(h) == 1 for h in seen.values()) else seen)')"

# ---- a pool's follower moves with its port ----
# The member keeps the port's address: the node the port moved to takes
# it over, so that the old node's DEL cannot take it out.
mctl 1 router create rmv >/dev/null
mctl 1 router add-subnet rmv mvnet >/dev/null
check "loadbalancer create lbm --network mvnet" mctl 1 loadbalancer create lbm --network mvnet
check "pool-create lbm pm" mctl 1 loadbalancer pool-create lbm pm --protocol tcp --port 80 --member-port 8080
# pm_members: "IP:PORT=OWNER ..." of pool pm.
pm_members() { mctl 1 -o json loadbalancer member-list pm | pyj '" ".join(sorted("%s:%s=%s" % (m["address"], m["port"], m["owner"]) for m in d))'; }
add f1 1 '"lb_pools":["pm"]'
check_eq "ADD f1 on node 1 with lb_pools [pm]" 0 "$RC"
added f1 1
check_eq "f1 is pm's member, owned by its attachment on node 1" "${IP[f1]}:8080=$N1/$P-f1/eth0" "$(pm_members)"
add f1b 2 "\"runtimeConfig\":{\"port\":\"${PORT[f1]}\"},\"lb_pools\":[\"pm\"]"
check_eq "ADD f1b on node 2 naming f1's port, lb_pools [pm]" 0 "$RC"
[ "$RC" = 0 ] || diag <<<"$OUT"
check_eq "node 2 took the member over: one member, its owner f1b's attachment" \
	"${IP[f1]}:8080=$N2/$P-f1b/eth0" "$(pm_members)"
SOCK=$T/k1.sock cni DEL "$P-f1" eth0 "/run/netns/$P-f1" "$(SOCK=$T/k1.sock netconf mvnet 1.1.0 '"lb_pools":["pm"]')"
check_eq "DEL f1 on node 1: the member stays, node 2's" "0 ${IP[f1]}:8080=$N2/$P-f1b/eth0" "$RC $(pm_members)"
check_eq "... and node 1 keeps no record of it" 0 \
	"$(sqlite3 -cmd '.timeout 5000' "$T/state1/kuryr.db" "select count(*) from records where kind='lb_member'")"
SOCK=$T/k2.sock cni DEL "$P-f1b" eth0 "/run/netns/$P-f1b" "$(SOCK=$T/k2.sock netconf mvnet 1.1.0 '"lb_pools":["pm"]')"
check_eq "DEL f1b on node 2: out of pm" "0 " "$RC $(pm_members)"
mctl 1 loadbalancer delete lbm >/dev/null
mctl 1 router remove-subnet rmv mvnet >/dev/null
mctl 1 router delete rmv >/dev/null

# ---- the end: the workload's last DEL deletes its port ----
SOCK=$T/k1.sock cni DEL "$P-c1c" eth0 "/run/netns/$P-c1c" "$(SOCK=$T/k1.sock netconf mvnet)"
check_eq "DEL c1c on node 1 deletes the port" "0 " "$RC $(mnb --bare --columns=name find Logical_Switch_Port name="$P1")"
SOCK=$T/k3.sock cni DEL "$P-c3" eth0 "/run/netns/$P-c3" "$(SOCK=$T/k3.sock netconf mvnet)"
mctl 1 port delete "vm-$P" >/dev/null
for i in 1 2 3; do
	mctl "$i" pool free --network mvnet >/dev/null 2>&1
done
for i in 1 2 3; do
	mn_kuryrd_stop "$i"
	check_eq "node $i's kuryrd exits cleanly on SIGTERM" 0 "$?"
done
_kpids=()
