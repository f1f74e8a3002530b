#!/bin/bash
# Neutron faults in the middle of ADD, against a real neutron-server (ML2/OVN):
# its database gone, refusing writes or slower than kuryrd's deadline, the
# project over its port quota, a port that never goes ACTIVE, neutron-server
# stopped after the port was made. Each ADD must end in the CNI error a
# runtime can act on, and leave nothing behind: no Neutron port, no veth, no
# OVS port, no attachment row — at once, or, when Neutron itself is down, as
# soon as it is back. (An unknown network is covered by neutron.sh.) Last,
# a Neutron that pages every listing by 2: kuryrd reads all its pages.
NEUTRON=true
BACKEND=neutron
PORT_UP_TIMEOUT=3
. "$(dirname "$0")/lib.sh"
. "$SRC/scripts/lib.sh"
env_up

# Daemons this test SIGSTOPs get SIGCONT on any exit, so teardown can stop them.
_stopped=()
freeze() {
	local pid
	pid=$(cat "$RUN/ovn/$1.pid") && kill -STOP "$pid" && _stopped+=("$pid")
}
thaw() { kill -CONT "$(cat "$RUN/ovn/$1.pid")"; }
faults_down() {
	local rc=$?
	for pid in "${_stopped[@]}"; do kill -CONT "$pid" 2>/dev/null; done
	(exit "$rc")
	env_down
}
trap faults_down EXIT

# nq METHOD PATH [BODY]: Neutron's JSON answer (noauth, inside the host netns).
nq() {
	hostns python3 -c '
import sys, urllib.request
body = sys.argv[3].encode() if len(sys.argv) > 3 else None
r = urllib.request.Request("http://127.0.0.1:19696/v2.0" + sys.argv[2], data=body,
                           method=sys.argv[1], headers={"Content-Type": "application/json"})
print(urllib.request.urlopen(r, timeout=10).read().decode() or "{}")' "$@" 2>/dev/null
}
kuryr_ports() { nq GET "/ports?device_owner=compute:kuryr&fields=id" | jq1 '["ports"].__len__()'; }
# neutron CMD [ARGS]: scripts/neutron.sh on this test's neutron-server.
neutron() { "$SRC/scripts/neutron.sh" "$1" "$RUN" "${@:2}" >>"$T/neutron.log" 2>&1; }
db_sql() { mariadb --no-defaults -S "$RUN/mysql/sock" -uroot neutron -e "$1"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
code() { echo "$RC $(jget '["code"]' 2>/dev/null)"; }

# Nothing left anywhere: no container port in Neutron (nor its
# Logical_Switch_Port in OVN), no veth, no OVS port, no row.
assert_none() {
	check_eq "$1: no compute:kuryr port left in Neutron" 0 "$(kuryr_ports)"
	assert_clean "$1"
}

# add_del WHAT: a plain ADD and DEL on the network work.
add_del() {
	cni ADD "$P-ok" eth0 "$NSPATH" "$C"
	check_eq "$1: ADD works" 0 "$RC"
	[ "$RC" = 0 ] || echo "$OUT" | diag
	cni DEL "$P-ok" eth0 "$NSPATH" "$C"
	check_eq "$1: DEL works" 0 "$RC"
}

check "kuryrctl creates a network in Neutron" ctl network create fnet --subnet 10.64.0.0/24
C=$(netconf fnet)
pod c1

# 1a. MariaDB stopped. neutron-server retries a lost database connection
# itself, for minutes (measured here: HTTP 500 after ~150 s), so kuryrd's
# own deadline for a Neutron request (10 s) ends the ADD first: the outage
# is transient, so "try again later".
neutron stop-db
t0=$(ms)
cni ADD "$P-db" eth0 "$NSPATH" "$C"
dt=$(($(ms) - t0))
check_eq "MariaDB stopped: error 11" "1 11" "$(code)"
check "... within kuryrd's Neutron deadline, not Neutron's own retries ($dt ms)" test "$dt" -lt 15000
echo "$OUT" | diag
check "MariaDB starts again" neutron start-db
assert_none "MariaDB stopped"
add_del "MariaDB back"

# 1b. The database refuses to write a port (as a read-only server would):
# Neutron answers the POST with HTTP 500 at once. Not known to be
# transient, and the POST is not retried: a backend error.
db_sql "CREATE TRIGGER kct_fault BEFORE INSERT ON ports FOR EACH ROW SIGNAL SQLSTATE 'HY000'
	SET MYSQL_ERRNO = 1290, MESSAGE_TEXT = 'The server is running with --read-only'"
t0=$(ms)
cni ADD "$P-ro" eth0 "$NSPATH" "$C"
dt=$(($(ms) - t0))
check_eq "Neutron answers the port POST with 500: error 102" "1 102" "$(code)"
check "... whose details carry Neutron's HTTP 500 ($dt ms)" grep -q 'POST /v2.0/ports: HTTP 500' <<<"$(jget '["details"]')"
echo "$OUT" | diag
assert_none "port POST answered 500"
db_sql "DROP TRIGGER kct_fault"
add_del "database writable again"

# 1c. Neutron slower than kuryrd's deadline: the database holds the port's
# INSERT for 12 s. kuryrd gives up on the POST after 10 s ("try again
# later") and rolls back by the port's name, finding nothing yet; Neutron
# then finishes the POST, and kuryrd's sweep for leftovers (every 10 s for
# a while after a create whose outcome was lost) deletes that port.
db_sql "CREATE TRIGGER kct_slow BEFORE INSERT ON ports FOR EACH ROW SET @x = SLEEP(12)"
t0=$(ms)
cni ADD "$P-slow" eth0 "$NSPATH" "$C"
dt=$(($(ms) - t0))
check_eq "port POST slower than kuryrd's deadline: error 11" "1 11" "$(code)"
check "... when the deadline passes ($dt ms)" test "$dt" -ge 10000 -a "$dt" -lt 15000
echo "$OUT" | diag
# DROP TRIGGER waits for Neutron's transaction, which holds the table.
db_sql "DROP TRIGGER kct_slow"
t0=$(ms)
while [ $(($(ms) - t0)) -lt 30000 ] && [ "$(kuryr_ports)" != 0 ]; do sleep 0.5; done
check_eq "... and the port Neutron made after kuryrd gave up is deleted ($(($(ms) - t0)) ms)" \
	0 "$(kuryr_ports)"
for id in $(nq GET "/ports?device_id=$P-slow&fields=id" | python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(sys.stdin)["ports"]))'); do
	nq DELETE "/ports/$id" >/dev/null
done
assert_none "port POST slower than the deadline"

# 2. Over quota: Neutron refuses the port with 409 OverQuota.
n=$(nq GET "/ports?project_id=kuryr-e2e&fields=id" | jq1 '["ports"].__len__()')
check_eq "the project's port quota is set to what it has ($n)" "$n" \
	"$(nq PUT /quotas/kuryr-e2e "{\"quota\":{\"port\":$n}}" | jq1 '["quota"]["port"]')"
cni ADD "$P-q" eth0 "$NSPATH" "$C"
check_eq "over quota: error 102" "1 102" "$(code)"
check "... saying quota exceeded" grep -qi 'quota' <<<"$(jget '["msg"]')"
echo "$OUT" | diag
assert_none "over quota"
check_eq "the quota raised" "$((n + 10))" \
	"$(nq PUT /quotas/kuryr-e2e "{\"quota\":{\"port\":$((n + 10))}}" | jq1 '["quota"]["port"]')"
add_del "under quota again"

# 4. ovn-northd frozen: the port never gets a Port_Binding, so OVN never
# installs it and Neutron never sees it ACTIVE. The ADD gives up after
# port_up_timeout (3 s) and rolls back, Neutron port included.
freeze northd
t0=$(ms)
cni ADD "$P-na" eth0 "$NSPATH" "$C"
dt=$(($(ms) - t0))
check_eq "port never up: error 11" "1 11" "$(code)"
check "... after port_up_timeout, not before, and not much after ($dt ms)" \
	test "$dt" -ge 3000 -a "$dt" -lt 9000
echo "$OUT" | diag
assert_none "port never up"
thaw northd
add_del "ovn-northd running again"

# 5. neutron-server stopped while the ADD waits for OVN (ovn-controller
# frozen). The ADD fails with "try again later"; the rollback cannot
# delete the Neutron port, so the row stays for the janitor, which
# finishes once Neutron is back.
stop_kuryrd
printf '[daemon]\nport_up_timeout = 30\n' >>"$T/kuryr.conf"
start_kuryrd
# ML2/OVN binds a port only to a chassis it sees alive (binding_failed
# otherwise), and a frozen ovn-controller stops answering its pings: freeze
# it only once Neutron has just seen it alive, so the binding happens
# while that view holds.
for _ in $(seq 100); do
	[ "$(nq GET /agents | python3 -c 'import json,sys; print(any(a["alive"] for a in json.load(sys.stdin)["agents"]))')" = True ] && break
	sleep 0.2
done
freeze controller
(
	cni ADD "$P-mid" eth0 "$NSPATH" "$C"
	echo "$RC" >"$T/mid.rc"
	echo "$OUT" >"$T/mid.out"
) &
mid=$!
# Plugged on br-int: the port POST has been answered, the ADD waits for OVN.
for _ in $(seq 100); do
	[ -n "$(vsctl list-ports br-int)" ] && break
	sleep 0.2
done
check_eq "the ADD has made its Neutron port and waits for OVN" "1 1" \
	"$(nq GET "/ports?device_id=$P-mid&fields=id" | jq1 '["ports"].__len__()') $(vsctl list-ports br-int | wc -l)"
check "neutron-server stops" neutron stop-server
thaw controller
wait "$mid"
RC=$(cat "$T/mid.rc")
OUT=$(cat "$T/mid.out")
check_eq "neutron-server stopped mid-ADD: error 11" "1 11" "$(code)"
echo "$OUT" | diag
check_eq "... no veth left" "" "$(ip -n "$HOSTNS" -o link show type veth)"
check_eq "... no port left on br-int" "" "$(vsctl list-ports br-int)"
check_eq "... the row stays: the Neutron port is not deleted yet" 1 \
	"$(store_sql 'select count(*) from attachments')"
cni ADD "$P-mid" eth0 "$NSPATH" "$C"
check_eq "the runtime's retry while Neutron is down: error 11" "1 11" "$(code)"
check_eq "... the earlier ADD's rollback still pending" 1 \
	"$(store_sql 'select count(*) from attachments')"
check "neutron-server starts again" neutron start-server "$HOSTNS" 19696
t0=$(ms)
# (A bound for a test, not a figure: under a loaded sanitizer run the
# first requests to a starting Neutron can take their whole 10 s.)
while [ $(($(ms) - t0)) -lt 60000 ]; do
	[ "$(kuryr_ports)" = 0 ] && [ "$(store_sql 'select count(*) from attachments')" = 0 ] && break
	sleep 0.2
done
dt=$(($(ms) - t0))
check "the janitor deletes the Neutron port and the row once Neutron is back ($dt ms)" \
	test "$dt" -lt 60000
assert_none "neutron-server back"
cni ADD "$P-mid" eth0 "$NSPATH" "$C"
check_eq "the runtime's retry with the same container and ifname succeeds" 0 "$RC"
[ "$RC" = 0 ] || echo "$OUT" | diag
check_eq "... on an ACTIVE Neutron port" ACTIVE \
	"$(nq GET "/ports?device_id=$P-mid" | jq1 '["ports"][0]["status"]')"
cni DEL "$P-mid" eth0 "$NSPATH" "$C"
check_eq "DEL of the retried ADD" 0 "$RC"
assert_none "after all faults"

# 6. A Neutron that caps every page of a listing at 2 items
# (pagination_max_limit), below what kuryrd asks for: kuryrd follows its
# "next" links, so its sweep at start finds all five leftover ports of this
# node, not only the first page's two.
stop_kuryrd
neutron stop-server
NEUTRON_CONF_EXTRA=$'[DEFAULT]\npagination_max_limit = 2' neutron start-server "$HOSTNS" 19696
HOST=kuryr-$(hostname)-$HOSTNS
net_id=$(nq GET "/networks?name=fnet" | jq1 '["networks"][0]["id"]')
left=()
for i in 1 2 3 4 5; do
	left+=("$(nq POST /ports "{\"port\":{\"network_id\":\"$net_id\",\"project_id\":\"kuryr-e2e\",\"device_owner\":\"compute:kuryr\",\"device_id\":\"gone-$i\",\"binding:host_id\":\"$HOST\"}}" | jq1 '["port"]["id"]')")
done
check_eq "Neutron now pages by 2" 2 "$(nq GET "/ports?device_owner=compute:kuryr&fields=id" | jq1 '["ports"].__len__()')"
start_kuryrd
remaining() {
	local n=0
	for id in "${left[@]}"; do n=$((n + $(nq GET "/ports?id=$id&fields=id" | jq1 '["ports"].__len__()'))); done
	echo "$n"
}
for _ in $(seq 100); do
	[ "$(remaining)" = 0 ] && break
	sleep 0.2
done
check_eq "kuryrd's sweep deletes all five leftovers across three pages" 0 "$(remaining)"
