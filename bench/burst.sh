#!/bin/bash
# Burst of concurrent ADDs: how long until N containers that all start at
# once are attached and traffic-ready, through the real kuryr-cni binary,
# side by side with the reference "bridge" + "host-local" plugins doing the
# same burst in the same run (this machine is noisy: compare the ratio).
#
#   bench/burst.sh [MODE] [SIZES]      e.g.  bench/burst.sh nopool "50 200"
#   BACKEND=neutron bench/burst.sh prewired 50      on a real neutron-server
#
#   MODE   nopool    no port pool: every ADD creates its OVN port and veth
#          prewired  (default) pool on, prewire=true: ports and host ends
#                    made ahead of time
#          portonly  pool on, prewire=false: only the OVN ports made ahead
#   SIZES  burst sizes, default "50 200" (targets: 0.5 s for 50, 2 s for 200)
#
# Needs root, a build in ./build (ninja -C build) and containernetworking-
# plugins. Everything runs in a private "host" namespace (tests/e2e/lib.sh):
# OVS (userspace datapath) + OVN + kuryrd; nothing touches the root namespace.
#
# For each size N: the 2N container namespaces are made first (not timed).
# In pool modes the pool of the network is filled with `kuryrctl pool
# populate` and we wait until `pool list` shows ready >= N (120 s at most).
# Then N bridge ADDs are started at once (background jobs) and the wall time
# until the last one returned is taken; then the same for N kuryr-cni ADDs
# (kuryr-cni returns only once the port is traffic-ready). The reference goes
# first so that any pool refill kuryrd starts after its burst cannot slow
# the reference down. Every ADD must succeed with a distinct address, seen
# in its namespace. Then everything is DELeted concurrently (not timed, but
# checked) and the namespaces are removed.
#
# Knobs (environment): POOL_BATCH (ports_pool_batch, default 50),
# PORT_UP_TIMEOUT (kuryrd's port_up_timeout, default 30 s here).
set -uo pipefail
MODE=${1:-prewired}
SIZES=${2:-50 200}
POOL_BATCH=${POOL_BATCH:-50}
FILL_TIMEOUT=120
# On Neutron one API worker serialises requests: smaller bulk POSTs.
if [ "${BACKEND:-ovn}" = neutron ]; then
	NEUTRON=true
	POOL_BATCH=${POOL_BATCH_NEUTRON:-10}
	FILL_TIMEOUT=600
fi
PORT_UP_TIMEOUT=${PORT_UP_TIMEOUT:-30}
NET=bench

for n in $SIZES; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "burst.sh: bad size '$n'" >&2; exit 2; }
done
MAXN=$(printf '%s\n' $SIZES | sort -n | tail -n 1)
case "$MODE" in
nopool) POOLS=false KURYR_CONF_EXTRA= ;;
prewired | portonly)
	POOLS=true
	[ "$MODE" = prewired ] && PREWIRE=true || PREWIRE=false
	KURYR_CONF_EXTRA=$(printf '[vif_pool]\nprewire = %s\nports_pool_min = %s\nports_pool_max = 0\nports_pool_batch = %s' \
		"$PREWIRE" "$MAXN" "$POOL_BATCH")
	;;
*) echo "usage: bench/burst.sh [nopool|prewired|portonly] [\"SIZES\"]" >&2; exit 2 ;;
esac
# NEUTRON_CONF: extra [neutron] lines, e.g. "max_concurrent_requests = 2".
if [ -n "${NEUTRON_CONF:-}" ]; then
	KURYR_CONF_EXTRA=$(printf '%s\n[neutron]\n%s' "$KURYR_CONF_EXTRA" "$NEUTRON_CONF")
fi
export POOLS KURYR_CONF_EXTRA PORT_UP_TIMEOUT NEUTRON BACKEND

. "$(dirname "$0")/../tests/e2e/lib.sh"
[ -x /usr/lib/cni/bridge ] || skip_all "reference plugins missing (containernetworking-plugins)"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report

REPORT_FD=3 # lib.sh's env_down reports a failed run here
say() { echo "$*" >&3; }
die() { say "FAILED: $*"; exit 1; }

START=$EPOCHREALTIME
say "burst: mode $MODE, sizes $SIZES (targets: 0.5 s for 50, 2 s for 200)"
[ "$POOLS" = true ] && say "pool: prewire=$PREWIRE ports_pool_min=$MAXN ports_pool_max=0 ports_pool_batch=$POOL_BATCH"
env_up
ctl network create "$NET" --subnet 10.91.0.0/16 >/dev/null || die "network create"
KC=$(netconf "$NET" 1.0.0)
REF=$(printf '{"cniVersion":"1.0.0","name":"ref","type":"bridge","bridge":"kcburst0","isGateway":true,"ipam":{"type":"host-local","subnet":"10.93.0.0/16","dataDir":"%s/ipam"}}' "$T")
mkdir -p "$T/b"

# kuryr ACTION ID NETNS / bridge ACTION ID NETNS: one plugin call.
kuryr() {
	CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 CNI_NETNS=$3 "$CNI_BIN" <<<"$KC"
}
bridge() {
	hostns env CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 CNI_NETNS=$3 \
		CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$REF"
}

# pool_field FIELD: that field of our network's row in `pool list` (0 if none).
pool_field() {
	ctl -o json pool list 2>/dev/null | python3 -c '
import json, sys
try: rows = json.load(sys.stdin)
except Exception: rows = []
print(next((r.get(sys.argv[2], 0) for r in rows if r.get("network") == sys.argv[1]), 0))' "$NET" "$1"
}
pool_line() {
	ctl -o json pool list 2>/dev/null | python3 -c '
import json, sys
for r in json.load(sys.stdin):
    if r.get("network") == sys.argv[1]:
        print("pool " + " ".join(f"{k}={r.get(k)}" for k in
              ("ready", "in_use", "draining", "creating", "hits", "misses", "prewire")))' "$NET"
}
# fill_pool N: populate and wait until ready >= N (FILL_TIMEOUT s in all;
# kuryrctl itself gives up waiting after 60 s while the fill goes on).
fill_pool() {
	local t0=$SECONDS r
	timeout "$FILL_TIMEOUT" "$CTL_BIN" --socket "$SOCK" pool populate "$NET" >"$T/populate.out" 2>&1 ||
		grep -q "no reply" "$T/populate.out" ||
		die "kuryrctl pool populate $NET: $(tail -n 3 "$T/populate.out")"
	while r=$(pool_field ready); [ "${r:-0}" -lt "$1" ]; do
		[ $((SECONDS - t0)) -ge "$FILL_TIMEOUT" ] &&
			die "pool has $r ready ports after $FILL_TIMEOUT s, need $1"
		sleep 0.2
	done
	say "  pool filled in $((SECONDS - t0)) s: $(pool_line)"
}

# burst WHO ACTION SIZE TAG: start SIZE calls at once on namespaces
# $P-TAG1..SIZE, wait for their pids only (kuryrd is a job of this shell
# too), leave outputs in $T/b/TAG.I.{out,err} and the wall time in WALL;
# FAILS counts the calls that did not exit 0.
burst() {
	local who=$1 act=$2 n=$3 tag=$4 i t0 t1
	local -a pids=()
	t0=$EPOCHREALTIME
	for ((i = 1; i <= n; i++)); do
		$who "$act" "$P-$tag$i" "/run/netns/$P-$tag$i" >"$T/b/$tag.$i.out" 2>"$T/b/$tag.$i.err" &
		pids+=($!)
	done
	FAILS=0
	for ((i = 0; i < n; i++)); do
		wait "${pids[i]}" || { FAILS=$((FAILS + 1)); echo "$((i + 1))" >>"$T/b/$tag.failed"; }
	done
	t1=$EPOCHREALTIME
	WALL=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
}
# show_failures TAG: the first few failed calls' output.
show_failures() {
	local i
	for i in $(head -n 3 "$T/b/$1.failed" 2>/dev/null); do
		say "  $1$i: $(head -c 300 "$T/b/$1.$i.out") $(head -c 300 "$T/b/$1.$i.err")"
	done
}
# distinct_addrs TAG N: distinct IPv4 addresses in the results and on eth0
# inside the namespaces, as "RESULT_COUNT NETNS_COUNT".
distinct_addrs() {
	local i
	echo "$(python3 - "$T/b" "$1" "$2" <<-'PY'
		import json, sys
		d, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
		addrs = set()
		for i in range(1, n + 1):
		    try: res = json.load(open(f"{d}/{tag}.{i}.out"))
		    except Exception: continue
		    addrs.update(ip["address"].split("/")[0] for ip in res.get("ips", []))
		print(len(addrs))
	PY
	) $(for ((i = 1; i <= $2; i++)); do
		ip -n "$P-$1$i" -o -4 addr show dev eth0 2>/dev/null | awk '{print $4}'
	done | sort -u | wc -l)"
}
mk_netns() { # TAG N ACTION(add|del)
	local i
	for ((i = 1; i <= $2; i++)); do echo "netns $3 $P-$1$i"; done | ip -batch - ||
		die "ip netns $3 for $1"
}

# One ADD+DEL on each side first (not timed): checks the setup and makes
# the reference bridge exist, as the kuryr network does. (In pool modes it
# runs before the pool is populated: the "misses=1" in `pool list`.)
mk_netns w 1 add
kuryr ADD "$P-w1" "/run/netns/$P-w1" >"$T/b/w.out" 2>&1 || die "kuryr warm-up ADD: $(head -c 300 "$T/b/w.out")"
kuryr DEL "$P-w1" "/run/netns/$P-w1" >"$T/b/w.out" 2>&1 || die "kuryr warm-up DEL: $(head -c 300 "$T/b/w.out")"
bridge ADD "$P-w1" "/run/netns/$P-w1" >"$T/b/w.out" 2>&1 || die "bridge warm-up ADD: $(head -c 300 "$T/b/w.out")"
bridge DEL "$P-w1" "/run/netns/$P-w1" >"$T/b/w.out" 2>&1 || die "bridge warm-up DEL: $(head -c 300 "$T/b/w.out")"
mk_netns w 1 del

declare -A KW RW
for n in $SIZES; do
	say "size $n:"
	mk_netns "k${n}x" "$n" add
	mk_netns "r${n}x" "$n" add
	[ "$POOLS" = true ] && fill_pool "$n"

	burst bridge ADD "$n" "r${n}x"
	RW[$n]=$WALL
	[ "$FAILS" = 0 ] || { show_failures "r${n}x"; die "$FAILS of $n bridge ADDs failed"; }
	burst kuryr ADD "$n" "k${n}x"
	KW[$n]=$WALL
	[ "$FAILS" = 0 ] || { show_failures "k${n}x"; die "$FAILS of $n kuryr-cni ADDs failed"; }
	say "  bridge+host-local: $n ADDs in ${RW[$n]} s; kuryr-cni: $n ADDs in ${KW[$n]} s"

	read -r kres kns <<<"$(distinct_addrs "k${n}x" "$n")"
	read -r rres rns <<<"$(distinct_addrs "r${n}x" "$n")"
	[ "$kres" = "$n" ] && [ "$kns" = "$n" ] ||
		die "kuryr-cni: $kres distinct addresses in the results, $kns in the namespaces, want $n"
	[ "$rres" = "$n" ] && [ "$rns" = "$n" ] ||
		die "bridge: $rres distinct addresses in the results, $rns in the namespaces, want $n"
	say "  all $n + $n succeeded, $n distinct addresses on each side"
	[ "$POOLS" = true ] && say "  after the burst: $(pool_line)"

	burst kuryr DEL "$n" "k${n}x"
	[ "$FAILS" = 0 ] || { show_failures "k${n}x"; die "$FAILS of $n kuryr-cni DELs failed"; }
	kdel=$WALL
	burst bridge DEL "$n" "r${n}x"
	[ "$FAILS" = 0 ] || { show_failures "r${n}x"; die "$FAILS of $n bridge DELs failed"; }
	say "  DEL (concurrent, not part of the score): kuryr-cni $kdel s, bridge $WALL s, all succeeded"
	left=$(ctl -o json attachment list 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null)
	[ "${left:-0}" = 0 ] || die "$left attachments left after DEL"
	mk_netns "k${n}x" "$n" del
	mk_netns "r${n}x" "$n" del
	rm -f "$T"/b/*
done

say ""
say "mode $MODE — wall time until all N concurrent ADDs returned (targets: 0.5 s for 50, 2 s for 200)"
say "$(printf '%6s %14s %16s %7s' size 'kuryr wall s' 'bridge wall s' ratio)"
for n in $SIZES; do
	say "$(python3 -c "import sys; k, r = float(sys.argv[2]), float(sys.argv[3]); print(f'{sys.argv[1]:>6} {k:14.3f} {r:16.3f} {k / r:7.2f}')" "$n" "${KW[$n]}" "${RW[$n]}")"
done
say "elapsed before teardown: $(python3 -c "print(f'{$EPOCHREALTIME - $START:.1f}')") s (lib.sh teardown follows)"
