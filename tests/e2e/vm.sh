#!/bin/bash
# A VM's port on the same network as containers: kuryrctl creates it and
# plugs the hypervisor's tap device into br-int the way os-vif does; OVN
# then shows the port bound and up, and a real VM (QEMU) on that tap
# exchanges packets with a container. The VM's management NIC reaches OVN
# Northbound, forwarded to it, and nothing else; Kuryr-C's binaries run in
# the guest.
. "$(dirname "$0")/lib.sh"
env_up
ctl network create net1 --subnet 10.82.0.0/24 >/dev/null
TAP=$P-tap
NB_FWD=6641   # the guest's 10.0.2.100:6641 is OVN Northbound's socket
LEAK_PORT=17777
vmx() { "$SRC/scripts/vm.sh" exec "$T/vm" "$@"; }

OUT=$(ctl -o json port create --network net1 --name vm1 --device-id vm-one); RC=$?
check_eq "kuryrctl port create for a VM" 0 "$RC"
VM_IP=$(jget '["ip"]')
# The VM boots (QEMU makes its tap) while the port is checked.
VM_MAC=$(jget '["mac"]')
VM_FORWARD="$NB_FWD=unix:$RUN/ovn/nb.sock" KURYR_BUILD=$BUILD \
	"$SRC/scripts/vm.sh" start "$T/vm" "$TAP" "$VM_MAC" "$HOSTNS" >"$T/vm-start.log" 2>&1 &
vmstart=$!
check_eq "OVN NB: the VM port has an address from the subnet" "10.82.0." \
	"$(nbctl get Logical_Switch_Port vm1 dynamic_addresses | tr -d '"' | awk '{print $2}' | cut -d. -f1-3)."
check_eq "OVN NB: the VM port is owned by a vm" "vm" \
	"$(nbctl get Logical_Switch_Port vm1 external_ids:\"kuryr:device_owner\" | tr -d '"')"
wait "$vmstart"
check "the VM boots (QEMU, Debian's kernel)" test $? = 0
diag <"$T/vm-start.log"

# shellcheck disable=SC2016 # expanded in the guest
check_eq "the guest's eth0 is the data NIC (PCI 00:03.0) with the port's MAC" \
	"0000:00:03.0 $VM_MAC" "$(vmx 'echo $(basename $(readlink -f /sys/class/net/eth0/device/..)) $(cat /sys/class/net/eth0/address)')"
# shellcheck disable=SC2016
check_eq "the guest's eth1 is the management NIC (PCI 00:04.0), 10.0.2.15/24" \
	"0000:00:04.0 10.0.2.15/24" "$(vmx 'echo $(basename $(readlink -f /sys/class/net/eth1/device/..)) $(ip -o -4 addr show dev eth1 | awk "{print \$4}")')"
check_eq "... and gives the guest no default route" "" "$(vmx ip route show default)"
OUT=$(vmx "echo '{\"method\":\"list_dbs\",\"params\":[],\"id\":0}' | timeout 20 nc 10.0.2.100 $NB_FWD")
check_eq "the guest asks OVN Northbound over the management NIC (OVSDB list_dbs)" \
	"OVN_Northbound" "$(python3 -c 'import json,sys; print(" ".join(d for d in json.load(sys.stdin)["result"] if d != "_Server"))' <<<"$OUT" 2>&1)"
# restrict=on: without it, the guest's 10.0.2.2 would be this loopback.
# (nsenter execs socat: $! is the listener's pid.)
nsenter --net=/run/netns/"$HOSTNS" socat -u TCP-LISTEN:$LEAK_PORT,bind=127.0.0.1,reuseaddr,fork "OPEN:$T/leak.out,creat,append" &
leakpid=$!
for _ in $(seq 50); do hostns socat -u - TCP:127.0.0.1:$LEAK_PORT <<<probe 2>/dev/null && break; sleep 0.1; done
check "the guest cannot reach the host's loopback (10.0.2.2:$LEAK_PORT)" \
	vmx "! echo leak | timeout 20 nc -w 3 10.0.2.2 $LEAK_PORT"
check "... nor 10.0.2.100 on a port not forwarded" \
	vmx "! echo leak | timeout 20 nc -w 3 10.0.2.100 $LEAK_PORT"
check_eq "... and only a client in qemu's netns reached 127.0.0.1:$LEAK_PORT there" \
	"probe" "$(cat "$T/leak.out" 2>/dev/null)"
kill "$leakpid"
wait "$leakpid" 2>/dev/null
for b in kuryrd kuryr-cni kuryrctl; do
	check "$b runs in the guest (--version)" vmx "$b --version"
done
check_eq "kuryr-cni in the guest answers CNI's VERSION command" "1.1.0" \
	"$(vmx 'CNI_COMMAND=VERSION kuryr-cni </dev/null' | python3 -c 'import json,sys; print(json.load(sys.stdin)["cniVersion"])' 2>&1)"
# No binding driver runs in the guest yet: kuryrd there only reads its
# config and stops at what it does not know.
guest_kuryrd "$T/vm" "$(printf '[DEFAULT]\nbackend = %s-nosuch\n' "$P")" >"$T/guest-kuryrd.out" 2>&1
check_eq "guest_kuryrd: kuryrd in the guest refuses an unknown backend" 1 "$?"
check_eq "... from the config guest_kuryrd wrote there" "backend = $P-nosuch" \
	"$(vmx 'sed -n 2p /etc/kuryr/kuryr.conf')"
check_eq "... and exits with status 1" 1 "$(vmx 'cat /run/kuryrd.rc')"
OUT=$(ctl -o json vm plug "$TAP" vm1); RC=$?
check_eq "kuryrctl vm plug succeeds" 0 "$RC"
check_eq "kuryrctl vm plug reports the port up" True "$(jget '["up"]')"
check_eq "OVN NB: Logical_Switch_Port up" true "$(nbctl get Logical_Switch_Port vm1 up)"
check_eq "OVSDB: the tap is on br-int with iface-id and vm-uuid" "vm1 vm-one" \
	"$(vsctl get Interface "$TAP" external_ids:iface-id | tr -d '"') $(vsctl get Interface "$TAP" external_ids:vm-uuid | tr -d '"')"
check_eq "OVN SB: the port is bound to this chassis" "1" \
	"$(ovn-sbctl --db=unix:"$RUN/ovn/sb.sock" --bare --columns=chassis find Port_Binding logical_port=vm1 | grep -c .)"

pod c1
cni ADD "$P-ctr1" eth0 "$NSPATH" "$(netconf net1)"
check_eq "a container joins the VM's network" 0 "$RC"
CIP=$(jget '["ips"][0]["address"]')
vm_talks "$T/vm" "$VM_IP/24" 1500 "$P-c1" "${CIP%/*}"
check_eq "kuryrctl port list shows the VM and the container port" "container vm" \
	"$(ctl -o json port list --network net1 | python3 -c 'import json,sys; print(" ".join(sorted(p["owner"] for p in json.load(sys.stdin))))')"
ctl network list >"$T/list.out"
check "kuryrctl network list prints a table" grep -Eq '^NAME +SUBNET.*' "$T/list.out"

ctl port delete "$(store_sql 'select port from attachments')" 2>"$T/err"; RC=$?
check_eq "kuryrctl refuses to delete a container's port" 1 "$RC"
check "... and says why" grep -q "belongs to a container" "$T/err"
ctl vm plug "$P-nosuchtap" vm1 2>"$T/err"; RC=$?
check_eq "vm plug of a missing tap fails" 1 "$RC"
check "... naming the device" grep -q "$P-nosuchtap" "$T/err"
ctl network delete net1 2>/dev/null; RC=$?
check_eq "a network with ports cannot be deleted" 1 "$RC"
ctl network create net1 --subnet 10.83.0.0/24 2>/dev/null; RC=$?
check_eq "a second network with the same name is refused" 1 "$RC"
ctl network create bad --subnet 10.84.0.1/24 2>"$T/err"; RC=$?
check_eq "a subnet with host bits set is refused" 1 "$RC"

check "kuryrctl vm unplug" ctl vm unplug "$TAP"
check_eq "OVSDB: the tap is off br-int" "" "$(vsctl list-ports br-int | grep "$TAP")"
check "with its tap unplugged the VM is cut off" \
	bash -c "! ip netns exec $P-c1 busybox ping -c 1 -W 1 $VM_IP"
"$SRC/scripts/vm.sh" stop "$T/vm"
check "kuryrctl port delete" ctl port delete vm1
check_eq "OVN NB: the VM port is gone" "" "$(nbctl --bare --columns=name find Logical_Switch_Port name=vm1)"
cni DEL "$P-ctr1" eth0 "$NSPATH" "$(netconf net1)"
assert_clean "end"
check "the network can now be deleted" ctl network delete net1
