#!/bin/bash
# The same show as scripts/demo.sh, on backend "neutron": a real Keystone
# and a real neutron-server (ML2/OVN) on a private OVS + OVN. kuryrd logs in
# to Keystone as user kuryr, creates a network in Neutron, attaches three
# containers (network namespaces) through the real kuryr-cni from a pool of
# pre-wired Neutron ports, one of them in a security group "web" made with
# the openstack CLI; a real VM (QEMU) boots on a port made with the
# openstack CLI, its tap plugged beside them; then ping and TCP between the
# containers and the VM, with the group enforced, and the ports as Neutron
# reports them.
#
#   scripts/demo-neutron.sh         set everything up and run the checks (re-runnable)
#   scripts/demo-neutron.sh down    remove everything the demo made
#
# Runs as root. It lives beside scripts/demo.sh: its services, devices and
# kuryrd all sit inside network namespace kc-nd-host (a second userspace
# ovs-vswitchd in the same namespace as another cannot create its datapath
# devices, ovs-netdev and br-int), its files in /run/kuryr-c-neutron, and
# everything it makes is named kc-nd-*. Keystone listens on
# 127.0.0.1:15000 and Neutron on 127.0.0.1:19696 inside kc-nd-host.
# Services are stopped by pid.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
RUN=/run/kuryr-c-neutron
NS=kc-nd-host
SOCK=$RUN/kuryr.sock
NET=kc-nd-net
SUBNET=10.89.0.0/24
B=$SRC/build/src
# This node's name for Neutron's binding:host_id: the hostname scripts/ovn.sh
# gives the OVN chassis, or ML2/OVN cannot bind the ports here.
HOST=kuryr-$(hostname)-$NS
CTRS=(kc-nd-1 kc-nd-2 kc-nd-web)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "demo-neutron: $*" >&2; exit 1; }

# step LOG CMD...: run CMD with its output in $RUN/LOG; on failure show its end.
step() {
	local log=$RUN/$1
	shift
	"$@" >"$log" 2>&1 || die "$* failed: $(tail -n 20 "$log")"
}

ctl() { "$B/kuryrctl" --socket "$SOCK" "$@"; }

# osc ARGS...: the openstack CLI as user kuryr (clouds.yaml), inside $NS.
osc() { OS_CLIENT_CONFIG_FILE=$RUN/clouds.yaml OS_CLOUD=kc-nd run /usr/bin/openstack "$@"; }

# conf [EXTRA_JSON_MEMBERS]: the netconf.
conf() {
	printf '{"cniVersion":"1.1.0","name":"%s","type":"kuryr-cni","network":"%s","daemon_socket":"%s"%s}' \
		"$NET" "$NET" "$SOCK" "${1:+,$1}"
}
ctr_conf() { if [ "$1" = kc-nd-web ]; then conf '"security_groups":["web"]'; else conf; fi; }

# cni COMMAND CONTAINER: kuryr-cni for CONTAINER's eth0 (given up after 60 s).
cni() {
	CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$2 \
		CNI_PATH=$B timeout 60 "$B/kuryr-cni" <<<"$(ctr_conf "$2")"
}

down() {
	if [ -S "$SOCK" ] && [ -x "$B/kuryrctl" ]; then
		# Bounded: with Neutron or Keystone gone kuryrd would retry.
		for c in "${CTRS[@]}"; do cni DEL "$c" >/dev/null 2>&1 || true; done
		timeout 30 "$B/kuryrctl" --socket "$SOCK" vm unplug kc-nd-vm >/dev/null 2>&1 || true
		timeout 30 "$B/kuryrctl" --socket "$SOCK" port delete kc-nd-vm >/dev/null 2>&1 || true
		timeout 60 "$B/kuryrctl" --socket "$SOCK" pool free >/dev/null 2>&1 || true
	fi
	stop_pid "$RUN/kuryrd.pid"
	if [ -d "$RUN/vm" ]; then scripts/vm.sh stop "$RUN/vm"; fi
	if [ -d "$RUN" ]; then
		scripts/neutron.sh down "$RUN" >/dev/null 2>&1 || true
		scripts/keystone.sh down "$RUN" >/dev/null 2>&1 || true
		scripts/ovn.sh down "$RUN" "$NS" >/dev/null 2>&1 || true
		rm -rf "$RUN"
	fi
	ip -n "$NS" link del kc-nd-vm 2>/dev/null || true
	for n in "${CTRS[@]}" kc-nd-hold "$NS"; do ip netns del "$n" 2>/dev/null || true; done
}

if [ "${1:-up}" = down ]; then
	[ "$(id -u)" = 0 ] || die "run as root"
	down
	say "demo removed"
	exit 0
fi
[ "$(id -u)" = 0 ] || die "run as root"

say "installing dependencies (Debian packages) and building"
deps_and_build

down
mkdir -p "$RUN"
ip netns add "$NS"
ip -n "$NS" link set lo up
say "starting Open vSwitch (userspace datapath) and OVN in netns $NS, files in $RUN"
step ovn-up.log scripts/ovn.sh up "$RUN" "$NS"
say "starting Keystone (127.0.0.1:15000 in $NS): project kuryr, user kuryr"
step keystone-up.log scripts/keystone.sh up "$RUN" "$NS" 15000
# shellcheck source=/dev/null
. "$RUN/keystone/env"
say "starting neutron-server (ML2/OVN, 127.0.0.1:19696 in $NS) behind Keystone"
step neutron-up.log env AUTH=keystone KS_URL="$KS_URL" scripts/neutron.sh up "$RUN" "$NS" 19696

scripts/keystone.sh clouds-yaml "$RUN" kc-nd >"$RUN/clouds.yaml"
cat >"$RUN/kuryr.conf" <<CONF
[DEFAULT]
backend = neutron
host = $HOST
[neutron]
auth_type = password
auth_url = $KS_URL
username = $KURYR_USER
password = $KURYR_PASSWORD
project_name = $KURYR_PROJECT
user_domain_name = Default
project_domain_name = Default
region_name = $KS_REGION
[neutron_defaults]
project = $KURYR_PROJECT_ID
[ovs]
db_connection = unix:$RUN/ovs/db.sock
bridge = br-int
[daemon]
socket = $SOCK
state_dir = $RUN/state
metrics_address = 127.0.0.1:9656
[vif_pool]
enabled = true
prewire = true
ports_pool_min = 3
ports_pool_batch = 3
holding_netns = kc-nd-hold
CONF
say "starting kuryrd in $NS as Keystone user $KURYR_USER (log: $RUN/kuryrd.log)"
run_bg "$RUN/kuryrd.pid" "$B/kuryrd" -c "$RUN/kuryr.conf" >"$RUN/kuryrd.log" 2>&1
for _ in $(seq 300); do
	ctl status >/dev/null 2>&1 && break
	alive "$(cat "$RUN/kuryrd.pid")" || break
	sleep 0.1
done
ctl status >/dev/null 2>&1 || die "kuryrd did not start: $(tail -3 "$RUN/kuryrd.log")"

say "creating network $NET ($SUBNET) in Neutron"
ctl network create "$NET" --subnet "$SUBNET"
say "filling its port pool: Neutron ports (one bulk POST), pre-wired to stubs parked in netns kc-nd-hold"
ctl pool populate "$NET"

say "security group web (TCP 8080 in), made with the openstack CLI as user $KURYR_USER"
sg_web=$(osc security group create web -f value -c id)
osc security group rule create --protocol tcp --dst-port 8080 --ingress web -f value -c id >/dev/null

declare -A IP
for c in "${CTRS[@]}"; do
	ip netns add "$c"
	ip -n "$c" link set lo up
	out=$(cni ADD "$c") || die "ADD of $c failed: $out"
	IP[$c]=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ips"][0]["address"])' <<<"$out")
	kind=$(ip -n "$c" -d -j link show eth0 | python3 -c 'import json,sys; l=json.load(sys.stdin)[0]["linkinfo"]; print(l["info_kind"], l.get("info_data", {}).get("mode", ""))')
	sg=default
	[ "$c" = kc-nd-web ] && sg=web
	say "container $c attached through kuryr-cni: eth0 ${IP[$c]} ($kind), group $sg"
done

say "VM: openstack port create --host $HOST, boot it (QEMU) on tap kc-nd-vm, plug the tap"
vm=$(osc port create --network "$NET" --host "$HOST" -f json kc-nd-vm)
vm_port=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$vm")
VM_IP=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["fixed_ips"][0]["ip_address"])' <<<"$vm")
scripts/vm.sh start "$RUN/vm" kc-nd-vm \
	"$(python3 -c 'import json,sys; print(json.load(sys.stdin)["mac_address"])' <<<"$vm")" "$NS" ||
	die "the VM did not boot"
ctl vm plug kc-nd-vm "$vm_port"
scripts/vm.sh exec "$RUN/vm" "ip link set eth0 mtu $(osc network show "$NET" -f value -c mtu) up &&
	ip addr add $VM_IP/${SUBNET#*/} dev eth0"
status=$(osc port show "$vm_port" -f value -c status)
[ "$status" = ACTIVE ] || die "Neutron shows the VM port $status, not ACTIVE"
say "Neutron shows the VM port $vm_port ACTIVE on $HOST"

ping_ok() { ip netns exec "$1" busybox ping -c 1 -W 2 "${IP[$2]%/*}" >/dev/null; }
say "ping between the containers and the VM in Neutron's default group"
for a in kc-nd-1 kc-nd-2; do
	for b in kc-nd-1 kc-nd-2; do
		[ "$a" = "$b" ] && continue
		ping_ok "$a" "$b" || die "$a cannot reach $b"
		echo "    $a -> $b (${IP[$b]%/*}): ok"
	done
done
for c in kc-nd-1 kc-nd-2; do
	ip netns exec "$c" busybox ping -c 1 -W 5 "$VM_IP" >/dev/null || die "$c cannot reach the VM"
	echo "    $c -> VM ($VM_IP): ok"
done
scripts/vm.sh exec "$RUN/vm" "ping -c 1 -W 5 ${IP[kc-nd-1]%/*}" >/dev/null || die "the VM cannot reach kc-nd-1"
echo "    VM -> kc-nd-1 (${IP[kc-nd-1]%/*}): ok"
ping_ok kc-nd-1 kc-nd-web && die "kc-nd-1 pinged kc-nd-web: group web lets ICMP in"
echo "    kc-nd-1 -> kc-nd-web (${IP[kc-nd-web]%/*}): no answer (group web lets only TCP 8080 in)"

say "TCP from kc-nd-2 to kc-nd-web: port 8080 allowed, 9090 not"
declare -A NC
for p in 8080 9090; do
	ip netns exec kc-nd-web busybox nc -l -p $p >"$RUN/tcp$p.out" &
	NC[$p]=$!
done
sleep 0.3
for p in 8080 9090; do
	echo "hello on $p" | ip netns exec kc-nd-2 busybox nc -w 2 "${IP[kc-nd-web]%/*}" $p 2>/dev/null || true
done
sleep 0.3
for p in 8080 9090; do kill "${NC[$p]}" 2>/dev/null || true; wait "${NC[$p]}" 2>/dev/null || true; done
[ "$(cat "$RUN/tcp8080.out")" = "hello on 8080" ] || die "TCP 8080 did not get through"
[ -s "$RUN/tcp9090.out" ] && die "TCP 9090 got through group web"
echo "    8080 received: $(cat "$RUN/tcp8080.out")"
echo "    9090 received: nothing"

say "what Neutron reports: openstack port list --device-owner compute:kuryr (containers and pools)"
osc port list --device-owner compute:kuryr --sort-column Name -c Name -c "Fixed IP Addresses" -c Status
web_port=$(osc port list --device-id kc-nd-web -f value -c ID)
sgs=$(osc port show "$web_port" -f json -c security_group_ids |
	python3 -c 'import json,sys; print(" ".join(json.load(sys.stdin)["security_group_ids"]))')
[ "$sgs" = "$sg_web" ] || die "kc-nd-web's port has groups $sgs, not web ($sg_web)"
say "Neutron: kc-nd-web's port $web_port is in group web ($sg_web) only"
say "what kuryrd knows"
ctl attachment list
echo
ctl pool list
say "done: three containers and a VM on one Neutron network. Remove with: scripts/demo-neutron.sh down"
