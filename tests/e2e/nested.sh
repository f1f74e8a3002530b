#!/bin/bash
# Containers nested in a real VM (QEMU), on backend ovn: the VM's port is
# a trunk's parent; kuryrd and kuryr-cni run in the guest with binding
# driver nested-vlan and reach OVN Northbound over the VM's management NIC
# (scripts/vm.sh VM_FORWARD), never over the trunk. Each nested container
# gets a subport (a child port: parent_name = the VM's port, tag = its VLAN
# id) and a VLAN sub-interface of the guest's eth0, created in its netns.
# Proven with packets: nested containers reach each other, a bare-metal
# container, the VM itself and a VM-less port's network; their frames
# leave the guest with one 802.1Q header and no tunnel inside (captured on
# the VM's tap); VLAN ids never clash, even with an id taken behind
# kuryrd's back or with ADDs at once; bad requests leave nothing behind.
. "$(dirname "$0")/lib.sh"
env_up
FRAMES=$SRC/tests/e2e/vlan-frames.py

# gcni COMMAND CONTAINERID NETNS CONF: kuryr-cni in the guest on pod netns
# NETNS (ifname eth0); sets OUT and RC.
gcni() {
	OUT=$(gx "printf '%s' '$4' | CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/$3 CNI_PATH=/usr/bin kuryr-cni")
	RC=$?
}
# child PORT: "parent tag" of port PORT in NB.
child() {
	echo "$(nbctl get Logical_Switch_Port "$1" parent_name | tr -d '"') $(nbctl get Logical_Switch_Port "$1" tag)"
}
# gport CONTAINERID: the port of a nested container, by its device_id.
gport() { nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=\"$1\""; }
tags() { nbctl --bare --columns=tag find Logical_Switch_Port parent_name=vm1 | grep . | sort -n | tr '\n' ' ' | sed 's/ $//'; }

for n in "net1 10.93.0.0/24" "net2 10.93.1.0/24"; do
	read -r net cidr <<<"$n"
	ctl network create "$net" --subnet "$cidr" >/dev/null || not_ok "kuryrctl network create $net"
done

# ---- the VM: its port carries a trunk; its tap on br-int ----
OUT=$(ctl -o json port create --network net1 --name vm1 --device-id vm-one); RC=$?
check_eq "kuryrctl port create for the VM" 0 "$RC"
VM_MAC=$(jget '["mac"]')
VM_IP=$(jget '["ip"]')
vm_boot "$VM_MAC" "6641=unix:$RUN/ovn/nb.sock"
check "kuryrctl vm plug the VM's tap" ctl vm plug "$TAP" vm1
check "the guest takes its port's address on eth0" gx "ip link set eth0 up && ip addr add $VM_IP/24 dev eth0"

# ---- kuryrd in the guest ----
GUEST_CONF=$(guest_conf_ovn nested-vlan "$P-guest" debug 20)
check "kuryrd starts in the guest (nested-vlan, NB over the management NIC)" \
	guest_kuryrd "$VMDIR" "$GUEST_CONF"

# ---- the VM's port is no trunk yet: a clear error, nothing left ----
gx "ip netns add n0 && ip -n n0 link set lo up"
before=$(nbctl --bare --columns=name list Logical_Switch_Port | sort)
gcni ADD "$P-n0" n0 "$(gnetconf net1)"
check_eq "nested ADD before the VM's port is a trunk fails" 1 "$RC"
check "... saying the VM's port is not a trunk's parent" grep -q "port vm1 (MAC $VM_MAC) is not the parent of a trunk" <<<"$OUT"
check_eq "... and leaves no port in NB" "$before" "$(nbctl --bare --columns=name list Logical_Switch_Port | sort)"
check_eq "... nor a device in the pod netns" "lo" "$(gx "ip -n n0 -o link show" | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check "kuryrctl trunk create on the VM's port" ctl trunk create vm1 --name vmtrunk

# ---- a bare-metal container on the VM's network ----
pod c1
cni ADD "$P-c1" eth0 "$NSPATH" "$(netconf net1)"
check_eq "a bare-metal container joins net1" 0 "$RC"
C1_IP=$(jget '["ips"][0]["address"]')
C1_IP=${C1_IP%/*}

# ---- two nested containers on net1 ----
gx "ip netns add n1 && ip netns add n2 && ip -n n1 link set lo up && ip -n n2 link set lo up"
gcni ADD "$P-n1" n1 "$(gnetconf net1)"
check_eq "nested ADD n1 succeeds" 0 "$RC"
[ "$RC" = 0 ] || { diag <<<"$OUT"; gx "tail -n 20 /tmp/kuryrd.log" | diag; }
N1_IP=$(jget '["ips"][0]["address"]')
N1_IP=${N1_IP%/*}
N1_MAC=$(jget '["interfaces"][1]["mac"]')
gcni ADD "$P-n2" n2 "$(gnetconf net1)"
check_eq "nested ADD n2 succeeds" 0 "$RC"
N2_IP=$(jget '["ips"][0]["address"]')
N2_IP=${N2_IP%/*}
N1_PORT=$(gport "$P-n1")
N2_PORT=$(gport "$P-n2")
read -r p1 t1 <<<"$(child "$N1_PORT")"
read -r p2 t2 <<<"$(child "$N2_PORT")"
check_eq "OVN NB: n1's port is a child of the VM's port" vm1 "$p1"
check_eq "OVN NB: n2's port is a child of the VM's port" vm1 "$p2"
check "OVN NB: n1 and n2 have different VLAN ids ($t1, $t2)" test "$t1" != "$t2" -a -n "$t1" -a -n "$t2"
check_eq "the trunk lists both subports" "$(printf '%s\n' "$N1_PORT:$t1" "$N2_PORT:$t2" | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(ctl -o json trunk show vmtrunk | python3 -c 'import json,sys; print(" ".join(sorted("%s:%d" % (s["port"], s["vlan"]) for s in json.load(sys.stdin)["subports"])))')"
DEV=$(gx "ip -n n1 -d -o link show eth0")
check "in the guest: n1's eth0 is a VLAN $t1 of the NIC with the port's MAC" \
	grep -Eq "link/ether $N1_MAC .*vlan protocol 802.1Q id $t1 " <<<"$DEV"
check_eq "in the guest: the NIC's VLAN devices are all in pod netns (none left in the guest's own)" "" \
	"$(gx "ip -o link show type vlan")"

# ---- packets ----
hostns python3 "$FRAMES" frames "$TAP" 8 >"$T/frames.out" 2>&1 &
cap=$!
for _ in $(seq 50); do grep -q listening "$T/frames.out" && break; sleep 0.1; done
check "nested n1 reaches nested n2" gx "ip netns exec n1 ping -c 2 -W 5 $N2_IP"
check "nested n1 reaches the bare-metal container" gx "ip netns exec n1 ping -c 2 -W 5 $C1_IP"
check "the bare-metal container reaches nested n2" ip netns exec "$P-c1" busybox ping -c 2 -W 5 "$N2_IP"
check "nested n1 reaches the VM itself" gx "ip netns exec n1 ping -c 2 -W 5 $VM_IP"
wait "$cap"
check "on the tap: n1's frames to n2 left the guest with exactly one 802.1Q header, VLAN $t1" \
	grep -q "ip tags=1 vlan=$t1 proto=1 src=$N1_IP dst=$N2_IP udp=0" "$T/frames.out"
check_eq "on the tap: no frame of n1 left untagged or double-tagged" "" \
	"$(grep "src=$N1_IP " "$T/frames.out" | grep -v "tags=1 vlan=$t1 ")"
check_eq "on the tap: no tunnel (VXLAN, Geneve) inside the VM's traffic" "" \
	"$(grep -E 'udp=(4789|6081|8472) ' "$T/frames.out")"
check "a VM-less port on net1, plugged into a host netns" vmless_port net1 vl
check "nested n1 reaches the VM-less port" gx "ip netns exec n1 ping -c 2 -W 5 $VMLESS_IP"
check "the VM-less port reaches nested n2" ip netns exec "$P-vl" busybox ping -c 2 -W 5 "$N2_IP"
check "kuryrctl vm unplug the VM-less port" ctl vm unplug "$P-vl"
check "kuryrctl port delete the VM-less port" ctl port delete "$P-vl"
ip netns del "$P-vl" # and its veth with it

# ---- DEL ----
gcni DEL "$P-n1" n1 "$(gnetconf net1)"
check_eq "nested DEL n1 succeeds" 0 "$RC"
check_eq "OVN NB: n1's port is gone" "" "$(nbctl --bare --columns=name find Logical_Switch_Port name="$N1_PORT")"
check_eq "in the guest: n1 has only lo" "lo" "$(gx "ip -n n1 -o link show" | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check_eq "the trunk keeps n2 only" "$N2_PORT:$t2" \
	"$(ctl -o json trunk show vmtrunk | python3 -c 'import json,sys; print(" ".join("%s:%d" % (s["port"], s["vlan"]) for s in json.load(sys.stdin)["subports"]))')"

# ---- VLAN ids: one taken behind kuryrd's back is skipped ----
ctl port create --network net2 --name op1 >/dev/null
check "an operator adds a subport with n1's freed VLAN $t1" ctl trunk add-subport vmtrunk op1 "$t1"
gx "ip netns add n3 && ip -n n3 link set lo up"
gcni ADD "$P-n3" n3 "$(gnetconf net1)"
check_eq "nested ADD n3 succeeds" 0 "$RC"
read -r _ t3 <<<"$(child "$(gport "$P-n3")")"
check "n3's VLAN ($t3) is neither the operator's nor n2's" test "$t3" != "$t1" -a "$t3" != "$t2"
N3_IP=$(jget '["ips"][0]["address"]')
check "nested n3 reaches the bare-metal container" gx "ip netns exec n3 ping -c 2 -W 5 $C1_IP"

# ---- ADDs at once never share an id ----
gx "for i in 4 5 6 7; do ip netns add n\$i; done
	for i in 4 5 6 7; do
		(printf '%s' '$(gnetconf net2)' | CNI_COMMAND=ADD CNI_CONTAINERID=$P-n\$i CNI_IFNAME=eth0 \
			CNI_NETNS=/run/netns/n\$i CNI_PATH=/usr/bin kuryr-cni >/tmp/add\$i.out; echo \$? >/tmp/add\$i.rc) &
	done
	wait"
check_eq "four ADDs at once all succeed" "0 0 0 0" "$(gx 'cat /tmp/add4.rc /tmp/add5.rc /tmp/add6.rc /tmp/add7.rc' | tr '\n' ' ' | sed 's/ $//')"
check_eq "every subport of the trunk has its own VLAN id ($(tags))" "$(tags | wc -w)" "$(tags | tr " " "\n" | sort -u | grep -c .)"

# ---- a security group on a nested container ----
ctl security-group create web >/dev/null
ctl security-group rule-add web --protocol tcp --port 8080 >/dev/null
gx "ip netns add n8 && ip -n n8 link set lo up"
gcni ADD "$P-n8" n8 "$(gnetconf net1 '"security_groups":["web"]')"
check_eq "nested ADD with security group web" 0 "$RC"
N8_IP=$(jget '["ips"][0]["address"]')
N8_IP=${N8_IP%/*}
check_eq "OVN NB: n8's port is in web's Port_Group" "1" \
	"$(nbctl --bare --columns=ports find Port_Group "external_ids:\"kuryr:sg_name\"=web" | grep -c "$(nbctl --bare --columns=_uuid find Logical_Switch_Port name="$(gport "$P-n8")")")"
gx "printf '#!/bin/sh\nread l; echo echo:\$l\n' >/tmp/echo.sh && chmod +x /tmp/echo.sh
	for p in 8080 9090; do ip netns exec n8 timeout 20 nc -ll -p \$p -e /tmp/echo.sh >/dev/null 2>&1 </dev/null & done"
sleep 1
check_eq "TCP to the nested container's 8080 passes (the group's rule)" open \
	"$(ip netns exec "$P-c1" python3 "$SRC/tests/e2e/tcp-probe.py" connect "$N8_IP" 8080 5)"
check_eq "TCP to its 9090 is dropped" timeout \
	"$(ip netns exec "$P-c1" python3 "$SRC/tests/e2e/tcp-probe.py" connect "$N8_IP" 9090 2)"
gcni DEL "$P-n8" n8 "$(gnetconf net1 '"security_groups":["web"]')"
check_eq "nested DEL n8" 0 "$RC"

# ---- a QoS policy on a nested container: its DSCP mark ----
ctl qos create af31 --dscp 26 >/dev/null
gx "ip netns add nq && ip -n nq link set lo up"
gcni ADD "$P-nq" nq "$(gnetconf net1 '"qos_policy":"af31"')"
check_eq "nested ADD with QoS policy af31 (DSCP 26)" 0 "$RC"
NQ_IP=$(jget '["ips"][0]["address"]')
NQ_IP=${NQ_IP%/*}
ip netns exec "$P-c1" python3 "$FRAMES" frames eth0 6 >"$T/dscp.out" 2>&1 &
cap=$!
for _ in $(seq 50); do grep -q listening "$T/dscp.out" && break; sleep 0.1; done
gx "ip netns exec nq ping -c 2 -W 3 $C1_IP" >/dev/null
wait "$cap"
check "the bare-metal container receives the nested container's packets marked DSCP 26 (TOS 104)" \
	grep -q "src=$NQ_IP dst=$C1_IP udp=0 tos=104" "$T/dscp.out"
gcni DEL "$P-nq" nq "$(gnetconf net1 '"qos_policy":"af31"')"
check_eq "nested DEL nq" 0 "$RC"
ctl qos delete af31 >/dev/null

# ---- through a router, to another network ----
pod c2
cni ADD "$P-c2" eth0 "$NSPATH" "$(netconf net2)"
C2_IP=$(jget '["ips"][0]["address"]')
C2_IP=${C2_IP%/*}
check "nested n3 cannot reach net2 without a router" bash -c "! '$SRC/scripts/vm.sh' exec '$VMDIR' 'ip netns exec n3 ping -c 1 -W 2 $C2_IP'"
ctl router create r1 >/dev/null
ctl router add-subnet r1 net1 >/dev/null
ctl router add-subnet r1 net2 >/dev/null
check "nested n3 (net1) reaches a bare-metal container on net2 through router r1" \
	gx "ip netns exec n3 ping -c 2 -W 5 $C2_IP"

# ---- one service: a container, the VM and a nested container behind one VIP ----
check "loadbalancer create lb1 on net1" ctl loadbalancer create lb1 --network net1
check "pool-create lb1 web --protocol tcp --port 8080" \
	ctl loadbalancer pool-create lb1 web --protocol tcp --port 8080
VIP=$(ctl -o json loadbalancer show lb1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["vip"])')
ip netns exec "$P-c1" python3 "$SRC/tests/e2e/lb-probe.py" serve tcp 8080 c1 >"$T/lb-c1" 2>&1 &
_probe_servers+=($!)
gx "printf '#!/bin/sh\nread l; echo vm\n' >/tmp/vm.sh && printf '#!/bin/sh\nread l; echo n3\n' >/tmp/n3.sh &&
	chmod +x /tmp/vm.sh /tmp/n3.sh
	timeout 60 nc -ll -p 8080 -e /tmp/vm.sh >/dev/null 2>&1 </dev/null &
	ip netns exec n3 timeout 60 nc -ll -p 8080 -e /tmp/n3.sh >/dev/null 2>&1 </dev/null &"
check "member-add web --container $P-c1 (bare metal)" ctl loadbalancer member-add web --container "$P-c1"
check "member-add web --port vm1 (the VM)" ctl loadbalancer member-add web --port vm1
check "member-add web --address ${N3_IP%/*} (the nested container)" ctl loadbalancer member-add web --address "${N3_IP%/*}"
check_eq "OVN NB: the pool's VIP entry has the container, the VM and the nested container" \
	"$(printf '%s\n' "$C1_IP:8080" "$VM_IP:8080" "${N3_IP%/*}:8080" | sort | paste -sd,)" \
	"$(nbctl get Load_Balancer web vips | python3 -c 'import sys,re; m=re.search(r"=\"([^\"]*)\"", sys.stdin.read()); print(",".join(sorted(m.group(1).split(","))) if m else "")')"
pod c3
cni ADD "$P-c3" eth0 "$NSPATH" "$(netconf net1)"
# A veth left to offload its TCP checksums would have the userspace
# datapath NAT them into wrong ones, which the VM's NIC drops: the binding
# turns the offload off on a netdev bridge, and a stock client is answered.
check_eq "the client's eth0 does not offload transmit checksums (the bridge is netdev)" off \
	"$(ip netns exec "$P-c3" python3 "$SRC/tests/e2e/lb-probe.py" txcsum eth0)"
got=$(ip netns exec "$P-c3" python3 "$SRC/tests/e2e/lb-probe.py" hits tcp "$VIP" 8080 30 2)
check_eq "30 connections from a client to VIP:8080: the container, the VM and the nested container all answer" \
	"c1 n3 vm" "$(tr ' ' '\n' <<<"$got" | grep -v '^none:' | cut -d: -f1 | paste -sd' ')"
diag <<<"spread: $got"
check "loadbalancer delete lb1" ctl loadbalancer delete lb1
cni DEL "$P-c3" eth0 "/run/netns/$P-c3" "$(netconf net1)"

# ---- bad input ----
ctl network create big --subnet 10.93.9.0/24 --mtu 9000 >/dev/null
gx "ip netns add nb && ip -n nb link set lo up"
before=$(nbctl --bare --columns=name list Logical_Switch_Port | sort)
gcni ADD "$P-nb" nb "$(gnetconf big)"
check_eq "a network MTU above the VM's NIC is CNI error 7" 7 "$(jget '["code"]' 2>/dev/null)"
check "... naming the NIC and both MTUs" grep -q "9000 is above eth0" <<<"$OUT"
check_eq "... and nothing is left in NB" "$before" "$(nbctl --bare --columns=name list Logical_Switch_Port | sort)"
check_eq "... nor in the pod netns" "lo" "$(gx "ip -n nb -o link show" | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')"

# ---- the control plane unreachable from the guest ----
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd starts in the guest with a Northbound that nothing forwards" \
	guest_kuryrd "$VMDIR" "${GUEST_CONF/tcp:10.0.2.100:6641/tcp:10.0.2.100:6699}"
gx "ip netns add nu && ip -n nu link set lo up"
before=$(nbctl --bare --columns=name list Logical_Switch_Port | sort)
gcni ADD "$P-nu" nu "$(gnetconf net1)"
check_eq "nested ADD with OVN NB unreachable is CNI error 11 (try again)" 11 "$(jget '["code"]' 2>/dev/null)"
check_eq "... and leaves nothing in NB" "$before" "$(nbctl --bare --columns=name list Logical_Switch_Port | sort)"
check_eq "... nor in the pod netns" "lo" "$(gx "ip -n nu -o link show" | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check_eq "... nor a row in the guest's store" "" "$(gx "kuryrctl -o json attachment list" | grep -o "$P-nu")"
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd restarts in the guest on the real Northbound, its attachments kept" \
	guest_kuryrd "$VMDIR" "$GUEST_CONF"

# ---- the guest's kuryrd SIGKILLed in the middle of an ADD ----
# With the VM's tap off the bridge its subports never come up: the ADD
# waits, with its subport and its device made, and is killed there.
ctl vm unplug "$TAP" >/dev/null
trunk_before=$(tags)
gx "ip netns add nk && ip -n nk link set lo up
	(printf '%s' '$(gnetconf net1)' | CNI_COMMAND=ADD CNI_CONTAINERID=$P-nk CNI_IFNAME=eth0 \
		CNI_NETNS=/run/netns/nk CNI_PATH=/usr/bin kuryr-cni >/tmp/addk.out 2>&1; echo \$? >/tmp/addk.rc) </dev/null >/dev/null 2>&1 3>&- &"
for _ in $(seq 100); do [ -n "$(gport "$P-nk")" ] && [ "$(child "$(gport "$P-nk")" | cut -d' ' -f1)" = vm1 ] && break; sleep 0.2; done
NK_PORT=$(gport "$P-nk")
check_eq "the ADD got as far as its subport" vm1 "$(child "$NK_PORT" | cut -d' ' -f1)"
for _ in $(seq 50); do gx "ip -n nk -o link show type vlan" | grep -q . && break; sleep 0.2; done
check "... and its VLAN device in the pod" gx "ip -n nk -o link show type vlan | grep -q ."
gx 'kill -KILL $(cat /run/kuryrd.pid)' >/dev/null
for _ in $(seq 50); do gx "test -f /tmp/addk.rc" && break; sleep 0.2; done
check "kuryr-cni fails when the guest's kuryrd dies under it" gx 'test "$(cat /tmp/addk.rc)" != 0'
check "kuryrd restarts in the guest after SIGKILL" guest_kuryrd "$VMDIR" "$GUEST_CONF"
check_eq "the half-done ADD is rolled back: its port is gone from NB" "" "$(gport "$P-nk")"
check_eq "... and nothing of it is left on the trunk" "$trunk_before" "$(tags)"
gcni DEL "$P-nk" nk "$(gnetconf net1)"
check_eq "the runtime's DEL after the failed ADD succeeds" 0 "$RC"
check_eq "... and takes the VLAN device out of the pod" "lo" \
	"$(gx "ip -n nk -o link show" | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check_eq "... and the guest's store has no row of it" "" "$(gx "kuryrctl -o json attachment list" | grep -o "$P-nk")"
check "kuryrctl vm plug the VM's tap again" ctl vm plug "$TAP" vm1

# ---- pools per trunk: entries are subports ahead of time ----
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
POOL_CONF="${GUEST_CONF/enabled = false/enabled = true
ports_pool_min = 3
ports_pool_batch = 3}"
check "kuryrd restarts in the guest with pools" guest_kuryrd "$VMDIR" "$POOL_CONF"
gx "kuryrctl pool populate net2" >/dev/null
# pool_ports: the guest's pool ports on net2 in NB, with their tags.
pool_ports() {
	nbctl --format=csv --no-headings --columns=name,parent_name,tag find Logical_Switch_Port \
		"external_ids:\"kuryr:device_owner\"=pool" | tr -d '"' | sort
}
for _ in $(seq 100); do [ "$(pool_ports | grep -c ',vm1,')" -ge 3 ] && break; sleep 0.2; done
check_eq "the pool's three entries are subports of the VM's trunk, each with a VLAN id" 3 \
	"$(pool_ports | grep -Ec ',vm1,[0-9]+$')"
# nb_records UUID...: how many records of NB's database file (each one
# committed transaction) make these rows children of vm1.
nb_records() {
	python3 - "$RUN/ovn/nb.db" "$@" <<-'PY'
		import json, sys
		want, n, i, data = set(sys.argv[2:]), 0, 0, open(sys.argv[1], "rb").read()
		while data.startswith(b"OVSDB ", i):
		    nl = data.index(b"\n", i)
		    size = int(data[i:nl].split()[2])
		    rec, i = json.loads(data[nl + 1:nl + 1 + size]), nl + 1 + size
		    while data[i:i + 1] == b"\n":
		        i += 1
		    rows = rec.get("Logical_Switch_Port", {}) if isinstance(rec, dict) else {}
		    n += any(u in want and isinstance(r, dict) and r.get("parent_name") == "vm1"
		             for u, r in rows.items())
		print(n)
	PY
}
check_eq "... put on the trunk together: one NB transaction" 1 \
	"$(nb_records $(nbctl --bare --columns=_uuid find Logical_Switch_Port "external_ids:\"kuryr:device_owner\"=pool"))"
check_eq "every subport of the trunk still has its own VLAN id ($(tags))" "$(tags | wc -w)" "$(tags | tr " " "\n" | sort -u | grep -c .)"
gx "ip netns add np && ip -n np link set lo up"
gcni ADD "$P-np" np "$(gnetconf net2)"
check_eq "nested ADD from the pool" 0 "$RC"
NP_MAC=$(jget '["interfaces"][1]["mac"]')
NP_PORT=$(pool_ports | while IFS=, read -r n _ t; do
	[ "$(nbctl get Logical_Switch_Port "$n" addresses | tr -d '[]"' | cut -d' ' -f1)" = "$NP_MAC" ] && echo "$n $t"; done)
read -r np_port np_tag <<<"$NP_PORT"
check "the container got one of the pool's subports ($np_port, VLAN $np_tag)" test -n "$np_port" -a -n "$np_tag"
check "... and its eth0 is a VLAN $np_tag device with that port's MAC" \
	grep -Eq "link/ether $NP_MAC .*vlan protocol 802.1Q id $np_tag " <<<"$(gx "ip -n np -d -o link show eth0")"
check "the pooled nested container reaches the bare-metal container c2 on net2" \
	gx "ip netns exec np ping -c 2 -W 5 $C2_IP"
gcni DEL "$P-np" np "$(gnetconf net2)"
check_eq "nested DEL of the pooled container" 0 "$RC"
check_eq "... its device is gone" "lo" "$(gx "ip -n np -o link show" | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
check "... and its subport stays on the trunk for the pool" grep -q "^$np_port,vm1,$np_tag$" <<<"$(pool_ports)"
# The refill the hit started, done.
for _ in $(seq 100); do
	[ "$(gx "kuryrctl -o json pool list" | python3 -c 'import json,sys; print(sum(p["creating"] for p in json.load(sys.stdin)))')" = 0 ] && break
	sleep 0.2
done
before=$(pool_ports)
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd restarts in the guest with pools" guest_kuryrd "$VMDIR" "$POOL_CONF"
check_eq "after the restart the pool is rebuilt from the trunk's subports (no port made or lost)" \
	"$(grep -c . <<<"$before") ready" \
	"$(gx "kuryrctl -o json pool list" | python3 -c 'import json,sys; print(sum(p["ready"] for p in json.load(sys.stdin) if p["network"] == "net2"), "ready")')"
check_eq "... with the same subports" "$before" "$(pool_ports)"
gx "kuryrctl pool free net2" >/dev/null
for _ in $(seq 50); do [ -z "$(pool_ports)" ] && break; sleep 0.2; done
check_eq "pool free deletes the pool's subports and ports" "" "$(pool_ports)"
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"

# ---- link_iface naming no device: a clear error, nothing made ----
check "kuryrd restarts in the guest with link_iface = eth9 (there is none)" \
	guest_kuryrd "$VMDIR" "${GUEST_CONF/link_iface = eth0/link_iface = eth9}"
gx "ip netns add nx && ip -n nx link set lo up"
before=$(nbctl --bare --columns=name list Logical_Switch_Port | sort)
gcni ADD "$P-nx" nx "$(gnetconf net1)"
check_eq "nested ADD with link_iface missing fails with error 103" "1 103" "$RC $(jget '["code"]' 2>/dev/null)"
check "... naming link_iface eth9" grep -q "link_iface eth9: no such device" <<<"$OUT"
check_eq "... leaving no port in NB" "$before" "$(nbctl --bare --columns=name list Logical_Switch_Port | sort)"
check_eq "... and only lo in the pod" "lo" "$(gx "ip -n nx -o link show" | awk -F': ' '{print $2}' | tr '\n' ' ' | sed 's/ $//')"
gcni DEL "$P-nx" nx "$(gnetconf net1)"
check_eq "... and its DEL succeeds" 0 "$RC"
check "the guest's kuryrd stops cleanly" guest_kuryrd_stop "$VMDIR"
check "kuryrd restarts in the guest without pools" guest_kuryrd "$VMDIR" "$GUEST_CONF"

# ---- all gone ----
for i in 2 3 4 5 6 7; do
	net=net2
	[ "$i" -le 3 ] && net=net1
	gcni DEL "$P-n$i" "n$i" "$(gnetconf $net)"
	check_eq "nested DEL n$i" 0 "$RC"
done
check_eq "the trunk keeps the operator's subport only" "op1:$t1" \
	"$(ctl -o json trunk show vmtrunk | python3 -c 'import json,sys; print(" ".join("%s:%d" % (s["port"], s["vlan"]) for s in json.load(sys.stdin)["subports"]))')"
check_eq "in the guest: no VLAN device anywhere" "" \
	"$(gx 'ip -o link show type vlan; for n in $(ip netns list | cut -d" " -f1); do ip -n $n -o link show type vlan; done')"
check "the guest's kuryrd exits cleanly on SIGTERM" guest_kuryrd_stop "$VMDIR"
{ ctl router remove-subnet r1 net1 && ctl router remove-subnet r1 net2 && ctl router delete r1; } >/dev/null
cni DEL "$P-c2" eth0 /run/netns/$P-c2 "$(netconf net2)" >/dev/null
ctl security-group delete web >/dev/null
ctl trunk remove-subport vmtrunk op1 >/dev/null
ctl port delete op1 >/dev/null
cni DEL "$P-c1" eth0 /run/netns/$P-c1 "$(netconf net1)" >/dev/null
ctl vm unplug "$TAP" >/dev/null
"$SRC/scripts/vm.sh" stop "$VMDIR" >/dev/null
ctl trunk delete vmtrunk >/dev/null
ctl port delete vm1 >/dev/null
assert_clean "end"
