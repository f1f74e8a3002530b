#!/bin/bash
# Three containers join one OVN network through the real kuryr-cni and
# kuryrd; their interfaces, OVSDB rows and OVN ports are what the result
# says; ICMP and TCP pass between them; CHECK and DEL do what the spec says.
# The network is named by its Logical_Switch's _uuid as well as its name; a
# name two of our switches have is refused. No [DEFAULT] host: kuryrd takes
# the chassis name from Open vSwitch, and marks pool ports with it.
KURYR_HOST=
. "$(dirname "$0")/lib.sh"
env_up

check "kuryrctl creates a network" ctl network create net1 --subnet 10.77.0.0/24 --mtu 1400
check_eq "OVN NB has the logical switch with the subnet" "subnet=10.77.0.0/24" \
	"$(nbctl get Logical_Switch net1 other_config:subnet | tr -d '"' | sed 's/^/subnet=/')"
check_eq "the gateway is excluded from OVN IPAM" "10.77.0.1" \
	"$(nbctl get Logical_Switch net1 other_config:exclude_ips | tr -d '"')"
LS=$(nbctl get Logical_Switch net1 _uuid)
check_eq "kuryrctl network show by the switch's _uuid" "net1 $LS" \
	"$(ctl -o json network show "$LS" | python3 -c 'import json,sys; n=json.load(sys.stdin); print(n["name"], n["id"])')"
# netconf_net NAME NETWORK: a netconf called NAME for network NETWORK.
netconf_net() { netconf "$1" | sed "s/\"network\":\"$1\"/\"network\":\"$2\"/"; }

declare -A IP MAC NS
for i in 1 2 3; do
	pod c$i
	NS[$i]=$NSPATH
	# Container 3 names the network by the switch's _uuid.
	conf=$(netconf net1)
	[ "$i" = 3 ] && conf=$(netconf_net net1 "$LS")
	cni ADD "$P-ctr$i" eth0 "${NS[$i]}" "$conf"
	check_eq "ADD container $i succeeds" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; continue; }
	IP[$i]=$(jget '["ips"][0]["address"]')
	MAC[$i]=$(jget '["interfaces"][1]["mac"]')
	check_eq "result $i: cniVersion" "1.1.0" "$(jget '["cniVersion"]')"
	check_eq "result $i: container interface is eth0 in the sandbox" "eth0 ${NS[$i]}" \
		"$(jget '["interfaces"][1]["name"]') $(jget '["interfaces"][1]["sandbox"]')"
	check_eq "result $i: ip points at the container interface, gateway set" "1 10.77.0.1" \
		"$(jget '["ips"][0]["interface"]') $(jget '["ips"][0]["gateway"]')"
	check_eq "result $i: mtu 1400" "1400" "$(jget '["interfaces"][1]["mtu"]')"
	check_eq "result $i: default route" "0.0.0.0/0 10.77.0.1" \
		"$(jget '["routes"][0]["dst"]') $(jget '["routes"][0]["gw"]')"
	ns=${NS[$i]##*/}
	check_eq "netlink $i: eth0 has the result's MAC and MTU, is up" "${MAC[$i]} 1400 UP" \
		"$(ip -n "$ns" -j link show eth0 | python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l["address"], l["mtu"], "UP" if "UP" in l["flags"] else "DOWN")')"
	check_eq "ethtool $i: eth0 fills in its own checksums (br-int is netdev; veth_tx_checksum auto)" off \
		"$(ip netns exec "$ns" python3 "$SRC/tests/e2e/lb-probe.py" txcsum eth0)"
	check_eq "netlink $i: eth0 has the result's address" "${IP[$i]}" \
		"$(ip -n "$ns" -o -4 addr show dev eth0 | awk '{print $4}')"
	check_eq "netlink $i: default route via the gateway" "default via 10.77.0.1 dev eth0" \
		"$(ip -n "$ns" route show default | awk '{print $1,$2,$3,$4,$5}')"
	host=$(jget '["interfaces"][0]["name"]')
	port=$(vsctl get Interface "$host" external_ids:iface-id | tr -d '"')
	check_eq "OVSDB $i: host end on br-int" "br-int" "$(vsctl port-to-br "$host")"
	check_eq "result $i: host interface MAC is the host veth's" \
		"$(ip -n "$HOSTNS" -j link show "$host" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')" \
		"$(jget '["interfaces"][0]["mac"]')"
	check_eq "OVSDB $i: attached-mac and ovn-installed" "${MAC[$i]} true" \
		"$(vsctl get Interface "$host" external_ids:attached-mac | tr -d '"') $(vsctl get Interface "$host" external_ids:ovn-installed | tr -d '"')"
	check_eq "OVN NB $i: port security is MAC + IP" "${MAC[$i]} ${IP[$i]%/*}" \
		"$(nbctl get Logical_Switch_Port "$port" port_security | tr -d '[]"')"
	check_eq "OVN NB $i: the port records the container" "$P-ctr$i" \
		"$(nbctl get Logical_Switch_Port "$port" external_ids:\"kuryr:device_id\" | tr -d '"')"
	check_eq "store $i: attachment done, on network net1" "done net1" \
		"$(store_sql "select case state when 3 then 'done' else state end, network from attachments where container_id='$P-ctr$i'" | tr '|' ' ')"
	check "OVN NB $i: the port is on switch net1" \
		grep -q "$(nbctl get Logical_Switch_Port "$port" _uuid)" <<<"$(nbctl get Logical_Switch "$LS" ports)"
done
check_eq "kuryrctl port list by the switch's _uuid shows the three" 3 \
	"$(ctl -o json port list --network "$LS" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

node=$(vsctl get Open_vSwitch . external_ids:hostname | tr -d '"')
check_eq "kuryrctl port list: each container port is on this node ($node), as NB records it" \
	"$node $node $node|$node $node $node" \
	"$(ctl -o json port list --network "$LS" | pyj '" ".join(p["host"] for p in d)')|$(for p in $(ctl -o json port list --network "$LS" | pyj '" ".join(p["name"] for p in d)'); do nbctl get Logical_Switch_Port "$p" external_ids:\"kuryr:host\" | tr -d '"'; done | paste -sd' ')"
check_eq "three distinct addresses" 3 "$(printf '%s\n' "${IP[@]}" | sort -u | wc -l)"

for a in 1 2 3; do
	for b in 1 2 3; do
		[ "$a" = "$b" ] && continue
		check "ping container $a -> $b" ip netns exec "$P-c$a" busybox ping -c 1 -W 2 "${IP[$b]%/*}"
	done
done

# TCP: a listener in container 1, a sender in container 2.
ip netns exec "$P-c1" timeout 10 busybox nc -l -p 5555 >"$T/tcp.out" &
ncpid=$!
sleep 0.2
echo "hello-over-ovn" | ip netns exec "$P-c2" busybox nc -w 2 "${IP[1]%/*}" 5555
wait "$ncpid"
check_eq "TCP from container 2 reaches container 1" "hello-over-ovn" "$(cat "$T/tcp.out")"

cni CHECK "$P-ctr1" eth0 "${NS[1]}" "$(netconf net1 1.1.0 "\"prevResult\":{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"${IP[1]}\"}]}")"
check_eq "CHECK of a healthy attachment succeeds" 0 "$RC"
ip -n "$P-c1" addr flush dev eth0
cni CHECK "$P-ctr1" eth0 "${NS[1]}" "$(netconf net1)"
check_eq "CHECK notices a removed address" 1 "$RC"
cni CHECK "$P-nosuch" eth0 "${NS[1]}" "$(netconf net1)"
check_eq "CHECK of an unknown container: error 3" "1 3" "$RC $(jget '["code"]')"

check_eq "kuryrctl attachment list shows three" 3 \
	"$(ctl -o json attachment list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

# Global options anywhere on the command line, as with ip or openstack.
OUT=$(ctl attachment list -o json); RC=$?
check_eq "kuryrctl attachment list -o json (after the command) prints the three as JSON" \
	"0 $P-ctr1 $P-ctr2 $P-ctr3" \
	"$RC $(echo "$OUT" | python3 -c 'import json,sys; print(" ".join(sorted(a["container_id"] for a in json.load(sys.stdin))))' 2>/dev/null ||
		echo "not JSON: ${OUT%%$'\n'*}")"
OUT=$("$CTL_BIN" network list --socket "$SOCK" -o json); RC=$?
check_eq "kuryrctl network list --socket PATH -o json" "0 net1 10.77.0.0/24" \
	"$RC $(echo "$OUT" | python3 -c 'import json,sys; n=json.load(sys.stdin)[0]; print(n["name"], n["subnet"])' 2>/dev/null ||
		echo "not JSON: ${OUT%%$'\n'*}")"
# refused CMD...: exit status, stderr's line count, stdout (empty: kuryrd
# never answered, so nothing was sent).
refused() {
	"$@" >"$T/ctl.out" 2>"$T/ctl.err"
	echo "$? $(wc -l <"$T/ctl.err") [$(cat "$T/ctl.out")]"
}
check_eq "an unknown option: status 2, one line on stderr, nothing sent" "2 1 []" \
	"$(refused ctl network create x --subnet 10.9.0.0/24 --bogus)"
check "... the line names the command and the option" \
	grep -qx 'kuryrctl: network create: unknown option "--bogus"' "$T/ctl.err"
check_eq "... and OVN NB has no network x" "" "$(nbctl ls-list | grep -F '(x)')"
check_eq "an unknown option on a listing is refused too" "2 1 []" \
	"$(refused ctl attachment list --bogus)"
check_eq "an extra argument: status 2, one line on stderr, nothing sent" "2 1 []" \
	"$(refused ctl attachment list foo)"
check "... the line names the command and the argument" \
	grep -qx 'kuryrctl: attachment list: unexpected argument "foo"' "$T/ctl.err"
check_eq "an extra argument to network create is refused" "2 1 []" \
	"$(refused ctl network create x y --subnet 10.9.0.0/24)"
check_eq "... and OVN NB has no network x or y" "" "$(nbctl ls-list | grep -F -e '(x)' -e '(y)')"

# /metrics (Prometheus text), served inside the host namespace.
hostns python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9655/metrics").read().decode())' >"$T/metrics" 2>&1
check_eq "/metrics counts the three successful ADDs" 3 \
	"$(awk '/^kuryr_cni_requests_total\{op="add",result="ok"\}/ {print $2}' "$T/metrics")"
check_eq "/metrics has the ADD latency histogram" 3 \
	"$(awk '/^kuryr_add_duration_seconds_count/ {print $2}' "$T/metrics")"
check_eq "/metrics shows three attachments" 3 "$(awk '/^kuryr_attachments / {print $2}' "$T/metrics")"
check "/metrics counts Northbound writes and reads (some of each by now)" awk \
	'/^kuryr_ovn_transactions_total\{kind="write"\} [1-9]/ {w = 1} /^kuryr_ovn_transactions_total\{kind="read"\} [1-9]/ {r = 1} END {exit !(w && r)}' "$T/metrics"

# Another tool's switch of ours with the same name: the name is refused,
# naming both _uuids; the _uuid still works.
DUP=$(nbctl create Logical_Switch name=net1 external_ids:kuryr\\:cidr=10.79.0.0/24)
pod dup
cni ADD "$P-dup" eth0 "$NSPATH" "$(netconf net1)"
check_eq "ADD naming a network two switches are called: error 7" "1 7" "$RC $(jget '["code"]')"
check "... naming both switches' _uuids" \
	grep -q "$LS.*$DUP\|$DUP.*$LS" <<<"$(jget '["details"]')"
check_eq "... and no port, veth or row is left" "3  0" \
	"$(nbctl --bare --columns=name list Logical_Switch_Port | grep -c .) $(ip -n "$P-dup" -o link show type veth) $(store_sql "select count(*) from attachments where container_id='$P-dup'")"
check "kuryrctl network show of that name fails" bash -c "! $CTL_BIN --socket $SOCK network show net1"
check_eq "kuryrctl network show by _uuid still works" net1 \
	"$(ctl -o json network show "$LS" | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')"
nbctl destroy Logical_Switch "$DUP"

# Older CNI versions get results in their own format.
pod v4
N4=$NSPATH
cni ADD "$P-v04" eth0 "$N4" "$(netconf net1 0.4.0)"
check_eq "ADD with cniVersion 0.4.0 answers in 0.4.0 (ips carry version)" "0 0.4.0 4" \
	"$RC $(jget '["cniVersion"]') $(jget '["ips"][0]["version"]')"
cni DEL "$P-v04" eth0 "$N4" "$(netconf net1 0.4.0)"
check_eq "DEL with cniVersion 0.4.0" 0 "$RC"

# An address handed out again: OVN gives the lowest free one, and
# container 2 still has it under the MAC of the port that had it (it
# pinged container 3). The new port announces itself once it is ready,
# so container 2 sends to the right MAC at once.
neigh_mac() { ip -n "$P-c2" neigh show "$1" | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
old_ip=${IP[3]%/*}
check_eq "container 2 knows container 3's address under its MAC" "${MAC[3]}" "$(neigh_mac "$old_ip")"
cni DEL "$P-ctr3" eth0 "${NS[3]}" "$(netconf net1)"
pod c3b
NS[3]=$NSPATH
cni ADD "$P-ctr3" eth0 "${NS[3]}" "$(netconf net1)"
check_eq "a new container gets the freed address, with another MAC" "0 $old_ip yes" \
	"$RC $(jget '["ips"][0]["address"]' | cut -d/ -f1) $([ "$(jget '["interfaces"][1]["mac"]')" != "${MAC[3]}" ] && echo yes)"
new_mac=$(jget '["interfaces"][1]["mac"]')
learned=no
for _ in $(seq 20); do
	[ "$(neigh_mac "$old_ip")" = "$new_mac" ] && { learned=yes; break; }
	sleep 0.1
done
check_eq "container 2 learned the new MAC without sending (a gratuitous ARP)" yes "$learned"
check "ping container 2 -> the new container at once" \
	ip netns exec "$P-c2" busybox ping -c 1 -W 1 "$old_ip"

for i in 1 2 3; do
	cni DEL "$P-ctr$i" eth0 "${NS[$i]}" "$(netconf net1)"
	check_eq "DEL container $i succeeds with no output" "0 " "$RC $OUT"
done
assert_clean "after DEL"
cni DEL "$P-ctr1" eth0 "${NS[1]}" "$(netconf net1)"
check_eq "DEL twice succeeds" 0 "$RC"
cni DEL "$P-never" eth0 "" "$(netconf net1)"
check_eq "DEL of a container never added (no netns) succeeds" 0 "$RC"

# Leftovers: container ports of this node with no container (a crash
# between the port and its row, say) go soon after kuryrd starts; another
# node's stay (they share one Northbound).
left=(); for who in "$node" other-node; do
	name=leftover-${who%%-*}-$P
	nbctl lsp-add net1 "$name" -- lsp-set-addresses "$name" "0a:00:00:00:00:$((RANDOM % 90 + 10)) dynamic" \
		-- set Logical_Switch_Port "$name" external_ids:\"kuryr:network\"=net1 \
		external_ids:\"kuryr:device_owner\"=container external_ids:\"kuryr:device_id\"=gone \
		external_ids:\"kuryr:host\"="$who"
	left+=("$name")
done
stop_kuryrd
start_kuryrd
gone=no
for _ in $(seq 50); do
	[ -z "$(nbctl --bare --columns=name find Logical_Switch_Port name="${left[0]}")" ] && { gone=yes; break; }
	sleep 0.2
done
check_eq "kuryrd deletes this node's leftover container port soon after it starts" yes "$gone"
check_eq "... and leaves another node's alone" "${left[1]}" \
	"$(nbctl --bare --columns=name find Logical_Switch_Port name="${left[1]}")"
nbctl lsp-del "${left[1]}"
check "kuryrctl deletes the empty network by its _uuid" ctl network delete "$LS"
check_eq "OVN NB has no logical switch" "" "$(nbctl --bare --columns=name list Logical_Switch)"

# Pools, with no [DEFAULT] host: this node's pool ports are marked with the
# name ovn-controller registered the chassis as (OVS's hostname).
stop_kuryrd
printf '[vif_pool]\nenabled = true\nprewire = false\nports_pool_min = 1\nports_pool_batch = 1\n' \
	>>"$T/kuryr.conf"
start_kuryrd
ovs_host=$(vsctl get Open_vSwitch . external_ids:hostname | tr -d '"')
check "kuryrctl creates a network with pools on" ctl network create net2 --subnet 10.78.0.0/24
for _ in $(seq 100); do
	lsp=$(nbctl --bare --columns=name find Logical_Switch_Port \
		"external_ids:\"kuryr:device_owner\"=pool" | grep . | head -1)
	[ -n "$lsp" ] && break
	sleep 0.1
done
check "OVS's hostname ($ovs_host) is not the hostname" test -n "$ovs_host" -a "$ovs_host" != "$(hostname)"
check_eq "OVN NB: the pool port is marked with OVS's hostname" "$ovs_host" \
	"$(nbctl get Logical_Switch_Port "$lsp" external_ids:\"kuryr:device_id\" | tr -d '"')"
check "kuryrctl pool free" ctl pool free net2
check "kuryrctl deletes net2" ctl network delete net2

# [binding] veth_tx_checksum = on: the veth keeps its offload, even here.
stop_kuryrd
printf '[binding]\nveth_tx_checksum = on\n' >>"$T/kuryr.conf"
start_kuryrd
ctl network create net3 --subnet 10.79.0.0/24 >/dev/null
pod csum
cni ADD "$P-csum" eth0 "$NSPATH" "$(netconf net3)"
check_eq "veth_tx_checksum = on: ADD succeeds, eth0 leaves its checksums to offload" "0 on" \
	"$RC $(ip netns exec "$P-csum" python3 "$SRC/tests/e2e/lb-probe.py" txcsum eth0)"
cni DEL "$P-csum" eth0 "$NSPATH" "$(netconf net3)"
