#!/bin/bash
# QoS policies on backend ovn: kuryrctl qos create|list|show|delete, and
# containers whose netconf names a policy. A bandwidth limit polices what
# the pod sends (a bulk TCP transfer from it, measured at the receiver,
# against the same transfer from a pod without one); a DSCP mark is on the
# packets that arrive (captured on the receiving pod's eth0). OVN NB holds
# the port's QoS rows on its switch while the port exists, and none after
# DEL. Bad input: an unknown policy in the netconf (error 7, nothing left),
# a policy in use (409), invalid limits and marks (400). Then, with pools:
# the ports of a policy's pool, made in bulk, carry it too, and a
# restarted kuryrd gives them back to that pool; a pod that names no
# policy gets [neutron_defaults] pod_qos_policy.
. "$(dirname "$0")/lib.sh"
env_up

NET=qnet
check "kuryrctl creates a network" ctl network create $NET --subnet 10.79.0.0/24
LS=$(nbctl get Logical_Switch $NET _uuid)

# qos_json NAME: the policy as kuryrctl shows it, "key=value ..." sorted.
qos_json() {
	ctl -o json qos show "$1" | python3 -c '
import json, sys
p = json.load(sys.stdin)
print(" ".join("%s=%s" % (k, p[k]) for k in sorted(p) if k != "id"))'
}
# lsp_of: the OVN port of the attachment in $OUT (its host veth's iface-id).
lsp_of() { vsctl get Interface "$(jget '["interfaces"][0]["name"]')" external_ids:iface-id | tr -d '"'; }
# qos_rows LSP: the port's QoS rows in NB, "direction priority match
# bandwidth action" a line, sorted.
qos_rows() {
	nbctl -f json --columns=direction,priority,match,bandwidth,action \
		find QoS "external_ids:\"kuryr:port\"=\"$1\"" | python3 -c '
import json, sys
kv = lambda m: ["%s=%s" % (k, v) for k, v in sorted(m[1])]
for d, prio, match, bw, act in sorted(json.load(sys.stdin)["data"]):
    print(" ".join([d, str(prio), match] + kv(bw) + kv(act)))'
}

# ---- the verbs ----
OUT=$(ctl -o json qos create slow --max-kbps 2000 --max-burst-kbps 200); RC=$?
check_eq "kuryrctl qos create slow --max-kbps 2000 --max-burst-kbps 200" 0 "$RC"
SLOW_ID=$(jget '["id"]' 2>/dev/null)
check_eq "the answer is the policy" \
	"direction=egress max_burst_kbps=200 max_kbps=2000 name=slow" "$(qos_json slow)"
check_eq "OVN NB: the policy is a row of its own (an empty Port_Group), id its _uuid" \
	"kuryr_qos_slow [] []" "$(for c in name ports acls; do nbctl get Port_Group "$SLOW_ID" $c; done |
		tr -d '"' | paste -sd' ')"
check "kuryrctl qos create mark --dscp 26" ctl qos create mark --dscp 26
check_eq "kuryrctl qos show mark: a mark, no limit" "dscp=26 name=mark" "$(qos_json mark)"
check "kuryrctl qos create in --max-kbps 3000 --max-burst-kbps 300 --direction ingress --dscp 46" \
	ctl qos create in --max-kbps 3000 --max-burst-kbps 300 --direction ingress --dscp 46
check_eq "kuryrctl qos show by id" "direction=egress max_burst_kbps=200 max_kbps=2000 name=slow" \
	"$(qos_json "$SLOW_ID")"
check_eq "kuryrctl qos list shows the three" "in mark slow" \
	"$(ctl -o json qos list | python3 -c 'import json,sys; print(" ".join(sorted(p["name"] for p in json.load(sys.stdin))))')"
check "kuryrctl qos list prints a table" grep -q "^NAME .*MAX KBPS.*DSCP" <<<"$(ctl qos list)"

check_eq "a policy with neither a limit nor a mark: 400" 400 "$(ctl_code qos.create '{"name":"x"}')"
check_eq "--dscp 27 (not one of Neutron's valid marks): 400" 400 \
	"$(ctl_code qos.create '{"name":"x","dscp":"27"}')"
check_eq "--dscp 64: 400" 400 "$(ctl_code qos.create '{"name":"x","dscp":"64"}')"
check_eq "--max-kbps 0: 400" 400 "$(ctl_code qos.create '{"name":"x","max_kbps":"0"}')"
check_eq "--direction sideways: 400" 400 \
	"$(ctl_code qos.create '{"name":"x","max_kbps":"10","direction":"sideways"}')"
check_eq "--direction without a limit: 400" 400 \
	"$(ctl_code qos.create '{"name":"x","dscp":"26","direction":"ingress"}')"
check_eq "a name taken: 409" 409 "$(ctl_code qos.create '{"name":"slow","max_kbps":"10"}')"
check_eq "show of an unknown policy: 404" 404 "$(ctl_code qos.show '{"name":"nosuch"}')"
check_eq "OVN NB: still three policies, none named x" "kuryr_qos_in kuryr_qos_mark kuryr_qos_slow" \
	"$(nbctl --bare --columns=name list Port_Group | grep '^kuryr_qos_' | sort | paste -sd' ')"

# ---- an unknown policy in the netconf ----
pod bad
cni ADD "$P-bad" eth0 "$NSPATH" "$(netconf $NET 1.1.0 '"qos_policy":"nosuch"')"
check_eq "ADD naming an unknown QoS policy: error 7" "1 7" "$RC $(jget '["code"]' 2>/dev/null)"
assert_clean "unknown QoS policy"
check_eq "... and no QoS row" "" "$(nbctl --bare --columns=_uuid list QoS)"

# ---- pods: a receiver, one without a policy, one slow, one marking ----
declare -A IP LSP
for p in rx fast slow mark in; do
	pod $p
	extra=
	[ $p = slow ] || [ $p = in ] && extra="\"qos_policy\":\"$p\""
	[ $p = mark ] && extra="\"qos_policy\":\"$(ctl -o json qos show mark | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')\""
	cni ADD "$P-$p" eth0 "$NSPATH" "$(netconf $NET 1.1.0 "$extra")"
	check_eq "ADD $p${extra:+ ($extra)}" 0 "$RC"
	[ "$RC" = 0 ] || { echo "$OUT" | diag; continue; }
	IP[$p]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
	LSP[$p]=$(lsp_of)
done

check_eq "OVN NB: slow's port has one QoS row, egress (from-lport), 2000 kbps, burst 200" \
	"from-lport 2002 inport == \"${LSP[slow]}\" burst=200 rate=2000" "$(qos_rows "${LSP[slow]}")"
check_eq "OVN NB: mark's port has one QoS row marking DSCP 26" \
	"from-lport 2002 inport == \"${LSP[mark]}\" dscp=26" "$(qos_rows "${LSP[mark]}")"
check_eq "OVN NB: in's port has a from-lport row for its mark, a to-lport one for its ingress limit" \
	"from-lport 2002 inport == \"${LSP[in]}\" dscp=46
to-lport 2002 outport == \"${LSP[in]}\" burst=300 rate=3000" "$(qos_rows "${LSP[in]}")"
check_eq "OVN NB: the ports without a policy have none" "" \
	"$(qos_rows "${LSP[fast]}")$(qos_rows "${LSP[rx]}")"
check_eq "OVN NB: the four rows are on the switch" 4 \
	"$(nbctl get Logical_Switch "$LS" qos_rules | tr ',' '\n' | grep -c '[0-9a-f]\{8\}-')"
check_eq "OVN NB: the policed port names its policy" "$SLOW_ID" \
	"$(nbctl get Logical_Switch_Port "${LSP[slow]}" external_ids:\"kuryr:qos_policy\" | tr -d '"')"
nbctl --wait=hv sync

# ---- the limit, measured ----
cat >"$T/rx.py" <<-'EOF'
	# Accept one TCP connection and count what arrives in WINDOW seconds
	# from the first byte: prints kbit/s.
	import socket, sys, time
	port, window = int(sys.argv[1]), float(sys.argv[2])
	s = socket.socket()
	s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	s.bind(("0.0.0.0", port))
	s.listen(1)
	s.settimeout(10)
	c, _ = s.accept()
	c.settimeout(10)
	n, t0 = 0, None
	while True:
	    b = c.recv(1 << 16)
	    if not b:
	        break
	    now = time.monotonic()
	    t0 = t0 or now
	    n += len(b)
	    if now - t0 >= window:
	        break
	print(int(n * 8 / max(time.monotonic() - t0, 1e-3) / 1000))
EOF
cat >"$T/tx.py" <<-'EOF'
	# Send as fast as TCP lets us to HOST:PORT until the receiver closes.
	import socket, sys, time
	host, port = sys.argv[1], int(sys.argv[2])
	for _ in range(50):
	    try:
	        c = socket.create_connection((host, port), timeout=1)
	        break
	    except OSError:
	        time.sleep(0.1)
	c.settimeout(10)
	buf = b"x" * (1 << 16)
	try:
	    while True:
	        c.sendall(buf)
	except OSError:
	    pass
EOF
# rate FROM WINDOW [TO]: kbit/s of a bulk transfer from pod FROM to pod
# TO (rx).
rate() {
	local port=$((6000 + RANDOM % 1000)) to=${3:-rx} txpid r
	ip netns exec "$P-$to" python3 "$T/rx.py" $port "$2" >"$T/rate.out" 2>&1 &
	r=$!
	sleep 0.2
	ip netns exec "$P-$1" python3 "$T/tx.py" "${IP[$to]}" $port 2>/dev/null &
	txpid=$!
	wait $r
	kill $txpid 2>/dev/null
	wait $txpid 2>/dev/null
	cat "$T/rate.out"
}
SLOW=$(rate slow 3)
FAST=$(rate fast 1)
echo "# measured: slow (2000 kbps policy) $SLOW kbit/s, fast (none) $FAST kbit/s"
check "the policed pod sends well below 2400 kbit/s (got ${SLOW} kbit/s)" \
	test "${SLOW:-99999}" -lt 2400 -a "${SLOW:-0}" -gt 100
check "the pod without a policy sends at least 20x faster (got ${FAST} kbit/s)" \
	test "${FAST:-0}" -ge $((${SLOW:-99999} * 20))
IN=$(rate fast 2 in)
echo "# measured: to the pod with a 3000 kbps ingress limit: $IN kbit/s"
check "what the pod with an ingress limit receives is policed (got ${IN} kbit/s)" \
	test "${IN:-99999}" -lt 3600 -a "${IN:-0}" -gt 100

# ---- the mark, captured ----
cat >"$T/cap.py" <<-'EOF'
	# Print the TOS byte of the first UDP datagram from SRC to port PORT
	# seen on IFNAME (a raw AF_PACKET socket); exit 1 after TIMEOUT s.
	import socket, struct, sys, time
	ifname, src, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
	s.bind((ifname, 0))
	s.settimeout(0.2)
	open(sys.argv[5], "w").close()  # listening
	end = time.monotonic() + timeout
	while time.monotonic() < end:
	    try:
	        f = s.recv(2048)
	    except socket.timeout:
	        continue
	    ip = f[14:]
	    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
	        continue
	    ihl = (ip[0] & 15) * 4
	    if socket.inet_ntoa(ip[12:16]) == src and struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] == port:
	        print(ip[1])
	        sys.exit(0)
	sys.exit(1)
EOF
# tos FROM: the TOS byte of a UDP datagram from pod FROM as rx's eth0 gets it.
tos() {
	local cap
	rm -f "$T/cap.ready"
	ip netns exec "$P-rx" python3 "$T/cap.py" eth0 "${IP[$1]}" 7777 5 "$T/cap.ready" >"$T/cap.out" 2>&1 &
	cap=$!
	for _ in $(seq 50); do [ -e "$T/cap.ready" ] && break; sleep 0.05; done
	ip netns exec "$P-$1" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(40):
    s.sendto(b"dscp?", (sys.argv[1], 7777))
    time.sleep(0.05)' "${IP[rx]}" &
	wait $cap
	wait $!
	cat "$T/cap.out"
}
check_eq "a datagram from the marking pod arrives with TOS 26<<2" $((26 << 2)) "$(tos mark)"
check_eq "one from the pod without a policy arrives with TOS 0" 0 "$(tos fast)"

# ---- a policy in use ----
check_eq "deleting a policy a port uses: 409" 409 "$(ctl_code qos.delete '{"name":"slow"}')"
check "kuryrctl qos delete slow fails (status 1)" test "$(ctl qos delete slow >/dev/null 2>&1; echo $?)" = 1
check_eq "... and the policy is still there" "kuryr_qos_slow" \
	"$(nbctl --bare --columns=name list Port_Group "$SLOW_ID")"

# ---- DEL takes the QoS rows along ----
for p in slow mark in; do
	cni DEL "$P-$p" eth0 "/run/netns/$P-$p" "$(netconf $NET)"
	check_eq "DEL $p" 0 "$RC"
	check_eq "OVN NB: $p's port and its QoS rows are gone" "0 " \
		"$(nbctl --bare --columns=name find Logical_Switch_Port name="${LSP[$p]}" | grep -c .) $(qos_rows "${LSP[$p]}")"
done
check_eq "OVN NB: no QoS row left anywhere, the switch holds none" "[]" \
	"$(nbctl --bare --columns=_uuid list QoS)$(nbctl get Logical_Switch "$LS" qos_rules)"
check "kuryrctl qos delete mark, now unused" ctl qos delete mark
check "kuryrctl qos delete in, now unused" ctl qos delete in
check_eq "show of a deleted policy: 404" 404 "$(ctl_code qos.show '{"name":"mark"}')"
for p in rx fast; do
	cni DEL "$P-$p" eth0 "/run/netns/$P-$p" "$(netconf $NET)"
	check_eq "DEL $p" 0 "$RC"
done
assert_clean "every DEL"

# ---- pools: a policy's pool, made in bulk; and the node's default ----
check "kuryrctl qos create dflt --dscp 10" ctl qos create dflt --dscp 10
stop_kuryrd
cat >>"$T/kuryr.conf" <<-CONF
	[neutron_defaults]
	pod_qos_policy = dflt
	[vif_pool]
	enabled = true
	ports_pool_min = 2
	ports_pool_batch = 2
	ports_pool_update_frequency = 1
CONF
start_kuryrd || { echo "Bail out! kuryrd did not restart with pools"; exit 1; }
KEY="$NET||-|slow"
pool_ready() {
	ctl -o json pool list | python3 -c "import json,sys; print(sum(p['ready'] for p in json.load(sys.stdin) if p['key'] == sys.argv[1]))" "$KEY"
}
wait_ready() {
	local got
	for _ in $(seq 150); do
		got=$(pool_ready 2>/dev/null)
		[ "$got" = 2 ] && break
		sleep 0.1
	done
	check_eq "$1" 2 "$got"
}
pool_slow_lsps() {
	nbctl --bare --columns=name find Logical_Switch_Port "external_ids:\"kuryr:device_owner\"=pool" \
		"external_ids:\"kuryr:qos_policy\"=\"$SLOW_ID\"" | grep . | sort
}
NSPATH=/run/netns/$P-slow
cni ADD "$P-slow1" eth0 "$NSPATH" "$(netconf $NET 1.1.0 '"qos_policy":"slow"')"
check_eq "ADD with qos_policy slow, pools on (a miss)" 0 "$RC"
wait_ready "the miss fills the pool of $KEY to 2"
check_eq "OVN NB: its 2 ports (made in bulk) carry the policy and keep the pool's key" \
	"2 $KEY $KEY" "$(pool_slow_lsps | grep -c .) $(for l in $(pool_slow_lsps); do
		nbctl get Logical_Switch_Port "$l" external_ids:\"kuryr:pool_key\" | tr -d '"'; done | paste -sd' ')"
check_eq "OVN NB: and each has its 2000 kbps QoS row" \
	"$(for l in $(pool_slow_lsps); do echo "from-lport 2002 inport == \"$l\" burst=200 rate=2000"; done)" \
	"$(for l in $(pool_slow_lsps); do qos_rows "$l"; done)"
stop_kuryrd
start_kuryrd || { echo "Bail out! kuryrd did not restart"; exit 1; }
wait_ready "a restarted kuryrd gives them back to the pool of $KEY"
cni ADD "$P-rx" eth0 "/run/netns/$P-rx" "$(netconf $NET)"
IP[rx]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
check_eq "a pod that names no policy gets [neutron_defaults] pod_qos_policy (DSCP 10)" \
	"from-lport 2002 inport == \"$(lsp_of)\" dscp=10" "$(qos_rows "$(lsp_of)")"
pod slow2
cni ADD "$P-slow2" eth0 "$NSPATH" "$(netconf $NET 1.1.0 '"qos_policy":"slow"')"
check_eq "a second ADD with qos_policy slow" 0 "$RC"
check "... takes a port of that pool" grep -qx "$(lsp_of)" <<<"$(pool_slow_lsps)"
IP[slow2]=$(jget '["ips"][0]["address"]' | cut -d/ -f1)
nbctl --wait=hv sync
SLOW2=$(rate slow2 3)
echo "# measured: a pool port of policy slow: $SLOW2 kbit/s"
check "... and is policed too (got ${SLOW2} kbit/s)" test "${SLOW2:-99999}" -lt 2400 -a "${SLOW2:-0}" -gt 100
check_eq "the policy is in use while its pool holds ports: 409" 409 \
	"$(ctl_code qos.delete '{"name":"slow"}')"
for p in slow1:slow slow2:slow2 rx:rx; do
	cni DEL "$P-${p%:*}" eth0 "/run/netns/$P-${p#*:}" "$(netconf $NET)"
	check_eq "DEL ${p%:*}" 0 "$RC"
done
check "kuryrctl pool free" ctl pool free
for _ in $(seq 100); do [ -z "$(nbctl --bare --columns=name list Logical_Switch_Port)" ] && break; sleep 0.1; done
check "kuryrctl qos delete slow, its pool freed" ctl qos delete slow
check "kuryrctl qos delete dflt" ctl qos delete dflt
check_eq "OVN NB: no port, QoS row or policy row left" "" \
	"$(nbctl --bare --columns=name list Logical_Switch_Port)$(nbctl --bare --columns=_uuid list QoS)$(nbctl --bare --columns=name list Port_Group | grep '^kuryr_qos_')"
