#!/bin/bash
# A real runtime whose netns kuryrd cannot see: podman 4.3 with the CNI
# network backend, run under unshare -m like on a host where podman has a
# mount namespace of its own, calls kuryr-cni (VERSION, ADD, DEL with
# prevResult). Its containers get their OVN port's address, reach each
# other and a veth pod made here, and leave nothing behind when they exit.
. "$(dirname "$0")/lib.sh"
command -v podman >/dev/null || skip_all "podman is not installed (scripts/deps.sh)"
command -v crun >/dev/null || skip_all "crun is not installed (scripts/deps.sh)"
[ -x /bin/busybox ] || skip_all "busybox-static is not installed (scripts/deps.sh)"
env_up

check "kuryrctl creates a network" ctl network create net1 --subnet 10.89.0.0/24
PM=$T/podman
NET=$P-net
mkdir -p "$PM/plugins" "$PM/net.d" "$PM/tmp"
ln -s "$CNI_BIN" "$PM/plugins/kuryr-cni"
cat >"$PM/net.d/$NET.conflist" <<-JSON
	{"cniVersion": "1.0.0", "name": "$NET",
	 "plugins": [{"type": "kuryr-cni", "network": "net1", "daemon_socket": "$SOCK"}]}
JSON
cat >"$PM/containers.conf" <<-CONF
	[containers]
	[engine]
	cgroup_manager = "cgroupfs"
	events_logger = "file"
	events_logfile_path = "$PM/events.log"
	runtime = "crun"
	tmp_dir = "$PM/tmp"
	[network]
	network_backend = "cni"
	cni_plugin_dirs = ["$PM/plugins"]
	network_config_dir = "$PM/net.d"
CONF
# A root file system for each container: static busybox.
rootfs() {
	mkdir -p "$PM/rootfs-$1/bin"
	cp /bin/busybox "$PM/rootfs-$1/bin/busybox"
	echo "$PM/rootfs-$1"
}

# podman's own mount namespace (in the host netns, so that nothing podman
# does touches the root namespace): a tmpfs on /run/netns, where podman
# mounts its containers' netns, and no hybrid cgroup2 mount, which crun
# here trips over. pm ARGS... runs podman there.
# shellcheck disable=SC2016 # $1 is the inner shell's
nsenter --net=/run/netns/"$HOSTNS" unshare -m --propagation private sh -c \
	'mount -t tmpfs kct-podman /run/netns && { umount /sys/fs/cgroup/unified 2>/dev/null; :; } &&
	 : >"$1" && exec sleep infinity' sh "$PM/ready" &
RT_PID=$!
pm() {
	nsenter --target "$RT_PID" --mount --net env CONTAINERS_CONF="$PM/containers.conf" \
		podman --root "$PM/root" --runroot "$PM/runroot" --storage-driver vfs "$@"
}
rt_down() {
	local rc=$?
	pm rm -a -f -t 0 >/dev/null 2>&1
	kill "$RT_PID" 2>/dev/null
	wait "$RT_PID" 2>/dev/null
	return $rc
}
trap 'rt_down; env_down' EXIT
for _ in $(seq 100); do [ -e "$PM/ready" ] && break; sleep 0.05; done
[ -e "$PM/ready" ] || { echo "Bail out! podman's mount namespace did not come up"; exit 1; }
RUNOPTS=(--cgroups=disabled --ulimit nofile=1024:1024 --ulimit nproc=1000:1000 --network "$NET")

# "MAC IP/LEN" of eth0 in `busybox ip addr` output on stdin.
eth0_of() { awk '/link\/ether/ {mac=$2} /inet / && $NF=="eth0" {ip=$2} END {print mac, ip}'; }

# One container that comes and goes.
OUT=$(pm run --rm "${RUNOPTS[@]}" --rootfs "$(rootfs once)" /bin/busybox ip addr 2>&1)
RC=$?
check_eq "podman run --rm ... ip addr succeeds" 0 "$RC"
[ "$RC" = 0 ] || echo "$OUT" | diag
check "... and eth0 has an address on the network" \
	grep -qE "inet 10\.89\.0\.[0-9]+/24 .* eth0" <<<"$OUT"
check_eq "after it exited: no attachment row" 0 "$(store_sql 'select count(*) from attachments')"
check_eq "... and no port in OVN" "" "$(nbctl --bare --columns=name list Logical_Switch_Port)"

# A long-running container and a veth pod made here.
ID_A=$(pm run -d --name "$P-a" "${RUNOPTS[@]}" --rootfs "$(rootfs a)" \
	/bin/busybox sh -c 'ip addr show dev eth0; exec sleep 600' 2>"$T/pm.err")
check "podman run -d starts a container" test -n "$ID_A"
[ -n "$ID_A" ] || diag <"$T/pm.err"
for _ in $(seq 50); do pm logs "$P-a" 2>/dev/null | grep -q inet && break; sleep 0.1; done
read -r MAC_A IP_A < <(pm logs "$P-a" 2>/dev/null | eth0_of)
lsp=$(nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_id\"=$ID_A")
check_eq "its eth0 has the MAC and address of its OVN port" "$MAC_A ${IP_A%/*}" \
	"$(nbctl get Logical_Switch_Port "$lsp" port_security 2>/dev/null | tr -d '[]"')"
netns_a=$(store_sql "select netns from attachments where container_id='$ID_A'")
check "the netns podman gave is a path kuryrd cannot see" \
	test -n "$netns_a" -a ! -e "$netns_a"
pod c1
cni ADD "$P-c1" eth0 "$NSPATH" "$(netconf net1)"
check_eq "ADD of a veth pod" 0 "$RC"
IP_POD=$(jget '["ips"][0]["address"]')
check "the veth pod reaches the podman container" \
	ip netns exec "$P-c1" busybox ping -c 1 -W 5 "${IP_A%/*}"

# A second container reaches both.
OUT=$(pm run --rm "${RUNOPTS[@]}" --rootfs "$(rootfs b)" /bin/busybox sh -c \
	"ip addr show dev eth0 && ping -c 1 -W 5 ${IP_A%/*} && ping -c 1 -W 5 ${IP_POD%/*}" 2>&1)
RC=$?
check_eq "a second podman container pings the first and the veth pod" 0 "$RC"
[ "$RC" = 0 ] || echo "$OUT" | diag
read -r _ IP_B < <(eth0_of <<<"$OUT")
check "... from an address of its own on the network" \
	test -n "$IP_B" -a "$IP_B" != "$IP_A" -a "$IP_B" != "$IP_POD"

check "podman stop" pm stop -t 0 "$P-a"
check "podman rm" pm rm "$P-a"
cni DEL "$P-c1" eth0 "$NSPATH" "$(netconf net1)"
assert_clean "after the containers exited"
