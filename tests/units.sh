#!/bin/bash
# The shipped systemd unit: it starts this build's kuryrd with the
# installed configuration, and systemd finds nothing to complain of in it
# (systemd-analyze verify, with ExecStart pointed at the built binary).
# TAP.
unit=$1 kuryrd=$2 sbindir=$3 sysconfdir=$4
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
want="ExecStart=$sbindir/kuryrd -c $sysconfdir/kuryr/kuryr.conf"
if grep -qxF "$want" "$unit"; then ok "ExecStart runs the installed kuryrd on the installed kuryr.conf"
else not_ok "ExecStart: want $want, got $(grep ^ExecStart "$unit")"; fi
if ! command -v systemd-analyze >/dev/null; then
	echo "ok $((n + 1)) # SKIP systemd-analyze is not installed"
	n=$((n + 1))
else
	d=$(mktemp -d)
	sed "s|^ExecStart=[^ ]*|ExecStart=$kuryrd|" "$unit" >"$d/kuryrd.service"
	out=$(systemd-analyze verify --man=no "$d/kuryrd.service" 2>&1 | grep -F kuryrd.service)
	if [ -z "$out" ]; then ok "systemd-analyze verify: nothing to say of kuryrd.service"
	else not_ok "systemd-analyze verify: $out"; fi
	rm -rf "$d"
fi
echo "1..$n"
[ "$failed" = 0 ]
