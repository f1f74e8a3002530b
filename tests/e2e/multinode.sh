#!/bin/bash
# The multi-node testbed (scripts/multinode.sh): clustered NB and SB with a
# leader each, one active ovn-northd, three chassis. Two ports of one
# logical switch, on node1 and node2, exchange ICMP and TCP across the
# Geneve tunnel. The NB leader is killed: another is elected and takes
# writes, and the old one comes back with them. With the SB leader killed a
# port on node3 still comes up; a node's daemons are killed and started
# again and its port talks again. down leaves nothing of its own.
# No kuryrd here: the ports are plugged by hand.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, Open vSwitch)"
command -v ovs-vswitchd >/dev/null || skip_all "Open vSwitch is not installed (scripts/deps.sh)"
command -v ovn-northd >/dev/null || skip_all "OVN is not installed (scripts/deps.sh)"

MN=$SRC/scripts/multinode.sh
DIR=$T/mn

# logs_diag: the daemons' own account of a failure, while DIR is there.
logs_diag() {
	[ "$_failed" -gt 0 ] && [ -d "$DIR" ] || return 0
	for f in "$DIR"/central/*.log "$DIR"/node*/*.log; do
		grep -qE '\|(WARN|ERR|EMER)\|' "$f" || continue
		echo "# ${f#"$DIR"/} warnings and errors (last 8):"
		grep -E '\|(WARN|ERR|EMER)\|' "$f" | tail -n 8 | diag
	done
	for f in "$DIR"/node*/controller.log "$DIR"/central/northd*.log; do
		echo "# ${f#"$DIR"/} (last 8 lines):"
		tail -n 8 "$f" | diag
	done
}

finish() {
	local rc=$?
	for p in "${_probe_servers[@]}"; do kill "$p" 2>/dev/null; done
	logs_diag
	"$MN" down "$DIR" "$P" >/dev/null 2>&1
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
	rm -rf "$T"
	echo "1..$_n"
	[ "$_failed" -eq 0 ] && exit "$rc" || exit 1
}
trap finish EXIT

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
t0=$EPOCHREALTIME
if "$MN" up "$DIR" "$P" 3 >"$T/up.log" 2>&1; then
	ok "multinode.sh up: three nodes ($(since "$t0") s)"
else
	not_ok "multinode.sh up: three nodes"
	diag <"$T/up.log"
	exit 1
fi
# shellcheck source=/dev/null
. "$DIR/env"
NB_DB=$NB_SOCKETS # lib.sh's nbctl; TCP remotes only from inside the namespaces
sbctl() { ovn-sbctl --db="$SB_SOCKETS" --timeout=10 "$@"; }
# on_node NODE CMD...: CMD in node NODE's namespace.
on_node() {
	local v=NODE_NS_$1
	shift
	nsenter --net=/run/netns/"${!v}" "$@"
}
status_of() { ovs-appctl -t "$1" --timeout=5 cluster/status "$2" 2>&1; }

# ---- the clusters and northd ----
for db in NB SB; do
	name=OVN_Northbound
	[ $db = SB ] && name=OVN_Southbound
	members=0 leaders=0
	for m in 1 2 3; do
		ctl=${db}_CTL_$m
		s=$(status_of "${!ctl}" $name)
		grep -qx 'Status: cluster member' <<<"$s" && members=$((members + 1))
		grep -qx 'Role: leader' <<<"$s" && leaders=$((leaders + 1))
	done
	check_eq "$db: three cluster members, one leader" "3 1" "$members $leaders"
	servers=$(status_of "${!ctl}" $name | sed -n '/^Servers:/,$p' | grep -c '(.* at tcp:')
	check_eq "$db: the cluster has three servers" 3 "$servers"
done
check_eq "one ovn-northd active, the other standby" "active standby" \
	"$(for n in "$NORTHD_CTL_1" "$NORTHD_CTL_2"; do ovs-appctl -t "$n" status; done |
		sed 's/^Status: //' | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "SB has the three chassis" "$NODE_CHASSIS_1 $NODE_CHASSIS_2 $NODE_CHASSIS_3" \
	"$(sbctl --bare --columns=name list Chassis | grep . | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "... with Geneve tunnels from their underlay addresses" \
	"geneve $NODE_IP_1 geneve $NODE_IP_2 geneve $NODE_IP_3" \
	"$(sbctl --bare --format=csv --columns=type,ip list Encap | sort | tr ',\n' '  ' | sed 's/ $//')"

# ---- a logical switch across nodes ----
mac() { printf '0a:00:00:00:00:%02x' "$1"; }
# lsp_args I...: ovn-nbctl's arguments adding port cI of switch mn, in A.
lsp_args() {
	local i
	A=()
	for i; do A+=(-- lsp-add mn "c$i" -- lsp-set-addresses "c$i" "$(mac "$i") 10.231.0.$((10 + i))"); done
}
# ports_at SOCKET: the LSP names a member has itself, whether it leads or not.
ports_at() {
	ovn-nbctl --db="$1" --no-leader-only --timeout=5 --bare --columns=name list Logical_Switch_Port |
		grep . | sort | tr '\n' ' ' | sed 's/ $//'
}
IFS=, read -r -a nb_socks <<<"$NB_SOCKETS"
lsp_args 1 2
# Over TCP from node1, as a node's kuryrd would write NB.
check "NB takes a switch and two ports over TCP (leader-only, from node1)" \
	on_node 1 ovn-nbctl --db="$NB_REMOTES" --timeout=10 ls-add mn "${A[@]}"
for m in 1 2 3; do
	check_eq "NB member $m has both ports" "c1 c2" "$(eventually "c1 c2" ports_at "${nb_socks[m - 1]}")"
done

# plug I NODE: container c$I (netns $P-cI) on NODE's br-int, iface-id cI.
plug() {
	local ns=$P-c$1 db=NODE_OVS_DB_$2
	ip netns add "$ns" && ip -n "$ns" link set lo up &&
		on_node "$2" ip link add "c$1-h" type veth peer name eth0 netns "$ns" &&
		ip -n "$ns" link set eth0 address "$(mac "$1")" &&
		ip -n "$ns" addr add "10.231.0.$((10 + $1))/24" dev eth0 &&
		"$MN" tx-off "$ns" eth0 && ip -n "$ns" link set eth0 up && on_node "$2" ip link set "c$1-h" up &&
		ovs-vsctl --db="${!db}" --timeout=10 add-port br-int "c$1-h" \
			-- set Interface "c$1-h" external_ids:iface-id="c$1"
}
# bound_to PORT: the chassis its Port_Binding names.
bound_to() {
	local ch
	ch=$(sbctl --bare --columns=chassis find Port_Binding logical_port="$1")
	[ -n "$ch" ] && sbctl --bare --columns=name list Chassis "$ch"
}
lsp_up() { nbctl get Logical_Switch_Port "$1" up 2>&1; }

check "c1 plugged on node1" plug 1 1
check "c2 plugged on node2" plug 2 2
check_eq "c1's port comes up" true "$(eventually true lsp_up c1)"
check_eq "c2's port comes up" true "$(eventually true lsp_up c2)"
check_eq "c1 is bound to node1's chassis" "$NODE_CHASSIS_1" "$(bound_to c1)"
check_eq "c2 is bound to node2's chassis" "$NODE_CHASSIS_2" "$(bound_to c2)"
check_eq "c1 pings c2 across the tunnel" pass "$(eventually pass ping1 "$P-c1" 10.231.0.12)"
check "... and c2 pings c1" ip netns exec "$P-c2" busybox ping -c 3 -i 0.2 -W 2 10.231.0.11
serve "$P-c2" 5001
check_eq "c1 talks TCP to c2" open "$(tcp "$P-c1" 10.231.0.12 5001)"
check_eq "... and c2 saw c1's address" 10.231.0.11 "$(last_peer "$P-c2")"

# bulk NS IP PORT BYTES: BYTES sent over one TCP connection (many full
# segments, unlike tcp-probe.py's hello); the receiver prints how many came.
bulk() {
	ip netns exec "$1" timeout 10 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
n = int(sys.argv[3]); s.sendall(b"x" * n); s.shutdown(socket.SHUT_WR)
print(s.recv(64).decode())' "$2" "$3" "$4"
}
ip netns exec "$P-c2" timeout 60 python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5002)); s.listen(4); print("ready", flush=True)
while True:
    c, _ = s.accept(); n = 0
    while (b := c.recv(1 << 16)): n += len(b)
    c.sendall(str(n).encode()); c.close()' >"$T/sink" 2>&1 &
_probe_servers+=($!)
for _ in $(seq 50); do grep -q ready "$T/sink" && break; sleep 0.05; done
check_eq "c1 sends 4 MB over TCP to c2" 4000000 "$(bulk "$P-c1" 10.231.0.12 5002 4000000 2>&1)"

# ---- the NB leader dies ----
old=$("$MN" leader "$DIR" nb)
check "NB has a leader (member $old)" test -n "$old"
check "kill NB member $old" "$MN" kill "$DIR" nb "$old"
t0=$EPOCHREALTIME
new=
for _ in $(seq 100); do
	new=$("$MN" leader "$DIR" nb 2>/dev/null) && [ "$new" != "$old" ] && break
	new=
	sleep 0.1
done
check "another NB member leads ($new, $(since "$t0") s after the kill)" \
	test -n "$new"
lsp_args 3
check "NB takes a write over TCP with its old leader dead" \
	on_node 1 ovn-nbctl --db="$NB_REMOTES" --timeout=10 "${A[@]:1}"
check_eq "... the port is there" "c1 c2 c3" \
	"$(nbctl --bare --columns=name list Logical_Switch_Port | grep . | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "c1 still pings c2" pass "$(ping1 "$P-c1" 10.231.0.12)"
check "NB member $old starts again and rejoins" "$MN" start "$DIR" nb "$old"
check_eq "... and has the port written while it was dead" "c1 c2 c3" \
	"$(eventually "c1 c2 c3" ports_at "${nb_socks[old - 1]}")"
ctl=NB_CTL_$old
check_eq "... as a follower" "Role: follower" "$(status_of "${!ctl}" OVN_Northbound | grep '^Role:')"

# ---- the SB leader dies; a new port still comes up ----
old=$("$MN" leader "$DIR" sb)
check "kill SB member $old (the leader)" "$MN" kill "$DIR" sb "$old"
t0=$EPOCHREALTIME
check "c3 plugged on node3" plug 3 3
# Longer than eventually's 10 s: northd, its lock and its connection lost,
# goes through the members in turn with its reconnect backoff (up to 8 s
# between tries), and may reach the new leader only on a second round.
for _ in $(seq 120); do [ "$(lsp_up c3)" = true ] && break; sleep 0.25; done
check_eq "c3's port comes up without SB's old leader ($(since "$t0") s)" true "$(lsp_up c3)"
check_eq "c3 is bound to node3's chassis" "$NODE_CHASSIS_3" "$(bound_to c3)"
check_eq "c1 pings c3" pass "$(eventually pass ping1 "$P-c1" 10.231.0.13)"
check "SB member $old starts again and rejoins" "$MN" start "$DIR" sb "$old"

# ---- a node's daemons die ----
check "kill node2's ovn-controller, ovs-vswitchd and ovsdb-server" "$MN" kill-node "$DIR" 2
check_eq "c1 no longer reaches c2" drop "$(ping1 "$P-c1" 10.231.0.12)"
check "start node2's daemons again" "$MN" start-node "$DIR" 2
check_eq "c1 pings c2 again" pass "$(eventually pass ping1 "$P-c1" 10.231.0.12)"
check_eq "c2 is still bound to node2's chassis" "$NODE_CHASSIS_2" "$(bound_to c2)"
check_eq "c1 sends 4 MB over TCP to c2 again" 4000000 "$(bulk "$P-c1" 10.231.0.12 5002 4000000 2>&1)"

# ---- down ----
logs_diag
pids=$(cat "$DIR"/central/*.pid "$DIR"/node*/*.pid)
check "multinode.sh down" "$MN" down "$DIR" "$P"
left=
# A zombie is gone (nothing may have reaped it yet).
for p in $pids; do
	[ -r "/proc/$p/stat" ] && [ "$(awk '{print $3}' "/proc/$p/stat")" != Z ] && left+=" $p"
done
check_eq "no daemon left running" "" "$left"
check_eq "no central or node namespace left" "" \
	"$(ip netns list | awk '{print $1}' | grep -E "^$P-(central|node[0-9]+)\$")"
check_eq "... and the containers' namespaces are the test's to delete" "$P-c1 $P-c2 $P-c3" \
	"$(ip netns list | awk '{print $1}' | grep "^$P-c" | sort | tr '\n' ' ' | sed 's/ $//')"
check "DIR is removed" test ! -e "$DIR"
