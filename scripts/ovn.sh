#!/bin/bash
# Start or stop a private Open vSwitch (userspace datapath) and a one-node
# OVN (NB, SB, northd, ovn-controller), without systemd.
#
#   scripts/ovn.sh up   DIR [NETNS]   start; DIR holds sockets, dbs, logs, pids
#   scripts/ovn.sh down DIR [NETNS]   stop by pid file, remove DIR
#
# With NETNS every daemon runs inside that network namespace, so the bridge
# and its devices never touch the host's. Sockets: DIR/ovs/db.sock,
# DIR/ovn/nb.sock, DIR/ovn/sb.sock. Bridge: br-int (datapath_type=netdev).
set -euo pipefail

cmd=${1:-}
D=${2:-/run/kuryr-c}
NS=${3:-}
# nsenter switches only the network namespace (ip netns exec would also
# give the daemon a private mount namespace).
run() { if [ -n "$NS" ]; then nsenter --net=/run/netns/"$NS" "$@"; else "$@"; fi; }

case "$cmd" in
up)
	mkdir -p "$D/ovs" "$D/ovn"
	O=$D/ovs N=$D/ovn
	export OVS_RUNDIR=$O OVS_LOGDIR=$O OVS_DBDIR=$O OVN_RUNDIR=$N OVN_LOGDIR=$N OVN_DBDIR=$N
	Q="-vconsole:off -vfile:info"
	ovsdb-tool create "$O/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	run ovsdb-server "$O/conf.db" --remote=punix:"$O/db.sock" --pidfile="$O/ovsdb-server.pid" \
		--unixctl="$O/ovsdb-server.ctl" --log-file="$O/ovsdb-server.log" --detach $Q
	vsctl() { ovs-vsctl --db=unix:"$O/db.sock" "$@"; }
	vsctl --no-wait init
	# The netdev datapath sends TCP with bad checksums over veth unless
	# TSO is on, and it must be set before ovs-vswitchd starts.
	vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
	run ovs-vswitchd unix:"$O/db.sock" --pidfile="$O/ovs-vswitchd.pid" \
		--unixctl="$O/ovs-vswitchd.ctl" --log-file="$O/ovs-vswitchd.log" --detach $Q
	vsctl add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure \
		other_config:disable-in-band=true
	for db in nb sb; do
		ovsdb-tool create "$N/$db.db" /usr/share/ovn/ovn-$db.ovsschema
		run ovsdb-server "$N/$db.db" --remote=punix:"$N/$db.sock" --pidfile="$N/$db.pid" \
			--unixctl="$N/$db.ctl" --log-file="$N/$db.log" --detach $Q
	done
	run ovn-northd --ovnnb-db=unix:"$N/nb.sock" --ovnsb-db=unix:"$N/sb.sock" \
		--pidfile="$N/ovn-northd.pid" --unixctl="$N/ovn-northd.ctl" \
		--log-file="$N/ovn-northd.log" --detach $Q
	sysid=kuryr-$(hostname)${NS:+-$NS}
	vsctl set Open_vSwitch . external_ids:system-id="$sysid" \
		external_ids:hostname="$sysid" external_ids:ovn-remote=unix:"$N/sb.sock" \
		external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip=127.0.0.1 \
		external_ids:ovn-bridge-datapath-type=netdev
	run ovn-controller unix:"$O/db.sock" --pidfile="$N/ovn-controller.pid" \
		--log-file="$N/ovn-controller.log" --detach $Q
	# Ready when the chassis registered in SB.
	for _ in $(seq 100); do
		ovn-sbctl --db=unix:"$N/sb.sock" --timeout=2 --bare --columns=name list Chassis 2>/dev/null |
			grep -qx "$sysid" && exit 0
		sleep 0.05
	done
	echo "ovn.sh: ovn-controller did not register within 5 s (logs in $N)" >&2
	exit 1
	;;
down)
	for p in ovn/ovn-controller ovn/ovn-northd ovn/nb ovn/sb ovs/ovs-vswitchd ovs/ovsdb-server; do
		f=$D/$p.pid
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	# Wait for them to exit so nothing holds DIR or the netns.
	for p in ovn/ovn-controller ovn/ovn-northd ovn/nb ovn/sb ovs/ovs-vswitchd ovs/ovsdb-server; do
		f=$D/$p.pid
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -9 "$pid" 2>/dev/null || true
	done
	rm -rf "$D"
	;;
*)
	echo "usage: $0 up|down [DIR] [NETNS]" >&2
	exit 2
	;;
esac
