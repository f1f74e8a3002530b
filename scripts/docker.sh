#!/bin/bash
# Install, start and stop a private dockerd (Debian's docker.io, 20.10), for
# the tests of kuryrd as Docker's libnetwork remote network and IPAM driver.
#
#   scripts/docker.sh install               docker.io and busybox-static, if missing
#   scripts/docker.sh up    DIR NETNS       dockerd in NETNS on DIR, image kuryr-busybox
#   scripts/docker.sh down  DIR             containers and networks removed, dockerd
#                                           stopped, whatever it left killed, DIR removed
#   scripts/docker.sh stop  DIR             SIGTERM dockerd (SIGKILL after 30 s)
#   scripts/docker.sh kill  DIR             SIGKILL dockerd alone: its containerd,
#                                           shims and containers stay
#   scripts/docker.sh start DIR NETNS       dockerd again on DIR (after stop or kill)
#   scripts/docker.sh cli   DIR ARGS...     the docker CLI against it
#   scripts/docker.sh plugin-dir DIR        where a plugin's socket goes (NAME.sock)
#
# NETNS is an existing network namespace (the tests': their "host", where
# Open vSwitch and kuryrd run); docker's own devices, bridges and container
# namespaces stay in it. dockerd runs there in a mount namespace of its own,
# with DIR/run bound on /run, DIR/opt on /opt and DIR/etc-docker on
# /etc/docker: 20.10 writes to those whatever its roots say (the plugin
# directory /run/docker/plugins, containerd's shim sockets in
# /run/containerd, /opt/containerd, /etc/docker/key.json). So a plugin's
# socket is DIR/run/docker/plugins/NAME.sock from outside, the path docker
# looks up for driver NAME; the directory exists from "up" on, so the
# plugin may start first. DIR/run is a directory, not a tmpfs, so that a
# dockerd started after a kill finds the old shims' sockets.
#
# No iptables, no default bridge, no forwarding or masquerading set up by
# docker; cgroupfs with a parent of DIR's own (kuryr-docker-<DIR's path>) in
# every hierarchy, so that down finds every container by its cgroup. DIR
# must be absolute and not under /run, /opt or /etc.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DOCKER=/usr/bin/docker # the package's client: another may come first on PATH
IMAGE=kuryr-busybox

cmd=${1:-}
usage() {
	echo "usage: $0 install | up|start DIR NETNS | down|stop|kill|plugin-dir DIR | cli DIR ARGS..." >&2
	exit 2
}

# docker.io's postinst would start dockerd and containerd (apt_install
# keeps it from that).
install() { apt_install docker.sh docker.io busybox-static; }

[ "$cmd" = install ] && { install; exit 0; }
[ $# -ge 2 ] || usage
D=$(realpath -m "$2")
NS=${3:-}
case "$D" in
/run | /run/* | /opt | /opt/* | /etc | /etc/* | /) echo "docker.sh: DIR must not be $D" >&2; exit 2 ;;
esac
CG=kuryr-docker$(tr -c 'A-Za-z0-9' - <<<"$D" | sed 's/-*$//')
export DOCKER_CONFIG=$D/cli # the CLI's own files, not root's ~/.docker

dkr() { "$DOCKER" -H "unix://$D/docker.sock" "$@"; }
dockerd_pid() { local p; [ -s "$D/dockerd.pid" ] && p=$(cat "$D/dockerd.pid") && alive "$p" && echo "$p"; }

start() {
	[ -n "$NS" ] || usage
	[ -e "/run/netns/$NS" ] || { echo "docker.sh: no network namespace $NS" >&2; exit 1; }
	[ -x /usr/sbin/dockerd ] || { echo "docker.sh: no /usr/sbin/dockerd (scripts/docker.sh install)" >&2; exit 1; }
	dockerd_pid >/dev/null && return 0
	mkdir -p "$D"/{data,exec,opt,etc-docker,cli} "$D/run/docker/plugins"
	# The libtrust key 20.10 writes to /etc/docker/key.json has no flag.
	printf '{"deprecated-key-path": "%s/key.json"}\n' "$D" >"$D/daemon.json"
	# Without forwarding in NETNS every docker run warns: --ip-forward=false
	# only keeps dockerd from setting it.
	[ "$(nsenter --net="/run/netns/$NS" cat /proc/sys/net/ipv4/ip_forward)" = 1 ] ||
		nsenter --net="/run/netns/$NS" sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'
	# A containerd that died with a killed dockerd leaves its pid file;
	# while that pid is a zombie not yet reaped, dockerd takes it for a
	# running containerd and waits for its socket, in vain.
	containerd_gone
	# nsenter, not ip netns exec: that mounts a /sys of its own, without
	# the cgroup hierarchies dockerd needs.
	rm -f "$D/dockerd.pid"
	# shellcheck disable=SC2016 # expanded by the inner sh
	setsid nsenter --net="/run/netns/$NS" unshare -m --propagation private sh -c '
		D=$1 CG=$2
		mount --bind "$D/run" /run && mount --bind "$D/opt" /opt &&
			mount --bind "$D/etc-docker" /etc/docker || exit 1
		exec /usr/sbin/dockerd --config-file "$D/daemon.json" \
			--data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/dockerd.pid" \
			-H "unix://$D/docker.sock" --iptables=false --ip6tables=false --bridge=none \
			--ip-forward=false --ip-masq=false --exec-opt native.cgroupdriver=cgroupfs \
			--cgroup-parent="/$CG" --shutdown-timeout=2' sh "$D" "$CG" \
		>>"$D/dockerd.log" 2>&1 </dev/null &
	local pid=$!
	# 60 s: with a network of a plugin that does not answer, dockerd's API
	# comes up only after 15 s of activation retries.
	for _ in $(seq 600); do
		dkr version >/dev/null 2>&1 && return 0
		alive "$pid" || break
		sleep 0.1
	done
	echo "docker.sh: dockerd did not answer on $D/docker.sock; the end of $D/dockerd.log:" >&2
	tail -n 15 "$D/dockerd.log" >&2
	kill -9 "$pid" 2>/dev/null || true
	exit 1
}

# A tiny image: busybox-static and its applets, once per DIR.
image() {
	dkr image inspect "$IMAGE" >/dev/null 2>&1 && return 0
	local r=$D/rootfs a
	rm -rf "$r"
	mkdir -p "$r"/{bin,etc,proc,sys,dev,tmp}
	cp /bin/busybox "$r/bin/busybox"
	for a in $("$r/bin/busybox" --list); do [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"; done
	tar -C "$r" -cf "$D/rootfs.tar" .
	rm -rf "$r"
	dkr import --change 'CMD ["/bin/sh"]' "$D/rootfs.tar" "$IMAGE" >/dev/null
}

# containerd_gone: wait (5 s) until the containerd of the last dockerd on
# DIR is no more (it gets a SIGKILL when its dockerd dies), then drop its
# pid file.
containerd_gone() {
	local f=$D/exec/containerd/containerd.pid pid
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
	alive "$pid" || rm -f "$f"
}

# stop_dockerd SIGNAL: the signal to dockerd, and wait for it to go (30 s,
# then SIGKILL): with running containers its shutdown stops them first.
stop_dockerd() {
	local pid
	pid=$(dockerd_pid) || return 0
	kill -"$1" "$pid" 2>/dev/null || return 0
	for _ in $(seq 300); do alive "$pid" || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
	for _ in $(seq 50); do alive "$pid" || return 0; sleep 0.1; done
}

# leftovers: the pids of what docker started and may have left behind: the
# members of its cgroups (containers), and containerd and its shims (of
# every dockerd that ran on DIR: their command lines name DIR's paths).
leftovers() {
	local f p exe
	for f in /sys/fs/cgroup/*/"$CG"; do
		[ -d "$f" ] && find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null
	done
	for f in /proc/[0-9]*; do
		p=${f#/proc/}
		exe=$(readlink "$f/exe" 2>/dev/null) || continue
		case "${exe##*/}" in dockerd | containerd | containerd-shim* | docker-proxy | runc) ;; *) continue ;; esac
		tr '\0' '\n' <"$f/cmdline" 2>/dev/null | grep -q "^$D/" && echo "$p"
	done
	return 0
}

down() {
	local p left ids
	if dkr version >/dev/null 2>&1; then
		# Removed before dockerd stops, so that a plugin gets every
		# endpoint's and every network's teardown; bounded, in case it
		# does not answer.
		mapfile -t ids < <(dkr ps -aq)
		[ ${#ids[@]} -eq 0 ] ||
			timeout 60 "$DOCKER" -H "unix://$D/docker.sock" rm -f "${ids[@]}" >/dev/null 2>&1 || true
		timeout 60 "$DOCKER" -H "unix://$D/docker.sock" network prune -f >/dev/null 2>&1 || true
	fi
	stop_dockerd TERM
	for _ in $(seq 50); do
		left=$(leftovers | sort -u)
		[ -z "$left" ] && break
		for p in $left; do kill -9 "$p" 2>/dev/null || true; done
		sleep 0.1
	done
	[ -z "$left" ] || echo "docker.sh: processes left behind: $left" >&2
	# Emptied, the cgroups go (deepest first); a task just killed may hold
	# one for a moment.
	for _ in $(seq 50); do
		for p in /sys/fs/cgroup/*/"$CG"; do
			[ -d "$p" ] && find "$p" -depth -type d -exec rmdir {} + 2>/dev/null
		done
		compgen -G "/sys/fs/cgroup/*/$CG" >/dev/null || break
		sleep 0.1
	done
	if compgen -G "/sys/fs/cgroup/*/$CG" >/dev/null; then
		echo "docker.sh: cgroups left behind: $(compgen -G "/sys/fs/cgroup/*/$CG" | tr '\n' ' ')" >&2
	fi
	rm -rf "$D"
	[ -z "$left" ]
}

case "$cmd" in
up) start && image ;;
start) start ;;
stop) stop_dockerd TERM ;;
kill) stop_dockerd KILL && containerd_gone ;;
down) down ;;
cli) shift 2 && dkr "$@" ;;
plugin-dir) echo "$D/run/docker/plugins" ;;
*) usage ;;
esac
