/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": Kuryr-C as its own network controller, writing OVN's
 * Northbound database over OVSDB the way Neutron's ML2/OVN driver does.
 *
 *   network -> Logical_Switch (named by its _uuid or its name): other_config:
 *              subnet/exclude_ips (IPv4) and ipv6_prefix (an IPv6 /64)
 *              drive OVN's own IPAM; our facts (cidr, gateway, cidr6,
 *              gateway6, mtu) in external_ids
 *   port    -> Logical_Switch_Port (by name or _uuid): addresses "MAC
 *              dynamic" (or "MAC IP [IP6]" when the runtime asked for an
 *              address, "dynamic IP6" for an IPv6 one alone on a
 *              dual-stack switch), port_security "MAC IP IP6" (each
 *              address it has) once the addresses are known, our facts in
 *              external_ids
 *   security group -> Port_Group and ACLs (sg.c)
 *   router  -> Logical_Router, a port per subnet (an IPv6 one sending
 *              router advertisements), NAT and routes (router.c); a
 *              floating IP -> a dnat_and_snat NAT row (fip.c)
 *   trunk   -> kuryr:trunk_id/kuryr:trunk_name in its parent port's
 *              external_ids; a subport is a child port (parent_name, tag)
 *   QoS     -> an empty Port_Group per policy, and QoS rows on the switch of
 *              each port that uses it (qos.c)
 *   port security, allowed address pairs -> port_security, addresses
 *              (portsec.c)
 *
 * Uniqueness (network names, requested IPs) is enforced inside the same
 * transaction with "wait" operations, so concurrent kuryrds on several nodes
 * sharing one NB cannot both win. */
#include <stdio.h>

#include "conf-value.h"
#include "ovn-private.h"

/* Run @ops (stolen) on the Northbound database. */
/* Whether @ops change anything (not only select and wait). */
static bool ops_write(json_t *ops)
{
	size_t i;
	json_t *op;

	json_array_foreach(ops, i, op) {
		const char *o = json_object_get_str(op, "op");

		if (o && !streq(o, "select") && !streq(o, "wait") && !streq(o, "comment"))
			return true;
	}
	return false;
}

int ovn_transact(struct ovn_backend *ob, json_t *ops, int timeout_ms, json_t **ret,
		 char **reterr_msg)
{
	int r;

	atomic_fetch_add(ops_write(ops) ? &ob->txn_writes : &ob->txn_reads, 1);
	r = ovsdb_session_transact(ob->nb, ops, timeout_ms, ret, reterr_msg);

	/* Lost while the transaction was out: unreachable, as when the
	 * session cannot reconnect (-ENOTCONN). */
	return r == -ECONNRESET ? -ENOTCONN : r;
}

static void ovn_write_metrics(struct backend *b, FILE *f)
{
	struct ovn_backend *ob = to_ovn(b);

	fprintf(f,
		"# HELP kuryr_ovn_transactions_total Northbound transactions kuryrd sent, by "
		"whether they change anything.\n"
		"# TYPE kuryr_ovn_transactions_total counter\n"
		"kuryr_ovn_transactions_total{kind=\"write\"} %llu\n"
		"kuryr_ovn_transactions_total{kind=\"read\"} %llu\n",
		(unsigned long long)atomic_load(&ob->txn_writes),
		(unsigned long long)atomic_load(&ob->txn_reads));
}

static bool ovn_connected(struct backend *b)
{
	return ovsdb_session_connected(to_ovn(b)->nb);
}

static const char *ovn_describe(struct backend *b)
{
	return to_ovn(b)->where;
}

json_t *ovn_where_name(const char *name)
{
	return json_pack("[o]", ovsdb_cond("name", "==", json_string(name)));
}

/* A "wait" that fails the transaction unless a row of @table named @name
 * exists (@exists true) or does not (@exists false). */
json_t *ovn_op_wait_name(const char *table, const char *name, bool exists)
{
	return json_pack("{s:s, s:s, s:o, s:[s], s:s, s:[], s:i}", "op", "wait", "table", table,
			 "where", ovn_where_name(name), "columns", "name", "until",
			 exists ? "!=" : "==", "rows", "timeout", 0);
}

json_t *ovn_uuid_items(json_t *datum)
{
	const char *tag = json_string_value(json_array_get(datum, 0));
	json_t *out = json_array();

	if (streq_ptr(tag, "uuid"))
		json_array_append(out, datum);
	else if (streq_ptr(tag, "set"))
		json_array_extend(out, json_array_get(datum, 1));
	return out;
}

json_t *ovn_where_ext(const char *key, const char *value)
{
	return json_pack("[o]",
			 ovsdb_cond("external_ids", "includes",
				    ovsdb_string_map((const char *const[]){ key, value, NULL })));
}

int ovn_select_uuids(struct ovn_backend *ob, const char *table, json_t *datum, json_t **ret,
		     char **reterr_msg)
{
	_cleanup_json_ json_t *items = ovn_uuid_items(datum), *res = NULL;
	json_t *ops = json_array(), *u, *rows;
	size_t i;
	int r;

	json_array_foreach(items, i, u)
		json_array_append_new(ops, json_pack("{s:s, s:s, s:[o]}", "op", "select", "table",
						     table, "where",
						     ovsdb_cond("_uuid", "==", json_deep_copy(u))));
	if (json_array_size(ops) == 0) {
		json_decref(ops);
		*ret = json_array();
		return 0;
	}
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = json_array();
	for (i = 0; i < json_array_size(res); i++)
		json_array_extend(rows, json_object_get(json_array_get(res, i), "rows"));
	*ret = rows;
	return 0;
}

json_t *ovn_first_rows(json_t *result)
{
	return json_object_get(json_array_get(result, 0), "rows");
}

json_t *ovn_first_rows_of_two(json_t *result)
{
	json_t *rows = ovn_first_rows(result);

	return json_array_size(rows) ? rows : json_object_get(json_array_get(result, 1), "rows");
}

/* "select" of @table where @ref is the name, and, if @ref looks like a
 * uuid, a second "select" where it is the _uuid. */
json_t *ovn_ops_select_ref(const char *table, const char *ref)
{
	json_t *ops = json_pack("[{s:s, s:s, s:o}]", "op", "select", "table", table, "where",
				ovn_where_name(ref));

	if (uuid_is_valid(ref))
		json_array_append_new(ops, json_pack("{s:s, s:s, s:[o]}", "op", "select", "table",
						     table, "where",
						     ovsdb_cond("_uuid", "==", ovsdb_uuid(ref))));
	return ops;
}

static void ovn_free(struct backend *b)
{
	struct ovn_backend *ob = to_ovn(b);

	ovsdb_session_free(ob->nb);
	ovsdb_session_free(ob->sb);
	free(ob->where);
	strv_free(ob->pod_sgs);
	free(ob->pod_qos);
	free(ob);
}

static const struct backend_ops ovn_ops = {
	.name = "ovn",
	.caps = BACKEND_CAP_SECURITY_GROUPS | BACKEND_CAP_PORT_POLICIES | BACKEND_CAP_TRUNKS |
		BACKEND_CAP_ROUTERS | BACKEND_CAP_QOS | BACKEND_CAP_LOADBALANCERS |
		BACKEND_CAP_LB_FAST,
	.network_create = ovn_network_create,
	.network_get = ovn_network_get,
	.network_list = ovn_network_list,
	.network_delete = ovn_network_delete,
	.port_create = ovn_port_create,
	.port_create_bulk = ovn_port_create_bulk,
	.port_get = ovn_port_get,
	.port_by_mac = ovn_port_by_mac,
	.port_list = ovn_port_list,
	.port_delete = ovn_port_delete,
	.port_wait_up = ovn_port_wait_up,
	.port_move = ovn_port_move,
	.port_bind = ovn_port_bind,
	.port_update = ovn_port_update,
	.sg_create = ovn_sg_create,
	.sg_get = ovn_sg_get,
	.sg_list = ovn_sg_list,
	.sg_rule_add = ovn_sg_rule_add,
	.sg_rule_delete = ovn_sg_rule_delete,
	.sg_delete = ovn_sg_delete,
	.trunk_create = ovn_trunk_create,
	.trunk_get = ovn_trunk_get,
	.trunk_delete = ovn_trunk_delete,
	.trunk_subport = ovn_trunk_subport,
	.trunk_subports_add = ovn_trunk_subports_add,
	.trunk_by_parent_mac = ovn_trunk_by_parent_mac,
	.router_create = ovn_router_create,
	.router_get = ovn_router_get,
	.router_list = ovn_router_list,
	.router_delete = ovn_router_delete,
	.router_interface = ovn_router_interface,
	.router_gateway = ovn_router_gateway,
	.fip_create = ovn_fip_create,
	.fip_list = ovn_fip_list,
	.fip_delete = ovn_fip_delete,
	.qos_create = ovn_qos_create,
	.qos_get = ovn_qos_get,
	.qos_list = ovn_qos_list,
	.qos_delete = ovn_qos_delete,
	.lb_create = ovn_lb_create,
	.lb_get = ovn_lb_get,
	.lb_list = ovn_lb_list,
	.lb_delete = ovn_lb_delete,
	.lb_pool_create = ovn_lb_pool_create,
	.lb_pool_get = ovn_lb_pool_get,
	.lb_pool_delete = ovn_lb_pool_delete,
	.lb_member_add = ovn_lb_member_add,
	.lb_member_remove = ovn_lb_member_remove,
	.connected = ovn_connected,
	.describe = ovn_describe,
	.write_metrics = ovn_write_metrics,
	.free = ovn_free,
};

static char **strv_copy(const char *const *v)
{
	size_t n = 0;
	char **c;

	while (v[n])
		n++;
	c = calloc(n + 1, sizeof(*c));
	for (size_t i = 0; c && i < n; i++)
		if (!(c[i] = strdup(v[i]))) {
			strv_free(c);
			return NULL;
		}
	return c;
}

int backend_ovn_new(const char *nb_connection, const char *const *pod_security_groups,
		    const char *host, struct backend **ret, char **reterr_msg)
{
	struct ovn_backend *ob = calloc(1, sizeof(*ob));
	int r;

	if (!ob)
		return -ENOMEM;
	ob->base.ops = &ovn_ops;
	ob->where = strdup_printf("nb=%s", nb_connection);
	str_copy(ob->host, host ? host : "", sizeof(ob->host));
	if (pod_security_groups && *pod_security_groups)
		ob->pod_sgs = strv_copy(pod_security_groups);
	if (!ob->where || (pod_security_groups && *pod_security_groups && !ob->pod_sgs)) {
		ovn_free(&ob->base);
		return -ENOMEM;
	}
	/* A node may start before its Northbound answers (a VM's guest
	 * before the control plane): requests get -ENOTCONN until then. */
	r = ovsdb_session_new_lazy(nb_connection, NB, &ob->nb, reterr_msg);
	if (r < 0) {
		ovn_free(&ob->base);
		return r;
	}
	*ret = &ob->base;
	return 0;
}

/* ---- the registry's view: [ovn], [neutron_defaults] ---- */

static void ovn_config_free(void *cfg)
{
	struct ovn_config *c = cfg;

	if (c) {
		free(c->nb_connection);
		free(c->sb_connection);
		strv_free(c->pod_security_groups);
		free(c->pod_qos_policy);
	}
	free(c);
}

static int ovn_config_new(void **ret)
{
	struct ovn_config *c = calloc(1, sizeof(*c));

	if (!c || !(c->nb_connection = strdup("unix:/run/kuryr-c/ovn/nb.sock")) ||
	    !(c->sb_connection = strdup("unix:/run/kuryr-c/ovn/sb.sock")) ||
	    !(c->pod_security_groups = strv_new_empty()) || !(c->pod_qos_policy = strdup(""))) {
		ovn_config_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

static int ovn_config_set(void *cfg, const char *section, const char *key, const char *value,
			  char **reterr_msg)
{
	struct ovn_config *c = cfg;

	if (streq(section, "neutron_defaults") && streq(key, "pod_qos_policy"))
		return conf_set_str(&c->pod_qos_policy, value);
	if (streq(section, "neutron_defaults"))
		return streq(key, "pod_security_groups")
			   ? conf_set_list(&c->pod_security_groups, value)
			   : -ENOENT;
	if (streq(key, "nb_connection"))
		return conf_set_str(&c->nb_connection, value);
	if (streq(key, "sb_connection"))
		return conf_set_str(&c->sb_connection, value);
	return -ENOENT;
}

static int ovn_driver_new(const void *cfg, const struct backend_env *env, struct backend **ret,
			  char **reterr_msg)
{
	const struct ovn_config *c = cfg;
	struct ovn_backend *ob;
	int r;

	r = backend_ovn_new(c->nb_connection, (const char *const *)c->pod_security_groups,
			    env->host, ret, reterr_msg);
	if (r < 0)
		return r;
	ob = to_ovn(*ret);
	/* Only load balancers' health is read there. */
	if (*c->sb_connection) {
		r = ovsdb_session_new_lazy(c->sb_connection, "OVN_Southbound", &ob->sb, reterr_msg);
		if (r < 0) {
			ovn_free(*ret);
			return r;
		}
	}
	if (!*c->pod_qos_policy)
		return 0;
	ob->pod_qos = strdup(c->pod_qos_policy);
	if (!ob->pod_qos) {
		ovn_free(*ret);
		return -ENOMEM;
	}
	return 0;
}

const struct backend_driver backend_ovn_driver = {
	.name = "ovn",
	.sections = (const char *const[]){ "ovn", "neutron_defaults", NULL },
	.config_new = ovn_config_new,
	.config_set = ovn_config_set,
	.config_free = ovn_config_free,
	.new = ovn_driver_new,
};
