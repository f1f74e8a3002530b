#!/bin/bash
# kuryrd as Docker's libnetwork remote network and IPAM driver, driven by a
# real dockerd (Debian's docker.io, scripts/docker.sh) in the test's host
# namespace: networks of driver and IPAM "kuryr" are backend networks,
# containers get their addresses from the backend and their ports from the
# pool (pre-wired), ping each other, a CNI container and a VM on the same
# network; --ip, --mac-address, network connect/disconnect, a network
# attached by id to an existing one, a security group option, dockerd and
# kuryrd restarted or killed, kuryrd absent, and bad options: each checked
# on Docker's view (docker inspect), netlink, the backend and packets.
# BACKEND=neutron (docker-neutron.sh) runs it against a real neutron-server;
# the VM part runs on ovn only.
. "$(dirname "$0")/lib.sh"
KURYR_CONF_EXTRA="$(dkr_conf)
[vif_pool]
enabled = true
prewire = true
ports_pool_min = 3
ports_pool_batch = 3
ports_pool_update_frequency = 1"
env_up
dkr_up
BE=${BACKEND:-ovn}

if [ "$BE" = neutron ]; then
	bnets() { nq GET "/networks?fields=name" | pyj '" ".join(sorted(n["name"] for n in d["networks"]))'; }
	bports() { nq GET "/ports?fields=id" | pyj 'len(d["ports"])'; }
	# bport_mac IP: the MAC of the backend port holding IP ("" if none).
	bport_mac() { nq GET "/ports?fixed_ips=ip_address%3D$1" | pyj '" ".join(p["mac_address"] for p in d["ports"])'; }
	# in_group PORT GROUP: 1 if backend port PORT is in security group
	# GROUP, and in no other (OVN's drop-all group aside).
	in_group() { nq GET "/ports/$1" | pyj "int(d['port']['security_groups'] == ['$(sg_id "$2")'])"; }
	# has_qos PORT POLICY: 1 if backend port PORT has QoS policy POLICY.
	has_qos() { nq GET "/ports/$1" | pyj "int(d['port']['qos_policy_id'] == '$(ctl -o json qos show "$2" | jq1 '["id"]')')"; }
else
	bnets() { nbctl --bare --columns=name list Logical_Switch | grep . | sort | tr '\n' ' ' | sed 's/ $//'; }
	bports() { nbctl --bare --columns=name list Logical_Switch_Port | grep -c .; }
	bport_mac() {
		nbctl --bare --columns=addresses,dynamic_addresses list Logical_Switch_Port |
			awk -v ip="$1" '{for (i = 2; i <= NF; i++) if ($i == ip) m = m (m ? " " : "") $1} END {print m}'
	}
	# (OVN: the port's QoS rows, the policy's 2000 kbps.)
	has_qos() {
		nbctl --bare --columns=bandwidth find QoS "external_ids:\"kuryr:port\"=\"$1\"" |
			grep -c 'rate=2000'
	}
	in_group() {
		local u
		u=$(nbctl get Logical_Switch_Port "$1" _uuid)
		nbctl --bare --columns=name find Port_Group "ports{>=}$u" | grep -v '^kuryr_pg_drop$' |
			grep . | tr '\n' ' ' | awk -v pg="pg_$(sg_id "$2" | tr - _)" '{print ($0 == pg " ") ? 1 : 0}'
	}
fi
sg_id() { ctl -o json security-group show "$1" | jq1 '["id"]'; }
# dip C [NET]: the address Docker gives container C (on network NET).
dip() { dkr inspect -f "{{range \$k, \$v := .NetworkSettings.Networks}}{{if or (eq \"${2:-}\" \"\") (eq \$k \"${2:-}\")}}{{\$v.IPAddress}}{{end}}{{end}}" "$1"; }
dmac() { dkr inspect -f "{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}" "$1"; }
drun() { dkr run -d --stop-timeout 1 "$@" kuryr-busybox sleep 3600 >/dev/null; }
dping() { dkr exec "$1" ping -c 1 -W 3 "$2" >/dev/null 2>&1 && echo pass || echo drop; }
kyr_devs() { ip -n "$HOSTNS" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep '^kyr' | tr '\n' ' ' | sed 's/ $//'; }
docker_rows() { store_sql "select count(*) from attachments where container_id like 'docker:%'"; }
# What a refused call must leave as it was.
world() { echo "$(bnets) | ports $(bports) | rows $(store_sql 'select count(*) from attachments') | records $(store_sql 'select count(*) from records') | $(kyr_devs)"; }

# ---- a network of driver and IPAM kuryr ----
check "docker network create -d kuryr --ipam-driver kuryr --subnet 10.77.0.0/24 knet" \
	dkr network create -d kuryr --ipam-driver kuryr --subnet 10.77.0.0/24 knet
NID=$(dkr network inspect -f '{{.Id}}' knet)
check_eq "the backend has network docker-<its id>" 1 "$(bnets | tr ' ' '\n' | grep -cx "docker-$NID")"
if [ "$BE" = neutron ]; then
	check_eq "... with Neutron subnet 10.77.0.0/24, gateway 10.77.0.1" "10.77.0.0/24 10.77.0.1" \
		"$(nq GET "/subnets?network_id=$(nq GET "/networks?name=docker-$NID" | pyj 'd["networks"][0]["id"]')" | pyj 'd["subnets"][0]["cidr"] + " " + d["subnets"][0]["gateway_ip"]')"
else
	check_eq "... with OVN's subnet 10.77.0.0/24" "10.77.0.0/24" \
		"$(nbctl get Logical_Switch "docker-$NID" other_config:subnet | tr -d '"')"
fi

check "docker run c1 on knet" drun --name c1 --network knet
# c1 was the network's first port here: its pool fills now.
for _ in $(seq 100); do
	[ "$(ctl -o json pool list | pyj "sum(p['ready'] for p in d if p['network'] == 'docker-$NID')")" -gt 0 ] && break
	sleep 0.1
done
check "docker run c2 on knet" drun --name c2 --network knet
IP1=$(dip c1) IP2=$(dip c2)
check_eq "Docker gives both containers addresses of 10.77.0.0/24" "10.77.0 10.77.0" \
	"${IP1%.*} ${IP2%.*}"
check_eq "each is its backend port's address, with that port's MAC" "$(dmac c1) $(dmac c2)" \
	"$(bport_mac "$IP1") $(bport_mac "$IP2")"
check_eq "netlink in c1: eth0 has the address and MAC, and it is its only device but lo" \
	"eth0 lo|$IP1/24|$(dmac c1)" \
	"$(dkr exec c1 ls /sys/class/net | tr '\n' ' ' | sed 's/ $//')|$(dkr exec c1 ip -o -4 addr show dev eth0 | awk '{print $4}')|$(dkr exec c1 cat /sys/class/net/eth0/address)"
check_eq "... its default route is the network's gateway (no docker_gwbridge)" \
	"default via 10.77.0.1 dev eth0" "$(dkr exec c1 ip route | grep '^default' | sed 's/ *$//')"
check_eq "c1 pings c2" pass "$(dping c1 "$IP2")"
check_eq "c2 pings c1" pass "$(dping c2 "$IP1")"
check_eq "c2 took a pre-wired pool entry" 1 \
	"$(store_sql "select count(*) > 0 from attachments where container_id like 'docker:%' and pooled = 2")"
EP1=$(dkr inspect -f '{{.NetworkSettings.Networks.knet.EndpointID}}' c1)
check_eq "kuryrctl attachment list: two docker endpoints, c1's by its endpoint id" "2 1" \
	"$(ctl -o json attachment list | pyj "'%d %d' % (sum(a['origin'] == 'docker' for a in d), sum(a['docker_endpoint'] == '$EP1' for a in d))")"

# ---- --ip and --mac-address ----
check "docker run --ip 10.77.0.50 --mac-address 02:42:0a:4d:00:32 c3" \
	drun --name c3 --network knet --ip 10.77.0.50 --mac-address 02:42:0a:4d:00:32
check_eq "Docker shows c3 with that address and MAC" "10.77.0.50 02:42:0a:4d:00:32" \
	"$(dip c3) $(dmac c3)"
check_eq "... the backend's port has them" "02:42:0a:4d:00:32" "$(bport_mac 10.77.0.50)"
check_eq "... and so has c3's eth0" "10.77.0.50/24 02:42:0a:4d:00:32" \
	"$(dkr exec c3 ip -o -4 addr show dev eth0 | awk '{print $4}') $(dkr exec c3 cat /sys/class/net/eth0/address)"
check_eq "c1 pings c3" pass "$(dping c1 10.77.0.50)"
# A MAC alone: the address the IPAM reserved (a pool's port) is kept, on a
# port with that MAC.
check "docker run --mac-address 02:42:0a:4d:00:33 c3m (no --ip)" \
	drun --name c3m --network knet --mac-address 02:42:0a:4d:00:33
C3M=$(dip c3m)
check_eq "Docker shows c3m with that MAC; the backend port of its address has it" \
	"02:42:0a:4d:00:33 02:42:0a:4d:00:33" "$(dmac c3m) $(bport_mac "$C3M")"
check_eq "c1 pings c3m" pass "$(dping c1 "$C3M")"
dkr rm -f c3m >/dev/null
before=$(world)
dkr run -d --stop-timeout 1 --name c3b --network knet --ip 10.77.0.50 kuryr-busybox sleep 3600 \
	>"$T/dup.out" 2>&1
check_eq "docker run --ip of an address c3 holds fails" 1 "$(test $? != 0 && echo 1)"
diag <"$T/dup.out"
dkr rm -f c3b >/dev/null 2>&1
check_eq "... and leaves nothing: no network, port, row, record or device" "$before" "$(world)"

# ---- containers, a CNI container and a VM on one network ----
ctl network create shared --subnet 10.88.0.0/24 >/dev/null
SHARED_ID=$(ctl -o json network show shared | jq1 '["id"]')
check "docker network create -o kuryr.net.uuid=<shared's id> dshared" \
	dkr network create -d kuryr --ipam-driver kuryr --subnet 10.88.0.0/24 \
	-o kuryr.net.uuid="$SHARED_ID" dshared
pod cni1
cni ADD "$P-cni1" eth0 "$NSPATH" "$(netconf shared)"
check_eq "a CNI container joins network shared" 0 "$RC"
CNI1=$(jget '["ips"][0]["address"]')
CNI1=${CNI1%/*}
check "docker run c4 on dshared" drun --name c4 --network dshared
IP4=$(dip c4)
check_eq "c4 has an address of shared's subnet" 10.88.0 "${IP4%.*}"
check_eq "c4 pings the CNI container" pass "$(dping c4 "$CNI1")"
check_eq "the CNI container pings c4" pass "$(ping1 "$P-cni1" "$IP4")"
if [ "$BE" = ovn ]; then
	OUT=$(ctl -o json port create --network shared --name vm1 --device-id vm-one)
	VM_IP=$(jget '["ip"]') VM_MAC=$(jget '["mac"]')
	if KURYR_BUILD=$BUILD "$SRC/scripts/vm.sh" start "$VMDIR" "$TAP" "$VM_MAC" "$HOSTNS" \
		>"$T/vm-start.log" 2>&1; then
		ok "the VM boots with its tap on network shared's port"
		check "kuryrctl vm plug" ctl vm plug "$TAP" vm1
		check "the guest takes its port's address" \
			gx "ip link set eth0 up && ip addr add $VM_IP/24 dev eth0"
		check_eq "c4 pings the VM" pass "$(dping c4 "$VM_IP")"
		check "the VM pings c4" gx "ping -c 1 -W 5 $IP4"
		dkr exec -d c4 sh -c 'nc -l -p 5559 > /tmp/tcp.out' >/dev/null
		sleep 0.3
		check "the VM sends to c4 over TCP" gx "echo from-the-vm | nc -w 5 $IP4 5559"
		sleep 0.3
		check_eq "... and c4 receives it" from-the-vm "$(dkr exec c4 cat /tmp/tcp.out)"
	else
		not_ok "the VM boots with its tap on network shared's port"
		diag <"$T/vm-start.log"
	fi
fi

# ---- network connect / disconnect ----
n0=$(bports)
check "docker network connect dshared c1" dkr network connect dshared c1
check_eq "c1 has eth1 with an address of shared's subnet" 10.88.0 \
	"$(dkr exec c1 ip -o -4 addr show dev eth1 | awk '{print $4}' | cut -d. -f1-3)"
check_eq "c1 pings the CNI container" pass "$(dping c1 "$CNI1")"
check "docker network disconnect dshared c1" dkr network disconnect dshared c1
check_eq "c1's eth1 is gone" "eth0 lo" "$(dkr exec c1 ls /sys/class/net | tr '\n' ' ' | sed 's/ $//')"
check_eq "... and its port on the backend went back to the pool or away (ports as before)" \
	1 "$(test "$(bports)" -le $((n0 + 3)) && echo 1)"
check_eq "c1 still pings c2 on knet" pass "$(dping c1 "$IP2")"

# ---- attached by id: docker network rm leaves the network ----
check "docker rm -f c4" dkr rm -f c4
check "docker network rm dshared" dkr network rm dshared
check_eq "network shared is still the backend's" 1 "$(bnets | tr ' ' '\n' | grep -cx shared)"
check_eq "... and its CNI container still answers" pass "$(ping1 "$P-cni1" "$CNI1")"
[ "$BE" = ovn ] && check_eq "... so does the VM" pass "$(ping1 "$P-cni1" "$VM_IP")"

# ---- a security group option keeps a port closed ----
ctl security-group create web >/dev/null
ctl security-group rule-add web --protocol tcp --port 8080 >/dev/null
ctl qos create slow --max-kbps 2000 >/dev/null
check "docker network create -o kuryr.security_groups=web -o kuryr.qos_policy=slow sgnet" \
	dkr network create -d kuryr --ipam-driver kuryr --subnet 10.79.0.0/24 \
	-o kuryr.security_groups=web -o kuryr.qos_policy=slow sgnet
SGNID=$(dkr network inspect -f '{{.Id}}' sgnet)
check "docker run sgc on sgnet" drun --name sgc --network sgnet
SGIP=$(dip sgc)
# tcp-probe.py's protocol: its line back, after "echo:".
dkr exec sgc sh -c 'printf "#!/bin/sh\nread l\necho \"echo:\$l\"\n" >/echo.sh && chmod +x /echo.sh'
for p in 8080 9090; do dkr exec -d sgc nc -ll -p "$p" -e /echo.sh >/dev/null; done
for _ in $(seq 30); do [ "$(dkr exec sgc netstat -ltn | grep -c ':[89]0[89]0 ')" = 2 ] && break; sleep 0.1; done
SGPORT=$(store_sql "select port from attachments where netns = 'docker:$(dkr inspect -f '{{.NetworkSettings.Networks.sgnet.EndpointID}}' sgc)'")
check_eq "sgc's port is in group web alone" 1 "$(in_group "$SGPORT" web)"
check_eq "... and has QoS policy slow" 1 "$(has_qos "$SGPORT" slow)"
pod cli
cni ADD "$P-cli" eth0 "$NSPATH" "$(netconf "docker-$SGNID")"
check_eq "a CNI client joins sgnet's backend network" 0 "$RC"
sleep 0.5
check_eq "the client reaches sgc on TCP 8080 (the group's rule)" open "$(tcp "$P-cli" "$SGIP" 8080)"
check_eq "... but not on 9090 (no rule: dropped)" timeout "$(tcp "$P-cli" "$SGIP" 9090)"
cni DEL "$P-cli" eth0 "$NSPATH" "$(netconf "docker-$SGNID")"
# An endpoint's own policies: docker network connect --driver-opt.
ctl security-group create web2 >/dev/null
check "docker network connect --driver-opt kuryr.security_groups=web2 sgnet c1" \
	dkr network connect --driver-opt kuryr.security_groups=web2 sgnet c1
C1SG=$(store_sql "select port from attachments where netns = 'docker:$(dkr inspect -f '{{.NetworkSettings.Networks.sgnet.EndpointID}}' c1)'")
check_eq "c1's port on sgnet is in group web2 alone (the network's web is not its)" 1 \
	"$(in_group "$C1SG" web2)"
check_eq "... and still has the network's QoS policy" 1 "$(has_qos "$C1SG" slow)"
check_eq "c1 reaches sgc on TCP 8080 over sgnet (web2's egress, web's ingress)" "echo:hi" \
	"$(dkr exec c1 sh -c "echo hi | nc -w 3 $SGIP 8080" 2>&1)"
check "docker network disconnect sgnet c1" dkr network disconnect sgnet c1
before=$(world)
dkr network connect --driver-opt kuryr.net.name=shared sgnet c2 >"$T/epopt.out" 2>&1
check_eq "an endpoint option that is a network's is refused" "1 1" \
	"$(test $? != 0 && echo 1) $(grep -c "is a network's" "$T/epopt.out")"
diag <"$T/epopt.out"
check_eq "... nothing made" "$before" "$(world)"
# (dockerd keeps the network of the failed connect in c2's configuration,
# even after disconnect -f: c2 would not start again once sgnet is gone,
# and is not started again.)
check "docker rm -f sgc" dkr rm -f sgc
check "docker network rm sgnet" dkr network rm sgnet
check_eq "sgnet's backend network is deleted with it" 0 \
	"$(bnets | tr ' ' '\n' | grep -cx "docker-$SGNID")"

# ---- Docker's own IPAM, dual-stack: the port takes Docker's addresses ----
check "docker network create -d kuryr --ipv6 --subnet 10.78.0.0/24 --subnet fd00:78::/64 dsnet" \
	dkr network create -d kuryr --ipv6 --subnet 10.78.0.0/24 --subnet fd00:78::/64 dsnet
for i in 1 2; do check "docker run d$i on dsnet" drun --name "d$i" --network dsnet; done
D2_6=$(dkr inspect -f '{{.NetworkSettings.Networks.dsnet.GlobalIPv6Address}}' d2)
check_eq "Docker's addresses for d2 are its backend port's" "$(dmac d2) $(dmac d2)" \
	"$(bport_mac "$(dip d2)") $(bport_mac "$D2_6")"
check_eq "d2's eth0 has both" "$(dip d2)/24 $D2_6/64" \
	"$(dkr exec d2 ip -o addr show dev eth0 scope global | awk '{print $4}' | tr '\n' ' ' | sed 's/ $//')"
check_eq "d1 pings d2 over IPv4" pass "$(dping d1 "$(dip d2)")"
check_eq "... and over IPv6" pass "$(dping d1 "$D2_6")"
dkr rm -f d1 d2 >/dev/null
check "docker network rm dsnet" dkr network rm dsnet

# ---- bad options: Err, and nothing made ----
before=$(world)
refuse() { # DESC WORDS ARGS...: network create refused, its error says WORDS
	local desc=$1 words=$2
	shift 2
	dkr network create -d kuryr --ipam-driver kuryr "$@" bad >"$T/bad.out" 2>&1
	check_eq "$desc: refused" "1 1" "$(test $? != 0 && echo 1) $(grep -c "$words" "$T/bad.out")"
	diag <"$T/bad.out"
	dkr network rm bad >/dev/null 2>&1
	check_eq "... nothing made" "$before" "$(world)"
}
refuse "an unknown network id" "no such network" --subnet 10.66.0.0/24 \
	-o kuryr.net.uuid=00000000-0000-4000-8000-000000000000
refuse "an unknown security group" "no such group" --subnet 10.66.0.0/24 \
	-o kuryr.security_groups=web,nosuch
refuse "a subnet that conflicts with the network named" "conflicts" --subnet 10.99.0.0/24 \
	-o kuryr.net.name=shared
refuse "an unknown kuryr option" "unknown option" --subnet 10.66.0.0/24 -o kuryr.colour=red

# ---- --ip-range: the backend's IPAM hands out that part only ----
check "docker network create --subnet 10.66.0.0/24 --ip-range 10.66.0.128/25 rnet" \
	dkr network create -d kuryr --ipam-driver kuryr --subnet 10.66.0.0/24 \
	--ip-range 10.66.0.128/25 rnet
RNID=$(dkr network inspect -f '{{.Id}}' rnet)
if [ "$BE" = neutron ]; then
	check_eq "Neutron's subnet allocates 10.66.0.128-10.66.0.254" "10.66.0.128-10.66.0.254" \
		"$(nq GET "/subnets?network_id=$(nq GET "/networks?name=docker-$RNID" | pyj 'd["networks"][0]["id"]')" | pyj '",".join(p["start"] + "-" + p["end"] for p in d["subnets"][0]["allocation_pools"])')"
else
	check_eq "OVN's IPAM excludes 10.66.0.1..10.66.0.127" "10.66.0.1..10.66.0.127" \
		"$(nbctl get Logical_Switch "docker-$RNID" other_config:exclude_ips | tr -d '"')"
fi
for i in 1 2; do check "docker run r$i on rnet" drun --name "r$i" --network rnet; done
check_eq "both have addresses of the range" "1 1" \
	"$(for i in 1 2; do a=$(dip "r$i"); [ "${a%.*}" = 10.66.0 ] && [ "${a##*.}" -ge 128 ] && echo 1; done | tr '\n' ' ' | sed 's/ $//')"
check_eq "r1 pings r2" pass "$(dping r1 "$(dip r2)")"
dkr rm -f r1 r2 >/dev/null
check "docker network rm rnet" dkr network rm rnet

# ---- no --subnet: a free /24 of [docker] subnet_pool (10.10.0.0/16) ----
check "docker network create -d kuryr --ipam-driver kuryr auto1 (no --subnet)" \
	dkr network create -d kuryr --ipam-driver kuryr auto1
check "... and auto2" dkr network create -d kuryr --ipam-driver kuryr auto2
check_eq "Docker shows them with two /24s of the pool" "10.10.0.0/24 10.10.1.0/24" \
	"$(for n in auto1 auto2; do dkr network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' "$n"; done | tr '\n' ' ' | sed 's/ $//')"
check "docker run a1 on auto2" drun --name a1 --network auto2
check_eq "a1's address is of 10.10.1.0/24, its port's" "10.10.1 $(dmac a1)" \
	"$(dip a1 | cut -d. -f1-3) $(bport_mac "$(dip a1)")"
dkr rm -f a1 >/dev/null
check "docker network rm auto1 auto2" dkr network rm auto1 auto2

# ---- kuryrd SIGKILLed and restarted between two docker runs ----
stop_kuryrd KILL
start_kuryrd
check "after kuryrd's SIGKILL and restart: docker run c5" drun --name c5 --network knet
check_eq "c5 pings c1, which kept its port" pass "$(dping c5 "$IP1")"
check_eq "c1 pings c2" pass "$(dping c1 "$IP2")"
check_eq "one row per running endpoint (c1 c2 c3 c5)" 4 "$(docker_rows)"

# ---- kuryrd absent ----
C5MAC=$(dmac c5)
stop_kuryrd
# c5 goes while kuryrd is away: dockerd cannot tell it (and retries each
# call for a while: a minute, on backend ovn only).
if [ "$BE" = ovn ]; then
	time_rm=$EPOCHREALTIME
	dkr rm -f c5 >"$T/rm5.out" 2>&1
	echo "docker rm -f without the plugin: status $?, $(python3 -c "print(round($EPOCHREALTIME - $time_rm, 1))") s" | diag
fi
before=$(world)
dkr run -d --stop-timeout 1 --name c6 --network knet kuryr-busybox sleep 3600 >"$T/absent.out" 2>&1
check_eq "kuryrd absent: docker run on knet fails, naming the plugin's socket" "1 1" \
	"$(test $? != 0 && echo 1) $(grep -c "kuryr.sock" "$T/absent.out")"
diag <"$T/absent.out"
dkr rm -f c6 >/dev/null 2>&1
start_kuryrd
if [ "$BE" = ovn ]; then
	# (Its port was the pool's: back there, or deleted.)
	check_eq "kuryrd back: c5's endpoint, removed while it was away, is undone (row, device)" \
		"3 0 " "$(docker_rows) $(store_sql "select count(*) from attachments where mac = '$C5MAC'") $(kyr_devs)"
	dkr rm -f c5 >/dev/null 2>&1
	before=$(world)
fi
check_eq "... and nothing was made for the failed run" "$before" "$(world)"

# ---- dockerd restarted: --restart always comes back on knet ----
check "docker run --restart always ra" drun --name ra --network knet --restart always
"$SRC/scripts/docker.sh" stop "$DKR_DIR" >"$T/dstop.log" 2>&1
check_eq "dockerd stopped: its containers' endpoints are all released" "0 " \
	"$(docker_rows) $(kyr_devs)"
"$SRC/scripts/docker.sh" start "$DKR_DIR" "$HOSTNS" >"$T/dstart.log" 2>&1 ||
	diag <"$T/dstart.log"
for _ in $(seq 50); do [ -n "$(dip ra knet)" ] && break; sleep 0.2; done
RA=$(dip ra knet)
check_eq "dockerd restarted: ra is running again with an address on knet" "true 10.77.0" \
	"$(dkr inspect -f '{{.State.Running}}' ra) ${RA%.*}"
check_eq "... its port is the backend's" "$(dmac ra)" "$(bport_mac "$RA")"
check "docker start c1" dkr start c1
check_eq "ra pings c1 again" pass "$(dping ra "$(dip c1 knet)")"

# ---- dockerd SIGKILLed: its next start cleans the stale endpoints ----
"$SRC/scripts/docker.sh" kill "$DKR_DIR" >/dev/null 2>&1
"$SRC/scripts/docker.sh" start "$DKR_DIR" "$HOSTNS" >"$T/dstart.log" 2>&1 ||
	diag <"$T/dstart.log"
for _ in $(seq 50); do [ "$(dkr inspect -f '{{.State.Running}}' ra 2>/dev/null)" = true ] && break; sleep 0.2; done
check_eq "after dockerd's SIGKILL and start: rows are those of running endpoints" \
	"$(dkr ps -q | wc -l)" "$(docker_rows)"

# ---- everything removed ----
dkr rm -f $(dkr ps -aq) >/dev/null 2>&1
check "docker network rm knet" dkr network rm knet
check_eq "no Docker endpoint row, record or device left" "0 0 " \
	"$(docker_rows) $(store_sql 'select count(*) from records') $(kyr_devs)"
check_eq "no docker-* network left on the backend" 0 "$(bnets | tr ' ' '\n' | grep -c '^docker-')"
