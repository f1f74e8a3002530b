#!/bin/bash
# kuryrd killed with SIGKILL in the middle of an ADD, then restarted: the
# half-done attachment is rolled back and nothing leaks, whichever step
# the ADD had reached. And ovs-vswitchd aborting as Debian 12's userspace
# conntrack has been seen to: it is restarted, and running containers
# reach each other again.
PORT_UP_TIMEOUT=30
. "$(dirname "$0")/lib.sh"
env_up
ctl network create net1 --subnet 10.79.0.0/24 >/dev/null
pod c1
NS1=$NSPATH
C=$(netconf net1)

# crash_at STATE DAEMON: stall ADD by stopping DAEMON, wait until the store
# row reaches STATE (0 intent, 2 plugged), SIGKILL kuryrd, restart all.
crash_at() {
	local state=$1 daemon=$2 reached=no
	"$SRC/scripts/ovn.sh" stop "$RUN" "$HOSTNS" "$daemon" 2>>"$T/ovn.log"
	( cni ADD "$P-a" eth0 "$NS1" "$C"; echo "$RC $(jget '["code"]')" >"$T/add.rc" ) &
	local addpid=$!
	for _ in $(seq 200); do
		[ "$(store_sql "select state from attachments where container_id='$P-a'" 2>/dev/null)" = "$state" ] &&
			{ reached=yes; break; }
		sleep 0.05
	done
	check_eq "ADD stalled at state $state with $daemon stopped" yes "$reached"
	[ "$state" = 2 ] && check "the veth existed before the crash" \
		test -n "$(ip -n "$HOSTNS" -o link show type veth)"
	[ "$state" = 0 ] && check "the OVN port existed before the crash" \
		test -n "$(nbctl --bare --columns=name list Logical_Switch_Port)"
	stop_kuryrd KILL
	wait "$addpid"
	check_eq "the runtime saw ADD fail with 'try again later' (11)" "1 11" \
		"$(cat "$T/add.rc")"
	"$SRC/scripts/ovn.sh" start "$RUN" "$HOSTNS" "$daemon" 2>>"$T/ovn.log"
	start_kuryrd
	assert_clean "restart after SIGKILL at state $state"
}

crash_at 2 controller  # veth plugged, waiting for ovn-installed
crash_at 0 northd      # OVN port created, waiting for its address

cni ADD "$P-a" eth0 "$NS1" "$C"
check_eq "ADD works after recovery" 0 "$RC"
IP1=$(jget '["ips"][0]["address"]')

# ---- the datapath aborts (SIGABRT, as an ovs_assert does) ----
pod c2
NS2=$NSPATH
cni ADD "$P-b" eth0 "$NS2" "$C"
check_eq "a second container is added" 0 "$RC"
IP2=$(jget '["ips"][0]["address"]')
check "c1 -> c2 before the abort" ip netns exec "$P-c1" busybox ping -c 1 -W 2 "${IP2%/*}"
VPID=$(cat "$RUN/ovs/ovs-vswitchd.pid")
kill -ABRT "$VPID"
back=no
for _ in $(seq 100); do
	new=$(cat "$RUN/ovs/ovs-vswitchd.pid" 2>/dev/null)
	[ -n "$new" ] && [ "$new" != "$VPID" ] && kill -0 "$new" 2>/dev/null && { back=yes; break; }
	sleep 0.1
done
check_eq "ovs-vswitchd is running again under a new pid" yes "$back"
reached=no
for _ in $(seq 30); do
	ip netns exec "$P-c2" busybox ping -c 1 -W 1 "${IP1%/*}" >/dev/null 2>&1 && { reached=yes; break; }
done
check_eq "c2 -> c1 again after the restart (flows installed anew)" yes "$reached"
check "c1 -> c2 after the restart" ip netns exec "$P-c1" busybox ping -c 1 -W 2 "${IP2%/*}"
pod c3
cni ADD "$P-c" eth0 "$NSPATH" "$C"
check_eq "ADD works after the datapath's restart" 0 "$RC"
for c in a:"$NS1" b:"$NS2" c:"$NSPATH"; do
	cni DEL "$P-${c%%:*}" eth0 "${c#*:}" "$C"
done
assert_clean "end"
