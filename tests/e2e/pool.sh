#!/bin/bash
# Port pools with pre-wired interfaces: populate, ADD from the pool (a
# passthru macvlan on a parked stub, created inside the pod), DEL handing
# the entry back, a burst that drains and refills the pool, and recovery
# after SIGKILL (intact entries adopted, orphans deleted).
POOLS=true
KURYR_CONF_EXTRA="[DEFAULT]
host = kct-node$$
[vif_pool]
prewire = true
ports_pool_min = 4
ports_pool_batch = 4
ports_pool_update_frequency = 1"
. "$(dirname "$0")/lib.sh"
NODE=kct-node$$
env_up
HOLD=$P-hold
ctl network create net1 --subnet 10.85.0.0/24 >/dev/null
C=$(netconf net1)

pool_field() { ctl -o json pool list --network net1 | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['$1'])"; }
stubs() { ip -n "$HOLD" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1 | sort; }
pool_lsps() { nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_owner\"=pool" | grep . | sort; }
# wait_for DESC CMD EXPECTED: poll up to 10 s until CMD prints EXPECTED.
wait_for() {
	local got
	for _ in $(seq 100); do
		got=$(eval "$2")
		[ "$got" = "$3" ] && break
		sleep 0.1
	done
	check_eq "$1" "$3" "$got"
}

wait_for "creating a network warms its pool to ports_pool_min without any ADD" \
	"pool_field ready 2>/dev/null" 4
check_eq "... and that counted no miss" 0 "$(pool_field misses)"
check "kuryrctl pool populate" ctl pool populate net1
check_eq "4 ready entries" 4 "$(pool_field ready)"
check_eq "OVN NB: 4 pool ports marked with this node" 4 \
	"$(nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=$NODE" | grep -c .)"
check_eq "holding netns: 4 stubs" 4 "$(stubs | grep -c .)"
lsp=$(pool_lsps | head -1)
check_eq "a stub carries its port's MAC" \
	"$(nbctl get Logical_Switch_Port "$lsp" dynamic_addresses | tr -d '"' | awk '{print $1}')" \
	"$(ip -n "$HOLD" -j link show "ks$(echo "$lsp" | tr -d - | cut -c1-12)" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')"
check_eq "OVSDB: every host end is installed by OVN" "true true true true" \
	"$(for p in $(pool_lsps); do vsctl get Interface "kc$(echo "$p" | tr -d - | cut -c1-12)" external_ids:ovn-installed | tr -d '"'; done | tr '\n' ' ' | sed 's/ $//')"

# ADD from the pool.
pod c1
N1=$NSPATH
cni ADD "$P-a" eth0 "$N1" "$C"
check_eq "ADD from the pool succeeds" 0 "$RC"
ip1=$(jget '["ips"][0]["address"]')
mac1=$(jget '["interfaces"][1]["mac"]')
check_eq "it was a pool hit" 1 "$(pool_field hits)"
check_eq "eth0 in the pod is a passthru macvlan" "macvlan passthru" \
	"$(ip -n "$P-c1" -d -j link show eth0 | python3 -c 'import json,sys; l=json.load(sys.stdin)[0]["linkinfo"]; print(l["info_kind"], l["info_data"]["mode"])')"
check_eq "eth0 has the pool port's MAC and address" "$mac1 $ip1" \
	"$(ip -n "$P-c1" -j link show eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])') $(ip -n "$P-c1" -o -4 addr show dev eth0 | awk '{print $4}')"
port1=$(store_sql "select port from attachments where container_id='$P-a'")
check_eq "OVN NB: the port's security is that MAC and IP" "$mac1 ${ip1%/*}" \
	"$(nbctl get Logical_Switch_Port "$port1" port_security | tr -d '[]"')"
check_eq "kuryrctl port list shows the pool port in use by the container" "container $P-a eth0" \
	"$(ctl -o json port list --network net1 | python3 -c "import json,sys; p=[x for x in json.load(sys.stdin) if x['name']=='$port1'][0]; print(p['owner'], p['device_id'], p['ifname'])")"
check_eq "store: pre-wired attachment" "2 3" \
	"$(store_sql "select pooled, state from attachments where container_id='$P-a'" | tr '|' ' ')"
# A container from the miss path (a requested address bypasses the pool).
pod c2
cni ADD "$P-b" eth0 "$NSPATH" "$(netconf net1 1.1.0 '"runtimeConfig":{"ips":["10.85.0.200/24"]}')"
check_eq "ADD with a requested IP (no pool) succeeds" 0 "$RC"
check "pool container reaches the veth container" ip netns exec "$P-c1" busybox ping -c 1 -W 2 10.85.0.200
check "veth container reaches the pool container" ip netns exec "$P-c2" busybox ping -c 1 -W 2 "${ip1%/*}"
ip netns exec "$P-c1" timeout 10 busybox nc -l -p 5556 >"$T/tcp.out" &
ncpid=$!
sleep 0.2
echo "via-prewired" | ip netns exec "$P-c2" busybox nc -w 2 "${ip1%/*}" 5556
wait "$ncpid"
check_eq "TCP into the pool container" "via-prewired" "$(cat "$T/tcp.out")"

# DEL hands the entry back; the name is free at once.
cni DEL "$P-a" eth0 "$N1" "$C"
check_eq "DEL of the pool container" 0 "$RC"
check_eq "eth0 is gone from the pod when DEL returns" "" "$(ip -n "$P-c1" -o link show eth0 2>/dev/null)"
check_eq "its address is gone when DEL returns" "" "$(ip -n "$P-c1" -o -4 addr show | grep -v ' lo ')"
# (It names the network by its switch's _uuid: the same pool serves it.)
LS=$(nbctl get Logical_Switch net1 _uuid)
cni ADD "$P-a2" eth0 "$N1" "$(netconf net1 | sed "s/\"network\":\"net1\"/\"network\":\"$LS\"/")"
check_eq "an ADD with the same name in the same netns right after DEL" 0 "$RC"
check_eq "... naming the network by _uuid, a hit from net1's pool, recorded as net1" "2 net1" \
	"$(pool_field hits) $(store_sql "select network from attachments where container_id='$P-a2'")"
cni DEL "$P-a2" eth0 "$N1" "$C"
wait_for "the pod's devices are deleted in the background" \
	"ip -n $P-c1 -o link show | grep -vc ': lo:'" 0
wait_for "both entries are ready again (nothing in use, nothing draining)" \
	"echo \$(pool_field in_use) \$(pool_field draining)" "0 0"
check_eq "DEL kept the OVN port (it returned to the pool)" 1 "$(pool_lsps | grep -c "$port1")"
cni DEL "$P-b" eth0 "$NSPATH" "$C"

# A burst larger than the pool: every ADD succeeds, the pool refills.
N=10
pids=()
for i in $(seq $N); do
	pod b$i
	( cni ADD "$P-burst$i" eth0 "/run/netns/$P-b$i" "$C"; echo "$RC" >"$T/rc.$i" ) &
	pids+=($!)
done
wait "${pids[@]}"
fails=0
for i in $(seq $N); do [ "$(cat "$T/rc.$i")" = 0 ] || fails=$((fails + 1)); done
check_eq "a burst of $N ADDs all succeed" 0 "$fails"
check_eq "$N distinct addresses" $N \
	"$(for i in $(seq $N); do ip -n "$P-b$i" -o -4 addr show dev eth0 | awk '{print $4}'; done | sort -u | wc -l)"
ip5=$(ip -n "$P-b5" -o -4 addr show dev eth0 | awk '{print $4}')
check "burst container 1 reaches burst container 5" ip netns exec "$P-b1" busybox ping -c 1 -W 2 "${ip5%/*}"
wait_for "the pool refills to at least ports_pool_min" \
	"[ \$(pool_field ready) -ge 4 ] && echo yes" yes
pids=()
for i in $(seq $N); do
	( cni DEL "$P-burst$i" eth0 "/run/netns/$P-b$i" "$C"; echo "$RC" >"$T/rc.$i" ) &
	pids+=($!)
done
wait "${pids[@]}"
fails=0
for i in $(seq $N); do [ "$(cat "$T/rc.$i")" = 0 ] || fails=$((fails + 1)); done
check_eq "the burst's DELs all succeed" 0 "$fails"
wait_for "nothing in use or draining after the burst" \
	"echo \$(pool_field in_use) \$(pool_field draining)" "0 0"
check_eq "store is empty" 0 "$(store_sql 'select count(*) from attachments')"
check_eq "every pool port still has its stub" "$(pool_lsps | wc -l)" "$(stubs | grep -c .)"

# Recovery: SIGKILL with ready entries, one in use, and orphans of each kind.
pod r1
cni ADD "$P-r1" eth0 "$NSPATH" "$C"
check_eq "ADD before the crash" 0 "$RC"
ready_before=$(pool_field ready)
lsps_before=$(pool_lsps | wc -l)
stop_kuryrd KILL
ip -n "$HOLD" link add ks0000deadbeef type veth peer name kctorphan
nbctl lsp-add net1 orphan-lsp -- set Logical_Switch_Port orphan-lsp \
	"external_ids:\"kuryr:device_owner\"=pool" "external_ids:\"kuryr:device_id\"=$NODE" \
	"external_ids:\"kuryr:network\"=net1"
start_kuryrd
check_eq "after restart: the same ready entries" "$ready_before" "$(pool_field ready)"
check_eq "after restart: the attached container's entry is in use" 1 "$(pool_field in_use)"
check_eq "an orphan stub (no port) was deleted" "" "$(ip -n "$HOLD" -o link show ks0000deadbeef 2>/dev/null)"
check_eq "an orphan pool port (no devices) was deleted" "" \
	"$(nbctl --bare --columns=name find Logical_Switch_Port name=orphan-lsp)"
check_eq "no pool port was lost" "$lsps_before" "$(pool_lsps | wc -l)"
R1=$NSPATH
pod r2
cni ADD "$P-r2" eth0 "$NSPATH" "$C"
check_eq "ADD from an adopted entry after the restart (a pool hit)" "0 1" "$RC $(pool_field hits)"
ipr2=$(jget '["ips"][0]["address"]')
hostr2=$(jget '["interfaces"][0]["name"]')
check_eq "the result's host MAC is the adopted host end's" \
	"$(ip -n "$HOSTNS" -j link show "$hostr2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')" \
	"$(jget '["interfaces"][0]["mac"]')"
check "the container attached before the crash reaches the new one" \
	ip netns exec "$P-r1" busybox ping -c 1 -W 2 "${ipr2%/*}"
cni DEL "$P-r2" eth0 "$NSPATH" "$C"
NSPATH=$R1
cni DEL "$P-r1" eth0 "$NSPATH" "$C"
check_eq "DEL after the restart" 0 "$RC"
wait_for "its entry is ready again" "pool_field in_use" 0

# An attachment whose netns vanished while kuryrd was down is cleaned up.
pod gone
cni ADD "$P-gone" eth0 "$NSPATH" "$C"
gone_port=$(store_sql "select port from attachments where container_id='$P-gone'")
stop_kuryrd KILL
ip netns del "$P-gone"
# The kernel destroys a netns asynchronously; recovery tells the container
# is gone by the macvlan having left its stub (promiscuity back to 0).
wait_for "the vanished netns is destroyed, its macvlan with it" \
	"ip -n $HOLD -d -j link show ks$(echo "$gone_port" | tr -d - | cut -c1-12) | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"promiscuity\"])'" 0
start_kuryrd
check_eq "restart: the row of a vanished netns is gone" 0 "$(store_sql 'select count(*) from attachments')"
check_eq "restart: its entry is destroyed, not reused" "" "$(pool_lsps | grep "$gone_port")"

# A DEL that crashed after it renamed the container's macvlan out of the
# way and dropped the row, but before the background delete: on restart
# the stub still carries that macvlan, so its entry is destroyed (and the
# macvlan with it), never handed out again.
pod half
cni ADD "$P-half" eth0 "$NSPATH" "$C"
half_port=$(store_sql "select port from attachments where container_id='$P-half'")
stop_kuryrd KILL
ip -n "$P-half" addr flush dev eth0
ip -n "$P-half" link set eth0 name "kd$(echo "$half_port" | tr -d - | cut -c1-12)"
store_sql "delete from attachments where container_id='$P-half'"
start_kuryrd
check_eq "restart after a half-done DEL: that entry is destroyed" "" "$(pool_lsps | grep "$half_port")"
check_eq "... and the container's macvlan went with its stub" "" \
	"$(ip -n "$P-half" -o link show | grep -v ': lo:')"

# SIGKILL in the middle of churn (ADDs, DELs, drains and a refill all in
# flight), then restart: the pool is consistent and nothing leaked.
pids=()
for i in $(seq 8); do
	pod k$i
	( cni ADD "$P-k$i" eth0 "/run/netns/$P-k$i" "$C"; cni DEL "$P-k$i" eth0 "/run/netns/$P-k$i" "$C" ) &
	pids+=($!)
done
sleep 0.15
stop_kuryrd KILL
wait "${pids[@]}"
start_kuryrd
# What the runtime does next: DEL whatever it may not have seen finish.
for i in $(seq 8); do cni DEL "$P-k$i" eth0 "/run/netns/$P-k$i" "$C"; done
wait_for "after churn + SIGKILL: nothing in use or draining" \
	"echo \$(pool_field in_use) \$(pool_field draining)" "0 0"
check_eq "after churn + SIGKILL: no attachment rows" 0 "$(store_sql 'select count(*) from attachments')"
check_eq "after churn + SIGKILL: every pool port has its stub and nothing else is parked" \
	"$(for p in $(pool_lsps); do echo "ks$(echo "$p" | tr -d - | cut -c1-12)"; done | sort)" "$(stubs)"
check_eq "after churn + SIGKILL: every port on br-int belongs to a pool port, installed" \
	"$(for p in $(pool_lsps); do echo "kc$(echo "$p" | tr -d - | cut -c1-12) true"; done | sort)" \
	"$(for i in $(vsctl list-ports br-int); do echo "$i $(vsctl get Interface "$i" external_ids:ovn-installed | tr -d '"')"; done | sort)"
check_eq "after churn + SIGKILL: the ready count matches the pool ports" \
	"$(pool_lsps | wc -l)" "$(pool_field ready)"
check_eq "after churn + SIGKILL: no device left in any container" "" \
	"$(for i in $(seq 8); do ip -n "$P-k$i" -o link show | grep -v ': lo:'; done)"
pod k9
cni ADD "$P-k9" eth0 "$NSPATH" "$C"
check_eq "after churn + SIGKILL: a pool hit works" "0 1" "$RC $(pool_field hits)"
cni DEL "$P-k9" eth0 "$NSPATH" "$C"
wait_for "and its entry comes back" "pool_field in_use" 0

# Deleting a network frees this node's idle pool of it first.
ctl network create net2 --subnet 10.86.0.0/24 >/dev/null
# populate right away, while the warm-up refill is still in flight: it
# returns only once the entries are ready.
ctl pool populate net2 >/dev/null
check_eq "pool populate returns with ports_pool_min entries ready" 4 \
	"$(ctl -o json pool list --network net2 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ready"])')"
check "deleting a network with only idle pool ports works" ctl network delete net2
check_eq "its pool ports went with it" "" \
	"$(nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:network\"=net2")"

# Freeing the pool deletes every entry, so the network can go.
check "kuryrctl pool free" ctl pool free net1
check_eq "no pool ports left in OVN NB" "" "$(pool_lsps)"
check_eq "no stubs left in the holding netns" "" "$(stubs)"
check_eq "no ports left on br-int" "" "$(vsctl list-ports br-int)"
check "the network can be deleted" ctl network delete net1
