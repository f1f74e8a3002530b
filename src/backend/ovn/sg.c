/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": security groups, mapped as ML2/OVN maps Neutron's.
 *
 *   group -> Port_Group "pg_<id>" (its id with '_' for '-', so it is a name
 *            an ACL match can say: @pg_..., and $pg_..._ip4 for the
 *            addresses of its members), our facts in external_ids
 *   rule  -> ACL on the group, priority 1002, allow-related (stateful: a
 *            reply is let through whatever the other side's rules say):
 *            ingress "to-lport" on outport, egress "from-lport" on inport;
 *            the rule itself is kept in the ACL's external_ids, so NB is
 *            the only record
 *   ports with groups also join Port_Group "kuryr_pg_drop", whose two ACLs
 *            (priority 1001) drop all IP that no rule allows
 *
 * A port that names no group gets "default", made on first use as Neutron
 * makes it: all egress, and ingress from its own members. ARP is never
 * dropped (the drop ACLs match "ip"), nor is IPv6 neighbour discovery
 * (ovn-northd lets ND, RS and RA through ahead of every ACL). A rule of
 * ethertype IPv6 matches "ip6", "icmp6" and "$pg_..._ip6". */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>

#include "ovn-private.h"

#define PG_DROP	      "kuryr_pg_drop"
#define EXT_SG_ID     "kuryr:sg_id"
#define EXT_SG_NAME   "kuryr:sg_name"
#define EXT_RULE      "kuryr:rule_id"
#define EXT_R_DIR     "kuryr:direction"
#define EXT_R_ETHER   "kuryr:ethertype"
#define EXT_R_PROTO   "kuryr:protocol"
#define EXT_R_MIN     "kuryr:port_min"
#define EXT_R_MAX     "kuryr:port_max"
#define EXT_R_RIP     "kuryr:remote_ip"
#define EXT_R_RGROUP  "kuryr:remote_group"
#define SG_PRIORITY   1002
#define DROP_PRIORITY 1001
#define DEFAULT_SG    "default"

/* The Port_Group name of group @id. */
static void pg_name(const char *id, char out[64])
{
	size_t n = 0;

	n = (size_t)snprintf(out, 64, "pg_%s", id);
	for (size_t i = 3; i < n && i < 63; i++)
		if (out[i] == '-')
			out[i] = '_';
}

/* The _uuids of the ACLs whose external_ids have @key=@value: a select's
 * result. */
static int acls_with(struct ovn_backend *ob, const char *key, const char *value, json_t **ret,
		     char **reterr_msg)
{
	return ovn_transact(ob,
			    json_pack("[{s:s, s:s, s:o, s:[s]}]", "op", "select", "table", "ACL",
				      "where", ovn_where_ext(key, value), "columns", "_uuid"),
			    NB_TIMEOUT_MS, ret, reterr_msg);
}

/* Our Port_Group rows (with their ACLs) whose group is @ref, by name or
 * id: a new reference to the row in *ret. -ENOENT, or -ENOTUNIQ when a
 * name has several. */
static int find_group(struct ovn_backend *ob, const char *ref, json_t **ret_row, json_t **ret_acls,
		      char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *rows, *row, *ops;
	int r;

	ops = json_pack("[{s:s, s:s, s:o}, {s:s, s:s, s:o}]", "op", "select", "table", "Port_Group",
			"where", ovn_where_ext(EXT_SG_ID, ref), "op", "select", "table",
			"Port_Group", "where", ovn_where_ext(EXT_SG_NAME, ref));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows_of_two(res);
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "security group \"%s\" does not exist", ref);
		return -ENOENT;
	}
	if (json_array_size(rows) > 1) {
		set_errmsg(reterr_msg,
			   "More than one security group exists with the name \"%s\"; use an ID",
			   ref);
		return -ENOTUNIQ;
	}
	row = json_array_get(rows, 0);
	if (ret_acls) {
		r = ovn_select_uuids(ob, "ACL", json_object_get(row, "acls"), ret_acls, reterr_msg);
		if (r < 0)
			return r;
	}
	*ret_row = json_incref(row);
	return 0;
}

static json_t *acl_to_rule(json_t *acl)
{
	json_t *ext = json_object_get(acl, "external_ids");
	const char *min = ovsdb_map_get(ext, EXT_R_MIN), *max = ovsdb_map_get(ext, EXT_R_MAX);
	const char *proto = ovsdb_map_get(ext, EXT_R_PROTO);
	const char *rip = ovsdb_map_get(ext, EXT_R_RIP), *rg = ovsdb_map_get(ext, EXT_R_RGROUP);

	return json_pack("{s:s, s:s, s:s, s:o, s:i, s:i, s:o, s:o}", "id",
			 ovsdb_map_get(ext, EXT_RULE) ?: "", "direction",
			 ovsdb_map_get(ext, EXT_R_DIR) ?: "", "ethertype",
			 ovsdb_map_get(ext, EXT_R_ETHER) ?: "IPv4", "protocol",
			 proto && *proto ? json_string(proto) : json_null(), "port_min",
			 min ? atoi(min) : 0, "port_max", max ? atoi(max) : 0, "remote_ip_prefix",
			 rip && *rip ? json_string(rip) : json_null(), "remote_group",
			 rg && *rg ? json_string(rg) : json_null());
}

static json_t *group_json(json_t *row, json_t *acls)
{
	json_t *ext = json_object_get(row, "external_ids");
	json_t *rules = json_array(), *acl;
	size_t i;

	json_array_foreach(acls, i, acl)
		if (ovsdb_map_get(json_object_get(acl, "external_ids"), EXT_RULE))
			json_array_append_new(rules, acl_to_rule(acl));
	return json_pack("{s:s, s:s, s:o}", "id", ovsdb_map_get(ext, EXT_SG_ID) ?: "", "name",
			 ovsdb_map_get(ext, EXT_SG_NAME) ?: "", "rules", rules);
}

int ovn_sg_get(struct backend *b, const char *sg, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL, *acls = NULL;
	int r;

	r = find_group(to_ovn(b), sg, &row, &acls, reterr_msg);
	if (r < 0)
		return r;
	*ret = group_json(row, acls);
	return 0;
}

int ovn_sg_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *res = NULL;
	json_t *rows, *row, *out;
	size_t i;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:[], s:[s]}]", "op", "select", "table",
				   "Port_Group", "where", "columns", "external_ids"),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows(res);
	out = json_array();
	json_array_foreach(rows, i, row) {
		const char *id = ovsdb_map_get(json_object_get(row, "external_ids"), EXT_SG_ID);
		json_t *g = NULL;

		if (id && ovn_sg_get(b, id, &g, NULL) == 0)
			json_array_append_new(out, g);
	}
	*ret = out;
	return 0;
}

/* The ACL match of @rule for group @pg. -EINVAL (with a message) if the
 * rule cannot be said. */
static int rule_match(const char *pg, const struct sg_rule *rule, const char *remote_pg, char *out,
		      size_t size, char **reterr_msg)
{
	bool ingress = streq(rule->direction, "ingress");
	bool v6 = rule->ethertype && streq(rule->ethertype, "IPv6");
	const char *ip = v6 ? "ip6" : "ip4";
	const char *proto = rule->protocol;
	int n;

	n = snprintf(out, size, "%s == @%s && %s", ingress ? "outport" : "inport", pg, ip);
	if (rule->remote_ip_prefix && *rule->remote_ip_prefix)
		n += snprintf(out + n, size - (size_t)n, " && %s.%s == %s", ip,
			      ingress ? "src" : "dst", rule->remote_ip_prefix);
	if (remote_pg)
		n += snprintf(out + n, size - (size_t)n, " && %s.%s == $%s_%s", ip,
			      ingress ? "src" : "dst", remote_pg, ip);
	if (proto && (streq(proto, "tcp") || streq(proto, "udp"))) {
		n += snprintf(out + n, size - (size_t)n, " && %s", proto);
		if (rule->port_min && rule->port_min == rule->port_max)
			n += snprintf(out + n, size - (size_t)n, " && %s.dst == %d", proto,
				      rule->port_min);
		else if (rule->port_min)
			n += snprintf(out + n, size - (size_t)n, " && %s.dst >= %d && %s.dst <= %d",
				      proto, rule->port_min, proto, rule->port_max);
	} else if (proto && (streq(proto, "icmp") || streq(proto, "icmpv6")))
		n += snprintf(out + n, size - (size_t)n, " && %s", v6 ? "icmp6" : "icmp4");
	else if (proto && *proto && !streq(proto, "any")) {
		set_errmsg(reterr_msg, "protocol \"%s\" is not tcp, udp, icmp, icmpv6 or any",
			   proto);
		return -EINVAL;
	}
	return (size_t)n < size ? 0 : -E2BIG;
}

/* Append to @ops the insert of the ACL of @rule (of group @pg, the rule's
 * id @rule_id), as named uuid @uname. */
static int rule_insert(const char *pg, const struct sg_rule *rule, const char *remote_pg,
		       const char *remote_id, const char *rule_id, const char *uname, json_t *ops,
		       char **reterr_msg)
{
	char match[512], min[12], max[12];
	int r;

	r = rule_match(pg, rule, remote_pg, match, sizeof(match), reterr_msg);
	if (r < 0)
		return r;
	snprintf(min, sizeof(min), "%d", rule->port_min);
	snprintf(max, sizeof(max), "%d", rule->port_max);
	json_array_append_new(
	    ops,
	    json_pack("{s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s, s:o}}", "op", "insert", "table",
		      "ACL", "uuid-name", uname, "row", "direction",
		      streq(rule->direction, "ingress") ? "to-lport" : "from-lport", "priority",
		      SG_PRIORITY, "match", match, "action", "allow-related", "external_ids",
		      ovsdb_string_map((const char *const[]){
			  EXT_RULE, rule_id, EXT_R_DIR, rule->direction, EXT_R_ETHER,
			  rule->ethertype ? rule->ethertype : "IPv4", EXT_R_PROTO,
			  rule->protocol ? rule->protocol : "", EXT_R_MIN, min, EXT_R_MAX, max,
			  EXT_R_RIP, rule->remote_ip_prefix ? rule->remote_ip_prefix : "",
			  EXT_R_RGROUP, remote_id ? remote_id : "", NULL })));
	return 0;
}

static int check_rule(const struct sg_rule *rule, char **reterr_msg)
{
	if (!streq(rule->direction, "ingress") && !streq(rule->direction, "egress")) {
		set_errmsg(reterr_msg, "direction is ingress or egress");
		return -EINVAL;
	}
	if (rule->ethertype && !streq(rule->ethertype, "IPv4") && !streq(rule->ethertype, "IPv6")) {
		set_errmsg(reterr_msg, "ethertype is IPv4 or IPv6");
		return -EINVAL;
	}
	if (rule->remote_ip_prefix && rule->remote_group) {
		set_errmsg(reterr_msg,
			   "a rule names a remote IP prefix or a remote group, not both");
		return -EINVAL;
	}
	if (rule->port_min &&
	    (!rule->protocol || (!streq(rule->protocol, "tcp") && !streq(rule->protocol, "udp")))) {
		set_errmsg(reterr_msg, "a port range needs protocol tcp or udp");
		return -EINVAL;
	}
	return 0;
}

/* Add @rule to the group whose row is @row; *ret the rule as a group
 * lists it. */
static int add_rule(struct ovn_backend *ob, json_t *row, const struct sg_rule *rule, json_t **ret,
		    char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL, *rrow = NULL;
	const char *id = ovsdb_map_get(json_object_get(row, "external_ids"), EXT_SG_ID);
	const char *uuid = ovsdb_datum_uuid(json_object_get(row, "_uuid"));
	const char *remote_id = NULL;
	char pg[64], rpg[64], rule_id[UUID_STR_LEN];
	json_t *ops, *sel;
	int r;

	r = check_rule(rule, reterr_msg);
	if (r < 0)
		return r;
	if (!id || !uuid)
		return -EIO;
	pg_name(id, pg);
	if (rule->remote_group) {
		r = find_group(ob, rule->remote_group, &rrow, NULL, reterr_msg);
		if (r == -ENOENT)
			r = -ESRCH;
		if (r < 0)
			return r;
		remote_id = ovsdb_map_get(json_object_get(rrow, "external_ids"), EXT_SG_ID);
		if (!remote_id)
			return -EIO;
		pg_name(remote_id, rpg);
	}
	uuid_random(rule_id);
	ops = json_array();
	r = rule_insert(pg, rule, remote_id ? rpg : NULL, remote_id, rule_id, "acl", ops,
			reterr_msg);
	if (r < 0) {
		json_decref(ops);
		return r;
	}
	/* The group, and the remote group, must still be there. */
	if (remote_id)
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:[s], s:s, s:[], s:i}", "op",
						     "wait", "table", "Port_Group", "where",
						     ovn_where_name(rpg), "columns", "name",
						     "until", "!=", "rows", "timeout", 0));
	json_array_append_new(
	    ops, json_pack("{s:s, s:s, s:[o], s:[[s, s, o]]}", "op", "mutate", "table",
			   "Port_Group", "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid)),
			   "mutations", "acls", "insert", ovsdb_named_uuid("acl")));
	json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "op", "select", "table", "ACL",
					     "where", ovn_where_ext(EXT_RULE, rule_id)));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "security group %s vanished", rule->remote_group);
		return -ESRCH;
	}
	if (r < 0)
		return r;
	if (json_integer_value(json_object_get(json_array_get(res, remote_id ? 2 : 1), "count")) !=
	    1) {
		set_errmsg(reterr_msg, "the security group vanished");
		return -ENOENT;
	}
	sel = json_object_get(json_array_get(res, remote_id ? 3 : 2), "rows");
	if (ret)
		*ret = acl_to_rule(json_array_get(sel, 0));
	return 0;
}

int ovn_sg_rule_add(struct backend *b, const char *sg, const struct sg_rule *rule, json_t **ret,
		    char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	int r;

	r = find_group(to_ovn(b), sg, &row, NULL, reterr_msg);
	if (r < 0)
		return r;
	return add_rule(to_ovn(b), row, rule, ret, reterr_msg);
}

/* Make group @name with Neutron's first rules, in one transaction (no one
 * sees it half-made): all egress, and for the default group ingress from
 * its own members. */
static int create_group(struct ovn_backend *ob, const char *name, json_t **ret_row,
			char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	char id[UUID_STR_LEN], pg[64];
	const char *ethers[] = { "IPv4", "IPv6" };
	bool dflt = streq(name, DEFAULT_SG);
	json_t *ops, *acls = json_array();
	int r = 0;

	uuid_random(id);
	pg_name(id, pg);
	/* The name is unique among our groups: the wait fails if one has it. */
	ops = json_pack("[{s:s, s:s, s:o, s:[s], s:s, s:[], s:i}]", "op", "wait", "table",
			"Port_Group", "where", ovn_where_ext(EXT_SG_NAME, name), "columns", "name",
			"until", "==", "rows", "timeout", 0);
	for (size_t i = 0; r == 0 && i < ELEMENTSOF(ethers); i++) {
		char rule_id[UUID_STR_LEN], uname[16];

		uuid_random(rule_id);
		snprintf(uname, sizeof(uname), "egress%zu", i);
		r = rule_insert(pg,
				&(struct sg_rule){ .direction = "egress", .ethertype = ethers[i] },
				NULL, NULL, rule_id, uname, ops, reterr_msg);
		json_array_append_new(acls, ovsdb_named_uuid(uname));
		if (r < 0 || !dflt)
			continue;
		uuid_random(rule_id);
		snprintf(uname, sizeof(uname), "ingress%zu", i);
		r = rule_insert(pg,
				&(struct sg_rule){ .direction = "ingress",
						   .ethertype = ethers[i],
						   .remote_group = id },
				pg, id, rule_id, uname, ops, reterr_msg);
		json_array_append_new(acls, ovsdb_named_uuid(uname));
	}
	if (r < 0) {
		json_decref(ops);
		json_decref(acls);
		return r;
	}
	json_array_append_new(
	    ops, json_pack("{s:s, s:s, s:{s:s, s:[s, o], s:o}}", "op", "insert", "table",
			   "Port_Group", "row", "name", pg, "acls", "set", acls, "external_ids",
			   ovsdb_string_map(
			       (const char *const[]){ EXT_SG_ID, id, EXT_SG_NAME, name, NULL })));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT || r == -EEXIST) {
		set_errmsg(reterr_msg, "security group \"%s\" already exists", name);
		return -EEXIST;
	}
	if (r < 0)
		return r;
	return find_group(ob, id, ret_row, NULL, reterr_msg);
}

int ovn_sg_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	int r;

	if (!name || !*name || uuid_is_valid(name)) {
		set_errmsg(reterr_msg, "a security group's name is not empty and not an ID");
		return -EINVAL;
	}
	r = create_group(to_ovn(b), name, &row, reterr_msg);
	if (r < 0)
		return r;
	return ovn_sg_get(b, name, ret, reterr_msg);
}

int ovn_sg_delete(struct backend *b, const char *sg, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *row = NULL, *res = NULL, *users = NULL, *ports = NULL;
	const char *id, *uuid;
	size_t n_ports;
	json_t *ops;
	int r;

	r = find_group(ob, sg, &row, NULL, reterr_msg);
	if (r < 0)
		return r;
	id = ovsdb_map_get(json_object_get(row, "external_ids"), EXT_SG_ID);
	uuid = ovsdb_datum_uuid(json_object_get(row, "_uuid"));
	ports = ovn_uuid_items(json_object_get(row, "ports"));
	n_ports = json_array_size(ports);
	if (n_ports) {
		set_errmsg(reterr_msg, "security group %s is in use by %zu port%s", sg, n_ports,
			   n_ports == 1 ? "" : "s");
		return -EBUSY;
	}
	/* Nor may another group's rule name it as its remote group. */
	r = acls_with(ob, EXT_R_RGROUP, id, &users, reterr_msg);
	if (r < 0)
		return r;
	for (size_t i = 0; i < json_array_size(ovn_first_rows(users)); i++) {
		json_t *acl = json_array_get(ovn_first_rows(users), i);
		_cleanup_json_ json_t *owner = NULL;

		/* A group may name itself (default does). */
		r = ovn_transact(
		    ob,
		    json_pack("[{s:s, s:s, s:[o], s:[s]}]", "op", "select", "table", "Port_Group",
			      "where",
			      ovsdb_cond("acls", "includes",
					 json_deep_copy(json_object_get(acl, "_uuid"))),
			      "columns", "_uuid"),
		    NB_TIMEOUT_MS, &owner, NULL);
		if (r == 0 && !streq_ptr(ovsdb_datum_uuid(json_object_get(
					     json_array_get(ovn_first_rows(owner), 0), "_uuid")),
					 uuid)) {
			set_errmsg(reterr_msg,
				   "security group %s is the remote group of another group's rule",
				   sg);
			return -EBUSY;
		}
	}
	/* Port_Group is a root table: the row goes, its ACLs with it. Only
	 * while it still has no ports. */
	ops = json_pack("[{s:s, s:s, s:[o], s:[s], s:s, s:[{s:[s, []]}], s:i},"
			" {s:s, s:s, s:[o]}]",
			"op", "wait", "table", "Port_Group", "where",
			ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid)), "columns", "ports", "until",
			"==", "rows", "ports", "set", "timeout", 0, "op", "delete", "table",
			"Port_Group", "where", ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid)));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "security group %s gained ports while being deleted", sg);
		return -EBUSY;
	}
	return r;
}

int ovn_sg_rule_delete(struct backend *b, const char *rule_id, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *res = NULL, *res2 = NULL;
	const char *acl;
	json_t *rows;
	int r;

	r = acls_with(ob, EXT_RULE, rule_id, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows(res);
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "security group rule \"%s\" does not exist", rule_id);
		return -ENOENT;
	}
	acl = ovsdb_datum_uuid(json_object_get(json_array_get(rows, 0), "_uuid"));
	/* ACL is not a root table: out of its group, it is gone. */
	return ovn_transact(ob,
			    json_pack("[{s:s, s:s, s:[o], s:[[s, s, o]]}]", "op", "mutate", "table",
				      "Port_Group", "where",
				      ovsdb_cond("acls", "includes", ovsdb_uuid(acl)), "mutations",
				      "acls", "delete", ovsdb_uuid(acl)),
			    NB_TIMEOUT_MS, &res2, reterr_msg);
}

/* ---- ports in groups ---- */

/* The drop group and its two ACLs, made once (a concurrent maker's
 * insert fails on the unique name, which is as good). */
static int ensure_drop_group(struct ovn_backend *ob, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL, *sel = NULL;
	json_t *ops;
	int r;

	if (atomic_load(&ob->drop_group_ready))
		return 0;
	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:o, s:[s]}]", "op", "select", "table",
				   "Port_Group", "where", ovn_where_name(PG_DROP), "columns",
				   "name"),
			 NB_TIMEOUT_MS, &sel, reterr_msg);
	if (r < 0)
		return r;
	if (json_array_size(ovn_first_rows(sel)) == 0) {
		ops = json_pack("[{s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s}},"
				" {s:s, s:s, s:s, s:{s:s, s:i, s:s, s:s}},"
				" {s:s, s:s, s:{s:s, s:[s, [o, o]]}}]",
				"op", "insert", "table", "ACL", "uuid-name", "in", "row",
				"direction", "to-lport", "priority", DROP_PRIORITY, "match",
				"outport == @" PG_DROP " && ip", "action", "drop", "op", "insert",
				"table", "ACL", "uuid-name", "out", "row", "direction",
				"from-lport", "priority", DROP_PRIORITY, "match",
				"inport == @" PG_DROP " && ip", "action", "drop", "op", "insert",
				"table", "Port_Group", "row", "name", PG_DROP, "acls", "set",
				ovsdb_named_uuid("in"), ovsdb_named_uuid("out"));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	atomic_store(&ob->drop_group_ready, true);
	return 0;
}

/* The Port_Group names of the groups a port of @sgs joins (NULL: the
 * default group, made on first use), the drop group last; a new array. */
int ovn_sg_port_groups(struct ovn_backend *ob, const char *const *sgs, json_t **ret,
		       char **reterr_msg)
{
	const char *const dflt[] = { DEFAULT_SG, NULL };
	json_t *names = json_array();
	int r;

	r = ensure_drop_group(ob, reterr_msg);
	for (const char *const *s = sgs ? sgs : dflt; r == 0 && *s; s++) {
		_cleanup_json_ json_t *row = NULL;
		const char *id;
		char pg[64];

		r = find_group(ob, *s, &row, NULL, reterr_msg);
		if (r == -ENOENT && !sgs) {
			r = create_group(ob, DEFAULT_SG, &row, reterr_msg);
			if (r == -EEXIST) /* made meanwhile by someone else */
				r = find_group(ob, DEFAULT_SG, &row, NULL, reterr_msg);
		} else if (r == -ENOENT)
			r = -ESRCH;
		if (r < 0)
			break;
		id = ovsdb_map_get(json_object_get(row, "external_ids"), EXT_SG_ID);
		pg_name(id, pg);
		json_array_append_new(names, json_string(pg));
	}
	if (r < 0) {
		json_decref(names);
		return r;
	}
	json_array_append_new(names, json_string(PG_DROP));
	*ret = names;
	return 0;
}

/* Append to @ops: the ports @lsp_refs (named uuids of this transaction)
 * join every group of @pg_names, each of which must still exist (a wait
 * fails the transaction otherwise). */
void ovn_sg_join_ops(json_t *ops, json_t *pg_names, json_t *lsp_refs)
{
	size_t i;
	json_t *n;

	json_array_foreach(pg_names, i, n) {
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:o, s:[s], s:s, s:[], s:i}", "op", "wait", "table",
				   "Port_Group", "where", ovn_where_name(json_string_value(n)),
				   "columns", "name", "until", "!=", "rows", "timeout", 0));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:o, s:[[s, s, [s, O]]]}", "op", "mutate", "table",
				   "Port_Group", "where", ovn_where_name(json_string_value(n)),
				   "mutations", "ports", "insert", "set", lsp_refs));
	}
}
