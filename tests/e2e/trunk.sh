#!/bin/bash
# Trunks on backend ovn, as containers inside a VM use them: the VM's port
# carries a trunk (a record on the parent Logical_Switch_Port), and each
# subport is a child port (parent_name = the VM's port, tag = its VLAN) on a
# network of its own. The "VM's NIC" is the far end of a veth whose host end
# kuryrctl vm plug puts on br-int like a tap; this kernel has no 8021q, so
# the nested containers' 802.1Q frames are built by hand on a raw socket
# (vlan-frames.py). A frame tagged 101 reaches the container on subport
# 101's network with the tag taken off, and its reply comes back tagged
# 101; a frame tagged 102 lands on the other network, never on the first.
# Bad requests are refused and leave OVN NB as it was.
. "$(dirname "$0")/lib.sh"
env_up
FRAMES=$SRC/tests/e2e/vlan-frames.py
VMNS=$P-vm

# nb_ports: what the trunk verbs may change, for every port (not up, which
# ovn-northd writes when it likes).
nb_ports() {
	nbctl --format=csv --columns=name,parent_name,tag,tag_request,external_ids \
		list Logical_Switch_Port | sort
}
# lsp PORT COLUMN...: the port's columns in NB, on one line.
lsp() {
	local port=$1
	shift
	for c in "$@"; do nbctl get Logical_Switch_Port "$port" "$c"; done | tr '\n' ' ' | sed 's/ $//'
}
# raw_ctl OP ARGS: send a request to kuryrd as kuryrctl would, without
# kuryrctl's own checks; prints the answer's error code (0: none) and
# details.
raw_ctl() {
	python3 - "$SOCK" "$1" "$2" <<-'PY'
		import json, socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
		s.settimeout(30)
		s.connect(sys.argv[1])
		s.send(json.dumps({"op": sys.argv[2], "args": json.loads(sys.argv[3])}).encode())
		e = json.loads(s.recv(1 << 17)).get("error", {})
		print(e.get("code", 0), e.get("details", ""))
	PY
}
# subports TRUNK: "port:vlan ..." as kuryrctl trunk show -o json gives them.
subports() {
	ctl -o json trunk show "$1" |
		python3 -c 'import json,sys; print(" ".join("%s:%d" % (s["port"], s["vlan"]) for s in json.load(sys.stdin)["subports"]))'
}

for n in "netvm 10.92.0.0/24" "neta 10.92.1.0/24" "netb 10.92.2.0/24"; do
	read -r net cidr <<<"$n"
	ctl network create "$net" --subnet "$cidr" >/dev/null || not_ok "kuryrctl network create $net"
done

# ---- the VM: its port, and its NIC plugged like a tap ----
OUT=$(ctl -o json port create --network netvm --name vm1 --device-id vm-one); RC=$?
check_eq "kuryrctl port create for the VM" 0 "$RC"
VM_MAC=$(jget '["mac"]')
ip netns add "$VMNS" && ip -n "$VMNS" link set lo up
ip link add "$P-vmh" netns "$HOSTNS" type veth peer name eth0 netns "$VMNS" address "$VM_MAC"
ip -n "$VMNS" link set eth0 up
OUT=$(ctl -o json vm plug "$P-vmh" vm1); RC=$?
check_eq "kuryrctl vm plug puts the VM's NIC on br-int, up" "0 True" "$RC $(jget '["up"]' 2>/dev/null)"

# The nested containers' ports, on two other networks.
declare -A SMAC SIP
for s in "sub101 neta" "sub102 netb" "sub3 neta"; do
	read -r port net <<<"$s"
	OUT=$(ctl -o json port create --network "$net" --name "$port"); RC=$?
	check_eq "kuryrctl port create $port on $net" 0 "$RC"
	SMAC[$port]=$(jget '["mac"]')
	SIP[$port]=$(jget '["ip"]')
done

# ---- the trunk ----
OUT=$(ctl -o json trunk create vm1 --name t1); RC=$?
check_eq "kuryrctl trunk create on the VM's port (backend ovn)" 0 "$RC"
TID=$(jget '["id"]' 2>/dev/null)
check_eq "... answers the trunk: its name, parent port, ACTIVE (the parent is up), no subports" \
	"t1 vm1 ACTIVE []" "$(jget '["name"]' 2>/dev/null) $(jget '["port"]' 2>/dev/null) $(jget '["status"]' 2>/dev/null) $(jget '["subports"]' 2>/dev/null)"
check_eq "OVN NB: the parent port records the trunk's id and name" "\"$TID\" t1" \
	"$(nbctl get Logical_Switch_Port vm1 external_ids:\"kuryr:trunk_id\") $(nbctl get Logical_Switch_Port vm1 external_ids:\"kuryr:trunk_name\" | tr -d '"')"
check_eq "kuryrctl trunk show by id" "t1 vm1" \
	"$(ctl -o json trunk show "$TID" | python3 -c 'import json,sys; t=json.load(sys.stdin); print(t["name"], t["port"])')"

check "kuryrctl trunk add-subport t1 sub101 101" ctl trunk add-subport t1 sub101 101
OUT=$(ctl -o json trunk add-subport "$TID" sub102 102); RC=$?
check_eq "kuryrctl trunk add-subport (trunk by id) sub102 102 answers both subports" \
	"0 sub101:101 sub102:102" \
	"$RC $(python3 -c 'import json,sys; print(" ".join("%s:%d" % (s["port"], s["vlan"]) for s in json.load(sys.stdin)["subports"]))' <<<"$OUT" 2>/dev/null)"
check_eq "OVN NB: sub101 is a child of vm1 with tag 101" "vm1 101 []" "$(lsp sub101 parent_name tag tag_request | tr -d '"')"
check_eq "OVN NB: sub102 is a child of vm1 with tag 102" "vm1 102 []" "$(lsp sub102 parent_name tag tag_request | tr -d '"')"
check_eq "OVN NB: the subports stay on their own networks" "neta netb" \
	"$(nbctl --bare --columns=name find Logical_Switch "ports{>=}$(nbctl get Logical_Switch_Port sub101 _uuid)") $(nbctl --bare --columns=name find Logical_Switch "ports{>=}$(nbctl get Logical_Switch_Port sub102 _uuid)")"
check "OVN NB: the subports come up through their parent's binding" \
	nbctl --timeout=10 wait-until Logical_Switch_Port sub101 up=true -- \
	wait-until Logical_Switch_Port sub102 up=true
check_eq "OVN SB: sub101 is bound as vm1's child with tag 101" "vm1 101" \
	"$(ovn-sbctl --db=unix:"$RUN/ovn/sb.sock" --bare --columns=parent_port,tag find Port_Binding logical_port=sub101 | tr '\n' ' ' | sed 's/ *$//')"

# ---- packets: one container on each subport's network ----
declare -A CIP CMAC
for c in "ca neta" "cb netb"; do
	read -r name net <<<"$c"
	pod "$name"
	cni ADD "$P-$name" eth0 "$NSPATH" "$(netconf "$net")"
	check_eq "a container joins $net through kuryr-cni" 0 "$RC"
	CIP[$name]=$(jget '["ips"][0]["address"]' 2>/dev/null)
	CIP[$name]=${CIP[$name]%/*}
	CMAC[$name]=$(jget '["interfaces"][1]["mac"]' 2>/dev/null)
done
nbctl --wait=hv sync

# listen NAME: a listener for our echo requests in container NAME, its
# output in $T/NAME.seen, until stop_listen.
declare -A LPID
listen() {
	: >"$T/$1.seen"
	nsenter --net=/run/netns/"$P-$1" python3 "$FRAMES" listen eth0 60 >"$T/$1.seen" 2>&1 &
	LPID[$1]=$!
	for _ in $(seq 100); do grep -q listening "$T/$1.seen" && return; sleep 0.05; done
}
stop_listen() {
	sleep 0.3
	for l in "$@"; do kill "${LPID[$l]}" 2>/dev/null; wait "${LPID[$l]}" 2>/dev/null; done
}
# vm_ping VLAN SUBPORT CONTAINER TIMEOUT: from the VM's NIC, an echo request
# tagged VLAN with SUBPORT's MAC and IP as source, to CONTAINER.
vm_ping() {
	nsenter --net=/run/netns/"$VMNS" python3 "$FRAMES" ping eth0 "$1" "${SMAC[$2]}" "${SIP[$2]}" \
		"${CMAC[$3]}" "${CIP[$3]}" "$4"
}

listen ca
listen cb
check_eq "a frame tagged 101 from the VM reaches the container on neta; its reply comes back tagged 101" \
	"reply vlan=101 src=${CIP[ca]}" "$(vm_ping 101 sub101 ca 5)"
check_eq "a frame tagged 102 from the VM reaches the container on netb; its reply comes back tagged 102" \
	"reply vlan=102 src=${CIP[cb]}" "$(vm_ping 102 sub102 cb 5)"
check_eq "a frame tagged 102 addressed to the container on neta gets no answer" \
	"" "$(vm_ping 102 sub102 ca 1.5)"
check_eq "an untagged frame with sub101's addresses gets no answer (vm1's port security)" \
	"" "$(vm_ping 0 sub101 ca 1.5)"
stop_listen ca cb
# The untagged frame has the same addresses: once means it did not pass.
check_eq "the container on neta saw one request: sub101's, with the tag taken off (none from netb)" \
	"echo vlan=0 src=${SIP[sub101]} dst=${CIP[ca]}" "$(grep -v listening "$T/ca.seen")"
check_eq "the container on netb saw sub102's request, untagged" \
	"echo vlan=0 src=${SIP[sub102]} dst=${CIP[cb]}" "$(grep -v listening "$T/cb.seen")"

# ---- bad requests, each leaving NB as it was ----
ctl trunk create vm2 2>/dev/null; RC=$?
check_eq "a trunk on a port that does not exist: 404" "1 404 port \"vm2\" does not exist" \
	"$RC $(raw_ctl trunk.create '{"port": "vm2"}')"
ctl port create --network netvm --name vm2 --device-id vm-two >/dev/null || not_ok "port create vm2"
check "a second VM port and a trunk on it" ctl trunk create vm2 --name t2
BEFORE=$(nb_ports)
check_eq "add-subport VLAN 0: kuryrd answers 400" "400 VLAN 0 is not in 1..4094" \
	"$(raw_ctl trunk.add-subport '{"trunk": "t1", "port": "sub3", "vlan": 0}')"
check_eq "add-subport VLAN 4095: kuryrd answers 400" "400 VLAN 4095 is not in 1..4094" \
	"$(raw_ctl trunk.add-subport '{"trunk": "t1", "port": "sub3", "vlan": 4095}')"
ctl trunk add-subport t1 sub3 0 2>/dev/null; RC=$?
check_eq "kuryrctl refuses VLAN 0 itself (status 2)" 2 "$RC"
ctl trunk add-subport t1 sub3 102 2>"$T/err"; RC=$?
check_eq "the same VLAN twice on one trunk is refused" 1 "$RC"
check "... saying which port has it" grep -q "VLAN 102 is already used on trunk t1 by port sub102" "$T/err"
check_eq "... with 409 (EEXIST)" "409 VLAN 102 is already used on trunk t1 by port sub102" \
	"$(raw_ctl trunk.add-subport '{"trunk": "t1", "port": "sub3", "vlan": 102}')"
ctl trunk add-subport t2 sub102 300 2>"$T/err"; RC=$?
check_eq "a port that is a subport elsewhere is refused" 1 "$RC"
check "... saying whose" grep -q "port sub102 is already a subport of port vm1 (VLAN 102)" "$T/err"
ctl trunk add-subport t1 sub101 300 2>"$T/err"; RC=$?
check_eq "a subport added again under another VLAN is refused" "1 yes" \
	"$RC $(grep -q "already subport VLAN 101 of trunk t1" "$T/err" && echo yes)"
ctl trunk add-subport t1 vm1 300 2>"$T/err"; RC=$?
check_eq "a trunk's parent cannot be its own subport" "1 yes" \
	"$RC $(grep -q "port vm1 is the parent of trunk t1, not a subport" "$T/err" && echo yes)"
ctl trunk add-subport t1 vm2 300 2>"$T/err"; RC=$?
check_eq "a port that carries a trunk cannot be a subport" "1 yes" \
	"$RC $(grep -q "port vm2 carries trunk" "$T/err" && echo yes)"
ctl trunk create vm1 --name t3 2>"$T/err"; RC=$?
check_eq "a second trunk on one port is refused" "1 yes" "$RC $(grep -q "already carries trunk $TID" "$T/err" && echo yes)"
ctl trunk create sub3 --name t1 2>"$T/err"; RC=$?
check_eq "a trunk name already taken is refused" "1 yes" "$RC $(grep -q 'trunk "t1" already exists' "$T/err" && echo yes)"
ctl trunk create sub101 2>"$T/err"; RC=$?
check_eq "a subport cannot carry a trunk" "1 yes" "$RC $(grep -q "port sub101 is a subport of port vm1" "$T/err" && echo yes)"
ctl trunk delete t1 2>"$T/err"; RC=$?
check_eq "deleting a trunk with subports is refused" 1 "$RC"
check "... saying to remove its subports first" grep -q "remove its subports first" "$T/err"
check_eq "... with 409 (EBUSY)" "409 trunk t1 still has 2 subports: remove its subports first" \
	"$(raw_ctl trunk.delete '{"trunk": "t1"}')"
ctl trunk remove-subport t2 sub101 2>"$T/err"; RC=$?
check_eq "removing a port that is not the trunk's subport: 404" "1 404 port sub101 is not a subport of trunk t2" \
	"$RC $(raw_ctl trunk.remove-subport '{"trunk": "t2", "port": "sub101"}')"
ctl trunk show nosuch 2>/dev/null; RC=$?
check_eq "an unknown trunk: 404" "1 404 trunk \"nosuch\" does not exist" \
	"$RC $(raw_ctl trunk.show '{"trunk": "nosuch"}')"
check_eq "OVN NB: none of them changed a port" "$BEFORE" "$(nb_ports)"

# ---- remove-subport and delete ----
check "kuryrctl trunk remove-subport t1 sub101" ctl trunk remove-subport t1 sub101
check_eq "OVN NB: sub101 is a port of its own again (no parent, no tag)" "[] [] []" \
	"$(lsp sub101 parent_name tag tag_request)"
check_eq "kuryrctl trunk show: only sub102 is left" "sub102:102" "$(subports t1)"
nbctl --wait=hv sync
listen ca
check_eq "a frame tagged 101 now gets no answer" "" "$(vm_ping 101 sub101 ca 1.5)"
stop_listen ca
check_eq "... and does not reach the container" "" "$(grep -v listening "$T/ca.seen")"
check "kuryrctl trunk add-subport t1 sub3 101: the VLAN is free again" ctl trunk add-subport t1 sub3 101
check_eq "OVN NB: sub3 is vm1's child with tag 101" "vm1 101" "$(lsp sub3 parent_name tag | tr -d '"')"
for s in sub3 sub102; do ctl trunk remove-subport t1 "$s" >/dev/null || not_ok "remove-subport t1 $s"; done
check "kuryrctl trunk delete t1, now without subports" ctl trunk delete t1
check_eq "OVN NB: vm1 carries no trunk any more" "" \
	"$(nbctl get Logical_Switch_Port vm1 external_ids | grep -o 'kuryr:trunk[a-z_]*')"
ctl trunk show t1 2>/dev/null; RC=$?
check_eq "... and trunk t1 is gone" 1 "$RC"

# ---- two kuryrctls at once: the transaction's waits let only one win ----
OUT=$(ctl -o json trunk create vm1 --name t4); RC=$?
check_eq "a trunk again on vm1 once the first is gone" 0 "$RC"
T4=$(jget '["id"]' 2>/dev/null)
# race "ARGS1" "ARGS2": two kuryrctls at once; prints how many failed and
# what they said.
race() {
	local a b ra rb
	# shellcheck disable=SC2086 # the words of each command
	ctl $1 >/dev/null 2>"$T/e1" &
	a=$!
	# shellcheck disable=SC2086
	ctl $2 >/dev/null 2>"$T/e2" &
	b=$!
	wait "$a"; ra=$?
	wait "$b"; rb=$?
	echo "$((ra + rb)) $(cat "$T/e1" "$T/e2")"
}
same_vlan=0 same_port=0
for _ in 1 2 3 4 5; do
	out=$(race "trunk add-subport t4 sub101 200" "trunk add-subport t4 sub3 200")
	[[ $out == "1 kuryrctl: cannot change the trunk's subports: VLAN 200 is already used on trunk t4 by port sub"* ]] &&
		[ "$(nbctl --bare --columns=name find Logical_Switch_Port tag=200 | grep -c .)" = 1 ] &&
		same_vlan=$((same_vlan + 1))
	ctl trunk remove-subport t4 sub101 >/dev/null 2>&1
	ctl trunk remove-subport t4 sub3 >/dev/null 2>&1
	out=$(race "trunk add-subport t4 sub101 201" "trunk add-subport t2 sub101 202")
	[[ $out == "1 kuryrctl: cannot change the trunk's subports: port sub101 is already a subport of port vm"* ]] &&
		same_port=$((same_port + 1))
	ctl trunk remove-subport t4 sub101 >/dev/null 2>&1
	ctl trunk remove-subport t2 sub101 >/dev/null 2>&1
done
check_eq "one VLAN asked for by two ports at once: one gets it, the other is told (5 rounds)" 5 "$same_vlan"
check_eq "one port asked for by two trunks at once: one gets it, the other is told (5 rounds)" 5 "$same_port"
check_eq "OVN NB: no subport left" "" "$(nbctl --bare --columns=name find Logical_Switch_Port parent_name!=[])"
# As Neutron: neither a trunk's parent nor a subport is deleted under it.
ctl trunk add-subport t4 sub101 300 >/dev/null
T4P=$(ctl -o json trunk show t4 | python3 -c 'import json,sys; print(json.load(sys.stdin)["port"])')
check_eq "deleting a trunk's parent port: refused" 1 "$(ctl port delete "$T4P" >/dev/null 2>&1; echo $?)"
check_eq "deleting a subport: refused, saying why" "1 1" \
	"$(ctl port delete sub101 2>"$T/e1" >/dev/null; echo $?) $(grep -c 'trunk remove-subport first' "$T/e1")"
check_eq "... both are still in NB, the subport still tagged" "2 300" \
	"$( (nbctl --bare --columns=name find Logical_Switch_Port name="$T4P"; nbctl --bare --columns=name find Logical_Switch_Port name=sub101) | grep -c .) $(nbctl get Logical_Switch_Port sub101 tag)"
ctl trunk remove-subport t4 sub101 >/dev/null
check "kuryrctl trunk delete t2 by name" ctl trunk delete t2
check "kuryrctl trunk delete t4 by id" ctl trunk delete "$T4"

# ---- clean up ----
for c in "ca neta" "cb netb"; do
	read -r name net <<<"$c"
	cni DEL "$P-$name" eth0 "/run/netns/$P-$name" "$(netconf "$net")"
done
ctl vm unplug "$P-vmh" || not_ok "vm unplug"
for p in vm1 vm2 sub101 sub102 sub3; do ctl port delete "$p" || not_ok "port delete $p"; done
ip -n "$HOSTNS" link del "$P-vmh"
assert_clean "end"
