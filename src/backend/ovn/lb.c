/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": load balancers as OVN's own Load_Balancer rows.
 *
 * Mapping:
 *   load balancer -> a Load_Balancer row with no VIPs that holds its name,
 *                    id, network and VIP (kuryr:lb_kind "lb"); a switch
 *                    port without addresses holds the VIP (kuryr:ip, so no
 *                    port is given it as a fixed address), and the
 *                    switch's exclude_ips keeps ovn-northd's IPAM off it.
 *   pool          -> a Load_Balancer row (kuryr:lb_kind "pool"): vips
 *                    {"VIP:PORT": "IP:P,IP:P"}, its protocol, the hash of
 *                    Octavia's SOURCE_IP_PORT (selection_fields), reject
 *                    while it has no members; on the network's switch,
 *                    the network's router and the router's other
 *                    switches, so that clients there reach it too (a
 *                    switch's load balancer works on what enters it).
 *                    The router's port answers ARP for the VIP.
 *   member        -> an "IP:P" of the pool's VIP entry, its owner in
 *                    external_ids kuryr:member:IP:P.
 *   floating IP   -> as ovn-octavia-provider does it: a second entry in
 *                    each pool's vips, "FIP:PORT" to the same members, done
 *                    where the router's gateway is (a NAT to the VIP would
 *                    bypass the load balancer: the VIP's switch does not
 *                    balance what comes from the router). fip.c keeps its
 *                    NAT row and address as for any port.
 *   health check  -> a Load_Balancer_Health_Check row on the pool, and in
 *                    ip_port_mappings each member's port and the address
 *                    OVN probes it from: one address per network, held
 *                    like the VIP, named in the switch's kuryr:lb_probe_ip.
 *                    ovn-northd leaves the members that fail out; their
 *                    health is the Southbound's Service_Monitor status.
 *
 * Every change that reads a row to rewrite it waits in its transaction
 * for the row to be as read; a caller that loses the race reads again. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "ovn-private.h"

#define LB_KIND	     "kuryr:lb_kind" /* "lb" or "pool" */
#define LB_ID	     "kuryr:lb_id"
#define LB_NET	     "kuryr:lb_network" /* the switch's _uuid */
#define LB_NET_NAME  "kuryr:lb_network_name"
#define LB_VIP	     "kuryr:lb_vip"
#define LB_VIP_PORT  "kuryr:lb_vip_port"
#define LB_PROJECT   "kuryr:project"
#define LB_FIP	     "kuryr:lb_fip" /* the VIP's floating IP, on the lb and its pools */
#define POOL_ID	     "kuryr:lb_pool_id"
#define POOL_PORT    "kuryr:lb_port"
#define POOL_MPORT   "kuryr:lb_member_port"
#define POOL_CHECK   "kuryr:lb_check" /* "tcp", "udp-connect"; absent: none */
#define POOL_DELAY   "kuryr:lb_delay" /* the check's, in seconds */
#define POOL_TIMEOUT "kuryr:lb_timeout"
#define POOL_RETRIES "kuryr:lb_max_retries"
#define MEMBER_KEY   "kuryr:member:"
#define LS_PROBE_IP  "kuryr:lb_probe_ip"
#define LB_RETRIES   8 /* a change that lost a race is tried again */
#define MAX_MEMBERS  256
#define MEMBER_LEN   64

static json_t *ext_cond(const char *k1, const char *v1, const char *k2, const char *v2)
{
	return ovsdb_cond("external_ids", "includes",
			  ovsdb_string_map((const char *const[]){ k1, v1, k2, v2, NULL }));
}

/* A wait that @col of row @uuid of @table is still @value. */
static json_t *op_wait_col(const char *table, const char *uuid, const char *col, json_t *value)
{
	return json_pack("{s:s, s:s, s:o, s:[s], s:s, s:[{s:O}], s:i}", "op", "wait", "table",
			 table, "where", ovn_where_uuid(uuid), "columns", col, "until",
			 "==", "rows", col, value, "timeout", 0);
}

/* The one row of kind @kind whose id (@id_key) or name is @ref. */
static int find_kind(struct ovn_backend *ob, const char *kind, const char *id_key, const char *ref,
		     const char *what, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *rows;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:[o]}, {s:s, s:s, s:[o, [s, s, s]]}]", "op",
				   "select", "table", "Load_Balancer", "where",
				   ext_cond(LB_KIND, kind, id_key, ref), "op", "select", "table",
				   "Load_Balancer", "where", ext_cond(LB_KIND, kind, NULL, NULL),
				   "name", "==", ref),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows_of_two(res);
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "%s \"%s\" does not exist", what, ref);
		return -ENOENT;
	}
	if (json_array_size(rows) > 1) {
		set_errmsg(reterr_msg, "more than one %s is named \"%s\"; use an id", what, ref);
		return -ENOTUNIQ;
	}
	*ret = json_incref(json_array_get(rows, 0));
	return 0;
}

static int find_lb(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	return find_kind(ob, "lb", LB_ID, ref, "load balancer", ret, reterr_msg);
}

static int find_pool(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	return find_kind(ob, "pool", POOL_ID, ref, "pool", ret, reterr_msg);
}

/* The pool rows of load balancer @lb_id, a new array. */
static int pools_of(struct ovn_backend *ob, const char *lb_id, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:[o]}]", "op", "select", "table", "Load_Balancer",
				   "where", ext_cond(LB_KIND, "pool", LB_ID, lb_id)),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	*ret = json_incref(ovn_first_rows(res));
	return 0;
}

/* ---- members, as a pool's VIP entry lists them ---- */

struct members {
	char m[MAX_MEMBERS][MEMBER_LEN]; /* "IP:P" */
	unsigned n;
};

/* The VIP entry of pool row @pool: "VIP:PORT". */
static void pool_vip_key(json_t *pool, char *out, size_t size)
{
	snprintf(out, size, "%s:%s", ovn_ext_of(pool, LB_VIP) ?: "",
		 ovn_ext_of(pool, POOL_PORT) ?: "");
}

static void members_read(json_t *pool, struct members *ms)
{
	char key[80];
	const char *v;
	_cleanup_free_ char *copy = NULL;
	char *save = NULL;

	ms->n = 0;
	pool_vip_key(pool, key, sizeof(key));
	v = ovsdb_map_get(json_object_get(pool, "vips"), key);
	if (!v || !(copy = strdup(v)))
		return;
	for (char *t = strtok_r(copy, ",", &save); t && ms->n < MAX_MEMBERS;
	     t = strtok_r(NULL, ",", &save))
		str_copy(ms->m[ms->n++], t, MEMBER_LEN);
}

static char *members_join(const struct members *ms)
{
	size_t len = 1;
	char *s;

	for (unsigned i = 0; i < ms->n; i++)
		len += strlen(ms->m[i]) + 1;
	s = calloc(1, len);
	for (unsigned i = 0; s && i < ms->n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, ms->m[i]);
	}
	return s;
}

/* "IP:P" of @m, or -1. */
static int members_find(const struct members *ms, const char *m)
{
	for (unsigned i = 0; i < ms->n; i++)
		if (streq(ms->m[i], m))
			return (int)i;
	return -1;
}

/* The member of @ms that @ref (an "IP:P" or an "IP") names, into @out. */
static int member_resolve(json_t *pool, const struct members *ms, const char *ref,
			  char out[MEMBER_LEN], char **reterr_msg)
{
	size_t len = strlen(ref);
	int found = -1;

	if (members_find(ms, ref) >= 0) {
		str_copy(out, ref, MEMBER_LEN);
		return 0;
	}
	for (unsigned i = 0; i < ms->n; i++)
		if (strncmp(ms->m[i], ref, len) == 0 && ms->m[i][len] == ':') {
			if (found >= 0) {
				set_errmsg(reterr_msg,
					   "pool %s has %s on more than one port; give IP:PORT",
					   json_object_get_str(pool, "name") ?: "?", ref);
				return -ENOTUNIQ;
			}
			found = (int)i;
		}
	if (found < 0) {
		set_errmsg(reterr_msg, "pool %s has no member %s",
			   json_object_get_str(pool, "name") ?: "?", ref);
		return -ENOENT;
	}
	str_copy(out, ms->m[found], MEMBER_LEN);
	return 0;
}

/* ---- JSON for callers ---- */

/* The Southbound's Service_Monitor rows, or NULL without a Southbound. */
static json_t *service_monitors(struct ovn_backend *ob)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *err = NULL;

	if (!ob->sb ||
	    ovsdb_session_transact(ob->sb,
				   json_pack("[{s:s, s:s, s:[], s:[s, s, s, s]}]", "op", "select",
					     "table", "Service_Monitor", "where", "columns", "ip",
					     "port", "protocol", "status"),
				   NB_TIMEOUT_MS, &res, &err) < 0)
		return NULL;
	return json_incref(ovn_first_rows(res));
}

/* What the Southbound says of member "IP:P" of a @proto pool. */
static const char *member_health(json_t *monitors, const char *proto, const char *member)
{
	const char *colon = strrchr(member, ':');
	size_t i;
	json_t *m;

	if (!colon)
		return "unknown";
	json_array_foreach(monitors, i, m) {
		const char *ip = json_object_get_str(m, "ip") ?: "";
		const char *p = NULL, *status = NULL;

		ovsdb_datum_strings(json_object_get(m, "protocol"), &p, 1);
		ovsdb_datum_strings(json_object_get(m, "status"), &status, 1);
		if (strlen(ip) != (size_t)(colon - member) || strncmp(ip, member, strlen(ip)) ||
		    json_integer_value(json_object_get(m, "port")) != atoi(colon + 1) ||
		    !streq(p ? p : "tcp", proto ? proto : "tcp"))
			continue;
		return status && (streq(status, "online") || streq(status, "offline")) ? status
										       : "unknown";
	}
	return "unknown";
}

static json_t *pool_json(json_t *pool, json_t *monitors)
{
	const char *check = ovn_ext_of(pool, POOL_CHECK);
	const char *proto = NULL;
	struct members *ms = calloc(1, sizeof(*ms));
	json_t *o, *members, *opts = NULL;
	size_t i;

	if (!ms)
		return NULL;
	ovsdb_datum_strings(json_object_get(pool, "protocol"), &proto, 1);
	members_read(pool, ms);
	members = json_array();
	for (i = 0; i < ms->n; i++) {
		char key[MEMBER_LEN + 16];
		const char *colon = strrchr(ms->m[i], ':');
		_cleanup_free_ char *ip = strndup(ms->m[i], colon ? (size_t)(colon - ms->m[i]) : 0);

		snprintf(key, sizeof(key), MEMBER_KEY "%s", ms->m[i]);
		json_array_append_new(
		    members,
		    json_pack("{s:s, s:s?, s:i, s:s, s:s}", "id", ms->m[i], "address", ip, "port",
			      colon ? atoi(colon + 1) : 0, "owner", ovn_ext_of(pool, key) ?: "",
			      "health", check ? member_health(monitors, proto, ms->m[i]) : ""));
	}
	if (check)
		opts = json_pack("{s:s, s:i, s:i, s:i}", "type", check, "delay",
				 atoi(ovn_ext_of(pool, POOL_DELAY) ?: "0"), "timeout",
				 atoi(ovn_ext_of(pool, POOL_TIMEOUT) ?: "0"), "max_retries",
				 atoi(ovn_ext_of(pool, POOL_RETRIES) ?: "0"));
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:o, s:o}", "id",
		      ovn_ext_of(pool, POOL_ID) ?: "", "name",
		      json_object_get_str(pool, "name") ?: "", "loadbalancer",
		      ovn_ext_of(pool, LB_ID) ?: "", "protocol", proto ? proto : "tcp", "port",
		      atoi(ovn_ext_of(pool, POOL_PORT) ?: "0"), "member_port",
		      atoi(ovn_ext_of(pool, POOL_MPORT) ?: "0"), "check", opts ? opts : json_null(),
		      "members", members);
	free(ms);
	return o;
}

static json_t *lb_json(json_t *lb, json_t *pools, json_t *monitors)
{
	json_t *o, *arr = json_array();
	size_t i;
	json_t *p;

	json_array_foreach(pools, i, p)
		json_array_append_new(arr, pool_json(p, monitors));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "id", ovn_ext_of(lb, LB_ID) ?: "",
		      "name", json_object_get_str(lb, "name") ?: "", "network",
		      ovn_ext_of(lb, LB_NET_NAME) ?: "", "vip", ovn_ext_of(lb, LB_VIP) ?: "",
		      "vip_port", ovn_ext_of(lb, LB_VIP_PORT) ?: "", "status", "ACTIVE",
		      "operating_status", "ONLINE", "pools", arr);
	return o;
}

/* ---- where a pool's row goes: switches and router ---- */

struct targets {
	char lr[UUID_STR_LEN]; /* "" without a router */
	json_t *switches;      /* uuid strings */
};

static int targets_of(struct ovn_backend *ob, const char *ls_uuid, struct targets *t,
		      char **reterr_msg)
{
	_cleanup_json_ json_t *lr = NULL, *res = NULL;
	size_t i;
	json_t *row;
	int r;

	t->lr[0] = 0;
	t->switches = json_pack("[s]", ls_uuid);
	r = ovn_router_of_network(ob, ls_uuid, &lr, reterr_msg);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	str_copy(t->lr, ovn_uuid_of(lr), sizeof(t->lr));
	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:[o]}]", "op", "select", "table",
				   "Logical_Switch_Port", "where",
				   ext_cond(EXT_R_ID, ovn_ext_of(lr, EXT_R_ID) ?: "", NULL, NULL)),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(ovn_first_rows(res), i, row) {
		const char *ls = ovn_ext_of(row, EXT_ROUTED);
		bool seen = false;
		size_t k;
		json_t *s;

		json_array_foreach(t->switches, k, s)
			seen = seen || (ls && streq(json_string_value(s), ls));
		if (ls && !seen)
			json_array_append_new(t->switches, json_string(ls));
	}
	return 0;
}

/* Ops: add (@add) or remove pool rows @refs (an array of uuid datums) to
 * or from the load_balancer column of @t's switches and router. */
static void targets_ops(const struct targets *t, bool add, json_t *refs, json_t *ops)
{
	size_t i;
	json_t *s;

	json_array_foreach(t->switches, i, s)
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:[[s, s, [s, O]]]}", "op",
						     "mutate", "table", "Logical_Switch", "where",
						     ovn_where_uuid(json_string_value(s)),
						     "mutations", "load_balancer",
						     add ? "insert" : "delete", "set", refs));
	if (*t->lr)
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:o, s:[[s, s, [s, O]]]}", "op", "mutate", "table",
				   "Logical_Router", "where", ovn_where_uuid(t->lr), "mutations",
				   "load_balancer", add ? "insert" : "delete", "set", refs));
}

/* Ops: the rows @refs off every switch and router, wherever they were put
 * (a router's switches may have changed since). */
static void detach_all_ops(json_t *refs, json_t *ops)
{
	static const char *const tables[] = { "Logical_Switch", "Logical_Router" };

	for (size_t i = 0; i < ELEMENTSOF(tables); i++)
		json_array_append_new(ops,
				      json_pack("{s:s, s:s, s:[], s:[[s, s, [s, O]]]}", "op",
						"mutate", "table", tables[i], "where", "mutations",
						"load_balancer", "delete", "set", refs));
}

json_t *ovn_lb_probe_ip_wait_op(const char *ls_uuid, const char *ip)
{
	return json_pack("{s:s, s:s, s:[o, o], s:[s], s:s, s:[], s:i}", "op", "wait", "table",
			 "Logical_Switch", "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(ls_uuid)),
			 ext_cond(LS_PROBE_IP, ip, NULL, NULL), "columns", "name", "until",
			 "==", "rows", "timeout", 0);
}

int ovn_lb_router_switch_ops(struct ovn_backend *ob, json_t *lr, const char *ls_uuid, bool join,
			     json_t *ops, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *pools = json_object_get(lr, "load_balancer");
	int r;

	if (!join) {
		r = ovn_transact(ob,
				 json_pack("[{s:s, s:s, s:[o], s:[s]}]", "op", "select", "table",
					   "Load_Balancer", "where",
					   ext_cond(LB_KIND, "lb", LB_NET, ls_uuid), "columns",
					   "name"),
				 NB_TIMEOUT_MS, &res, reterr_msg);
		if (r < 0)
			return r;
		if (json_array_size(ovn_first_rows(res))) {
			set_errmsg(
			    reterr_msg,
			    "the network cannot leave router %s: load balancer %s has its "
			    "VIP on it (loadbalancer delete first)",
			    ovn_ext_of(lr, EXT_R_NAME) ?: "?",
			    json_object_get_str(json_array_get(ovn_first_rows(res), 0), "name")
				?: "?");
			return -EBUSY;
		}
	}
	/* A set of one is written as its one uuid. */
	if (!pools || (streq_ptr(json_string_value(json_array_get(pools, 0)), "set") &&
		       !json_array_size(json_array_get(pools, 1))))
		return 0;
	json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:[[s, s, O]]}", "op", "mutate",
					     "table", "Logical_Switch", "where",
					     ovn_where_uuid(ls_uuid), "mutations", "load_balancer",
					     join ? "insert" : "delete", pools));
	return 0;
}

/* ---- load balancers ---- */

int ovn_lb_create(struct backend *b, const struct lb_spec *spec, json_t **ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	char id[UUID_STR_LEN], vip_port[64], vip[48];
	int r = 0;

	if (!spec->net || !*spec->net->cidr) {
		set_errmsg(reterr_msg, "network %s has no IPv4 subnet for a VIP",
			   spec->net ? spec->net->name : spec->network);
		return -EINVAL;
	}
	uuid_random(id);
	snprintf(vip_port, sizeof(vip_port), "lb-vip-%s", id);
	for (int attempt = 0; attempt < LB_RETRIES; attempt++) {
		_cleanup_json_ json_t *ls = NULL, *res = NULL, *old = NULL;
		_cleanup_free_ char *err = NULL;
		json_t *ops;

		r = find_lb(ob, spec->name, &old, &err);
		if (r == 0) {
			set_errmsg(reterr_msg, "load balancer %s exists", spec->name);
			return -EEXIST;
		}
		if (r != -ENOENT) {
			set_errmsg(reterr_msg, "%s", err);
			return r;
		}
		r = ovn_find_switch(ob, spec->net->id, &ls, reterr_msg);
		if (r == -ENOENT)
			return -ESRCH;
		if (r < 0)
			return r;
		ops = json_array();
		r = ovn_extaddr_reserve(ob, ls, spec->vip, true, vip, ops, reterr_msg);
		if (r < 0) {
			json_decref(ops);
			return r;
		}
		/* No port may hold it as a fixed address, nor have it already. */
		json_array_append_new(ops,
				      json_pack("{s:s, s:s, s:[o], s:[s], s:s, s:[], s:i}", "op",
						"wait", "table", "Logical_Switch_Port", "where",
						ext_cond(EXT_IP, vip, NULL, NULL), "columns",
						"name", "until", "==", "rows", "timeout", 0));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:[o, [s, s, s]], s:[s], s:s, s:[], s:i}", "op",
				   "wait", "table", "Load_Balancer", "where",
				   ext_cond(LB_KIND, "lb", NULL, NULL), "name", "==", spec->name,
				   "columns", "name", "until", "==", "rows", "timeout", 0));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:{s:s, s:o}}", "op", "insert", "table",
				   "Load_Balancer", "row", "name", spec->name, "external_ids",
				   ovsdb_string_map((const char *const[]){
				       LB_KIND, "lb", LB_ID, id, LB_NET, spec->net->id, LB_NET_NAME,
				       spec->net->name, LB_VIP, vip, LB_VIP_PORT, vip_port,
				       LB_PROJECT, spec->project ? spec->project : "", NULL })));
		json_array_append_new(
		    ops,
		    json_pack("{s:s, s:s, s:s, s:{s:s, s:o}}", "op", "insert", "table",
			      "Logical_Switch_Port", "uuid-name", "vip", "row", "name", vip_port,
			      "external_ids",
			      ovsdb_string_map((const char *const[]){
				  EXT_IP, vip, LB_ID, id, LB_NET_NAME, spec->net->name, NULL })));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:o, s:[[s, s, [s, [o]]]]}", "op", "mutate", "table",
				   "Logical_Switch", "where", ovn_where_uuid(ovn_uuid_of(ls)),
				   "mutations", "ports", "insert", "set", ovsdb_named_uuid("vip")));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
		if (r == -ETIMEDOUT && spec->vip) {
			/* The switch changed, or the address was taken: which? */
			_cleanup_json_ json_t *again = NULL;
			char other[48];
			json_t *probe = json_array();

			r = ovn_find_switch(ob, spec->net->id, &again, reterr_msg);
			if (r == 0)
				r = ovn_extaddr_reserve(ob, again, spec->vip, true, other, probe,
							reterr_msg);
			json_decref(probe);
			if (r < 0)
				return r;
			continue;
		}
		if (r == -ETIMEDOUT)
			continue;
		if (r < 0)
			return r;
		return ovn_lb_get(b, id, ret, reterr_msg);
	}
	set_errmsg(reterr_msg, "network %s kept changing while its VIP was chosen",
		   spec->net->name);
	return -EAGAIN;
}

int ovn_lb_get(struct backend *b, const char *ref, json_t **ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *lb = NULL, *pools = NULL, *mon = NULL;
	int r;

	r = find_lb(ob, ref, &lb, reterr_msg);
	if (r == 0)
		r = pools_of(ob, ovn_ext_of(lb, LB_ID) ?: "", &pools, reterr_msg);
	if (r < 0)
		return r;
	mon = service_monitors(ob);
	*ret = lb_json(lb, pools, mon);
	return *ret ? 0 : -ENOMEM;
}

int ovn_lb_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *res = NULL, *mon = NULL;
	json_t *lbs, *pools, *out, *row;
	size_t i;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:[o]}, {s:s, s:s, s:[o]}]", "op", "select",
				   "table", "Load_Balancer", "where",
				   ext_cond(LB_KIND, "lb", NULL, NULL), "op", "select", "table",
				   "Load_Balancer", "where", ext_cond(LB_KIND, "pool", NULL, NULL)),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	lbs = json_object_get(json_array_get(res, 0), "rows");
	pools = json_object_get(json_array_get(res, 1), "rows");
	mon = service_monitors(ob);
	out = json_array();
	json_array_foreach(lbs, i, row) {
		_cleanup_json_ json_t *mine = json_array();
		size_t k;
		json_t *p;

		json_array_foreach(pools, k, p)
			if (streq(ovn_ext_of(p, LB_ID) ?: "", ovn_ext_of(row, LB_ID) ?: "-"))
				json_array_append(mine, p);
		json_array_append_new(out, lb_json(row, mine, mon));
	}
	*ret = out;
	return 0;
}

int ovn_lb_delete(struct backend *b, const char *ref, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	int r = 0;

	for (int attempt = 0; attempt < LB_RETRIES; attempt++) {
		_cleanup_json_ json_t *lb = NULL, *pools = NULL, *ls = NULL, *lsp = NULL;
		_cleanup_json_ json_t *res = NULL, *refs = json_array();
		const char *net;
		json_t *ops, *p;
		size_t i;

		r = find_lb(ob, ref, &lb, reterr_msg);
		/* Its floating IP first (the NAT row and the address). */
		if (r == 0 && ovn_ext_of(lb, LB_FIP)) {
			r = ovn_fip_drop_for_port(ob, ovn_ext_of(lb, LB_VIP_PORT) ?: "",
						  reterr_msg);
			json_decref(lb);
			lb = NULL;
			if (r == 0)
				r = find_lb(ob, ref, &lb, reterr_msg);
		}
		if (r == 0)
			r = pools_of(ob, ovn_ext_of(lb, LB_ID) ?: "", &pools, reterr_msg);
		if (r < 0)
			return r;
		ops = json_array();
		json_array_foreach(pools, i, p)
			json_array_append_new(refs, ovsdb_uuid(ovn_uuid_of(p)));
		json_array_append_new(refs, ovsdb_uuid(ovn_uuid_of(lb)));
		detach_all_ops(refs, ops);
		json_array_foreach(refs, i, p)
			json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "op", "delete",
							     "table", "Load_Balancer", "where",
							     ovn_where_uuid(ovsdb_datum_uuid(p))));
		/* The VIP goes back to the network. */
		net = ovn_ext_of(lb, LB_NET);
		if (net && ovn_find_switch(ob, net, &ls, NULL) == 0) {
			if (ovn_find_lsp(ob, ovn_ext_of(lb, LB_VIP_PORT) ?: "", &lsp, NULL) == 0)
				json_array_append_new(
				    ops,
				    json_pack("{s:s, s:s, s:o, s:[[s, s, [s, [o]]]]}", "op",
					      "mutate", "table", "Logical_Switch", "where",
					      ovn_where_uuid(ovn_uuid_of(ls)), "mutations", "ports",
					      "delete", "set", ovsdb_uuid(ovn_uuid_of(lsp))));
			ovn_extaddr_release(ls, ovn_ext_of(lb, LB_VIP) ?: "", ops);
		}
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
		if (r != -ETIMEDOUT)
			return r;
	}
	set_errmsg(reterr_msg, "load balancer %s kept changing while it was deleted", ref);
	return -EAGAIN;
}

/* ---- pools ---- */

static int pool_fields(const struct lb_pool_spec *spec, json_t **ret_fields, char **reterr_msg)
{
	const char *proto = spec->protocol ? spec->protocol : "";
	const char *alg = spec->algorithm ? spec->algorithm : "source-ip-port";

	if (!streq(proto, LB_PROTO_TCP) && !streq(proto, LB_PROTO_UDP) &&
	    !streq(proto, LB_PROTO_SCTP)) {
		set_errmsg(reterr_msg,
			   "OVN's load balancer works on layer 4: protocol %s is not tcp, udp "
			   "or sctp",
			   proto);
		return -EOPNOTSUPP;
	}
	if (streq(alg, "source-ip-port"))
		*ret_fields = ovsdb_string_set(
		    (const char *const[]){ "ip_dst", "ip_src", "tp_dst", "tp_src", NULL });
	else if (streq(alg, "source-ip"))
		*ret_fields = ovsdb_string_set((const char *const[]){ "ip_dst", "ip_src", NULL });
	else {
		set_errmsg(reterr_msg,
			   "OVN's load balancer hashes each connection: algorithm %s is not "
			   "source-ip-port or source-ip",
			   alg);
		return -EOPNOTSUPP;
	}
	if (spec->check && !((streq(spec->check, "tcp") && streq(proto, LB_PROTO_TCP)) ||
			     (streq(spec->check, "udp-connect") && streq(proto, LB_PROTO_UDP)))) {
		set_errmsg(reterr_msg,
			   "OVN checks a tcp pool's members with tcp and a udp pool's with "
			   "udp-connect: not %s on a %s pool",
			   spec->check, proto);
		json_decref(*ret_fields);
		*ret_fields = NULL;
		return -EOPNOTSUPP;
	}
	return 0;
}

int ovn_lb_pool_create(struct backend *b, const struct lb_pool_spec *spec, json_t **ret,
		       char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	char id[UUID_STR_LEN], key[80], fkey[80] = "", port[8], mport[8], delay[12], timeout[12],
					retries[12];
	_cleanup_json_ json_t *lb = NULL, *pools = NULL, *fields = NULL, *res = NULL;
	_cleanup_json_ json_t *existing = NULL;
	_cleanup_free_ char *err = NULL;
	struct targets t = { 0 };
	json_t *ops, *ext, *row, *p;
	size_t i;
	int r;

	r = pool_fields(spec, &fields, reterr_msg);
	if (r < 0)
		return r;
	r = find_lb(ob, spec->lb, &lb, reterr_msg);
	if (r == 0)
		r = pools_of(ob, ovn_ext_of(lb, LB_ID) ?: "", &pools, reterr_msg);
	if (r < 0)
		return r;
	r = find_pool(ob, spec->name, &existing, &err);
	if (r == 0 || r == -ENOTUNIQ) {
		set_errmsg(reterr_msg, "pool %s exists", spec->name);
		return -EEXIST;
	}
	if (r != -ENOENT) {
		set_errmsg(reterr_msg, "%s", err);
		return r;
	}
	snprintf(port, sizeof(port), "%u", spec->port);
	json_array_foreach(pools, i, p) {
		const char *pr = NULL;

		ovsdb_datum_strings(json_object_get(p, "protocol"), &pr, 1);
		if (streq(ovn_ext_of(p, POOL_PORT) ?: "", port) &&
		    streq(pr ? pr : LB_PROTO_TCP, spec->protocol)) {
			set_errmsg(reterr_msg, "%s port %u of load balancer %s is pool %s's",
				   spec->protocol, spec->port, json_object_get_str(lb, "name"),
				   json_object_get_str(p, "name") ?: "?");
			return -EEXIST;
		}
	}
	r = targets_of(ob, ovn_ext_of(lb, LB_NET) ?: "", &t, reterr_msg);
	if (r < 0)
		return r;

	uuid_random(id);
	snprintf(key, sizeof(key), "%s:%u", ovn_ext_of(lb, LB_VIP) ?: "", spec->port);
	snprintf(mport, sizeof(mport), "%u", spec->member_port ? spec->member_port : spec->port);
	snprintf(delay, sizeof(delay), "%u", spec->delay);
	snprintf(timeout, sizeof(timeout), "%u", spec->timeout);
	snprintf(retries, sizeof(retries), "%u", spec->max_retries);
	ext = ovsdb_string_map((const char *const[]){
	    LB_KIND, "pool", POOL_ID, id, LB_ID, ovn_ext_of(lb, LB_ID) ?: "", LB_VIP,
	    ovn_ext_of(lb, LB_VIP) ?: "", POOL_PORT, port, POOL_MPORT, mport, NULL });
	ops = json_array();
	json_array_append_new(ops, json_pack("{s:s, s:s, s:[o, [s, s, s]], s:[s], s:s, s:[], s:i}",
					     "op", "wait", "table", "Load_Balancer", "where",
					     ext_cond(LB_KIND, "pool", NULL, NULL), "name",
					     "==", spec->name, "columns", "name", "until",
					     "==", "rows", "timeout", 0));
	if (ovn_ext_of(lb, LB_FIP)) {
		snprintf(fkey, sizeof(fkey), "%s:%u", ovn_ext_of(lb, LB_FIP), spec->port);
		ovn_map_put(ext, LB_FIP, ovn_ext_of(lb, LB_FIP));
	}
	row = json_pack(
	    "{s:s, s:o, s:s, s:O, s:o, s:o}", "name", spec->name, "vips",
	    ovsdb_string_map((const char *const[]){ key, "", *fkey ? fkey : NULL, "", NULL }),
	    "protocol", spec->protocol, "selection_fields", fields, "options",
	    ovsdb_string_map((const char *const[]){ "reject", "true", NULL }), "external_ids", ext);
	if (spec->check) {
		char interval[12], fail[12];

		snprintf(interval, sizeof(interval), "%u", spec->delay ? spec->delay : 5);
		snprintf(fail, sizeof(fail), "%u", spec->max_retries ? spec->max_retries : 3);
		ovn_map_put(ext, POOL_CHECK, spec->check);
		ovn_map_put(ext, POOL_DELAY, interval);
		ovn_map_put(ext, POOL_TIMEOUT, spec->timeout ? timeout : "3");
		ovn_map_put(ext, POOL_RETRIES, fail);
		json_array_append_new(
		    ops,
		    json_pack("{s:s, s:s, s:s, s:{s:s, s:o}}", "op", "insert", "table",
			      "Load_Balancer_Health_Check", "uuid-name", "hc", "row", "vip", key,
			      "options",
			      ovsdb_string_map((const char *const[]){
				  "interval", interval, "timeout", spec->timeout ? timeout : "3",
				  "success_count", fail, "failure_count", fail, NULL })));
		json_object_set_new(row, "health_check", ovsdb_named_uuid("hc"));
	}
	json_array_append_new(ops, json_pack("{s:s, s:s, s:s, s:o}", "op", "insert", "table",
					     "Load_Balancer", "uuid-name", "pool", "row", row));
	{
		_cleanup_json_ json_t *refs = json_pack("[o]", ovsdb_named_uuid("pool"));

		targets_ops(&t, true, refs, ops);
	}
	json_decref(t.switches);
	/* A load balancer deleted meanwhile: nothing is made. */
	json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:[s], s:s, s:[{s:s}], s:i}", "op",
					     "wait", "table", "Load_Balancer", "where",
					     ovn_where_uuid(ovn_uuid_of(lb)), "columns", "name",
					     "until", "==", "rows", "name",
					     json_object_get_str(lb, "name"), "timeout", 0));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "pool %s was made, or load balancer %s deleted, meanwhile",
			   spec->name, spec->lb);
		return -EEXIST;
	}
	if (r < 0)
		return r;
	return ovn_lb_pool_get(b, id, ret, reterr_msg);
}

int ovn_lb_pool_get(struct backend *b, const char *ref, json_t **ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *pool = NULL, *mon = NULL;
	int r;

	r = find_pool(ob, ref, &pool, reterr_msg);
	if (r < 0)
		return r;
	mon = service_monitors(ob);
	*ret = pool_json(pool, mon);
	return *ret ? 0 : -ENOMEM;
}

int ovn_lb_pool_delete(struct backend *b, const char *ref, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *pool = NULL, *res = NULL, *refs = NULL;
	json_t *ops;
	int r;

	r = find_pool(ob, ref, &pool, reterr_msg);
	if (r < 0)
		return r;
	refs = json_pack("[o]", ovsdb_uuid(ovn_uuid_of(pool)));
	ops = json_array();
	detach_all_ops(refs, ops);
	json_array_append_new(ops,
			      json_pack("{s:s, s:s, s:o}", "op", "delete", "table", "Load_Balancer",
					"where", ovn_where_uuid(ovn_uuid_of(pool))));
	return ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
}

/* ---- members ---- */

static json_t *op_map_change(const char *table, const char *uuid, const char *col, const char *key,
			     const char *value)
{
	json_t *muts = json_pack("[[s, s, [s, [s]]]]", col, "delete", "set", key);

	if (value)
		json_array_append_new(
		    muts, json_pack("[s, s, o]", col, "insert",
				    ovsdb_string_map((const char *const[]){ key, value, NULL })));
	return json_pack("{s:s, s:s, s:o, s:o}", "op", "mutate", "table", table, "where",
			 ovn_where_uuid(uuid), "mutations", muts);
}

/* Ops: the VIP entry of @pool (and its floating IP's) becomes @ms, if the
 * pool's VIPs are still as read. */
static void members_ops(json_t *pool, const struct members *ms, json_t *ops)
{
	_cleanup_free_ char *value = members_join(ms);
	char key[80];

	json_array_append_new(ops, op_wait_col("Load_Balancer", ovn_uuid_of(pool), "vips",
					       json_object_get(pool, "vips")));
	pool_vip_key(pool, key, sizeof(key));
	json_array_append_new(ops, op_map_change("Load_Balancer", ovn_uuid_of(pool), "vips", key,
						 value ? value : ""));
	if (ovn_ext_of(pool, LB_FIP)) {
		snprintf(key, sizeof(key), "%s:%s", ovn_ext_of(pool, LB_FIP),
			 ovn_ext_of(pool, POOL_PORT) ?: "");
		json_array_append_new(ops, op_map_change("Load_Balancer", ovn_uuid_of(pool), "vips",
							 key, value ? value : ""));
	}
}

/* The address member probes on @net come from, held once per network. */
static int probe_ip(struct ovn_backend *ob, const struct kuryr_network *net, char out[48],
		    json_t *ops, char **reterr_msg)
{
	_cleanup_json_ json_t *ls = NULL;
	const char *have;
	int r;

	r = ovn_find_switch(ob, net->id, &ls, reterr_msg);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : r;
	have = ovn_ext_of(ls, LS_PROBE_IP);
	if (have) {
		str_copy(out, have, 48);
		return 0;
	}
	r = ovn_extaddr_reserve(ob, ls, NULL, true, out, ops, reterr_msg);
	if (r < 0)
		return r;
	json_array_append_new(ops, op_map_change("Logical_Switch", ovn_uuid_of(ls), "external_ids",
						 LS_PROBE_IP, out));
	return 0;
}

int ovn_lb_member_add(struct backend *b, const struct lb_member_spec *spec, json_t **ret,
		      char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	struct members *ms = calloc(1, sizeof(*ms));
	int r = 0;

	if (!ms)
		return -ENOMEM;
	if (strchr(spec->address, ':')) {
		set_errmsg(reterr_msg, "member %s: a pool's members are IPv4, as its VIP",
			   spec->address);
		free(ms);
		return -EOPNOTSUPP;
	}
	for (int attempt = 0; attempt < LB_RETRIES; attempt++) {
		_cleanup_json_ json_t *pool = NULL, *res = NULL;
		char m[MEMBER_LEN], mkey[MEMBER_LEN + 16], src[48];
		unsigned port;
		json_t *ops;

		r = find_pool(ob, spec->pool, &pool, reterr_msg);
		if (r < 0)
			break;
		port =
		    spec->port ? spec->port : (unsigned)atoi(ovn_ext_of(pool, POOL_MPORT) ?: "0");
		snprintf(m, sizeof(m), "%s:%u", spec->address, port);
		members_read(pool, ms);
		if (members_find(ms, m) >= 0) {
			set_errmsg(reterr_msg, "%s is a member of pool %s already", m,
				   json_object_get_str(pool, "name") ?: "?");
			r = -EEXIST;
			break;
		}
		if (ms->n == MAX_MEMBERS) {
			set_errmsg(reterr_msg, "pool %s has %u members, the most it takes",
				   json_object_get_str(pool, "name") ?: "?", MAX_MEMBERS);
			r = -EDQUOT;
			break;
		}
		str_copy(ms->m[ms->n++], m, MEMBER_LEN);
		ops = json_array();
		members_ops(pool, ms, ops);
		snprintf(mkey, sizeof(mkey), MEMBER_KEY "%s", m);
		json_array_append_new(ops, op_map_change("Load_Balancer", ovn_uuid_of(pool),
							 "external_ids", mkey,
							 spec->owner ? spec->owner : ""));
		if (ovn_ext_of(pool, POOL_CHECK) && spec->backend_port && spec->net) {
			_cleanup_free_ char *map = NULL;

			r = probe_ip(ob, spec->net, src, ops, reterr_msg);
			if (r < 0) {
				json_decref(ops);
				break;
			}
			map = strdup_printf("%s:%s", spec->backend_port, src);
			json_array_append_new(ops, op_map_change("Load_Balancer", ovn_uuid_of(pool),
								 "ip_port_mappings", spec->address,
								 map));
		}
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
		if (r == -ETIMEDOUT)
			continue;
		if (r == 0)
			*ret = json_pack("{s:s, s:s, s:i, s:s, s:s}", "id", m, "address",
					 spec->address, "port", port, "owner",
					 spec->owner ? spec->owner : "", "health",
					 ovn_ext_of(pool, POOL_CHECK) ? "unknown" : "");
		break;
	}
	free(ms);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "pool %s kept changing", spec->pool);
		return -EAGAIN;
	}
	return r;
}

int ovn_lb_member_remove(struct backend *b, const char *pool_ref, const char *member,
			 char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	struct members *ms = calloc(1, sizeof(*ms));
	int r = 0;

	if (!ms)
		return -ENOMEM;
	for (int attempt = 0; attempt < LB_RETRIES; attempt++) {
		_cleanup_json_ json_t *pool = NULL, *res = NULL;
		char m[MEMBER_LEN], mkey[MEMBER_LEN + 16], ip[MEMBER_LEN];
		bool ip_left = false;
		json_t *ops;
		int k;

		r = find_pool(ob, pool_ref, &pool, reterr_msg);
		if (r < 0)
			break;
		members_read(pool, ms);
		r = member_resolve(pool, ms, member, m, reterr_msg);
		if (r < 0)
			break;
		k = members_find(ms, m);
		memmove(ms->m[k], ms->m[k + 1], (ms->n - (unsigned)k - 1) * MEMBER_LEN);
		ms->n--;
		str_copy(ip, m, sizeof(ip));
		*strrchr(ip, ':') = 0;
		for (unsigned i = 0; i < ms->n; i++)
			ip_left = ip_left || (strncmp(ms->m[i], ip, strlen(ip)) == 0 &&
					      ms->m[i][strlen(ip)] == ':');
		ops = json_array();
		members_ops(pool, ms, ops);
		snprintf(mkey, sizeof(mkey), MEMBER_KEY "%s", m);
		json_array_append_new(ops, op_map_change("Load_Balancer", ovn_uuid_of(pool),
							 "external_ids", mkey, NULL));
		if (!ip_left)
			json_array_append_new(ops, op_map_change("Load_Balancer", ovn_uuid_of(pool),
								 "ip_port_mappings", ip, NULL));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
		if (r != -ETIMEDOUT)
			break;
	}
	free(ms);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "pool %s kept changing", pool_ref);
		return -EAGAIN;
	}
	return r;
}

/* ---- floating IPs on a VIP (fip.c) ---- */

int ovn_lb_vip_port(json_t *lsp, struct kuryr_port *p)
{
	const char *ip = ovn_ext_of(lsp, EXT_IP), *net = ovn_ext_of(lsp, LB_NET_NAME);

	if (!ovn_ext_of(lsp, LB_ID) || !ip || !net)
		return -ENOENT;
	*p = (struct kuryr_port){ 0 };
	str_copy(p->name, json_object_get_str(lsp, "name") ?: "", sizeof(p->name));
	str_copy(p->ip, ip, sizeof(p->ip));
	str_copy(p->network, net, sizeof(p->network));
	return 0;
}

int ovn_lb_fip_ops(struct ovn_backend *ob, json_t *lsp, const char *fip, json_t *ops,
		   char **reterr_msg)
{
	_cleanup_json_ json_t *lb = NULL, *pools = NULL;
	const char *lb_id = ovn_ext_of(lsp, LB_ID);
	size_t i;
	json_t *p;
	int r;

	if (!lb_id)
		return 0;
	r = find_lb(ob, lb_id, &lb, reterr_msg);
	if (r == 0)
		r = pools_of(ob, lb_id, &pools, reterr_msg);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	json_array_append_new(
	    ops, op_map_change("Load_Balancer", ovn_uuid_of(lb), "external_ids", LB_FIP, fip));
	json_array_foreach(pools, i, p) {
		char vkey[80], fkey[80];
		const char *old = ovn_ext_of(p, LB_FIP), *members;

		pool_vip_key(p, vkey, sizeof(vkey));
		members = ovsdb_map_get(json_object_get(p, "vips"), vkey);
		json_array_append_new(ops, op_wait_col("Load_Balancer", ovn_uuid_of(p), "vips",
						       json_object_get(p, "vips")));
		if (old) {
			snprintf(fkey, sizeof(fkey), "%s:%s", old, ovn_ext_of(p, POOL_PORT) ?: "");
			json_array_append_new(ops, op_map_change("Load_Balancer", ovn_uuid_of(p),
								 "vips", fkey, NULL));
		}
		json_array_append_new(ops, op_map_change("Load_Balancer", ovn_uuid_of(p),
							 "external_ids", LB_FIP, fip));
		if (fip) {
			snprintf(fkey, sizeof(fkey), "%s:%s", fip, ovn_ext_of(p, POOL_PORT) ?: "");
			json_array_append_new(ops,
					      op_map_change("Load_Balancer", ovn_uuid_of(p), "vips",
							    fkey, members ? members : ""));
		}
	}
	return 0;
}
