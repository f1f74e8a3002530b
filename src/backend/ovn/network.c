/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": networks as Logical_Switches, found by _uuid or by name.
 * An external network (the way out, for routers' gateways and floating
 * IPs) is a switch with a localnet port onto its physical network, which
 * ovn-controller patches to the provider bridge ovn-bridge-mappings names
 * for it, as ML2/OVN maps a flat provider network. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "ovn-private.h"

static size_t datum_set_size(json_t *d)
{
	const char *tag = json_string_value(json_array_get(d, 0));

	if (!tag)
		return 0;
	if (streq(tag, "set"))
		return json_array_size(json_array_get(d, 1));
	return 1; /* a bare atom, e.g. ["uuid", "..."] */
}

static void row_to_network(json_t *row, struct kuryr_network *n)
{
	json_t *ext = json_object_get(row, "external_ids");
	const char *mtu = ovsdb_map_get(ext, EXT_MTU);

	*n = (struct kuryr_network){ 0 };
	str_copy(n->name, json_object_get_str(row, "name"), sizeof(n->name));
	str_copy(n->id, ovsdb_datum_uuid(json_object_get(row, "_uuid")), sizeof(n->id));
	str_copy(n->cidr, ovsdb_map_get(ext, EXT_CIDR), sizeof(n->cidr));
	str_copy(n->gateway, ovsdb_map_get(ext, EXT_GATEWAY), sizeof(n->gateway));
	str_copy(n->cidr6, ovsdb_map_get(ext, EXT_CIDR6), sizeof(n->cidr6));
	str_copy(n->gateway6, ovsdb_map_get(ext, EXT_GATEWAY6), sizeof(n->gateway6));
	if (*n->cidr6) /* OVN's IPAM: EUI-64 addresses, what SLAAC makes */
		str_copy(n->ipv6_mode, "slaac", sizeof(n->ipv6_mode));
	n->mtu = mtu ? (uint32_t)strtoul(mtu, NULL, 10) : KURYR_DEFAULT_MTU;
	n->nports = (unsigned)datum_set_size(json_object_get(row, "ports"));
	n->external = ovsdb_map_get(ext, EXT_PHYSNET) != NULL;
	if (n->external) {
		str_copy(n->physical_network, ovsdb_map_get(ext, EXT_PHYSNET),
			 sizeof(n->physical_network));
		if (n->nports > 0) /* its localnet port is not one of its ports */
			n->nports--;
	}
}

/* Ours: a switch with a subnet of ours (an IPv6-only one has only its
 * kuryr:cidr6). */
static bool is_ours(json_t *ls_row)
{
	json_t *ext = json_object_get(ls_row, "external_ids");

	return ovsdb_map_get(ext, EXT_CIDR) || ovsdb_map_get(ext, EXT_CIDR6);
}

/* Our Logical_Switch that @ref names: its _uuid, else its name. OVN lets
 * several switches share a name (kuryrd's own create refuses that, other
 * tools may not): such a name is refused, -ENOTUNIQ naming their _uuids.
 * A new reference to the row in *ret, or -ENOENT. */
int ovn_find_switch(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *ids = NULL;
	json_t *rows, *row, *found = NULL;
	size_t i, n = 0;
	int r;

	r = ovn_transact(ob, ovn_ops_select_ref("Logical_Switch", ref), NB_TIMEOUT_MS, &res,
			 reterr_msg);
	if (r < 0)
		return r;
	row = json_array_get(json_object_get(json_array_get(res, 1), "rows"), 0);
	if (row && is_ours(row)) {
		*ret = json_incref(row);
		return 0;
	}
	rows = ovn_first_rows(res);
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
int ovn_network_get(struct backend *b, const char *ref, struct kuryr_network *ret,
		    char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	int r;

	r = ovn_find_switch(to_ovn(b), ref, &row, reterr_msg);
	if (r == 0)
		row_to_network(row, ret);
	return r;
}

int ovn_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
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
	rows = ovn_first_rows(res);
	nets = calloc(json_array_size(rows) + 1, sizeof(*nets));
	if (!nets)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);

		if (is_ours(row))
			row_to_network(row, &nets[n++]);
	}
	*ret = TAKE_PTR(nets);
	*ret_n = n;
	return 0;
}

/* An IPv6 subnet as OVN's IPAM takes it: a /64 (OVN makes each port's
 * address from the prefix and the port's MAC, EUI-64), canonical in
 * @cidr6, its prefix "NET::" (what other_config:ipv6_prefix wants) in
 * @prefix6. */
static int subnet6_parse(const char *s, char cidr6[64], char prefix6[INET6_ADDRSTRLEN],
			 char **reterr_msg)
{
	char ip[INET6_ADDRSTRLEN];
	uint8_t len;
	int family;

	if (ip_or_prefix_canon(s, cidr6, 64, &family) < 0 || family != AF_INET6 ||
	    !strchr(cidr6, '/') || addr_split(cidr6, ip, sizeof(ip), &len) < 0) {
		set_errmsg(reterr_msg,
			   "subnet \"%s\" is not an IPv6 network address with a "
			   "prefix length",
			   s);
		return -EINVAL;
	}
	if (len != 64) {
		set_errmsg(reterr_msg,
			   "IPv6 subnet %s: OVN makes addresses from the port's MAC (EUI-64), "
			   "which needs a /64 prefix",
			   cidr6);
		return -EINVAL;
	}
	str_copy(prefix6, ip, INET6_ADDRSTRLEN);
	return 0;
}

int ovn_network_create(struct backend *b, const struct network_spec *spec,
		       struct kuryr_network *ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	char gw[INET_ADDRSTRLEN] = "", mtu[16], cidr6[64] = "", prefix6[INET6_ADDRSTRLEN] = "";
	char excl[128];
	char gw6[INET6_ADDRSTRLEN + 1] = ""; /* room for prefix6 and "1" */
	uint32_t net = 0;
	uint8_t len = 0;
	int gw_family;
	json_t *ops, *other, *ext, *row;
	int r;

	if (!spec->name || !*spec->name || strlen(spec->name) >= sizeof(ret->name)) {
		set_errmsg(reterr_msg, "network name must be 1-%zu bytes", sizeof(ret->name) - 1);
		return -EINVAL;
	}
	if (!spec->cidr && !spec->cidr6) {
		set_errmsg(reterr_msg, "a network needs an IPv4 or an IPv6 subnet, or both");
		return -EINVAL;
	}
	if (spec->ipv6_mode && !streq(spec->ipv6_mode, "slaac")) {
		set_errmsg(reterr_msg,
			   "IPv6 mode \"%s\": OVN's IPAM makes SLAAC (EUI-64) addresses only",
			   spec->ipv6_mode);
		return -EINVAL;
	}
	if (spec->cidr6) {
		r = subnet6_parse(spec->cidr6, cidr6, prefix6, reterr_msg);
		if (r < 0)
			return r;
		if (spec->external) {
			set_errmsg(reterr_msg, "an external network is IPv4 only (floating IPs "
					       "are IPv4; IPv6 is routed, not NATed)");
			return -EINVAL;
		}
	}
	if (spec->cidr && cidr4_parse(spec->cidr, &net, &len) < 0) {
		set_errmsg(reterr_msg,
			   "subnet \"%s\" is not an IPv4 network address with prefix length 1-30",
			   spec->cidr);
		return -EINVAL;
	}
	/* The gateway: each subnet's first host address unless the spec names
	 * one, of either family, or none ("") at all. */
	gw_family = !spec->gateway || !*spec->gateway ? 0 : strchr(spec->gateway, ':') ? 6 : 4;
	if (gw_family && !(gw_family == 4 ? spec->cidr : spec->cidr6)) {
		set_errmsg(reterr_msg, "gateway \"%s\": the network has no IPv%d subnet",
			   spec->gateway, gw_family);
		return -EINVAL;
	}
	if (spec->cidr && gw_family == 4) {
		struct in_addr a;

		if (inet_pton(AF_INET, spec->gateway, &a) != 1 ||
		    !ip4_in_subnet(ntohl(a.s_addr), net, len)) {
			set_errmsg(reterr_msg, "gateway \"%s\" is not a host address of %s",
				   spec->gateway, spec->cidr);
			return -EINVAL;
		}
		str_copy(gw, spec->gateway, sizeof(gw));
	} else if (spec->cidr && !spec->gateway) {
		struct in_addr a = { .s_addr = htonl(net + 1) };

		inet_ntop(AF_INET, &a, gw, sizeof(gw));
	}
	if (*cidr6 && gw_family == 6) {
		if (!ip6_in_prefix(spec->gateway, cidr6, gw6)) {
			set_errmsg(reterr_msg, "gateway \"%s\" is not a host address of %s",
				   spec->gateway, cidr6);
			return -EINVAL;
		}
	} else if (*cidr6 && !spec->gateway)
		snprintf(gw6, sizeof(gw6), "%s1", prefix6); /* "NET::" + "1" */
	if (spec->mtu && (spec->mtu < 576 || spec->mtu > 9000)) {
		set_errmsg(reterr_msg, "mtu %u is outside 576-9000", spec->mtu);
		return -EINVAL;
	}
	snprintf(mtu, sizeof(mtu), "%u", spec->mtu ? spec->mtu : KURYR_DEFAULT_MTU);

	if (spec->external && (!spec->physical_network || !*spec->physical_network ||
			       strlen(spec->physical_network) >= sizeof(ret->physical_network) ||
			       strpbrk(spec->physical_network, " :,"))) {
		set_errmsg(reterr_msg, "an external network names its physical network (as "
				       "[ovs] bridge_mappings does: no blanks, ':' or ',')");
		return -EINVAL;
	}

	/* OVN's IPAM hands out what exclude_ips leaves: not the gateway,
	 * nor, with an IP range, the subnet outside it. */
	snprintf(excl, sizeof(excl), "%s", gw);
	if (spec->ip_range) {
		struct ip4_span al[2], ex[3];
		unsigned na, ne;
		size_t off = 0;

		if (!spec->cidr) {
			set_errmsg(reterr_msg, "an IP range goes with an IPv4 subnet");
			return -EINVAL;
		}
		r = backend_ip_range(spec->cidr, spec->ip_range, gw, al, &na, ex, &ne, reterr_msg);
		if (r < 0)
			return r;
		excl[0] = 0;
		for (unsigned i = 0; i < ne; i++) {
			char span[40];

			ip4_span_format(&ex[i], "..", span, sizeof(span));
			off += (size_t)snprintf(excl + off, sizeof(excl) - off, "%s%s",
						off ? " " : "", span);
		}
	}
	other = json_pack("[s, []]", "map");
	if (spec->cidr)
		json_array_append_new(json_array_get(other, 1),
				      json_pack("[s, s]", "subnet", spec->cidr));
	if (*excl)
		json_array_append_new(json_array_get(other, 1),
				      json_pack("[s, s]", "exclude_ips", excl));
	if (*prefix6)
		json_array_append_new(json_array_get(other, 1),
				      json_pack("[s, s]", "ipv6_prefix", prefix6));
	ext = ovsdb_string_map((const char *const[]){ EXT_MTU, mtu, NULL });
	if (spec->cidr) {
		ovn_map_put(ext, EXT_CIDR, spec->cidr);
		ovn_map_put(ext, EXT_GATEWAY, gw);
	}
	if (*cidr6)
		ovn_map_put(ext, EXT_CIDR6, cidr6);
	if (*gw6)
		ovn_map_put(ext, EXT_GATEWAY6, gw6);
	if (spec->external)
		ovn_map_put(ext, EXT_PHYSNET, spec->physical_network);
	row = json_pack("{s:s, s:o, s:o}", "name", spec->name, "other_config", other,
			"external_ids", ext);
	ops = json_pack("[o]", ovn_op_wait_name("Logical_Switch", spec->name, false));
	if (spec->external) {
		char ln[64], id[UUID_STR_LEN];

		uuid_random(id);
		snprintf(ln, sizeof(ln), "provnet-%s", id);
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "op", "insert",
				   "table", "Logical_Switch_Port", "uuid-name", "ln", "row", "name",
				   ln, "type", "localnet", "addresses", "unknown", "options",
				   ovsdb_string_map((const char *const[]){
				       "network_name", spec->physical_network, NULL })));
		json_object_set_new(row, "ports", ovsdb_named_uuid("ln"));
	}
	json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "op", "insert", "table",
					     "Logical_Switch", "row", row));
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "network \"%s\" already exists", spec->name);
		return -EEXIST;
	}
	if (r < 0)
		return r;
	return ovn_network_get(b, spec->name, ret, reterr_msg);
}

int ovn_network_delete(struct backend *b, const char *name, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network n;
	json_t *ops;
	int r;

	_cleanup_json_ json_t *row = NULL;
	json_t *ports;

	r = ovn_find_switch(to_ovn(b), name, &row, reterr_msg);
	if (r < 0)
		return r;
	row_to_network(row, &n);
	if (n.nports > 0) {
		set_errmsg(reterr_msg, "network \"%s\" still has %u ports", name, n.nports);
		return -EBUSY;
	}
	/* Delete by uuid, and only while it still has no ports (an external
	 * one: none but its localnet port, which goes with it). */
	ports = n.external ? json_deep_copy(json_object_get(row, "ports"))
			   : json_pack("[s, []]", "set");
	ops = json_pack("[{s:s, s:s, s:[o], s:[s], s:s, s:[{s:o}], s:i},"
			" {s:s, s:s, s:[o]}]",
			"op", "wait", "table", "Logical_Switch", "where",
			ovsdb_cond("_uuid", "==", ovsdb_uuid(n.id)), "columns", "ports", "until",
			"==", "rows", "ports", ports, "timeout", 0, "op", "delete", "table",
			"Logical_Switch", "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(n.id)));
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "network \"%s\" gained ports while being deleted", name);
		return -EBUSY;
	}
	return r;
}
