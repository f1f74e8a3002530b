# Sourced by every end-to-end test. NEUTRON=true adds a real neutron-server
# (ML2/OVN on the same OVN, scripts/neutron.sh) and BACKEND=neutron points
# kuryrd at it. KEYSTONE=true (implies NEUTRON=true) adds a real Keystone
# (scripts/keystone.sh), runs neutron-server with auth_strategy = keystone,
# has kuryrd authenticate as user kuryr, and gives the test the variables of
# scripts/keystone.sh's env file (KS_URL, KURYR_PROJECT_ID, AC_ID, ...) and
# os_token. KURYR_HOST= (empty) runs kuryrd without [DEFAULT] host. Each
# test gets its own world: a "host"
# network namespace running a private Open vSwitch (userspace datapath), OVN
# and kuryrd, plus the container namespaces it makes. Nothing touches the
# root namespace; everything is named with the test's prefix and removed on
# exit, even when the test fails. Output is TAP.
#
# Assertions look at what the system did: netlink (ip), OVSDB rows
# (ovs-vsctl, ovn-nbctl), the attachment store (sqlite3) and packets.

set -uo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${KURYR_BUILD:-$SRC/build}
CNI_BIN=$BUILD/src/kuryr-cni
CTL_BIN=$BUILD/src/kuryrctl
KURYRD_BIN=$BUILD/src/kuryrd
P=kct$$                # prefix of every namespace and file this test makes
T=$(mktemp -d /tmp/kuryr-e2e.XXXXXX)
HOSTNS=$P-host
RUN=$T/run
SOCK=$T/kuryr.sock
NB_DB=unix:$RUN/ovn/nb.sock
OVS_DB=unix:$RUN/ovs/db.sock
STORE=$T/state/kuryr.db
PORT_UP_TIMEOUT=${PORT_UP_TIMEOUT:-10}

_n=0
_failed=0
_pods=()

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
diag() { sed "s/^/# /" | tee /dev/stderr; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

# check DESC CMD...: ok if CMD succeeds.
check() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then ok "$desc"; else
		not_ok "$desc"
		diag <"$T/check.out"
	fi
}
# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		printf 'expected: %s\n     got: %s\n' "$2" "$3" | diag
	fi
}

nbctl() { ovn-nbctl --db="$NB_DB" --timeout=10 "$@"; }
vsctl() { ovs-vsctl --db="$OVS_DB" --timeout=10 "$@"; }
store_sql() { sqlite3 -cmd '.timeout 5000' "$STORE" "$@"; }
ctl() { "$CTL_BIN" --socket "$SOCK" "$@"; }
hostns() { nsenter --net=/run/netns/"$HOSTNS" "$@"; }
# ctl_code OP ARGS_JSON: the code kuryrd answers an operator request (0:
# a result), read off its socket as kuryrctl reads it.
ctl_code() {
	python3 - "$SOCK" "$1" "$2" <<-'EOF'
		import json, socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
		s.connect(sys.argv[1])
		s.send(json.dumps({"op": sys.argv[2], "args": json.loads(sys.argv[3])}).encode())
		r = json.loads(s.recv(131072))
		print(r["error"]["code"] if "error" in r else 0)
	EOF
}

# os_token [admin|kuryr]: a Keystone token (KEYSTONE=true), scoped to
# project admin as admin, or to project kuryr as kuryr.
os_token() { "$SRC/scripts/keystone.sh" token "$RUN" "${1:-admin}"; }

# nq METHOD PATH [JSON]: Neutron's JSON answer (empty for none), asked from
# the host netns; with KEYSTONE=true as admin, with a fresh token.
nq() {
	local token=
	if [ "${KEYSTONE:-false}" = true ]; then token=$(os_token admin) || return 1; fi
	hostns python3 -c '
import json, sys, urllib.request
r = urllib.request.Request("http://127.0.0.1:19696/v2.0" + sys.argv[2], method=sys.argv[1],
                           data=sys.argv[3].encode() or None, headers={"Content-Type": "application/json"})
if sys.argv[4]:
    r.add_header("X-Auth-Token", sys.argv[4])
body = urllib.request.urlopen(r, timeout=10).read()
if body:
    print(json.dumps(json.loads(body)))' "$1" "$2" "${3:-}" "$token"
}

# all_ports: the ids of all of Neutron's ports, sorted, on one line.
all_ports() { nq GET "/ports?fields=id" | pyj '" ".join(sorted(p["id"] for p in d["ports"]))'; }

start_kuryrd() {
	nsenter --net=/run/netns/"$HOSTNS" "$KURYRD_BIN" -c "$T/kuryr.conf" >>"$T/kuryrd.log" 2>&1 &
	echo $! >"$T/kuryrd.pid"
	for _ in $(seq 200); do
		[ -S "$SOCK" ] && "$CTL_BIN" --socket "$SOCK" status >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$T/kuryrd.pid")" 2>/dev/null || break
		sleep 0.05
	done
	echo "# kuryrd did not start:"
	diag <"$T/kuryrd.log"
	return 1
}

# stop_kuryrd [SIGNAL]: on SIGTERM kuryrd must exit 0 (in a sanitizer
# build that also means no leak and no undefined behaviour was reported).
stop_kuryrd() {
	local pid sig=${1:-TERM} rc
	[ -f "$T/kuryrd.pid" ] || return 0
	pid=$(cat "$T/kuryrd.pid")
	kill -"$sig" "$pid" 2>/dev/null
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	rm -f "$T/kuryrd.pid"
	if [ "$sig" = TERM ]; then
		if [ "$rc" = 0 ]; then ok "kuryrd exits cleanly on SIGTERM"; else
			not_ok "kuryrd exits cleanly on SIGTERM (status $rc)"
			tail -n 30 "$T/kuryrd.log" | diag
		fi
	fi
}

env_up() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, Open vSwitch)"
	command -v ovs-vswitchd >/dev/null || skip_all "Open vSwitch is not installed (scripts/deps.sh)"
	command -v ovn-northd >/dev/null || skip_all "OVN is not installed (scripts/deps.sh)"
	[ -x "$KURYRD_BIN" ] || skip_all "kuryrd not built in $BUILD"
	[ "${KEYSTONE:-false}" = true ] && NEUTRON=true
	trap env_down EXIT
	ip netns add "$HOSTNS" || skip_all "cannot create a network namespace"
	ip -n "$HOSTNS" link set lo up
	"$SRC/scripts/ovn.sh" up "$RUN" "$HOSTNS" >"$T/ovn-up.log" 2>&1 || {
		echo "Bail out! OVS/OVN did not start"
		diag <"$T/ovn-up.log"
		exit 1
	}
	local auth=noauth project=kuryr-e2e neutron_conf
	neutron_conf=$(printf '%s\n' "auth_type = none" "endpoint_override = http://127.0.0.1:19696")
	if [ "${KEYSTONE:-false}" = true ]; then
		[ -x /usr/bin/keystone-wsgi-public ] || skip_all "keystone is not installed (scripts/deps.sh)"
		"$SRC/scripts/keystone.sh" up "$RUN" "$HOSTNS" 15000 >"$T/keystone-up.log" 2>&1 || {
			echo "Bail out! Keystone did not start"
			diag <"$T/keystone-up.log"
			exit 1
		}
		# shellcheck source=/dev/null
		. "$RUN/keystone/env"
		auth=keystone project=$KURYR_PROJECT_ID
		# Upstream Kuryr's names; Neutron is found in the catalog.
		neutron_conf=$(printf '%s\n' "auth_type = password" "auth_url = $KS_URL" \
			"username = $KURYR_USER" "password = $KURYR_PASSWORD" \
			"project_name = $KURYR_PROJECT" "user_domain_name = Default" \
			"project_domain_name = Default" "region_name = $KS_REGION")
	fi
	if [ "${NEUTRON:-false}" = true ]; then
		command -v neutron-server >/dev/null || skip_all "neutron-server is not installed (scripts/deps.sh)"
		AUTH=$auth KS_URL=${KS_URL:-} "$SRC/scripts/neutron.sh" up "$RUN" "$HOSTNS" 19696 \
			>"$T/neutron-up.log" 2>&1 || {
			echo "Bail out! neutron-server did not start"
			diag <"$T/neutron-up.log"
			exit 1
		}
	fi
	# OCTAVIA=true (with NEUTRON=true): Octavia with its OVN provider
	# (scripts/octavia.sh) for backend neutron's load balancers.
	if [ "${OCTAVIA:-false}" = true ]; then
		[ -x /usr/bin/octavia-db-manage ] || skip_all "Octavia is not installed (scripts/deps.sh)"
		"$SRC/scripts/octavia.sh" up "$RUN" "$HOSTNS" 19876 >"$T/octavia-up.log" 2>&1 || {
			echo "Bail out! Octavia did not start"
			diag <"$T/octavia-up.log"
			exit 1
		}
	fi
	# [DEFAULT] host: KURYR_HOST, the chassis name scripts/ovn.sh gives
	# by default; KURYR_HOST= (empty) leaves it out for kuryrd to pick.
	KURYR_HOST=${KURYR_HOST-kuryr-$(hostname)-$HOSTNS}
	cat >"$T/kuryr.conf" <<-CONF
		[DEFAULT]
		backend = ${BACKEND:-ovn}
		${KURYR_HOST:+host = $KURYR_HOST}
		log_level = debug
		[ovn]
		nb_connection = $NB_DB
		sb_connection = unix:$RUN/ovn/sb.sock
		[ovs]
		db_connection = $OVS_DB
		bridge = br-int
		[daemon]
		socket = $SOCK
		state_dir = $T/state
		port_up_timeout = $PORT_UP_TIMEOUT
		metrics_address = 127.0.0.1:9655
		[neutron]
		$neutron_conf
		[neutron_defaults]
		project = $project
		[vif_pool]
		enabled = ${POOLS:-false}
		holding_netns = $P-hold
	CONF
	[ "${OCTAVIA:-false}" = true ] &&
		printf '%s\n' "[octavia]" "endpoint_override = http://127.0.0.1:19876" >>"$T/kuryr.conf"
	# Further config lines from the test (sections may repeat; last wins).
	[ -n "${KURYR_CONF_EXTRA:-}" ] && printf '%s\n' "$KURYR_CONF_EXTRA" >>"$T/kuryr.conf"
	start_kuryrd || { echo "Bail out! kuryrd did not start"; exit 1; }
}

env_down() {
	local rc=$?
	for p in "${_probe_servers[@]}"; do kill "$p" 2>/dev/null; done
	# dockerd first: its containers' and networks' teardown goes to kuryrd.
	[ -d "$DKR_DIR" ] && dkr_down
	stop_kuryrd
	# A server's own account of a failure (an HTTP 500 says nothing).
	if [ "$_failed" -gt 0 ] && [ -f "$RUN/neutron/neutron-server.log" ]; then
		echo "# neutron-server errors (last 30):"
		grep -E 'ERROR|Traceback|Error:' "$RUN/neutron/neutron-server.log" | tail -n 30 | diag
	fi
	[ -n "$_ovn_diag_pid" ] && wait "$_ovn_diag_pid" 2>/dev/null
	if [ "$_failed" -gt 0 ] && [ -s "$T/ovn-state.txt" ]; then
		diag <"$T/ovn-state.txt"
	fi
	# The datapath's account: ovs-vswitchd's and ovn-controller's
	# warnings (an assertion, a crash, a flow they could not install).
	if [ "$_failed" -gt 0 ]; then
		for f in "$RUN/ovs/ovs-vswitchd.log" "$RUN/ovn/controller.log"; do
			[ -f "$f" ] || continue
			echo "# $(basename "$f") warnings and errors (last 15):"
			grep -E '\|(WARN|ERR|EMER)\|' "$f" | tail -n 15 | diag
		done
		# Whether this node's chassis is in the Southbound, and what
		# it has bound (a port OVN never installs).
		if [ -S "$RUN/ovn/sb.sock" ]; then
			echo "# ovn-sbctl show:"
			ovn-sbctl --db=unix:"$RUN/ovn/sb.sock" --timeout=5 show 2>&1 | head -n 30 | diag
			# Whether northd made the bindings at all (show lists
			# only the claimed ones).
			echo "# Port_Binding rows (port chassis up):"
			ovn-sbctl --db=unix:"$RUN/ovn/sb.sock" --timeout=5 --bare --format=csv \
				--columns=logical_port,chassis,up list Port_Binding 2>&1 | head -n 15 | diag
		fi
		for f in controller northd; do
			[ -f "$RUN/ovn/$f.log" ] || continue
			echo "# $f.log (last 10 lines):"
			tail -n 10 "$RUN/ovn/$f.log" | diag
		done
	fi
	[ -d "$T/vm" ] && "$SRC/scripts/vm.sh" stop "$T/vm" >/dev/null 2>&1
	[ "${OCTAVIA:-false}" = true ] && "$SRC/scripts/octavia.sh" down "$RUN" >/dev/null 2>&1
	[ "${NEUTRON:-false}" = true ] && "$SRC/scripts/neutron.sh" down "$RUN" >/dev/null 2>&1
	[ "${KEYSTONE:-false}" = true ] && "$SRC/scripts/keystone.sh" down "$RUN" >/dev/null 2>&1
	"$SRC/scripts/ovn.sh" down "$RUN" "$HOSTNS" >/dev/null 2>&1
	# Every namespace with our prefix, including any a subshell made.
	# One that cannot be deleted stays behind for good: say so.
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do
		ip netns del "$ns" 2>"$T/netns-del.err" || {
			not_ok "namespace $ns is deleted"
			diag <"$T/netns-del.err"
		}
	done
	if [ "$_failed" -gt 0 ] && [ -f "$T/kuryrd.log" ]; then
		echo "# kuryrd log (last 40 lines):"
		tail -n 40 "$T/kuryrd.log" | diag
	fi
	# Benchmarks send TAP to a log and their report to REPORT_FD: put the
	# reason for a failed run there too, before $T goes.
	if [ -n "${REPORT_FD:-}" ] && { [ "$rc" != 0 ] || [ "$_failed" != 0 ]; }; then
		grep -E '^(Bail out|not ok|# )' "$T/tap.log" >&"$REPORT_FD" 2>/dev/null
		[ -f "$T/kuryrd.log" ] &&
			{ echo "--- kuryrd log (last 15 lines)"; tail -n 15 "$T/kuryrd.log"; } >&"$REPORT_FD"
	fi
	rm -rf "$T"
	echo "1..$_n"
	[ "$_failed" -eq 0 ] && exit "$rc" || exit 1
}

# vm_talks VMDIR ADDR/LEN MTU NS IP: the VM booted by scripts/vm.sh in
# VMDIR takes ADDR on its NIC; it and container netns NS (address IP)
# then exchange ICMP both ways, and the VM sends over TCP.
vm_talks() {
	local dir=$1 addr=$2 mtu=$3 ns=$4 ip=$5 ncpid
	local vmx=("$SRC/scripts/vm.sh" exec "$dir")
	check "the guest takes its port's address" \
		"${vmx[@]}" "ip link set eth0 mtu $mtu up && ip addr add $addr dev eth0"
	check "the container reaches the VM" ip netns exec "$ns" busybox ping -c 1 -W 5 "${addr%/*}"
	check "the VM reaches the container" "${vmx[@]}" "ping -c 1 -W 5 $ip"
	ip netns exec "$ns" timeout 10 busybox nc -l -p 5559 >"$T/vmtcp.out" &
	ncpid=$!
	sleep 0.2
	check "the VM sends over TCP to the container" \
		"${vmx[@]}" "echo from-the-vm | nc -w 5 $ip 5559"
	wait "$ncpid"
	check_eq "... and the container receives it" "from-the-vm" "$(cat "$T/vmtcp.out")"
}

# ---- a VM whose guest runs kuryrd for nested containers (nested*.sh) ----
VMDIR=$T/vm                 # the test's VM (scripts/vm.sh's DIR); env_down stops it
TAP=$P-tap                  # its NIC's tap, in the host netns
GSOCK=/run/kuryr/kuryr.sock # the guest's kuryrd socket

# vm_boot MAC FORWARD: boot the test's VM with its NIC (MAC) on $TAP and
# a management NIC forwarding FORWARD (VM_FORWARD, scripts/vm.sh); a VM
# that does not boot ends the test.
vm_boot() {
	if VM_FORWARD=$2 "$SRC/scripts/vm.sh" start "$VMDIR" "$TAP" "$1" "$HOSTNS" \
		>"$T/vm-start.log" 2>&1; then
		ok "the VM boots with a management NIC"
	else
		not_ok "the VM boots with a management NIC"
		diag <"$T/vm-start.log"
		exit 1
	fi
}
# gx CMD: shell text CMD run in the test's VM; its output and status.
gx() { "$SRC/scripts/vm.sh" exec "$VMDIR" "$@"; }
# gnetconf NETWORK [EXTRA_JSON_MEMBERS]: a netconf for the guest's kuryrd.
gnetconf() {
	printf '{"cniVersion":"1.1.0","name":"%s","type":"kuryr-cni","network":"%s","daemon_socket":"%s"%s}' \
		"$1" "$1" "$GSOCK" "${2:+,$2}"
}
# guest_conf_ovn DRIVER HOST LOG_LEVEL PORT_UP_TIMEOUT [VIF_POOL_LINE...]:
# the guest kuryrd's config for backend ovn, NB over the management NIC
# (VM_FORWARD 6641), binding DRIVER on eth0; [vif_pool] last, with the
# lines given (default: pools off), so callers may substitute in it.
guest_conf_ovn() {
	local pool=("${@:5}")
	[ ${#pool[@]} -gt 0 ] || pool=("enabled = false")
	printf '%s\n' "[DEFAULT]" "backend = ovn" "host = $2" "log_level = $3" "[ovn]" \
		"nb_connection = tcp:10.0.2.100:6641" "[binding]" "driver = $1" "link_iface = eth0" \
		"[daemon]" "socket = $GSOCK" "state_dir = /run/kuryr-state" "port_up_timeout = $4" \
		"[vif_pool]" "${pool[@]}"
}
# gpod NAME: netns $P-NAME in the guest, lo up.
gpod() { gx "ip netns add $P-$1 && ip -n $P-$1 link set lo up"; }

# vmless_port NETWORK NAME: a port of NETWORK with no VM and no container
# behind it (an appliance's, say): made with kuryrctl port create, its MAC
# and address on one end of a veth in netns $P-NAME, the other end put on
# br-int by kuryrctl vm plug. Leaves its address in VMLESS_IP; 1 if a step
# failed.
vmless_port() {
	local out mac
	out=$(ctl -o json port create --network "$1" --name "$P-$2" --device-id "$P-$2") || return 1
	read -r mac VMLESS_IP < <(python3 -c 'import json,sys; p=json.load(sys.stdin); print(p["mac"], p["ip"])' <<<"$out") || return 1
	ip netns add "$P-$2" && ip -n "$P-$2" link set lo up &&
		ip -n "$HOSTNS" link add "$P-$2" type veth peer name eth0 netns "$P-$2" &&
		ip -n "$P-$2" link set eth0 address "$mac" &&
		ip -n "$P-$2" addr add "$VMLESS_IP/24" dev eth0 && ip -n "$P-$2" link set eth0 up &&
		ip -n "$HOSTNS" link set "$P-$2" up && ctl vm plug "$P-$2" "$P-$2" >/dev/null
}

# guest_kuryrd VMDIR CONF_TEXT: in the VM booted by scripts/vm.sh in VMDIR
# (with KURYR_BUILD, so that it has kuryrd), CONF_TEXT becomes
# /etc/kuryr/kuryr.conf and kuryrd runs on it in the background: its pid
# in the guest's /run/kuryrd.pid, its output in the guest's
# /tmp/kuryrd.log (begun anew), its exit status, once it exits, in /run/kuryrd.rc.
# Returns 0 once kuryrd answers on its socket ([daemon] socket of
# CONF_TEXT, else /run/kuryr/kuryr.sock); 1, with its log, if it exits
# or does not answer within 30 s. Its control plane is what the VM's
# management NIC forwards (VM_FORWARD, scripts/vm.sh), e.g. nb_connection
# = tcp:10.0.2.100:6641.
guest_kuryrd() {
	local dir=$1 conf=$2 sock out
	sock=$(sed -n '/^\[daemon\]/,/^\[/s/^socket *= *//p' <<<"$conf" | tail -n 1)
	sock=${sock:-/run/kuryr/kuryr.sock}
	# The subshell keeps kuryrd's status; fd 3 is the guest's command line.
	out=$("$SRC/scripts/vm.sh" exec "$dir" "
		mkdir -p /etc/kuryr && echo $(base64 -w 0 <<<"$conf") | base64 -d >/etc/kuryr/kuryr.conf
		rm -f /run/kuryrd.pid /run/kuryrd.rc /tmp/kuryrd.log
		(
			kuryrd -c /etc/kuryr/kuryr.conf &
			echo \$! >/run/kuryrd.pid
			wait \$!
			echo \$? >/run/kuryrd.rc
		) </dev/null >/tmp/kuryrd.log 2>&1 3>&- &
		for i in \$(seq 300); do
			[ -S '$sock' ] && kuryrctl --socket '$sock' status >/dev/null 2>&1 && exit 0
			[ -f /run/kuryrd.rc ] && break
			sleep 0.1
		done
		tail -n 30 /tmp/kuryrd.log
		exit 1" 2>&1) && return 0
	echo "# kuryrd in the guest did not start:"
	diag <<<"$out"
	return 1
}

# guest_kuryrd_stop VMDIR: SIGTERM to the guest's kuryrd (guest_kuryrd),
# SIGKILL if still there after 10 s. 0 if it exited with status 0; else
# 1 with its status and the end of its log.
guest_kuryrd_stop() {
	local out
	# shellcheck disable=SC2016 # expanded in the guest
	out=$("$SRC/scripts/vm.sh" exec "$1" '
		[ -f /run/kuryrd.pid ] || { echo "no kuryrd started in the guest"; exit 1; }
		pid=$(cat /run/kuryrd.pid)
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 100); do [ -f /run/kuryrd.rc ] && break; sleep 0.1; done
		[ -f /run/kuryrd.rc ] || { kill -KILL "$pid"; sleep 0.5; }
		rc=$(cat /run/kuryrd.rc 2>/dev/null || echo "none (SIGKILL)")
		rm -f /run/kuryrd.pid
		[ "$rc" = 0 ] && exit 0
		echo "exit status $rc"
		tail -n 30 /tmp/kuryrd.log
		exit 1' 2>&1) && return 0
	echo "# kuryrd in the guest did not exit cleanly on SIGTERM:"
	diag <<<"$out"
	return 1
}

# outside_up ADDR/LEN: the outside world, namespace $P-out, whose one link
# (address ADDR/LEN) is the node's uplink: a veth whose other end is on the
# provider bridge br-ex, which kuryrd makes for
# KURYR_CONF_EXTRA="[ovs] bridge_mappings = physnet1:br-ex".
outside_up() {
	ip netns add "$P-out" && ip -n "$P-out" link set lo up &&
		ip -n "$HOSTNS" link add "$P-up" type veth peer name uplink netns "$P-out" &&
		ip -n "$HOSTNS" link set "$P-up" up &&
		ip -n "$P-out" addr add "$1" dev uplink && ip -n "$P-out" link set uplink up &&
		vsctl add-port br-ex "$P-up"
}

# pod NAME: make a container netns $P-NAME; its path is left in NSPATH.
# (Not for $(...): the namespace must be recorded in this shell.)
pod() {
	local ns=$P-$1
	ip netns add "$ns" && ip -n "$ns" link set lo up
	_pods+=("$ns")
	NSPATH=/run/netns/$ns
}

# netconf NETWORK [VERSION] [EXTRA_JSON_MEMBERS]
netconf() {
	printf '{"cniVersion":"%s","name":"%s","type":"kuryr-cni","network":"%s","daemon_socket":"%s"%s}' \
		"${2:-1.1.0}" "$1" "$1" "$SOCK" "${3:+,$3}"
}

# cni COMMAND CONTAINERID IFNAME NETNS CONF: run kuryr-cni; sets OUT and RC.
cni() {
	OUT=$(CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=$3 CNI_NETNS=$4 CNI_PATH=$BUILD/src \
		"$CNI_BIN" <<<"$5")
	RC=$?
	# In the background, so that it never holds up a test (or its
	# timings); env_down prints it if the test failed.
	if [ "$RC" != 0 ] && [ -z "$_ovn_diag_pid" ] && grep -q "did not come up" <<<"$OUT"; then
		ovn_state_diag >"$T/ovn-state.txt" 2>&1 &
		_ovn_diag_pid=$!
	fi
	return 0
}

# ovn_state_diag: what OVN and the switch show at the moment a port did not
# come up (the end-of-test account comes after more rollbacks): the
# bindings, the chassis, the OpenFlow flow count (none: ovn-controller
# never programmed br-int), whether northd is active and ovn-controller
# connected, and the Interfaces.
_ovn_diag_pid=
ovn_state_diag() {
	{
		echo "OVN's state when a port first did not come up ($(date +%T.%N)):"
		timeout 5 ovn-sbctl --db=unix:"$RUN/ovn/sb.sock" --timeout=5 --format=csv --bare \
			--columns=logical_port,chassis,up list Port_Binding | tail -n 8
		timeout 5 ovn-sbctl --db=unix:"$RUN/ovn/sb.sock" --timeout=5 --bare --columns=name,nb_cfg list Chassis
		# Each with a deadline: a test may have frozen the daemon asked.
		echo "OpenFlow flows on br-int: $(timeout 5 nsenter --net=/run/netns/"$HOSTNS" \
			ovs-ofctl dump-flows unix:"$RUN/ovs/br-int.mgmt" 2>&1 | wc -l)"
		echo "northd: $(timeout 5 ovn-appctl -t "$RUN/ovn/northd.ctl" status 2>&1 || echo "no answer")"
		for c in "$RUN"/ovn/ovn-controller.*.ctl; do
			[ -S "$c" ] || { echo "ovn-controller: not running (no control socket)"; continue; }
			echo "ovn-controller: SB $(timeout 5 ovn-appctl -t "$c" connection-status 2>&1 || echo "no answer")"
		done
		timeout 5 ovs-vsctl --db="$OVS_DB" --timeout=5 --bare --columns=name,ofport,external_ids \
			list Interface | grep . | tail -n 12
	} 2>&1
}

# JSON field from $OUT: jq-less, via python3 (always present on Debian).
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1" <<<"$OUT"; }
# jq1 PATH: the JSON on stdin at Python subscript PATH ('["ports"][0]'),
# objects and lists printed as JSON.
jq1() { python3 -c "import json,sys; d=json.load(sys.stdin); v=eval('d' + sys.argv[1]); print(json.dumps(v) if isinstance(v, (dict, list)) else v)" "$1"; }
# pyj EXPR: Python expression EXPR of the JSON d on stdin.
pyj() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- packets, for the tests that send them ----
# serve NS PORT...: tcp-probe.py serving every PORT (both families) in
# netns NS until the test ends, logging its peers to $T/serve-NS; returns
# once it listens.
_probe_servers=()
serve() {
	local ns=$1
	shift
	ip netns exec "$ns" python3 "$SRC/tests/e2e/tcp-probe.py" serve "$@" >"$T/serve-$ns" 2>&1 &
	_probe_servers+=($!)
	for _ in $(seq 50); do grep -q ready "$T/serve-$ns" && return; sleep 0.05; done
}
# tcp NS IP PORT: "open", "refused" or "timeout" (dropped), from netns NS.
tcp() { ip netns exec "$1" python3 "$SRC/tests/e2e/tcp-probe.py" connect "$2" "$3" 1.5; }
# last_peer NS: the source address NS's server saw last.
last_peer() { grep '^peer' "$T/serve-$1" | tail -n 1 | cut -d' ' -f2; }
# ping1 NS IP: "pass" or "drop", one echo of either family.
ping1() { ip netns exec "$1" busybox ping -c 1 -W 1 "$2" >/dev/null 2>&1 && echo pass || echo drop; }
# ---- load balancers (lb.sh, lb-neutron.sh) ----
# lb_add NAME NET [EXTRA_NETCONF]: container NAME on network NET; its
# address in IP[NAME] (an associative array the test declares).
lb_add() {
	pod "$1"
	cni ADD "$P-$1" eth0 "$NSPATH" "$(netconf "$2" 1.1.0 "${3:-}")"
	check_eq "ADD $1 on $2" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; return; }
	IP[$1]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
}
# lbserve NAME PROTO PORT: NAME's server answering with its name
# (tests/e2e/lb-probe.py); its pid in LBSRV[NAME-PROTO].
declare -A LBSRV
lbserve() {
	ip netns exec "$P-$1" python3 "$SRC/tests/e2e/lb-probe.py" serve "$2" "$3" "$1" \
		>"$T/lbserve-$1-$2" 2>&1 &
	LBSRV[$1-$2]=$!
	_probe_servers+=($!)
	for _ in $(seq 50); do grep -q ready "$T/lbserve-$1-$2" && return; sleep 0.05; done
}
lbstop() { kill "${LBSRV[$1-$2]}" 2>/dev/null; wait "${LBSRV[$1-$2]}" 2>/dev/null; }
# hits FROM PROTO IP PORT [N] [TIMEOUT]: who answered N (20) connections
# from FROM, "a:9 b:11" and "none:K" for the unanswered.
hits() { ip netns exec "$P-$1" python3 "$SRC/tests/e2e/lb-probe.py" hits "$2" "$3" "$4" "${5:-20}" ${6:+"$6"}; }
# spread "a:9 b:11": the names that answered ("a b"), without "none".
spread() { tr ' ' '\n' <<<"$1" | grep -v '^none:' | cut -d: -f1 | paste -sd' '; }
# who FROM PROTO IP PORT [N]: the names that answered.
who() { spread "$(hits "$@")"; }
# lbj LB EXPR: EXPR over kuryrctl's JSON of load balancer LB.
lbj() { ctl -o json loadbalancer show "$1" | pyj "$2"; }
# members POOL: "IP:PORT ..." sorted; health POOL IP: that member's health.
members() { ctl -o json loadbalancer member-list "$1" | pyj '" ".join(sorted("%s:%s" % (m["address"], m["port"]) for m in d))'; }
health() { ctl -o json loadbalancer member-list "$1" | pyj '" ".join(m["health"] for m in sorted(d, key=lambda m: m["address"]) if m["address"] == "'"$2"'")'; }
# oq PATH: Octavia's JSON answer (GET /v2/lbaas PATH), asked from the host
# netns (OCTAVIA=true).
oq() { hostns curl -s --max-time 10 "http://127.0.0.1:19876/v2/lbaas$1"; }
# until_eq WANT SECONDS CMD...: CMD's output once it is WANT, trying for
# SECONDS; else its last output.
until_eq() {
	local want=$1 end=$((SECONDS + $2)) got
	shift 2
	while :; do
		got=$("$@")
		[ "$got" = "$want" ] || [ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	echo "$got"
}
# eventually WANT CMD...: CMD's output once it is WANT (northd and
# ovn-controller take a moment), trying for 10 s; else its last output.
eventually() {
	local want=$1 got
	shift
	for _ in $(seq 20); do
		got=$("$@")
		[ "$got" = "$want" ] && break
		sleep 0.5
	done
	echo "$got"
}
# refused CMD...: "STATUS LINES-ON-STDERR"; the message in $T/ctl.err.
refused() {
	"$@" >"$T/ctl.out" 2>"$T/ctl.err"
	echo "$? $(wc -l <"$T/ctl.err")"
}
# eui64 PREFIX MAC: the address SLAAC (and OVN's IPAM) makes for MAC in
# /64 PREFIX.
eui64() {
	python3 -c 'import ipaddress,sys
m = bytes(int(x, 16) for x in sys.argv[2].split(":"))
iid = bytes([m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
print(ipaddress.IPv6Address(ipaddress.IPv6Network(sys.argv[1]).network_address.packed[:8] + iid))' "$1" "$2"
}

# guest_slaac: the test VM's eth0 global IPv6 addresses (each with its
# dynamic/tentative flags) and its IPv6 default routes, "ADDRS|ROUTES".
guest_slaac() {
	gx "ip -o -6 addr show dev eth0 scope global; ip -6 route show default" | python3 -c '
import sys
a, r = [], []
for l in sys.stdin:
    w = l.split()
    if "inet6" in w:
        a.append(" ".join([w[3]] + [f for f in ("dynamic", "tentative") if f in w]))
    elif w[:2] == ["default", "via"]:
        r.append(" ".join(w[1:3] + [x for k in ("dev", "proto") if k in w for x in w[w.index(k):w.index(k) + 2]]))
print(",".join(a) + "|" + ",".join(r))'
}

# No veth, port, address or row left anywhere.
assert_clean() {
	local what=$1
	check_eq "$what: no veth left in the host namespace" "" \
		"$(ip -n "$HOSTNS" -o link show type veth 2>/dev/null)"
	check_eq "$what: no port left on br-int" "" "$(vsctl list-ports br-int)"
	check_eq "$what: no Logical_Switch_Port left in OVN NB" "" \
		"$(nbctl --bare --columns=name list Logical_Switch_Port)"
	check_eq "$what: no attachment row left" "0" "$(store_sql 'select count(*) from attachments')"
	for ns in "${_pods[@]}"; do
		check_eq "$what: only lo in $ns" "lo" \
			"$(ip -n "$ns" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | tr '\n' ' ' | sed 's/ $//')"
		check_eq "$what: no IPv6 address in $ns but lo's" "" \
			"$(ip -n "$ns" -o -6 addr show | awk '$2 != "lo" {print $2, $4}')"
	done
}

# ---- several nodes (scripts/multinode.sh) ----
# After "multinode.sh up $MN $P N" and ". $MN/env": mn_kuryrd_start I
# starts node I's kuryrd in the node's namespace (NB by TCP to all three
# members; pools per MN_POOL, default off, pre-wired per MN_PREWIRE;
# /metrics on MN_METRICS inside the node's namespace, default none), its pid in _kpids[I], its
# socket $T/kI.sock; mn_kuryrd_stop I stops it (its exit status: 0 on
# SIGTERM, and no leak under the sanitizers); mctl I ... is kuryrctl on
# node I; mnb/msb read the clustered NB/SB (unix sockets, root ns).
nsv() { local v=$1_$2; echo "${!v}"; } # nsv NODE_NS 2
mnb() { ovn-nbctl --db="$NB_SOCKETS" --timeout=10 "$@"; }
msb() { ovn-sbctl --db="$SB_SOCKETS" --timeout=10 "$@"; }
mctl() { local i=$1; shift; "$CTL_BIN" --socket "$T/k$i.sock" "$@"; }
# mn_up: a test on three nodes: the checks every such test makes, then
# scripts/multinode.sh up in $MN with its env sourced, and mn_down as the
# EXIT trap. mn_down stops what the test started ($MN_DOWN_HOOK first, a
# function of the test's own: a VM, neutron-server; then the pids in _bg,
# _probe_servers and _kpids), deletes its pods and the nodes, and on a
# failure prints each node's kuryrd log.
MN=$T/mn
MN_DOWN_HOOK=
_kpids=()
_bg=()
mn_up() {
	[ "$(id -u)" = 0 ] || skip_all "needs root (namespaces, Open vSwitch)"
	command -v ovsdb-tool >/dev/null || skip_all "Open vSwitch is not installed (scripts/deps.sh)"
	[ -x "$KURYRD_BIN" ] || skip_all "kuryrd not built in $BUILD"
	trap mn_down EXIT
	if ! "$SRC/scripts/multinode.sh" up "$MN" "$P" 3 >"$T/up.log" 2>&1; then
		echo "Bail out! the multi-node OVN did not come up"
		diag <"$T/up.log"
		exit 1
	fi
	# shellcheck source=/dev/null
	. "$MN/env"
}
mn_down() {
	local rc=$?
	[ -n "$MN_DOWN_HOOK" ] && "$MN_DOWN_HOOK"
	for p in "${_bg[@]}" "${_probe_servers[@]}" "${_kpids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_bg[@]}" "${_probe_servers[@]}" "${_kpids[@]}"; do wait "$p" 2>/dev/null; done
	for ns in "${_pods[@]}"; do ip netns del "$ns" 2>/dev/null; done
	"$SRC/scripts/multinode.sh" down "$MN" "$P" >/dev/null 2>&1
	if [ "$_failed" -gt 0 ]; then
		for i in 1 2 3; do
			echo "# kuryrd on node $i, last lines:"
			tail -n 15 "$T/kuryrd$i.log" 2>/dev/null | diag
		done
	fi
	echo "1..$_n"
	rm -rf "$T"
	[ "$_failed" -eq 0 ] && exit "$rc" || exit 1
}
mn_kuryrd_start() {
	local i=$1
	cat >"$T/kuryr$i.conf" <<-CONF
		[DEFAULT]
		backend = ovn
		host = $(nsv NODE_CHASSIS "$i")
		log_level = ${MN_LOG_LEVEL:-debug}
		[ovn]
		nb_connection = $NB_REMOTES
		[ovs]
		db_connection = $(nsv NODE_OVS_DB "$i")
		bridge = br-int
		[daemon]
		socket = $T/k$i.sock
		state_dir = $T/state$i
		port_up_timeout = 15
		metrics_address = ${MN_METRICS:-}
		[vif_pool]
		enabled = ${MN_POOL:-false}
		prewire = ${MN_PREWIRE:-true}
		holding_netns = $P-hold$i
		ports_pool_min = 2
		ports_pool_batch = 2
		[binding]
		veth_tx_checksum = ${MN_VETH_TX_CSUM:-auto}
	CONF
	_pods+=("$P-hold$i") # where its pre-wired stubs wait: the test's to delete
	nsenter --net=/run/netns/"$(nsv NODE_NS "$i")" "$KURYRD_BIN" -c "$T/kuryr$i.conf" \
		>>"$T/kuryrd$i.log" 2>&1 &
	_kpids[$i]=$!
	for _ in $(seq 200); do
		mctl "$i" status >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}
mn_kuryrd_stop() {
	local i=$1
	kill "${_kpids[$i]}" 2>/dev/null
	wait "${_kpids[$i]}" 2>/dev/null
}

# ---- a real dockerd (scripts/docker.sh), kuryrd its remote driver ----
# dkr_up: dockerd in the host namespace, its files in DKR_DIR, image
# kuryr-busybox; dkr ARGS...: the docker CLI against it; env_down stops it
# (dkr_down) before kuryrd. Driver "kuryr" is the socket DKR_PLUGIN_SOCK,
# kuryrd's [docker] socket: dkr_conf prints that section (for
# KURYR_CONF_EXTRA) and makes the socket's directory, so that kuryrd may
# start before dockerd.
DKR_DIR=$T/docker
DKR_PLUGIN_SOCK=$DKR_DIR/run/docker/plugins/kuryr.sock
dkr_up() {
	[ -x /usr/sbin/dockerd ] || skip_all "docker.io is not installed (scripts/deps.sh)"
	"$SRC/scripts/docker.sh" up "$DKR_DIR" "$HOSTNS" >"$T/docker-up.log" 2>&1 || {
		echo "Bail out! dockerd did not start"
		diag <"$T/docker-up.log"
		exit 1
	}
}
dkr() { "$SRC/scripts/docker.sh" cli "$DKR_DIR" "$@"; }
dkr_down() {
	"$SRC/scripts/docker.sh" down "$DKR_DIR" >"$T/docker-down.log" 2>&1 || {
		not_ok "dockerd and all it started are gone"
		diag <"$T/docker-down.log"
	}
}
dkr_conf() {
	mkdir -p "${DKR_PLUGIN_SOCK%/*}" && printf "[docker]\nenabled = true\nsocket = %s\n" "$DKR_PLUGIN_SOCK"
}
