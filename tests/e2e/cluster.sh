#!/bin/bash
# kuryrd on three nodes over a clustered OVN (scripts/multinode.sh: a
# three-member RAFT Northbound and Southbound, two ovn-northd, a userspace
# Open vSwitch and ovn-controller per node, Geneve between them), one
# kuryrd per node in the node's namespace with nb_connection naming all
# three Northbound members. Proven with packets and NB rows: containers on
# each node are bound on their node's chassis and reach each other across
# the tunnels (ping, TCP); each port records its node (kuryr:host, shown by
# kuryrctl); the Northbound leader is killed and ADDs go on against the
# new one, none ever leaving two ports for one container; a burst of ADDs
# (30) over the three nodes while the new leader is killed in turn: each one
# succeeds or fails with CNI error 11, and the NB has exactly one port per
# container that succeeded and none for those that failed; a restarted
# node's kuryrd sweeps its own leftovers and no other node's ports.
. "$(dirname "$0")/lib.sh"

mn_up

ok "a clustered NB and SB, two northd and three nodes are up"
for i in 1 2 3; do
	check "kuryrd starts on node $i (nb_connection: three members)" mn_kuryrd_start "$i"
done
check "network create on node 1" mctl 1 network create mnet --subnet 10.96.0.0/24
check_eq "node 3 sees it (one Northbound)" "10.96.0.0/24" \
	"$(mctl 3 -o json network show mnet | pyj 'd["subnet"]')"

# add NAME NODE: container NAME through node NODE's kuryr-cni and kuryrd;
# IP[NAME], PORT[NAME] (its port's name). No offloads are touched: on a
# netdev bridge the binding has the container fill in its own checksums,
# which TCP through the userspace tunnels needs.
declare -A IP PORT
add() {
	pod "$1"
	SOCK=$T/k$2.sock cni ADD "$P-$1" eth0 "$NSPATH" "$(SOCK=$T/k$2.sock netconf mnet)"
	check_eq "ADD $1 on node $2" 0 "$RC"
	[ "$RC" = 0 ] || { diag <<<"$OUT"; return; }
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	PORT[$1]=$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-$1\"")
}
add c1 1
add c2 2
add c3 3
check_eq "SB: each container's port is bound on its node's chassis" \
	"$NODE_CHASSIS_1 $NODE_CHASSIS_2 $NODE_CHASSIS_3" \
	"$(for c in c1 c2 c3; do msb --bare --columns=name list Chassis "$(msb --bare --columns=chassis find Port_Binding logical_port="${PORT[$c]}")"; done | paste -sd' ')"
check_eq "kuryrctl port list (on node 2): each port's node" \
	"$NODE_CHASSIS_1 $NODE_CHASSIS_2 $NODE_CHASSIS_3" \
	"$(mctl 2 -o json port list --network mnet | pyj '" ".join(p["host"] for p in sorted(d, key=lambda p: p["device_id"]))')"
check_eq "across the tunnels: c1 reaches c2 and c3, c3 reaches c2" "pass pass pass" \
	"$(eventually pass ping1 "$P-c1" "${IP[c2]}") $(eventually pass ping1 "$P-c1" "${IP[c3]}") $(ping1 "$P-c3" "${IP[c2]}")"
serve "$P-c2" 8080
check_eq "TCP from c1 (node 1) to c2 (node 2), c2 sees c1's own address" "open ${IP[c1]}" \
	"$(tcp "$P-c1" "${IP[c2]}" 8080) $(last_peer "$P-c2")"

# ---- the Northbound leader goes ----
L=$("$SRC/scripts/multinode.sh" leader "$MN" nb)
check "the NB cluster has a leader (member $L)" test -n "$L"
check "kill NB member $L" "$SRC/scripts/multinode.sh" kill "$MN" nb "$L"
# The runtime retries an ADD that says "try again" (11), as CNI says.
add_retrying() { # NAME NODE
	tries=0
	pod "$1"
	while :; do
		SOCK=$T/k$2.sock cni ADD "$P-$1" eth0 "$NSPATH" "$(SOCK=$T/k$2.sock netconf mnet)"
		tries=$((tries + 1))
		[ "$RC" = 0 ] || [ "$(jget '["code"]' 2>/dev/null)" != 11 ] || [ "$tries" -ge 20 ] && break
		sleep 0.5
	done
}
add_retrying c4 2
check_eq "ADD c4 on node 2 goes on against the new leader (after $tries tries)" 0 "$RC"
[ "$RC" = 0 ] || diag <<<"$OUT"
IP[c4]=$(jget '["ips"][0]["address"]' 2>/dev/null | cut -d/ -f1)
check_eq "NB: one port for c4" 1 \
	"$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-c4\"" | grep -c .)"
check_eq "c1 reaches c4" pass "$(eventually pass ping1 "$P-c1" "${IP[c4]}")"
check "NB member $L rejoins" "$SRC/scripts/multinode.sh" start "$MN" nb "$L"

# ---- a burst over the three nodes while the leader goes again ----
L2=$("$SRC/scripts/multinode.sh" leader "$MN" nb)
burst=()
for k in $(seq 30); do
	n=$(((k - 1) % 3 + 1))
	ip netns add "$P-b$k" && _pods+=("$P-b$k")
	(
		SOCK=$T/k$n.sock
		cni ADD "$P-b$k" eth0 "/run/netns/$P-b$k" "$(netconf mnet)"
		echo "$RC $(jget '["code"]' 2>/dev/null)" >"$T/burst.$k"
	) &
	burst+=($!)
done
sleep 0.05
"$SRC/scripts/multinode.sh" kill "$MN" nb "$L2"
wait "${burst[@]}"
for _ in $(seq 100); do "$SRC/scripts/multinode.sh" leader "$MN" nb >/dev/null 2>&1 && break; sleep 0.1; done
ok_n=0 bad= first_ok=
for k in $(seq 30); do
	read -r rc code <"$T/burst.$k"
	n_lsp=$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$P-b$k\"" | grep -c .)
	if [ "$rc" = 0 ] && [ "$n_lsp" = 1 ]; then
		ok_n=$((ok_n + 1))
		[ -n "$first_ok" ] || first_ok=$k
	elif [ "$rc" = 1 ] && [ "$code" = 11 ] && [ "$n_lsp" = 0 ]; then :
	else bad+=" b$k:rc=$rc,code=$code,ports=$n_lsp"; fi
done
check_eq "burst of 30 ADDs over three nodes across a leader kill: each succeeded with one port, or failed with 11 and none" "" "$bad"
echo "# burst: $ok_n of 30 succeeded while NB member $L2 was killed"
if [ -n "$first_ok" ]; then
	bip=$(ip -n "$P-b$first_ok" -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)
	check_eq "a container of the burst (b$first_ok) passes traffic" pass "$(eventually pass ping1 "$P-c1" "$bip")"
fi
check "NB member $L2 rejoins" "$SRC/scripts/multinode.sh" start "$MN" nb "$L2"

# ---- each node looks after its own ----
name=leftover-$P
mnb lsp-add mnet "$name" -- set Logical_Switch_Port "$name" \
	external_ids:\"kuryr:network\"=mnet external_ids:\"kuryr:device_owner\"=container \
	external_ids:\"kuryr:device_id\"=gone external_ids:\"kuryr:host\"="$NODE_CHASSIS_2"
before=$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:host\"=\"$NODE_CHASSIS_1\"" | sort | paste -sd' ')
mn_kuryrd_stop 2
check "node 2's kuryrd restarts" mn_kuryrd_start 2
gone=no
for _ in $(seq 50); do
	[ -z "$(mnb --bare --columns=name find Logical_Switch_Port name="$name")" ] && { gone=yes; break; }
	sleep 0.2
done
check_eq "node 2's kuryrd sweeps its own leftover port" yes "$gone"
check_eq "... and not one of node 1's" "$before" \
	"$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:host\"=\"$NODE_CHASSIS_1\"" | sort | paste -sd' ')"
check_eq "c2 (node 2) still reaches c1 and c3" "pass pass" \
	"$(eventually pass ping1 "$P-c2" "${IP[c1]}") $(ping1 "$P-c2" "${IP[c3]}")"

# ---- DEL, each on its node ----
for c in c1:1 c2:2 c3:3 c4:2; do
	SOCK=$T/k${c#*:}.sock cni DEL "$P-${c%:*}" eth0 "/run/netns/$P-${c%:*}" "$(SOCK=$T/k${c#*:}.sock netconf mnet)"
	check_eq "DEL ${c%:*} on node ${c#*:}" 0 "$RC"
done
for k in $(seq 30); do
	n=$(((k - 1) % 3 + 1))
	SOCK=$T/k$n.sock cni DEL "$P-b$k" eth0 "/run/netns/$P-b$k" "$(SOCK=$T/k$n.sock netconf mnet)"
done
check_eq "NB: no container port left" "" \
	"$(mnb --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_owner\"=container")"
check "network delete on node 3" mctl 3 network delete mnet
for i in 1 2 3; do
	mn_kuryrd_stop "$i"
	check_eq "node $i's kuryrd exits cleanly on SIGTERM" 0 "$?"
done
_kpids=()
