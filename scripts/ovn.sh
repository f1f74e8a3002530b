#!/bin/bash
# Start or stop a private Open vSwitch (userspace datapath) and a one-node
# OVN (NB, SB, northd, ovn-controller), without systemd.
#
#   scripts/ovn.sh up    DIR [NETNS]          start all; DIR holds dbs, sockets, logs
#   scripts/ovn.sh down  DIR [NETNS]          stop all by pid file, remove DIR
#   scripts/ovn.sh stop  DIR NETNS DAEMON     stop one daemon (ovsdb: the switch's
#   scripts/ovn.sh start DIR NETNS DAEMON     database, nb, sb, northd, controller);
#                                             start it again
#
# With NETNS ("" for none) every daemon runs inside that network namespace,
# so the bridge and its devices never touch the host's. Sockets:
# DIR/ovs/db.sock, DIR/ovn/nb.sock, DIR/ovn/sb.sock. Bridge: br-int
# (datapath_type=netdev: no kernel module needed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

cmd=${1:-}
D=${2:-/run/kuryr-c}
NS=${3:-}
O=$D/ovs
N=$D/ovn
export OVS_RUNDIR=$O OVS_LOGDIR=$O OVS_DBDIR=$O OVN_RUNDIR=$N OVN_LOGDIR=$N OVN_DBDIR=$N
Q="-vconsole:off -vfile:info"

vsctl() { ovs-vsctl --db=unix:"$O/db.sock" --timeout=10 "$@"; }
sysid() { echo "kuryr-$(hostname)${NS:+-$NS}"; }

start_one() {
	case "$1" in
	ovsdb)
		run ovsdb-server "$O/conf.db" --remote=punix:"$O/db.sock" \
			--pidfile="$O/ovsdb-server.pid" --unixctl="$O/ovsdb-server.ctl" \
			--log-file="$O/ovsdb-server.log" --detach $Q
		;;
	nb | sb)
		run ovsdb-server "$N/$1.db" --remote=punix:"$N/$1.sock" --pidfile="$N/$1.pid" \
			--unixctl="$N/$1.ctl" --log-file="$N/$1.log" --detach $Q
		;;
	northd)
		run ovn-northd --ovnnb-db=unix:"$N/nb.sock" --ovnsb-db=unix:"$N/sb.sock" \
			--pidfile="$N/northd.pid" --unixctl="$N/northd.ctl" \
			--log-file="$N/northd.log" --detach $Q
		;;
	controller)
		run ovn-controller unix:"$O/db.sock" --pidfile="$N/controller.pid" \
			--log-file="$N/controller.log" --detach $Q
		;;
	*)
		echo "ovn.sh: unknown daemon $1" >&2
		exit 2
		;;
	esac
}



case "$cmd" in
up)
	mkdir -p "$O" "$N"
	ovsdb-tool create "$O/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	start_one ovsdb
	vsctl --no-wait init
	# The netdev datapath sends TCP with bad checksums over veth unless
	# TSO is on, and it must be set before ovs-vswitchd starts.
	vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
	# --monitor, as ovs-ctl starts it: a crash (Debian 12's 3.1.0 userspace
	# conntrack can abort on an assertion under long-lived traffic) restarts
	# it, and ovn-controller installs the flows again. The log keeps an ERR
	# line for every crash; the pid file names the running daemon.
	run ovs-vswitchd unix:"$O/db.sock" --pidfile="$O/ovs-vswitchd.pid" \
		--unixctl="$O/ovs-vswitchd.ctl" --log-file="$O/ovs-vswitchd.log" --monitor --detach $Q
	vsctl add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure \
		other_config:disable-in-band=true
	# ovs-vsctl only warns when the datapath cannot make the bridge (e.g. a
	# br-int of another OVS in the same namespace); then it has no OpenFlow
	# port (a working bridge's own port is 65534).
	[ "$(vsctl get Interface br-int ofport)" = 65534 ] || {
		echo "ovn.sh: br-int could not be set up (see $O/ovs-vswitchd.log)" >&2
		exit 1
	}
	for db in nb sb; do
		ovsdb-tool create "$N/$db.db" /usr/share/ovn/ovn-$db.ovsschema
		start_one $db
	done
	start_one northd
	vsctl set Open_vSwitch . external_ids:system-id="$(sysid)" \
		external_ids:hostname="$(sysid)" external_ids:ovn-remote=unix:"$N/sb.sock" \
		external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip=127.0.0.1 \
		external_ids:ovn-bridge-datapath-type=netdev
	start_one controller
	# Ready when the chassis has registered in SB.
	for _ in $(seq 200); do
		ovn-sbctl --db=unix:"$N/sb.sock" --timeout=2 --bare --columns=name list Chassis \
			2>/dev/null | grep -qx "$(sysid)" && exit 0
		sleep 0.05
	done
	echo "ovn.sh: ovn-controller did not register within 10 s (logs in $N)" >&2
	exit 1
	;;
down)
	stop_pid "$N/controller.pid"
	# The userspace datapath's devices (each bridge's tap, ovs-netdev)
	# outlive ovs-vswitchd: take the bridges and the datapath down first.
	if [ -S "$O/db.sock" ] && [ -f "$O/ovs-vswitchd.pid" ]; then
		for br in $(vsctl list-br 2>/dev/null); do vsctl --if-exists del-br "$br" || true; done
		ovs-appctl -t "$O/ovs-vswitchd.ctl" dpctl/del-dp netdev@ovs-netdev >/dev/null 2>&1 || true
	fi
	for p in ovn/northd ovn/nb ovn/sb ovs/ovs-vswitchd ovs/ovsdb-server; do
		stop_pid "$D/$p.pid"
	done
	rm -rf "$D"
	;;
stop)
	if [ "${4:?daemon}" = ovsdb ]; then stop_pid "$O/ovsdb-server.pid"; else stop_pid "$N/$4.pid"; fi
	;;
start)
	start_one "${4:?daemon}"
	;;
*)
	echo "usage: $0 up|down DIR [NETNS] | stop|start DIR NETNS DAEMON" >&2
	exit 2
	;;
esac
