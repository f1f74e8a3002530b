#!/bin/bash
# Backend "neutron" behind a real Keystone (scripts/keystone.sh) with
# neutron-server validating tokens: kuryrd logs in with a password
# (upstream Kuryr's [neutron] keys) and finds Neutron in the catalog, its
# ports land in the token's project; a token is renewed before it expires
# and again when Neutron refuses it (revoked); an application credential,
# a token (auth_type token) and a clouds.yaml entry (OS_CLOUD) work the
# same; wrong credentials stop
# kuryrd with one line that names the user and never the secret.
KEYSTONE=true
BACKEND=neutron
# Tokens live 75 s: kuryrd renews them 60 s early, so within the test.
export KEYSTONE_TOKEN_EXPIRATION=75
. "$(dirname "$0")/lib.sh"
env_up

metric() {
	hostns python3 -c '
import sys, urllib.request
for l in urllib.request.urlopen("http://127.0.0.1:9655/metrics", timeout=5).read().decode().splitlines():
    if l.startswith(sys.argv[1] + " "):
        print(l.split()[1])' "$1"
}
# ks METHOD PATH [JSON]: Keystone's answer, as admin.
ks() {
	hostns python3 -c '
import json, sys, urllib.request
r = urllib.request.Request(sys.argv[5] + sys.argv[2], method=sys.argv[1],
                           data=sys.argv[3].encode() or None,
                           headers={"Content-Type": "application/json", "X-Auth-Token": sys.argv[4]})
body = urllib.request.urlopen(r, timeout=10).read()
print(json.dumps(json.loads(body)) if body else "{}")' "$1" "$2" "${3:-}" "$(os_token admin)" "$KS_URL"
}
# add_ok NAME: ADD container NAME (a new pod) and check it works.
add_ok() {
	pod "$1"
	cni ADD "$P-$1" eth0 "$NSPATH" "$C"
	check_eq "$2" 0 "$RC"
	[ "$RC" = 0 ] || echo "$OUT" | diag
}

check "kuryrctl network create through Keystone" ctl network create knet --subnet 10.63.0.0/24
C=$(netconf knet)
add_ok c1 "ADD with password authentication (Neutron from the catalog)"
port=$(nq GET "/ports?device_id=$P-c1" | jq1 '["ports"][0]')
check_eq "the port is ACTIVE and in the token's project" "ACTIVE $KURYR_PROJECT_ID" \
	"$(jq1 '["status"]' <<<"$port") $(jq1 '["project_id"]' <<<"$port")"
check_eq "one token for everything so far" 1 "$(metric kuryr_neutron_token_fetches_total)"

# Expiry: a 75 s token is renewed 60 s early; past that, the next request
# fetches a new one instead of being refused.
sleep 16
add_ok c2 "ADD after the token's renewal time"
check_eq "kuryrd renewed its token before it expired" 2 "$(metric kuryr_neutron_token_fetches_total)"

# Revocation: disabling and enabling user kuryr revokes its tokens; Neutron
# then refuses kuryrd's cached one (401) and kuryrd logs in again.
ks PATCH "/users/$KURYR_USER_ID" '{"user":{"enabled":false}}' >/dev/null
ks PATCH "/users/$KURYR_USER_ID" '{"user":{"enabled":true}}' >/dev/null
sleep 2 # neutron-server's validation cache (token_cache_time = 1)
add_ok c3 "ADD after kuryrd's token was revoked"
check_eq "kuryrd fetched a new token on Neutron's 401" 3 "$(metric kuryr_neutron_token_fetches_total)"
for i in 1 2 3; do
	cni DEL "$P-c$i" eth0 "/run/netns/$P-c$i" "$C"
done
check_eq "DEL of the three containers" 0 \
	"$(nq GET "/ports?device_owner=compute:kuryr" | jq1 '["ports"].__len__()')"

# An application credential instead of a password.
stop_kuryrd
printf '[neutron]\nauth_type = v3applicationcredential\napplication_credential_id = %s\napplication_credential_secret = %s\n' \
	"$AC_ID" "$AC_SECRET" >>"$T/kuryr.conf"
start_kuryrd
add_ok a1 "ADD with an application credential"
check_eq "... in the credential's project" "$KURYR_PROJECT_ID" \
	"$(nq GET "/ports?device_id=$P-a1" | jq1 '["ports"][0]["project_id"]')"
cni DEL "$P-a1" eth0 "/run/netns/$P-a1" "$C"

# A token someone else got (auth_type token), rescoped to the project.
stop_kuryrd
printf '[neutron]\nauth_type = token\ntoken = %s\nproject_name = %s\n' \
	"$(os_token kuryr)" "$KURYR_PROJECT" >>"$T/kuryr.conf"
start_kuryrd
add_ok t1 "ADD with auth_type token"
check_eq "... in the token's project" "$KURYR_PROJECT_ID" \
	"$(nq GET "/ports?device_id=$P-t1" | jq1 '["ports"][0]["project_id"]')"
cni DEL "$P-t1" eth0 "/run/netns/$P-t1" "$C"

# clouds.yaml, as the openstack CLI reads it, named by OS_CLOUD; kuryr.conf
# [neutron] keeps no credentials.
stop_kuryrd
"$SRC/scripts/keystone.sh" clouds-yaml "$RUN" kuryr-test >"$T/clouds.yaml"
python3 - "$T/kuryr.conf" <<-'PY'
	import re, sys
	text = open(sys.argv[1]).read()
	# Drop every [neutron] section; clouds.yaml brings the credentials.
	text = re.sub(r"^\[neutron\]\n(?:(?!\[).*\n)*", "", text, flags=re.M)
	open(sys.argv[1], "w").write(text)
PY
check "kuryr.conf has no [neutron] credentials left" test -z "$(grep -E '^(password|username|application_credential)' "$T/kuryr.conf")"
export OS_CLOUD=kuryr-test OS_CLIENT_CONFIG_FILE=$T/clouds.yaml
start_kuryrd
add_ok y1 "ADD with credentials from clouds.yaml (OS_CLOUD)"
cni DEL "$P-y1" eth0 "/run/netns/$P-y1" "$C"
stop_kuryrd
unset OS_CLOUD OS_CLIENT_CONFIG_FILE

# Wrong credentials: kuryrd refuses to start, with one line that says what
# and names the user, and never shows the password.
cp "$T/kuryr.conf" "$T/bad.conf"
printf '[neutron]\nauth_type = password\nauth_url = %s\nusername = %s\npassword = not-the-secret-42\nproject_name = %s\n' \
	"$KS_URL" "$KURYR_USER" "$KURYR_PROJECT" >>"$T/bad.conf"
hostns timeout 20 "$KURYRD_BIN" -c "$T/bad.conf" >"$T/bad.out" 2>&1
rc=$?
check "wrong password: kuryrd exits non-zero (not killed by the timeout)" \
	test "$rc" != 0 -a "$rc" != 124
check "... saying Keystone refused user kuryr" grep -q "refused the credentials of user \"$KURYR_USER\"" "$T/bad.out"
check_eq "... without the password anywhere" "" "$(grep -l 'not-the-secret-42' "$T/bad.out")"
diag <"$T/bad.out"
cp "$T/kuryr.conf" "$T/bad.conf"
printf '[neutron]\nauth_type = token\nauth_url = %s\ntoken = gAAAAA-not-a-token-42\nproject_name = %s\n' \
	"$KS_URL" "$KURYR_PROJECT" >>"$T/bad.conf"
hostns timeout 20 "$KURYRD_BIN" -c "$T/bad.conf" >"$T/bad.out" 2>&1
rc=$?
check "a token Keystone refuses: kuryrd exits non-zero, saying so" \
	test "$rc" != 0 -a "$rc" != 124 -a -n "$(grep 'refused the token' "$T/bad.out")"
check_eq "... without the token anywhere" "" "$(grep -l 'not-a-token-42' "$T/bad.out")"
