#!/bin/bash
# Backend "neutron" against a real neutron-server (OpenStack Zed, ML2/OVN on
# the same OVN): containers attached through kuryr-cni get real Neutron
# ports that go ACTIVE and carry traffic; a VM port made with the openstack
# CLI is plugged beside them; DEL gives the ports back; failures leave
# nothing behind.
NEUTRON=true
BACKEND=neutron
. "$(dirname "$0")/lib.sh"
env_up
HOST=kuryr-$(hostname)-$HOSTNS

jq1() { python3 -c "import json,sys; d=json.load(sys.stdin); v=eval('d' + sys.argv[1]); print(json.dumps(v) if isinstance(v, (dict, list)) else v)" "$1"; }
kuryr_ports() { nq GET "/ports?device_owner=compute:kuryr" | jq1 '["ports"].__len__()'; }

check "kuryrctl creates a network in Neutron" ctl network create nnet --subnet 10.62.0.0/24
net_id=$(nq GET "/networks?name=nnet" | jq1 '["networks"][0]["id"]')
check_eq "Neutron has the network with its IPv4 subnet" "10.62.0.0/24 10.62.0.1" \
	"$(nq GET "/subnets?network_id=$net_id" | jq1 '["subnets"][0]["cidr"]') $(nq GET "/subnets?network_id=$net_id" | jq1 '["subnets"][0]["gateway_ip"]')"
C=$(netconf nnet)

declare -A IP
for i in 1 2; do
	pod c$i
	cni ADD "$P-ctr$i" eth0 "$NSPATH" "$C"
	check_eq "ADD container $i on Neutron succeeds" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; continue; }
	IP[$i]=$(jget '["ips"][0]["address"]')
	mac=$(jget '["interfaces"][1]["mac"]')
	port=$(nq GET "/ports?device_id=$P-ctr$i" | jq1 '["ports"][0]')
	check_eq "Neutron port $i: compute:kuryr, this host, ACTIVE" "compute:kuryr $HOST ACTIVE" \
		"$(jq1 '["device_owner"]' <<<"$port") $(jq1 '["binding:host_id"]' <<<"$port") $(jq1 '["status"]' <<<"$port")"
	check_eq "Neutron port $i: the MAC and IP the container has" \
		"$(jq1 '["mac_address"]' <<<"$port") $(jq1 '["fixed_ips"][0]["ip_address"]' <<<"$port")" \
		"$(ip -n "$P-c$i" -j link show eth0 | jq1 '[0]["address"]') $(ip -n "$P-c$i" -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)"
	check_eq "result $i: the network's MTU from Neutron" 1442 "$(jget '["interfaces"][1]["mtu"]')"
	check_eq "OVSDB $i: iface-id is the Neutron port id" "$(jq1 '["id"]' <<<"$port")" \
		"$(vsctl get Interface "$(jget '["interfaces"][0]["name"]')" external_ids:iface-id | tr -d '"')"
done
check "container 1 reaches container 2 through ML2/OVN" \
	ip netns exec "$P-c1" busybox ping -c 1 -W 2 "${IP[2]%/*}"
ip netns exec "$P-c1" busybox nc -l -p 5557 >"$T/tcp.out" &
ncpid=$!
sleep 0.2
echo "over-neutron" | ip netns exec "$P-c2" busybox nc -w 2 "${IP[1]%/*}" 5557
wait "$ncpid"
check_eq "TCP from container 2 to container 1" "over-neutron" "$(cat "$T/tcp.out")"

# A VM's port, made with the real openstack CLI, plugged beside them.
TAP=$P-tap
ip -n "$HOSTNS" tuntap add "$TAP" mode tap
vm_port=$(hostns env OS_AUTH_TYPE=none OS_ENDPOINT=http://127.0.0.1:19696 \
	openstack port create --network "$net_id" --host "$HOST" -f value -c id vm-port 2>"$T/os.err")
check "openstack port create" test -n "$vm_port"
cat "$T/os.err" | diag
OUT=$(ctl -o json vm plug "$TAP" "$vm_port"); RC=$?
check_eq "kuryrctl vm plug of the CLI's port" 0 "$RC"
check_eq "Neutron shows the VM port ACTIVE" ACTIVE "$(nq GET "/ports/$vm_port" | jq1 '["port"]["status"]')"
check_eq "kuryrctl port list shows both containers and the VM" "container container vm" \
	"$(ctl -o json port list --network nnet | python3 -c 'import json,sys; print(" ".join(sorted(p["owner"] for p in json.load(sys.stdin))))')"
check "kuryrctl vm unplug" ctl vm unplug "$TAP"
nq DELETE "/ports/$vm_port" >/dev/null 2>&1

for i in 1 2; do
	cni DEL "$P-ctr$i" eth0 "/run/netns/$P-c$i" "$C"
	check_eq "DEL container $i" 0 "$RC"
done
check_eq "Neutron: the container ports are gone" 0 "$(kuryr_ports)"
assert_clean "after DEL"

# Pools on Neutron: one bulk POST fills the pool, pre-wired entries serve
# ADD with no Neutron call, and freeing the pool deletes the ports.
stop_kuryrd
printf '[vif_pool]\nenabled = true\nprewire = true\nports_pool_min = 3\nports_pool_batch = 3\n' >>"$T/kuryr.conf"
start_kuryrd
check "kuryrctl pool populate on Neutron" ctl pool populate nnet
check_eq "Neutron: 3 pool ports of this host, no device_id" "3" \
	"$(nq GET "/ports?device_owner=compute:kuryr&binding:host_id=$HOST&device_id=" | jq1 '["ports"].__len__()')"
check_eq "and they are ACTIVE (plugged, parked)" "ACTIVE ACTIVE ACTIVE" \
	"$(nq GET "/ports?device_owner=compute:kuryr" | python3 -c 'import json,sys; print(" ".join(p["status"] for p in json.load(sys.stdin)["ports"]))')"
cni ADD "$P-p1" eth0 "/run/netns/$P-c1" "$C"
check_eq "ADD from the Neutron pool" "0 1" \
	"$RC $(ctl -o json pool list --network nnet | jq1 '[0]["hits"]')"
pip=$(jget '["ips"][0]["address"]')
cni ADD "$P-p2" eth0 "/run/netns/$P-c2" "$C"
check "two pool containers talk through ML2/OVN" \
	ip netns exec "$P-c2" busybox ping -c 1 -W 2 "${pip%/*}"
cni DEL "$P-p1" eth0 "/run/netns/$P-c1" "$C"
cni DEL "$P-p2" eth0 "/run/netns/$P-c2" "$C"
check "kuryrctl pool free" ctl pool free nnet
check_eq "Neutron: no container or pool ports left" 0 "$(kuryr_ports)"
assert_clean "after the pool"

# Failures: nothing left behind, in Neutron or on the node.
cni ADD "$P-x" eth0 "/run/netns/$P-c1" "$(netconf nosuchnet)"
check_eq "unknown network: error 7" "1 7" "$RC $(jget '["code"]')"
# This node claims a host name no chassis has: Neutron cannot bind the port
# for OVS, and kuryrd refuses it with an error naming the vif_type.
stop_kuryrd
printf '[DEFAULT]\nhost = kct-no-such-chassis\n[vif_pool]\nenabled = false\n' >>"$T/kuryr.conf"
start_kuryrd
cni ADD "$P-x" eth0 "/run/netns/$P-c1" "$C"
check_eq "a port Neutron cannot bind for OVS: error 103" "1 103" "$RC $(jget '["code"]')"
check "... naming the vif_type" grep -q 'vif_type' <<<"$(jget '["details"]')"
check_eq "... and the port is gone from Neutron" 0 "$(kuryr_ports)"
check_eq "... and nothing is left on the node" "" "$(ip -n "$P-c1" -o link show type veth)"

"$SRC/scripts/neutron.sh" stop-server "$RUN" 2>>"$T/neutron.log"
cni ADD "$P-x" eth0 "/run/netns/$P-c1" "$C"
check_eq "neutron-server stopped: error 11" "1 11" "$RC $(jget '["code"]')"
check_eq "neutron-server stopped: no veth left" "" "$(ip -n "$HOSTNS" -o link show type veth)"
check_eq "neutron-server stopped: no row left" 0 "$(store_sql 'select count(*) from attachments')"
