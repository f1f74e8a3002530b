# Sourced by scripts/ovn.sh, neutron.sh and keystone.sh: running daemons inside
# an optional network namespace ($NS), stopping them by pid file, and
# asking Keystone for a token.

# run CMD...: in $NS when set. nsenter switches only the network namespace
# (ip netns exec would also give the daemon a private mount namespace).
run() { if [ -n "${NS:-}" ]; then nsenter --net=/run/netns/"$NS" "$@"; else "$@"; fi; }

# run_bg PIDFILE CMD...: CMD in the background in $NS; PIDFILE gets CMD's own
# pid (nsenter execs it), not a subshell's that a kill would leave it behind.
run_bg() {
	local pidfile=$1
	shift
	if [ -n "${NS:-}" ]; then set -- nsenter --net=/run/netns/"$NS" "$@"; fi
	"$@" &
	echo $! >"$pidfile"
}

# alive PID: running, and not a zombie (where nothing reaps, an exited
# daemon stays one, and kill -0 still succeeds on it).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# stop_pid PIDFILE: TERM, wait up to 5 s, then KILL.
stop_pid() {
	local pid
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	kill "$pid" 2>/dev/null || { rm -f "$1"; return 0; }
	for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$1"
}

# ks_token URL USER PASSWORD PROJECT: print a Keystone token for USER
# scoped to PROJECT (all in domain Default), asked from inside $NS.
ks_token() {
	run /usr/bin/python3 - "$@" <<-'PY'
		import json, sys, urllib.request
		url, user, password, project = sys.argv[1:5]
		dom = {"id": "default"}
		body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
		    "name": user, "domain": dom, "password": password}}},
		    "scope": {"project": {"name": project, "domain": dom}}}}
		req = urllib.request.Request(url + "/auth/tokens", json.dumps(body).encode(),
		                             {"Content-Type": "application/json"})
		with urllib.request.urlopen(req, timeout=10) as r:
		    print(r.headers["X-Subject-Token"])
	PY
}

# deps_and_build: what a walk-through needs first, from the checkout's
# top: Debian packages (scripts/deps.sh), then build/ (Meson + Ninja).
deps_and_build() {
	scripts/deps.sh
	[ -d build ] || meson setup build >/dev/null
	ninja -C build >/dev/null
}

# apt_install WHO PKG...: those of the Debian packages PKG not installed
# yet, from the archive; WHO names the caller on stderr. Where systemd
# runs, packages are kept from starting their own daemons (OVS, OVN,
# dockerd): Kuryr-C starts private instances.
apt_install() {
	local who=$1 p missing=()
	shift
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "$who: installing ${missing[*]}" >&2
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q \
		--no-install-recommends "${missing[@]}" >/dev/null
}
