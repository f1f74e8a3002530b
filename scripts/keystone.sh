#!/bin/bash
# A real Keystone (Debian's, OpenStack Zed) for tests that run neutron-server
# with auth_strategy = keystone: its own MariaDB with a private data
# directory, fernet tokens, keystone-wsgi-public, and the accounts the
# neutron backend's tests use.
#
#   scripts/keystone.sh up    DIR [NETNS] [PORT]   before "scripts/neutron.sh up"
#   scripts/keystone.sh down  DIR
#   scripts/keystone.sh token DIR [admin|kuryr]    print a project-scoped token
#   scripts/keystone.sh clouds-yaml DIR CLOUD      print a clouds.yaml with
#                                                  user kuryr as cloud CLOUD
#
# Keystone listens on 127.0.0.1:PORT (default 15000) inside NETNS; all its
# files live in DIR/keystone, its database in DIR/keystone/mysql, so it
# starts and stops independently of scripts/neutron.sh. Ready when a
# password token is issued. Then it provisions:
#   - service "neutron" (type network), endpoints public/internal/admin at
#     $NEUTRON_URL (default http://127.0.0.1:19696) in RegionOne;
#   - project kuryr; user kuryr/kuryrpw, roles member and admin on it
#     (Neutron lets only admins bind a port to a host); application
#     credential kuryr-ac/acsecret of user kuryr; admin has role admin on it;
#   - project service; user neutron/neutronpw, role admin on it (for
#     neutron-server's [keystone_authtoken]).
# and writes DIR/keystone/env (shell) with the URL, names, ids and secrets.
# Env: KEYSTONE_TOKEN_EXPIRATION in seconds (default 3600).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cmd=${1:-}
D=${2:?usage: $0 up|down|token|clouds-yaml DIR [NETNS] [PORT]}
NS=${3:-}
PORT=${4:-15000}
K=$D/keystone
M=$K/mysql
URL=http://127.0.0.1:$PORT/v3
ADMIN_PASSWORD=secret

# OpenStack is Debian's python3 (the scripts' shebang); python3 on PATH
# may be another build without its modules.
PY=/usr/bin/python3

# manage ARGS...: keystone-manage on our config (it logs to keystone.log).
manage() {
	run "$PY" /usr/bin/keystone-manage --config-file "$K/keystone.conf" "$@" \
		>"$K/log/manage-$1.out" 2>&1 || fail "keystone-manage $1 failed" "$K/log/keystone.log"
}

# fail MESSAGE LOG: say what failed, show the end of its log, stop. Zed's
# keystone warns about bcrypt's 72-byte limit at every password check:
# leave that out.
fail() {
	echo "keystone.sh: $1 (log: $2)" >&2
	grep -v 'Truncating password' "$2" 2>/dev/null | tail -n 20 >&2 || true
	exit 1
}

# provision: one Python run for every REST call (no jq here); prints the
# env file's variable lines.
provision() {
	run "$PY" - "$URL" "$ADMIN_PASSWORD" "${NEUTRON_URL:-http://127.0.0.1:19696}" <<-'PY'
		import json, sys, urllib.request
		url, admin_pw, neutron_url = sys.argv[1:4]

		def call(method, path, token=None, body=None):
		    req = urllib.request.Request(url + path, method=method,
		                                 data=json.dumps(body).encode() if body else None)
		    req.add_header("Content-Type", "application/json")
		    if token:
		        req.add_header("X-Auth-Token", token)
		    with urllib.request.urlopen(req, timeout=30) as r:
		        data = r.read()
		        return r.headers, json.loads(data) if data else None

		def token(auth, project):
		    body = {"auth": {"identity": auth,
		                     "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
		    return call("POST", "/auth/tokens", body=body)[0]["X-Subject-Token"]

		def password(user, pw):
		    return {"methods": ["password"],
		            "password": {"user": {"name": user, "domain": {"id": "default"}, "password": pw}}}

		def create(kind, body, token, path=None):
		    return call("POST", path or "/" + kind + "s", token, {kind: body})[1][kind]["id"]

		def first(kind, name, token):
		    return call("GET", "/" + kind + "s?name=" + name, token)[1][kind + "s"][0]["id"]

		t = token(password("admin", admin_pw), "admin")
		svc = create("service", {"type": "network", "name": "neutron"}, t)
		for iface in ("public", "internal", "admin"):
		    create("endpoint", {"service_id": svc, "interface": iface,
		                        "region_id": "RegionOne", "url": neutron_url}, t)
		member, admin = first("role", "member", t), first("role", "admin", t)
		admin_id, admin_project = first("user", "admin", t), first("project", "admin", t)
		kuryr_project = create("project", {"name": "kuryr", "domain_id": "default"}, t)
		service_project = create("project", {"name": "service", "domain_id": "default"}, t)
		kuryr = create("user", {"name": "kuryr", "domain_id": "default", "password": "kuryrpw",
		                        "default_project_id": kuryr_project}, t)
		neutron = create("user", {"name": "neutron", "domain_id": "default",
		                          "password": "neutronpw"}, t)
		# kuryr also needs admin there, as upstream Kuryr's service user
		# does: Neutron's policy lets only admins set binding:host_id.
		for project, user, role in ((kuryr_project, kuryr, member),
		                            (kuryr_project, kuryr, admin),
		                            (kuryr_project, admin_id, admin),
		                            (service_project, neutron, admin)):
		    call("PUT", "/projects/%s/users/%s/roles/%s" % (project, user, role), t)
		# Only its owner may create an application credential.
		kt = token(password("kuryr", "kuryrpw"), "kuryr")
		ac = create("application_credential", {"name": "kuryr-ac", "secret": "acsecret"}, kt,
		            "/users/%s/application_credentials" % kuryr)
		for k, v in (("KS_ADMIN_USER_ID", admin_id), ("KS_ADMIN_PROJECT_ID", admin_project),
		             ("KURYR_PROJECT_ID", kuryr_project), ("KURYR_USER_ID", kuryr),
		             ("SERVICE_PROJECT_ID", service_project), ("NEUTRON_USER_ID", neutron),
		             ("AC_ID", ac), ("NEUTRON_SERVICE_ID", svc)):
		    print("%s=%s" % (k, v))
	PY
}

case "$cmd" in
up)
	[ -e "$K" ] && { echo "keystone.sh: $K exists; run '$0 down $D' first" >&2; exit 1; }
	[[ ${KEYSTONE_TOKEN_EXPIRATION:-3600} =~ ^[0-9]+$ ]] ||
		{ echo "keystone.sh: KEYSTONE_TOKEN_EXPIRATION is seconds, not $KEYSTONE_TOKEN_EXPIRATION" >&2; exit 2; }
	run "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null &&
		{ echo "keystone.sh: 127.0.0.1:$PORT${NS:+ in $NS} is taken" >&2; exit 1; }
	mkdir -p "$M" "$K/log"
	mariadb-install-db --no-defaults --datadir="$M/data" --user=root \
		--auth-root-authentication-method=normal --skip-test-db >"$M/install.log" 2>&1 ||
		fail "mariadb-install-db failed" "$M/install.log"
	run_bg "$M/pid" /usr/sbin/mariadbd --no-defaults --datadir="$M/data" --user=root --skip-networking \
		--socket="$M/sock" --pid-file="$M/mariadbd.pidfile" --log-error="$M/err.log" \
		--innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
		--innodb-flush-log-at-trx-commit=0 --skip-log-bin --character-set-server=utf8mb4 \
		--collation-server=utf8mb4_general_ci >"$M/out.log" 2>&1
	cat >"$K/keystone.conf" <<-CONF
		[DEFAULT]
		log_file = $K/log/keystone.log
		[database]
		connection = mysql+pymysql://root@localhost/keystone?unix_socket=$M/sock&charset=utf8
		[token]
		provider = fernet
		expiration = ${KEYSTONE_TOKEN_EXPIRATION:-3600}
		[fernet_tokens]
		key_repository = $K/fernet-keys
		[fernet_receipts]
		key_repository = $K/fernet-keys
		[credential]
		key_repository = $K/credential-keys
		[identity]
		# bcrypt cost 4 instead of 12, set before bootstrap hashes the
		# first password: a password token in ~15 ms instead of ~0.5 s.
		password_hash_rounds = 4
		[cache]
		# In-process cache: without it every validation runs hundreds of queries.
		enabled = true
		backend = dogpile.cache.memory
	CONF
	# Each keystone-manage spends ~3.5 s importing keystone: overlap what
	# does not depend on each other. The key repositories need no database.
	manage fernet_setup --keystone-user root --keystone-group root &
	fernet=$!
	manage credential_setup --keystone-user root --keystone-group root &
	credential=$!
	for _ in $(seq 200); do
		mariadb --no-defaults -S "$M/sock" -uroot -e 'select 1' >/dev/null 2>&1 && break
		alive "$(cat "$M/pid")" || fail "MariaDB exited" "$M/err.log"
		sleep 0.05
	done
	mariadb --no-defaults -S "$M/sock" -uroot -e 'CREATE DATABASE keystone CHARACTER SET utf8mb4' ||
		fail "MariaDB did not start" "$M/err.log"
	manage db_sync
	# The pbr-generated script serves with wsgiref (one request at a time),
	# which is plenty for tests; it reads its config file from the env. It
	# imports while bootstrap runs and is asked nothing before bootstrap ends.
	run_bg "$K/pid" env OS_KEYSTONE_CONFIG_FILES="$K/keystone.conf" \
		"$PY" /usr/bin/keystone-wsgi-public --host 127.0.0.1 --port "$PORT" >"$K/log/wsgi.log" 2>&1
	manage bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
		--bootstrap-admin-url "$URL" --bootstrap-internal-url "$URL" \
		--bootstrap-public-url "$URL" --bootstrap-region-id RegionOne
	wait "$fernet"
	wait "$credential"
	for i in $(seq 300); do
		ks_token "$URL" admin "$ADMIN_PASSWORD" admin >/dev/null 2>"$K/log/ready.err" && break
		alive "$(cat "$K/pid")" || fail "keystone-wsgi-public exited" "$K/log/wsgi.log"
		if [ "$i" = 300 ]; then
			tail -n 1 "$K/log/ready.err" >&2
			fail "no token from $URL after 30 s" "$K/log/wsgi.log"
		fi
		sleep 0.1
	done
	ids=$(provision 2>"$K/log/provision.log") || fail "provisioning failed" "$K/log/provision.log"
	cat >"$K/env" <<-ENV
		KS_URL=$URL
		KS_NETNS=$NS
		KS_REGION=RegionOne
		KS_ADMIN_USER=admin
		KS_ADMIN_PASSWORD=$ADMIN_PASSWORD
		KS_ADMIN_PROJECT=admin
		KURYR_USER=kuryr
		KURYR_PASSWORD=kuryrpw
		KURYR_PROJECT=kuryr
		NEUTRON_USER=neutron
		NEUTRON_PASSWORD=neutronpw
		SERVICE_PROJECT=service
		AC_NAME=kuryr-ac
		AC_SECRET=acsecret
		$ids
	ENV
	;;
token)
	# shellcheck source=/dev/null
	. "$K/env"
	NS=$KS_NETNS
	case "${3:-admin}" in
	admin) ks_token "$KS_URL" "$KS_ADMIN_USER" "$KS_ADMIN_PASSWORD" "$KS_ADMIN_PROJECT" ;;
	kuryr) ks_token "$KS_URL" "$KURYR_USER" "$KURYR_PASSWORD" "$KURYR_PROJECT" ;;
	*) echo "usage: $0 token DIR [admin|kuryr]" >&2; exit 2 ;;
	esac
	;;
clouds-yaml)
	# shellcheck source=/dev/null
	. "$K/env"
	cat <<-YAML
		clouds:
		  ${3:?usage: $0 clouds-yaml DIR CLOUD}:
		    auth:
		      auth_url: $KS_URL
		      username: $KURYR_USER
		      password: $KURYR_PASSWORD
		      project_name: $KURYR_PROJECT
		      user_domain_name: Default
		      project_domain_name: Default
		    region_name: $KS_REGION
		    interface: public
	YAML
	;;
down)
	stop_pid "$K/pid"
	stop_pid "$M/pid"
	rm -rf "$K"
	;;
*)
	echo "usage: $0 up|down|token|clouds-yaml DIR [NETNS] [PORT]" >&2
	exit 2
	;;
esac
