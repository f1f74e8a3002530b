# Sourced by scripts/ovn.sh and scripts/neutron.sh: running daemons inside
# an optional network namespace ($NS) and stopping them by pid file.

# run CMD...: in $NS when set. nsenter switches only the network namespace
# (ip netns exec would also give the daemon a private mount namespace).
run() { if [ -n "${NS:-}" ]; then nsenter --net=/run/netns/"$NS" "$@"; else "$@"; fi; }

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
