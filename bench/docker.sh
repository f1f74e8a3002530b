#!/bin/bash
# docker run -d to a network-ready container, through a real dockerd
# (scripts/docker.sh, Debian's docker.io 20.10, in the test's host
# namespace), interleaved in one run, sample by sample:
#   none    --network none: docker's own floor, the time until docker run
#           -d returns with no network to set up;
#   bridge  a network of docker's own bridge driver (10.251.0.0/24);
#   kuryr   a network of kuryrd as docker's remote network and IPAM driver
#           (10.252.0.0/24), pools on and pre-wired (ports_pool_min 25).
#
#   bench/docker.sh [ITERATIONS]   (default 20)
#
# Network-ready: from just before docker run -d until the first ICMP echo
# reply from the container's address, sent by a warm python3 pinger (raw
# socket, one echo every 1 ms; the first also needs ARP, as any first
# packet does) from a prober on the same L2 network: for bridge the host
# namespace, where the bridge and its gateway are; for kuryr a netns
# attached to the kuryr network through the real kuryr-cni. The address:
# neither side can be given one (an explicit --ip on the kuryr network is
# not a pool hit), so the pinger asks dockerd for it, as docker inspect
# would but from a warm process on a kept-alive connection to its API
# socket, as soon as docker run -d returns the container's id; both sides
# are invoked exactly alike, and the address lookup is printed beside.
# Every container runs sleep 3600 with --stop-timeout 1 and goes (docker rm
# -f) after its sample, untimed.
#
# The kuryr half needs kuryrd's [docker] support: without it (kuryrd does
# not start with a [docker] section, or docker network create -d kuryr
# fails) it is reported skipped and the other two run. Needs a build in
# ./build (or KURYR_BUILD) and docker.io (scripts/docker.sh install).
# Nothing touches the root namespace.
ITER=${1:-20}
. "$(dirname "$0")/../tests/e2e/lib.sh"
[ -x /usr/sbin/dockerd ] || skip_all "docker.io is not installed (scripts/docker.sh install)"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report
export REPORT_FD=3 # env_down's account of a failed run goes there
env_up
dkr_conf >/dev/null # the plugin socket's directory, before kuryrd has one
dkr_up
export DOCKER_CONFIG=$DKR_DIR/cli
DOCKER=(/usr/bin/docker -H "unix://$DKR_DIR/docker.sock") # no wrapper in the timed part
IMAGE=kuryr-busybox

dkr network create -d bridge --subnet 10.251.0.0/24 bnet >/dev/null ||
	{ echo "cannot create the bridge network" >&3; exit 1; }

# kuryrd again as docker's driver, pools on; on failure as it was, no kuryr.
MODES="none bridge kuryr"
KURYR_SKIP=
cp "$T/kuryr.conf" "$T/kuryr.conf.plain"
stop_kuryrd
{
	dkr_conf
	printf '%s\n' "[vif_pool]" "enabled = true" "prewire = true" "ports_pool_min = 25" \
		"ports_pool_update_frequency = 1" "[DEFAULT]" "log_level = info"
} >>"$T/kuryr.conf"
if ! start_kuryrd 2>/dev/null; then
	KURYR_SKIP="kuryrd has no [docker] support yet"
	cp "$T/kuryr.conf.plain" "$T/kuryr.conf"
	start_kuryrd || { echo "kuryrd did not restart" >&3; exit 1; }
elif ! timeout 60 "${DOCKER[@]}" network create -d kuryr --ipam-driver kuryr \
	--subnet 10.252.0.0/24 knet >"$T/knet.out" 2>&1; then
	KURYR_SKIP="kuryrd has no [docker] support yet (docker network create -d kuryr: $(tail -n 1 "$T/knet.out"))"
fi
[ -n "$KURYR_SKIP" ] && MODES="none bridge"

# The pinger: reads "ID" lines (a container docker just started); asks
# dockerd for its address, pings it; answers "REPLY_TIME LOOKUP_S" (the
# realtime stamp of the first echo reply, -1 if none within 10 s).
cat >"$T/pinger.py" <<'PY'
import http.client, json, os, select, socket, struct, sys, time
class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)
api = Unix(sys.argv[1])
def address(cid):
    for attempt in (0, 1):
        try:
            api.request("GET", "/containers/%s/json" % cid)
            nets = json.loads(api.getresponse().read())["NetworkSettings"]["Networks"]
            return next(n["IPAddress"] for n in nets.values() if n["IPAddress"])
        except (http.client.HTTPException, OSError):
            api.close()
            if attempt:
                raise
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
def csum(b):
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xFFFF) + (t >> 16)
    return ~t & 0xFFFF
ident = os.getpid() & 0xFFFF
for line in sys.stdin:
    t0 = time.time()
    ip = address(line.strip())
    t1 = time.time()
    seq = 0; got = None
    while got is None and time.time() - t1 < 10:
        seq = (seq + 1) & 0xFFFF
        h = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        s.sendto(struct.pack("!BBHHH", 8, 0, csum(h), ident, seq), (ip, 0))
        end = time.monotonic() + 0.001
        while got is None and (w := end - time.monotonic()) > 0:
            if select.select([s], [], [], w)[0]:
                b, a = s.recvfrom(2048)
                if a[0] == ip and b[20] == 0 and struct.unpack("!H", b[24:26])[0] == ident:
                    got = time.time()
    print("%.6f %.6f" % (got if got is not None else -1, t1 - t0), flush=True)
PY

# A prober on each network the containers join: the host namespace for
# bridge; for kuryr a netns of its own, attached by kuryr-cni.
coproc PB { hostns python3 "$T/pinger.py" "$DKR_DIR/docker.sock" 2>>"$T/pinger.err"; }
PINGERS=("$PB_PID")
if [ -z "$KURYR_SKIP" ]; then
	KNET=$(ctl -o json network list | pyj 'next(n["name"] for n in (d if isinstance(d, list) else d["networks"]) if n["subnet"] == "10.252.0.0/24")') ||
		{ echo "kuryrd shows no network for knet" >&3; exit 1; }
	pod probe
	PROBE_NS=$NSPATH
	cni ADD "$P-probe" eth0 "$PROBE_NS" "$(netconf "$KNET")"
	[ "$RC" = 0 ] || { echo "the kuryr prober's ADD failed: $OUT" >&3; exit 1; }
	# (bash warns of a second coproc; both work)
	{ coproc PK { ip netns exec "$P-probe" python3 "$T/pinger.py" "$DKR_DIR/docker.sock" 2>>"$T/pinger.err"; }; } 2>/dev/null
	PINGERS+=("$PK_PID")
fi

# sample MODE: one container; appends "T0 T_RETURN T_REPLY LOOKUP" to
# $T/times-MODE (for none T_REPLY is T_RETURN, LOOKUP 0).
sample() {
	local mode=$1 net t0 t1 id reply lookup
	case "$mode" in none) net=none ;; bridge) net=bnet ;; kuryr) net=knet ;; esac
	t0=$EPOCHREALTIME
	id=$("${DOCKER[@]}" run -d --stop-timeout 1 --network "$net" "$IMAGE" sleep 3600) ||
		{ echo "docker run on $net failed" >&3; exit 1; }
	t1=$EPOCHREALTIME
	reply=$t1 lookup=0
	case "$mode" in
	bridge) echo "$id" >&"${PB[1]}" && read -r reply lookup <&"${PB[0]}" ;;
	kuryr) echo "$id" >&"${PK[1]}" && read -r reply lookup <&"${PK[0]}" ;;
	esac || { echo "the $mode pinger stopped: $(cat "$T/pinger.err" 2>/dev/null)" >&3; exit 1; }
	echo "$t0 $t1 $reply $lookup" >>"$T/times-$mode"
	"${DOCKER[@]}" rm -f "$id" >/dev/null
}

# One warm-up round, untimed (the image's first layers, each network's
# first endpoint), then the samples, the modes in turn.
for mode in $MODES; do sample "$mode"; rm -f "$T/times-$mode"; done
for ((i = 1; i <= ITER; i++)); do
	for mode in $MODES; do sample "$mode"; done
done

# EOF: the pingers exit.
for fd in "${PB[1]}" ${PK:+"${PK[1]}"}; do exec {fd}>&-; done
wait "${PINGERS[@]}"
if [ -z "$KURYR_SKIP" ]; then
	echo "kuryr pool after the samples: $(ctl -o json pool list --network "$KNET" | tr -d '\n ')" >"$T/pool"
	cni DEL "$P-probe" eth0 "$PROBE_NS" "$(netconf "$KNET")"
fi

echo "$(date -u +%F) commit $(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)," \
	"docker $("${DOCKER[@]}" version -f '{{.Server.Version}}'), $ITER samples per mode, interleaved in one run" >&3
# shellcheck disable=SC2086 # one argument per mode
python3 - "$T" $MODES >&3 <<'PY'
import statistics, sys
d, modes = sys.argv[1], sys.argv[2:]
med = statistics.median
def p90(v): v = sorted(v); return v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
res = {}
for m in modes:
    rows = [list(map(float, l.split())) for l in open(f"{d}/times-{m}")]
    ok = [r for r in rows if r[2] >= 0]
    res[m] = dict(run=[(r[1] - r[0]) * 1000 for r in rows], ready=[(r[2] - r[0]) * 1000 for r in ok],
                  after=[(r[2] - r[1]) * 1000 for r in ok], lookup=[r[3] * 1000 for r in ok],
                  lost=len(rows) - len(ok))
bridge = med(res["bridge"]["ready"])
floor = med(res["none"]["run"])
print(f"{'mode':8}{'ready med':>10}{'p90':>9}{'/ bridge':>10}{'x none':>8}"
      f"{'run -d med':>12}{'p90':>9}{'after run':>11}{'lookup':>8}   (ms)")
for m in modes:
    r = res[m]
    lost = f"  ({r['lost']} never answered)" if r["lost"] else ""
    after = f"{med(r['after']):11.2f}{med(r['lookup']):8.2f}" if m != "none" else f"{'-':>11}{'-':>8}"
    print(f"{m:8}{med(r['ready']):10.2f}{p90(r['ready']):9.2f}{med(r['ready']) / bridge:10.2f}"
          f"{med(r['ready']) / floor:8.2f}{med(r['run']):12.2f}{p90(r['run']):9.2f}{after}{lost}")
print(f"floor: docker run -d --network none, {floor:.2f} ms (p90 {p90(res['none']['run']):.2f}): "
      "what docker pays with no network at all; ready = run -d + after run (lookup included)")
PY
[ -n "$KURYR_SKIP" ] && echo "kuryr: skipped ($KURYR_SKIP)" >&3
cat "$T/pool" >&3 2>/dev/null

# What dockerd does with the device it is handed: it moves it into the
# container. One move, timed through ip(8) beside an ip(8) call that
# changes nothing (its exec and netlink round trip), for the devices a
# plugin may hand over: a passthru macvlan (a pre-wired pool entry) and
# a veth end, each up or down (kuryrd hands them over down).
ip netns add "$P-mva" && ip netns add "$P-mvb" &&
	ip -n "$P-mva" link add "$P-low" type veth peer name "$P-lowp" && ip -n "$P-mva" link set "$P-low" up
python3 - "$P" "$ITER" >&3 <<'PY'
import statistics, subprocess, sys, time
p, n = sys.argv[1], int(sys.argv[2])
a, b = p + "-mva", p + "-mvb"
def sh(c): subprocess.run(c, shell=True, check=True)
def timed(c):
    t0 = time.perf_counter(); sh(c); return (time.perf_counter() - t0) * 1000
make = {"macvlan": f"ip -n {a} link add {p}-m link {p}-low type macvlan mode passthru",
        "veth": f"ip -n {a} link add {p}-m type veth peer name {p}-mp"}
res = {}
for _ in range(n):
    for kind in ("macvlan", "veth"):
        for state in ("up", "down"):
            sh(make[kind] + f" && ip -n {a} link set {p}-m {state}")
            res.setdefault(f"{kind} {state}", []).append(timed(f"ip -n {a} link set {p}-m netns {b}"))
            sh(f"ip -n {b} link del {p}-m")
    res.setdefault("ip no-op", []).append(timed(f"ip -n {a} link set {p}-low up"))
noop = statistics.median(res["ip no-op"])
print("moving the handed-over device into another netns (median of %d, ip(8)'s own %.1f ms taken off):" % (n, noop))
print("  " + ", ".join("%s %.1f ms" % (k, statistics.median(v) - noop) for k, v in res.items() if k != "ip no-op"))
PY
exit 0
