/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": Kuryr-C as its own network controller, writing OVN's
 * Northbound database over OVSDB the way Neutron's ML2/OVN driver does.
 *
 *   network -> Logical_Switch (named by its _uuid or its name): other_config:
 *              subnet/exclude_ips drive OVN's own IPAM; our facts (cidr,
 *              gateway, mtu) in external_ids
 *   port    -> Logical_Switch_Port (by name or _uuid): addresses "MAC
 *              dynamic" (or "MAC IP" when the runtime asked for an address),
 *              port_security "MAC IP" once the address is known, our facts
 *              in external_ids
 *
 * Uniqueness (network names, requested IPs) is enforced inside the same
 * transaction with "wait" operations, so concurrent kuryrds on several nodes
 * sharing one NB cannot both win. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>

#include "conf-value.h"
#include "ovn.h"
#include "json-util.h"
#include "ovsdb/ovsdb.h"

#define NB		"OVN_Northbound"
#define NB_TIMEOUT_MS	10000
/* How long ovn-northd may take to hand out a dynamic address. */
#define IPAM_TIMEOUT_MS 5000

#define EXT_CIDR    "kuryr:cidr"
#define EXT_GATEWAY "kuryr:gateway"
#define EXT_MTU	    "kuryr:mtu"
#define EXT_NETWORK "kuryr:network"
#define EXT_OWNER   "kuryr:device_owner"
#define EXT_DEVICE  "kuryr:device_id"
#define EXT_IFNAME  "kuryr:ifname"
#define EXT_IP	    "kuryr:ip"

struct ovn_backend {
	struct backend base;
	struct ovsdb_session *nb;
	char *where; /* "nb=TARGET" */
};

static struct ovn_backend *to_ovn(struct backend *b)
{
	return (struct ovn_backend *)b;
}

/* Run @ops (stolen) on the Northbound database. */
static int ovn_transact(struct ovn_backend *ob, json_t *ops, int timeout_ms, json_t **ret,
			char **reterr_msg)
{
	int r = ovsdb_session_transact(ob->nb, ops, timeout_ms, ret, reterr_msg);

	/* Lost while the transaction was out: unreachable, as when the
	 * session cannot reconnect (-ENOTCONN). */
	return r == -ECONNRESET ? -ENOTCONN : r;
}

static bool ovn_connected(struct backend *b)
{
	return ovsdb_session_connected(to_ovn(b)->nb);
}

static const char *ovn_describe(struct backend *b)
{
	return to_ovn(b)->where;
}

static json_t *where_name(const char *name)
{
	return json_pack("[o]", ovsdb_cond("name", "==", json_string(name)));
}

/* A "wait" that fails the transaction unless a row of @table named @name
 * exists (@exists true) or does not (@exists false). */
static json_t *op_wait_name(const char *table, const char *name, bool exists)
{
	return json_pack("{s:s, s:s, s:o, s:[s], s:s, s:[], s:i}", "op", "wait", "table", table,
			 "where", where_name(name), "columns", "name", "until",
			 exists ? "!=" : "==", "rows", "timeout", 0);
}

static size_t datum_set_size(json_t *d)
{
	const char *tag = json_string_value(json_array_get(d, 0));

	if (!tag)
		return 0;
	if (streq(tag, "set"))
		return json_array_size(json_array_get(d, 1));
	return 1; /* a bare atom, e.g. ["uuid", "..."] */
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static void row_to_network(json_t *row, struct kuryr_network *n)
{
	json_t *ext = json_object_get(row, "external_ids");
	const char *mtu = ovsdb_map_get(ext, EXT_MTU);

	*n = (struct kuryr_network){ 0 };
	copy_str(n->name, sizeof(n->name), json_object_get_str(row, "name"));
	copy_str(n->id, sizeof(n->id), ovsdb_datum_uuid(json_object_get(row, "_uuid")));
	copy_str(n->cidr, sizeof(n->cidr), ovsdb_map_get(ext, EXT_CIDR));
	copy_str(n->gateway, sizeof(n->gateway), ovsdb_map_get(ext, EXT_GATEWAY));
	n->mtu = mtu ? (uint32_t)strtoul(mtu, NULL, 10) : KURYR_DEFAULT_MTU;
	n->nports = (unsigned)datum_set_size(json_object_get(row, "ports"));
}

/* "MAC IP [IP...]" -> mac, first ip. */
static void parse_lsp_address(const char *s, struct kuryr_port *p)
{
	char mac[18] = "", ip[48] = "";

	if (!s || sscanf(s, "%17s %47s", mac, ip) < 1)
		return;
	if (!streq(mac, "dynamic") && !streq(mac, "unknown") && !streq(mac, "router"))
		copy_str(p->mac, sizeof(p->mac), mac);
	if (*ip && !streq(ip, "dynamic"))
		copy_str(p->ip, sizeof(p->ip), ip);
}

static void row_to_port(json_t *row, struct kuryr_port *p)
{
	json_t *ext = json_object_get(row, "external_ids");
	const char *addrs[4], *dyn[1], *owner;
	size_t n;

	*p = (struct kuryr_port){ 0 };
	copy_str(p->name, sizeof(p->name), json_object_get_str(row, "name"));
	copy_str(p->network, sizeof(p->network), ovsdb_map_get(ext, EXT_NETWORK));
	copy_str(p->device_id, sizeof(p->device_id), ovsdb_map_get(ext, EXT_DEVICE));
	copy_str(p->ifname, sizeof(p->ifname), ovsdb_map_get(ext, EXT_IFNAME));
	owner = ovsdb_map_get(ext, EXT_OWNER);
	p->owner = !owner		  ? PORT_OWNER_CONTAINER
		   : streq(owner, "vm")	  ? PORT_OWNER_VM
		   : streq(owner, "pool") ? PORT_OWNER_POOL
					  : PORT_OWNER_CONTAINER;
	n = ovsdb_datum_strings(json_object_get(row, "addresses"), addrs, ELEMENTSOF(addrs));
	if (n > 0)
		parse_lsp_address(addrs[0], p);
	if (ovsdb_datum_strings(json_object_get(row, "dynamic_addresses"), dyn, 1) == 1)
		parse_lsp_address(dyn[0], p);
	p->up = json_is_true(json_object_get(row, "up"));
}

static const char *owner_name(enum port_owner o)
{
	return o == PORT_OWNER_VM ? "vm" : o == PORT_OWNER_POOL ? "pool" : "container";
}

static json_t *first_rows(json_t *result)
{
	return json_object_get(json_array_get(result, 0), "rows");
}

static bool is_ours(json_t *ls_row)
{
	return ovsdb_map_get(json_object_get(ls_row, "external_ids"), EXT_CIDR) != NULL;
}

/* "select" of @table where @ref is the name, and, if @ref looks like a
 * uuid, a second "select" where it is the _uuid. */
static json_t *ops_select_ref(const char *table, const char *ref)
{
	json_t *ops = json_pack("[{s:s, s:s, s:o}]", "op", "select", "table", table, "where",
				where_name(ref));

	if (uuid_is_valid(ref))
		json_array_append_new(ops, json_pack("{s:s, s:s, s:[o]}", "op", "select", "table",
						     table, "where",
						     ovsdb_cond("_uuid", "==", ovsdb_uuid(ref))));
	return ops;
}

/* Our Logical_Switch that @ref names: its _uuid, else its name. OVN lets
 * several switches share a name (kuryrd's own create refuses that, other
 * tools may not): such a name is refused, -ENOTUNIQ naming their _uuids.
 * A new reference to the row in *ret, or -ENOENT. */
static int find_switch(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *ids = NULL;
	json_t *rows, *row, *found = NULL;
	size_t i, n = 0;
	int r;

	r = ovn_transact(ob, ops_select_ref("Logical_Switch", ref), NB_TIMEOUT_MS, &res,
			 reterr_msg);
	if (r < 0)
		return r;
	row = json_array_get(json_object_get(json_array_get(res, 1), "rows"), 0);
	if (row && is_ours(row)) {
		*ret = json_incref(row);
		return 0;
	}
	rows = first_rows(res);
	json_array_foreach(rows, i, row) {
		char *more;

		if (!is_ours(row))
			continue;
		more = strdup_printf("%s%s%s", ids ? ids : "", ids ? ", " : "",
				     ovsdb_datum_uuid(json_object_get(row, "_uuid")) ?: "?");
		if (!more)
			return -ENOMEM;
		free(ids);
		ids = more;
		found = row;
		n++;
	}
	if (n == 0) {
		set_errmsg(reterr_msg, "network \"%s\" does not exist", ref);
		return -ENOENT;
	}
	if (n > 1) {
		set_errmsg(reterr_msg,
			   "More than one network exists with the name \"%s\": %s; use an ID", ref,
			   ids);
		return -ENOTUNIQ;
	}
	*ret = json_incref(found);
	return 0;
}

/* Our Logical_Switch named, or with the _uuid, @ref. */
static int ovn_network_get(struct backend *b, const char *ref, struct kuryr_network *ret,
			   char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	int r;

	r = find_switch(to_ovn(b), ref, &row, reterr_msg);
	if (r == 0)
		row_to_network(row, ret);
	return r;
}

static int ovn_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
			    char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ struct kuryr_network *nets = NULL;
	json_t *rows, *ops;
	size_t n = 0;
	int r;

	ops = json_pack("[{s:s, s:s, s:[]}]", "op", "select", "table", "Logical_Switch", "where");
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = first_rows(res);
	nets = calloc(json_array_size(rows) + 1, sizeof(*nets));
	if (!nets)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);

		if (ovsdb_map_get(json_object_get(row, "external_ids"), EXT_CIDR))
			row_to_network(row, &nets[n++]);
	}
	*ret = TAKE_PTR(nets);
	*ret_n = n;
	return 0;
}

static int ovn_network_create(struct backend *b, const struct network_spec *spec,
			      struct kuryr_network *ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	char gw[INET_ADDRSTRLEN] = "", mtu[16];
	uint32_t net;
	uint8_t len;
	json_t *ops, *other, *ext;
	int r;

	if (!spec->name || !*spec->name || strlen(spec->name) >= sizeof(ret->name)) {
		set_errmsg(reterr_msg, "network name must be 1-%zu bytes", sizeof(ret->name) - 1);
		return -EINVAL;
	}
	if (!spec->cidr || cidr4_parse(spec->cidr, &net, &len) < 0) {
		set_errmsg(reterr_msg,
			   "subnet \"%s\" is not an IPv4 network address with prefix length 1-30",
			   spec->cidr ? spec->cidr : "");
		return -EINVAL;
	}
	if (!spec->gateway) {
		struct in_addr a = { .s_addr = htonl(net + 1) };

		inet_ntop(AF_INET, &a, gw, sizeof(gw));
	} else if (*spec->gateway) {
		struct in_addr a;

		if (inet_pton(AF_INET, spec->gateway, &a) != 1 ||
		    !ip4_in_subnet(ntohl(a.s_addr), net, len)) {
			set_errmsg(reterr_msg, "gateway \"%s\" is not a host address of %s",
				   spec->gateway, spec->cidr);
			return -EINVAL;
		}
		copy_str(gw, sizeof(gw), spec->gateway);
	}
	if (spec->mtu && (spec->mtu < 576 || spec->mtu > 9000)) {
		set_errmsg(reterr_msg, "mtu %u is outside 576-9000", spec->mtu);
		return -EINVAL;
	}
	snprintf(mtu, sizeof(mtu), "%u", spec->mtu ? spec->mtu : KURYR_DEFAULT_MTU);

	other = json_pack("[s, [[s, s]]]", "map", "subnet", spec->cidr);
	if (*gw)
		json_array_append_new(json_array_get(other, 1),
				      json_pack("[s, s]", "exclude_ips", gw));
	ext = ovsdb_string_map(
	    (const char *const[]){ EXT_CIDR, spec->cidr, EXT_GATEWAY, gw, EXT_MTU, mtu, NULL });
	ops = json_pack("[o, {s:s, s:s, s:{s:s, s:o, s:o}}]",
			op_wait_name("Logical_Switch", spec->name, false), "op", "insert", "table",
			"Logical_Switch", "row", "name", spec->name, "other_config", other,
			"external_ids", ext);
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "network \"%s\" already exists", spec->name);
		return -EEXIST;
	}
	if (r < 0)
		return r;
	return ovn_network_get(b, spec->name, ret, reterr_msg);
}

static int ovn_network_delete(struct backend *b, const char *name, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network n;
	json_t *ops;
	int r;

	r = ovn_network_get(b, name, &n, reterr_msg);
	if (r < 0)
		return r;
	if (n.nports > 0) {
		set_errmsg(reterr_msg, "network \"%s\" still has %u ports", name, n.nports);
		return -EBUSY;
	}
	/* Delete by uuid, and only while it still has no ports. */
	ops = json_pack("[{s:s, s:s, s:[o], s:[s], s:s, s:[{s:[s,[]]}], s:i},"
			" {s:s, s:s, s:[o]}]",
			"op", "wait", "table", "Logical_Switch", "where",
			ovsdb_cond("_uuid", "==", ovsdb_uuid(n.id)), "columns", "ports", "until",
			"==", "rows", "ports", "set", "timeout", 0, "op", "delete", "table",
			"Logical_Switch", "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(n.id)));
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "network \"%s\" gained ports while being deleted", name);
		return -EBUSY;
	}
	return r;
}

/* The Logical_Switch_Port named @ref (kuryrd names ports by a uuid of its
 * own), or else the one whose _uuid it is. */
static int find_lsp(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *rows;
	int r;

	r = ovn_transact(ob, ops_select_ref("Logical_Switch_Port", ref), NB_TIMEOUT_MS, &res,
			 reterr_msg);
	if (r < 0)
		return r;
	rows = first_rows(res);
	if (json_array_size(rows) == 0)
		rows = json_object_get(json_array_get(res, 1), "rows");
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "port \"%s\" does not exist", ref);
		return -ENOENT;
	}
	*ret = json_incref(json_array_get(rows, 0));
	return 0;
}

static int ovn_port_get(struct backend *b, const char *name, struct kuryr_port *ret,
			char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	int r;

	r = find_lsp(to_ovn(b), name, &row, reterr_msg);
	if (r == 0)
		row_to_port(row, ret);
	return r;
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

static int ovn_port_list(struct backend *b, const char *network, struct kuryr_port **ret,
			 size_t *ret_n, char **reterr_msg)
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
		r = find_switch(to_ovn(b), network, &ls, reterr_msg);
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
	rows = first_rows(res);
	ports = calloc(json_array_size(rows) + 1, sizeof(*ports));
	if (!ports)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);

		if (ls && !datum_has_uuid(json_object_get(ls, "ports"),
					  ovsdb_datum_uuid(json_object_get(row, "_uuid")) ?: ""))
			continue;
		if (ovsdb_map_get(json_object_get(row, "external_ids"), EXT_NETWORK))
			row_to_port(row, &ports[n++]);
	}
	*ret = TAKE_PTR(ports);
	*ret_n = n;
	return 0;
}

static int ovn_port_delete(struct backend *b, const char *name, char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL, *res2 = NULL;
	const char *uuid;
	json_t *ops;
	int r;

	r = find_lsp(to_ovn(b), name, &row, reterr_msg);
	if (r < 0)
		return r;
	uuid = ovsdb_datum_uuid(json_object_get(row, "_uuid"));
	if (!uuid)
		return -EIO;
	/* Removing the port from its switch's "ports" garbage-collects the
	 * row: Logical_Switch_Port is not a root table. */
	ops =
	    json_pack("[{s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]", "op", "mutate", "table",
		      "Logical_Switch", "where", ovsdb_cond("ports", "includes", ovsdb_uuid(uuid)),
		      "mutations", "ports", "delete", "set", ovsdb_uuid(uuid));
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
	if (cidr4_parse(net->cidr, subnet, len) < 0) {
		set_errmsg(reterr_msg, "network %s has a bad subnet \"%s\"", net->name, net->cidr);
		return -EINVAL;
	}
	return 0;
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
			"op", "wait", "table", "Logical_Switch_Port", "where", where_name(name),
			"columns", "dynamic_addresses", "until", "!=", "rows", "dynamic_addresses",
			"set", "timeout", IPAM_TIMEOUT_MS, "op", "select", "table",
			"Logical_Switch_Port", "where", where_name(name));
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
	row_to_port(json_array_get(rows, 0), p);
	return *p->ip ? 0 : -EIO;
}

static int ovn_port_create(struct backend *b, const struct port_spec *spec, struct kuryr_port *ret,
			   char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network net;
	struct kuryr_port p = { 0 };
	char name[64], mac[18], addr[128], ps[128];
	uint32_t subnet;
	uint8_t len;
	json_t *ops, *ext;
	int r;

	/* The transaction below re-checks that the network still exists. */
	r = spec_network(b, spec, &net, &subnet, &len, reterr_msg);
	if (r < 0)
		return r;
	if (spec->name)
		copy_str(name, sizeof(name), spec->name);
	else
		uuid_random(name);
	if (spec->mac) {
		uint8_t m[6];

		if (mac_parse(spec->mac, m) < 0 || (m[0] & 1)) {
			set_errmsg(reterr_msg, "MAC \"%s\" is not a unicast MAC address",
				   spec->mac);
			return -EINVAL;
		}
		copy_str(mac, sizeof(mac), spec->mac);
		for (char *c = mac; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	} else
		mac_random(mac);

	if (spec->ip) {
		struct in_addr a;

		if (inet_pton(AF_INET, spec->ip, &a) != 1 ||
		    !ip4_in_subnet(ntohl(a.s_addr), subnet, len) || streq(spec->ip, net.gateway)) {
			set_errmsg(reterr_msg, "IP %s is not a free host address of %s (%s)",
				   spec->ip, net.name, net.cidr);
			return -EINVAL;
		}
		snprintf(addr, sizeof(addr), "%s %s", mac, spec->ip);
		snprintf(ps, sizeof(ps), "%s %s", mac, spec->ip);
	} else {
		snprintf(addr, sizeof(addr), "%s dynamic", mac);
		snprintf(ps, sizeof(ps), "%s", mac);
	}

	ext = ovsdb_string_map((const char *const[]){
	    EXT_NETWORK, net.name, EXT_OWNER, owner_name(spec->owner), EXT_DEVICE,
	    spec->device_id ? spec->device_id : "", EXT_IFNAME, spec->ifname ? spec->ifname : "",
	    spec->ip ? EXT_IP : NULL, spec->ip, NULL });
	ops = json_pack("[o, o, {s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}},"
			" {s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]",
			op_wait_name("Logical_Switch", net.name, true),
			op_wait_name("Logical_Switch_Port", name, false), "op", "insert", "table",
			"Logical_Switch_Port", "uuid-name", "lsp", "row", "name", name, "addresses",
			addr, "port_security", ps, "external_ids", ext, "op", "mutate", "table",
			"Logical_Switch", "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(net.id)),
			"mutations", "ports", "insert", "set", ovsdb_named_uuid("lsp"));
	if (spec->ip) {
		/* No other port of ours may hold this address. */
		json_t *w = json_pack(
		    "{s:s, s:s, s:[o], s:[s], s:s, s:[], s:i}", "op", "wait", "table",
		    "Logical_Switch_Port", "where",
		    ovsdb_cond("external_ids", "includes",
			       ovsdb_string_map((const char *const[]){ EXT_IP, spec->ip, NULL })),
		    "columns", "name", "until", "==", "rows", "timeout", 0);
		json_array_insert_new(ops, 0, w);
	}
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		if (spec->ip)
			set_errmsg(reterr_msg, "IP %s is already in use on network %s", spec->ip,
				   net.name);
		else
			set_errmsg(reterr_msg, "network %s vanished, or port %s exists", net.name,
				   name);
		return -EEXIST;
	}
	if (r < 0)
		return r;
	/* The last operation adds the port to the switch by uuid: a switch
	 * deleted and re-created under the same name since the caller read
	 * it matches nothing, and the orphaned port row is dropped. */
	if (json_integer_value(json_object_get(json_array_get(res, spec->ip ? 4 : 3), "count")) !=
	    1) {
		set_errmsg(reterr_msg, "network %s changed while the port was being created",
			   net.name);
		return -ENOENT;
	}

	if (!spec->ip) {
		_cleanup_json_ json_t *res2 = NULL;
		char ip_ps[128];

		r = ovn_wait_dynamic(ob, name, &p, reterr_msg);
		if (r < 0)
			goto fail;
		snprintf(ip_ps, sizeof(ip_ps), "%s %s", p.mac, p.ip);
		ops = json_pack("[{s:s, s:s, s:o, s:{s:s}}, {s:s, s:s, s:o, s:[[s, s, o]]}]", "op",
				"update", "table", "Logical_Switch_Port", "where", where_name(name),
				"row", "port_security", ip_ps, "op", "mutate", "table",
				"Logical_Switch_Port", "where", where_name(name), "mutations",
				"external_ids", "insert",
				ovsdb_string_map((const char *const[]){ EXT_IP, p.ip, NULL }));
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
static int ovn_port_create_bulk(struct backend *b, const struct port_spec *spec, unsigned n,
				struct kuryr_port *ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *res = NULL, *res2 = NULL, *res3 = NULL;
	struct kuryr_network net;
	json_t *ops, *refs, *rows, *batch_map;
	char batch[37];
	uint32_t subnet;
	uint8_t len;
	unsigned got = 0;
	int r;

	if (n == 0)
		return 0;
	r = spec_network(b, spec, &net, &subnet, &len, reterr_msg);
	if (r < 0)
		return r;
	uuid_random(batch);
	batch_map = ovsdb_string_map((const char *const[]){ "kuryr:batch", batch, NULL });
	ops = json_pack("[o]", op_wait_name("Logical_Switch", net.name, true));
	refs = json_array();
	for (unsigned i = 0; i < n; i++) {
		char name[37], mac[18], addr[64], uname[16];

		uuid_random(name);
		mac_random(mac);
		snprintf(addr, sizeof(addr), "%s dynamic", mac);
		snprintf(uname, sizeof(uname), "lsp%u", i);
		json_array_append_new(
		    ops,
		    json_pack(
			"{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "op", "insert", "table",
			"Logical_Switch_Port", "uuid-name", uname, "row", "name", name, "addresses",
			addr, "port_security", mac, "external_ids",
			ovsdb_string_map((const char *const[]){
			    EXT_NETWORK, net.name, EXT_OWNER, owner_name(spec->owner), EXT_DEVICE,
			    spec->device_id ? spec->device_id : "", "kuryr:batch", batch, NULL })));
		json_array_append_new(refs, ovsdb_named_uuid(uname));
	}
	json_array_append_new(ops, json_pack("{s:s, s:s, s:[o], s:[[s, s, [s, o]]]}", "op",
					     "mutate", "table", "Logical_Switch", "where",
					     ovsdb_cond("_uuid", "==", ovsdb_uuid(net.id)),
					     "mutations", "ports", "insert", "set", refs));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "network %s vanished", net.name);
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
		char ps[128];

		row_to_port(json_array_get(rows, i), p);
		if (!*p->ip || !*p->mac)
			continue;
		p->prefixlen = len;
		got++;
		snprintf(ps, sizeof(ps), "%s %s", p->mac, p->ip);
		json_array_append_new(ops,
				      json_pack("{s:s, s:s, s:o, s:{s:s}}", "op", "update", "table",
						"Logical_Switch_Port", "where", where_name(p->name),
						"row", "port_security", ps));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:o, s:[[s, s, o]]}", "op", "mutate", "table",
				   "Logical_Switch_Port", "where", where_name(p->name), "mutations",
				   "external_ids", "insert",
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
		srows = first_rows(sel);
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

static int ovn_port_wait_up(struct backend *b, const char *name, int timeout_ms, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops;
	int r;

	/* ovsdb-server re-evaluates the wait on every commit: no polling. */
	ops = json_pack("[{s:s, s:s, s:o, s:[s], s:s, s:[{s:b}], s:i}]", "op", "wait", "table",
			"Logical_Switch_Port", "where", where_name(name), "columns", "up", "until",
			"==", "rows", "up", 1, "timeout", timeout_ms);
	r = ovn_transact(to_ovn(b), ops, timeout_ms + NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT)
		set_errmsg(reterr_msg, "port %s did not come up within %d ms", name, timeout_ms);
	return r;
}

static void ovn_free(struct backend *b)
{
	struct ovn_backend *ob = to_ovn(b);

	ovsdb_session_free(ob->nb);
	free(ob->where);
	free(ob);
}

static const struct backend_ops ovn_ops = {
	.name = "ovn",
	.network_create = ovn_network_create,
	.network_get = ovn_network_get,
	.network_list = ovn_network_list,
	.network_delete = ovn_network_delete,
	.port_create = ovn_port_create,
	.port_create_bulk = ovn_port_create_bulk,
	.port_get = ovn_port_get,
	.port_list = ovn_port_list,
	.port_delete = ovn_port_delete,
	.port_wait_up = ovn_port_wait_up,
	.connected = ovn_connected,
	.describe = ovn_describe,
	.free = ovn_free,
};

int backend_ovn_new(const char *nb_connection, struct backend **ret, char **reterr_msg)
{
	struct ovn_backend *ob = calloc(1, sizeof(*ob));
	int r;

	if (!ob)
		return -ENOMEM;
	ob->base.ops = &ovn_ops;
	ob->where = strdup_printf("nb=%s", nb_connection);
	if (!ob->where) {
		ovn_free(&ob->base);
		return -ENOMEM;
	}
	r = ovsdb_session_new(nb_connection, NB, &ob->nb, reterr_msg);
	if (r < 0) {
		ovn_free(&ob->base);
		return r;
	}
	*ret = &ob->base;
	return 0;
}

/* ---- the registry's view: [ovn] ---- */

static void ovn_config_free(void *cfg)
{
	struct ovn_config *c = cfg;

	if (c)
		free(c->nb_connection);
	free(c);
}

static int ovn_config_new(void **ret)
{
	struct ovn_config *c = calloc(1, sizeof(*c));

	if (!c || !(c->nb_connection = strdup("unix:/run/kuryr-c/ovn/nb.sock"))) {
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

	if (streq(key, "nb_connection"))
		return conf_set_str(&c->nb_connection, value);
	return -ENOENT;
}

static int ovn_driver_new(const void *cfg, const struct backend_env *env, struct backend **ret,
			  char **reterr_msg)
{
	return backend_ovn_new(((const struct ovn_config *)cfg)->nb_connection, ret, reterr_msg);
}

const struct backend_driver backend_ovn_driver = {
	.name = "ovn",
	.sections = (const char *const[]){ "ovn", NULL },
	.config_new = ovn_config_new,
	.config_set = ovn_config_set,
	.config_free = ovn_config_free,
	.new = ovn_driver_new,
};
