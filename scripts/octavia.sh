#!/bin/bash
# A real Octavia (Debian's, OpenStack Zed) with the OVN provider driver, no
# amphorae: octavia-driver-agent (with the ovn provider agent) and
# octavia-api, noauth, on top of the neutron-server that scripts/neutron.sh
# started. OVN itself balances: the provider writes NB Load_Balancer rows
# onto the network's switch and router. For backend "neutron"'s load
# balancer tests.
#
#   scripts/octavia.sh up   DIR [NETNS] [PORT]   after "scripts/neutron.sh up DIR NETNS"
#   scripts/octavia.sh down DIR
#
# The API listens on 127.0.0.1:PORT (default 19876) inside NETNS; ready when
# it lists provider "ovn". It uses its own database ("octavia") in
# scripts/neutron.sh's MariaDB (DIR/mysql/sock), Neutron at
# 127.0.0.1:NEUTRON_PORT (default 19696) and scripts/ovn.sh's NB and SB
# sockets in DIR/ovn. Everything else lives in DIR/octavia; "down" stops
# what "up" started, by pid, and removes DIR/octavia.
#
# Without Keystone every request is admin, and a load balancer create must
# name its project (X-Project-Id or "project_id" in the body).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:-}
D=${2:?usage: $0 up DIR [NETNS] [PORT] | down DIR}
NS=${3:-}
PORT=${4:-19876}
NEUTRON_PORT=${NEUTRON_PORT:-19696}
O=$D/octavia
PY=/usr/bin/python3 # Debian's, where the octavia modules are (not a pyenv's)

write_conf() {
	mkdir -p "$O/run" "$O/lock"
	cat >"$O/octavia.conf" <<-CONF
		[DEFAULT]
		log_file = $O/octavia.log
		debug = false
		[api_settings]
		bind_host = 127.0.0.1
		bind_port = $PORT
		auth_strategy = noauth
		# A DictOpt: a description in quotes would keep them.
		enabled_provider_drivers = ovn:Octavia OVN driver
		default_provider_driver = ovn
		[database]
		connection = mysql+pymysql://root@localhost/octavia?unix_socket=$D/mysql/sock&charset=utf8
		[controller_worker]
		# The API checks VIP and member subnets in Neutron through this
		# driver; it loads a compute driver too, and nova is not here.
		network_driver = allowed_address_pairs_driver
		compute_driver = compute_noop_driver
		[networking]
		# Else the API reads networks again with the request's token,
		# and noauth has none.
		allow_invisible_resource_usage = true
		[neutron]
		endpoint = http://127.0.0.1:$NEUTRON_PORT
		[service_auth]
		# keystoneauth1's "none" plugin: Octavia and the ovn provider
		# talk to the noauth neutron-server directly.
		auth_type = none
		endpoint = http://127.0.0.1:$NEUTRON_PORT
		[ovn]
		ovn_nb_connection = unix:$D/ovn/nb.sock
		ovn_sb_connection = unix:$D/ovn/sb.sock
		[driver_agent]
		status_socket_path = $O/run/status.sock
		stats_socket_path = $O/run/stats.sock
		get_socket_path = $O/run/get.sock
		# The ovn provider agent: health check events (SB
		# Service_Monitor) and load balancers onto routers added later.
		enabled_provider_agents = ovn
		provider_agent_shutdown_timeout = 5
		[oslo_concurrency]
		lock_path = $O/lock
	CONF
	# The ovn provider makes octavia-lib's DriverLibrary with its built-in
	# socket paths (/var/run/octavia/*.sock), whatever [driver_agent]
	# says: point those defaults at ours before anything makes one (the
	# driver agent's forked children inherit it).
	cat >"$O/launch.py" <<-'PY'
		import sys
		from octavia_lib.api.drivers import driver_lib
		run, what = sys.argv.pop(1), sys.argv.pop(1)
		driver_lib.DriverLibrary.__init__.__defaults__ = tuple(
		    "%s/%s.sock" % (run, s) for s in ("status", "stats", "get"))
		if what == "api":
		    from octavia.cmd.api import main  # wsgiref, on bind_host:bind_port
		else:
		    from octavia.cmd.driver_agent import main
		sys.argv[0] = "octavia-" + what
		sys.exit(main())
	PY
}

providers() { run curl -s --max-time 2 "http://127.0.0.1:$PORT/v2/lbaas/providers" 2>/dev/null; }

up() {
	[ -S "$D/mysql/sock" ] || { echo "octavia.sh: no MariaDB at $D/mysql/sock (scripts/neutron.sh up first)" >&2; exit 1; }
	[ -x /usr/bin/octavia-db-manage ] || { echo "octavia.sh: Octavia is not installed (scripts/deps.sh)" >&2; exit 1; }
	mkdir -p "$O"
	write_conf
	mariadb --no-defaults -S "$D/mysql/sock" -uroot \
		-e 'DROP DATABASE IF EXISTS octavia; CREATE DATABASE octavia CHARACTER SET utf8mb4'
	octavia-db-manage --config-file "$O/octavia.conf" upgrade head >"$O/db-manage.log" 2>&1 ||
		{ tail -5 "$O/db-manage.log" >&2; exit 1; }
	# The driver agent first: the API's ovn driver waits for its sockets
	# (some 2 minutes) and then exits with "Provider 'ovn' was not found".
	run_bg "$O/agent.pid" "$PY" "$O/launch.py" "$O/run" driver-agent \
		--config-file "$O/octavia.conf" >>"$O/agent.out" 2>&1
	for _ in $(seq 300); do
		[ -S "$O/run/status.sock" ] && [ -S "$O/run/stats.sock" ] && [ -S "$O/run/get.sock" ] &&
			grep -q 'OVN provider agent has started' "$O/octavia.log" 2>/dev/null && break
		alive "$(cat "$O/agent.pid")" || { tail -20 "$O/agent.out" "$O/octavia.log" >&2; exit 1; }
		sleep 0.1
	done
	[ -S "$O/run/status.sock" ] || { echo "octavia.sh: the driver agent made no sockets" >&2; exit 1; }
	run_bg "$O/api.pid" "$PY" "$O/launch.py" "$O/run" api \
		--config-file "$O/octavia.conf" >>"$O/api.out" 2>&1
	for _ in $(seq 600); do
		providers | grep -q '"ovn"' && break
		alive "$(cat "$O/api.pid")" || { tail -20 "$O/api.out" "$O/octavia.log" >&2; exit 1; }
		sleep 0.1
	done
	providers | grep -q '"ovn"' || { echo "octavia.sh: octavia-api did not answer on $PORT" >&2; exit 1; }
	# The driver agent's children (status, stats and get listeners, the
	# ovn provider agent), for "down".
	cat /proc/"$(cat "$O/agent.pid")"/task/*/children >"$O/agent.children" 2>/dev/null || true
}

down() {
	local pids="" p
	[ -d "$O" ] || return 0
	# The API, the driver agent and its children (recorded at "up", and
	# as they are now) at once: TERM, up to 5 s, then KILL, by pid.
	for p in api agent; do [ -f "$O/$p.pid" ] && pids="$pids $(cat "$O/$p.pid")"; done
	[ -f "$O/agent.pid" ] &&
		pids="$pids $(cat /proc/"$(cat "$O/agent.pid")"/task/*/children 2>/dev/null || true)"
	pids="$pids $(cat "$O/agent.children" 2>/dev/null || true)"
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for _ in $(seq 100); do
		for p in $pids; do alive "$p" && break; done
		alive "$p" || break
		sleep 0.05
	done
	for p in $pids; do alive "$p" && kill -9 "$p" 2>/dev/null; done
	if [ -S "$D/mysql/sock" ]; then
		mariadb --no-defaults -S "$D/mysql/sock" -uroot -e 'DROP DATABASE IF EXISTS octavia' 2>/dev/null || true
	fi
	rm -rf "$O"
}

case "$cmd" in
up) up ;;
down) down ;;
*)
	echo "usage: $0 up DIR [NETNS] [PORT] | down DIR" >&2
	exit 2
	;;
esac
