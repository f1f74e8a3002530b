#!/bin/bash
# Load balancers, on backend ovn (OVN's own Load_Balancer) or, with
# NEUTRON=true OCTAVIA=true BACKEND=neutron, through Octavia's OVN provider:
#   create  kuryrctl loadbalancer create + pool-create + two member-adds, to
#           the first connection through the VIP that a member answers;
#           beside it the floor, one connection straight to a member;
#   follow  a container with "lb_pools" ADDed (a pre-wired pool hit): from
#           ADD returning to the first connection through the VIP that it
#           answers (it is the pool's only member); and the ADD itself with
#           and without lb_pools, interleaved, and their ratio;
#   scale   10 containers with lb_pools ADDed at once: from the first ADD
#           to 10 different members answering through the VIP, wall time.
#
#   bench/lb.sh [ITERATIONS]   (default 10)
#
# Connections come from a client container on the same network, through
# tests/e2e/lb-probe.py (a warm python3, a new source port each, 5 ms
# apart). Needs a build in ./build (or KURYR_BUILD). Nothing touches the
# root namespace.
ITER=${1:-10}
KURYR_CONF_EXTRA=$'[vif_pool]\nenabled = true\nprewire = true\nports_pool_min = 14\nports_pool_update_frequency = 1\n[DEFAULT]\nlog_level = info'
. "$(dirname "$0")/../tests/e2e/lib.sh"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report
export REPORT_FD=3
POOLS=true
env_up
PROBE=$SRC/tests/e2e/lb-probe.py
ms() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2); else print "-"}'; }
# serve NAME: NAME's netns with a server on 8080 answering its name.
served=()
srv() {
	ip netns add "$P-$1" && ip -n "$P-$1" link set lo up
	_pods+=("$P-$1")
	ip netns exec "$P-$1" python3 "$PROBE" serve tcp 8080 "$1" >/dev/null 2>&1 &
	_probe_servers+=($!)
}
addc() { # NAME [EXTRA]: ADD NAME on web; prints its address
	cni ADD "$P-$1" eth0 "/run/netns/$P-$1" "$(netconf web 1.1.0 "${2:-}")"
	[ "$RC" = 0 ] || { echo "ADD $1 failed: $OUT" >&3; return 1; }
	jget '["ips"][0]["address"]' | cut -d/ -f1
}
delc() { cni DEL "$P-$1" eth0 "/run/netns/$P-$1" "$(netconf web 1.1.0 "${2:-}")"; }

ctl network create web --subnet 10.61.0.0/24 >/dev/null
ctl router create r1 >/dev/null
ctl router add-subnet r1 web >/dev/null
ctl pool populate web >/dev/null 2>&1
srv client
srv s1
srv s2
addc client >/dev/null
S1=$(addc s1)
S2=$(addc s2)

# ---- create ----
c_all=() c_floor=()
for i in $(seq "$ITER"); do
	t0=$(ms)
	ctl loadbalancer create "lb$i" --network web >/dev/null &&
		ctl loadbalancer pool-create "lb$i" "p$i" --protocol tcp --port 80 --member-port 8080 >/dev/null &&
		ctl loadbalancer member-add "p$i" --address "$S1" >/dev/null &&
		ctl loadbalancer member-add "p$i" --address "$S2" >/dev/null || { echo "create $i failed" >&3; break; }
	VIP=$(ctl -o json loadbalancer show "lb$i" | pyj 'd["vip"]')
	got=$(ip netns exec "$P-client" python3 "$PROBE" first tcp "$VIP" 80 '*' 60)
	t1=$(ms)
	[ "$got" = never ] && { echo "create $i: no answer in 60 s" >&3; break; }
	c_all+=($(((t1 - t0) / 1000)))
	t0=$(ms)
	ip netns exec "$P-client" python3 "$PROBE" first tcp "$S1" 8080 s1 5 >/dev/null
	t1=$(ms)
	c_floor+=($(((t1 - t0) / 1000)))
	ctl loadbalancer delete "lb$i" >/dev/null
done

# ---- follow ----
ctl loadbalancer create lbf --network web >/dev/null
ctl loadbalancer pool-create lbf follow --protocol tcp --port 80 --member-port 8080 >/dev/null
VIP=$(ctl -o json loadbalancer show lbf | pyj 'd["vip"]')
f_traffic=() f_add=() f_plain=()
# ADD alone, as the runtime sees it: kuryr-cni's exec to its answer.
timed_add() { # NAME [EXTRA]: sets RC, OUT; prints microseconds
	local t0 t1
	t0=$(ms)
	OUT=$(CNI_COMMAND=ADD CNI_CONTAINERID=$P-$1 CNI_IFNAME=eth0 CNI_NETNS=/run/netns/$P-$1 \
		CNI_PATH=$BUILD/src "$CNI_BIN" <<<"$(netconf web 1.1.0 "${2:-}")")
	RC=$?
	t1=$(ms)
	echo $(((t1 - t0) / 1000))
}
for i in $(seq "$ITER"); do
	srv "f$i"
	srv "g$i"
	us=$(timed_add "g$i")
	[ "$RC" = 0 ] || { echo "ADD g$i failed: $OUT" >&3; break; }
	f_plain+=("$us")
	# A warm prober, started before the ADD, notes when f answers first.
	ip netns exec "$P-client" python3 "$PROBE" firstat tcp "$VIP" 80 "f$i" 30 >"$T/first" &
	prober=$!
	sleep 0.3
	us=$(timed_add "f$i" '"lb_pools":["follow"]')
	returned=$(date +%s.%N)
	[ "$RC" = 0 ] || { echo "ADD f$i failed: $OUT" >&3; break; }
	f_add+=("$us")
	wait "$prober"
	got=$(cat "$T/first")
	[ "$got" = never ] && { echo "follow $i: no answer in 30 s" >&3; break; }
	f_traffic+=("$(awk -v a="$got" -v b="$returned" 'BEGIN {printf "%.0f", (a - b) * 1e6}')")
	delc "f$i" '"lb_pools":["follow"]'
	delc "g$i"
done

# ---- scale ----
for i in $(seq 10); do srv "x$i"; done
sleep 1
t0=$(ms)
adds=()
for i in $(seq 10); do
	(CNI_COMMAND=ADD CNI_CONTAINERID="$P-x$i" CNI_IFNAME=eth0 CNI_NETNS="/run/netns/$P-x$i" \
		CNI_PATH=$BUILD/src "$CNI_BIN" <<<"$(netconf web 1.1.0 '"lb_pools":["follow"]')" >/dev/null) &
	adds+=($!)
done
wait "${adds[@]}" # not the servers
t_adds=$(ms)
got=$(ip netns exec "$P-client" python3 "$PROBE" names tcp "$VIP" 80 10 120)
t1=$(ms)
members_n=$(ctl -o json loadbalancer member-list follow | pyj 'len(d)')

{
	echo "bench/lb.sh $ITER on backend ${BACKEND:-ovn} ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
	printf '%-58s %10s\n' "" "median ms"
	printf '%-58s %10s\n' "create: loadbalancer create .. first answer via VIP" "$(printf '%s\n' "${c_all[@]}" | median | awk '{printf "%.1f", $1/1000}')"
	printf '%-58s %10s\n' "floor: one connection straight to a member" "$(printf '%s\n' "${c_floor[@]}" | median | awk '{printf "%.1f", $1/1000}')"
	printf '%-58s %10s\n' "  (both include the prober's python3 start; create - floor:)" "$(awk -v a="$(printf '%s\n' "${c_all[@]}" | median)" -v b="$(printf '%s\n' "${c_floor[@]}" | median)" 'BEGIN {printf "%.1f", (a-b)/1000}')"
	printf '%-58s %10s\n' "follow: ADD returned .. its first connection via the VIP" "$(printf '%s\n' "${f_traffic[@]}" | median | awk '{printf "%.1f", $1/1000}')"
	printf '%-58s %10s\n' "  (a warm prober every 5 ms; < 0: before ADD returned)" ""
	printf '%-58s %10s\n' "follow: ADD with lb_pools (pre-wired hit)" "$(printf '%s\n' "${f_add[@]}" | median | awk '{printf "%.2f", $1/1000}')"
	printf '%-58s %10s\n' "follow: ADD without lb_pools (pre-wired hit)" "$(printf '%s\n' "${f_plain[@]}" | median | awk '{printf "%.2f", $1/1000}')"
	a=$(printf '%s\n' "${f_add[@]}" | median) b=$(printf '%s\n' "${f_plain[@]}" | median)
	printf '%-58s %10s\n' "  ratio with / without" "$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a/b}')"
	printf '%-58s %10s\n' "scale: 10 ADDs at once (wall)" "$(awk -v a="$t_adds" -v b="$t0" 'BEGIN {printf "%.1f", (a-b)/1e6}')"
	printf '%-58s %10s\n' "scale: first ADD .. 10 members answer via VIP (wall)" "$( [ "$got" = never ] && echo never || awk -v a="$t1" -v b="$t0" 'BEGIN {printf "%.1f", (a-b)/1e6}')"
	printf '%-58s %10s\n' "scale: members in the pool" "$members_n"
	echo "samples: create ${#c_all[@]}, follow ${#f_traffic[@]}"
} >&3
