#!/bin/bash
# Backend "neutron" against a real neutron-server (OpenStack Zed, ML2/OVN on
# the same OVN): containers attached through kuryr-cni get real Neutron
# ports that go ACTIVE and carry traffic; VM ports made with the openstack
# CLI are plugged beside them (one under a real QEMU VM that talks to the
# containers); DEL gives the ports back; kuryrctl sets port security and
# allowed address pairs on them; failures leave nothing behind. A netconf
# may name the network by its id; a name two networks have is refused.
NEUTRON=true
BACKEND=neutron
# No [DEFAULT] host: kuryrd takes the chassis name from Open vSwitch.
KURYR_HOST=
# Everything kuryrd makes carries these; it touches only ports that do.
KURYR_CONF_EXTRA="[neutron_defaults]
resource_tags = kuryr-e2e,node-$$"
TAGS='["kuryr-e2e", "node-'$$'"]'
. "$(dirname "$0")/lib.sh"
env_up
# What ovn-controller registered the chassis as, which ML2/OVN binds to.
HOST=$(vsctl get Open_vSwitch . external_ids:hostname | tr -d '"')
check "Open vSwitch's hostname ($HOST) is not the hostname, kuryr.conf has no host" \
	test -n "$HOST" -a "$HOST" != "$(hostname)" -a -z "$(grep '^host' "$T/kuryr.conf")"
check_eq "the chassis in OVN SB has that hostname" "$HOST" \
	"$(ovn-sbctl --db="unix:$RUN/ovn/sb.sock" --timeout=10 --bare --columns=hostname list Chassis)"

kuryr_ports() { nq GET "/ports?device_owner=compute:kuryr" | jq1 '["ports"].__len__()'; }

check "kuryrctl creates a network in Neutron" ctl network create nnet --subnet 10.62.0.0/24
net_id=$(nq GET "/networks?name=nnet" | jq1 '["networks"][0]["id"]')
check_eq "Neutron has the network with its IPv4 subnet" "10.62.0.0/24 10.62.0.1" \
	"$(nq GET "/subnets?network_id=$net_id" | jq1 '["subnets"][0]["cidr"]') $(nq GET "/subnets?network_id=$net_id" | jq1 '["subnets"][0]["gateway_ip"]')"
check_eq "the network and its subnet carry resource_tags" "$TAGS $TAGS" \
	"$(nq GET "/networks/$net_id" | jq1 '["network"]["tags"]') $(nq GET "/subnets?network_id=$net_id" | jq1 '["subnets"][0]["tags"]')"
C=$(netconf nnet)
# The same network named by its Neutron id.
C_ID=$(netconf nnet | sed "s/\"network\":\"nnet\"/\"network\":\"$net_id\"/")

# A real VM (QEMU) on a port the openstack CLI makes, in the default
# security group, which lets its members (the containers too) reach each
# other. It boots in the background while the containers are tested.
defsg=$(nq GET "/security-groups?project_id=kuryr-e2e&name=default" | jq1 '["security_groups"][0]["id"]')
vm2_id=$(hostns env OS_AUTH_TYPE=none OS_ENDPOINT=http://127.0.0.1:19696 \
	openstack port create --network "$net_id" --host "$HOST" --security-group "$defsg" \
	-f value -c id vm-guest 2>>"$T/os.err")
vm2=$(nq GET "/ports/$vm2_id" | jq1 '["port"]')
vm2_ip=$(jq1 '["fixed_ips"][0]["ip_address"]' <<<"$vm2")
VMDIR=$T/vm
"$SRC/scripts/vm.sh" start "$VMDIR" "$P-vtap" "$(jq1 '["mac_address"]' <<<"$vm2")" "$HOSTNS" \
	>"$T/vm-start.log" 2>&1 &
vmstart=$!

declare -A IP
for i in 1 2; do
	pod c$i
	conf=$C
	[ "$i" = 2 ] && conf=$C_ID
	cni ADD "$P-ctr$i" eth0 "$NSPATH" "$conf"
	check_eq "ADD container $i on Neutron succeeds" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; continue; }
	IP[$i]=$(jget '["ips"][0]["address"]')
	mac=$(jget '["interfaces"][1]["mac"]')
	port=$(nq GET "/ports?device_id=$P-ctr$i" | jq1 '["ports"][0]')
	check_eq "Neutron port $i: compute:kuryr, bound to OVS's hostname for ovs, ACTIVE, resource_tags" \
		"compute:kuryr $HOST ovs ACTIVE $TAGS" \
		"$(jq1 '["device_owner"]' <<<"$port") $(jq1 '["binding:host_id"]' <<<"$port") $(jq1 '["binding:vif_type"]' <<<"$port") $(jq1 '["status"]' <<<"$port") $(jq1 '["tags"]' <<<"$port")"
	check_eq "Neutron port $i: the MAC and IP the container has" \
		"$(jq1 '["mac_address"]' <<<"$port") $(jq1 '["fixed_ips"][0]["ip_address"]' <<<"$port")" \
		"$(ip -n "$P-c$i" -j link show eth0 | jq1 '[0]["address"]') $(ip -n "$P-c$i" -o -4 addr show dev eth0 | awk '{print $4}' | cut -d/ -f1)"
	check_eq "result $i: the network's MTU from Neutron" 1442 "$(jget '["interfaces"][1]["mtu"]')"
	check_eq "Neutron port $i: on network nnet (named by $([ "$i" = 2 ] && echo id || echo name)), as the store row says" \
		"$net_id nnet" \
		"$(jq1 '["network_id"]' <<<"$port") $(store_sql "select network from attachments where container_id='$P-ctr$i'")"
	check_eq "OVSDB $i: iface-id is the Neutron port id" "$(jq1 '["id"]' <<<"$port")" \
		"$(vsctl get Interface "$(jget '["interfaces"][0]["name"]')" external_ids:iface-id | tr -d '"')"
done
check_eq "openstack port list --device-owner compute:kuryr shows both containers' ports" \
	"$(for i in 1 2; do nq GET "/ports?device_id=$P-ctr$i" | jq1 '["ports"][0]["id"]'; done | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(hostns env OS_AUTH_TYPE=none OS_ENDPOINT=http://127.0.0.1:19696 \
		openstack port list --device-owner compute:kuryr -f value -c ID 2>>"$T/os.err" | sort | tr '\n' ' ' | sed 's/ $//')"
check "container 1 reaches container 2 through ML2/OVN" \
	ip netns exec "$P-c1" busybox ping -c 1 -W 2 "${IP[2]%/*}"
ip netns exec "$P-c1" timeout 10 busybox nc -l -p 5557 >"$T/tcp.out" &
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
check_eq "kuryrctl port list shows both containers and the two VM ports" "container container vm vm" \
	"$(ctl -o json port list --network nnet | python3 -c 'import json,sys; print(" ".join(sorted(p["owner"] for p in json.load(sys.stdin))))')"
# The VM's port as a trunk carrying another port as VLAN 101 (how
# containers inside a VM get their own Neutron ports).
check "kuryrctl trunk create on the VM's port" ctl trunk create "$vm_port" --name vmtrunk
check "kuryrctl port create for a nested container" ctl port create --network nnet --name nested1
check_eq "the trunk and the port kuryrctl made carry resource_tags" "$TAGS $TAGS" \
	"$(nq GET "/trunks?name=vmtrunk" | jq1 '["trunks"][0]["tags"]') $(nq GET "/ports?name=nested1" | jq1 '["ports"][0]["tags"]')"
check "kuryrctl trunk add-subport vmtrunk nested1 101" ctl trunk add-subport vmtrunk nested1 101
nested_id=$(nq GET "/ports?name=nested1" | jq1 '["ports"][0]["id"]')
check_eq "Neutron: the trunk on the VM's port carries nested1 as VLAN 101" \
	"$vm_port [{'port_id': '$nested_id', 'segmentation_type': 'vlan', 'segmentation_id': 101}]" \
	"$(nq GET "/trunks?name=vmtrunk" | jq1 '["trunks"][0]["port_id"]') $(nq GET "/trunks?name=vmtrunk" | python3 -c 'import json,sys; print(json.load(sys.stdin)["trunks"][0]["sub_ports"])')"
OUT=$(ctl trunk add-subport vmtrunk nested1 5000 2>&1); RC=$?
check_eq "VLAN 5000 is refused before it reaches Neutron" "2" "$RC"
check "kuryrctl trunk remove-subport" ctl trunk remove-subport vmtrunk nested1
check_eq "Neutron: no subports left" "[]" \
	"$(nq GET "/trunks?name=vmtrunk" | jq1 '["trunks"][0]["sub_ports"]')"
check "kuryrctl trunk delete" ctl trunk delete vmtrunk
check_eq "Neutron: the trunk is gone" 0 "$(nq GET "/trunks?name=vmtrunk" | jq1 '["trunks"].__len__()')"
check "kuryrctl port delete nested1" ctl port delete nested1
check "kuryrctl vm unplug" ctl vm unplug "$TAP"
nq DELETE "/ports/$vm_port" >/dev/null 2>&1

# Port security and allowed address pairs are Neutron's own, and ML2/OVN
# writes the same NB rows for them as backend ovn does.
pairs_of() { python3 -c 'import json,sys; print(" ".join(sorted(p["ip_address"] + "," + p["mac_address"] for p in json.load(sys.stdin))))'; }
lsp() { nbctl --format=json --columns="$1" list Logical_Switch_Port "$2" | python3 -c '
import json,sys
v = json.load(sys.stdin)["data"][0][0]
v = v[1] if isinstance(v, list) and v[0] == "set" else [v]
print("|".join(sorted(v)))'; }
OUT=$(ctl -o json port create --network nnet --name aap1 --allowed-address 10.62.0.200 \
	--allowed-address 10.62.0.201,02:00:5E:AA:BB:01); RC=$?
check_eq "kuryrctl port create --allowed-address (two)" 0 "$RC"
aap=$(nq GET "/ports?name=aap1" | jq1 '["ports"][0]')
aap_id=$(jq1 '["id"]' <<<"$aap") aap_mac=$(jq1 '["mac_address"]' <<<"$aap")
aap_ip=$(jq1 '["fixed_ips"][0]["ip_address"]' <<<"$aap")
check_eq "Neutron: the pairs (the port's MAC where none was given), port security on" \
	"10.62.0.200,$aap_mac 10.62.0.201,02:00:5e:aa:bb:01 True" \
	"$(jq1 '["allowed_address_pairs"]' <<<"$aap" | pairs_of) $(jq1 '["port_security_enabled"]' <<<"$aap")"
check_eq "kuryrctl port show lists them" "$(jq1 '["allowed_address_pairs"]' <<<"$aap" | pairs_of)" \
	"$(ctl -o json port show aap1 | jq1 '["allowed_address_pairs"]' | pairs_of)"
check_eq "ML2/OVN's NB row: port_security as backend ovn writes it" \
	"$(printf '%s\n' "$aap_mac $aap_ip 10.62.0.200" "02:00:5e:aa:bb:01 10.62.0.201" | LC_ALL=C sort | paste -sd'|')" \
	"$(lsp port_security "$aap_id")"
check_eq "... and addresses: the other MAC bare" \
	"$(printf '%s\n' "$aap_mac $aap_ip" "02:00:5e:aa:bb:01" | LC_ALL=C sort | paste -sd'|')" \
	"$(lsp addresses "$aap_id")"
OUT=$(ctl port set aap1 --no-port-security 2>&1); RC=$?
check_eq "port security off while it has pairs: refused" "1 1" "$RC $(wc -l <<<"$OUT")"
check "port set --no-port-security --no-allowed-address" ctl port set aap1 --no-port-security --no-allowed-address
aap=$(nq GET "/ports/$aap_id" | jq1 '["port"]')
check_eq "Neutron: port_security_enabled false, security_groups [], no pairs" "False [] []" \
	"$(jq1 '["port_security_enabled"]' <<<"$aap") $(jq1 '["security_groups"]' <<<"$aap") $(jq1 '["allowed_address_pairs"]' <<<"$aap")"
check_eq "ML2/OVN's NB row: no port_security, \"unknown\" in addresses" " unknown" \
	"$(lsp port_security "$aap_id") $(lsp addresses "$aap_id" | tr '|' '\n' | grep -x unknown)"
OUT=$(ctl -o json port set aap1 --port-security); RC=$?
aap=$(nq GET "/ports/$aap_id" | jq1 '["port"]')
check_eq "port set --port-security: on, in the project's default group" "0 True [\"$defsg\"]" \
	"$RC $(jq1 '["port_security_enabled"]' <<<"$aap") $(jq1 '["security_groups"]' <<<"$aap")"
check "kuryrctl port delete aap1" ctl port delete aap1

# Traffic between containers and the VM on the same Neutron network: the
# VM's tap is plugged with kuryrctl vm plug, as a hypervisor's would be.
wait "$vmstart"
check "the VM boots (QEMU, Debian's kernel)" test $? = 0
diag <"$T/vm-start.log"
check "kuryrctl vm plug of the VM's tap" ctl vm plug "$P-vtap" "$vm2_id"
for _ in $(seq 50); do
	[ "$(nq GET "/ports/$vm2_id" | jq1 '["port"]["status"]')" = ACTIVE ] && break
	sleep 0.2
done
check_eq "Neutron shows the VM's port ACTIVE" ACTIVE "$(nq GET "/ports/$vm2_id" | jq1 '["port"]["status"]')"
vm_talks "$VMDIR" "$vm2_ip/24" 1442 "$P-c2" "${IP[2]%/*}"
check "kuryrctl vm unplug of the VM's tap" ctl vm unplug "$P-vtap"
check "with its tap unplugged the VM is cut off" \
	bash -c "! ip netns exec $P-c1 busybox ping -c 1 -W 1 $vm2_ip"
"$SRC/scripts/vm.sh" stop "$VMDIR"
nq DELETE "/ports/$vm2_id" >/dev/null

# Security groups chosen in the netconf are on the port and enforced:
# group "web" lets TCP 8080 in and nothing else.
check "kuryrctl security-group create web" ctl security-group create web
check_eq "the group carries resource_tags" "$TAGS" \
	"$(nq GET "/security-groups?name=web" | jq1 '["security_groups"][0]["tags"]')"
check "kuryrctl security-group rule-add web: TCP 8080 in" \
	ctl security-group rule-add web --protocol tcp --port 8080
sg=$(nq GET "/security-groups?name=web&project_id=kuryr-e2e" | jq1 '["security_groups"][0]["id"]')
check_eq "Neutron: group web in project kuryr-e2e, with the ingress TCP 8080 rule" "tcp 8080 8080" \
	"$(nq GET "/security-group-rules?security_group_id=$sg&direction=ingress" | jq1 '["security_group_rules"][0]' | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["protocol"], r["port_range_min"], r["port_range_max"])')"
OUT=$(ctl security-group rule-add web --port 70000 2>&1); RC=$?
check_eq "a rule for port 70000 is refused" 1 "$RC"
# The same verbs as on backend ovn: list, rule-list, rule-delete, remote
# groups, and the rule's id as Neutron's.
check_eq "kuryrctl security-group list shows web (the project's groups)" "web" \
	"$(ctl -o json security-group list | python3 -c 'import json,sys; print(" ".join(sorted(g["name"] for g in json.load(sys.stdin) if g["name"] == "web")))')"
check "security-group create db" ctl security-group create db
OUT=$(ctl -o json security-group rule-add db --protocol tcp --port 5432 --remote-group web)
rid=$(jget '["id"]')
check_eq "rule-add --remote-group web: Neutron's rule names web" "$sg tcp 5432" \
	"$(nq GET "/security-group-rules/$rid" | jq1 '["security_group_rule"]' | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["remote_group_id"], r["protocol"], r["port_range_min"])')"
check "rule-list db shows it" grep -q "$rid" <<<"$(ctl security-group rule-list db)"
check "rule-delete removes it" ctl security-group rule-delete "$rid"
check_eq "... from Neutron" 0 \
	"$(nq GET "/security-group-rules?id=$rid" | jq1 '["security_group_rules"].__len__()')"
OUT=$(ctl security-group rule-delete "$rid" 2>&1); RC=$?
check_eq "rule-delete of a rule that is gone: refused" 1 "$RC"
check "security-group delete db" ctl security-group delete db
# The subnet's host routes and DNS servers reach the pod and the result.
nq PUT "/subnets/$(nq GET "/subnets?network_id=$net_id" | jq1 '["subnets"][0]["id"]')" \
	'{"subnet":{"dns_nameservers":["10.62.0.53"],"host_routes":[{"destination":"192.168.77.0/24","nexthop":"10.62.0.254"}]}}' >/dev/null
pod web
cni ADD "$P-web" eth0 "$NSPATH" "$(netconf nnet 1.1.0 '"security_groups":["web"]')"
check_eq "ADD with security_groups [web]" 0 "$RC"
webip=$(jget '["ips"][0]["address"]')
check_eq "the Neutron port has exactly group web" "[\"$sg\"]" \
	"$(nq GET "/ports?device_id=$P-web" | jq1 '["ports"][0]["security_groups"]')"
check_eq "result: the subnet's DNS server" '["10.62.0.53"]' "$(jget '["dns"]["nameservers"]' | tr "'" '"')"
check "result: the subnet's host route" grep -q "'dst': '192.168.77.0/24', 'gw': '10.62.0.254'" <<<"$(jget '["routes"]')"
check "pod: the host route is in its table" \
	grep -q '192.168.77.0/24 via 10.62.0.254 dev eth0' <<<"$(ip -n "$P-web" route)"
for port in 8080 9090; do
	ip netns exec "$P-web" busybox nc -l -p $port >"$T/sg$port.out" &
	echo $! >"$T/sg$port.pid"
done
sleep 0.3
echo allowed | ip netns exec "$P-c2" busybox nc -w 2 "${webip%/*}" 8080
echo denied | ip netns exec "$P-c2" busybox nc -w 2 "${webip%/*}" 9090
sleep 0.3
for port in 8080 9090; do kill "$(cat "$T/sg$port.pid")" 2>/dev/null; wait "$(cat "$T/sg$port.pid")" 2>/dev/null; done
check_eq "group web lets TCP 8080 in" allowed "$(cat "$T/sg8080.out")"
check_eq "group web keeps TCP 9090 out" "" "$(cat "$T/sg9090.out")"
cni DEL "$P-web" eth0 "$NSPATH" "$C"
check_eq "DEL of the web container" 0 "$RC"
# A QoS policy chosen in the netconf: on the Neutron port, and ML2/OVN
# turns its bandwidth limit into an OVN QoS rule for that port.
OUT=$(ctl -o json qos create slow --max-kbps 2000 --max-burst-kbps 200); RC=$?
check_eq "kuryrctl qos create slow (2000 kbps)" 0 "$RC"
check_eq "the policy carries resource_tags" "$TAGS" \
	"$(nq GET "/qos/policies?name=slow" | jq1 '["policies"][0]["tags"]')"
qos=$(jget '["id"]')
cni ADD "$P-web" eth0 "$NSPATH" "$(netconf nnet 1.1.0 '"qos_policy":"slow"')"
check_eq "ADD with qos_policy slow" 0 "$RC"
qport=$(nq GET "/ports?device_id=$P-web" | jq1 '["ports"][0]')
check_eq "the Neutron port carries the policy" "$qos" "$(jq1 '["qos_policy_id"]' <<<"$qport")"
check "OVN NB has a 2000 kbps QoS rule for the port" grep -q "rate=2000" \
	<<<"$(nbctl --bare --columns=match,bandwidth list QoS | grep -A1 "$(jq1 '["id"]' <<<"$qport")")"
check_eq "deleting the policy the port uses: 409" 409 "$(ctl_code qos.delete '{"name":"slow"}')"
# An ingress limit and a DSCP mark: Neutron's two kinds of rule.
OUT=$(ctl -o json qos create mark --max-kbps 1000 --direction ingress --dscp 26); RC=$?
check_eq "kuryrctl qos create mark --max-kbps 1000 --direction ingress --dscp 26" 0 "$RC"
check_eq "Neutron: its rules" "bandwidth_limit ingress 1000 0; dscp_marking 26" \
	"$(nq GET "/qos/policies/$(jget '["id"]')" | python3 -c '
import json, sys
f = lambda r: [r["type"]] + [str(r[k]) for k in ("direction", "max_kbps", "max_burst_kbps", "dscp_mark") if k in r]
print("; ".join(sorted(" ".join(f(r)) for r in json.load(sys.stdin)["policy"]["rules"])))')"
OUT=$(ctl -o json qos show mark)
check_eq "kuryrctl qos show mark says so" "ingress 1000 26" \
	"$(jget '["direction"]') $(jget '["max_kbps"]') $(jget '["dscp"]')"
check_eq "kuryrctl qos list: both policies" "mark:26:ingress slow:-:egress" \
	"$(ctl -o json qos list | python3 -c 'import json,sys; print(" ".join(sorted("%s:%s:%s" % (p["name"], p.get("dscp", "-"), p["direction"]) for p in json.load(sys.stdin))))')"
check "kuryrctl qos delete mark" ctl qos delete mark
cni DEL "$P-web" eth0 "$NSPATH" "$C"
check_eq "DEL of the QoS container" 0 "$RC"
cni ADD "$P-web" eth0 "$NSPATH" "$(netconf nnet 1.1.0 '"security_groups":["no-such-group"]')"
check_eq "an unknown security group: error 7" "1 7" "$RC $(jget '["code"]')"
check "... naming it" grep -q 'no-such-group' <<<"$(jget '["details"]')"
check_eq "... and no port, veth or row is left" "0  0" \
	"$(nq GET "/ports?device_id=$P-web" | jq1 '["ports"].__len__()') $(ip -n "$P-web" -o link show type veth) $(store_sql "select count(*) from attachments where container_id='$P-web'")"

# The node's defaults, upstream's [neutron_defaults] keys: groups and the
# subnet pod ports take their address from.
sub2=$(nq POST /subnets "{\"subnet\":{\"network_id\":\"$net_id\",\"cidr\":\"10.64.0.0/24\",\"ip_version\":4,\"name\":\"pods2\",\"project_id\":\"kuryr-e2e\"}}" | jq1 '["subnet"]["id"]')
stop_kuryrd
printf '[neutron_defaults]\npod_security_groups = web\npod_subnet = pods2\n' >>"$T/kuryr.conf"
start_kuryrd
cni ADD "$P-web" eth0 "$NSPATH" "$C"
check_eq "ADD with the node's default group and subnet" 0 "$RC"
check_eq "... the port has group web and its address from subnet pods2" "[\"$sg\"] $sub2" \
	"$(nq GET "/ports?device_id=$P-web" | jq1 '["ports"][0]["security_groups"]') $(nq GET "/ports?device_id=$P-web" | jq1 '["ports"][0]["fixed_ips"][0]["subnet_id"]')"
check_eq "... and the pod has that address and pods2's gateway" "10.64.0. 10.64.0.1" \
	"$(jget '["ips"][0]["address"]' | cut -d. -f1-3). $(jget '["ips"][0]["gateway"]')"
cni DEL "$P-web" eth0 "$NSPATH" "$C"
stop_kuryrd
printf '[neutron_defaults]\npod_security_groups =\npod_subnet =\n' >>"$T/kuryr.conf"
start_kuryrd
nq DELETE "/subnets/$sub2" >/dev/null

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
check_eq "pool ports (one bulk POST) carry resource_tags" "$TAGS $TAGS $TAGS" \
	"$(nq GET "/ports?device_owner=compute:kuryr" | python3 -c 'import json,sys; print(" ".join(json.dumps(p["tags"]) for p in json.load(sys.stdin)["ports"]))')"
check_eq "Neutron: 3 pool ports of this host, no device_id" "3" \
	"$(nq GET "/ports?device_owner=compute:kuryr&binding:host_id=$HOST&device_id=" | jq1 '["ports"].__len__()')"
check_eq "and they are ACTIVE (plugged, parked)" "ACTIVE ACTIVE ACTIVE" \
	"$(nq GET "/ports?device_owner=compute:kuryr" | python3 -c 'import json,sys; print(" ".join(p["status"] for p in json.load(sys.stdin)["ports"]))')"
cni ADD "$P-p1" eth0 "/run/netns/$P-c1" "$C"
check_eq "ADD from the Neutron pool" "0 1" \
	"$RC $(ctl -o json pool list --network nnet | jq1 '[0]["hits"]')"
pip=$(jget '["ips"][0]["address"]')
# Neutron learns the pool port's container after the fact, off the ADD path.
for _ in $(seq 50); do
	pport=$(nq GET "/ports?device_id=$P-p1" | jq1 '["ports"][0]["id"]' 2>/dev/null) && break
	sleep 0.1
done
check_eq "Neutron: the pool port's device_id becomes its container" "${pip%/*}" \
	"$(nq GET "/ports?device_id=$P-p1" | jq1 '["ports"][0]["fixed_ips"][0]["ip_address"]')"
cni ADD "$P-p2" eth0 "/run/netns/$P-c2" "$C_ID"
check_eq "ADD naming the network by id takes from the same pool" "0 2" \
	"$RC $(ctl -o json pool list --network nnet | jq1 '[0]["hits"]')"
check "two pool containers talk through ML2/OVN" \
	ip netns exec "$P-c2" busybox ping -c 1 -W 2 "${pip%/*}"
cni DEL "$P-p1" eth0 "/run/netns/$P-c1" "$C"
for _ in $(seq 50); do
	[ -z "$(nq GET "/ports/$pport" | jq1 '["port"]["device_id"]')" ] && break
	sleep 0.1
done
check_eq "... and nobody again after DEL (the port is back in the pool)" "" \
	"$(nq GET "/ports/$pport" | jq1 '["port"]["device_id"]')"
cni DEL "$P-p2" eth0 "/run/netns/$P-c2" "$C"
# Ports with their own security groups come from a pool of their own,
# which a restarted kuryrd finds again (the key is kept on the port).
WEB=$(netconf nnet 1.1.0 '"security_groups":["web"]')
webpool() { ctl -o json pool list --network nnet | python3 -c "import json,sys; print(next((str(p[sys.argv[1]]) for p in json.load(sys.stdin) if p['key'] == 'nnet||web|'), 'none'))" "$1"; }
cni ADD "$P-k1" eth1 "/run/netns/$P-c1" "$WEB"
check_eq "ADD with groups [web] and pools on: served (a miss)" "0 0" "$RC $(webpool hits)"
for _ in $(seq 300); do [ "$(webpool ready)" = 3 ] && break; sleep 0.2; done
check_eq "the miss started the pool of nnet with group web" 3 "$(webpool ready)"
cni ADD "$P-k2" eth1 "/run/netns/$P-c2" "$WEB"
check_eq "the next ADD with [web] is a hit from that pool" "0 1" "$RC $(webpool hits)"
check_eq "... on a port with group web" "[\"$sg\"]" \
	"$(nq GET "/ports?mac_address=$(jget '["interfaces"][1]["mac"]')" | jq1 '["ports"][0]["security_groups"]')"
stop_kuryrd
start_kuryrd
# (A refill the hit started may or may not have finished before the stop.)
check "after a restart the web pool is found again: >= 2 ready, 1 in use" \
	test "$(webpool ready)" -ge 2 -a "$(webpool in_use)" = 1
cni DEL "$P-k1" eth1 "/run/netns/$P-c1" "$WEB"
cni DEL "$P-k2" eth1 "/run/netns/$P-c2" "$WEB"
check "kuryrctl pool free" ctl pool free nnet
check_eq "Neutron: no container or pool ports left" 0 "$(kuryr_ports)"
assert_clean "after the pool"
check "kuryrctl qos delete slow" ctl qos delete slow
check "kuryrctl security-group delete web" ctl security-group delete web
check_eq "Neutron: neither is left" "0 0" \
	"$(nq GET "/qos/policies?name=slow" | jq1 '["policies"].__len__()') $(nq GET "/security-groups?name=web" | jq1 '["security_groups"].__len__()')"

# Leftovers: a container port of this node that no attachment knows (its
# container went while kuryrd was away) is deleted by the janitor's first
# pass after kuryrd starts; one of another node is not.
pod keep
cni ADD "$P-keep" eth0 "$NSPATH" "$C"
check_eq "a container attached across the restart" 0 "$RC"
stop_kuryrd
left=$(nq POST /ports "{\"port\":{\"network_id\":\"$net_id\",\"project_id\":\"kuryr-e2e\",\"device_owner\":\"compute:kuryr\",\"device_id\":\"gone-container\",\"binding:host_id\":\"$HOST\",\"tags\":$TAGS}}" | jq1 '["port"]["id"]')
other=$(nq POST /ports "{\"port\":{\"network_id\":\"$net_id\",\"project_id\":\"kuryr-e2e\",\"device_owner\":\"compute:kuryr\",\"device_id\":\"elsewhere\",\"binding:host_id\":\"another-node\",\"tags\":$TAGS}}" | jq1 '["port"]["id"]')
# One without this deployment's tags: another deployment's, not kuryrd's.
untagged=$(nq POST /ports "{\"port\":{\"network_id\":\"$net_id\",\"project_id\":\"kuryr-e2e\",\"device_owner\":\"compute:kuryr\",\"device_id\":\"theirs\",\"binding:host_id\":\"$HOST\",\"tags\":[\"kuryr-e2e\"]}}" | jq1 '["port"]["id"]')
start_kuryrd
for _ in $(seq 50); do
	[ "$(nq GET "/ports?id=$left" | jq1 '["ports"].__len__()')" = 0 ] && break
	sleep 0.2
done
check_eq "kuryrd deletes this node's leftover container port soon after it starts" 0 \
	"$(nq GET "/ports?id=$left" | jq1 '["ports"].__len__()')"
check_eq "... and leaves another node's alone" 1 "$(nq GET "/ports?id=$other" | jq1 '["ports"].__len__()')"
check_eq "... and one without all of resource_tags" 1 "$(nq GET "/ports?id=$untagged" | jq1 '["ports"].__len__()')"
check_eq "... and the attached container's port alone" 1 \
	"$(nq GET "/ports?device_id=$P-keep" | jq1 '["ports"].__len__()')"
nq DELETE "/ports/$other" >/dev/null
nq DELETE "/ports/$untagged" >/dev/null
cni DEL "$P-keep" eth0 "/run/netns/$P-keep" "$C"
check_eq "DEL of that container" "0 0" "$RC $(nq GET "/ports?device_id=$P-keep" | jq1 '["ports"].__len__()')"

# Pools switched off: the idle pool ports an earlier run left, and their
# pre-wired veths, are deleted by the first pass after the start.
check "kuryrctl pool populate nnet" ctl pool populate nnet
check_eq "three idle pre-wired pool ports in Neutron" 3 "$(kuryr_ports)"
stop_kuryrd
printf '[vif_pool]\nenabled = false\n' >>"$T/kuryr.conf"
start_kuryrd
for _ in $(seq 50); do [ "$(kuryr_ports)" = 0 ] && break; sleep 0.2; done
check_eq "pools off: the idle pool ports are gone from Neutron" 0 "$(kuryr_ports)"
check_eq "... their veths from the node" "" "$(ip -n "$HOSTNS" -o link show type veth)"
check_eq "... and their stubs from the holding netns" "" "$(ip -n "$P-hold" -o link show type veth)"

# Failures: nothing left behind, in Neutron or on the node.
cni ADD "$P-x" eth0 "/run/netns/$P-c1" "$(netconf nosuchnet)"
check_eq "unknown network: error 7" "1 7" "$RC $(jget '["code"]')"
for i in 1 2; do
	twin[$i]=$(nq POST /networks '{"network":{"name":"twin","project_id":"kuryr-e2e"}}' | jq1 '["network"]["id"]')
done
cni ADD "$P-x" eth0 "/run/netns/$P-c1" "$(netconf twin)"
check_eq "two networks named twin: error 7" "1 7" "$RC $(jget '["code"]')"
check "... naming both ids" grep -q "${twin[1]}.*${twin[2]}\|${twin[2]}.*${twin[1]}" <<<"$(jget '["details"]')"
check_eq "... and no port, veth or row is left" "0  0" \
	"$(nq GET "/ports?device_id=$P-x" | jq1 '["ports"].__len__()') $(ip -n "$P-c1" -o link show type veth) $(store_sql "select count(*) from attachments where container_id='$P-x'")"
for i in 1 2; do nq DELETE "/networks/${twin[$i]}" >/dev/null; done
# This node claims a host name no chassis has: Neutron cannot bind the port
# for OVS, and kuryrd refuses it with an error naming the vif_type.
stop_kuryrd
printf '[DEFAULT]\nhost = kct-no-such-chassis\n' >>"$T/kuryr.conf"
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
