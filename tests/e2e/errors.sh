#!/bin/bash
# Every failure path of ADD: the right CNI error code, a message, and
# nothing left behind (no veth, no OVS port, no OVN port, no address, no
# store row).
PORT_UP_TIMEOUT=2
. "$(dirname "$0")/lib.sh"
env_up
ctl network create net1 --subnet 10.78.0.0/24 >/dev/null
pod c1
NS1=$NSPATH
C=$(netconf net1)

# expect_err DESC CODE: the last cni call failed with CNI error CODE and a
# message, in the netconf's version.
expect_err() {
	check_eq "$1: error code $2" "1 $2" "$RC $(jget '["code"]' 2>/dev/null)"
	check "$1: error has a message" test -n "$(jget '["msg"]' 2>/dev/null)"
}

# The environment and the netconf.
OUT=$(CNI_CONTAINERID=x CNI_IFNAME=eth0 CNI_NETNS=$NS1 "$CNI_BIN" <<<"$C"); RC=$?
expect_err "missing CNI_COMMAND" 4
cni FROB "$P-a" eth0 "$NS1" "$C"
expect_err "unknown CNI_COMMAND" 4
OUT=$(CNI_COMMAND=ADD CNI_IFNAME=eth0 CNI_NETNS=$NS1 "$CNI_BIN" <<<"$C"); RC=$?
expect_err "missing CNI_CONTAINERID" 4
OUT=$(CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_NETNS=$NS1 "$CNI_BIN" <<<"$C"); RC=$?
expect_err "missing CNI_IFNAME" 4
OUT=$(CNI_COMMAND=ADD CNI_CONTAINERID=x CNI_IFNAME=eth0 "$CNI_BIN" <<<"$C"); RC=$?
expect_err "missing CNI_NETNS" 4
cni ADD "$P-a" eth0 "$NS1" '{"cniVersion":"1.1.0", "name":'
expect_err "malformed JSON" 6
cni ADD "$P-a" eth0 "$NS1" "$(netconf net1 9.9.9)"
expect_err "unsupported cniVersion" 1
cni ADD "$P-a" eth0 "$NS1" '{"cniVersion":"1.1.0","type":"kuryr-cni"}'
expect_err "netconf without a name" 7
cni ADD "$P-a" eth0 "$NS1" "$(netconf nosuchnet)"
expect_err "unknown network" 7
assert_clean "unknown network"
cni ADD "$P-a" eth0 /run/netns/$P-nonexistent "$C"
expect_err "netns path that does not exist" 4
touch "$T/plainfile"
cni ADD "$P-a" eth0 "$T/plainfile" "$C"
expect_err "netns path that is not a netns" 4
cni ADD "$P-a" averyveryverylongname "$NS1" "$C"
expect_err "CNI_IFNAME longer than 15 bytes" 4
cni ADD "$P-a" "bad/name" "$NS1" "$C"
expect_err "CNI_IFNAME with a slash" 4
assert_clean "bad environment"

# A device with the requested name already exists in the netns.
ip -n "$P-c1" link add eth0 type veth peer name eth0p
cni ADD "$P-a" eth0 "$NS1" "$C"
expect_err "CNI_IFNAME already present in the netns" 101
check_eq "the existing eth0 is untouched" "eth0 eth0p" \
	"$(ip -n "$P-c1" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1 | sort | tr '\n' ' ' | sed 's/ $//')"
ip -n "$P-c1" link del eth0
assert_clean "ifname taken"

# Requested addresses (runtimeConfig, CNI conventions).
cni ADD "$P-a" eth0 "$NS1" "$(netconf net1 1.1.0 '"runtimeConfig":{"ips":["10.99.0.5/24"]}')"
expect_err "requested IP outside the subnet" 104
assert_clean "IP outside the subnet"
cni ADD "$P-a" eth0 "$NS1" "$(netconf net1 1.1.0 '"runtimeConfig":{"ips":["10.78.0.50/24"],"mac":"0a:58:0a:4e:00:32"}')"
check_eq "requested IP and MAC are honoured" "0 10.78.0.50/24 0a:58:0a:4e:00:32" \
	"$RC $(jget '["ips"][0]["address"]') $(jget '["interfaces"][1]["mac"]')"
pod c2
cni ADD "$P-b" eth0 "$NSPATH" "$(netconf net1 1.1.0 '"runtimeConfig":{"ips":["10.78.0.50/24"]}')"
expect_err "requested IP already in use" 104
check_eq "the failed ADD left no device in its netns" "" \
	"$(ip -n "$P-c2" -o link show type veth)"

# The same container and ifname twice: refused, the first one intact.
cni ADD "$P-a" eth0 "$NS1" "$C"
expect_err "ADD of the same container+ifname twice" 100
check_eq "the first attachment still has its address" "10.78.0.50/24" \
	"$(ip -n "$P-c1" -o -4 addr show dev eth0 | awk '{print $4}')"
check_eq "the first attachment's row is intact" "1" \
	"$(store_sql "select count(*) from attachments where container_id='$P-a' and state=3")"
cni DEL "$P-a" eth0 "$NS1" "$C"
assert_clean "after the duplicate"

# The port never comes up: ovn-controller is stopped.
"$SRC/scripts/ovn.sh" stop "$RUN" "$HOSTNS" controller 2>>"$T/ovn.log"
cni ADD "$P-a" eth0 "$NS1" "$C"
expect_err "port never going up (ovn-installed never set)" 11
assert_clean "port never up"
"$SRC/scripts/ovn.sh" start "$RUN" "$HOSTNS" controller 2>>"$T/ovn.log"

# OVN NB unreachable.
"$SRC/scripts/ovn.sh" stop "$RUN" "$HOSTNS" nb 2>>"$T/ovn.log"
cni ADD "$P-a" eth0 "$NS1" "$C"
expect_err "OVN NB unreachable" 11
check_eq "NB down: no veth left" "" "$(ip -n "$HOSTNS" -o link show type veth)"
check_eq "NB down: no row left" 0 "$(store_sql 'select count(*) from attachments')"
CNI_COMMAND=STATUS "$CNI_BIN" <<<"$C" >"$T/status.out"; RC=$?; OUT=$(cat "$T/status.out")
expect_err "STATUS with OVN NB unreachable" 50
"$SRC/scripts/ovn.sh" start "$RUN" "$HOSTNS" nb 2>>"$T/ovn.log"
retry_add() { # ovn-northd reconnects with its own back-off: retry on 11
	for _ in $(seq 20); do
		cni ADD "$P-a" eth0 "$NS1" "$C"
		[ "$RC" = 0 ] || [ "$(jget '["code"]')" != 11 ] && break
		sleep 0.5
	done
}
retry_add
check_eq "ADD works again once NB is back (kuryrd reconnects)" 0 "$RC"
cni DEL "$P-a" eth0 "$NS1" "$C"
assert_clean "NB back"

# The switch's own database restarts (an OVS upgrade): kuryrd reconnects.
"$SRC/scripts/ovn.sh" stop "$RUN" "$HOSTNS" ovsdb 2>>"$T/ovn.log"
CNI_COMMAND=STATUS "$CNI_BIN" <<<"$C" >"$T/status.out"; RC=$?; OUT=$(cat "$T/status.out")
expect_err "STATUS with the OVS database down" 50
cni ADD "$P-a" eth0 "$NS1" "$C"
expect_err "ADD with the OVS database down" 11
assert_clean "OVS database down"
"$SRC/scripts/ovn.sh" start "$RUN" "$HOSTNS" ovsdb 2>>"$T/ovn.log"
# ovs-vswitchd and ovn-controller reconnect with their own back-off; until
# then ADD says "try again later" (11) and leaves nothing, as a runtime
# expects. Retry the way a runtime would.
retry_add
check_eq "ADD works again once the OVS database is back (retrying on 11)" 0 "$RC"
cni DEL "$P-a" eth0 "$NS1" "$C"
assert_clean "OVS database back"

# kuryrd not running.
stop_kuryrd
cni ADD "$P-a" eth0 "$NS1" "$C"
expect_err "kuryrd not running: ADD" 11
CNI_COMMAND=STATUS "$CNI_BIN" <<<"$C" >"$T/status.out"; RC=$?; OUT=$(cat "$T/status.out")
expect_err "kuryrd not running: STATUS" 50
check_eq "kuryrd not running: nothing created" "" "$(ip -n "$P-c1" -o link show type veth)"
start_kuryrd
CNI_COMMAND=STATUS "$CNI_BIN" <<<"$C"; RC=$?
check_eq "STATUS with everything up succeeds" 0 "$RC"
assert_clean "end"

# The binaries' own command lines.
OUT=$(CNI_COMMAND=VERSION "$CNI_BIN" </dev/null); RC=$?
check_eq "VERSION lists the supported versions" "0 ['0.4.0', '1.0.0', '1.1.0']" \
	"$RC $(jget '["supportedVersions"]')"
for b in "$CNI_BIN" "$KURYRD_BIN" "$CTL_BIN"; do
	check "$(basename "$b") --version" sh -c "'$b' --version | grep -q '[0-9]\.[0-9]'"
	check "$(basename "$b") --help names the program" sh -c "'$b' --help | grep -q '^$(basename "$b") '"
done
printf '[daemon]\nsocket = %s/x.sock\nbogus = 1\n' "$T" >"$T/bad.conf"
"$KURYRD_BIN" -c "$T/bad.conf" 2>"$T/err"; RC=$?
check_eq "kuryrd refuses a config with an unknown key" 1 "$RC"
check_eq "... in one line naming file, line and key" "1 yes" \
	"$(wc -l <"$T/err") $(grep -q "$T/bad.conf:3: unknown key \"bogus\"" "$T/err" && echo yes)"
"$CTL_BIN" --socket "$T/nosuch.sock" status 2>"$T/err"; RC=$?
check_eq "kuryrctl without kuryrd: exit 1, one line naming the socket" "1 1 yes" \
	"$RC $(wc -l <"$T/err") $(grep -q "$T/nosuch.sock" "$T/err" && echo yes)"
