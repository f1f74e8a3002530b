#!/bin/bash
# Start or stop a multi-node OVN on one machine, without systemd: a
# clustered Northbound and Southbound (RAFT, three members each) and two
# ovn-northd (active/standby) in one network namespace, and NODES nodes,
# each in its own namespace with a private Open vSwitch (userspace
# datapath) and ovn-controller, the nodes joined by Geneve over a veth
# underlay. Nothing touches the root namespace.
#
#   scripts/multinode.sh up DIR PREFIX [NODES]   start all (NODES: 3); DIR holds
#                                                dbs, sockets, logs and DIR/env
#   scripts/multinode.sh down DIR PREFIX         stop all by pid file, delete the
#                                                namespaces PREFIX-central and
#                                                PREFIX-nodeN, remove DIR
#   scripts/multinode.sh kill  DIR nb|sb MEMBER  SIGKILL cluster member MEMBER (1-3)
#   scripts/multinode.sh start DIR nb|sb MEMBER  start it again on its database
#                                                file; returns once it has rejoined
#   scripts/multinode.sh leader DIR nb|sb        print the member leading now
#   scripts/multinode.sh kill-node  DIR I        SIGKILL node I's ovn-controller,
#                                                ovs-vswitchd and ovsdb-server
#   scripts/multinode.sh start-node DIR I        start them again on the node's
#                                                conf.db (bridges and ports with it)
#   scripts/multinode.sh tx-off NETNS IFACE      turn off IFACE's checksum and
#                                                segmentation offloads (below)
#
# PREFIX-central: the underlay, Linux bridge br-ul with 192.168.250.1/24 and
# one veth per node; the cluster members, member M of NB serving clients on
# tcp:192.168.250.1:6639+2M (6641, 6643, 6645) and RAFT on 6650+M, of SB
# on 6640+2M (6642, 6644, 6646) and 6660+M; ovn-northd 1 and 2, both given
# all members, one active through the database lock.
# PREFIX-nodeI: the underlay veth ul0 on OVS bridge br-phy, which holds the
# node's address 192.168.250.(10+I) (the userspace datapath's tunnels need
# their route and ARP through an OVS bridge); br-int; ovn-controller, chassis
# PREFIX-nodeI, tunnels from that address, SB by all three members.
#
# DIR/env, written first (so that down and the other commands work after a
# partial up), sourceable: NB_REMOTES and SB_REMOTES (the members' TCP
# remotes, comma-separated, as ovn-nbctl --db and ovn-remote take them;
# 192.168.250.0/24 exists only inside these namespaces, so use them from
# inside one: outside, the address is routed elsewhere), NB_SOCKETS and
# SB_SOCKETS (the same members by unix socket, from anywhere), NB_REMOTE_M,
# SB_REMOTE_M, NB_CTL_M and SB_CTL_M (member M's unixctl socket),
# NORTHD_CTL_1 and _2, CENTRAL_NS, NODES, and per node I: NODE_NS_I,
# NODE_OVS_DB_I (unix:PATH of its ovsdb-server), NODE_CHASSIS_I, NODE_IP_I.
# A container of node I is a veth with one end on br-int (external_ids:
# iface-id = the logical port) and the other in the container's namespace;
# for TCP through the userspace tunnels its end must not offload checksums
# (ethtool -K eth0 tx off, or tx-off here): the datapath encapsulates the
# packet with its TCP checksum still to be filled in, and the far end
# drops it (ping works regardless).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cmd=${1:-}
D=${2:+$(realpath -m "$2")}
C=$D/central
UL=192.168.250 # the underlay: .1 central, .(10+I) node I
CIP=$UL.1
Q="-vconsole:off -vfile:info"

usage() {
	echo "usage: $0 up DIR PREFIX [NODES] | down DIR PREFIX | kill|start DIR nb|sb MEMBER" \
		"| leader DIR nb|sb | kill-node|start-node DIR NODE | tx-off NETNS IFACE" >&2
	exit 2
}

client_port() { if [ "$1" = nb ]; then echo $((6639 + 2 * $2)); else echo $((6640 + 2 * $2)); fi; }
raft_port() { if [ "$1" = nb ]; then echo $((6650 + $2)); else echo $((6660 + $2)); fi; }
schema_name() { if [ "$1" = nb ]; then echo OVN_Northbound; else echo OVN_Southbound; fi; }
remotes() {
	local m s=
	for m in 1 2 3; do s+=${s:+,}tcp:$CIP:$(client_port "$1" "$m"); done
	echo "$s"
}
sockets() {
	local m s=
	for m in 1 2 3; do s+=${s:+,}unix:$C/$1$m.sock; done
	echo "$s"
}

write_env() {
	local m i
	{
		# Quoted for the shell (no value holds a quote).
		printf "%s='%s'\n" PREFIX "$PREFIX" NODES "$NODES" CENTRAL_NS "$PREFIX-central" \
			NB_REMOTES "$(remotes nb)" SB_REMOTES "$(remotes sb)" \
			NB_SOCKETS "$(sockets nb)" SB_SOCKETS "$(sockets sb)" \
			NORTHD_CTL_1 "$C/northd1.ctl" NORTHD_CTL_2 "$C/northd2.ctl"
		for m in 1 2 3; do
			printf "%s='%s'\n" "NB_REMOTE_$m" "tcp:$CIP:$(client_port nb $m)" \
				"SB_REMOTE_$m" "tcp:$CIP:$(client_port sb $m)" \
				"NB_CTL_$m" "$C/nb$m.ctl" "SB_CTL_$m" "$C/sb$m.ctl"
		done
		for i in $(seq "$NODES"); do
			printf "%s='%s'\n" "NODE_NS_$i" "$PREFIX-node$i" \
				"NODE_OVS_DB_$i" "unix:$D/node$i/db.sock" \
				"NODE_CHASSIS_$i" "$PREFIX-node$i" "NODE_IP_$i" "$UL.$((10 + i))"
		done
	} >"$D/env"
}

load_env() {
	[ -f "$D/env" ] || { echo "multinode.sh: no $D/env (not up?)" >&2; exit 1; }
	# shellcheck source=/dev/null
	. "$D/env"
}

# ---- the cluster members and northd, in $CENTRAL_NS ----

member_start() {
	local db=$1 m=$2
	NS=$CENTRAL_NS run ovsdb-server "$C/$db$m.db" --remote=punix:"$C/$db$m.sock" \
		--remote=ptcp:"$(client_port "$db" "$m")":$CIP --pidfile="$C/$db$m.pid" \
		--unixctl="$C/$db$m.ctl" $Q --log-file="$C/$db$m.log" --detach
}

# member_create DB M: member 1 creates the cluster, the others join it.
member_create() {
	local db=$1 m=$2 local_addr others=() k
	local_addr=tcp:$CIP:$(raft_port "$db" "$m")
	if [ "$m" = 1 ]; then
		ovsdb-tool create-cluster "$C/${db}1.db" /usr/share/ovn/ovn-$db.ovsschema "$local_addr"
	else
		for k in $(seq $((m - 1))); do others+=("tcp:$CIP:$(raft_port "$db" "$k")"); done
		ovsdb-tool join-cluster "$C/$db$m.db" "$(schema_name "$db")" "$local_addr" "${others[@]}"
	fi
}

# cluster_status DB M: member M's own account (Status, Role, Leader, ...).
cluster_status() {
	ovs-appctl -t "$C/$1$2.ctl" --timeout=2 cluster/status "$(schema_name "$1")" 2>/dev/null
}

leader() {
	local m
	for m in 1 2 3; do
		cluster_status "$1" "$m" | grep -qx 'Role: leader' && { echo "$m"; return 0; }
	done
	return 1
}

# wait_member DB M: until member M is a cluster member that knows a leader.
wait_member() {
	local s
	for _ in $(seq 200); do
		s=$(cluster_status "$1" "$2") || s=
		grep -qx 'Status: cluster member' <<<"$s" && grep -q '^Leader: ' <<<"$s" &&
			! grep -qx 'Leader: unknown' <<<"$s" && return 0
		sleep 0.05
	done
	echo "multinode.sh: $1 member $2 did not join a cluster with a leader within 10 s" \
		"(log: $C/$1$2.log)" >&2
	return 1
}

northd_start() {
	NS=$CENTRAL_NS run ovn-northd --ovnnb-db="$NB_REMOTES" --ovnsb-db="$SB_REMOTES" \
		--pidfile="$C/northd$1.pid" --unixctl="$C/northd$1.ctl" \
		$Q --log-file="$C/northd$1.log" --detach
}

wait_northd() {
	local s
	for _ in $(seq 200); do
		s=$(for n in 1 2; do ovs-appctl -t "$C/northd$n.ctl" --timeout=2 status 2>/dev/null; done)
		[ "$(sort <<<"$s" | tr '\n' ' ')" = "Status: active Status: standby " ] && return 0
		sleep 0.05
	done
	echo "multinode.sh: no active and standby ovn-northd within 10 s ($s)" >&2
	return 1
}

central_up() {
	local ns=$CENTRAL_NS db m
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add br-ul mtu 9000 type bridge
	ip -n "$ns" addr add $CIP/24 dev br-ul
	ip -n "$ns" link set br-ul up
	export OVS_RUNDIR=$C OVS_LOGDIR=$C OVS_DBDIR=$C OVN_RUNDIR=$C OVN_LOGDIR=$C OVN_DBDIR=$C
	for db in nb sb; do
		for m in 1 2 3; do
			member_create $db $m
			member_start $db $m
		done
	done
	northd_start 1
	northd_start 2
}

# ---- the nodes ----

node_dir() { echo "$D/node$1"; }
node_ns() { local v=NODE_NS_$1; echo "${!v}"; }
nvsctl() {
	local i=$1
	shift
	ovs-vsctl --db=unix:"$(node_dir "$i")/db.sock" --timeout=10 "$@"
}

# node_start I ovsdb|vswitchd|controller
node_start() {
	local i=$1 n ns
	n=$(node_dir "$i")
	ns=$(node_ns "$i")
	# ovn-controller 23.03 has no --unixctl: its socket is OVN_RUNDIR's.
	export OVS_RUNDIR=$n OVS_LOGDIR=$n OVS_DBDIR=$n OVN_RUNDIR=$n OVN_LOGDIR=$n OVN_DBDIR=$n
	case $2 in
	ovsdb)
		NS=$ns run ovsdb-server "$n/conf.db" --remote=punix:"$n/db.sock" \
			--pidfile="$n/ovsdb-server.pid" --unixctl="$n/ovsdb-server.ctl" \
			$Q --log-file="$n/ovsdb-server.log" --detach
		;;
	vswitchd)
		# --monitor, as in scripts/ovn.sh; a SIGKILL (kill-node) is
		# not restarted.
		NS=$ns run ovs-vswitchd unix:"$n/db.sock" --pidfile="$n/ovs-vswitchd.pid" \
			--unixctl="$n/ovs-vswitchd.ctl" $Q --log-file="$n/ovs-vswitchd.log" \
			--monitor --detach
		;;
	controller)
		NS=$ns run ovn-controller unix:"$n/db.sock" --pidfile="$n/controller.pid" \
			$Q --log-file="$n/controller.log" --detach
		;;
	esac
}

node_up() {
	local i=$1 n ns ip
	n=$(node_dir "$i")
	ns=$(node_ns "$i")
	ip=$UL.$((10 + i))
	mkdir -p "$n"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add ul0 mtu 9000 type veth peer name "ul$i" mtu 9000 netns "$CENTRAL_NS"
	ip -n "$CENTRAL_NS" link set "ul$i" master br-ul up
	ip -n "$ns" link set ul0 up
	ovsdb-tool create "$n/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	node_start "$i" ovsdb
	nvsctl "$i" --no-wait init
	# Before ovs-vswitchd starts: without TSO the userspace datapath
	# hands TCP from the underlay veth (ovn-controller's to SB) to
	# br-phy's tap with partial checksums, and the kernel drops it.
	nvsctl "$i" --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
	node_start "$i" vswitchd
	nvsctl "$i" add-br br-phy -- set bridge br-phy datapath_type=netdev \
		-- set Interface br-phy mtu_request=9000 -- add-port br-phy ul0
	ip -n "$ns" addr add "$ip/24" dev br-phy
	ip -n "$ns" link set br-phy up
	nvsctl "$i" add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure \
		other_config:disable-in-band=true
	[ "$(nvsctl "$i" get Interface br-int ofport)" = 65534 ] || {
		echo "multinode.sh: node $i's br-int could not be set up (see $n/ovs-vswitchd.log)" >&2
		return 1
	}
	nvsctl "$i" set Open_vSwitch . external_ids:system-id="$ns" external_ids:hostname="$ns" \
		external_ids:ovn-remote="$SB_REMOTES" external_ids:ovn-encap-type=geneve \
		external_ids:ovn-encap-ip="$ip" external_ids:ovn-bridge-datapath-type=netdev
	node_start "$i" controller
}

# wait_chassis NAME...: until exactly these chassis are in SB (asked of its leader).
wait_chassis() {
	local want got
	want=$(printf '%s\n' "$@" | sort)
	for _ in $(seq 300); do
		got=$(ovn-sbctl --db="$SB_SOCKETS" --timeout=2 --bare --columns=name list Chassis \
			2>/dev/null | grep . | sort) || got=
		[ "$got" = "$want" ] && return 0
		sleep 0.05
	done
	echo "multinode.sh: chassis in SB after 15 s: ${got//$'\n'/ } (want ${want//$'\n'/ })" >&2
	return 1
}

# kill9 PIDFILE: SIGKILL, wait until gone.
kill9() {
	local pid
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill -9 "$pid" 2>/dev/null || true
	for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
	rm -f "$1"
}

node_down() {
	local n=$1
	stop_pid "$n/controller.pid"
	# The userspace datapath's devices (each bridge's tap, ovs-netdev)
	# outlive ovs-vswitchd: take the bridges and the datapath down first.
	if [ -S "$n/db.sock" ] && [ -f "$n/ovs-vswitchd.pid" ] && alive "$(cat "$n/ovs-vswitchd.pid")"; then
		for br in $(ovs-vsctl --db=unix:"$n/db.sock" --timeout=5 list-br 2>/dev/null); do
			ovs-vsctl --db=unix:"$n/db.sock" --timeout=5 --if-exists del-br "$br" || true
		done
		ovs-appctl -t "$n/ovs-vswitchd.ctl" dpctl/del-dp netdev@ovs-netdev >/dev/null 2>&1 || true
	fi
	stop_pid "$n/ovs-vswitchd.pid"
	stop_pid "$n/ovsdb-server.pid"
}

# tx_off IFACE (in $NS): what ethtool -K IFACE tx off tso off gso off does,
# by the ethtool ioctl (no ethtool needed).
tx_off() {
	run python3 - "$1" <<-'PY'
		import array, fcntl, socket, struct, sys
		SIOCETHTOOL = 0x8946
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		# ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, each with data 0
		for cmd in (0x17, 0x1F, 0x24):
		    v = array.array("I", [cmd, 0])
		    ifr = struct.pack("16sP", sys.argv[1].encode(), v.buffer_info()[0])
		    fcntl.ioctl(s, SIOCETHTOOL, ifr.ljust(40, b"\0"))
	PY
}

db_arg() { case ${1:-} in nb | sb) echo "$1" ;; *) usage ;; esac; }
member_arg() { case ${1:-} in 1 | 2 | 3) echo "$1" ;; *) usage ;; esac; }
node_arg() {
	[[ ${1:-} =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$NODES" ] || usage
	echo "$1"
}

if [ "$cmd" = tx-off ]; then
	[ -n "${2:-}" ] && [ -n "${3:-}" ] || usage
	NS=$2 tx_off "$3"
	exit
fi
[ -n "$D" ] || usage
case "$cmd" in
up)
	PREFIX=${3:-}
	NODES=${4:-3}
	[ -n "$PREFIX" ] || usage
	[[ $NODES =~ ^[0-9]+$ ]] && [ "$NODES" -ge 1 ] && [ "$NODES" -le 200 ] || usage
	mkdir -p "$C"
	write_env
	load_env
	central_up
	for i in $(seq "$NODES"); do node_up "$i"; done
	for db in nb sb; do for m in 1 2 3; do wait_member $db $m; done; done
	wait_northd
	chassis=()
	for i in $(seq "$NODES"); do v=NODE_CHASSIS_$i; chassis+=("${!v}"); done
	wait_chassis "${chassis[@]}"
	echo "up: NB $NB_REMOTES, SB $SB_REMOTES, chassis ${chassis[*]} (env: $D/env)"
	;;
down)
	PREFIX=${3:-}
	[ -n "$PREFIX" ] || usage
	for n in "$D"/node*; do if [ -d "$n" ]; then node_down "$n"; fi; done
	for p in northd1 northd2 nb1 nb2 nb3 sb1 sb2 sb3; do stop_pid "$C/$p.pid"; done
	for ns in $(ip netns list | awk '{print $1}' | grep -E "^$PREFIX-(central|node[0-9]+)\$"); do
		ip netns del "$ns"
	done
	rm -rf "$D"
	;;
kill)
	load_env
	kill9 "$C/$(db_arg "${3:-}")$(member_arg "${4:-}").pid"
	;;
start)
	load_env
	db=$(db_arg "${3:-}")
	m=$(member_arg "${4:-}")
	export OVS_RUNDIR=$C OVS_LOGDIR=$C OVS_DBDIR=$C OVN_RUNDIR=$C OVN_LOGDIR=$C OVN_DBDIR=$C
	member_start "$db" "$m"
	wait_member "$db" "$m"
	;;
leader)
	load_env
	leader "$(db_arg "${3:-}")" || { echo "multinode.sh: no ${3} leader" >&2; exit 1; }
	;;
kill-node)
	load_env
	i=$(node_arg "${3:-}")
	n=$(node_dir "$i")
	# The vswitchd monitor does not restart a daemon killed by SIGKILL.
	for p in controller ovs-vswitchd ovsdb-server; do kill9 "$n/$p.pid"; done
	;;
start-node)
	load_env
	i=$(node_arg "${3:-}")
	n=$(node_dir "$i")
	node_start "$i" ovsdb
	node_start "$i" vswitchd
	nvsctl "$i" wait-until Interface br-int ofport=65534
	# br-phy's tap outlives ovs-vswitchd, and its address with it; make
	# sure of both.
	ip -n "$(node_ns "$i")" addr replace "$UL.$((10 + i))/24" dev br-phy
	ip -n "$(node_ns "$i")" link set br-phy up
	node_start "$i" controller
	for _ in $(seq 200); do
		ovs-appctl -t "$n/ovn-controller.$(cat "$n/controller.pid").ctl" --timeout=2 \
			connection-status 2>/dev/null | grep -qx connected && exit 0
		sleep 0.05
	done
	echo "multinode.sh: node $i's ovn-controller did not connect to SB within 10 s" >&2
	exit 1
	;;
*)
	usage
	;;
esac
