#!/bin/bash
# Driven by cnitool, the CNI project's own client, with kuryr-cni first in a
# conflist followed by the reference "tuning" plugin.
. "$(dirname "$0")/lib.sh"
CNITOOL=${CNITOOL:-$BUILD/tools/cnitool}
[ -x "$CNITOOL" ] || skip_all "cnitool not built (scripts/cnitool-build.sh $BUILD/tools)"
[ -x /usr/lib/cni/tuning ] || skip_all "reference plugins missing (containernetworking-plugins)"
env_up
ctl network create net1 --subnet 10.81.0.0/24 >/dev/null
mkdir -p "$T/net.d"
cat >"$T/net.d/10-net1.conflist" <<CONF
{
  "cniVersion": "1.0.0",
  "name": "net1",
  "plugins": [
    { "type": "kuryr-cni", "network": "net1", "daemon_socket": "$SOCK" },
    { "type": "tuning", "promisc": true,
      "sysctl": { "net.ipv4.conf.eth0.arp_notify": "1" } }
  ]
}
CONF
export NETCONFPATH=$T/net.d CNI_PATH=$BUILD/src:/usr/lib/cni
pod c1
NS1=$NSPATH
pod c2
NS2=$NSPATH

OUT=$("$CNITOOL" add net1 "$NS1"); RC=$?
check_eq "cnitool add (kuryr-cni + tuning) succeeds" 0 "$RC"
[ "$RC" = 0 ] || echo "$OUT" | diag
ip1=$(jget '["ips"][0]["address"]')
check_eq "the conflist's result carries kuryr-cni's address" \
	"$(ip -n "$P-c1" -o -4 addr show dev eth0 | awk '{print $4}')" "$ip1"
check "tuning ran after kuryr-cni: eth0 is promiscuous" \
	sh -c "ip -n $P-c1 link show eth0 | grep -q PROMISC"
check_eq "tuning ran after kuryr-cni: sysctl set" 1 \
	"$(ip netns exec "$P-c1" cat /proc/sys/net/ipv4/conf/eth0/arp_notify)"
OUT=$("$CNITOOL" add net1 "$NS2"); RC=$?
check_eq "cnitool add of a second container" 0 "$RC"
ip2=$(jget '["ips"][0]["address"]')
check "ping between the two cnitool containers" ip netns exec "$P-c1" busybox ping -c 1 -W 2 "${ip2%/*}"
OUT=$("$CNITOOL" check net1 "$NS1"); RC=$?
check_eq "cnitool check (with prevResult) succeeds" 0 "$RC"
OUT=$("$CNITOOL" del net1 "$NS1"); RC=$?
check_eq "cnitool del" 0 "$RC"
OUT=$("$CNITOOL" del net1 "$NS2"); RC=$?
check_eq "cnitool del of the second" 0 "$RC"
OUT=$("$CNITOOL" del net1 "$NS2"); RC=$?
check_eq "cnitool del again succeeds" 0 "$RC"
assert_clean "after cnitool del"
