#!/bin/bash
# A real neutron-server (Debian's, OpenStack Zed) with ML2/OVN on top of the
# private OVN that scripts/ovn.sh started, MariaDB with a private data
# directory, noauth, no message bus. For the neutron backend's tests.
#
#   scripts/neutron.sh up   DIR [NETNS] [PORT]   after "scripts/ovn.sh up DIR NETNS"
#   scripts/neutron.sh down DIR
#   scripts/neutron.sh stop-server  DIR                 neutron-server only; the
#   scripts/neutron.sh start-server DIR [NETNS] [PORT]  config and database stay
#   scripts/neutron.sh stop-db  DIR                     MariaDB only; its data
#   scripts/neutron.sh start-db DIR                     stays
#
# NEUTRON_CONF_EXTRA (up, start-server): more neutron.conf lines for that
# start, e.g. $'[DEFAULT]\npagination_max_limit = 2'.
#
# The API listens on 127.0.0.1:PORT (default 19696) inside NETNS. Ready when
# the API answers and ML2/OVN sees a chassis as an alive agent (and, after
# "up", once a port could be made and deleted).
#
# Another OVN (up): NEUTRON_OVN_NB and NEUTRON_OVN_SB, ML2/OVN's
# ovn_nb_connection and ovn_sb_connection (default scripts/ovn.sh's sockets
# in DIR; a cluster's members comma-separated, e.g. scripts/multinode.sh's
# NB_REMOTES and SB_REMOTES); NEUTRON_BIND_HOST, the address the API
# listens on in NETNS (default 127.0.0.1), for clients in other namespaces.
#
# AUTH=keystone KS_URL=http://127.0.0.1:15000/v3 (after "scripts/keystone.sh
# up DIR NETNS"): auth_strategy = keystone instead of noauth; the service
# user is KS_SERVICE_USER/KS_SERVICE_PASSWORD (default neutron/neutronpw,
# project service), the readiness probe asks as admin/KS_ADMIN_PASSWORD.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:-}
D=${2:?usage: $0 up|down|stop-server|start-server|stop-db|start-db DIR [NETNS] [PORT]}
NS=${3:-}
PORT=${4:-19696}
M=$D/mysql
N=$D/neutron
AUTH=${AUTH:-noauth}

# MariaDB on its private data directory; ready when it answers.
start_db() {
	/usr/sbin/mariadbd --no-defaults --datadir="$M/data" --user=root --skip-networking \
		--socket="$M/sock" --pid-file="$M/mariadbd.pidfile" --log-error="$M/err.log" \
		--innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
		--innodb-flush-log-at-trx-commit=0 --skip-log-bin --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_general_ci >>"$M/out.log" 2>&1 &
	echo $! >"$M/pid"
	for _ in $(seq 200); do
		mariadb --no-defaults -S "$M/sock" -uroot -e 'select 1' >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "neutron.sh: MariaDB not ready after 10 s (log: $M/err.log)" >&2
	exit 1
}

# The first start of a new server is ready once it has made and deleted a
# port too: under load its first port create has been seen to fail with
# an HTTP 500 right after the agent check passed.
probe_port() {
	local ks token=
	ks=$(sed -n 's/^www_authenticate_uri = //p' "$N/neutron.conf")
	for _ in $(seq 40); do
		if [ -n "$ks" ]; then
			token=$(ks_token "$ks" admin "${KS_ADMIN_PASSWORD:-secret}" admin 2>/dev/null) || true
		fi
		run python3 - "$(api_host)" "$PORT" "$token" <<-'PY' 2>>"$N/probe.log" && return 0
			import json, sys, urllib.request
			base, token = "http://%s:%s/v2.0" % (sys.argv[1], sys.argv[2]), sys.argv[3]
			def call(method, path, body=None):
			    r = urllib.request.Request(base + path, method=method,
			                               data=json.dumps(body).encode() if body else None,
			                               headers={"Content-Type": "application/json"})
			    if token:
			        r.add_header("X-Auth-Token", token)
			    data = urllib.request.urlopen(r, timeout=10).read()
			    return json.loads(data) if data else None
			net = call("POST", "/networks", {"network": {"name": "neutron-sh-probe"}})["network"]
			try:
			    call("POST", "/subnets", {"subnet": {"network_id": net["id"], "ip_version": 4,
			                                         "cidr": "192.0.2.0/29"}})
			    port = call("POST", "/ports", {"port": {"network_id": net["id"]}})["port"]
			    call("DELETE", "/ports/" + port["id"])
			finally:
			    call("DELETE", "/networks/" + net["id"])
		PY
		sleep 0.5
	done
	echo "neutron.sh: neutron-server could not make a port (log: $N/probe.log, $N/neutron-server.log)" >&2
	exit 1
}

# The address the API listens on (neutron.conf's bind_host).
api_host() { sed -n 's/^bind_host = //p' "$N/neutron.conf"; }

# neutron-server with the configuration in $N; ready as described above.
start_server() {
	local extra=()
	# NEUTRON_CONF_EXTRA: more neutron.conf lines for this start only.
	if [ -n "${NEUTRON_CONF_EXTRA:-}" ]; then
		printf '%s\n' "$NEUTRON_CONF_EXTRA" >"$N/extra.conf"
		extra=(--config-file "$N/extra.conf")
	fi
	run /usr/bin/neutron-server --config-file "$N/neutron.conf" "${extra[@]}" \
		>>"$N/server.out" 2>&1 &
	echo $! >"$N/pid"
	# Behind Keystone (the config says so) the probe needs an admin token.
	local ks token=
	ks=$(sed -n 's/^www_authenticate_uri = //p' "$N/neutron.conf")
	for _ in $(seq 240); do
		if [ -n "$ks" ]; then
			token=$(ks_token "$ks" admin "${KS_ADMIN_PASSWORD:-secret}" admin 2>/dev/null) || true
		fi
		run python3 -c "
import json, sys, urllib.request
r = urllib.request.Request('http://$(api_host):$PORT/v2.0/agents')
if sys.argv[1]:
    r.add_header('X-Auth-Token', sys.argv[1])
a = json.load(urllib.request.urlopen(r, timeout=2))
sys.exit(0 if any(x['alive'] for x in a['agents']) else 1)" "$token" 2>/dev/null && return 0
		alive "$(cat "$N/pid")" || { tail -20 "$N/neutron-server.log" >&2; exit 1; }
		sleep 0.25
	done
	echo "neutron.sh: neutron-server not ready after 60 s (log: $N/neutron-server.log)" >&2
	exit 1
}

case "$cmd" in
up)
	case "$AUTH" in
	noauth) ;;
	keystone) : "${KS_URL:?AUTH=keystone needs KS_URL, e.g. http://127.0.0.1:15000/v3}" ;;
	*) echo "neutron.sh: AUTH is noauth or keystone, not $AUTH" >&2; exit 2 ;;
	esac
	mkdir -p "$M" "$N/state" "$N/lock"
	mariadb-install-db --no-defaults --datadir="$M/data" --user=root \
		--auth-root-authentication-method=normal --skip-test-db >"$M/install.log" 2>&1
	start_db
	mariadb --no-defaults -S "$M/sock" -uroot -e 'CREATE DATABASE neutron CHARACTER SET utf8mb4'
	cat >"$N/neutron.conf" <<-CONF
		[DEFAULT]
		bind_host = ${NEUTRON_BIND_HOST:-127.0.0.1}
		bind_port = $PORT
		auth_strategy = $AUTH
		core_plugin = ml2
		# ML2/OVN needs an L3 plugin loaded, and api_workers >= 1 to join OVN's hash ring.
		service_plugins = ovn-router,trunk,qos
		api_workers = 1
		rpc_workers = 0
		rpc_state_report_workers = 0
		transport_url = fake://
		notify_nova_on_port_status_changes = false
		notify_nova_on_port_data_changes = false
		dhcp_agent_notification = false
		state_path = $N/state
		api_paste_config = /etc/neutron/api-paste.ini
		log_file = $N/neutron-server.log
		[database]
		connection = mysql+pymysql://root@localhost/neutron?unix_socket=$M/sock&charset=utf8
		[oslo_concurrency]
		lock_path = $N/lock
		[ml2]
		type_drivers = local,flat,geneve
		tenant_network_types = geneve
		mechanism_drivers = ovn
		extension_drivers = port_security,qos,tag_ports_during_bulk_creation
		overlay_ip_version = 4
		# External networks for routers' gateways and floating IPs: flat, on
		# any physical network the nodes' bridge_mappings name.
		[ml2_type_flat]
		flat_networks = *
		[ml2_type_geneve]
		vni_ranges = 1:65536
		max_header_size = 38
		[securitygroup]
		enable_security_group = true
		[ovn]
		ovn_nb_connection = ${NEUTRON_OVN_NB:-unix:$D/ovn/nb.sock}
		ovn_sb_connection = ${NEUTRON_OVN_SB:-unix:$D/ovn/sb.sock}
		ovn_metadata_enabled = false
		neutron_sync_mode = off
	CONF
	if [ "$AUTH" = keystone ]; then
		# No memcached_servers: keystonemiddleware caches validations in
		# process for token_cache_time seconds. At the default 300 a revoked
		# token kept passing for ~300 s; at 1 it is refused within ~1 s.
		cat >>"$N/neutron.conf" <<-CONF
			[keystone_authtoken]
			www_authenticate_uri = $KS_URL
			auth_url = $KS_URL
			auth_type = password
			username = ${KS_SERVICE_USER:-neutron}
			password = ${KS_SERVICE_PASSWORD:-neutronpw}
			project_name = service
			user_domain_name = Default
			project_domain_name = Default
			region_name = RegionOne
			token_cache_time = 1
		CONF
	fi
	neutron-db-manage --config-file "$N/neutron.conf" upgrade heads >"$N/db-manage.log" 2>&1 ||
		{ tail -5 "$N/db-manage.log" >&2; exit 1; }
	start_server
	probe_port
	;;
start-server)
	start_server
	;;
stop-server)
	# neutron-server alone (tests: the API goes away mid-run).
	kids=$(cat /proc/"$(cat "$N/pid")"/task/*/children 2>/dev/null || true)
	stop_pid "$N/pid"
	for k in $kids; do kill -9 "$k" 2>/dev/null || true; done
	;;
stop-db)
	stop_pid "$M/pid"
	;;
start-db)
	start_db
	;;
down)
	if [ -f "$N/pid" ]; then
		# neutron-server forks its API worker: stop the children too, by pid.
		kids=$(cat /proc/"$(cat "$N/pid")"/task/*/children 2>/dev/null || true)
		stop_pid "$N/pid"
		for k in $kids; do kill -9 "$k" 2>/dev/null || true; done
	fi
	stop_pid "$M/pid"
	rm -rf "$M" "$N"
	;;
*)
	echo "usage: $0 up|down|stop-server|start-server|stop-db|start-db DIR [NETNS] [PORT]" >&2
	exit 2
	;;
esac
