#!/bin/bash
# What it costs that the binding turns a container veth's transmit
# checksum offload off on a userspace (netdev) bridge: TCP throughput and
# one-byte round trips between two containers ADDed by kuryr-cni on one
# network, over one connection (bench/tcp-pump send/sink, MB MiB; rr/echo,
# RR round trips), in rounds that alternate
#   off   the devices as kuryr-cni left them (the kernel fills in each
#         checksum before the packet leaves, and segments it too);
#   on    the same devices with the offload turned back on in both
#         containers (what a veth does by default; correct here only
#         because no NAT is on this path and a veth never checks);
# beside them the floor: a bare veth pair between two namespaces, no OVS.
# Printed: medians over the rounds and the ratios off / on.
#
#   bench/veth-csum.sh [ROUNDS] [MB] [RR]   (default 5 200 2000)
#
# Needs a build in ./build (or KURYR_BUILD) with bench/tcp-pump. Nothing
# touches the root namespace.
ROUNDS=${1:-5}
MB=${2:-200}
RR=${3:-2000}
. "$(dirname "$0")/../tests/e2e/lib.sh"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report
export REPORT_FD=3
PUMP=$BUILD/bench/tcp-pump
PROBE=$SRC/tests/e2e/lb-probe.py
[ -x "$PUMP" ] || { echo "bench/tcp-pump not built in $BUILD/bench" >&3; exit 1; }
env_up
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2); else print "-"}'; }

ctl network create web --subnet 10.71.0.0/24 >/dev/null
declare -A IP
for c in a b; do
	pod "$c"
	cni ADD "$P-$c" eth0 "$NSPATH" "$(netconf web)"
	[ "$RC" = 0 ] || { echo "ADD $c failed: $OUT" >&3; exit 1; }
	IP[$c]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
done
# The floor: two namespaces, one veth pair, default offloads.
pod fa
pod fb
ip -n "$P-fa" link add kcbfa type veth peer name kcbfb netns "$P-fb"
ip -n "$P-fa" addr add 10.72.0.1/24 dev kcbfa && ip -n "$P-fa" link set kcbfa up
ip -n "$P-fb" addr add 10.72.0.2/24 dev kcbfb && ip -n "$P-fb" link set kcbfb up

# pump SERVER CLIENT ARG FROM_NS TO_NS TO_IP: tcp-pump SERVER in TO_NS,
# tcp-pump CLIENT TO_IP PORT ARG from FROM_NS; prints the client's line.
pump() {
	local port=$((20000 + RANDOM % 20000)) srv out
	ip netns exec "$5" "$PUMP" "$1" "$port" >/dev/null 2>&1 &
	srv=$!
	out=$(ip netns exec "$4" "$PUMP" "$2" "$6" "$port" "$3")
	wait "$srv"
	echo "$out"
}
# mibs FROM TO IP: MiB/s of one MB MiB transfer; rtt FROM TO IP: the median
# of RR one-byte round trips, in µs.
mibs() { pump sink send "$MB" "$@" | awk '{printf "%.0f", $3 / 1048576}'; }
rtt() { pump echo rr "$RR" "$@" | awk '{print $2}'; }
txcsum() { for c in a b; do ip netns exec "$P-$c" python3 "$PROBE" txcsum eth0 "$1"; done; }
left=$(ip netns exec "$P-a" python3 "$PROBE" txcsum eth0)

declare -a t_off t_on t_floor r_off r_on r_floor
for i in $(seq "$ROUNDS"); do
	txcsum off
	t_off+=("$(mibs "$P-a" "$P-b" "${IP[b]}")")
	r_off+=("$(rtt "$P-a" "$P-b" "${IP[b]}")")
	txcsum on
	t_on+=("$(mibs "$P-a" "$P-b" "${IP[b]}")")
	r_on+=("$(rtt "$P-a" "$P-b" "${IP[b]}")")
	t_floor+=("$(mibs "$P-fa" "$P-fb" 10.72.0.2)")
	r_floor+=("$(rtt "$P-fa" "$P-fb" 10.72.0.2)")
done
txcsum off

m() { printf '%s\n' "$@" | median; }
{
	echo "bench/veth-csum.sh $ROUNDS $MB $RR ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
	echo "kuryr-cni left the container's eth0 with transmit checksum offload: $left"
	printf '%-44s %12s %14s\n' "" "MiB/s" "RR median µs"
	printf '%-44s %12s %14s\n' "off (as kuryr-cni leaves it)" "$(m "${t_off[@]}")" "$(m "${r_off[@]}")"
	printf '%-44s %12s %14s\n' "on (a veth's default)" "$(m "${t_on[@]}")" "$(m "${r_on[@]}")"
	printf '%-44s %12s %14s\n' "floor: bare veth pair, no OVS" "$(m "${t_floor[@]}")" "$(m "${r_floor[@]}")"
	printf '%-44s %12s %14s\n' "ratio off / on" \
		"$(awk -v a="$(m "${t_off[@]}")" -v b="$(m "${t_on[@]}")" 'BEGIN {printf "%.2f", a/b}')" \
		"$(awk -v a="$(m "${r_off[@]}")" -v b="$(m "${r_on[@]}")" 'BEGIN {printf "%.2f", a/b}')"
	echo "rounds: off ${t_off[*]} | on ${t_on[*]} | floor ${t_floor[*]}"
} >&3
for c in a b; do cni DEL "$P-$c" eth0 "/run/netns/$P-$c" "$(netconf web)"; done
