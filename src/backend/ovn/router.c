/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": routers, mapped as ML2/OVN maps Neutron's.
 *
 *   router    -> Logical_Router "kuryr-<id>", our facts in external_ids
 *                (id, name; its gateway's network, address and SNAT)
 *   interface -> a Logical_Router_Port holding the subnet's gateway address
 *                (so OVN answers ARP and ping on it and routes between the
 *                router's subnets), peered with a "router" port on the
 *                network's switch; that port's kuryr:routed names the
 *                switch, so one transaction's "wait" keeps a subnet on one
 *                router only
 *   gateway   -> a port on the external network with an address held there
 *                (extaddr.c), its Logical_Router_Port scheduled on this node
 *                (Gateway_Chassis: a distributed gateway port), a default
 *                route to the external network's gateway, and with SNAT one
 *                "snat" NAT row per subnet to the gateway's address
 *
 * Floating IPs (fip.c) are the router's dnat_and_snat rows. */
#include <arpa/inet.h>
#include <stdio.h>

#include "ovn-private.h"

/* Our Logical_Router that @ref names (kuryr:router_id, else name): a new
 * reference in *ret. -ENOENT, -ENOTUNIQ. */
int ovn_find_router(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *rows;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:o}, {s:s, s:s, s:o}]", "op", "select", "table",
				   "Logical_Router", "where", ovn_where_ext(EXT_R_ID, ref), "op",
				   "select", "table", "Logical_Router", "where",
				   ovn_where_ext(EXT_R_NAME, ref)),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows_of_two(res);
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "router \"%s\" does not exist", ref);
		return -ENOENT;
	}
	if (json_array_size(rows) > 1) {
		set_errmsg(reterr_msg,
			   "More than one router exists with the name \"%s\"; use an ID", ref);
		return -ENOTUNIQ;
	}
	*ret = json_incref(json_array_get(rows, 0));
	return 0;
}

/* An op mutating set column @col of the row @uuid of @table. */
static json_t *op_set(const char *table, const char *uuid, const char *col, const char *how,
		      json_t *value)
{
	return json_pack("{s:s, s:s, s:o, s:[[s, s, o]]}", "op", "mutate", "table", table, "where",
			 ovn_where_uuid(uuid), "mutations", col, how, value);
}

/* The router's Logical_Router_Ports, a new array. */
static int router_ports(struct ovn_backend *ob, json_t *lr, json_t **ret, char **reterr_msg)
{
	return ovn_select_uuids(ob, "Logical_Router_Port", json_object_get(lr, "ports"), ret,
				reterr_msg);
}

static json_t *router_json(struct ovn_backend *ob, json_t *lr, char **reterr_msg)
{
	_cleanup_json_ json_t *lrps = NULL;
	json_t *ifs = json_array(), *p, *gw = json_null();
	const char *gw_net = ovn_ext_of(lr, EXT_R_GW_NET);
	size_t i;

	if (router_ports(ob, lr, &lrps, reterr_msg) < 0) {
		json_decref(ifs);
		return NULL;
	}
	json_array_foreach(lrps, i, p) {
		const char *net[1] = { NULL };
		char ip[48] = "";

		if (ovn_ext_of(p, EXT_GW_PORT))
			continue;
		if (ovsdb_datum_strings(json_object_get(p, "networks"), net, 1) == 1)
			sscanf(net[0], "%47[^/]", ip);
		json_array_append_new(ifs, json_pack("{s:s, s:s, s:s}", "network",
						     ovn_ext_of(p, EXT_RP_NET) ?: "", "subnet",
						     ovn_ext_of(p, EXT_RP_CIDR) ?: "", "ip", ip));
	}
	if (gw_net)
		gw = json_pack("{s:s, s:s, s:b}", "network", gw_net, "ip",
			       ovn_ext_of(lr, EXT_R_GW_IP) ?: "", "snat",
			       streq_ptr(ovn_ext_of(lr, EXT_R_SNAT), "true"));
	return json_pack("{s:s, s:s, s:o, s:o}", "id", ovn_ext_of(lr, EXT_R_ID) ?: "", "name",
			 ovn_ext_of(lr, EXT_R_NAME) ?: "", "interfaces", ifs, "external_gateway",
			 gw);
}

int ovn_router_get(struct backend *b, const char *router, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *lr = NULL;
	int r;

	r = ovn_find_router(to_ovn(b), router, &lr, reterr_msg);
	if (r < 0)
		return r;
	*ret = router_json(to_ovn(b), lr, reterr_msg);
	return *ret ? 0 : -EIO;
}

int ovn_router_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *out, *lr;
	size_t i;
	int r;

	r = ovn_transact(
	    to_ovn(b),
	    json_pack("[{s:s, s:s, s:[]}]", "op", "select", "table", "Logical_Router", "where"),
	    NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	out = json_array();
	json_array_foreach(ovn_first_rows(res), i, lr) {
		json_t *j;

		if (!ovn_ext_of(lr, EXT_R_ID))
			continue;
		j = router_json(to_ovn(b), lr, reterr_msg);
		if (!j) {
			json_decref(out);
			return -EIO;
		}
		json_array_append_new(out, j);
	}
	*ret = out;
	return 0;
}

int ovn_router_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	char id[UUID_STR_LEN], lr[64];
	int r;

	if (!*name || uuid_is_valid(name) || strlen(name) > 200) {
		set_errmsg(reterr_msg, "a router's name is 1-200 bytes and not an ID");
		return -EINVAL;
	}
	uuid_random(id);
	snprintf(lr, sizeof(lr), "kuryr-%s", id);
	r = ovn_transact(
	    to_ovn(b),
	    json_pack(
		"[{s:s, s:s, s:o, s:[s], s:s, s:[], s:i},"
		" {s:s, s:s, s:{s:s, s:o}}]",
		"op", "wait", "table", "Logical_Router", "where", ovn_where_ext(EXT_R_NAME, name),
		"columns", "name", "until", "==", "rows", "timeout", 0, "op", "insert", "table",
		"Logical_Router", "row", "name", lr, "external_ids",
		ovsdb_string_map((const char *const[]){ EXT_R_ID, id, EXT_R_NAME, name, NULL })),
	    NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "router \"%s\" already exists", name);
		return -EEXIST;
	}
	if (r < 0)
		return r;
	return ovn_router_get(b, id, ret, reterr_msg);
}

/* The "snat" row of subnet @cidr to @ext_ip, as op @uname, and its joining
 * router @lr_uuid. */
static void snat_ops(const char *lr_uuid, const char *rid, const char *ext_ip, const char *cidr,
		     const char *net_id, const char *uname, json_t *ops)
{
	json_array_append_new(
	    ops, json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "op", "insert", "table",
			   "NAT", "uuid-name", uname, "row", "type", "snat", "external_ip", ext_ip,
			   "logical_ip", cidr, "external_ids",
			   ovsdb_string_map((const char *const[]){ EXT_R_ID, rid, EXT_NAT_NETID,
								   net_id, NULL })));
	json_array_append_new(ops, op_set("Logical_Router", lr_uuid, "nat", "insert",
					  json_pack("[s, [o]]", "set", ovsdb_named_uuid(uname))));
}

/* The router's NAT rows of @type ("snat", "dnat_and_snat"; NULL: any),
 * and for network @net_id only if given: a new array. */
static int router_nats(struct ovn_backend *ob, json_t *lr, const char *type, const char *net_id,
		       json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *all = NULL;
	json_t *out, *n;
	size_t i;
	int r;

	r = ovn_select_uuids(ob, "NAT", json_object_get(lr, "nat"), &all, reterr_msg);
	if (r < 0)
		return r;
	out = json_array();
	json_array_foreach(all, i, n) {
		if (type && !streq_ptr(json_object_get_str(n, "type"), type))
			continue;
		if (net_id && !streq_ptr(ovn_ext_of(n, EXT_NAT_NETID), net_id))
			continue;
		json_array_append(out, n);
	}
	*ret = out;
	return 0;
}

/* An op removing the rows of @rows (each with its _uuid) from set column
 * @col of row @uuid of @table. NULL if there are none. */
static json_t *op_remove_rows(const char *table, const char *uuid, const char *col, json_t *rows)
{
	json_t *set = json_array(), *row;
	size_t i;

	json_array_foreach(rows, i, row)
		json_array_append_new(set, json_deep_copy(json_object_get(row, "_uuid")));
	if (!json_array_size(set)) {
		json_decref(set);
		return NULL;
	}
	return op_set(table, uuid, col, "delete", json_pack("[s, o]", "set", set));
}

/* One router port on @net's switch for its subnet @cidr with gateway @gw
 * (ops named "lrp<k>", "lsp<k>"): a Logical_Router_Port holding the
 * gateway, peered with a "router" port on the switch. An IPv6 one sends
 * router advertisements (SLAAC: OVN's IPAM makes the same EUI-64 address
 * a host makes for itself), as ML2/OVN's do. */
static void interface_ops(const char *rid, const char *lr_uuid, const struct kuryr_network *net,
			  const char *cidr, const char *gw, int k, json_t *ops)
{
	char id[UUID_STR_LEN], lrp[64], lsp[64], mac[MAC_STR_LEN], addr[80], ip[48];
	char lrp_u[8], lsp_u[8], mtu[16];
	uint8_t len = 0;
	json_t *row;

	addr_split(cidr, ip, sizeof(ip), &len);
	uuid_random(id);
	snprintf(lrp, sizeof(lrp), "lrp-%s", id);
	snprintf(lsp, sizeof(lsp), "rp-%s", id);
	snprintf(lrp_u, sizeof(lrp_u), "lrp%d", k);
	snprintf(lsp_u, sizeof(lsp_u), "lsp%d", k);
	snprintf(addr, sizeof(addr), "%s/%u", gw, len);
	snprintf(mtu, sizeof(mtu), "%u", net->mtu);
	mac_random(mac);
	row = json_pack("{s:s, s:s, s:s, s:o}", "name", lrp, "mac", mac, "networks", addr,
			"external_ids",
			ovsdb_string_map((const char *const[]){ EXT_R_ID, rid, EXT_RP_NET,
								net->name, EXT_RP_CIDR, cidr,
								EXT_NAT_NETID, net->id, NULL }));
	if (strchr(cidr, ':'))
		json_object_set_new(row, "ipv6_ra_configs",
				    ovsdb_string_map((const char *const[]){ "address_mode", "slaac",
									    "send_periodic", "true",
									    "mtu", mtu, NULL }));
	json_array_append_new(ops,
			      json_pack("{s:s, s:s, s:s, s:o}", "op", "insert", "table",
					"Logical_Router_Port", "uuid-name", lrp_u, "row", row));
	json_array_append_new(
	    ops, json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o, s:o}}", "op", "insert", "table",
			   "Logical_Switch_Port", "uuid-name", lsp_u, "row", "name", lsp, "type",
			   "router", "addresses", "router", "options",
			   ovsdb_string_map((const char *const[]){ "router-port", lrp, NULL }),
			   "external_ids",
			   ovsdb_string_map(
			       (const char *const[]){ EXT_R_ID, rid, EXT_ROUTED, net->id, NULL })));
	json_array_append_new(ops, op_set("Logical_Router", lr_uuid, "ports", "insert",
					  json_pack("[s, [o]]", "set", ovsdb_named_uuid(lrp_u))));
	json_array_append_new(ops, op_set("Logical_Switch", net->id, "ports", "insert",
					  json_pack("[s, [o]]", "set", ovsdb_named_uuid(lsp_u))));
}

/* Put network @network on the router: a router port per subnet (one per
 * family, as Neutron makes them), all in one transaction. */
static int add_interface(struct ovn_backend *ob, json_t *lr, const char *network, char **reterr_msg)
{
	_cleanup_json_ json_t *ls = NULL, *res = NULL;
	const char *rid = ovn_ext_of(lr, EXT_R_ID), *lr_uuid = ovn_uuid_of(lr);
	const char *gw_ip = ovn_ext_of(lr, EXT_R_GW_IP);
	struct kuryr_network net;
	json_t *ops;
	size_t i, n;
	int r;

	r = ovn_find_switch(ob, network, &ls, reterr_msg);
	if (r == -ENOENT)
		r = -ESRCH;
	if (r < 0)
		return r;
	r = ovn_network_get(&ob->base, ovn_uuid_of(ls), &net, reterr_msg);
	if (r < 0)
		return r;
	if (net.external) {
		set_errmsg(reterr_msg,
			   "network %s is external: a router reaches it through its gateway "
			   "(router set ROUTER --external-gateway %s)",
			   net.name, net.name);
		return -EINVAL;
	}
	if ((*net.cidr && !*net.gateway) || (*net.cidr6 && !*net.gateway6)) {
		set_errmsg(reterr_msg,
			   "network %s has no %s gateway address for the router to take", net.name,
			   *net.cidr && !*net.gateway ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	/* The subnet is on no router yet; the switch and the router are
	 * still there (the counts of the mutations, below). */
	ops = json_pack("[{s:s, s:s, s:o, s:[s], s:s, s:[], s:i}]", "op", "wait", "table",
			"Logical_Switch_Port", "where", ovn_where_ext(EXT_ROUTED, net.id),
			"columns", "name", "until", "==", "rows", "timeout", 0);
	if (*net.cidr)
		interface_ops(rid, lr_uuid, &net, net.cidr, net.gateway, 0, ops);
	if (*net.cidr6)
		interface_ops(rid, lr_uuid, &net, net.cidr6, net.gateway6, 1, ops);
	n = json_array_size(ops);
	r = ovn_lb_router_switch_ops(ob, lr, ovn_uuid_of(ls), true, ops, reterr_msg);
	if (r < 0) {
		json_decref(ops);
		return r;
	}
	/* SNAT is IPv4's: IPv6 is routed as it is. */
	if (gw_ip && *net.cidr && streq_ptr(ovn_ext_of(lr, EXT_R_SNAT), "true"))
		snat_ops(lr_uuid, rid, gw_ip, net.cidr, net.id, "snat", ops);
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg,
			   "network %s is already on a router (router remove-subnet first)",
			   net.name);
		return -EBUSY;
	}
	if (r < 0)
		return r;
	/* Each family's two mutations are its third and fourth op. */
	for (i = 3; i < n; i += 4)
		if (json_integer_value(json_object_get(json_array_get(res, i), "count")) != 1 ||
		    json_integer_value(json_object_get(json_array_get(res, i + 1), "count")) != 1) {
			/* One of them vanished meanwhile; what was made for
			 * it is unreferenced and collected by OVSDB. */
			set_errmsg(reterr_msg, "the router or network %s vanished meanwhile",
				   net.name);
			return -ENOENT;
		}
	return 0;
}

/* The router's ports on switch @ls_uuid ("rp-...", one per family), and
 * their router ports: two new arrays, -ENOENT if there are none. */
static int find_interfaces(struct ovn_backend *ob, json_t *lr, const char *ls_uuid,
			   json_t **ret_lsps, json_t **ret_lrps, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL, *lrps = NULL, *lsps = NULL, *peers = NULL;
	json_t *lsp, *p;
	size_t i, j;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:o}]", "op", "select", "table",
				   "Logical_Switch_Port", "where",
				   ovn_where_ext(EXT_ROUTED, ls_uuid)),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == 0)
		r = router_ports(ob, lr, &lrps, reterr_msg);
	if (r < 0)
		return r;
	lsps = json_array();
	peers = json_array();
	json_array_foreach(ovn_first_rows(res), i, lsp) {
		const char *lrp_name =
		    ovsdb_map_get(json_object_get(lsp, "options"), "router-port");

		if (!streq_ptr(ovn_ext_of(lsp, EXT_R_ID), ovn_ext_of(lr, EXT_R_ID)))
			continue;
		json_array_foreach(lrps, j, p)
			if (streq_ptr(json_object_get_str(p, "name"), lrp_name)) {
				json_array_append(lsps, lsp);
				json_array_append(peers, p);
				break;
			}
	}
	if (!json_array_size(lsps))
		return -ENOENT;
	*ret_lsps = TAKE_PTR(lsps);
	*ret_lrps = TAKE_PTR(peers);
	return 0;
}

static int remove_interface(struct ovn_backend *ob, json_t *lr, const char *network,
			    char **reterr_msg)
{
	_cleanup_json_ json_t *ls = NULL, *lsps = NULL, *lrps = NULL, *nats = NULL, *fips = NULL,
			      *res = NULL;
	const char *lr_uuid = ovn_uuid_of(lr), *ls_uuid;
	json_t *ops, *op;
	int r;

	r = ovn_find_switch(ob, network, &ls, reterr_msg);
	if (r == -ENOENT)
		r = -ESRCH;
	if (r < 0)
		return r;
	ls_uuid = ovn_uuid_of(ls);
	r = find_interfaces(ob, lr, ls_uuid, &lsps, &lrps, reterr_msg);
	if (r == -ENOENT)
		set_errmsg(reterr_msg, "network %s is not on router %s", network,
			   ovn_ext_of(lr, EXT_R_NAME));
	if (r < 0)
		return r;
	r = router_nats(ob, lr, "dnat_and_snat", ls_uuid, &fips, reterr_msg);
	if (r < 0)
		return r;
	if (json_array_size(fips)) {
		set_errmsg(reterr_msg,
			   "network %s cannot leave router %s: floating IPs reach %zu of its ports",
			   network, ovn_ext_of(lr, EXT_R_NAME), json_array_size(fips));
		return -EBUSY;
	}
	r = router_nats(ob, lr, "snat", ls_uuid, &nats, reterr_msg);
	if (r < 0)
		return r;
	ops = json_array();
	r = ovn_lb_router_switch_ops(ob, lr, ls_uuid, false, ops, reterr_msg);
	if (r < 0) {
		json_decref(ops);
		return r;
	}
	json_array_append_new(ops, op_remove_rows("Logical_Switch", ls_uuid, "ports", lsps));
	json_array_append_new(ops, op_remove_rows("Logical_Router", lr_uuid, "ports", lrps));
	if ((op = op_remove_rows("Logical_Router", lr_uuid, "nat", nats)))
		json_array_append_new(ops, op);
	return ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
}

int ovn_router_interface(struct backend *b, const char *router, bool add, const char *network,
			 char **reterr_msg)
{
	_cleanup_json_ json_t *lr = NULL;
	int r;

	r = ovn_find_router(to_ovn(b), router, &lr, reterr_msg);
	if (r < 0)
		return r;
	return add ? add_interface(to_ovn(b), lr, network, reterr_msg)
		   : remove_interface(to_ovn(b), lr, network, reterr_msg);
}

/* Take the router's gateway down: its port on the external network, its
 * default route, its SNAT rows, its address there. Refused while floating
 * IPs use it. */
static int clear_gateway(struct ovn_backend *ob, json_t *lr, char **reterr_msg)
{
	const char *lr_uuid = ovn_uuid_of(lr), *gw_net = ovn_ext_of(lr, EXT_R_GW_NET);
	const char *gw_ip = ovn_ext_of(lr, EXT_R_GW_IP);
	int r = -ETIMEDOUT;

	if (!gw_net)
		return 0;
	for (int attempt = 0; r == -ETIMEDOUT && attempt < 3; attempt++) {
		_cleanup_json_ json_t *fips = NULL, *snats = NULL, *lrps = NULL, *ext_ls = NULL,
				      *res = NULL, *lsps = NULL, *routes = NULL;
		json_t *ops, *op, *p;
		size_t i;

		r = router_nats(ob, lr, "dnat_and_snat", NULL, &fips, reterr_msg);
		if (r < 0)
			return r;
		if (json_array_size(fips)) {
			set_errmsg(
			    reterr_msg,
			    "router %s's gateway carries %zu floating IPs (delete them first)",
			    ovn_ext_of(lr, EXT_R_NAME), json_array_size(fips));
			return -EBUSY;
		}
		r = router_nats(ob, lr, "snat", NULL, &snats, reterr_msg);
		if (r == 0)
			r = router_ports(ob, lr, &lrps, reterr_msg);
		if (r == 0)
			r = ovn_select_uuids(ob, "Logical_Router_Static_Route",
					     json_object_get(lr, "static_routes"), &routes,
					     reterr_msg);
		if (r < 0)
			return r;
		/* The external network may be gone already (it cannot: its
		 * switch keeps our port; but someone else's tool may). */
		if (ovn_find_switch(ob, gw_net, &ext_ls, NULL) == 0)
			r = ovn_select_uuids(ob, "Logical_Switch_Port",
					     json_object_get(ext_ls, "ports"), &lsps, reterr_msg);
		if (r < 0)
			return r;
		ops = json_array();
		json_array_foreach(lrps, i, p)
			if (ovn_ext_of(p, EXT_GW_PORT))
				json_array_append_new(
				    ops, op_set("Logical_Router", lr_uuid, "ports", "delete",
						json_pack("[s, [O]]", "set",
							  json_object_get(p, "_uuid"))));
		json_array_foreach(lsps, i, p)
			if (ovn_ext_of(p, EXT_GW_PORT) &&
			    streq_ptr(ovn_ext_of(p, EXT_R_ID), ovn_ext_of(lr, EXT_R_ID)))
				json_array_append_new(
				    ops,
				    op_set(
					"Logical_Switch", ovn_uuid_of(ext_ls), "ports", "delete",
					json_pack("[s, [O]]", "set", json_object_get(p, "_uuid"))));
		if ((op = op_remove_rows("Logical_Router", lr_uuid, "nat", snats)))
			json_array_append_new(ops, op);
		if ((op = op_remove_rows("Logical_Router", lr_uuid, "static_routes", routes)))
			json_array_append_new(ops, op);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:[[s, s, [s, [s, s, s]]]]}",
						     "op", "mutate", "table", "Logical_Router",
						     "where", ovn_where_uuid(lr_uuid), "mutations",
						     "external_ids", "delete", "set", EXT_R_GW_NET,
						     EXT_R_GW_IP, EXT_R_SNAT));
		if (ext_ls && gw_ip)
			ovn_extaddr_release(ext_ls, gw_ip, ops);
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	}
	return r;
}

static int set_gateway(struct ovn_backend *ob, json_t *lr, const char *ext, bool snat,
		       char **reterr_msg)
{
	const char *rid = ovn_ext_of(lr, EXT_R_ID), *lr_uuid = ovn_uuid_of(lr);
	int r = -ETIMEDOUT;

	if (!*ob->host) {
		set_errmsg(reterr_msg, "this node has no chassis name to host the gateway");
		return -EINVAL;
	}
	for (int attempt = 0; r == -ETIMEDOUT && attempt < 3; attempt++) {
		_cleanup_json_ json_t *ls = NULL, *lrps = NULL, *res = NULL;
		struct kuryr_network net;
		char ip[48], addr[80], lrp[64], lsp[64], gwc[128], mac[MAC_STR_LEN];
		uint32_t subnet;
		uint8_t len;
		json_t *ops, *p;
		size_t i, k = 0;

		r = ovn_find_switch(ob, ext, &ls, reterr_msg);
		if (r == -ENOENT)
			r = -ESRCH;
		if (r == 0)
			r = ovn_network_get(&ob->base, ovn_uuid_of(ls), &net, reterr_msg);
		if (r < 0)
			return r;
		if (!net.external) {
			set_errmsg(reterr_msg,
				   "network %s is not external (network create --external)",
				   net.name);
			return -EINVAL;
		}
		if (cidr4_parse(net.cidr, &subnet, &len) < 0)
			return -EIO;
		ops = json_array();
		r = ovn_extaddr_reserve(ob, ls, NULL, false, ip, ops, reterr_msg);
		if (r == 0)
			r = router_ports(ob, lr, &lrps, reterr_msg);
		if (r < 0) {
			json_decref(ops);
			return r;
		}
		snprintf(addr, sizeof(addr), "%s/%u", ip, len);
		snprintf(lrp, sizeof(lrp), "lrp-gw-%s", rid);
		snprintf(lsp, sizeof(lsp), "rp-gw-%s", rid);
		snprintf(gwc, sizeof(gwc), "%s_%s", lrp, ob->host);
		mac_random(mac);
		json_array_extend_new(
		    ops, json_pack(
			     "[{s:s, s:s, s:s, s:{s:s, s:s, s:i}},"
			     " {s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o, s:o}},"
			     " {s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o, s:o}}]",
			     "op", "insert", "table", "Gateway_Chassis", "uuid-name", "gwc", "row",
			     "name", gwc, "chassis_name", ob->host, "priority", 1, "op", "insert",
			     "table", "Logical_Router_Port", "uuid-name", "lrp", "row", "name", lrp,
			     "mac", mac, "networks", addr, "gateway_chassis",
			     ovsdb_named_uuid("gwc"), "external_ids",
			     ovsdb_string_map(
				 (const char *const[]){ EXT_R_ID, rid, EXT_GW_PORT, "true", NULL }),
			     "op", "insert", "table", "Logical_Switch_Port", "uuid-name", "lsp",
			     "row", "name", lsp, "type", "router", "addresses", "router", "options",
			     ovsdb_string_map((const char *const[]){ "router-port", lrp, NULL }),
			     "external_ids",
			     ovsdb_string_map((const char *const[]){ EXT_R_ID, rid, EXT_GW_PORT,
								     "true", NULL })));
		json_array_append_new(
		    ops, op_set("Logical_Router", lr_uuid, "ports", "insert",
				json_pack("[s, [o]]", "set", ovsdb_named_uuid("lrp"))));
		json_array_append_new(
		    ops, op_set("Logical_Switch", net.id, "ports", "insert",
				json_pack("[s, [o]]", "set", ovsdb_named_uuid("lsp"))));
		if (*net.gateway) {
			json_array_append_new(
			    ops,
			    json_pack(
				"{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "op", "insert", "table",
				"Logical_Router_Static_Route", "uuid-name", "route", "row",
				"ip_prefix", "0.0.0.0/0", "nexthop", net.gateway, "output_port",
				lrp, "external_ids",
				ovsdb_string_map((const char *const[]){ EXT_R_ID, rid, NULL })));
			json_array_append_new(
			    ops, op_set("Logical_Router", lr_uuid, "static_routes", "insert",
					json_pack("[s, [o]]", "set", ovsdb_named_uuid("route"))));
		}
		json_array_foreach(lrps, i, p) {
			char uname[16];

			if (!snat || ovn_ext_of(p, EXT_GW_PORT) || !ovn_ext_of(p, EXT_RP_CIDR) ||
			    strchr(ovn_ext_of(p, EXT_RP_CIDR), ':'))
				continue;
			snprintf(uname, sizeof(uname), "snat%zu", k++);
			snat_ops(lr_uuid, rid, ip, ovn_ext_of(p, EXT_RP_CIDR),
				 ovn_ext_of(p, EXT_NAT_NETID) ?: "", uname, ops);
		}
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:o, s:[[s, s, o]]}", "op", "mutate", "table",
				   "Logical_Router", "where", ovn_where_uuid(lr_uuid), "mutations",
				   "external_ids", "insert",
				   ovsdb_string_map((const char *const[]){
				       EXT_R_GW_NET, net.name, EXT_R_GW_IP, ip, EXT_R_SNAT,
				       snat ? "true" : "false", NULL })));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	}
	if (r == -ETIMEDOUT)
		set_errmsg(reterr_msg, "external network %s kept changing; try again", ext);
	return r;
}

int ovn_router_gateway(struct backend *b, const char *router, const char *ext, bool snat,
		       char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *lr = NULL, *lr2 = NULL;
	int r;

	r = ovn_find_router(ob, router, &lr, reterr_msg);
	if (r < 0)
		return r;
	/* A new gateway replaces the old one, as in Neutron. */
	r = clear_gateway(ob, lr, reterr_msg);
	if (r < 0 || !ext)
		return r;
	r = ovn_find_router(ob, ovn_ext_of(lr, EXT_R_ID), &lr2, reterr_msg);
	if (r < 0)
		return r;
	return set_gateway(ob, lr2, ext, snat, reterr_msg);
}

int ovn_router_delete(struct backend *b, const char *router, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *lr = NULL, *lrps = NULL, *res = NULL;
	size_t n = 0, i;
	json_t *p;
	int r;

	r = ovn_find_router(ob, router, &lr, reterr_msg);
	if (r == 0)
		r = router_ports(ob, lr, &lrps, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(lrps, i, p)
		n += !ovn_ext_of(p, EXT_GW_PORT);
	if (n) {
		set_errmsg(reterr_msg, "router %s still has %zu subnet%s (router remove-subnet)",
			   router, n, n == 1 ? "" : "s");
		return -EBUSY;
	}
	r = clear_gateway(ob, lr, reterr_msg);
	if (r < 0)
		return r;
	/* Logical_Router is a root table; what it holds goes with it. */
	return ovn_transact(ob,
			    json_pack("[{s:s, s:s, s:o}]", "op", "delete", "table",
				      "Logical_Router", "where", ovn_where_uuid(ovn_uuid_of(lr))),
			    NB_TIMEOUT_MS, &res, reterr_msg);
}

int ovn_router_of_network(struct ovn_backend *ob, const char *ls_uuid, json_t **ret,
			  char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *lsp;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:o}]", "op", "select", "table",
				   "Logical_Switch_Port", "where",
				   ovn_where_ext(EXT_ROUTED, ls_uuid)),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	lsp = json_array_get(ovn_first_rows(res), 0);
	if (!lsp || !ovn_ext_of(lsp, EXT_R_ID))
		return -ENOENT;
	return ovn_find_router(ob, ovn_ext_of(lsp, EXT_R_ID), ret, reterr_msg);
}
