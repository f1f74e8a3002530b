#!/bin/bash
# A runtime in a mount namespace of its own (podman under unshare -m,
# rootless runtimes, runtimes in containers) mounts its netns where kuryrd
# cannot see the path. kuryr-cni opens CNI_NETNS there and passes it to
# kuryrd as a descriptor: ADD, CHECK and DEL work, on a veth and on a
# pre-wired pool entry; a kuryrd restart keeps what it cannot see and
# cleans up what went; a DEL without a netns still removes everything.
. "$(dirname "$0")/lib.sh"
env_up
command -v unshare >/dev/null || skip_all "unshare (util-linux) is not installed"

# The runtime: a process in a private mount namespace with a tmpfs of its
# own on /run/netns, so the netns "ip netns add" mounts there exist for it
# alone. rt CMD... runs CMD in that mount namespace.
# shellcheck disable=SC2016 # $1 is the inner shell's
unshare -m --propagation private sh -c \
	'mount -t tmpfs kct-runtime /run/netns && : >"$1" && exec sleep infinity' sh "$T/rt.ready" &
RT_PID=$!
rt_down() {
	local rc=$?
	kill "$RT_PID" 2>/dev/null
	wait "$RT_PID" 2>/dev/null
	return $rc
}
trap 'rt_down; env_down' EXIT
for _ in $(seq 100); do [ -e "$T/rt.ready" ] && break; sleep 0.05; done
[ -e "$T/rt.ready" ] || { echo "Bail out! the runtime's mount namespace did not come up"; exit 1; }
rt() { nsenter --target "$RT_PID" --mount "$@"; }
# rt_cni COMMAND CONTAINERID IFNAME NETNS CONF: kuryr-cni as the runtime
# runs it; sets OUT and RC.
rt_cni() {
	OUT=$(rt env CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_IFNAME="$3" CNI_NETNS="$4" \
		CNI_PATH="$BUILD/src" "$CNI_BIN" <<<"$5")
	RC=$?
}
# rt_pod NAME: a netns $P-NAME mounted in the runtime's mount namespace only.
rt_pod() { rt ip netns add "$P-$1" && rt ip -n "$P-$1" link set lo up; }
# The MAC and IPv4 address of eth0 in the runtime's netns $1, as netlink says.
rt_eth0() {
	rt nsenter --net="/run/netns/$1" ip -j addr show dev eth0 | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
print(l["address"], *[a["local"] + "/" + str(a["prefixlen"]) for a in l["addr_info"] if a["family"] == "inet"])'
}
rt_links() { rt ip -n "$1" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | tr '\n' ' ' | sed 's/ $//'; }
expect_ok() {
	check_eq "$1" 0 "$RC"
	[ "$RC" = 0 ] || echo "$OUT" | diag
}
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
lsp_of() { store_sql "select port from attachments where container_id='$1'"; }
row_state() { store_sql "select state from attachments where container_id='$1'"; }

check "kuryrctl creates a network" ctl network create net1 --subnet 10.87.0.0/24
C=$(netconf net1)
rt_pod m1
M1=/run/netns/$P-m1
check "the runtime sees its netns" rt test -e "$M1"
check "kuryrd's mount namespace does not" test ! -e "$M1"

# kuryr-cni refuses a bad CNI_NETNS itself: kuryrd is never asked (its
# socket here does not exist, which would be error 11).
NOSOCK=$(printf '{"cniVersion":"1.1.0","name":"net1","type":"kuryr-cni","daemon_socket":"%s"}' "$T/none.sock")
rt_cni ADD "$P-x" eth0 "/run/netns/$P-missing" "$NOSOCK"
check_eq "ADD with a missing netns: error 4 from kuryr-cni, path does not exist" \
	"4 path does not exist" "$(jget '["code"]') $(jget '["details"]')"
rt_cni ADD "$P-x" eth0 /proc/self/ns/mnt "$NOSOCK"
check_eq "ADD with a namespace that is not a netns: error 4, not a network namespace" \
	"4 not a network namespace" "$(jget '["code"]') $(jget '["details"]')"
rt_cni CHECK "$P-x" eth0 "$T/kuryr.conf" "$NOSOCK"
check_eq "CHECK with a regular file: error 4, not a network namespace" \
	"4 not a network namespace" "$(jget '["code"]') $(jget '["details"]')"

# A veth pod kuryrd can see, to exchange packets with.
pod c2
cni ADD "$P-c2" eth0 "$NSPATH" "$(netconf net1 1.1.0 '"runtimeConfig":{"ips":["10.87.0.200/24"]}')"
expect_ok "ADD of a pod in kuryrd's own mount namespace"

# kuryrd never opens the path it is given: a request without a descriptor
# (kuryr-cni always sends one) is refused even where kuryrd could see the
# path, and a descriptor that is not a netns is refused.
# raw_req OP NETNS [FILE]: send such a request with FILE's descriptor or
# none; prints the reply's error code (0: none) and details.
raw_req() {
	python3 - "$SOCK" "$1" "$2" "${3:-}" <<-'PY'
		import json, os, socket, sys
		path, op, netns, fdpath = sys.argv[1:5]
		req = {"op": op, "env": {"CNI_CONTAINERID": "kct-raw", "CNI_IFNAME": "eth0", "CNI_NETNS": netns},
		       "config": {"cniVersion": "1.1.0", "name": "net1", "type": "kuryr-cni"}}
		s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
		s.connect(path)
		data = json.dumps(req).encode()
		if fdpath:
		    socket.send_fds(s, [data], [os.open(fdpath, os.O_RDONLY)])
		else:
		    s.send(data)
		e = json.loads(s.recv(1 << 17)).get("error", {})
		print(e.get("code", 0), e.get("details", ""))
	PY
}
check_eq "ADD without a descriptor, with a path kuryrd could open: error 4" \
	"4 CNI_NETNS was not passed as a descriptor" "$(raw_req add "$NSPATH")"
check_eq "CHECK without a descriptor: error 4" \
	"4 CNI_NETNS was not passed as a descriptor" "$(raw_req check "$NSPATH")"
check_eq "ADD with the descriptor of a regular file: error 4" \
	"4 not a network namespace" "$(raw_req add "$NSPATH" "$T/kuryr.conf")"
check_eq "... and none of them attached anything" "0" \
	"$(store_sql "select count(*) from attachments where container_id='kct-raw'")"

# ---- veth ----
rt_cni ADD "$P-a" eth0 "$M1" "$C"
expect_ok "ADD in the runtime's mount namespace succeeds"
ip1=$(jget '["ips"][0]["address"]' 2>/dev/null)
mac1=$(jget '["interfaces"][1]["mac"]' 2>/dev/null)
check_eq "the result's sandbox is the runtime's path" "$M1" "$(jget '["interfaces"][1]["sandbox"]' 2>/dev/null)"
check_eq "netlink, from the runtime's mount namespace: eth0 has the port's MAC and address" \
	"$mac1 $ip1" "$(rt_eth0 "$P-m1")"
port1=$(lsp_of "$P-a")
check_eq "OVN NB: the port's security is that MAC and IP" "$mac1 ${ip1%/*}" \
	"$(nbctl get Logical_Switch_Port "$port1" port_security 2>/dev/null | tr -d '[]"')"
check_eq "store: done, with the runtime's path" "3 $M1" \
	"$(store_sql "select state, netns from attachments where container_id='$P-a'" | tr '|' ' ')"
check "the container reaches the pod kuryrd can see" \
	rt nsenter --net="$M1" busybox ping -c 1 -W 2 10.87.0.200
check "... and back" ip netns exec "$P-c2" busybox ping -c 1 -W 2 "${ip1%/*}"
rt_cni CHECK "$P-a" eth0 "$M1" "$(netconf net1 1.1.0 "\"prevResult\":$OUT")"
expect_ok "CHECK in the runtime's mount namespace succeeds"

# A restart keeps the attachment whose netns it cannot see.
stop_kuryrd KILL
start_kuryrd
check_eq "after a restart the attachment is kept" 3 "$(row_state "$P-a")"
check_eq "... and its device" "$mac1 $ip1" "$(rt_eth0 "$P-m1")"
rt_cni CHECK "$P-a" eth0 "$M1" "$C"
expect_ok "... and CHECK still succeeds"

rt_cni DEL "$P-a" eth0 "$M1" "$C"
expect_ok "DEL in the runtime's mount namespace succeeds"
check_eq "the container's device is gone" "lo" "$(rt_links "$P-m1")"
cni DEL "$P-c2" eth0 "$NSPATH" "$C"
assert_clean "veth DEL"

# The container goes while kuryrd is down: the restart cleans up.
rt_cni ADD "$P-g" eth0 "$M1" "$C"
expect_ok "ADD again"
host=$(jget '["interfaces"][0]["name"]' 2>/dev/null)
stop_kuryrd KILL
rt ip netns del "$P-m1"
# Destroying a netns is asynchronous: wait until the kernel has done it.
wait_for "the container's netns is destroyed (its host end went with it)" \
	"ip -n $HOSTNS -o link show $host 2>/dev/null" ""
start_kuryrd
assert_clean "restart after the container went"

# ---- pre-wired pool entries ----
stop_kuryrd
cat >>"$T/kuryr.conf" <<-CONF
	[vif_pool]
	enabled = true
	prewire = true
	ports_pool_min = 2
	ports_pool_batch = 2
	ports_pool_update_frequency = 1
CONF
start_kuryrd
pool_field() { ctl -o json pool list --network net1 | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['$1'])"; }
pool_lsps() { nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_owner\"=pool" | grep . | sort; }
ctl pool populate net1 >/dev/null
check_eq "the pool has 2 ready entries" 2 "$(pool_field ready)"
pod c3
cni ADD "$P-c3" eth0 "$NSPATH" "$(netconf net1 1.1.0 '"runtimeConfig":{"ips":["10.87.0.201/24"]}')"
expect_ok "ADD of a pod kuryrd can see (a requested IP: no pool)"

rt_pod m2
M2=/run/netns/$P-m2
rt_cni ADD "$P-p" eth0 "$M2" "$C"
expect_ok "pre-wired ADD in the runtime's mount namespace succeeds"
ip2=$(jget '["ips"][0]["address"]' 2>/dev/null)
mac2=$(jget '["interfaces"][1]["mac"]' 2>/dev/null)
port2=$(lsp_of "$P-p")
check_eq "it was a pool hit" 1 "$(pool_field hits)"
check_eq "eth0 is a passthru macvlan" "macvlan passthru" \
	"$(rt ip -n "$P-m2" -d -j link show eth0 | python3 -c 'import json,sys; l=json.load(sys.stdin)[0]["linkinfo"]; print(l["info_kind"], l["info_data"]["mode"])')"
check_eq "netlink, from the runtime's mount namespace: eth0 has the pool port's MAC and address" \
	"$mac2 $ip2" "$(rt_eth0 "$P-m2")"
check_eq "OVN NB: the pool port's security is that MAC and IP" "$mac2 ${ip2%/*}" \
	"$(nbctl get Logical_Switch_Port "$port2" port_security 2>/dev/null | tr -d '[]"')"
check "the pool container reaches the pod kuryrd can see" \
	rt nsenter --net="$M2" busybox ping -c 1 -W 2 10.87.0.201
rt_cni CHECK "$P-p" eth0 "$M2" "$C"
expect_ok "pre-wired CHECK succeeds"

stop_kuryrd KILL
start_kuryrd
check_eq "after a restart the pre-wired attachment is kept" "3 1" \
	"$(row_state "$P-p") $(pool_field in_use)"
check_eq "... and its device" "$mac2 $ip2" "$(rt_eth0 "$P-m2")"

rt_cni DEL "$P-p" eth0 "$M2" "$C"
expect_ok "pre-wired DEL succeeds"
check_eq "eth0 is gone from the pod when DEL returns" "" \
	"$(rt ip -n "$P-m2" -o link show eth0 2>/dev/null)"
wait_for "the pod's device is deleted in the background" "rt_links $P-m2" lo
wait_for "the entry is ready again" "echo \$(pool_field in_use) \$(pool_field draining)" "0 0"
check_eq "DEL kept the OVN port (it returned to the pool)" "$port2" "$(pool_lsps | grep "$port2")"
check_eq "no attachment row left" "" "$(row_state "$P-p")"

# DEL without CNI_NETNS while the pod still exists: the stub goes, and the
# macvlan in the pod with it; the entry is destroyed, not handed out again.
rt_cni ADD "$P-q" eth0 "$M2" "$C"
expect_ok "pre-wired ADD again"
port3=$(lsp_of "$P-q")
rt_cni DEL "$P-q" eth0 "" "$C"
expect_ok "pre-wired DEL without CNI_NETNS succeeds"
check_eq "the pod's macvlan is gone with its stub" "lo" "$(rt_links "$P-m2")"
check_eq "the entry's OVN port is deleted" "" "$(pool_lsps | grep "$port3")"
check_eq "... and its stub" "" \
	"$(ip -n "$P-hold" -o link show "ks$(echo "$port3" | tr -d - | cut -c1-12)" 2>/dev/null)"
check_eq "no attachment row left" "" "$(row_state "$P-q")"

# DEL for a container that is gone (its path too): no descriptor to pass.
rt_cni ADD "$P-r" eth0 "$M2" "$C"
expect_ok "pre-wired ADD once more"
rt ip netns del "$P-m2"
rt_cni DEL "$P-r" eth0 "$M2" "$C"
expect_ok "DEL of a container whose netns is gone succeeds"
check_eq "no attachment row left" "" "$(row_state "$P-r")"

cni DEL "$P-c3" eth0 "/run/netns/$P-c3" "$C"
wait_for "nothing in use or draining" "echo \$(pool_field in_use) \$(pool_field draining)" "0 0"
check "kuryrctl pool free" ctl pool free net1
assert_clean "end"
check_eq "the runtime's netns list is empty" "" "$(rt ip netns list)"
