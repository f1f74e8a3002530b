#!/bin/bash
# Many ADDs and DELs at once must not collide on names, addresses or rows.
. "$(dirname "$0")/lib.sh"
env_up
ctl network create net1 --subnet 10.80.0.0/24 >/dev/null
C=$(netconf net1)
N=12

for i in $(seq $N); do pod c$i; done
# (Wait for these pids only: kuryrd is a background job of this shell too.)
pids=()
for i in $(seq $N); do
	( cni ADD "$P-ctr$i" eth0 "/run/netns/$P-c$i" "$C"; echo "$RC" >"$T/rc.$i"; echo "$OUT" >"$T/out.$i" ) &
	pids+=($!)
done
wait "${pids[@]}"
fails=0
for i in $(seq $N); do [ "$(cat "$T/rc.$i")" = 0 ] || { fails=$((fails + 1)); diag <"$T/out.$i"; }; done
check_eq "$N concurrent ADDs all succeed" 0 "$fails"
check_eq "$N distinct addresses in the containers" $N \
	"$(for i in $(seq $N); do ip -n "$P-c$i" -o -4 addr show dev eth0 | awk '{print $4}'; done | sort -u | wc -l)"
check_eq "$N distinct ports on br-int" $N "$(vsctl list-ports br-int | sort -u | wc -l)"
check_eq "$N distinct OVN ports" $N "$(nbctl --bare --columns=name list Logical_Switch_Port | grep -c .)"
check_eq "$N rows, all done" $N "$(store_sql 'select count(*) from attachments where state=3')"
ip2=$(ip -n "$P-c2" -o -4 addr show dev eth0 | awk '{print $4}')
ipn=$(ip -n "$P-c$N" -o -4 addr show dev eth0 | awk '{print $4}')
check "container 1 reaches container 2" ip netns exec "$P-c1" busybox ping -c 1 -W 2 "${ip2%/*}"
check "container 1 reaches container $N" ip netns exec "$P-c1" busybox ping -c 1 -W 2 "${ipn%/*}"

# CNI GC: every attachment of the network not in the valid list goes.
valid=$(for i in $(seq 1 2 $N); do printf '{"containerID":"%s","ifname":"eth0"},' "$P-ctr$i"; done)
cni GC "" "" "" "$(netconf net1 1.1.0 "\"cni.dev/valid-attachments\":[${valid%,}]")"
check_eq "GC succeeds" 0 "$RC"
check_eq "GC kept the $((N / 2)) valid attachments" $((N / 2)) "$(store_sql 'select count(*) from attachments')"
check_eq "GC removed the others' OVS ports" $((N / 2)) "$(vsctl list-ports br-int | wc -l)"
check_eq "GC removed the others' OVN ports" $((N / 2)) "$(nbctl --bare --columns=name list Logical_Switch_Port | grep -c .)"
check_eq "GC removed the others' interfaces" "" "$(ip -n "$P-c2" -o link show type veth)"
check_eq "GC kept the valid ones' interfaces" "eth0" \
	"$(ip -n "$P-c1" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1)"

pids=()
for i in $(seq $N); do
	( cni DEL "$P-ctr$i" eth0 "/run/netns/$P-c$i" "$C"; echo "$RC" >"$T/rc.$i" ) &
	pids+=($!)
done
wait "${pids[@]}"
fails=0
for i in $(seq $N); do [ "$(cat "$T/rc.$i")" = 0 ] || fails=$((fails + 1)); done
check_eq "$N concurrent DELs all succeed" 0 "$fails"
assert_clean "after concurrent DEL"
