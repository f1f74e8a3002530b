/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": ports as Logical_Switch_Ports, one at a time or in bulk for
 * pools, their addresses from ovn-northd's IPAM (dynamic_addresses) unless
 * the runtime asked for one. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "ovn-private.h"

/* "MAC IP [IP...]" -> mac, the first IPv4 and the first IPv6 address (on a
 * switch with both subnet and ipv6_prefix, ovn-northd's dynamic_addresses
 * is "MAC IPv4 IPv6"). An IPv6 address of OVN's IPAM is in a /64. */
static void parse_lsp_address(const char *s, struct kuryr_port *p)
{
	char mac[18] = "", ip[2][48] = { "", "" };
	int n;

	if (!s || (n = sscanf(s, "%17s %47s %47s", mac, ip[0], ip[1])) < 1)
		return;
	if (!streq(mac, "dynamic") && !streq(mac, "unknown") && !streq(mac, "router"))
		str_copy(p->mac, mac, sizeof(p->mac));
	for (int i = 0; i < n - 1; i++) {
		if (!*ip[i] || streq(ip[i], "dynamic"))
			continue;
		if (!strchr(ip[i], ':')) {
			if (!*p->ip || i == 0)
				str_copy(p->ip, ip[i], sizeof(p->ip));
		} else {
			str_copy(p->ip6, ip[i], sizeof(p->ip6));
			p->prefixlen6 = 64;
		}
	}
}

void ovn_row_to_port(json_t *row, struct kuryr_port *p)
{
	json_t *ext = json_object_get(row, "external_ids");
	const char *addrs[KURYR_MAX_ADDR_PAIRS + 4], *dyn[1], *owner;
	size_t n, own = 0;

	*p = (struct kuryr_port){ 0 };
	str_copy(p->name, json_object_get_str(row, "name"), sizeof(p->name));
	str_copy(p->network, ovsdb_map_get(ext, EXT_NETWORK), sizeof(p->network));
	str_copy(p->device_id, ovsdb_map_get(ext, EXT_DEVICE), sizeof(p->device_id));
	str_copy(p->host, ovsdb_map_get(ext, EXT_HOST), sizeof(p->host));
	str_copy(p->migrating_to, ovsdb_map_get(ext, EXT_MIGRATING), sizeof(p->migrating_to));
	str_copy(p->ifname, ovsdb_map_get(ext, EXT_IFNAME), sizeof(p->ifname));
	str_copy(p->pool_key, ovsdb_map_get(ext, EXT_POOL_KEY), sizeof(p->pool_key));
	owner = ovsdb_map_get(ext, EXT_OWNER);
	p->owner = !owner		  ? PORT_OWNER_CONTAINER
		   : streq(owner, "vm")	  ? PORT_OWNER_VM
		   : streq(owner, "pool") ? PORT_OWNER_POOL
					  : PORT_OWNER_CONTAINER;
	/* The port's own entry ("MAC dynamic", "MAC IP") beside the bare MACs
	 * of its allowed address pairs and "unknown" (portsec.c). */
	n = ovsdb_datum_strings(json_object_get(row, "addresses"), addrs, ELEMENTSOF(addrs));
	if (n > ELEMENTSOF(addrs))
		n = ELEMENTSOF(addrs);
	for (size_t i = n; i-- > 0;)
		if (strchr(addrs[i], ' '))
			own = i;
	if (n > 0)
		parse_lsp_address(addrs[own], p);
	if (ovsdb_datum_strings(json_object_get(row, "dynamic_addresses"), dyn, 1) == 1)
		parse_lsp_address(dyn[0], p);
	p->up = json_is_true(json_object_get(row, "up"));
	ovn_portsec_read(row, p);
}

static const char *owner_name(enum port_owner o)
{
	return o == PORT_OWNER_VM ? "vm" : o == PORT_OWNER_POOL ? "pool" : "container";
}

/* The Logical_Switch_Port named @ref (kuryrd names ports by a uuid of its
 * own), or else the one whose _uuid it is. */
int ovn_find_lsp(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *rows;
	int r;

	r = ovn_transact(ob, ovn_ops_select_ref("Logical_Switch_Port", ref), NB_TIMEOUT_MS, &res,
			 reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows_of_two(res);
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "port \"%s\" does not exist", ref);
		return -ENOENT;
	}
	*ret = json_incref(json_array_get(rows, 0));
	return 0;
}

int ovn_port_get(struct backend *b, const char *name, struct kuryr_port *ret, char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	int r;

	r = ovn_find_lsp(to_ovn(b), name, &row, reterr_msg);
	if (r == 0)
		ovn_row_to_port(row, ret);
	return r;
}

int ovn_port_by_mac(struct backend *b, const char *mac, struct kuryr_port *ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_port p, found = { 0 };
	json_t *ops, *row;
	size_t i;
	int r;

	ops = json_pack("[{s:s, s:s, s:[]}]", "op", "select", "table", "Logical_Switch_Port",
			"where");
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(ovn_first_rows(res), i, row) {
		/* Its own entry's MAC, not the bare ones of its pairs. */
		ovn_row_to_port(row, &p);
		if (strcasecmp(p.mac, mac) != 0)
			continue;
		if (*found.name) {
			set_errmsg(reterr_msg, "ports %s and %s both have MAC %s", found.name,
				   p.name, mac);
			return -ENOTUNIQ;
		}
		found = p;
	}
	if (!*found.name) {
		set_errmsg(reterr_msg, "no port has MAC %s", mac);
		return -ENOENT;
	}
	*ret = found;
	return 0;
}

/* Whether uuid set datum @d (["uuid", u] or ["set", [["uuid", u], ...]])
 * holds @uuid. */
static bool datum_has_uuid(json_t *d, const char *uuid)
{
	const char *one = ovsdb_datum_uuid(d);
	json_t *e;
	size_t i;

	if (one)
		return streq(one, uuid);
	if (!streq_ptr(json_string_value(json_array_get(d, 0)), "set"))
		return false;
	json_array_foreach(json_array_get(d, 1), i, e) {
		if (streq_ptr(ovsdb_datum_uuid(e), uuid))
			return true;
	}
	return false;
}

int ovn_port_list(struct backend *b, const char *network, struct kuryr_port **ret, size_t *ret_n,
		  char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL, *ls = NULL;
	_cleanup_free_ struct kuryr_port *ports = NULL;
	const char *name = NULL;
	json_t *rows, *ops, *where;
	size_t n = 0;
	int r;

	/* The network by name or _uuid; its ports are those of that switch
	 * (not of another that shares its name). */
	if (network) {
		r = ovn_find_switch(to_ovn(b), network, &ls, reterr_msg);
		if (r < 0)
			return r;
		name = json_object_get_str(ls, "name");
	}
	/* Every port of ours carries kuryr:network. */
	where = name ? json_pack("[o]", ovsdb_cond("external_ids", "includes",
						   ovsdb_string_map((const char *const[]){
						       EXT_NETWORK, name, NULL })))
		     : json_array();
	ops = json_pack("[{s:s, s:s, s:o}]", "op", "select", "table", "Logical_Switch_Port",
			"where", where);
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows(res);
	ports = calloc(json_array_size(rows) + 1, sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);

		if (ls && !datum_has_uuid(json_object_get(ls, "ports"),
					  ovsdb_datum_uuid(json_object_get(row, "_uuid")) ?: ""))
			continue;
		if (ovsdb_map_get(json_object_get(row, "external_ids"), EXT_NETWORK))
			ovn_row_to_port(row, &ports[n++]);
	}
	*ret = TAKE_PTR(ports);
	*ret_n = n;
	return 0;
}

/* As Neutron: a trunk's parent port, or a subport, is not deleted while
 * the trunk has it (its children would point at nothing and stay
 * unbound). */
static int check_not_in_trunk(json_t *row, const char *name, char **reterr_msg)
{
	json_t *ext = json_object_get(row, "external_ids");
	const char *trunk = ovsdb_map_get(ext, EXT_TRUNK_ID);
	const char *tname = ovsdb_map_get(ext, EXT_TRUNK_NAME);
	const char *parent[1] = { NULL };

	if (trunk) {
		set_errmsg(reterr_msg, "port %s is the parent of trunk %s (trunk delete first)",
			   name, tname && *tname ? tname : trunk);
		return -EBUSY;
	}
	if (ovsdb_datum_strings(json_object_get(row, "parent_name"), parent, 1) == 1 &&
	    *parent[0]) {
		set_errmsg(reterr_msg,
			   "port %s is a subport of port %s's trunk (trunk remove-subport first)",
			   name, parent[0]);
		return -EBUSY;
	}
	return 0;
}

int ovn_port_delete(struct backend *b, const char *name, char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL, *res2 = NULL;
	const char *uuid;
	json_t *ops;
	int r;

	r = ovn_find_lsp(to_ovn(b), name, &row, reterr_msg);
	if (r < 0)
		return r;
	uuid = ovsdb_datum_uuid(json_object_get(row, "_uuid"));
	if (!uuid)
		return -EIO;
	r = check_not_in_trunk(row, name, reterr_msg);
	if (r < 0)
		return r;
	/* Its floating IPs go first: another port may get its address. */
	r = ovn_fip_drop_for_port(to_ovn(b), json_object_get_str(row, "name"), reterr_msg);
	if (r < 0)
		return r;
	/* Removing the port from its switch's "ports" garbage-collects the
	 * row: Logical_Switch_Port is not a root table. */
	ops =
	    json_pack("[{s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]", "op", "mutate", "table",
		      "Logical_Switch", "where", ovsdb_cond("ports", "includes", ovsdb_uuid(uuid)),
		      "mutations", "ports", "delete", "set", ovsdb_uuid(uuid));
	/* Its QoS rows go with it. */
	if (ovsdb_map_get(json_object_get(row, "external_ids"), EXT_QOS_POLICY)) {
		r = ovn_qos_port_delete_ops(to_ovn(b), json_object_get_str(row, "name"), ops,
					    reterr_msg);
		if (r < 0) {
			json_decref(ops);
			return r;
		}
	}
	return ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res2, reterr_msg);
}

/* The network a port spec names: as the caller already read it, or from NB;
 * with its subnet parsed. */
static int spec_network(struct backend *b, const struct port_spec *spec, struct kuryr_network *net,
			uint32_t *subnet, uint8_t *len, char **reterr_msg)
{
	int r;

	if (spec->net)
		*net = *spec->net;
	else {
		r = ovn_network_get(b, spec->network, net, reterr_msg);
		if (r < 0)
			return r;
	}
	*subnet = 0;
	*len = 0;
	if (!*net->cidr && !*net->cidr6) {
		set_errmsg(reterr_msg, "network %s has no subnet", net->name);
		return -EINVAL;
	}
	if (*net->cidr && cidr4_parse(net->cidr, subnet, len) < 0) {
		set_errmsg(reterr_msg, "network %s has a bad subnet \"%s\"", net->name, net->cidr);
		return -EINVAL;
	}
	return 0;
}

/* The address OVN's IPAM gives a port with MAC @mac on IPv6 subnet @cidr6
 * (a /64): the prefix and the MAC's EUI-64, for a port whose IPv4 address
 * is fixed (then ovn-northd hands out neither). */
static int eui64_address(const char *cidr6, const char *mac, char out[48])
{
	char prefix[INET6_ADDRSTRLEN];
	uint8_t a[16], m[6];
	uint8_t len;

	if (addr_split(cidr6, prefix, sizeof(prefix), &len) < 0 || len != 64 ||
	    inet_pton(AF_INET6, prefix, a) != 1 || mac_parse(mac, m) < 0)
		return -EINVAL;
	a[8] = m[0] ^ 0x02;
	a[9] = m[1];
	a[10] = m[2];
	a[11] = 0xff;
	a[12] = 0xfe;
	a[13] = m[3];
	a[14] = m[4];
	a[15] = m[5];
	return inet_ntop(AF_INET6, a, out, 48) ? 0 : -EINVAL;
}

/* The MAC whose EUI-64 interface identifier @ip6 ends in, if it does
 * (ff:fe in its middle): 0, or -ENOENT. */
static int eui64_mac(const char *ip6, char out[MAC_STR_LEN])
{
	uint8_t a[16];

	if (inet_pton(AF_INET6, ip6, a) != 1 || a[11] != 0xff || a[12] != 0xfe)
		return -ENOENT;
	mac_format((const uint8_t[]){ a[8] ^ 0x02, a[9], a[10], a[13], a[14], a[15] }, out);
	return 0;
}

/* A "wait" op: no Logical_Switch_Port has external_ids @key=@value, or
 * (@key NULL) @addresses among its addresses. */
static json_t *op_wait_none(const char *key, const char *value, const char *addresses)
{
	json_t *cond = key ? ovsdb_cond("external_ids", "includes",
					ovsdb_string_map((const char *const[]){ key, value, NULL }))
			   : ovsdb_cond("addresses", "includes", json_string(addresses));

	return json_pack("{s:s, s:s, s:[o], s:[s], s:s, s:[], s:i}", "op", "wait", "table",
			 "Logical_Switch_Port", "where", cond, "columns", "name", "until",
			 "==", "rows", "timeout", 0);
}

/* Wait for ovn-northd to fill dynamic_addresses, then read it back. */
static int ovn_wait_dynamic(struct ovn_backend *ob, const char *name, struct kuryr_port *p,
			    char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *rows;
	int r;

	ops = json_pack("[{s:s, s:s, s:o, s:[s], s:s, s:[{s:[s, []]}], s:i},"
			" {s:s, s:s, s:o}]",
			"op", "wait", "table", "Logical_Switch_Port", "where", ovn_where_name(name),
			"columns", "dynamic_addresses", "until", "!=", "rows", "dynamic_addresses",
			"set", "timeout", IPAM_TIMEOUT_MS, "op", "select", "table",
			"Logical_Switch_Port", "where", ovn_where_name(name));
	r = ovn_transact(ob, ops, IPAM_TIMEOUT_MS + NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg,
			   "OVN gave port %s no address within %d ms (subnet full, or ovn-northd "
			   "not running)",
			   name, IPAM_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	if (r < 0)
		return r;
	rows = json_object_get(json_array_get(res, 1), "rows");
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "port %s vanished while waiting for its address", name);
		return -ENOENT;
	}
	ovn_row_to_port(json_array_get(rows, 0), p);
	return kuryr_port_has_ip(p) ? 0 : -EIO;
}

/* What a port spec asks beyond network and address: the Port_Groups of
 * its security groups (the node's [neutron_defaults] pod_security_groups,
 * else "default", where it names none), and its project kept in
 * external_ids. */
static int spec_policies(struct ovn_backend *ob, const struct port_spec *spec, json_t **ret_pgs,
			 char **reterr_msg)
{
	const char *const *sgs = spec->security_groups;

	if (spec->no_port_security) {
		/* Neutron's PortSecurityAndIPRequiredForSecurityGroups (409). */
		if (sgs) {
			set_errmsg(reterr_msg, "security groups need port security");
			return -EBUSY;
		}
		*ret_pgs = json_array();
		return 0;
	}
	if (!sgs && ob->pod_sgs)
		sgs = (const char *const *)ob->pod_sgs;
	return ovn_sg_port_groups(ob, sgs, ret_pgs, reterr_msg);
}

/* The QoS policy a port spec asks for: its own, else for a container's or
 * a pool's port the node's [neutron_defaults] pod_qos_policy (as on
 * Neutron); NULL: none. */
static const char *spec_qos(struct ovn_backend *ob, const struct port_spec *spec)
{
	if (spec->qos_policy)
		return spec->qos_policy;
	return spec->owner != PORT_OWNER_VM ? ob->pod_qos : NULL;
}

int ovn_port_create(struct backend *b, const struct port_spec *spec, struct kuryr_port *ret,
		    char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *res = NULL, *pgs = NULL;
	struct kuryr_network net;
	const char *qos = spec_qos(ob, spec);
	struct kuryr_port p = { 0 };
	struct kuryr_addr_pair pairs[KURYR_MAX_ADDR_PAIRS];
	bool on = !spec->no_port_security, fixed;
	char name[64], mac[18], addr[128], qos_id[40] = "", ip6[48] = "", ips[100] = "";
	uint32_t subnet;
	unsigned nwait = 0;
	uint8_t len;
	json_t *ops, *ext, *refs;
	int r;

	/* The transaction below re-checks that the network still exists,
	 * and that the groups do. */
	r = spec_network(b, spec, &net, &subnet, &len, reterr_msg);
	if (r < 0)
		return r;
	if (spec->name)
		str_copy(name, spec->name, sizeof(name));
	else
		uuid_random(name);
	if (spec->mac) {
		uint8_t m[6];

		if (mac_parse(spec->mac, m) < 0 || (m[0] & 1)) {
			set_errmsg(reterr_msg, "MAC \"%s\" is not a unicast MAC address",
				   spec->mac);
			return -EINVAL;
		}
		str_copy(mac, spec->mac, sizeof(mac));
		for (char *c = mac; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	} else
		mac_random(mac);

	if (spec->ip) {
		struct in_addr a;

		if (!*net.cidr || inet_pton(AF_INET, spec->ip, &a) != 1 ||
		    !ip4_in_subnet(ntohl(a.s_addr), subnet, len) || streq(spec->ip, net.gateway)) {
			set_errmsg(reterr_msg, "IP %s is not a free host address of %s (%s)",
				   spec->ip, net.name, *net.cidr ? net.cidr : "no IPv4 subnet");
			return -EINVAL;
		}
	}
	if (spec->ip6) {
		if (!ip6_in_prefix(spec->ip6, net.cidr6, ip6) || streq(ip6, net.gateway6)) {
			set_errmsg(reterr_msg, "IP %s is not a free host address of %s (%s)",
				   spec->ip6, net.name, *net.cidr6 ? net.cidr6 : "no IPv6 subnet");
			return -EINVAL;
		}
		/* ovn-northd fills in the IPv4 address of "dynamic IPv6", and
		 * makes the MAC then. */
		if (!spec->ip && *net.cidr && (spec->mac || spec->n_pairs)) {
			set_errmsg(reterr_msg,
				   "OVN makes the MAC of a port with a fixed IPv6 address and a "
				   "dynamic IPv4 one: give its IPv4 address too, or no MAC or "
				   "address pairs");
			return -EINVAL;
		}
	} else if (spec->ip && *net.cidr6 && eui64_address(net.cidr6, mac, ip6) < 0) {
		/* ovn-northd leaves a port with a fixed address alone: its
		 * IPv6 one is what it would have made. */
		set_errmsg(reterr_msg, "network %s has a bad IPv6 subnet \"%s\"", net.name,
			   net.cidr6);
		return -EINVAL;
	}
	fixed = spec->ip || (spec->ip6 && !*net.cidr);
	if (fixed) {
		snprintf(ips, sizeof(ips), "%s%s%s", spec->ip ?: "", spec->ip && *ip6 ? " " : "",
			 ip6);
		snprintf(addr, sizeof(addr), "%s %s", mac, ips);
	} else if (spec->ip6)
		snprintf(addr, sizeof(addr), "dynamic %s", ip6);
	else
		snprintf(addr, sizeof(addr), "%s dynamic", mac);
	r = ovn_portsec_pairs(name, spec->pairs, spec->n_pairs, mac, on, pairs, reterr_msg);
	if (r < 0)
		return r;
	/* Last of the checks: it may make the default group. */
	r = spec_policies(ob, spec, &pgs, reterr_msg);
	if (r < 0)
		return r;

	ext = ovsdb_string_map((const char *const[]){
	    EXT_NETWORK, net.name, EXT_OWNER, owner_name(spec->owner), EXT_DEVICE,
	    spec->device_id ? spec->device_id : "", EXT_IFNAME, spec->ifname ? spec->ifname : "",
	    EXT_PROJECT, spec->project ? spec->project : "", spec->ip ? EXT_IP : NULL, spec->ip,
	    NULL });
	if (*ip6)
		ovn_map_put(ext, EXT_IP6, ip6);
	/* Which node's: its kuryrd alone sweeps, adopts or pools it. */
	if (spec->owner != PORT_OWNER_VM && *ob->host)
		ovn_map_put(ext, EXT_HOST, ob->host);
	ovn_portsec_ext(ext, pairs, spec->n_pairs);
	ops = json_pack("[o, o, {s:s, s:s, s:s, s:{s:s, s:o, s:o, s:o}},"
			" {s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]",
			ovn_op_wait_name("Logical_Switch", net.name, true),
			ovn_op_wait_name("Logical_Switch_Port", name, false), "op", "insert",
			"table", "Logical_Switch_Port", "uuid-name", "lsp", "row", "name", name,
			"addresses", ovn_portsec_addresses(addr, mac, pairs, spec->n_pairs, on),
			"port_security", ovn_portsec_column(mac, ips, pairs, spec->n_pairs, on),
			"external_ids", ext, "op", "mutate", "table", "Logical_Switch", "where",
			ovsdb_cond("_uuid", "==", ovsdb_uuid(net.id)), "mutations", "ports",
			"insert", "set", ovsdb_named_uuid("lsp"));
	/* No other port of ours may hold a fixed address: one it was given
	 * (kuryr:ip, kuryr:ip6), or the IPv6 one ovn-northd makes from a
	 * dynamic port's MAC. */
	if (spec->ip) {
		json_array_insert_new(ops, nwait++, op_wait_none(EXT_IP, spec->ip, NULL));
		/* Nor the address the network's health checks probe from. */
		json_array_insert_new(ops, nwait++, ovn_lb_probe_ip_wait_op(net.id, spec->ip));
	}
	if (spec->ip6) {
		char owner[MAC_STR_LEN + 8];

		json_array_insert_new(ops, nwait++, op_wait_none(EXT_IP6, ip6, NULL));
		if (eui64_mac(ip6, owner) == 0) {
			strcat(owner, " dynamic");
			json_array_insert_new(ops, nwait++, op_wait_none(NULL, NULL, owner));
		}
	}
	refs = json_pack("[o]", ovsdb_named_uuid("lsp"));
	ovn_sg_join_ops(ops, pgs, refs);
	json_decref(refs);
	if (qos) {
		_cleanup_json_ json_t *lsps = json_pack("[s]", name);

		r = ovn_qos_port_ops(ob, qos, lsps, net.id, ops, qos_id, reterr_msg);
		if (r < 0) {
			json_decref(ops);
			return r;
		}
	}
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT && *qos_id && ovn_qos_gone(ob, qos_id)) {
		set_errmsg(reterr_msg, "QoS policy %s was deleted meanwhile", qos);
		return -ESRCH;
	}
	if (r == -ETIMEDOUT) {
		if (spec->ip || spec->ip6)
			set_errmsg(reterr_msg,
				   "IP %s%s%s is already in use on network %s, or a security group "
				   "vanished",
				   spec->ip ?: "", spec->ip && spec->ip6 ? " or " : "",
				   spec->ip6 ?: "", net.name);
		else
			set_errmsg(reterr_msg,
				   "network %s or a security group vanished, or port %s exists",
				   net.name, name);
		return -EEXIST;
	}
	if (r < 0)
		return r;
	/* The last operation adds the port to the switch by uuid: a switch
	 * deleted and re-created under the same name since the caller read
	 * it matches nothing, and the orphaned port row is dropped. */
	if (json_integer_value(json_object_get(json_array_get(res, nwait + 3), "count")) != 1) {
		set_errmsg(reterr_msg, "network %s changed while the port was being created",
			   net.name);
		return -ENOENT;
	}

	if (!fixed) {
		_cleanup_json_ json_t *res2 = NULL;

		r = ovn_wait_dynamic(ob, name, &p, reterr_msg);
		if (r < 0)
			goto fail;
		kuryr_port_ips_text(&p, ips, sizeof(ips));
		ops = json_pack("[{s:s, s:s, s:o, s:{s:o}}]", "op", "update", "table",
				"Logical_Switch_Port", "where", ovn_where_name(name), "row",
				"port_security",
				ovn_portsec_column(p.mac, ips, pairs, spec->n_pairs, on));
		if (*p.ip)
			json_array_append_new(
			    ops,
			    json_pack(
				"{s:s, s:s, s:o, s:[[s, s, o]]}", "op", "mutate", "table",
				"Logical_Switch_Port", "where", ovn_where_name(name), "mutations",
				"external_ids", "insert",
				ovsdb_string_map((const char *const[]){ EXT_IP, p.ip, NULL })));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res2, reterr_msg);
		if (r < 0)
			goto fail;
	} else {
		r = ovn_port_get(b, name, &p, reterr_msg);
		if (r < 0)
			goto fail;
	}
	p.prefixlen = len;
	*ret = p;
	return 0;
fail:
	(void)ovn_port_delete(b, name, NULL);
	return r;
}

/* Bulk creation for pools: one transaction inserts every port, one "wait"
 * lets ovn-northd hand out all the addresses, one transaction sets every
 * port_security. Three round trips whatever @n. */
int ovn_port_create_bulk(struct backend *b, const struct port_spec *spec, unsigned n,
			 struct kuryr_port *ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *res = NULL, *res2 = NULL, *res3 = NULL, *pgs = NULL;
	_cleanup_json_ json_t *names = json_array();
	struct kuryr_network net;
	json_t *ops, *refs, *rows, *batch_map;
	const char *qos = spec_qos(ob, spec);
	char batch[37], qos_id[40] = "";
	uint32_t subnet;
	uint8_t len;
	unsigned got = 0;
	int r;

	if (n == 0)
		return 0;
	r = spec_network(b, spec, &net, &subnet, &len, reterr_msg);
	if (r < 0)
		return r;
	r = spec_policies(ob, spec, &pgs, reterr_msg);
	if (r < 0)
		return r;
	uuid_random(batch);
	batch_map = ovsdb_string_map((const char *const[]){ "kuryr:batch", batch, NULL });
	ops = json_pack("[o]", ovn_op_wait_name("Logical_Switch", net.name, true));
	refs = json_array();
	for (unsigned i = 0; i < n; i++) {
		char name[37], mac[18], addr[64], uname[16];

		uuid_random(name);
		mac_random(mac);
		snprintf(addr, sizeof(addr), "%s dynamic", mac);
		snprintf(uname, sizeof(uname), "lsp%u", i);
		json_array_append_new(
		    ops,
		    json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "op", "insert", "table",
			      "Logical_Switch_Port", "uuid-name", uname, "row", "name", name,
			      "addresses", addr, "port_security", mac, "external_ids",
			      ovsdb_string_map((const char *const[]){
				  EXT_NETWORK, net.name, EXT_OWNER, owner_name(spec->owner),
				  EXT_DEVICE, spec->device_id ? spec->device_id : "", EXT_PROJECT,
				  spec->project ? spec->project : "", "kuryr:batch", batch,
				  EXT_HOST, ob->host, spec->pool_key ? EXT_POOL_KEY : NULL,
				  spec->pool_key, NULL })));
		json_array_append_new(refs, ovsdb_named_uuid(uname));
		json_array_append_new(names, json_string(name));
	}
	json_array_append_new(
	    ops, json_pack("{s:s, s:s, s:[o], s:[[s, s, [s, o]]]}", "op", "mutate", "table",
			   "Logical_Switch", "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(net.id)),
			   "mutations", "ports", "insert", "set", json_incref(refs)));
	ovn_sg_join_ops(ops, pgs, refs);
	json_decref(refs);
	r = qos ? ovn_qos_port_ops(ob, qos, names, net.id, ops, qos_id, reterr_msg) : 0;
	if (r == 0)
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	else
		json_decref(ops);
	if (r == -ETIMEDOUT && *qos_id && ovn_qos_gone(ob, qos_id)) {
		set_errmsg(reterr_msg, "QoS policy %s was deleted meanwhile", qos);
		r = -ESRCH;
	}
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "network %s or a security group vanished", net.name);
		r = -ENOENT;
	}
	if (r < 0) {
		json_decref(batch_map);
		return r;
	}
	/* Wait until no port of the batch lacks an address, then read them. */
	ops = json_pack("[{s:s, s:s, s:[o, [s, s, [s, []]]], s:[s], s:s, s:[], s:i},"
			" {s:s, s:s, s:[o]}]",
			"op", "wait", "table", "Logical_Switch_Port", "where",
			ovsdb_cond("external_ids", "includes", json_deep_copy(batch_map)),
			"dynamic_addresses", "==", "set", "columns", "name", "until", "==", "rows",
			"timeout", IPAM_TIMEOUT_MS, "op", "select", "table", "Logical_Switch_Port",
			"where", ovsdb_cond("external_ids", "includes", json_deep_copy(batch_map)));
	r = ovn_transact(ob, ops, IPAM_TIMEOUT_MS + NB_TIMEOUT_MS, &res2, reterr_msg);
	if (r == -ETIMEDOUT)
		set_errmsg(reterr_msg, "OVN gave %u ports on %s no address within %d ms", n,
			   net.name, IPAM_TIMEOUT_MS);
	if (r < 0)
		goto fail;
	rows = json_object_get(json_array_get(res2, 1), "rows");
	ops = json_array();
	for (size_t i = 0; i < json_array_size(rows) && got < n; i++) {
		struct kuryr_port *p = &ret[got];
		char ps[160], ips[100];

		ovn_row_to_port(json_array_get(rows, i), p);
		if (!kuryr_port_has_ip(p) || !*p->mac)
			continue;
		p->prefixlen = len;
		got++;
		kuryr_port_ips_text(p, ips, sizeof(ips));
		snprintf(ps, sizeof(ps), "%s %s", p->mac, ips);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:{s:s}}", "op", "update",
						     "table", "Logical_Switch_Port", "where",
						     ovn_where_name(p->name), "row",
						     "port_security", ps));
		if (*p->ip)
			json_array_append_new(
			    ops,
			    json_pack(
				"{s:s, s:s, s:o, s:[[s, s, o]]}", "op", "mutate", "table",
				"Logical_Switch_Port", "where", ovn_where_name(p->name),
				"mutations", "external_ids", "insert",
				ovsdb_string_map((const char *const[]){ EXT_IP, p->ip, NULL })));
	}
	if (got != n) {
		json_decref(ops);
		set_errmsg(reterr_msg, "OVN returned %u of %u ports on %s", got, n, net.name);
		r = -EIO;
		goto fail;
	}
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res3, reterr_msg);
	if (r < 0)
		goto fail;
	json_decref(batch_map);
	return 0;
fail : {
	/* Drop the whole batch: its ports leave the switch and are collected. */
	_cleanup_json_ json_t *sel = NULL, *del = NULL;
	json_t *srows, *uuids;

	ops = json_pack("[{s:s, s:s, s:[o], s:[s]}]", "op", "select", "table",
			"Logical_Switch_Port", "where",
			ovsdb_cond("external_ids", "includes", batch_map), "columns", "_uuid");
	if (ovn_transact(ob, ops, NB_TIMEOUT_MS, &sel, NULL) == 0) {
		srows = ovn_first_rows(sel);
		uuids = json_array();
		for (size_t i = 0; i < json_array_size(srows); i++)
			json_array_append_new(uuids, json_deep_copy(json_object_get(
							 json_array_get(srows, i), "_uuid")));
		ops = json_pack("[{s:s, s:s, s:[o], s:[[s, s, [s, o]]]}]", "op", "mutate", "table",
				"Logical_Switch", "where",
				ovsdb_cond("_uuid", "==", ovsdb_uuid(net.id)), "mutations", "ports",
				"delete", "set", uuids);
		(void)ovn_transact(ob, ops, NB_TIMEOUT_MS, &del, NULL);
	}
}
	return r;
}

int ovn_port_wait_up(struct backend *b, const char *name, int timeout_ms, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops;
	int r;

	/* ovsdb-server re-evaluates the wait on every commit: no polling. */
	ops = json_pack("[{s:s, s:s, s:o, s:[s], s:s, s:[{s:b}], s:i}]", "op", "wait", "table",
			"Logical_Switch_Port", "where", ovn_where_name(name), "columns", "up",
			"until", "==", "rows", "up", 1, "timeout", timeout_ms);
	r = ovn_transact(to_ovn(b), ops, timeout_ms + NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT)
		set_errmsg(reterr_msg, "port %s did not come up within %d ms", name, timeout_ms);
	return r;
}
