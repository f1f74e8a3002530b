#!/bin/bash
# Scale: kuryrd's memory and ADD latency as attachments pile up on one node.
#
#   bench/scale.sh [MODE] [N]            e.g.  bench/scale.sh nopool 1000
#
#   MODE   nopool    no port pool: every ADD creates its OVN port and veth
#          prewired  (default) pool on, prewire=true (ports + host ends ahead)
#          portonly  pool on, prewire=false (only the OVN ports ahead)
#   N      attachments, default 1000
#
# Targets: kuryrd RSS under 10 MB at 1000 attachments; ADD latency flat
# (the median at N about the same as at 10).
#
# Needs root and a build in ./build (ninja -C build). Everything runs in a
# private "host" namespace (tests/e2e/lib.sh): OVS (userspace datapath) +
# OVN + kuryrd; nothing touches the root namespace.
#
# What it does:
#   1. kuryrd's VmRSS (/proc/PID/status) when idle: after the network is
#      created and, in pool modes, after `kuryrctl pool populate` has filled
#      the pool (ready >= ports_pool_min, 120 s at most).
#   2. N containers attached one after the other (a netns, then one ADD
#      through the real kuryr-cni binary each), every ADD timed with
#      EPOCHREALTIME around the exec. Medians of attachments 1-10 and of
#      N-9..N, a median per block of N/10, kuryrd's RSS along the way.
#   3. 20 extra ADD+DEL pairs at 10 existing attachments and 20 at N, for
#      better medians of ADD (and DEL) at both ends.
#   4. kuryrd's RSS at N (and its peak, VmHWM), ovs-vswitchd's for context;
#      in pool modes the pool's hits/misses. The pool may be smaller than
#      N: later ADDs are then misses (or served by refills).
#   5. DEL of everything (8 at a time, checked); in pool modes a wait (90 s
#      at most) until the pool has no creating/draining entries left, then
#      kuryrd gets SIGTERM (it must exit 0 within 10 s, lib.sh's rule);
#      lib.sh removes the namespaces on exit.
# The attach phase stops early (and says so) after ATTACH_BUDGET seconds
# (default 420), so a run stays within ~10 minutes even if OVS slows down.
#
# Knobs (environment): POOL_MIN (ports_pool_min, default 100), POOL_BATCH
# (ports_pool_batch, default 20), ATTACH_BUDGET (s), PORT_UP_TIMEOUT (kuryrd's
# port_up_timeout, default 30 s here).
set -uo pipefail
MODE=${1:-prewired}
N=${2:-1000}
POOL_MIN=${POOL_MIN:-100}
POOL_BATCH=${POOL_BATCH:-20}
ATTACH_BUDGET=${ATTACH_BUDGET:-420}
PORT_UP_TIMEOUT=${PORT_UP_TIMEOUT:-30}
EXTRA=20
NET=bench

[[ $N =~ ^[1-9][0-9]*$ ]] && [ "$N" -ge 20 ] || { echo "scale.sh: N must be a number >= 20" >&2; exit 2; }
case "$MODE" in
nopool) POOLS=false KURYR_CONF_EXTRA= ;;
prewired | portonly)
	POOLS=true
	[ "$MODE" = prewired ] && PREWIRE=true || PREWIRE=false
	KURYR_CONF_EXTRA=$(printf '[vif_pool]\nprewire = %s\nports_pool_min = %s\nports_pool_max = 0\nports_pool_batch = %s' \
		"$PREWIRE" "$POOL_MIN" "$POOL_BATCH")
	;;
*) echo "usage: bench/scale.sh [nopool|prewired|portonly] [N]" >&2; exit 2 ;;
esac
export POOLS KURYR_CONF_EXTRA PORT_UP_TIMEOUT

. "$(dirname "$0")/../tests/e2e/lib.sh"
exec 3>&1 1>"$T/tap.log" # keep lib.sh's TAP lines out of the report

REPORT_FD=3 # lib.sh's env_down reports a failed run here
say() { echo "$*" >&3; }
die() { say "FAILED: $*"; exit 1; }
now() { python3 -c "print(f'{$EPOCHREALTIME - $1:.1f}')"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; } # kB
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null; }
mb() { python3 -c "print(f'{$1 / 1024:.1f}')"; }

kuryr() { # ACTION ID NETNS
	CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 CNI_NETNS=$3 "$CNI_BIN" <<<"$KC"
}
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
# The reference plugin as a control for the machine's load: OVS and OVN
# themselves burn more CPU the more ports there are, which slows every
# process on this 2-core machine, not only kuryrd.
REF=$(printf '{"cniVersion":"1.0.0","name":"ref","type":"bridge","bridge":"kcsc0","isGateway":true,"ipam":{"type":"host-local","subnet":"10.94.0.0/16","dataDir":"%s/ipam"}}' "$T")
bridge() { # CMD ID NETNS
	hostns env CNI_COMMAND=$1 CNI_CONTAINERID=$2 CNI_IFNAME=eth0 CNI_NETNS=$3 \
		CNI_PATH=/usr/lib/cni /usr/lib/cni/bridge <<<"$REF"
}
# pairs TAG: EXTRA timed ADD+DEL pairs on fresh namespaces, into $T/pairs.TAG,
# each followed by a bridge ADD+DEL pair, into $T/ref.TAG.
pairs() {
	local j ns t0 t1 t2
	for ((j = 1; j <= EXTRA; j++)); do
		ns=$P-x$1-$j
		ip netns add "$ns" || die "ip netns add $ns"
		t0=$EPOCHREALTIME
		kuryr ADD "$ns" "/run/netns/$ns" >"$T/pair.out" 2>&1 || die "extra ADD $ns: $(head -c 300 "$T/pair.out")"
		t1=$EPOCHREALTIME
		kuryr DEL "$ns" "/run/netns/$ns" >"$T/pair.out" 2>&1 || die "extra DEL $ns: $(head -c 300 "$T/pair.out")"
		t2=$EPOCHREALTIME
		echo "$t0 $t1 $t2" >>"$T/pairs.$1"
		t0=$EPOCHREALTIME
		bridge ADD "ref$1$j" "/run/netns/$ns" >"$T/pair.out" 2>&1 || die "bridge ADD $ns: $(head -c 300 "$T/pair.out")"
		t1=$EPOCHREALTIME
		bridge DEL "ref$1$j" "/run/netns/$ns" >"$T/pair.out" 2>&1 || die "bridge DEL $ns: $(head -c 300 "$T/pair.out")"
		t2=$EPOCHREALTIME
		echo "$t0 $t1 $t2" >>"$T/ref.$1"
		ip netns del "$ns"
	done
}

START=$EPOCHREALTIME
say "scale: mode $MODE, N=$N (targets: kuryrd RSS < 10 MB at 1000 attachments, ADD latency flat)"
[ "$POOLS" = true ] && say "pool: prewire=$PREWIRE ports_pool_min=$POOL_MIN ports_pool_max=0 ports_pool_batch=$POOL_BATCH"
env_up
KPID=$(cat "$T/kuryrd.pid")
[ "$(cat "/proc/$KPID/comm" 2>/dev/null)" = kuryrd ] || die "pid $KPID in $T/kuryrd.pid is not kuryrd"
VPID=$(cat "$RUN/ovs/ovs-vswitchd.pid" 2>/dev/null)
ctl network create "$NET" --subnet 10.91.0.0/16 >/dev/null || die "network create"
KC=$(netconf "$NET" 1.0.0)
mkdir -p "$T/s"

if [ "$POOLS" = true ]; then
	t0=$SECONDS
	timeout 120 "$CTL_BIN" --socket "$SOCK" pool populate "$NET" >"$T/populate.out" 2>&1 ||
		die "kuryrctl pool populate $NET: $(tail -n 3 "$T/populate.out")"
	while r=$(pool_field ready); [ "${r:-0}" -lt "$POOL_MIN" ]; do
		[ $((SECONDS - t0)) -ge 120 ] && die "pool has $r ready ports after 120 s, need $POOL_MIN"
		sleep 0.2
	done
	say "pool filled in $((SECONDS - t0)) s: $(pool_line)"
fi
sleep 1 # let the daemon settle before the idle sample
RSS_IDLE=$(rss "$KPID")
VRSS_IDLE=$(rss "$VPID")
say "kuryrd RSS idle: $(mb "$RSS_IDLE") MB   (ovs-vswitchd: $(mb "${VRSS_IDLE:-0}") MB)"

# Attach N, one after the other.
say "attaching $N containers sequentially..."
A0=$EPOCHREALTIME
block=$(( N >= 100 ? N / 10 : 10 ))
for ((i = 1; i <= N; i++)); do
	ns=$P-c$i
	ip netns add "$ns" || die "ip netns add $ns (attachment $i)"
	t0=$EPOCHREALTIME
	kuryr ADD "$P-ctr$i" "/run/netns/$ns" >"$T/s/$i.out" 2>&1 ||
		die "ADD $i failed after $(now "$A0") s: $(head -c 400 "$T/s/$i.out")"
	t1=$EPOCHREALTIME
	echo "$i $t0 $t1" >>"$T/times"
	[ "$i" = 10 ] && pairs 10
	if ((i % block == 0)); then
		echo "$i $(rss "$KPID") $(rss "$VPID")" >>"$T/rss"
		say "  $i attached, $(now "$A0") s, kuryrd RSS $(mb "$(rss "$KPID")") MB"
	fi
	if ((i < N && ${EPOCHREALTIME%.*} - ${A0%.*} > ATTACH_BUDGET)); then
		say "  STOPPED EARLY: attach budget of $ATTACH_BUDGET s used up at $i attachments"
		N=$i
		break
	fi
done
ATTACH_S=$(now "$A0")
RSS_N=$(rss "$KPID")
VRSS_N=$(rss "$VPID")
say "attached $N in $ATTACH_S s"
say "ports on br-int: $(vsctl list-ports br-int | wc -l), attachment rows: $(store_sql 'select count(*) from attachments')"
# The pairs at 10 ran with the pool at rest; let a refill that the attach
# phase started finish (90 s at most) so the pairs at N are like for like.
if [ "$POOLS" = true ]; then
	W0=$EPOCHREALTIME
	while [ "$(pool_field creating)" != 0 ] && [ "${EPOCHREALTIME%.*}" -lt $((${W0%.*} + 90)) ]; do sleep 0.5; done
	say "pool at rest before the pairs at N after $(now "$W0") s: $(pool_line)"
fi
pairs N
HWM=$(hwm "$KPID")
[ "$POOLS" = true ] && POOL_END=$(pool_line)

# Every container got its own address.
distinct=$(python3 - "$T/s" "$N" <<'PY'
import json, sys
addrs = set()
for i in range(1, int(sys.argv[2]) + 1):
    try: res = json.load(open(f"{sys.argv[1]}/{i}.out"))
    except Exception: continue
    addrs.update(ip["address"] for ip in res.get("ips", []))
print(len(addrs))
PY
)
[ "$distinct" = "$N" ] || die "$distinct distinct addresses for $N attachments"

# Clean up: DEL everything, 8 at a time, every one must succeed.
D0=$EPOCHREALTIME
fails=0
for ((i = 1; i <= N; i += 8)); do
	pids=()
	for ((j = i; j < i + 8 && j <= N; j++)); do
		kuryr DEL "$P-ctr$j" "/run/netns/$P-c$j" >"$T/s/$j.del" 2>&1 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
done
DEL_S=$(now "$D0")
left=$(store_sql 'select count(*) from attachments')
# Pool modes: let the pool finish its refills and deletions (90 s at most)
# before kuryrd is stopped; how long that takes is worth knowing too.
if [ "$POOLS" = true ]; then
	S0=$EPOCHREALTIME
	while b=$(($(pool_field creating) + $(pool_field draining))); [ "$b" != 0 ]; do
		[ "${EPOCHREALTIME%.*}" -ge $((${S0%.*} + 90)) ] && break
		sleep 0.5
	done
	SETTLE="pool after the DELs, $(now "$S0") s later ($([ "$b" = 0 ] && echo settled || echo 'still busy after 90 s')): $(pool_line)"
fi

python3 - "$T/times" "$T/pairs.10" "$T/pairs.N" "$T/rss" "$N" "$block" "$T/ref.10" "$T/ref.N" >&3 <<'PY'
import statistics as st, sys
times, p10, pn, rssf, n, block, r10, rn = sys.argv[1:9]
n, block = int(n), int(block)
add = [(int(i), (float(b) - float(a)) * 1000) for i, a, b in (l.split() for l in open(times))]
def pairs(f):
    rows = [list(map(float, l.split())) for l in open(f)]
    return [(r[1] - r[0]) * 1000 for r in rows], [(r[2] - r[1]) * 1000 for r in rows]
a10, d10 = pairs(p10)
an, dn = pairs(pn)
first = st.median(v for i, v in add if i <= 10)
last = st.median(v for i, v in add if i > n - 10)
print()
print(f"{'latency, median ms':40}{'at ~10':>8}{'at N':>8}{'ratio':>8}")
def row(name, a, b): print(f"  {name:38}{a:8.2f}{b:8.2f}{b / a:8.2f}")
row(f"ADD, attachments 1-10 vs {n - 9}-{n}", first, last)
row(f"ADD, {len(a10)} extra at 10 vs at {n} attached", st.median(a10), st.median(an))
row(f"DEL, {len(d10)} extra at 10 vs at {n} attached", st.median(d10), st.median(dn))
ra10, rd10 = pairs(r10)
ran, rdn = pairs(rn)
row(f"control: bridge ADD at 10 vs at {n}", st.median(ra10), st.median(ran))
row(f"control: bridge DEL at 10 vs at {n}", st.median(rd10), st.median(rdn))
allv = sorted(v for _, v in add)
print(f"  all {n} sequential ADDs: median {st.median(allv):.2f}, "
      f"p99 {allv[min(len(allv) - 1, round(0.99 * (len(allv) - 1)))]:.2f}, max {allv[-1]:.2f}")
rss = {int(l.split()[0]): l.split()[1:] for l in open(rssf)} if block <= n else {}
print()
print(f"per block of {block}:    ADD median ms   p90 ms   kuryrd RSS MB   ovs-vswitchd RSS MB")
for s in range(1, n + 1, block):
    v = sorted(x for i, x in add if s <= i < s + block)
    if not v: continue
    e = min(s + block - 1, n)
    r = rss.get(e, ["", ""])
    f = lambda k: f"{int(k) / 1024:.1f}" if k else "-"
    print(f"  {s:5}-{e:<5}  {st.median(v):14.2f} {v[int(0.9 * (len(v) - 1))]:8.2f} {f(r[0]):>15} {f(r[1]) if len(r) > 1 else '-':>21}")
PY
say ""
say "kuryrd RSS idle:              $(mb "$RSS_IDLE") MB"
say "kuryrd RSS at $N attachments: $(mb "$RSS_N") MB (peak VmHWM $(mb "$HWM") MB; $(python3 -c "print(f'{($RSS_N - $RSS_IDLE) / $N:.2f}')") kB per attachment; target < 10 MB at 1000)"
say "ovs-vswitchd RSS idle / at N: $(mb "${VRSS_IDLE:-0}") / $(mb "${VRSS_N:-0}") MB"
[ "$POOLS" = true ] && say "at the end: $POOL_END"
say "distinct addresses: $distinct of $N"
say "DEL of all $N (8 at a time): $DEL_S s, $fails failed, $left attachment rows left"
[ "$POOLS" = true ] && say "$SETTLE"
say "elapsed before teardown: $(now "$START") s (lib.sh teardown of $N namespaces follows)"
[ "$fails" = 0 ] && [ "$left" = 0 ] || die "clean-up DEL: $fails failed, $left rows left"
