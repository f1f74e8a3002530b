/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <stdio.h>

#include "bridge.h"
#include "driver.h"
#include "json-util.h"
#include "ovsdb/ovsdb.h"
#include "time-util.h"

#define VS	       "Open_vSwitch"
#define OVS_TIMEOUT_MS 10000

struct bridge_watch {
	struct bridge_watch *next;
	char ifname[16];
	bool installed;
};

struct bridge {
	struct ovsdb_session *db;
	char *name;
	pthread_mutex_t lock; /* guards watches */
	pthread_cond_t cond;
	struct bridge_watch *watches;
	bool userspace; /* datapath_type netdev: OVS forwards in userspace */
};

/* Reader thread: an Interface row changed. Wake whoever waits for it. */
static void on_update(void *userdata, const char *monitor_id, json_t *updates)
{
	struct bridge *br = userdata;
	json_t *rows = json_object_get(updates, "Interface");
	const char *uuid;
	json_t *change;
	bool woke = false;

	pthread_mutex_lock(&br->lock);
	json_object_foreach(rows, uuid, change) {
		json_t *row = json_object_get(change, "new");
		const char *name = json_object_get_str(row, "name");
		const char *inst =
		    ovsdb_map_get(json_object_get(row, "external_ids"), "ovn-installed");

		if (!name || !inst || !streq(inst, "true"))
			continue;
		for (struct bridge_watch *w = br->watches; w; w = w->next)
			if (streq(w->ifname, name) && !w->installed) {
				w->installed = true;
				woke = true;
			}
	}
	if (woke)
		pthread_cond_broadcast(&br->cond);
	pthread_mutex_unlock(&br->lock);
}

static int bridge_transact(struct bridge *br, json_t *ops, json_t **ret, char **reterr_msg)
{
	int r = ovsdb_session_transact(br->db, ops, OVS_TIMEOUT_MS, ret, reterr_msg);

	return r == -ECONNRESET ? -ENOTCONN : r;
}

int bridge_new(const char *db, const char *name, struct bridge **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	struct bridge *br = calloc(1, sizeof(*br));
	const char *dp_type;
	json_t *ops, *rows;
	int r;

	if (!br)
		return -ENOMEM;
	pthread_mutex_init(&br->lock, NULL);
	cond_init_monotonic(&br->cond);
	br->name = strdup(name);
	if (!br->name) {
		r = -ENOMEM;
		goto fail;
	}
	r = ovsdb_session_new(db, VS, &br->db, reterr_msg);
	if (r < 0)
		goto fail;
	ops = json_pack("[{s:s, s:s, s:[o], s:[s]}]", "op", "select", "table", "Bridge", "where",
			ovsdb_cond("name", "==", json_string(name)), "columns", "datapath_type");
	r = bridge_transact(br, ops, &res, reterr_msg);
	if (r < 0)
		goto fail;
	rows = json_object_get(json_array_get(res, 0), "rows");
	if (json_array_size(rows) != 1) {
		set_errmsg(reterr_msg, "bridge %s does not exist in %s", name, db);
		r = -ENOENT;
		goto fail;
	}
	dp_type = json_object_get_str(json_array_get(rows, 0), "datapath_type");
	br->userspace = dp_type && streq(dp_type, "netdev");
	r = ovsdb_session_monitor(br->db, "kuryr-interfaces",
				  json_pack("{s:{s:[s, s], s:{s:b, s:b, s:b, s:b}}}", "Interface",
					    "columns", "name", "external_ids", "select", "initial",
					    0, "insert", 1, "delete", 0, "modify", 1),
				  on_update, br, OVS_TIMEOUT_MS, reterr_msg);
	if (r < 0)
		goto fail;
	*ret = br;
	return 0;
fail:
	bridge_free(br);
	return r;
}

void bridge_free(struct bridge *br)
{
	if (!br)
		return;
	/* Stops the reader thread before the watch list goes away. */
	ovsdb_session_free(br->db);
	while (br->watches) {
		struct bridge_watch *w = br->watches;

		br->watches = w->next;
		free(w);
	}
	pthread_cond_destroy(&br->cond);
	pthread_mutex_destroy(&br->lock);
	free(br->name);
	free(br);
}

const char *bridge_name(const struct bridge *br)
{
	return br->name;
}

bool bridge_userspace(const struct bridge *br)
{
	return br->userspace;
}

const char *bridge_db(const struct bridge *br)
{
	return ovsdb_session_target(br->db);
}

bool bridge_connected(struct bridge *br)
{
	return ovsdb_session_connected(br->db);
}

int bridge_watch_new(struct bridge *br, const char *ifname, struct bridge_watch **ret)
{
	struct bridge_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	snprintf(w->ifname, sizeof(w->ifname), "%s", ifname);
	pthread_mutex_lock(&br->lock);
	w->next = br->watches;
	br->watches = w;
	pthread_mutex_unlock(&br->lock);
	*ret = w;
	return 0;
}

int bridge_watch_wait(struct bridge *br, struct bridge_watch *w, int timeout_ms)
{
	struct timespec dl;
	int r = 0;

	timespec_deadline_ms(&dl, timeout_ms);
	pthread_mutex_lock(&br->lock);
	while (!w->installed && r == 0)
		r = -pthread_cond_timedwait(&br->cond, &br->lock, &dl);
	if (w->installed)
		r = 0;
	pthread_mutex_unlock(&br->lock);
	return r;
}

void bridge_watch_free(struct bridge *br, struct bridge_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&br->lock);
	for (struct bridge_watch **p = &br->watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	pthread_mutex_unlock(&br->lock);
	free(w);
}

int bridge_add_port(struct bridge *br, const char *ifname, const char *port, const char *mac,
		    const char *vm_id, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *ext;
	int r;

	ext = ovsdb_string_map((const char *const[]){ "iface-id", port, "attached-mac", mac,
						      "iface-status", "active", "vm-uuid",
						      vm_id ? vm_id : "", NULL });
	ops = json_pack("[{s:s, s:s, s:s, s:{s:s, s:o}},"
			" {s:s, s:s, s:s, s:{s:s, s:o}},"
			" {s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]",
			"op", "insert", "table", "Interface", "uuid-name", "iface", "row", "name",
			ifname, "external_ids", ext, "op", "insert", "table", "Port", "uuid-name",
			"port", "row", "name", ifname, "interfaces", ovsdb_named_uuid("iface"),
			"op", "mutate", "table", "Bridge", "where",
			ovsdb_cond("name", "==", json_string(br->name)), "mutations", "ports",
			"insert", "set", ovsdb_named_uuid("port"));
	r = bridge_transact(br, ops, &res, reterr_msg);
	if (r == -EEXIST)
		set_errmsg(reterr_msg, "%s is already on a bridge", ifname);
	if (r < 0)
		return r;
	if (json_integer_value(json_object_get(json_array_get(res, 2), "count")) != 1) {
		set_errmsg(reterr_msg, "bridge %s does not exist", br->name);
		return -ENOENT;
	}
	return 0;
}

/* Column @column of the row of @table named @name, into *ret (a new
 * reference to the row); -ENOENT if there is none. */
static int select_named(struct bridge *br, const char *table, const char *name, const char *column,
			json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *rows;
	int r;

	ops = json_pack("[{s:s, s:s, s:[o], s:[s]}]", "op", "select", "table", table, "where",
			ovsdb_cond("name", "==", json_string(name)), "columns", column);
	r = bridge_transact(br, ops, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = json_object_get(json_array_get(res, 0), "rows");
	if (json_array_size(rows) == 0)
		return -ENOENT;
	*ret = json_incref(json_array_get(rows, 0));
	return 0;
}

int bridge_del_port(struct bridge *br, const char *ifname, char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL, *res2 = NULL;
	const char *uuid;
	json_t *ops;
	int r;

	r = select_named(br, "Port", ifname, "_uuid", &row, reterr_msg);
	if (r == -ENOENT)
		set_errmsg(reterr_msg, "%s is not on any bridge", ifname);
	if (r < 0)
		return r;
	uuid = ovsdb_datum_uuid(json_object_get(row, "_uuid"));
	/* Port and Interface are not root tables: dropping the reference
	 * from the bridge deletes both rows. */
	ops = json_pack("[{s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]", "op", "mutate", "table",
			"Bridge", "where", ovsdb_cond("ports", "includes", ovsdb_uuid(uuid)),
			"mutations", "ports", "delete", "set", ovsdb_uuid(uuid));
	return bridge_transact(br, ops, &res2, reterr_msg);
}

int bridge_port_installed(struct bridge *br, const char *ifname, char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	const char *inst;
	int r;

	r = select_named(br, "Interface", ifname, "external_ids", &row, reterr_msg);
	if (r < 0)
		return r;
	inst = ovsdb_map_get(json_object_get(row, "external_ids"), "ovn-installed");
	return inst && streq(inst, "true");
}

int bridge_hostname(struct bridge *br, char *buf, size_t size, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *rows;
	const char *name;
	int r;

	ops = json_pack("[{s:s, s:s, s:[], s:[s]}]", "op", "select", "table", VS, "where",
			"columns", "external_ids");
	r = bridge_transact(br, ops, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = json_object_get(json_array_get(res, 0), "rows");
	/* ovn-controller falls back to gethostname() on an empty one too. */
	name = ovsdb_map_get(json_object_get(json_array_get(rows, 0), "external_ids"), "hostname");
	if (!name || !*name)
		return -ENOENT;
	if (strlen(name) >= size)
		return -ENAMETOOLONG;
	memcpy(buf, name, strlen(name) + 1);
	return 0;
}

/* ---- provider bridges ---- */

/* external_ids:ovn-cms-options with "enable-chassis-as-gw" among them. */
static char *cms_options_with_gw(const char *old)
{
	_cleanup_free_ char *copy = strdup(old ? old : "");
	char *save = NULL;

	if (!copy)
		return NULL;
	for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save))
		if (streq(o, "enable-chassis-as-gw"))
			return strdup(old);
	return strdup_printf("%s%senable-chassis-as-gw", old && *old ? old : "",
			     old && *old ? "," : "");
}

int bridge_set_mappings(struct bridge *br, char *const *mappings, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL, *res2 = NULL, *self = NULL;
	_cleanup_free_ char *joined = NULL, *cms = NULL;
	const char *dp_type, *vs_uuid;
	json_t *ops, *ext, *vs;
	size_t n = 0;
	int r;

	if (!mappings || !*mappings)
		return 0;
	r = select_named(br, "Bridge", br->name, "datapath_type", &self, reterr_msg);
	if (r < 0)
		return r;
	dp_type = json_object_get_str(self, "datapath_type") ?: "";
	ops = json_pack("[{s:s, s:s, s:[], s:[s, s]}]", "op", "select", "table", VS, "where",
			"columns", "_uuid", "external_ids");
	r = bridge_transact(br, ops, &res, reterr_msg);
	if (r < 0)
		return r;
	vs = json_array_get(json_object_get(json_array_get(res, 0), "rows"), 0);
	vs_uuid = ovsdb_datum_uuid(json_object_get(vs, "_uuid"));
	ext = json_object_get(vs, "external_ids");
	cms = cms_options_with_gw(ovsdb_map_get(ext, "ovn-cms-options"));
	if (!vs_uuid || !cms)
		return vs_uuid ? -ENOMEM : -EIO;

	ops = json_array();
	for (char *const *m = mappings; *m; m++) {
		const char *bridge = strchr(*m, ':') + 1;
		_cleanup_json_ json_t *row = NULL;
		char *more;
		char iface[24], port[24], brname[24];

		more = strdup_printf("%s%s%s", joined ? joined : "", joined ? "," : "", *m);
		if (!more) {
			json_decref(ops);
			return -ENOMEM;
		}
		free(joined);
		joined = more;
		r = select_named(br, "Bridge", bridge, "name", &row, reterr_msg);
		if (r == 0)
			continue;
		if (r != -ENOENT) {
			json_decref(ops);
			return r;
		}
		/* A bridge like ovs-vsctl add-br makes: its own internal port. */
		snprintf(iface, sizeof(iface), "i%zu", n);
		snprintf(port, sizeof(port), "p%zu", n);
		snprintf(brname, sizeof(brname), "b%zu", n++);
		json_array_extend_new(
		    ops,
		    json_pack("[{s:s, s:s, s:s, s:{s:s, s:s}},"
			      " {s:s, s:s, s:s, s:{s:s, s:o}},"
			      " {s:s, s:s, s:s, s:{s:s, s:o, s:s}},"
			      " {s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]",
			      "op", "insert", "table", "Interface", "uuid-name", iface, "row",
			      "name", bridge, "type", "internal", "op", "insert", "table", "Port",
			      "uuid-name", port, "row", "name", bridge, "interfaces",
			      ovsdb_named_uuid(iface), "op", "insert", "table", "Bridge",
			      "uuid-name", brname, "row", "name", bridge, "ports",
			      ovsdb_named_uuid(port), "datapath_type", dp_type, "op", "mutate",
			      "table", VS, "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(vs_uuid)),
			      "mutations", "bridges", "insert", "set", ovsdb_named_uuid(brname)));
	}
	/* ovn-controller patches each provider bridge to the integration
	 * bridge for the localnet ports of its network; the chassis may host
	 * routers' gateways (what ML2/OVN's scheduler looks for). */
	json_array_append_new(
	    ops, json_pack("{s:s, s:s, s:[o], s:[[s, s, [s, [s, s]]], [s, s, o]]}", "op", "mutate",
			   "table", VS, "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(vs_uuid)),
			   "mutations", "external_ids", "delete", "set", "ovn-bridge-mappings",
			   "ovn-cms-options", "external_ids", "insert",
			   ovsdb_string_map((const char *const[]){
			       "ovn-bridge-mappings", joined, "ovn-cms-options", cms, NULL })));
	return bridge_transact(br, ops, &res2, reterr_msg);
}

int bridge_binding_new(const struct binding_ops *ops, const struct binding_env *env,
		       struct binding **ret, char **reterr_msg)
{
	struct bridge_binding *bb;

	if (!env->bridge) {
		set_errmsg(reterr_msg, "binding %s needs an integration bridge", ops->name);
		return -EINVAL;
	}
	bb = calloc(1, sizeof(*bb));
	if (!bb)
		return -ENOMEM;
	bb->base.ops = ops;
	bb->br = env->bridge;
	bb->veth_csum_off = env->veth_tx_csum == BINDING_TX_CSUM_OFF ||
			    (env->veth_tx_csum == BINDING_TX_CSUM_AUTO && bridge_userspace(bb->br));
	*ret = &bb->base;
	return 0;
}

bool bridge_binding_connected(struct binding *b)
{
	return bridge_connected(bridge_of(b));
}
